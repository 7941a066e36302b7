"""eq, neq, lt, gt, le, ge with sparse operands against NumPy (every kind of
matrix, every linker), result kinds and dtypes, infer_shape."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import symarray as sa
import symarray.sparse as S  # noqa: N812
import symarray.tensor as T  # noqa: N812
from symarray.errors import ShapeMismatchError

from .sparse_checks import KINDS, check_infer_shape, check_op, random_sparse

SHAPE = (5, 4)
RNG = np.random.default_rng(3)
OPS = [("eq", np.equal), ("neq", np.not_equal), ("lt", np.less),
       ("gt", np.greater), ("le", np.less_equal), ("ge", np.greater_equal)]


def _u8(ref: Any) -> Any:
    return lambda *d: ref(*d).astype(np.uint8)


def _pairs(fx: str, fy: str) -> list[list[Any]]:
    # rounded values: equal entries occur (and duplicates sum to them)
    out = []
    for k, kind in enumerate(KINDS):
        a = random_sparse(fx, SHAPE, kind, seed=k)
        b = random_sparse(fy, SHAPE, KINDS[(k + 1) % len(KINDS)], seed=k)
        out.append([a, b])
    return out


@pytest.mark.parametrize("name, ref", OPS, ids=[o[0] for o in OPS])
@pytest.mark.parametrize("fx, fy", [("csr", "csr"), ("csc", "csr")])
def test_sparse_sparse(name: str, ref: Any, fx: str, fy: str) -> None:
    x, y = S.matrix(fx, "x", "float64"), S.matrix(fy, "y", "float64")
    out = getattr(S, name)(x, y)
    assert S.is_sparse_variable(out) and out.type.format == fx
    assert out.dtype == "uint8"
    cases = _pairs(fx, fy) + [[random_sparse(fx, SHAPE, "plain", seed=5)] * 2]
    check_op([x, y], out, cases, _u8(ref), linkers=("py", "cvm"))
    check_infer_shape([x, y], out, cases[0])


DENSE = {
    "matrix": (lambda: T.dmatrix("d"), np.round(RNG.uniform(-1, 1, SHAPE), 1)),
    "row": (lambda: T.dvector("d"), RNG.uniform(-1, 1, SHAPE[1])),
    "scalar": (lambda: T.dscalar("d"), np.array(0.0)),
}


@pytest.mark.parametrize("dense", list(DENSE))
@pytest.mark.parametrize("name, ref", OPS, ids=[o[0] for o in OPS])
def test_sparse_dense(dense: str, name: str, ref: Any) -> None:
    make, value = DENSE[dense]
    x, d = S.csc_matrix("x", "float64"), make()
    cases = [[random_sparse("csc", SHAPE, kind, seed=k), value]
             for k, kind in enumerate(KINDS)]
    out = getattr(S, name)(x, d)
    assert not S.is_sparse_variable(out) and out.dtype == "uint8"
    check_op([x, d], out, cases, _u8(ref), linkers=("py", "cvm"))
    check_infer_shape([x, d], out, cases[1])
    # dense first: the mirrored comparison, same answers as NumPy
    rev = getattr(S, name)(d, x)
    check_op([x, d], rev, cases, _u8(lambda a, b: ref(b, a)), linkers=("cvm",))


def test_operators_dense_dense_and_errors() -> None:
    x = S.csr_matrix("x", "float64")
    m = random_sparse("csr", SHAPE, "duplicates")
    for got, want in [(x < 0.2, m.toarray() < 0.2), (x >= 0.0, m.toarray() >= 0)]:
        np.testing.assert_array_equal(got.eval({x: m}), want.astype(np.uint8))
    a, b = T.dmatrix("a"), T.dmatrix("b")
    assert not S.is_sparse_variable(S.lt(a, b))
    f = sa.function([x], S.eq(x, x.T))
    with pytest.raises(ShapeMismatchError, match="differ"):
        f(m)
    with pytest.raises(KeyError, match="known"):
        S.ComparisonSS("lesser")


def test_no_gradient() -> None:
    x = S.csr_matrix("x", "float64")
    cost = T.sum(T.cast(S.lt(x, 0.5), "float64")) + S.sp_sum(x)
    g = sa.grad(cost, x)
    m = random_sparse("csr", SHAPE)
    np.testing.assert_allclose(g.eval({x: m}).toarray(), np.ones(SHAPE))
