"""Tests of symarray.compile.profiling: Theano's module name for the profiler."""

from __future__ import annotations

import numpy as np

import symarray as theano
import symarray.profiling
import symarray.tensor as T  # noqa: N812 (Theano's convention)


def test_theano_import_path_gives_the_profiler():
    from symarray.compile.profiling import ProfileStats

    assert ProfileStats is symarray.profiling.ProfileStats
    assert theano.compile.ProfileStats is ProfileStats  # theano.compile.ProfileStats


def test_a_profile_made_there_collects_two_functions():
    from symarray.compile.profiling import ProfileStats

    profile = ProfileStats(atexit_print=False)
    x = T.dvector("x")
    f = theano.function([x], T.exp(x), profile=profile)
    g = theano.function([x], x * 2.0, profile=profile)
    f(np.ones(3))
    g(np.ones(3))
    assert [fs.calls for fs in profile.functions] == [1, 1]
    assert "Apply nodes" in profile.report()
