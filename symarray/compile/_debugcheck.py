"""Value checks of DebugMode: copies, comparisons, aliasing, a reference evaluator.

:mod:`symarray.compile.debugmode` runs the graph; this module answers its
questions about values:

* :func:`copy_value`: an independent copy of a cell value (the reference
  run and the in-place checks work on copies, so a node overwriting its
  input changes neither the comparison nor the next node's input);
* :func:`compare_values`: ``None`` when two results agree, else one line
  that says where and by how much they differ (dtype, shape, NaN and inf
  positions, values within per-dtype tolerances);
* :func:`undeclared_aliases` / :func:`undeclared_writes`: outputs that
  share memory with inputs the op's ``view_map``/``destroy_map`` do not
  name, and inputs changed without a ``destroy_map`` entry;
* :class:`ReferenceEvaluator`: evaluates any variable with the ops'
  ``perform`` on demand (lazy ``ifelse`` evaluates only the taken branch),
  memoised, used to run the graph as written and the variables that
  rewrites replaced.

Tolerances are relative (``rtol``) plus absolute (``atol``) per dtype; the
absolute part scales with the largest magnitude of the expected array when
that exceeds 1, so sums of large terms computed in another order (a C
reduction, a BLAS call) do not count as different.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from symarray.control.branches import is_lazy
from symarray.errors import MissingInputError
from symarray.graph.basic import Apply, Constant, Variable

__all__ = ["THUNK_TOLERANCES", "REWRITE_TOLERANCES", "copy_value", "compare_values",
           "shares_memory", "undeclared_aliases", "undeclared_writes",
           "first_nonfinite", "run_perform", "ReferenceEvaluator", "node_precision"]

#: (rtol, atol) per dtype for a kernel against ``perform`` (the same op)
THUNK_TOLERANCES: dict[str, tuple[float, float]] = {
    "float16": (1e-2, 1e-2), "float32": (1e-4, 1e-5), "float64": (1e-7, 1e-10),
}
#: (rtol, atol) per dtype for a rewritten graph against the graph as written
#: (rewrites change the algebra, e.g. ``log(1 + x) -> log1p(x)``)
REWRITE_TOLERANCES: dict[str, tuple[float, float]] = {
    "float16": (5e-2, 5e-2), "float32": (1e-3, 1e-4), "float64": (1e-5, 1e-8),
}
#: the float dtype whose tolerance a complex dtype uses
_REAL_OF = {"complex64": "float32", "complex128": "float64"}


def _is_array(value: Any) -> bool:
    return isinstance(value, (np.ndarray, np.generic))


def copy_value(value: Any) -> Any:
    """A copy of ``value`` that shares no memory with it.

    Arrays keep their memory layout (``empty_like``), immutable scalars are
    returned as they are, anything else is deep-copied (or returned as it
    is when it cannot be copied).
    """
    if isinstance(value, np.ndarray):
        out = np.empty_like(value)
        np.copyto(out, value)
        return out
    if value is None or isinstance(value, (np.generic, int, float, complex, bool,
                                           str, bytes)):
        return value
    try:
        return copy.deepcopy(value)
    except Exception:  # noqa: BLE001 - an uncopyable object is compared as is
        return value


def _tolerance(dtype: np.dtype, table: Mapping[str, tuple[float, float]],
               precision: str | None = None) -> tuple[float, float]:
    name = _REAL_OF.get(dtype.name, dtype.name)
    rtol, atol = table.get(name, table["float64"])
    if precision is not None and precision in table:
        p_rtol, p_atol = table[precision]
        rtol, atol = max(rtol, p_rtol), max(atol, p_atol)
    return rtol, atol


def node_precision(node: Apply) -> str | None:
    """The least precise float dtype among ``node``'s inputs and outputs
    (complex counted as its real part), or None when there is none.

    A float64 output computed from float32 inputs (``switch(x > 0, exp(x),
    i * 2)`` with ``x`` float32 and ``i`` int32) carries float32 rounding:
    a kernel and ``perform`` may evaluate ``exp`` with different float32
    routines, so they are compared with float32's tolerance.
    """
    best: str | None = None
    for var in (*node.inputs, *node.outputs):
        dtype = getattr(var.type, "dtype", None)
        if not isinstance(dtype, str):
            continue
        name = _REAL_OF.get(dtype, dtype)
        if name in THUNK_TOLERANCES and (
                best is None or THUNK_TOLERANCES[name][0] > THUNK_TOLERANCES[best][0]):
            best = name
    return best


def compare_values(expected: Any, got: Any,
                   tolerances: Mapping[str, tuple[float, float]] = THUNK_TOLERANCES,
                   ignore_nonfinite_expected: bool = False,
                   precision: str | None = None) -> str | None:
    """None when ``got`` matches ``expected``, else what differs, in words.

    Arrays must have the same dtype and shape; integer, bool and other
    values must be equal; float and complex values must agree within the
    dtype's ``(rtol, atol)`` of ``tolerances`` and have NaN and infinity at
    the same positions.  ``ignore_nonfinite_expected`` skips the positions
    where ``expected`` is NaN or infinite (a stabilising rewrite may turn an
    overflow into a finite value).  The text gives the number of differing
    elements, the first differing index with both values, and the largest
    absolute and relative difference.  ``precision`` (a float dtype name,
    see :func:`node_precision`) loosens the tolerance to that dtype's when
    it is coarser than the values' own.
    """
    if not (_is_array(expected) and _is_array(got)):
        if _is_array(expected) != _is_array(got) and not (
                expected is None or got is None):
            try:
                expected, got = np.asarray(expected), np.asarray(got)
            except Exception:  # noqa: BLE001 - not array-like: compare by ==
                pass
        if not (_is_array(expected) and _is_array(got)):
            state = _state(expected)
            if state is not None:  # random generators: equal states
                same_state = state == _state(got)
                return None if same_state else "a random generator in another state"
            try:
                same = bool(expected == got)
            except Exception:  # noqa: BLE001 - values without a usable ==
                return None
            return None if same else f"got {got!r}, expected {expected!r}"
    e, g = np.asarray(expected), np.asarray(got)
    if e.dtype != g.dtype:
        return f"dtype {g.dtype}, expected {e.dtype}"
    if e.shape != g.shape:
        return f"shape {g.shape}, expected {e.shape}"
    if e.size == 0:
        return None
    tol = ""
    if e.dtype.kind in "fc":
        rtol, atol = _tolerance(e.dtype, tolerances, precision)
        made = f"{e.dtype}" if precision in (None, e.dtype.name) else (
            f"{e.dtype} computed from {precision}")
        tol = f" (rtol={rtol:g}, atol={atol:g} for {made})"
        e_fin, g_fin = np.isfinite(e), np.isfinite(g)
        both = e_fin & g_fin
        with np.errstate(all="ignore"):
            diff = np.where(both, np.abs(g - e), 0)
            finite_e = np.abs(np.where(e_fin, e, 0))
            scale = max(1.0, float(finite_e.max()))
            bad = diff > atol * scale + rtol * finite_e
        if ignore_nonfinite_expected:
            bad &= e_fin
            bad |= e_fin & ~g_fin
        else:
            same_special = (np.isnan(e) & np.isnan(g)) | (~e_fin & ~g_fin & (e == g))
            bad |= ~both & ~same_special
        abs_diff = diff
        with np.errstate(all="ignore"):
            rel_diff = np.where(both, diff / np.maximum(finite_e, np.finfo(
                _REAL_OF.get(e.dtype.name, e.dtype.name)).tiny), 0)
    else:
        try:
            bad = np.asarray(e != g, dtype=bool)
        except Exception:  # noqa: BLE001 - object arrays without ==
            return None
        if bad.shape != e.shape:
            return None if not bad.any() else "values differ"
        with np.errstate(all="ignore"):
            if e.dtype.kind in "iub":
                abs_diff = np.abs(e.astype(np.float64) - g.astype(np.float64))
                rel_diff = abs_diff / np.maximum(np.abs(e.astype(np.float64)), 1.0)
            else:
                abs_diff = rel_diff = np.zeros(e.shape)
    if not bad.any():
        return None
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    return (f"{int(bad.sum())} of {e.size} elements differ; first at index "
            f"{first}: got {_text(g[first])}, expected {_text(e[first])}; max abs "
            f"difference {float(abs_diff.max()):.6g}, max rel difference "
            f"{float(rel_diff.max()):.6g}{tol}")


def _text(value: Any) -> str:
    return repr(value.item() if isinstance(value, np.generic) else value)


def shares_memory(a: Any, b: Any) -> bool:
    """Whether two arrays overlap in memory (False for non-arrays, empty ones)."""
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        return False
    if a.size == 0 or b.size == 0 or not np.may_share_memory(a, b):
        return False
    try:
        # any positive max_work is valid (numpy's stubs list only -1, 0)
        return bool(np.shares_memory(a, b, max_work=100_000))  # type: ignore[arg-type]
    except np.exceptions.TooHardError:
        return True


def _declared(node: Apply, j: int) -> set[int]:
    op = node.op
    return set((op.view_map or {}).get(j, ())) | set((op.destroy_map or {}).get(j, ()))


def undeclared_aliases(node: Apply, inputs: Sequence[Any], outputs: Sequence[Any]
                       ) -> Iterator[tuple[int, int | None, int | None]]:
    """``(output, input, None)`` for each output sharing memory with an input
    that neither ``view_map`` nor ``destroy_map`` of that output names, and
    ``(output, None, other_output)`` for two outputs sharing memory although
    neither is declared a view.  An input that itself shares memory with a
    declared input (the same array passed twice, a view of it) is not
    counted."""
    for j, out in enumerate(outputs):
        declared = _declared(node, j)
        for i, inp in enumerate(inputs):
            if i in declared or not shares_memory(out, inp):
                continue
            if any(shares_memory(inp, inputs[d]) for d in declared if d < len(inputs)):
                continue
            yield j, i, None
    free = [j for j in range(len(outputs)) if not _declared(node, j)]
    for a, j in enumerate(free):
        for k in free[a + 1:]:
            if shares_memory(outputs[j], outputs[k]):
                yield j, None, k


def _state(value: Any) -> Any:
    """A comparable snapshot of a random generator's state (else None)."""
    bit = getattr(value, "bit_generator", None)
    if bit is not None:
        return repr(bit.state)
    get_state = getattr(value, "get_state", None)
    if callable(get_state) and isinstance(value, np.random.RandomState):
        return repr(get_state())
    return None


def _modified(before: Any, after: Any) -> bool:
    if isinstance(before, np.ndarray) and isinstance(after, np.ndarray):
        if before.shape != after.shape or before.dtype != after.dtype:
            return True
        try:
            return not np.array_equal(before, after,
                                      equal_nan=before.dtype.kind in "fc")
        except TypeError:  # object arrays whose elements have no ==
            return False
    state = _state(before)
    return state is not None and state != _state(after)


def undeclared_writes(node: Apply, inputs: Sequence[Any], snapshots: Sequence[Any]
                      ) -> list[int]:
    """Inputs that differ from their snapshot (taken before the node ran)
    although ``destroy_map`` does not name them (nor do they share memory
    with an input it names)."""
    destroyed = {i for lst in (node.op.destroy_map or {}).values() for i in lst}
    bad = []
    for i, (now, before) in enumerate(zip(inputs, snapshots, strict=True)):
        if i in destroyed or any(shares_memory(now, inputs[d]) for d in destroyed
                                 if d < len(inputs)):
            continue
        if _modified(before, now):
            bad.append(i)
    return bad


def first_nonfinite(value: Any) -> tuple[int, ...] | None:
    """The index of the first NaN or infinity of a float/complex array, else None."""
    if not _is_array(value):
        return None
    arr = np.asarray(value)
    if arr.dtype.kind not in "fc" or arr.size == 0:
        return None
    finite = np.isfinite(arr)
    if finite.all():
        return None
    return tuple(int(i) for i in np.argwhere(~finite)[0])


def run_perform(node: Apply, inputs: Sequence[Any]) -> list[Any]:
    """``node.op.perform`` on ``inputs`` (used as they are), returning the
    outputs."""
    storage: list[list[Any]] = [[None] for _ in node.outputs]
    node.op.perform(node, list(inputs), storage)
    return [s[0] for s in storage]


class ReferenceEvaluator:
    """Values of any variables, computed with ``perform`` on demand.

    Parameters
    ----------
    bindings
        ``{input variable: value}``; these values are never written to
        (inputs an op overwrites are copied first).

    A variable's value is computed from its owner's inputs (recursively,
    without Python recursion) and kept, so asking for many variables of
    overlapping graphs costs each node once.  A lazy ``ifelse`` evaluates
    its condition, then only the inputs of the taken branch.
    """

    def __init__(self, bindings: Mapping[Variable, Any]) -> None:
        self.values: dict[Variable, Any] = dict(bindings)

    def value(self, var: Variable) -> Any:
        """The value of ``var`` (computed now if needed)."""
        values = self.values
        if var in values:
            return values[var]
        stack = [var]
        while stack:
            v = stack[-1]
            if v in values:
                stack.pop()
                continue
            if isinstance(v, Constant):
                values[v] = v.data
                stack.pop()
                continue
            node = v.owner
            if node is None:
                raise MissingInputError(
                    f"DebugMode: {v} has no value; it is neither an input of the "
                    "function nor computed by a node (a rewrite left a free variable)")
            wanted = self._wanted(node)
            missing = [i for i in wanted if i not in values]
            if missing:
                stack.extend(missing)
                continue
            self._perform(node, set(wanted))
            stack.pop()
        return values[var]

    def _wanted(self, node: Apply) -> list[Variable]:
        if not is_lazy(node):
            return list(dict.fromkeys(node.inputs))
        op: Any = node.op  # an IfElse: lazy_condition / lazy_branches
        cond = op.lazy_condition(node)
        if cond not in self.values:
            return [cond]
        side = "then" if bool(self.values[cond]) else "else"
        labels = op.lazy_branches(node)
        return list(dict.fromkeys(
            v for v, label in zip(node.inputs, labels, strict=True)
            if label is None or label == side))

    def _perform(self, node: Apply, wanted: set[Variable]) -> None:
        destroyed = {i for lst in (node.op.destroy_map or {}).values() for i in lst}
        inputs = []
        for i, var in enumerate(node.inputs):
            value = self.values[var] if var in wanted else None
            inputs.append(copy_value(value) if i in destroyed else value)
        for out, value in zip(node.outputs, run_perform(node, inputs), strict=True):
            self.values[out] = value
