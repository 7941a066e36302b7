"""Fused ``Elemwise(Composite)`` nodes run by the block interpreter.

Fusion turns a connected elementwise subgraph into one node whose
:class:`~symarray.scalar.composite.Composite` is a straight-line scalar
program.  :func:`~symarray.kernels_c.program.node_program` translates it
(once, when the function is compiled) into typed block loops, and a
:class:`~symarray.kernels_c._composite.CyCompositeThunk` runs them in one
pass over the data, on every core for large arrays.  Programs with several
outputs, casts, comparisons and any of bool, int8..int64, uint8..uint64,
float32 and float64 run here; anything else (complex, float16) runs the
node's ``perform``.

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

from typing import Any

from symarray.graph.basic import Apply
from symarray.kernels_c import register
from symarray.kernels_c._composite import CyCompositeThunk
from symarray.kernels_c.program import node_program, thread_count
from symarray.scalar.composite import Composite
from symarray.tensor.elemwise import Elemwise

__all__ = ["composite_thunk", "MAX_OPERANDS"]

#: most inputs plus outputs of a node the interpreter runs
MAX_OPERANDS = 64


@register(Elemwise)
def composite_thunk(node: Apply) -> Any:
    """A :class:`CyCompositeThunk` for a fused ``node``, or None."""
    if not isinstance(getattr(node.op, "scalar_op", None), Composite):
        return None
    if len(node.inputs) + len(node.outputs) > MAX_OPERANDS:
        return None
    program = node_program(node)
    if program is None:
        return None
    return CyCompositeThunk(node, program, thread_count())
