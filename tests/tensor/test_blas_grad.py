"""Gradients (L_op) and tangents (R_op) of the products, checked numerically."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray.tensor.blas import BatchedDot, BatchedTensorDot, Dot, Matmul, TensorDot

from .grad_numeric import check_grad, check_rop

RNG = np.random.default_rng(3)


def _r(*shape: int) -> np.ndarray:
    return RNG.uniform(-1, 1, shape)


# (shape of a, shape of b, the op T.dot builds)
DOT_CASES = [
    ((3,), (3,), Dot),  # vv -> 0-d
    ((2, 3), (3,), Dot),  # mv
    ((3,), (3, 2), Dot),  # vm
    ((2, 3), (3, 4), Dot),  # mm
    ((1, 3), (3, 1), Dot),  # length-1 dimensions
    ((0, 3), (3, 2), Dot),  # empty
    ((2, 3, 2), (2, 2), TensorDot),  # > 2-d: contract a's last, b's 2nd-to-last
    ((2, 3), (2, 3, 2), TensorDot),
    ((3,), (2, 3, 2), TensorDot),
    ((2, 2, 3), (3,), TensorDot),
    ((), (3,), None),  # 0-d: a product (Elemwise)
    ((2, 2), (), None),
]


@pytest.mark.parametrize("sa_,sb,op", DOT_CASES)
def test_dot_grad_and_rop(sa_: tuple[int, ...], sb: tuple[int, ...], op: type) -> None:
    a, b = _r(*sa_), _r(*sb)
    out = T.dot(T.tensor("float64", shape=(None,) * len(sa_)),
                T.tensor("float64", shape=(None,) * len(sb)))
    if op is not None:
        assert isinstance(out.owner.op, op)
    check_grad(T.dot, [a, b])
    check_rop(T.dot, [a, b])
    check_rop(lambda x: T.dot(x, T.constant(b)), [a])  # one tangent only
    check_rop(lambda y: T.dot(T.constant(a), y), [b])


def test_dot_grad_and_rop_float32_and_mixed_dtypes() -> None:
    a, b = _r(2, 3).astype("float32"), _r(3, 2).astype("float32")
    check_grad(T.dot, [a, b])
    check_rop(T.dot, [a, b])
    x, y = T.fmatrix("x"), T.dmatrix("y")
    gx, gy = T.grad(T.sum(T.dot(x, y)), [x, y])
    assert (gx.dtype, gy.dtype) == ("float32", "float64")
    np.testing.assert_allclose(gx.eval({x: a, y: b.astype("float64")}),
                               np.ones((2, 2)) @ b.T, rtol=1e-6)


def test_dot_integer_operand_gets_no_gradient() -> None:
    ix, y = T.imatrix("ix"), T.dmatrix("y")
    out = T.dot(ix, y)
    node = out.owner
    ga, gb = node.op.L_op(node.inputs, node.outputs, [T.ones_like(out)])
    assert ga is None and gb.dtype == "float64"
    g_int, g_y = T.grad(T.sum(out), [ix, y])
    f = sa.function([ix, y], [g_int, g_y])
    got_int, got_y = f(np.array([[1, 2]], "int32"), np.ones((2, 3)))
    np.testing.assert_array_equal(got_int, [[0.0, 0.0]])
    np.testing.assert_array_equal(got_y, [[1, 1, 1], [2, 2, 2]])
    check_rop(lambda v: T.dot(T.constant(np.array([[1, 2]], "int32")), v), [_r(2, 3)])


def test_matrix_operator_and_static_shapes() -> None:
    x, y = T.tensor("float64", shape=(1, 3)), T.dmatrix("y")
    gx = T.grad(T.sum(x @ y), x)
    assert gx.type.shape == (1, 3)
    check_rop(lambda a, b: a @ b, [_r(1, 3), _r(3, 2)], static=True)


def test_dot_hessian() -> None:
    # d^2/dx^2 |A x|^2 = 2 A^T A
    x, a = T.tensor("float64", shape=(3,)), T.dmatrix("a")
    value = _r(2, 3)
    hess = T.hessian(T.sum(T.dot(a, x) ** 2), x).eval({a: value, x: _r(3)})
    np.testing.assert_allclose(hess, 2 * value.T @ value)


TENSORDOT_CASES = [
    ((2, 3, 2), (2, 3, 2), [[1, 2], [1, 0]]),  # pairs not in axis order
    ((2, 3), (3, 2), [[0, 1], [1, 0]]),
    ((2, 3), (2,), [[], []]),  # outer product
    ((2, 3), (2, 3), 2),
    ((3, 2, 2), (2, 3), 1),
    ((2, 3), (2, 3), 0),
]


@pytest.mark.parametrize("sa_,sb,axes", TENSORDOT_CASES)
def test_tensordot_grad_and_rop(sa_: tuple[int, ...], sb: tuple[int, ...],
                                axes: object) -> None:
    def fun(x: object, y: object) -> object:
        return T.tensordot(x, y, axes)

    check_grad(fun, [_r(*sa_), _r(*sb)])
    check_rop(fun, [_r(*sa_), _r(*sb)])
    # the op itself, also where T.tensordot would build a Dot
    op = T.tensordot(T.dtensor3(), T.dtensor3(), [[2, 0], [0, 2]]).owner.op
    assert isinstance(op, TensorDot)


def test_tensordot_float32() -> None:
    a, b = _r(2, 3, 2).astype("float32"), _r(2, 3).astype("float32")
    check_grad(lambda x, y: T.tensordot(x, y, [[0, 1], [0, 1]]), [a, b])
    check_rop(lambda x, y: T.tensordot(x, y, [[0, 1], [0, 1]]), [a, b])


BATCHED_CASES = [
    ((2, 3), (2, 3), BatchedDot),  # vector . vector per batch
    ((2, 2, 3), (2, 3), BatchedDot),
    ((2, 3), (2, 3, 2), BatchedDot),
    ((2, 2, 3), (2, 3, 2), BatchedDot),
    ((2, 2, 2, 3), (2, 3, 2), BatchedTensorDot),
    ((2, 2, 3), (2, 2, 3, 2), BatchedTensorDot),
    ((2, 3), (2,), None),  # a 1-d input scales (Elemwise)
]


@pytest.mark.parametrize("sa_,sb,op", BATCHED_CASES)
def test_batched_dot_grad_and_rop(sa_: tuple[int, ...], sb: tuple[int, ...],
                                  op: type) -> None:
    out = T.batched_dot(T.tensor("float64", shape=(None,) * len(sa_)),
                        T.tensor("float64", shape=(None,) * len(sb)))
    if op is not None:
        assert isinstance(out.owner.op, op)
    check_grad(T.batched_dot, [_r(*sa_), _r(*sb)])
    check_rop(T.batched_dot, [_r(*sa_), _r(*sb)])


@pytest.mark.parametrize("sa_,sb,axes", [
    ((2, 2, 3, 2), (2, 2, 2, 3), [[1, 3], [2, 1]]),  # pairs not in axis order
    ((2, 2, 3), (2, 3, 2), [[2], [1]]),
    ((2, 2, 3), (2, 3, 2), 1),
    ((2, 2, 3), (2, 2, 3), [[1, 2], [1, 2]]),  # everything but the batch
    ((2, 3), (2, 2), [[], []]),  # batched outer product
])
def test_batched_tensordot_grad_and_rop(sa_: tuple[int, ...], sb: tuple[int, ...],
                                        axes: object) -> None:
    def fun(x: object, y: object) -> object:
        return T.batched_tensordot(x, y, axes)

    check_grad(fun, [_r(*sa_), _r(*sb)])
    check_rop(fun, [_r(*sa_), _r(*sb)])


def test_batched_float32() -> None:
    a, b = _r(2, 2, 3).astype("float32"), _r(2, 3, 2).astype("float32")
    check_grad(T.batched_dot, [a, b])
    check_rop(T.batched_dot, [a, b])


MATMUL_CASES = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3, 2)),
    ((2, 2, 3), (3, 2)),  # b broadcast along the batch axis
    ((3,), (2, 3, 2)),
    ((2, 2, 3), (3,)),
    ((2, 1, 2, 3), (2, 3, 2)),  # batch axes broadcast both ways
]


@pytest.mark.parametrize("sa_,sb", MATMUL_CASES)
def test_matmul_grad_and_rop(sa_: tuple[int, ...], sb: tuple[int, ...]) -> None:
    a, b = _r(*sa_), _r(*sb)
    x = T.tensor("float64", shape=tuple(1 if s == 1 else None for s in sa_))
    y = T.tensor("float64", shape=(None,) * len(sb))
    assert isinstance(T.matmul(x, y).owner.op, Matmul)
    # verify_grad's inputs have no static shape, so a broadcast batch axis
    # needs its static length 1: check the gradient through a fixed weight
    w = T.constant(RNG.uniform(0.5, 1.5, np.matmul(a, b).shape))
    gx, gy = T.grad(T.sum(T.matmul(x, y) * w), [x, y])
    got_x, got_y = sa.function([x, y], [gx, gy])(a, b)
    wv = w.data
    num_x, num_y = np.zeros_like(a), np.zeros_like(b)
    eps = 1e-6
    for value, num, which in ((a, num_x, 0), (b, num_y, 1)):
        for i in np.ndindex(value.shape):
            hi, lo = value.copy(), value.copy()
            hi[i] += eps
            lo[i] -= eps
            args_hi = (hi, b) if which == 0 else (a, hi)
            args_lo = (lo, b) if which == 0 else (a, lo)
            num[i] = (np.sum(np.matmul(*args_hi) * wv)
                      - np.sum(np.matmul(*args_lo) * wv)) / (2 * eps)
    np.testing.assert_allclose(got_x, num_x, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got_y, num_y, rtol=1e-6, atol=1e-8)
    check_rop(T.matmul, [a, b], static=True)
    if 1 not in sa_:
        check_grad(T.matmul, [a, b])


def test_matmul_float32() -> None:
    a, b = _r(2, 2, 3).astype("float32"), _r(3, 2).astype("float32")
    check_grad(T.matmul, [a, b])
    check_rop(T.matmul, [a, b])
