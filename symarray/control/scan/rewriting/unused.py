"""Remove the outputs of a Scan that nothing reads, and what only they need.

A trace output without clients (not even a graph output) is dropped with
the part of the step graph that feeds only it.  A carried output is kept,
even without clients, while an output that is kept reads it (through its
taps), and so is everything the ``until`` condition reads; the final values
of updated shared variables are never dropped (they are updates).
Sequences and non-sequences the remaining step graph no longer reads are
dropped as well.
"""

from __future__ import annotations

from typing import Any

from symarray.control.scan.rewriting._parts import EachScan, ScanParts
from symarray.graph.basic import Apply, Variable
from symarray.graph.rewriting import register_rewrite
from symarray.graph.traversal import ancestors

__all__ = ["scan_remove_unused_outputs", "remove_unused_outputs", "is_read"]


def is_read(fgraph: Any, var: Variable | None) -> bool:
    """Whether ``var`` has a client in ``fgraph`` (a node or a graph output)."""
    return var is not None and bool(fgraph.clients.get(var))


def _needed_states(parts: ScanParts, keep: list[bool], nits: list[bool]) -> list[bool]:
    """Which carried outputs stay: those read outside and, to a fixed point,
    those whose taps a staying output (or the condition, a shared update)
    reads."""
    keep = list(keep)
    blockers = ([v for s in parts.states for v in s.inner]
                + [v for s in parts.seqs for v in s.inner]
                + [s.inner for s in parts.shared] + [p.inner for p in parts.non_seqs])
    roots = ([n.out for n, k in zip(parts.nits, nits, strict=True) if k]
             + [s.out for s in parts.shared]
             + ([parts.cond] if parts.cond is not None else []))
    while True:
        outs = roots + [s.out for i, s in enumerate(parts.states) if keep[i]]
        read = set(ancestors(outs, blockers=blockers))
        more = [i for i, s in enumerate(parts.states)
                if not keep[i] and any(v in read for v in s.inner)]
        if not more:
            return keep
        for i in more:
            keep[i] = True


def _reads_unused_inputs(parts: ScanParts) -> bool:
    read = set(ancestors(parts.inner_outputs()))
    return (any(not any(v in read for v in s.inner) for s in parts.seqs)
            or any(p.inner not in read for p in parts.non_seqs))


def remove_unused_outputs(fgraph: Any, node: Apply) -> dict[Variable, Variable] | None:
    """scan(...) -> scan without the traces nothing reads (and their step graph).

    Carried outputs that a kept output or the ``until`` condition reads
    stay, and so do shared updates; sequences and non-sequences the step no
    longer reads go too.
    """
    parts = ScanParts.of(node)
    nits = [is_read(fgraph, n.trace) for n in parts.nits]
    used_states = [is_read(fgraph, s.trace) for s in parts.states]
    states = _needed_states(parts, used_states, nits)
    if all(nits) and all(states) and not _reads_unused_inputs(parts):
        return None
    if not (any(states) or any(nits) or parts.shared):
        return None  # nothing of the node is read: the graph drops it anyway
    parts.nits = [n for n, k in zip(parts.nits, nits, strict=True) if k]
    parts.states = [s for s, k in zip(parts.states, states, strict=True) if k]
    _, mapping = parts.build()
    return mapping


#: at the end of canonicalize and specialize, once the clients are final
scan_remove_unused_outputs = register_rewrite(
    EachScan(remove_unused_outputs, "scan_remove_unused_outputs"),
    "canonicalize", "specialize", "fast_run", "scan", position=1e8)
