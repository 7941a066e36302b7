"""Tests of symarray.graph.nx: exporting a FunctionGraph to networkx."""

from __future__ import annotations

import networkx as nx

import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.graph import FunctionGraph, to_networkx


def test_to_networkx_structure_and_attributes():
    x, y = T.dvector("x"), T.dvector("y")
    e = T.exp(x)
    out = e * y
    fg = FunctionGraph([x, y], [out, e], clone=False)
    g = to_networkx(fg)
    assert isinstance(g, nx.DiGraph)
    assert nx.is_directed_acyclic_graph(g)
    # 2 apply nodes + x, y, e, out
    assert g.number_of_nodes() == 6
    assert g.nodes[x]["kind"] == "input" and g.nodes[x]["label"] == "x"
    assert g.nodes[out]["kind"] == "output"
    assert g.nodes[e]["kind"] == "output"
    node = out.owner
    assert g.nodes[node]["kind"] == "apply"
    assert g.nodes[node]["op"] == node.op
    assert g.nodes[node]["label"] == str(node.op)
    assert g.edges[e, node]["index"] == 0 and g.edges[y, node]["index"] == 1
    assert g.edges[node, out]["index"] == 0
    assert g.nodes[x]["type"] == str(x.type)
    # every path from an input ends at an output
    assert nx.has_path(g, x, out) and not nx.has_path(g, y, e)


def test_to_networkx_constants_intermediates_and_unused_inputs():
    x, unused = T.dvector("x"), T.dvector("unused")
    mid = T.exp(x)
    out = T.log(mid) + 1.0
    g = to_networkx(FunctionGraph([x, unused], [out], clone=False))
    kinds = nx.get_node_attributes(g, "kind")
    assert kinds[mid] == "variable"
    assert "constant" in kinds.values()
    assert kinds[unused] == "input" and g.degree(unused) == 0
    order = list(nx.topological_sort(g))
    assert order.index(x) < order.index(mid) < order.index(out)


def test_to_networkx_output_that_is_an_input():
    x = T.dvector("x")
    g = to_networkx(FunctionGraph([x], [x], clone=False))
    assert list(g.nodes) == [x] and g.nodes[x]["kind"] == "output"
