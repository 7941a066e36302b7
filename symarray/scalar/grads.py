"""Derivatives of the scalar ops: one partial-derivative rule per table row.

A rule ``rule(tt, inputs, output)`` returns, for each input ``x_i``, the
elementwise partial derivative ``d output / d x_i`` (``tt`` is
:mod:`symarray.tensor`, passed in so this package stays below tensor in the
import order).  Each entry is one of

* a tensor expression, or a Python number for a constant partial (``add``
  gives ``1``: no node is built to multiply by it);
* ``None``: the output does not depend differentiably on that input (the
  condition of ``switch``, ``imag`` of a real number): a zero gradient;
* a :class:`NoDerivative`: the derivative does not exist (``"undefined"``)
  or is not written (``"not_implemented"``); a gradient through it is an
  error only if it is requested.

Rows in :data:`NOT_DIFFERENTIABLE` are piecewise constant or discrete
(rounding, comparisons, bitwise ops): their gradient is zero everywhere.
A test checks that every row of the table is in exactly one of
:data:`PARTIALS` and :data:`NOT_DIFFERENTIABLE`.

One rule serves both modes: Elemwise's ``L_op`` multiplies the output
gradient by each partial (then sums it over broadcast dimensions), and its
``R_op`` sums partials times tangents.

Complex numbers follow Theano's convention: the gradient of a real cost
``C`` with respect to ``z = x + iy`` is ``dC/dx + i dC/dy``.  For rows in
:data:`HOLOMORPHIC` the partial is the complex derivative ``f'(z)`` and
reverse mode multiplies by its conjugate (``g_z = g_w * conj(f'(z))``);
a real input of a complex-valued op keeps the real part.  Rows that are
not holomorphic in a complex input (``abs``, ``real``, ``imag``, ``angle``,
``conj``) give their complex rules in :data:`COMPLEX_RULES` instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["PARTIALS", "NOT_DIFFERENTIABLE", "HOLOMORPHIC", "COMPLEX_RULES",
           "ComplexRule", "NoDerivative"]

Rule = Callable[[Any, list[Any], Any], list[Any]]

_SQRT_PI = math.sqrt(math.pi)


@dataclass(frozen=True)
class NoDerivative:
    """A partial that does not exist (``"undefined"``) or is not written yet."""

    kind: str  # "undefined" or "not_implemented"
    why: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("undefined", "not_implemented"):
            raise ValueError(
                f"NoDerivative: kind must be 'undefined' or 'not_implemented', got "
                f"{self.kind!r}"
            )


#: ops whose output is piecewise constant or discrete: gradient zero everywhere
NOT_DIFFERENTIABLE = frozenset({
    "int_div", "sgn", "floor", "ceil", "trunc", "round_half_to_even",
    "round_half_away_from_zero", "lt", "gt", "le", "ge", "eq", "neq", "isnan",
    "isinf", "and_", "or_", "xor", "invert",
})


def _mod(tt: Any, i: list[Any], o: Any) -> list[Any]:
    a, b = i
    # a mod b = a - b floor(a / b): d/da = 1, d/db = -floor(a / b)
    return [1, -tt.int_div(a, b)]


def _pow(tt: Any, i: list[Any], o: Any) -> list[Any]:
    a, b = i
    # d/da a**b = b a**(b-1); d/db a**b = log(a) a**b (0 where a == 0)
    da = b * tt.pow(a, b - 1)
    db = tt.switch(tt.eq(a, 0), 0, o * tt.log(tt.switch(tt.eq(a, 0), 1, a)))
    return [da, db]


def _maximum(tt: Any, i: list[Any], o: Any) -> list[Any]:
    a, b = i
    # ties send the gradient to the first input, like Theano
    pick_a = tt.ge(a, b)
    return [tt.cast(pick_a, o.dtype), tt.cast(tt.invert(pick_a), o.dtype)]


def _minimum(tt: Any, i: list[Any], o: Any) -> list[Any]:
    a, b = i
    pick_a = tt.le(a, b)
    return [tt.cast(pick_a, o.dtype), tt.cast(tt.invert(pick_a), o.dtype)]


def _clip(tt: Any, i: list[Any], o: Any) -> list[Any]:
    x, lo, hi = i
    inside = tt.and_(tt.ge(x, lo), tt.le(x, hi))
    return [tt.cast(inside, o.dtype), tt.cast(tt.lt(x, lo), o.dtype),
            tt.cast(tt.gt(x, hi), o.dtype)]


def _switch(tt: Any, i: list[Any], o: Any) -> list[Any]:
    c, a, b = i
    c = tt.neq(c, 0)
    return [None, tt.cast(c, o.dtype), tt.cast(tt.invert(c), o.dtype)]


def _logaddexp(tt: Any, i: list[Any], o: Any) -> list[Any]:
    a, b = i
    return [tt.exp(a - o), tt.exp(b - o)]


def _arctan2(tt: Any, i: list[Any], o: Any) -> list[Any]:
    y, x = i
    den = tt.sqr(x) + tt.sqr(y)
    return [x / den, -y / den]


_TRI_GAMMA_WHY = (
    "the derivative of tri_gamma is polygamma(2, x), which is not an op yet"
)

PARTIALS: dict[str, Rule] = {
    "add": lambda tt, i, o: [1, 1],
    "sub": lambda tt, i, o: [1, -1],
    "mul": lambda tt, i, o: [i[1], i[0]],
    "true_div": lambda tt, i, o: [1 / i[1], -o / i[1]],
    "mod": _mod,
    "pow": _pow,
    "neg": lambda tt, i, o: [-1],
    "abs": lambda tt, i, o: [tt.sgn(i[0])],  # 0 at 0, like Theano
    "sqr": lambda tt, i, o: [2 * i[0]],
    "reciprocal": lambda tt, i, o: [-tt.sqr(o)],
    "maximum": _maximum,
    "minimum": _minimum,
    "clip": _clip,
    "exp": lambda tt, i, o: [o],
    "exp2": lambda tt, i, o: [o * math.log(2.0)],
    "expm1": lambda tt, i, o: [o + 1],
    "log": lambda tt, i, o: [1 / i[0]],
    "log2": lambda tt, i, o: [1 / (i[0] * math.log(2.0))],
    "log10": lambda tt, i, o: [1 / (i[0] * math.log(10.0))],
    "log1p": lambda tt, i, o: [1 / (1 + i[0])],
    "sqrt": lambda tt, i, o: [0.5 / o],
    "logaddexp": _logaddexp,
    # d/dx log(1 - e^x) = -e^x / (1 - e^x) = -1 / expm1(-x)
    "log1mexp": lambda tt, i, o: [-1 / tt.expm1(-i[0])],
    "sin": lambda tt, i, o: [tt.cos(i[0])],
    "cos": lambda tt, i, o: [-tt.sin(i[0])],
    "tan": lambda tt, i, o: [1 + tt.sqr(o)],
    "arcsin": lambda tt, i, o: [1 / tt.sqrt(1 - tt.sqr(i[0]))],
    "arccos": lambda tt, i, o: [-1 / tt.sqrt(1 - tt.sqr(i[0]))],
    "arctan": lambda tt, i, o: [1 / (1 + tt.sqr(i[0]))],
    "arctan2": _arctan2,
    "sinh": lambda tt, i, o: [tt.cosh(i[0])],
    "cosh": lambda tt, i, o: [tt.sinh(i[0])],
    "tanh": lambda tt, i, o: [1 - tt.sqr(o)],
    "arcsinh": lambda tt, i, o: [1 / tt.sqrt(tt.sqr(i[0]) + 1)],
    # 1 / sqrt(x**2 - 1), written with NumPy's branch cuts for complex x
    "arccosh": lambda tt, i, o: [1 / (tt.sqrt(i[0] - 1) * tt.sqrt(i[0] + 1))],
    "arctanh": lambda tt, i, o: [1 / (1 - tt.sqr(i[0]))],
    "deg2rad": lambda tt, i, o: [math.pi / 180],
    "rad2deg": lambda tt, i, o: [180 / math.pi],
    "sigmoid": lambda tt, i, o: [o * (1 - o)],
    "softplus": lambda tt, i, o: [tt.sigmoid(i[0])],
    "erf": lambda tt, i, o: [(2 / _SQRT_PI) * tt.exp(-tt.sqr(i[0]))],
    "erfc": lambda tt, i, o: [(-2 / _SQRT_PI) * tt.exp(-tt.sqr(i[0]))],
    # erfcx(x) = exp(x**2) erfc(x): d/dx = 2x erfcx(x) - 2/sqrt(pi)
    "erfcx": lambda tt, i, o: [2 * i[0] * o - 2 / _SQRT_PI],
    "erfcinv": lambda tt, i, o: [(-_SQRT_PI / 2) * tt.exp(tt.sqr(o))],
    "erfinv": lambda tt, i, o: [(_SQRT_PI / 2) * tt.exp(tt.sqr(o))],
    "gamma": lambda tt, i, o: [o * tt.psi(i[0])],
    "gammaln": lambda tt, i, o: [tt.psi(i[0])],
    "psi": lambda tt, i, o: [tt.tri_gamma(i[0])],
    "tri_gamma": lambda tt, i, o: [NoDerivative("not_implemented", _TRI_GAMMA_WHY)],
    # real inputs (complex inputs: COMPLEX_RULES)
    "real": lambda tt, i, o: [1],
    "imag": lambda tt, i, o: [None],  # imag(x) = 0 for real x
    "angle": lambda tt, i, o: [None],  # 0 or pi for real x: piecewise constant
    "conj": lambda tt, i, o: [1],
    "switch": _switch,
}

#: rows whose partial is also the complex derivative for complex inputs
HOLOMORPHIC = frozenset({
    "add", "sub", "mul", "true_div", "pow", "neg", "sqr", "reciprocal", "exp",
    "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "sin", "cos", "tan",
    "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
    "arctanh", "switch",
})


@dataclass(frozen=True)
class ComplexRule:
    """Reverse and forward rule of a unary op that is not holomorphic.

    ``lop(tt, z, out, gz)`` is the gradient for the complex input ``z``
    (``dC/dx + i dC/dy``) given the output gradient ``gz``; ``rop(tt, z,
    out, dz)`` is the output tangent for the input tangent ``dz``.
    """

    lop: Callable[[Any, Any, Any, Any], Any]
    rop: Callable[[Any, Any, Any, Any], Any]


def _complex_dtype(z: Any) -> str:
    return str(z.dtype)


#: rules for complex inputs of the rows that are not holomorphic
COMPLEX_RULES: dict[str, ComplexRule] = {
    # |z|: d|z| = Re(conj(z) dz) / |z|; gradient g z / |z|
    "abs": ComplexRule(lambda tt, z, o, g: g * z / o,
                       lambda tt, z, o, dz: tt.real(tt.conj(z) * dz) / o),
    # Re z: gradient g + 0i
    "real": ComplexRule(lambda tt, z, o, g: tt.cast(g, _complex_dtype(z)),
                        lambda tt, z, o, dz: tt.real(dz)),
    # Im z: gradient 0 + g i
    "imag": ComplexRule(lambda tt, z, o, g: tt.cast(g * 1j, _complex_dtype(z)),
                        lambda tt, z, o, dz: tt.imag(dz)),
    # arg z = atan2(y, x): d arg = Im(conj(z) dz) / |z|**2; gradient g i / conj(z)
    "angle": ComplexRule(lambda tt, z, o, g: g * 1j / tt.conj(z),
                         lambda tt, z, o, dz: tt.imag(tt.conj(z) * dz)
                         / tt.sqr(tt.abs(z))),
    # conj z = x - iy: gradient conj(g)
    "conj": ComplexRule(lambda tt, z, o, g: tt.conj(g),
                        lambda tt, z, o, dz: tt.conj(dz)),
}
