"""The :class:`Scan` op: a loop whose body is a graph.

A Scan node holds a cloned *inner* (step) graph and a :class:`ScanInfo`
saying how its inputs and outputs are laid out (``/tmp`` spec, summarised
in ``docs/scan.md``):

* outer inputs: ``n_steps``, the sequences, one initial-state buffer per
  carried output (``L_i = -min(taps)`` rows), the current values of the
  shared variables updated inside, the non-sequences;
* inner inputs: one per sequence tap, one per state tap, the shared values,
  the non-sequences;
* inner outputs: the new value of each carried output, each nit_sot
  output, the new shared values, then the ``until`` condition if any;
* outer outputs: one trace per carried output and per nit_sot
  (``(n_run, ...)``, without the initial states), the final shared values.

Key decisions:

* ``perform`` is the reference loop in Python, the spec every faster
  implementation (the Cython loop of :mod:`symarray.kernels_c.scan`) is
  checked against.  It compiles the inner graph once, lazily, with the op's
  mode (or the default mode) and caches the compiled function on the op.
* A carried output lives in one buffer ``concatenate([init, trace])``, so
  tap ``k`` at step ``t`` is row ``L + t + k`` and the trace is a view.
* The op never constant-folds: running a loop at compile time could be
  arbitrarily long.
* Gradients live in :mod:`symarray.control.scan.grad`; ``L_op``/``R_op``
  only delegate.
"""

from __future__ import annotations

import copy as _copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.control.scan.info import ScanInfo
from symarray.errors import DtypeError, ShapeMismatchError
from symarray.graph.basic import Apply, Op, Variable
from symarray.graph.fg import FunctionGraph

__all__ = ["Scan", "ScanRuntimeError"]


class ScanRuntimeError(ShapeMismatchError):
    """A Scan's inputs do not fit its loop at run time (a sequence too short
    for its taps, a negative ``n_steps``, a carried state changing shape)."""


def _tensor() -> Any:
    import symarray.tensor as T  # noqa: N812 - Theano's name

    return T


def _is_tensor_type(t: Any) -> bool:
    from symarray.tensor.type import TensorType

    return isinstance(t, TensorType)


def _fits(general: Any, specific: Any) -> bool:
    """``specific`` (a TensorType) can stand where ``general`` is expected:
    same dtype and rank, and every static length of ``general`` kept."""
    if general == specific:
        return True
    if not (_is_tensor_type(general) and _is_tensor_type(specific)):
        return False
    if general.dtype != specific.dtype or general.ndim != specific.ndim:
        return False
    return all(g is None or g == s
               for g, s in zip(general.shape, specific.shape, strict=True))


class Scan(Op):
    """A loop over a step graph (see the module docstring for the layout).

    Parameters
    ----------
    info
        The layout of the loop.
    inner_inputs, inner_outputs
        The step graph's inputs and outputs, in :class:`ScanInfo` order.  They
        are cloned: the op owns its inner graph.
    mode
        The mode the inner graph is compiled with (None: the default mode).
    allow_gc
        Free the step's intermediates after each step (default False: the
        inner function keeps its buffers and reuses them at the next step).

    Attributes
    ----------
    info : ScanInfo
    fgraph : FunctionGraph
        The cloned inner graph.
    inner_inputs, inner_outputs : list of Variable
        ``fgraph.inputs`` and ``fgraph.outputs``.
    mode
        As given.
    name : str or None
        ``info.name``.
    """

    __props__ = ("info", "fgraph")

    def __init__(self, info: ScanInfo, inner_inputs: Sequence[Variable],
                 inner_outputs: Sequence[Variable], mode: Any = None,
                 allow_gc: bool | None = None) -> None:
        if not isinstance(info, ScanInfo):
            raise TypeError(f"Scan: info must be a ScanInfo, got {type(info).__name__}")
        if len(inner_inputs) != info.n_inner_inputs:
            raise ValueError(f"Scan: the layout needs {info.n_inner_inputs} inner "
                             f"inputs, got {len(inner_inputs)}")
        if len(inner_outputs) != info.n_inner_outputs:
            raise ValueError(f"Scan: the layout needs {info.n_inner_outputs} inner "
                             f"outputs, got {len(inner_outputs)}")
        self.info = info
        self.name = info.name
        self.mode = mode
        self.allow_gc = bool(allow_gc)
        self.inner_inputs: list[Variable] = list(inner_inputs)
        self.inner_outputs: list[Variable] = list(inner_outputs)
        self._check_inner_types()
        self.fgraph = FunctionGraph(self.inner_inputs, self.inner_outputs, clone=True)
        self.inner_inputs = list(self.fgraph.inputs)
        self.inner_outputs = list(self.fgraph.outputs)
        self._fn: Any = None  # the compiled step, made on first perform

    def __str__(self) -> str:
        return f"scan{{{self.name}}}" if self.name else "scan"

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_fn"] = None
        return state

    # -- the inner layout ---------------------------------------------------
    def _inner_groups(self, what: str) -> Any:
        info = self.info
        ins = self.inner_inputs
        k = 0
        seqs = []
        for taps in info.seq_taps:
            seqs.append(ins[k:k + len(taps)])
            k += len(taps)
        states = []
        for taps in info.state_taps:
            states.append(ins[k:k + len(taps)])
            k += len(taps)
        shared = ins[k:k + info.n_shared]
        non_seqs = ins[k + info.n_shared:]
        return {"seqs": seqs, "states": states, "shared": shared,
                "non_seqs": non_seqs}[what]

    def inner_seqs(self) -> list[list[Variable]]:
        """Per sequence, its inner inputs (one per tap, ``seq_taps`` order)."""
        return self._inner_groups("seqs")

    def inner_states(self) -> list[list[Variable]]:
        """Per carried output, its inner inputs (one per tap)."""
        return self._inner_groups("states")

    def inner_shared(self) -> list[Variable]:
        """The inner inputs holding the updated shared variables' values."""
        return self._inner_groups("shared")

    def inner_non_seqs(self) -> list[Variable]:
        """The inner inputs of the non-sequences."""
        return self._inner_groups("non_seqs")

    def inner_state_outputs(self) -> list[Variable]:
        """The new value of each carried output."""
        return self.inner_outputs[:self.info.n_states]

    def inner_nit_sot_outputs(self) -> list[Variable]:
        """The per-step values of the outputs that are not fed back."""
        n = self.info.n_states
        return self.inner_outputs[n:n + self.info.n_nit_sot]

    def inner_shared_outputs(self) -> list[Variable]:
        """The new value of each updated shared variable."""
        n = self.info.n_states + self.info.n_nit_sot
        return self.inner_outputs[n:n + self.info.n_shared]

    def inner_condition(self) -> Variable | None:
        """The ``until`` condition, or None."""
        return self.inner_outputs[-1] if self.info.as_while else None

    # -- the outer layout (slices of a node's inputs/outputs) ---------------
    def outer_seqs(self, node: Apply) -> list[Variable]:
        return list(node.inputs[1:1 + self.info.n_seqs])

    def outer_inits(self, node: Apply) -> list[Variable]:
        a = 1 + self.info.n_seqs
        return list(node.inputs[a:a + self.info.n_states])

    def outer_shared(self, node: Apply) -> list[Variable]:
        a = 1 + self.info.n_seqs + self.info.n_states
        return list(node.inputs[a:a + self.info.n_shared])

    def outer_non_seqs(self, node: Apply) -> list[Variable]:
        a = 1 + self.info.n_seqs + self.info.n_states + self.info.n_shared
        return list(node.inputs[a:])

    def outer_state_traces(self, node: Apply) -> list[Variable]:
        return list(node.outputs[:self.info.n_states])

    def outer_nit_sot_traces(self, node: Apply) -> list[Variable]:
        n = self.info.n_states
        return list(node.outputs[n:n + self.info.n_nit_sot])

    def outer_shared_outputs(self, node: Apply) -> list[Variable]:
        n = self.info.n_states + self.info.n_nit_sot
        return list(node.outputs[n:])

    # -- checks ------------------------------------------------------------
    def _check_inner_types(self) -> None:
        where = str(self)
        for i, (ins, out) in enumerate(zip(self.inner_states(),
                                           self.inner_state_outputs(), strict=True)):
            for k, inp in enumerate(ins):
                if inp.type != ins[0].type:
                    raise TypeError(f"{where}: the inner inputs of state {i} must "
                                    f"share one type; tap {k} is {inp.type}, tap 0 "
                                    f"is {ins[0].type}")
            _check_carried(where, f"output {i}", ins[0].type, out.type)
        for j, (inp, out) in enumerate(zip(self.inner_shared(),
                                           self.inner_shared_outputs(), strict=True)):
            _check_carried(where, f"shared variable {j}", inp.type, out.type)
        cond = self.inner_condition()
        if cond is not None:
            t: Any = cond.type
            if (not _is_tensor_type(t) or t.ndim != 0
                    or np.dtype(t.dtype).kind not in "biu"):
                raise TypeError(
                    f"{where}: the until condition must be a scalar (0-d) boolean "
                    f"or integer, got {t}; reduce it first, e.g. T.any(c) or "
                    "T.all(c)")
        for i, out in enumerate(self.inner_nit_sot_outputs()):
            if not _is_tensor_type(out.type):
                raise TypeError(f"{where}: output {self.info.n_states + i} must be a "
                                f"tensor, got {out.type}")

    # -- the op ------------------------------------------------------------
    def make_node(self, *inputs: Any) -> Apply:
        T = _tensor()  # noqa: N806
        info = self.info
        where = str(self)
        if len(inputs) != info.n_outer_inputs:
            raise TypeError(f"{where}: expected {info.n_outer_inputs} inputs "
                            "(n_steps, sequences, initial states, shared values, "
                            f"non-sequences), got {len(inputs)}")
        n_steps = T.as_tensor_variable(inputs[0])
        if n_steps.ndim != 0 or np.dtype(n_steps.dtype).kind not in "iu":
            raise TypeError(f"{where}: n_steps must be a scalar integer, got "
                            f"{n_steps.type}")
        if n_steps.dtype != "int64":
            n_steps = T.cast(n_steps, "int64")
        outer: list[Variable] = [n_steps]
        k = 1
        for i, ins in enumerate(self.inner_seqs()):
            outer.append(self._outer_input(inputs[k], ins[0], where,
                                           f"sequence {i}", lead=True))
            k += 1
        for i, ins in enumerate(self.inner_states()):
            outer.append(self._outer_input(inputs[k], ins[0], where,
                                           f"initial state {i}", lead=True))
            k += 1
        for j, inp in enumerate(self.inner_shared()):
            outer.append(self._outer_input(inputs[k], inp, where,
                                           f"shared value {j}", lead=False))
            k += 1
        for j, inp in enumerate(self.inner_non_seqs()):
            outer.append(self._outer_input(inputs[k], inp, where,
                                           f"non-sequence {j}", lead=False))
            k += 1
        out_types = []
        for out in self.inner_state_outputs() + self.inner_nit_sot_outputs():
            ot: Any = out.type
            out_types.append(T.TensorType(ot.dtype, shape=(None, *ot.shape)))
        out_types += [inp.type for inp in self.inner_shared()]
        return Apply(self, outer, [t() for t in out_types])

    @staticmethod
    def _outer_input(value: Any, inner: Variable, where: str, what: str,
                     lead: bool) -> Variable:
        T = _tensor()  # noqa: N806
        if not isinstance(value, Variable):
            value = T.as_tensor_variable(value)
        if not lead:
            if value.type == inner.type:
                return value
            converted = inner.type.convert_variable(value)
            if converted is None:
                raise TypeError(f"{where}: {what} has type {value.type} but the step "
                                f"graph expects {inner.type}")
            return converted
        t: Any = value.type
        it: Any = inner.type
        if not _is_tensor_type(t) or t.ndim != it.ndim + 1:
            raise TypeError(f"{where}: {what} must have one more dimension than the "
                            f"step's input of type {it}, got {t}")
        if t.dtype != it.dtype:
            raise DtypeError(f"{where}: {what} has dtype {t.dtype} but the step graph "
                             f"reads {it.dtype}; cast it, e.g. "
                             f"T.cast(x, {it.dtype!r})")
        for d, (a, b) in enumerate(zip(t.shape[1:], it.shape, strict=True)):
            if a is not None and b is not None and a != b:
                raise TypeError(f"{where}: {what} has static shape {t.shape} but the "
                                f"step reads rows of shape {it.shape} "
                                f"(dimension {d + 1})")
        return value

    def do_constant_folding(self, fgraph: Any, node: Apply) -> bool:
        return False  # never run a loop at compile time

    # -- perform: the reference loop ---------------------------------------
    def inner_function(self) -> Any:
        """The compiled step (cached): ``fn(*inner_values) -> inner outputs``."""
        if self._fn is None:
            from symarray.compile.function import function
            from symarray.compile.mode import get_mode

            mode = get_mode(self.mode)
            if not self.allow_gc and not mode.linker.endswith("_nogc"):
                mode = mode._clone(linker=mode.linker + "_nogc")
            self._fn = function(self.inner_inputs, self.inner_outputs, mode=mode,
                                on_unused_input="ignore")
        return self._fn

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        info = self.info
        where = str(self)
        n_steps = int(inputs[0])
        if n_steps < 0:
            raise ScanRuntimeError(
                f"{where}: n_steps is {n_steps} at run time; it must be >= 0 (a "
                "constant negative n_steps runs backwards, a symbolic one must not "
                "be negative; when it comes from the sequences, one is shorter than "
                "its taps need: max(taps) - min(taps) rows beyond the steps)")
        k = 1
        seqs = list(inputs[k:k + info.n_seqs])
        k += info.n_seqs
        inits = list(inputs[k:k + info.n_states])
        k += info.n_states
        shared_vals = list(inputs[k:k + info.n_shared])
        k += info.n_shared
        non_seqs = list(inputs[k:])
        for i, seq in enumerate(seqs):
            need = n_steps + info.seq_span(i)
            if seq.shape[0] < need:
                taps = info.seq_taps[i]
                raise ScanRuntimeError(
                    f"{where}: sequence {i} has {seq.shape[0]} rows but {n_steps} "
                    f"steps with taps {list(taps)} need {need} (n_steps + max(taps) "
                    "- min(taps)); give a longer sequence or fewer n_steps")
        bufs = []
        for i, init in enumerate(inits):
            lag = info.mintap(i)
            if init.shape[0] != lag:
                raise ScanRuntimeError(
                    f"{where}: the initial value of output {i} has {init.shape[0]} "
                    f"rows but its taps {list(info.state_taps[i])} read {lag} "
                    f"earlier steps; give an initial value (outputs_info) with at "
                    f"least {lag} rows")
            keep = info.kept_rows(i)  # REWRITES: a circular buffer for last-k
            n_rows = lag + n_steps if keep == 0 else max(lag, keep)
            buf = np.empty((n_rows, *init.shape[1:]), dtype=init.dtype)
            buf[:lag] = init
            bufs.append(buf)
        nit_types: list[Any] = [o.type for o in self.inner_nit_sot_outputs()]
        nits: list[Any] = [None] * info.n_nit_sot
        fn: Any = self.inner_function() if n_steps > 0 else None
        seq_rows = [list(zip(taps, [t - taps[0] for t in taps], strict=True))
                    for taps in info.seq_taps]
        n_run = n_steps
        for t in range(n_steps):
            args: list[Any] = []
            for seq, rows in zip(seqs, seq_rows, strict=True):
                args.extend(seq[t + r, ...] for _, r in rows)
            for i, buf in enumerate(bufs):
                lag = info.mintap(i)
                args.extend(buf[(lag + t + tap) % buf.shape[0], ...]
                            for tap in info.state_taps[i])
            args.extend(shared_vals)
            args.extend(non_seqs)
            outs = fn(*args)
            for i, buf in enumerate(bufs):
                value = outs[i]
                if np.shape(value) != buf.shape[1:]:
                    raise ScanRuntimeError(
                        f"{where}: at step {t}, output {i} has shape "
                        f"{np.shape(value)} but its initial state has shape "
                        f"{buf.shape[1:]}; a carried output must keep its shape")
                buf[(info.mintap(i) + t) % buf.shape[0]] = value
            for j in range(info.n_nit_sot):
                value = np.asarray(outs[info.n_states + j])
                if t == 0:
                    keep = info.kept_rows(info.n_states + j)
                    nits[j] = np.empty((min(keep, n_steps) or n_steps, *value.shape),
                                       dtype=nit_types[j].dtype)
                elif value.shape != nits[j].shape[1:]:
                    raise ScanRuntimeError(
                        f"{where}: at step {t}, output {info.n_states + j} has "
                        f"shape {value.shape} but it had shape {nits[j].shape[1:]} "
                        "at step 0; every step must give the same shape")
                nits[j][t % nits[j].shape[0]] = value
            base = info.n_states + info.n_nit_sot
            shared_vals = list(outs[base:base + info.n_shared])
            if info.as_while and bool(np.asarray(outs[-1])):
                n_run = t + 1
                break
        for i, buf in enumerate(bufs):
            lag = info.mintap(i)
            output_storage[i][0] = _trace(buf, lag, n_run, info.kept_rows(i))
        for j, nt in enumerate(nit_types):
            if nits[j] is None:  # zero steps: the static shape, unknown lengths 0
                shape = tuple(0 if s is None else s for s in nt.shape)
                nits[j] = np.empty((0, *shape), dtype=nt.dtype)
            output_storage[info.n_states + j][0] = _trace(
                nits[j], 0, n_run, info.kept_rows(info.n_states + j))
        base = info.n_states + info.n_nit_sot
        for j, value in enumerate(shared_vals):
            if n_steps == 0:  # never alias the input
                copy_method = getattr(value, "copy", None)
                value = copy_method() if copy_method else _copy.deepcopy(value)
            output_storage[base + j][0] = value

    # -- shapes --------------------------------------------------------------
    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        from symarray.control.scan.shapes import scan_infer_shape

        return scan_infer_shape(self, node, input_shapes)

    # -- gradients (symarray.control.scan.grad) ---------------------------------
    def L_op(self, inputs: list[Variable], outputs: list[Variable],  # noqa: N802
             output_grads: list[Variable]) -> list[Any]:
        from symarray.control.scan.grad import scan_lop

        return scan_lop(self, inputs, outputs, output_grads)

    def R_op(self, inputs: list[Variable],  # noqa: N802
             eval_points: list[Any]) -> list[Any]:
        from symarray.control.scan.grad import scan_rop

        return scan_rop(self, inputs, eval_points)


def _trace(buf: Any, lag: int, n_run: int, keep: int) -> Any:
    """The rows of steps ``0..n_run-1`` (the last ``keep`` of them when
    ``keep`` > 0) of a buffer holding step ``s`` in row ``(lag + s) % rows``."""
    if keep == 0:
        return buf[lag:lag + n_run]
    rows = buf.shape[0]
    return buf[[(lag + s) % rows for s in range(max(0, n_run - keep), n_run)]]


def _check_carried(where: str, what: str, in_type: Any, out_type: Any) -> None:
    """A carried value's new type must fit where the old value is read."""
    if _fits(in_type, out_type):
        return
    if (_is_tensor_type(in_type) and _is_tensor_type(out_type)
            and in_type.dtype != out_type.dtype):
        raise DtypeError(
            f"{where}: {what} changes dtype between steps: it is read as "
            f"{in_type.dtype} but the step returns {out_type.dtype}; cast the "
            f"step's result, e.g. T.cast(new_value, {in_type.dtype!r}), or give an "
            f"initial value of dtype {out_type.dtype}")
    if (_is_tensor_type(in_type) and _is_tensor_type(out_type)
            and in_type.ndim != out_type.ndim):
        raise TypeError(
            f"{where}: {what} changes rank between steps: it is read as {in_type} "
            f"({in_type.ndim}-d) but the step returns {out_type} ({out_type.ndim}-d); "
            "the step must return a value shaped like the initial state")
    raise TypeError(f"{where}: {what} is read as {in_type} but the step returns "
                    f"{out_type}; the static shapes must agree (use T.specify_shape "
                    "or T.unbroadcast to adjust one of them)")
