"""Tests of symarray.tensor.rewriting.stabilize: finite, accurate forms.

Each case is an expression that overflows (or loses its digits) when
computed as written, at inputs such as ``x = 1000``/``-1000``: FAST_RUN must
give the right, finite value, unrewritten it must not; at ordinary inputs
both agree.  Gradients of the same expressions stay finite too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from scipy.special import expit, logsumexp

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.mode import Mode
from symarray.errors import AssertionFailedError, EmptyReductionError

FAST_RUN = Mode(linker="py", optimizer="fast_run")
NO_REWRITES = Mode(linker="py", optimizer=None)
RNG = np.random.default_rng(5)
FLOATS = ["float32", "float64"]
nnet = T.nnet


def _tol(dtype: str, atol: float | None = None) -> dict[str, float]:
    """Per-dtype tolerance; ``atol=0``-like checks keep tiny values relative."""
    if dtype == "float32":
        return {"rtol": 1e-4, "atol": 1e-5 if atol is None else atol}
    return {"rtol": 1e-10, "atol": 1e-12 if atol is None else atol}


def _log_softmax(x: np.ndarray) -> np.ndarray:
    return x - logsumexp(x, axis=1, keepdims=True)


def _softmax(x: np.ndarray) -> np.ndarray:
    return np.exp(_log_softmax(x))


@dataclass
class Case:
    """One stability rewrite: the naive expression and a stable reference."""

    rewrite: str | tuple[str, ...]  # the rewrite that fires (any of these)
    build: Callable[[str], tuple[list[Any], Any]]   # dtype -> (inputs, output)
    extreme: Callable[[str], list[np.ndarray]]      # inputs where naive fails
    reference: Callable[..., np.ndarray]            # stable NumPy value
    grad: Callable[..., np.ndarray] | None = None   # d sum(output) / d input 0


def _vec(dtype: str, *values: float) -> np.ndarray:
    return np.array(values, dtype=dtype)


def _mat(dtype: str) -> np.ndarray:
    return np.array([[1000.0, -1000.0, 0.5], [0.1, 0.2, -1000.0]], dtype=dtype)


def _x(dtype: str) -> Any:
    return T.vector("x", dtype=dtype)


def _m(dtype: str) -> Any:
    return T.matrix("m", dtype=dtype)


def _unary(fn: Callable[[Any], Any]) -> Callable[[str], tuple[list[Any], Any]]:
    def build(dtype: str) -> tuple[list[Any], Any]:
        x = _x(dtype)
        return [x], fn(x)
    return build


def _rows(fn: Callable[[Any], Any]) -> Callable[[str], tuple[list[Any], Any]]:
    def build(dtype: str) -> tuple[list[Any], Any]:
        m = _m(dtype)
        return [m], fn(m)
    return build


def _xent_int(dtype: str) -> tuple[list[Any], Any]:
    m, y = _m(dtype), T.lvector("y")
    return [m, y], nnet.categorical_crossentropy(nnet.softmax(m), y)


def _xent_onehot(dtype: str) -> tuple[list[Any], Any]:
    m, t = _m(dtype), _m(dtype)
    return [m, t], nnet.categorical_crossentropy(nnet.softmax(m), t)


LABELS = np.array([1, 2])

CASES = {
    "log1p": Case("local_log1p", _unary(lambda x: T.log(1 + x)),
                  lambda d: [_vec(d, 1e-20, -1e-20, 1e-3)], np.log1p),
    "log1m": Case("local_log1p", _unary(lambda x: T.log(1 - x)),
                  lambda d: [_vec(d, 1e-20, -1e-20, 1e-3)], lambda x: np.log1p(-x)),
    "expm1": Case("local_expm1", _unary(lambda x: T.exp(x) - 1),
                  lambda d: [_vec(d, 1e-20, -1e-20, 1e-3)], np.expm1),
    "softplus": Case("local_log1p_exp", _unary(lambda x: T.log(1 + T.exp(x))),
                     lambda d: [_vec(d, 1000, -1000, 0.5)],
                     lambda x: np.logaddexp(0, x), lambda x: expit(x)),
    "log_sigmoid": Case("local_log_sigmoid", _unary(lambda x: T.log(nnet.sigmoid(x))),
                        lambda d: [_vec(d, 1000, -1000, 0.5)],
                        lambda x: -np.logaddexp(0, -x), lambda x: expit(-x)),
    # 1 - sigmoid(x) becomes sigmoid(-x) first, then log(sigmoid) fires
    "log1m_sigmoid": Case(("local_log1m_sigmoid", "local_log_sigmoid"),
                          _unary(lambda x: T.log(1 - nnet.sigmoid(x))),
                          lambda d: [_vec(d, 1000, -1000, 0.5)],
                          lambda x: -np.logaddexp(0, x), lambda x: -expit(x)),
    "log1p_neg_sigmoid": Case("local_log1m_sigmoid",
                              _unary(lambda x: T.log1p(-nnet.sigmoid(x))),
                              lambda d: [_vec(d, 1000, -1000, 0.5)],
                              lambda x: -np.logaddexp(0, x), lambda x: -expit(x)),
    "one_minus_sigmoid": Case("local_one_minus_sigmoid",
                              _unary(lambda x: 1 - nnet.sigmoid(x)),
                              lambda d: [_vec(d, 40, 1000, -1000)],
                              lambda x: expit(-x),
                              lambda x: -expit(x) * expit(-x)),
    "logaddexp": Case("local_logaddexp",
                      _unary(lambda x: T.log(T.exp(x) + T.exp(-x))),
                      lambda d: [_vec(d, 1000, -1000, 0.5)],
                      lambda x: np.logaddexp(x, -x)),
    "log_softmax": Case("local_log_softmax", _rows(lambda m: T.log(nnet.softmax(m))),
                        lambda d: [_mat(d)], _log_softmax,
                        lambda m: 1 - m.shape[1] * _softmax(m)),
    "log_sum_exp": Case("local_log_sum_exp",
                        _rows(lambda m: T.log(T.sum(T.exp(m), axis=1))),
                        lambda d: [_mat(d)], lambda m: logsumexp(m, axis=1),
                        _softmax),
    "log_sum_exp_keepdims": Case(
        "local_log_sum_exp",
        _rows(lambda m: T.log(T.sum(T.exp(m), axis=1, keepdims=True))),
        lambda d: [_mat(d)], lambda m: logsumexp(m, axis=1, keepdims=True), _softmax),
    "log_sum_exp_all": Case("local_log_sum_exp",
                            _unary(lambda x: T.log(T.sum(T.exp(x)))),
                            lambda d: [_vec(d, 1000, -1000, 0.5)],
                            lambda x: logsumexp(x), lambda x: np.exp(x - logsumexp(x))),
    "crossentropy_int": Case(
        "local_crossentropy_softmax", _xent_int, lambda d: [_mat(d), LABELS],
        lambda m, y: -_log_softmax(m)[np.arange(len(y)), y],
        lambda m, y: _softmax(m) - np.eye(m.shape[1])[y]),
    "crossentropy_onehot": Case(
        "local_log_softmax", _xent_onehot,
        lambda d: [_mat(d), np.eye(3, dtype=d)[LABELS]],
        lambda m, t: -(t * _log_softmax(m)).sum(axis=1),
        lambda m, t: _softmax(m) * t.sum(axis=1, keepdims=True) - t),
}


def _normal(inputs: list[Any], extreme: list[np.ndarray]) -> list[np.ndarray]:
    """Ordinary values shaped like the extreme ones (labels kept)."""
    out = []
    for var, value in zip(inputs, extreme, strict=True):
        if var.dtype.startswith("int"):
            out.append(value)
        else:
            out.append(RNG.uniform(-0.9, 0.9, size=value.shape).astype(var.dtype))
    return out


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_rewrite_fires_and_is_stable(name: str, dtype: str) -> None:
    case = CASES[name]
    inputs, out = case.build(dtype)
    f = sa.function(inputs, out, mode=FAST_RUN)
    names = (case.rewrite,) if isinstance(case.rewrite, str) else case.rewrite
    assert sum(f.maker.fgraph.rewrite_stats.applied(n) for n in names) >= 1
    values = case.extreme(dtype)
    want = case.reference(*[v.astype("float64") if v.dtype.kind == "f" else v
                            for v in values])
    got = f(*values)
    assert got.dtype == out.dtype
    assert np.isfinite(got).all(), got
    np.testing.assert_allclose(got, want, **_tol(dtype, atol=1e-30))
    with np.errstate(all="ignore"):
        naive = sa.function(inputs, out, mode=NO_REWRITES)(*values)
    assert not np.allclose(naive, want, **_tol(dtype, atol=1e-30)), \
        "the case is not extreme"


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_results_unchanged_at_ordinary_inputs(name: str, dtype: str) -> None:
    case = CASES[name]
    inputs, out = case.build(dtype)
    values = _normal(inputs, case.extreme(dtype))
    got = sa.function(inputs, out, mode=FAST_RUN)(*values)
    want = sa.function(inputs, out, mode=NO_REWRITES)(*values)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, **_tol(dtype))


GRAD_CASES = sorted(k for k, c in CASES.items() if c.grad is not None)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", GRAD_CASES)
def test_gradient_is_finite_and_correct(name: str, dtype: str) -> None:
    case = CASES[name]
    inputs, out = case.build(dtype)
    g = T.grad(T.sum(out), inputs[0])
    f = sa.function(inputs, [out, g], mode=FAST_RUN)
    values = case.extreme(dtype)
    _, got = f(*values)
    assert np.isfinite(got).all(), got
    assert case.grad is not None
    want = case.grad(*[v.astype("float64") if v.dtype.kind == "f" else v
                       for v in values])
    np.testing.assert_allclose(got, want, **_tol(dtype))
    ordinary = _normal(inputs, values)
    g_naive = sa.function(inputs, g, mode=NO_REWRITES)(*ordinary)
    np.testing.assert_allclose(f(*ordinary)[1], g_naive, **_tol(dtype))


# -- where the rewrites must not fire -------------------------------------------


def _applied(inputs: list[Any], out: Any, name: str) -> int:
    f = sa.function(inputs, out, mode=FAST_RUN)
    return f.maker.fgraph.rewrite_stats.applied(name)


def test_log1p_needs_the_constant_one() -> None:
    x = T.dvector("x")
    assert _applied([x], T.log(2 + x), "local_log1p") == 0


def test_log1p_not_for_integer_sums() -> None:
    # int8: 1 + 127 wraps to -128 before the log; log1p(127) would not
    x = T.bvector("x")
    out = T.log(1 + x)
    assert _applied([x], out, "local_log1p") == 0
    value = np.array([127, 3], dtype="int8")
    with np.errstate(all="ignore"):
        got = sa.function([x], out, mode=FAST_RUN)(value)
        want = sa.function([x], out, mode=NO_REWRITES)(value)
    np.testing.assert_array_equal(got, want)


def test_expm1_needs_minus_one() -> None:
    x = T.dvector("x")
    assert _applied([x], T.exp(x) - 2, "local_expm1") == 0


def test_expm1_keeps_other_terms() -> None:
    x, y = T.dvector("x"), T.dvector("y")
    out = T.exp(x) - 1 + y
    f = sa.function([x, y], out, mode=FAST_RUN)
    assert f.maker.fgraph.rewrite_stats.applied("local_expm1") == 1
    xv, yv = np.array([1e-20, 0.5]), np.array([2.0, 3.0])
    np.testing.assert_allclose(f(xv, yv), np.expm1(xv) + yv, rtol=1e-12)


def test_log_sum_exp_not_for_integer_inputs() -> None:
    x = T.lvector("x")
    assert _applied([x], T.log(T.sum(T.exp(x))), "local_log_sum_exp") == 0


def test_log_sum_exp_of_an_empty_axis_raises() -> None:
    # documented: the stable form takes a max, which has no identity
    m = T.dmatrix("m")
    f = sa.function([m], T.log(T.sum(T.exp(m), axis=1)), mode=FAST_RUN)
    with pytest.raises(EmptyReductionError):
        f(np.zeros((2, 0)))


def test_log_sum_exp_applies_once() -> None:
    m = T.dmatrix("m")
    assert _applied([m], T.log(T.sum(T.exp(m), axis=0)), "local_log_sum_exp") == 1


def test_division_cancels_only_exp_and_sigmoid() -> None:
    x, y = T.dvector("x"), T.dvector("y")
    assert _applied([x, y], x * y / y, "local_div_cancel_exp_sigmoid") == 0
    out = x * T.exp(y) / T.exp(y)
    f = sa.function([x, y], out, mode=FAST_RUN)
    assert f.maker.fgraph.rewrite_stats.applied("local_div_cancel_exp_sigmoid") == 1
    np.testing.assert_allclose(f(np.array([2.0]), np.array([1000.0])), [2.0])


def test_exp_over_sum_exp_becomes_softmax() -> None:
    m = T.dmatrix("m")
    out = T.exp(m) / T.sum(T.exp(m), axis=1, keepdims=True)
    f = sa.function([m], out, mode=FAST_RUN)
    assert f.maker.fgraph.rewrite_stats.applied("local_exp_over_sum_exp") == 1
    np.testing.assert_allclose(f(_mat("float64")), _softmax(_mat("float64")))


def test_exp_over_sum_of_another_exp_is_left_alone() -> None:
    m, n = T.dmatrix("m"), T.dmatrix("n")
    out = T.exp(m) / T.sum(T.exp(n), axis=1, keepdims=True)
    assert _applied([m, n], out, "local_exp_over_sum_exp") == 0
    # the wrong axis: sum over rows, broadcast along columns
    out = T.exp(m) / T.sum(T.exp(m), axis=0, keepdims=True).T.T
    f = sa.function([m], out, mode=FAST_RUN)
    v = RNG.normal(size=(2, 3))
    np.testing.assert_allclose(f(v), np.exp(v) / np.exp(v).sum(0, keepdims=True))


def test_crossentropy_labels_still_checked() -> None:
    m, y = T.dmatrix("m"), T.lvector("y")
    f = sa.function([m, y], nnet.categorical_crossentropy(nnet.softmax(m), y),
                    mode=FAST_RUN)
    assert f.maker.fgraph.rewrite_stats.applied("local_crossentropy_softmax") == 1
    with pytest.raises(AssertionFailedError, match="out of range"):
        f(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(AssertionFailedError, match="out of range"):
        f(np.zeros((2, 3)), np.array([-1, 0]))


def test_sigmoid_rewrites_compose() -> None:
    # log(1 - sigmoid(x)) may first become log(sigmoid(-x)): no double negation
    x = T.dvector("x")
    f = sa.function([x], T.log(1 - nnet.sigmoid(x)), mode=FAST_RUN)
    ops = [str(n.op) for n in f.maker.fgraph.toposort()]
    assert ops.count("neg") <= 1 and "log" not in ops
