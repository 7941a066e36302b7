"""Theano's import path: ``from theano.tensor.shared_randomstreams import
RandomStreams`` (see :mod:`symarray.tensor.random.streams`)."""

from symarray.tensor.random.streams import (
    RandomStateSharedVariable,
    RandomStreams,
    randomstate_constructor,
)

__all__ = ["RandomStreams", "RandomStateSharedVariable", "randomstate_constructor"]
