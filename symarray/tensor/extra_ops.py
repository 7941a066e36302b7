"""Array ops after NumPy's: cumsum/cumprod, diff, diagonals, searchsorted, nonzero.

Each function has NumPy's signature and meaning, and one Op class:
:class:`CumOp` (``cumsum``/``cumprod``), :class:`Diff`, :class:`ExtractDiag`
(``diagonal``, and ``diag`` of a matrix), :class:`AllocDiag` (``diag`` of a
vector), :class:`SearchsortedOp` and :class:`NonzeroOp`.

Key decisions:

* ``cumsum``/``cumprod`` follow NumPy's dtypes, which are also Theano's sum
  dtypes: bool and small signed integers accumulate in int64, small
  unsigned ones in uint64; floats keep their dtype.  ``axis=None`` works on
  the flattened array.
* ``diagonal`` returns a copy (NumPy's is a read-only view).
* Gradients: cumsum's is a reversed cumsum; cumprod's is exact with zeros
  in the input (second-order gradients too, with at most one zero per
  lane); diff's is its adjoint ``-diff(pad(g))``, applied ``n`` times;
  ``diagonal``'s writes the gradient onto zeros with ``inc_subtensor`` and
  ``diag(v)``'s reads a diagonal.  The integer outputs of searchsorted and
  nonzero have none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.errors import AxisError, RankError
from symarray.graph.basic import Apply, Op
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.math import ELEMWISE_OPS
from symarray.tensor.reduction import SUM_DTYPE, normalize_axis
from symarray.tensor.type import TensorType, tensor_type

__all__ = [
    "CumOp", "Diff", "ExtractDiag", "AllocDiag", "SearchsortedOp", "NonzeroOp",
    "cumsum", "cumprod", "diff", "diagonal", "diag", "searchsorted", "nonzero",
    "flatnonzero",
]


def _shape_product(shape: Sequence[Any]) -> Any:
    """Product of shape entries (ints stay ints; any symbolic entry: symbolic)."""
    static = 1
    out: Any = None
    for s in shape:
        if isinstance(s, (int, np.integer)):
            static *= int(s)
        else:
            mul = ELEMWISE_OPS["mul"]

            out = s if out is None else mul(out, s)
    if out is None:
        return static
    if static != 1:
        mul = ELEMWISE_OPS["mul"]

        out = mul(out, static)
    return out


def _minimum(a: Any, b: Any) -> Any:
    if isinstance(a, (int, np.integer)) and isinstance(b, (int, np.integer)):
        return min(int(a), int(b))
    minimum = ELEMWISE_OPS["minimum"]

    return minimum(a, b)


def _maximum(a: Any, b: Any) -> Any:
    if isinstance(a, (int, np.integer)) and isinstance(b, (int, np.integer)):
        return max(int(a), int(b))
    maximum = ELEMWISE_OPS["maximum"]

    return maximum(a, b)


def axis_out_shape(axis: int | None, shape: Sequence[Any]) -> tuple[Any, ...]:
    """The output shape of an op along ``axis`` whose result is shaped like
    its input ``shape`` (``axis=None``: like the flattened input)."""
    if axis is None:
        return (_shape_product(shape),)
    return tuple(shape)


def axis_lanes(axis: int | None, x: Any) -> tuple[Any, int]:
    """``x`` as the array an op along ``axis`` works on, and the axis it works
    along (``axis=None``: the flattened ``x`` along axis 0)."""
    from symarray.tensor.shape_ops import flatten

    if axis is None:
        return (x if x.ndim == 1 else flatten(x, 1)), 0
    return x, axis


def lanes_as_input(axis: int | None, g: Any, x: Any) -> Any:
    """``g``, shaped like ``axis_lanes(axis, x)``'s array, in ``x``'s shape."""
    if axis is None and x.ndim != 1:
        from symarray.tensor.shape_ops import reshape, shape

        return reshape(g, shape(x), ndim=x.ndim)
    return g


def _is_float(x: Any) -> bool:
    return np.dtype(x.dtype).kind in "fc"


def _reverse(x: Any, axis: int) -> Any:
    """``x`` reversed along ``axis``."""
    return x[(slice(None),) * axis + (slice(None, None, -1),)]


def _zero(dtype: str) -> Any:
    from symarray.tensor.basic import constant

    return constant(np.asarray(0, dtype=dtype))


def _one(dtype: str) -> Any:
    from symarray.tensor.basic import constant

    return constant(np.asarray(1, dtype=dtype))


def _add(a: Any, b: int) -> Any:
    if isinstance(a, (int, np.integer)):
        return int(a) + b
    if b == 0:
        return a
    add = ELEMWISE_OPS["add"]

    return add(a, b)


class CumOp(Op):
    """Cumulative sum (``mode='add'``) or product (``mode='mul'``) along ``axis``.

    ``axis`` None works on the flattened array (the output is 1-d).
    """

    __props__ = ("axis", "mode")

    def __init__(self, axis: int | None = None, mode: str = "add") -> None:
        if mode not in ("add", "mul"):
            raise ValueError(f"CumOp: mode must be 'add' or 'mul', got {mode!r}")
        self.axis = None if axis is None else int(axis)
        self.mode = mode

    def __str__(self) -> str:
        name = "Cumsum" if self.mode == "add" else "Cumprod"
        return f"{name}{{axis={self.axis}}}"

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        what = "cumsum" if self.mode == "add" else "cumprod"
        if self.axis is None:
            static = x.type.shape
            length = None if None in static else int(np.prod(static, dtype="int64"))
            shape: tuple[int | None, ...] = (length,)
        else:
            (axis,) = normalize_axis(self.axis, x.ndim, what)
            if axis != self.axis:
                return CumOp(axis, self.mode).make_node(x)
            shape = x.type.shape
        dtype = SUM_DTYPE.get(x.dtype, x.dtype)
        return Apply(self, [x], [TensorType(dtype, shape=shape).make_variable()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        fn = np.cumsum if self.mode == "add" else np.cumprod
        dtype = tensor_type(node.outputs[0]).dtype
        output_storage[0][0] = np.asarray(fn(inputs[0], axis=self.axis, dtype=dtype))

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [axis_out_shape(self.axis, input_shapes[0])]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        (x,), (y,), (gz,) = inputs, outputs, output_grads
        if not _is_float(x) or not _is_float(y):
            return [None]
        xs, axis = axis_lanes(self.axis, x)
        if self.mode == "add":
            g = _rev_cumsum(gz, axis)
        else:
            g = _cumprod_grad(xs, y, gz, axis)
        return [lanes_as_input(self.axis, g, x)]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        (x,), (ev,) = inputs, eval_points
        if ev is None or not _is_float(x):
            return [None]
        if self.mode == "add":
            return [self(ev)]  # linear
        xs, axis = axis_lanes(self.axis, x)
        evs, _ = axis_lanes(self.axis, ev)
        return [_cumprod_tangent(xs, CumOp(axis, "mul")(xs), evs, axis)]


def _rev_cumsum(g: Any, axis: int) -> Any:
    """``out[i] = sum(g[i:])`` along ``axis``: the adjoint of cumsum."""
    return _reverse(CumOp(axis, "add")(_reverse(g, axis)), axis)


class _ZeroSplit:
    """The lanes of ``x`` along ``axis`` split at their first two zeros.

    ``before``: ahead of the first zero; ``first``: at it; ``between``: past
    it, before the second.  ``x_safe`` is ``x`` there and 1 elsewhere (safe
    to divide by); ``y_skip`` the cumulative product with the first zero
    taken as 1; ``x_z`` the first zero's value per lane (0, but written so
    that second-order gradients keep their dependence on it).
    """

    def __init__(self, x: Any, axis: int) -> None:
        from symarray.tensor.reduction import sum as sum_

        ops = ELEMWISE_OPS
        eq, switch = ops["eq"], ops["switch"]
        is_zero = eq(x, 0)
        zeros_so_far = CumOp(axis, "add")(is_zero)
        self.before = eq(zeros_so_far, 0)
        self.first = ops["and_"](is_zero, eq(zeros_so_far, 1))
        self.between = ops["and_"](ops["invert"](is_zero), eq(zeros_so_far, 1))
        one, zero = _one(x.dtype), _zero(x.dtype)
        self.x_safe = switch(ops["or_"](self.before, self.between), x, one)
        self.y_skip = CumOp(axis, "mul")(switch(self.first, one, x))
        self.x_z = sum_(switch(self.first, x, zero), axis=axis, keepdims=True)


def _cumprod_grad(x: Any, y: Any, gz: Any, axis: int) -> Any:
    """Gradient of ``y = cumprod(x, axis)``, exact with zeros in ``x``.

    ``dy_i/dx_k = prod(x_j, j <= i, j != k)`` for ``k <= i``.  Ahead of a
    lane's first zero that is ``y_i / x_k``, so the gradient is
    ``rev_cumsum(gz * y)_k / x_k``; at the first zero it is
    ``B_k = rev_cumsum(gz * y_skip)_k``; past it every term holds that zero
    ``x_z``: the gradient is ``x_z * B_k / x_k`` (0) up to the second zero
    and 0 from there.  Second-order gradients are exact with up to one zero
    per lane.
    """
    ops = ELEMWISE_OPS
    mul, switch, true_div = ops["mul"], ops["switch"], ops["true_div"]
    z = _ZeroSplit(x, axis)
    ahead = true_div(_rev_cumsum(mul(gz, y), axis), z.x_safe)
    at_zero = _rev_cumsum(mul(gz, z.y_skip), axis)
    past = mul(z.x_z, true_div(at_zero, z.x_safe))
    return switch(z.before, ahead, switch(
        z.first, at_zero, switch(z.between, past, _zero(x.dtype))))


def _cumprod_tangent(x: Any, y: Any, ev: Any, axis: int) -> Any:
    """Tangent of ``y = cumprod(x, axis)`` along ``ev``, exact with zeros.

    With ``c = cumsum(ev / x)`` over the entries other than the first zero:
    ahead of the first zero ``dy_i = y_i * c_i``; from it on only the terms
    holding no zero but ``x_z``'s survive: ``dy_i = y_skip_i * (ev_z + x_z *
    c_i)`` (``x_z`` is 0; it is there for second-order derivatives).
    """
    from symarray.tensor.reduction import sum as sum_

    ops = ELEMWISE_OPS
    mul, switch = ops["mul"], ops["switch"]
    z = _ZeroSplit(x, axis)
    zero = _zero(x.dtype)
    c = CumOp(axis, "add")(switch(z.first, zero, ops["true_div"](ev, z.x_safe)))
    ev_z = sum_(switch(z.first, ev, zero), axis=axis, keepdims=True)
    past = mul(z.y_skip, ops["add"](ev_z, mul(z.x_z, c)))
    return switch(z.before, mul(y, c), past)


def cumsum(x: Any, axis: int | None = None) -> Any:
    """Cumulative sum along ``axis`` (None: of the flattened array).

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x = T.ivector("x")
    >>> T.cumsum(x).eval({x: [1, 2, 3]}).tolist()
    [1, 3, 6]
    """
    return CumOp(axis, "add")(x)


def cumprod(x: Any, axis: int | None = None) -> Any:
    """Cumulative product along ``axis`` (None: of the flattened array).

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x = T.dvector("x")
    >>> T.cumprod(x).eval({x: [1.0, 2.0, 3.0]}).tolist()
    [1.0, 2.0, 6.0]
    """
    return CumOp(axis, "mul")(x)


class Diff(Op):
    """``np.diff(x, n, axis)``: the ``n``-th discrete difference along ``axis``."""

    __props__ = ("n", "axis")

    def __init__(self, n: int = 1, axis: int = -1) -> None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"diff: n must be a non-negative int, got {n!r}")
        self.n = int(n)
        self.axis = int(axis)

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim == 0:
            raise RankError(f"diff: the input must have at least 1 dimension, got {x}")
        (axis,) = normalize_axis(self.axis, x.ndim, "diff")
        if axis != self.axis:
            return Diff(self.n, axis).make_node(x)
        shape = list(x.type.shape)
        if shape[axis] is not None:
            shape[axis] = max(shape[axis] - self.n, 0)
        return Apply(self, [x], [TensorType(x.dtype, shape=shape).make_variable()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x = inputs[0]
        out = np.diff(x, n=self.n, axis=self.axis) if self.n else x.copy()
        output_storage[0][0] = np.asarray(out, dtype=tensor_type(node.outputs[0]).dtype)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        shape = list(input_shapes[0])
        shape[self.axis] = _maximum(_add(shape[self.axis], -self.n), 0)
        return [tuple(shape)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # diff is linear; its adjoint maps g to -diff([0, g, 0]), n times
        from symarray.tensor.alloc import alloc, zeros_like
        from symarray.tensor.join import concatenate
        from symarray.tensor.shape_ops import shape_i

        (x,), (gz,) = inputs, output_grads
        if not _is_float(x):
            return [None]
        length = x.type.shape[self.axis]
        if length is not None and length < self.n:
            return [zeros_like(x)]  # every output difference is empty
        g = gz
        for _ in range(self.n):
            dims = [1 if d == self.axis else shape_i(g, d) for d in range(g.ndim)]
            pad = alloc(_zero(g.dtype), *dims)
            padded = concatenate([pad, g, pad], axis=self.axis)
            g = ELEMWISE_OPS["neg"](Diff(1, self.axis)(padded))
        if length is None and self.n:
            # an input shorter than n gives n zeros here; keep its length
            g = g[(slice(None),) * self.axis + (slice(None, shape_i(x, self.axis)),)]
        return [g]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        ev = eval_points[0]
        return [None if ev is None or not _is_float(inputs[0]) else self(ev)]


def diff(x: Any, n: int = 1, axis: int = -1) -> Any:
    """The ``n``-th difference along ``axis``, as ``np.diff``.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x = T.dvector("x")
    >>> T.diff(x).eval({x: [1.0, 4.0, 9.0]}).tolist()
    [3.0, 5.0]
    """
    return Diff(n, axis)(x)


def _diag_len(n1: Any, n2: Any, offset: int) -> Any:
    if offset >= 0:
        return _maximum(_minimum(n1, _add(n2, -offset)), 0)
    return _maximum(_minimum(_add(n1, offset), n2), 0)


class ExtractDiag(Op):
    """``np.diagonal(x, offset, axis1, axis2)`` as a new array.

    The diagonal becomes the last axis; the other axes keep their order.
    """

    __props__ = ("offset", "axis1", "axis2")

    def __init__(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> None:
        self.offset = int(offset)
        self.axis1 = int(axis1)
        self.axis2 = int(axis2)

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim < 2:
            raise RankError(
                f"diagonal: the input must have at least 2 dimensions, got {x.type}; "
                "use T.diag to build a matrix from a vector"
            )
        (a1,) = normalize_axis(self.axis1, x.ndim, "diagonal")
        (a2,) = normalize_axis(self.axis2, x.ndim, "diagonal")
        if a1 == a2:
            raise AxisError(
                f"diagonal: axis1 and axis2 must differ, both are {a1} for {x.type}"
            )
        if (a1, a2) != (self.axis1, self.axis2):
            return ExtractDiag(self.offset, a1, a2).make_node(x)
        st = x.type.shape
        n1, n2 = st[a1], st[a2]
        length = None if n1 is None or n2 is None else _diag_len(n1, n2, self.offset)
        shape = tuple(s for i, s in enumerate(st) if i not in (a1, a2)) + (length,)
        return Apply(self, [x], [TensorType(x.dtype, shape=shape).make_variable()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        out = np.diagonal(inputs[0], self.offset, self.axis1, self.axis2)
        output_storage[0][0] = out.copy()

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        shp = input_shapes[0]
        rest = tuple(s for i, s in enumerate(shp) if i not in (self.axis1, self.axis2))
        return [rest + (_diag_len(shp[self.axis1], shp[self.axis2], self.offset),)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # scatter gz onto the diagonal of zeros shaped like x: build the zeros
        # with the two diagonal axes last (so the diagonal is the last axis of
        # zeros[..., rows, cols], as in gz), then move the axes back
        from symarray.tensor.alloc import alloc, arange
        from symarray.tensor.elemwise import dimshuffle
        from symarray.tensor.shape_ops import shape_i
        from symarray.tensor.subtensor_inc import inc_subtensor

        (x,), (gz,) = inputs, output_grads
        if not _is_float(x):
            return [None]
        a1, a2 = self.axis1, self.axis2
        rest = [d for d in range(x.ndim) if d not in (a1, a2)]
        zeros = alloc(_zero(x.dtype), *[shape_i(x, d) for d in rest + [a1, a2]])
        k = arange(shape_i(gz, gz.ndim - 1))
        rows, cols = _add(k, max(-self.offset, 0)), _add(k, max(self.offset, 0))
        key = (slice(None),) * len(rest) + (rows, cols)
        g = inc_subtensor(zeros[key], gz)
        pos = {d: i for i, d in enumerate(rest)}
        pos.update({a1: len(rest), a2: len(rest) + 1})
        return [dimshuffle(g, [pos[d] for d in range(x.ndim)])]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        ev = eval_points[0]
        return [None if ev is None or not _is_float(inputs[0]) else self(ev)]


def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The diagonal of ``x`` over ``axis1`` and ``axis2``, as ``np.diagonal``.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x = T.dmatrix("x")
    >>> T.diagonal(x).eval({x: [[1.0, 2.0], [3.0, 4.0]]}).tolist()
    [1.0, 4.0]
    """
    return ExtractDiag(offset, axis1, axis2)(x)


class AllocDiag(Op):
    """A square matrix with a vector on its ``offset``-th diagonal, zeros elsewhere."""

    __props__ = ("offset",)

    def __init__(self, offset: int = 0) -> None:
        self.offset = int(offset)

    def make_node(self, v: Any) -> Apply:
        v = as_tensor_variable(v)
        if v.ndim != 1:
            raise RankError(f"AllocDiag: the input must be a vector, got {v.type}")
        n = v.type.shape[0]
        side = None if n is None else n + abs(self.offset)
        out = TensorType(v.dtype, shape=(side, side)).make_variable()
        return Apply(self, [v], [out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        output_storage[0][0] = np.diag(inputs[0], self.offset)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        side = _add(input_shapes[0][0], abs(self.offset))
        return [(side, side)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # the adjoint of writing v onto a diagonal is reading that diagonal
        (v,), (gz,) = inputs, output_grads
        return [ExtractDiag(self.offset, 0, 1)(gz) if _is_float(v) else None]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        ev = eval_points[0]
        return [None if ev is None or not _is_float(inputs[0]) else self(ev)]


def diag(v: Any, k: int = 0) -> Any:
    """A matrix with ``v`` on its ``k``-th diagonal, or a matrix's diagonal.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> v = T.dvector("v")
    >>> T.diag(v).eval({v: [1.0, 2.0]}).tolist()
    [[1.0, 0.0], [0.0, 2.0]]
    """
    v = as_tensor_variable(v)
    if v.ndim == 1:
        return AllocDiag(k)(v)
    if v.ndim == 2:
        return ExtractDiag(k, 0, 1)(v)
    raise RankError(
        f"diag: the input must be a vector or a matrix, got {v.type}; use "
        "T.diagonal for higher ranks"
    )


class SearchsortedOp(Op):
    """``np.searchsorted(x, v, side)``: insertion indices (int64) of ``v`` in ``x``.

    With a third input ``sorter``, ``x[sorter]`` is the sorted sequence.
    """

    __props__ = ("side",)

    def __init__(self, side: str = "left") -> None:
        if side not in ("left", "right"):
            raise ValueError(
                f"searchsorted: side must be 'left' or 'right', got {side!r}"
            )
        self.side: Any = side

    def make_node(self, x: Any, v: Any, sorter: Any = None) -> Apply:
        x, v = as_tensor_variable(x), as_tensor_variable(v)
        if x.ndim != 1:
            raise RankError(f"searchsorted: x must be a vector, got {x.type}")
        inputs = [x, v]
        if sorter is not None:
            sorter = as_tensor_variable(sorter)
            if sorter.ndim != 1 or np.dtype(sorter.dtype).kind not in "iu":
                raise TypeError(
                    f"searchsorted: sorter must be an integer vector, got {sorter.type}"
                )
            inputs.append(sorter)
        out = TensorType("int64", shape=v.type.shape).make_variable()
        return Apply(self, inputs, [out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        sorter = inputs[2] if len(inputs) > 2 else None
        out = np.searchsorted(inputs[0], inputs[1], side=self.side, sorter=sorter)
        output_storage[0][0] = np.asarray(out, dtype="int64")

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [tuple(input_shapes[1])]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        return [None] * len(inputs)  # integer positions: piecewise constant

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        return [None]


def searchsorted(x: Any, v: Any, side: str = "left", sorter: Any = None) -> Any:
    """Where to insert ``v`` into the sorted vector ``x``, as ``np.searchsorted``.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x, v = T.dvector("x"), T.dvector("v")
    >>> T.searchsorted(x, v).eval({x: [1.0, 2.0, 3.0], v: [2.5, 0.0]}).tolist()
    [2, 0]
    """
    return SearchsortedOp(side)(x, v, sorter)


class NonzeroOp(Op):
    """Indices (int64) of the nonzero elements: one vector per dimension."""

    __props__ = ()

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim == 0:
            raise RankError(
                f"nonzero: the input must have at least 1 dimension, got {x}; use "
                "T.neq(x, 0) for a 0-d test"
            )
        index = TensorType("int64", shape=(None,))
        return Apply(self, [x], [index.make_variable() for _ in range(x.ndim)])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        for cell, idx in zip(output_storage, np.nonzero(inputs[0]), strict=True):
            cell[0] = np.asarray(idx, dtype="int64")

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        from symarray.tensor.reduction import sum as sum_

        count = sum_(ELEMWISE_OPS["neq"](node.inputs[0], 0), dtype="int64")
        return [(count,)] * tensor_type(node.inputs[0]).ndim

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        return [None]  # integer indices: piecewise constant

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        return [None] * inputs[0].ndim


def nonzero(a: Any, return_matrix: bool = False) -> Any:
    """Indices of the nonzero elements of ``a``, as ``np.nonzero``.

    Returns a tuple of int64 vectors, one per dimension, or with
    ``return_matrix=True`` a ``(a.ndim, count)`` matrix (Theano's option).

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x = T.dmatrix("x")
    >>> rows, cols = T.nonzero(x)
    >>> rows.eval({x: [[0.0, 1.0], [2.0, 0.0]]}).tolist()
    [0, 1]
    """
    outs = NonzeroOp()(a)
    outs = [outs] if not isinstance(outs, list) else outs
    if return_matrix:
        from symarray.tensor.join import stack

        return stack(outs)
    return tuple(outs)


def flatnonzero(a: Any) -> Any:
    """Indices of the nonzero elements of ``a`` flattened, as ``np.flatnonzero``."""
    a = as_tensor_variable(a)
    flat = a if a.ndim == 1 else a.flatten()
    return nonzero(flat)[0]
