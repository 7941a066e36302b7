"""Registers the C thunks of the small shape and view ops (``_views.pyx``).

``DimShuffle``, ``Shape_i``, ``BroadcastTo``, ``SumToShape``, ``Alloc``
and ``ARange`` (integer and float32/64 dtypes) nodes get a C thunk; it
hands what it does not take (an input that is not a plain ndarray, an error
to report, a sum) to the op's ``perform``.

>>> import symarray.tensor as T
>>> x = T.dmatrix("x")
>>> dimshuffle_thunk(x.T.owner).backend
'c'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symarray.graph.basic import Apply
from symarray.kernels_c import register
from symarray.kernels_c._views import (
    CyAllocThunk,
    CyARangeThunk,
    CyBroadcastToThunk,
    CyDimShuffleThunk,
    CyShapeIThunk,
    CySumToShapeThunk,
)
from symarray.tensor.alloc import Alloc, ARange, BroadcastTo
from symarray.tensor.elemwise import DimShuffle
from symarray.tensor.elemwise_grad import SumToShape
from symarray.tensor.shape_ops import Shape_i

__all__ = ["dimshuffle_thunk", "shape_i_thunk", "broadcast_to_thunk",
           "sum_to_shape_thunk", "alloc_thunk", "arange_thunk"]

_MAXDIMS = 64  # NumPy 2's NPY_MAXDIMS


@register(DimShuffle)
def dimshuffle_thunk(node: Apply) -> Any:
    """A :class:`CyDimShuffleThunk` for ``node``."""
    return CyDimShuffleThunk(node)


@register(Shape_i)
def shape_i_thunk(node: Apply) -> Any:
    """A :class:`CyShapeIThunk` for ``node``."""
    return CyShapeIThunk(node)


@register(BroadcastTo)
def broadcast_to_thunk(node: Apply) -> Any:
    """A :class:`CyBroadcastToThunk` for ``node`` (None above NumPy's rank limit)."""
    return CyBroadcastToThunk(node) if len(node.inputs) - 1 <= _MAXDIMS else None


@register(SumToShape)
def sum_to_shape_thunk(node: Apply) -> Any:
    """A :class:`CySumToShapeThunk` for ``node``."""
    return CySumToShapeThunk(node)


@register(Alloc)
def alloc_thunk(node: Apply) -> Any:
    """A :class:`CyAllocThunk` for ``node`` (None above NumPy's rank limit)."""
    return CyAllocThunk(node) if len(node.inputs) - 1 <= _MAXDIMS else None


@register(ARange)
def arange_thunk(node: Apply) -> Any:
    """A :class:`CyARangeThunk` for ``node`` (None for dtypes other than
    integers, float32 and float64)."""
    dtype = np.dtype(node.outputs[0].type.dtype)  # type: ignore[attr-defined]
    if dtype.kind in "iu" or dtype in (np.float32, np.float64):
        return CyARangeThunk(node)
    return None
