"""Tests of symarray.vm.pyvm: the Python twin VM and failure notes.

Behaviour both VMs share (GC, no-GC, failure notes) runs under every
linker: ``py`` and ``vm`` (the Python twin), ``cvm`` and ``cvm_nogc``.
"""

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
from symarray.vm import CyStorage, PyVM, describe_failure, make_py_thunk

NO_REWRITES = theano.Mode(linker="py", optimizer=None)
NO_GC = theano.Mode(linker="py_nogc", optimizer=None)
GC_LINKERS = ["py", "vm", "cvm"]
NOGC_LINKERS = ["py_nogc", "vm_nogc", "cvm_nogc"]
ALL_LINKERS = GC_LINKERS + NOGC_LINKERS


def mode(linker):
    return theano.Mode(linker=linker, optimizer=None)


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


@pytest.mark.parametrize("linker", GC_LINKERS)
def test_gc_frees_intermediates_after_last_use(linker):
    x, out, log = spy_graph()
    f = theano.function([x], out, mode=mode(linker))
    f(np.ones(3))
    assert log[1] is True


@pytest.mark.parametrize("linker", NOGC_LINKERS)
def test_no_gc_keeps_intermediates_until_free(linker):
    x, out, log = spy_graph()
    f = theano.function([x], out, mode=mode(linker))
    f(np.ones(3))
    assert log[1] is False
    cells = f.vm.program.cells
    assert any(v is not None for v in cells.values())
    f.free()
    assert all(v is None for v in cells.values())


def test_config_allow_gc_false_keeps_intermediates(monkeypatch):
    monkeypatch.setattr(config, "allow_gc", False)
    x, out, log = spy_graph()
    theano.function([x], out, mode=theano.Mode(linker="py", optimizer=None))(
        np.ones(3))
    assert log[1] is False


@pytest.mark.parametrize("linker", ALL_LINKERS)
def test_vm_keeps_no_reference_to_arguments_or_results(linker):
    x = T.dvector("x")
    f = theano.function([x], T.exp(x) * x.dimshuffle(0, "x").T[0], mode=mode(linker))
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
    thunk = make_py_thunk(y.owner)
    storage = CyStorage(3)
    thunk.bind(storage, [0, 1], [2])
    storage[0], storage[1] = np.ones(1), np.ones(1)
    thunk()
    np.testing.assert_allclose(storage[2], [1.0])
    assert thunk.input_values()[0] is storage[0]
    with pytest.raises(TypeError, match="takes 1 input values, got 2"):
        vm([np.ones(1), np.ones(1)])


def test_unbound_thunk_refuses_to_run():
    thunk = make_py_thunk(T.exp(T.dvector("x")).owner)
    with pytest.raises(RuntimeError, match="not bound"):
        thunk()
    with pytest.raises(ValueError, match="1 inputs and 1 outputs"):
        thunk.bind(CyStorage(3), [0, 1], [2])


@pytest.mark.parametrize("linker", ALL_LINKERS)
def test_failing_node_note(linker):
    x, y = T.dvector("x"), T.dmatrix("y")
    line = sys._getframe().f_lineno + 1
    z = x * y
    f = theano.function([x, y], z, mode=mode(linker))
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
    # nothing the caller passed is left in the cells after the failure; in GC
    # mode nothing at all
    cells = f.vm.program.cells
    consts = set(f.vm.program.constant_cells)
    left = [i for i, v in enumerate(cells.values())
            if v is not None and i not in consts]
    if linker.endswith("_nogc"):
        assert not set(left) & set(f.vm.program.after_call)
    else:
        assert left == []


class Boom(Op):
    """Raises KeyError (not a ValueError) when it runs."""

    def make_node(self, x):
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        raise KeyError("boom")


@pytest.mark.parametrize("linker", ALL_LINKERS)
def test_failure_keeps_the_exception_type(linker):
    x = T.dvector("x")
    f = theano.function([x], Boom()(T.exp(x)) * 2.0, mode=mode(linker))
    with pytest.raises(KeyError, match="boom") as info:
        f(np.ones(2))
    assert "Apply node that caused the error: Boom" in info.value.__notes__[0]
    np.testing.assert_allclose(
        theano.function([x], T.exp(x) * 2.0, mode=mode(linker))([0.0]), [2.0])


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


@pytest.mark.parametrize("linker", ALL_LINKERS)
def test_vm_works_again_after_a_failure(linker):
    x, y = T.dvector("x"), T.dvector("y")
    f = theano.function([x, y], x + y, mode=mode(linker))
    with pytest.raises(ValueError):
        f(np.ones(2), np.ones(3))
    np.testing.assert_allclose(f(np.ones(2), np.ones(2)), [2.0, 2.0])


@pytest.mark.parametrize("linker", GC_LINKERS)
def test_memory_stays_bounded_in_gc_mode(linker):
    n = 10_000
    x = T.dvector("x")
    y = x
    for _ in range(2_000):
        y = y * 1.0001 + 0.5
    f = theano.function([x], y, mode=mode(linker))
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
