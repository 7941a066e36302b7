"""The scalar op table: one row per elementwise operation.

Each row gives the NumPy implementation (the reference every kernel is
tested against), the output-dtype rule (see :mod:`symarray.scalar.basic`),
the C expression used by the precompiled fused kernels and the CUDA
expression used by the GPU kernels (``{0}``, ``{1}``... are the operands),
and the gradient (filled in by :mod:`symarray.scalar.grads`).

Adding an elementwise op is one row here and one row in the op tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symarray.scalar.basic import ScalarOp, ScalarRow

# -- NumPy implementations that are not a single NumPy function ----------


def _sgn(x: Any) -> Any:
    return np.sign(x)


def _softplus(x: Any) -> Any:
    # log(1 + exp(x)) without overflow: logaddexp(0, x)
    return np.logaddexp(np.zeros((), dtype=np.asarray(x).dtype), x)


def _log1mexp(x: Any) -> Any:
    # log(1 - exp(x)) for x <= 0; two branches keep full precision
    x = np.asarray(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        near = np.log(-np.expm1(x))
        far = np.log1p(-np.exp(x))
    return np.where(x > -np.log(2.0), near, far)


def _sigmoid(x: Any) -> Any:
    from scipy.special import expit

    return expit(x)


def _tri_gamma(x: Any) -> Any:
    # polygamma(1, x): the derivative of psi
    from scipy.special import polygamma

    return polygamma(1, x)


def _int_div(a: Any, b: Any) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.floor_divide(a, b)


def _mod(a: Any, b: Any) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mod(a, b)


def _true_div(a: Any, b: Any) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.true_divide(a, b)


def _pow(a: Any, b: Any) -> Any:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "iu" and b.dtype.kind in "iu" and (b < 0).any():
        raise ValueError(
            "pow: integers to negative integer powers are not allowed; "
            "cast the base to float first"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.power(a, b)


def _reciprocal(x: Any) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(1, x)


def _switch(cond: Any, a: Any, b: Any) -> Any:
    return np.where(cond, a, b)


def _clip(x: Any, lo: Any, hi: Any) -> Any:
    return np.minimum(np.maximum(x, lo), hi)


def _round_half_away(x: Any) -> Any:
    x = np.asarray(x)
    half = np.asarray(0.5, dtype=x.dtype)
    return np.where(x >= 0, np.floor(x + half), np.ceil(x - half))


def _round_half_to_even(x: Any) -> Any:
    return np.round(x)


class _errstate:  # noqa: N801 - used like a decorator
    """A NumPy function whose domain errors give NaN/inf silently.

    A class rather than a closure so that ops built from it pickle.
    """

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", "fn")

    def __call__(self, *args: Any) -> Any:
        with np.errstate(all="ignore"):
            return self.fn(*args)


def _row(name: str, nin: int, numpy: Any, rule: str = "upcast", c: str | None = None,
         cuda: str | None = None, **kw: Any) -> ScalarRow:
    if callable(numpy) and numpy.__module__ == "numpy":
        numpy = _errstate(numpy)
    return ScalarRow(name, nin, numpy, rule, c, cuda if cuda is not None else c, **kw)


# fmt: off
ROWS: list[ScalarRow] = [
    # arithmetic
    _row("add", 2, np.add, "upcast", "{0} + {1}", commutative=True,
         associative=True, identity=0),
    _row("sub", 2, np.subtract, "upcast", "{0} - {1}", on_bool="error"),
    _row("mul", 2, np.multiply, "upcast", "{0} * {1}", commutative=True,
         associative=True, identity=1),
    _row("true_div", 2, _true_div, "float", "{0} / {1}"),
    _row("int_div", 2, _int_div, "upcast", "floor_div({0}, {1})", complex_ok=False,
         on_bool="int8"),
    _row("mod", 2, _mod, "upcast", "py_mod({0}, {1})", complex_ok=False,
         on_bool="int8"),
    _row("pow", 2, _pow, "upcast", "pow({0}, {1})", on_bool="int8"),
    _row("neg", 1, np.negative, "upcast", "-{0}", on_bool="error"),
    _row("abs", 1, np.abs, "abs", "fabs({0})"),
    _row("sgn", 1, _sgn, "upcast", "sgn({0})", complex_ok=False,
         on_bool="error"),
    _row("sqr", 1, np.square, "upcast", "{0} * {0}", on_bool="int8"),
    _row("reciprocal", 1, _reciprocal, "float", "1 / {0}"),
    _row("maximum", 2, np.maximum, "upcast", "fmax_nan({0}, {1})",
         complex_ok=False, commutative=True, associative=True),
    _row("minimum", 2, np.minimum, "upcast", "fmin_nan({0}, {1})",
         complex_ok=False, commutative=True, associative=True),
    _row("clip", 3, _clip, "clip", "clip({0}, {1}, {2})", complex_ok=False),
    # exponentials and logarithms
    _row("exp", 1, np.exp, "float", "exp({0})"),
    _row("exp2", 1, np.exp2, "float", "exp2({0})"),
    _row("expm1", 1, np.expm1, "float", "expm1({0})"),
    _row("log", 1, np.log, "float", "log({0})"),
    _row("log2", 1, np.log2, "float", "log2({0})"),
    _row("log10", 1, np.log10, "float", "log10({0})"),
    _row("log1p", 1, np.log1p, "float", "log1p({0})"),
    _row("sqrt", 1, np.sqrt, "float", "sqrt({0})"),
    _row("logaddexp", 2, np.logaddexp, "float", "logaddexp({0}, {1})",
         complex_ok=False, commutative=True),
    _row("log1mexp", 1, _log1mexp, "float", "log1mexp({0})", complex_ok=False),
    # trigonometry
    _row("sin", 1, np.sin, "float", "sin({0})"),
    _row("cos", 1, np.cos, "float", "cos({0})"),
    _row("tan", 1, np.tan, "float", "tan({0})"),
    _row("arcsin", 1, np.arcsin, "float", "asin({0})"),
    _row("arccos", 1, np.arccos, "float", "acos({0})"),
    _row("arctan", 1, np.arctan, "float", "atan({0})"),
    _row("arctan2", 2, np.arctan2, "float", "atan2({0}, {1})", complex_ok=False),
    _row("sinh", 1, np.sinh, "float", "sinh({0})"),
    _row("cosh", 1, np.cosh, "float", "cosh({0})"),
    _row("tanh", 1, np.tanh, "float", "tanh({0})"),
    _row("arcsinh", 1, np.arcsinh, "float", "asinh({0})"),
    _row("arccosh", 1, np.arccosh, "float", "acosh({0})"),
    _row("arctanh", 1, np.arctanh, "float", "atanh({0})"),
    _row("deg2rad", 1, np.deg2rad, "float", "{0} * (M_PI / 180)", complex_ok=False),
    _row("rad2deg", 1, np.rad2deg, "float", "{0} * (180 / M_PI)", complex_ok=False),
    # special functions (scipy, loaded on first use)
    _row("sigmoid", 1, _sigmoid, "float", "sigmoid({0})", complex_ok=False),
    _row("softplus", 1, _softplus, "float", "softplus({0})", complex_ok=False),
    _row("erf", 1, "scipy.special:erf", "float", "erf({0})", complex_ok=False),
    _row("erfc", 1, "scipy.special:erfc", "float", "erfc({0})", complex_ok=False),
    _row("erfcx", 1, "scipy.special:erfcx", "float", "erfcx({0})", complex_ok=False),
    _row("erfcinv", 1, "scipy.special:erfcinv", "float", "erfcinv({0})",
         complex_ok=False),
    _row("erfinv", 1, "scipy.special:erfinv", "float", "erfinv({0})",
         complex_ok=False),
    _row("gamma", 1, "scipy.special:gamma", "float", "tgamma({0})", complex_ok=False),
    _row("gammaln", 1, "scipy.special:gammaln", "float", "lgamma({0})",
         complex_ok=False),
    _row("psi", 1, "scipy.special:psi", "float", "digamma({0})", complex_ok=False),
    _row("tri_gamma", 1, _tri_gamma, "float", "trigamma({0})", complex_ok=False),
    # complex parts
    _row("real", 1, np.real, "abs", "creal({0})"),
    _row("imag", 1, np.imag, "abs", "cimag({0})"),
    _row("angle", 1, np.angle, "angle", "carg({0})"),
    _row("conj", 1, np.conjugate, "upcast", "conj({0})"),
    # rounding
    _row("floor", 1, np.floor, "float", "floor({0})", complex_ok=False),
    _row("ceil", 1, np.ceil, "float", "ceil({0})", complex_ok=False),
    _row("trunc", 1, np.trunc, "float", "trunc({0})", complex_ok=False),
    _row("round_half_to_even", 1, _round_half_to_even, "float", "rint({0})",
         complex_ok=False),
    _row("round_half_away_from_zero", 1, _round_half_away, "float", "round({0})",
         complex_ok=False),
    # comparisons and predicates
    _row("lt", 2, np.less, "bool", "{0} < {1}", complex_ok=False),
    _row("gt", 2, np.greater, "bool", "{0} > {1}", complex_ok=False),
    _row("le", 2, np.less_equal, "bool", "{0} <= {1}", complex_ok=False),
    _row("ge", 2, np.greater_equal, "bool", "{0} >= {1}", complex_ok=False),
    _row("eq", 2, np.equal, "bool", "{0} == {1}", commutative=True),
    _row("neq", 2, np.not_equal, "bool", "{0} != {1}", commutative=True),
    _row("isnan", 1, np.isnan, "bool", "isnan({0})"),
    _row("isinf", 1, np.isinf, "bool", "isinf({0})"),
    # selection
    _row("switch", 3, _switch, "switch", "{0} ? {1} : {2}"),
    # bitwise / logical
    _row("and_", 2, np.bitwise_and, "int", "{0} & {1}", commutative=True,
         associative=True),
    _row("or_", 2, np.bitwise_or, "int", "{0} | {1}", commutative=True,
         associative=True),
    _row("xor", 2, np.bitwise_xor, "int", "{0} ^ {1}", commutative=True,
         associative=True),
    _row("invert", 1, np.invert, "int", "invert({0})"),
]
# fmt: on

#: name -> ScalarOp, one per row
SCALAR_OPS: dict[str, ScalarOp] = {row.name: ScalarOp(row) for row in ROWS}


def get_scalar_op(name: str) -> ScalarOp:
    """The scalar op called ``name``; a miss lists the known names."""
    try:
        return SCALAR_OPS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, SCALAR_OPS, n=3)
        hint = f"; did you mean {close}?" if close else ""
        raise KeyError(
            f"no scalar op {name!r}{hint} known: {sorted(SCALAR_OPS)}"
        ) from None
