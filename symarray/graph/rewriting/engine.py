"""The rewrite engine: run selected rewrites phase by phase to a fixed point.

A :class:`RewritePipeline` holds the selected entries of each phase (see
:data:`~symarray.graph.rewriting.basic.PHASES`).  In a phase, entries run
in position order; consecutive node rewriters form one *equilibrium step*
and each graph rewriter is a step of its own.

An equilibrium step keeps a worklist of nodes, seeded in topological order.
Rewriters are indexed by the op they track, so a node is shown only to the
rewriters that track its op.  When a rewriter returns replacements, they
are checked (each new variable's type equals the old one's, or the old type
``is_super`` of it) and applied with ``replace_all_validate``; a rejected
or vetoed replacement is rolled back and that rewriter is not tried on that
node again (logged at debug level with the reason).  A feature on the graph
queues every imported node and every node whose input changed, with its
clients, so the step ends when no rewriter applies to any queued node.  A
rewriter applied more than ``max_use_ratio`` times the graph's size in one
step is stopped with a :class:`~symarray.errors.RewriteLimitWarning`.

Every callback is local to the change, so the cost of a phase is its
initial sort plus work proportional to what changes.  Time and counts per
rewriter and per phase go to a :class:`RewriteStats`, stored as
``fgraph.rewrite_stats`` for the profiler.

The verifier (:func:`verify_graph`; on for every phase when the
``check_rewrites`` flag is set, or ``verify=True``; ``engine.VERIFY_REWRITES``
overrides the flag when it is not None) rebuilds each node a phase created or
changed with its op's ``make_node`` and checks the output types.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from symarray import config
from symarray.errors import RewriteLimitWarning, RewriteVerificationError
from symarray.graph.basic import Apply, Op, Variable
from symarray.graph.fg import Feature, FunctionGraph
from symarray.graph.rewriting.basic import (
    REWRITES,
    GraphRewriter,
    NodeRewriter,
    RewriteEntry,
    RewriteQuery,
    RewriteRegistry,
)
from symarray.graph.rewriting.merge import MergeFeature
from symarray.graph.traversal import gc_paused

__all__ = [
    "RewriterStats",
    "PhaseStats",
    "RewriteStats",
    "Phase",
    "RewritePipeline",
    "rewrite_to_fixed_point",
    "rewrite_graph",
    "pipeline_for_query",
    "verify_graph",
    "verifying",
    "VERIFY_REWRITES",
]

_log = logging.getLogger(__name__)

#: run :func:`verify_graph` after every phase: True/False override the
#: ``check_rewrites`` flag, None (the default) follows it
VERIFY_REWRITES: bool | None = None
#: a rewriter may apply at most this many times the node count in one step
MAX_USE_RATIO = 8.0
#: ... and at least this many times, however small the graph
MIN_USE_CAP = 100
#: what a rewriter that raises (or returns malformed replacements) causes:
#: "warn" (skip it for that node, with a warning), "raise" or "ignore"
ON_ERROR = "warn"


# -- statistics --------------------------------------------------------------


@dataclass
class RewriterStats:
    """How one rewriter did: nodes shown, replacements applied and rejected."""

    name: str
    visits: int = 0
    applied: int = 0
    failed: int = 0
    time: float = 0.0


@dataclass
class PhaseStats:
    """One phase: time, rewrites applied, merges, graph size before/after."""

    name: str
    time: float = 0.0
    applied: int = 0
    merged: int = 0
    nodes_before: int = 0
    nodes_after: int = 0


@dataclass
class RewriteStats:
    """Time and counts per phase and per rewriter, for the profiler."""

    phases: dict[str, PhaseStats] = field(default_factory=dict)
    rewriters: dict[str, RewriterStats] = field(default_factory=dict)

    @property
    def time(self) -> float:
        return sum(p.time for p in self.phases.values())

    def rewriter(self, name: str) -> RewriterStats:
        stats = self.rewriters.get(name)
        if stats is None:
            stats = self.rewriters[name] = RewriterStats(name)
        return stats

    def phase(self, name: str) -> PhaseStats:
        stats = self.phases.get(name)
        if stats is None:
            stats = self.phases[name] = PhaseStats(name)
        return stats

    def applied(self, name: str) -> int:
        """How often the rewriter ``name`` applied (0 if it never ran)."""
        stats = self.rewriters.get(name)
        return 0 if stats is None else stats.applied

    def report(self) -> str:
        """A text table: phases, then the rewriters that did something."""
        lines = [f"rewriting: {self.time * 1e3:.2f} ms"]
        for p in self.phases.values():
            lines.append(
                f"  phase {p.name:<13} {p.time * 1e3:9.2f} ms  applied {p.applied:6d}"
                f"  merged {p.merged:6d}  nodes {p.nodes_before} -> {p.nodes_after}"
            )
        busy = sorted(
            (r for r in self.rewriters.values() if r.applied or r.failed),
            key=lambda r: -r.time,
        )
        for r in busy:
            lines.append(
                f"    {r.name:<32} {r.time * 1e3:9.2f} ms  applied {r.applied:6d}"
                f"  failed {r.failed:4d}  visits {r.visits}"
            )
        return "\n".join(lines)

    __str__ = report


# -- phases ------------------------------------------------------------------


@dataclass
class Phase:
    """The entries one phase runs, in position order."""

    name: str
    rewriters: list[NodeRewriter | GraphRewriter]

    def steps(self) -> list[list[NodeRewriter] | GraphRewriter]:
        """Runs of consecutive node rewriters, and graph rewriters alone."""
        out: list[list[NodeRewriter] | GraphRewriter] = []
        for rw in self.rewriters:
            if isinstance(rw, GraphRewriter):
                out.append(rw)
            elif out and isinstance(out[-1], list):
                out[-1].append(rw)
            else:
                out.append([rw])
        return out


class RewritePipeline:
    """Phases run in order on a FunctionGraph.

    Parameters
    ----------
    phases
        The phases (empty ones are skipped).
    max_use_ratio, on_error, verify
        Override :data:`MAX_USE_RATIO`, :data:`ON_ERROR`, and whether the
        verifier runs (default: :data:`VERIFY_REWRITES` when it is not None,
        else ``config.check_rewrites``).
    """

    def __init__(self, phases: Sequence[Phase], max_use_ratio: float | None = None,
                 on_error: str | None = None, verify: bool | None = None) -> None:
        self.phases = [p for p in phases if p.rewriters]
        self.max_use_ratio = max_use_ratio
        self.on_error = on_error
        self.verify = verify

    def __repr__(self) -> str:
        parts = [f"{p.name}: {[r.name for r in p.rewriters]}" for p in self.phases]
        return f"RewritePipeline({'; '.join(parts)})"

    def run(self, fgraph: FunctionGraph) -> RewriteStats:
        """Rewrite ``fgraph`` in place; also store the stats on it."""
        stats = RewriteStats()
        verify = self.verify if self.verify is not None else verifying()
        attached = [f for f in fgraph.features if isinstance(f, MergeFeature)]
        touched = _Touched() if verify else None
        if touched is not None:
            fgraph.attach_feature(touched)
        with gc_paused():  # rewriting makes no garbage cycles worth collecting
            self._run(fgraph, stats, attached, touched)
        fgraph.rewrite_stats = stats  # type: ignore[attr-defined]
        return stats

    def _run(self, fgraph: FunctionGraph, stats: RewriteStats,
             attached: Sequence[Feature], touched: _Touched | None) -> None:
        try:
            for phase in self.phases:
                self._run_phase(fgraph, phase, stats)
                if touched is not None:
                    nodes = [n for n in touched.nodes if n in fgraph.apply_nodes]
                    touched.nodes.clear()
                    verify_graph(fgraph, f"after the {phase.name} phase", nodes)
        finally:
            if touched is not None:
                fgraph.remove_feature(touched)
            for feature in fgraph.features:
                if isinstance(feature, MergeFeature) and feature not in attached:
                    fgraph.remove_feature(feature)

    def _run_phase(self, fgraph: FunctionGraph, phase: Phase,
                   stats: RewriteStats) -> None:
        pstats = stats.phase(phase.name)
        pstats.nodes_before = len(fgraph.apply_nodes)
        start = time.perf_counter()
        for step in phase.steps():
            if isinstance(step, GraphRewriter):
                rstats = stats.rewriter(step.name)
                t0 = time.perf_counter()
                changes = step.apply(fgraph)
                rstats.time += time.perf_counter() - t0
                rstats.applied += changes
                rstats.visits += 1
                if step.name == "merge":
                    pstats.merged += changes
                else:
                    pstats.applied += changes
            else:
                applied, merged = rewrite_to_fixed_point(
                    fgraph, step, stats, max_use_ratio=self.max_use_ratio,
                    on_error=self.on_error,
                )
                pstats.applied += applied
                pstats.merged += merged
        pstats.time += time.perf_counter() - start
        pstats.nodes_after = len(fgraph.apply_nodes)


# -- the equilibrium step ----------------------------------------------------


class _Worklist(Feature):
    """Queues the nodes a rewriter may now apply to: new ones, changed ones."""

    def __init__(self) -> None:
        self.queue: deque[Apply] = deque()
        self.queued: set[Apply] = set()

    def push(self, node: Apply) -> None:
        if node not in self.queued:
            self.queued.add(node)
            self.queue.append(node)

    def on_import(self, fgraph: FunctionGraph, node: Apply, reason: str) -> None:
        self.push(node)

    def on_change_input(self, fgraph: FunctionGraph, node: Any, i: int,
                        old: Variable, new: Variable, reason: str) -> None:
        if not isinstance(node, Apply):
            return
        self.push(node)
        clients = fgraph.clients
        for out in node.outputs:  # patterns reading through this node
            for client, _ in clients.get(out, ()):
                if isinstance(client, Apply):
                    self.push(client)


class _Touched(Feature):
    """Remembers the nodes rewriting created or changed (for the verifier)."""

    def __init__(self) -> None:
        self.nodes: dict[Apply, None] = {}

    def on_import(self, fgraph: FunctionGraph, node: Apply, reason: str) -> None:
        self.nodes[node] = None

    def on_change_input(self, fgraph: FunctionGraph, node: Any, i: int,
                        old: Variable, new: Variable, reason: str) -> None:
        if isinstance(node, Apply):
            self.nodes[node] = None


class _RewriterIndex:
    """The rewriters that track an op, in phase order, cached per op class."""

    def __init__(self, rewriters: Sequence[NodeRewriter]) -> None:
        self.rank = {id(rw): k for k, rw in enumerate(rewriters)}
        self.every: list[NodeRewriter] = []
        self.by_class: dict[type, list[NodeRewriter]] = {}
        self.by_op: dict[Op, list[NodeRewriter]] = {}
        for rw in rewriters:
            if rw.tracks is None:
                self.every.append(rw)
                continue
            for t in rw.tracks:
                if isinstance(t, Op):
                    self.by_op.setdefault(t, []).append(rw)
                else:
                    self.by_class.setdefault(t, []).append(rw)
        self._for_class: dict[type, list[NodeRewriter]] = {}
        self._for_op: dict[Op, list[NodeRewriter]] = {}

    def _ordered(self, rws: Iterable[NodeRewriter]) -> list[NodeRewriter]:
        unique = {id(rw): rw for rw in rws}
        return sorted(unique.values(), key=lambda rw: self.rank[id(rw)])

    def get(self, op: Op) -> list[NodeRewriter]:
        cls = type(op)
        base = self._for_class.get(cls)
        if base is None:
            found = list(self.every)
            for klass in cls.__mro__:
                found.extend(self.by_class.get(klass, ()))
            base = self._for_class[cls] = self._ordered(found)
        if not self.by_op:
            return base
        try:
            cached = self._for_op.get(op)
            if cached is None:
                cached = self._for_op[op] = self._ordered(
                    base + self.by_op.get(op, [])
                )
        except TypeError:  # an unhashable op: only class trackers see it
            return base
        return cached


def _replacement_pairs(
    node: Apply, result: Any, rw: NodeRewriter
) -> list[tuple[Variable, Variable]] | str:
    """The ``(old, new)`` pairs of a rewriter's result, or why it is malformed."""
    if isinstance(result, dict):
        items = list(result.items())
    elif isinstance(result, (list, tuple)):
        if len(result) != node.nout:
            return (
                f"returned {len(result)} replacement(s) for the {node.nout} "
                f"output(s) of {node}"
            )
        items = [(o, n) for o, n in zip(node.outputs, result, strict=True)
                 if n is not None]
    else:
        return (
            f"returned a {type(result).__name__}; a node rewriter returns a list "
            "(one entry per output), a dict {old: new}, or None"
        )
    for old, new in items:
        if not isinstance(old, Variable) or not isinstance(new, Variable):
            bad = new if isinstance(old, Variable) else old
            return f"returned {bad!r} ({type(bad).__name__}), not a Variable"
    return items


def _type_problem(old: Variable, new: Variable) -> str | None:
    if old.type == new.type or old.type.is_super(new.type):
        return None
    return f"replacement {new} has type {new.type}, but {old} has type {old.type}"


def verifying() -> bool:
    """Whether pipelines verify their phases by default (see VERIFY_REWRITES)."""
    if VERIFY_REWRITES is not None:
        return bool(VERIFY_REWRITES)
    return bool(config.check_rewrites)


def _cap(fgraph: FunctionGraph, ratio: float | None) -> int:
    r = MAX_USE_RATIO if ratio is None else ratio
    return max(MIN_USE_CAP, int(r * len(fgraph.apply_nodes)))


def rewrite_to_fixed_point(
    fgraph: FunctionGraph,
    rewriters: Sequence[NodeRewriter],
    stats: RewriteStats | None = None,
    max_use_ratio: float | None = None,
    on_error: str | None = None,
) -> tuple[int, int]:
    """Apply ``rewriters`` until none applies; return ``(applied, merged)``.

    Nodes are merged as they appear when ``fgraph`` carries a
    :class:`MergeFeature` (the merge phase attaches one).

    Examples
    --------
    >>> import symarray.tensor as T
    >>> from symarray.graph import FunctionGraph
    >>> from symarray.graph.rewriting import node_rewriter
    >>> @node_rewriter([T.neg])
    ... def local_neg_neg(fgraph, node):  # -(-x) -> x
    ...     inner = node.inputs[0].owner
    ...     return [inner.inputs[0]] if inner and inner.op == T.neg else None
    >>> x = T.dvector("x")
    >>> fg = FunctionGraph([x], [-(-(-(-x)))])
    >>> rewrite_to_fixed_point(fg, [local_neg_neg])
    (2, 0)
    >>> fg.outputs[0] is fg.inputs[0]
    True
    """
    policy = ON_ERROR if on_error is None else on_error
    if policy not in ("warn", "raise", "ignore"):
        raise ValueError(
            f"on_error must be 'warn', 'raise' or 'ignore', got {policy!r}"
        )
    stats = stats if stats is not None else RewriteStats()
    index = _RewriterIndex(rewriters)
    rstats = {id(rw): stats.rewriter(rw.name) for rw in rewriters}
    merger = next((f for f in fgraph.features if isinstance(f, MergeFeature)), None)
    cap = _cap(fgraph, max_use_ratio)
    uses: dict[int, int] = {}
    stopped: set[int] = set()
    failed: set[tuple[int, Apply]] = set()
    applied = merged = 0
    worklist = _Worklist()
    for node in fgraph.toposort():
        worklist.push(node)
    fgraph.attach_feature(worklist)
    nodes, queue, queued = fgraph.apply_nodes, worklist.queue, worklist.queued
    perf = time.perf_counter
    try:
        while True:
            if merger is not None and merger.pending:
                merged += merger.process()
            if not queue:
                break
            node = queue.popleft()
            queued.discard(node)
            if node not in nodes:
                continue
            for rw in index.get(node.op):
                key = id(rw)
                if key in stopped or (key, node) in failed:
                    continue
                st = rstats[key]
                st.visits += 1
                t0 = perf()
                try:
                    result = rw.fn(fgraph, node)
                    outcome = _apply(fgraph, node, rw, result, policy) if result else 0
                except Exception as err:
                    if policy == "raise":
                        note = getattr(err, "add_note", None)  # Python >= 3.11
                        if note is not None:
                            note(f"while rewriting {node} with {rw.name}")
                        raise
                    _rewriter_error(rw, node, f"{type(err).__name__}: {err}", policy)
                    outcome = -1
                st.time += perf() - t0
                if outcome == 0:
                    continue
                if outcome < 0:  # never tried on this node again in this step
                    st.failed += 1
                    failed.add((key, node))
                    continue
                st.applied += 1
                applied += 1
                uses[key] = uses.get(key, 0) + 1
                if uses[key] >= cap:
                    stopped.add(key)
                    warnings.warn(
                        f"rewriter {rw.name} applied {uses[key]} times in one step "
                        f"(cap: {cap}, from a graph of {len(nodes)} nodes); it is "
                        "stopped for this phase. It probably undoes itself or "
                        "another rewrite; exclude it with mode.excluding"
                        f"({rw.name!r}) and report the graph",
                        RewriteLimitWarning, stacklevel=2,
                    )
                if node in nodes:
                    worklist.push(node)  # other outputs left: look again later
                break
    finally:
        fgraph.remove_feature(worklist)
    return applied, merged


def _apply(fgraph: FunctionGraph, node: Apply, rw: NodeRewriter, result: Any,
           policy: str) -> int:
    """Check and apply one rewriter result.

    Returns 1 when applied, 0 when there was nothing to do, -1 when refused
    (a type mismatch, a malformed result) or rolled back (a feature vetoed).
    """
    pairs = _replacement_pairs(node, result, rw)
    if isinstance(pairs, str):
        _rewriter_error(rw, node, pairs, policy)
        return -1
    todo = []
    for old, new in pairs:
        if old is new or old not in fgraph.variables:
            continue
        problem = _type_problem(old, new)
        if problem is not None:
            _log.debug("%s on %s refused: %s", rw.name, node, problem)
            return -1
        todo.append((old, new))
    if not todo:
        return 0
    try:
        fgraph.replace_all_validate(todo, reason=rw.name)
    except Exception as err:  # rolled back by replace_all_validate
        _log.debug("%s on %s rolled back: %s: %s", rw.name, node,
                   type(err).__name__, err)
        return -1
    return 1


def _rewriter_error(rw: NodeRewriter, node: Apply, why: str, policy: str) -> None:
    msg = f"rewriter {rw.name} failed on {node}: {why}; it is skipped for this node"
    if policy == "raise":
        raise TypeError(msg)
    if policy == "warn":
        warnings.warn(msg, stacklevel=4)
    else:
        _log.debug(msg)


# -- building pipelines -------------------------------------------------------


def pipeline_for_query(query: RewriteQuery, registry: RewriteRegistry | None = None,
                       **options: Any) -> RewritePipeline:
    """The pipeline of the entries ``query`` selects from ``registry``."""
    reg = REWRITES if registry is None else registry
    chosen: dict[str, list[RewriteEntry]] = reg.select(query)
    phases = [Phase(name, [e.rewriter for e in entries])
              for name, entries in chosen.items()]
    return RewritePipeline(phases, **options)


def rewrite_graph(fgraph: FunctionGraph, query: RewriteQuery | None = None,
                  registry: RewriteRegistry | None = None,
                  **options: Any) -> RewriteStats:
    """Rewrite ``fgraph`` in place with the rewrites ``query`` selects.

    The default query runs everything tagged ``fast_run``.
    """
    query = query if query is not None else RewriteQuery(include=("fast_run",))
    return pipeline_for_query(query, registry, **options).run(fgraph)


# -- the verifier ---------------------------------------------------------------


def verify_graph(fgraph: FunctionGraph, where: str = "",
                 nodes: Iterable[Apply] | None = None) -> None:
    """Check node output types against a fresh ``make_node``.

    A node's outputs must have the types its op's ``make_node`` gives for
    its current inputs (or less specific ones: an input replaced by a
    variable with more static shape information makes ``make_node`` more
    precise).  Raises :class:`~symarray.errors.RewriteVerificationError`
    naming the node.  Checks ``nodes`` (default: every node); costs one
    ``make_node`` per node.  The pipeline checks the nodes each phase
    created or changed.
    """
    suffix = f" ({where})" if where else ""
    for node in fgraph.toposort() if nodes is None else nodes:
        try:
            fresh = node.op.make_node(*node.inputs)
        except Exception as err:
            raise RewriteVerificationError(
                f"{node}{suffix}: make_node refuses the node's current inputs "
                f"({', '.join(str(i.type) for i in node.inputs)}): "
                f"{type(err).__name__}: {err}; a rewrite gave it inputs of the "
                "wrong type"
            ) from err
        if fresh.nout != node.nout:
            raise RewriteVerificationError(
                f"{node}{suffix}: has {node.nout} outputs, make_node gives {fresh.nout}"
            )
        for k, (old, new) in enumerate(zip(node.outputs, fresh.outputs, strict=True)):
            if not (old.type == new.type or old.type.is_super(new.type)):
                raise RewriteVerificationError(
                    f"{node}{suffix}: output {k} has type {old.type}, but make_node "
                    f"gives {new.type} for the current inputs; a rewrite replaced an "
                    "input by a variable of another type"
                )
