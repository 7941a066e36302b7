"""Tests of symarray.tensor.rewriting.specialize: powers, BLAS, zeros, sums."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.mode import Mode
from symarray.errors import AssertionFailedError
from symarray.tensor.blas_ops import Gemm, Gemv, Ger

FAST_RUN = Mode(linker="py", optimizer="fast_run")
NO_REWRITES = Mode(linker="py", optimizer=None)
RNG = np.random.default_rng(3)


def _compile(inputs: list[Any], out: Any) -> Any:
    return sa.function(inputs, out, mode=FAST_RUN, on_unused_input="ignore")


def _applied(f: Any, name: str) -> int:
    return int(f.maker.fgraph.rewrite_stats.applied(name))


def _ops(f: Any) -> list[str]:
    return [type(n.op).__name__ if type(n.op).__name__ != "Elemwise"
            else str(n.op.scalar_op) for n in f.maker.fgraph.toposort()]


def _uses(f: Any, name: str) -> bool:
    """Does the graph compute the scalar op ``name`` (alone or fused)?"""
    return any(s == name or f"{name}(" in s for s in _ops(f))


def _data(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(1, 5, size=shape).astype(dtype)
    if dtype == "bool":
        return RNG.integers(0, 2, size=shape).astype(bool)
    return RNG.uniform(0.5, 2.0, size=shape).astype(dtype)


def _same(inputs: list[Any], out: Any, values: list[Any], exact: bool = False) -> Any:
    """FAST_RUN and unrewritten results agree (dtype and shape included)."""
    f = _compile(inputs, out)
    got = f(*values)
    want = sa.function(inputs, out, mode=NO_REWRITES,
                       on_unused_input="ignore")(*values)
    assert got.dtype == want.dtype and got.shape == want.shape
    if exact:
        np.testing.assert_array_equal(got, want)
    else:
        rtol = 1e-5 if got.dtype in (np.float32, np.complex64) else 1e-12
        np.testing.assert_allclose(got, want, rtol=rtol)
    return f


# -- powers --------------------------------------------------------------------------

POW_CASES = [  # (exponent, dtype, the op it becomes, or None: the input itself)
    (2, "float32", "sqr"), (2, "float64", "sqr"), (2, "int32", "sqr"),
    (2, "int64", "sqr"), (2.0, "float32", "sqr"), (0.5, "float32", "sqrt"),
    (0.5, "float64", "sqrt"), (0.5, "int32", "sqrt"), (1, "float64", None),
    (1, "int32", None), (-1, "float32", "reciprocal"), (-1.0, "float64", "reciprocal"),
    (np.float64(2.0), "float32", "sqr"),
]


@pytest.mark.parametrize("exponent,dtype,op", POW_CASES)
def test_pow_specialize(exponent: Any, dtype: str, op: str | None) -> None:
    x = T.vector("x", dtype=dtype)
    out = x ** exponent
    f = _same([x], out, [_data((4,), dtype)], exact=op != "sqrt")
    assert _applied(f, "local_pow_specialize") == 1
    assert not _uses(f, "pow")
    if op is not None:
        assert _uses(f, op)


@pytest.mark.parametrize("build", [
    lambda: (T.lvector("x"), -1),                   # integers: pow refuses it
    lambda: (T.dvector("x"), 3),                    # not a specialised power
    lambda: (T.cvector("x"), 0.5),                  # complex sqrt: branch cuts
    lambda: (T.tensor("float64", shape=(1,)), np.array([2.0, 2.0])),  # shape
])
def test_pow_not_specialized(build: Any) -> None:
    x, p = build()
    f = _compile([x], x ** p)
    assert _applied(f, "local_pow_specialize") == 0
    assert _uses(f, "pow")


def test_pow_of_a_symbolic_exponent_is_left_alone() -> None:
    x, p = T.dvector("x"), T.dscalar("p")
    assert _applied(_compile([x, p], x ** p), "local_pow_specialize") == 0


# -- BLAS ------------------------------------------------------------------------------


def _blas_vars(dtype: str = "float64") -> tuple[Any, ...]:
    return (T.matrix("X", dtype=dtype), T.matrix("Y", dtype=dtype),
            T.matrix("Z", dtype=dtype), T.scalar("a", dtype=dtype),
            T.scalar("b", dtype=dtype))


GEMM_FORMS = {
    "alpha_dot_plus_beta_z": lambda x, y, z, a, b: a * T.dot(x, y) + b * z,
    "z_minus_dot": lambda x, y, z, a, b: z - T.dot(x, y),
    "dot_plus_z": lambda x, y, z, a, b: T.dot(x, y) + z,
    "scaled_on_the_right": lambda x, y, z, a, b: z * b + T.dot(x, y) * a,
    "constant_scales": lambda x, y, z, a, b: 2 * T.dot(x, y) - z / 4,
    "divided_scale": lambda x, y, z, a, b: T.dot(x, y) / a + z,
    "bias_row": lambda x, y, z, a, b: T.dot(x, y) + z[0],
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("form", sorted(GEMM_FORMS))
def test_dot_to_gemm(form: str, dtype: str) -> None:
    X, Y, Z, a, b = _blas_vars(dtype)
    out = GEMM_FORMS[form](X, Y, Z, a, b)
    inputs = [v for v in (X, Y, Z, a, b) if v in _graph_inputs(out)]
    values = {X: _data((3, 5), dtype), Y: _data((5, 4), dtype),
              Z: _data((3, 4), dtype), a: np.asarray(0.7, dtype),
              b: np.asarray(1.3, dtype)}
    f = _same(inputs, out, [values[v] for v in inputs])
    assert _applied(f, "local_dot_to_gemm") == 1
    assert any(isinstance(n.op, Gemm) for n in f.maker.fgraph.apply_nodes)


def _graph_inputs(out: Any) -> set[Any]:
    from symarray.graph.traversal import graph_inputs

    return set(graph_inputs([out]))


@pytest.mark.parametrize("which", ["matrix_vector", "vector_matrix"])
def test_dot_to_gemv(which: str) -> None:
    A, v, z, a = T.dmatrix("A"), T.dvector("v"), T.dvector("z"), T.dscalar("a")
    if which == "matrix_vector":
        out, values = a * T.dot(A, v) + z, [_data((3, 4), "float64"),
                                           _data((4,), "float64"),
                                           _data((3,), "float64"), 0.5]
    else:
        out, values = z - a * T.dot(v, A), [_data((4, 3), "float64"),
                                           _data((4,), "float64"),
                                           _data((3,), "float64"), 0.5]
    f = _same([A, v, z, a], out, values)
    assert _applied(f, "local_dot_to_gemm") == 1
    assert any(isinstance(n.op, Gemv) for n in f.maker.fgraph.apply_nodes)


@pytest.mark.parametrize("form", ["plus", "minus_scaled", "scaled_vectors",
                                  "constant_vector"])
def test_outer_to_ger(form: str) -> None:
    Z, x, y, a = T.dmatrix("Z"), T.dvector("x"), T.dvector("y"), T.dscalar("a")
    out = {"plus": Z + T.outer(x, y), "minus_scaled": Z - a * T.outer(x, y),
           "scaled_vectors": T.outer(2 * x, y) * a + Z,
           "constant_vector": Z + a * T.outer(x, np.arange(4.0))}[form]
    values = [_data((3, 4), "float64"), _data((3,), "float64"),
              _data((4,), "float64"), 0.25]
    f = _same([Z, x, y, a], out, values)
    assert _applied(f, "local_outer_to_ger") == 1
    assert any(isinstance(n.op, Ger) for n in f.maker.fgraph.apply_nodes)


def test_blas_rewrites_not_for_integers_or_mixed_dtypes() -> None:
    X, Y, Z = T.lmatrix("X"), T.lmatrix("Y"), T.lmatrix("Z")
    f = _compile([X, Y, Z], T.dot(X, Y) + Z)
    assert _applied(f, "local_dot_to_gemm") == 0
    Xf, Zd = T.fmatrix("X"), T.dmatrix("Z")
    f = _same([Xf, Zd], T.dot(Xf, Xf.T) + Zd,
              [_data((2, 3), "float32"), _data((2, 2), "float64")])
    assert _applied(f, "local_dot_to_gemm") == 0


def test_gemm_not_when_the_dot_has_another_reader() -> None:
    X, Y, Z, _, _ = _blas_vars()
    d = T.dot(X, Y)
    f = _compile([X, Y, Z], [d + Z, d])
    assert _applied(f, "local_dot_to_gemm") == 0


def test_a_plain_dot_stays_a_dot() -> None:
    X, Y, *_ = _blas_vars()
    f = _compile([X, Y], T.dot(X, Y) * 2)
    assert _applied(f, "local_dot_to_gemm") == 0
    assert "Dot" in _ops(f)


def test_ger_needs_an_outer_product() -> None:
    Z, x = T.dmatrix("Z"), T.dvector("x")
    f = _compile([Z, x], Z + x.dimshuffle(0, "x"))
    assert _applied(f, "local_outer_to_ger") == 0


# -- dot of zeros ---------------------------------------------------------------------


@pytest.mark.parametrize("side", ["left", "right"])
def test_dot_of_zeros(side: str) -> None:
    X, n = T.dmatrix("X"), T.lscalar("n")
    zeros = T.zeros((n, 3), dtype="float64") if side == "left" else \
        T.zeros((4, n), dtype="float64")
    out = T.dot(zeros, X) if side == "left" else T.dot(X, zeros)
    value = _data((3, 5), "float64") if side == "left" else _data((2, 4), "float64")
    f = _same([X, n], out, [value, 2], exact=True)
    assert _applied(f, "local_0_dot_x") == 1
    assert "Dot" not in _ops(f)
    bad = _data((4, 5), "float64") if side == "left" else _data((2, 3), "float64")
    with pytest.raises(AssertionFailedError, match="not aligned"):
        f(bad, 2)


def test_dot_of_ones_is_kept() -> None:
    X = T.dmatrix("X")
    f = _compile([X], T.dot(T.ones((2, 3), dtype="float64"), X))
    assert _applied(f, "local_0_dot_x") == 0


# -- sums -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int8", "bool"])
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
def test_sum_of_alloc(dtype: str, axis: Any) -> None:
    v, n = T.scalar("v", dtype=dtype), T.lscalar("n")
    out = T.sum(T.alloc(v, n, 3), axis=axis)
    value = _data((), dtype)
    f = _same([v, n], out, [value, 4])
    assert _applied(f, "local_sum_alloc") == 1
    assert "Alloc" not in _ops(f) or axis in (0, 1)
    assert "Sum" not in _ops(f)


def test_sum_of_an_empty_alloc_is_zero_even_for_inf() -> None:
    v, n = T.dscalar("v"), T.lscalar("n")
    f = _compile([v, n], T.sum(T.alloc(v, n, 3)))
    assert _applied(f, "local_sum_alloc") == 1
    assert f(np.inf, 0) == 0.0
    assert f(2.0, 5) == 30.0


def test_sum_of_alloc_of_a_vector_is_left_alone() -> None:
    v, n = T.dvector("v"), T.lscalar("n")
    f = _same([v, n], T.sum(T.alloc(v, n, 3)), [_data((3,), "float64"), 2])
    assert _applied(f, "local_sum_alloc") == 0


@pytest.mark.parametrize("dtype", ["float64", "int8"])
@pytest.mark.parametrize("pattern,axis", [((1, 0), 0), ((1, 0), None),
                                          ((1, "x", 0), (0, 1)), (("x", 0, 1), 2),
                                          ((1, 0), (0, 1))])
def test_sum_of_dimshuffle(dtype: str, pattern: tuple[Any, ...], axis: Any) -> None:
    X = T.matrix("X", dtype=dtype)
    out = T.sum(X.dimshuffle(*pattern), axis=axis)
    f = _same([X], out, [_data((3, 4), dtype)])
    assert _applied(f, "local_sum_dimshuffle") == 1


def test_sum_of_dimshuffle_dropping_a_dimension() -> None:
    X = T.tensor("float64", shape=(None, 1, None))
    out = T.sum(X.dimshuffle(2, 0), axis=0)
    f = _same([X], out, [_data((3, 1, 4), "float64")])
    assert _applied(f, "local_sum_dimshuffle") == 1


def test_sum_of_a_constant_broadcast_folds_to_a_constant() -> None:
    big = T.alloc(np.float32(0.5), 1000, 2000)
    wide = T.broadcast_to(T.constant(np.int8(3)), (300, 400))
    f = _compile([], [big.sum(), wide.sum(), wide.sum(axis=0)])
    assert _applied(f, "local_sum_alloc") == 3
    got = f()
    assert got[0] == np.float32(1e6) and got[0].dtype == np.float32
    assert got[1] == 360_000 and got[1].dtype == np.int64
    np.testing.assert_array_equal(got[2], np.full(400, 900))
    assert [type(n.op).__name__ for n in f.maker.fgraph.apply_nodes] == ["Alloc"]
