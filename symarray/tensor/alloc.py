"""Allocation ops: new arrays filled with a value, ranges, identity matrices.

``Alloc`` broadcasts a value into a fresh array of a given shape; ``zeros``,
``ones``, ``full``, their ``*_like`` forms and Theano's ``fill``/``second``
are built on it.  ``BroadcastTo`` is its read-only-view twin
(``np.broadcast_to``; ``broadcast_arrays`` uses it).  ``AllocEmpty``
(``empty``), ``TensorCopy`` (``x.copy()``), ``ARange``, ``Eye`` and
``Repeat`` are ops of their own; ``tile`` is built from ``Alloc`` and
``Reshape``.

Shape arguments are ints or 0-d integer variables (see
:func:`symarray.tensor.shape_ops.shape_entries`); constant lengths give the
output a static shape.  Default dtypes follow Theano: ``zeros``, ``ones``,
``empty`` and ``eye`` use ``config.floatX``.

Gradients sum the copies a broadcast made (:func:`sum_to`, which shares
Elemwise's rule: static length-1 dimensions are summed, and dimensions of
unknown length are summed at run time if they turn out to be 1).  Shape
arguments get no gradient.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray import config
from symarray.errors import AxisError, DtypeError, RankError, ShapeMismatchError
from symarray.graph.basic import Apply, Constant, Op, Variable
from symarray.tensor.basic import as_tensor_variable, constant
from symarray.tensor.elemwise import cast, dimshuffle
from symarray.tensor.shape_misc import shape_padleft
from symarray.tensor.shape_ops import (
    Entry,
    IdentityLikeOp,
    _fmt,
    as_int_scalar,
    as_variable,
    dims,
    grad_like,
    is_float,
    mul_entries,
    reshape,
    shape_entries,
    shape_i,
    static_int,
    upcast_dtype,
)
from symarray.tensor.type import TensorType, dtype_of, tensor_type

__all__ = [
    "Alloc", "AllocEmpty", "BroadcastTo", "TensorCopy", "ARange", "Eye", "Repeat",
    "alloc", "broadcast_to", "broadcast_arrays",
    "zeros", "ones", "full", "zeros_like", "ones_like", "full_like", "fill",
    "second", "empty", "tensor_copy", "arange", "eye", "identity_like", "tile",
    "repeat",
]


def _grad_dtype(x: Any) -> str:
    return str(x.dtype) if is_float(x) else dtype_of(config.floatX)


def _dtype(dtype: Any) -> str:
    return dtype_of(config.floatX if dtype is None else dtype)


def _check_lengths(lengths: Sequence[int], what: str) -> None:
    if any(n < 0 for n in lengths):
        raise ShapeMismatchError(f"{what}: negative length in shape {tuple(lengths)}")


def _shape_infer(node: Apply, first: int) -> tuple[Any, ...]:
    """Output shape read from the length inputs ``node.inputs[first:]``."""
    static = tensor_type(node.outputs[0]).shape
    lengths = node.inputs[first:first + len(static)]
    return tuple(
        s if s is not None else v for s, v in zip(static, lengths, strict=True)
    )


def sum_to(g: Any, x: Any) -> Any:
    """Gradient ``g`` of something ``x`` was broadcast into, summed back to x.

    Sums the leading dimensions ``x`` lacks and those where ``x`` has length
    1 (statically, or at run time where its length is unknown); the result
    has ``x``'s dtype and static lengths.
    """
    from symarray.tensor.elemwise_grad import reduce_to_input
    from symarray.tensor.reduction import sum as tsum

    lead = g.ndim - x.ndim
    if lead:
        g = tsum(g, axis=list(range(lead)))
    return grad_like(reduce_to_input(g, x), x)


def _no_grads(inputs: Sequence[Any]) -> list[Any]:
    return [None] * len(inputs)


# -- Alloc, AllocEmpty, TensorCopy -------------------------------------------


class Alloc(Op):
    """A fresh array of shape ``lengths`` holding ``value`` broadcast into it.

    Inputs: ``(value, *lengths)``; ``value`` may have fewer dimensions (it
    is aligned to the right, as in NumPy broadcasting).
    """

    def make_node(self, value: Any, *lengths: Any) -> Apply:
        v = as_tensor_variable(value)
        lens = [as_int_scalar(s, "alloc") for s in lengths]
        if len(lens) < v.ndim:
            raise RankError(
                f"alloc: the value {v} of type {v.type} has {v.ndim} dimensions, "
                f"more than the {len(lens)} of the shape"
            )
        static = _broadcast_static(v, [static_int(s) for s in lens], "alloc")
        out = TensorType(v.dtype, shape=static).make_variable()
        return Apply(self, [v, *lens], [out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        v, *lengths = inputs
        new = tuple(int(s) for s in lengths)
        _check_lengths(new, "alloc")
        out = np.empty(new, dtype=tensor_type(node.outputs[0]).dtype)
        try:
            out[...] = v
        except ValueError:
            raise ShapeMismatchError(
                f"alloc: cannot broadcast a value of shape {np.shape(v)} to shape "
                f"{new}; each dimension must have length 1 or match"
            ) from None
        output_storage[0][0] = out

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [_shape_infer(node, 1)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # each element of value was copied to many places: sum them back
        value = inputs[0]
        gv = sum_to(output_grads[0], value) if is_float(outputs[0]) else None
        return [gv] + [None] * (len(inputs) - 1)

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        if eval_points[0] is None or not is_float(inputs[0]):
            return [None]
        return [self(cast(eval_points[0], inputs[0].dtype), *inputs[1:])]

    def scalar_constant_value(self, var: Variable, get: Any) -> Any:
        value = var.owner.inputs[0]  # type: ignore[union-attr]
        if tensor_type(value).ndim != 0:
            from symarray.graph.traversal import NotScalarConstantError

            raise NotScalarConstantError(f"{var}: the allocated value is not 0-d")
        return np.asarray(get(value), dtype=tensor_type(var).dtype)


_alloc = Alloc()


def _lengths(shape: Sequence[Any], what: str) -> list[Entry]:
    arg: Sequence[Any] | np.ndarray[Any, Any] | Variable = shape
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)) and (
        isinstance(shape[0], (list, tuple, np.ndarray))
        or (isinstance(shape[0], Variable) and tensor_type(shape[0]).ndim == 1)
    ):
        arg = shape[0]  # alloc(v, (2, 3)) as well as alloc(v, 2, 3)
    return shape_entries(list(arg) if isinstance(arg, tuple) else arg, what)


def alloc(value: Any, *shape: Any) -> Any:
    """``value`` broadcast into a new array of the given shape.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> T.alloc(1.5, 2, 3).eval().tolist()
    [[1.5, 1.5, 1.5], [1.5, 1.5, 1.5]]
    """
    entries = _lengths(shape, "alloc")
    return _alloc(value, *[as_variable(e) for e in entries])


def full(shape: Any, fill_value: Any, dtype: Any = None) -> Any:
    """A new array of ``shape`` filled with ``fill_value`` (``np.full``)."""
    value = as_tensor_variable(fill_value)
    if dtype is not None:
        value = cast(value, dtype_of(dtype))
    return _alloc(value, *[as_variable(e) for e in shape_entries(shape, "full")])


def zeros(shape: Any, dtype: Any = None) -> Any:
    """A new array of zeros (``dtype`` defaults to ``config.floatX``).

    Examples
    --------
    >>> import symarray.tensor as T
    >>> T.zeros((2, 2), dtype="int32").eval().tolist()
    [[0, 0], [0, 0]]
    """
    return full(shape, np.zeros((), dtype=_dtype(dtype)))


def ones(shape: Any, dtype: Any = None) -> Any:
    """A new array of ones (``dtype`` defaults to ``config.floatX``)."""
    return full(shape, np.ones((), dtype=_dtype(dtype)))


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> Any:
    """An array shaped like ``x`` filled with ``fill_value`` (``x``'s dtype)."""
    x = as_tensor_variable(x)
    value = cast(as_tensor_variable(fill_value), dtype_of(dtype or x.dtype))
    if value.ndim > x.ndim:
        raise RankError(
            f"full_like: the fill value has {value.ndim} dimensions, more than {x}"
        )
    return _alloc(value, *[as_variable(e) for e in dims(x)])


def zeros_like(x: Any, dtype: Any = None) -> Any:
    """Zeros shaped like ``x`` (``x``'s dtype unless ``dtype`` is given)."""
    return full_like(x, 0, dtype)


def ones_like(x: Any, dtype: Any = None) -> Any:
    """Ones shaped like ``x`` (``x``'s dtype unless ``dtype`` is given)."""
    return full_like(x, 1, dtype)


def fill(model: Any, value: Any) -> Any:
    """``value`` broadcast to the shape of ``model`` (Theano's ``fill``/``second``).

    The result has ``value``'s dtype, except that a Python scalar takes the
    kind of ``model`` where it fits (``fill(fvector, 0.5)`` is float32).
    """
    model = as_tensor_variable(model)
    value = as_tensor_variable(value)
    if getattr(value, "weak", False):
        value = cast(value, upcast_dtype([model, value]))
    target = broadcast_dims([model, value])
    return _alloc(value, *[as_variable(e) for e in target])


second = fill


class AllocEmpty(Op):
    """A new array of the given shape whose values are undefined (``np.empty``)."""

    __props__ = ("dtype",)

    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype_of(dtype)

    def make_node(self, *lengths: Any) -> Apply:
        lens = [as_int_scalar(s, "empty") for s in lengths]
        static = [static_int(s) for s in lens]
        _check_lengths([s for s in static if s is not None], "empty")
        out = TensorType(self.dtype, shape=static).make_variable()
        return Apply(self, lens, [out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        new = tuple(int(s) for s in inputs)
        _check_lengths(new, "empty")
        output_storage[0][0] = np.empty(new, dtype=self.dtype)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [_shape_infer(node, 0)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        return _no_grads(inputs)  # only lengths: nothing to differentiate

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        return [None]

    def do_constant_folding(self, fgraph: Any, node: Apply) -> bool:
        return False


def empty(shape: Any, dtype: Any = None) -> Any:
    """A new array with undefined values (``dtype`` defaults to floatX)."""
    entries = shape_entries(shape, "empty")
    return AllocEmpty(_dtype(dtype))(*[as_variable(e) for e in entries])


class TensorCopy(IdentityLikeOp):
    """A copy of ``x`` that shares no memory with it (``x.copy()``)."""

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        return Apply(self, [x], [x.type.make_variable()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        output_storage[0][0] = np.array(inputs[0], copy=True)


_tensor_copy = TensorCopy()


def tensor_copy(x: Any) -> Any:
    """A copy of ``x`` (used by ``x.copy()``)."""
    return _tensor_copy(x)


# -- broadcasting -------------------------------------------------------------


class BroadcastTo(Op):
    """``np.broadcast_to(x, shape)``: a read-only view; inputs ``(x, *lengths)``."""

    view_map = {0: [0]}

    def make_node(self, x: Any, *lengths: Any) -> Apply:
        x = as_tensor_variable(x)
        lens = [as_int_scalar(s, "broadcast_to") for s in lengths]
        if len(lens) < x.ndim:
            raise RankError(
                f"broadcast_to: cannot broadcast {x} of type {x.type} to "
                f"{len(lens)} dimensions"
            )
        static = _broadcast_static(x, [static_int(s) for s in lens], "broadcast_to")
        out = TensorType(x.dtype, shape=static).make_variable()
        return Apply(self, [x, *lens], [out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x, *lengths = inputs
        new = tuple(int(s) for s in lengths)
        try:
            output_storage[0][0] = np.broadcast_to(x, new)
        except ValueError:
            raise ShapeMismatchError(
                f"broadcast_to: cannot broadcast an array of shape {np.shape(x)} to "
                f"shape {new}; each dimension must have length 1 or match"
            ) from None

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        static = tensor_type(node.outputs[0]).shape
        return [tuple(s if s is not None else v
                      for s, v in zip(static, node.inputs[1:], strict=True))]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # like Alloc: a broadcast element's gradient is the sum of its copies
        x = inputs[0]
        gx = sum_to(output_grads[0], x) if is_float(x) else None
        return [gx] + [None] * (len(inputs) - 1)

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        x = inputs[0]
        if eval_points[0] is None or not is_float(x):
            return [None]
        return [self(cast(eval_points[0], x.dtype), *inputs[1:])]


def _broadcast_static(
    x: Any, lens: Sequence[int | None], what: str
) -> list[int | None]:
    """Static shape of ``x`` stretched to ``lens``; errors when it cannot work."""
    pad = len(lens) - x.ndim
    static = list(lens)
    for d, s in enumerate(x.type.shape):
        n = lens[pad + d]
        if n is not None and n < 0:
            raise ShapeMismatchError(f"{what}: negative length {n} in {_fmt(lens)}")
        if s is None or s == 1:
            continue
        if n is not None and n != s:
            raise ShapeMismatchError(
                f"{what}: cannot broadcast {x} of shape {_fmt(x.type.shape)} to "
                f"{_fmt(lens)}: dimension {d} has length {s}"
            )
        static[pad + d] = s
    return static


def broadcast_to(x: Any, shape: Any) -> Any:
    """``x`` broadcast to ``shape``, a read-only view (``np.broadcast_to``)."""
    x = as_tensor_variable(x)
    entries = shape_entries(shape, "broadcast_to")
    if tuple(entries) == x.type.shape:
        return x
    return BroadcastTo()(x, *[as_variable(e) for e in entries])


def broadcast_dims(tensors: Sequence[Any]) -> list[Entry]:
    """The lengths of the broadcast of ``tensors`` (ints where static)."""
    from symarray.tensor.math import ELEMWISE_OPS as OPS

    ndim = max((t.ndim for t in tensors), default=0)
    out: list[Entry] = []
    for d in range(ndim):
        cands: list[Entry] = []
        for t in tensors:
            k = d - (ndim - t.ndim)
            if k < 0 or t.type.shape[k] == 1:
                continue
            s = t.type.shape[k]
            cands.append(s if s is not None else shape_i(t, k))
        known = sorted({c for c in cands if isinstance(c, int)})
        if len(known) > 1:
            raise ShapeMismatchError(
                f"broadcast: static lengths {known} in dimension {d} cannot be "
                f"broadcast together (shapes {[_fmt(t.type.shape) for t in tensors]})"
            )
        if known:
            out.append(known[0])
        elif not cands:
            out.append(1)
        else:
            length = cands[0]
            for c in cands[1:]:  # a 1 gives way to the other length
                length = OPS["switch"](OPS["eq"](length, 1), c, length)
            out.append(length)
    return out


def broadcast_arrays(*tensors: Any) -> list[Any]:
    """The inputs broadcast against each other (``np.broadcast_arrays``)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    ts = [as_tensor_variable(t) for t in tensors]
    target = broadcast_dims(ts)
    return [broadcast_to(t, target) for t in ts]


# -- ARange, Eye ------------------------------------------------------------


_ZERO_STEP = "arange: step is 0, so the length is undefined; use a non-zero step"


class ARange(Op):
    """``np.arange(start, stop, step, dtype)``; inputs are 0-d numbers."""

    __props__ = ("dtype",)

    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype_of(dtype)

    def make_node(self, start: Any, stop: Any, step: Any) -> Apply:
        args = [as_tensor_variable(a) for a in (start, stop, step)]
        for name, a in zip(("start", "stop", "step"), args, strict=True):
            if a.ndim != 0:
                raise RankError(f"arange: {name} must be 0-d, got {a} of type {a.type}")
            if np.dtype(a.dtype).kind not in "biuf":
                raise DtypeError(f"arange: {name} must be real, got dtype {a.dtype}")
        length = None
        consts = [a for a in args if isinstance(a, Constant)]
        if len(consts) == len(args):
            start, stop, step = (np.asarray(a.data).item() for a in consts)
            if step == 0:
                raise ShapeMismatchError(_ZERO_STEP)
            length = max(0, math.ceil((stop - start) / step))
        out = TensorType(self.dtype, shape=(length,)).make_variable()
        return Apply(self, args, [out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        start, stop, step = (np.asarray(i).item() for i in inputs)
        if step == 0:
            raise ShapeMismatchError(_ZERO_STEP)
        output_storage[0][0] = np.arange(start, stop, step, dtype=self.dtype)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        from symarray.tensor.math import ELEMWISE_OPS as OPS

        static = tensor_type(node.outputs[0]).shape[0]
        if static is not None:
            return [(static,)]
        start, stop, step = (cast(i, "float64") for i in node.inputs)
        length = cast(OPS["ceil"](OPS["true_div"](OPS["sub"](stop, start), step)),
                      "int64")
        return [(OPS["maximum"](length, 0),)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # out[k] = start + k * step; stop only sets the length (zero gradient)
        from symarray.tensor.reduction import sum as tsum

        (gz,), (out,) = output_grads, outputs
        zeros = [zeros_like(i, dtype=_grad_dtype(i)) for i in inputs]
        if not is_float(out):
            return zeros
        k = ARange(self.dtype)(0, shape_i(out, 0), 1)
        grads = [tsum(gz), zeros[1], tsum(gz * k)]
        return [g if is_float(i) else z
                for g, i, z in zip(grads, inputs, zeros, strict=True)]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        out = self(*inputs)
        if not is_float(out):
            return [None]
        e_start, _, e_step = eval_points
        tangent = zeros_like(out)
        if e_start is not None:
            tangent = tangent + cast(e_start, self.dtype)
        if e_step is not None:
            k = ARange(self.dtype)(0, shape_i(out, 0), 1)
            tangent = tangent + k * cast(e_step, self.dtype)
        return [cast(tangent, self.dtype)]


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None) -> Any:
    """Evenly spaced values in ``[start, stop)`` (``np.arange``).

    Without ``dtype``: int64 for integer arguments (uint64 for unsigned),
    else the floating dtype of the arguments (Python floats are floatX).

    Examples
    --------
    >>> import symarray.tensor as T
    >>> T.arange(2, 8, 2).eval().tolist()
    [2, 4, 6]
    """
    if stop is None:
        start, stop = 0, start
    args = [as_tensor_variable(a) for a in (start, stop, step)]
    if dtype is None:
        dtype = upcast_dtype(args)
        kind = np.dtype(dtype).kind
        if kind in "bi":
            dtype = "int64"
        elif kind == "u":
            dtype = "uint64"
    return ARange(dtype)(*args)


class Eye(Op):
    """``np.eye(n, m, k, dtype)``; inputs are 0-d integers ``(n, m, k)``."""

    __props__ = ("dtype",)

    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype_of(dtype)

    def make_node(self, n: Any, m: Any, k: Any) -> Apply:
        args = [as_int_scalar(a, "eye") for a in (n, m, k)]
        static = [static_int(a) for a in args[:2]]
        _check_lengths([s for s in static if s is not None], "eye")
        return Apply(self, args, [TensorType(self.dtype, shape=static).make_variable()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        n, m, k = (int(i) for i in inputs)
        _check_lengths([n, m], "eye")
        output_storage[0][0] = np.eye(n, m, k, dtype=self.dtype)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [_shape_infer(node, 0)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        return _no_grads(inputs)  # integer arguments only

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        return [None]


def eye(n: Any, m: Any = None, k: Any = 0, dtype: Any = None) -> Any:
    """An ``n x m`` matrix with ones on diagonal ``k`` (floatX by default).

    Examples
    --------
    >>> import symarray.tensor as T
    >>> T.eye(2, dtype="int8").eval().tolist()
    [[1, 0], [0, 1]]
    """
    return Eye(_dtype(dtype))(n, n if m is None else m, k)


def identity_like(x: Any) -> Any:
    """An identity matrix with the shape and dtype of the matrix ``x``."""
    x = as_tensor_variable(x)
    if x.ndim != 2:
        raise RankError(f"identity_like: expected a matrix, got {x} of type {x.type}")
    n, m = dims(x)
    return Eye(x.dtype)(n, m, 0)


# -- tile, Repeat -------------------------------------------------------------


def tile(x: Any, reps: Any, ndim: int | None = None) -> Any:
    """``x`` repeated ``reps[d]`` times along each dimension (``np.tile``).

    ``reps`` is an int or a sequence of ints / 0-d integer variables.
    """
    x = as_tensor_variable(x)
    entries = shape_entries(reps, "tile")
    if any(isinstance(r, int) and r < 0 for r in entries):
        raise ValueError(f"tile: reps must be non-negative, got {entries}")
    d = max(x.ndim, len(entries), ndim or 0)
    entries = [1] * (d - len(entries)) + entries
    xs = shape_padleft(x, d - x.ndim) if d > x.ndim else x
    if all(isinstance(r, int) and r == 1 for r in entries):
        return xs
    lengths = dims(xs)
    pattern: list[Any] = []
    big: list[Entry] = []
    for k in range(d):
        pattern += ["x", k]
        big += [entries[k], lengths[k]]
    stretched = _alloc(dimshuffle(xs, pattern), *[as_variable(e) for e in big])
    new = [mul_entries([r, s]) for r, s in zip(entries, lengths, strict=True)]
    return reshape(stretched, new)


class Repeat(Op):
    """``np.repeat(x, repeats, axis)``; ``repeats`` is a 0-d or 1-d integer."""

    __props__ = ("axis",)

    def __init__(self, axis: int | None = None) -> None:
        self.axis = None if axis is None else int(axis)

    def make_node(self, x: Any, repeats: Any) -> Apply:
        x = as_tensor_variable(x)
        r = as_tensor_variable(repeats)
        if r.ndim > 1 or np.dtype(r.dtype).kind not in "iu":
            raise DtypeError(
                f"repeat: repeats must be a 0-d or 1-d integer, got {r} of type "
                f"{r.type}"
            )
        r = cast(r, "int64")
        if self.axis is None:
            known = None not in x.type.shape
            length: int | None = math.prod(x.type.shape) if known else None
            before: list[int | None] = []
        else:
            if not 0 <= self.axis < x.ndim:
                raise AxisError(
                    f"repeat: axis {self.axis} is out of range for {x.type}"
                )
            length = x.type.shape[self.axis]
            before = list(x.type.shape)
        out_len = _repeat_static(length, r)
        if self.axis is None:
            static = [out_len]
        else:
            static = before
            static[self.axis] = out_len
        return Apply(self, [x, r], [TensorType(x.dtype, shape=static).make_variable()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x, r = inputs
        if np.any(np.asarray(r) < 0):
            raise ShapeMismatchError(f"repeat: repeats must be >= 0, got {r}")
        try:
            output_storage[0][0] = np.repeat(x, r, axis=self.axis)
        except ValueError:
            where = "all elements" if self.axis is None else f"axis {self.axis}"
            raise ShapeMismatchError(
                f"repeat: {np.size(r)} repeat counts do not fit an input of shape "
                f"{np.shape(x)} along {where}; give one count, or one per element"
            ) from None

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        from symarray.tensor.math import ELEMWISE_OPS as OPS

        static = tensor_type(node.outputs[0]).shape
        x_shape, r_shape = input_shapes
        r = node.inputs[1]
        if self.axis is None:
            length = mul_entries(list(x_shape))
            shp: list[Any] = [None]
            where = 0
        else:
            length = x_shape[self.axis]
            shp = list(x_shape)
            where = self.axis
        if static[where] is not None:
            shp[where] = static[where]
        elif tensor_type(r).ndim == 0:
            shp[where] = OPS["mul"](as_variable(length), r)
        else:  # one count per element, or a single count for all of them
            from symarray.tensor import sum as tsum

            total = tsum(r)
            shp[where] = OPS["switch"](OPS["eq"](r_shape[0], as_variable(length)),
                                       total, OPS["mul"](as_variable(length), total))
        return [tuple(shp)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # each element's gradient is the sum over its repeated copies
        x, r = inputs
        if not is_float(x):
            return [None, None]
        gz = output_grads[0]
        axis = 0 if self.axis is None else self.axis
        lengths = [mul_entries(dims(x))] if self.axis is None else dims(x)
        if r.ndim == 0:  # equal counts: split the axis into (n, r) and sum r
            from symarray.tensor.reduction import sum as tsum

            split = [*lengths[:axis], lengths[axis], r, *lengths[axis + 1:]]

            g = tsum(reshape(gz, split), axis=axis + 1)
        else:  # counts per element: add each copy into its source (a segment sum)
            from symarray.tensor.subtensor import getitem
            from symarray.tensor.subtensor_inc import inc_subtensor

            src = Repeat(0)(arange(as_variable(lengths[axis])), r)
            zeros = alloc(np.zeros((), dtype=x.dtype), *lengths)
            g = inc_subtensor(getitem(zeros, (slice(None),) * axis + (src,)), gz)
        if self.axis is None:
            g = reshape(g, dims(x))
        return [grad_like(g, x), None]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        x, r = inputs
        if eval_points[0] is None or not is_float(x):
            return [None]
        return [self(cast(eval_points[0], x.dtype), r)]


def _repeat_static(length: int | None, r: Any) -> int | None:
    """Static length after repeating ``length`` elements by ``r`` (or None)."""
    if isinstance(r, Constant):
        counts = np.asarray(r.data)
        if np.any(counts < 0):
            raise ValueError(f"repeat: repeats must be >= 0, got {counts.tolist()}")
        if counts.ndim == 0 or counts.size == 1:
            return None if length is None else length * int(counts.reshape(-1)[0])
        if length is not None and counts.size != length:
            raise ShapeMismatchError(
                f"repeat: {counts.size} repeat counts for {length} elements; give "
                "one count, or one per element"
            )
        return int(counts.sum())
    return None


def repeat(x: Any, repeats: Any, axis: int | None = None) -> Any:
    """Repeat each element of ``x`` (``np.repeat``); flattens when ``axis`` is None.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> T.repeat(T.constant([1, 2]), 2).eval().tolist()
    [1, 1, 2, 2]
    """
    x = as_tensor_variable(x)
    if axis is not None:
        if not -x.ndim <= axis < x.ndim:
            raise AxisError(
                f"repeat: axis {axis} is out of range for a {x.ndim}-d tensor"
            )
        axis = int(axis) % x.ndim
    if not isinstance(repeats, Variable):
        if isinstance(repeats, (list, tuple)) and any(
            isinstance(e, Variable) for e in repeats
        ):
            repeats = as_tensor_variable(repeats)
        else:
            repeats = constant(np.asarray(repeats, dtype="int64"))
    return Repeat(axis)(x, repeats)
