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
    ("vm", "PyVM", {"c", "py"}), ("vm_nogc", "PyVM", {"c", "py"}),
    ("cvm", "CyVM", {"c", "py"}), ("cvm_nogc", "CyVM", {"c", "py"}),
    ("c|py", "CyVM", {"c", "py"}), ("c|py_nogc", "CyVM", {"c", "py"}),
])
def test_each_linker_picks_its_vm_and_thunks(name, vm_class, backends):
    x = T.dvector("x")
    f = theano.function([x], T.exp(x).dimshuffle("x", 0),
                        mode=theano.Mode(linker=name, optimizer=None))
    assert type(f.vm).__name__ == vm_class
    assert {t.backend for t in f.vm.program.thunks} == backends


def test_default_linker_is_cvm():
    # the flag's default (pytest --linker NAME changes the current value)
    assert next(f.default for f in config.flags() if f.name == "linker") == "cvm"
