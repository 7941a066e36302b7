"""Gradients and R_op of cumsum/cumprod, diff, diagonals, searchsorted, nonzero."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray.gradient import DisconnectedInputError

from .grad_numeric import check_grad, check_rop, grad_of

RNG = np.random.default_rng(11)
X = RNG.uniform(-1.5, 1.5, (3, 4))
XZ = X.copy()
XZ[0, 1] = 0.0  # row 0: one zero
XZ[1, 0] = XZ[1, 2] = 0.0  # row 1: two zeros, the first at the start
XZ[2, 3] = 0.0  # row 2: a zero at the end


CUM_CASES = [(X, a) for a in (None, 0, 1, -1)] + [(XZ, a) for a in (None, 0, 1)] + [
    (X[0], None), (X[0], 0), (XZ[1], -1), (np.float64(1.5), None)]


@pytest.mark.parametrize("fn", [T.cumsum, T.cumprod])
@pytest.mark.parametrize("value,axis", CUM_CASES)
def test_cumulative_grad_and_rop(fn: object, value: np.ndarray,
                                 axis: int | None) -> None:
    def fun(x: object) -> object:
        return fn(x, axis)  # type: ignore[operator]

    check_grad(fun, [value])
    check_rop(fun, [value])


@pytest.mark.parametrize("row", [[2.0, 0.0, 3.0, 4.0], [0.0, 0.0, 2.0],
                                 [1.0, 2.0, 3.0, 0.0], [0.0], []])
def test_cumprod_grad_with_zeros_is_exact(row: list[float]) -> None:
    x = T.dvector("x")
    value = np.array(row)
    weights = np.arange(1.0, value.size + 1)
    got = grad_of(T.sum(T.cumprod(x) * weights), x, {x: value})
    # d/dx_k sum_i w_i prod_{j<=i} x_j = sum_{i>=k} w_i prod_{j<=i, j!=k} x_j
    expected = [sum(weights[i] * np.prod(np.delete(value[: i + 1], k))
                    for i in range(k, value.size)) for k in range(value.size)]
    np.testing.assert_allclose(got, expected)


def test_cumprod_second_order_with_one_zero() -> None:
    x = T.tensor("float64", shape=(4,))
    weights = np.array([1.0, -2.0, 3.0, 0.5])
    cost = T.sum(T.cumprod(x) * weights)
    grad_fn = sa.function([x], T.grad(cost, x))
    hess = T.hessian(cost, x)
    for value in ([1.0, 2.0, 0.0, 3.0], [0.0, 2.0, -1.0, 3.0], [1.5, 2.0, 3.0, -1.0]):
        v = np.array(value)
        eye = np.eye(4) * 1e-6
        numeric = [(grad_fn(v + e) - grad_fn(v - e)) / 2e-6 for e in eye]
        np.testing.assert_allclose(hess.eval({x: v}), numeric, atol=1e-6)


def test_cumulative_float32_and_integers() -> None:
    x32 = X.astype("float32")
    for fn in (T.cumsum, T.cumprod):
        check_grad(lambda v, fn=fn: fn(v, 1), [x32])
        check_rop(lambda v, fn=fn: fn(v, 0), [x32])
        v = T.fmatrix("v")
        assert T.grad(T.sum(fn(v, 0)), v).dtype == "float32"
        iv = T.ivector("iv")
        node = fn(iv).owner
        assert node.op.L_op(node.inputs, node.outputs, [T.lvector()]) == [None]


@pytest.mark.parametrize("n", [0, 1, 2, 3])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_diff_grad_and_rop(n: int, axis: int) -> None:
    def fun(x: object) -> object:
        return T.diff(x, n, axis)

    check_grad(fun, [X])
    check_rop(fun, [X])


def test_diff_shorter_than_n_and_float32() -> None:
    # the output is empty, so the gradient is zero, with the input's shape
    check_grad(lambda x: T.diff(x, 5), [X[0]])
    x = T.tensor("float64", shape=(2,))
    g = T.grad(T.sum(T.diff(x, 3)) + T.sum(x), x)
    np.testing.assert_array_equal(g.eval({x: np.ones(2)}), [1.0, 1.0])
    check_grad(lambda v: T.diff(v, 2, 0), [X.astype("float32")])
    check_rop(lambda v: T.diff(v, 1, 1), [X.astype("float32")])


@pytest.mark.parametrize("offset", [0, 1, -1, 2, -3, 5])
@pytest.mark.parametrize("shape,axis1,axis2", [((3, 4), 0, 1), ((4, 3), 1, 0),
                                               ((2, 3, 2), 2, 0), ((2, 2, 3), 1, 2)])
def test_diagonal_grad_and_rop(shape: tuple[int, ...], axis1: int, axis2: int,
                               offset: int) -> None:
    def fun(x: object) -> object:
        return T.diagonal(x, offset, axis1, axis2)

    value = RNG.uniform(-1, 1, shape)
    check_grad(fun, [value])
    check_rop(fun, [value])


@pytest.mark.parametrize("k", [0, 1, -2])
def test_diag_grad_and_rop(k: int) -> None:
    check_grad(lambda v: T.diag(v, k), [X[0]])  # AllocDiag
    check_rop(lambda v: T.diag(v, k), [X[0]])
    check_grad(lambda m: T.diag(m, k), [X])  # ExtractDiag
    check_rop(lambda m: T.diag(m, k), [X])


def test_diag_float32() -> None:
    check_grad(lambda v: T.diag(v), [X[0].astype("float32")])
    check_grad(lambda m: T.diagonal(m, 1), [X.astype("float32")])
    check_rop(lambda m: T.diagonal(m, -1), [X.astype("float32")])


def test_searchsorted_and_nonzero_have_no_gradient() -> None:
    x, v = T.dvector("x"), T.dvector("v")
    pos = T.searchsorted(x, v)
    node = pos.owner
    assert node.op.L_op(node.inputs, node.outputs, [T.zeros_like(pos)]) == [None, None]
    assert node.op.R_op(node.inputs, [x, v]) == [None]
    sorter = T.lvector("s")
    node = T.searchsorted(x, v, sorter=sorter).owner
    assert node.op.L_op(node.inputs, node.outputs, [T.lvector()]) == [None] * 3
    m = T.dmatrix("m")
    rows, cols = T.nonzero(m)
    node = rows.owner
    assert node.op.L_op(node.inputs, node.outputs, [T.lvector(), T.lvector()]) == [None]
    assert node.op.R_op(node.inputs, [m]) == [None, None]
    cost = T.sum(T.cast(pos, "float64")) + T.sum(T.cast(T.flatnonzero(m), "float64"))
    with pytest.raises(DisconnectedInputError):
        T.grad(cost, x)
    rop = T.Rop(pos, [x, v], [x, v])
    zero = rop.eval({x: np.array([1.0, 2.0]), v: np.array([1.5])})
    np.testing.assert_array_equal(zero, [0.0])
