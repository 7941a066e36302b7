"""Registers the C thunks of :mod:`symarray.kernels_c._elemwise` for Elemwise.

A single-op Elemwise node (a scalar-table op, not a fused Composite) gets a
C thunk when its scalar op has a loop for its inputs' common dtype
(``has_loop``); anything else is left to ``perform``.  In-place nodes
(``inplace_pattern``) write over their destroyed input when it can take the
result, as ``perform`` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symarray.graph.basic import Apply
from symarray.kernels_c import register
from symarray.kernels_c._elemwise import CyElemwiseThunk, has_loop
from symarray.scalar.basic import ScalarOp
from symarray.tensor.elemwise import Elemwise

__all__ = ["elemwise_thunk"]


@register(Elemwise)
def elemwise_thunk(node: Apply) -> Any:
    """A :class:`CyElemwiseThunk` for ``node``, or None."""
    op = node.op
    assert isinstance(op, Elemwise)  # registered for Elemwise
    if type(op.scalar_op) is not ScalarOp or len(node.outputs) != 1:
        return None
    dtypes = {getattr(i.type, "dtype", None) for i in node.inputs}
    if len(dtypes) != 1 or None in dtypes:
        return None
    (dtype,) = dtypes
    name = op.scalar_op.name
    tout = has_loop(name, dtype, len(node.inputs))
    out_dtype = getattr(node.outputs[0].type, "dtype", None)
    if tout is None or out_dtype is None or np.dtype(out_dtype).num != tout:
        return None
    return CyElemwiseThunk(node, name, np.dtype(dtype).num)
