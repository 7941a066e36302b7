"""Tests of symarray.profiling.collect: scan's inner program and the parts of
its loop, nested under the scan node with consistent numbers."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.profiling import ProfileStats
from symarray.profiling.trace import trace_events
from symarray.scan_module import until
from symarray.vm._loop import LOOP_PARTS


def _rnn():
    """A batched RNN step: Dot, Gemm and tanh inside the loop."""
    xs, h0, w = T.dtensor3("xs"), T.dmatrix("h0"), T.dmatrix("w")
    hs, _ = theano.scan(lambda x, h, w_: T.tanh(T.dot(h, w_) + x), sequences=xs,
                        outputs_info=h0, non_sequences=[w])
    rng = np.random.default_rng(0)
    args = [rng.standard_normal((7, 3, 4)), np.zeros((3, 4)),
            rng.standard_normal((4, 4)) * 0.3]
    return [xs, h0, w], (hs ** 2).sum(), args, 7


def _power_until():
    """Theano's do-while example: doubles until it passes 40 (6 steps)."""
    x = T.dscalar("x")
    r, _ = theano.scan(lambda h: (h * 2.0, until(h * 2.0 > 40.0)), outputs_info=[x],
                       n_steps=100)
    return [x], r[-1], [np.float64(1.0)], 6


CASES = {"rnn": _rnn, "until": _power_until}


def _profiled(case, linker, calls=3):
    inputs, output, args, steps = CASES[case]()
    f = theano.function(inputs, output, mode=theano.Mode(linker=linker),
                        profile=ProfileStats(atexit_print=False))
    for _ in range(calls):
        f(*args)
    (fs,) = f.profile.functions
    (node,) = [n for n in fs.nodes if n.op_class == "Scan"]
    return fs, node, steps * calls


@pytest.mark.parametrize("linker", ["cvm", "cvm_nogc", "vm"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_inner_counts_are_steps_times_calls(case, linker):
    fs, node, runs = _profiled(case, linker)
    (child,) = node.children
    assert node.calls == fs.calls == 3
    assert child.vm_runs == runs
    assert all(n.calls == runs for n in child.nodes)


@pytest.mark.parametrize("case", sorted(CASES))
def test_scan_node_time_holds_its_inner_nodes_and_parts(case):
    _, node, runs = _profiled(case, "cvm")
    (child,) = node.children
    parts = {p.name: p for p in node.parts}
    assert list(parts) == [name for name, _ in LOOP_PARTS]
    # one clock and one conversion: the nesting is exact
    assert node.time >= sum(p.time for p in node.parts)
    assert node.time >= child.vm_time >= child.node_time > 0
    assert parts["inner program"].calls == runs
    assert parts["inner program"].time == pytest.approx(child.vm_time, rel=1e-9)
    assert parts["loop setup"].calls == parts["loop finish"].calls == 3
    assert parts["perform fallback"].calls == 0


def test_steps_handed_to_perform_show_as_a_part():
    x, n = T.dvector("x"), T.lscalar("n")
    r, _ = theano.scan(lambda h: h + 1.0, outputs_info=[x], n_steps=n)
    f = theano.function([x, n], r.sum(), profile=ProfileStats(atexit_print=False))
    f(np.ones(2), 3)
    f(np.ones(2), 0)  # zero steps: the loop hands the call to perform
    (node,) = [nd for nd in f.profile.functions[0].nodes if nd.op_class == "Scan"]
    parts = {p.name: p for p in node.parts}
    assert parts["perform fallback"].calls == 1 and parts["loop setup"].calls == 2
    assert node.children[0].vm_runs == 3


def test_reset_forgets_inner_runs_and_parts():
    inputs, output, args, steps = _rnn()
    f = theano.function(inputs, output, profile=ProfileStats(atexit_print=False))
    f(*args)
    f.profile.reset()
    f(*args)
    (node,) = [n for n in f.profile.functions[0].nodes if n.op_class == "Scan"]
    assert node.children[0].vm_runs == steps
    assert {p.name: p.calls for p in node.parts}["inner program"] == steps


def test_inner_python_thunks_are_counted_in_the_report():
    inputs, output, args, _ = _rnn()
    f = theano.function(inputs, output, profile=ProfileStats(atexit_print=False))
    f(*args)
    text = f.profile.report()
    assert "where its time went" in text and "loop setup" in text
    assert "7 runs" in text and "Python-thunk calls" in text


def test_a_scan_inside_a_scan_is_nested_twice():
    x = T.dvector("x")

    def outer_step(h):
        inner, _ = theano.scan(lambda g: g + 1.0, outputs_info=[h], n_steps=3)
        return inner[-1] * 2.0

    r, _ = theano.scan(outer_step, outputs_info=[x], n_steps=4)
    st = ProfileStats(trace_calls=1, atexit_print=False)
    f = theano.function([x], r, profile=st)
    f(np.arange(3.0))
    f(np.arange(3.0))
    (outer,) = [n for n in st.functions[0].nodes if n.op_class == "Scan"]
    (inner,) = [n for n in outer.children[0].nodes if n.op_class == "Scan"]
    assert outer.children[0].vm_runs == inner.calls == 2 * 4
    assert inner.children[0].vm_runs == 2 * 4 * 3
    assert outer.time >= inner.time >= sum(p.time for p in inner.parts)
    events = trace_events(st.functions)["traceEvents"]
    steps = [e for e in events if e.get("cat") == "step"]
    assert len(steps) == 4 + 4 * 3  # the last call: outer steps and inner steps


def test_buffer_pool_counts_reach_the_report():
    """A profiled function with large intermediates: after the first call
    every large block comes from the pool, and the summary says so."""
    x = T.dmatrix("x")
    f = theano.function([x], T.dot(T.exp(x), T.tanh(x).T).sum(),
                        mode=theano.Mode(linker="cvm"),
                        profile=ProfileStats(atexit_print=False))
    xv = np.ones((300, 400))
    f(xv)  # maps its three large blocks (unless earlier tests left some kept)
    (first,) = f.profile.functions
    for _ in range(3):
        f(xv)
    (fs,) = f.profile.functions
    assert fs.pool_mapped == first.pool_mapped <= 3  # later calls map nothing
    assert fs.pool_reused - first.pool_reused == 3 * 3
    out = io.StringIO()
    f.profile.summary(file=out)
    assert re.search(r"Buffer pool: +\d+ large blocks reused, \d+ newly mapped",
                     out.getvalue())


def test_no_buffer_pool_line_for_small_functions():
    x = T.dvector("x")
    f = theano.function([x], x * 2.0, profile=ProfileStats(atexit_print=False))
    f(np.ones(3))
    out = io.StringIO()
    f.profile.summary(file=out)
    assert "Buffer pool" not in out.getvalue()
