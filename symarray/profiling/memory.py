"""Memory peaks of a program from the output sizes its nodes produced.

Three peaks (bytes of the arrays a call allocates: intermediates and
outputs; arguments and constants exist before the call and are not
counted; outputs that view or overwrite an input allocate nothing):

* **GC**: each value is freed after its last reader;
* **naive no-GC**: every node output keeps its own buffer between calls;
* **planned no-GC**: the memory planner's cells (values whose lifetimes do
  not overlap share one).

They come from the memory planner (:mod:`symarray.vm.memplan`,
:func:`planner_peaks`) given the sizes measured in the run; nodes that
never ran (an untaken ``ifelse`` branch) count their static size or 0.
When the planner cannot be used, :func:`gc_peak` and
:func:`naive_nogc_peak` compute the first two from the schedule and the
planned peak is reported as not available.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from symarray.profiling.stats import MemoryStats, NodeStats

__all__ = ["memory_stats", "planner_peaks", "gc_peak", "naive_nogc_peak",
           "alias_roots"]

_log = logging.getLogger(__name__)

#: how many of the largest values the report lists
N_LARGEST = 10


def alias_roots(program: Any) -> dict[int, frozenset[int]]:
    """Per node-output cell: the cells whose memory its value may share
    (itself when it is not a view), following ``view_map``/``destroy_map``."""
    roots: dict[int, frozenset[int]] = {}
    for node, ins, outs in zip(program.nodes, program.node_inputs,
                               program.node_outputs, strict=True):
        view_map = getattr(node.op, "view_map", None) or {}
        destroy_map = getattr(node.op, "destroy_map", None) or {}
        for j, c in enumerate(outs):
            sources = list(view_map.get(j, ())) + list(destroy_map.get(j, ()))
            if not sources:
                roots[c] = frozenset((c,))
                continue
            r: set[int] = set()
            for i in sources:
                r |= roots.get(ins[i], frozenset((ins[i],)))
            roots[c] = frozenset(r)
    return roots


def _allocated(program: Any, nodes: Sequence[NodeStats]) -> dict[int, int]:
    """Per node-output cell: bytes its node allocated for it (0 for views)."""
    alloc: dict[int, int] = {}
    for stats, outs in zip(nodes, program.node_outputs, strict=True):
        for out, c in zip(stats.outputs, outs, strict=True):
            alloc[c] = 0 if out.view else max(out.nbytes, 0)
    return alloc


def gc_peak(program: Any, alloc: dict[int, int]) -> int:
    """Peak bytes when each value is freed after its last reader."""
    n = len(program.nodes)
    last: dict[int, int] = {}
    for k, ins in enumerate(program.node_inputs):
        for c in ins:
            last[c] = k
    for k, outs in enumerate(program.node_outputs):
        for c in outs:
            last.setdefault(c, k)  # never read: dies at once
    kept = set(program.output_cells)
    roots = alias_roots(program)
    death: dict[int, int] = {}
    for c, r in roots.items():
        end = n if c in kept else last.get(c, n)
        for root in r:
            death[root] = max(death.get(root, -1), end)
    frees: dict[int, list[int]] = {}
    for c, k in death.items():
        if c in alloc:
            frees.setdefault(k, []).append(c)
    live = peak = 0
    for k, outs in enumerate(program.node_outputs):
        live += sum(alloc.get(c, 0) for c in outs)
        peak = max(peak, live)
        live -= sum(alloc[c] for c in frees.get(k, ()))
    return peak


def naive_nogc_peak(alloc: dict[int, int]) -> int:
    """Peak bytes when every node output keeps its own buffer."""
    return sum(alloc.values())


def planner_peaks(program: Any, sizes: dict[Any, int], fgraph: Any = None,
                  schedule: Sequence[Any] | None = None) -> dict[str, int] | None:
    """GC, naive and planned no-GC peaks from the memory planner
    (:mod:`symarray.vm.memplan`), or None when it cannot plan this program.

    The plan is the program's own (a planned no-GC function), else the one
    the no-GC linkers would make for ``fgraph``/``schedule`` (symbolic
    shapes), else one from static shapes.  ``sizes``: bytes per variable.
    """
    try:
        from symarray.vm.memplan import plan_memory, static_shape_key
    except ImportError:
        return None
    try:
        plan = getattr(program, "memory_plan", None)
        if plan is None and fgraph is not None:
            from symarray.compile.linkers import memory_plan

            plan = memory_plan(fgraph, schedule if schedule is not None
                               else program.nodes)
        if plan is None:
            outputs_only = SimpleNamespace(outputs=program.outputs)
            plan = plan_memory(outputs_only,  # type: ignore[arg-type]
                               program.nodes, shape_key=static_shape_key)
        peaks = plan.peaks(sizes)
    except Exception as err:  # the report must not fail on a planner bug
        _log.warning("profiler: the memory planner failed on %s (%s: %s); "
                     "reporting the GC and naive peaks only", program,
                     type(err).__name__, err)
        return None
    return {"gc": int(peaks.gc), "nogc_naive": int(peaks.naive),
            "nogc_planned": int(peaks.planned)}


def memory_stats(program: Any, nodes: Sequence[NodeStats], fgraph: Any = None,
                 schedule: Sequence[Any] | None = None) -> MemoryStats:
    """Peaks and the largest values of one program (sizes from ``nodes``;
    ``fgraph``/``schedule``: the compiled graph, for the planner)."""
    sizes = {
        var: out.nbytes
        for stats, node in zip(nodes, program.nodes, strict=True)
        for out, var in zip(stats.outputs, node.outputs, strict=True)
        if out.nbytes >= 0
    }
    peaks: dict[str, int | None] | None
    peaks = planner_peaks(program, sizes, fgraph, schedule)  # type: ignore[assignment]
    if peaks is None:
        alloc = _allocated(program, nodes)
        peaks = {"gc": gc_peak(program, alloc), "nogc_naive": naive_nogc_peak(alloc),
                 "nogc_planned": None}
    values: list[dict[str, Any]] = []
    for stats in nodes:
        for j, out in enumerate(stats.outputs):
            if out.nbytes > 0 and not out.view:
                values.append({"node": stats.index, "output": j, "name": out.name,
                               "type": out.type, "nbytes": out.nbytes,
                               "op": stats.op, "site": out.site})
    values.sort(key=lambda v: -v["nbytes"])
    return MemoryStats(peaks=peaks, largest=values[:N_LARGEST])
