"""Adding and dropping broadcastable dimensions, and run-time assertions.

``squeeze``, ``shape_padleft``/``shape_padright``/``shape_padaxis``,
``unbroadcast``/``addbroadcast``/``patternbroadcast`` change which
dimensions are broadcastable; ``Assert`` checks conditions at run time.
``Unbroadcast`` and ``Assert`` pass their input through (views).  They
were part of :mod:`symarray.tensor.shape_ops`, which still re-exports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.errors import (
    AssertionFailedError,
    AxisError,
    DtypeError,
    RankError,
    ShapeMismatchError,
)
from symarray.graph.basic import Apply
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.elemwise import dimshuffle
from symarray.tensor.shape_ops import (
    IdentityLikeOp,
    _check_axis,
    specify_shape,
)
from symarray.tensor.type import TensorType

__all__ = [
    "Unbroadcast", "Assert", "squeeze", "shape_padleft", "shape_padright",
    "shape_padaxis", "addbroadcast", "unbroadcast", "patternbroadcast", "assert_op",
]


# -- adding and dropping broadcastable dimensions ---------------------------


def squeeze(x: Any, axis: Any = None) -> Any:
    """Drop dimensions of length 1.

    Without ``axis``, drops the dimensions known (statically) to have length
    1.  With ``axis`` (an int or a tuple), drops those, checking at run time
    the ones whose length is not static.
    """
    x = as_tensor_variable(x)
    if axis is None:
        return dimshuffle(x, [d for d in range(x.ndim) if x.type.shape[d] != 1])
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    axes = sorted({_check_axis(a, x.ndim, "squeeze") for a in axes})
    for a in axes:
        if x.type.shape[a] not in (None, 1):
            raise ShapeMismatchError(
                f"squeeze: dimension {a} of {x} has length {x.type.shape[a]}, not 1 "
                f"({x.type})"
            )
    x = specify_shape(x, [1 if d in axes else None for d in range(x.ndim)])
    return dimshuffle(x, [d for d in range(x.ndim) if d not in axes])


def shape_padleft(x: Any, n_ones: int = 1) -> Any:
    """``x`` with ``n_ones`` broadcastable dimensions added in front."""
    x = as_tensor_variable(x)
    return dimshuffle(x, ["x"] * n_ones + list(range(x.ndim)))


def shape_padright(x: Any, n_ones: int = 1) -> Any:
    """``x`` with ``n_ones`` broadcastable dimensions added at the end."""
    x = as_tensor_variable(x)
    return dimshuffle(x, list(range(x.ndim)) + ["x"] * n_ones)


def shape_padaxis(x: Any, axis: int) -> Any:
    """``x`` with a broadcastable dimension inserted at ``axis`` (``expand_dims``)."""
    x = as_tensor_variable(x)
    axis = _check_axis(axis, x.ndim + 1, "shape_padaxis")
    pattern: list[Any] = list(range(x.ndim))
    pattern.insert(axis, "x")
    return dimshuffle(x, pattern)


class Unbroadcast(IdentityLikeOp):
    """Forget that some dimensions have static length 1 (a view)."""

    __props__ = ("axes",)
    view_map = {0: [0]}

    def __init__(self, *axes: int) -> None:
        self.axes = tuple(sorted({int(a) for a in axes}))

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        for a in self.axes:
            if not 0 <= a < x.ndim:
                raise AxisError(f"{self}: {x} of type {x.type} has no dimension {a}")
        static = [None if d in self.axes and s == 1 else s
                  for d, s in enumerate(x.type.shape)]
        return Apply(self, [x], [TensorType(x.dtype, shape=static).make_variable()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        output_storage[0][0] = inputs[0]


def unbroadcast(x: Any, *axes: int) -> Any:
    """``x`` with the given dimensions no longer broadcastable."""
    x = as_tensor_variable(x)
    norm = [_check_axis(a, x.ndim, "unbroadcast") for a in axes]
    norm = [a for a in norm if x.type.shape[a] == 1]
    return Unbroadcast(*norm)(x) if norm else x


def addbroadcast(x: Any, *axes: int) -> Any:
    """``x`` with the given dimensions broadcastable (checked at run time)."""
    x = as_tensor_variable(x)
    norm = {_check_axis(a, x.ndim, "addbroadcast") for a in axes}
    for a in norm:
        if x.type.shape[a] not in (None, 1):
            raise ShapeMismatchError(
                f"addbroadcast: dimension {a} of {x} has static length "
                f"{x.type.shape[a]}, so it cannot be broadcastable ({x.type})"
            )
    return specify_shape(x, [1 if d in norm else None for d in range(x.ndim)])


def patternbroadcast(x: Any, broadcastable: Sequence[bool]) -> Any:
    """``x`` made broadcastable exactly where ``broadcastable`` is True."""
    x = as_tensor_variable(x)
    if len(broadcastable) != x.ndim:
        raise RankError(
            f"patternbroadcast: pattern {tuple(broadcastable)} has "
            f"{len(broadcastable)} entries, {x} has {x.ndim} dimensions"
        )
    x = addbroadcast(x, *[d for d, b in enumerate(broadcastable) if b])
    return unbroadcast(x, *[d for d, b in enumerate(broadcastable) if not b])


# -- Assert -----------------------------------------------------------------


class Assert(IdentityLikeOp):
    """Return ``x`` (a view) after checking that every condition holds.

    ``Assert("x must be positive")(x, T.all(x > 0))`` raises
    :class:`~symarray.errors.AssertionFailedError` with the message when a
    condition is false (a condition that is an array must be true everywhere).
    """

    __props__ = ("msg",)
    view_map = {0: [0]}

    def __init__(self, msg: str = "Assertion failed") -> None:
        self.msg = str(msg)

    def make_node(self, x: Any, *conds: Any) -> Apply:
        x = as_tensor_variable(x)
        cs = [as_tensor_variable(c) for c in conds]
        for k, c in enumerate(cs):
            if np.dtype(c.dtype).kind == "c":
                raise DtypeError(f"Assert: condition {k} is complex ({c.type})")
        return Apply(self, [x, *cs], [x.type.make_variable()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        for k, c in enumerate(inputs[1:]):
            if not np.all(c):
                raise AssertionFailedError(
                    f"{self.msg} (condition {k}, {node.inputs[1 + k]}, is false)"
                )
        output_storage[0][0] = inputs[0]


def assert_op(x: Any, *conditions: Any, msg: str = "Assertion failed") -> Any:
    """``x``, checked at run time: raises AssertionFailedError(msg) when a
    condition is false.

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> x = T.dscalar("x")
    >>> float(T.assert_op(x, T.gt(x, 0), msg="x > 0").eval({x: 2.0}))
    2.0
    """
    return Assert(msg)(x, *conditions)
