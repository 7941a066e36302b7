"""Random numbers in graphs: generator states, random ops, random streams.

A random op reads a generator *state* and returns the state after its
draws along with the draws; a shared variable holds the state and a
function's update writes the new one back, so each call draws new numbers.

* :mod:`~symarray.tensor.random.type`: the state types (NumPy
  ``RandomState`` and ``Generator``).
* :mod:`~symarray.tensor.random.op`: :class:`RandomVariable`, the op of
  every NumPy-backed distribution (pure, with an in-place variant the
  ``inplace`` phase switches on; see :mod:`~symarray.tensor.random.rewriting`).
* :mod:`~symarray.tensor.random.basic`: the distributions, and the
  functions of Theano's ``raw_random`` (``uniform(rng, size, ...)`` returns
  ``(new_rng, draws)``).
* :mod:`~symarray.tensor.random.mrg_op`: MRG31k3p (the state is an int32
  matrix of independent streams; a C kernel in ``symarray.kernels_c.mrg``).
* :mod:`~symarray.tensor.random.streams` (``RandomStreams``, Theano's
  ``shared_randomstreams``) and :mod:`~symarray.tensor.random.mrg`
  (``MRG_RandomStreams``, Theano's ``sandbox.rng_mrg``) make shared states
  and install their updates; they are loaded on first use.
"""

from typing import Any

from symarray.tensor.random import rewriting  # noqa: F401  (registers the rewrite)
from symarray.tensor.random.basic import (
    BinomialRV,
    ChoiceRV,
    IntegersRV,
    MultinomialRV,
    NormalRV,
    PermutationRV,
    PoissonRV,
    UniformRV,
    binomial,
    choice,
    integers,
    multinomial,
    normal,
    permutation,
    poisson,
    random_integers,
    shuffle_row_elements,
    uniform,
)
from symarray.tensor.random.mrg_op import MRGUniform, mrg_uniform
from symarray.tensor.random.op import RandomVariable
from symarray.tensor.random.type import (
    RandomGeneratorType,
    RandomStateType,
    RandomType,
    random_generator_type,
    random_state_type,
)

__all__ = [
    "RandomVariable", "MRGUniform", "mrg_uniform", "RandomType", "RandomStateType",
    "RandomGeneratorType", "random_state_type", "random_generator_type",
    "UniformRV", "NormalRV", "BinomialRV", "IntegersRV", "PoissonRV", "ChoiceRV",
    "PermutationRV", "MultinomialRV", "uniform", "normal", "binomial",
    "random_integers", "integers", "poisson", "choice", "permutation",
    "multinomial", "shuffle_row_elements",
]

_LAZY = {"RandomStreams": "symarray.tensor.random.streams",
         "MRG_RandomStreams": "symarray.tensor.random.mrg",
         "streams": "symarray.tensor.random.streams",
         "mrg": "symarray.tensor.random.mrg"}


def __getattr__(name: str) -> Any:
    # the streams make shared variables (symarray.compile): loaded on first use
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        return module if name in ("streams", "mrg") else getattr(module, name)
    raise AttributeError(f"module 'symarray.tensor.random' has no attribute {name!r}")
