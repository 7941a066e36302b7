"""Joining and splitting tensors: ``join``/``concatenate``, ``stack``, ``split``.

``Join(axis)`` concatenates tensors of equal rank along a fixed axis (inputs
are cast to their common NumPy dtype first); ``Split(n_splits, axis)`` cuts a
tensor into pieces of given sizes (views).  ``stack``, the ``*_stack``
helpers and ``roll`` are built from them; a stack of 0-d values is a
``MakeVector``.

Key decision: the join axis is an op property, not an input, so static
shapes are exact when the graph is built.  ``join`` accepts an axis given as
a constant variable and refuses one only known at run time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.errors import DtypeError, RankError, ShapeMismatchError
from symarray.graph.basic import Apply, Op, Variable
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.elemwise import cast
from symarray.tensor.shape_misc import shape_padaxis, shape_padleft
from symarray.tensor.shape_ops import (
    MakeVector,
    _check_axis,
    _fmt,
    as_int_scalar,
    as_variable,
    dims,
    flatten,
    grad_like,
    is_float,
    reshape,
    shape_vector,
    static_int,
    upcast_dtype,
    vector_entries,
)
from symarray.tensor.type import TensorType, tensor_type

__all__ = [
    "Join", "Split", "join", "concatenate", "stack", "split", "horizontal_stack",
    "vertical_stack", "hstack", "vstack", "roll",
]


class Join(Op):
    """Concatenate tensors of equal rank along ``axis`` (``np.concatenate``)."""

    __props__ = ("axis",)

    def __init__(self, axis: int) -> None:
        self.axis = int(axis)

    def make_node(self, *tensors: Any) -> Apply:
        if not tensors:
            raise TypeError("join: needs at least one tensor")
        ts = [as_tensor_variable(t) for t in tensors]
        ndim = ts[0].ndim
        if any(t.ndim != ndim for t in ts):
            raise RankError(
                f"join: all inputs must have the same number of dimensions, got "
                f"{[t.ndim for t in ts]}; use shape_padleft or dimshuffle to align them"
            )
        if ndim == 0:
            raise RankError("join: cannot join 0-d tensors; use stack")
        axis = _check_axis(self.axis, ndim, "join")
        dtype = upcast_dtype(ts)
        ts = [cast(t, dtype) for t in ts]
        static: list[int | None] = []
        for d in range(ndim):
            lengths = [t.type.shape[d] for t in ts]
            if d == axis:
                static.append(None if None in lengths else sum(lengths))
                continue
            known = sorted({s for s in lengths if s is not None})
            if len(known) > 1:
                raise ShapeMismatchError(
                    f"join: the inputs have lengths {known} in dimension {d}; all "
                    f"dimensions except the join axis {axis} must match (shapes "
                    f"{', '.join(_fmt(t.type.shape) for t in ts)})"
                )
            static.append(known[0] if known else None)
        return Apply(self, ts, [TensorType(dtype, shape=static).make_variable()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        try:
            out = np.concatenate(inputs, axis=self.axis)
        except ValueError:
            shapes = ", ".join(str(np.shape(i)) for i in inputs)
            raise ShapeMismatchError(
                f"join: cannot join arrays of shapes {shapes} along axis "
                f"{self.axis}; all other dimensions must match"
            ) from None
        output_storage[0][0] = out.astype(tensor_type(node.outputs[0]).dtype,
                                          copy=False)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        from symarray.tensor.math import ELEMWISE_OPS as OPS

        static = tensor_type(node.outputs[0]).shape
        axis = self.axis % len(static)
        out: list[Any] = []
        for d, s in enumerate(static):
            if s is not None:
                out.append(s)
            elif d == axis:
                lengths = [shp[d] for shp in input_shapes]
                fixed = sum(n for n in lengths if isinstance(n, int))
                total = OPS["add"](*[n for n in lengths if not isinstance(n, int)])
                out.append(OPS["add"](total, as_variable(fixed)) if fixed else total)
            else:
                out.append(input_shapes[0][d])
        return [tuple(out)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # cut the gradient along the axis into pieces the inputs' lengths
        if not is_float(outputs[0]):
            return [None] * len(inputs)
        axis = self.axis % outputs[0].ndim
        sizes = shape_vector([dims(t)[axis] for t in inputs])
        pieces = Split(len(inputs), axis)(output_grads[0], sizes)
        pieces = pieces if isinstance(pieces, list) else [pieces]
        return [grad_like(p, t) if is_float(t) else None
                for p, t in zip(pieces, inputs, strict=True)]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        from symarray.tensor.alloc import zeros_like

        if not is_float(inputs[0]):
            return [None]
        return [self(*[zeros_like(t) if e is None else cast(e, t.dtype)
                       for t, e in zip(inputs, eval_points, strict=True)])]


def _axis_value(axis: Any) -> int:
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        return int(axis)
    known = static_int(axis) if isinstance(axis, Variable) else None
    if known is None:
        raise TypeError(
            f"join: the axis must be an int known when the graph is built, got "
            f"{axis!r}"
        )
    return known


def join(axis: Any, *tensors: Any) -> Any:
    """Concatenate ``tensors`` along ``axis`` (Theano's argument order).

    A single tensor is returned as it is; dtypes are upcast like NumPy.

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> a, b = T.dmatrix("a"), T.dmatrix("b")
    >>> T.join(1, a, b).eval({a: np.zeros((2, 1)), b: np.ones((2, 2))}).shape
    (2, 3)
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if not tensors:
        raise TypeError("join: needs at least one tensor")
    ts = [as_tensor_variable(t) for t in tensors]
    ax = _axis_value(axis)
    if len(ts) == 1:
        _check_axis(ax, max(ts[0].ndim, 1), "join")
        return ts[0]
    return Join(_check_axis(ax, max(ts[0].ndim, 1), "join"))(*ts)


def concatenate(tensor_list: Sequence[Any], axis: Any = 0) -> Any:
    """Concatenate a list of tensors along ``axis`` (``np.concatenate``)."""
    if not isinstance(tensor_list, (list, tuple)):
        raise TypeError(
            "concatenate: the first argument must be a list or tuple of tensors, "
            f"got {type(tensor_list).__name__}; write concatenate([a, b], axis)"
        )
    return join(axis, *tensor_list)


def stack(*tensors: Any, axis: int = 0) -> Any:
    """Stack tensors of equal shape along a new ``axis`` (``np.stack``).

    ``stack([a, b], axis)`` as in NumPy, or Theano's ``stack(a, b, c)``.
    0-d values (variables or Python numbers) give a vector.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x = T.dscalar("x")
    >>> T.stack([x, 1.0, 2.0]).eval({x: 0.5}).tolist()
    [0.5, 1.0, 2.0]
    """
    if tensors and isinstance(tensors[0], (list, tuple)):
        if len(tensors) > 2:
            raise TypeError("stack: write stack([a, b, ...], axis)")
        if len(tensors) == 2:
            axis = tensors[1]
        tensors = tuple(tensors[0])
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    ts = [as_tensor_variable(t) for t in tensors]
    ndim = ts[0].ndim
    if any(t.ndim != ndim for t in ts):
        raise RankError(
            f"stack: all inputs must have the same number of dimensions, got "
            f"{[t.ndim for t in ts]}"
        )
    ax = _check_axis(_axis_value(axis), ndim + 1, "stack")
    if ndim == 0:
        return MakeVector(upcast_dtype(ts))(*ts)
    return join(ax, *[shape_padaxis(t, ax) for t in ts])


def horizontal_stack(*tensors: Any) -> Any:
    """Stack column-wise (``np.hstack``): along axis 1, or 0 for vectors."""
    ts = _tensors(tensors, "horizontal_stack")
    if all(t.ndim == 1 for t in ts):
        return join(0, *ts)
    return join(1, *[shape_padleft(t, 2 - t.ndim) if t.ndim < 2 else t for t in ts])


def vertical_stack(*tensors: Any) -> Any:
    """Stack row-wise (``np.vstack``): vectors become rows."""
    ts = _tensors(tensors, "vertical_stack")
    return join(0, *[shape_padleft(t, 2 - t.ndim) if t.ndim < 2 else t for t in ts])


hstack = horizontal_stack
vstack = vertical_stack


def _tensors(tensors: Sequence[Any], what: str) -> list[Any]:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    if not tensors:
        raise ValueError(f"{what}: needs at least one tensor")
    return [as_tensor_variable(t) for t in tensors]


class Split(Op):
    """Cut ``x`` along ``axis`` into ``n_splits`` pieces of given sizes (views).

    Inputs: ``(x, sizes)`` with ``sizes`` an integer vector adding up to
    ``x.shape[axis]``.
    """

    __props__ = ("n_splits", "axis")

    def __init__(self, n_splits: int, axis: int = 0) -> None:
        if int(n_splits) < 1:
            raise ValueError(f"split: n_splits must be >= 1, got {n_splits}")
        self.n_splits = int(n_splits)
        self.axis = int(axis)
        self.view_map = {i: [0] for i in range(self.n_splits)}

    def make_node(self, x: Any, sizes: Any) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim == 0:
            raise RankError("split: cannot split a 0-d tensor")
        axis = _check_axis(self.axis, x.ndim, "split")
        sizes = as_tensor_variable(sizes)
        if sizes.ndim != 1 or np.dtype(sizes.dtype).kind not in "iu":
            raise DtypeError(
                f"split: the sizes must be an integer vector, got {sizes} of type "
                f"{sizes.type}"
            )
        if sizes.type.shape[0] not in (None, self.n_splits):
            raise ShapeMismatchError(
                f"split: {sizes.type.shape[0]} sizes given for {self.n_splits} pieces"
            )
        known = _known_sizes(sizes)
        if known is not None:
            if len(known) != self.n_splits or min(known, default=0) < 0:
                raise ShapeMismatchError(
                    f"split: sizes {known} do not describe {self.n_splits} pieces "
                    "(one non-negative size per piece)"
                )
            length = x.type.shape[axis]
            if length is not None and sum(known) != length:
                raise ShapeMismatchError(
                    f"split: sizes {known} add up to {sum(known)}, but dimension "
                    f"{axis} of {x} has length {length}"
                )
        outs = []
        for k in range(self.n_splits):
            static = list(x.type.shape)
            static[axis] = None if known is None else known[k]
            outs.append(TensorType(x.dtype, shape=static).make_variable())
        return Apply(self, [x, sizes], outs)

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x, sizes = inputs
        sizes = np.asarray(sizes).reshape(-1)
        axis = self.axis % np.ndim(x)
        if sizes.size != self.n_splits or np.any(sizes < 0):
            raise ShapeMismatchError(
                f"split: sizes {sizes.tolist()} do not describe {self.n_splits} pieces "
                "(one non-negative size per piece)"
            )
        if int(sizes.sum()) != np.shape(x)[axis]:
            raise ShapeMismatchError(
                f"split: sizes {sizes.tolist()} add up to {int(sizes.sum())}, but "
                f"dimension {axis} of the input (shape {np.shape(x)}) has length "
                f"{np.shape(x)[axis]}"
            )
        pieces = np.split(x, np.cumsum(sizes)[:-1], axis=axis)
        for cell, piece in zip(output_storage, pieces, strict=True):
            cell[0] = piece

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        x_shape = input_shapes[0]
        axis = self.axis % len(x_shape)
        if all(tensor_type(o).shape[axis] is not None for o in node.outputs):
            sizes: list[Any] = [tensor_type(o).shape[axis] for o in node.outputs]
        else:
            sizes = vector_entries(node.inputs[1], self.n_splits, "split")
        out = []
        for size in sizes:
            shp = list(x_shape)
            shp[axis] = size
            out.append(tuple(shp))
        return out

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # join the pieces' gradients (zeros for pieces without one)
        from symarray.tensor.alloc import zeros_like

        x = inputs[0]
        if not is_float(x):
            return [None, None]
        gs = [zeros_like(o) if g is None else cast(g, x.dtype)
              for g, o in zip(output_grads, outputs, strict=True)]
        g = Join(self.axis)(*gs) if len(gs) > 1 else gs[0]
        return [grad_like(g, x), None]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        x, sizes = inputs
        if eval_points[0] is None or not is_float(x):
            return [None] * self.n_splits
        out = self(cast(eval_points[0], x.dtype), sizes)
        return out if isinstance(out, list) else [out]


def _known_sizes(sizes: Any) -> list[int] | None:
    try:
        entries = vector_entries(sizes)
    except ShapeMismatchError:
        return None
    if all(isinstance(e, int) for e in entries):
        return entries
    return None


def split(x: Any, splits_size: Any, n_splits: int, axis: int = 0) -> list[Any]:
    """Cut ``x`` along ``axis`` into ``n_splits`` pieces of ``splits_size``.

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> x = T.dvector("x")
    >>> a, b = T.split(x, [1, 2], 2)
    >>> b.eval({x: np.arange(3.0)}).tolist()
    [1.0, 2.0]
    """
    x = as_tensor_variable(x)
    if not isinstance(splits_size, Variable):
        if isinstance(splits_size, (list, tuple)) and any(
            isinstance(e, Variable) for e in splits_size
        ):
            splits_size = shape_vector(list(splits_size))
        else:
            data = np.asarray(splits_size, dtype="int64").reshape(-1)
            splits_size = shape_vector([int(e) for e in data])
    axis = _check_axis(axis, max(x.ndim, 1), "split")
    out = Split(n_splits, axis)(x, splits_size)
    return out if isinstance(out, list) else [out]


def roll(x: Any, shift: Any, axis: Any = None) -> Any:
    """Shift elements along ``axis`` cyclically (``np.roll``).

    ``shift`` is an int or a 0-d integer variable (or a tuple, with a tuple
    of axes); without ``axis`` the tensor is rolled as if flattened.
    """
    x = as_tensor_variable(x)
    if axis is None:
        if isinstance(shift, (list, tuple)):
            raise ValueError("roll: a tuple of shifts needs a tuple of axes")
        if x.ndim == 1:
            return _roll_axis(x, shift, 0)
        return reshape(_roll_axis(flatten(x, 1), shift, 0), dims(x))
    shifts = list(shift) if isinstance(shift, (list, tuple)) else None
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if shifts is None:
        shifts = [shift] * len(axes)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: {len(shifts)} shifts for {len(axes)} axes")
    for s, a in zip(shifts, axes, strict=True):
        x = _roll_axis(x, s, _check_axis(a, x.ndim, "roll"))
    return x


def _roll_axis(x: Any, shift: Any, axis: int) -> Any:
    from symarray.tensor.math import ELEMWISE_OPS as OPS

    n = dims(x)[axis]
    s = static_int(shift) if not isinstance(shift, int) else shift
    if s is not None and isinstance(n, int):
        s = s % n if n else 0
        if s == 0:
            return x
        head, tail = split(x, [n - s, s], 2, axis)
        return join(axis, tail, head)
    sv = OPS["mod"](as_int_scalar(shift, "roll"), as_variable(n))
    head, tail = split(x, shape_vector([OPS["sub"](as_variable(n), sv), sv]), 2, axis)
    return join(axis, tail, head)
