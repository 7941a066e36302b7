"""Shared sparse matrices: construction, get/set, updates under every
linker, and a sparse logistic-regression training loop that converges."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from op_checks import LINKERS

import symarray as sa
import symarray.sparse as S  # noqa: N812
import symarray.tensor as T  # noqa: N812
from symarray.errors import SparseFormatError

from .sparse_checks import assert_close, random_sparse


@pytest.mark.parametrize("make", [sa.shared, S.shared])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_shared_constructor(make: object, fmt: str) -> None:
    m = random_sparse(fmt, (4, 3), "duplicates")
    w = make(m, name="w")  # type: ignore[operator]
    assert isinstance(w, S.SparseSharedVariable)
    assert w.type == S.SparseType(fmt, "float64") and w.name == "w"
    got = w.get_value()
    assert got is not m and type(got) is type(m)
    m.data[:] = 0  # not borrowed: the variable kept its own copy
    assert w.get_value(borrow=True).nnz > 0 and np.any(w.get_value().data)
    assert w.get_value(borrow=True) is w.get_value(borrow=True)


def test_shared_other_formats_and_options() -> None:
    coo = sp.random(3, 3, density=0.5, format="coo", random_state=1)
    w = S.shared(coo)
    assert w.type.format == "csr"
    assert_close(w.get_value(), coo.toarray())
    assert S.shared(coo, format="csc").type.format == "csc"
    b = sp.eye(2, format="csr")
    assert S.shared(b, borrow=True).get_value(borrow=True) is b
    with pytest.raises(TypeError, match="scipy.sparse"):
        S.shared(np.ones((2, 2)))


def test_set_value_and_zero() -> None:
    w = S.shared(sp.eye(3, format="csr"))
    w.set_value(sp.eye(3, format="csc") * 2)  # converted to csr
    assert type(w.get_value()) is sp.csr_matrix
    assert_close(w.get_value(), 2 * np.eye(3))
    with pytest.raises(SparseFormatError, match="set_value"):
        w.set_value(np.eye(3))
    w.zero()
    assert w.get_value().nnz == 0 and w.get_value().shape == (3, 3)


@pytest.mark.parametrize("linker", LINKERS)
def test_sparse_updates(linker: str) -> None:
    m = random_sparse("csr", (4, 3), "unsorted", seed=2)
    w = S.shared(m, name="w")
    x = S.csr_matrix("x", "float64")
    f = sa.function([x], S.sp_sum(w), updates=[(w, S.add(w * 0.5, x))],
                    mode=sa.Mode(linker=linker))
    expected = m.toarray()
    for step in range(3):
        inc = random_sparse("csr", (4, 3), "duplicates", seed=10 + step)
        total = f(inc)
        assert np.isclose(total, expected.sum())
        expected = expected * 0.5 + inc.toarray()
        assert type(w.get_value(borrow=True)) is sp.csr_matrix
        assert_close(w.get_value(), expected)


def test_update_type_mismatch_is_reported() -> None:
    w = S.shared(sp.eye(2, format="csr"), name="w")
    with pytest.raises(ValueError, match="astype"):
        sa.function([], [], updates=[(w, S.transpose(w))])


def _logreg_data(n: int, d: int, seed: int) -> tuple[sp.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = sp.random(n, d, density=0.1, format="csr", random_state=seed)
    true_w = rng.standard_normal(d)
    y = (x @ true_w > 0).astype("float64")
    return x, y


@pytest.mark.parametrize("product", [S.structured_dot, S.dot])
@pytest.mark.parametrize("linker", ["py", "cvm"])
def test_sparse_logistic_regression_converges(product: object, linker: str) -> None:
    xv, yv = _logreg_data(200, 30, seed=3)
    x, y = S.csr_matrix("x", "float64"), T.dvector("y")
    w = sa.shared(np.zeros(30), name="w")
    b = sa.shared(0.0, name="b")
    p = T.nnet.sigmoid(product(x, w) + b)  # type: ignore[operator]
    cost = -T.mean(y * T.log(p) + (1 - y) * T.log(1 - p))
    gw, gb = sa.grad(cost, [w, b])
    train = sa.function([x, y], cost, updates=[(w, w - 2.0 * gw), (b, b - 2.0 * gb)],
                        mode=sa.Mode(linker=linker))
    losses = [float(train(xv, yv)) for _ in range(150)]
    assert losses[-1] < 0.5 * losses[0]
    assert all(b <= a + 1e-12 for a, b in zip(losses, losses[1:], strict=False))
    predict = sa.function([x], p > 0.5)
    assert np.mean(predict(xv) == yv) > 0.9


def test_sparse_shared_data_with_givens() -> None:
    xv, yv = _logreg_data(60, 8, seed=4)
    data = S.shared(xv, name="data")
    w = sa.shared(np.zeros(8), name="w")
    x = S.csr_matrix("x", "float64")
    y = T.dvector("y")
    cost = T.sum((S.structured_dot(x, w) - y) ** 2)
    step = sa.function([y], cost, updates=[(w, w - 0.01 * sa.grad(cost, w))],
                       givens={x: data})
    first = float(step(yv))
    for _ in range(30):
        last = float(step(yv))
    assert last < first


@pytest.mark.parametrize("linker", ["py", "cvm_nogc"])
def test_sparse_parameter_trains_on_its_pattern(linker: str) -> None:
    rng = np.random.default_rng(5)
    w0 = random_sparse("csr", (6, 3), "plain", seed=6)
    w = S.shared(w0, name="w")
    x, t = T.dmatrix("x"), T.dmatrix("t")
    cost = T.sum((S.structured_dot(x, w) - t) ** 2)
    gw = sa.grad(cost, w)
    assert gw.type == w.type
    step = sa.function([x, t], cost, updates=[(w, w - gw * 0.01)],
                       mode=sa.Mode(linker=linker))
    xv, tv = rng.standard_normal((20, 6)), rng.standard_normal((20, 3))
    losses = [float(step(xv, tv)) for _ in range(40)]
    assert losses[-1] < 0.7 * losses[0]
    got = w.get_value()
    assert type(got) is sp.csr_matrix
    kept = (got.toarray() != 0) & (w0.toarray() == 0)
    assert not kept.any()  # nothing stored outside the starting pattern


def test_other_constructors_keep_their_options() -> None:
    # the sparse constructor is tried first once registered: it must pass
    # dense values and their options (shape=, broadcastable=) on
    v = sa.shared(np.zeros((1, 3)), broadcastable=(True, False))
    assert v.type.broadcastable == (True, False)
    with pytest.raises(TypeError, match="options"):
        sa.shared(sp.eye(2, format="csr"), shape=(2, 2))
