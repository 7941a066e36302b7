"""RandomStreams: Theano's tutorial "Using Random Numbers", and how random
draws meet default updates, scan, gradients, merging and DebugMode."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T
from symarray.gradient import NullTypeGradError
from symarray.tensor.random.streams import RandomStateSharedVariable, RandomStreams


def test_tutorial() -> None:
    from symarray.tensor.shared_randomstreams import RandomStreams as Imported

    assert Imported is RandomStreams
    srng = RandomStreams(seed=234)
    rv_u = srng.uniform((2, 2))
    rv_n = srng.normal((2, 2))
    f = theano.function([], rv_u)
    g = theano.function([], rv_n, no_default_updates=True)
    nearly_zeros = theano.function([], rv_u + rv_u - 2 * rv_u)
    # seeds drawn as Theano draws them: the same numbers as its tutorial
    np.testing.assert_allclose(f(), [[0.12672381, 0.97091597],
                                     [0.13989098, 0.88754825]], rtol=1e-7)
    np.testing.assert_allclose(f(), [[0.31971415, 0.47584377],
                                     [0.24129163, 0.42046081]], rtol=1e-7)
    g0 = g()
    np.testing.assert_array_equal(g0, g())  # no update: the same draws
    np.testing.assert_allclose(g0, [[0.37328447, -0.65746672],
                                    [-0.36302373, -0.97484625]], rtol=1e-7)
    np.testing.assert_array_equal(nearly_zeros(), np.zeros((2, 2)))  # one draw per call
    # seeding one stream through its generator
    rng_val = rv_u.rng.get_value(borrow=True)
    rng_val.seed(89234)
    rv_u.rng.set_value(rng_val, borrow=True)
    want = np.random.RandomState(89234).uniform(size=(2, 2))
    np.testing.assert_array_equal(f(), want)
    # seeding all streams
    srng.seed(902340)
    a = f()
    srng.seed(902340)
    np.testing.assert_array_equal(f(), a)
    # sharing streams between functions
    state_after_v0 = rv_u.rng.get_value().get_state()
    nearly_zeros()  # this advances rv_u's generator
    v1 = f()
    rng = rv_u.rng.get_value(borrow=True)
    rng.set_state(state_after_v0)
    rv_u.rng.set_value(rng, borrow=True)
    v2 = f()  # v2 != v1
    v3 = f()  # v3 == v1
    assert not np.array_equal(v1, v2)
    np.testing.assert_array_equal(v1, v3)


def test_rng_attributes_updates_and_getitem() -> None:
    srng = RandomStreams(seed=5)
    u = srng.uniform((3,))
    assert isinstance(u.rng, RandomStateSharedVariable)
    assert u.update[0] is u.rng and u.rng.default_update is u.update[1]
    assert srng.updates() == [u.update]
    assert srng[u.rng] is u.rng.get_value(borrow=True)
    srng[u.rng] = np.random.RandomState(3)
    f = theano.function([], u, no_default_updates=True, updates=srng.updates())
    np.testing.assert_array_equal(f(), np.random.RandomState(3).uniform(size=3))


def test_copying_random_state_between_graphs() -> None:
    class Graph:
        def __init__(self, seed: int) -> None:
            self.rng = RandomStreams(seed)
            self.y = self.rng.uniform(size=(1,))

    g1, g2 = Graph(123), Graph(987)
    f1, f2 = theano.function([], g1.y), theano.function([], g2.y)
    assert f1() != f2()
    for su1, su2 in zip(g1.rng.state_updates, g2.rng.state_updates, strict=True):
        su2[0].set_value(su1[0].get_value())
    np.testing.assert_array_equal(f1(), f2())


def test_shared_generators() -> None:
    r = theano.shared(np.random.RandomState(1), name="r")
    assert isinstance(r, RandomStateSharedVariable) and r.name == "r"
    g = theano.shared(np.random.default_rng(1))
    assert str(g.type) == "RandomGeneratorType"
    with pytest.raises(TypeError, match="RandomState"):
        r.set_value(np.zeros(3))
    value = np.random.RandomState(0)
    kept = theano.shared(value, borrow=True)
    assert kept.get_value(borrow=True) is value
    assert theano.shared(value).get_value(borrow=True) is not value


@pytest.mark.parametrize("method, args, dtype, shape", [
    ("uniform", dict(size=(2, 3), low=1.0, high=2.0), "float64", (2, 3)),
    ("normal", dict(size=(4,), avg=1.0, std=0.1, dtype="float32"), "float32", (4,)),
    ("binomial", dict(size=(5,), n=3, p=0.5), "int64", (5,)),
    ("random_integers", dict(size=(5,), low=1, high=3), "int64", (5,)),
    ("integers", dict(size=(5,), low=1, high=3), "int64", (5,)),
    ("poisson", dict(size=(2,), lam=2.0), "int64", (2,)),
    ("choice", dict(size=(3,), a=5, replace=False), "int64", (3,)),
    ("permutation", dict(size=(2,), n=4), "int64", (2, 4)),
    ("multinomial", dict(size=(2,), n=4, pvals=[0.5, 0.5]), "int64", (2, 2)),
])
def test_every_method(method: str, args: dict[str, Any], dtype: str,
                      shape: tuple[int, ...]) -> None:
    v = getattr(RandomStreams(1), method)(**args)
    f = theano.function([], v)
    a, b = f(), f()
    assert a.dtype == dtype and a.shape == shape
    if method == "multinomial":
        assert (a.sum(axis=-1) == 4).all()
    if method == "permutation":
        assert (np.sort(a, axis=-1) == np.arange(4)).all()
    assert not np.array_equal(a, b) or method in ("binomial", "choice")


def test_shuffle_row_elements() -> None:
    x = T.dmatrix()
    y = RandomStreams(2).shuffle_row_elements(x)
    xv = np.arange(8.0).reshape(2, 4)
    out = theano.function([x], y)(xv)
    np.testing.assert_array_equal(np.sort(out, axis=1), xv)


def test_dropout_gradient_and_parameter_gradient_error() -> None:
    srng = RandomStreams(3)
    x = T.dvector("x")
    mask = srng.binomial(size=x.shape, p=0.5, dtype="float64")
    f = theano.function([x], [T.grad((x * mask).sum(), x), mask])
    g, m = f(np.ones(6))
    np.testing.assert_array_equal(g, m)  # d(sum(x * mask))/dx = mask, same draw
    # the distribution's parameters: undefined through raw draws (as in Theano)
    mu = T.dscalar("mu")
    z = srng.normal((3,), avg=mu)
    with pytest.raises(NullTypeGradError, match="reparameterise"):
        T.grad(z.sum(), mu)


def test_draws_are_not_folded_or_merged() -> None:
    srng = RandomStreams(4)
    a, b = srng.uniform((3,)), srng.uniform((3,))  # same op, different generators
    f = theano.function([], [a, b, a + 0.0])
    x, y, z = f()
    assert not np.array_equal(x, y)
    np.testing.assert_array_equal(x, z)
    x2, _, _ = f()
    assert not np.array_equal(x, x2)  # constant inputs, yet drawn at every call
    ops = [type(n.op).__name__ for n in f.maker.fgraph.apply_nodes]
    assert ops.count("UniformRV") == 2


@pytest.mark.parametrize("mode", ["DebugMode", "FAST_RUN"])
def test_debugmode_draws_as_fast_run(mode: str) -> None:
    srng = RandomStreams(6)
    x = T.dvector("x")
    y = x * srng.uniform((3,)) + srng.normal((3,))
    f = theano.function([x], y, mode=mode)
    srng_ref = RandomStreams(6)
    ref = theano.function([x], x * srng_ref.uniform((3,)) + srng_ref.normal((3,)),
                          mode="FAST_RUN")
    for _ in range(2):
        np.testing.assert_allclose(f(np.ones(3)), ref(np.ones(3)), rtol=1e-12)


def _scan_with_draws(srng: Any) -> tuple[Any, Any, Any]:
    x0 = T.dvector("x0")

    def step(x: Any) -> Any:
        u = srng.uniform((2,), low=0.5, high=1.5)
        return [T.tanh(x * u + 0.1), u]

    (xs, us), updates = theano.scan(step, outputs_info=[x0, None], n_steps=4)
    return x0, xs, us, updates  # type: ignore[return-value]


def _numeric_grad(us: np.ndarray, x: np.ndarray) -> np.ndarray:
    def cost(x: np.ndarray) -> float:
        total = 0.0
        for u in us:
            x = np.tanh(x * u + 0.1)
            total += float((x ** 2).sum())
        return total

    return np.array([(cost(x + e) - cost(x - e)) / 2e-6 for e in np.eye(len(x)) * 1e-6])


@pytest.mark.parametrize("streams", ["RandomStreams", "MRG_RandomStreams"])
def test_scan_draws_advance_and_gradient_reuses_them(streams: str) -> None:
    from symarray.sandbox.rng_mrg import MRG_RandomStreams

    srng = RandomStreams(8) if streams == "RandomStreams" else MRG_RandomStreams(8)
    x0, xs, us, updates = _scan_with_draws(srng)
    assert len(updates) == 1  # the step's generator, collected by scan
    f = theano.function([x0], [T.grad((xs ** 2).sum(), x0), us], updates=updates)
    x = np.array([0.3, -0.4])
    g1, us1 = f(x)
    g2, us2 = f(x)
    assert not np.array_equal(us1, us2)  # the loop advanced the generator
    assert len({tuple(u) for u in us1}) == 4  # a new draw at every step
    for g, u in ((g1, us1), (g2, us2)):
        np.testing.assert_allclose(g, _numeric_grad(u, x), rtol=1e-6)


def test_no_default_updates_list_skips_only_those() -> None:
    srng = RandomStreams(9)
    a, b = srng.uniform((2,)), srng.uniform((2,))
    f = theano.function([], [a, b], no_default_updates=[a.rng])
    a1, b1 = f()
    a2, b2 = f()
    np.testing.assert_array_equal(a1, a2)
    assert not np.array_equal(b1, b2)
