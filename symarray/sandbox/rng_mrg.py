"""Theano's import path: ``from theano.sandbox.rng_mrg import
MRG_RandomStreams`` (see :mod:`symarray.tensor.random.mrg`)."""

from symarray.tensor.random.mrg import MRG_RandomStreams, guess_n_streams
from symarray.tensor.random.mrg_op import (
    M1,
    M2,
    ChoiceFromUniform,
    MRGUniform,
    MultinomialFromUniform,
    mrg_uniform,
)

__all__ = ["MRG_RandomStreams", "guess_n_streams", "MRGUniform", "mrg_uniform",
           "MultinomialFromUniform", "ChoiceFromUniform", "M1", "M2"]
