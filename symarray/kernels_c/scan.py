"""Registers :class:`~symarray.vm._loop.CyLoopThunk` as the C kernel of ``Scan``.

The factory compiles the Scan's inner graph once per op (rewritten with the
op's mode, like ``function`` does) and, per thunk, assembles it into an inner
Program (C thunks where available, no GC so inner buffers persist between
steps) run by an inner :class:`~symarray.vm._cvm.CyVM`.  A
:class:`LoopLayout` tells the loop what each inner input reads and where
each inner output goes (see :mod:`symarray.vm._loop` for how a call runs).

The factory declines (returns None, so the op's ``perform`` runs) when:

* an outer or inner value is not a tensor of a fixed-size dtype (bool,
  integers, floats, complex): random generators, object or string arrays,
  sparse matrices...;
* the rewritten inner graph reads a shared variable directly (the Scan API
  passes them as non-sequences, so this only happens with a hand-built op);
* a trace would have more than NumPy's maximum number of dimensions.

At run time the loop hands the call to ``perform`` when ``n_steps <= 0``,
when an outer value has another dtype or rank than the graph says, when a
sequence is too short, or when a step's output does not fit its row (a
shape or dtype that changes between steps): ``perform`` then raises the
user-facing error, if any.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from symarray.control.scan.op import Scan
from symarray.graph.basic import Apply, Constant, Variable
from symarray.kernels_c import register
from symarray.tensor.type import TensorType, tensor_type
from symarray.vm._cvm import MAXDIMS
from symarray.vm._loop import IN_KINDS, OUT_KINDS, CyLoopThunk

__all__ = ["LoopLayout", "loop_layout", "make_loop_thunk", "scan_thunk", "inner_graph"]

#: largest rank NumPy allows (a trace adds one dimension)
_MAXDIMS = MAXDIMS


@dataclass(frozen=True)
class LoopLayout:
    """What :class:`~symarray.vm._loop.CyLoopThunk` needs to know about a Scan.

    Per inner input: ``in_kind`` (``IN_KINDS``: seq, state, shared, nonseq),
    ``in_index`` (which sequence, state, shared variable or non-sequence) and
    ``in_offset`` (the row read at step 0: ``tap - min(taps)`` for a
    sequence, ``L + tap`` in a state's buffer).  Per inner output:
    ``out_kind`` (``OUT_KINDS``), ``out_index``, ``out_direct`` (its cell is
    pre-pointed at its row, so a C kernel writes there), ``out_typenum`` and
    ``out_ndim``.  Per sequence, state and shared variable: the dtype number
    and rank of the outer value; ``seq_span`` (rows beyond n_steps a sequence
    needs) and ``state_lag`` (L, the rows of the initial-state buffer).
    ``keep_last``: the Scan's ``ScanInfo.keep_last`` (empty: whole traces).
    """

    n_seqs: int
    n_states: int
    n_nit: int
    n_shared: int
    n_nonseqs: int
    as_while: bool
    in_kind: tuple[int, ...]
    in_index: tuple[int, ...]
    in_offset: tuple[int, ...]
    out_kind: tuple[int, ...]
    out_index: tuple[int, ...]
    out_direct: tuple[bool, ...]
    out_typenum: tuple[int, ...]
    out_ndim: tuple[int, ...]
    seq_span: tuple[int, ...]
    seq_typenum: tuple[int, ...]
    seq_ndim: tuple[int, ...]
    state_lag: tuple[int, ...]
    state_typenum: tuple[int, ...]
    state_ndim: tuple[int, ...]
    shared_typenum: tuple[int, ...]
    shared_ndim: tuple[int, ...]
    keep_last: tuple[int, ...] = ()  # REWRITES: last-k traces


def _fixed_tensor(var: Variable) -> bool:
    """Whether ``var`` is a tensor of a fixed-size dtype the loop can copy."""
    t = var.type
    return (isinstance(t, TensorType) and np.dtype(t.dtype).kind in "biufc"
            and t.ndim < _MAXDIMS)


def _typenum(var: Variable) -> int:
    return int(np.dtype(tensor_type(var).dtype).num)


def loop_layout(info: Any, outer_inputs: list[Variable], outputs: list[Variable],
                direct: list[bool]) -> LoopLayout:
    """The layout of a Scan node.

    ``info`` is its :class:`~symarray.control.scan.info.ScanInfo` (or
    anything with the same fields), ``outer_inputs`` its inputs,
    ``outputs`` its (rewritten) inner outputs and ``direct[j]`` whether
    inner output ``j`` may be written in place.
    """
    n_seqs, n_states = len(info.seq_taps), len(info.state_taps)
    n_nit, n_shared, n_nonseqs = info.n_nit_sot, info.n_shared, info.n_non_seqs
    in_kind: list[int] = []
    in_index: list[int] = []
    in_offset: list[int] = []
    for s, taps in enumerate(info.seq_taps):
        for k in taps:
            in_kind.append(IN_KINDS["seq"])
            in_index.append(s)
            in_offset.append(k - min(taps))
    lags = [-min(taps) for taps in info.state_taps]
    for i, taps in enumerate(info.state_taps):
        for k in taps:
            in_kind.append(IN_KINDS["state"])
            in_index.append(i)
            in_offset.append(lags[i] + k)
    for kind, n in (("shared", n_shared), ("nonseq", n_nonseqs)):
        in_kind += [IN_KINDS[kind]] * n
        in_index += list(range(n))
        in_offset += [0] * n
    out_kind = ([OUT_KINDS["state"]] * n_states + [OUT_KINDS["nit"]] * n_nit
                + [OUT_KINDS["shared"]] * n_shared)
    out_index = [*range(n_states), *range(n_nit), *range(n_shared)]
    if info.as_while:
        out_kind.append(OUT_KINDS["cond"])
        out_index.append(0)
    seqs = outer_inputs[1:1 + n_seqs]
    inits = outer_inputs[1 + n_seqs:1 + n_seqs + n_states]
    shared = outer_inputs[1 + n_seqs + n_states:1 + n_seqs + n_states + n_shared]
    return LoopLayout(
        n_seqs=n_seqs, n_states=n_states, n_nit=n_nit, n_shared=n_shared,
        n_nonseqs=n_nonseqs, as_while=bool(info.as_while),
        in_kind=tuple(in_kind), in_index=tuple(in_index),
        in_offset=tuple(in_offset), out_kind=tuple(out_kind),
        out_index=tuple(out_index), out_direct=tuple(direct),
        out_typenum=tuple(_typenum(v) for v in outputs),
        out_ndim=tuple(tensor_type(v).ndim for v in outputs),
        seq_span=tuple(max(t) - min(t) for t in info.seq_taps),
        seq_typenum=tuple(_typenum(v) for v in seqs),
        seq_ndim=tuple(tensor_type(v).ndim for v in seqs),
        state_lag=tuple(lags),
        state_typenum=tuple(_typenum(v) for v in inits),
        state_ndim=tuple(tensor_type(v).ndim for v in inits),
        shared_typenum=tuple(_typenum(v) for v in shared),
        shared_ndim=tuple(tensor_type(v).ndim for v in shared),
        keep_last=tuple(getattr(info, "keep_last", None) or ()),
    )


def inner_graph(op: Scan) -> Any:
    """The FunctionMaker of ``op``'s compiled step (rewritten with the op's
    mode, shared with ``perform``), or None when the loop cannot run it."""
    maker = op.inner_function().maker
    return None if maker.shared or maker.n_updates else maker


def _direct(fgraph: Any, thunk_of: dict[Apply, Any], j: int) -> bool:
    """Whether inner output ``j`` can be written in place into its row: a C
    kernel computes it as a fresh array (not a view, not in place), and no
    other output or input is the same variable."""
    var = fgraph.outputs[j]
    node = var.owner
    if (node is None or isinstance(var, Constant)
            or sum(o is var for o in fgraph.outputs) > 1):
        return False
    if getattr(thunk_of.get(node), "backend", "py") != "c":
        return False
    k = var.index
    return k not in (node.op.view_map or {}) and k not in (node.op.destroy_map or {})


def make_loop_thunk(node: Apply, info: Any, fgraph: Any, schedule: list[Apply]
                    ) -> CyLoopThunk:
    """Assemble ``fgraph`` (a Scan's inner graph, scheduled as ``schedule``)
    into an inner Program without GC and wrap it in a loop thunk for
    ``node`` (whose op's fields are in ``info``)."""
    from symarray.compile.linkers import make_thunk
    from symarray.vm import CyVM, build_program

    program = build_program(fgraph.inputs, fgraph.outputs, schedule,
                            lambda n: make_thunk(n, ("c",)), allow_gc=False)
    thunk_of = dict(zip(program.nodes, program.thunks, strict=True))
    n_out = len(fgraph.outputs) - bool(info.as_while)
    direct = [_direct(fgraph, thunk_of, j) for j in range(n_out)]
    if info.as_while:
        direct.append(False)
    layout = loop_layout(info, list(node.inputs), list(fgraph.outputs), direct)
    return CyLoopThunk(node, CyVM(program), layout)


@register(Scan)
def scan_thunk(node: Apply) -> Any:
    """A :class:`CyLoopThunk` for Scan ``node``, or None (``perform`` runs)."""
    op = cast(Scan, node.op)  # registered for Scan: dispatch guarantees it
    if not all(_fixed_tensor(v) for v in (*node.inputs, *node.outputs,
                                          *op.inner_inputs, *op.inner_outputs)):
        return None
    maker = inner_graph(op)
    if maker is None:
        return None
    return make_loop_thunk(node, op.info, maker.fgraph, maker.schedule)
