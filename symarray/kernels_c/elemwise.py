"""Single-op ``Elemwise`` nodes run by the block interpreter.

A node applying one scalar-table op (``add``, ``exp``, ``lt``...) or a
``Cast`` is a one-step program for the interpreter of :mod:`.composite`
(the same typed loops, generated from the scalar table, run fused and
single ops alike), so it gets a
:class:`~symarray.kernels_c._composite.CyCompositeThunk` whenever its dtypes
have loops; anything else is left to ``perform``.  In-place nodes
(``inplace_pattern``) write over their destroyed input when it can take the
result, as ``perform`` does.

>>> import symarray.tensor as T
>>> x = T.ivector("x")
>>> elemwise_thunk((x < 3).owner).backend
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

__all__ = ["elemwise_thunk"]


@register(Elemwise)
def elemwise_thunk(node: Apply) -> Any:
    """A :class:`CyCompositeThunk` for a single-op ``node``, or None."""
    if isinstance(getattr(node.op, "scalar_op", None), Composite):
        return None  # composite.py's factory
    program = node_program(node)
    if program is None:
        return None
    return CyCompositeThunk(node, program, thread_count())
