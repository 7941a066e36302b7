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
from symarray.errors import DtypeError, RankError
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
    ``T.tensor(dtype, broadcastable)`` form also works, and ``ndim`` gives
    a tensor with no static lengths.

    >>> import symarray.tensor as T
    >>> T.tensor("float32", (False, True)).type
    Tensor{float32, (?, 1)}
    """
    if isinstance(shape, str) and name is None:
        name, shape = shape, None  # tensor(dtype, name, ndim=...)
    if (shape is not None and broadcastable is None and len(shape) > 0
            and all(isinstance(b, (bool, np.bool_)) for b in shape)):
        shape, broadcastable = None, shape  # Theano's tensor(dtype, broadcastable)
    if shape is None and broadcastable is None:
        if ndim is None:
            raise TypeError("tensor() needs shape, broadcastable or ndim")
        shape = (None,) * ndim
    ttype = TensorType(_dtype(dtype), broadcastable, shape)
    return ttype.make_variable(name)


def _merge_shape(kind: str, default: tuple[int | None, ...],
                 shape: Sequence[int | None] | None) -> tuple[int | None, ...]:
    """The static shape of a ``kind`` input: ``default`` refined by ``shape``."""
    if shape is None:
        return default
    shape = tuple(shape)
    if len(shape) != len(default):
        raise TypeError(
            f"{kind}: shape {shape} must have {len(default)} entries, one per "
            "dimension"
        )
    out: list[int | None] = []
    for d, (fixed, given) in enumerate(zip(default, shape, strict=True)):
        if fixed == 1 and given not in (None, 1):
            raise TypeError(
                f"{kind}: dimension {d} is broadcastable (length 1), got length "
                f"{given} in shape {shape}; use matrix() for other lengths"
            )
        out.append(fixed if given is None else given)
    return tuple(out)


def _maker(kind: str, default: tuple[int | None, ...], doc: str) -> Any:
    def make(name: str | None = None, dtype: Any = None,
             shape: Sequence[int | None] | None = None) -> TensorVariable:
        static = _merge_shape(kind, default, shape)
        return TensorType(_dtype(dtype), shape=static).make_variable(name)

    make.__name__ = make.__qualname__ = kind
    make.__doc__ = doc
    return make


scalar = _maker("scalar", (), "A 0-d tensor input (floatX unless dtype is given).")
vector = _maker("vector", (None,), "A 1-d tensor input.")
row = _maker("row", (1, None), "A 1 x n matrix input (first dimension broadcastable).")
col = _maker("col", (None, 1),
             "An n x 1 matrix input (second dimension broadcastable).")
matrix = _maker("matrix", (None, None), "A 2-d tensor input.")
tensor3 = _maker("tensor3", (None,) * 3, "A 3-d tensor input.")
tensor4 = _maker("tensor4", (None,) * 4, "A 4-d tensor input.")
tensor5 = _maker("tensor5", (None,) * 5, "A 5-d tensor input.")

_PREFIXES = {
    "b": "int8", "w": "int16", "i": "int32", "l": "int64", "f": "float32",
    "d": "float64", "c": "complex64", "z": "complex128",
}
_KINDS = {
    "scalar": (), "vector": (None,), "row": (1, None), "col": (None, 1),
    "matrix": (None, None), "tensor3": (None,) * 3, "tensor4": (None,) * 4,
    "tensor5": (None,) * 5,
}
#: kind -> Theano's plural name (``T.dmatrices('a', 'b')``)
_PLURALS = {
    "scalar": "scalars", "vector": "vectors", "row": "rows", "col": "cols",
    "matrix": "matrices", "tensor3": "tensor3s", "tensor4": "tensor4s",
    "tensor5": "tensor5s",
}


def _prefixed(prefix: str, kind: str, default: tuple[int | None, ...]) -> Any:
    dtype = _PREFIXES[prefix]

    def make(name: str | None = None,
             shape: Sequence[int | None] | None = None) -> TensorVariable:
        static = _merge_shape(prefix + kind, default, shape)
        return TensorType(dtype, shape=static).make_variable(name)

    make.__name__ = make.__qualname__ = prefix + kind
    make.__doc__ = f"A {kind} input of dtype {dtype}."
    return make


def _plural(single: Any, name: str) -> Any:
    def make(*names: str, dtype: Any = None) -> list[TensorVariable]:
        if len(names) == 1 and isinstance(names[0], int):
            names = tuple(None for _ in range(names[0]))
        if dtype is None:
            return [single(n) for n in names]
        return [single(n, dtype=dtype) for n in names]

    make.__name__ = make.__qualname__ = name
    make.__doc__ = f"One ``{single.__name__}`` per name: ``a, b = {name}('a', 'b')``."
    return make


_prefixed_names: dict[str, Any] = {}
for _p in _PREFIXES:
    for _kind, _shape in _KINDS.items():
        _fn = _prefixed(_p, _kind, _shape)
        _prefixed_names[_p + _kind] = _fn
        if _p in "fdil":
            _prefixed_names[_p + _PLURALS[_kind]] = _plural(_fn, _p + _PLURALS[_kind])
for _kind in _KINDS:
    _prefixed_names[_PLURALS[_kind]] = _plural(globals()[_kind], _PLURALS[_kind])
globals().update(_prefixed_names)
__all__ += sorted(_prefixed_names)


def constant(x: Any, name: str | None = None, ndim: int | None = None,
             dtype: Any = None) -> TensorConstant:
    """A constant tensor holding ``x``.

    Python floats become ``config.floatX`` and Python ints the smallest of
    int8..int64 that holds them (like Theano); lists of Python floats become
    floatX too, other data keep NumPy's dtype.  Constants made from Python
    scalars without ``dtype`` are *weak*: in arithmetic they take the dtype
    of the other operand (``fvector + 1.5`` stays float32).  ``ndim`` pads
    the value with leading length-1 dimensions.

    >>> import symarray.tensor as T
    >>> T.constant(3).dtype, T.constant(300).dtype, T.constant([1, 2]).dtype
    ('int8', 'int16', 'int64')
    """
    python_scalar = isinstance(x, (bool, int, float, complex)) and not isinstance(
        x, np.generic
    )
    weak = python_scalar and dtype is None
    if dtype is not None:
        arr = np.asarray(x, dtype=dtype_of(dtype))
    elif isinstance(x, np.generic):  # np.float64 is a float: keep its dtype
        arr = np.asarray(x)
    elif isinstance(x, bool):
        arr = np.asarray(x)
    elif isinstance(x, float):
        arr = np.asarray(x, dtype=config.floatX)
    elif isinstance(x, int):
        arr = np.asarray(x, dtype=_smallest_int(x))
    else:
        if isinstance(x, Variable) or (hasattr(x, "owner") and hasattr(x, "type")):
            raise TypeError(
                f"constant: got the symbolic variable {x}; constants hold data "
                "(use as_tensor_variable to accept both)"
            )
        arr = np.asarray(x)
        if arr.dtype == object:
            raise DtypeError(
                f"cannot make a tensor constant from {type(x).__name__} {x!r:.60}"
            )
        if arr.dtype.kind in "USV":
            raise DtypeError(f"cannot make a tensor constant from strings: {x!r:.60}")
        if isinstance(x, (list, tuple)) and (
            arr.dtype.name == "float64" or arr.size == 0
        ):
            arr = arr.astype(config.floatX)
    if ndim is not None:
        if arr.ndim > ndim:
            raise RankError(
                f"constant: value has {arr.ndim} dimensions, more than ndim={ndim}"
            )
        arr = arr.reshape((1,) * (ndim - arr.ndim) + arr.shape)
    # a constant knows its whole shape: static shapes flow from it
    return TensorConstant(TensorType(arr.dtype.name, shape=arr.shape), arr, name,
                          weak=weak)


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

    A list or tuple that holds variables is stacked (``T.stack``); an Apply
    node gives its default output.  With ``ndim``, a variable of lower rank
    is padded with broadcastable dimensions on the left and leading
    broadcastable dimensions of a higher-rank one are dropped.

    >>> import symarray.tensor as T
    >>> T.as_tensor_variable(T.vector("v"), ndim=2).broadcastable
    (True, False)
    >>> from symarray import config
    >>> T.as_tensor_variable(1.5).dtype == config.floatX
    True
    """
    from symarray.graph.basic import Apply

    if isinstance(x, Apply):
        x = x.out
    if isinstance(x, Variable):
        if not isinstance(x.type, TensorType):
            raise TypeError(
                f"expected a tensor, got {x} of type {x.type}; convert it first"
            )
        if dtype is not None and x.type.dtype != dtype_of(dtype):
            from symarray.tensor.elemwise import cast

            x = cast(x, dtype)
        if ndim is not None and x.type.ndim != ndim:
            return _to_ndim(x, ndim)
        return x
    if hasattr(x, "owner") and hasattr(x, "type"):
        raise TypeError(f"cannot convert {x!r} to a tensor")
    if isinstance(x, (list, tuple)) and any(_holds_variable(e) for e in x):
        from symarray.tensor.join import stack

        out = stack([as_tensor_variable(e) for e in x])
        return out if ndim is None else _to_ndim(out, ndim)
    # a TensorConstant has every method of a TensorVariable
    return constant(x, name=name, ndim=ndim, dtype=dtype)  # type: ignore[return-value]


def _to_ndim(x: Any, ndim: int) -> Any:
    """Pad ``x`` on the left, or drop its leading broadcastable dimensions."""
    from symarray.tensor.elemwise import dimshuffle

    if x.type.ndim < ndim:
        return dimshuffle(x, ("x",) * (ndim - x.type.ndim) + tuple(range(x.type.ndim)))
    extra = x.type.ndim - ndim
    if all(x.type.broadcastable[:extra]):
        return dimshuffle(x, tuple(range(extra, x.type.ndim)))
    raise RankError(
        f"expected a {ndim}-d tensor, got {x} of type {x.type}; only leading "
        "broadcastable dimensions can be dropped"
    )


as_tensor = as_tensor_variable


def _holds_variable(x: Any) -> bool:
    if isinstance(x, Variable):
        return True
    if isinstance(x, (list, tuple)):
        return any(_holds_variable(e) for e in x)
    return False
