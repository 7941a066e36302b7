"""Sparse arithmetic: ``add``, ``sub``, ``mul``, ``sp_sum``, row/column scaling.

``add`` and ``mul`` pick the op from their operands' kinds (Theano's
rules):

=================  =======  =============================  ==================
operands           op       result                         gradient (sparse)
=================  =======  =============================  ==================
sparse + sparse    AddSS    sparse                         regular
sparse + dense     AddSD    dense                          structured
sparse * sparse    MulSS    sparse (common positions)      regular
sparse * dense     MulSD    sparse (the sparse positions)  regular
=================  =======  =============================  ==================

A dense operand of ``AddSD``/``MulSD`` may be a scalar, a vector (one
value per column) or a matrix whose dimensions of static length 1
broadcast; ``row_scale``/``col_scale`` are ``MulSD`` with a column or row
vector.  Two dense operands fall back to the tensor ops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.errors import RankError, ShapeMismatchError
from symarray.graph.basic import Apply, Op, Variable
from symarray.scalar.basic import result_dtype
from symarray.sparse.basic import (
    DenseFromSparse,
    _check_dtype,
    _SameShapeOp,
    _shape_of,
    add_tangents,
    as_result,
    as_sparse_or_tensor_variable,
    as_sparse_variable,
    dense_grad,
    grad_like,
    sp_ones_like,
    sp_zeros_like,
    sparse_shape,
)
from symarray.sparse.type import SparseType, is_sparse_variable
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.type import TensorType

__all__ = ["AddSS", "AddSD", "MulSS", "MulSD", "SpSum", "add", "sub", "mul",
           "sp_sum", "row_scale", "col_scale", "mul_s_v"]


def _out_dtype(x: Any, y: Any, where: str) -> str:
    weak = bool(getattr(y, "weak", False))
    dtype = result_dtype([x.type.dtype, y.type.dtype], [False, weak])
    _check_dtype(dtype, where)
    return dtype


def _dense_operand(y: Any, where: str) -> Variable:
    """A dense operand of rank 0, 1 or 2 (broadcast against the matrix)."""
    y = as_tensor_variable(y)
    if y.type.ndim > 2:
        raise RankError(
            f"{where}: the dense operand must have at most 2 dimensions, got "
            f"{y} of type {y.type}"
        )
    return y


def _broadcast_check(where: str, yt: TensorType, y: Any, shape: tuple[int, int]
                     ) -> None:
    """The dense operand must match the matrix except in dimensions its type
    marks broadcastable (static length 1)."""
    pad = (1,) * (2 - yt.ndim)
    static = pad + tuple(yt.shape)
    got = pad + tuple(np.shape(y))
    for d in range(2):
        if got[d] != shape[d] and static[d] != 1:
            raise ShapeMismatchError(
                f"{where}: dense operand of shape {np.shape(y)} does not match the "
                f"sparse matrix of shape {shape} in dimension {d}; give it static "
                "length 1 there to broadcast (e.g. v.dimshuffle(0, 'x'))"
            )


def _reduce_to(p: Any, y: Variable) -> Any:
    """The sparse product ``p`` (shaped like the matrix) summed to ``y``'s
    shape: the gradient of a dense operand that was broadcast."""
    yt: Any = y.type
    if yt.ndim == 0:
        return sp_sum(p)
    if yt.ndim == 1:
        return sp_sum(p, axis=0)
    rows_b, cols_b = yt.broadcastable
    if rows_b and cols_b:
        return sp_sum(p).dimshuffle("x", "x")
    if rows_b:
        return sp_sum(p, axis=0).dimshuffle("x", 0)
    if cols_b:
        return sp_sum(p, axis=1).dimshuffle(0, "x")
    return dense_grad(p)


def _fit_dense(g: Any, y: Any) -> Any:
    from symarray.tensor.elemwise import cast

    dtype = y.type.dtype
    return g if g.type.dtype == dtype else cast(g, dtype)


def _is_float(v: Variable) -> bool:
    return str(getattr(v.type, "dtype", "")).startswith(("float", "complex"))


def _product_rule(op: Op, inputs: Sequence[Any], eval_points: Sequence[Any]
                  ) -> Any:
    """The R_op tangent of a bilinear ``op``: ``op(dx, y) + op(x, dy)``."""
    (x, y), (ex, ey) = inputs, eval_points
    return add_tangents([None if ex is None else op(ex, y),
                         None if ey is None else op(x, ey)])


# -- shared by add and mul ----------------------------------------------------
class _SparseSparseOp(_SameShapeOp):
    """Base of the elementwise ops on two sparse matrices of one shape; the
    result is sparse in the first operand's format."""

    #: the name errors use
    where = ""

    def combine(self, x: Any, y: Any) -> Any:
        """The scipy.sparse result of the op on the values ``x`` and ``y``."""
        raise NotImplementedError

    def make_node(self, x: Any, y: Any) -> Apply:
        x, y = as_sparse_variable(x), as_sparse_variable(y)
        dtype = _out_dtype(x, y, self.where)
        return Apply(self, [x, y], [SparseType(x.type.format, dtype)()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x, y = inputs
        if x.shape != y.shape:
            raise ShapeMismatchError(
                f"{self.where}: shapes {x.shape} and {y.shape} differ"
            )
        out: Any = node.outputs[0].type
        output_storage[0][0] = as_result(self.combine(x, y), out.format, out.dtype)


def _by_operand_kinds(x: Any, y: Any, both: type[Op], sparse_dense: type[Op],
                      dense_name: str) -> Any:
    """``x (op) y`` for a commutative op: ``both`` for two sparse operands,
    ``sparse_dense`` with the sparse operand first for one, the tensor op
    ``dense_name`` for none."""
    x, y = as_sparse_or_tensor_variable(x), as_sparse_or_tensor_variable(y)
    xs, ys = is_sparse_variable(x), is_sparse_variable(y)
    if xs and ys:
        return both()(x, y)
    if xs:
        return sparse_dense()(x, y)
    if ys:
        return sparse_dense()(y, x)
    from symarray.tensor.math import ELEMWISE_OPS

    return ELEMWISE_OPS[dense_name](x, y)


# -- addition ------------------------------------------------------------------
class AddSS(_SparseSparseOp):
    """sparse + sparse -> sparse (the first operand's format)."""

    where = "sparse add"

    def combine(self, x: Any, y: Any) -> Any:
        return x + y

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        gz = output_grads[0]
        return [grad_like(gz, v) if _is_float(v) else None for v in inputs]

    def R_op(self, inputs: list[Any], eval_points: list[Any]  # noqa: N802
             ) -> list[Any]:
        return [add_tangents(eval_points)]


class AddSD(_SameShapeOp):
    """sparse + dense -> dense; the gradient w.r.t. the sparse operand is
    structured (Theano's rule), the dense one's is summed over broadcast
    dimensions."""

    def make_node(self, x: Any, y: Any) -> Apply:
        x = as_sparse_variable(x)
        y = _dense_operand(y, "sparse add")
        dtype = _out_dtype(x, y, "sparse add")
        return Apply(self, [x, y], [TensorType(dtype, shape=(None, None))()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x, y = inputs
        yt: Any = node.inputs[1].type
        out_type: Any = node.outputs[0].type
        _broadcast_check("sparse add", yt, y, x.shape)
        dtype = out_type.dtype
        out = np.array(np.broadcast_to(y, x.shape), dtype=dtype)
        coo = x.tocoo()
        np.add.at(out, (coo.row, coo.col), coo.data.astype(dtype, copy=False))
        output_storage[0][0] = out

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        x, y = inputs
        gz = output_grads[0]
        gx = grad_like(mul(sp_ones_like(x), gz), x) if _is_float(x) else None
        gy = None
        if _is_float(y):
            from symarray.tensor.reduction import sum as tensor_sum

            yt = y.type
            if yt.ndim == 0:
                gy = tensor_sum(gz)
            elif yt.ndim == 1:
                gy = tensor_sum(gz, axis=0)
            else:
                axes = [d for d in range(2) if yt.broadcastable[d]]
                gy = tensor_sum(gz, axis=axes, keepdims=True) if axes else gz
            gy = _fit_dense(gy, y)
        return [gx, gy]

    def R_op(self, inputs: list[Any], eval_points: list[Any]  # noqa: N802
             ) -> list[Any]:
        x, _ = inputs
        ex, ey = eval_points
        # d(x + y) = dx + dy, dense; dy broadcast to x's shape by AddSD
        tx = None if ex is None else DenseFromSparse(False)(ex)
        ty = None if ey is None else AddSD()(sp_zeros_like(x), ey)
        return [add_tangents([tx, ty])]


def add(x: Any, y: Any) -> Any:
    """``x + y`` with at least one sparse operand (see the module table).

    >>> import numpy as np, scipy.sparse as sp, symarray.sparse as S
    >>> x, y = S.csr_matrix("x", "float64"), S.csr_matrix("y", "float64")
    >>> S.add(x, y).eval({x: sp.eye(2, format="csr"),
    ...                   y: sp.eye(2, format="csr")}).toarray().tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """
    return _by_operand_kinds(x, y, AddSS, AddSD, "add")


def sub(x: Any, y: Any) -> Any:
    """``x - y`` with at least one sparse operand (``add(x, -y)``)."""
    from symarray.sparse.elemwise import neg

    return add(x, neg(as_sparse_or_tensor_variable(y)))


# -- multiplication ------------------------------------------------------------
class MulSS(_SparseSparseOp):
    """Elementwise sparse * sparse -> sparse, stored where both are."""

    where = "sparse mul"

    def combine(self, x: Any, y: Any) -> Any:
        return x.multiply(y)

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        x, y = inputs
        gz = output_grads[0]
        return [grad_like(mul(gz, y), x) if _is_float(x) else None,
                grad_like(mul(gz, x), y) if _is_float(y) else None]

    def R_op(self, inputs: list[Any], eval_points: list[Any]  # noqa: N802
             ) -> list[Any]:
        return [_product_rule(self, inputs, eval_points)]


class MulSD(_SameShapeOp):
    """Elementwise sparse * dense -> sparse, stored where the sparse operand
    is.  The dense operand broadcasts (scalar, row vector, or matrix with
    static-length-1 dimensions)."""

    def make_node(self, x: Any, y: Any) -> Apply:
        x = as_sparse_variable(x)
        y = _dense_operand(y, "sparse mul")
        dtype = _out_dtype(x, y, "sparse mul")
        return Apply(self, [x, y], [SparseType(x.type.format, dtype)()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x, y = inputs
        yt: Any = node.inputs[1].type
        _broadcast_check("sparse mul", yt, y, x.shape)
        out: Any = node.outputs[0].type
        output_storage[0][0] = as_result(x.multiply(np.asarray(y)), out.format,
                                         out.dtype)

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        x, y = inputs
        gz = output_grads[0]
        gx = grad_like(mul(gz, y), x) if _is_float(x) else None
        gy = _fit_dense(_reduce_to(mul(gz, x), y), y) if _is_float(y) else None
        return [gx, gy]

    def R_op(self, inputs: list[Any], eval_points: list[Any]  # noqa: N802
             ) -> list[Any]:
        return [_product_rule(self, inputs, eval_points)]


def mul(x: Any, y: Any) -> Any:
    """Elementwise ``x * y`` with at least one sparse operand (see the
    module table); a scalar scales the stored values.

    >>> import numpy as np, scipy.sparse as sp, symarray.sparse as S
    >>> x = S.csr_matrix("x", "float64")
    >>> (x * 3.0).eval({x: sp.eye(2, format="csr")}).toarray().tolist()
    [[3.0, 0.0], [0.0, 3.0]]
    """
    return _by_operand_kinds(x, y, MulSS, MulSD, "mul")


def row_scale(x: Any, s: Any) -> Any:
    """Row ``i`` of the sparse ``x`` times ``s[i]`` (``s`` a dense vector)."""
    s = as_tensor_variable(s)
    if s.type.ndim != 1:
        raise RankError(f"row_scale: s must be a vector, got {s.type}")
    return MulSD()(x, s.dimshuffle(0, "x"))


def col_scale(x: Any, s: Any) -> Any:
    """Column ``j`` of the sparse ``x`` times ``s[j]`` (``s`` a dense vector)."""
    s = as_tensor_variable(s)
    if s.type.ndim != 1:
        raise RankError(f"col_scale: s must be a vector, got {s.type}")
    return MulSD()(x, s)


mul_s_v = col_scale


# -- reduction ---------------------------------------------------------------
class SpSum(Op):
    """The sum of a sparse matrix (all of it, or along ``axis``) as a dense
    scalar or vector of its dtype.  ``sparse_grad`` keeps the gradient on
    the stored positions."""

    __props__ = ("axis", "sparse_grad")

    def __init__(self, axis: int | None = None, sparse_grad: bool = False) -> None:
        if axis not in (None, 0, 1):
            raise ValueError(f"sp_sum: axis must be None, 0 or 1, got {axis!r}")
        self.axis = axis
        self.sparse_grad = bool(sparse_grad)

    def make_node(self, x: Any) -> Apply:
        x = as_sparse_variable(x)
        shape: tuple[None, ...] = () if self.axis is None else (None,)
        return Apply(self, [x], [TensorType(x.type.dtype, shape=shape)()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        out_type: Any = node.outputs[0].type
        dtype = out_type.dtype
        total = inputs[0].sum(axis=self.axis, dtype=dtype)
        output_storage[0][0] = np.asarray(total, dtype=dtype).reshape(
            () if self.axis is None else -1)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[tuple[Any, ...]]:
        if self.axis is None:
            return [()]
        rows, cols = _shape_of(node.inputs[0], input_shapes[0])
        return [(cols,) if self.axis == 0 else (rows,)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        (x,) = inputs
        if not _is_float(x):
            return [None]
        gz = output_grads[0]
        if self.axis == 1:
            gz = gz.dimshuffle(0, "x")  # one value per row
        if self.sparse_grad:
            return [grad_like(mul(sp_ones_like(x), gz), x)]
        from symarray.tensor.alloc import alloc

        shape = sparse_shape(x)
        return [grad_like(alloc(gz, shape[0], shape[1]), x)]

    def R_op(self, inputs: list[Any], eval_points: list[Any]  # noqa: N802
             ) -> list[Any]:
        return [None if eval_points[0] is None else self(eval_points[0])]


def sp_sum(x: Any, axis: int | None = None, sparse_grad: bool = False) -> Any:
    """The sum of the sparse ``x`` (``axis`` None, 0 or 1) as a dense value.

    >>> import scipy.sparse as sp, symarray.sparse as S
    >>> x = S.csr_matrix("x", "float64")
    >>> S.sp_sum(x, axis=0).eval({x: sp.eye(2, format="csr")}).tolist()
    [1.0, 1.0]
    """
    return SpSum(axis, sparse_grad)(x)
