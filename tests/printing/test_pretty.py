"""Tests of symarray.printing.pretty: pp's infix text, precedence, rules."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.graph import FunctionGraph
from symarray.printing import PPrinter, Print, pp, pprint
from symarray.tensor.blas import Dot

x, y, z, W = T.dmatrices("x", "y", "z", "W")
v = T.dvector("v")
k = T.iscalar("k")

CASES = [
    (lambda: (x + y) * T.exp(z), "((x + y) * exp(z))"),
    (lambda: x + y * z, "(x + y * z)"),
    (lambda: x - y - z, "(x - y - z)"),
    (lambda: x - (y - z), "(x - (y - z))"),
    (lambda: (x - y) - (z - x), "(x - y - (z - x))"),
    (lambda: x / (y * z), "(x / (y * z))"),
    (lambda: x / y - z, "(x / y - z)"),
    (lambda: x ** y ** z, "(x ** y ** z)"),
    (lambda: (x ** y) ** z, "((x ** y) ** z)"),
    (lambda: (-x) ** 2, "((-x) ** 2.0)"),
    (lambda: -x ** 2, "-(x ** 2.0)"),
    (lambda: -(x + y), "-(x + y)"),
    (lambda: -x, "-x"),
    (lambda: x * -1.0, "(x * -1.0)"),
    (lambda: x >= y, "(x >= y)"),
    (lambda: (x > 0) & (y > 0), "((x > 0.0) & (y > 0.0))"),
    (lambda: ~(x > 0), "~(x > 0.0)"),
    (lambda: x % 2 + x // 3, "(x % 2.0 + x // 3.0)"),
    (lambda: T.sum(x, axis=1), "sum(x, axis=1)"),
    (lambda: x.sum(), "sum(x)"),
    (lambda: T.max(x, axis=0) * 2, "(max(x, axis=0) * 2.0)"),
    (lambda: T.argmax(x, axis=1), "argmax(x, axis=1)"),
    (lambda: x[1:3], "x[1:3]"),
    (lambda: x[1:3, ::2], "x[1:3, ::2]"),
    (lambda: x[0], "x[0]"),
    (lambda: x[k:], "x[k:]"),
    (lambda: x[k, 1:k:2], "x[k, 1:k:2]"),
    (lambda: (x + y)[0], "(x + y)[0]"),
    (lambda: x[[0, 1]], "x[[0, 1]]"),
    (lambda: T.set_subtensor(x[0], v), "set_subtensor(x[0], v)"),
    (lambda: T.inc_subtensor(x[1:], y[1:]), "inc_subtensor(x[1:], y[1:])"),
    (lambda: T.dot(x, W), "dot(x, W)"),
    (lambda: T.dot(x, W) + v, "(dot(x, W) + v)"),
    (lambda: x.T, "x.T"),
    (lambda: (x + y).T, "(x + y).T"),
    (lambda: x.dimshuffle(0, "x", 1), "x.dimshuffle(0, 'x', 1)"),
    (lambda: x.shape, "x.shape"),
    (lambda: x.shape[0], "x.shape[0]"),
    (lambda: x.reshape((2, -1)), "x.reshape([2, -1])"),
    (lambda: T.cast(x, "float32"), "cast(x, 'float32')"),
    (lambda: abs(x), "abs(x)"),
    (lambda: T.switch(x > 0, x, 0), "switch(x > 0.0, x, 0.0)"),
    (lambda: T.maximum(x, y), "maximum(x, y)"),
    (lambda: T.concatenate([x, y], axis=1), "concatenate([x, y], axis=1)"),
    (lambda: x + np.ones((2, 3)), "(x + full((2, 3), 1.0))"),
    (lambda: Print("hi")(x), "Print{hi}(x)"),
    (lambda: T.nnet.softmax(x), "Softmax{axis=1}(x)"),  # no rule: op(args)
]


@pytest.mark.parametrize("build, expected", CASES, ids=[c[1] for c in CASES])
def test_pp_table(build, expected):
    assert pp(build()) == expected


def test_named_intermediates_print_their_expression_and_unnamed_inputs_their_type():
    h = T.exp(x)
    h.name = "h"
    assert pp(h + 1) == "(exp(x) + 1.0)"
    anon = T.dvector()
    assert pp(anon * 2) == f"({anon} * 2.0)"


def test_theano_names():
    out = x * y
    assert theano.pp(out) == theano.printing.pp(out) == pprint(out) == "(x * y)"
    assert pprint.process(out) == "(x * y)"


def test_compiled_function_expands_fused_composites():
    a, b = T.dvectors("a", "b")
    f = theano.function([a, b], [T.exp(a) * 2 + T.sin(a) * b, T.sum(a ** 2)])
    text = pp(f).split("\n")
    assert text[0] == "(exp(a) * 2.0 + sin(a) * b)"
    assert text[1].startswith("sum(") and "a" in text[1]
    assert pp(f.maker.fgraph) == pp(f)
    assert pp(f.maker.fgraph.outputs[0]) == text[0]


def test_lists_and_apply_and_ifelse_and_scan():
    from symarray.ifelse import ifelse

    assert pp([x + y, x.T]) == "(x + y)\nx.T"
    assert pp((x * y).owner) == "(x * y)"
    a, b = T.dscalars("a", "b")
    assert pp(ifelse(a < b, a, b)) == "ifelse(a < b, a, b)"
    outs = ifelse(a < b, [a, b], [b, a])
    assert pp(outs[1]) == "ifelse(a < b, (a, b), (b, a))[1]"
    ys, _ = theano.scan(lambda r: r * 2, sequences=x)
    assert pp(ys).startswith("scan(")


def test_user_rules():
    printer = pprint.clone()
    printer.assign(Dot, lambda var, pstate: "{} @@ {}".format(
        *(pstate.pprinter.process(i, pstate) for i in var.owner.inputs)))
    assert printer(T.dot(x, W) + 1) == "(x @@ W + 1.0)"
    assert pp(T.dot(x, W)) == "dot(x, W)"  # the default printer is unchanged

    class TheanoStylePrinter:
        def process(self, r, pstate):
            return "E[" + pstate.pprinter.process(r.owner.inputs[0], pstate) + "]"

    p2 = PPrinter()
    p2.assign(lambda pstate, r: r.owner is not None and str(r.owner.op) == "exp",
              TheanoStylePrinter())
    assert p2(T.exp(x + y) * 2) == "(E[x + y] * 2.0)"
    p3 = PPrinter()
    op = T.exp(x).owner.op
    p3.assign(op, lambda var, pstate: "EXP")
    p3.assign(lambda var: var.name == "special", lambda var, pstate: "S")
    s = x * 1
    s.name = "special"
    assert p3(T.exp(y) + s) == "(EXP + S)"


@pytest.mark.parametrize("condition, printer, words", [
    (3, lambda v, s: "", "condition must be"),
    (Dot, "nope", "printer must be"),
])
def test_assign_errors(condition, printer, words):
    with pytest.raises(TypeError, match=words):
        PPrinter().assign(condition, printer)


@pytest.mark.parametrize("obj", [3, None, []])
def test_pp_bad_objects(obj):
    with pytest.raises((TypeError, ValueError), match="pass a Variable"):
        pp(obj)


def test_process_needs_a_variable():
    with pytest.raises(TypeError, match="process takes a Variable"):
        pprint.process(FunctionGraph([x], [x + 1]))


def test_deep_graph_does_not_recurse():
    out = T.dscalar("s")
    for _ in range(2000):
        out = T.exp(out)
    assert pp(out).count("exp(") == 2000


def test_long_shared_subexpressions_are_printed_once():
    a = T.dvector("a")
    out = a
    for k in range(60):  # each level reads the previous one twice
        out = T.exp(out) * (k + 1.0) + T.sin(out)
    text = pp(out)
    assert len(text) < 50_000  # 2**60 copies otherwise
    lines = text.split("\n")
    tags = [ln.split(" = ")[0].strip() for ln in lines[1:]]
    assert tags and all(t.startswith("<") and t.endswith(">") for t in tags)
    assert all(t in text.split("\n", 1)[0] or any(t in ln for ln in lines[1:])
               for t in tags)
    s = a + 1
    assert pp(s * s) == "((a + 1.0) * (a + 1.0))"  # short ones stay inline
    small = PPrinter()
    small.share_limit = 5
    assert small(s * s) == "(<A> * <A>)\n  <A> = a + 1.0"
