"""Linear algebra products: dot, tensordot, outer, batched_dot, matmul.

:class:`Dot` is the vector/matrix product with ``np.dot``'s meaning (vector
by vector gives a 0-d tensor); ``T.dot`` also accepts 0-d operands (a
product) and higher ranks (a :class:`TensorDot` over the last axis of ``a``
and the second-to-last of ``b``, as ``np.dot``).  :class:`BatchedDot`
multiplies matching slices along a leading batch axis, as Theano's
``batched_dot``; :class:`Matmul` follows ``np.matmul`` (batch dimensions
broadcast).

Key decisions:

* Output dtypes are NumPy's result type of the inputs (``int32 . float32``
  gives float64).
* Contracted lengths are checked at build time when static, with both
  shapes and a hint to transpose, and again at run time.
* ``x @ y`` is ``T.dot(x, y)`` (Theano's meaning).
* Gradients follow from bilinearity (``d(a.b) = da.b + a.db``), each cast
  to its input's dtype; integer inputs get none.  Matmul's gradient sums
  over the batch axes an input lacks or has with static length 1; like
  Elemwise's, it assumes no other axis was stretched at run time.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.errors import RankError, ShapeMismatchError
from symarray.graph.basic import Apply, Op, Variable
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.elemwise import broadcast_static_shape, dimshuffle
from symarray.tensor.math import ELEMWISE_OPS
from symarray.tensor.type import TensorType, tensor_type

__all__ = [
    "Dot", "TensorDot", "BatchedDot", "BatchedTensorDot", "Matmul", "dot",
    "tensordot", "outer", "batched_dot", "batched_tensordot", "matmul",
]


def _shape_str(shape: Sequence[Any]) -> str:
    return "(" + ", ".join("?" if s is None else str(s) for s in shape) + (
        ",)" if len(shape) == 1 else ")")


def _out_dtype(a: Any, b: Any) -> str:
    return str(np.result_type(np.dtype(a.dtype), np.dtype(b.dtype)))


def _check_static(what: str, a: Any, b: Any, pairs: Sequence[tuple[int, int]],
                  hint: str) -> None:
    """Raise when a pair of contracted axes has different static lengths."""
    for ia, ib in pairs:
        la, lb = a.type.shape[ia], b.type.shape[ib]
        if la is not None and lb is not None and la != lb:
            raise ShapeMismatchError(
                f"{what}: contracted lengths differ: axis {ia} of the first input "
                f"{_shape_str(a.type.shape)} has length {la}, axis {ib} of the "
                f"second {_shape_str(b.type.shape)} has length {lb}; {hint}"
            )


def _check_run(what: str, a: np.ndarray[Any, Any], b: np.ndarray[Any, Any],
               pairs: Sequence[tuple[int, int]]) -> None:
    for ia, ib in pairs:
        if a.shape[ia] != b.shape[ib]:
            raise ShapeMismatchError(
                f"{what}: shapes {a.shape} and {b.shape} are not aligned: axis "
                f"{ia} of the first has length {a.shape[ia]}, axis {ib} of the "
                f"second has length {b.shape[ib]}"
            )


def _typed(result: Any, node: Apply) -> np.ndarray[Any, Any]:
    return np.asarray(result, dtype=tensor_type(node.outputs[0]).dtype)


# -- gradient helpers ---------------------------------------------------------


def _is_float(x: Any) -> bool:
    return np.dtype(x.dtype).kind in "fc"


def _as_dtype(g: Any, dtype: str) -> Any:
    from symarray.tensor.elemwise import cast

    return g if g.dtype == dtype else cast(g, dtype)


def _swap_last(x: Any) -> Any:
    """``x`` with its last two axes swapped."""
    n = x.ndim
    return dimshuffle(x, list(range(n - 2)) + [n - 1, n - 2])


def _bilinear_grads(op: Op, inputs: list[Any], outputs: list[Any],
                    ga: Any, gb: Any) -> list[Any]:
    """Gradients of a product's inputs: each cast to its input's dtype, or
    None for integer inputs (``ga``/``gb`` are callables building the graph)."""
    a, b = inputs
    if not _is_float(outputs[0]):
        return [None, None]
    return [_as_dtype(ga(), a.dtype) if _is_float(a) else None,
            _as_dtype(gb(), b.dtype) if _is_float(b) else None]


def _bilinear_rop(op: Op, inputs: list[Any], eval_points: list[Any]) -> list[Any]:
    """Tangent of a product ``op(a, b)``: ``op(da, b) + op(a, db)``."""
    a, b = inputs
    ea, eb = (e if e is not None and _is_float(x) else None
              for e, x in zip(eval_points, inputs, strict=True))
    dtype = _out_dtype(a, b)
    if np.dtype(dtype).kind not in "fc":
        return [None]
    terms = []
    if ea is not None:
        terms.append(op(_as_dtype(ea, a.dtype), b))
    if eb is not None:
        terms.append(op(a, _as_dtype(eb, b.dtype)))
    if not terms:
        return [None]
    total = terms[0] if len(terms) == 1 else ELEMWISE_OPS["add"](*terms)
    return [_as_dtype(total, dtype)]


class Dot(Op):
    """``np.dot`` of two vectors or matrices (vector . vector is 0-d)."""

    __props__ = ()

    def make_node(self, a: Any, b: Any) -> Apply:
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        for i, t in enumerate((a, b)):
            if t.ndim not in (1, 2):
                raise RankError(
                    f"Dot: input {i} must be a vector or a matrix, got {t.type}; "
                    "use T.dot (any rank) or T.tensordot"
                )
        _check_static("dot", a, b, [(a.ndim - 1, 0)],
                      "transpose one input (x.T) if its axes are swapped")
        shape = a.type.shape[:-1] + b.type.shape[1:]
        out = TensorType(_out_dtype(a, b), shape=shape).make_variable()
        return Apply(self, [a, b], [out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        a, b = inputs
        _check_run("dot", a, b, [(a.ndim - 1, 0)])
        output_storage[0][0] = _typed(np.dot(a, b), node)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        sa, sb = input_shapes
        return [tuple(sa[:-1]) + tuple(sb[1:])]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # out = a . b:  da = gz . b^T,  db = a^T . gz  (vectors: outer / scale)
        mul = ELEMWISE_OPS["mul"]
        a, b = inputs
        (gz,) = output_grads

        def ga() -> Any:
            if a.ndim == 1:
                return mul(gz, b) if b.ndim == 1 else _dot(b, gz)
            return outer(gz, b) if b.ndim == 1 else _dot(gz, _swap_last(b))

        def gb() -> Any:
            if b.ndim == 1:
                return mul(gz, a) if a.ndim == 1 else _dot(_swap_last(a), gz)
            return outer(a, gz) if a.ndim == 1 else _dot(_swap_last(a), gz)

        return _bilinear_grads(self, inputs, outputs, ga, gb)

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        return _bilinear_rop(self, inputs, eval_points)


_dot = Dot()


def _normalize_axes(axes: Sequence[Any], ndim: int, which: str) -> tuple[int, ...]:
    out = []
    for ax in axes:
        if isinstance(ax, bool) or not isinstance(ax, (int, np.integer)):
            raise TypeError(f"tensordot: axes of {which} must be ints, got {ax!r}")
        if not -ndim <= ax < ndim:
            raise ValueError(
                f"tensordot: axis {ax} is out of range for {which}, a {ndim}-d input"
            )
        out.append(int(ax) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"tensordot: axes {tuple(axes)} of {which} repeat an axis")
    return tuple(out)


class TensorDot(Op):
    """``np.tensordot(a, b, axes)``: sum over pairs of axes.

    ``axes`` is a pair of equal-length tuples of non-negative axes.  The
    output has ``a``'s free axes then ``b``'s, each in order.
    """

    __props__ = ("axes",)

    def __init__(self, axes: tuple[Sequence[int], Sequence[int]]) -> None:
        a_axes, b_axes = axes
        self.axes = (tuple(int(i) for i in a_axes), tuple(int(i) for i in b_axes))
        if len(self.axes[0]) != len(self.axes[1]):
            raise ValueError(
                f"tensordot: {len(self.axes[0])} axes of the first input but "
                f"{len(self.axes[1])} of the second; give as many of each"
            )

    def make_node(self, a: Any, b: Any) -> Apply:
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        a_axes = _normalize_axes(self.axes[0], a.ndim, "the first input")
        b_axes = _normalize_axes(self.axes[1], b.ndim, "the second input")
        if (a_axes, b_axes) != self.axes:
            return TensorDot((a_axes, b_axes)).make_node(a, b)
        _check_static("tensordot", a, b, list(zip(a_axes, b_axes, strict=True)),
                      "check the axes argument")
        shape = tuple(s for i, s in enumerate(a.type.shape) if i not in a_axes)
        shape += tuple(s for i, s in enumerate(b.type.shape) if i not in b_axes)
        out = TensorType(_out_dtype(a, b), shape=shape).make_variable()
        return Apply(self, [a, b], [out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        a, b = inputs
        _check_run("tensordot", a, b, list(zip(*self.axes, strict=True)))
        result = np.tensordot(a, b, axes=(list(self.axes[0]), list(self.axes[1])))
        output_storage[0][0] = _typed(result, node)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        sa, sb = input_shapes
        return [tuple(s for i, s in enumerate(sa) if i not in self.axes[0])
                + tuple(s for i, s in enumerate(sb) if i not in self.axes[1])]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # da: contract gz with b over b's free axes, then put a's axes in order
        # (the result holds a's free axes, then a's contracted axes in the
        # order of their partners in b); db likewise
        a, b = inputs
        (gz,) = output_grads
        a_ax, b_ax = self.axes
        a_free = [i for i in range(a.ndim) if i not in a_ax]
        b_free = [i for i in range(b.ndim) if i not in b_ax]
        nfa = len(a_free)
        gz_b = list(range(nfa, nfa + len(b_free)))

        def ga() -> Any:
            res = tensordot(gz, b, [gz_b, b_free])
            order = sorted(b_ax)
            pos = {i: k for k, i in enumerate(a_free)}
            pairs = zip(a_ax, b_ax, strict=True)
            pos.update({i: nfa + order.index(j) for i, j in pairs})
            return dimshuffle(res, [pos[i] for i in range(a.ndim)])

        def gb() -> Any:
            res = tensordot(a, gz, [a_free, list(range(nfa))])
            order = sorted(a_ax)
            pos = {j: len(a_ax) + k for k, j in enumerate(b_free)}
            pairs = zip(a_ax, b_ax, strict=True)
            pos.update({j: order.index(i) for i, j in pairs})
            return dimshuffle(res, [pos[j] for j in range(b.ndim)])

        return _bilinear_grads(self, inputs, outputs, ga, gb)

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        return _bilinear_rop(self, inputs, eval_points)


def _axes_pair(axes: Any, a_ndim: int, b_ndim: int, offset: int,
               what: str) -> tuple[list[int], list[int]]:
    """``axes`` (an int n or a pair of axis lists) as two axis lists."""
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        n = int(axes)
        if n < 0 or n > a_ndim - offset or n > b_ndim - offset:
            raise ValueError(
                f"{what}: axes={n} needs at least {n + offset} dimensions in both "
                f"inputs, got {a_ndim} and {b_ndim}"
            )
        return (list(range(a_ndim - n, a_ndim)),
                list(range(offset, offset + n)))
    try:
        a_axes, b_axes = axes
    except (TypeError, ValueError):
        raise TypeError(
            f"{what}: axes must be an int or a pair of axis lists, got {axes!r}"
        ) from None
    a_list = [a_axes] if isinstance(a_axes, (int, np.integer)) else list(a_axes)
    b_list = [b_axes] if isinstance(b_axes, (int, np.integer)) else list(b_axes)
    if len(a_list) != len(b_list):
        raise ValueError(
            f"{what}: {len(a_list)} axes for the first input but {len(b_list)} for "
            "the second; give as many of each"
        )
    return [int(i) for i in a_list], [int(i) for i in b_list]


def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    """Sum products over pairs of axes, as ``np.tensordot``.

    ``axes`` is an int ``n`` (the last ``n`` axes of ``a`` with the first
    ``n`` of ``b``) or a pair of axis lists.

    Examples
    --------
    >>> import numpy as np
    >>> import symarray.tensor as T
    >>> a, b = T.dtensor3("a"), T.dmatrix("b")
    >>> out = T.tensordot(a, b, axes=[[1, 2], [0, 1]])
    >>> out.eval({a: np.ones((2, 3, 4)), b: np.ones((3, 4))}).tolist()
    [12.0, 12.0]
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    a_axes, b_axes = _axes_pair(axes, a.ndim, b.ndim, 0, "tensordot")
    a_axes = list(_normalize_axes(a_axes, a.ndim, "the first input"))
    b_axes = list(_normalize_axes(b_axes, b.ndim, "the second input"))
    if (1 <= a.ndim <= 2 and 1 <= b.ndim <= 2 and a_axes == [a.ndim - 1]
            and b_axes == [0]):
        return _dot(a, b)
    return TensorDot((a_axes, b_axes))(a, b)


def dot(a: Any, b: Any) -> Any:
    """The dot product with ``np.dot``'s meaning.

    Vectors and matrices use :class:`Dot`; a 0-d operand multiplies; higher
    ranks contract the last axis of ``a`` with the second-to-last of ``b``.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x, y = T.dmatrix("x"), T.dvector("y")
    >>> T.dot(x, y).eval({x: [[1.0, 2.0], [3.0, 4.0]], y: [1.0, 1.0]}).tolist()
    [3.0, 7.0]
    """
    for x in (a, b):
        if isinstance(x, Variable) and not isinstance(x.type, TensorType):
            # another type family's own product (sparse.dot), as Theano did
            other: Any = x
            return other.__matmul__(b) if x is a else other.__rmatmul__(a)
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        mul = ELEMWISE_OPS["mul"]

        return mul(a, b)
    if a.ndim <= 2 and b.ndim <= 2:
        return _dot(a, b)
    return TensorDot(([a.ndim - 1], [b.ndim - 2 if b.ndim >= 2 else 0]))(a, b)


def outer(x: Any, y: Any) -> Any:
    """Outer product of two vectors (other ranks are flattened first).

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x, y = T.dvector("x"), T.dvector("y")
    >>> T.outer(x, y).eval({x: [1.0, 2.0], y: [3.0, 4.0]}).tolist()
    [[3.0, 4.0], [6.0, 8.0]]
    """
    mul = ELEMWISE_OPS["mul"]

    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if x.ndim != 1:
        x = x.flatten()
    if y.ndim != 1:
        y = y.flatten()
    return mul(dimshuffle(x, (0, "x")), dimshuffle(y, ("x", 0)))


def _batch_static(what: str, a: Any, b: Any) -> int | None:
    la, lb = a.type.shape[0], b.type.shape[0]
    if la is not None and lb is not None and la != lb:
        raise ShapeMismatchError(
            f"{what}: batch lengths differ: {la} (first input "
            f"{_shape_str(a.type.shape)}) and {lb} (second input "
            f"{_shape_str(b.type.shape)}); both need the same first dimension"
        )
    return la if la is not None else lb


def _batch_run(what: str, a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> None:
    if a.shape[0] != b.shape[0]:
        raise ShapeMismatchError(
            f"{what}: batch lengths differ: shapes {a.shape} and {b.shape}; both "
            "need the same first dimension"
        )


class BatchedDot(Op):
    """``out[i] = dot(a[i], b[i])`` for 2-d or 3-d ``a`` and ``b``.

    A 2-d input is a batch of vectors, a 3-d one a batch of matrices.
    """

    __props__ = ()

    def make_node(self, a: Any, b: Any) -> Apply:
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        for i, t in enumerate((a, b)):
            if t.ndim not in (2, 3):
                raise RankError(
                    f"BatchedDot: input {i} must be 2-d or 3-d, got {t.type}; use "
                    "T.batched_dot, which handles other ranks"
                )
        batch = _batch_static("batched_dot", a, b)
        _check_static("batched_dot", a, b, [(a.ndim - 1, 1)],
                      "transpose the last two axes of one input if they are swapped")
        shape = (batch,) + a.type.shape[1:-1] + b.type.shape[2:]
        out = TensorType(_out_dtype(a, b), shape=shape).make_variable()
        return Apply(self, [a, b], [out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        a, b = inputs
        _batch_run("batched_dot", a, b)
        _check_run("batched_dot", a, b, [(a.ndim - 1, 1)])
        dtype = tensor_type(node.outputs[0]).dtype
        a3 = a[:, None, :] if a.ndim == 2 else a
        b3 = b[:, :, None] if b.ndim == 2 else b
        result = np.matmul(a3.astype(dtype, copy=False), b3.astype(dtype, copy=False))
        if b.ndim == 2:
            result = result[:, :, 0]
        if a.ndim == 2:
            result = result[:, 0]
        output_storage[0][0] = _typed(result, node)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        sa, sb = input_shapes
        batch = tensor_type(node.outputs[0]).shape[0]
        return [(sa[0] if batch is None else batch,) + tuple(sa[1:-1]) + tuple(sb[2:])]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # Dot's rules slice by slice: da[i] = gz[i] . b[i]^T, db[i] = a[i]^T . gz[i]
        mul = ELEMWISE_OPS["mul"]
        a, b = inputs
        (gz,) = output_grads

        def ga() -> Any:
            if a.ndim == 2:
                if b.ndim == 2:
                    return mul(dimshuffle(gz, (0, "x")), b)
                return _batched_dot(b, gz)
            if b.ndim == 2:
                return mul(dimshuffle(gz, (0, 1, "x")), dimshuffle(b, (0, "x", 1)))
            return _batched_dot(gz, _swap_last(b))

        def gb() -> Any:
            if b.ndim == 2:
                if a.ndim == 2:
                    return mul(dimshuffle(gz, (0, "x")), a)
                return _batched_dot(_swap_last(a), gz)
            if a.ndim == 2:
                return mul(dimshuffle(a, (0, 1, "x")), dimshuffle(gz, (0, "x", 1)))
            return _batched_dot(_swap_last(a), gz)

        return _bilinear_grads(self, inputs, outputs, ga, gb)

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        return _bilinear_rop(self, inputs, eval_points)


_batched_dot = BatchedDot()


class BatchedTensorDot(Op):
    """``out[i] = tensordot(a[i], b[i], axes)`` over a leading batch axis.

    ``axes`` holds the contracted axes of ``a`` and of ``b`` counted with the
    batch axis (so never 0).
    """

    __props__ = ("axes",)

    def __init__(self, axes: tuple[Sequence[int], Sequence[int]]) -> None:
        self.axes = (tuple(int(i) for i in axes[0]), tuple(int(i) for i in axes[1]))

    def make_node(self, a: Any, b: Any) -> Apply:
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        for i, t in enumerate((a, b)):
            if t.ndim < 1:
                raise RankError(
                    f"batched_tensordot: input {i} needs a batch axis, got {t.type}"
                )
        a_axes = _normalize_axes(self.axes[0], a.ndim, "the first input")
        b_axes = _normalize_axes(self.axes[1], b.ndim, "the second input")
        if 0 in a_axes or 0 in b_axes:
            raise ValueError(
                "batched_tensordot: axis 0 is the batch axis and cannot be summed "
                f"over, got axes {self.axes}"
            )
        if (a_axes, b_axes) != self.axes:
            return BatchedTensorDot((a_axes, b_axes)).make_node(a, b)
        batch = _batch_static("batched_tensordot", a, b)
        _check_static("batched_tensordot", a, b,
                      list(zip(a_axes, b_axes, strict=True)),
                      "check the axes argument")
        shape = (batch,) + self._free(a.type.shape, b.type.shape)
        out = TensorType(_out_dtype(a, b), shape=shape).make_variable()
        return Apply(self, [a, b], [out])

    def _free(self, sa: Sequence[Any], sb: Sequence[Any]) -> tuple[Any, ...]:
        return (tuple(s for i, s in enumerate(sa) if i and i not in self.axes[0])
                + tuple(s for i, s in enumerate(sb) if i and i not in self.axes[1]))

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        a, b = inputs
        _batch_run("batched_tensordot", a, b)
        _check_run("batched_tensordot", a, b, list(zip(*self.axes, strict=True)))
        letters = iter(string.ascii_letters)
        batch = next(letters)
        a_sub = [batch] + [next(letters) for _ in range(a.ndim - 1)]
        b_sub = [batch] + [next(letters) for _ in range(b.ndim - 1)]
        for ia, ib in zip(*self.axes, strict=True):
            b_sub[ib] = a_sub[ia]
        out_sub = [batch]
        out_sub += [c for i, c in enumerate(a_sub) if i and i not in self.axes[0]]
        out_sub += [c for i, c in enumerate(b_sub) if i and i not in self.axes[1]]
        dtype = tensor_type(node.outputs[0]).dtype
        spec = f"{''.join(a_sub)},{''.join(b_sub)}->{''.join(out_sub)}"
        result = np.einsum(spec, a.astype(dtype, copy=False),
                           b.astype(dtype, copy=False), optimize=True)
        output_storage[0][0] = _typed(result, node)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        sa, sb = input_shapes
        batch = tensor_type(node.outputs[0]).shape[0]
        return [(sa[0] if batch is None else batch,) + self._free(sa, sb)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # TensorDot's rule with the batch axis carried along in front
        a, b = inputs
        (gz,) = output_grads
        a_ax, b_ax = self.axes
        a_free = [i for i in range(1, a.ndim) if i not in a_ax]
        b_free = [i for i in range(1, b.ndim) if i not in b_ax]
        nfa = len(a_free)

        def ga() -> Any:
            gz_b = list(range(1 + nfa, 1 + nfa + len(b_free)))
            res = BatchedTensorDot((gz_b, b_free))(gz, b)
            order = sorted(b_ax)
            pos = {0: 0, **{i: 1 + k for k, i in enumerate(a_free)}}
            pairs = zip(a_ax, b_ax, strict=True)
            pos.update({i: 1 + nfa + order.index(j) for i, j in pairs})
            return dimshuffle(res, [pos[i] for i in range(a.ndim)])

        def gb() -> Any:
            res = BatchedTensorDot((a_free, list(range(1, 1 + nfa))))(a, gz)
            order = sorted(a_ax)
            pos = {0: 0, **{j: 1 + len(a_ax) + k for k, j in enumerate(b_free)}}
            pairs = zip(a_ax, b_ax, strict=True)
            pos.update({j: 1 + order.index(i) for i, j in pairs})
            return dimshuffle(res, [pos[j] for j in range(b.ndim)])

        return _bilinear_grads(self, inputs, outputs, ga, gb)

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        return _bilinear_rop(self, inputs, eval_points)


def batched_tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    """``tensordot`` of matching slices along the first (batch) axis.

    ``axes`` is an int ``n`` (the last ``n`` axes of ``a`` with axes ``1..n``
    of ``b``) or a pair of axis lists counted with the batch axis.
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    a_axes, b_axes = _axes_pair(axes, a.ndim, b.ndim, 1, "batched_tensordot")
    return BatchedTensorDot((a_axes, b_axes))(a, b)


def batched_dot(a: Any, b: Any) -> Any:
    """``out[i] = dot(a[i], b[i])`` along the first (batch) axis, as Theano.

    A 1-d input scales the other's slices; 2-d and 3-d inputs use
    :class:`BatchedDot`; higher ranks contract the last axis of ``a`` with
    axis ``max(1, b.ndim - 2)`` of ``b``.

    Examples
    --------
    >>> import numpy as np
    >>> import symarray.tensor as T
    >>> a, b = T.dtensor3("a"), T.dtensor3("b")
    >>> out = T.batched_dot(a, b)
    >>> out.eval({a: np.ones((5, 2, 3)), b: np.ones((5, 3, 4))}).shape
    (5, 2, 4)
    """
    mul = ELEMWISE_OPS["mul"]

    a, b = as_tensor_variable(a), as_tensor_variable(b)
    for i, t in enumerate((a, b)):
        if t.ndim == 0:
            raise RankError(
                f"batched_dot: input {i} must have a batch axis, got the 0-d {t}; "
                "use T.mul for scalars"
            )
    if a.ndim == 1:
        return mul(dimshuffle(a, (0,) + ("x",) * (b.ndim - 1)), b)
    if b.ndim == 1:
        return mul(a, dimshuffle(b, (0,) + ("x",) * (a.ndim - 1)))
    if a.ndim > 3 or b.ndim > 3:
        return BatchedTensorDot(([a.ndim - 1], [max(1, b.ndim - 2)]))(a, b)
    return _batched_dot(a, b)


class Matmul(Op):
    """``np.matmul``: matrix product broadcasting over leading batch axes.

    A 1-d first input is a row vector, a 1-d second one a column vector; the
    added axis is dropped from the result.
    """

    __props__ = ()

    def make_node(self, a: Any, b: Any) -> Apply:
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        for i, t in enumerate((a, b)):
            if t.ndim == 0:
                raise RankError(
                    f"matmul: input {i} must have at least 1 dimension, got the 0-d "
                    f"{t}; use T.mul (or *) to scale by a scalar"
                )
        _check_static("matmul", a, b, [(a.ndim - 1, 0 if b.ndim == 1 else b.ndim - 2)],
                      "transpose one input (swap its last two axes) if you meant that")
        batch = self._batch_static(a.type.shape, b.type.shape)
        shape = batch + (a.type.shape[-2:-1] if a.ndim > 1 else ()) + (
            b.type.shape[-1:] if b.ndim > 1 else ())
        out = TensorType(_out_dtype(a, b), shape=shape).make_variable()
        return Apply(self, [a, b], [out])

    @staticmethod
    def _batch_static(sa: tuple[Any, ...], sb: tuple[Any, ...]) -> tuple[Any, ...]:
        ba, bb = sa[:-2], sb[:-2]
        n = max(len(ba), len(bb))
        ba = (1,) * (n - len(ba)) + tuple(ba)
        bb = (1,) * (n - len(bb)) + tuple(bb)
        return broadcast_static_shape([ba, bb], "matmul batch dimensions")

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        a, b = inputs
        _check_run("matmul", a, b, [(a.ndim - 1, 0 if b.ndim == 1 else b.ndim - 2)])
        try:
            result = np.matmul(a, b)
        except ValueError as err:
            raise ShapeMismatchError(
                f"matmul: batch dimensions of shapes {a.shape} and {b.shape} do not "
                f"broadcast ({err})"
            ) from None
        output_storage[0][0] = _typed(result, node)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        maximum = ELEMWISE_OPS["maximum"]

        sa, sb = (tuple(s) for s in input_shapes)
        a_type, b_type = (tensor_type(v) for v in node.inputs)
        static = tensor_type(node.outputs[0]).shape
        nb = max(a_type.ndim - 2, b_type.ndim - 2, 0)
        pa = ((1,) * nb + sa[:-2])[-nb:] if nb else ()
        pb = ((1,) * nb + sb[:-2])[-nb:] if nb else ()
        ta = ((1,) * nb + a_type.shape[:-2])[-nb:] if nb else ()
        tb = ((1,) * nb + b_type.shape[:-2])[-nb:] if nb else ()
        batch: list[Any] = []
        for d in range(nb):
            if static[d] is not None:
                batch.append(static[d])
                continue
            cands = [p[d] for p, t in ((pa, ta), (pb, tb)) if t[d] != 1]
            batch.append(cands[0] if len(cands) == 1 else maximum(*cands))
        tail = ((sa[-2:-1] if a_type.ndim > 1 else ())
                + (sb[-1:] if b_type.ndim > 1 else ()))
        return [tuple(batch) + tuple(tail)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # with 1-d inputs promoted to matrices: da = gz @ b^T, db = a^T @ gz,
        # summed over the batch axes each input was broadcast along
        a, b = inputs
        (gz,) = output_grads
        a2 = a if a.ndim > 1 else dimshuffle(a, ("x", 0))
        b2 = b if b.ndim > 1 else dimshuffle(b, (0, "x"))
        n_batch = gz.ndim - (a.ndim > 1) - (b.ndim > 1)
        dims = iter(range(gz.ndim))
        pattern: list[Any] = [next(dims) for _ in range(n_batch)]
        pattern.append("x" if a.ndim == 1 else next(dims))
        pattern.append("x" if b.ndim == 1 else next(dims))
        gz2 = dimshuffle(gz, pattern)

        def ga() -> Any:
            g = _unbroadcast(_matmul(gz2, _swap_last(b2)), a2)
            return g if a.ndim > 1 else dimshuffle(g, (1,))

        def gb() -> Any:
            g = _unbroadcast(_matmul(_swap_last(a2), gz2), b2)
            return g if b.ndim > 1 else dimshuffle(g, (0,))

        return _bilinear_grads(self, inputs, outputs, ga, gb)

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        return _bilinear_rop(self, inputs, eval_points)


def _unbroadcast(g: Any, x: Any) -> Any:
    """Sum ``g`` over the batch axes ``x`` was broadcast along (leading axes
    ``x`` lacks, and axes of static length 1 in ``x``), so it fits ``x``."""
    from symarray.tensor.reduction import sum as sum_

    extra = g.ndim - x.ndim
    if extra:
        g = sum_(g, axis=list(range(extra)))
    axes = [d for d in range(x.ndim - 2)
            if x.type.shape[d] == 1 and g.type.shape[d] != 1]
    return sum_(g, axis=axes, keepdims=True) if axes else g


_matmul = Matmul()


def matmul(a: Any, b: Any) -> Any:
    """Matrix product with ``np.matmul``'s meaning (batch axes broadcast).

    Examples
    --------
    >>> import numpy as np
    >>> import symarray.tensor as T
    >>> a, b = T.dtensor3("a"), T.dmatrix("b")
    >>> T.matmul(a, b).eval({a: np.ones((5, 2, 3)), b: np.ones((3, 4))}).shape
    (5, 2, 4)
    """
    return _matmul(a, b)
