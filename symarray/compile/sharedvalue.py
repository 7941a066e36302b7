"""Shared variables: values that live across calls of compiled functions.

``shared(value)`` makes a :class:`SharedVariable` whose value is held in a
container; every function that uses it reads the current value, and
``updates`` write new values after a call.  Constructors are chosen by the
value's type through a registry (``@shared_constructor``), so other packages
(sparse, random, GPU) can add their own.

``borrow`` (as in Theano): a function that updates a variable may compute
the new value in place, in the variable's current array
(:mod:`symarray.compile.inplace_updates`).  So an array handed over with
``shared(v, borrow=True)`` or ``set_value(v, borrow=True)``, or taken with
``get_value(borrow=True)``, may be changed by the next call of such a
function; with ``borrow=False`` (the default) the variable keeps its own
copy and the user's arrays are never written.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from symarray.graph.basic import Type, Variable
from symarray.tensor.type import TensorType
from symarray.tensor.variable import _TensorMethods

__all__ = ["SharedVariable", "TensorSharedVariable", "shared", "shared_constructor"]


class Container:
    """The box a shared value lives in; clones of a variable share it."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class SharedVariable(Variable):
    """A graph input whose value persists between function calls."""

    def __init__(self, type: Type, value: Any, name: str | None = None,
                 strict: bool = False, allow_downcast: bool | None = None,
                 borrow: bool = False, container: Container | None = None) -> None:
        super().__init__(type, None, None, name)
        self.strict = strict
        self.allow_downcast = allow_downcast
        if container is None:
            container = Container(type.filter(
                value if borrow else copy.deepcopy(value), strict=strict,
                allow_downcast=allow_downcast))
        self.container = container
        #: an expression applied after each call unless ``no_default_updates``
        self.default_update: Variable | None = None

    def get_value(
        self, borrow: bool = False, return_internal_type: bool = False
    ) -> Any:
        """The current value (a copy unless ``borrow=True``).

        A borrowed array is the variable's own: a function updating the
        variable may overwrite it in place, and ``set_value`` may drop it.
        """
        value = self.container.value
        return value if borrow else copy.deepcopy(value)

    def set_value(self, new_value: Any, borrow: bool = False) -> None:
        """Replace the value; it is checked against the variable's type.

        With ``borrow=True`` the variable may keep ``new_value`` itself (no
        copy), and a function updating the variable may then overwrite it
        in place; by default the variable keeps a copy.
        """
        try:
            value = self.type.filter(new_value, strict=self.strict,
                                     allow_downcast=self.allow_downcast)
        except (TypeError, ValueError) as err:
            raise type(err)(
                f"set_value of shared variable {self}: {err}; the value must fit "
                f"{self.type} (convert it, or create the variable with "
                "allow_downcast=True)"
            ) from None
        if not borrow and (value is new_value or (
                isinstance(new_value, np.ndarray) and isinstance(value, np.ndarray)
                and np.may_share_memory(value, new_value))):
            value = copy.deepcopy(value)
        self.container.value = value

    def zero(self, borrow: bool = False) -> None:
        """Set the value to zeros of the same shape and dtype (in place, in the
        array ``get_value(borrow=True)`` returned, when ``borrow``)."""
        if borrow:
            self.container.value[...] = 0
        else:
            self.container.value = np.zeros_like(self.container.value)

    def clone(self, name: str | None = None) -> SharedVariable:
        """A new variable sharing this one's value container (Theano semantics)."""
        cp = type(self)(self.type, None, name or self.name, self.strict,
                        self.allow_downcast, container=self.container)
        cp.default_update = self.default_update
        cp.tag.site = self.tag.site
        return cp

    def __str__(self) -> str:
        return self.name or f"<shared {self.type}>"


class TensorSharedVariable(_TensorMethods, SharedVariable):
    """A shared array with the NumPy-like methods of tensor variables."""


SharedConstructor = Callable[..., "SharedVariable | None"]
_CONSTRUCTORS: list[SharedConstructor] = []


def shared_constructor(fn: SharedConstructor) -> SharedConstructor:
    """Register a constructor tried (newest first) by :func:`shared`.

    It receives ``(value, name, strict, allow_downcast, borrow, **kwargs)``
    and returns a SharedVariable, or None to let the next one try.
    """
    _CONSTRUCTORS.insert(0, fn)
    return fn


def shared(value: Any, name: str | None = None, strict: bool = False,
           allow_downcast: bool | None = None, borrow: bool = False,
           **kwargs: Any) -> SharedVariable:
    """A shared variable holding ``value``.

    Parameters
    ----------
    value
        The initial value (a NumPy array or a Python/NumPy scalar for the
        built-in constructor).
    name
        Shown in graphs and errors.
    strict, allow_downcast
        How ``set_value`` (and updates) convert new values: ``strict``
        refuses any conversion; ``allow_downcast`` accepts losing precision.
    borrow
        Keep ``value`` itself instead of a copy.  A function that updates
        the variable may then overwrite ``value`` in place (Theano's
        semantics); leave it False to keep your array unchanged.
    **kwargs
        Options of the constructor that takes the value (``shape`` or
        ``broadcastable`` for arrays).

    Examples
    --------
    >>> import numpy as np, symarray as sa
    >>> w = sa.shared(np.zeros(3), name="w")
    >>> w.get_value()
    array([0., 0., 0.])
    """
    if isinstance(value, Variable):
        raise TypeError(
            "shared() takes a value (e.g. a NumPy array), not a symbolic variable; "
            "use its value or a function to compute it"
        )
    for make in _CONSTRUCTORS:
        var = make(value, name=name, strict=strict, allow_downcast=allow_downcast,
                   borrow=borrow, **kwargs)
        if var is not None:
            return var
    raise TypeError(
        f"no shared variable type accepts a {type(value).__name__}; known value "
        "types: NumPy arrays and Python/NumPy scalars"
    )


@shared_constructor
def tensor_constructor(value: Any, name: str | None = None, strict: bool = False,
                       allow_downcast: bool | None = None, borrow: bool = False,
                       shape: tuple[int | None, ...] | None = None,
                       broadcastable: tuple[bool, ...] | None = None,
                       target: str | None = None) -> TensorSharedVariable | None:
    """Shared arrays and scalars; every dimension's length may change later
    (static shape ``None``) unless ``shape``/``broadcastable`` says otherwise."""
    if isinstance(value, (np.ndarray, np.generic)):
        arr = value
    elif isinstance(value, (bool, int, float, complex)):
        arr = np.asarray(value)
    else:
        return None
    arr_dtype = np.asarray(arr).dtype
    ndim = np.ndim(arr)
    if shape is None and broadcastable is None:
        shape = (None,) * ndim
    ttype = TensorType(arr_dtype.name, broadcastable=broadcastable, shape=shape)
    if isinstance(arr, np.generic):
        arr = np.asarray(arr)
        borrow = True
    return TensorSharedVariable(ttype, arr, name, strict, allow_downcast, borrow)


@shared_constructor
def random_generator_constructor(value: Any, **kwargs: Any) -> SharedVariable | None:
    """NumPy ``RandomState``/``Generator`` values: the random package's
    constructor (:mod:`symarray.tensor.random.streams`, loaded on first use)."""
    if not isinstance(value, (np.random.RandomState, np.random.Generator)):
        return None
    from symarray.tensor.random.streams import randomstate_constructor

    return randomstate_constructor(value, **kwargs)


@shared_constructor
def scipy_sparse_constructor(value: Any, **kwargs: Any) -> SharedVariable | None:
    """scipy.sparse matrices: :mod:`symarray.sparse`'s constructor, loaded on
    first use (so ``shared(csr)`` works without importing the package first;
    scipy itself is not imported to ask)."""
    if not type(value).__module__.startswith("scipy.sparse"):
        return None
    from symarray.sparse.sharedvar import sparse_constructor

    return sparse_constructor(value, **kwargs)
