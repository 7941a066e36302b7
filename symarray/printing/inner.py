"""Inner graphs: the graphs that some ops carry inside them.

``debugprint`` prints a node's inputs as a tree, then, under
``Inner graphs:``, the graph each such node runs:

* ``Scan``: its step graph (``op.fgraph``); each inner input points at the
  outer input it reads (``x[t-1] [id F] -> [id B]``: the state's initial
  value, a sequence, a shared value or a non-sequence);
* a fused ``Elemwise(Composite)``: the scalar program, drawn as a graph
  over registers ``i0, i1, ...`` (pointing at the node's inputs) and its
  embedded constants;
* ``IfElse``: which nodes run only when its condition picks a branch (the
  lazy blocks of :mod:`symarray.control.branches`); the branches are part
  of the outer graph, so they are listed by id rather than drawn again;
* any other op with an ``fgraph`` attribute (a FunctionGraph): its outputs.

Ops are recognised only when their module is already imported: a graph
cannot hold a Scan unless :mod:`symarray.control.scan.op` was loaded, so
printing never imports the control-flow packages itself.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from symarray.graph.basic import Apply, Constant, Type, Variable
from symarray.graph.fg import FunctionGraph

__all__ = ["InnerGraph", "LazyBlocks", "inner_graph", "has_inner_graph",
           "is_scan", "is_ifelse", "ifelse_input_tags", "composite_of"]


@dataclass
class InnerGraph:
    """A graph to print under ``Inner graphs:``."""

    outputs: list[Variable]
    #: inner input -> the outer variable it stands for (``-> [id X]``)
    outer_of: dict[Variable, Variable] = field(default_factory=dict)
    #: labels replacing the usual text of some leaves (composite registers)
    leaf_labels: dict[Variable, str] = field(default_factory=dict)


@dataclass
class LazyBlocks:
    """The nodes an IfElse runs only for one side (listed, not drawn)."""

    then_nodes: list[Apply]
    else_nodes: list[Apply]


def _loaded(module: str, name: str) -> Any:
    mod = sys.modules.get(module)
    return None if mod is None else getattr(mod, name, None)


def is_scan(node: Apply) -> bool:
    cls = _loaded("symarray.control.scan.op", "Scan")
    return cls is not None and isinstance(node.op, cls)


def is_ifelse(node: Apply) -> bool:
    cls = _loaded("symarray.control.ifelse", "IfElse")
    return cls is not None and isinstance(node.op, cls)


def ifelse_input_tags(node: Apply) -> list[str]:
    """``cond: ``, ``then: ``, ``else: `` for each input of an IfElse node."""
    n = int(getattr(node.op, "n_outs"))  # noqa: B009 - an IfElse
    return ["cond: "] + ["then: "] * n + ["else: "] * n


def composite_of(node: Apply) -> Any:
    """The Composite of a fused Elemwise (or ReduceElemwise) node, else None."""
    cls = _loaded("symarray.scalar.composite", "Composite")
    scalar_op = getattr(node.op, "scalar_op", None)
    if cls is not None and isinstance(scalar_op, cls):
        return scalar_op
    return None


def has_inner_graph(node: Apply) -> bool:
    """True when :func:`inner_graph` has something to print for ``node``."""
    return (is_scan(node) or is_ifelse(node) or composite_of(node) is not None
            or isinstance(getattr(node.op, "fgraph", None), FunctionGraph))


def inner_graph(node: Apply, cache: dict[Any, Any]) -> InnerGraph | LazyBlocks | None:
    """The inner graph of ``node`` to print, or None when it has none.

    ``cache`` holds per-call state (the lazy blocks of the printed graph,
    the register graphs of composites); ``cache["lazy"]`` must be set by
    the caller to a ``node -> region`` dict when IfElse nodes are printed.
    """
    if is_scan(node):
        return _scan_graph(node)
    comp = composite_of(node)
    if comp is not None:
        return _composite_graph(comp, node)
    if is_ifelse(node):
        regions = cache.get("lazy") or {}
        return LazyBlocks(
            [n for n, r in regions.items() if r == (node, "then")],
            [n for n, r in regions.items() if r == (node, "else")],
        )
    fgraph = getattr(node.op, "fgraph", None)
    if isinstance(fgraph, FunctionGraph):
        return InnerGraph(list(fgraph.outputs))
    return None


def _scan_graph(node: Apply) -> InnerGraph:
    op: Any = node.op
    outer_of: dict[Variable, Variable] = {}
    for taps, outer in zip(op.inner_seqs(), op.outer_seqs(node), strict=False):
        for inner in taps:
            outer_of[inner] = outer
    for taps, outer in zip(op.inner_states(), op.outer_inits(node), strict=False):
        for inner in taps:
            outer_of[inner] = outer
    pairs = [*zip(op.inner_shared(), op.outer_shared(node), strict=False),
             *zip(op.inner_non_seqs(), op.outer_non_seqs(node), strict=False)]
    outer_of.update(pairs)
    return InnerGraph(list(op.inner_outputs), outer_of)


class _RegisterType(Type):
    """The type of a composite's register: a scalar of one dtype."""

    def __init__(self, dtype: str) -> None:
        self.dtype = dtype

    def filter(self, data: Any, strict: bool = False,
               allow_downcast: bool | None = None) -> Any:
        return data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _RegisterType) and other.dtype == self.dtype

    def __hash__(self) -> int:
        return hash(("_RegisterType", self.dtype))

    def __str__(self) -> str:
        return f"scalar {self.dtype}"


def _composite_graph(comp: Any, node: Apply) -> InnerGraph:
    """The scalar program of ``comp`` as Apply nodes over register variables."""
    from symarray.printing._graph import short_value

    regs: list[Variable] = []
    labels: dict[Variable, str] = {}
    for k, dtype in enumerate(comp.input_dtypes):
        var = Variable(_RegisterType(dtype), name=f"i{k}")
        regs.append(var)
    for dtype, value in comp.constants:
        const = Constant(_RegisterType(dtype), value)
        labels[const] = short_value(value)
        regs.append(const)
    for step in comp.steps:
        out = Variable(_RegisterType(step.dtype))
        Apply(step.op, [regs[a] for a in step.args], [out])
        regs.append(out)
    n_in = len(comp.input_dtypes)
    outer_of = dict(zip(regs[:n_in], _outer_inputs(node, n_in), strict=False))
    return InnerGraph([regs[o] for o in comp.outputs], outer_of, labels)


def _outer_inputs(node: Apply, n: int) -> Sequence[Variable]:
    """The node inputs a composite's input registers read (all of them for an
    Elemwise or a ReduceElemwise)."""
    return node.inputs[:n]
