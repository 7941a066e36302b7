"""MRG_RandomStreams: exact numbers for a seed (against the paper's
recurrence), reseeding, every distribution, reparameterised gradients and
DebugMode (the C kernel against ``perform``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T
from symarray.errors import DtypeError, RankError
from symarray.tensor.random.mrg import MRG_RandomStreams, guess_n_streams

from .mrg_reference import PyMRG, py_jump


def _streams(seed: int, n: int, skip: int = 0) -> list[PyMRG]:
    """The reference streams of the ``skip``-th variable made from ``seed``."""
    state = [seed] * 6
    for _ in range(skip):
        state = py_jump(state, 2 ** 134)
    rows = []
    for _ in range(n):
        rows.append(PyMRG(state))
        state = py_jump(state, 2 ** 72)
    return rows


@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE", "DebugMode"])
def test_exact_numbers_for_a_seed(mode: str) -> None:
    srng = MRG_RandomStreams(seed=234)
    u = srng.uniform((2, 5), nstreams=3)
    v = srng.uniform((4,), dtype="float32", nstreams=2)
    f = theano.function([], [u, v], mode=mode)
    refs_u, refs_v = _streams(234, 3), _streams(234, 2, skip=1)
    for _ in range(2):  # the second call continues the streams
        got_u, got_v = f()
        want_u = [refs_u[i % 3].next_float64() for i in range(10)]
        want_v = [np.float32(refs_v[i % 2].next_z()) * np.float32(4.6566126e-10)
                  for i in range(4)]
        np.testing.assert_array_equal(got_u, np.reshape(want_u, (2, 5)))
        np.testing.assert_array_equal(got_v, np.asarray(want_v, dtype="float32"))
    assert u.rstate.get_value().tolist() == [r.state() for r in refs_u]


def test_seed_restarts_every_variable() -> None:
    srng = MRG_RandomStreams(seed=11)
    a, b = srng.uniform((3,)), srng.normal((4,))
    f = theano.function([], [a, b])
    first = f()
    f()
    srng.seed(11)
    for x, y in zip(f(), first, strict=True):
        np.testing.assert_array_equal(x, y)
    srng.seed(12)
    assert not np.array_equal(f()[0], first[0])


def test_import_paths_and_rstate() -> None:
    from symarray.sandbox.rng_mrg import MRG_RandomStreams as Sandbox
    from symarray.tensor.random import MRG_RandomStreams as Lazy

    assert Sandbox is MRG_RandomStreams is Lazy
    srng = MRG_RandomStreams(5)
    start = srng.rstate.copy()
    srng.uniform((2,))
    assert srng.rstate.tolist() == py_jump(start.tolist(), 2 ** 134)
    assert len(srng.state_updates) == 1 and srng.updates() == srng.state_updates


@pytest.mark.parametrize("size, want", [((2, 3), 6), ((7,), 1), ((60,), 10),
                                        ((10 ** 6,), 15360), ((T.lscalar(),), 15360)])
def test_guess_n_streams(size: Any, want: int) -> None:
    assert guess_n_streams(size) == want


def test_distributions() -> None:
    srng = MRG_RandomStreams(99)
    n = 20000
    outs = [srng.uniform((n,), low=2.0, high=4.0), srng.normal((n,), avg=1.0, std=2.0),
            srng.normal((n + 1,), truncate=True), srng.binomial((n,), p=0.25),
            srng.binomial((n,), p=0.5, n=3),
            srng.multinomial(pvals=np.tile([0.2, 0.3, 0.5], (n, 1)), n=2),
            srng.choice(size=3, p=np.full((n // 10, 5), 0.2), replace=False),
            srng.uniform((n,), dtype="float32")]
    u, z, zt, b, b3, m, c, u32 = theano.function([], outs)()
    assert 2.0 <= u.min() and u.max() < 4.0 and abs(u.mean() - 3.0) < 0.03
    assert abs(z.mean() - 1.0) < 0.05 and abs(z.std() - 2.0) < 0.05
    assert zt.shape == (n + 1,) and np.abs(zt).max() < 2.0
    assert b.dtype == "int64" and abs(b.mean() - 0.25) < 0.02
    assert set(np.unique(b3)) <= {0, 1, 2, 3} and abs(b3.mean() - 1.5) < 0.05
    assert (m.sum(axis=1) == 2).all()
    np.testing.assert_allclose(m.mean(axis=0), [0.4, 0.6, 1.0], atol=0.03)
    assert c.shape == (n // 10, 3) and all(len(set(row)) == 3 for row in c)
    assert u32.dtype == "float32" and 0 < u32.min() and u32.max() < 1


def test_symbolic_size() -> None:
    x = T.dmatrix("x")
    srng = MRG_RandomStreams(3)
    u = srng.uniform(x.shape)
    z = srng.normal(x.shape)
    f = theano.function([x], [u, z])
    for shape in [(3, 4), (5, 1)]:
        a, b = f(np.zeros(shape))
        assert a.shape == b.shape == shape


def test_reparameterised_gradients() -> None:
    srng = MRG_RandomStreams(17)
    mu, sigma, lo, hi = T.dscalars("mu", "sigma", "lo", "hi")
    z = srng.normal((50,), avg=mu, std=sigma)
    u = srng.uniform((50,), low=lo, high=hi)
    cost = (z ** 2).sum() + u.sum()
    grads = T.grad(cost, [mu, sigma, lo, hi])
    f = theano.function([mu, sigma, lo, hi], grads + [z, u], no_default_updates=True)
    g_mu, g_sigma, g_lo, g_hi, zv, uv = f(0.5, 2.0, 1.0, 3.0)
    eps = (zv - 0.5) / 2.0  # the standard normal draws
    np.testing.assert_allclose(g_mu, (2 * zv).sum())
    np.testing.assert_allclose(g_sigma, (2 * zv * eps).sum())
    t = (uv - 1.0) / 2.0  # the (0, 1) draws
    np.testing.assert_allclose(g_lo, (1 - t).sum())
    np.testing.assert_allclose(g_hi, t.sum())


def test_dropout() -> None:
    srng = MRG_RandomStreams(4)
    x = T.dmatrix("x")
    mask = srng.binomial(size=x.shape, p=0.8, dtype=x.dtype)
    f = theano.function([x], [T.grad((x * mask / 0.8).sum(), x), mask])
    g, m = f(np.ones((3, 4)))
    np.testing.assert_allclose(g, m / 0.8)


@pytest.mark.parametrize("call, err, match", [
    (lambda s: s.uniform(None), TypeError, "size is required"),
    (lambda s: s.uniform((2,), dtype="int32"), DtypeError, "float dtype"),
    (lambda s: s.uniform((2,), nstreams=0), ValueError, "nstreams"),
    (lambda s: s.uniform((2,), low=np.zeros((3, 2))), RankError, "more dimensions"),
    (lambda s: s.binomial((2,), p=0.5, n=0), ValueError, "n must be an int >= 1"),
    (lambda s: s.binomial((2,)), TypeError, "p is required"),
    (lambda s: s.multinomial(size=(2,), pvals=[[0.5, 0.5]]), ValueError, "size"),
    (lambda s: s.multinomial(pvals=np.zeros((2, 2, 2))), RankError, "vector or a"),
    (lambda s: s.choice(size=2, a=3, p=[[0.5, 0.5]]), ValueError, "a must be None"),
    (lambda s: s.choice(size=2), TypeError, "p is required"),
])
def test_errors(call: Any, err: type, match: str) -> None:
    with pytest.raises(err, match=match):
        call(MRG_RandomStreams(1))


def test_vector_pvals_and_seed_words() -> None:
    srng = MRG_RandomStreams([1, 2, 3, 4, 5, 6])
    m = srng.multinomial(pvals=[0.0, 1.0], n=3)
    c = srng.choice(size=2, p=[0.5, 0.0, 0.5], replace=False)
    mv, cv = theano.function([], [m, c])()
    assert mv.tolist() == [0, 3] and sorted(cv.tolist()) == [0, 2]


def test_multinomial_wo_replacement_alias() -> None:
    srng = MRG_RandomStreams(2)
    c = srng.multinomial_wo_replacement(pvals=np.full((4, 6), 1 / 6), n=6)
    out = theano.function([], c)()
    assert (np.sort(out, axis=1) == np.arange(6)).all()


def test_debugmode_compares_the_kernel_with_perform(monkeypatch: Any) -> None:
    from symarray.errors import BadThunkOutput
    from symarray.tensor.random.mrg_op import MRGUniform

    perform = MRGUniform.perform

    def off_by_a_little(self: Any, node: Any, inputs: Any, out: Any) -> None:
        perform(self, node, inputs, out)
        out[1][0] = out[1][0] + 1e-3

    monkeypatch.setattr(MRGUniform, "perform", off_by_a_little)
    f = theano.function([], MRG_RandomStreams(3).uniform((4,)), mode="DebugMode")
    with pytest.raises(BadThunkOutput, match="C kernel"):
        f()
