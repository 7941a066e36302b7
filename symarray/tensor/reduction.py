"""Reductions: sum, prod, max, min, all, any, argmax/argmin and compositions.

One Op class per reduction (:class:`Sum`, :class:`Prod`, :class:`Max`,
:class:`Min`, :class:`All`, :class:`Any` share :class:`CAReduce`;
:class:`Argmax`/:class:`Argmin` share :class:`ArgReduce`).  ``mean``,
``var``, ``std`` and ``logsumexp`` are graphs of those and elementwise ops.

Key decisions:

* An op's ``axis`` is normalised in ``make_node`` to a sorted tuple of
  non-negative axes (``None`` becomes every axis), so equal reductions have
  equal ``__props__`` whatever spelling the user chose.
* ``keepdims`` is a DimShuffle adding ``'x'`` dimensions after the
  reduction, so the kept dimensions are statically broadcastable.
* Dtypes follow Theano: ``sum``/``prod`` of bool and signed integers of up to
  32 bits give int64, unsigned ones uint64, floats keep their dtype.  The
  *accumulator* dtype (``acc_dtype``) is wider for small floats: a float32
  sum is accumulated in float64 (NumPy's pairwise summation over float64)
  and cast back, so long float32 sums do not drift.  ``mean`` of integers
  gives float64, of float32 float32.
* ``max``/``min``/``argmax``/``argmin`` of no elements raise
  :class:`~symarray.errors.EmptyReductionError` at run time, naming the op
  and the input shape.
* The number of reduced elements in ``mean``/``var`` comes from the static
  shape when known and from ``shape_i`` otherwise.
* Gradients: ``max``/``min`` give the output gradient to every entry equal
  to the extreme (all tied entries get it in full, as Theano) and their
  R_op is the adjoint (tied tangents summed); ``prod``'s is exact with
  zeros (see :class:`Prod`); ``all``/``any``/``argmax``/``argmin`` have
  none (None); ``logsumexp`` stops the gradient at its shift ``max(x)``,
  which the value does not depend on, so it is finite for huge inputs.
* ``T.sum``, ``T.max``, ``T.all``... shadow Python's builtins in this module
  (Theano's names); the module uses ``builtins.any`` where it means Python's.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from symarray.errors import AxisError, DtypeError, EmptyReductionError
from symarray.gradient import disconnected_grad
from symarray.graph.basic import Apply, Constant, Op, Variable
from symarray.tensor.basic import as_tensor_variable, constant
from symarray.tensor.elemwise import cast, dimshuffle
from symarray.tensor.math import ELEMWISE_OPS
from symarray.tensor.shape_ops import shape_i
from symarray.tensor.type import TensorType, dtype_of, tensor_type

__all__ = [
    "CAReduce", "Sum", "Prod", "Max", "Min", "All", "AnyReduce", "ArgReduce",
    "Argmax", "Argmin", "normalize_axis", "sum", "prod", "max", "min", "all",
    "any", "argmax", "argmin", "max_and_argmax", "mean", "var", "std",
    "logsumexp",
]

#: default output dtype of sum/prod (inputs not listed keep their dtype)
SUM_DTYPE = {
    "bool": "int64", "int8": "int64", "int16": "int64", "int32": "int64",
    "uint8": "uint64", "uint16": "uint64", "uint32": "uint64",
}
#: default accumulator dtype for an output dtype (others accumulate as is)
ACC_DTYPE = {
    **SUM_DTYPE, "float16": "float32", "float32": "float64",
    "complex64": "complex128",
}


def normalize_axis(axis: Any, ndim: int, what: str) -> tuple[int, ...]:
    """``axis`` (None, int, or sequence of ints) as sorted non-negative axes.

    ``None`` means every axis.  Raises :class:`AxisError` for an axis out of
    range, a repeated axis, or an axis that is not a constant integer.

    Examples
    --------
    >>> normalize_axis(-1, 3, "sum")
    (2,)
    >>> normalize_axis(None, 2, "sum")
    (0, 1)
    """
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, Variable):
        if not isinstance(axis, Constant):
            raise AxisError(
                f"{what}: axis must be a constant, got the symbolic {axis}; pass "
                "a Python int or tuple of ints"
            )
        axis = axis.data.tolist()
    if isinstance(axis, np.ndarray):
        axis = axis.tolist()
    items = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    out: list[int] = []
    for a in items:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise AxisError(f"{what}: axis entries must be ints, got {a!r}")
        if not -ndim <= a < ndim:
            raise AxisError(
                f"{what}: axis {a} is out of range for a {ndim}-d input "
                f"(valid: {-ndim}..{ndim - 1})"
            )
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise AxisError(f"{what}: axis {axis!r} repeats a dimension")
    return tuple(sorted(out))


def _keepdims(out: Any, ndim: int, axes: Sequence[int]) -> Any:
    """Put back the reduced ``axes`` of an ``ndim``-d input as length-1 dims."""
    pattern: list[int | str] = []
    kept = 0
    for i in range(ndim):
        if i in axes:
            pattern.append("x")
        else:
            pattern.append(kept)
            kept += 1
    return dimshuffle(out, pattern)


def _is_float(x: Any) -> bool:
    return np.dtype(x.dtype).kind in "fc"


def _as_dtype(x: Any, dtype: str) -> Any:
    return x if x.dtype == dtype else cast(x, dtype)


def _reduced_shape(shape: Sequence[Any], axes: Sequence[int]) -> tuple[Any, ...]:
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def _empty_error(op: Op, shape: tuple[int, ...], axes: Sequence[int]) -> Exception:
    return EmptyReductionError(
        f"{op}: cannot reduce an input of shape {shape} over axes {tuple(axes)}: "
        "a reduced axis has length 0 and this reduction has no identity; "
        "check the input is non-empty or use a reduction with an identity (sum)"
    )


class CAReduce(Op):
    """Reduce one input over ``axis`` (a tuple of axes; None: all).

    Subclasses set ``name`` and define :meth:`output_dtype` and
    :meth:`reduce` (NumPy).
    """

    __props__: ClassVar[tuple[str, ...]] = ("axis",)
    name = "reduce"

    def __init__(self, axis: Any = None) -> None:
        self.axis = None if axis is None else _as_axis_tuple(axis)

    def __str__(self) -> str:
        return f"{self.name.title()}{{axis={self.axis}}}"

    def _with(self, **props: Any) -> CAReduce:
        """A copy of this op with some props replaced."""
        kwargs = {p: getattr(self, p) for p in self.__props__}
        kwargs.update(props)
        return type(self)(**kwargs)

    def output_dtype(self, dtype: str) -> str:
        return dtype

    def _check_input(self, x: Any) -> None:
        """Raise for input dtypes this reduction does not accept."""

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        axes = normalize_axis(self.axis, x.ndim, self.name)
        if axes != self.axis:
            return self._with(axis=axes).make_node(x)
        self._check_input(x)
        shape = _reduced_shape(x.type.shape, axes)
        out = TensorType(self.output_dtype(x.dtype), shape=shape).make_variable()
        return Apply(self, [x], [out])

    def reduce(self, x: np.ndarray[Any, Any], axis: tuple[int, ...]) -> Any:
        raise NotImplementedError

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x = np.asarray(inputs[0])
        result = self.reduce(x, self.axis)  # type: ignore[arg-type]
        # NumPy reductions return new arrays, even over no axes
        output_storage[0][0] = np.asarray(result,
                                          dtype=tensor_type(node.outputs[0]).dtype)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [_reduced_shape(input_shapes[0], self.axis)]  # type: ignore[arg-type]


def _as_axis_tuple(axis: Any) -> tuple[int, ...]:
    if isinstance(axis, (int, np.integer)):
        return (int(axis),)
    return tuple(int(a) for a in axis)


class _CAReduceDtype(CAReduce):
    """A reduction with an output dtype and an accumulator dtype (sum, prod)."""

    __props__: ClassVar[tuple[str, ...]] = ("axis", "dtype", "acc_dtype")

    def __init__(self, axis: Any = None, dtype: Any = None,
                 acc_dtype: Any = None) -> None:
        super().__init__(axis)
        self.dtype = None if dtype is None else dtype_of(dtype)
        self.acc_dtype = None if acc_dtype is None else dtype_of(acc_dtype)

    def __str__(self) -> str:
        return (f"{self.name.title()}{{axis={self.axis}, dtype={self.dtype}, "
                f"acc_dtype={self.acc_dtype}}}")

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        out_dtype = self.dtype or SUM_DTYPE.get(x.dtype, x.dtype)
        acc = self.acc_dtype
        if acc is None:
            acc = ACC_DTYPE.get(out_dtype, out_dtype)
            if not np.can_cast(x.dtype, acc, "safe"):
                acc = str(np.promote_types(x.dtype, acc))
        elif not np.can_cast(x.dtype, acc, "safe"):
            raise DtypeError(
                f"{self.name}: cannot accumulate a {x.dtype} input in acc_dtype "
                f"{acc}, precision would be lost; use acc_dtype="
                f"{ACC_DTYPE.get(x.dtype, x.dtype)!r} or leave it None"
            )
        if (out_dtype, acc) != (self.dtype, self.acc_dtype):
            return self._with(dtype=out_dtype, acc_dtype=acc).make_node(x)
        return super().make_node(x)

    def output_dtype(self, dtype: str) -> str:
        return self.dtype  # type: ignore[return-value]


class Sum(_CAReduceDtype):
    """Sum over axes (``T.sum``)."""

    name = "sum"

    def reduce(self, x: np.ndarray[Any, Any], axis: tuple[int, ...]) -> Any:
        return np.sum(x, axis=axis, dtype=self.acc_dtype)

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # d sum(x) / dx = 1: broadcast the output gradient back over the axes
        from symarray.tensor.alloc import alloc

        (x,), (gz,) = inputs, output_grads
        if not _is_float(x) or not _is_float(outputs[0]):
            return [None]
        g = alloc(_keepdims(gz, x.ndim, self.axis),  # type: ignore[arg-type]
                  *[shape_i(x, d) for d in range(x.ndim)])
        return [_as_dtype(g, x.dtype)]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        # linear: d sum(x) = sum(dx)
        (x,), (ev,) = inputs, eval_points
        if ev is None or not _is_float(x) or np.dtype(self.dtype).kind not in "fc":
            return [None]
        return [self(_as_dtype(ev, x.dtype))]


class Prod(_CAReduceDtype):
    """Product over axes (``T.prod``).

    The gradient is exact with zeros in the input, as Theano's: where a
    reduced group holds no zero, ``d prod / dx_i = prod / x_i``; where it
    holds exactly one, only that entry gets a gradient (the product of the
    others); with two or more, the gradient is zero.  Second-order
    gradients are exact with at most one zero per group.  With
    ``no_zeros_in_input=True`` the cheaper ``prod / x`` is used everywhere.
    """

    __props__ = ("axis", "dtype", "acc_dtype", "no_zeros_in_input")
    name = "prod"

    def __init__(self, axis: Any = None, dtype: Any = None, acc_dtype: Any = None,
                 no_zeros_in_input: bool = False) -> None:
        super().__init__(axis, dtype, acc_dtype)
        self.no_zeros_in_input = bool(no_zeros_in_input)

    def reduce(self, x: np.ndarray[Any, Any], axis: tuple[int, ...]) -> Any:
        return np.prod(x, axis=axis, dtype=self.acc_dtype)

    def _partials(self, x: Any) -> Any:
        """``d prod(x) / dx`` shaped like ``x`` (in ``x``'s dtype)."""
        ops = ELEMWISE_OPS
        axes: tuple[int, ...] = self.axis  # type: ignore[assignment]
        if self.no_zeros_in_input:
            whole = prod(x, axes, dtype=x.dtype, keepdims=True)
            return ops["true_div"](whole, x)
        eq, switch, true_div = ops["eq"], ops["switch"], ops["true_div"]
        zero = constant(np.asarray(0, dtype=x.dtype))
        is_zero = eq(x, 0)
        n_zeros = sum(is_zero, axes, keepdims=True)
        x_nz = switch(is_zero, constant(np.asarray(1, dtype=x.dtype)), x)
        # the product of the nonzero entries of each group
        p_nz = prod(x_nz, axes, dtype=x.dtype, keepdims=True)
        # with one zero x_z, the others get p_nz / x * x_z: 0, written so that
        # its own derivative in x_z (second-order gradients) is kept
        x_z = sum(switch(is_zero, x, zero), axes, keepdims=True)
        one_zero = switch(is_zero, p_nz, ops["mul"](true_div(p_nz, x_nz), x_z))
        return switch(eq(n_zeros, 0), true_div(p_nz, x_nz),
                      switch(eq(n_zeros, 1), one_zero, zero))

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        (x,), (gz,) = inputs, output_grads
        if not _is_float(x) or not _is_float(outputs[0]):
            return [None]
        gz_b = _keepdims(gz, x.ndim, self.axis)  # type: ignore[arg-type]
        return [_as_dtype(ELEMWISE_OPS["mul"](gz_b, self._partials(x)), x.dtype)]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        # d prod = sum(d prod / dx * dx) over the reduced axes
        (x,), (ev,) = inputs, eval_points
        if ev is None or not _is_float(x) or np.dtype(self.dtype).kind not in "fc":
            return [None]
        terms = ELEMWISE_OPS["mul"](self._partials(x), _as_dtype(ev, x.dtype))
        return [_as_dtype(sum(terms, self.axis), self.dtype)]  # type: ignore[arg-type]


class _NoIdentity(CAReduce):
    """A reduction that fails on zero elements (max, min)."""

    numpy_fn: Any = None

    def reduce(self, x: np.ndarray[Any, Any], axis: tuple[int, ...]) -> Any:
        if x.size == 0 and axis and builtins.any(x.shape[a] == 0 for a in axis):
            raise _empty_error(self, x.shape, axis)
        return type(self).numpy_fn(x, axis=axis)

    def _mask(self, x: Any, out: Any) -> Any:
        """True at the entries equal to the extreme of their group (ties too)."""
        axes: tuple[int, ...] = self.axis  # type: ignore[assignment]
        return ELEMWISE_OPS["eq"](x, _keepdims(out, x.ndim, axes))

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # Theano's rule: every entry equal to the extreme gets the full gradient
        # (with ties, each tied entry gets it; the sum over them is not 1)
        (x,), (out,), (gz,) = inputs, outputs, output_grads
        if not _is_float(x):
            return [None]
        gz_b = _keepdims(gz, x.ndim, self.axis)  # type: ignore[arg-type]
        return [_as_dtype(ELEMWISE_OPS["mul"](self._mask(x, out), gz_b), x.dtype)]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        # the adjoint of L_op: the tangents of the extreme entries (summed if tied)
        (x,), (ev,) = inputs, eval_points
        if ev is None or not _is_float(x):
            return [None]
        out = self(x)
        picked = ELEMWISE_OPS["mul"](self._mask(x, out), _as_dtype(ev, x.dtype))
        return [_as_dtype(sum(picked, self.axis), x.dtype)]


class Max(_NoIdentity):
    """Maximum over axes (``T.max``); NaN propagates like ``np.max``."""

    name = "max"
    numpy_fn = staticmethod(np.max)


class Min(_NoIdentity):
    """Minimum over axes (``T.min``); NaN propagates like ``np.min``."""

    name = "min"
    numpy_fn = staticmethod(np.min)


class _BoolReduce(CAReduce):
    """A reduction to bool (all, any): piecewise constant, so no gradient."""

    def output_dtype(self, dtype: str) -> str:
        return "bool"

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        return [None]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        return [None]


class All(_BoolReduce):
    """True where every reduced element is nonzero (``T.all``)."""

    name = "all"

    def reduce(self, x: np.ndarray[Any, Any], axis: tuple[int, ...]) -> Any:
        return np.all(x, axis=axis)


class AnyReduce(_BoolReduce):
    """True where some reduced element is nonzero (``T.any``).

    Also reachable as ``symarray.tensor.reduction.Any`` (Theano's name).
    """

    name = "any"

    def reduce(self, x: np.ndarray[Any, Any], axis: tuple[int, ...]) -> Any:
        return np.any(x, axis=axis)


class ArgReduce(Op):
    """Index of the max/min over ``axis`` (int64; ties give the first).

    Several axes are searched as one: they are moved to the end and
    flattened, so the index is into that flattened block (C order).  ``axis``
    None searches the whole array, indexing its flattened form, as NumPy.
    """

    __props__ = ("axis",)
    name = "argreduce"
    numpy_fn: Any = None

    def __init__(self, axis: Any = None) -> None:
        self.axis = None if axis is None else _as_axis_tuple(axis)

    def __str__(self) -> str:
        return f"{type(self).__name__}{{axis={self.axis}}}"

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        axes = normalize_axis(self.axis, x.ndim, self.name)
        if axes != self.axis:
            return type(self)(axes).make_node(x)
        if x.dtype.startswith("complex"):
            raise DtypeError(f"{self.name}: complex inputs have no order, got {x.type}")
        shape = _reduced_shape(x.type.shape, axes)
        out = TensorType("int64", shape=shape).make_variable()
        return Apply(self, [x], [out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x = np.asarray(inputs[0])
        axes: tuple[int, ...] = self.axis  # type: ignore[assignment]
        keep = [i for i in range(x.ndim) if i not in axes]
        block = 1
        for a in axes:
            block *= x.shape[a]
        if block == 0:
            raise _empty_error(self, x.shape, axes)
        moved = np.transpose(x, keep + list(axes))
        flat = moved.reshape(moved.shape[: len(keep)] + (block,))
        result = type(self).numpy_fn(flat, axis=-1)
        output_storage[0][0] = np.asarray(result, dtype="int64")

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [_reduced_shape(input_shapes[0], self.axis)]  # type: ignore[arg-type]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        return [None]  # an integer index: piecewise constant in x

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        return [None]


class Argmax(ArgReduce):
    """Index of the maximum (``T.argmax``)."""

    name = "argmax"
    numpy_fn = staticmethod(np.argmax)


class Argmin(ArgReduce):
    """Index of the minimum (``T.argmin``)."""

    name = "argmin"
    numpy_fn = staticmethod(np.argmin)


# -- user functions -----------------------------------------------------------


def _reduce(op_class: type, x: Any, axis: Any, keepdims: bool, what: str,
            **props: Any) -> Any:
    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.ndim, what)
    out = op_class(axes, **props)(x)
    return _keepdims(out, x.ndim, axes) if keepdims else out


def sum(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,  # noqa: A001
        acc_dtype: Any = None) -> Any:
    """Sum of ``x`` over ``axis`` (None: all axes; int; tuple of ints).

    Bool and signed integers of up to 32 bits sum to int64, unsigned ones
    to uint64; floats keep their dtype (float32 accumulates in float64).
    ``dtype`` sets the output dtype, ``acc_dtype`` the accumulator's.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x = T.imatrix("x")
    >>> s = T.sum(x, axis=0)
    >>> s.dtype
    'int64'
    >>> s.eval({x: [[1, 2], [3, 4]]}).tolist()
    [4, 6]
    """
    return _reduce(Sum, x, axis, keepdims, "sum", dtype=dtype, acc_dtype=acc_dtype)


def prod(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
         acc_dtype: Any = None, no_zeros_in_input: bool = False) -> Any:
    """Product of ``x`` over ``axis``; dtypes as :func:`sum`.

    ``no_zeros_in_input=True`` promises there are no zeros, so the gradient
    can use the cheaper ``prod / x`` (with zeros it is still exact without
    it, see :class:`Prod`).

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x = T.dvector("x")
    >>> float(T.prod(x).eval({x: [2.0, 3.0, 4.0]}))
    24.0
    """
    return _reduce(Prod, x, axis, keepdims, "prod", dtype=dtype, acc_dtype=acc_dtype,
                   no_zeros_in_input=no_zeros_in_input)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Largest element over ``axis``; the dtype is kept.

    Reducing an axis of length 0 raises ``EmptyReductionError`` at run time.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x = T.dmatrix("x")
    >>> T.max(x, axis=1).eval({x: [[1.0, 5.0], [7.0, 2.0]]}).tolist()
    [5.0, 7.0]
    """
    return _reduce(Max, x, axis, keepdims, "max")


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Smallest element over ``axis``; see :func:`max`."""
    return _reduce(Min, x, axis, keepdims, "min")


def all(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """True where all elements over ``axis`` are nonzero (a bool tensor).

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x = T.bvector("x")
    >>> bool(T.all(x).eval({x: [1, 2, 0]}))
    False
    """
    return _reduce(All, x, axis, keepdims, "all")


def any(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """True where some element over ``axis`` is nonzero (a bool tensor)."""
    return _reduce(AnyReduce, x, axis, keepdims, "any")


def argmax(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Index (int64) of the largest element over ``axis``; ties: the first.

    ``axis`` None indexes the flattened array; a tuple of axes indexes the
    block made by moving them to the end and flattening them.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x = T.dmatrix("x")
    >>> T.argmax(x, axis=1).eval({x: [[1.0, 5.0], [7.0, 7.0]]}).tolist()
    [1, 0]
    """
    return _reduce(Argmax, x, axis, keepdims, "argmax")


def argmin(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Index (int64) of the smallest element over ``axis``; see :func:`argmax`."""
    return _reduce(Argmin, x, axis, keepdims, "argmin")


def max_and_argmax(x: Any, axis: Any = None, keepdims: bool = False) -> list[Any]:
    """``[max(x, axis), argmax(x, axis)]``."""
    return [max(x, axis, keepdims), argmax(x, axis, keepdims)]


def _count(x: Any, axes: Sequence[int], dtype: str) -> Any:
    """Number of elements over ``axes`` of ``x`` as a ``dtype`` scalar."""
    static = 1
    dynamic: list[Any] = []
    for a in axes:
        length = x.type.shape[a]
        if length is None:
            dynamic.append(shape_i(x, a))
        else:
            static *= length
    if not dynamic:
        return constant(np.asarray(static, dtype=dtype))
    mul = ELEMWISE_OPS["mul"]
    count = dynamic[0]
    for d in dynamic[1:]:
        count = mul(count, d)
    if static != 1:
        count = mul(count, static)
    return cast(count, dtype)


def _real_float(dtype: str) -> str:
    """The real float dtype the element count of a ``dtype`` mean uses."""
    return "float32" if dtype in ("float16", "float32", "complex64") else "float64"


def mean(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
         acc_dtype: Any = None) -> Any:
    """Arithmetic mean over ``axis``.

    Integers and bools give float64; floats keep their dtype (float16 sums
    in float32 and is cast back).  ``dtype`` is the dtype of the inner sum,
    as in Theano.  A mean of no elements is NaN, as in NumPy.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x = T.fmatrix("x")
    >>> m = T.mean(x, axis=0)
    >>> m.dtype
    'float32'
    >>> m.eval({x: [[1, 2], [3, 4]]}).tolist()
    [2.0, 3.0]
    """
    true_div = ELEMWISE_OPS["true_div"]

    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.ndim, "mean")
    sum_dtype = dtype
    if dtype is None and x.dtype == "float16":
        sum_dtype = "float32"
    s = sum(x, axes, dtype=sum_dtype, acc_dtype=acc_dtype)
    if np.dtype(s.dtype).kind in "biu":
        s = cast(s, "float64")
    out = true_div(s, _count(x, axes, _real_float(s.dtype)))
    if dtype is None and x.dtype == "float16":
        out = cast(out, "float16")
    return _keepdims(out, x.ndim, axes) if keepdims else out


def var(x: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False,
        corrected: bool = False) -> Any:
    """Variance over ``axis``: ``sum(|x - mean|**2) / (n - ddof)``.

    ``corrected=True`` uses the corrected two-pass formula
    ``(sum(c**2) - sum(c)**2 / n) / (n - ddof)`` with ``c = x - mean``,
    which cancels the rounding error of the mean.  Integers give float64.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x = T.dvector("x")
    >>> float(T.var(x).eval({x: [1.0, 2.0, 3.0, 4.0]}))
    1.25
    """
    abs_ = ELEMWISE_OPS["abs"]
    sqr, sub = ELEMWISE_OPS["sqr"], ELEMWISE_OPS["sub"]
    true_div = ELEMWISE_OPS["true_div"]

    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.ndim, "var")
    centered = sub(x, mean(x, axes, keepdims=True))
    is_complex = centered.dtype.startswith("complex")
    sq = sqr(abs_(centered)) if is_complex else sqr(centered)
    fdt = _real_float(sq.dtype)
    if ddof == 0 and not corrected:
        out = mean(sq, axes)
    else:
        n = _count(x, axes, fdt)
        total = sum(sq, axes)
        if corrected:
            s = sum(centered, axes)
            s2 = sqr(abs_(s)) if is_complex else sqr(s)
            total = sub(total, true_div(s2, n))
        out = true_div(total, sub(n, constant(np.asarray(ddof, dtype=fdt))))
    return _keepdims(out, x.ndim, axes) if keepdims else out


def std(x: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False,
        corrected: bool = False) -> Any:
    """Standard deviation over ``axis``: ``sqrt(var(x, axis, ddof))``.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x = T.dvector("x")
    >>> float(T.std(x).eval({x: [1.0, 3.0]}))
    1.0
    """
    sqrt = ELEMWISE_OPS["sqrt"]

    return sqrt(var(x, axis, ddof=ddof, keepdims=keepdims, corrected=corrected))


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """``log(sum(exp(x), axis))`` computed stably.

    Uses ``m + log(sum(exp(x - m)))`` with ``m = max(x, axis)`` (0 where
    ``m`` is infinite), so large and very negative inputs give finite
    results.  Like :func:`max`, it fails on an empty reduction.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x = T.dvector("x")
    >>> float(T.logsumexp(x).eval({x: [1000.0, 1000.0]}))  # doctest: +ELLIPSIS
    1000.693...
    """
    ops = ELEMWISE_OPS
    add, exp, isinf, log = ops["add"], ops["exp"], ops["isinf"], ops["log"]
    sub, switch = ops["sub"], ops["switch"]
    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.ndim, "logsumexp")
    m = max(x, axes, keepdims=True)
    # the result does not depend on the shift m, so no gradient flows through
    # it (saves the max's mask; the softmax-shaped gradient stays exact)
    m = disconnected_grad(switch(isinf(m), 0, m))
    out = add(log(sum(exp(sub(x, m)), axes, keepdims=True)), m)
    if keepdims:
        return out
    return dimshuffle(out, [i for i in range(x.ndim) if i not in axes])


# Theano's class name for the ``any`` op, as ``reduction.Any`` only (not in
# ``__all__``: ``from symarray.tensor import *`` must not shadow typing.Any).
# Bound last because ``Any`` is typing.Any in the (string) annotations above.
globals()["Any"] = AnyReduce
