"""Merge Scan loops that run the same number of steps into one loop.

Two Scan nodes merge when they run the same ``n_steps`` (one variable, or
equal constants), neither reads the other's outputs (directly or through
other nodes), neither is a do-while loop, they compile their steps the
same way (mode, ``allow_gc``), they update no shared variable in common and
they sit in the same branch of any lazy ``ifelse``.  The merged step runs
both steps side by side: sequences read with the same taps and
non-sequences given twice become one inner input, so the two steps'
common subexpressions merge when the step is compiled.  One loop instead of
two saves the per-step overhead and reads shared sequences once.
"""

from __future__ import annotations

from typing import Any

from symarray.control.branches import branch_regions, is_lazy
from symarray.control.scan.op import Scan
from symarray.control.scan.rewriting._parts import ScanParts
from symarray.errors import SymarrayError
from symarray.graph.basic import Apply, Variable
from symarray.graph.rewriting import graph_rewriter, register_rewrite
from symarray.graph.traversal import ancestors
from symarray.tensor.rewriting.shape import same_value

__all__ = ["scan_merge", "mergeable", "merge_parts"]


def mergeable(a: Apply, b: Apply) -> bool:
    """Whether Scan nodes ``a`` and ``b`` may run as one loop (leaving out the
    dependency and branch checks, which need the graph)."""
    oa: Any = a.op
    ob: Any = b.op
    if oa.info.as_while or ob.info.as_while:
        return False
    if oa.mode is not ob.mode or oa.allow_gc != ob.allow_gc:
        return False
    if not same_value(a.inputs[0], b.inputs[0]):
        return False
    shared_a = set(oa.outer_shared(a))
    return not any(v in shared_a for v in ob.outer_shared(b))


def _name(a: Any, b: Any) -> str | None:
    names = [n for n in (a.name, b.name) if n]
    if len(names) == 2 and names[0] != names[1]:
        return f"{names[0]}&{names[1]}"
    return names[0] if names else None


def merge_parts(a: Apply, b: Apply) -> ScanParts:
    """The parts of one loop that runs ``a``'s step and ``b``'s step."""
    pa, pb = ScanParts.of(a), ScanParts.of(b)
    for s in pb.seqs:
        twin = next((t for t in pa.seqs if t.outer is s.outer and t.taps == s.taps
                     and all(v.type == w.type
                             for v, w in zip(s.inner, t.inner, strict=True))), None)
        if twin is None:
            pa.seqs.append(s)
        else:
            pa.replace.update(zip(s.inner, twin.inner, strict=True))
    for p in pb.non_seqs:
        twin_ns = next((q for q in pa.non_seqs
                        if q.outer is p.outer and q.inner.type == p.inner.type), None)
        if twin_ns is None:
            pa.non_seqs.append(p)
        else:
            pa.replace[p.inner] = twin_ns.inner
    pa.states += pb.states
    pa.nits += pb.nits
    pa.shared += pb.shared
    return pa


def _find_pair(fgraph: Any, refused: set[tuple[Apply, Apply]]
               ) -> tuple[Apply, Apply] | None:
    order = fgraph.toposort()
    scans = [n for n in order if isinstance(n.op, Scan)]
    if len(scans) < 2:
        return None
    regions = (branch_regions(order, fgraph.outputs)
               if any(is_lazy(n) for n in order) else {})
    upstream: dict[Apply, set[Variable]] = {}
    for k, b in enumerate(scans):
        for a in scans[:k]:
            if (a, b) in refused or not mergeable(a, b):
                continue
            if regions.get(a) != regions.get(b):
                continue
            if b not in upstream:  # a comes first: only b can read a
                upstream[b] = set(ancestors(b.inputs))
            if any(o in upstream[b] for o in a.outputs):
                continue
            return a, b
    return None


@register_rewrite("canonicalize", "fast_run", "scan", name="scan_merge",
                  position=1e8 + 2)
@graph_rewriter("scan_merge")
def scan_merge(fgraph: Any) -> int:
    """scan_a(n, ...), scan_b(n, ...) independent -> one scan running both steps.

    Same ``n_steps``, no dependency, not do-while, same mode; shared
    sequences and non-sequences become one inner input each.
    """
    refused: set[tuple[Apply, Apply]] = set()
    changes = 0
    while True:
        pair = _find_pair(fgraph, refused)
        if pair is None:
            return changes
        a, b = pair
        try:
            _, mapping = merge_parts(a, b).build({"name": _name(a.op, b.op)})
            fgraph.replace_all_validate(list(mapping.items()), reason="scan_merge")
        except (TypeError, ValueError, SymarrayError):  # refused types, a veto
            refused.add(pair)
            continue
        changes += 1
