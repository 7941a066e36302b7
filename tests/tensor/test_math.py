"""Every elementwise op (``T.<row>`` and its aliases) against NumPy.

``OP_TESTS`` holds one test row per row of :data:`symarray.scalar.ROWS`: the
NumPy reference, the input domain, the dtypes it is defined for and the
output-dtype kind.  A test checks that the two tables match exactly, so an
op added without a test row fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import scipy.special as sp
from op_checks import check_against_numpy, check_infer_shape

import symarray.tensor as T  # noqa: N812 - Theano's convention
from symarray.errors import DtypeError
from symarray.scalar import ROWS, upgrade_to_float
from symarray.tensor.math import _ALIASES, ELEMWISE_OPS

# -- input domains --------------------------------------------------------


@dataclass(frozen=True)
class Dom:
    """Where one input's test values come from.

    Floats are uniform in ``[lo, hi]`` (``step``: rounded to multiples of it,
    to get ties and halves), ints uniform in ``[ilo, ihi]``; ``nonzero``
    avoids 0 (divisors), ``special`` mixes in NaN and infinities.
    """

    lo: float = -3.0
    hi: float = 3.0
    ilo: int = -5
    ihi: int = 5
    nonzero: bool = False
    step: float = 0.0
    special: bool = False

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...],
               dtype: str) -> np.ndarray:
        dt = np.dtype(dtype)
        if dt.kind == "b":
            out = rng.integers(0, 2, shape).astype(bool)
            return np.ones(shape, bool) if self.nonzero else out
        if dt.kind in "iu":
            lo = max(self.ilo, 0) if dt.kind == "u" else self.ilo
            hi = max(self.ihi, lo)
            v = rng.integers(lo, hi + 1, shape)
            if self.nonzero:
                v = np.where(v == 0, 1 if hi >= 1 else -1, v)
            return v.astype(dt)
        re = self._floats(rng, shape)
        if dt.kind == "c":
            out = np.empty(shape, dt)
            out.real, out.imag = re, self._floats(rng, shape)
            return out
        return re.astype(dt)

    def _floats(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        v = rng.uniform(self.lo, self.hi, shape)
        if self.step:
            v = np.round(v / self.step) * self.step
        if self.nonzero:
            v = np.where(np.abs(v) < 0.25, 0.5, v)
        if self.special and v.size:
            flat = v.reshape(-1)
            picks = rng.integers(0, flat.size, 3)
            flat[picks] = [np.nan, np.inf, -np.inf]
        return v


ANY = Dom()
POS = Dom(0.5, 4.0, 1, 6)
NONNEG = Dom(0.0, 4.0, 0, 9)
UNIT = Dom(-0.95, 0.95, -1, 1)
NONZERO = Dom(0.5, 3.0, -3, 3, nonzero=True)
SIGNED_NONZERO = Dom(-3.0, 3.0, -3, 3, nonzero=True)
TIES = Dom(-1.0, 1.0, -2, 2, step=0.5)
HALVES = Dom(-3.0, 3.0, step=0.5)
SPECIAL = Dom(special=True)

INTS = ("int32", "int64")
FLOATS = ("float32", "float64")
COMPLEX = ("complex64", "complex128")


@dataclass(frozen=True)
class Case:
    """One test row: NumPy reference, domains, dtypes and output kind.

    ``out`` is how the output dtype follows the input dtype: ``same``,
    ``float`` (ints and bools become floats, Theano's ``upgrade_to_float``),
    ``bool``, ``real`` (complex gives the matching float) or ``angle``.
    """

    ref: Callable[..., Any]
    doms: tuple[Dom, ...]
    out: str = "same"
    ints: bool = True
    bools: bool = False
    uint8: bool = False
    complex: bool = False
    #: inputs of a complex case may come from another domain
    cdoms: tuple[Dom, ...] | None = None
    #: first input is the condition (switch)
    cond: bool = False


def _u(ref: Callable[..., Any], dom: Dom = ANY, **kw: Any) -> Case:
    return Case(ref, (dom,), **kw)


def _b(ref: Callable[..., Any], a: Dom = ANY, b: Dom = ANY, **kw: Any) -> Case:
    return Case(ref, (a, b), **kw)


def _round_away(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


OP_TESTS: dict[str, Case] = {
    "add": _b(np.add, bools=True, uint8=True, complex=True),
    "sub": _b(np.subtract, complex=True),
    "mul": _b(np.multiply, bools=True, complex=True),
    "true_div": _b(np.true_divide, ANY, SIGNED_NONZERO, out="float", complex=True,
                   bools=True, cdoms=(ANY, NONZERO)),
    "int_div": _b(np.floor_divide, ANY, SIGNED_NONZERO, bools=True),
    "mod": _b(np.mod, ANY, SIGNED_NONZERO, bools=True),
    "pow": _b(np.power, Dom(0.5, 2.0, -3, 3), Dom(-2.0, 2.0, 0, 3), bools=True,
              complex=True),
    "neg": _u(np.negative, complex=True),
    "abs": _u(np.abs, out="real", bools=True, complex=True),
    "sgn": _u(np.sign),
    "sqr": _u(np.square, bools=True, complex=True),
    "reciprocal": _u(lambda x: 1.0 / x, SIGNED_NONZERO, out="float", complex=True,
                     cdoms=(NONZERO,)),
    "maximum": _b(np.maximum, SPECIAL, TIES, bools=True),
    "minimum": _b(np.minimum, SPECIAL, TIES, bools=True),
    "clip": Case(np.clip, (ANY, Dom(-2.0, -1.0, -2, -1), Dom(1.0, 2.0, 1, 2))),
    "exp": _u(np.exp, out="float", bools=True, complex=True),
    "exp2": _u(np.exp2, out="float", complex=True),
    "expm1": _u(np.expm1, out="float", complex=True),
    "log": _u(np.log, POS, out="float", complex=True, cdoms=(NONZERO,)),
    "log2": _u(np.log2, POS, out="float", complex=True, cdoms=(NONZERO,)),
    "log10": _u(np.log10, POS, out="float", complex=True, cdoms=(NONZERO,)),
    "log1p": _u(np.log1p, Dom(-0.9, 3.0, 0, 5), out="float", complex=True,
                cdoms=(POS,)),
    "sqrt": _u(np.sqrt, NONNEG, out="float", complex=True, cdoms=(ANY,)),
    "logaddexp": _b(np.logaddexp, out="float"),
    "log1mexp": _u(lambda x: np.log(1 - np.exp(x)), Dom(-5.0, -0.05, -5, -1),
                   out="float"),
    "sin": _u(np.sin, out="float", complex=True),
    "cos": _u(np.cos, out="float", complex=True),
    "tan": _u(np.tan, Dom(-1.2, 1.2, -1, 1), out="float", complex=True,
              cdoms=(UNIT,)),
    "arcsin": _u(np.arcsin, UNIT, out="float", complex=True),
    "arccos": _u(np.arccos, UNIT, out="float", complex=True),
    "arctan": _u(np.arctan, out="float", complex=True, cdoms=(UNIT,)),
    "arctan2": _b(np.arctan2, out="float"),
    "sinh": _u(np.sinh, out="float", complex=True),
    "cosh": _u(np.cosh, out="float", complex=True),
    "tanh": _u(np.tanh, out="float", complex=True, cdoms=(UNIT,)),
    "arcsinh": _u(np.arcsinh, out="float", complex=True),
    "arccosh": _u(np.arccosh, Dom(1.0, 4.0, 1, 5), out="float", complex=True),
    "arctanh": _u(np.arctanh, UNIT, out="float", complex=True),
    "deg2rad": _u(lambda x: x * np.pi / 180, Dom(-360.0, 360.0, -360, 360),
                  out="float"),
    "rad2deg": _u(lambda x: x * 180 / np.pi, out="float"),
    "sigmoid": _u(lambda x: 1 / (1 + np.exp(-x)), Dom(-6.0, 6.0), out="float"),
    "softplus": _u(lambda x: np.log1p(np.exp(x)), Dom(-6.0, 6.0), out="float"),
    "erf": _u(sp.erf, out="float"),
    "erfc": _u(sp.erfc, out="float"),
    "erfcx": _u(sp.erfcx, Dom(-1.5, 3.0, -1, 3), out="float"),
    "erfcinv": _u(sp.erfcinv, Dom(0.05, 1.95, 1, 1), out="float"),
    "erfinv": _u(sp.erfinv, Dom(-0.95, 0.95, 0, 0), out="float"),
    "gamma": _u(sp.gamma, Dom(0.5, 4.5, 1, 6), out="float"),
    "gammaln": _u(sp.gammaln, Dom(0.5, 6.0, 1, 9), out="float"),
    "psi": _u(sp.psi, Dom(0.5, 6.0, 1, 9), out="float"),
    "tri_gamma": _u(lambda x: sp.polygamma(1, x), Dom(0.5, 6.0, 1, 9), out="float"),
    "real": _u(np.real, out="real", complex=True),
    "imag": _u(np.imag, out="real", complex=True),
    "angle": _u(np.angle, out="angle", complex=True),
    "conj": _u(np.conjugate, complex=True),
    "floor": _u(np.floor, HALVES, out="float"),
    "ceil": _u(np.ceil, HALVES, out="float"),
    "trunc": _u(np.trunc, HALVES, out="float"),
    "round_half_to_even": _u(np.round, HALVES, out="float"),
    "round_half_away_from_zero": _u(_round_away, HALVES, out="float"),
    "lt": _b(np.less, TIES, TIES, out="bool", bools=True),
    "gt": _b(np.greater, TIES, TIES, out="bool", bools=True),
    "le": _b(np.less_equal, TIES, TIES, out="bool", bools=True),
    "ge": _b(np.greater_equal, TIES, TIES, out="bool", bools=True),
    "eq": _b(np.equal, TIES, TIES, out="bool", bools=True, complex=True),
    "neq": _b(np.not_equal, TIES, TIES, out="bool", bools=True, complex=True),
    "isnan": _u(np.isnan, SPECIAL, out="bool", complex=True),
    "isinf": _u(np.isinf, SPECIAL, out="bool", complex=True),
    "switch": Case(np.where, (ANY, ANY, ANY), bools=True, complex=True, cond=True),
    "and_": _b(np.bitwise_and, bools=True, uint8=True),
    "or_": _b(np.bitwise_or, bools=True, uint8=True),
    "xor": _b(np.bitwise_xor, bools=True, uint8=True),
    "invert": _u(np.invert, bools=True, uint8=True),
}

ROW_BY_NAME = {row.name: row for row in ROWS}
#: rows whose integer ops compute in int8 on bools (NumPy's choice)
BOOL_TO_INT8 = {"pow", "sqr", "int_div", "mod"}
#: rows whose ``T.<name>`` is a function around the op (clip casts its bounds)
WRAPPED = {"clip"}
#: bitwise rows: integers only
BITWISE = {"and_", "or_", "xor", "invert"}


def test_every_row_has_a_test_row() -> None:
    rows = {row.name for row in ROWS}
    assert set(OP_TESTS) == rows, (
        f"rows without a test row: {sorted(rows - set(OP_TESTS))}; "
        f"test rows without an op: {sorted(set(OP_TESTS) - rows)}"
    )


@pytest.mark.parametrize("name", sorted(OP_TESTS))
def test_test_row_matches_the_table(name: str) -> None:
    row, case = ROW_BY_NAME[name], OP_TESTS[name]
    assert len(case.doms) == row.nin
    if name not in BITWISE:
        assert case.complex == row.complex_ok, (
            f"{name}: the test row says complex={case.complex}, the table says "
            f"complex_ok={row.complex_ok}"
        )
    op = getattr(T, name)
    assert op is ELEMWISE_OPS[name] or name in WRAPPED, f"T.{name} is not its row's op"


# -- dtype and shape cases ------------------------------------------------


def _dtypes(case: Case, name: str) -> list[str]:
    out = []
    if name not in BITWISE:
        out += list(FLOATS)
    if case.ints:
        out += list(INTS)
    if case.bools:
        out.append("bool")
    if case.uint8:
        out.append("uint8")
    if case.complex:
        out += list(COMPLEX)
    return out


def _expected_dtype(case: Case, name: str, dtype: str) -> str:
    kind = np.dtype(dtype).kind
    if case.out == "bool":
        return "bool"
    if dtype == "bool" and name in BOOL_TO_INT8:
        return "int8"
    if case.out in ("real", "angle") and kind == "c":
        return "float32" if dtype == "complex64" else "float64"
    if case.out in ("float", "angle"):
        return upgrade_to_float(dtype)
    return dtype


SAME_SHAPES = [(), (0,), (5,), (3, 4)]
BROADCAST = {
    2: [((3, 1), (1, 4)), ((4,), (3, 4)), ((0, 3), (1, 3)), ((), (2, 3))],
    3: [((3, 1), (1, 4), (1, 1)), ((4,), (3, 4), ()), ((0, 3), (1, 3), (3,))],
}


def _shape_cases(nin: int) -> list[tuple[tuple[int, ...], ...]]:
    cases = [tuple(s for _ in range(nin)) for s in SAME_SHAPES]
    return cases + (BROADCAST[nin] if nin > 1 else [])


def _var(dtype: str, shape: tuple[int, ...], static: bool = False) -> Any:
    """An input for values of ``shape``: broadcastable where the length is 1."""
    pattern = shape if static else tuple(1 if d == 1 else None for d in shape)
    return T.tensor(dtype, shape=pattern)


def _sample(rng: np.random.Generator, doms: tuple[Dom, ...],
            shapes: Any, dtypes: list[str]) -> list[np.ndarray]:
    return [dom.sample(rng, s, d)
            for dom, s, d in zip(doms, shapes, dtypes, strict=True)]


def _reference(case: Case, out_dtype: str) -> Callable[..., Any]:
    """The reference, computed in float64 when ints become floats."""

    def ref(*values: Any) -> Any:
        if np.dtype(out_dtype).kind in "fc" and case.out != "same":
            values = tuple(
                v.astype("float64") if v.dtype.kind in "biu" else v for v in values
            )
        with np.errstate(all="ignore"):
            return case.ref(*values)

    return ref


CASES = [(name, dt) for name in sorted(OP_TESTS)
         for dt in _dtypes(OP_TESTS[name], name)]


@pytest.mark.parametrize(("name", "dtype"), CASES, ids=[f"{n}-{d}" for n, d in CASES])
def test_op_against_numpy(name: str, dtype: str) -> None:
    case = OP_TESTS[name]
    op = getattr(T, name)
    rng = np.random.default_rng(abs(hash((name, dtype))) % 2**32)
    out_dtype = _expected_dtype(case, name, dtype)
    doms = case.cdoms if (case.cdoms and np.dtype(dtype).kind == "c") else case.doms
    for shapes in _shape_cases(len(case.doms)):
        dtypes = [dtype] * len(shapes)
        if case.cond:
            dtypes[0] = "bool"
        xs = [_var(d, s) for d, s in zip(dtypes, shapes, strict=True)]
        values = _sample(rng, doms, shapes, dtypes)
        out = op(*xs)
        assert out.dtype == out_dtype, f"{name}({dtype}) gave {out.dtype}"
        assert out.ndim == max(len(s) for s in shapes)
        check_against_numpy(xs, out, values, _reference(case, out_dtype), out_dtype)
        if dtype in ("float64", "int64"):
            check_infer_shape(xs, out, values)


@pytest.mark.parametrize("name", sorted(OP_TESTS))
def test_op_with_static_shapes(name: str) -> None:
    """Fully static input shapes give a fully static output shape."""
    case = OP_TESTS[name]
    dtype = "int64" if name in BITWISE else "float64"
    shapes = BROADCAST.get(len(case.doms), [((2, 3),)])[0]
    dtypes = ["bool" if case.cond and k == 0 else dtype for k in range(len(shapes))]
    xs = [_var(d, s, static=True) for d, s in zip(dtypes, shapes, strict=True)]
    out = getattr(T, name)(*xs)
    assert out.type.shape == np.broadcast_shapes(*shapes)
    rng = np.random.default_rng(0)
    values = _sample(rng, case.doms, shapes, dtypes)
    check_against_numpy(xs, out, values, _reference(case, out.dtype))


COMPLEX_REFUSED = sorted(n for n, r in ROW_BY_NAME.items() if not r.complex_ok)


@pytest.mark.parametrize("name", COMPLEX_REFUSED)
def test_complex_inputs_are_refused(name: str) -> None:
    nin = ROW_BY_NAME[name].nin
    message = rf"{name} is not defined for complex.*complex128"
    with pytest.raises(DtypeError, match=message):
        getattr(T, name)(*[T.zvector() for _ in range(nin)])


@pytest.mark.parametrize("name", sorted(BITWISE))
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64"])
def test_bitwise_ops_refuse_floats(name: str, dtype: str) -> None:
    nin = ROW_BY_NAME[name].nin
    with pytest.raises(DtypeError, match=rf"{name}: inputs must be integers or bools, "
                       rf"got {dtype}; cast first"):
        getattr(T, name)(*[T.vector(dtype=dtype) for _ in range(nin)])


@pytest.mark.parametrize("name", sorted(n for n, r in ROW_BY_NAME.items()
                                        if r.on_bool == "error"))
def test_bool_arithmetic_numpy_refuses_is_refused(name: str) -> None:
    nin = ROW_BY_NAME[name].nin
    with pytest.raises(DtypeError, match=rf"{name} is not defined for bool inputs.*~x"):
        getattr(T, name)(*[T.vector(dtype="bool") for _ in range(nin)])


def test_bool_with_int_is_fine_for_sub() -> None:
    b, i = T.vector(dtype="bool"), T.bvector()
    vals = [np.array([True, False]), np.array([3, 4], "int8")]
    check_against_numpy([b, i], b - i, vals, np.subtract, "int8")


def test_int_pow_negative_exponent_fails_at_run_time() -> None:
    x, y = T.ivector(), T.ivector()
    f = __import__("symarray").function([x, y], x ** y)
    with pytest.raises(ValueError, match="negative integer powers"):
        f(np.array([2], "int32"), np.array([-1], "int32"))


def test_int_division_by_zero_follows_numpy() -> None:
    x, y = T.ivector(), T.ivector()
    check_against_numpy([x, y], [x // y, x % y],
                        [np.array([3, -3], "int32"), np.array([0, 0], "int32")],
                        lambda a, b: (np.zeros(2, "int32"), np.zeros(2, "int32")))


def test_float_division_by_zero_gives_inf_quietly() -> None:
    x = T.dvector()
    f = __import__("symarray").function([x], [1 / x, T.log(x)])
    with np.errstate(all="raise"):
        inv, log = f(np.array([0.0, -0.0]))
    assert inv.tolist() == [np.inf, -np.inf] and log.tolist() == [-np.inf, -np.inf]


def test_float32_special_functions_stay_float32() -> None:
    x = T.fvector()
    for name in ("erf", "erfinv", "gamma", "gammaln", "psi", "sigmoid", "softplus",
                 "log1mexp", "erfcx"):
        assert getattr(T, name)(x).dtype == "float32", name


# -- aliases --------------------------------------------------------------

ALIAS_TESTS: dict[str, tuple[Callable[..., Any], tuple[Dom, ...], str]] = {
    "true_divide": (np.true_divide, (ANY, NONZERO), "float64"),
    "divide": (np.divide, (ANY, NONZERO), "float64"),
    "floor_div": (np.floor_divide, (ANY, NONZERO), "int64"),
    "floor_divide": (np.floor_divide, (ANY, NONZERO), "float64"),
    "power": (np.power, (POS, ANY), "float64"),
    "negative": (np.negative, (ANY,), "int32"),
    "sign": (np.sign, (ANY,), "float64"),
    "square": (np.square, (ANY,), "int64"),
    "absolute": (np.absolute, (ANY,), "float32"),
    "abs_": (np.abs, (ANY,), "int32"),
    "bitwise_and": (np.bitwise_and, (ANY, ANY), "int32"),
    "bitwise_or": (np.bitwise_or, (ANY, ANY), "uint8"),
    "bitwise_xor": (np.bitwise_xor, (ANY, ANY), "int64"),
    "bitwise_not": (np.bitwise_not, (ANY,), "int8"),
    "and": (np.bitwise_and, (ANY, ANY), "bool"),
    "or": (np.bitwise_or, (ANY, ANY), "bool"),
    "not_equal": (np.not_equal, (TIES, TIES), "float64"),
    "equal": (np.equal, (TIES, TIES), "int32"),
    "less": (np.less, (TIES, TIES), "float32"),
    "greater": (np.greater, (TIES, TIES), "int64"),
    "less_equal": (np.less_equal, (TIES, TIES), "float64"),
    "greater_equal": (np.greater_equal, (TIES, TIES), "int32"),
    "where": (np.where, (ANY, ANY, ANY), "float64"),
    "digamma": (sp.digamma, (POS,), "float64"),
    "expit": (sp.expit, (ANY,), "float32"),
    "subtract": (np.subtract, (ANY, ANY), "int64"),
    "multiply": (np.multiply, (ANY, ANY), "float64"),
    "inv": (np.reciprocal, (NONZERO,), "float64"),
    "conjugate": (np.conjugate, (ANY,), "complex128"),
}


def test_every_alias_has_a_test_row() -> None:
    assert set(ALIAS_TESTS) == set(_ALIASES)


@pytest.mark.parametrize("alias", sorted(ALIAS_TESTS))
def test_alias_against_numpy(alias: str) -> None:
    ref, doms, dtype = ALIAS_TESTS[alias]
    op = getattr(T, alias)
    assert op is getattr(T, _ALIASES[alias])
    rng = np.random.default_rng(len(alias))
    shapes = [(3, 1), (1, 4), (3, 4)][: len(doms)] if len(doms) > 1 else [(3, 4)]
    dtypes = ["bool" if alias == "where" and k == 0 else dtype
              for k in range(len(doms))]
    xs = [_var(d, s) for d, s in zip(dtypes, shapes, strict=True)]
    values = _sample(rng, doms, shapes, dtypes)
    check_against_numpy(xs, op(*xs), values, ref)


# -- functions that compose rows -----------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode", ["half_to_even", "half_away_from_zero", None])
def test_round(dtype: str, mode: str | None) -> None:
    x = T.vector(dtype=dtype)
    values = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.4, -0.6], dtype)
    ref = _round_away if mode == "half_away_from_zero" else np.round
    check_against_numpy([x], T.round(x, mode), [values], ref, dtype)
    check_against_numpy([x], x.round(), [values], np.round, dtype)


def test_round_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError, match="round: mode must be 'half_to_even' or "
                       "'half_away_from_zero', got 'up'"):
        T.round(T.dvector(), "up")


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_clip_keeps_the_dtype_of_x(dtype: str) -> None:
    x = T.vector(dtype=dtype)
    values = np.arange(-4, 5).astype(dtype)
    out = T.clip(x, -2, 3)
    assert out.dtype == dtype
    check_against_numpy([x], out, [values], lambda v: np.clip(v, -2, 3), dtype)
    check_against_numpy([x], x.clip(-2, 3), [values], lambda v: np.clip(v, -2, 3))


def test_clip_with_symbolic_bounds() -> None:
    x, lo, hi = T.fmatrix(), T.fscalar(), T.fvector()
    rng = np.random.default_rng(1)
    values = [rng.normal(size=(3, 4)).astype("float32"), np.float32(-0.5),
              np.linspace(0, 1, 4).astype("float32")]
    check_against_numpy([x, lo, hi], T.clip(x, lo, hi), values, np.clip, "float32")


@pytest.mark.parametrize(("fn", "ref"), [
    (T.logical_and, np.logical_and), (T.logical_or, np.logical_or),
    (T.logical_xor, np.logical_xor),
])
@pytest.mark.parametrize("dtype", ["bool", "int32", "float64"])
def test_logical_binary(fn: Any, ref: Any, dtype: str) -> None:
    x, y = T.vector(dtype=dtype), T.vector(dtype=dtype)
    a = np.array([0, 2, 0, 3], dtype)
    b = np.array([0, 0, 1, 1], dtype)
    check_against_numpy([x, y], fn(x, y), [a, b], ref, "bool")


@pytest.mark.parametrize("dtype", ["bool", "int32", "float64"])
def test_logical_not(dtype: str) -> None:
    x = T.vector(dtype=dtype)
    check_against_numpy([x], T.logical_not(x), [np.array([0, 2, 0], dtype)],
                        np.logical_not, "bool")


def test_not_is_invert() -> None:
    b, i = T.vector(dtype="bool"), T.ivector()
    check_against_numpy([b], T.not_(b), [np.array([True, False])], np.invert, "bool")
    check_against_numpy([i], T.not_(i), [np.array([0, 5], "int32")], np.invert, "int32")


def test_associative_ops_take_many_inputs() -> None:
    a, b, c, d = T.dvectors("a", "b", "c", "d")
    vals = [np.arange(3.0) + k for k in range(4)]
    check_against_numpy([a, b, c, d], T.add(a, b, c, d), vals,
                        lambda *v: v[0] + v[1] + v[2] + v[3])
    check_against_numpy([a, b, c], T.mul(a, b, c), vals[:3],
                        lambda *v: v[0] * v[1] * v[2])
    check_against_numpy([a, b, c], T.maximum(a, b, c), vals[:3],
                        lambda *v: np.maximum(np.maximum(v[0], v[1]), v[2]))
    assert T.add(a) is a


@pytest.mark.parametrize(("name", "args", "expected"), [
    ("exp", 2, "exp takes 1 input, got 2"),
    ("sub", 3, "sub takes 2 inputs, got 3"),
    ("switch", 2, "switch takes 3 inputs, got 2"),
    ("add", 0, "add takes 2 inputs, got 0"),
])
def test_wrong_number_of_inputs(name: str, args: int, expected: str) -> None:
    with pytest.raises(TypeError, match=expected):
        getattr(T, name)(*[T.dvector() for _ in range(args)])


def test_switch_condition_may_be_any_dtype() -> None:
    c, a, b = T.ivector(), T.fvector(), T.fvector()
    vals = [np.array([0, 2, -1], "int32"), np.ones(3, "float32"),
            np.zeros(3, "float32")]
    check_against_numpy([c, a, b], T.switch(c, a, b), vals, np.where, "float32")
