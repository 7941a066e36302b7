"""Theano's import path ``theano.tensor.raw_random``: the random functions
that take the generator variable first and return ``(new_rng, draws)``
(see :mod:`symarray.tensor.random.basic`)."""

from symarray.tensor.random.basic import (
    binomial,
    choice,
    multinomial,
    normal,
    permutation,
    poisson,
    random_integers,
    shuffle_row_elements,
    uniform,
)
from symarray.tensor.random.op import RandomVariable as RandomFunction
from symarray.tensor.random.type import RandomStateType, random_state_type

__all__ = ["binomial", "choice", "multinomial", "normal", "permutation", "poisson",
           "random_integers", "shuffle_row_elements", "uniform", "RandomFunction",
           "RandomStateType", "random_state_type"]
