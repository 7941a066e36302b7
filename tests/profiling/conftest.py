"""Profiles the profiling tests share."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.profiling import ProfileStats


def make_profile(memory: bool = True, trace_calls: int = 3, calls: int = 4
                 ) -> ProfileStats:
    """Two functions (one with a dot and a reduction) called ``calls`` times."""
    st = ProfileStats(name="test profile", memory=memory, trace_calls=trace_calls,
                      atexit_print=False)
    x, y = T.dvector("x"), T.dmatrix("y")
    mode = theano.Mode(linker="cvm").excluding("fusion")
    f = theano.function([x, y], [T.exp(x) * x + 1.0, T.dot(y, x).sum()], mode=mode,
                        profile=st, name="f")
    g = theano.function([x], T.tanh(x).sum(), profile=st, name="g",
                        mode=theano.Mode(linker="py"))
    for _ in range(calls):
        f(np.ones(50), np.ones((3, 50)))
        g(np.ones(80))
    return st


@pytest.fixture(scope="module")
def profile() -> ProfileStats:
    return make_profile()
