"""Tests of symarray.profiling.memory: the three peaks from measured sizes."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.profiling import ProfileStats
from symarray.profiling.memory import _allocated, gc_peak, naive_nogc_peak

N = 1000  # float64 elements: 8000 bytes per value


def chain_profile(linker):
    st = ProfileStats(memory=True, atexit_print=False)
    x = T.dvector("x")
    out = T.tanh(T.cos(T.exp(T.sin(x)))).sum()
    f = theano.function([x], out, profile=st,
                        mode=theano.Mode(linker=linker, optimizer=None))
    f(np.ones(N))
    return st.functions[0], f


@pytest.mark.parametrize("linker", ["cvm", "cvm_nogc", "vm"])
def test_peaks_of_a_chain(linker):
    fs, _ = chain_profile(linker)
    peaks = fs.memory.peaks
    # four 8000-byte values, each dead after the next node: GC holds two
    assert peaks["gc"] == 2 * 8 * N + 8 or peaks["gc"] == 2 * 8 * N
    assert peaks["nogc_naive"] == 4 * 8 * N + 8
    assert peaks["gc"] <= peaks["nogc_planned"] <= peaks["nogc_naive"]
    largest = fs.memory.largest
    assert [v["nbytes"] for v in largest[:4]] == [8 * N] * 4
    assert largest[0]["site"] and "test_memory.py" in largest[0]["site"]


def test_fallback_peaks_match_the_planner():
    fs, f = chain_profile("cvm")
    alloc = _allocated(f.vm.program, fs.nodes)
    assert gc_peak(f.vm.program, alloc) == fs.memory.peaks["gc"]
    assert naive_nogc_peak(alloc) == fs.memory.peaks["nogc_naive"]


def test_views_allocate_nothing():
    st = ProfileStats(memory=True, atexit_print=False)
    x = T.dmatrix("x")
    f = theano.function([x], (T.exp(x).T * 2.0).sum(), profile=st,
                        mode=theano.Mode(linker="cvm", optimizer=None))
    f(np.ones((10, 20)))
    fs = st.functions[0]
    views = [n for n in fs.nodes if n.outputs[0].view]
    assert views and views[0].outputs[0].nbytes == 10 * 20 * 8
    assert fs.memory.peaks["nogc_naive"] == 2 * 10 * 20 * 8 + 8


def test_memory_off_records_no_sizes():
    st = ProfileStats(memory=False, atexit_print=False)
    x = T.dvector("x")
    theano.function([x], T.exp(x), profile=st)(np.ones(3))
    fs = st.functions[0]
    assert fs.memory is None and fs.nodes[0].outputs[0].nbytes == -1
    assert "Memory" not in st.report()
