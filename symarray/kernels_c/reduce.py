"""Registers the reduction thunks of :mod:`._reduce`.

* ``Sum``, ``Prod``, ``Max``, ``Min``, ``All``, ``AnyReduce`` nodes over
  bool, integer, float32 and float64 inputs (the accumulator dtype the op
  chose: a float32 sum accumulates in float64) get a
  :class:`~symarray.kernels_c._reduce.CyReduceThunk`;
* ``Argmax``/``Argmin`` a :class:`~symarray.kernels_c._reduce.CyArgReduceThunk`;
* fused ``ReduceElemwise`` nodes (:mod:`symarray.tensor.reduction_fused`)
  a ``CyReduceThunk`` with a *prologue*: the scalar program, translated by
  :func:`prologue_program` into the engine's int32 instructions
  ``(opcode, dst, a, b, c)``.  The prologue runs in float32 or float64 and
  knows the ops of :data:`PROLOGUE_OPS`; anything else (casts, integers,
  comparisons) is declined, and :func:`prologue_program` returning None is
  also how the rewrite knows not to fuse.

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

from typing import Any, NamedTuple

import numpy as np

from symarray.graph.basic import Apply
from symarray.kernels_c import register
from symarray.kernels_c._reduce import (
    MAX_INPUTS,
    OPS,
    CyArgReduceThunk,
    CyReduceThunk,
    has_reduce,
    prologue_ops,
    tindex,
)
from symarray.scalar.basic import ScalarOp
from symarray.scalar.composite import Composite
from symarray.tensor.reduction import Argmax, ArgReduce, CAReduce
from symarray.tensor.reduction_fused import ReduceElemwise

__all__ = ["reduce_thunk", "arg_reduce_thunk", "reduce_elemwise_thunk",
           "prologue_program", "Prologue", "acc_dtype_of", "PROLOGUE_OPS"]

#: scalar op name -> (opcode, arity) of the prologue interpreter
PROLOGUE_OPS: dict[str, tuple[int, int]] = prologue_ops()

#: dtypes a prologue computes in
PROLOGUE_DTYPES = ("float32", "float64")


class Prologue(NamedTuple):
    """A scalar program in the engine's terms."""

    dtype: str             # the compute dtype
    code: np.ndarray       # int32 (n_steps, 5): opcode, dst, a, b, c (-1: unused)
    slot_of: np.ndarray    # int32 per register: scratch block, -1 for inputs
    n_slots: int           # scratch blocks for constants and steps
    constants: np.ndarray  # float64 value of each constant register
    out_reg: int           # the register the reduction reads


def acc_dtype_of(op: CAReduce, in_dtype: str) -> str:
    """The dtype ``op`` accumulates in, for an input of ``in_dtype``."""
    if op.name in ("sum", "prod"):
        return str(op.acc_dtype)  # type: ignore[attr-defined]
    if op.name in ("all", "any"):
        return "bool"
    return in_dtype


def _steps(sop: ScalarOp) -> tuple[list[tuple[str, tuple[int, ...]]], int, list[Any],
                                   int] | None:
    """``(steps, nin, constants, out_reg)`` of a scalar op as a program."""
    if isinstance(sop, Composite):
        if len(sop.outputs) != 1 or any(type(s.op) is not ScalarOp for s in sop.steps):
            return None
        steps = [(s.op.name, tuple(s.args)) for s in sop.steps]
        return steps, len(sop.input_dtypes), [v for _, v in sop.constants], \
            sop.outputs[0]
    if type(sop) is not ScalarOp:
        return None
    return [(sop.name, tuple(range(sop.nin)))], sop.nin, [], sop.nin


def prologue_program(sop: ScalarOp, dtypes: list[str],
                     elem_dtype: str) -> Prologue | None:
    """The engine's program for ``sop`` on inputs of ``dtypes`` giving
    ``elem_dtype``, or None when the prologue cannot run it.

    >>> from symarray.scalar import get_scalar_op
    >>> p = prologue_program(get_scalar_op("sqr"), ["float64"], "float64")
    >>> p.dtype, p.code.tolist() == [[PROLOGUE_OPS["sqr"][0], 1, 0, -1, -1]]
    ('float64', True)
    """
    if elem_dtype not in PROLOGUE_DTYPES or set(dtypes) != {elem_dtype}:
        return None
    if isinstance(sop, Composite):
        all_dtypes = {*sop.input_dtypes, *(d for d, _ in sop.constants),
                      *(s.dtype for s in sop.steps)}
        if all_dtypes != {elem_dtype}:
            return None
    parts = _steps(sop)
    if parts is None:
        return None
    steps, nin, consts, out_reg = parts
    if nin != len(dtypes) or nin > MAX_INPUTS:
        return None
    base = nin + len(consts)
    if out_reg < base:  # the output is an input or a constant
        return None
    last_read: dict[int, int] = {}
    for k, (name, args) in enumerate(steps):
        if name not in PROLOGUE_OPS or PROLOGUE_OPS[name][1] != len(args):
            return None
        for a in args:
            last_read[a] = k
    slot_of = np.full(base + len(steps), -1, dtype=np.int32)
    slot_of[nin:base] = np.arange(len(consts), dtype=np.int32)
    n_slots = len(consts)
    free: list[int] = []
    code = np.full((len(steps), 5), -1, dtype=np.int32)
    for k, (name, args) in enumerate(steps):
        dst = base + k
        # a step's block is taken before its arguments' blocks are freed, so
        # no loop writes a block it reads
        if free:
            slot_of[dst] = free.pop()
        else:
            slot_of[dst] = n_slots
            n_slots += 1
        if name == "pow" and args[1] >= nin and args[1] < base \
                and float(consts[args[1] - nin]) == 2.0:
            name, args = "sqr", args[:1]  # x ** 2: one multiply
        code[k, 0] = PROLOGUE_OPS[name][0]
        code[k, 1] = dst
        code[k, 2:2 + len(args)] = args
        for a in set(args):
            if a >= base and last_read[a] == k and a != out_reg:
                free.append(int(slot_of[a]))
        if dst not in last_read and dst != out_reg:
            free.append(int(slot_of[dst]))
    constants = np.array([float(v) for v in consts], dtype=np.float64)
    return Prologue(elem_dtype, code, slot_of, n_slots, constants, out_reg)


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
                         tuple(prologue), _threads())

