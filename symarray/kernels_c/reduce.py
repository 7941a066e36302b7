"""Registers the reduction thunks of :mod:`._reduce`.

* ``Sum``, ``Prod``, ``Max``, ``Min``, ``All``, ``AnyReduce`` nodes over
  bool, integer, float32 and float64 inputs (the accumulator dtype the op
  chose: a float32 sum accumulates in float64) get a
  :class:`~symarray.kernels_c._reduce.CyReduceThunk`;
* ``Argmax``/``Argmin`` a :class:`~symarray.kernels_c._reduce.CyArgReduceThunk`;
* fused ``ReduceElemwise`` nodes (:mod:`symarray.tensor.reduction_fused`)
  a ``CyReduceThunk`` with a *prologue*: the scalar program as a
  :class:`~symarray.kernels_c.program.Program` of the elementwise block
  interpreter, built by the same builder as every ``Elemwise`` node's
  (:func:`~symarray.kernels_c.program.scalar_program`), so a prologue runs
  every op and dtype an ``Elemwise`` kernel runs (casts, integers,
  comparisons included) and declines what it declines;
  :func:`prologue_program` returning None is also how the rewrite knows
  not to fuse.

Complex and float16 inputs run ``perform``.  Large inputs run on the
kernels' thread pool (:mod:`symarray.kernels_c._threads`), on the
``kernel_threads`` flag's threads (read when the thunk is made).

>>> import symarray.tensor as T
>>> from symarray import kernels_c
>>> x = T.fmatrix("x")
>>> kernels_c.make_thunk(T.sum(x, axis=0).owner).backend
'c'
"""

from __future__ import annotations

import warnings
from typing import Any

from symarray.graph.basic import Apply
from symarray.kernels_c import register
from symarray.kernels_c._composite import loop_table as interpreter_loops
from symarray.kernels_c._reduce import (
    MAX_INPUTS,
    OPS,
    CyArgReduceThunk,
    CyReduceThunk,
    has_reduce,
    loop_table,
    tindex,
)
from symarray.kernels_c.program import DTYPES, Program, scalar_program
from symarray.scalar.basic import ScalarOp
from symarray.tensor.reduction import Argmax, ArgReduce, CAReduce
from symarray.tensor.reduction_fused import ReduceElemwise

__all__ = ["reduce_thunk", "arg_reduce_thunk", "reduce_elemwise_thunk",
           "prologue_program", "acc_dtype_of", "SAME_LOOPS"]

#: whether ``_reduce`` was built from the same loop table as ``_composite``
#: (program loop numbers index both); if not, nothing fuses until both are
#: rebuilt
SAME_LOOPS: bool = loop_table() == interpreter_loops()
if not SAME_LOOPS:  # pragma: no cover - a stale build
    warnings.warn("symarray.kernels_c: _reduce and _composite were built from "
                  "different scalar tables; reductions are not fused with "
                  "their elementwise producers until both are rebuilt",
                  RuntimeWarning, stacklevel=1)


def acc_dtype_of(op: CAReduce, in_dtype: str) -> str:
    """The dtype ``op`` accumulates in, for an input of ``in_dtype``."""
    if op.name in ("sum", "prod"):
        return str(op.acc_dtype)  # type: ignore[attr-defined]
    if op.name in ("all", "any"):
        return "bool"
    return in_dtype


def prologue_program(sop: ScalarOp, dtypes: list[str],
                     elem_dtype: str) -> Program | None:
    """The interpreter's program for ``sop`` on inputs of ``dtypes`` giving
    ``elem_dtype`` (the values reduced), or None when it cannot run it.

    >>> from symarray.kernels_c.program import LOOP_NAMES
    >>> from symarray.scalar import get_scalar_op
    >>> p = prologue_program(get_scalar_op("gt"), ["int32", "float32"], "bool")
    >>> [LOOP_NAMES[k] for k in p.code[:, 0]]
    ['cast int32->float64', 'cast float32->float64', 'gt float64->bool']
    """
    if not SAME_LOOPS or elem_dtype not in DTYPES or not 1 <= len(dtypes) <= MAX_INPUTS:
        return None
    return scalar_program(sop, dtypes, [elem_dtype])


def _threads() -> int:
    """The ``kernel_threads`` flag (0: every core), read at compile time."""
    from symarray import config

    return int(getattr(config, "kernel_threads", 0))  # resolved by the thunk


def _reducible(op: CAReduce, in_dtype: str, out_dtype: str) -> str | None:
    """The accumulator dtype when the engine can run ``op``, else None."""
    acc = acc_dtype_of(op, in_dtype)
    if op.name not in OPS or min(tindex(in_dtype), tindex(out_dtype), tindex(acc)) < 0:
        return None
    return acc if has_reduce(op.name, acc) else None


@register(CAReduce)
def reduce_thunk(node: Apply) -> Any:
    """A :class:`CyReduceThunk` for a plain reduction node, or None."""
    op = node.op
    assert isinstance(op, CAReduce)  # registered for CAReduce
    x, out = node.inputs[0], node.outputs[0]
    acc = _reducible(op, x.type.dtype, out.type.dtype)  # type: ignore[attr-defined]
    if acc is None:
        return None
    return CyReduceThunk(node, OPS[op.name], acc, op.axis, None, _threads())


@register(ArgReduce)
def arg_reduce_thunk(node: Apply) -> Any:
    """A :class:`CyArgReduceThunk` for an argmax/argmin node, or None."""
    op = node.op
    assert isinstance(op, ArgReduce)  # registered for ArgReduce
    if tindex(node.inputs[0].type.dtype) < 0:  # type: ignore[attr-defined]
        return None
    return CyArgReduceThunk(node, isinstance(op, Argmax), op.axis, _threads())


@register(ReduceElemwise)
def reduce_elemwise_thunk(node: Apply) -> Any:
    """A :class:`CyReduceThunk` with a prologue for a fused node, or None."""
    op = node.op
    assert isinstance(op, ReduceElemwise)  # registered for ReduceElemwise
    prologue = prologue_program(op.scalar_op,
                                [v.type.dtype for v in node.inputs],  # type: ignore[attr-defined]
                                op.elem_dtype)
    acc = _reducible(op.reduce_op, op.elem_dtype,
                     node.outputs[0].type.dtype)  # type: ignore[attr-defined]
    if prologue is None or acc is None:
        return None
    return CyReduceThunk(node, OPS[op.reduce_op.name], acc, op.reduce_op.axis,
                         prologue, _threads())

