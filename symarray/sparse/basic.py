"""Building, taking apart and converting sparse matrices.

``CSM`` builds a matrix from its compressed storage (``data``, ``indices``,
``indptr``, ``shape``) and ``CSMProperties`` returns that storage; with
them a graph can compute on the stored values with dense ops and rebuild
the matrix (the gradient of ``CSM`` w.r.t. ``data`` gathers the output
gradient at each stored position).  ``DenseFromSparse`` and
``SparseFromDense`` convert, ``Transpose``, ``Cast`` and ``AsFormat`` change
layout or dtype, and ``SparseShape`` / ``SparseNNZ`` give the sizes that
``infer_shape`` of the other ops is written with.

Key decisions:

* Every ``perform`` calls scipy.sparse and returns fresh storage, except
  ``Transpose``, whose result shares the input's arrays and says so in its
  ``view_map`` (the function copies such an output before returning it).
  No op overwrites an input.
* Gradients w.r.t. a sparse input are sparse variables of the input's
  format and dtype (:func:`grad_like`); a *structured* gradient is
  non-zero only where the input stores a value, a regular one holds the
  full gradient.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from symarray.errors import RankError, SparseFormatError
from symarray.graph.basic import Apply, Op, Variable
from symarray.sparse.type import (
    FORMATS,
    SPARSE_DTYPES,
    SparseConstant,
    SparseType,
    SparseVariable,
    is_sparse_variable,
    sparse_type,
)
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.type import TensorType

__all__ = [
    "as_sparse_variable", "as_sparse", "as_sparse_or_tensor_variable",
    "CSM", "CSR", "CSC", "CSMProperties", "csm_properties", "csm_data",
    "csm_indices", "csm_indptr", "csm_shape", "CSMGrad",
    "DenseFromSparse", "dense_from_sparse", "todense", "SparseFromDense",
    "csr_from_dense", "csc_from_dense", "Transpose", "transpose", "Cast",
    "cast", "AsFormat", "as_format", "SparseShape", "sparse_shape",
    "SparseNNZ", "sp_nnz", "SpOnesLike", "sp_ones_like", "SpZerosLike",
    "sp_zeros_like", "grad_like", "as_result", "canonical",
]


# -- helpers -----------------------------------------------------------------
def as_sparse_variable(x: Any, name: str | None = None
                       ) -> SparseVariable | SparseConstant:
    """``x`` as a sparse variable: sparse variables pass, scipy matrices
    become constants.

    >>> import scipy.sparse as sp
    >>> as_sparse_variable(sp.eye(3, format="csc")).type
    Sparse{csc, float64}
    """
    if isinstance(x, Apply):
        x = x.out
    if isinstance(x, Variable):
        if not isinstance(x.type, SparseType):
            raise SparseFormatError(
                f"expected a sparse variable, got {x} of type {x.type}; convert a "
                "dense matrix with sparse.csr_from_dense or sparse.csc_from_dense"
            )
        return typing.cast(SparseVariable, x)
    if not sp.issparse(x):
        raise SparseFormatError(
            f"cannot make a sparse variable from a {type(x).__name__}; give a "
            "scipy.sparse csr/csc matrix or a sparse variable"
        )
    fmt = x.format if x.format in FORMATS else "csr"
    return SparseConstant(SparseType(fmt, x.dtype), x, name)


as_sparse = as_sparse_variable


def as_sparse_or_tensor_variable(x: Any, name: str | None = None) -> Variable:
    """A sparse variable for sparse values and variables, else a tensor."""
    if isinstance(x, Variable) and isinstance(x.type, SparseType):
        return x
    if sp.issparse(x):
        return as_sparse_variable(x, name)
    return as_tensor_variable(x, name=name)


def canonical(value: Any) -> Any:
    """A copy of a scipy matrix with sorted indices and no duplicates."""
    out = value.copy()
    out.sum_duplicates()  # sorts the indices too
    return out


def as_result(value: Any, fmt: str, dtype: str) -> Any:
    """A scipy (or NumPy matrix) result as a ``fmt`` matrix of ``dtype``.

    scipy's operations may return coo matrices, sparse arrays or another
    dtype; an op's output must be exactly its type's class.
    """
    cls = FORMATS[fmt]
    if type(value) is not cls:
        value = cls(value)
    if value.dtype.name != dtype:
        value = value.astype(dtype)
    return value


def _check_dtype(dtype: str, where: str) -> None:
    if dtype not in SPARSE_DTYPES:
        raise SparseFormatError(
            f"{where}: dtype {dtype} cannot be stored sparse; cast to one of "
            f"{', '.join(SPARSE_DTYPES)} first"
        )


def _matrix(x: Any, where: str) -> Variable:
    x = as_tensor_variable(x)
    if x.type.ndim != 2:
        raise RankError(
            f"{where}: expected a dense matrix, got {x} of type {x.type}; reshape it "
            "to 2-d"
        )
    return x


def _shape_of(x: Variable, given: Any) -> tuple[Any, Any]:
    """The (rows, cols) of ``x``: ``given`` when the caller knows it (a
    tensor's shape from ``infer_shape``), else symbolic lengths."""
    if given is not None:
        return given[0], given[1]
    s = sparse_shape(x)
    return s[0], s[1]



class _SameShapeOp(Op):
    """Base of the ops whose (single) output has their first input's shape."""

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[tuple[Any, ...]]:
        return [_shape_of(node.inputs[0], input_shapes[0])]


def _check_format(format: str, where: str) -> str:
    """``format`` when it names a sparse format, else a SparseFormatError."""
    if format not in FORMATS:
        raise SparseFormatError(
            f"{where}: format must be one of {sorted(FORMATS)}, got {format!r}"
        )
    return format

def grad_like(g: Any, x: Variable) -> Any:
    """The gradient ``g`` as a sparse variable of ``x``'s format and dtype
    (a dense ``g`` is made sparse with all its non-zeros)."""
    if g is None:
        return None
    xt = sparse_type(x)
    if not is_sparse_variable(g):
        g = as_tensor_variable(g)
        if g.type.dtype != xt.dtype:
            from symarray.tensor.elemwise import cast as tensor_cast

            g = tensor_cast(g, xt.dtype)
        return SparseFromDense(xt.format)(g)
    if g.type.dtype != xt.dtype:
        g = cast(g, xt.dtype)
    if g.type.format != xt.format:
        g = AsFormat(xt.format)(g)
    return g


def dense_grad(g: Any) -> Any:
    """A gradient as a dense variable (sparse gradients are densified)."""
    if is_sparse_variable(g):
        return DenseFromSparse(structured=False)(g)
    return g


def add_tangents(terms: Sequence[Any]) -> Any:
    """The sum of the R_op tangents ``terms`` (None for a zero), adding
    sparse ones with the sparse ``add``; None when all are None."""
    real = [t for t in terms if t is not None]
    if not real:
        return None
    total = real[0]
    for t in real[1:]:
        if is_sparse_variable(total) or is_sparse_variable(t):
            from symarray.sparse.math import add

            total = add(total, t)
        else:
            total = total + t
    return total


def _int_vector(x: Any, where: str, what: str) -> Variable:
    v = as_tensor_variable(x)
    if v.type.ndim != 1 or not v.type.dtype.startswith(("int", "uint")):
        raise TypeError(
            f"{where}: {what} must be an integer vector, got {v} of type {v.type}"
        )
    return v


# -- sizes -----------------------------------------------------------------
class SparseShape(Op):
    """The shape of a sparse matrix as an int64 vector of length 2."""

    def make_node(self, x: Any) -> Apply:
        x = as_sparse_variable(x)
        return Apply(self, [x], [TensorType("int64", shape=(2,))()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        output_storage[0][0] = np.array(inputs[0].shape, dtype="int64")

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[tuple[Any, ...]]:
        return [(2,)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        return [None]


class SparseNNZ(Op):
    """The number of stored values (duplicates and explicit zeros count),
    as a 0-d int64."""

    def make_node(self, x: Any) -> Apply:
        x = as_sparse_variable(x)
        return Apply(self, [x], [TensorType("int64", shape=())()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        output_storage[0][0] = np.array(inputs[0].nnz, dtype="int64")

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[tuple[Any, ...]]:
        return [()]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        return [None]


sparse_shape = SparseShape()
sp_nnz = SparseNNZ()


# -- building and taking apart ---------------------------------------------
class CSM(Op):
    """A sparse matrix from ``(data, indices, indptr, shape)`` (scipy's
    compressed storage; ``format`` says whether ``indptr`` runs over rows,
    csr, or columns, csc).  The gradient w.r.t. ``data`` is the output
    gradient at each stored position."""

    __props__ = ("format",)

    def __init__(self, format: str) -> None:
        self.format = _check_format(format, "CSM")

    def make_node(self, data: Any, indices: Any, indptr: Any, shape: Any) -> Apply:
        where = f"CSM({self.format})"
        data = as_tensor_variable(data)
        if data.type.ndim != 1:
            raise RankError(f"{where}: data must be a vector, got {data.type}")
        _check_dtype(data.type.dtype, where)
        indices = _int_vector(indices, where, "indices")
        indptr = _int_vector(indptr, where, "indptr")
        shape = _int_vector(shape, where, "shape")
        out = SparseType(self.format, data.type.dtype)()
        return Apply(self, [data, indices, indptr, shape], [out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        data, indices, indptr, shape = inputs
        if len(shape) != 2:
            raise ValueError(f"CSM: shape must have 2 entries, got {list(shape)}")
        output_storage[0][0] = FORMATS[self.format](
            (data, indices, indptr), shape=(int(shape[0]), int(shape[1])), copy=True)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[tuple[Any, ...]]:
        shape: Any = node.inputs[3]
        return [(shape[0], shape[1])]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        data, indices, indptr, _ = inputs
        if data.type.dtype[0] not in "fc":
            return [None] * 4
        g = CSMGrad(self.format)(output_grads[0], indices, indptr)
        if g.type.dtype != data.type.dtype:
            from symarray.tensor.elemwise import cast as tensor_cast

            g = tensor_cast(g, data.type.dtype)
        return [g, None, None, None]

    def R_op(self, inputs: list[Any], eval_points: list[Any]  # noqa: N802
             ) -> list[Any]:
        if eval_points[0] is None:
            return [None]
        return [self(eval_points[0], *inputs[1:])]


CSR = CSM("csr")
CSC = CSM("csc")


class CSMGrad(Op):
    """``g[row_k, col_k]`` for every stored position ``k`` of the storage
    ``(indices, indptr)`` (``g`` dense or sparse): the gradient of
    :class:`CSM` w.r.t. ``data``."""

    __props__ = ("format",)

    def __init__(self, format: str) -> None:
        self.format = format

    def make_node(self, g: Any, indices: Any, indptr: Any) -> Apply:
        g = as_sparse_or_tensor_variable(g)
        dtype = g.type.dtype
        out = TensorType(dtype, shape=(None,))()
        return Apply(self, [g, as_tensor_variable(indices),
                            as_tensor_variable(indptr)], [out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        g, indices, indptr = inputs
        out_type: Any = node.outputs[0].type
        out = np.zeros(len(indices), dtype=out_type.dtype)
        major, minor = stored_positions(indices, indptr)
        rows, cols = (major, minor) if self.format == "csr" else (minor, major)
        out[:len(major)] = gather(g, rows, cols)
        output_storage[0][0] = out

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[tuple[Any, ...]]:
        return [tuple(input_shapes[1])]


def stored_positions(indices: np.ndarray[Any, Any], indptr: np.ndarray[Any, Any]
                     ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(major, minor) index of each stored value: row and column for csr."""
    counts: Any = np.diff(np.asarray(indptr, dtype=np.int64))
    major = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    return major, np.asarray(indices[:len(major)], dtype=np.int64)


def gather(g: Any, rows: np.ndarray[Any, Any], cols: np.ndarray[Any, Any]
           ) -> np.ndarray[Any, Any]:
    """The values of the (dense or sparse) matrix ``g`` at ``(rows, cols)``;
    duplicates in a sparse ``g`` count as their sum."""
    if len(rows) == 0:
        return np.zeros(0, dtype=g.dtype)
    if sp.issparse(g):
        g = sp.csr_matrix(g, copy=True)
        g.sum_duplicates()
        return np.asarray(g[rows, cols]).ravel()
    return np.asarray(g)[rows, cols]


class CSMProperties(Op):
    """The storage of a sparse matrix: ``(data, indices, indptr, shape)``
    (int32 indices, as in Theano).  Stored values come in storage order,
    duplicates and explicit zeros included."""

    def make_node(self, x: Any) -> Apply:
        x = as_sparse_variable(x)
        outs = [TensorType(x.type.dtype, shape=(None,))(),
                TensorType("int32", shape=(None,))(),
                TensorType("int32", shape=(None,))(),
                TensorType("int32", shape=(2,))()]
        return Apply(self, [x], outs)

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        (x,) = inputs
        nnz = int(x.indptr[-1])
        if max(x.shape + (nnz,)) > np.iinfo(np.int32).max:
            raise ValueError(
                f"csm_properties: a matrix of shape {x.shape} with {nnz} stored "
                "values does not fit int32 indices"
            )
        output_storage[0][0] = np.array(x.data[:nnz])
        output_storage[1][0] = np.array(x.indices[:nnz], dtype="int32")
        output_storage[2][0] = np.array(x.indptr, dtype="int32")
        output_storage[3][0] = np.array(x.shape, dtype="int32")

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[tuple[Any, ...]]:
        x = node.inputs[0]
        nnz = sp_nnz(x)
        rows, cols = _shape_of(x, input_shapes[0])
        major = rows if sparse_type(x).format == "csr" else cols
        return [(nnz,), (nnz,), (major + 1,), (2,)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        (x,) = inputs
        if x.type.dtype[0] not in "fc":
            return [None]
        _, indices, indptr, shape = outputs
        return [CSM(x.type.format)(output_grads[0], indices, indptr, shape)]


csm_properties = CSMProperties()


def csm_data(x: Any) -> Variable:
    """The stored values of ``x`` (``csm_properties(x)[0]``)."""
    return csm_properties(x)[0]


def csm_indices(x: Any) -> Variable:
    """The minor indices of ``x`` (columns for csr)."""
    return csm_properties(x)[1]


def csm_indptr(x: Any) -> Variable:
    """The index pointer of ``x`` (row starts for csr)."""
    return csm_properties(x)[2]


def csm_shape(x: Any) -> Variable:
    """The shape of ``x`` as an int32 vector."""
    return csm_properties(x)[3]


# -- conversions -------------------------------------------------------------
class DenseFromSparse(_SameShapeOp):
    """The dense matrix (duplicates summed).  With ``structured`` (the
    default, as in Theano) the gradient is kept on the input's stored
    positions; otherwise it is the full dense gradient, made sparse."""

    __props__ = ("structured",)

    def __init__(self, structured: bool = True) -> None:
        self.structured = bool(structured)

    def make_node(self, x: Any) -> Apply:
        x = as_sparse_variable(x)
        return Apply(self, [x], [TensorType(x.type.dtype, shape=(None, None))()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        output_storage[0][0] = inputs[0].toarray()

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        (x,) = inputs
        (gz,) = output_grads
        if x.type.dtype[0] not in "fc":
            return [None]
        if self.structured:
            from symarray.sparse.math import mul

            return [grad_like(mul(sp_ones_like(x), gz), x)]
        return [grad_like(dense_grad(gz), x)]

    def R_op(self, inputs: list[Any], eval_points: list[Any]  # noqa: N802
             ) -> list[Any]:
        ev = eval_points[0]
        return [None if ev is None else DenseFromSparse(False)(ev)]


dense_from_sparse = DenseFromSparse()
todense = dense_from_sparse


class SparseFromDense(Op):
    """A dense matrix stored sparse (its non-zero entries) in ``format``."""

    __props__ = ("format",)

    def __init__(self, format: str) -> None:
        self.format = _check_format(format, "SparseFromDense")

    def make_node(self, x: Any) -> Apply:
        where = f"{self.format}_from_dense"
        x = _matrix(x, where)
        _check_dtype(x.type.dtype, where)
        return Apply(self, [x], [SparseType(self.format, x.type.dtype)()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        output_storage[0][0] = FORMATS[self.format](inputs[0])

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[tuple[Any, ...]]:
        return [tuple(input_shapes[0])]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        if inputs[0].type.dtype[0] not in "fc":
            return [None]
        return [dense_grad(output_grads[0])]

    def R_op(self, inputs: list[Any], eval_points: list[Any]  # noqa: N802
             ) -> list[Any]:
        return [None if eval_points[0] is None else self(eval_points[0])]


csr_from_dense = SparseFromDense("csr")
csc_from_dense = SparseFromDense("csc")


class Transpose(Op):
    """The transpose; csr becomes csc and csc becomes csr.  The result
    shares the input's storage arrays (a view: O(1))."""

    view_map = {0: [0]}

    def make_node(self, x: Any) -> Apply:
        x = as_sparse_variable(x)
        fmt = "csc" if x.type.format == "csr" else "csr"
        return Apply(self, [x], [SparseType(fmt, x.type.dtype)()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        output_storage[0][0] = inputs[0].transpose()

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[tuple[Any, ...]]:
        rows, cols = _shape_of(node.inputs[0], input_shapes[0])
        return [(cols, rows)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        (x,) = inputs
        if x.type.dtype[0] not in "fc":
            return [None]
        return [grad_like(transpose(output_grads[0]), x)]

    def R_op(self, inputs: list[Any], eval_points: list[Any]  # noqa: N802
             ) -> list[Any]:
        return [None if eval_points[0] is None else self(eval_points[0])]


def transpose(x: Any) -> Any:
    """The transpose of a sparse matrix (csr <-> csc); dense passes to
    ``T.transpose``."""
    if is_sparse_variable(x) or sp.issparse(x):
        return Transpose()(x)
    from symarray.tensor.elemwise import transpose as tensor_transpose

    return tensor_transpose(as_tensor_variable(x))


class Cast(_SameShapeOp):
    """The matrix with its values converted to ``dtype`` (duplicates merged)."""

    __props__ = ("out_type",)

    def __init__(self, out_type: str) -> None:
        self.out_type = str(np.dtype(out_type))
        _check_dtype(self.out_type, "sparse.cast")

    def make_node(self, x: Any) -> Apply:
        x = as_sparse_variable(x)
        return Apply(self, [x], [SparseType(x.type.format, self.out_type)()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        # duplicates are summed first: the cast is of the matrix's values
        output_storage[0][0] = canonical(inputs[0]).astype(self.out_type,
                                                            copy=False)

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        (x,) = inputs
        if x.type.dtype[0] not in "fc" or self.out_type[0] not in "fc":
            return [None]
        return [grad_like(output_grads[0], x)]

    def R_op(self, inputs: list[Any], eval_points: list[Any]  # noqa: N802
             ) -> list[Any]:
        return [None if eval_points[0] is None else self(eval_points[0])]


def cast(x: Any, dtype: Any) -> Any:
    """``x`` with values of ``dtype`` (itself when it already has it)."""
    x = as_sparse_variable(x)
    dtype = str(np.dtype(dtype))
    return x if x.type.dtype == dtype else Cast(dtype)(x)


class AsFormat(_SameShapeOp):
    """The same matrix stored in ``format`` (csr <-> csc)."""

    __props__ = ("format",)

    def __init__(self, format: str) -> None:
        self.format = _check_format(format, "as_format")

    def make_node(self, x: Any) -> Apply:
        x = as_sparse_variable(x)
        return Apply(self, [x], [SparseType(self.format, x.type.dtype)()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        output_storage[0][0] = FORMATS[self.format](inputs[0], copy=True)

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        (x,) = inputs
        if x.type.dtype[0] not in "fc":
            return [None]
        return [grad_like(output_grads[0], x)]

    def R_op(self, inputs: list[Any], eval_points: list[Any]  # noqa: N802
             ) -> list[Any]:
        return [None if eval_points[0] is None else self(eval_points[0])]


def as_format(x: Any, format: str) -> Any:
    """``x`` stored in ``format`` (itself when it already is)."""
    x = as_sparse_variable(x)
    return x if x.type.format == format else AsFormat(format)(x)


class _PatternOp(_SameShapeOp):
    """Base of the ops whose output is a matrix of ``x``'s type that depends
    on ``x``'s pattern only, so its gradient w.r.t. ``x`` is zero."""

    def make_node(self, x: Any) -> Apply:
        x = as_sparse_variable(x)
        return Apply(self, [x], [x.type()])

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        x = inputs[0]
        return [sp_zeros_like(x) if x.type.dtype[0] in "fc" else None]

    def R_op(self, inputs: list[Any], eval_points: list[Any]  # noqa: N802
             ) -> list[Any]:
        return [None]  # the pattern does not move


class SpOnesLike(_PatternOp):
    """Ones at the stored positions of ``x`` (duplicates merged)."""

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        out = canonical(inputs[0])
        out.data = np.ones_like(out.data)
        output_storage[0][0] = out


class SpZerosLike(_PatternOp):
    """A matrix of ``x``'s shape, format and dtype storing nothing."""

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x = inputs[0]
        out_type: Any = node.outputs[0].type
        output_storage[0][0] = FORMATS[out_type.format](x.shape, dtype=x.dtype)


sp_ones_like = SpOnesLike()
sp_zeros_like = SpZerosLike()


#: Theano keeps every sparse op in ``theano.sparse.basic``; the rest of this
#: package's names are found here too (loaded on first use: those modules
#: import this one)
_ELSEWHERE = ("symarray.sparse.math", "symarray.sparse.products",
              "symarray.sparse.elemwise", "symarray.sparse.grad",
              "symarray.sparse.sharedvar", "symarray.sparse.structure",
              "symarray.sparse.compare", "symarray.sparse.indexing")


def __getattr__(name: str) -> Any:
    import importlib

    if name.startswith("__"):  # the import system asks for __path__ etc.
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for module_name in _ELSEWHERE:
        module = importlib.import_module(module_name)
        if name in getattr(module, "__all__", ()):
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
