"""SparseType and the sparse variables users build graphs with.

A :class:`SparseType` is a 2-d matrix stored in one of scipy's compressed
formats, ``csr`` (rows) or ``csc`` (columns), with one dtype.  Its values
are ``scipy.sparse.csr_matrix`` / ``csc_matrix`` objects; the VM passes them
through its cells untouched (only NumPy arrays are cached as arrays).

Key decisions:

* **No static shape.**  A sparse type knows its format and dtype only (as in
  Theano); ``x.shape`` is computed by a small op, and the compiler's array
  features (memory planner, shape feature) skip sparse values because the
  type has no ``shape`` attribute.
* **Filtering.**  A scipy sparse matrix (or sparse array) of another
  format is converted to the type's format unless ``strict``; its dtype is
  converted when NumPy casts it safely (or with ``allow_downcast``).  A
  dense value is refused with :class:`~symarray.errors.SparseFormatError`
  naming the conversion to use: densifying or sparsifying silently would
  hide an O(rows * cols) cost.
* **Values need not be canonical.**  Unsorted indices and duplicate entries
  are valid values; every op gives the result of the matrix's value (the
  sum of duplicates), as scipy does.
* scipy is imported when this package is imported, never by ``import
  symarray``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from symarray import config
from symarray.errors import DtypeError, SparseFormatError
from symarray.graph.basic import Constant, Type, Variable, _copy_tag

__all__ = [
    "SparseType", "SparseVariable", "SparseConstant", "SPARSE_DTYPES", "FORMATS",
    "matrix", "csr_matrix", "csc_matrix", "csr_dmatrix", "csc_dmatrix",
    "csr_fmatrix", "csc_fmatrix", "is_sparse_variable", "is_sparse_value",
    "sparse_type",
]

#: the compressed formats a SparseType may have, and their scipy classes
FORMATS: dict[str, Any] = {"csr": sp.csr_matrix, "csc": sp.csc_matrix}

#: dtypes scipy.sparse stores (Theano's set: no float16, no bool)
SPARSE_DTYPES = (
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float32", "float64", "complex64", "complex128",
)


def _dtype_name(dtype: Any) -> str:
    if dtype is None or dtype == "floatX":
        return str(config.floatX)
    try:
        name = np.dtype(dtype).name
    except TypeError:
        raise DtypeError(
            f"SparseType: unknown dtype {dtype!r}; expected one of "
            f"{', '.join(SPARSE_DTYPES)}"
        ) from None
    if name not in SPARSE_DTYPES:
        raise DtypeError(
            f"SparseType: dtype {name} cannot be stored sparse; expected one of "
            f"{', '.join(SPARSE_DTYPES)}"
        )
    return name


def is_sparse_value(value: Any) -> bool:
    """True for a scipy.sparse matrix or array."""
    return bool(sp.issparse(value))


class SparseType(Type):
    """Sparse matrices of one compressed format and one dtype.

    Parameters
    ----------
    format
        ``"csr"`` (compressed rows) or ``"csc"`` (compressed columns).
    dtype
        The dtype of the stored values (``"floatX"`` allowed).

    Examples
    --------
    >>> t = SparseType("csr", "float64")
    >>> t
    Sparse{csr, float64}
    >>> import scipy.sparse as sp
    >>> t.filter(sp.eye(2, format="csc")).format
    'csr'
    """

    ndim = 2
    broadcastable = (False, False)

    def __init__(self, format: str, dtype: Any = None) -> None:
        if format not in FORMATS:
            raise SparseFormatError(
                f"SparseType: format must be one of {sorted(FORMATS)}, got "
                f"{format!r}"
            )
        self.format = format
        self.dtype = _dtype_name(dtype)
        self._hash = hash((SparseType, self.format, self.dtype))

    @property
    def numpy_dtype(self) -> np.dtype[Any]:
        return np.dtype(self.dtype)

    def clone(self, format: str | None = None, dtype: Any = None) -> SparseType:
        return SparseType(format or self.format, dtype or self.dtype)

    def __eq__(self, other: object) -> bool:
        return (type(other) is SparseType and other.format == self.format
                and other.dtype == self.dtype)

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        return f"Sparse{{{self.format}, {self.dtype}}}"

    __repr__ = __str__

    # -- values ----------------------------------------------------------
    def filter(self, data: Any, strict: bool = False,
               allow_downcast: bool | None = None) -> Any:
        """``data`` as a scipy matrix of this format and dtype, or raise.

        A matrix of exactly this format and dtype is returned as it is.
        Otherwise (unless ``strict``) another sparse format is converted,
        and the dtype when NumPy can cast it safely (any cast with
        ``allow_downcast``).  Dense values are refused.
        """
        if (type(data) is FORMATS[self.format]
                and data.dtype.name == self.dtype):
            return data
        if isinstance(data, Variable):
            raise TypeError(
                f"expected a value for {self}, got the symbolic variable {data}; "
                "pass a value, or substitute variables with givens="
            )
        if not sp.issparse(data):
            shape = getattr(data, "shape", None)
            what = type(data).__name__ + (f" of shape {shape}" if shape else "")
            raise SparseFormatError(
                f"expected a scipy.sparse {self.format} matrix of {self.dtype} "
                f"({self}), got a dense {what}; convert it with "
                f"scipy.sparse.{self.format}_matrix(value), or give the graph a "
                f"dense input and use sparse.{self.format}_from_dense"
            )
        if data.ndim != 2:
            raise SparseFormatError(
                f"expected a 2-d sparse matrix ({self}), got a {data.ndim}-d "
                f"{type(data).__name__}"
            )
        if strict:
            raise SparseFormatError(
                f"expected a scipy.sparse {self.format}_matrix of {self.dtype} "
                f"({self}), got a {type(data).__name__} of {data.dtype} (format "
                f"{data.format}); strict inputs are not converted"
            )
        value = FORMATS[self.format](data)  # another format: converted
        if value.dtype.name != self.dtype:
            if not (allow_downcast or np.can_cast(value.dtype, self.dtype, "safe")):
                raise DtypeError(
                    f"expected a sparse matrix of {self.dtype} ({self}), got "
                    f"{value.dtype}; that could lose precision: cast it yourself "
                    "(value.astype(...)), or pass allow_input_downcast=True to "
                    "function()"
                )
            value = value.astype(self.dtype)
        return value

    def values_eq(self, a: Any, b: Any) -> bool:
        if not (sp.issparse(a) and sp.issparse(b)) or a.shape != b.shape:
            return False
        return bool(abs(a - b).sum() == 0)

    def values_eq_approx(self, a: Any, b: Any, rtol: float | None = None,
                         atol: float | None = None) -> bool:
        if not (sp.issparse(a) and sp.issparse(b)) or a.shape != b.shape:
            return False
        lo = np.dtype(self.dtype).itemsize < 8
        rtol = rtol if rtol is not None else (1e-4 if lo else 1e-8)
        atol = atol if atol is not None else (1e-5 if lo else 1e-10)
        return bool(np.allclose(a.toarray(), b.toarray(), rtol=rtol, atol=atol,
                                equal_nan=True))

    def make_variable(self, name: str | None = None) -> SparseVariable:
        return SparseVariable(self, None, None, name)

    def make_constant(self, data: Any, name: str | None = None) -> SparseConstant:
        return SparseConstant(self, data, name)


def is_sparse_variable(x: Any) -> bool:
    """True for a symbolic variable of a :class:`SparseType`."""
    return isinstance(x, Variable) and isinstance(x.type, SparseType)


def sparse_type(var: Variable) -> SparseType:
    """``var.type`` as a SparseType (raises a clear error otherwise)."""
    if not isinstance(var.type, SparseType):
        raise SparseFormatError(
            f"expected a sparse variable, got {var} of type {var.type}; make it "
            "with sparse.csr_from_dense / sparse.as_sparse_variable"
        )
    return var.type


def _ops() -> Any:
    """The sparse package (imported late: it imports this module)."""
    import symarray.sparse as sparse

    return sparse


class _SparseMethods:
    """Operators and methods shared by sparse variables, constants, shared."""

    type: Any

    # NumPy defers to these operators instead of making object arrays
    __array_ufunc__ = None
    __array_priority__ = 1001

    @property
    def format(self) -> str:
        return str(self.type.format)

    @property
    def dtype(self) -> str:
        return str(self.type.dtype)

    @property
    def ndim(self) -> int:
        return 2

    @property
    def broadcastable(self) -> tuple[bool, bool]:
        return (False, False)

    @property
    def shape(self) -> Any:
        """The shape as an int64 vector of length 2."""
        return _ops().sparse_shape(self)

    @property
    def T(self) -> Any:  # noqa: N802 - NumPy's name
        return _ops().transpose(self)

    def transpose(self) -> Any:
        return _ops().transpose(self)

    def toarray(self) -> Any:
        """The dense matrix (``dense_from_sparse``)."""
        return _ops().dense_from_sparse(self)

    todense = toarray

    def astype(self, dtype: Any) -> Any:
        return _ops().cast(self, dtype)

    def sum(self, axis: int | None = None, sparse_grad: bool = False) -> Any:
        return _ops().sp_sum(self, axis=axis, sparse_grad=sparse_grad)

    def zeros_like(self) -> Any:
        return _ops().sp_zeros_like(self)

    def ones_like(self) -> Any:
        return _ops().sp_ones_like(self)

    def __add__(self, other: Any) -> Any:
        return _ops().add(self, other)

    def __radd__(self, other: Any) -> Any:
        return _ops().add(other, self)

    def __sub__(self, other: Any) -> Any:
        return _ops().sub(self, other)

    def __rsub__(self, other: Any) -> Any:
        return _ops().sub(other, self)

    def __mul__(self, other: Any) -> Any:
        return _ops().mul(self, other)

    def __rmul__(self, other: Any) -> Any:
        return _ops().mul(other, self)

    def __getitem__(self, key: Any) -> Any:
        return _ops().getitem(self, key)

    def __lt__(self, other: Any) -> Any:
        return _ops().lt(self, other)

    def __le__(self, other: Any) -> Any:
        return _ops().le(self, other)

    def __gt__(self, other: Any) -> Any:
        return _ops().gt(self, other)

    def __ge__(self, other: Any) -> Any:
        return _ops().ge(self, other)

    def __neg__(self) -> Any:
        return _ops().neg(self)

    def __abs__(self) -> Any:
        return _ops().abs_(self)

    def __dot__(self, other: Any) -> Any:
        return _ops().dot(self, other)

    def __rdot__(self, other: Any) -> Any:
        return _ops().dot(other, self)

    def __matmul__(self, other: Any) -> Any:
        return _ops().dot(self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return _ops().dot(other, self)


class SparseVariable(_SparseMethods, Variable):
    """A symbolic sparse matrix."""


class SparseConstant(_SparseMethods, Constant):
    """A constant sparse matrix; equal matrices (same storage) are merged."""

    def signature(self) -> Any:
        if self._signature is None:
            d = self.data
            self._signature = (self.type, d.shape, d.data.tobytes(),
                               d.indices.tobytes(), d.indptr.tobytes())
        return self._signature

    def __str__(self) -> str:
        if self.name is not None:
            return self.name
        shape, nnz = self.data.shape, self.data.nnz
        return f"SparseConstant{{{self.format}, {shape}, nnz={nnz}}}"

    def clone(self, name: str | None = None) -> SparseConstant:
        cp = SparseConstant(self.type, self.data, name or self.name)
        cp.tag = _copy_tag(self.tag)
        return cp


def matrix(format: str, name: str | None = None, dtype: Any = None) -> SparseVariable:
    """A sparse matrix variable of ``format`` (``"csr"`` or ``"csc"``).

    >>> matrix("csc", "x", "float32").type
    Sparse{csc, float32}
    """
    return SparseType(format, dtype).make_variable(name)


def csr_matrix(name: str | None = None, dtype: Any = None) -> SparseVariable:
    """A csr (compressed rows) matrix variable; ``dtype`` defaults to floatX.

    >>> x = csr_matrix("x", dtype="float64")
    >>> x.format, x.dtype
    ('csr', 'float64')
    """
    return matrix("csr", name, dtype)


def csc_matrix(name: str | None = None, dtype: Any = None) -> SparseVariable:
    """A csc (compressed columns) matrix variable; ``dtype`` defaults to floatX."""
    return matrix("csc", name, dtype)


def csr_dmatrix(name: str | None = None) -> SparseVariable:
    """A float64 csr matrix variable."""
    return matrix("csr", name, "float64")


def csc_dmatrix(name: str | None = None) -> SparseVariable:
    """A float64 csc matrix variable."""
    return matrix("csc", name, "float64")


def csr_fmatrix(name: str | None = None) -> SparseVariable:
    """A float32 csr matrix variable."""
    return matrix("csr", name, "float32")


def csc_fmatrix(name: str | None = None) -> SparseVariable:
    """A float32 csc matrix variable."""
    return matrix("csc", name, "float32")
