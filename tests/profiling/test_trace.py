"""Tests of symarray.profiling.trace: a valid Chrome / Perfetto trace."""

from __future__ import annotations

import json

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.profiling import ProfileStats
from symarray.profiling.trace import trace_events


def test_trace_file_is_valid_json_with_nested_events(profile, tmp_path):
    path = tmp_path / "trace.json"
    n = profile.write_trace(path)
    trace = json.loads(path.read_text())
    events = trace["traceEvents"]
    calls = [e for e in events if e.get("cat") == "call"]
    nodes = [e for e in events if e.get("ph") == "X" and e["cat"] != "call"]
    f, g = profile.functions
    assert len(calls) == 6 and n == len(nodes) == 3 * (len(f.nodes) + len(g.nodes))
    for e in calls + nodes:
        assert e["ts"] >= 0 and e["dur"] >= 0 and e["pid"] == 1
    for call in calls:  # every node event of a call lies inside it
        inside = [e for e in nodes if e["tid"] == call["tid"]
                  and call["ts"] <= e["ts"] <= call["ts"] + call["dur"] + 1e-3]
        assert inside
    names = {e["args"]["name"] for e in events if e.get("name") == "thread_name"}
    assert names == {"#0 f", "#1 g"}


def test_only_the_last_calls_are_kept():
    st = ProfileStats(trace_calls=2, atexit_print=False)
    x = T.dvector("x")
    f = theano.function([x], T.exp(x) + 1.0, profile=st,
                        mode=theano.Mode(linker="cvm").excluding("fusion"))
    for _ in range(5):
        f(np.ones(3))
    (fs,) = st.functions
    assert len(fs.trace) == 2 and all(len(c.events) == 2 for c in fs.trace)
    assert fs.trace[0].end <= fs.trace[1].start
    assert [e[0] for e in fs.trace[1].events] == [0, 1]


def test_no_traced_calls_is_a_clear_error():
    st = ProfileStats(atexit_print=False)
    x = T.dvector("x")
    theano.function([x], T.exp(x), profile=st)(np.ones(2))
    with pytest.raises(ValueError, match="trace_calls=N"):
        trace_events(st.functions)


# -- scan's steps nested under the scan node ---------------------------------------
def _scan_trace(steps, calls, inner_events):
    st = ProfileStats(trace_calls=2, trace_inner_events=inner_events,
                      atexit_print=False)
    x, m = T.dvector("x"), T.dmatrix("m")
    r, _ = theano.scan(lambda h, m_: T.tanh(T.dot(m_, h)) + 1.0, outputs_info=[x],
                       non_sequences=[m], n_steps=steps)
    f = theano.function([x, m], r.sum(), profile=st)
    for _ in range(calls):
        f(np.ones(3), np.eye(3) * 0.5)
    (fs,) = st.functions
    (scan,) = [n for n in fs.nodes if n.op_class == "Scan"]
    return trace_events(st.functions)["traceEvents"], scan


def _inside(inner, outer):
    return outer["ts"] <= inner["ts"] and (
        inner["ts"] + inner["dur"] <= outer["ts"] + outer["dur"] + 1e-3)


def test_scan_steps_are_nested_under_the_scan_node_event():
    events, scan = _scan_trace(steps=5, calls=3, inner_events=10_000)
    n_inner = len(scan.children[0].nodes)
    scans = [e for e in events if e.get("args", {}).get("apply") == scan.name]
    steps = [e for e in events if e.get("cat") == "step"]
    assert len(scans) == 2 and len(steps) == 2 * 5  # the two traced calls
    for call in scans:
        mine = [s for s in steps if _inside(s, call)]
        assert [s["args"]["step"] for s in mine] == list(range(5))
        assert call["args"]["steps shown (inner program 0)"] == 5
        for step in mine:
            nodes = [e for e in events if e.get("cat") in ("c", "numpy", "py")
                     and e["args"]["node"] < n_inner and _inside(e, step)]
            assert len(nodes) == step["args"]["nodes"] == n_inner


def test_inner_events_are_capped_and_the_last_steps_kept():
    events, scan = _scan_trace(steps=50, calls=2, inner_events=40)
    n_inner = len(scan.children[0].nodes)
    steps = [e for e in events if e.get("cat") == "step"]
    assert len(steps) == 40 // n_inner
    last_call = [e for e in events if e.get("args", {}).get("apply") == scan.name][-1]
    assert all(_inside(s, last_call) for s in steps)
    assert last_call["args"]["earlier steps dropped (inner program 0)"] is True
    assert [s["args"]["step"] for s in steps][-1] == -1  # counted from the end


def test_no_inner_trace_without_trace_calls():
    st = ProfileStats(atexit_print=False)
    x = T.dvector("x")
    r, _ = theano.scan(lambda h: h * 2.0, outputs_info=[x], n_steps=4)
    f = theano.function([x], r[-1], profile=st)
    f(np.ones(2))
    (scan,) = [n for n in st.functions[0].nodes if n.op_class == "Scan"]
    assert scan.children[0].trace == [] and scan.children[0].vm_runs == 4
