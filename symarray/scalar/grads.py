"""Derivatives of the scalar ops: one partial-derivative rule per table row.

A rule ``rule(T, inputs, output)`` returns, for each input ``x_i``, the
elementwise partial derivative ``d output / d x_i`` as a tensor expression
(``T`` is :mod:`symarray.tensor`, passed in so this package stays below
tensor in the import order), or ``None`` where the output does not depend
differentiably on that input (comparisons, rounding, integer ops) or
``"undefined"`` where the derivative does not exist (a gradient through it
is an error only if requested).

One rule serves both modes: Elemwise's ``L_op`` multiplies the output
gradient by each partial (then sums over broadcast dimensions), and its
``R_op`` sums partials times tangents.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = ["PARTIALS", "NOT_DIFFERENTIABLE"]

Rule = Callable[[Any, list[Any], Any], list[Any]]

_SQRT_PI = math.sqrt(math.pi)

#: ops whose output is piecewise constant or discrete: gradient zero everywhere
NOT_DIFFERENTIABLE = frozenset({
    "int_div", "sgn", "floor", "ceil", "trunc", "round_half_to_even",
    "round_half_away_from_zero", "lt", "gt", "le", "ge", "eq", "neq", "isnan",
    "isinf", "and_", "or_", "xor", "invert",
})


def _mod(T: Any, i: list[Any], o: Any) -> list[Any]:
    a, b = i
    return [T.ones_like(o), -T.int_div(a, b)]


def _pow(T: Any, i: list[Any], o: Any) -> list[Any]:
    a, b = i
    # d/da a**b = b a**(b-1); d/db a**b = log(a) a**b (0 where a == 0)
    da = b * T.pow(a, b - 1)
    db = T.switch(T.eq(a, 0), 0, o * T.log(T.switch(T.eq(a, 0), 1, a)))
    return [da, db]


def _maximum(T: Any, i: list[Any], o: Any) -> list[Any]:
    a, b = i
    # ties send the gradient to the first input, like Theano
    pick_a = T.ge(a, b)
    return [T.cast(pick_a, o.dtype), T.cast(T.invert(pick_a), o.dtype)]


def _minimum(T: Any, i: list[Any], o: Any) -> list[Any]:
    a, b = i
    pick_a = T.le(a, b)
    return [T.cast(pick_a, o.dtype), T.cast(T.invert(pick_a), o.dtype)]


def _clip(T: Any, i: list[Any], o: Any) -> list[Any]:
    x, lo, hi = i
    inside = T.and_(T.ge(x, lo), T.le(x, hi))
    return [T.cast(inside, o.dtype), T.cast(T.lt(x, lo), o.dtype),
            T.cast(T.gt(x, hi), o.dtype)]


def _switch(T: Any, i: list[Any], o: Any) -> list[Any]:
    c, a, b = i
    c = T.neq(c, 0)
    return [None, T.cast(c, o.dtype), T.cast(T.invert(c), o.dtype)]


def _logaddexp(T: Any, i: list[Any], o: Any) -> list[Any]:
    a, b = i
    return [T.exp(a - o), T.exp(b - o)]


def _arctan2(T: Any, i: list[Any], o: Any) -> list[Any]:
    y, x = i
    den = T.sqr(x) + T.sqr(y)
    return [x / den, -y / den]


PARTIALS: dict[str, Rule] = {
    "add": lambda T, i, o: [T.ones_like(o), T.ones_like(o)],
    "sub": lambda T, i, o: [T.ones_like(o), -T.ones_like(o)],
    "mul": lambda T, i, o: [i[1], i[0]],
    "true_div": lambda T, i, o: [1 / i[1], -o / i[1]],
    "mod": _mod,
    "pow": _pow,
    "neg": lambda T, i, o: [-T.ones_like(o)],
    "abs": lambda T, i, o: [T.sgn(i[0])],
    "sqr": lambda T, i, o: [2 * i[0]],
    "maximum": _maximum,
    "minimum": _minimum,
    "clip": _clip,
    "exp": lambda T, i, o: [o],
    "exp2": lambda T, i, o: [o * math.log(2.0)],
    "expm1": lambda T, i, o: [o + 1],
    "log": lambda T, i, o: [1 / i[0]],
    "log2": lambda T, i, o: [1 / (i[0] * math.log(2.0))],
    "log10": lambda T, i, o: [1 / (i[0] * math.log(10.0))],
    "log1p": lambda T, i, o: [1 / (1 + i[0])],
    "sqrt": lambda T, i, o: [0.5 / o],
    "logaddexp": _logaddexp,
    # d/dx log(1 - e^x) = -e^x / (1 - e^x) = -1 / expm1(-x)
    "log1mexp": lambda T, i, o: [-1 / T.expm1(-i[0])],
    "sin": lambda T, i, o: [T.cos(i[0])],
    "cos": lambda T, i, o: [-T.sin(i[0])],
    "tan": lambda T, i, o: [1 + T.sqr(o)],
    "arcsin": lambda T, i, o: [1 / T.sqrt(1 - T.sqr(i[0]))],
    "arccos": lambda T, i, o: [-1 / T.sqrt(1 - T.sqr(i[0]))],
    "arctan": lambda T, i, o: [1 / (1 + T.sqr(i[0]))],
    "arctan2": _arctan2,
    "sinh": lambda T, i, o: [T.cosh(i[0])],
    "cosh": lambda T, i, o: [T.sinh(i[0])],
    "tanh": lambda T, i, o: [1 - T.sqr(o)],
    "sigmoid": lambda T, i, o: [o * (1 - o)],
    "softplus": lambda T, i, o: [T.sigmoid(i[0])],
    "erf": lambda T, i, o: [(2 / _SQRT_PI) * T.exp(-T.sqr(i[0]))],
    "erfc": lambda T, i, o: [(-2 / _SQRT_PI) * T.exp(-T.sqr(i[0]))],
    "erfinv": lambda T, i, o: [(_SQRT_PI / 2) * T.exp(T.sqr(o))],
    "gamma": lambda T, i, o: [o * T.psi(i[0])],
    "gammaln": lambda T, i, o: [T.psi(i[0])],
    "psi": lambda T, i, o: ["undefined"],  # needs polygamma(1, x): not an op yet
    "switch": _switch,
}
