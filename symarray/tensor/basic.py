"""Making tensor variables: constructors, constants, ``as_tensor_variable``.

Theano's names: ``scalar, vector, row, col, matrix, tensor3, tensor4`` use
``config.floatX`` unless given a dtype; the prefixed forms fix the dtype
(``b``: int8, ``w``: int16, ``i``: int32, ``l``: int64, ``f``: float32,
``d``: float64, ``c``: complex64, ``z``: complex128).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray import config
from symarray.errors import DtypeError
from symarray.graph.basic import Variable
from symarray.tensor.type import TensorType, dtype_of
from symarray.tensor.variable import TensorConstant, TensorVariable

__all__ = [
    "as_tensor_variable", "as_tensor", "constant", "tensor", "scalar", "vector",
    "row", "col", "matrix", "tensor3", "tensor4", "tensor5", "TensorLike",
]

TensorLike = Any


def _dtype(dtype: Any) -> str:
    return dtype_of(config.floatX if dtype is None else dtype)


def tensor(dtype: Any = None, shape: Sequence[int | None] | None = None,
           name: str | None = None, broadcastable: Sequence[bool] | None = None,
           ndim: int | None = None) -> TensorVariable:
    """A new symbolic tensor input.

    ``T.tensor("float32", shape=(None, 3))``; Theano's
    ``T.tensor(dtype, broadcastable)`` form also works.
    """
    if shape is None and broadcastable is None:
        if ndim is None:
            raise TypeError("tensor() needs shape, broadcastable or ndim")
        shape = (None,) * ndim
    if isinstance(dtype, str) and isinstance(shape, str) and name is None:
        name, shape = shape, None  # tensor(dtype, name)
    ttype = TensorType(_dtype(dtype), broadcastable, shape)
    return ttype.make_variable(name)  # type: ignore[no-any-return]


def _maker(ndim_shape: tuple[int | None, ...], doc: str) -> Any:
    def make(name: str | None = None, dtype: Any = None,
             shape: Sequence[int | None] | None = None) -> TensorVariable:
        if shape is not None and len(shape) != len(ndim_shape):
            raise TypeError(f"shape {shape} does not have {len(ndim_shape)} entries")
        return TensorType(_dtype(dtype), shape=shape or ndim_shape).make_variable(name)  # type: ignore[no-any-return]

    make.__doc__ = doc
    return make


scalar = _maker((), "A 0-d tensor input (floatX unless dtype is given).")
vector = _maker((None,), "A 1-d tensor input.")
row = _maker((1, None), "A 1 x n matrix input (first dimension broadcastable).")
col = _maker((None, 1), "An n x 1 matrix input (second dimension broadcastable).")
matrix = _maker((None, None), "A 2-d tensor input.")
tensor3 = _maker((None,) * 3, "A 3-d tensor input.")
tensor4 = _maker((None,) * 4, "A 4-d tensor input.")
tensor5 = _maker((None,) * 5, "A 5-d tensor input.")

_PREFIXES = {
    "b": "int8", "w": "int16", "i": "int32", "l": "int64", "f": "float32",
    "d": "float64", "c": "complex64", "z": "complex128",
}
_KINDS = {
    "scalar": (), "vector": (None,), "row": (1, None), "col": (None, 1),
    "matrix": (None, None), "tensor3": (None,) * 3, "tensor4": (None,) * 4,
    "tensor5": (None,) * 5,
}


def _prefixed(dtype: str, shape: tuple[int | None, ...], kind: str) -> Any:
    def make(name: str | None = None, shape: Sequence[int | None] | None = None
             ) -> TensorVariable:
        return TensorType(dtype, shape=shape or default).make_variable(name)  # type: ignore[no-any-return]

    default = shape
    make.__doc__ = f"A {kind} input of dtype {dtype}."
    return make


_prefixed_names: dict[str, Any] = {
    p + kind: _prefixed(dt, shape, kind)
    for p, dt in _PREFIXES.items()
    for kind, shape in _KINDS.items()
}
globals().update(_prefixed_names)
__all__ += sorted(_prefixed_names)


def constant(x: Any, name: str | None = None, ndim: int | None = None,
             dtype: Any = None) -> TensorConstant:
    """A constant tensor holding ``x``.

    Python floats become ``config.floatX`` (unless ``dtype`` is given), Python
    ints the smallest of int8..int64 that holds them (like Theano), and
    constants made from Python scalars are *weak*: in arithmetic they take
    the dtype of the other operand (``fvector + 1.5`` stays float32).
    """
    weak = isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic)
    if dtype is not None:
        arr = np.asarray(x, dtype=dtype_of(dtype))
    elif isinstance(x, bool):
        arr = np.asarray(x)
    elif isinstance(x, float):
        arr = np.asarray(x, dtype=config.floatX)
    elif isinstance(x, int):
        arr = np.asarray(x, dtype=_smallest_int(x))
    else:
        arr = np.asarray(x)
        if arr.dtype == object:
            raise DtypeError(f"cannot make a tensor constant from {type(x).__name__}")
        if arr.dtype.kind == "f" and isinstance(x, (list, tuple)) and arr.dtype.name == "float64":
            arr = arr.astype(config.floatX)
        if arr.dtype.kind in "US":
            raise DtypeError(f"cannot make a tensor constant from strings: {x!r}")
    if ndim is not None:
        if arr.ndim > ndim:
            raise TypeError(f"constant: value has {arr.ndim} dims, more than ndim={ndim}")
        arr = arr.reshape((1,) * (ndim - arr.ndim) + arr.shape)
    ttype = TensorType(arr.dtype.name, shape=tuple(1 if s == 1 else None for s in arr.shape))
    return TensorConstant(ttype, arr, name, weak=weak)


def _smallest_int(x: int) -> str:
    for dt in ("int8", "int16", "int32", "int64"):
        info = np.iinfo(dt)
        if info.min <= x <= info.max:
            return dt
    if 0 <= x <= np.iinfo("uint64").max:
        return "uint64"
    raise DtypeError(f"integer {x} does not fit in 64 bits")


def as_tensor_variable(x: Any, name: str | None = None, ndim: int | None = None,
                       dtype: Any = None) -> TensorVariable:
    """``x`` as a tensor variable: variables pass through, data become constants.

    A list or tuple that holds variables is stacked (``T.stack``).
    """
    if isinstance(x, Variable):
        if not isinstance(x.type, TensorType):
            raise TypeError(
                f"expected a tensor, got {x} of type {x.type}; convert it first"
            )
        if ndim is not None and x.type.ndim != ndim:
            if x.type.ndim < ndim and all(x.type.broadcastable):
                from symarray.tensor.elemwise import dimshuffle

                return dimshuffle(x, ("x",) * (ndim - x.type.ndim) + tuple(range(x.type.ndim)))  # type: ignore[no-any-return]
            raise TypeError(f"expected a {ndim}-d tensor, got {x} of type {x.type}")
        return x  # type: ignore[return-value]
    if hasattr(x, "owner") and hasattr(x, "type"):
        raise TypeError(f"cannot convert {x!r} to a tensor")
    if isinstance(x, (list, tuple)) and any(_holds_variable(e) for e in x):
        from symarray.tensor.join import stack

        return stack([as_tensor_variable(e) for e in x])  # type: ignore[no-any-return]
    return constant(x, name=name, ndim=ndim, dtype=dtype)


as_tensor = as_tensor_variable


def _holds_variable(x: Any) -> bool:
    if isinstance(x, Variable):
        return True
    if isinstance(x, (list, tuple)):
        return any(_holds_variable(e) for e in x)
    return False
