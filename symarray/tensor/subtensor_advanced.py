"""Advanced indexing: integer arrays and boolean masks, and ``take``.

``x[ivec]`` (one integer vector on axis 0, the common case: embeddings,
minibatch selection) is an :class:`AdvancedSubtensor1`; every other key
holding an array or a mask (``x[idx, 2:]``, ``x[:, idx]``, ``x[mask]``,
``x[i_vec, j_vec]``) is an :class:`AdvancedSubtensor`, which follows NumPy's
rules through the ``idx_list`` layout of :mod:`symarray.tensor.subtensor`.
Both return copies.  The length a boolean mask selects is its number of
True values, counted at run time by :class:`CountNonzero` in
``infer_shape``; :class:`SliceLength` gives the length of a slice with
symbolic parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.errors import AxisError, IndexDtypeError, IndexingError
from symarray.graph.basic import Apply, Op, Variable
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.subtensor import (
    Idx,
    _array_constant,
    build_key,
    check_static_index,
    fill_static,
    getitem,
    idx_list_str,
    index_layout,
    index_node,
    index_or_raise,
    index_out_shape,
    static_shape_of,
)
from symarray.tensor.type import TensorType

__all__ = ["AdvancedSubtensor1", "AdvancedSubtensor", "take", "advanced_subtensor1",
           "advanced_subtensor"]


class _IntScalarOp(Op):
    """Base of the ops that compute an int64 scalar from integer facts of
    their inputs (a count, a length): no gradient, no tangent."""

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [()]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        return [None] * len(inputs)  # an integer count: no gradient

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        return [None]


class CountNonzero(_IntScalarOp):
    """The number of nonzero (True) elements of a tensor, as an int64 scalar."""

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        return Apply(self, [x], [TensorType("int64", shape=())()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        output_storage[0][0] = np.asarray(np.count_nonzero(inputs[0]), dtype=np.int64)


count_nonzero_scalar = CountNonzero()


class SliceLength(_IntScalarOp):
    """``len(range(*slice(start, stop, step).indices(n)))`` as an int64 scalar.

    Inputs are ``n`` then the slice parts that are present (``has_start``,
    ``has_stop``, ``has_step``); used by ``infer_shape`` of indexing ops.
    """

    __props__ = ("has_start", "has_stop", "has_step")

    def __init__(self, has_start: bool, has_stop: bool, has_step: bool) -> None:
        self.has_start = bool(has_start)
        self.has_stop = bool(has_stop)
        self.has_step = bool(has_step)

    def make_node(self, n: Any, *parts: Any) -> Apply:
        expected = 1 + self.has_start + self.has_stop + self.has_step
        inputs = [as_tensor_variable(v) for v in (n, *parts)]
        if len(inputs) != expected:
            raise TypeError(f"{self}: expected {expected} inputs, got {len(inputs)}")
        for v in inputs:
            if v.type.ndim != 0 or v.type.numpy_dtype.kind not in "iu":
                raise TypeError(f"{self}: inputs must be 0-d integers, got {v.type}")
        return Apply(self, inputs, [TensorType("int64", shape=())()])

    def _slice(self, values: Sequence[Any]) -> slice:
        it = iter(int(v) for v in values)
        flags = (self.has_start, self.has_stop, self.has_step)
        return slice(*(next(it) if f else None for f in flags))

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        n = int(inputs[0])
        length = len(range(*self._slice(inputs[1:]).indices(n)))
        output_storage[0][0] = np.asarray(length, dtype=np.int64)

    def scalar_constant_value(self, var: Variable, get: Any) -> Any:
        values = [get(v) for v in var.owner.inputs]  # type: ignore[union-attr]
        length = len(range(*self._slice(values[1:]).indices(int(values[0]))))
        return np.asarray(length, dtype=np.int64)


def _as_index_vector(ilist: Any, what: str) -> Any:
    v: Any
    if isinstance(ilist, Variable):
        v = as_tensor_variable(ilist)
    else:
        v = _array_constant(ilist)
    if v.type.ndim != 1 or v.type.numpy_dtype.kind not in "iu":
        raise IndexDtypeError(
            f"{what}: the index must be an integer vector, got {v} of type {v.type}"
        )
    return v


class AdvancedSubtensor1(Op):
    """``x[ilist]`` for an integer vector ``ilist`` on axis 0; a copy.

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> x, i = T.dmatrix("x"), T.lvector("i")
    >>> x[i].eval({x: np.eye(3), i: np.array([2, 0])})
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """

    def make_node(self, x: Any, ilist: Any) -> Apply:
        x = as_tensor_variable(x)
        ilist = _as_index_vector(ilist, str(self))
        if x.type.ndim == 0:
            raise IndexingError(f"{self}: cannot index a 0-d tensor ({x.type})")
        layout = index_layout((Idx.ARRAY,), x.type.ndim, [ilist.type])
        check_static_index(layout, x.type.shape, [ilist], str(self))
        shape = (static_shape_of(ilist)[0],) + x.type.shape[1:]
        return Apply(self, [x, ilist], [TensorType(x.dtype, shape=shape)()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x, ilist = inputs
        output_storage[0][0] = index_or_raise(self, x, (ilist,))

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        x_shape, i_shape = input_shapes
        out = static_shape_of(node.outputs[0])
        dims = [i_shape[0], *x_shape[1:]]
        return [fill_static(out, dims)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # repeated indices accumulate (AdvancedIncSubtensor1 is np.add.at)
        from symarray.tensor.subtensor_inc import AdvancedIncSubtensor1, index_grad

        return index_grad(AdvancedIncSubtensor1(), inputs, output_grads)

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        from symarray.tensor.subtensor_inc import index_rop

        return index_rop(self, inputs, eval_points)


advanced_subtensor1 = AdvancedSubtensor1()


class AdvancedSubtensor(Op):
    """NumPy advanced indexing ``x[key]`` with arrays, masks, ints and slices.

    ``idx_list`` is as for :class:`~symarray.tensor.subtensor.Subtensor`
    plus :data:`~symarray.tensor.subtensor.Idx.ARRAY` entries, each an
    integer or boolean tensor input.  The result is a copy.

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> x = T.dmatrix("x")
    >>> x[x > 2].eval({x: np.arange(6.0).reshape(2, 3)})
    array([3., 4., 5.])
    >>> x[:, [2, 0]].eval({x: np.arange(6.0).reshape(2, 3)})
    array([[2., 0.],
           [5., 3.]])
    """

    __props__ = ("idx_list",)

    def __init__(self, idx_list: Sequence[Any]) -> None:
        self.idx_list = tuple(idx_list)

    def __str__(self) -> str:
        return f"AdvancedSubtensor{{{idx_list_str(self.idx_list)}}}"

    def make_node(self, x: Any, *index_inputs: Any) -> Apply:
        return index_node(self, x, index_inputs, allow_arrays=True)

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x = inputs[0]
        key = build_key(self.idx_list, inputs[1:])
        out = index_or_raise(self, x, key)
        if Idx.ARRAY not in self.idx_list:  # only through direct construction
            out = np.array(out)
        output_storage[0][0] = out

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        inferred = index_out_shape(self.idx_list, node, input_shapes)
        out = static_shape_of(node.outputs[0])
        return [fill_static(out, inferred)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # repeated indices accumulate (AdvancedIncSubtensor is np.add.at)
        from symarray.tensor.subtensor_inc import AdvancedIncSubtensor, index_grad

        return index_grad(AdvancedIncSubtensor(self.idx_list), inputs, output_grads)

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        from symarray.tensor.subtensor_inc import index_rop

        return index_rop(self, inputs, eval_points)


def advanced_subtensor(x: Any, *key: Any) -> Any:
    """``x[key]`` through :class:`AdvancedSubtensor` (Theano's helper)."""
    return getitem(x, tuple(key))


def take(a: Any, indices: Any, axis: int | None = None, mode: str = "raise") -> Any:
    """Elements of ``a`` at ``indices`` along ``axis``, like ``np.take``.

    Parameters
    ----------
    a
        The tensor to take from.
    indices
        Integer indices: a Python int or list, an array or a symbolic integer
        tensor of any rank; the result has ``indices``' shape in place of
        ``axis``.
    axis
        The axis to take along; None takes from the flattened ``a``.
    mode
        ``"raise"`` (out-of-range indices are an error; negative ones count
        from the end), ``"wrap"`` (indices wrap around) or ``"clip"``
        (indices are clipped to the valid range).

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> a = T.dmatrix("a")
    >>> T.take(a, [[0, 1]], axis=1).eval({a: np.arange(4.0).reshape(2, 2)})
    array([[[0., 1.]],
    <BLANKLINE>
           [[2., 3.]]])
    >>> T.take(a, 3).eval({a: np.arange(4.0).reshape(2, 2)})
    array(3.)
    """
    a = as_tensor_variable(a)
    if mode not in ("raise", "wrap", "clip"):
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    if axis is None:
        import symarray.tensor as T  # noqa: N812

        a = T.flatten(a, 1) if a.type.ndim != 1 else a
        axis = 0
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"take: axis must be an int or None, got {axis!r}")
    if not -a.type.ndim <= axis < a.type.ndim:
        raise AxisError(
            f"take: axis {axis} is out of bounds for a {a.type.ndim}-d tensor "
            f"({a.type})"
        )
    axis = int(axis) % a.type.ndim
    idx = _take_indices(indices)
    if mode != "raise":
        from symarray.tensor.elemwise import cast
        from symarray.tensor.math import ELEMWISE_OPS, clip

        n = cast(a.shape[axis], idx.dtype)
        if mode == "wrap":
            idx = ELEMWISE_OPS["mod"](idx, n)
        else:
            idx = clip(idx, 0, n - 1)
    return getitem(a, (slice(None),) * axis + (idx,))


def _take_indices(indices: Any) -> Any:
    idx: Any
    if isinstance(indices, Variable):
        idx = as_tensor_variable(indices)
    elif isinstance(indices, (int, np.integer)) and not isinstance(indices, bool):
        idx = as_tensor_variable(np.int64(indices))
    else:
        idx = _array_constant(indices)
    kind = idx.type.numpy_dtype.kind
    if kind == "b":
        from symarray.tensor.elemwise import cast

        idx = cast(idx, "int64")
    elif kind not in "iu":
        raise IndexDtypeError(
            f"take: indices must be integers, got {idx} of type {idx.type}; cast "
            "them with T.cast(indices, 'int64')"
        )
    return idx
