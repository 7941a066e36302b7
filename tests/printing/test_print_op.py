"""Tests of symarray.printing.print_op: the Print identity op."""

from __future__ import annotations

import re

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.printing import Print, debugprint

LINKERS = ("py", "vm", "cvm", "cvm_nogc")


@pytest.mark.parametrize("linker", LINKERS)
def test_prints_each_call_and_returns_the_value(linker, capsys):
    x = T.dvector("x")
    f = theano.function([x], Print("x is")(x) * 2, mode=theano.Mode(linker=linker))
    for value in ([1.0, 2.0], [3.0]):
        np.testing.assert_allclose(f(value), np.multiply(value, 2))
        assert capsys.readouterr().out == f"x is __str__ = {np.array(value)}\n"
    # the thunk is Python under every linker
    assert "Print{x is}" in debugprint(f, file="str")
    line = next(ln for ln in debugprint(f, file="str").split("\n") if "Print" in ln)
    assert line.endswith("[py]")


@pytest.mark.parametrize("linker", LINKERS)
def test_attrs_and_order(linker, capsys):
    x = T.dmatrix("x")
    p = Print("m", attrs=["shape", "sum"])(x)  # lists work, callables are called
    f = theano.function([x], T.exp(p), mode=theano.Mode(linker=linker))
    f(np.ones((2, 3)))
    assert capsys.readouterr().out == "m shape = (2, 3)\nm sum = 6.0\n"


def test_global_fn(capsys):
    seen = []
    x = T.dvector("x")
    f = theano.function([x], Print("g", global_fn=lambda op, v: seen.append(
        (op.message, v.copy())))(x) + 1)
    f([1.0, 2.0])
    assert capsys.readouterr().out == ""
    assert seen[0][0] == "g"
    np.testing.assert_array_equal(seen[0][1], [1.0, 2.0])


def test_not_constant_folded(capsys):
    c = Print("const")(T.constant(np.arange(3.0)))
    f = theano.function([], c * 2)
    assert capsys.readouterr().out == ""  # nothing printed while compiling
    f()
    f()
    assert capsys.readouterr().out.count("const __str__") == 2


def test_merging_keeps_different_messages_apart(capsys):
    x = T.dvector("x")
    f = theano.function([x], Print("a")(x) + Print("a")(x) + Print("b")(x))
    np.testing.assert_allclose(f([1.0]), [3.0])
    out = capsys.readouterr().out
    assert out.count("a __str__") == 1 and out.count("b __str__") == 1
    nodes = [n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, Print)]
    assert sorted(n.op.message for n in nodes) == ["a", "b"]


def test_gradient_and_r_op_pass_through(capsys):
    x = T.dvector("x")
    cost = (Print("p")(x) ** 2).sum()
    g = theano.function([x], theano.grad(cost, x))
    np.testing.assert_allclose(g([1.0, 3.0]), [2.0, 6.0])
    v = T.dvector("v")
    r = theano.function([x, v], theano.Rop(Print("r")(x) * 3.0, x, v))
    np.testing.assert_allclose(r([1.0, 2.0], [1.0, -1.0]), [3.0, -3.0])
    capsys.readouterr()


def test_output_does_not_alias_the_callers_array(capsys):
    x = T.dvector("x")
    f = theano.function([x], Print("id")(x))
    a = np.array([1.0, 2.0])
    out = f(a)
    np.testing.assert_array_equal(out, a)
    assert not np.shares_memory(out, a)
    capsys.readouterr()


def test_view_map_and_infer_shape():
    x = T.dmatrix("x")
    p = Print("s")(x)
    assert p.owner.op.view_map == {0: [0]}
    assert p.type == x.type
    shape = theano.function([x], p.shape)
    np.testing.assert_array_equal(shape(np.zeros((2, 5))), [2, 5])


def test_non_variable_input_is_converted(capsys):
    p = Print("lit")([1.0, 2.0])
    np.testing.assert_allclose(p.eval(), [1.0, 2.0])
    assert "lit __str__" in capsys.readouterr().out


def test_equality_and_str():
    assert Print("a") == Print("a") and hash(Print("a")) == hash(Print("a"))
    assert Print("a") != Print("b")
    assert Print("a", attrs=("shape",)) != Print("a")
    assert str(Print("hello")) == "Print{hello}"


@pytest.mark.parametrize("kwargs, words", [
    ({"message": 3}, "message must be a str"),
    ({"attrs": "shape"}, "write attrs=('shape',)"),
    ({"attrs": ()}, "non-empty sequence"),
    ({"attrs": (1,)}, "non-empty sequence"),
    ({"global_fn": "print"}, "global_fn must be callable"),
])
def test_bad_arguments(kwargs, words):
    with pytest.raises(TypeError, match=re.escape(words)):
        Print(**kwargs)


def test_missing_attribute_is_explained():
    x = T.dvector("x")
    f = theano.function([x], Print("x", attrs=("nope",))(x))
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        f([1.0])
