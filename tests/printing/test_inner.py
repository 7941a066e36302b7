"""Tests of symarray.printing.inner: the "Inner graphs:" sections of
debugprint for scan, ifelse and fused composites."""

from __future__ import annotations

import re

import numpy as np

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.graph import Apply, FunctionGraph, Op
from symarray.ifelse import ifelse
from symarray.printing import debugprint


def _dp(obj, **kw) -> list[str]:
    return debugprint(obj, file="str", **kw).rstrip("\n").split("\n")


def _id(lines: list[str], start: str) -> str:
    """The id on the first line whose text (after the tree prefix) starts so."""
    for ln in lines:
        if ln.lstrip(" |>").removeprefix("then: ").removeprefix("else: ").startswith(
                start):
            return re.search(r"\[id \w+\]", ln).group(0)
    raise AssertionError(f"no line starts with {start!r}: {lines}")


def _section(lines: list[str]) -> list[str]:
    assert "Inner graphs:" in lines, lines
    return lines[lines.index("Inner graphs:") + 1:]


def _scan():
    x, A, k = T.dvector("x"), T.dmatrix("A"), T.iscalar("k")
    res, _ = theano.scan(lambda prev, a: T.dot(prev, a) * 2 + 1,
                         outputs_info=x, non_sequences=A, n_steps=k)
    return (x, A, k), res


def test_scan_inner_graph_points_at_outer_inputs():
    _, res = _scan()
    lines = _dp(res)
    inner = _section(lines)
    scan_id = _id(lines, "scan")
    assert inner[0] == "" and inner[1] == f"scan {scan_id}"
    assert all(ln.startswith(" >") for ln in inner[2:])
    assert inner[2].startswith(" >add [id")
    # the carried state reads the initial-value buffer, A the outer A
    a_outer = _id(lines, "A")
    init_outer = _id(lines, "DimShuffle{x,0}")
    assert any(re.search(rf"x\[t-1\] \[id \w+\] -> {re.escape(init_outer)}$", ln)
               for ln in inner)
    assert any(re.search(rf"A \[id \w+\] -> {re.escape(a_outer)}$", ln) for ln in inner)


def test_scan_in_a_compiled_function():
    (x, A, k), res = _scan()
    f = theano.function([x, A, k], res[-1])
    lines = _dp(f)
    assert re.search(r"scan \[id \w+\]   \d+ \[c\]", "\n".join(lines))
    inner = _section(lines)
    assert any(ln.startswith(" > | |Dot") for ln in inner)
    np.testing.assert_allclose(f([1.0, 0.0], np.eye(2), 2), [7.0, 3.0])


def test_sequences_and_nit_sot_outputs():
    xs = T.dmatrix("xs")
    ys, _ = theano.scan(lambda row: T.sum(row ** 2), sequences=xs)
    lines = _dp(ys)
    inner = _section(lines)
    xs_id = _id(lines, "xs")
    assert any(ln.endswith(f"-> {xs_id}") for ln in inner)


def test_ifelse_tags_and_lazy_blocks():
    a, b = T.dscalars("a", "b")
    g = theano.function([a, b], ifelse(a < b, T.exp(a) * 2 + b, b * 3))
    lines = _dp(g)
    assert lines[1].startswith(" |cond: lt")
    assert any(ln.startswith(" |then: ") for ln in lines)
    assert any(ln.startswith(" |else: mul") for ln in lines)
    inner = _section(lines)
    if_id = _id(lines, "if")
    assert f"if {if_id}" in inner
    block = inner[inner.index(f"if {if_id}") + 1:]
    assert block[0].startswith(" >then: Composite{")
    assert block[1] == f" >else: mul {_id(lines, 'mul')}"
    assert g(1.0, 2.0) == np.exp(1.0) * 2 + 2.0 and g(2.0, 1.0) == 3.0


def test_ifelse_branch_computed_outside_says_so():
    a, b = T.dscalars("a", "b")
    e = T.exp(a)
    out = ifelse(a < b, e, e + b) + e  # e is needed outside the branches
    lines = _dp(out)
    inner = _section(lines)
    assert " >then: (no node runs only in this branch)" in inner
    assert any(ln.startswith(" >else: add") for ln in inner)


def test_composite_program_is_drawn_over_registers():
    x, y = T.dvectors("x", "y")
    f = theano.function([x, y], T.exp(x) * 2 + T.sin(x) * y)
    lines = _dp(f)
    comp_line = lines[0]
    assert comp_line.startswith("Composite{")
    inner = _section(lines)
    assert inner[1].startswith("Composite{") and "   0" not in inner[1]
    x_id, y_id = _id(lines, "x"), _id(lines, "y")
    regs = [ln for ln in inner if re.search(r"\bi\d \[id", ln)]
    assert any(ln.endswith(f"-> {x_id}") for ln in regs)
    assert any(ln.endswith(f"-> {y_id}") for ln in regs)
    assert any(ln.lstrip(" >|").startswith("2.0 [id") for ln in inner)
    ops = {ln.lstrip(" >|").split(" ")[0] for ln in inner[2:]}
    assert {"add", "mul", "exp", "sin"} <= ops


def test_composite_section_without_ids():
    x = T.dvector("x")
    f = theano.function([x], T.exp(x) + T.sin(x))
    inner = _section(_dp(f, ids=""))
    assert any(ln.endswith("-> x") for ln in inner)


class _WithInnerGraph(Op):
    """An op carrying a FunctionGraph (like Theano's OpFromGraph)."""

    def __init__(self, fgraph):
        self.fgraph = fgraph

    def make_node(self, x):
        return Apply(self, [x], [x.type()])


def test_any_op_with_an_fgraph_attribute():
    a = T.dvector("a")
    inner = FunctionGraph([a], [T.exp(a) + 1.0])
    x = T.dvector("x")
    lines = _dp(_WithInnerGraph(inner)(x))
    section = _section(lines)
    assert section[1].startswith("_WithInnerGraph [id A]")
    assert section[2].startswith(" >add [id")
