"""x[i, j], x[a:b, c:d] and x[rows] on sparse matrices against NumPy (every kind
of matrix, every linker), infer_shape and gradients."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import symarray as sa
import symarray.sparse as S  # noqa: N812
import symarray.tensor as T  # noqa: N812
from symarray.sparse.grad import verify_grad_sparse

from .sparse_checks import KINDS, check_infer_shape, check_op, random_sparse

SHAPE = (6, 5)
i, j = T.lscalar("i"), T.lscalar("j")
KEYS: list[tuple[str, Any, list[Any], Any]] = [
    # name, symbolic key, index input values, NumPy key (same values)
    ("rows", lambda: slice(1, 4), [], (slice(1, 4),)),
    ("cols", lambda: (slice(None), slice(-3, None)), [],
     (slice(None), slice(-3, None))),
    ("step", lambda: (slice(None, None, 2), slice(4, 0, -2)), [],
     (slice(None, None, 2), slice(4, 0, -2))),
    ("sym_slices", lambda: (slice(i, j), slice(j)), [1, 3], (slice(1, 3), slice(3))),
    ("empty", lambda: (slice(4, 2), slice(None)), [], (slice(4, 2), slice(None))),
    ("int_row", lambda: (i, slice(None)), [2], (slice(2, 3), slice(None))),
    ("neg_int_col", lambda: (slice(1, 5), -1), [], (slice(1, 5), slice(4, 5))),
    ("scalar", lambda: (2, 3), [], (2, 3)),
    ("sym_scalar", lambda: (i, j), [-1, 0], (-1, 0)),
    ("list", lambda: np.array([4, 0, 4, 2]), [], (np.array([4, 0, 4, 2]),)),
    ("col_list", lambda: (slice(None), T.lvector("v")), [np.array([1, 1, 3])],
     (slice(None), np.array([1, 1, 3]))),
]


def _inputs(key: Any) -> list[Any]:
    parts = key if isinstance(key, tuple) else (key,)
    out = []
    for p in parts:
        for q in ((p.start, p.stop, p.step) if isinstance(p, slice) else (p,)):
            if isinstance(q, sa.graph.basic.Variable) and q not in out:
                out.append(q)
    return out


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("name, make, vals, npkey", KEYS, ids=[k[0] for k in KEYS])
def test_getitem(fmt: str, name: str, make: Any, vals: list[Any], npkey: Any) -> None:
    x = S.matrix(fmt, "x", "float64")
    key = make()
    out = x[key]
    scalar = name.endswith("scalar")
    assert S.is_sparse_variable(out) != scalar
    if not scalar:
        assert out.type.format == fmt
    idx = _inputs(key)
    cases = [[random_sparse(fmt, SHAPE, kind, seed=k), *vals]
             for k, kind in enumerate(KINDS)]
    check_op([x, *idx], out, cases, lambda d, *_: d[npkey], linkers=("py", "cvm"))
    check_infer_shape([x, *idx], out, cases[4])


@pytest.mark.parametrize("name, make, vals, npkey", KEYS, ids=[k[0] for k in KEYS])
def test_getitem_grads(name: str, make: Any, vals: list[Any], npkey: Any) -> None:
    a = random_sparse("csr", SHAPE, "duplicates", seed=6)
    x = S.csr_matrix("x", "float64")
    key = make()
    idx = _inputs(key)
    givens = dict(zip(idx, vals, strict=True))
    out = x[key]
    dense_out = (S.DenseFromSparse(structured=False)(out)
                 if S.is_sparse_variable(out) else out)
    w = np.random.default_rng(1).standard_normal(a.toarray()[npkey].shape)
    g = sa.grad(T.sum(dense_out * w), x)
    assert g.type.format == "csr"
    want = np.zeros(SHAPE)
    np.add.at(want, tuple(np.ix_(*[np.arange(n)[k] for n, k in zip(
        SHAPE, npkey + (slice(None),) * (2 - len(npkey)), strict=True)]))
              if not name.endswith("scalar") else npkey, w)
    got = g.eval({x: a, **givens})
    np.testing.assert_allclose(got.toarray(), want)
    if not idx:
        verify_grad_sparse(lambda m: m[make()], [a], structured=False, n_tests=1)


def test_index_errors() -> None:
    x = S.csr_matrix("x", "float64")
    with pytest.raises(TypeError, match="integer"):
        x[T.dscalar("s"), 0]
    with pytest.raises(TypeError, match="one axis"):
        x[[0, 1], [1, 2]]
    with pytest.raises(TypeError, match="2-d"):
        x[None]
    with pytest.raises(TypeError, match="1 or 2 indices"):
        x[0, 0, 0]
    f = sa.function([x], x[7, 0])
    with pytest.raises(IndexError):
        f(random_sparse("csr", SHAPE))
