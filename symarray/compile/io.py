"""``In`` and ``Out``: per-input and per-output options of ``function``."""

from __future__ import annotations

from typing import Any

from symarray.graph.basic import Variable

__all__ = ["In", "Out"]

class In:
    """An input of a compiled function, with options.

    Parameters
    ----------
    variable
        The symbolic input.
    name
        Keyword name for calls (defaults to ``variable.name``).
    value
        Default used when the call omits this input (None: no default, the
        input is required).
    update
        An expression whose value becomes the default after each call,
        making the input stateful (``value`` is then required).
    mutable
        The function may overwrite the array passed (in-place rewrites may
        then destroy it); default False.  An array that shares memory with
        another argument or a shared value is copied first (unless the
        function has ``trust_input``).  Shared variables are not explicit
        inputs; those with an update are mutable this way automatically.
    borrow
        The function may keep a reference to the array passed (for example
        as the new value of a shared variable) instead of copying it.
    strict
        Refuse values that would need any conversion.
    allow_downcast
        Accept values that lose precision when converted.
    implicit
        The input is not an argument of the call; its value is the default
        (``f[name] = v`` changes it).

    Examples
    --------
    >>> import symarray as theano, symarray.tensor as T
    >>> x, y = T.dscalar("x"), T.dscalar("y")
    >>> f = theano.function([x, In(y, value=1.0, name="y")], x + y)
    >>> float(f(2.0)), float(f(2.0, y=3.0))
    (3.0, 5.0)
    """

    def __init__(self, variable: Variable, name: str | None = None,
                 value: Any = None, update: Any = None,
                 mutable: bool = False, borrow: bool | None = None,
                 strict: bool = False, allow_downcast: bool | None = None,
                 implicit: bool | None = None) -> None:
        if not isinstance(variable, Variable):
            raise TypeError(f"In() takes a symbolic variable, got {variable!r}")
        self.variable = variable
        self.name = name if name is not None else variable.name
        self.value = value
        self.update = update
        self.mutable = bool(mutable)
        self.borrow = bool(mutable if borrow is None else borrow or mutable)
        self.strict = strict
        self.allow_downcast = allow_downcast
        self.implicit = bool(implicit)

    @property
    def has_default(self) -> bool:
        return self.value is not None

    def __repr__(self) -> str:
        return f"In({self.variable})"


class Out:
    """An output of a compiled function, with options.

    ``borrow=True`` lets the function return an array that it may reuse for
    the next call instead of a fresh copy (faster, but the returned array may
    be overwritten by the next call in no-GC mode, and in any mode when it
    is the array of a shared variable that the function updates in place).
    """

    def __init__(self, variable: Variable, borrow: bool = False) -> None:
        if not isinstance(variable, Variable):
            raise TypeError(f"Out() takes a symbolic variable, got {variable!r}")
        self.variable = variable
        self.borrow = borrow

    def __repr__(self) -> str:
        return f"Out({self.variable})"
