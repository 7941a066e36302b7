"""Merge (common subexpression elimination) of equal nodes and constants.

Two nodes are equal when their ops are equal (``__props__``) and they read
the same input variables; two constants are equal when their
``signature()`` (type and data) and weakness agree.  Equal things compute
the same value, so all but one are replaced by the one kept.

:class:`MergeFeature` keeps a table ``(op, inputs) -> node`` and
``signature -> constant`` up to date through the graph's callbacks: a node
that is imported, or whose input changes, is looked up once, and a
collision is queued.  :meth:`MergeFeature.process` applies the queue; a
merge changes the inputs of the merged node's clients, which may make
*them* equal to other nodes, and so on: the cascade costs time
proportional to what it touches, never a walk over the whole graph.  The
engine keeps the feature attached during the later phases, so nodes the
rewrites create are merged as they appear.

Nodes that overwrite an input (``destroy_map``) are never merged.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from symarray.graph.basic import Apply, Constant, Variable
from symarray.graph.fg import Feature, FunctionGraph
from symarray.graph.rewriting.basic import GraphRewriter

__all__ = ["MergeFeature", "MergeRewriter", "merge_graph"]

_log = logging.getLogger(__name__)

_NodeKey = tuple[Any, tuple[Variable, ...]]


def _node_key(node: Apply) -> _NodeKey | None:
    """``(op, inputs)``, or None for nodes that must not be merged."""
    if node.op.destroy_map:
        return None
    key = (node.op, tuple(node.inputs))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _constant_key(const: Constant) -> Any:
    try:
        key = (const.signature(), bool(getattr(const, "weak", False)))
        hash(key)
    except (TypeError, ValueError):
        return None
    return key


def _fits(old: Variable, new: Variable) -> bool:
    return bool(old.type == new.type or old.type.is_super(new.type))


class MergeFeature(Feature):
    """Tracks equal nodes and constants of one FunctionGraph; merges on demand."""

    def __init__(self) -> None:
        self.fgraph: FunctionGraph | None = None
        self._nodes: dict[_NodeKey, Apply] = {}
        self._node_key: dict[Apply, _NodeKey] = {}
        self._constants: dict[Any, Constant] = {}
        self._pending: deque[tuple[Any, Any]] = deque()
        #: merges a feature vetoed: not queued again
        self._refused: set[tuple[Any, Any]] = set()
        #: merges done so far (nodes and constants)
        self.merged = 0

    # -- callbacks ---------------------------------------------------------
    def on_attach(self, fgraph: FunctionGraph) -> None:
        if self.fgraph is not None and self.fgraph is not fgraph:
            raise ValueError("a MergeFeature serves one FunctionGraph")
        self.fgraph = fgraph
        for node in fgraph.toposort():
            self._see_node(node)
        for out in fgraph.outputs:
            if isinstance(out, Constant):
                self._see_constant(out)

    def on_detach(self, fgraph: FunctionGraph) -> None:
        self.fgraph = None
        self._nodes.clear()
        self._node_key.clear()
        self._constants.clear()
        self._pending.clear()
        self._refused.clear()

    def on_import(self, fgraph: FunctionGraph, node: Apply, reason: str) -> None:
        self._see_node(node)

    def on_prune(self, fgraph: FunctionGraph, node: Apply, reason: str) -> None:
        self._forget(node)

    def on_change_input(self, fgraph: FunctionGraph, node: Any, i: int,
                        old: Variable, new: Variable, reason: str) -> None:
        if isinstance(new, Constant):
            self._see_constant(new)
        if isinstance(node, Apply):
            self._forget(node)
            self._see_node(node)

    # -- tables ------------------------------------------------------------
    def _forget(self, node: Apply) -> None:
        key = self._node_key.pop(node, None)
        if key is not None and self._nodes.get(key) is node:
            del self._nodes[key]

    def _see_node(self, node: Apply) -> None:
        for inp in node.inputs:
            if isinstance(inp, Constant):
                self._see_constant(inp)
        key = _node_key(node)
        if key is None:
            return
        self._node_key[node] = key
        other = self._nodes.get(key)
        if other is None or other is node or other not in self.fgraph.apply_nodes:  # type: ignore[union-attr]
            self._nodes[key] = node
        elif (node, other) not in self._refused:
            self._pending.append((node, other))

    def _see_constant(self, const: Constant) -> None:
        key = _constant_key(const)
        if key is None:
            return
        other = self._constants.get(key)
        if other is None or other is const or other not in self.fgraph.variables:  # type: ignore[union-attr]
            self._constants[key] = const
        elif (const, other) not in self._refused:
            self._pending.append((const, other))

    # -- merging -----------------------------------------------------------
    @property
    def pending(self) -> int:
        """How many merges are queued."""
        return len(self._pending)

    def process(self) -> int:
        """Apply the queued merges (and the ones they cause); return the count."""
        fgraph = self.fgraph
        if fgraph is None:
            raise ValueError("MergeFeature.process: the feature is not attached")
        done = 0
        pending = self._pending
        while pending:
            a, b = pending.popleft()
            if isinstance(a, Constant):
                done += self._merge_constants(fgraph, a, b)
            else:
                done += self._merge_nodes(fgraph, a, b)
        self.merged += done
        return done

    def _merge_constants(self, fgraph: FunctionGraph, const: Constant,
                         keep: Constant) -> int:
        if const is keep or const not in fgraph.variables:
            return 0
        if keep not in fgraph.variables:
            self._see_constant(const)
            return 0
        return self._replace(fgraph, [(const, keep)], (const, keep))

    def _merge_nodes(self, fgraph: FunctionGraph, node: Apply, keep: Apply) -> int:
        nodes = fgraph.apply_nodes
        if node is keep or node not in nodes:
            return 0
        if keep not in nodes:
            self._forget(node)
            self._see_node(node)
            return 0
        if _node_key(node) != _node_key(keep) or node.nout != keep.nout:
            return 0  # changed since it was queued; its callbacks re-queued it
        if all(_fits(o, k) for o, k in zip(node.outputs, keep.outputs, strict=True)):
            pairs = list(zip(node.outputs, keep.outputs, strict=True))
        elif all(_fits(k, o) for o, k in zip(node.outputs, keep.outputs, strict=True)):
            pairs = list(zip(keep.outputs, node.outputs, strict=True))
        else:
            _log.debug("merge: %s and %s have incompatible output types", node, keep)
            self._refused.add((node, keep))
            return 0
        done = self._replace(fgraph, pairs, (node, keep))
        for n in (node, keep):  # the survivor owns the key from now on
            if n in nodes:
                self._forget(n)
                self._see_node(n)
        return done

    def _replace(self, fgraph: FunctionGraph,
                 pairs: list[tuple[Variable, Variable]], what: tuple[Any, Any]) -> int:
        try:
            fgraph.replace_all_validate(pairs, reason="merge")
        except Exception as err:  # a feature vetoed it: keep both, for good
            _log.debug("merge of %s into %s rolled back: %s", *what, err)
            self._refused.add(what)
            return 0
        return 1


def _merge_feature(fgraph: FunctionGraph) -> MergeFeature | None:
    for feature in fgraph.features:
        if isinstance(feature, MergeFeature):
            return feature
    return None


class MergeRewriter(GraphRewriter):
    """The merge phase: attach a :class:`MergeFeature` and merge everything.

    The feature stays attached (the engine merges the nodes later phases
    create with it, and detaches it at the end).
    """

    name = "merge"

    def apply(self, fgraph: Any) -> int:
        feature = _merge_feature(fgraph)
        if feature is None:
            feature = MergeFeature()
            fgraph.attach_feature(feature)
        return feature.process()


def merge_graph(fgraph: FunctionGraph) -> int:
    """Merge equal nodes and constants of ``fgraph`` in place; return the count.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> from symarray.graph import FunctionGraph
    >>> x = T.dvector("x")
    >>> fg = FunctionGraph([x], [T.exp(x) + T.exp(x)])
    >>> merge_graph(fg), len(fg.apply_nodes)
    (1, 2)
    """
    feature = _merge_feature(fgraph)
    if feature is not None:
        return feature.process()
    feature = MergeFeature()
    fgraph.attach_feature(feature)
    try:
        return feature.process()
    finally:
        fgraph.remove_feature(feature)
