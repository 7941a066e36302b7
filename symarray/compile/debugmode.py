"""DebugMode: a self-checking mode that runs every node twice and compares.

``function(..., mode="DebugMode")`` (or ``"DEBUG_MODE"``, a
:class:`DebugMode` object, or ``config.mode = "DebugMode"``) compiles the
graph with the usual rewrites, then at every call:

1. runs each node, in schedule order, with the thunk the normal linker
   would use (a C kernel of :mod:`symarray.kernels_c` where one exists),
   and, on copies of the inputs, with the op's ``perform`` (the reference);
   the two results must agree (dtype, shape, NaN/inf positions, values
   within per-dtype tolerances), else :class:`~symarray.errors.
   BadThunkOutput`;
2. checks what each op declares: an output sharing memory with an input
   that ``view_map``/``destroy_map`` do not name raises
   :class:`~symarray.errors.BadViewMap`, an input changed without a
   ``destroy_map`` entry :class:`~symarray.errors.BadDestroyMap` (both for
   the kernel and for ``perform``);
3. with ``check_isfinite``, raises :class:`~symarray.errors.
   InvalidValueError` at the first node that makes NaN or infinity from
   finite inputs;
4. evaluates the graph as written (before rewriting, with ``perform``) on
   the same inputs and compares the outputs; when they differ, it checks
   the rewrites' replacements in the order they were made and raises
   :class:`~symarray.errors.BadOptimization` naming the first rewrite whose
   replacement has another value than the variable it replaced.

Every error names the node, the user line that created it, its inputs'
shapes and dtypes, and (for value differences) the first differing index
with the largest absolute and relative difference.

Key decisions:

* The values that flow on are the fast backend's, so the rest of the
  graph runs as it would in FAST_RUN; a node whose thunk is ``perform``
  anyway (backend ``py``/``numpy``) runs once.
* Lazy ``ifelse`` keeps its laziness: the bytecode's jumps are followed,
  so only the taken branch's nodes run and are checked; the graph as
  written is evaluated on demand, also only along the taken branch.
* ``scan``: the outer node's loop kernel is compared with ``Scan.perform``.
  The inner step is checked when the scan's own mode is DebugMode
  (``scan(..., mode="DebugMode")``, or ``config.mode = "DebugMode"`` while
  the function is compiled): ``perform`` runs the step as a DebugMode
  function.
* The rewrites are recorded while the graph is rewritten (a FunctionGraph
  feature sees every replacement and its rewriter's name), with the
  in-process graph cache off so that every rewrite runs and is seen.
* The checks are Python-level and copy every input of every node: calls
  are a few times slower than FAST_RUN on large arrays and hundreds of
  times on tiny ones.  Use it in tests and while debugging.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from symarray import config
from symarray.compile._debugcheck import (
    REWRITE_TOLERANCES,
    THUNK_TOLERANCES,
    ReferenceEvaluator,
    compare_values,
    copy_value,
    first_nonfinite,
    node_precision,
    run_perform,
    undeclared_aliases,
    undeclared_writes,
)
from symarray.compile.linkers import _program, register_linker
from symarray.compile.mode import Mode
from symarray.errors import (
    BadDestroyMap,
    BadOptimization,
    BadThunkOutput,
    BadViewMap,
    ConfigError,
    DebugModeError,
    InvalidValueError,
)
from symarray.graph.basic import Apply, Variable
from symarray.graph.fg import Feature, FunctionGraph
from symarray.graph.traversal import clone_get_equiv
from symarray.vm.program import Program
from symarray.vm.pyvm import PyVM, describe_failure

__all__ = ["DebugMode", "DebugVM", "DebugRecord", "Replacement", "RewriteHistory",
           "THUNK_TOLERANCES", "REWRITE_TOLERANCES"]


#: thunk backends that run ``perform`` themselves (no second run needed)
_PERFORM_BACKENDS = frozenset({"py", "numpy"})

#: DebugMode's linker names (``_nogc``: keep buffers between calls)
_LINKERS = ("debug", "debug_nogc")


class DebugMode(Mode):
    """A Mode that checks every node, every rewrite and every declared alias.

    Parameters
    ----------
    optimizer
        The rewrites to run (as for :class:`Mode`; Theano's default
        ``"fast_run"``).
    stability_patience, check_preallocated_output
        Accepted for Theano compatibility; not used.
    check_c_code
        Run each node with the backend the normal linker picks (C kernels
        where there are some).  False: every node runs only ``perform``.
        Default ``config.DebugMode__check_c``.
    check_py_code
        Also run each node's ``perform`` on copies of its inputs and compare
        (:class:`~symarray.errors.BadThunkOutput`).  Default
        ``config.DebugMode__check_py``.
    check_isfinite
        Raise :class:`~symarray.errors.InvalidValueError` at the first node
        that makes NaN or infinity from finite inputs.  Default
        ``config.DebugMode__check_finite``.
    require_matching_strides
        0: ignore output strides; 1: warn, 2: raise when the kernel's
        output strides differ from ``perform``'s.  Default
        ``config.DebugMode__check_strides``.
    linker
        ``"debug"`` (the default) or ``"debug_nogc"`` (kernels write into
        last call's buffers, as in no-GC mode); DebugMode runs its own
        linker.
    check_each_rewrite
        On every call compare each rewrite's replacement with the variable
        it replaced (default: only when the outputs differ from the graph
        as written).  Default ``config.DebugMode__check_each_rewrite``.
    including, excluding, requiring
        Rewrite tags, as for :class:`Mode`.

    Examples
    --------
    >>> import symarray as theano, symarray.tensor as T
    >>> x = T.dvector("x")
    >>> f = theano.function([x], T.exp(x) * 2, mode="DebugMode")
    >>> f([0.0, 1.0])
    array([2.        , 5.43656366])
    >>> from symarray.compile.debugmode import DebugMode
    >>> g = theano.function([x], 10 * x, mode=DebugMode(check_c_code=False))
    >>> g([1.0])
    array([10.])
    """

    def __init__(self, optimizer: Any = "fast_run", stability_patience: Any = None,
                 check_c_code: bool | None = None, check_py_code: bool | None = None,
                 check_isfinite: bool | None = None,
                 check_preallocated_output: Any = None,
                 require_matching_strides: int | None = None, linker: Any = None,
                 check_each_rewrite: bool | None = None,
                 including: tuple[str, ...] = (), excluding: tuple[str, ...] = (),
                 requiring: tuple[str, ...] = ()) -> None:
        name = "debug" if linker is None else linker
        if name not in _LINKERS:
            raise ConfigError(
                f"DebugMode runs its own linker ('debug' or 'debug_nogc'), got "
                f"linker={linker!r}; leave linker out, or use "
                "check_c_code=False to run only perform")
        super().__init__(linker=name, optimizer=optimizer, including=including,
                         excluding=excluding, requiring=requiring)

        def pick(value: Any, flag: str) -> Any:
            return getattr(config, flag) if value is None else value

        self.check_c_code = bool(pick(check_c_code, "DebugMode__check_c"))
        self.check_py_code = bool(pick(check_py_code, "DebugMode__check_py"))
        self.check_isfinite = bool(pick(check_isfinite, "DebugMode__check_finite"))
        self.check_each_rewrite = bool(
            pick(check_each_rewrite, "DebugMode__check_each_rewrite"))
        strides = pick(require_matching_strides, "DebugMode__check_strides")
        if strides not in (0, 1, 2) or isinstance(strides, bool):
            raise ConfigError(
                f"DebugMode: require_matching_strides must be 0 (ignore), 1 (warn) "
                f"or 2 (raise), got {strides!r}")
        self.require_matching_strides = int(strides)
        if not (self.check_c_code or self.check_py_code):
            raise ConfigError(
                "DebugMode: check_c_code and check_py_code are both False, so no "
                "node would run; keep at least one of them True")
        self.stability_patience = stability_patience
        self.check_preallocated_output = check_preallocated_output

    def _clone(self, **changes: Any) -> DebugMode:
        new = DebugMode.__new__(DebugMode)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def __repr__(self) -> str:
        parts = [f"optimizer={self.optimizer!r}", f"linker={self.linker!r}",
                 f"check_c_code={self.check_c_code}",
                 f"check_py_code={self.check_py_code}",
                 f"check_isfinite={self.check_isfinite}",
                 f"require_matching_strides={self.require_matching_strides}",
                 f"check_each_rewrite={self.check_each_rewrite}"]
        for key in ("including", "excluding", "requiring"):
            if self.__dict__["_" + key]:
                parts.append(f"{key}={self.__dict__['_' + key]}")
        return f"DebugMode({', '.join(parts)})"

    def watch_rewrite(self, fgraph: FunctionGraph, pipeline: Any) -> None:
        """Rewrite ``fgraph`` with ``pipeline`` (None: no rewriting) while
        recording every replacement; keep a copy of the graph as written.

        Called by ``FunctionMaker`` in place of the pipeline; the result is
        stored as ``fgraph.debug_record`` (a :class:`DebugRecord`) for the
        linker.
        """
        equiv = clone_get_equiv(fgraph.inputs, fgraph.outputs, copy_inputs=False,
                                copy_orphans=False)
        original = [equiv[o] for o in fgraph.outputs]
        history = RewriteHistory()
        if pipeline is not None:
            fgraph.attach_feature(history)
            try:
                with config.change_flags(graph_cache=False):
                    pipeline(fgraph, self)
            finally:
                fgraph.remove_feature(history)
        fgraph.debug_record = DebugRecord(  # type: ignore[attr-defined]
            self, list(fgraph.inputs), original, history.replacements())


@dataclass(frozen=True)
class Replacement:
    """One replacement a rewrite made: ``old`` was replaced by ``new``."""

    rewrite: str
    old: Variable
    new: Variable


@dataclass
class DebugRecord:
    """What DebugMode kept from compiling a graph (``fgraph.debug_record``)."""

    mode: DebugMode
    #: the graph's inputs (shared by the graph as written)
    inputs: list[Variable]
    #: the outputs of the graph as written (a copy made before rewriting)
    original_outputs: list[Variable]
    #: the rewrites' replacements, in the order they were made
    replacements: list[Replacement] = field(default_factory=list)


class RewriteHistory(Feature):
    """Records every input change a rewrite makes, with the rewriter's name;
    changes that are rolled back are forgotten."""

    def __init__(self) -> None:
        self.changes: list[tuple[Any, int, Variable, Variable, str]] = []

    def on_change_input(self, fgraph: FunctionGraph, node: Any, i: int,
                        old: Variable, new: Variable, reason: str) -> None:
        if reason == "rollback":
            for k in range(len(self.changes) - 1, -1, -1):
                n, j, o, nw, _ = self.changes[k]
                if n is node and j == i and o is new and nw is old:
                    del self.changes[k]
                    break
            return
        self.changes.append((node, i, old, new, reason))

    def replacements(self) -> list[Replacement]:
        """Each distinct ``(old, new)`` pair once, in order."""
        seen: set[tuple[int, int]] = set()
        out = []
        for _, _, old, new, reason in self.changes:
            key = (id(old), id(new))
            if key not in seen:
                seen.add(key)
                out.append(Replacement(reason or "(unnamed rewrite)", old, new))
        return out


def _who(backend: str) -> str:
    if backend == "c":
        return "its C kernel"
    if backend in _PERFORM_BACKENDS:
        return "its perform"
    return f"its {backend} thunk"


def _message(head: str, node: Apply, values: Sequence[Any], hint: str) -> str:
    """``head``, then the node's description (inputs, creation site), then
    one ``HINT:`` line."""
    lines = [head]
    lines += [line for line in describe_failure(node, values).splitlines()
              if not line.startswith("HINT:")]
    lines.append(f"HINT: {hint}")
    return "\n".join(lines)


def _add_note(err: BaseException, note: str) -> None:
    if hasattr(err, "add_note"):
        err.add_note(note)


class _CheckingPyVM(PyVM):
    """The Python VM's loop with every CALL routed through ``check_call(k)``
    (a :class:`DebugVM`'s checks)."""

    def __init__(self, program: Program, check_call: Any) -> None:
        super().__init__(program)
        self._checked_calls = [functools.partial(check_call, k)
                               for k in range(len(program.thunks))]

    def _run(self) -> None:
        self._loop(self._checked_calls)

    def _failed(self, err: BaseException, pc: int) -> None:
        if isinstance(err, DebugModeError):  # its message already describes the node
            self._empty_cells()
        else:
            super()._failed(err, pc)


class DebugVM:
    """Runs a Program like :class:`~symarray.vm.pyvm.PyVM`, checking each node.

    Parameters
    ----------
    program
        The Program the normal linker would build (its thunks are the fast
        backend's).
    mode
        The :class:`DebugMode` whose flags say what to check.
    record
        What was recorded while rewriting (None: no rewrite check).

    It is not a PyVM: the profiler, which would replace a PyVM by its own
    timed twin and drop the checks, refuses it instead.
    """

    def __init__(self, program: Program, mode: DebugMode,
                 record: DebugRecord | None = None) -> None:
        self.program = program
        self.mode = mode
        self.record = record
        self._vm = _CheckingPyVM(program, self._call)

    @property
    def allow_gc(self) -> bool:
        return self.program.allow_gc

    # -- a call --------------------------------------------------------------
    def __call__(self, input_values: Sequence[Any]) -> list[Any]:
        record = self.record
        check = record is not None and bool(record.replacements)
        snapshot = [copy_value(v) for v in input_values] if check else None
        results = self._vm(input_values)
        if snapshot is not None and record is not None:
            self._check_rewrites(record, snapshot, results)
        return results

    def run(self) -> None:
        """Run on the values already in the input cells (no rewrite check)."""
        self._vm.run()

    def free(self) -> None:
        """Empty every cell except constants (no-GC mode's kept buffers)."""
        self._vm.free()

    # -- one node --------------------------------------------------------------
    def _call(self, k: int) -> None:
        prog, mode = self.program, self.mode
        node, thunk, cells = prog.nodes[k], prog.thunks[k], prog.cells
        inputs = [cells[c] for c in prog.node_inputs[k]]
        snapshots = [copy_value(v) for v in inputs]
        backend = str(getattr(thunk, "backend", "?"))
        reference = None
        if mode.check_py_code and backend not in _PERFORM_BACKENDS:
            ref_inputs = [copy_value(v) for v in inputs]
            try:
                reference = run_perform(node, ref_inputs)
            except Exception as err:
                _add_note(err, "DebugMode: raised by the op's perform (the reference "
                          "run, on copies of the inputs), before the "
                          f"{backend} kernel ran")
                raise
            self._check_effects(node, ref_inputs, snapshots, reference, "its perform")
        thunk()
        outputs = [cells[c] for c in prog.node_outputs[k]]
        self._check_effects(node, inputs, snapshots, outputs, _who(backend))
        if reference is not None:
            self._compare(node, snapshots, outputs, reference, backend)
        if mode.check_isfinite:
            self._check_finite(node, snapshots, outputs, backend)

    def _check_effects(self, node: Apply, inputs: Sequence[Any],
                       snapshots: Sequence[Any], outputs: Sequence[Any],
                       who: str) -> None:
        """Undeclared aliases (BadViewMap) and writes (BadDestroyMap)."""
        op = node.op
        maps = f"view_map={op.view_map or {}}, destroy_map={op.destroy_map or {}}"
        for j, i, other in undeclared_aliases(node, inputs, outputs):
            if i is not None:
                head = (f"output {j} of {node}, computed by {who}, shares "
                        f"memory with input {i} ({node.inputs[i]}), but the op "
                        f"declares {maps}")
                hint = (f"declare view_map = {{{j}: [{i}]}} on {type(op).__name__} if "
                        "the output is a view of that input, else return a copy")
            else:
                head = (f"outputs {j} and {other} of {node}, computed by "
                        f"{who}, share memory, but neither is declared a view "
                        f"({maps})")
                hint = "return separate arrays, or declare the views in view_map"
            raise BadViewMap(_message(head, node, snapshots, hint), node, output=j,
                             input=i, other_output=other, backend=who)
        bad = undeclared_writes(node, inputs, snapshots)
        if bad:
            i = bad[0]
            what = compare_values(snapshots[i], inputs[i]) or "its value changed"
            head = (f"{node}, computed by {who}, changed its input {i} "
                    f"({node.inputs[i]}) although the op declares {maps}: {what}")
            hint = (f"declare destroy_map = {{0: [{i}]}} on {type(op).__name__} if it "
                    "works in place (the rewrites then give it a copy when needed), "
                    "else copy the input before writing to it")
            raise BadDestroyMap(_message(head, node, snapshots, hint), node, input=i,
                                backend=who, expected=snapshots[i], got=inputs[i])

    def _compare(self, node: Apply, snapshots: Sequence[Any], outputs: Sequence[Any],
                 reference: Sequence[Any], backend: str) -> None:
        """Kernel outputs against perform's (BadThunkOutput), with the
        tolerance of the least precise float dtype the node reads or makes."""
        precision = node_precision(node)
        for j, (got, want) in enumerate(zip(outputs, reference, strict=True)):
            diff = compare_values(want, got, THUNK_TOLERANCES, precision=precision)
            if diff is not None:
                head = (f"output {j} of {node} differs between "
                        f"{_who(backend)} (backend {backend!r}, which FAST_RUN uses) "
                        f"and the op's perform (the reference): {diff}")
                hint = ("the kernel (or perform) is wrong for these inputs; "
                        "DebugMode(check_c_code=False) runs only perform, and "
                        "print_thunk_backends=True lists which kernel runs each node")
                raise BadThunkOutput(_message(head, node, snapshots, hint), node,
                                     output=j, backend=backend, got=got, expected=want)
            strides = self.mode.require_matching_strides
            g_st, w_st = getattr(got, "strides", None), getattr(want, "strides", None)
            if strides and g_st is not None and w_st is not None and g_st != w_st:
                head = (f"output {j} of {node} has strides {g_st} from "
                        f"{_who(backend)} but {w_st} from perform")
                if strides == 1:
                    warnings.warn(f"DebugMode: {head}", stacklevel=2)
                else:
                    raise BadThunkOutput(
                        _message(f"{head}", node, snapshots,
                                 "require_matching_strides=1 only warns"),
                        node, output=j, backend=backend, got=got, expected=want)

    def _check_finite(self, node: Apply, snapshots: Sequence[Any],
                      outputs: Sequence[Any], backend: str) -> None:
        """NaN or inf made from finite inputs (InvalidValueError)."""
        if any(first_nonfinite(v) is not None for v in snapshots):
            return
        for j, out in enumerate(outputs):
            index = first_nonfinite(out)
            if index is None:
                continue
            arr = np.asarray(out)
            n_nan, n_inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
            head = (f"output {j} of {node} ({_who(backend)}) has "
                    f"{n_nan} NaN and {n_inf} infinite value(s) although every input "
                    f"is finite; the first is {arr[index].item()!r} at index {index}")
            hint = ("guard the operation (e.g. T.clip, T.switch, log1p/softplus), or "
                    "pass DebugMode(check_isfinite=False) if these values are "
                    "intended")
            raise InvalidValueError(_message(head, node, snapshots, hint), node,
                                    output=j, index=index)

    # -- rewrites ------------------------------------------------------------------
    def _check_rewrites(self, record: DebugRecord, snapshot: list[Any],
                        results: Sequence[Any]) -> None:
        """The outputs against the graph as written; on a difference, name
        the first rewrite whose replacement changed a value."""
        ev = ReferenceEvaluator(dict(zip(record.inputs, snapshot, strict=True)))
        if self.mode.check_each_rewrite:
            self._check_replacements(record, ev)
        for k, (orig, got) in enumerate(zip(record.original_outputs, results,
                                            strict=True)):
            try:
                want = ev.value(orig)
            except NotImplementedError as err:
                warnings.warn(
                    f"DebugMode: the graph as written cannot be evaluated with "
                    f"perform ({err}); the rewrites are not checked", stacklevel=3)
                return
            except Exception as err:
                raise BadOptimization(
                    f"the graph as written fails on these inputs "
                    f"({type(err).__name__}: {err}), but the rewritten graph ran; a "
                    f"rewrite removed a failing computation of output {k} ({orig})\n"
                    "HINT: optimizer=None runs the graph as written",
                    None, rewrite=None, output=k) from err
            diff = compare_values(want, got, REWRITE_TOLERANCES,
                                  ignore_nonfinite_expected=True)
            if diff is None:
                continue
            self._check_replacements(record, ev)
            raise BadOptimization(
                f"output {k} ({orig}) of the rewritten graph differs "
                f"from the graph as written: {diff}; no single replacement changed a "
                "value on these inputs\nHINT: optimizer=None runs the graph as "
                "written; mode.excluding(<rewrite name>) leaves rewrites out one by "
                "one", None, rewrite=None, output=k, got=got, expected=want)

    def _check_replacements(self, record: DebugRecord, ev: ReferenceEvaluator) -> None:
        for rep in record.replacements:
            try:
                old, new = ev.value(rep.old), ev.value(rep.new)
            except Exception:  # noqa: BLE001 - not computable here: not checked
                continue
            diff = compare_values(old, new, REWRITE_TOLERANCES,
                                  ignore_nonfinite_expected=True)
            if diff is None:
                continue
            node = rep.old.owner
            made = (f" computed by {rep.new.owner}" if rep.new.owner is not None
                    else " (a constant or input)")
            head = (f"the rewrite {rep.rewrite!r} changed a value: it "
                    f"replaced {rep.old}{'' if node is None else f' = {node}'} by "
                    f"{rep.new}{made}; their values differ: {diff}")
            hint = (f"mode.excluding({rep.rewrite!r}) (or SYMARRAY_FLAGS="
                    f"optimizer_excluding={rep.rewrite}) leaves this rewrite out; "
                    "report the graph to the rewrite's authors")
            message = (_message(head, node, [ev.values.get(v) for v in node.inputs],
                                hint) if node is not None else f"{head}\nHINT: {hint}")
            raise BadOptimization(message, node, rewrite=rep.rewrite, old=rep.old,
                                  new=rep.new, expected=old, got=new)


@register_linker(_LINKERS[0])
def _debug_linker(fgraph: FunctionGraph, schedule: Sequence[Apply],
                  allow_gc: bool) -> DebugVM:
    """The linker of DebugMode: the normal linker's thunks, run by a DebugVM."""
    record = getattr(fgraph, "debug_record", None)
    mode = record.mode if record is not None else DebugMode()
    backends = ("c",) if mode.check_c_code else ()
    return DebugVM(_program(fgraph, schedule, allow_gc, backends), mode, record)
