"""Types of random generator states: NumPy ``RandomState`` and ``Generator``.

A random op reads a generator state and returns the state after its draws
(see :mod:`symarray.tensor.random.op`).  The state is not an array: its
variables have a :class:`RandomType` and are usually shared variables that
a function updates after each call.  ``RandomStateType`` holds a
``numpy.random.RandomState`` (what Theano's ``RandomStreams`` uses: its
value has ``seed``, ``get_state`` and ``set_state``), ``RandomGeneratorType``
a ``numpy.random.Generator``.  The MRG31k3p streams keep their state in an
int32 matrix instead (an ordinary tensor).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from symarray.graph.basic import Constant, Type, Variable

__all__ = ["RandomType", "RandomStateType", "RandomGeneratorType",
           "random_state_type", "random_generator_type", "random_type_of",
           "copy_state", "state_key"]


def state_key(value: Any) -> Any:
    """A comparable snapshot of a generator's state (its bit generator's)."""
    if isinstance(value, np.random.RandomState):
        return repr(value.get_state(legacy=False))
    return repr(value.bit_generator.state)


def copy_state(value: Any) -> Any:
    """An independent generator in the same state as ``value``."""
    if isinstance(value, np.random.Generator):
        bit = value.bit_generator
        fresh = type(bit)()  # seeded from entropy, then overwritten
        fresh.state = bit.state
        return np.random.Generator(fresh)
    return copy.deepcopy(value)


class RandomType(Type):
    """Values: one kind of NumPy generator (``value_class``)."""

    variable_type = Variable
    constant_type = Constant
    value_class: type = object
    kind = "random"

    def filter(self, data: Any, strict: bool = False,
               allow_downcast: bool | None = None) -> Any:
        if isinstance(data, self.value_class):
            return data
        hint = ("np.random.RandomState(seed)"
                if self.value_class is np.random.RandomState
                else "np.random.default_rng(seed)")
        raise TypeError(
            f"{self}: expected a {self.value_class.__module__}."
            f"{self.value_class.__name__}, got {type(data).__name__}; make one with "
            f"{hint}"
        )

    def values_eq(self, a: Any, b: Any) -> bool:
        return bool(state_key(a) == state_key(b))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self).__name__)

    def __str__(self) -> str:
        return type(self).__name__

    __repr__ = __str__


class RandomStateType(RandomType):
    """A ``numpy.random.RandomState`` (Theano's random state type)."""

    value_class = np.random.RandomState
    kind = "RandomState"


class RandomGeneratorType(RandomType):
    """A ``numpy.random.Generator``."""

    value_class = np.random.Generator
    kind = "Generator"


random_state_type = RandomStateType()
random_generator_type = RandomGeneratorType()


def random_type_of(value: Any) -> RandomType | None:
    """The random type holding ``value``, or None when it is no generator."""
    if isinstance(value, np.random.RandomState):
        return random_state_type
    if isinstance(value, np.random.Generator):
        return random_generator_type
    return None
