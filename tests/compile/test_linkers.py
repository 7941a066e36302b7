"""Tests of symarray.compile.linkers: the linker registry."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import config
from symarray.compile.linkers import LINKERS, check_linker, make_vm, register_linker
from symarray.errors import ConfigError
from symarray.graph.fg import FunctionGraph
from symarray.vm import PyVM

THEANO_NAMES = ["py", "c|py", "vm", "cvm", "py_nogc", "c|py_nogc", "vm_nogc",
                "cvm_nogc"]


def test_theano_linker_names_are_registered():
    for name in THEANO_NAMES:
        assert name in LINKERS
        assert check_linker(name) == name


def test_unknown_linker_lists_known_ones():
    with pytest.raises(ConfigError, match=r"unknown linker 'c\|pi'; did you mean "
                       r"\[.*'c\|py'.*known: \["):
        check_linker("c|pi")


@pytest.mark.parametrize("name", THEANO_NAMES)
def test_every_linker_computes_the_same(name):
    x = T.dmatrix("x")
    y = (T.exp(x) * x.T).sum()
    f = theano.function([x], y, mode=theano.Mode(linker=name, optimizer=None))
    a = np.arange(4.0).reshape(2, 2) / 4
    np.testing.assert_allclose(f(a), (np.exp(a) * a.T).sum())
    assert f.vm.program.allow_gc == (not name.endswith("_nogc"))


def test_make_vm_and_config_allow_gc(monkeypatch):
    x = T.dvector("x")
    fg = FunctionGraph([x], [T.exp(x) * x])
    schedule = fg.toposort()
    vm = make_vm("py", fg, schedule, allow_gc=True)
    assert isinstance(vm, PyVM) and vm.program.allow_gc
    assert not make_vm("py_nogc", fg, schedule, allow_gc=True).program.allow_gc
    with pytest.raises(ConfigError):
        make_vm("nope", fg, schedule, True)
    monkeypatch.setattr(config, "allow_gc", False)
    f = theano.function([x], T.exp(x) * x, mode=theano.Mode(linker="py"))
    assert not f.vm.program.allow_gc


def test_register_a_linker():
    calls = []

    @register_linker("test_linker")
    def factory(fgraph, schedule, allow_gc):
        calls.append((len(schedule), allow_gc))
        inner = make_vm("py", fgraph, schedule, allow_gc)
        return lambda values: [2 * v for v in inner(values)]

    try:
        assert "test_linker" in LINKERS and "test_linker_nogc" in LINKERS
        x = T.dvector("x")
        f = theano.function([x], x + 1.0,
                            mode=theano.Mode(linker="test_linker_nogc", optimizer=None))
        np.testing.assert_allclose(f([1.0]), [4.0])
        assert calls == [(2, False)]
    finally:
        del LINKERS["test_linker"], LINKERS["test_linker_nogc"]


@pytest.mark.parametrize("name, vm_class, backends", [
    ("py", "PyVM", {"py"}), ("py_nogc", "PyVM", {"py"}),
    # Join runs perform, labelled "numpy" (kernels_c.numpy_backed)
    ("vm", "PyVM", {"c", "numpy"}), ("vm_nogc", "PyVM", {"c", "numpy"}),
    ("cvm", "CyVM", {"c", "numpy"}), ("cvm_nogc", "CyVM", {"c", "numpy"}),
    ("c|py", "CyVM", {"c", "numpy"}), ("c|py_nogc", "CyVM", {"c", "numpy"}),
])
def test_each_linker_picks_its_vm_and_thunks(name, vm_class, backends):
    x = T.dvector("x")
    f = theano.function([x], T.concatenate([T.exp(x), x]),
                        mode=theano.Mode(linker=name, optimizer=None))
    assert type(f.vm).__name__ == vm_class
    assert {t.backend for t in f.vm.program.thunks} == backends


def test_default_linker_is_cvm():
    # the flag's default (pytest --linker NAME changes the current value)
    assert next(f.default for f in config.flags() if f.name == "linker") == "cvm"


@pytest.mark.parametrize("name", THEANO_NAMES)
def test_nogc_linkers_plan_memory(name, monkeypatch):
    x = T.dvector("x")
    out = T.tanh(T.cos(T.sin(T.exp(x)) * x)) + x
    f = theano.function([x], out, mode=theano.Mode(linker=name, optimizer=None))
    plan = f.vm.program.memory_plan
    assert (plan is not None) == name.endswith("_nogc")
    if plan is not None:
        assert any(len(g) > 1 for g in plan.groups)
    np.testing.assert_allclose(f(np.arange(3.0)), np.tanh(np.cos(
        np.sin(np.exp(np.arange(3.0))) * np.arange(3.0))) + np.arange(3.0))
    monkeypatch.setattr(config, "memory_plan", False)
    g = theano.function([x], out, mode=theano.Mode(linker=name, optimizer=None))
    assert g.vm.program.memory_plan is None


@pytest.mark.parametrize("name", ["cvm_nogc", "vm_nogc", "cvm"])
def test_free_releases_buffers_and_the_function_keeps_working(name):
    x = T.dvector("x")
    f = theano.function([x], T.tanh(T.exp(x) * 2.0) - x,
                        mode=theano.Mode(linker=name, optimizer=None))
    a = np.linspace(0.0, 1.0, 5)
    expected = np.tanh(np.exp(a) * 2.0) - a
    np.testing.assert_allclose(f(a), expected)
    cells = f.vm.program.cells
    consts = set(f.vm.program.constant_cells)
    held = [c for c in range(len(cells)) if c not in consts and cells[c] is not None]
    assert bool(held) == name.endswith("_nogc")
    f.free()
    assert all(cells[c] is None for c in range(len(cells)) if c not in consts)
    np.testing.assert_allclose(f(a), expected)
    np.testing.assert_allclose(f(a[:2]), expected[:2])


@pytest.mark.parametrize("name", ["cvm_nogc", "vm_nogc", "cvm", "vm"])
def test_borrowed_outputs_in_nogc_mode_are_overwritten_by_the_next_call(name):
    x = T.dvector("x")
    mode = theano.Mode(linker=name, optimizer=None)
    f = theano.function([x], theano.Out(T.exp(x) * 2.0, borrow=True), mode=mode)
    g = theano.function([x], T.exp(x) * 2.0, mode=mode)  # not borrowed
    a, b = np.zeros(4), np.ones(4)
    first, first_g = f(a), g(a)
    second, second_g = f(b), g(b)
    np.testing.assert_allclose(second, 2 * np.exp(b))
    np.testing.assert_allclose(first_g, 2.0)  # never overwritten
    assert second_g is not first_g
    if name.endswith("_nogc"):  # the same buffer, now holding the new result
        assert second is first and f.vm.program.kept_outputs == (0,)
    else:
        np.testing.assert_allclose(first, 2.0)
        assert f.vm.program.kept_outputs == ()
    f.free()  # a borrowed result survives free() and later calls
    third = f(a)
    assert third is not second
    np.testing.assert_allclose(second, 2 * np.exp(b))
