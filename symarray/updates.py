"""OrderedUpdates: the insertion-ordered mapping in which updates travel.

``function(..., updates=...)`` and ``scan`` exchange updates as an
``OrderedUpdates``: ``{shared_variable: new_value_expression}``.  Two
different updates of the same variable, or an update whose type differs from
the variable's, are refused with an error naming the variable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from symarray.errors import SymarrayError

__all__ = ["OrderedUpdates", "UpdateError"]


class UpdateError(SymarrayError, ValueError):
    """An update is invalid (duplicate, wrong type, not a shared variable)."""


class OrderedUpdates(dict[Any, Any]):
    """An insertion-ordered dict of ``shared_variable -> update expression``.

    Examples
    --------
    >>> import numpy as np, symarray as sa
    >>> w = sa.shared(np.zeros(2), name="w")
    >>> up = OrderedUpdates({w: w + 1})
    >>> up.update({w: w + 1})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symarray.updates.UpdateError: two different updates of shared variable 'w' ...
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        if kwargs:
            raise TypeError("OrderedUpdates keys are variables, not keyword names")
        if args:
            self.update(*args)

    def __setitem__(self, key: Any, value: Any) -> None:
        from symarray.compile.sharedvalue import SharedVariable

        if not isinstance(key, SharedVariable):
            raise UpdateError(
                f"updates must target shared variables, got {key!r} "
                f"({type(key).__name__}); create it with symarray.shared(value)"
            )
        value = _as_update_value(key, value)
        if key in self and self[key] is not value:
            raise UpdateError(
                f"two different updates of shared variable {_name(key)} (the "
                f"expressions {self[key]} and {value}, built at "
                f"{_site(self[key])} and {_site(value)}); keep one, or combine them "
                "into one expression"
            )
        super().__setitem__(key, value)

    def update(self, other: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        if kwargs:
            raise TypeError("OrderedUpdates keys are variables, not keyword names")
        if other is None:
            return
        items: Iterable[tuple[Any, Any]]
        if isinstance(other, Mapping):
            items = other.items()
        else:
            items = other
        for key, value in items:
            self[key] = value

    def __or__(self, other: Any) -> OrderedUpdates:
        out = OrderedUpdates(self)
        out.update(other)
        return out

    __add__ = __or__

    def __radd__(self, other: Any) -> OrderedUpdates:
        out = OrderedUpdates(other)
        out.update(self)
        return out

    __ror__ = __radd__

    def __ior__(self, other: Any) -> OrderedUpdates:
        self.update(other)
        return self

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def copy(self) -> OrderedUpdates:
        return OrderedUpdates(self)


def _site(var: Any) -> str:
    site = getattr(getattr(var, "tag", None), "site", None)
    return f"{site[0]}:{site[1]}" if site else "an unknown line"


def _name(var: Any) -> str:
    return repr(var.name) if var.name else str(var)


def _as_update_value(key: Any, value: Any) -> Any:
    """Convert ``value`` to a variable of ``key``'s type, or explain why not."""
    from symarray.graph.basic import Variable

    if not isinstance(value, Variable):
        from symarray.tensor.basic import as_tensor_variable

        try:
            value = as_tensor_variable(value, dtype=getattr(key.type, "dtype", None))
        except (TypeError, ValueError) as err:
            raise UpdateError(
                f"update of shared variable {_name(key)}: cannot convert {value!r}: "
                f"{err}"
            ) from None
    if value.type == key.type:
        return value
    if key.type.is_super(value.type):
        return value
    raise UpdateError(
        f"update of shared variable {_name(key)} has type {value.type}, expected "
        f"{key.type}; cast it (e.g. new.astype({getattr(key.type, 'dtype', '?')!r})) "
        "or reshape it to match"
    )
