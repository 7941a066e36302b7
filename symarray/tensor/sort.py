"""Sorting: ``sort`` and ``argsort`` along an axis, as NumPy.

:class:`SortOp` returns the sorted values, :class:`ArgSortOp` the int64
indices that sort.  ``axis=None`` sorts the flattened array (the output is
1-d).  ``kind`` is NumPy's: ``'quicksort'`` (the default, not stable),
``'mergesort'``/``'stable'`` (equal elements keep their order, which only
matters for ``argsort``) or ``'heapsort'``.  NaNs sort to the end.

``sort``'s gradient scatters the output gradient back through ``argsort``
(an ``inc_subtensor``); ``argsort`` has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.graph.basic import Apply, Op
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.extra_ops import axis_lanes, axis_out_shape, lanes_as_input
from symarray.tensor.reduction import normalize_axis
from symarray.tensor.type import TensorType

__all__ = ["SortOp", "ArgSortOp", "sort", "argsort"]

KINDS = ("quicksort", "mergesort", "heapsort", "stable")


class _SortBase(Op):
    """Shared make_node/infer_shape of the sort ops."""

    __props__ = ("axis", "kind")
    name = "sort"
    out_dtype: str | None = None

    def __init__(self, axis: int | None = -1, kind: str = "quicksort") -> None:
        if kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {KINDS}, got {kind!r}")
        self.axis = None if axis is None else int(axis)
        self.kind: Any = kind  # one of KINDS (NumPy's Literal type)

    def __str__(self) -> str:
        return f"{type(self).__name__}{{axis={self.axis}, kind={self.kind!r}}}"

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        if self.axis is None:
            static = x.type.shape
            length = None if None in static else int(np.prod(static, dtype="int64"))
            shape: tuple[int | None, ...] = (length,)
        else:
            if x.ndim == 0:
                raise ValueError(
                    f"{self.name}: cannot sort a 0-d input along axis {self.axis}; "
                    "use axis=None"
                )
            (axis,) = normalize_axis(self.axis, x.ndim, self.name)
            if axis != self.axis:
                return type(self)(axis, self.kind).make_node(x)
            shape = x.type.shape
        dtype = self.out_dtype or x.dtype
        return Apply(self, [x], [TensorType(dtype, shape=shape).make_variable()])

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [axis_out_shape(self.axis, input_shapes[0])]


def _is_float(x: Any) -> bool:
    return np.dtype(x.dtype).kind in "fc"


def _along_axis(idx: Any, axis: int) -> tuple[Any, ...]:
    """The key with ``x[key] == np.take_along_axis(x, idx, axis)``.

    Every axis but ``axis`` is indexed by an ``arange`` broadcast along it;
    ``axis`` by ``idx``.
    """
    from symarray.tensor.alloc import arange
    from symarray.tensor.elemwise import dimshuffle
    from symarray.tensor.shape_ops import shape_i

    key: list[Any] = []
    for d in range(idx.ndim):
        if d == axis:
            key.append(idx)
            continue
        pattern: list[Any] = ["x"] * idx.ndim
        pattern[d] = 0
        key.append(dimshuffle(arange(shape_i(idx, d)), pattern))
    return tuple(key)


class SortOp(_SortBase):
    """Sorted values of ``x`` along ``axis`` (None: flattened).

    The gradient sends each output gradient back to the input entry that
    landed there: ``g[argsort(x)] = gz`` along the axis.  Equal entries take
    the gradients in the order ``argsort`` with the same ``kind`` puts them
    (sorting is not differentiable at ties; any such split is a subgradient).
    """

    name = "sort"

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        output_storage[0][0] = np.sort(inputs[0], axis=self.axis, kind=self.kind)

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        from symarray.tensor.alloc import zeros_like
        from symarray.tensor.subtensor_inc import inc_subtensor

        (x,), (gz,) = inputs, output_grads
        if not _is_float(x):
            return [None]
        xs, axis = axis_lanes(self.axis, x)
        order = ArgSortOp(axis, self.kind)(xs)
        # a permutation, so each entry is written once (inc == set)
        g = inc_subtensor(zeros_like(xs)[_along_axis(order, axis)], gz)
        return [lanes_as_input(self.axis, g, x)]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        # the tangents permuted like the values: ev[argsort(x)] along the axis
        (x,), (ev,) = inputs, eval_points
        if ev is None or not _is_float(x):
            return [None]
        xs, axis = axis_lanes(self.axis, x)
        evs, _ = axis_lanes(self.axis, ev)
        order = ArgSortOp(axis, self.kind)(xs)
        return [evs[_along_axis(order, axis)]]


class ArgSortOp(_SortBase):
    """Indices (int64) that sort ``x`` along ``axis`` (None: flattened)."""

    name = "argsort"
    out_dtype = "int64"

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        out = np.argsort(inputs[0], axis=self.axis, kind=self.kind)
        output_storage[0][0] = np.asarray(out, dtype="int64")

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        return [None]  # integer positions: piecewise constant

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        return [None]


def _check_order(order: Any, what: str) -> None:
    if order is not None:
        raise ValueError(f"{what}: order is for structured arrays and not supported")


def sort(a: Any, axis: int | None = -1, kind: str = "quicksort",
         order: Any = None) -> Any:
    """``a`` sorted along ``axis`` (None: the flattened array), as ``np.sort``.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x = T.dmatrix("x")
    >>> T.sort(x).eval({x: [[3.0, 1.0, 2.0]]}).tolist()
    [[1.0, 2.0, 3.0]]
    """
    _check_order(order, "sort")
    return SortOp(axis, kind)(a)


def argsort(a: Any, axis: int | None = -1, kind: str = "quicksort",
            order: Any = None) -> Any:
    """Indices (int64) that sort ``a`` along ``axis``, as ``np.argsort``.

    Use ``kind='stable'`` for equal elements to keep their order.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x = T.dvector("x")
    >>> T.argsort(x, kind="stable").eval({x: [2.0, 1.0, 2.0]}).tolist()
    [1, 0, 2]
    """
    _check_order(order, "argsort")
    return ArgSortOp(axis, kind)(a)
