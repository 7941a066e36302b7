"""Joining, cleaning and diagonals: ``hstack``, ``vstack``, ``remove0``,
``ensure_sorted_indices``, ``clean``, ``square_diagonal``, ``diag``.

Key decisions (Theano's behaviour):

* ``hstack``/``vstack`` join sparse blocks into one matrix of ``format``
  (csc by default, as Theano) and ``dtype`` (the blocks' common dtype by
  default).  The gradient of each block is its slice of the output
  gradient, a regular sparse gradient in the block's format.
* ``remove0`` drops the stored zeros of the matrix's *value* (duplicates are
  summed first, so two stored parts that cancel are removed too);
  ``clean`` is ``ensure_sorted_indices(remove0(x))``.  Both leave the value
  unchanged: their gradient is the output gradient.
* ``square_diagonal(v)`` is the csc matrix with the dense vector ``v`` on
  its diagonal; ``diag(x)`` is the diagonal of a square sparse matrix as a
  dense vector.  Each one's gradient is the other applied to the output
  gradient.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from symarray.errors import RankError, ShapeMismatchError
from symarray.graph.basic import Apply, Op
from symarray.scalar.basic import result_dtype
from symarray.sparse.basic import (
    _check_dtype,
    _check_format,
    _SameShapeOp,
    _shape_of,
    as_result,
    as_sparse_variable,
    canonical,
    dense_grad,
    grad_like,
    sp_zeros_like,
    sparse_shape,
)
from symarray.sparse.type import SparseType, is_sparse_variable
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.type import TensorType

__all__ = ["HStack", "VStack", "hstack", "vstack", "Remove0", "remove0",
           "EnsureSortedIndices", "ensure_sorted_indices", "clean",
           "SquareDiagonal", "square_diagonal", "Diag", "diag"]


def _is_float(dtype: str) -> bool:
    return dtype[0] in "fc"


# -- joining -------------------------------------------------------------------
class HStack(Op):
    """Sparse blocks side by side (same number of rows) as one sparse
    matrix of ``format`` and ``dtype``."""

    __props__ = ("format", "dtype")
    #: the axis the blocks are joined along (1: columns)
    axis = 1
    where = "hstack"

    def __init__(self, format: str | None = None, dtype: Any = None) -> None:
        self.format = _check_format(format or "csc", self.where)
        self.dtype = None if dtype is None else str(np.dtype(dtype))
        if self.dtype is not None:
            _check_dtype(self.dtype, self.where)

    def make_node(self, *blocks: Any) -> Apply:
        if not blocks:
            raise ValueError(f"{self.where}: give at least one block")
        xs = [as_sparse_variable(b) for b in blocks]
        dtype = self.dtype or result_dtype([x.type.dtype for x in xs],
                                           [False] * len(xs))
        _check_dtype(dtype, self.where)
        return Apply(self, xs, [SparseType(self.format, dtype)()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        other = 1 - self.axis
        lengths = [b.shape[other] for b in inputs]
        if len(set(lengths)) > 1:
            what = "rows" if other == 0 else "columns"
            raise ShapeMismatchError(
                f"{self.where}: the blocks must have the same number of {what}, "
                f"got shapes {[b.shape for b in inputs]}"
            )
        out: Any = node.outputs[0].type
        join = sp.hstack if self.axis == 1 else sp.vstack
        output_storage[0][0] = as_result(
            join(list(inputs), format=out.format, dtype=out.dtype),
            out.format, out.dtype)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[tuple[Any, ...]]:
        shapes = [_shape_of(x, s) for x, s in zip(node.inputs, input_shapes,
                                                  strict=True)]
        total = shapes[0][self.axis]
        for s in shapes[1:]:
            total = total + s[self.axis]
        first = shapes[0][1 - self.axis]
        return [(first, total) if self.axis == 1 else (total, first)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        from symarray.sparse.indexing import get_item_2d

        gz = output_grads[0]
        grads: list[Any] = []
        start: Any = 0
        for x in inputs:
            stop = start + sparse_shape(x)[self.axis]
            if _is_float(x.type.dtype) and _is_float(outputs[0].type.dtype):
                part = slice(start, stop)
                key = (slice(None), part) if self.axis == 1 else (part, slice(None))
                piece = (get_item_2d(gz, key) if is_sparse_variable(gz)
                         else dense_grad(gz)[key])
                grads.append(grad_like(piece, x))
            else:
                grads.append(None)
            start = stop
        return grads

    def R_op(self, inputs: list[Any], eval_points: list[Any]  # noqa: N802
             ) -> list[Any]:
        if all(e is None for e in eval_points):
            return [None]
        return [self(*[sp_zeros_like(x) if e is None else e
                       for x, e in zip(inputs, eval_points, strict=True)])]


class VStack(HStack):
    """Sparse blocks one above the other (same number of columns) as one
    sparse matrix of ``format`` and ``dtype``."""

    axis = 0
    where = "vstack"


def hstack(blocks: Sequence[Any], format: str | None = None,
           dtype: Any = None) -> Any:
    """The sparse ``blocks`` side by side, as a ``format`` matrix (csc by
    default) of ``dtype`` (the blocks' common dtype by default).

    >>> import scipy.sparse as sp, symarray.sparse as S
    >>> x = S.csr_matrix("x", "float64")
    >>> S.hstack([x, x], format="csr").eval(
    ...     {x: sp.eye(2, format="csr")}).toarray().tolist()
    [[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]]
    """
    return HStack(format, dtype)(*blocks)


def vstack(blocks: Sequence[Any], format: str | None = None,
           dtype: Any = None) -> Any:
    """The sparse ``blocks`` one above the other, as a ``format`` matrix
    (csc by default) of ``dtype`` (the blocks' common dtype by default)."""
    return VStack(format, dtype)(*blocks)


# -- cleaning ------------------------------------------------------------------
class _ValuePreservingOp(_SameShapeOp):
    """Base of the ops that change the storage of ``x`` but not its value:
    the output has ``x``'s type and the gradient is the output gradient."""

    def make_node(self, x: Any) -> Apply:
        x = as_sparse_variable(x)
        return Apply(self, [x], [x.type()])

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        x = inputs[0]
        return [grad_like(output_grads[0], x) if _is_float(x.type.dtype) else None]

    def R_op(self, inputs: list[Any], eval_points: list[Any]  # noqa: N802
             ) -> list[Any]:
        return [None if eval_points[0] is None else self(eval_points[0])]


class Remove0(_ValuePreservingOp):
    """``x`` without stored zeros (duplicates summed first; indices sorted)."""

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        out = canonical(inputs[0])
        out.eliminate_zeros()
        output_storage[0][0] = out


class EnsureSortedIndices(_ValuePreservingOp):
    """``x`` with the indices of each row (csr) or column (csc) sorted;
    duplicates are kept."""

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        out = inputs[0].copy()
        out.sort_indices()
        output_storage[0][0] = out


remove0 = Remove0()
ensure_sorted_indices = EnsureSortedIndices()


def clean(x: Any) -> Any:
    """``x`` with no stored zeros and sorted indices (Theano's ``clean``:
    ``ensure_sorted_indices(remove0(x))``)."""
    return ensure_sorted_indices(remove0(x))


# -- diagonals -----------------------------------------------------------------
class SquareDiagonal(Op):
    """The square csc matrix with the dense vector ``v`` on its diagonal
    (every diagonal entry stored, zeros included)."""

    def make_node(self, v: Any) -> Apply:
        v = as_tensor_variable(v)
        if v.type.ndim != 1:
            raise RankError(
                f"square_diagonal: expected a dense vector, got {v} of type "
                f"{v.type}; flatten it first"
            )
        _check_dtype(v.type.dtype, "square_diagonal")
        return Apply(self, [v], [SparseType("csc", v.type.dtype)()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        (v,) = inputs
        n = len(v)
        ind = np.arange(n, dtype=np.int32)
        output_storage[0][0] = sp.csc_matrix(
            (np.array(v), ind, np.arange(n + 1, dtype=np.int32)), shape=(n, n))

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[tuple[Any, ...]]:
        n = input_shapes[0][0]
        return [(n, n)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        if not _is_float(inputs[0].type.dtype):
            return [None]
        gz = output_grads[0]
        if is_sparse_variable(gz):
            return [diag(gz)]
        return [as_tensor_variable(gz).diagonal()]

    def R_op(self, inputs: list[Any], eval_points: list[Any]  # noqa: N802
             ) -> list[Any]:
        return [None if eval_points[0] is None else self(eval_points[0])]


class Diag(Op):
    """The diagonal of a square sparse matrix as a dense vector (duplicates
    summed)."""

    def make_node(self, x: Any) -> Apply:
        x = as_sparse_variable(x)
        return Apply(self, [x], [TensorType(x.type.dtype, shape=(None,))()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        (x,) = inputs
        if x.shape[0] != x.shape[1]:
            raise ShapeMismatchError(
                f"sparse.diag: expected a square matrix, got shape {x.shape}; "
                "slice it square first (x[:n, :n])"
            )
        out: Any = node.outputs[0].type
        output_storage[0][0] = np.asarray(x.diagonal(), dtype=out.dtype)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[tuple[Any, ...]]:
        rows, _ = _shape_of(node.inputs[0], input_shapes[0])
        return [(rows,)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        x = inputs[0]
        if not _is_float(x.type.dtype):
            return [None]
        return [grad_like(square_diagonal(output_grads[0]), x)]

    def R_op(self, inputs: list[Any], eval_points: list[Any]  # noqa: N802
             ) -> list[Any]:
        return [None if eval_points[0] is None else self(eval_points[0])]


square_diagonal = SquareDiagonal()
diag = Diag()
