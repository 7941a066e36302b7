"""TensorVariable and TensorConstant: what users build graphs with.

Python operators and NumPy-like methods on a TensorVariable build graph
nodes through the functions of :mod:`symarray.tensor`.  ``==`` and ``!=``
keep Python's identity meaning (variables are dict keys everywhere); use
``T.eq`` / ``T.neq`` for elementwise comparison, as in Theano.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symarray.graph.basic import Constant, Variable, _copy_tag

__all__ = ["TensorVariable", "TensorConstant", "_TensorMethods"]


def _tt() -> Any:
    """The ``symarray.tensor`` module (imported late: it imports this one)."""
    import symarray.tensor as tt

    return tt


class _TensorMethods:
    """Operators and methods shared by tensor variables, constants, shared."""

    type: Any

    # NumPy defers to these operators: ``np.ones(3) + x`` calls ``x.__radd__``
    # and builds a graph instead of an object array of graphs.
    __array_ufunc__ = None
    __array_priority__ = 1000

    # -- static facts --------------------------------------------------
    @property
    def ndim(self) -> int:
        return self.type.ndim

    @property
    def dtype(self) -> str:
        return self.type.dtype

    @property
    def broadcastable(self) -> tuple[bool, ...]:
        return self.type.broadcastable

    @property
    def shape(self) -> Any:
        return _tt().shape(self)

    @property
    def size(self) -> Any:
        return _tt().prod(self.shape)

    @property
    def T(self) -> Any:  # noqa: N802 - NumPy's name
        return _tt().transpose(self)

    # -- arithmetic ----------------------------------------------------
    def __add__(self, other: Any) -> Any:
        return _tt().add(self, other)

    def __radd__(self, other: Any) -> Any:
        return _tt().add(other, self)

    def __sub__(self, other: Any) -> Any:
        return _tt().sub(self, other)

    def __rsub__(self, other: Any) -> Any:
        return _tt().sub(other, self)

    def __mul__(self, other: Any) -> Any:
        return _tt().mul(self, other)

    def __rmul__(self, other: Any) -> Any:
        return _tt().mul(other, self)

    def __truediv__(self, other: Any) -> Any:
        return _tt().true_div(self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return _tt().true_div(other, self)

    def __floordiv__(self, other: Any) -> Any:
        return _tt().int_div(self, other)

    def __rfloordiv__(self, other: Any) -> Any:
        return _tt().int_div(other, self)

    def __mod__(self, other: Any) -> Any:
        return _tt().mod(self, other)

    def __rmod__(self, other: Any) -> Any:
        return _tt().mod(other, self)

    def __pow__(self, other: Any) -> Any:
        return _tt().pow(self, other)

    def __rpow__(self, other: Any) -> Any:
        return _tt().pow(other, self)

    def __matmul__(self, other: Any) -> Any:
        return _tt().dot(self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return _tt().dot(other, self)

    def __divmod__(self, other: Any) -> Any:
        return _tt().int_div(self, other), _tt().mod(self, other)

    def __rdivmod__(self, other: Any) -> Any:
        return _tt().int_div(other, self), _tt().mod(other, self)

    def __neg__(self) -> Any:
        return _tt().neg(self)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return _tt().abs(self)

    def __round__(self, ndigits: int | None = None) -> Any:
        if ndigits:
            raise NotImplementedError(
                "round(x, ndigits) is not supported; use T.round(x * 10**n) / 10**n"
            )
        return _tt().round(self)

    def __invert__(self) -> Any:
        return _tt().invert(self)

    def __and__(self, other: Any) -> Any:
        return _tt().and_(self, other)

    def __rand__(self, other: Any) -> Any:
        return _tt().and_(other, self)

    def __or__(self, other: Any) -> Any:
        return _tt().or_(self, other)

    def __ror__(self, other: Any) -> Any:
        return _tt().or_(other, self)

    def __xor__(self, other: Any) -> Any:
        return _tt().xor(self, other)

    def __rxor__(self, other: Any) -> Any:
        return _tt().xor(other, self)

    def __lt__(self, other: Any) -> Any:
        return _tt().lt(self, other)

    def __le__(self, other: Any) -> Any:
        return _tt().le(self, other)

    def __gt__(self, other: Any) -> Any:
        return _tt().gt(self, other)

    def __ge__(self, other: Any) -> Any:
        return _tt().ge(self, other)

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
        if self.ndim == 0:
            raise TypeError(f"cannot iterate over a 0-d variable ({self.type})")
        length = self.type.shape[0]
        if length is None:
            raise TypeError(
                f"cannot iterate over {self} of type {self.type}: its length is not "
                "static; use scan, or index with x[i]"
            )
        return (self[i] for i in range(length))

    # -- indexing ------------------------------------------------------
    def __getitem__(self, key: Any) -> Any:
        from symarray.tensor.subtensor import getitem

        return getitem(self, key)

    # -- methods -------------------------------------------------------
    def astype(self, dtype: Any) -> Any:
        return _tt().cast(self, dtype)

    def reshape(self, *shape: Any, ndim: int | None = None) -> Any:
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = shape[0]
        return _tt().reshape(self, shape, ndim=ndim)

    def dimshuffle(self, *pattern: Any) -> Any:
        if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
            pattern = tuple(pattern[0])
        return _tt().dimshuffle(self, pattern)

    def transpose(self, *axes: Any) -> Any:
        if len(axes) == 1 and isinstance(axes[0], (list, tuple)):
            axes = tuple(axes[0])
        return _tt().transpose(self, axes or None)

    def flatten(self, ndim: int = 1) -> Any:
        return _tt().flatten(self, ndim)

    def ravel(self) -> Any:
        return _tt().flatten(self, 1)

    def squeeze(self, axis: Any = None) -> Any:
        return _tt().squeeze(self, axis)

    def dot(self, other: Any) -> Any:
        return _tt().dot(self, other)

    def sum(self, axis: Any = None, dtype: Any = None, keepdims: bool = False,
            acc_dtype: Any = None) -> Any:
        return _tt().sum(self, axis=axis, dtype=dtype, keepdims=keepdims,
                        acc_dtype=acc_dtype)

    def prod(self, axis: Any = None, dtype: Any = None, keepdims: bool = False,
             acc_dtype: Any = None) -> Any:
        return _tt().prod(self, axis=axis, dtype=dtype, keepdims=keepdims,
                         acc_dtype=acc_dtype)

    def mean(self, axis: Any = None, dtype: Any = None, keepdims: bool = False,
             acc_dtype: Any = None) -> Any:
        return _tt().mean(self, axis=axis, dtype=dtype, keepdims=keepdims,
                         acc_dtype=acc_dtype)

    def var(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
        return _tt().var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
        return _tt().std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _tt().max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _tt().min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _tt().argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _tt().argmin(self, axis=axis, keepdims=keepdims)

    def all(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _tt().all(self, axis=axis, keepdims=keepdims)

    def any(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _tt().any(self, axis=axis, keepdims=keepdims)

    def clip(self, a_min: Any, a_max: Any) -> Any:
        return _tt().clip(self, a_min, a_max)

    def round(self, mode: str = "half_to_even") -> Any:
        return _tt().round(self, mode)

    def cumsum(self, axis: Any = None) -> Any:
        return _tt().cumsum(self, axis)

    def cumprod(self, axis: Any = None) -> Any:
        return _tt().cumprod(self, axis)

    def sort(self, axis: int = -1) -> Any:
        return _tt().sort(self, axis)

    def argsort(self, axis: int = -1) -> Any:
        return _tt().argsort(self, axis)

    def take(self, indices: Any, axis: Any = None) -> Any:
        return _tt().take(self, indices, axis)

    def repeat(self, repeats: Any, axis: Any = None) -> Any:
        return _tt().repeat(self, repeats, axis)

    def copy(self, name: str | None = None) -> Any:
        out = _tt().tensor_copy(self)
        out.name = name
        return out

    def nonzero(self) -> Any:
        return _tt().nonzero(self)

    def zeros_like(self) -> Any:
        return _tt().zeros_like(self)

    def ones_like(self) -> Any:
        return _tt().ones_like(self)

    def fill(self, value: Any) -> Any:
        return _tt().fill(self, value)

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
        return _tt().diagonal(self, offset, axis1, axis2)

    def norm(self, L: int = 2, axis: Any = None) -> Any:  # noqa: N803 - Theano's
        tt = _tt()
        if L == 1:
            return tt.sum(tt.abs(self), axis=axis)
        return tt.sqrt(tt.sum(tt.sqr(self), axis=axis))


#: binary operators that defer to an operand of another type family
_DEFERRING = ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul",
              "divmod", "and", "or", "xor")


def _defer_to_other_variables(cls: type) -> type:
    """Make the binary operators of ``cls`` return ``NotImplemented`` for a
    variable of another type family (a sparse matrix), so that Python asks
    that operand's reflected operator: ``dense + sparse`` and ``dense @
    sparse`` build the sparse ops, as in Theano."""
    for stem in _DEFERRING:
        for name in (f"__{stem}__", f"__r{stem}__"):
            fn = cls.__dict__[name]

            def op(self: Any, other: Any, _fn: Any = fn) -> Any:
                if isinstance(other, Variable) and not isinstance(other,
                                                                  _TensorMethods):
                    return NotImplemented
                return _fn(self, other)

            op.__name__, op.__doc__ = fn.__name__, fn.__doc__
            setattr(cls, name, op)
    return cls


_defer_to_other_variables(_TensorMethods)


class TensorVariable(_TensorMethods, Variable):
    """A symbolic array."""


class TensorConstant(_TensorMethods, Constant):
    """A constant array; ``weak`` marks constants made from Python scalars."""

    def __init__(self, type: Any, data: Any, name: str | None = None,
                 weak: bool = False) -> None:
        Constant.__init__(self, type, data, name)
        self.weak = weak

    def clone(self, name: str | None = None) -> TensorConstant:
        cp = TensorConstant(self.type, self.data, name or self.name, self.weak)
        cp.tag = _copy_tag(self.tag)  # keeps the creation site
        return cp
