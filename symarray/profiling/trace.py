"""Chrome / Perfetto trace of profiled calls (the Trace Event Format).

Profile with ``ProfileStats(trace_calls=N)``: the VM keeps the node
timeline of each function's last ``N`` calls.  :func:`trace_events` turns
them into complete events (``"ph": "X"``): one track per function, a
``call`` event per call with its nodes nested inside (name: the op, args:
node index, apply node, backend).  Open the file in ``chrome://tracing``
or https://ui.perfetto.dev.  Times are microseconds since the first traced
call.

Nodes that run a program of their own (scan) nest its steps: under the
node's event, one ``step`` event per step (category ``step``) holding the
inner nodes' events, down to any depth (a scan inside a scan).  An inner
program keeps its last ``ProfileStats.trace_inner_events`` node events (a
ring), so the last call's steps are there when they fit; older steps of
long loops are left out, and the node's event says how many steps it
shows (``args["steps shown"]``) and whether earlier ones may be missing.
"""

from __future__ import annotations

import bisect
import json
import os
from collections.abc import Callable, Sequence
from typing import Any

from symarray.profiling.stats import FunctionStats, TracedCall

__all__ = ["trace_events", "write_trace"]


def trace_events(functions: Sequence[FunctionStats]) -> dict[str, Any]:
    """The trace (a JSON-ready dict) of every traced call of ``functions``."""
    starts = [c.start for f in functions for c in f.trace]
    if not starts:
        raise ValueError(
            "the profile holds no traced calls; profile with "
            "ProfileStats(trace_calls=N) (the last N calls of each function are "
            "kept), e.g. function(..., profile=ProfileStats(trace_calls=10))"
        )
    origin = min(starts)

    def us(t: float) -> float:
        return round((t - origin) * 1e6, 3)

    events: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": 1, "args": {"name": "symarray"}}
    ]
    for tid, f in enumerate(functions):
        if not f.trace:
            continue
        events.append({"name": "thread_name", "ph": "M", "pid": 1, "tid": tid,
                       "args": {"name": f"#{tid} {f.name}"}})
        for k, call in enumerate(f.trace):
            events.append({"name": "call", "cat": "call", "ph": "X", "pid": 1,
                           "tid": tid, "ts": us(call.start),
                           "dur": round((call.end - call.start) * 1e6, 3),
                           "args": {"function": f.name, "traced call": k,
                                    "nodes": len(call.events)}})
            _node_events(f, call.events, tid, us, events)
    return {"traceEvents": events, "displayTimeUnit": "ns",
            "otherData": {"producer": "symarray.profiling"}}


def _node_events(f: FunctionStats, nodes: list[tuple[int, float, float]], tid: int,
                 us: Callable[[float], float], out: list[dict[str, Any]]) -> None:
    """Events of ``f``'s node runs ``nodes``, with the steps of the programs
    they run nested inside."""
    for node, start, end in nodes:
        n = f.nodes[node]
        args: dict[str, Any] = {"node": node, "apply": n.name, "backend": n.backend}
        out.append({"name": n.op, "cat": n.backend, "ph": "X", "pid": 1, "tid": tid,
                    "ts": us(start), "dur": round((end - start) * 1e6, 3),
                    "args": args})
        for i, child in enumerate(n.children):
            steps = _steps_within(child.trace, start, end)
            if not steps:
                continue
            # the oldest step kept lies in this run: earlier ones may be gone
            cut = steps[0] is child.trace[0] and child.vm_runs > len(child.trace)
            args[f"steps shown (inner program {i})"] = len(steps)
            if cut:
                args[f"earlier steps dropped (inner program {i})"] = True
            for k, step in enumerate(steps):
                label = k - len(steps) if cut else k  # from the end when cut
                out.append({"name": "step", "cat": "step", "ph": "X", "pid": 1,
                            "tid": tid, "ts": us(step.start),
                            "dur": round((step.end - step.start) * 1e6, 3),
                            "args": {"step": label, "inner program": i,
                                     "nodes": len(step.events)}})
                _node_events(child, step.events, tid, us, out)


def _steps_within(trace: list[TracedCall], start: float, end: float
                  ) -> list[TracedCall]:
    """The runs of ``trace`` (in time order) that lie in ``[start, end]``."""
    first = bisect.bisect_left([c.start for c in trace], start)
    out = []
    for c in trace[first:]:
        if c.start > end:
            break
        if c.end <= end:
            out.append(c)
    return out


def write_trace(functions: Sequence[FunctionStats],
                path: str | os.PathLike[str]) -> int:
    """Write :func:`trace_events` to ``path``; return the number of node
    events written (steps not counted)."""
    trace = trace_events(functions)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(trace, fh)
    return sum(1 for e in trace["traceEvents"]
               if e.get("cat") not in (None, "call", "step"))
