"""Registers the C thunks of ``Softmax`` and ``LogSoftmax`` (``_nnet.pyx``).

float32 and float64 nodes of any rank and axis get a
:class:`~symarray.kernels_c._nnet.CyNnetThunk`; other dtypes (float16:
``make_node`` casts integers to float first) run ``perform``.  Large inputs
run on the kernels' thread pool, on the ``kernel_threads`` flag's threads
(read when the thunk is made).

>>> import symarray.tensor as T
>>> from symarray import kernels_c
>>> x = T.dmatrix("x")
>>> kernels_c.make_thunk(T.nnet.softmax(x).owner).backend
'c'
>>> kernels_c.make_thunk(T.nnet.log_softmax(T.fmatrix("y"), axis=0).owner).backend
'c'
"""

from __future__ import annotations

from typing import Any

from symarray.graph.basic import Apply
from symarray.kernels_c import register
from symarray.kernels_c._nnet import CyNnetThunk
from symarray.tensor.nnet.basic import LogSoftmax, Softmax
from symarray.tensor.type import tensor_type

__all__ = ["softmax_thunk", "log_softmax_thunk", "DTYPES"]

#: dtypes the kernel computes (input and output)
DTYPES = ("float32", "float64")
_MAXDIMS = 64  # NumPy 2's NPY_MAXDIMS


def _threads() -> int:
    """The ``kernel_threads`` flag (0: every core), read at compile time."""
    from symarray import config

    return int(getattr(config, "kernel_threads", 0))  # resolved by the thunk


def _supported(node: Apply) -> bool:
    x, out = tensor_type(node.inputs[0]), tensor_type(node.outputs[0])
    return x.dtype in DTYPES and out.dtype == x.dtype and 1 <= x.ndim <= _MAXDIMS


@register(Softmax)
def softmax_thunk(node: Apply) -> Any:
    """A :class:`CyNnetThunk` for a float32/float64 ``Softmax`` node, or None."""
    return CyNnetThunk(node, False, _threads()) if _supported(node) else None


@register(LogSoftmax)
def log_softmax_thunk(node: Apply) -> Any:
    """A :class:`CyNnetThunk` for a float32/float64 ``LogSoftmax`` node, or None."""
    return CyNnetThunk(node, True, _threads()) if _supported(node) else None
