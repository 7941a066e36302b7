"""TensorVariable and TensorConstant: what users build graphs with.

Python operators and NumPy-like methods on a TensorVariable build graph
nodes through the functions of :mod:`symarray.tensor`.  ``==`` and ``!=``
keep Python's identity meaning (variables are dict keys everywhere); use
``T.eq`` / ``T.neq`` for elementwise comparison, as in Theano.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symarray.graph.basic import Constant, Variable

__all__ = ["TensorVariable", "TensorConstant", "_TensorMethods"]


def _T() -> Any:
    import symarray.tensor as T

    return T


class _TensorMethods:
    """Operators and methods shared by tensor variables, constants, shared."""

    type: Any

    # -- static facts --------------------------------------------------
    @property
    def ndim(self) -> int:
        return self.type.ndim  # type: ignore[no-any-return]

    @property
    def dtype(self) -> str:
        return self.type.dtype  # type: ignore[no-any-return]

    @property
    def broadcastable(self) -> tuple[bool, ...]:
        return self.type.broadcastable  # type: ignore[no-any-return]

    @property
    def shape(self) -> Any:
        return _T().shape(self)

    @property
    def size(self) -> Any:
        return _T().prod(self.shape)

    @property
    def T(self) -> Any:
        return _T().transpose(self)

    # -- arithmetic ----------------------------------------------------
    def __add__(self, other: Any) -> Any:
        return _T().add(self, other)

    def __radd__(self, other: Any) -> Any:
        return _T().add(other, self)

    def __sub__(self, other: Any) -> Any:
        return _T().sub(self, other)

    def __rsub__(self, other: Any) -> Any:
        return _T().sub(other, self)

    def __mul__(self, other: Any) -> Any:
        return _T().mul(self, other)

    def __rmul__(self, other: Any) -> Any:
        return _T().mul(other, self)

    def __truediv__(self, other: Any) -> Any:
        return _T().true_div(self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return _T().true_div(other, self)

    def __floordiv__(self, other: Any) -> Any:
        return _T().int_div(self, other)

    def __rfloordiv__(self, other: Any) -> Any:
        return _T().int_div(other, self)

    def __mod__(self, other: Any) -> Any:
        return _T().mod(self, other)

    def __rmod__(self, other: Any) -> Any:
        return _T().mod(other, self)

    def __pow__(self, other: Any) -> Any:
        return _T().pow(self, other)

    def __rpow__(self, other: Any) -> Any:
        return _T().pow(other, self)

    def __matmul__(self, other: Any) -> Any:
        return _T().dot(self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return _T().dot(other, self)

    def __neg__(self) -> Any:
        return _T().neg(self)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return _T().abs(self)

    def __invert__(self) -> Any:
        return _T().invert(self)

    def __and__(self, other: Any) -> Any:
        return _T().and_(self, other)

    def __rand__(self, other: Any) -> Any:
        return _T().and_(other, self)

    def __or__(self, other: Any) -> Any:
        return _T().or_(self, other)

    def __ror__(self, other: Any) -> Any:
        return _T().or_(other, self)

    def __xor__(self, other: Any) -> Any:
        return _T().xor(self, other)

    def __rxor__(self, other: Any) -> Any:
        return _T().xor(other, self)

    def __lt__(self, other: Any) -> Any:
        return _T().lt(self, other)

    def __le__(self, other: Any) -> Any:
        return _T().le(self, other)

    def __gt__(self, other: Any) -> Any:
        return _T().gt(self, other)

    def __ge__(self, other: Any) -> Any:
        return _T().ge(self, other)

    def __bool__(self) -> bool:
        raise TypeError(
            "a symbolic variable has no truth value; use T.switch(cond, a, b) or "
            "ifelse(cond, a, b) for a symbolic condition"
        )

    def __len__(self) -> int:
        raise TypeError(
            f"len() of a symbolic {self.ndim}-d variable is not known before it is "
            "computed; use x.shape[0]"
        )

    def __iter__(self) -> Any:
        length = self.type.shape[0] if self.ndim else None
        if length is None:
            raise TypeError(
                "cannot iterate over a variable whose length is not static; use "
                "scan, or index with x[i]"
            )
        return (self[i] for i in range(length))

    # -- indexing ------------------------------------------------------
    def __getitem__(self, key: Any) -> Any:
        from symarray.tensor.subtensor import getitem

        return getitem(self, key)

    # -- methods -------------------------------------------------------
    def astype(self, dtype: Any) -> Any:
        return _T().cast(self, dtype)

    def reshape(self, *shape: Any, ndim: int | None = None) -> Any:
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = shape[0]
        return _T().reshape(self, shape, ndim=ndim)

    def dimshuffle(self, *pattern: Any) -> Any:
        if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
            pattern = tuple(pattern[0])
        return _T().dimshuffle(self, pattern)

    def transpose(self, *axes: Any) -> Any:
        if len(axes) == 1 and isinstance(axes[0], (list, tuple)):
            axes = tuple(axes[0])
        return _T().transpose(self, axes or None)

    def flatten(self, ndim: int = 1) -> Any:
        return _T().flatten(self, ndim)

    def ravel(self) -> Any:
        return _T().flatten(self, 1)

    def squeeze(self, axis: Any = None) -> Any:
        return _T().squeeze(self, axis)

    def dot(self, other: Any) -> Any:
        return _T().dot(self, other)

    def sum(self, axis: Any = None, dtype: Any = None, keepdims: bool = False,
            acc_dtype: Any = None) -> Any:
        return _T().sum(self, axis=axis, dtype=dtype, keepdims=keepdims,
                        acc_dtype=acc_dtype)

    def prod(self, axis: Any = None, dtype: Any = None, keepdims: bool = False,
             acc_dtype: Any = None) -> Any:
        return _T().prod(self, axis=axis, dtype=dtype, keepdims=keepdims,
                         acc_dtype=acc_dtype)

    def mean(self, axis: Any = None, dtype: Any = None, keepdims: bool = False,
             acc_dtype: Any = None) -> Any:
        return _T().mean(self, axis=axis, dtype=dtype, keepdims=keepdims,
                         acc_dtype=acc_dtype)

    def var(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
        return _T().var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
        return _T().std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _T().max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _T().min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _T().argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _T().argmin(self, axis=axis, keepdims=keepdims)

    def all(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _T().all(self, axis=axis, keepdims=keepdims)

    def any(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _T().any(self, axis=axis, keepdims=keepdims)

    def clip(self, a_min: Any, a_max: Any) -> Any:
        return _T().clip(self, a_min, a_max)

    def round(self, mode: str = "half_to_even") -> Any:
        return _T().round(self, mode)

    def cumsum(self, axis: Any = None) -> Any:
        return _T().cumsum(self, axis)

    def cumprod(self, axis: Any = None) -> Any:
        return _T().cumprod(self, axis)

    def sort(self, axis: int = -1) -> Any:
        return _T().sort(self, axis)

    def argsort(self, axis: int = -1) -> Any:
        return _T().argsort(self, axis)

    def take(self, indices: Any, axis: Any = None) -> Any:
        return _T().take(self, indices, axis)

    def repeat(self, repeats: Any, axis: Any = None) -> Any:
        return _T().repeat(self, repeats, axis)

    def copy(self, name: str | None = None) -> Any:
        out = _T().tensor_copy(self)
        out.name = name
        return out

    def nonzero(self) -> Any:
        return _T().nonzero(self)

    def zeros_like(self) -> Any:
        return _T().zeros_like(self)

    def ones_like(self) -> Any:
        return _T().ones_like(self)

    def fill(self, value: Any) -> Any:
        return _T().fill(self, value)

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
        return _T().diagonal(self, offset, axis1, axis2)

    def norm(self, L: int = 2, axis: Any = None) -> Any:
        T = _T()
        if L == 1:
            return T.sum(T.abs(self), axis=axis)
        return T.sqrt(T.sum(T.sqr(self), axis=axis))


class TensorVariable(_TensorMethods, Variable):
    """A symbolic array."""


class TensorConstant(_TensorMethods, Constant):
    """A constant array; ``weak`` marks constants made from Python scalars."""

    def __init__(self, type: Any, data: Any, name: str | None = None,
                 weak: bool = False) -> None:
        Constant.__init__(self, type, data, name)
        self.weak = weak

    def clone(self, name: str | None = None) -> TensorConstant:
        return TensorConstant(self.type, self.data, name or self.name, self.weak)
