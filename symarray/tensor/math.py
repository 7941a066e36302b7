"""Elementwise tensor functions: one ``Elemwise`` instance per scalar-table row.

``T.exp``, ``T.add``, ``T.switch``... are Op instances (``exp =
Elemwise(exp)``), generated from :data:`symarray.scalar.ROWS`; associative
binary ops accept any number of inputs (``T.add(a, b, c)``).  Aliases follow
Theano and NumPy (``true_div``/``true_divide``, ``bitwise_and``/``and_``...).
"""

from __future__ import annotations

from typing import Any

from symarray.scalar.table import ROWS, SCALAR_OPS
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.elemwise import Elemwise

__all__: list[str] = []

#: name -> the Elemwise op for that scalar-table row
ELEMWISE_OPS: dict[str, Elemwise] = {
    row.name: Elemwise(SCALAR_OPS[row.name]) for row in ROWS
}
globals().update(ELEMWISE_OPS)
__all__ += sorted(ELEMWISE_OPS)

_ALIASES = {
    "true_divide": "true_div", "divide": "true_div", "floor_div": "int_div",
    "floor_divide": "int_div", "power": "pow", "negative": "neg",
    "sign": "sgn", "square": "sqr", "absolute": "abs", "abs_": "abs",
    "bitwise_and": "and_", "bitwise_or": "or_", "bitwise_xor": "xor",
    "bitwise_not": "invert", "and": "and_", "or": "or_", "not_equal": "neq",
    "equal": "eq", "less": "lt", "greater": "gt", "less_equal": "le",
    "greater_equal": "ge", "where": "switch", "digamma": "psi",
    "expit": "sigmoid", "subtract": "sub", "multiply": "mul",
    "logical_and": "and_", "logical_or": "or_", "logical_xor": "xor",
}
for _alias, _target in _ALIASES.items():
    globals()[_alias] = ELEMWISE_OPS[_target]
    __all__.append(_alias)


def round(x: Any, mode: str = "half_to_even") -> Any:  # noqa: A001
    """Round to integers (as floats); ``mode`` is ``half_to_even`` (NumPy's
    ``np.round``) or ``half_away_from_zero``."""
    if mode not in ("half_to_even", "half_away_from_zero"):
        raise ValueError(
            f"round: mode must be 'half_to_even' or 'half_away_from_zero', got {mode!r}"
        )
    return ELEMWISE_OPS[f"round_{mode}"](x)


def clip(x: Any, a_min: Any, a_max: Any) -> Any:
    """Limit values to ``[a_min, a_max]``; the bounds take ``x``'s dtype."""
    from symarray.tensor.elemwise import cast

    x = as_tensor_variable(x)
    return ELEMWISE_OPS["clip"](x, cast(a_min, x.dtype), cast(a_max, x.dtype))


def not_(x: Any) -> Any:
    """Logical not of a bool tensor (``invert`` for integers)."""
    return ELEMWISE_OPS["invert"](x)


__all__ += ["round", "clip", "not_"]
