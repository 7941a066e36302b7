"""Shared sparse matrices: ``symarray.shared(scipy_matrix)`` once this package
is imported, or ``sparse.shared(...)``.

The constructor registers itself with :func:`symarray.compile.shared_constructor`
(the registry the compile stage owns), so ``shared`` picks it for csr and
csc values (other scipy formats are converted to csr).
"""

from __future__ import annotations

from typing import Any

import scipy.sparse as sp

from symarray.compile.sharedvalue import SharedVariable, shared_constructor
from symarray.sparse.type import FORMATS, SparseType, _SparseMethods

__all__ = ["SparseSharedVariable", "sparse_constructor", "shared"]


class SparseSharedVariable(_SparseMethods, SharedVariable):
    """A shared sparse matrix with the operators of sparse variables."""

    def zero(self, borrow: bool = False) -> None:
        """Set the value to a matrix of the same shape storing nothing."""
        value = self.container.value
        self.container.value = FORMATS[self.type.format](value.shape,
                                                          dtype=value.dtype)


@shared_constructor
def sparse_constructor(value: Any, name: str | None = None, strict: bool = False,
                       allow_downcast: bool | None = None, borrow: bool = False,
                       format: str | None = None, **kwargs: Any
                       ) -> SparseSharedVariable | None:
    """A :class:`SparseSharedVariable` for a scipy.sparse value (None for
    anything else, so that the next constructor is tried; options of the
    other constructors, ``shape=``..., are left to them).

    ``format`` picks the stored format (default: the value's when it is csr
    or csc, else csr).
    """
    if not sp.issparse(value):
        return None
    if kwargs:
        raise TypeError(
            f"shared: a sparse value takes the options name, strict, "
            f"allow_downcast, borrow and format, got {sorted(kwargs)}"
        )
    fmt = format or (value.format if value.format in FORMATS else "csr")
    stype = SparseType(fmt, value.dtype)
    if type(value) is not FORMATS[fmt]:
        value = stype.filter(value)  # a new matrix: nothing to copy
        borrow = True
    return SparseSharedVariable(stype, value, name, strict, allow_downcast, borrow)


def shared(value: Any, name: str | None = None, strict: bool = False,
           allow_downcast: bool | None = None, borrow: bool = False,
           format: str | None = None) -> SparseSharedVariable:
    """A shared variable holding the scipy sparse matrix ``value``.

    >>> import scipy.sparse as sp, symarray.sparse as S
    >>> w = S.shared(sp.eye(3, format="csc"), name="w")
    >>> w.type, w.get_value().nnz
    (Sparse{csc, float64}, 3)
    """
    var = sparse_constructor(value, name, strict, allow_downcast, borrow, format)
    if not isinstance(var, SparseSharedVariable):
        raise TypeError(
            f"sparse.shared: expected a scipy.sparse matrix, got "
            f"{type(value).__name__}; use symarray.shared for dense arrays"
        )
    return var
