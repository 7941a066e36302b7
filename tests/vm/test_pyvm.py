"""Tests of symarray.vm.pyvm: the Python reference VM."""

from __future__ import annotations

import gc
import sys
import tracemalloc
import weakref

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import config
from symarray.graph.basic import Apply, Op
from symarray.vm import PyVM, describe_failure, make_py_thunk

NO_REWRITES = theano.Mode(linker="py", optimizer=None)
NO_GC = theano.Mode(linker="py_nogc", optimizer=None)


class Remember(Op):
    """Copies its input and keeps a weak reference to it in ``log``."""

    def __init__(self, log):
        self.log = log

    def make_node(self, x):
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        self.log.append(weakref.ref(inputs[0]))
        output_storage[0][0] = inputs[0].copy()


class WasFreed(Op):
    """Copies its input and records whether the remembered array is gone."""

    def __init__(self, log):
        self.log = log

    def make_node(self, x):
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        self.log.append(self.log[0]() is None)
        output_storage[0][0] = inputs[0].copy()


def spy_graph():
    log = []
    x = T.dvector("x")
    mid = T.exp(x)  # an intermediate whose last reader is Remember
    out = WasFreed(log)(Remember(log)(mid))
    return x, out, log


def test_gc_frees_intermediates_after_last_use():
    x, out, log = spy_graph()
    f = theano.function([x], out, mode=NO_REWRITES)
    f(np.ones(3))
    assert log[1] is True


def test_no_gc_keeps_intermediates_until_free():
    x, out, log = spy_graph()
    f = theano.function([x], out, mode=NO_GC)
    f(np.ones(3))
    assert log[1] is False
    cells = f.vm.program.cells
    assert any(c[0] is not None for c in cells)
    f.free()
    assert all(c[0] is None for c in cells)


def test_config_allow_gc_false_keeps_intermediates(monkeypatch):
    monkeypatch.setattr(config, "allow_gc", False)
    x, out, log = spy_graph()
    theano.function([x], out, mode=theano.Mode(linker="py", optimizer=None))(
        np.ones(3))
    assert log[1] is False


@pytest.mark.parametrize("mode", [NO_REWRITES, NO_GC])
def test_vm_keeps_no_reference_to_arguments_or_results(mode):
    x = T.dvector("x")
    f = theano.function([x], T.exp(x) * x, mode=mode)
    arg = np.ones(3)
    result = f(arg)
    refs = weakref.ref(arg), weakref.ref(result)
    del arg, result
    gc.collect()
    assert refs[0]() is None and refs[1]() is None


def test_pyvm_directly_and_thunk_backend():
    x = T.dvector("x")
    y = T.exp(x) * x
    f = theano.function([x], y, mode=NO_REWRITES)
    vm = PyVM(f.vm.program)
    np.testing.assert_allclose(vm([np.array([1.0])])[0], [np.e])
    assert all(t.backend == "py" for t in f.vm.program.thunks)
    node = y.owner
    cells_in, cells_out = [[np.ones(1)], [np.ones(1)]], [[None]]
    make_py_thunk(node, cells_in, cells_out)()
    np.testing.assert_allclose(cells_out[0][0], [1.0])


def test_failing_node_note():
    x, y = T.dvector("x"), T.dmatrix("y")
    line = sys._getframe().f_lineno + 1
    z = x * y
    f = theano.function([x, y], z, mode=NO_REWRITES)
    a = np.ones(2)
    b = np.ones((3, 3))
    with pytest.raises(ValueError) as info:
        f(a, b)
    (note,) = info.value.__notes__
    lines = note.splitlines()
    assert lines[0].startswith("Apply node that caused the error: mul(")
    assert "input 0:" in note and "shape=(1, 2) dtype=float64 strides=(" in note
    assert "shape=(3, 3) dtype=float64 strides=(24, 8)" in note
    assert f'The node was created at: File "{__file__}", line {line}' in note
    assert lines[-1].startswith("HINT:") and "exception_verbosity=high" in lines[-1]
    # GC mode: nothing is left in the cells after the failure
    assert all(c[0] is None for c in f.vm.program.cells
               if c not in [f.vm.program.cells[i] for i in f.vm.program.constant_cells])


def test_failing_node_note_with_high_verbosity(monkeypatch):
    monkeypatch.setattr(config, "exception_verbosity", "high")
    x, y = T.dvector("x"), T.dvector("y")
    z = T.exp(x) + T.log(y)
    f = theano.function([x, y], z, mode=NO_REWRITES)
    with pytest.raises(ValueError) as info:
        f(np.ones(2), np.ones(3))
    note = info.value.__notes__[0]
    assert "The graph computing the node's inputs:" in note
    assert "exp -> Tensor{float64" in note and "log -> " in note
    assert note.splitlines()[-1].startswith("HINT:")


def test_describe_failure_without_site(monkeypatch):
    monkeypatch.setattr(config, "record_creation_site", False)
    x = T.dvector("x")
    node = T.exp(x).owner
    text = describe_failure(node, [np.zeros((2,))])
    assert "creation site was not recorded" in text
    assert "shape=(2,) dtype=float64 strides=(8,)" in text
    assert describe_failure(node, [[1.0]]).count("dtype=list") == 1


def test_vm_works_again_after_a_failure():
    x, y = T.dvector("x"), T.dvector("y")
    f = theano.function([x, y], x + y, mode=NO_REWRITES)
    with pytest.raises(ValueError):
        f(np.ones(2), np.ones(3))
    np.testing.assert_allclose(f(np.ones(2), np.ones(2)), [2.0, 2.0])


def test_memory_stays_bounded_in_gc_mode():
    n = 10_000
    x = T.dvector("x")
    y = x
    for _ in range(2_000):
        y = y * 1.0001 + 0.5
    f = theano.function([x], y, mode=NO_REWRITES)
    arg = np.zeros(n)
    f(arg)  # warm up
    tracemalloc.start()
    try:
        f(arg)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 4,000 intermediates of 80 kB would be 320 MB; a few live at once
    assert peak < 20 * arg.nbytes, f"peak {peak / 1e6:.1f} MB"
