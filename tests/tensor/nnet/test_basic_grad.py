"""Gradients (reverse mode) and tangents (forward mode) of T.nnet.

Every differentiable function of ``symarray.tensor.nnet`` is checked with
``verify_grad`` (central finite differences) and its ``Rop`` against a
numeric Jacobian-vector product.  Points are kept away from the kinks of
the piecewise functions (relu at 0, hard_sigmoid at +-2.5...).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray.gradient import Rop, verify_grad

nnet = T.nnet


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _away_from(values: np.ndarray, kinks: Sequence[float],
               gap: float = 0.05) -> np.ndarray:
    """Move entries closer than ``gap`` to a kink out of its neighbourhood."""
    out = values.copy()
    for k in kinks:
        near = np.abs(out - k) < gap
        out[near] = k + np.where(out[near] >= k, gap, -gap) * 2
    return out


def check_rop(fun: Callable[..., Any], pt: Sequence[np.ndarray], seed: int = 0,
              eps: float = 1e-6, tol: float = 1e-6) -> None:
    """``Rop(fun(x), x, v)`` against ``(f(x + eps v) - f(x - eps v)) / (2 eps)``."""
    rng = _rng(seed)
    xs = [T.tensor(str(p.dtype), shape=(None,) * p.ndim, name=f"x{k}")
          for k, p in enumerate(pt)]
    vs = [x.type(f"v{k}") for k, x in enumerate(xs)]
    out = fun(*xs)
    f = sa.function(xs, out)
    jvp = sa.function(xs + vs, Rop(out, xs, vs))
    tangents = [rng.standard_normal(p.shape).astype(p.dtype) for p in pt]
    plus = f(*[p + eps * v for p, v in zip(pt, tangents, strict=True)])
    minus = f(*[p - eps * v for p, v in zip(pt, tangents, strict=True)])
    numeric = (np.asarray(plus, dtype="float64") - minus) / (2 * eps)
    analytic = jvp(*pt, *tangents)
    assert analytic.shape == numeric.shape
    np.testing.assert_allclose(analytic, numeric, rtol=tol * 100, atol=tol * 100)


# -- softmax and log_softmax -----------------------------------------------------

SOFTMAX_CASES = [((5,), -1), ((3, 4), -1), ((3, 4), 0), ((2, 3, 2), 1)]


@pytest.mark.parametrize(("shape", "axis"), SOFTMAX_CASES)
@pytest.mark.parametrize("fn", [nnet.softmax, nnet.log_softmax],
                         ids=["softmax", "log_softmax"])
def test_softmax_grad_and_rop(fn, shape, axis):
    x = _rng(1).standard_normal(shape)
    verify_grad(lambda v: fn(v, axis=axis), [x], rng=_rng(2))
    check_rop(lambda v: fn(v, axis=axis), [x])


@pytest.mark.parametrize("fn", [nnet.softmax, nnet.log_softmax],
                         ids=["softmax", "log_softmax"])
def test_softmax_grad_float32(fn):
    x = _rng(3).standard_normal((2, 4)).astype("float32")
    verify_grad(fn, [x], rng=_rng(4))


def test_log_softmax_grad_is_finite_for_huge_inputs():
    x = T.dmatrix("x")
    w = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
    cost = (nnet.log_softmax(x) * w).sum()
    gx = sa.function([x], sa.grad(cost, x))
    big = np.array([[1000.0, 999.0, 0.0], [-1000.0, 1000.0, 1000.0]])
    got = gx(big)
    assert np.isfinite(got).all()
    sm = np.exp(big - big.max(1, keepdims=True))
    sm /= sm.sum(1, keepdims=True)
    np.testing.assert_allclose(got, w - sm * w.sum(1, keepdims=True), atol=1e-12)
    # forward mode too
    v = T.dmatrix("v")
    jvp = sa.function([x, v], Rop(nnet.log_softmax(x), x, v))
    assert np.isfinite(jvp(big, np.ones_like(big))).all()


# -- crossentropies ----------------------------------------------------------------

LABELS = np.array([2, 0, 1])


def _probs(seed: int, shape: tuple[int, ...] = (3, 4)) -> np.ndarray:
    return _rng(seed).uniform(0.2, 1.0, size=shape)


def test_crossentropy_1hot_grad_and_rop():
    def fun(c):
        return nnet.crossentropy_categorical_1hot(c, T.constant(LABELS))

    verify_grad(fun, [_probs(5)], rng=_rng(6))
    check_rop(fun, [_probs(5)])


def test_crossentropy_1hot_grad_op_grad_and_rop():
    def fun(g, c):
        return nnet.crossentropy_categorical_1hot_grad(g, c, T.constant(LABELS))

    pt = [_rng(7).standard_normal(3), _probs(8)]
    verify_grad(fun, pt, rng=_rng(9))
    check_rop(fun, pt)


def test_crossentropy_1hot_second_derivative():
    # the gradient op's own L_op gives the diagonal second derivative
    c = T.dmatrix("c")
    y = T.lvector("y")
    cost = nnet.crossentropy_categorical_1hot(c, y).sum()
    gc = sa.grad(cost, c)
    second = sa.grad((gc * gc).sum(), c)
    values = _probs(10)
    got = sa.function([c, y], second)(values, LABELS)
    expected = np.zeros_like(values)
    rows = np.arange(3)
    # d/dc (1/c^2) = -2/c^3
    expected[rows, LABELS] = -2.0 / values[rows, LABELS] ** 3
    np.testing.assert_allclose(got, expected)


def test_crossentropy_of_softmax_grad():
    def fun(x):
        return nnet.categorical_crossentropy(nnet.softmax(x), T.constant(LABELS))

    x = _rng(11).standard_normal((3, 4))
    verify_grad(fun, [x], rng=_rng(12))
    check_rop(fun, [x])
    # the classic result: d/dx sum(xent(softmax(x), y)) = softmax(x) - onehot(y)
    xs = T.dmatrix("x")
    g = sa.grad(fun(xs).sum(), xs)
    sm = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    onehot = np.eye(4)[LABELS]
    np.testing.assert_allclose(sa.function([xs], g)(x), sm - onehot, atol=1e-12)


def test_crossentropy_with_probability_targets_grad():
    target = np.eye(4)[LABELS] * 0.7 + 0.075

    def fun(c, t):
        return nnet.categorical_crossentropy(c, t)

    verify_grad(fun, [_probs(13), target], rng=_rng(14))
    check_rop(fun, [_probs(13), target])


def test_crossentropy_labels_get_no_gradient():
    c = T.dmatrix("c")
    y = T.lvector("y")
    cost = nnet.crossentropy_categorical_1hot(c, y).sum()
    gy = sa.grad(cost, y)
    assert gy.dtype.startswith("float")
    got = sa.function([c, y], gy, on_unused_input="ignore")(_probs(15), LABELS)
    np.testing.assert_array_equal(got, np.zeros(3))


def test_binary_crossentropy_grad_and_rop():
    out = _rng(16).uniform(0.1, 0.9, size=(2, 3))
    target = _rng(17).uniform(0.0, 1.0, size=(2, 3))
    verify_grad(nnet.binary_crossentropy, [out, target], rng=_rng(18))
    check_rop(nnet.binary_crossentropy, [out, target])


def test_binary_crossentropy_of_sigmoid_float32():
    out = _rng(19).standard_normal(5).astype("float32")
    target = _rng(20).uniform(0.0, 1.0, size=5).astype("float32")
    verify_grad(lambda x, t: nnet.binary_crossentropy(nnet.sigmoid(x), t),
                [out, target], rng=_rng(21))


# -- activations -------------------------------------------------------------------

# (name, function, kinks to keep away from)
ACTIVATIONS: list[tuple[str, Callable[[Any], Any], list[float]]] = [
    ("sigmoid", nnet.sigmoid, []),
    ("softplus", nnet.softplus, []),
    ("relu", nnet.relu, [0.0]),
    ("leaky_relu", lambda x: nnet.relu(x, alpha=0.1), [0.0]),
    ("elu", nnet.elu, [0.0]),
    ("elu_alpha", lambda x: nnet.elu(x, alpha=0.5), [0.0]),
    ("hard_sigmoid", nnet.hard_sigmoid, [-2.5, 2.5]),
    ("ultra_fast_sigmoid", nnet.ultra_fast_sigmoid, [0.0, -3.4, 3.4, -6.0, 6.0]),
    ("softsign", nnet.softsign, [0.0]),
]


@pytest.mark.parametrize(("name", "fn", "kinks"), ACTIVATIONS,
                         ids=[a[0] for a in ACTIVATIONS])
def test_activation_grad_and_rop(name, fn, kinks):
    x = _away_from(_rng(22).uniform(-7, 7, size=(3, 4)), kinks)
    verify_grad(fn, [x], rng=_rng(23))
    check_rop(fn, [x])


@pytest.mark.parametrize(("name", "fn", "kinks"), ACTIVATIONS,
                         ids=[a[0] for a in ACTIVATIONS])
def test_activation_grad_float32(name, fn, kinks):
    x = _away_from(_rng(24).uniform(-7, 7, size=(2, 3)), kinks, gap=0.1)
    verify_grad(fn, [x.astype("float32")], rng=_rng(25))


def test_activation_grad_values():
    x = T.dvector("x")
    values = np.array([-2.0, -0.5, 0.5, 4.0])
    cases = {
        "relu": (nnet.relu(x), (values > 0).astype(float)),
        "leaky": (nnet.relu(x, 0.2), np.where(values > 0, 1.0, 0.2)),
        "elu": (nnet.elu(x), np.where(values > 0, 1.0, np.exp(values))),
        "hard_sigmoid": (nnet.hard_sigmoid(x),
                         np.where(np.abs(values) < 2.5, 0.2, 0.0)),
        "softsign": (nnet.softsign(x), 1.0 / (1.0 + np.abs(values)) ** 2),
    }
    for name, (out, expected) in cases.items():
        got = sa.function([x], sa.grad(out.sum(), x))(values)
        np.testing.assert_allclose(got, expected, err_msg=name, rtol=1e-12)


def test_leaky_relu_grad_wrt_symbolic_alpha():
    def fun(x, alpha):
        return nnet.relu(x, alpha)

    x = _away_from(_rng(26).standard_normal((2, 3)), [0.0])
    verify_grad(fun, [x, np.array(0.3)], rng=_rng(27))
    check_rop(fun, [x, np.array(0.3)])


def test_relu_of_integer_input_has_zero_gradient():
    x = T.lvector("x")
    g = sa.grad(nnet.relu(x).sum(), x)
    np.testing.assert_array_equal(sa.function([x], g)(np.array([-1, 2])), [0.0, 0.0])


def test_mlp_classifier_cost_grad():
    # softmax(tanh(x W1 + b1) W2 + b2) with integer labels, all parameters
    rng = _rng(28)
    pt = [rng.standard_normal((3, 2)) * 0.5, rng.standard_normal(2) * 0.1,
          rng.standard_normal((2, 3)) * 0.5, rng.standard_normal(3) * 0.1]
    data = T.constant(rng.standard_normal((4, 3)))
    labels = T.constant(np.array([0, 2, 1, 2]))

    def cost(w1, b1, w2, b2):
        hidden = T.tanh(T.dot(data, w1) + b1)
        p = nnet.softmax(T.dot(hidden, w2) + b2)
        return nnet.categorical_crossentropy(p, labels).mean()

    verify_grad(cost, pt, rng=_rng(29))
    check_rop(cost, pt)
