"""TensorType: the type of n-dimensional arrays of one dtype.

A TensorType has a dtype and a static shape: one entry per dimension, an
``int`` when the length is known at compile time and ``None`` otherwise.  A
dimension of static length 1 is *broadcastable* (Theano's term): it may be
stretched against any length.  ``TensorType("float64", (False, True))``
accepts Theano's broadcastable pattern as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from symarray import config
from symarray.errors import DtypeError, RankError, ShapeMismatchError
from symarray.graph.basic import Type, Variable

__all__ = ["TensorType", "DTYPES", "dtype_of"]

DTYPES = (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
    "uint64", "float16", "float32", "float64", "complex64", "complex128",
)


def dtype_of(dtype: Any) -> str:
    """Normalise a dtype spec (``'floatX'``, ``np.float32``, ``'f8'``) to a name."""
    if dtype == "floatX":
        return str(config.floatX)
    try:
        name = np.dtype(dtype).name
    except TypeError:
        raise DtypeError(
            f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPES)}"
        ) from None
    if name not in DTYPES:
        raise DtypeError(f"dtype {name} is not supported; expected one of {DTYPES}")
    return name


class TensorType(Type):
    """Arrays with a fixed dtype and rank, and optionally static lengths.

    Parameters
    ----------
    dtype
        A NumPy dtype name (or ``"floatX"``).
    broadcastable
        Theano-style: one bool per dimension, True for length 1.
    shape
        One int-or-None per dimension (``1`` means broadcastable).
    """

    def __init__(
        self,
        dtype: Any,
        broadcastable: Sequence[bool] | None = None,
        shape: Sequence[int | None] | None = None,
        name: str | None = None,
    ) -> None:
        self.dtype = dtype_of(dtype)
        if shape is None and broadcastable is not None:
            bc = tuple(broadcastable)
            if all(isinstance(b, (bool, np.bool_)) for b in bc):
                shape = tuple(1 if b else None for b in bc)
            else:  # a shape given positionally
                shape = bc
        if shape is None:
            raise TypeError("TensorType needs broadcastable or shape")
        static: list[int | None] = []
        for s in shape:
            if s is None:
                static.append(None)
            elif (isinstance(s, (int, np.integer)) and not isinstance(s, bool)
                  and s >= 0):
                static.append(int(s))
            else:
                raise TypeError(
                    f"TensorType: shape entries must be non-negative ints or None, "
                    f"got {s!r}"
                )
        self.shape: tuple[int | None, ...] = tuple(static)
        self.name = name
        self._hash = hash((TensorType, self.dtype, self.shape))
        #: filter's fast test: the dtype object arrays of this type usually
        #: have, and the dimensions with a static length
        self._np_dtype = np.dtype(self.dtype)
        self._static_dims = tuple((i, s) for i, s in enumerate(self.shape)
                                  if s is not None)

    # -- properties ----------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def broadcastable(self) -> tuple[bool, ...]:
        return tuple(s == 1 for s in self.shape)

    @property
    def numpy_dtype(self) -> np.dtype[Any]:
        return np.dtype(self.dtype)

    def clone(self, dtype: Any = None, shape: Sequence[int | None] | None = None,
              broadcastable: Sequence[bool] | None = None) -> TensorType:
        if shape is None and broadcastable is not None:
            shape = tuple(1 if b else None for b in broadcastable)
        new_shape = self.shape if shape is None else shape
        return TensorType(dtype or self.dtype, shape=new_shape)

    # -- equality ------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        return (
            type(other) is TensorType
            and other.dtype == self.dtype
            and other.shape == self.shape
        )

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        if self.name:
            return self.name
        shape = ", ".join("?" if s is None else str(s) for s in self.shape)
        if self.ndim == 1:
            shape += ","
        return f"Tensor{{{self.dtype}, ({shape})}}"

    __repr__ = __str__

    def is_super(self, other: Type) -> bool:
        if not isinstance(other, TensorType):
            return False
        return (
            other.dtype == self.dtype
            and other.ndim == self.ndim
            and all(s is None or s == o
                    for s, o in zip(self.shape, other.shape, strict=True))
        )

    def convert_variable(self, var: Any) -> Any:
        """``var`` if it may stand where this type is expected, else None.

        A variable whose type knows more (a static length where this type has
        ``None``) is accepted as it is.
        """
        if var.type == self or self.is_super(var.type):
            return var
        return None

    # -- values ----------------------------------------------------------
    def filter(
        self, data: Any, strict: bool = False, allow_downcast: bool | None = None
    ) -> np.ndarray[Any, Any]:
        """Check ``data`` and return it as an ndarray of this type.

        Rules (Theano's): with ``strict`` only an ndarray of exactly this
        dtype is accepted.  Otherwise an ndarray is converted when NumPy can
        cast its dtype safely (``int8`` into ``float32``, not ``float64``
        into ``float32``); a NumPy scalar or a Python int when its value is
        kept exactly; Python floats (and lists of them) go into any float
        type (``0.1`` into ``float32``).  ``allow_downcast=True`` converts
        anything; ``False`` refuses even Python floats that lose precision.

        >>> import numpy as np
        >>> TensorType("float32", shape=(None,)).filter([0.5, 1.5]).dtype
        dtype('float32')
        """
        if isinstance(data, np.ndarray) and (
                data.dtype is self._np_dtype or data.dtype.name == self.dtype):
            arr = data
        elif strict:
            got = getattr(data, "dtype", type(data).__name__)
            raise DtypeError(
                f"expected an ndarray of dtype {self.dtype} ({self}), got {got}; "
                "strict inputs are not converted"
            )
        else:
            arr = self._convert(data, allow_downcast)
        if arr.ndim != len(self.shape):
            raise RankError(
                f"expected a {self.ndim}-d array of {self.dtype} ({self}), got a "
                f"{arr.ndim}-d array of shape {arr.shape}"
            )
        for i, s in self._static_dims:
            if s != arr.shape[i]:
                raise ShapeMismatchError(
                    f"expected length {s} in dimension {i} ({self}), got shape "
                    f"{arr.shape}"
                )
        return arr

    def _convert(self, data: Any, allow_downcast: bool | None) -> np.ndarray[Any, Any]:
        target = np.dtype(self.dtype)
        if hasattr(data, "owner") and hasattr(data, "type"):
            raise TypeError(
                f"expected a value for {self}, got the symbolic variable {data}; "
                "pass a value, or substitute variables with givens="
            )
        if isinstance(data, np.ndarray) or (
            hasattr(data, "__array__") and not isinstance(data, np.generic)
        ):
            arr = np.asarray(data)
            if arr.dtype == target:
                return arr
            if allow_downcast or np.can_cast(arr.dtype, target, "safe"):
                with np.errstate(over="ignore"):
                    return _astype_quiet(arr, target)
            raise DtypeError(
                f"expected an array of dtype {self.dtype} ({self}), got {arr.dtype}; "
                "that could lose precision: cast it yourself, or pass "
                "allow_input_downcast=True to function()"
            )
        # NumPy scalars, Python scalars and (nested) lists
        arr = np.asarray(data)
        if arr.dtype == object or arr.dtype.kind in "USV":
            raise DtypeError(
                f"cannot convert {type(data).__name__} {data!r:.60} to {self.dtype}"
            )
        if arr.dtype == target:
            return arr
        with np.errstate(all="ignore"):
            converted = _astype_quiet(arr, target)
        if allow_downcast or _same_values(arr, converted):
            return converted
        python_floats = not isinstance(data, np.generic) and arr.dtype.kind in "biuf"
        if allow_downcast is None and target.kind in "fc" and python_floats:
            return converted
        raise DtypeError(
            f"value {data!r:.60} does not fit dtype {self.dtype} exactly; pass "
            "allow_input_downcast=True to function(), or convert it first"
        )

    def values_eq(self, a: Any, b: Any) -> bool:
        a, b = np.asarray(a), np.asarray(b)
        equal_nan = a.dtype.kind in "fc"
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=equal_nan))

    def values_eq_approx(self, a: Any, b: Any, rtol: float | None = None,
                         atol: float | None = None) -> bool:
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            return False
        if a.dtype.kind not in "fc":
            return bool(np.array_equal(a, b))
        lo = a.dtype.itemsize < 8 or b.dtype.itemsize < 8
        rtol = rtol if rtol is not None else (1e-4 if lo else 1e-8)
        atol = atol if atol is not None else (1e-5 if lo else 1e-10)
        return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))

    def make_variable(self, name: str | None = None) -> Any:
        from symarray.tensor.variable import TensorVariable

        return TensorVariable(self, None, None, name)

    def make_constant(self, data: Any, name: str | None = None) -> Any:
        from symarray.tensor.variable import TensorConstant

        return TensorConstant(self, data, name)


def _astype_quiet(arr: np.ndarray[Any, Any], target: np.dtype[Any]) -> Any:
    """``arr.astype(target)`` without ComplexWarning (the caller checks values)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return arr.astype(target)


def _same_values(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> bool:
    with np.errstate(all="ignore"):
        try:
            return bool(np.all((a == b) | ((a != a) & (b != b))))
        except TypeError:
            return False


def tensor_type(var: Variable) -> TensorType:
    """``var.type`` as a :class:`TensorType`, for a variable known to be a
    tensor (an op's own inputs and outputs): tells the type checker so, and
    checks nothing at run time."""
    return cast(TensorType, var.type)
