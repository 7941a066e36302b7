"""Indexing tensors like NumPy: ``x[1:3, ::-1]``, ``x[i]``, ``x[idx, 2:]``.

``x[key]`` goes through :func:`getitem`, which parses the key once into an
*index list* (``idx_list``): one entry per item of the key, where

* a Python ``int`` is a constant integer index,
* :data:`Idx.SCALAR` is a symbolic 0-d integer index (an extra input),
* :class:`IndexSlice` is a slice whose parts are ints, ``None`` or
  :data:`Idx.SCALAR` (each symbolic part is an extra input),
* ``None`` is ``np.newaxis`` and ``Ellipsis`` is ``...``,
* :data:`Idx.ARRAY` is an integer array or a boolean mask (an extra input;
  advanced indexing).

Constant parts live in the op's props; symbolic parts are the node's inputs
after ``x``, in key order.  Keys without arrays become a :class:`Subtensor`
(a view); keys with arrays become an advanced-indexing op
(:mod:`symarray.tensor.subtensor_advanced`), whose result is a copy.  The
same ``idx_list`` describes the target of ``set_subtensor``/``inc_subtensor``
(:mod:`symarray.tensor.subtensor_inc`).

Key decisions:

* Output shapes follow NumPy's rules exactly, including where the broadcast
  dimensions of advanced indices go (in place when the advanced indices are
  consecutive, first otherwise; integers count as advanced indices when an
  array is present, ``np.newaxis`` and a zero-length ``...`` separate them).
  One function, :func:`index_layout`, states these rules; the static shape,
  ``infer_shape`` and the build-time checks all read its result.
* Constant integer indices on dimensions of static length are checked when
  the graph is built; everything else is checked by NumPy at run time and
  re-raised as :class:`~symarray.errors.IndexingError` naming the op.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from symarray.errors import IndexDtypeError, IndexingError, ShapeMismatchError
from symarray.graph.basic import Apply, Constant, Op, Variable
from symarray.graph.traversal import NotScalarConstantError
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.elemwise import broadcast_static_shape
from symarray.tensor.type import TensorType
from symarray.tensor.variable import TensorConstant

__all__ = ["Subtensor", "Idx", "IndexSlice", "getitem", "parse_index"]


class Idx(enum.Enum):
    """Placeholders in an ``idx_list`` for the parts that are node inputs."""

    SCALAR = "?"  #: a symbolic 0-d integer (an index, or a slice part)
    ARRAY = "[]"  #: an integer array or a boolean mask (advanced indexing)

    def __repr__(self) -> str:
        return f"Idx.{self.name}"


SlicePart = int | None | Idx


@dataclass(frozen=True)
class IndexSlice:
    """A slice in an ``idx_list`` (hashable, unlike ``slice`` in Python 3.11)."""

    start: SlicePart = None
    stop: SlicePart = None
    step: SlicePart = None

    @property
    def parts(self) -> tuple[SlicePart, SlicePart, SlicePart]:
        return (self.start, self.stop, self.step)

    @property
    def n_inputs(self) -> int:
        return sum(p is Idx.SCALAR for p in self.parts)

    @property
    def is_full(self) -> bool:
        return self.start is None and self.stop is None and self.step in (None, 1)

    def __str__(self) -> str:
        def text(p: SlicePart) -> str:
            return "" if p is None else "?" if p is Idx.SCALAR else str(p)

        out = f"{text(self.start)}:{text(self.stop)}"
        return out if self.step is None else f"{out}:{text(self.step)}"


def entry_n_inputs(entry: Any) -> int:
    """How many node inputs one ``idx_list`` entry takes."""
    if isinstance(entry, IndexSlice):
        return entry.n_inputs
    return 1 if isinstance(entry, Idx) else 0


def idx_list_str(idx_list: Sequence[Any]) -> str:
    """``1:3, ::-1, ?`` -- the index as the user would write it."""
    words = []
    for e in idx_list:
        if e is None:
            words.append("newaxis")
        elif e is Ellipsis:
            words.append("...")
        elif isinstance(e, Idx):
            words.append(e.value)
        else:
            words.append(str(e))
    return ", ".join(words)


# -- parsing a key -------------------------------------------------------


def _index_error_text(k: Any) -> str:
    return (
        f"only integers, slices, None (np.newaxis), Ellipsis (...), integer "
        f"arrays and boolean arrays are valid indices, got {k!r}"
    )


def _as_int_or_var(k: Any, what: str) -> int | Variable | None:
    """A constant int, a symbolic 0-d integer variable, or None (absent)."""
    if k is None:
        return None
    if isinstance(k, (bool, np.bool_)):
        raise IndexDtypeError(f"{what} must be an integer, got the boolean {k!r}")
    if isinstance(k, (int, np.integer)):
        return int(k)
    if isinstance(k, Variable):
        if not isinstance(k.type, TensorType):
            raise IndexDtypeError(f"{what} must be a tensor, got {k} of type {k.type}")
        if k.type.ndim != 0 or k.type.numpy_dtype.kind not in "iu":
            raise IndexDtypeError(
                f"{what} must be an integer or a 0-d integer variable, got {k} of "
                f"type {k.type}; cast it with T.cast(v, 'int64')"
            )
        if isinstance(k, Constant):
            return int(k.data)
        return k
    if isinstance(k, np.ndarray) and k.ndim == 0 and k.dtype.kind in "iu":
        return int(k)
    raise IndexDtypeError(f"{what} must be an integer, None or a 0-d integer "
                          f"variable, got {k!r}")


def _array_constant(k: Any) -> TensorConstant:
    """A list/tuple/ndarray index as a constant with its exact static shape."""
    try:
        arr = np.asarray(k)
    except ValueError:
        raise IndexDtypeError(_index_error_text(k)) from None
    if arr.size == 0 and arr.dtype.kind == "f":
        arr = arr.astype(np.int64)  # `x[[]]` indexes with an empty int array
    if arr.dtype.kind not in "iub":
        raise IndexDtypeError(
            f"array indices must be integers or booleans, got dtype {arr.dtype} "
            f"({k!r}); {_index_error_text(k)}"
        )
    return TensorConstant(TensorType(arr.dtype.name, shape=arr.shape), arr)


def _parse_entry(k: Any, inputs: list[Any]) -> Any:
    """One key item as an ``idx_list`` entry; appends its symbolic inputs."""
    if k is None or k is Ellipsis:
        return k
    if isinstance(k, slice):
        parts: list[Any] = []
        for name, p in (("start", k.start), ("stop", k.stop), ("step", k.step)):
            v = _as_int_or_var(p, f"slice {name}")
            if isinstance(v, Variable):
                inputs.append(v)
                parts.append(Idx.SCALAR)
            else:
                parts.append(v)
        if parts[2] == 0:
            raise ValueError("slice step cannot be zero")
        return IndexSlice(*parts)
    if isinstance(k, (bool, np.bool_)):
        inputs.append(_array_constant(np.bool_(k)))
        return Idx.ARRAY
    if isinstance(k, (int, np.integer)):
        return int(k)
    if isinstance(k, Variable):
        if not isinstance(k.type, TensorType):
            raise IndexDtypeError(f"cannot index with {k} of type {k.type}")
        kind = k.type.numpy_dtype.kind
        if kind == "b":
            inputs.append(k)
            return Idx.ARRAY
        if kind not in "iu":
            raise IndexDtypeError(
                f"indices must be integers or booleans, got {k} of type {k.type}; "
                "cast it with T.cast(idx, 'int64')"
            )
        if k.type.ndim == 0:
            if isinstance(k, Constant):
                return int(k.data)
            inputs.append(k)
            return Idx.SCALAR
        inputs.append(k)
        return Idx.ARRAY
    if isinstance(k, (list, tuple)) and _holds_variable(k):
        return _parse_entry(as_tensor_variable(list(k)), inputs)
    if isinstance(k, (list, tuple, np.ndarray)):
        const = _array_constant(k)
        if const.type.ndim == 0 and const.type.numpy_dtype.kind in "iu":
            return int(const.data)
        inputs.append(const)
        return Idx.ARRAY
    raise IndexDtypeError(_index_error_text(k))


def _holds_variable(k: Any) -> bool:
    if isinstance(k, Variable):
        return True
    return isinstance(k, (list, tuple)) and any(_holds_variable(e) for e in k)


def parse_index(x: Any, key: Any) -> tuple[tuple[Any, ...], list[Any]]:
    """``(idx_list, index_inputs)`` for ``x[key]``; checks the key against x.

    Trailing full slices and a trailing ``...`` are dropped (NumPy adds them
    implicitly), so ``x[0, :]`` and ``x[0]`` build the same op.
    """
    items = key if isinstance(key, tuple) else (key,)
    inputs: list[Any] = []
    idx_list = [_parse_entry(k, inputs) for k in items]
    if sum(e is Ellipsis for e in idx_list) > 1:
        raise IndexingError("an index can only have a single ellipsis ('...')")
    check_index_rank(idx_list, inputs, x.type.ndim, x.type, key)
    while idx_list and (idx_list[-1] is Ellipsis or _trailing_full(idx_list)):
        idx_list.pop()
    return tuple(idx_list), inputs


def _trailing_full(idx_list: list[Any]) -> bool:
    """Can the last entry go?  A full slice can unless an ellipsis before it
    would then cover one more dimension on the wrong side of another entry."""
    if not (isinstance(idx_list[-1], IndexSlice) and idx_list[-1].is_full):
        return False
    if Ellipsis not in idx_list:
        return True
    after = idx_list[idx_list.index(Ellipsis) + 1:]
    return all(isinstance(e, IndexSlice) and e.is_full for e in after)


def check_index_rank(idx_list: Sequence[Any], inputs: Sequence[Any], ndim: int,
                     x_type: Any, key: Any = None) -> None:
    """Raise when the index uses more dimensions than ``x`` has."""
    used = 0
    pos = 0
    for e in idx_list:
        if e is Idx.ARRAY:
            t = inputs[pos].type
            used += t.ndim if t.numpy_dtype.kind == "b" else 1
        elif e is not None and e is not Ellipsis:
            used += 1
        pos += entry_n_inputs(e)
    if used > ndim:
        shown = idx_list_str(idx_list) if key is None else repr(key)
        raise IndexingError(
            f"too many indices for a {ndim}-d tensor ({x_type}): the index "
            f"[{shown}] uses {used} dimensions"
        )


# -- where the output dimensions come from ---------------------------------


@dataclass
class Layout:
    """How ``x[idx]``'s dimensions arise from ``x`` and the index inputs.

    ``out`` has one entry per output dimension: ``("slice", axis, IndexSlice,
    pos)`` (``pos``: first input of the slice's symbolic parts), ``("new",)``
    or ``("fancy", d)`` (dimension ``d`` of the broadcast advanced indices).
    ``fancy`` lists the advanced indices: ``("scalar", axis, value, pos)``,
    ``("array", axis, pos)`` or ``("mask", axes, pos)``; without arrays,
    integer indices are listed in ``ints`` instead and ``fancy`` is empty.
    Positions count index inputs (0 is the first input after ``x``).
    """

    out: list[tuple[Any, ...]]
    fancy: list[tuple[Any, ...]]
    ints: list[tuple[Any, ...]]
    fancy_ndim: int


def index_layout(idx_list: Sequence[Any], x_ndim: int,
                 index_types: Sequence[Any]) -> Layout:
    """NumPy's placement rules for ``x[idx]`` (see the module docstring)."""
    has_fancy = any(e is Idx.ARRAY for e in idx_list)
    used = sum(
        (index_types[p].ndim if index_types[p].numpy_dtype.kind == "b" else 1)
        if e is Idx.ARRAY else (0 if e is None or e is Ellipsis else 1)
        for e, p in zip(idx_list, _positions(idx_list), strict=False)
    )
    out_basic: list[tuple[Any, ...]] = []
    fancy: list[tuple[Any, ...]] = []
    ints: list[tuple[Any, ...]] = []
    axis = 0
    result_dim = 0
    consec = 0
    status = -1  # -1: no advanced index yet; 0: in a run; 1: run ended; 2: split
    fancy_ndim = 0
    for e, pos in zip(idx_list, _positions(idx_list), strict=False):
        is_fancy = has_fancy and (e is Idx.ARRAY or e is Idx.SCALAR or
                                  isinstance(e, int))
        if is_fancy:
            if status == -1:
                consec, status = result_dim, 0
            elif status == 1:
                consec, status = 0, 2
        elif status == 0:
            status = 1
        if e is None:
            out_basic.append(("new",))
            result_dim += 1
        elif e is Ellipsis:
            for _ in range(x_ndim - used):
                out_basic.append(("slice", axis, IndexSlice(), pos))
                axis += 1
                result_dim += 1
        elif isinstance(e, IndexSlice):
            out_basic.append(("slice", axis, e, pos))
            axis += 1
            result_dim += 1
        elif e is Idx.ARRAY:
            t = index_types[pos]
            if t.numpy_dtype.kind == "b":
                fancy.append(("mask", tuple(range(axis, axis + t.ndim)), pos))
                axis += t.ndim
                fancy_ndim = max(fancy_ndim, 1)
            else:
                fancy.append(("array", axis, pos))
                axis += 1
                fancy_ndim = max(fancy_ndim, t.ndim)
        else:  # an int or Idx.SCALAR
            value = None if e is Idx.SCALAR else e
            (fancy if has_fancy else ints).append(("scalar", axis, value, pos))
            axis += 1
    for a in range(axis, x_ndim):
        out_basic.append(("slice", a, IndexSlice(), None))
    if not has_fancy:
        return Layout(out_basic, [], ints, 0)
    fancy_dims = [("fancy", d) for d in range(fancy_ndim)]
    out = out_basic[:consec] + fancy_dims + out_basic[consec:]
    return Layout(out, fancy, ints, fancy_ndim)


def _positions(idx_list: Sequence[Any]) -> list[int]:
    """The input position of each entry's first symbolic part."""
    out = []
    pos = 0
    for e in idx_list:
        out.append(pos)
        pos += entry_n_inputs(e)
    return out


def static_shape_of(var: Any) -> tuple[int | None, ...]:
    """Static shape of a variable; a constant's comes from its data."""
    if isinstance(var, Constant):
        return tuple(np.shape(var.data))
    return tuple(var.type.shape)


def _static_slice_len(n: int | None, s: IndexSlice) -> int | None:
    if n == 0:
        return 0
    if n is None or any(p is Idx.SCALAR for p in s.parts):
        return None
    return len(range(*slice(*s.parts).indices(n)))


def _broadcast_static(shapes: list[tuple[int | None, ...]], what: str
                      ) -> tuple[int | None, ...]:
    """Static broadcast shape of index arrays (NumPy's rule, ranks padded left)."""
    ndim = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    try:
        return broadcast_static_shape(padded, what)
    except ShapeMismatchError:
        raise IndexingError(
            f"{what}: shape mismatch: indexing arrays could not be broadcast "
            f"together with shapes {' '.join(str(s) for s in shapes)}"
        ) from None


def check_static_index(layout: Layout, x_shape: Sequence[int | None],
                       index_vars: Sequence[Variable], what: str) -> None:
    """Build-time checks of constant indices against static lengths."""
    for part in layout.ints + layout.fancy:
        kind = part[0]
        if kind == "scalar":
            _, axis, value, _ = part
            n = x_shape[axis]
            if value is not None and n is not None and not -n <= value < n:
                raise IndexingError(
                    f"{what}: index {value} is out of bounds for axis {axis} with "
                    f"length {n} (shape {tuple(x_shape)})"
                )
        elif kind == "array":
            _, axis, pos = part
            var = index_vars[pos]
            n = x_shape[axis]
            if isinstance(var, Constant) and n is not None and np.size(var.data):
                lo, hi = int(np.min(var.data)), int(np.max(var.data))
                if lo < -n or hi >= n:
                    bad = lo if lo < -n else hi
                    raise IndexingError(
                        f"{what}: index {bad} is out of bounds for axis {axis} with "
                        f"length {n} (shape {tuple(x_shape)})"
                    )
        else:
            _, axes, pos = part
            mask_shape = static_shape_of(index_vars[pos])
            for a, m in zip(axes, mask_shape, strict=False):
                n = x_shape[a]
                if n is not None and m is not None and n != m:
                    raise IndexingError(
                        f"{what}: boolean index did not match the indexed tensor "
                        f"along axis {a}; the tensor has length {n} there (shape "
                        f"{tuple(x_shape)}) but the mask has length {m} (mask "
                        f"shape {mask_shape})"
                    )


def static_out_shape(layout: Layout, x_shape: Sequence[int | None],
                     index_vars: Sequence[Variable], what: str
                     ) -> tuple[int | None, ...]:
    """The static shape of ``x[idx]`` (None where not known)."""
    fancy_shapes: list[tuple[int | None, ...]] = []
    for part in layout.fancy:
        if part[0] == "scalar":
            fancy_shapes.append(())
        elif part[0] == "array":
            fancy_shapes.append(static_shape_of(index_vars[part[2]]))
        else:
            mask = index_vars[part[2]]
            count = (int(np.count_nonzero(mask.data)) if isinstance(mask, Constant)
                     else None)
            fancy_shapes.append((count,))
    bshape = _broadcast_static(fancy_shapes, what) if fancy_shapes else ()
    out: list[int | None] = []
    for d in layout.out:
        if d[0] == "slice":
            out.append(_static_slice_len(x_shape[d[1]], d[2]))
        elif d[0] == "new":
            out.append(1)
        else:
            out.append(bshape[d[1]])
    return tuple(out)


def symbolic_out_shape(layout: Layout, x_static: Sequence[int | None],
                       x_shape: Sequence[Any], index_vars: Sequence[Variable],
                       index_shapes: Sequence[Sequence[Any]]) -> tuple[Any, ...]:
    """``infer_shape`` of ``x[idx]``: ints where static, else 0-d int graphs."""
    from symarray.tensor.subtensor_advanced import count_nonzero_scalar

    fancy_shapes: list[list[Any]] = []
    for part in layout.fancy:
        if part[0] == "scalar":
            fancy_shapes.append([])
        elif part[0] == "array":
            pos = part[2]
            static = static_shape_of(index_vars[pos])
            fancy_shapes.append(list(fill_static(static, index_shapes[pos])))
        else:
            mask = index_vars[part[2]]
            if isinstance(mask, Constant):
                fancy_shapes.append([int(np.count_nonzero(mask.data))])
            else:
                fancy_shapes.append([count_nonzero_scalar(mask)])
    bshape = _broadcast_symbolic(fancy_shapes)
    out: list[Any] = []
    for d in layout.out:
        if d[0] == "slice":
            _, axis, s, pos = d
            n = x_static[axis] if x_static[axis] is not None else x_shape[axis]
            scalars = list(index_vars[pos:pos + s.n_inputs]) if pos is not None else []
            out.append(_symbolic_slice_len(n, s, scalars))
        elif d[0] == "new":
            out.append(1)
        else:
            out.append(bshape[d[1]])
    return tuple(out)


def fill_static(static: Sequence[int | None], symbolic: Sequence[Any]
                ) -> tuple[Any, ...]:
    """Static lengths where known, the symbolic ones elsewhere."""
    return tuple(s if s is not None else d
                 for s, d in zip(static, symbolic, strict=True))


def _broadcast_symbolic(shapes: list[list[Any]]) -> list[Any]:
    from symarray.tensor.math import ELEMWISE_OPS

    ndim = max((len(s) for s in shapes), default=0)
    out: list[Any] = []
    for d in range(ndim):
        lengths = [s[len(s) - ndim + d] for s in shapes if len(s) - ndim + d >= 0]
        cands = [n for n in lengths if not (isinstance(n, int) and n == 1)]
        ints = {n for n in cands if isinstance(n, int)}
        if not cands:
            out.append(1)
        elif len(cands) == 1:
            out.append(cands[0])
        elif ints and len(ints) == 1:
            out.append(ints.pop())
        else:
            acc = cands[0]
            for c in cands[1:]:
                acc = ELEMWISE_OPS["maximum"](acc, c)
            out.append(acc)
    return out


def _symbolic_slice_len(n: Any, s: IndexSlice, scalars: Sequence[Variable]) -> Any:
    if isinstance(n, int):
        static = _static_slice_len(n, s)
        if static is not None:
            return static
    if s.start is None and s.stop is None and s.step in (None, 1, -1):
        return n
    it = iter(scalars)
    args = [n]
    for p in s.parts:
        if p is Idx.SCALAR:
            args.append(next(it))
        elif isinstance(p, int):
            args.append(as_tensor_variable(np.int64(p)))
    from symarray.tensor.subtensor_advanced import SliceLength

    flags = tuple(p is not None for p in s.parts)
    return SliceLength(*flags)(*args)


# -- run time -----------------------------------------------------------------


def build_key(idx_list: Sequence[Any], values: Sequence[Any]) -> tuple[Any, ...]:
    """The NumPy key for ``idx_list`` given the index inputs' values."""
    it = iter(values)
    key: list[Any] = []
    for e in idx_list:
        if e is Idx.SCALAR:
            key.append(int(next(it)))
        elif e is Idx.ARRAY:
            key.append(np.asarray(next(it)))
        elif isinstance(e, IndexSlice):
            key.append(slice(*(int(next(it)) if p is Idx.SCALAR else p
                               for p in e.parts)))
        else:
            key.append(e)
    return tuple(key)


def check_index_inputs(op: Op, idx_list: Sequence[Any],
                       inputs: Sequence[Any], allow_arrays: bool) -> None:
    """Types of the index inputs of an indexing node against its idx_list."""
    expected = sum(entry_n_inputs(e) for e in idx_list)
    if len(inputs) != expected:
        raise TypeError(
            f"{op}: the index [{idx_list_str(idx_list)}] needs {expected} index "
            f"inputs, got {len(inputs)}"
        )
    for e, pos in zip(idx_list, _positions(idx_list), strict=False):
        if e is Idx.ARRAY:
            if not allow_arrays:
                raise TypeError(f"{op}: array indices need AdvancedSubtensor")
            t = inputs[pos].type
            if not isinstance(t, TensorType) or t.numpy_dtype.kind not in "iub":
                raise IndexDtypeError(
                    f"{op}: array index {pos} must be an integer or boolean tensor, "
                    f"got {inputs[pos]} of type {t}"
                )
            continue
        for k in range(entry_n_inputs(e)):
            t = inputs[pos + k].type
            if (not isinstance(t, TensorType) or t.ndim != 0
                    or t.numpy_dtype.kind not in "iu"):
                raise IndexDtypeError(
                    f"{op}: index input {pos + k} must be a 0-d integer, got "
                    f"{inputs[pos + k]} of type {t}"
                )


def index_or_raise(op: Op, x: np.ndarray[Any, Any], key: tuple[Any, ...]) -> Any:
    """``x[key]``, with NumPy's IndexError re-raised naming the op."""
    try:
        return x[key]
    except IndexError as err:
        raise IndexingError(
            f"{op}: {err} (indexing an array of shape {x.shape})"
        ) from None


# -- basic indexing -------------------------------------------------------------


def index_node(op: Any, x: Any, index_inputs: Sequence[Any],
               allow_arrays: bool) -> Apply:
    """The node of the indexing op ``op`` (with an ``idx_list``) applied to
    ``x`` and the index inputs, after checking them against ``x``'s type."""
    x = as_tensor_variable(x)
    inputs: list[Any] = [as_tensor_variable(i) for i in index_inputs]
    check_index_inputs(op, op.idx_list, inputs, allow_arrays=allow_arrays)
    check_index_rank(op.idx_list, inputs, x.ndim, x.type)
    layout = index_layout(op.idx_list, x.ndim, [i.type for i in inputs])
    check_static_index(layout, x.type.shape, inputs, str(op))
    shape = static_out_shape(layout, x.type.shape, inputs, str(op))
    return Apply(op, [x, *inputs], [TensorType(x.dtype, shape=shape)()])


def index_out_shape(idx_list: Sequence[Any], node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """The symbolic shape of ``x[idx_list]`` for the node ``x[...]`` whose
    inputs are ``x`` then the index inputs (for ``infer_shape``)."""
    x: Any = node.inputs[0]
    index_vars = node.inputs[1:]
    layout = index_layout(idx_list, x.type.ndim, [i.type for i in index_vars])
    return symbolic_out_shape(layout, x.type.shape, input_shapes[0], index_vars,
                              input_shapes[1:])


class Subtensor(Op):
    """Basic indexing ``x[idx]`` (ints, slices, newaxis, ...): returns a view.

    ``idx_list`` holds the constant parts (see the module docstring); the
    symbolic integers and slice parts are inputs after ``x``.

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> x = T.dmatrix("x")
    >>> y = x[1:, ::-1]
    >>> y.owner.op
    Subtensor{1:, ::-1}
    >>> y.eval({x: np.arange(6.0).reshape(2, 3)})
    array([[5., 4., 3.]])
    """

    __props__ = ("idx_list",)
    view_map = {0: [0]}

    def __init__(self, idx_list: Sequence[Any]) -> None:
        self.idx_list = tuple(idx_list)
        for e in self.idx_list:
            if e is Idx.ARRAY:
                raise TypeError("Subtensor: array indices need AdvancedSubtensor")
            if not (e is None or e is Ellipsis
                    or isinstance(e, (int, Idx, IndexSlice))):
                raise TypeError(f"Subtensor: bad idx_list entry {e!r}")

    def __str__(self) -> str:
        return f"Subtensor{{{idx_list_str(self.idx_list)}}}"

    def make_node(self, x: Any, *index_inputs: Any) -> Apply:
        return index_node(self, x, index_inputs, allow_arrays=False)

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x = inputs[0]
        key = build_key(self.idx_list, inputs[1:])
        if Ellipsis not in self.idx_list:
            key = key + (Ellipsis,)  # always an array (a view), never a scalar
        output_storage[0][0] = index_or_raise(self, x, key)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [index_out_shape(self.idx_list, node, input_shapes)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # gradient: zeros shaped like x with gz added at the index
        from symarray.tensor.subtensor_inc import IncSubtensor, index_grad

        return index_grad(IncSubtensor(self.idx_list), inputs, output_grads)

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        from symarray.tensor.subtensor_inc import index_rop

        return index_rop(self, inputs, eval_points)

    def scalar_constant_value(self, var: Any, get: Any) -> Any:
        """``x.shape[i]`` for a static length, and constants indexed by constants."""
        node = var.owner
        assert node is not None
        x: Any = node.inputs[0]
        if var.type.ndim != 0:
            raise NotScalarConstantError(f"{var} is not a scalar")
        if len(self.idx_list) == 1 and isinstance(self.idx_list[0], int):
            i = self.idx_list[0]
            op_name, source = _vector_source(x)
            if op_name == "Shape" and -source.type.ndim <= i < source.type.ndim:
                n = source.type.shape[i]
                if n is not None:
                    return np.asarray(n, dtype=var.type.dtype)
            if op_name == "MakeVector" and -len(source) <= i < len(source):
                return np.asarray(get(source[i]), dtype=var.type.dtype)
        if isinstance(x, Constant):
            values = [get(v) for v in node.inputs[1:]]
            key = build_key(self.idx_list, values)
            try:
                return np.asarray(x.data[key])
            except IndexError:
                pass
        raise NotScalarConstantError(f"{var} is not a constant")


def _vector_source(x: Variable) -> tuple[str, Any]:
    """``("Shape", v)`` when ``x`` is ``v.shape``, ``("MakeVector", entries)``
    when ``x`` stacks scalars, else ``("", None)``."""
    if x.owner is None:
        return "", None
    from symarray.tensor import shape_ops

    if isinstance(x.owner.op, getattr(shape_ops, "Shape", ())):
        return "Shape", x.owner.inputs[0]
    if isinstance(x.owner.op, getattr(shape_ops, "MakeVector", ())):
        return "MakeVector", x.owner.inputs
    return "", None


def getitem(x: Any, key: Any) -> Any:
    """``x[key]`` with NumPy's semantics (what ``TensorVariable.__getitem__`` calls).

    Basic keys (ints, slices, ``None``, ``...``; constant or symbolic) give a
    :class:`Subtensor` view; keys with integer arrays or boolean masks give
    an ``AdvancedSubtensor1`` (one int vector on axis 0) or an
    ``AdvancedSubtensor`` (anything else), whose results are copies.

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> x = T.dvector("x")
    >>> i = T.lscalar("i")
    >>> x[i:].eval({x: np.arange(4.0), i: 1})
    array([1., 2., 3.])
    >>> x[[3, 0]].eval({x: np.arange(4.0)})
    array([3., 0.])
    """
    x = as_tensor_variable(x)
    idx_list, inputs = parse_index(x, key)
    if Idx.ARRAY not in idx_list:
        return Subtensor(idx_list)(x, *inputs)
    from symarray.tensor.subtensor_advanced import AdvancedSubtensor, AdvancedSubtensor1

    if (idx_list == (Idx.ARRAY,) and inputs[0].type.ndim == 1
            and inputs[0].type.numpy_dtype.kind in "iu"):
        return AdvancedSubtensor1()(x, inputs[0])
    return AdvancedSubtensor(idx_list)(x, *inputs)


_MOVED = {
    "subtensor_advanced": ("AdvancedSubtensor1", "AdvancedSubtensor", "take",
                           "advanced_subtensor1", "advanced_subtensor"),
    "subtensor_inc": ("IncSubtensor", "AdvancedIncSubtensor1", "AdvancedIncSubtensor",
                      "inc_subtensor", "set_subtensor", "advanced_inc_subtensor1",
                      "advanced_set_subtensor1", "advanced_inc_subtensor",
                      "advanced_set_subtensor"),
}


def __getattr__(name: str) -> Any:
    """Theano's ``tensor.subtensor`` also held the advanced and writing ops."""
    import importlib

    for module, names in _MOVED.items():
        if name in names:
            return getattr(importlib.import_module(f"symarray.tensor.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
