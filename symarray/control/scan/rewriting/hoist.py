"""Push loop-invariant computations out of a Scan's step.

A node of the step graph whose inputs are all non-sequences, constants or
outputs of such nodes computes the same value at every step (``W.T``,
``dot(W, b)`` of non-sequences).  It is computed once, before the loop, in
the outer graph, and the loop receives the result as a new non-sequence.
The lengths of a sequence's rows and of a carried state are loop-invariant
too (a state keeps its shape, ``perform`` checks it): ``Shape_i`` of such
an inner input becomes a length of the outer sequence or initial state.

``SumToShape(g, x)`` (inserted by gradients where ``x`` may have been
broadcast at run time) reads only ``x``'s shape; in a backward step ``x``
is often a forward value that the step would recompute just for that (the
``dot(W, h)`` of an RNN).  When the shape is loop-invariant, ``x`` is
replaced by a zero-strided stand-in of that shape (``broadcast_to(0,
lengths)``, a view) which is then hoisted like any invariant.

Not hoisted (conservative choices):

* nodes that read no non-sequence (only constants): constant folding
  handles them when the step is compiled;
* nodes inside a branch of a lazy ``ifelse`` of the step: hoisted, they
  would run whether or not the branch is taken (a value also needed outside
  the branches is hoisted);
* nodes with a non-tensor input or output (random generators and other
  state) and nodes that destroy an input.

A hoisted node runs even when the loop runs zero steps (as in Theano): an
error it raises (a shape mismatch in ``dot(W, b)``) is raised then too.

The step is first rewritten as its compilation would (the op's mode, up to
the specialize phase), so that invariants those rewrites create are hoisted
too: ``dot(h, W)`` of a vector ``h`` becomes ``gemv(W.T, h)``, whose ``W.T``
would otherwise be taken at every step.  The new Scan holds that rewritten
step.  A step with nothing to hoist is remembered (per op), so the work is
done once.
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import Any

from symarray.control.branches import branch_regions, is_lazy
from symarray.control.scan.op import Scan
from symarray.control.scan.rewriting._parts import NonSeqPart, ScanParts
from symarray.graph.basic import Apply, Constant, Variable
from symarray.graph.fg import FunctionGraph
from symarray.graph.rewriting import node_rewriter, register_rewrite
from symarray.graph.traversal import clone_replace
from symarray.tensor.alloc import BroadcastTo
from symarray.tensor.elemwise_grad import SumToShape
from symarray.tensor.rewriting.shape import ShapeFeature, length_variable
from symarray.tensor.rewriting.sum_to_shape import shape_stand_in
from symarray.tensor.shape_ops import Shape_i
from symarray.tensor.type import TensorType

__all__ = ["local_scan_hoist_invariants", "invariant_frontier"]


#: Scan ops whose (rewritten) step has nothing loop-invariant left to hoist
_NOTHING_TO_HOIST: weakref.WeakSet[Any] = weakref.WeakSet()


def _rewrite_step(fgraph: FunctionGraph, op: Any) -> None:
    """Rewrite a copy of ``op``'s step as compiling it would, up to specialize
    (no fusion, no in-place ops: those come when the new step is compiled)."""
    from symarray.compile.mode import get_mode
    from symarray.compile.rewrite import query_for_mode
    from symarray.graph.rewriting import pipeline_for_query

    mode = get_mode(op.mode)
    if str(mode.optimizer) != "fast_run":
        return
    query = dataclasses.replace(query_for_mode(mode), last_phase="specialize")
    pipeline_for_query(query).run(fgraph)


def _movable(node: Apply) -> bool:
    return (not node.op.destroy_map
            and all(isinstance(v.type, TensorType) for v in (*node.inputs,
                                                            *node.outputs)))


def _sized_length(var: Variable, sized: set[Variable]) -> bool:
    """``var`` is ``Shape_i`` of a sequence or state inner input."""
    node = var.owner
    return (node is not None and isinstance(node.op, Shape_i)
            and node.inputs[0] in sized)


def _invariant_expr(var: Variable, non_seqs: set[Variable],
                    sized: set[Variable]) -> bool:
    """Whether ``var`` is computed from non-sequences, constants and lengths
    of sequence/state inner inputs only (by movable nodes)."""
    stack, seen = [var], set()
    while stack:
        v = stack.pop()
        if v in seen or isinstance(v, Constant) or v in non_seqs:
            continue
        seen.add(v)
        node = v.owner
        if node is None or not _movable(node):
            return False
        if not _sized_length(v, sized):
            stack.extend(node.inputs)
    return True


def _stand_in_sum_to_shape(fgraph: FunctionGraph, non_seqs: set[Variable],
                           sized: set[Variable]) -> int:
    """SumToShape(g, x) -> SumToShape(g, broadcast_to(0, lengths of x)) where
    those lengths are loop-invariant; returns how many were replaced."""
    nodes = [n for n in fgraph.toposort() if isinstance(n.op, SumToShape)
             and n.inputs[1].owner is not None
             and not isinstance(n.inputs[1].owner.op, BroadcastTo)]
    if not nodes:
        return 0
    feature = ShapeFeature()
    fgraph.attach_feature(feature)
    done = 0
    try:
        for node in nodes:
            axes = node.op.axes  # type: ignore[attr-defined]
            entries = feature.shape_of(node.inputs[1])
            if not all(_invariant_expr(length_variable(e), non_seqs, sized)
                       for d, e in enumerate(entries) if d in axes):
                continue
            new = shape_stand_in(node, entries)
            if new is None:
                continue
            fgraph.replace(node.outputs[0], new, reason="scan_sum_to_shape_stand_in")
            done += 1
    finally:
        fgraph.remove_feature(feature)
    return done


def invariant_frontier(fgraph: FunctionGraph, non_seqs: set[Variable],
                       sized: set[Variable]) -> list[Variable]:
    """The loop-invariant variables of a step graph that something
    loop-dependent reads, or that are inner outputs: what to hoist."""
    order = fgraph.toposort()
    regions = (branch_regions(order, fgraph.outputs)
               if any(is_lazy(n) for n in order) else {})
    invariant: set[Variable] = set(non_seqs)  # the same value at every step
    worth: set[Variable] = set()              # ... computed from the loop's inputs
    for node in order:
        if regions.get(node) is not None or not _movable(node):
            continue
        if isinstance(node.op, Shape_i) and node.inputs[0] in sized:
            invariant.update(node.outputs)
            worth.update(node.outputs)
        elif all(isinstance(i, Constant) or i in invariant for i in node.inputs):
            invariant.update(node.outputs)
            if any(i in non_seqs or i in worth for i in node.inputs):
                worth.update(node.outputs)
    frontier: dict[Variable, None] = {}
    for node in order:
        if not all(o in invariant for o in node.outputs):
            frontier.update((i, None) for i in node.inputs if i in worth)
    frontier.update((o, None) for o in fgraph.outputs if o in worth)
    return list(frontier)


@register_rewrite("canonicalize", "fast_run", "scan",
                  name="local_scan_hoist_invariants")
@node_rewriter([Scan])
def local_scan_hoist_invariants(fgraph: Any, node: Apply
                                ) -> dict[Variable, Variable] | None:
    """scan(step reads f(non_seqs)) -> scan(step reads v), v = f(non_seqs) outside.

    Step-graph nodes that depend only on non-sequences (and constants, and
    the lengths of sequence rows and states) are computed once before the
    loop and passed in as new non-sequences.
    """
    op: Any = node.op
    if op in _NOTHING_TO_HOIST:
        return None
    inner = op.fgraph.clone()
    _rewrite_step(inner, op)
    parts = ScanParts.of(node, inner)
    non_seqs = {p.inner for p in parts.non_seqs}
    outer_of_sized: dict[Variable, Variable] = {}
    for s in parts.seqs:
        outer_of_sized.update((v, s.outer) for v in s.inner)
    for st in parts.states:
        outer_of_sized.update((v, st.init) for v in st.inner)
    sized = set(outer_of_sized)
    _stand_in_sum_to_shape(inner, non_seqs, sized)
    parts = ScanParts.of(node, inner)  # the outputs may have been replaced
    frontier = invariant_frontier(inner, non_seqs, sized)
    if not frontier:
        _NOTHING_TO_HOIST.add(op)
        return None
    outer_of: dict[Variable, Variable] = {p.inner: p.outer for p in parts.non_seqs}
    for n in inner.apply_nodes:
        if isinstance(n.op, Shape_i) and n.inputs[0] in sized:
            outer = outer_of_sized[n.inputs[0]]
            outer_of[n.outputs[0]] = Shape_i(n.op.i + 1)(outer)
    outer_values = clone_replace(frontier, outer_of)
    for var, value in zip(frontier, outer_values, strict=True):
        new = var.type()
        new.name = var.name or f"{op.name or 'scan'}_invariant"
        if value.type != var.type:
            converted = var.type.convert_variable(value)
            if converted is None:
                return None
            value = converted
        parts.replace[var] = new
        parts.non_seqs.append(NonSeqPart(value, new))
    _, mapping = parts.build()
    return mapping
