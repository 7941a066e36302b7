"""Turn a live :class:`~symarray.profiling.stats.FunctionProfile` (raw clock
ticks in the VM's :class:`~symarray.vm._cvm_profile.CyProfile`) into a
:class:`~symarray.profiling.stats.FunctionStats` snapshot in seconds and
bytes, with the node names, backends and creation sites the reports show.

An inner program (scan's step) is converted with its outer program's clock
conversion (origin and nanoseconds per tick) when both count the same
clock, so inner times nest exactly inside their node's times.
"""

from __future__ import annotations

import copy
from typing import Any

from symarray.profiling.memory import memory_stats
from symarray.profiling.stats import (
    FunctionProfile,
    FunctionStats,
    NodeStats,
    OutputStats,
    PartStats,
    TracedCall,
)
from symarray.vm._cvm_profile import ns_per_tick

__all__ = ["snapshot"]


def _parts(thunk: Any, sec_per_tick: float) -> list[PartStats]:
    """The parts ``thunk`` timed (``profile_parts()``), in seconds."""
    if thunk is None:
        return []
    return [PartStats(name=str(name), calls=int(calls), time=ticks * sec_per_tick)
            for name, calls, ticks in thunk.profile_parts()]


def _site(var: Any) -> str | None:
    site = getattr(getattr(var, "tag", None), "site", None)
    return None if site is None else str(site)


def _label(var: Any) -> str:
    """How a value that no node of the program computes is shown."""
    if var.owner is None and var.name is None and hasattr(var, "data"):
        text = " ".join(str(var.data).split())
        return text if len(text) <= 20 else text[:17] + "..."
    return str(var)


def snapshot(fp: FunctionProfile, clock: tuple[int, int, float, bool] | None = None
             ) -> FunctionStats:
    """The FunctionStats of ``fp`` now (the recorder keeps counting).

    ``clock``: ``(origin_ns, origin_tick, ns_per_tick, ticks_are_ns)`` of the
    outer program when ``fp`` is an inner one; used when the recorders count
    the same clock.
    """
    prog, rec = fp.program, fp.recorder
    # trace times: seconds on the time.perf_counter clock, so that the calls
    # of several functions line up
    origin_ns, origin_tick, ns = rec.start_ns, rec.start_tick, 0.0
    if clock is not None and clock[3] == bool(rec.ticks_are_ns):
        origin_ns, origin_tick, ns = clock[0], clock[1], clock[2]
    else:
        ns = rec.ns_per_tick()
    mine = (origin_ns, origin_tick, ns, bool(rec.ticks_are_ns))
    sec = ns * 1e-9
    # the thunks' own parts count the profiling clock (ticks)
    part_sec = sec if not rec.ticks_are_ns else ns_per_tick() * 1e-9
    calls = rec.calls.tolist()
    ticks = rec.ticks.tolist()
    out_bytes = rec.out_bytes.tolist() if rec.memory else None
    producer: dict[Any, int] = {}
    for k, node in enumerate(prog.nodes):
        for o in node.outputs:
            producer[o] = k
    nodes = []
    for k, node in enumerate(prog.nodes):
        op = node.op
        views = set(getattr(op, "view_map", None) or {})
        views |= set(getattr(op, "destroy_map", None) or {})
        # a cell may be shared by several variables (memory plan): only the
        # sizes of nodes that ran are theirs
        measured = out_bytes is not None and calls[k] > 0
        outputs = [
            OutputStats(
                name=str(o), type=str(o.type),
                nbytes=int(out_bytes[prog.cell_of[o]]) if measured else -1,  # type: ignore[index]
                view=j in views, site=_site(o),
            )
            for j, o in enumerate(node.outputs)
        ]
        nodes.append(NodeStats(
            index=k, name=str(node), op=str(op), op_class=type(op).__name__,
            backend=str(getattr(prog.thunks[k], "backend", "?")),
            calls=int(calls[k]), time=ticks[k] * sec,
            inputs=[producer.get(v, _label(v)) for v in node.inputs],
            outputs=outputs,
            children=[kid.snapshot(mine) for kid in fp.inner.get(k, ())],
            parts=_parts(fp.parts.get(k), part_sec),
        ))

    def at(t: int) -> float:
        return (origin_ns + (t - origin_tick) * ns) * 1e-9

    trace = [
        TracedCall(at(start), at(end),
                   [(int(n), at(a), at(b)) for n, a, b in events.tolist()])
        for start, end, events in rec.traced_runs()
    ]
    return FunctionStats(
        name=fp.name, linker=fp.linker, allow_gc=bool(prog.allow_gc),
        calls=fp.calls, call_time=fp.call_ns * 1e-9,
        vm_runs=int(rec.n_runs), vm_time=rec.run_ticks * sec,
        failed_runs=int(rec.failed_runs), other_time=rec.other_ticks * sec,
        pool_reused=int(rec.pool_reused),
        pool_mapped=int(rec.pool_mapped),
        # an inner program's runs are not calls: the loop enters it
        vm_call_time=fp.vm_call_ns * 1e-9 if clock is None else None,
        release_time=fp.release_ns * 1e-9 if clock is None else None,
        nodes=nodes, compile=copy.deepcopy(fp.compile),
        memory=(memory_stats(prog, nodes, fp.fgraph, fp.schedule) if rec.memory
                else None),
        trace=trace,
    )
