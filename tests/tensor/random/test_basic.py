"""Each distribution of ``random.basic`` against NumPy's own generator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from op_checks import LINKERS

import symarray as sa
import symarray.tensor as T
from symarray.errors import DtypeError, RankError, ShapeMismatchError
from symarray.tensor.random import basic

# name: (symbolic call on rng, NumPy call on a generator of the same state, dtype)
CASES: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any], str]] = {
    "uniform": (lambda r: basic.uniform(r, (2, 3), -1.0, 2.0),
                lambda g: g.uniform(-1.0, 2.0, (2, 3)), "float64"),
    "uniform_params": (lambda r: basic.uniform(r, None, np.zeros(3), [1.0, 2.0, 3.0]),
                       lambda g: g.uniform(np.zeros(3), [1.0, 2.0, 3.0]), "float64"),
    "uniform_f32": (lambda r: basic.uniform(r, (4,), dtype="float32"),
                    lambda g: g.uniform(0.0, 1.0, 4).astype("float32"), "float32"),
    "normal": (lambda r: basic.normal(r, (5,), 3.0, 0.5),
               lambda g: g.normal(3.0, 0.5, 5), "float64"),
    "binomial": (lambda r: basic.binomial(r, (6,), 4, 0.3),
                 lambda g: g.binomial(4, 0.3, 6), "int64"),
    "binomial_prob": (lambda r: basic.binomial(r, (3,), prob=0.9, dtype="int8"),
                      lambda g: g.binomial(1, 0.9, 3).astype("int8"), "int8"),
    "poisson": (lambda r: basic.poisson(r, (2, 2), 3.5),
                lambda g: g.poisson(3.5, (2, 2)), "int64"),
    "choice": (lambda r: basic.choice(r, (4,), 10, replace=False),
               lambda g: g.choice(10, 4, replace=False), "int64"),
    "choice_p": (lambda r: basic.choice(r, (3,), np.array([5, 6, 7]), p=[0.1, 0.9, 0]),
                 lambda g: g.choice(np.array([5, 6, 7]), 3, p=[0.1, 0.9, 0]), "int64"),
    "multinomial": (lambda r: basic.multinomial(r, (3,), 5, [0.2, 0.3, 0.5]),
                    lambda g: g.multinomial(5, [0.2, 0.3, 0.5], 3), "int64"),
}

RANDOMSTATE_ONLY: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any], str]] = {
    "random_integers": (lambda r: basic.random_integers(r, (5,), 2, 4),
                        lambda g: g.randint(2, 5, 5), "int64"),
    "integers": (lambda r: basic.integers(r, (5,), 2, 4),
                 lambda g: g.randint(2, 4, 5), "int64"),
    "permutation": (lambda r: basic.permutation(r, (2,), 4),
                    lambda g: np.stack([g.permutation(4) for _ in range(2)]), "int64"),
}


@pytest.mark.parametrize("linker", LINKERS)
@pytest.mark.parametrize("name", sorted(CASES) + sorted(RANDOMSTATE_ONLY))
def test_draws_match_numpy_randomstate(name: str, linker: str) -> None:
    build, ref, dtype = {**CASES, **RANDOMSTATE_ONLY}[name]
    rng = sa.shared(np.random.RandomState(42))
    new_rng, draws = build(rng)
    f = sa.function([], draws, updates=[(rng, new_rng)], mode=sa.Mode(linker=linker))
    gen = np.random.RandomState(42)
    for _ in range(2):  # the state advances between calls
        got, want = f(), np.asarray(ref(gen))
        assert got.dtype == dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    assert rng.get_value().get_state()[1].tolist() == gen.get_state()[1].tolist()


@pytest.mark.parametrize("name", sorted(CASES))
def test_draws_match_numpy_generator(name: str) -> None:
    build, ref, dtype = CASES[name]
    rng = sa.shared(np.random.default_rng(7))
    new_rng, draws = build(rng)
    f = sa.function([], draws, updates=[(rng, new_rng)])
    gen = np.random.default_rng(7)
    for _ in range(2):
        np.testing.assert_array_equal(f(), ref(gen))


def test_generator_integers_and_permutation() -> None:
    rng = sa.shared(np.random.default_rng(3))
    r1, a = basic.integers(rng, (6,), 0, 3)
    r2, b = basic.random_integers(r1, (6,), 0, 3)
    _, c = basic.permutation(r2, (), 5)
    x, y, z = sa.function([], [a, b, c])()
    gen = np.random.default_rng(3)
    np.testing.assert_array_equal(x, gen.integers(0, 3, 6))
    np.testing.assert_array_equal(y, gen.integers(0, 3, 6, endpoint=True))
    np.testing.assert_array_equal(z, gen.permutation(5))


def test_symbolic_size_and_params() -> None:
    x = T.dmatrix("x")
    low = T.dvector("low")
    rng = sa.shared(np.random.RandomState(0))
    _, u = basic.uniform(rng, x.shape, low, low + 1.0)
    assert u.ndim == 2
    f = sa.function([x, low], u)
    got = f(np.zeros((2, 3)), np.array([0.0, 10.0, 20.0]))
    want = np.random.RandomState(0).uniform([0.0, 10.0, 20.0], [1.0, 11.0, 21.0],
                                            (2, 3))
    np.testing.assert_array_equal(got, want)
    n = T.lscalar("n")
    _, v = basic.normal(rng, (n, 2))
    assert sa.function([n], v)(4).shape == (4, 2)


def test_static_shapes_and_infer_shape() -> None:
    rng = sa.shared(np.random.RandomState(0))
    _, u = basic.uniform(rng, (2, 3))
    assert u.type.shape == (2, 3)
    _, m = basic.multinomial(rng, (4,), 3, [0.5, 0.5])
    assert m.type.shape == (4, 2)
    n = T.lscalar("n")
    _, p = basic.permutation(rng, (n,), 5)
    assert p.type.shape == (None, 5)
    # the shape is computed without drawing
    f = sa.function([n], p.shape)
    assert f(3).tolist() == [3, 5]
    assert not any("Permutation" in str(node.op) for node in f.maker.fgraph.apply_nodes)


def test_shuffle_row_elements() -> None:
    rng = sa.shared(np.random.RandomState(1))
    x = T.dmatrix("x")
    _, y = basic.shuffle_row_elements(rng, x)
    xv = np.arange(12.0).reshape(3, 4)
    got = sa.function([x], y)(xv)
    gen = np.random.RandomState(1)
    want = np.stack([row[gen.permutation(4)] for row in xv])
    np.testing.assert_array_equal(got, want)
    _, v = basic.shuffle_row_elements(rng, T.dvector("v"))
    assert v.ndim == 1


@pytest.mark.parametrize("call, err, match", [
    (lambda r: basic.uniform(r, (2, 2.5)), DtypeError, "expected an integer"),
    (lambda r: basic.uniform(r, (2, -1)), ShapeMismatchError, "negative"),
    (lambda r: basic.uniform(r, (2, 2), ndim=3), RankError, "ndim=3"),
    (lambda r: basic.uniform(r, T.lvector()), ShapeMismatchError, "pass ndim"),
    (lambda r: basic.uniform(r, T.dvector(), ndim=2), DtypeError, "integers"),
    (lambda r: basic.uniform(r, (2,), dtype="int32"), DtypeError, "float dtype"),
    (lambda r: basic.binomial(r, (2,), dtype="complex128"), DtypeError,
     "bool, integer or float"),
    (lambda r: basic.uniform(r, (2,), T.dmatrix()), RankError,
     "batch dimensions .* size has 1 entry"),
    (lambda r: basic.choice(r, (2,), T.dmatrix()), RankError, "int or a vector"),
    (lambda r: basic.shuffle_row_elements(r, T.dscalar()), RankError, "dimension"),
    (lambda r: basic.uniform(T.dvector(), (2,)), TypeError, "random generator"),
    (lambda r: basic.uniform(r, (2,), ndim=-1), TypeError, "ndim"),
])
def test_errors_at_build_time(call: Any, err: type, match: str) -> None:
    rng = sa.shared(np.random.RandomState(0))
    with pytest.raises(err, match=match):
        call(rng)


def test_size_vector_of_unknown_length_with_ndim() -> None:
    s = T.lvector("s")
    rng = sa.shared(np.random.RandomState(0))
    _, u = basic.uniform(rng, s, ndim=2)
    assert sa.function([s], u)([2, 3]).shape == (2, 3)


def test_errors_at_run_time_name_the_op() -> None:
    rng = sa.shared(np.random.RandomState(0))
    low = T.dvector("low")
    _, u = basic.uniform(rng, (2,), low)
    f = sa.function([low], u)
    with pytest.raises(ValueError, match="uniform: cannot draw size \\(2,\\)"):
        f(np.zeros(3))
    n = T.lscalar("n")
    _, v = basic.normal(rng, (n,))
    with pytest.raises(Exception, match="negative"):
        sa.function([n], v)(-2)
