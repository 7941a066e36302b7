"""Numeric gradient checks for ops with sparse inputs: ``verify_grad_sparse``.

:func:`symarray.gradient.verify_grad` perturbs dense arrays, so sparse
points are turned into dense parameters first (Theano's recipe):

* ``structured=True``: the parameter is the ``data`` vector of each sparse
  point, rebuilt with :class:`~symarray.sparse.basic.CSM` on the point's
  own ``indices``/``indptr`` (kept as they are: unsorted indices and
  duplicates stay).  This checks structured gradients: only stored values
  move.
* ``structured=False``: the parameter is the dense matrix, made sparse with
  ``csr_from_dense``/``csc_from_dense``.  This checks regular gradients (a
  structured op is discontinuous where an unstored zero becomes stored).

A sparse result is made dense with ``DenseFromSparse(structured)`` so the
check covers the op alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from symarray.sparse.basic import CSM, DenseFromSparse, SparseFromDense
from symarray.sparse.type import FORMATS, is_sparse_variable

__all__ = ["verify_grad_sparse"]


def _from_data(fmt: str, indices: Any, indptr: Any, shape: tuple[int, int]
               ) -> Callable[[Any], Any]:
    """A builder of the matrix with this storage from its data vector."""
    i, j, s = np.array(indices), np.array(indptr), np.array(shape, dtype="int64")
    return lambda data: CSM(fmt)(data, i, j, s)


def verify_grad_sparse(op: Callable[..., Any], pt: Sequence[Any],
                       structured: bool = False, *args: Any, **kwargs: Any) -> None:
    """Check the gradient of ``op`` (a callable on symbolic inputs) at the
    points ``pt``, which may hold scipy sparse matrices and dense arrays.

    Extra arguments go to :func:`symarray.gradient.verify_grad`
    (``n_tests``, ``rng``, ``eps``, ``abs_tol``, ``rel_tol``, ``mode``).

    >>> import numpy as np, scipy.sparse as sp, symarray.sparse as S
    >>> x = sp.random(3, 4, density=0.5, format="csr", random_state=0)
    >>> verify_grad_sparse(S.sqr, [x], structured=True)
    """
    from symarray.gradient import verify_grad

    builders: list[Callable[[Any], Any]] = []
    dense_points: list[np.ndarray[Any, Any]] = []
    for p in pt:
        if not sp.issparse(p):
            builders.append(lambda v: v)
            dense_points.append(np.array(p, order="C"))
            continue
        fmt = p.format if p.format in FORMATS else "csr"
        p = FORMATS[fmt](p)
        if structured:
            nnz = int(p.indptr[-1])
            builders.append(_from_data(fmt, p.indices[:nnz], p.indptr, p.shape))
            dense_points.append(np.array(p.data[:nnz]))
        else:
            builders.append(SparseFromDense(fmt))
            # C order: verify_grad perturbs the point through reshape(-1),
            # which copies a Fortran-ordered array (csc.toarray() gives one)
            dense_points.append(np.ascontiguousarray(p.toarray()))

    def wrapped(*inputs: Any) -> Any:
        out = op(*[build(v) for build, v in zip(builders, inputs, strict=True)])
        if is_sparse_variable(out):
            out = DenseFromSparse(structured)(out)
        return out

    verify_grad(wrapped, dense_points, *args, **kwargs)
