"""structured_dot, dot, true_dot and sampling_dot against NumPy (every kind of
matrix, every linker), infer_shape, and their gradients: structured ones
on the sparse operand's pattern, regular ones everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

import symarray as sa
import symarray.sparse as S  # noqa: N812
import symarray.tensor as T  # noqa: N812
from symarray.errors import ShapeMismatchError
from symarray.sparse.grad import verify_grad_sparse

from .sparse_checks import (
    KINDS,
    assert_close,
    check_infer_shape,
    check_op,
    random_sparse,
)

RNG = np.random.default_rng(11)
M, K, N = 5, 4, 3


def _sparse(fmt: str, shape: tuple[int, int], k: int) -> Any:
    return random_sparse(fmt, shape, KINDS[k % len(KINDS)], seed=20 + k)


#: (label, x maker, y maker, x value maker(k), y value maker(k), sparse result)
OPERANDS: list[tuple[str, Callable[[], Any], Callable[[], Any],
                     Callable[[int], Any], Callable[[int], Any], bool]] = [
    ("csr@dense", lambda: S.csr_matrix("x", "float64"), lambda: T.dmatrix("y"),
     lambda k: _sparse("csr", (M, K), k), lambda k: RNG.standard_normal((K, N)), False),
    ("csc@dense", lambda: S.csc_matrix("x", "float64"), lambda: T.dmatrix("y"),
     lambda k: _sparse("csc", (M, K), k), lambda k: RNG.standard_normal((K, N)), False),
    ("dense@csr", lambda: T.dmatrix("x"), lambda: S.csr_matrix("y", "float64"),
     lambda k: RNG.standard_normal((M, K)), lambda k: _sparse("csr", (K, N), k), False),
    ("csr@csc", lambda: S.csr_matrix("x", "float64"), lambda: S.csc_matrix("y"),
     lambda k: _sparse("csr", (M, K), k), lambda k: _sparse("csc", (K, N), k + 1),
     True),
    ("csr@vector", lambda: S.csr_matrix("x", "float64"), lambda: T.dvector("y"),
     lambda k: _sparse("csr", (M, K), k), lambda k: RNG.standard_normal(K), False),
    ("vector@csc", lambda: T.dvector("x"), lambda: S.csc_matrix("y", "float64"),
     lambda k: RNG.standard_normal(M), lambda k: _sparse("csc", (M, N), k), False),
]
PRODUCTS = [("structured_dot", S.structured_dot), ("dot", S.dot),
            ("true_dot", S.true_dot)]


@pytest.mark.parametrize("label, mx, my, vx, vy, sparse_out", OPERANDS,
                         ids=[o[0] for o in OPERANDS])
@pytest.mark.parametrize("pname, product", PRODUCTS, ids=[p[0] for p in PRODUCTS])
def test_product_against_numpy(label: str, mx: Any, my: Any, vx: Any, vy: Any,
                               sparse_out: bool, pname: str, product: Any) -> None:
    x, y = mx(), my()
    out = product(x, y)
    assert S.is_sparse_variable(out) == sparse_out
    cases = [[vx(k), vy(k)] for k in range(len(KINDS))]
    check_op([x, y], out, cases, lambda a, b: a @ b,
             linkers=("py", "vm", "cvm", "cvm_nogc") if pname == "dot" else ("cvm",))
    if out.owner is not None and not isinstance(out.owner.op, T.DimShuffle):
        check_infer_shape([x, y], out, cases[4])


def test_float32_and_mixed_dtypes() -> None:
    x, w = S.csr_matrix("x", "float32"), T.fmatrix("w")
    assert S.dot(x, w).dtype == "float32"
    assert S.dot(x, T.dmatrix("d")).dtype == "float64"
    m = random_sparse("csr", (M, K), "duplicates", dtype="float32")
    wv = RNG.standard_normal((K, N)).astype("float32")
    got = sa.function([x, w], S.structured_dot(x, w))(m, wv)
    assert got.dtype == np.float32
    assert_close(got, m.toarray() @ wv)


@pytest.mark.parametrize("product", [S.dot, S.structured_dot])
def test_shape_mismatch_is_reported(product: Any) -> None:
    x, w = S.csr_matrix("x", "float64"), T.dmatrix("w")
    f = sa.function([x, w], product(x, w))
    with pytest.raises(ShapeMismatchError, match="not aligned"):
        f(random_sparse("csr", (M, K)), np.ones((K + 1, N)))


def test_operand_errors() -> None:
    with pytest.raises(TypeError, match="at least one operand must be sparse"):
        S.structured_dot(T.dmatrix("a"), T.dmatrix("b"))
    with pytest.raises(TypeError, match="matrix"):
        S.Dot()(S.csr_matrix("x"), T.dvector("v"))
    with pytest.raises(TypeError, match="dense"):
        S.sampling_dot(S.csr_matrix("x"), T.dmatrix("y"), S.csr_matrix("p"))


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sampling_dot(fmt: str) -> None:
    a, b = T.dmatrix("a"), T.dmatrix("b")
    p = S.matrix(fmt, "p", "float64")
    out = S.sampling_dot(a, b, p)
    assert out.type == p.type
    cases = [[RNG.standard_normal((M, K)), RNG.standard_normal((N, K)),
              random_sparse(fmt, (M, N), kind, seed=k)] for k, kind in enumerate(KINDS)]
    check_op([a, b, p], out, cases, lambda x, y, q: q * (x @ y.T))
    check_infer_shape([a, b, p], out, cases[4])
    with pytest.raises(ShapeMismatchError, match="m x k"):
        sa.function([a, b, p], out)(np.ones((M, K)), np.ones((N, K + 1)), cases[0][2])


# -- gradients -----------------------------------------------------------------
GRAD_POINTS: list[tuple[str, Callable[[], list[Any]]]] = [
    ("csr@dense", lambda: [random_sparse("csr", (4, 3), "duplicates", seed=1),
                           RNG.standard_normal((3, 2))]),
    ("csc@dense", lambda: [random_sparse("csc", (4, 3), "unsorted", seed=2),
                           RNG.standard_normal((3, 2))]),
    ("dense@csr", lambda: [RNG.standard_normal((2, 4)),
                           random_sparse("csr", (4, 3), "duplicates", seed=3)]),
    ("csr@csc", lambda: [random_sparse("csr", (4, 3), "plain", seed=4),
                         random_sparse("csc", (3, 2), "duplicates", seed=5)]),
    ("csr@vector", lambda: [random_sparse("csr", (4, 3), "plain", seed=6),
                            RNG.standard_normal(3)]),
]


@pytest.mark.parametrize("label, points", GRAD_POINTS, ids=[g[0] for g in GRAD_POINTS])
def test_product_gradients(label: str, points: Any) -> None:
    pt = points()
    # structured_dot: structured gradients (the stored values move)
    verify_grad_sparse(S.structured_dot, pt, structured=True, n_tests=1)
    # dot: regular gradients, checked on dense points (every entry moves)
    verify_grad_sparse(S.dot, pt, structured=False, n_tests=1)


def test_sampling_dot_gradients() -> None:
    pt = [RNG.standard_normal((3, 2)), RNG.standard_normal((4, 2)),
          random_sparse("csr", (3, 4), "duplicates", seed=7)]
    verify_grad_sparse(S.sampling_dot, pt, structured=True, n_tests=1)


def test_structured_vs_regular_gradient_of_sparse_operand() -> None:
    x, w = S.csr_matrix("x", "float64"), T.dmatrix("w")
    m = random_sparse("csr", (M, K), "empty_rows")
    wv = RNG.standard_normal((K, N))
    g_struct = sa.grad(T.sum(S.structured_dot(x, w)), x)
    g_full = sa.grad(T.sum(S.dot(x, w)), x)
    f = sa.function([x, w], [g_struct, g_full])
    gs, gf = f(m, wv)
    full = np.ones((M, N)) @ wv.T
    assert type(gs) is type(gf) is sp.csr_matrix
    assert gs.nnz <= m.nnz
    assert_close(gs, np.where(m.toarray() != 0, full, 0.0))
    assert_close(gf, full)


def test_dense_gradient_through_sparse_product() -> None:
    x, w = S.csc_matrix("x", "float64"), T.dmatrix("w")
    m = random_sparse("csc", (M, K), "duplicates")
    wv = RNG.standard_normal((K, N))
    for product in (S.dot, S.structured_dot):
        gw = sa.grad(T.sum(T.tanh(product(x, w))), w)
        got = sa.function([x, w], gw)(m, wv)
        d = m.toarray()
        assert_close(got, d.T @ (1 - np.tanh(d @ wv) ** 2))


def test_dense_operators_and_tensor_dot_dispatch_to_sparse_ops() -> None:
    # Theano's T.dot and the dense operand's operators hand a sparse operand
    # to the sparse ops instead of failing in as_tensor_variable
    x = S.csr_matrix("x", dtype="float64")
    d = T.dmatrix("d")
    xv = sp.random(4, 3, density=0.5, format="csr", random_state=1)
    dv = np.arange(12.0).reshape(3, 4)
    ev = np.arange(12.0).reshape(4, 3)
    f = sa.function([x, d], [T.dot(d, x), T.dot(x, d), d @ x])
    got = f(xv, dv)
    dense = xv.toarray()
    expected = [dv @ dense, dense @ dv, dv @ dense]
    for g, e in zip(got, expected, strict=True):
        g = g.toarray() if sp.issparse(g) else g
        np.testing.assert_allclose(g, e)
    e_ = T.dmatrix("e")
    h = sa.function([x, e_], [e_ + x, e_ * x])
    s, m = h(xv, ev)
    s = s.toarray() if sp.issparse(s) else s
    m = m.toarray() if sp.issparse(m) else m
    np.testing.assert_allclose(s, ev + dense)
    np.testing.assert_allclose(m, ev * dense)
