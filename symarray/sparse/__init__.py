"""Symbolic sparse matrices with Theano's names: ``import symarray.sparse as sparse``.

Variables (``csr_matrix``, ``csc_matrix``, ``SparseType``), building and
taking apart (``CSR``/``CSC``/``CSM``, ``csm_properties``), conversions
(``dense_from_sparse``, ``csr_from_dense``, ``csc_from_dense``,
``transpose``, ``cast``), arithmetic (``add``, ``sub``, ``mul``,
``sp_sum``, ``row_scale``, ``col_scale``), products (``structured_dot``,
``dot``, ``sampling_dot``), elementwise functions of the stored values
(``structured_exp``, ``sqr``, ``sqrt``, ...), joining and cleaning
(``hstack``, ``vstack``, ``remove0``, ``clean``, ``square_diagonal``,
``diag``), comparisons (``eq``, ``lt``, ...), indexing (``x[i, j]``,
``x[a:b]``, ``x[rows]``), shared sparse matrices and
``verify_grad_sparse``.  scipy.sparse does the work (see docs/sparse.md).

Like ``theano.sparse``, this package is not loaded by ``import symarray``
(it imports scipy); importing it also lets ``symarray.shared`` take scipy
sparse matrices.

Modules: ``type`` (SparseType, variables), ``basic`` (building, conversion,
sizes), ``math`` (add, mul, sum), ``elemwise`` (the structured function
table), ``products`` (the dot family), ``structure`` (stacking, remove0,
diagonals), ``compare``, ``indexing``, ``sharedvar``, ``grad``
(verify_grad_sparse).
"""

from symarray.sparse import basic as _basic
from symarray.sparse import compare as _compare
from symarray.sparse import elemwise as _elemwise
from symarray.sparse import indexing as _indexing
from symarray.sparse import math as _math
from symarray.sparse import products as _products
from symarray.sparse import structure as _structure
from symarray.sparse import type as _type
from symarray.sparse.basic import *  # noqa: F403
from symarray.sparse.compare import *  # noqa: F403
from symarray.sparse.elemwise import *  # noqa: F403
from symarray.sparse.grad import verify_grad_sparse
from symarray.sparse.indexing import *  # noqa: F403
from symarray.sparse.math import *  # noqa: F403
from symarray.sparse.products import *  # noqa: F403
from symarray.sparse.sharedvar import SparseSharedVariable, shared, sparse_constructor
from symarray.sparse.structure import *  # noqa: F403
from symarray.sparse.type import *  # noqa: F403

#: Python's name for ``abs_`` (``abs(x)`` on a sparse variable also works)
abs = abs_  # noqa: A001, F405

__all__ = [
    *_type.__all__, *_basic.__all__, *_math.__all__, *_elemwise.__all__,
    *_products.__all__, *_structure.__all__, *_compare.__all__,
    *_indexing.__all__, "verify_grad_sparse", "SparseSharedVariable", "shared",
    "sparse_constructor", "abs",
]
