"""Matrix products with sparse operands: ``structured_dot``, ``dot``,
``sampling_dot``.

* :func:`structured_dot` (``StructuredDot``): sparse times dense (or
  sparse).  Its gradient w.r.t. a sparse operand is *structured*: only the
  stored positions get a value, computed by :func:`sampling_dot` without
  forming the dense ``gz @ y.T``.  Use it for sparse inputs of a model
  (bag-of-words features): the gradient costs O(nnz * k).
* :func:`dot` (``Dot``): the regular product of a sparse and a dense, or two
  sparse matrices (then the result is sparse).  Its gradient w.r.t. a
  sparse operand is the full gradient (stored as a sparse matrix).
* :func:`sampling_dot` (``SamplingDot``): ``p * (x @ y.T)`` computed only at
  the stored positions of the sparse ``p`` (Theano's interface: ``y`` is
  ``n x k`` like ``x``).

A dense operand may be a vector; the functions reshape it to a matrix and
the result back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from symarray.errors import RankError, ShapeMismatchError
from symarray.graph.basic import Apply, Op, Variable
from symarray.sparse.basic import (
    _check_dtype,
    _shape_of,
    as_result,
    as_sparse_or_tensor_variable,
    as_sparse_variable,
    canonical,
    dense_grad,
    grad_like,
    sp_ones_like,
    stored_positions,
    transpose,
)
from symarray.sparse.math import _product_rule, mul
from symarray.sparse.type import FORMATS, SparseType, is_sparse_variable
from symarray.tensor.type import TensorType

__all__ = ["StructuredDot", "Dot", "SamplingDot", "structured_dot", "dot",
           "true_dot", "sampling_dot"]


def _operand(v: Any, where: str) -> Variable:
    v = as_sparse_or_tensor_variable(v)
    if not is_sparse_variable(v) and v.type.ndim != 2:
        raise RankError(
            f"{where}: expected a matrix, got {v} of type {v.type}; vectors are "
            "reshaped by the sparse.dot / sparse.structured_dot functions"
        )
    return v


def _dtype(*vs: Any) -> str:
    dtype = str(np.result_type(*[v.type.dtype for v in vs]))
    _check_dtype(dtype, "sparse dot")
    return dtype


def _check_inner(where: str, a: Any, b: Any) -> None:
    if a.shape[1] != b.shape[0]:
        raise ShapeMismatchError(
            f"{where}: shapes {a.shape} and {b.shape} are not aligned "
            f"({a.shape[1]} != {b.shape[0]})"
        )


def _dense_result(value: Any, dtype: str) -> np.ndarray[Any, Any]:
    return np.asarray(value, dtype=dtype)


def _dims(node: Apply, input_shapes: list[Any]) -> tuple[Any, Any]:
    x, y = node.inputs
    rows = _shape_of(x, input_shapes[0])[0]
    cols = _shape_of(y, input_shapes[1])[1]
    return rows, cols


def _is_float(v: Variable) -> bool:
    return str(getattr(v.type, "dtype", "")).startswith(("float", "complex"))


def _fit_dense(g: Any, v: Any) -> Any:
    from symarray.tensor.elemwise import cast

    g = dense_grad(g)
    dtype = v.type.dtype
    return g if g.type.dtype == dtype else cast(g, dtype)


class _MatmulOp(Op):
    """Base of the ops computing ``x @ y`` as their output type: sparse in
    its format, or a dense array of its dtype."""

    #: the name errors use
    where = ""

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x, y = inputs
        _check_inner(self.where, x, y)
        out: Any = node.outputs[0].type
        if isinstance(out, SparseType):
            output_storage[0][0] = as_result(x @ y, out.format, out.dtype)
        else:
            output_storage[0][0] = _dense_result(x @ y, out.dtype)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[tuple[Any, ...]]:
        return [_dims(node, input_shapes)]

# -- structured_dot --------------------------------------------------------
class StructuredDot(_MatmulOp):
    """sparse @ dense -> dense, or sparse @ sparse -> sparse; the gradient
    w.r.t. a sparse operand is on its stored positions only."""

    where = "structured_dot"

    def make_node(self, x: Any, y: Any) -> Apply:
        x = as_sparse_variable(x)
        y = _operand(y, "structured_dot")
        dtype = _dtype(x, y)
        if is_sparse_variable(y):
            out: Variable = SparseType(x.type.format, dtype)()
        else:
            out = TensorType(dtype, shape=(None, y.type.shape[1]))()
        return Apply(self, [x, y], [out])

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        x, y = inputs
        gz = output_grads[0]
        gx = gy = None
        if is_sparse_variable(y):
            if _is_float(x):
                gx = grad_like(mul(sp_ones_like(x), dot(gz, transpose(y))), x)
            if _is_float(y):
                gy = grad_like(mul(sp_ones_like(y), dot(transpose(x), gz)), y)
            return [gx, gy]
        if _is_float(x):
            gx = grad_like(sampling_dot(dense_grad(gz), y, sp_ones_like(x)), x)
        if _is_float(y):
            gy = _fit_dense(StructuredDot()(transpose(x), dense_grad(gz)), y)
        return [gx, gy]

    def R_op(self, inputs: list[Any], eval_points: list[Any]  # noqa: N802
             ) -> list[Any]:
        return [_product_rule(self, inputs, eval_points)]


def _vector_aware(product: Callable[[Any, Any], Any], x: Any, y: Any) -> Any:
    """``product`` of matrices, with a dense vector operand reshaped to a
    matrix and the result back to a vector."""
    if not is_sparse_variable(x) and x.type.ndim == 1:
        return product(x.dimshuffle("x", 0), y).dimshuffle(1)
    if not is_sparse_variable(y) and y.type.ndim == 1:
        return product(x, y.dimshuffle(0, "x")).dimshuffle(0)
    return product(x, y)


def structured_dot(x: Any, y: Any) -> Any:
    """The product of ``x`` and ``y``, at least one sparse, with a
    structured gradient w.r.t. the sparse operand(s).

    >>> import numpy as np, scipy.sparse as sp, symarray.sparse as S
    >>> import symarray.tensor as T
    >>> x, w = S.csr_matrix("x", "float64"), T.dmatrix("w")
    >>> S.structured_dot(x, w).eval({x: sp.eye(2, format="csr"),
    ...                              w: np.ones((2, 1))}).tolist()
    [[1.0], [1.0]]
    """
    x, y = as_sparse_or_tensor_variable(x), as_sparse_or_tensor_variable(y)
    if is_sparse_variable(x):
        return _vector_aware(StructuredDot(), x, y)
    if not is_sparse_variable(y):
        raise TypeError(
            f"structured_dot: at least one operand must be sparse, got {x.type} "
            f"and {y.type}; use T.dot for dense operands"
        )

    def flipped(a: Any, b: Any) -> Any:  # a @ y == (y.T @ a.T).T
        return transpose(StructuredDot()(transpose(b), transpose(a)))

    return _vector_aware(flipped, x, y)


# -- sampling_dot ------------------------------------------------------------
class SamplingDot(Op):
    """``p * (x @ y.T)`` at the stored positions of the sparse ``p`` only
    (``x`` is ``m x k``, ``y`` is ``n x k``, both dense)."""

    def make_node(self, x: Any, y: Any, p: Any) -> Apply:
        x, y = _operand(x, "sampling_dot"), _operand(y, "sampling_dot")
        if is_sparse_variable(x) or is_sparse_variable(y):
            raise TypeError("sampling_dot: x and y must be dense matrices")
        p = as_sparse_variable(p)
        dtype = _dtype(x, y, p)
        return Apply(self, [x, y, p], [SparseType(p.type.format, dtype)()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x, y, p = inputs
        if x.shape[1] != y.shape[1] or (x.shape[0], y.shape[0]) != p.shape:
            raise ShapeMismatchError(
                f"sampling_dot: x {x.shape}, y {y.shape} and p {p.shape} do not "
                "fit (x is m x k, y is n x k, p is m x n)"
            )
        out: Any = node.outputs[0].type
        pc = canonical(p)
        major, minor = stored_positions(pc.indices, pc.indptr)
        rows, cols = (major, minor) if pc.format == "csr" else (minor, major)
        values = np.einsum("ij,ij->i", x[rows], y[cols]) * pc.data
        output_storage[0][0] = FORMATS[out.format](
            (values.astype(out.dtype), pc.indices, pc.indptr), shape=pc.shape)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[tuple[Any, ...]]:
        return [_shape_of(node.inputs[2], input_shapes[2])]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        x, y, p = inputs
        gz = mul(sp_ones_like(p), output_grads[0])  # only p's positions count
        gp = mul(gz, p)
        return [
            _fit_dense(StructuredDot()(gp, y), x) if _is_float(x) else None,
            _fit_dense(StructuredDot()(transpose(gp), x), y) if _is_float(y) else None,
            grad_like(SamplingDot()(x, y, gz), p) if _is_float(p) else None,
        ]


sampling_dot = SamplingDot()


# -- dot -----------------------------------------------------------------------
class Dot(_MatmulOp):
    """The regular product of two matrices, at least one sparse: dense
    unless both are sparse.  Gradients are full (not structured)."""

    where = "sparse dot"

    def make_node(self, x: Any, y: Any) -> Apply:
        x, y = _operand(x, "sparse dot"), _operand(y, "sparse dot")
        xs, ys = is_sparse_variable(x), is_sparse_variable(y)
        if not (xs or ys):
            raise TypeError("sparse Dot: at least one operand must be sparse")
        dtype = _dtype(x, y)
        if xs and ys:
            out: Variable = SparseType(x.type.format, dtype)()
        else:
            rows = None if xs else x.type.shape[0]
            cols = None if ys else y.type.shape[1]
            out = TensorType(dtype, shape=(rows, cols))()
        return Apply(self, [x, y], [out])

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        x, y = inputs
        gz = output_grads[0]
        grads: list[Any] = []
        for v, g in ((x, lambda: dot(gz, transpose(y))),
                     (y, lambda: dot(transpose(x), gz))):
            if not _is_float(v):
                grads.append(None)
            elif is_sparse_variable(v):
                grads.append(grad_like(g(), v))
            else:
                grads.append(_fit_dense(g(), v))
        return grads

    def R_op(self, inputs: list[Any], eval_points: list[Any]  # noqa: N802
             ) -> list[Any]:
        return [_product_rule(self, inputs, eval_points)]


def dot(x: Any, y: Any) -> Any:
    """The regular product ``x @ y`` with at least one sparse operand
    (dense unless both are sparse); two dense operands use ``T.dot``.

    >>> import numpy as np, scipy.sparse as sp, symarray.sparse as S
    >>> import symarray.tensor as T
    >>> x, v = S.csr_matrix("x", "float64"), T.dvector("v")
    >>> S.dot(x, v).eval({x: sp.eye(2, format="csr"), v: [1.0, 2.0]}).tolist()
    [1.0, 2.0]
    """
    x, y = as_sparse_or_tensor_variable(x), as_sparse_or_tensor_variable(y)
    if not (is_sparse_variable(x) or is_sparse_variable(y)):
        from symarray.tensor.blas import dot as tensor_dot

        return tensor_dot(x, y)
    return _vector_aware(Dot(), x, y)


def true_dot(x: Any, y: Any, grad_preserves_dense: bool = True) -> Any:
    """Theano's name for :func:`dot` (``grad_preserves_dense`` is accepted
    and ignored: gradients of dense operands are always dense)."""
    return dot(x, y)
