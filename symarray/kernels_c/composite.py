"""Registers the block interpreter (:mod:`._composite`) for fused Elemwise nodes.

An ``Elemwise(Composite)`` node (what fusion produces) gets a
:class:`~symarray.kernels_c._composite.CyCompositeThunk` when its program can
run in the interpreter: one output, every register (inputs, constants,
steps) of one dtype, float32 or float64, and every step a scalar-table op
with a loop there (:func:`~symarray.kernels_c._composite.opcodes`).  Anything
else (casts, comparisons, integers, complex, several outputs) is declined
and the node's ``perform`` runs.

:func:`translate` turns the program into the interpreter's int32
instructions ``(opcode, dst, a, b, c)`` and gives each constant and step
register a scratch block; a step's block is reused by later steps once its
last reader has run (a 100-step chain needs a handful of blocks).

>>> import symarray.tensor as T
>>> from symarray.scalar.composite import CompositeBuilder
>>> from symarray.scalar import get_scalar_op
>>> from symarray.tensor.elemwise import Elemwise
>>> b = CompositeBuilder(["float64"])
>>> e = b.apply(get_scalar_op("exp"), [b.inputs[0]])
>>> comp = b.build([b.apply(get_scalar_op("mul"), [e, b.constant(2.0, "float64")])])
>>> node = Elemwise(comp)(T.dvector("x")).owner
>>> composite_thunk(node).backend
'c'
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from symarray.graph.basic import Apply
from symarray.kernels_c import register
from symarray.kernels_c._composite import CyCompositeThunk, opcodes
from symarray.scalar.basic import ScalarOp
from symarray.scalar.composite import Composite
from symarray.tensor.elemwise import Elemwise

__all__ = ["composite_thunk", "translate", "Translation", "COMPUTE_DTYPES"]

#: dtypes the interpreter computes in
COMPUTE_DTYPES = ("float32", "float64")

#: op name -> (opcode, arity) of the interpreter's loops
OPCODES: dict[str, tuple[int, int]] = opcodes()


class Translation(NamedTuple):
    """A Composite program in the interpreter's terms."""

    dtype: str            # the compute dtype
    code: np.ndarray      # int32 (n_steps, 5): opcode, dst, a, b, c (-1: unused)
    slot_of: np.ndarray   # int32 per register: scratch block, -1 for inputs
    n_slots: int          # scratch blocks for constants and steps
    constants: np.ndarray  # float64 value of each constant register
    out_reg: int          # register of the (single) output


def translate(comp: Composite) -> Translation | None:
    """The interpreter's program for ``comp``, or None when it cannot run it.

    >>> from symarray.scalar.composite import CompositeBuilder
    >>> from symarray.scalar import get_scalar_op
    >>> b = CompositeBuilder(["float32", "float32"])
    >>> x, y = b.inputs
    >>> comp = b.build([b.apply(get_scalar_op("add"), [x, y])])
    >>> t = translate(comp)
    >>> t.dtype, t.code.tolist() == [[OPCODES["add"][0], 2, 0, 1, -1]]
    ('float32', True)
    """
    if len(comp.outputs) != 1 or not comp.steps:
        return None
    dtypes = {*comp.input_dtypes, *(d for d, _ in comp.constants),
              *(s.dtype for s in comp.steps)}
    if len(dtypes) != 1:
        return None
    (dtype,) = dtypes
    if dtype not in COMPUTE_DTYPES:
        return None
    nin, nconst = len(comp.input_dtypes), len(comp.constants)
    base = nin + nconst
    (out_reg,) = comp.outputs
    if out_reg < base:  # the output is an input or a constant
        return None
    last_read: dict[int, int] = {}
    for k, step in enumerate(comp.steps):
        if type(step.op) is not ScalarOp or step.op.name not in OPCODES:
            return None
        if OPCODES[step.op.name][1] != len(step.args):
            return None
        for a in step.args:
            last_read[a] = k
    n_regs = base + len(comp.steps)
    slot_of = np.full(n_regs, -1, dtype=np.int32)
    slot_of[nin:base] = np.arange(nconst, dtype=np.int32)  # constants: own blocks
    n_slots = nconst
    free: list[int] = []
    code = np.full((len(comp.steps), 5), -1, dtype=np.int32)
    for k, step in enumerate(comp.steps):
        dst = base + k
        # take a block before freeing the arguments': a loop never writes
        # a block it reads, so the compiler's vectorized path applies
        if free:
            slot_of[dst] = free.pop()
        else:
            slot_of[dst] = n_slots
            n_slots += 1
        code[k, 0] = OPCODES[step.op.name][0]
        code[k, 1] = dst
        code[k, 2:2 + len(step.args)] = step.args
        for a in set(step.args):
            if a >= base and last_read[a] == k and a != out_reg:
                free.append(int(slot_of[a]))
        if dst not in last_read and dst != out_reg:  # never read: free at once
            free.append(int(slot_of[dst]))
    constants = np.array([float(v) for _, v in comp.constants], dtype=np.float64)
    return Translation(dtype, code, slot_of, n_slots, constants, out_reg)


@register(Elemwise)
def composite_thunk(node: Apply) -> Any:
    """A :class:`CyCompositeThunk` for a fused ``node``, or None."""
    op = node.op
    assert isinstance(op, Elemwise)  # registered for Elemwise
    comp = op.scalar_op
    if not isinstance(comp, Composite) or len(node.outputs) != 1:
        return None
    if any(getattr(i.type, "dtype", None) != d
           for i, d in zip(node.inputs, comp.input_dtypes, strict=True)):
        return None
    t = translate(comp)
    if t is None or node.outputs[0].type.dtype != t.dtype:
        return None
    return CyCompositeThunk(node, np.dtype(t.dtype).num, t.code, t.slot_of,
                            t.n_slots, t.constants, t.out_reg)
