"""Tests of symarray.compile.mode: Mode objects and names."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import config
from symarray.compile.mode import (
    PREDEFINED_MODES,
    REWRITE_PIPELINES,
    Mode,
    get_default_mode,
    get_mode,
    register_mode,
)
from symarray.errors import ConfigError


@pytest.mark.parametrize("name, optimizer", [
    ("FAST_RUN", "fast_run"), ("FAST_COMPILE", "fast_compile"),
])
def test_named_modes(name, optimizer):
    mode = get_mode(name)
    assert isinstance(mode, Mode) and mode.optimizer == optimizer
    assert get_mode(name) == mode and get_mode(mode) is mode
    assert get_mode("FAST_COMPILE").linker == "py"
    from symarray.compile import mode as mode_module

    assert getattr(mode_module, name) == mode
    with pytest.raises(AttributeError):
        mode_module.NO_SUCH_MODE  # noqa: B018


def test_default_mode_follows_config(monkeypatch):
    assert get_default_mode() == get_mode(config.mode)
    monkeypatch.setattr(config, "mode", "FAST_COMPILE")
    assert get_default_mode().optimizer == "fast_compile"
    assert get_mode(None).optimizer == "fast_compile"


def test_mode_from_theano_arguments():
    mode = Mode(linker="c|py_nogc", optimizer="stabilize")
    assert mode.linker == "c|py_nogc" and mode.optimizer == "stabilize"
    assert Mode(optimizer=None).optimizer is None
    assert Mode(optimizer="None").optimizer is None
    assert Mode().linker == config.linker and Mode().optimizer == config.optimizer
    assert "linker='c|py_nogc'" in repr(mode)
    assert theano.Mode is Mode and theano.get_mode is get_mode


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ConfigError, match="unknown mode 'FAST_RUNN'; did you mean "
                       "'FAST_RUN'.*known: .*FAST_COMPILE"):
        get_mode("FAST_RUNN")
    with pytest.raises(ConfigError, match="unknown linker 'cvn'.*known: .*'py'"):
        Mode(linker="cvn")
    with pytest.raises(ConfigError, match="unknown optimizer 'stabilise'; did you mean "
                       "'stabilize'.*known: .*fast_run"):
        Mode(optimizer="stabilise")
    with pytest.raises(TypeError, match="mode must be a Mode or a mode name"):
        get_mode(3)
    x = T.dscalar("x")
    with pytest.raises(ConfigError, match="unknown mode"):
        theano.function([x], x, mode="FAST")


def test_including_excluding_requiring_return_new_modes():
    base = Mode(linker="py", optimizer="fast_run")
    inc = base.including("fusion", "inplace")
    exc = inc.excluding("inplace")
    req = exc.requiring("fast_run")
    assert base.included == () and base.excluded == () and base.required == ()
    assert inc.included == ("fusion", "inplace") and inc is not base
    assert exc.excluded == ("inplace",) and exc.included == inc.included
    assert req.required == ("fast_run",)
    assert req.linker == base.linker and req.optimizer == base.optimizer
    assert base != inc and inc == Mode(linker="py").including("fusion", "inplace")
    assert hash(inc) == hash(Mode(linker="py").including("fusion", "inplace"))
    assert "including=('fusion', 'inplace')" in repr(inc)


def test_config_optimizer_tags_join_the_query(monkeypatch):
    monkeypatch.setattr(config, "optimizer_including", "a:b")
    monkeypatch.setattr(config, "optimizer_excluding", "c")
    mode = Mode()
    assert mode.included == ("a", "b") and mode.excluded == ("c",)


def test_register_mode():
    register_mode("TEST_MODE_X", lambda: Mode(linker="py", optimizer=None))
    try:
        assert get_mode("TEST_MODE_X").optimizer is None
        with pytest.raises(ValueError, match="already registered"):
            register_mode("TEST_MODE_X", Mode)
    finally:
        del PREDEFINED_MODES["TEST_MODE_X"]


def test_rewrite_pipeline_runs_for_its_optimizer_name():
    seen = []

    def pipeline(fgraph, mode):
        seen.append((len(fgraph.apply_nodes), mode.included))
        out = fgraph.outputs[0]
        fgraph.replace(out, out.owner.inputs[0])  # drop the last node

    REWRITE_PIPELINES["test_drop_last"] = pipeline
    try:
        x = T.dvector("x")
        mode = Mode(optimizer="test_drop_last").including("tag")
        f = theano.function([x], T.exp(x) * x, mode=mode)
        assert seen == [(2, ("tag",))]
        np.testing.assert_allclose(f([0.0]), [1.0])
    finally:
        del REWRITE_PIPELINES["test_drop_last"]
