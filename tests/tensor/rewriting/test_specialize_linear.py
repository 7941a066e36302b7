"""Tests of symarray.tensor.rewriting.specialize's ``local_dot_to_gemm`` on
linear combinations: scaled sums, repeated terms, allocs of scalars and
inner Gemv nodes are collected into one ``Gemv``/``Gemm``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.mode import Mode
from symarray.tensor.blas import Dot
from symarray.tensor.blas_ops import Gemm, Gemv

FAST_RUN = Mode(linker="py", optimizer="fast_run")
NO_REWRITES = Mode(linker="py", optimizer=None)
NAME = "local_dot_to_gemm"


def _vars() -> tuple[Any, ...]:
    return T.dmatrix("A"), T.dvector("v"), T.dvector("z"), T.dvector("u"), \
        T.dscalar("a")


def _values(seed: int = 0) -> list[Any]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((4, 3)), rng.standard_normal(3),
            rng.standard_normal(4), rng.standard_normal(4), np.float64(0.7)]


def _count(f: Any, cls: type) -> int:
    return sum(isinstance(n.op, cls) for n in f.maker.fgraph.apply_nodes)


def _compare(out: Any, seed: int = 0) -> Any:
    """FAST_RUN equals the unrewritten graph; returns the FAST_RUN function."""
    inputs = sorted((v for v in _inputs_of(out) if v.name in _names()),
                    key=lambda v: _names().index(v.name))
    vals = dict(zip(_names(), _values(seed), strict=True))
    args = [vals[v.name] for v in inputs]
    f = sa.function(inputs, out, mode=FAST_RUN)
    want = sa.function(inputs, out, mode=NO_REWRITES)(*args)
    got = f(*args)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    return f


def _names() -> list[str]:
    return ["A", "v", "z", "u", "a"]


def _inputs_of(out: Any) -> set[Any]:
    from symarray.graph.traversal import graph_inputs

    return set(graph_inputs([out]))


def _l2_alloc(z: Any) -> Any:
    # what grad(0.01 * (z ** 2).sum()) builds: alloc(0.01, len(z)) * (2 * z)
    return T.alloc(np.float64(0.01), z.shape[0]) * (2 * z)


FORMS = {
    # w - 0.1 * (dot + 0.02 w) = 0.998 w - 0.1 dot
    "sgd_step_l2": lambda m, v, z, u, a: z - 0.1 * (T.dot(m, v) + 0.02 * z),
    "scaled_sum": lambda m, v, z, u, a: 3 * (z - T.dot(m, v) / 4),
    "repeated_z": lambda m, v, z, u, a: 2 * z + T.dot(m, v) - z / 8 + 0.5 * z,
    "alloc_factor": lambda m, v, z, u, a: z - 0.1 * (_l2_alloc(z) + T.dot(m, v)),
    "negated": lambda m, v, z, u, a: -(z - (-T.dot(m, v))),
    "symbolic_scales": lambda m, v, z, u, a: a * (z + a * T.dot(m, v)) - z,
    "two_other_cores": lambda m, v, z, u, a: z - 0.5 * (T.dot(m, v) - u) + a * u,
    "vector_matrix": lambda m, v, z, u, a: v - 0.1 * (T.dot(z, m) + v),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_linear_combination_becomes_one_blas_call(form: str) -> None:
    f = _compare(FORMS[form](*_vars()))
    assert _count(f, Gemv) == 1
    assert _count(f, Dot) == 0


def test_sgd_step_collects_the_coefficients() -> None:
    """w - 0.1 * (dot + 0.02 w) -> Gemv(w, -0.1, A, v, 0.998)."""
    m, v, z, _, _ = _vars()
    f = _compare(z - 0.1 * (T.dot(m, v) + 0.02 * z))
    (node,) = [n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, Gemv)]
    zz, alpha, _, _, beta = node.inputs
    assert zz.name == "z"
    assert float(alpha.data) == pytest.approx(-0.1)
    assert float(beta.data) == pytest.approx(0.998)


def test_matrix_matrix_combination_becomes_gemm() -> None:
    X, Y, Z = T.dmatrix("X"), T.dmatrix("Y"), T.dmatrix("Z")
    out = Z - 0.5 * (T.dot(X, Y) + 2 * Z) + Z / 4
    rng = np.random.default_rng(1)
    vals = [rng.standard_normal((3, 5)), rng.standard_normal((5, 2)),
            rng.standard_normal((3, 2))]
    f = sa.function([X, Y, Z], out, mode=FAST_RUN)
    want = sa.function([X, Y, Z], out, mode=NO_REWRITES)(*vals)
    np.testing.assert_allclose(f(*vals), want, rtol=1e-12)
    assert _count(f, Gemm) == 1 and _count(f, Dot) == 0


def test_a_zero_coefficient_is_not_collected() -> None:
    """0.5 z - z / 2 + dot: z * 0 would hide an inf or nan in z."""
    m, v, z, _, _ = _vars()
    out = 0.5 * z + T.dot(m, v) - z / 2
    f = sa.function([m, v, z], out, mode=FAST_RUN)
    vals = _values()[:3]
    vals[2] = np.array([np.inf, 1.0, 2.0, 3.0])
    want = sa.function([m, v, z], out, mode=NO_REWRITES)(*vals)
    got = f(*vals)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[1:], want[1:], rtol=1e-12)
    for node in f.maker.fgraph.apply_nodes:  # no Gemv scales z by 0
        if isinstance(node.op, Gemv) and hasattr(node.inputs[4], "data"):
            assert float(node.inputs[4].data) != 0


def test_an_inner_sum_with_another_reader_is_not_opened() -> None:
    """The dot would be computed twice (once for the other reader)."""
    m, v, z, _, _ = _vars()
    g = T.dot(m, v) + 0.02 * z
    f = sa.function([m, v, z], [z - 0.1 * g, g], mode=FAST_RUN)
    vals = _values()[:3]
    got = f(*vals)
    want = sa.function([m, v, z], [z - 0.1 * g, g], mode=NO_REWRITES)(*vals)
    for x, y in zip(got, want, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12)
    assert _count(f, Dot) + _count(f, Gemv) == 1


# -- property: random linear combinations equal the unrewritten graph ----------

_CONSTANTS = [-2.0, -0.1, 0.25, 1.0, 3.0]


@st.composite
def _linear(draw: Any, depth: int = 3) -> Any:
    """A recipe: a function of the variables building a linear combination."""
    leaf = st.sampled_from(["z", "u", "dot", "z"])
    if depth == 0 or draw(st.booleans()):
        name = draw(leaf)
        return lambda env, n=name: T.dot(env["A"], env["v"]) if n == "dot" else env[n]
    kind = draw(st.sampled_from(["add", "sub", "neg", "cmul", "cdiv", "amul"]))
    left = draw(_linear(depth - 1))
    if kind in ("add", "sub"):
        right = draw(_linear(depth - 1))
        if kind == "add":
            return lambda env: left(env) + right(env)
        return lambda env: left(env) - right(env)
    if kind == "neg":
        return lambda env: -left(env)
    if kind == "amul":
        return lambda env: env["a"] * left(env)
    c = draw(st.sampled_from(_CONSTANTS))
    if kind == "cmul":
        return lambda env: c * left(env)
    return lambda env: left(env) / c


@settings(max_examples=100, deadline=None)
@given(recipe=_linear(), seed=st.integers(0, 3))
def test_linear_combinations_keep_their_values(recipe: Any, seed: int) -> None:
    env = dict(zip(_names(), _vars(), strict=True))
    # the dot always appears, so the sum is one the rewrite may take
    out = recipe(env) + 0.5 * T.dot(env["A"], env["v"]) - env["z"] / 3
    _compare(out, seed)


def test_long_chain_is_not_walked_from_every_sum() -> None:
    # y = y * a + b repeated: every add is a root of local_dot_to_gemm; the
    # collection gives up after a bounded walk instead of reading the whole
    # chain below each root (quadratic: a 10k-node chain never compiled)
    from symarray.graph.fg import FunctionGraph
    from symarray.tensor.rewriting.specialize import _MAX_VISITED, _linear_terms

    x = T.dvector("x")
    y = x
    for _ in range(4 * _MAX_VISITED):
        y = y * 1.0001 + 0.5
    fgraph = FunctionGraph([x], [y], clone=False)
    assert _linear_terms(fgraph, y, "float64", set()) is None
    # a short one is still collected
    short = x * 2.0 + 0.5
    fgraph = FunctionGraph([x], [short], clone=False)
    assert _linear_terms(fgraph, short, "float64", set()) is not None
