"""Export a graph to networkx for analysis and pictures.

networkx is imported only when this is called, so ``import symarray`` stays
fast.
"""

from __future__ import annotations

from typing import Any

from symarray.graph.basic import Variable
from symarray.graph.fg import FunctionGraph

__all__ = ["to_networkx"]


def to_networkx(fgraph: FunctionGraph) -> Any:
    """Return a ``networkx.DiGraph`` of ``fgraph``.

    Nodes are the Apply nodes and the Variables; edges go from each input
    variable to the node that reads it (attribute ``index``: the input slot)
    and from each node to its outputs.  Node attributes: ``kind`` ("apply",
    "input", "constant", "output" or "variable"), ``label`` and, for Apply
    nodes, ``op``.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> from symarray.graph import FunctionGraph, to_networkx
    >>> x = T.dvector("x")
    >>> g = to_networkx(FunctionGraph([x], [T.exp(x) + 1]))
    >>> g.number_of_nodes() > 3
    True
    """
    import networkx as nx

    g = nx.DiGraph()
    outputs = set(fgraph.outputs)
    inputs = set(fgraph.inputs)

    def add_var(v: Variable) -> None:
        if v in g:
            return
        if v in outputs:
            kind = "output"
        elif v in inputs:
            kind = "input"
        elif v.owner is None:
            kind = "constant"
        else:
            kind = "variable"
        g.add_node(v, kind=kind, label=str(v), type=str(v.type))

    for node in fgraph.toposort():
        g.add_node(node, kind="apply", label=str(node.op), op=node.op)
        for i, inp in enumerate(node.inputs):
            add_var(inp)
            g.add_edge(inp, node, index=i)
        for i, out in enumerate(node.outputs):
            add_var(out)
            g.add_edge(node, out, index=i)
    for v in fgraph.inputs + fgraph.outputs:
        add_var(v)
    return g


