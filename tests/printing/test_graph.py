"""Tests of symarray.printing._graph and the package's public face."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.printing._graph import (
    IdMaker,
    char_from_number,
    graph_view,
    short_value,
    variable_label,
)


@pytest.mark.parametrize("n, text", [(0, "A"), (25, "Z"), (26, "BA"), (27, "BB"),
                                     (26 * 26, "BAA")])
def test_char_from_number(n, text):
    assert char_from_number(n) == text


def test_char_from_number_rejects_negatives():
    with pytest.raises(ValueError, match=">= 0"):
        char_from_number(-1)


@pytest.mark.parametrize("value, text", [
    (np.float64(2.0), "2.0"), (np.array(3, dtype="int8"), "3"),
    (np.arange(3), "[0, 1, 2]"), (np.zeros((2, 3)), "(2, 3) of 0.0"),
    (np.arange(100.0), "[ 0., 1., ..., 98., 99.]"), ("abc", "'abc'"),
])
def test_short_value(value, text):
    assert short_value(value) == text


def test_short_value_is_cut():
    assert len(short_value(np.arange(1e6, 1e6 + 50), limit=20)) == 20


def test_ids_follow_nodes_and_shared_dict():
    x = T.dvector("x")
    out = T.exp(x)
    used: dict = {}
    ids = IdMaker("CHAR", used, "t")
    assert ids(out) == ids(out.owner) == "[id A]" and ids(x) == "[id B]"
    assert IdMaker("CHAR", used, "t")(T.log(x)) == "[id C]"  # continues the count
    assert IdMaker("", None, "t")(x) == ""


def test_variable_labels():
    assert variable_label(T.dvector("x")) == "x"
    assert variable_label(T.constant(2.5)) == "TensorConstant{2.5}"
    anon = T.dvector()
    assert variable_label(anon) == str(anon)


def test_graph_view_of_a_function_has_schedule_backends_and_storage():
    x = T.dvector("x")
    f = theano.function([x], T.exp(x) + 1)
    view = graph_view(f, "t")
    assert sorted(view.order.values()) == list(range(len(view.order)))
    assert set(view.backend.values()) <= {"c", "numpy", "py"}
    assert view.storage is not None and view.fgraph is f.maker.fgraph
    merged = graph_view([f, x * 2], "t")
    assert len(merged.outputs) == 2 and merged.fgraph is None


def test_lazy_public_names():
    x = T.dvector("x")
    assert theano.pp(x * 2) == "(x * 2.0)"
    from symarray import pp, printing

    assert pp is printing.pp and printing.debugprint is theano.printing.debugprint
    assert {"printing", "pp"} <= set(theano.__all__)


def test_import_symarray_does_not_load_printing():
    code = ("import sys, symarray; assert 'symarray.printing' not in sys.modules; "
            "symarray.printing; assert 'networkx' not in sys.modules; "
            "assert 'matplotlib' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("module", ["_graph", "debug", "dot", "inner", "labels",
                                    "pretty", "print_op"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"symarray.printing.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
