"""Elementwise tensor functions: one ``Elemwise`` instance per scalar-table row.

``T.exp``, ``T.add``, ``T.switch``... are Op instances (``exp =
Elemwise(exp)``), generated from :data:`symarray.scalar.ROWS`; associative
binary ops accept any number of inputs (``T.add(a, b, c)``).  Aliases follow
Theano and NumPy (``true_div``/``true_divide``, ``bitwise_and``/``and_``...).
The few functions below that are not one row (``round``, ``clip``, the
``logical_*`` family) are small compositions of rows.
"""

from __future__ import annotations

from typing import Any

from symarray.scalar.table import ROWS, SCALAR_OPS
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.elemwise import Elemwise, cast

__all__: list[str] = []

#: name -> the Elemwise op for that scalar-table row
ELEMWISE_OPS: dict[str, Elemwise] = {
    row.name: Elemwise(SCALAR_OPS[row.name]) for row in ROWS
}
globals().update(ELEMWISE_OPS)
__all__ += sorted(ELEMWISE_OPS)

#: alias -> the row it names (Theano's and NumPy's other spellings)
_ALIASES = {
    "true_divide": "true_div", "divide": "true_div", "floor_div": "int_div",
    "floor_divide": "int_div", "power": "pow", "negative": "neg",
    "sign": "sgn", "square": "sqr", "absolute": "abs", "abs_": "abs",
    "bitwise_and": "and_", "bitwise_or": "or_", "bitwise_xor": "xor",
    "bitwise_not": "invert", "and": "and_", "or": "or_", "not_equal": "neq",
    "equal": "eq", "less": "lt", "greater": "gt", "less_equal": "le",
    "greater_equal": "ge", "where": "switch", "digamma": "psi",
    "expit": "sigmoid", "subtract": "sub", "multiply": "mul",
    "inv": "reciprocal", "conjugate": "conj",
}
for _alias, _target in _ALIASES.items():
    globals()[_alias] = ELEMWISE_OPS[_target]
    __all__.append(_alias)


def round(x: Any, mode: str | None = "half_to_even") -> Any:  # noqa: A001
    """Round to integers, keeping a float dtype.

    ``mode`` is ``"half_to_even"`` (NumPy's ``np.round``, the default) or
    ``"half_away_from_zero"``.

    >>> import symarray.tensor as T
    >>> x = T.dvector("x")
    >>> T.round(x, "half_away_from_zero").eval({x: [0.5, 1.5, -0.5]}).tolist()
    [1.0, 2.0, -1.0]
    """
    mode = mode or "half_to_even"
    if mode not in ("half_to_even", "half_away_from_zero"):
        raise ValueError(
            f"round: mode must be 'half_to_even' or 'half_away_from_zero', got {mode!r}"
        )
    return ELEMWISE_OPS[f"round_{mode}"](x)


def clip(x: Any, a_min: Any, a_max: Any) -> Any:
    """Limit values to ``[a_min, a_max]``; the bounds take ``x``'s dtype.

    >>> import symarray.tensor as T
    >>> x = T.ivector("x")
    >>> T.clip(x, 0, 2).eval({x: [-1, 1, 5]}).tolist()
    [0, 1, 2]
    """
    x = as_tensor_variable(x)
    return ELEMWISE_OPS["clip"](x, cast(a_min, x.dtype), cast(a_max, x.dtype))


def not_(x: Any) -> Any:
    """Bitwise not: logical not of a bool tensor, ``~x`` for integers."""
    return ELEMWISE_OPS["invert"](x)


def _as_bool(x: Any) -> Any:
    x = as_tensor_variable(x)
    if x.dtype == "bool":
        return x
    return ELEMWISE_OPS["neq"](x, 0)


def logical_and(a: Any, b: Any) -> Any:
    """Elementwise ``a and b`` of the truth values (a bool tensor)."""
    return ELEMWISE_OPS["and_"](_as_bool(a), _as_bool(b))


def logical_or(a: Any, b: Any) -> Any:
    """Elementwise ``a or b`` of the truth values (a bool tensor)."""
    return ELEMWISE_OPS["or_"](_as_bool(a), _as_bool(b))


def logical_xor(a: Any, b: Any) -> Any:
    """Elementwise ``a xor b`` of the truth values (a bool tensor)."""
    return ELEMWISE_OPS["xor"](_as_bool(a), _as_bool(b))


def logical_not(x: Any) -> Any:
    """Elementwise ``not x`` of the truth values (a bool tensor)."""
    return ELEMWISE_OPS["invert"](_as_bool(x))


__all__ += ["round", "clip", "not_", "logical_and", "logical_or", "logical_xor",
            "logical_not"]
