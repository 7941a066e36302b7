"""Gradients and R_op of Elemwise (every scalar-table row), DimShuffle and Cast.

``GRAD_CASES`` holds one case per differentiable row of
:data:`symarray.scalar.ROWS`: how to sample inputs inside the op's domain
(away from kinks, poles and ties).  Each case is checked in reverse mode
with ``verify_grad`` (float64 and float32), in forward mode against a
numeric Jacobian-vector product, and with broadcasting inputs (static and
run-time broadcast dimensions).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from op_checks import check_infer_shape

import symarray as sa
import symarray.tensor as T  # noqa: N812 - Theano's convention
from symarray.errors import ShapeMismatchError
from symarray.gradient import NullTypeGradError, Rop, grad, verify_grad
from symarray.scalar import ROWS
from symarray.scalar.grads import COMPLEX_RULES, HOLOMORPHIC, NOT_DIFFERENTIABLE
from symarray.tensor.elemwise_grad import SumToShape

Arrays = list[np.ndarray]
Sampler = Callable[[np.random.Generator, Sequence[tuple[int, ...]], str], Arrays]

# -- input samplers ------------------------------------------------------------


def _uniform(lo: float, hi: float, signed: bool = False) -> Callable[..., np.ndarray]:
    """Uniform in [lo, hi]; ``signed``: a random sign too (keeps away from 0)."""

    def draw(rng: np.random.Generator, shape: tuple[int, ...],
             dtype: str) -> np.ndarray:
        v = rng.uniform(lo, hi, shape)
        if signed:
            v = v * rng.choice([-1.0, 1.0], shape)
        return np.asarray(v, dtype=dtype)

    return draw


def _grid(centres: Sequence[float], noise: float) -> Callable[..., np.ndarray]:
    """Values near ``centres``: two inputs on disjoint grids never tie."""

    def draw(rng: np.random.Generator, shape: tuple[int, ...],
             dtype: str) -> np.ndarray:
        v = rng.choice(centres, shape) + rng.uniform(-noise, noise, shape)
        return np.asarray(v, dtype=dtype)

    return draw


def _each(*draws: Callable[..., np.ndarray]) -> Sampler:
    """Independent inputs, one draw function each."""

    def sample(rng: np.random.Generator, shapes: Sequence[tuple[int, ...]],
               dtype: str) -> Arrays:
        return [d(rng, s, dtype) for d, s in zip(draws, shapes, strict=True)]

    return sample


def _mod_inputs(rng: np.random.Generator, shapes: Sequence[tuple[int, ...]],
                dtype: str) -> Arrays:
    # a = k + u (u in [0.3, 0.6]), b in [1, 1.05]: floor(a / b) == k, far from a jump
    a = rng.integers(-2, 2, shapes[0]) + rng.uniform(0.3, 0.6, shapes[0])
    b = rng.uniform(1.0, 1.05, shapes[1])
    return [a.astype(dtype), b.astype(dtype)]


ANY = _uniform(-2.0, 2.0)
POS = _uniform(0.5, 3.0)
NONZERO = _uniform(0.4, 2.0, signed=True)
UNIT = _uniform(-0.9, 0.9)
#: two grids 0.3 apart at least: maximum/minimum never tie
GRID_A = _grid([-1.5, -0.5, 0.5, 1.5], 0.1)
GRID_B = _grid([-1.0, 0.0, 1.0], 0.1)
#: x well inside or outside of [lo, hi] = [-1 +- 0.1, 1 +- 0.1]
CLIP_X = _grid([-1.6, -0.3, 0.3, 1.6], 0.15)
CLIP_LO = _uniform(-1.1, -0.9)
CLIP_HI = _uniform(0.9, 1.1)


@dataclass(frozen=True)
class GradCase:
    """Where a row's gradient is checked, and how to build the expression."""

    sample: Sampler
    build: Callable[..., Any] | None = None
    #: float32 finite differences are too coarse for this row
    skip_float32: bool = False

    def fn(self, name: str) -> Callable[..., Any]:
        return self.build if self.build is not None else getattr(T, name)


def _u(draw: Callable[..., np.ndarray] = ANY, **kw: Any) -> GradCase:
    return GradCase(_each(draw), **kw)


def _b(a: Callable[..., np.ndarray] = ANY, b: Callable[..., np.ndarray] = ANY,
       **kw: Any) -> GradCase:
    return GradCase(_each(a, b), **kw)


GRAD_CASES: dict[str, GradCase] = {
    "add": _b(),
    "sub": _b(),
    "mul": _b(),
    "true_div": _b(ANY, NONZERO),
    "mod": GradCase(_mod_inputs),
    "pow": _b(_uniform(0.5, 2.0), ANY),
    "neg": _u(),
    "abs": _u(NONZERO),
    "sqr": _u(),
    "reciprocal": _u(NONZERO),
    "maximum": _b(GRID_A, GRID_B),
    "minimum": _b(GRID_A, GRID_B),
    "clip": GradCase(_each(CLIP_X, CLIP_LO, CLIP_HI), T.clip),
    "exp": _u(),
    "exp2": _u(),
    "expm1": _u(),
    "log": _u(POS),
    "log2": _u(POS),
    "log10": _u(POS),
    "log1p": _u(_uniform(-0.5, 3.0)),
    "sqrt": _u(POS),
    "logaddexp": _b(),
    "log1mexp": _u(_uniform(-3.0, -0.1)),
    "sin": _u(),
    "cos": _u(),
    "tan": _u(_uniform(-1.2, 1.2)),
    "arcsin": _u(UNIT),
    "arccos": _u(UNIT),
    "arctan": _u(),
    "arctan2": _b(ANY, NONZERO),
    "sinh": _u(),
    "cosh": _u(),
    "tanh": _u(),
    "arcsinh": _u(),
    "arccosh": _u(_uniform(1.2, 4.0)),
    "arctanh": _u(UNIT),
    "deg2rad": _u(_uniform(-200.0, 200.0)),
    "rad2deg": _u(),
    "sigmoid": _u(_uniform(-4.0, 4.0)),
    "softplus": _u(_uniform(-4.0, 4.0)),
    "erf": _u(),
    "erfc": _u(),
    "erfcx": _u(_uniform(-1.0, 3.0)),
    "erfcinv": _u(_uniform(0.1, 1.9)),
    "erfinv": _u(UNIT),
    "gamma": _u(_uniform(0.5, 4.0)),
    "gammaln": _u(_uniform(0.5, 5.0)),
    "psi": _u(_uniform(0.5, 5.0)),
    "real": _u(),
    "imag": _u(),
    "angle": _u(NONZERO),
    "conj": _u(),
    # the condition is a float input too: its gradient is zero
    "switch": GradCase(_each(NONZERO, ANY, ANY)),
}

#: rows with a derivative rule whose derivative is not written
NOT_IMPLEMENTED = {"tri_gamma"}
ROW_NAMES = [row.name for row in ROWS]
NIN = {row.name: row.nin for row in ROWS}
SHAPE = (2, 3)


def test_every_differentiable_row_has_a_grad_case() -> None:
    expected = set(ROW_NAMES) - NOT_DIFFERENTIABLE - NOT_IMPLEMENTED
    assert set(GRAD_CASES) == expected, (
        f"rows without a grad case: {sorted(expected - set(GRAD_CASES))}; "
        f"cases without a row: {sorted(set(GRAD_CASES) - expected)}"
    )


def _sample(name: str, shapes: Sequence[tuple[int, ...]], dtype: str,
            seed: int) -> Arrays:
    rng = np.random.default_rng(seed)
    return GRAD_CASES[name].sample(rng, shapes, dtype)


# -- reverse mode: verify_grad -------------------------------------------------


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_verify_grad_float64(name: str) -> None:
    values = _sample(name, [SHAPE] * NIN[name], "float64", 0)
    verify_grad(GRAD_CASES[name].fn(name), values, rng=np.random.default_rng(1))


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_verify_grad_float32(name: str) -> None:
    values = _sample(name, [SHAPE] * NIN[name], "float32", 2)
    fn = GRAD_CASES[name].fn(name)
    verify_grad(fn, values, rng=np.random.default_rng(3))
    # the gradient keeps float32
    xs = [T.fmatrix() for _ in values]
    gs = grad(T.sum(fn(*xs)), xs)
    assert [g.dtype for g in gs] == ["float32"] * len(xs)


BROADCASTS = [((3, 1), (1, 4)), ((4,), (3, 4)), ((), (3, 4)), ((3, 4), (4,)),
              ((1, 4), ())]
MULTI_INPUT = sorted(n for n in GRAD_CASES if NIN[n] > 1)


def _shapes(name: str, pair: tuple[tuple[int, ...], ...]) -> list[tuple[int, ...]]:
    # third inputs (clip's bound, switch's second branch) take the first shape
    return [pair[k % 2] if k < 2 else pair[0] for k in range(NIN[name])]


@pytest.mark.parametrize("pair", BROADCASTS, ids=str)
@pytest.mark.parametrize("name", MULTI_INPUT)
def test_verify_grad_broadcasting_at_run_time(name: str, pair: Any) -> None:
    """Inputs typed without static lengths: length-1 dims stretch at run time."""
    values = _sample(name, _shapes(name, pair), "float64", 4)
    verify_grad(GRAD_CASES[name].fn(name), values, rng=np.random.default_rng(5))


def _static_type(value: np.ndarray) -> Any:
    """The type a Theano user would give: length 1 is broadcastable."""
    return T.TensorType(value.dtype, shape=tuple(1 if s == 1 else None
                                                 for s in value.shape))


def numeric_grad(f: Callable[..., Any], values: Arrays, k: int,
                 eps: float = 1e-6) -> np.ndarray:
    """Central differences of the real scalar ``f`` in input ``k``.

    Complex inputs get ``df/dx + i df/dy`` (Theano's convention).
    """
    base = [np.array(v) for v in values]
    out = np.zeros(base[k].shape, dtype=base[k].dtype)
    steps = [1.0, 1j] if base[k].dtype.kind == "c" else [1.0]
    for idx in np.ndindex(*base[k].shape):
        for step in steps:
            plus = [v.copy() for v in base]
            minus = [v.copy() for v in base]
            plus[k][idx] += eps * step
            minus[k][idx] -= eps * step
            d = (float(f(*plus)) - float(f(*minus))) / (2 * eps)
            out[idx] += d * step
    return out


def check_grad(fn: Callable[..., Any], values: Arrays,
               types: Sequence[Any] | None = None, rtol: float = 1e-5,
               atol: float = 1e-6, seed: int = 0) -> None:
    """grad of ``sum(fn(*x) * r)`` (real part) against central differences."""
    types = types if types is not None else [_static_type(v) for v in values]
    xs = [t() for t in types]
    out = fn(*xs)
    rng = np.random.default_rng(seed)
    r = rng.uniform(0.5, 1.5, sa.function(xs, out)(*values).shape)
    cost = T.sum(T.real(out) * r) if out.dtype.startswith("complex") else T.sum(out * r)
    f = sa.function(xs, cost)
    gs = grad(cost, xs)
    for g, x in zip(gs, xs, strict=True):
        assert x.type.is_super(g.type), f"gradient type {g.type} for input {x.type}"
    got = sa.function(xs, gs, on_unused_input="ignore")(*values)
    for k in range(len(values)):
        np.testing.assert_allclose(got[k], numeric_grad(f, values, k), rtol=rtol,
                                   atol=atol, err_msg=f"input {k}")


@pytest.mark.parametrize("pair", BROADCASTS, ids=str)
@pytest.mark.parametrize("name", MULTI_INPUT)
def test_grad_broadcasting_static(name: str, pair: Any) -> None:
    """Broadcastable types: the gradient is summed over the broadcast dims."""
    values = _sample(name, _shapes(name, pair), "float64", 6)
    check_grad(GRAD_CASES[name].fn(name), values)


def test_run_time_broadcast_gradient_has_input_shape() -> None:
    x, y = T.dmatrix("x"), T.dmatrix("y")
    gx, gy = grad(T.sum(x * y), [x, y])
    f = sa.function([x, y], [gx, gy])
    a, b = np.arange(3.0).reshape(3, 1), np.arange(4.0).reshape(1, 4)
    ga, gb = f(a, b)
    np.testing.assert_allclose(ga, b.sum() * np.ones((3, 1)))
    np.testing.assert_allclose(gb, a.sum() * np.ones((1, 4)))
    # same shapes: nothing summed
    ga, gb = f(np.ones((2, 2)), np.full((2, 2), 3.0))
    np.testing.assert_allclose(ga, np.full((2, 2), 3.0))


def test_unary_and_static_gradients_need_no_run_time_check() -> None:
    x, v = T.dmatrix("x"), T.TensorType("float64", shape=(1, None))("v")
    for cost in (T.sum(T.exp(x)), T.sum(x * 2.0)):
        assert not _has_op(grad(cost, x), SumToShape)
    # v's dim 0 is broadcast statically: a plain sum; dim 1 may stretch at run time
    gv = grad(T.sum(x + v), v)
    ops = [a.owner.op for a in _ancestors(gv) if a.owner is not None
           and isinstance(a.owner.op, SumToShape)]
    assert [op.axes for op in ops] == [(1,)]


def _ancestors(var: Any) -> list[Any]:
    from symarray.graph.traversal import ancestors

    return list(ancestors([var]))


def _has_op(var: Any, op_type: type) -> bool:
    return any(a.owner is not None and isinstance(a.owner.op, op_type)
               for a in _ancestors(var))


# -- forward mode: R_op --------------------------------------------------------


def numeric_jvp(fn: Callable[..., Any], values: Arrays, tangents: Arrays,
                eps: float = 1e-6) -> np.ndarray:
    """Central differences along ``tangents``."""
    plus = [v + eps * t for v, t in zip(values, tangents, strict=True)]
    minus = [v - eps * t for v, t in zip(values, tangents, strict=True)]
    return (np.asarray(fn(*plus)) - np.asarray(fn(*minus))) / (2 * eps)


def check_rop(fn: Callable[..., Any], values: Arrays,
              types: Sequence[Any] | None = None,
              wrt: Sequence[int] | None = None, rtol: float = 1e-5,
              atol: float = 1e-7, seed: int = 0) -> None:
    """``Rop(fn(x), x, v)`` against ``(fn(x + eps v) - fn(x - eps v)) / 2 eps``."""
    types = types if types is not None else [
        T.TensorType(v.dtype, shape=(None,) * v.ndim) for v in values]
    xs = [t() for t in types]
    wrt = list(range(len(values))) if wrt is None else list(wrt)
    vs = [types[k]() for k in wrt]
    out = fn(*xs)
    jvp = Rop(out, [xs[k] for k in wrt], vs)
    assert jvp.type.dtype == out.type.dtype
    rng = np.random.default_rng(seed)
    tangents = [rng.normal(size=values[k].shape).astype(values[k].dtype)
                for k in wrt]
    full = [np.zeros_like(v) for v in values]
    for k, t in zip(wrt, tangents, strict=True):
        full[k] = t
    got = sa.function(xs + vs, jvp, on_unused_input="ignore")(*values, *tangents)
    single = ("float32", "complex64")
    if out.dtype in single or any(v.dtype.name in single for v in values):
        eps, rtol, atol = 1e-3, max(rtol, 1e-2), max(atol, 1e-3)
    else:
        eps = 1e-6
    expected = numeric_jvp(sa.function(xs, out), values, full, eps)
    assert np.shape(got) == expected.shape
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_rop_against_numeric_jvp(name: str) -> None:
    values = _sample(name, [SHAPE] * NIN[name], "float64", 7)
    check_rop(GRAD_CASES[name].fn(name), values)


@pytest.mark.parametrize("pair", BROADCASTS[:3], ids=str)
@pytest.mark.parametrize("name", ["add", "mul", "pow", "maximum", "arctan2"])
def test_rop_broadcasting(name: str, pair: Any) -> None:
    values = _sample(name, _shapes(name, pair), "float64", 8)
    fn = GRAD_CASES[name].fn(name)
    check_rop(fn, values)
    check_rop(fn, values, [_static_type(v) for v in values])
    # a tangent for one input only: the output still has the broadcast shape
    for k in range(len(values)):
        check_rop(fn, values, wrt=[k])
        check_rop(fn, values, [_static_type(v) for v in values], wrt=[k])


# -- integer inputs and non-differentiable rows --------------------------------


def test_integer_inputs_get_zero_gradients() -> None:
    x, i = T.dvector("x"), T.ivector("i")
    cost = T.sum(x * i + T.exp(i) + x ** i)
    gx, gi = grad(cost, [x, i])
    xv, iv = np.array([0.5, 1.5]), np.array([1, 2], dtype="int32")
    got_x, got_i = sa.function([x, i], [gx, gi])(xv, iv)
    np.testing.assert_allclose(got_x, iv + iv * xv ** (iv - 1))
    assert gi.dtype == sa.config.floatX and got_i.tolist() == [0, 0]


def test_gradient_through_integer_cast_is_zero_not_disconnected() -> None:
    x = T.dvector("x")
    for cost in (T.sum(T.cast(T.lt(x, 0), "float64")),
                 T.sum(x * T.cast(T.floor(x), "int32"))):
        g = sa.function([x], grad(cost, x))(np.array([1.5, -2.5]))
        assert g.shape == (2,)
    g = sa.function([x], grad(T.sum(x * T.cast(T.floor(x), "int32")), x))
    np.testing.assert_allclose(g(np.array([1.5, -2.5])), [1.0, -3.0])


def _not_differentiable_expr(name: str, x: Any) -> Any:
    """``name`` applied to float ``x`` (ints for bitwise rows), cast to float64."""
    op = getattr(T, name)
    if name in ("and_", "or_", "xor"):
        out = op(T.cast(x, "int64"), T.cast(x * 3, "int64"))
    elif name == "invert":
        out = op(T.cast(x, "int64"))
    elif NIN[name] == 2:
        out = op(x, x[::-1])
    else:
        out = op(x)
    return T.cast(out, "float64")


@pytest.mark.parametrize("name", sorted(NOT_DIFFERENTIABLE))
def test_not_differentiable_rows_give_zero_gradients(name: str) -> None:
    x = T.dvector("x")
    out = _not_differentiable_expr(name, x)
    g = grad(T.sum(out), x)  # no error: zeros
    xv = np.array([1.3, -2.6, 3.7])
    np.testing.assert_array_equal(sa.function([x], g)(xv), np.zeros(3))
    v = T.dvector("v")
    tangent = sa.function([x, v], Rop(out, x, v), on_unused_input="ignore")
    np.testing.assert_array_equal(tangent(xv, np.ones(3)), np.zeros(3))


def test_floor_sum_gradient_is_zeros() -> None:
    x = T.dmatrix("x")
    g = sa.function([x], grad(T.floor(x).sum(), x))(np.full((2, 2), 1.5))
    np.testing.assert_array_equal(g, np.zeros((2, 2)))


def test_tri_gamma_is_the_derivative_of_psi() -> None:
    import scipy.special as sp

    x = T.dvector("x")
    xv = np.array([0.7, 2.0, 4.5])
    got = sa.function([x], T.tri_gamma(x))(xv)
    np.testing.assert_allclose(got, sp.polygamma(1, xv))
    g = sa.function([x], grad(T.sum(T.psi(x)), x))(xv)
    np.testing.assert_allclose(g, sp.polygamma(1, xv))


def test_tri_gamma_gradient_is_not_implemented() -> None:
    x = T.dvector("x")
    with pytest.raises(NullTypeGradError, match="tri_gamma.*polygamma"):
        grad(T.sum(T.tri_gamma(x)), x)
    # second derivative of psi goes through tri_gamma
    with pytest.raises(NullTypeGradError, match="not implemented"):
        grad(T.sum(grad(T.sum(T.psi(x)), x)), x)
    with pytest.raises(NullTypeGradError, match="Rop: .*tri_gamma.*not implemented"):
        Rop(T.tri_gamma(x), x, T.dvector("v"))
    # returned, not raised, when asked for
    null = grad(T.sum(T.tri_gamma(x)), x, null_gradients="return")
    assert str(null.type) == "NullType"


# -- Cast ----------------------------------------------------------------------


@pytest.mark.parametrize("src,dst", [("float64", "float32"), ("float32", "float64")])
def test_cast_between_floats_casts_the_gradient_back(src: str, dst: str) -> None:
    x = T.vector("x", dtype=src)
    y = T.cast(x, dst)
    g = grad(T.sum(T.sqr(y)), x)
    assert g.dtype == src
    xv = np.array([1.0, -2.0], dtype=src)
    np.testing.assert_allclose(sa.function([x], g)(xv), 2 * xv, rtol=1e-6)
    tangent = Rop(y, x, T.vector("v", dtype=src))
    assert tangent.dtype == dst
    check_rop(lambda a: T.cast(a, dst), [xv])
    # float32 somewhere in the graph: float32 step and tolerance
    verify_grad(lambda a: T.exp(T.cast(a, dst)), [xv], rng=np.random.default_rng(0),
                eps=3e-4, abs_tol=1e-2, rel_tol=1e-2)


@pytest.mark.parametrize("dst", ["int32", "int64", "bool", "uint8"])
def test_cast_to_integer_gives_no_gradient(dst: str) -> None:
    x = T.dvector("x")
    y = T.cast(x, dst)
    g = grad(T.sum(T.cast(y, "float64") * 1.0) + T.sum(x * 0.0), x)
    np.testing.assert_array_equal(sa.function([x], g)(np.array([1.5, 2.5])), 0.0)
    v = T.dvector("v")
    got = sa.function([x, v], Rop(T.cast(y, "float64"), x, v),
                      on_unused_input="ignore")(np.array([1.5, 2.5]), np.ones(2))
    np.testing.assert_array_equal(got, 0.0)


def test_cast_from_integer_has_no_gradient_for_the_integer() -> None:
    i = T.ivector("i")
    g = grad(T.sum(T.cast(i, "float64")), i)
    assert g.dtype == sa.config.floatX
    np.testing.assert_array_equal(
        sa.function([i], g)(np.array([1, 2], dtype="int32")), 0.0)


# -- DimShuffle ----------------------------------------------------------------

DIMSHUFFLES = [
    ((2, 3), (1, 0)),  # transpose
    ((2, 3, 2), (2, 0, 1)),  # permutation
    ((3,), ("x", 0)),  # insert a broadcastable dim
    ((2, 3), (0, "x", 1)),
    ((2, 3), ("x", 1, "x", 0)),  # insert and transpose
    ((3, 1), (0,)),  # drop a broadcastable dim
    ((1, 3, 1), (1,)),  # drop two
    ((1, 3), ("x", 1, "x")),  # drop, insert and move
    ((), ("x", "x")),  # 0-d to a 1x1 matrix
    ((1,), ()),  # to 0-d
]


@pytest.mark.parametrize("shape,pattern", DIMSHUFFLES, ids=str)
def test_dimshuffle_grad_and_rop(shape: tuple[int, ...], pattern: Any) -> None:
    rng = np.random.default_rng(9)
    xv = rng.normal(size=shape)
    ttype = _static_type(xv)

    def fn(a: Any) -> Any:
        return T.exp(T.dimshuffle(a, pattern))

    check_grad(fn, [xv], [ttype])
    check_rop(fn, [xv], [ttype])
    x = ttype()
    g = grad(T.sum(T.dimshuffle(x, pattern) * 2.0), x)
    assert g.type == x.type


def test_dimshuffle_rop_accepts_a_tangent_without_static_lengths() -> None:
    x = T.TensorType("float64", shape=(3, 1))("x")
    v = T.dmatrix("v")
    tangent = Rop(T.dimshuffle(x, (0,)), x, v)
    assert tangent.ndim == 1
    got = sa.function([x, v], tangent, on_unused_input="ignore")(
        np.ones((3, 1)), np.arange(3.0).reshape(3, 1))
    np.testing.assert_array_equal(got, [0.0, 1.0, 2.0])


def test_dimshuffle_of_integer_gives_zero_gradient() -> None:
    i = T.imatrix("i")
    x = T.dmatrix("x")
    gi = grad(T.sum(x * i.T), i)
    np.testing.assert_array_equal(
        sa.function([x, i], gi, on_unused_input="ignore")(
            np.ones((2, 2)), np.ones((2, 2), "int32")),
        0.0)


# -- complex numbers -----------------------------------------------------------


def _complex(rng: np.random.Generator, shape: tuple[int, ...], lo: float = 0.3,
             hi: float = 1.2) -> np.ndarray:
    mag = rng.uniform(lo, hi, shape)
    phase = rng.uniform(-2.5, 2.5, shape)  # away from the negative real axis
    return mag * np.exp(1j * phase)


#: complex inputs: samplers away from branch cuts
COMPLEX_CASES: dict[str, Callable[[np.random.Generator], Arrays]] = {
    "add": lambda r: [_complex(r, (3,)), _complex(r, (3,))],
    "sub": lambda r: [_complex(r, (3,)), _complex(r, (3,))],
    "mul": lambda r: [_complex(r, (3,)), _complex(r, (3,))],
    "true_div": lambda r: [_complex(r, (3,)), _complex(r, (3,))],
    "pow": lambda r: [_complex(r, (3,)), _complex(r, (3,))],
    "neg": lambda r: [_complex(r, (3,))],
    "sqr": lambda r: [_complex(r, (3,))],
    "reciprocal": lambda r: [_complex(r, (3,))],
    "exp": lambda r: [_complex(r, (3,))],
    "exp2": lambda r: [_complex(r, (3,))],
    "expm1": lambda r: [_complex(r, (3,))],
    "log": lambda r: [_complex(r, (3,))],
    "log2": lambda r: [_complex(r, (3,))],
    "log10": lambda r: [_complex(r, (3,))],
    "log1p": lambda r: [_complex(r, (3,))],
    "sqrt": lambda r: [_complex(r, (3,))],
    "sin": lambda r: [_complex(r, (3,))],
    "cos": lambda r: [_complex(r, (3,))],
    "tan": lambda r: [_complex(r, (3,), 0.1, 0.8)],
    "arcsin": lambda r: [_complex(r, (3,), 0.1, 0.8)],
    "arccos": lambda r: [_complex(r, (3,), 0.1, 0.8)],
    "arctan": lambda r: [_complex(r, (3,), 0.1, 0.8)],
    "sinh": lambda r: [_complex(r, (3,))],
    "cosh": lambda r: [_complex(r, (3,))],
    "tanh": lambda r: [_complex(r, (3,), 0.1, 0.8)],
    "arcsinh": lambda r: [_complex(r, (3,), 0.1, 0.8)],
    "arccosh": lambda r: [_complex(r, (3,)) + 2.0],
    "arctanh": lambda r: [_complex(r, (3,), 0.1, 0.8)],
    "switch": lambda r: [np.array([1.0, -1.0, 2.0]), _complex(r, (3,)),
                         _complex(r, (3,))],
    "abs": lambda r: [_complex(r, (3,))],
    "real": lambda r: [_complex(r, (3,))],
    "imag": lambda r: [_complex(r, (3,))],
    "angle": lambda r: [_complex(r, (3,))],
    "conj": lambda r: [_complex(r, (3,))],
}


def test_every_complex_row_has_a_complex_case() -> None:
    assert set(COMPLEX_CASES) == set(HOLOMORPHIC) | set(COMPLEX_RULES)


#: the condition of switch stays away from 0 under finite differences
COMPLEX_BUILD = {"switch": lambda c, a, b: T.switch(T.gt(c, 0.0), a, b)}


def _complex_expr(name: str) -> Callable[..., Any]:
    op = COMPLEX_BUILD.get(name, getattr(T, name))
    # a real cost that mixes real and imaginary parts with different weights
    return lambda *xs: (T.real(op(*xs)) * 0.7
                        + T.imag(T.cast(op(*xs), "complex128")) * 1.3)


@pytest.mark.parametrize("name", sorted(COMPLEX_CASES))
def test_complex_gradient_and_rop(name: str) -> None:
    values = COMPLEX_CASES[name](np.random.default_rng(10))
    check_grad(_complex_expr(name), values, rtol=1e-5, atol=1e-6)
    check_rop(COMPLEX_BUILD.get(name, getattr(T, name)), values)


def test_real_input_of_complex_op_keeps_the_real_part() -> None:
    rng = np.random.default_rng(11)
    values = [rng.normal(size=3), _complex(rng, (3,))]
    check_grad(lambda x, z: T.abs(T.mul(x, z)) + T.real(z * x * x), values)
    check_rop(lambda x, z: T.mul(x, z), values)


def test_complex64_gradient_dtype() -> None:
    z = T.cvector("z")
    g = grad(T.sum(T.abs(T.exp(z))), z)
    assert g.dtype == "complex64"


# -- SumToShape ----------------------------------------------------------------


def test_sum_to_shape_perform_and_infer_shape() -> None:
    g, x = T.dmatrix("g"), T.dmatrix("x")
    out = SumToShape((0, 1))(g, x)
    gv = np.arange(12.0).reshape(3, 4)
    for xv, expected in [(np.ones((3, 1)), gv.sum(1, keepdims=True)),
                         (np.ones((1, 4)), gv.sum(0, keepdims=True)),
                         (np.ones((1, 1)), gv.sum(keepdims=True)),
                         (np.ones((3, 4)), gv)]:
        np.testing.assert_array_equal(sa.function([g, x], out)(gv, xv), expected)
        check_infer_shape([g, x], out, [gv, xv])


def test_sum_to_shape_static_shape_and_errors() -> None:
    g = T.TensorType("float64", shape=(1, None))("g")
    x = T.TensorType("float64", shape=(None, 4))("x")
    assert SumToShape((0,))(g, x).type.shape == (1, None)
    assert SumToShape((1,))(T.dmatrix(), x).type.shape == (None, 4)
    with pytest.raises(ValueError, match="same number of dimensions"):
        SumToShape((0,))(T.dvector(), x)
    f = sa.function([g, x], SumToShape((1,))(g, x))
    with pytest.raises(ShapeMismatchError, match="dimension 1 differ"):
        f(np.ones((1, 3)), np.ones((1, 4)))


def test_sum_to_shape_grad_and_rop() -> None:
    rng = np.random.default_rng(12)
    xv = rng.normal(size=(3, 1))
    gv = rng.normal(size=(3, 4))
    check_grad(lambda g: SumToShape((0, 1))(g, T.constant(xv)) ** 2, [gv],
               [T.TensorType("float64", shape=(None, None))])
    check_rop(lambda g: SumToShape((1,))(g, T.constant(xv)), [gv])
    assert SumToShape((0,)) == SumToShape([0]) and SumToShape((0,)) != SumToShape((1,))
    assert str(SumToShape((0, 1))) == "SumToShape{0,1}"


# -- second order --------------------------------------------------------------


def test_hessian_vector_product_of_tanh_squared() -> None:
    x, v = T.dvector("x"), T.dvector("v")
    g = grad(T.sum(T.tanh(x) ** 2), x)
    hv_reverse = grad(T.sum(g * v), x)
    hv_forward = Rop(g, x, v)
    rng = np.random.default_rng(13)
    xv, vv = rng.normal(size=4), rng.normal(size=4)
    gfn = sa.function([x], g)
    expected = numeric_jvp(gfn, [xv], [vv])
    f = sa.function([x, v], [hv_reverse, hv_forward])
    for got in f(xv, vv):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)
    # the analytic form: d2/dx2 tanh(x)**2 = 2 sech**2 (sech**2 - 2 tanh**2)
    t = np.tanh(xv)
    s2 = 1 - t ** 2
    np.testing.assert_allclose(f(xv, vv)[0], 2 * s2 * (s2 - 2 * t ** 2) * vv, rtol=1e-9)


@pytest.mark.parametrize("name", ["exp", "sigmoid", "log", "sqrt", "arctan", "erf",
                                  "softplus", "pow", "true_div", "maximum",
                                  "logaddexp", "gammaln"])
def test_second_derivative(name: str) -> None:
    """The gradient of the gradient, against differences of the gradient."""
    values = _sample(name, [(3,)] * NIN[name], "float64", 14)
    xs = [T.dvector() for _ in values]
    out = GRAD_CASES[name].fn(name)(*xs)
    gs = grad(T.sum(out), xs)
    for k in range(len(xs)):
        # (true_div's gradient in a does not depend on a: disconnected)
        hs = grad(T.sum(gs[k] * np.array([1.0, 0.5, -1.0])), xs,
                  disconnected_inputs="ignore")
        got = sa.function(xs, hs)(*values)
        gk = sa.function(xs, T.sum(gs[k] * np.array([1.0, 0.5, -1.0])))
        for j in range(len(xs)):
            np.testing.assert_allclose(got[j], numeric_grad(gk, values, j),
                                       rtol=1e-5, atol=1e-6)


def test_second_order_through_run_time_broadcasting() -> None:
    x, y = T.dmatrix("x"), T.dmatrix("y")
    rng = np.random.default_rng(15)
    xv, yv = rng.uniform(0.5, 1.5, (3, 1)), rng.uniform(0.5, 1.5, (1, 4))
    gx = grad(T.sum(x ** 2 * y), x)
    # gx = 2 x sum(y) (summed over the stretched dim), so
    # d/dy sum(gx * x) = d/dy 2 sum(x**2) sum(y) = 2 sum(x**2)
    hy = grad(T.sum(gx * x), y)
    got = sa.function([x, y], hy)(xv, yv)
    np.testing.assert_allclose(got, np.full((1, 4), 2 * np.sum(xv ** 2)))
    v = T.dmatrix("v")
    hv = Rop(gx, x, v)
    vv = rng.normal(size=(3, 1))
    got = sa.function([x, y, v], hv)(xv, yv, vv)
    np.testing.assert_allclose(got, 2 * yv.sum() * vv)
