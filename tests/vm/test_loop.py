"""Tests of symarray.vm._loop: the Cython loop thunk that runs Scan nodes.

Every scan feature gives the same results through :class:`CyLoopThunk`
(linkers ``cvm``, ``cvm_nogc``, ``vm``) as through the op's ``perform``
(linker ``py``); the thunk really runs (no fallback to ``perform``); a
long no-GC loop allocates nothing per step; the data-pointer rebinding the
loop relies on keeps shapes, strides and the cell's cache consistent.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import symarray as theano
import symarray.kernels_c.scan  # noqa: F401  (registers the loop thunk)
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.scan_module import until
from symarray.vm._loop import CyLoopThunk
from symarray.vm._loop_rows import rebind_view

LOOP_LINKERS = ["cvm", "cvm_nogc", "vm"]


def mode(linker):
    return theano.Mode(linker=linker)


def loop_thunks(f):
    return [t for t in f.vm.program.thunks if isinstance(t, CyLoopThunk)]


# -- the pointer rebinding ---------------------------------------------------------
@pytest.mark.parametrize("base", [
    np.arange(12.0).reshape(4, 3),
    np.arange(5.0),
    np.arange(24, dtype=np.int64).reshape(4, 3, 2)[:, ::2],  # strided rows
    np.arange(8, dtype=np.float32).reshape(4, 2).T.copy().T,  # F-ordered
])
def test_rebound_view_reads_the_new_row_with_the_same_layout(base):
    for row in range(base.shape[0]):
        view, (typenum, ndim, shape, strides) = rebind_view(base, row)
        np.testing.assert_array_equal(view, base[row])
        assert typenum == base.dtype.num and ndim == base.ndim - 1
        assert shape == base.shape[1:] and strides == base.strides[1:]


# -- every feature against perform -------------------------------------------------
def _carry(dtype):
    x = T.scalar("x", dtype=dtype)
    r, _ = theano.scan(lambda h: h + np.asarray(1, dtype=dtype), outputs_info=[x],
                       n_steps=7)
    return [x], r, None, [np.asarray(2, dtype=dtype)]


def _seq_taps():
    x = T.dvector("x")
    h0 = T.dscalar("h0")
    r, _ = theano.scan(lambda a, b, c, h: h + a * c - b,
                       sequences=[dict(input=x, taps=[-2, 0, 1])],
                       outputs_info=[h0])
    return [x, h0], r, None, [np.linspace(0, 1, 9), np.float64(0.5)]


def _fibonacci(dtype):
    x = T.vector("x", dtype=dtype)
    r, _ = theano.scan(lambda a, b: a + b,
                       outputs_info=[dict(initial=x, taps=[-2, -1])], n_steps=12)
    return [x], r, None, [np.asarray([1, 1], dtype=dtype)]


def _rnn_nit_sot():
    xs = T.dtensor3("xs")
    h0 = T.dmatrix("h0")
    w = T.dmatrix("w")
    u = T.dmatrix("u")

    def step(x_t, h, w, u):
        h_new = T.tanh(T.dot(h, w) + T.dot(x_t, u))
        return h_new, h_new.sum(axis=1)

    (hs, ys), _ = theano.scan(step, sequences=xs, outputs_info=[h0, None],
                              non_sequences=[w, u])
    rng = np.random.default_rng(0)
    args = [rng.normal(size=(6, 3, 4)), rng.normal(size=(3, 5)),
            rng.normal(size=(5, 5)) * 0.3, rng.normal(size=(4, 5)) * 0.3]
    return [xs, h0, w, u], [hs, ys], None, args


def _until():
    x = T.dscalar("x")
    r, _ = theano.scan(lambda p: (p * 2, until(p * 2 > 100)), outputs_info=[x],
                       n_steps=1000)
    return [x], r, None, [np.float64(1.0)]


def _until_never():
    x = T.dscalar("x")
    r, _ = theano.scan(lambda p: (p * 2, until(p < 0)), outputs_info=[x], n_steps=5)
    return [x], r, None, [np.float64(1.0)]


def _shared_update():
    s = theano.shared(np.zeros(3), name="s")
    x = T.dvector("x")

    def step(x_t):
        return x_t * 2, {s: s + x_t}

    r, updates = theano.scan(step, sequences=x)
    return [x], [r, s + 0], updates, [np.arange(5.0)]


def _n_steps(n):
    def build():
        x = T.dvector("x")
        k = T.lscalar("k")
        r, _ = theano.scan(lambda h: h * 2 + 1, outputs_info=[x], n_steps=k)
        return [x, k], r, None, [np.ones(2), np.int64(n)]
    return build


def _noncontiguous_seq():
    m = T.dmatrix("m")
    r, _ = theano.scan(lambda row, acc: acc + row, sequences=m,
                       outputs_info=[T.zeros((3,), dtype="float64")])
    return [m], r, None, [np.arange(24.0).reshape(3, 8)[:, ::2].T[:, :3]]


def _identity_and_view_outputs():
    m = T.dmatrix("m")
    (a, b), _ = theano.scan(lambda row: [row, row[::-1]], sequences=m)
    return [m], [a, b], None, [np.arange(12.0).reshape(4, 3)]


def _strided_2d_outputs():
    t3 = T.dtensor3("t3")
    (a, b), _ = theano.scan(lambda m: [m.T, m[:, ::2] * 2.0], sequences=t3)
    return [t3], [a, b], None, [np.arange(60.0).reshape(3, 4, 5)]


def _nested():
    x = T.dvector("x")

    def outer_step(h):
        inner, _ = theano.scan(lambda g: g + 1, outputs_info=[h], n_steps=3)
        return inner[-1] * 2

    r, _ = theano.scan(outer_step, outputs_info=[x], n_steps=4)
    return [x], r, None, [np.arange(3.0)]


def _go_backwards():
    x = T.dvector("x")
    r, _ = theano.scan(lambda a, h: h * 0.5 + a, sequences=x,
                       outputs_info=[T.constant(0.0, dtype="float64")],
                       go_backwards=True)
    return [x], r, None, [np.arange(6.0)]


def _pass_through_of_a_row():
    # SumToShape passes the row through as the same view object; the loop
    # moves that view each step, so the pass-through's cell must follow it
    from symarray.tensor.elemwise_grad import SumToShape

    m = T.dmatrix("m")
    r, _ = theano.scan(lambda row, prev: SumToShape([0])(row, prev) * prev,
                       sequences=[dict(input=m, taps=[-1, 0])])
    return [m], r, None, [np.arange(1.0, 13.0).reshape(6, 2)]


def _ifelse_of_a_row():
    from symarray.ifelse import ifelse

    m = T.dmatrix("m")
    c = T.lscalar("c")
    r, _ = theano.scan(lambda a, b, c_: ifelse(c_, a, b) * 2.0 + a,
                       sequences=[dict(input=m, taps=[0, 1])], non_sequences=[c])
    return [m, c], r, None, [np.arange(10.0).reshape(5, 2), np.int64(1)]


CASES = {
    "carry_float64": lambda: _carry("float64"),
    "carry_float32": lambda: _carry("float32"),
    "carry_int64": lambda: _carry("int64"),
    "sequence_taps": _seq_taps,
    "fibonacci_float64": lambda: _fibonacci("float64"),
    "fibonacci_int64": lambda: _fibonacci("int64"),
    "rnn_nit_sot_non_seqs": _rnn_nit_sot,
    "until": _until,
    "until_never_true": _until_never,
    "shared_update": _shared_update,
    "n_steps_1": _n_steps(1),
    "n_steps_0": _n_steps(0),
    "noncontiguous_sequence": _noncontiguous_seq,
    "identity_and_view_outputs": _identity_and_view_outputs,
    "strided_2d_outputs": _strided_2d_outputs,
    "nested": _nested,
    "go_backwards": _go_backwards,
    "pass_through_of_a_row": _pass_through_of_a_row,
    "ifelse_of_a_row": _ifelse_of_a_row,
}


def _call(inputs, outputs, updates, args, linker):
    shared = [s for s in (updates or {})]
    for s in shared:
        s.set_value(np.zeros_like(s.get_value()))
    f = theano.function(inputs, outputs, updates=updates, mode=mode(linker))
    first = f(*args)
    first_copy = [np.array(o) for o in first] if isinstance(first, list) else np.array(
        first)
    for s in shared:
        s.set_value(np.zeros_like(s.get_value()))
    second = f(*args)  # no-GC: reuses the inner buffers
    # the second call must not write into what the first returned
    np.testing.assert_equal(first, first_copy)
    return f, second, [s.get_value() for s in shared]


@pytest.mark.parametrize("linker", LOOP_LINKERS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_loop_thunk_matches_perform(case, linker):
    inputs, outputs, updates, args = CASES[case]()
    _, want, want_shared = _call(inputs, outputs, updates, args, "py")
    f, got, got_shared = _call(inputs, outputs, updates, args, linker)
    thunks = loop_thunks(f)
    assert thunks and all(t.backend == "c" for t in thunks)
    for w, g in zip(want if isinstance(want, list) else [want],
                    got if isinstance(got, list) else [got], strict=True):
        assert np.asarray(g).dtype == np.asarray(w).dtype
        np.testing.assert_allclose(g, w, rtol=1e-6 if g.dtype == np.float32 else 1e-12)
    for w, g in zip(want_shared, got_shared, strict=True):
        np.testing.assert_allclose(g, w)
    expected_fallbacks = 2 if case == "n_steps_0" else 0  # two calls
    assert thunks[0].fallbacks == expected_fallbacks


@pytest.mark.parametrize("linker", LOOP_LINKERS)
def test_rnn_matches_a_numpy_loop(linker):
    inputs, outputs, _, (xs, h0, w, u) = _rnn_nit_sot()
    hs, ys = theano.function(inputs, outputs, mode=mode(linker))(xs, h0, w, u)
    h, want = h0, []
    for x_t in xs:
        h = np.tanh(h @ w + x_t @ u)
        want.append(h)
    np.testing.assert_allclose(hs, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ys, np.sum(want, axis=2), rtol=1e-12)


def test_until_stops_after_the_first_true_step():
    inputs, outputs, _, args = _until()
    f = theano.function(inputs, outputs, mode=mode("cvm"))
    np.testing.assert_array_equal(f(*args), 2.0 ** np.arange(1, 8))
    assert loop_thunks(f)[0].last_n_run == 7


def test_shape_change_between_steps_falls_back_to_perform_error():
    from symarray.control.scan.op import ScanRuntimeError

    k = T.lvector("k")
    r, _ = theano.scan(lambda i: T.arange(i), sequences=k)
    f = theano.function([k], r, mode=mode("cvm"))
    with pytest.raises(ScanRuntimeError, match="every step must give the same shape"):
        f(np.array([1, 2], dtype=np.int64))
    assert loop_thunks(f)[0].fallbacks == 1


def test_inner_failure_names_the_inner_node():
    x = T.dvector("x")
    m = T.dmatrix("m")
    r, _ = theano.scan(lambda h, m: T.dot(m, h), outputs_info=[x], non_sequences=[m],
                       n_steps=3)
    f = theano.function([x, m], r, mode=mode("cvm"))
    with pytest.raises(ValueError) as info:
        f(np.ones(3), np.ones((2, 2)))
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "Apply node that caused the error: Dot(m, x[t-1])" in notes
    np.testing.assert_allclose(f(np.ones(2), np.eye(2)), np.ones((3, 2)))


# -- no Python objects per step ----------------------------------------------------
def test_long_carry_loop_allocates_nothing_per_step():
    x = T.dscalar("x")
    n = T.lscalar("n")
    r, _ = theano.scan(lambda h: h + 1.0, outputs_info=[x], n_steps=n)
    f = theano.function([x, n], r[-1], mode=mode("cvm_nogc"))
    (thunk,) = loop_thunks(f)
    assert thunk.n_py_thunks == 0  # no Python thunk runs inside the loop
    assert all(t.backend == "c" for t in thunk.inner_program.thunks)
    x0 = np.float64(0.0)

    def blocks(steps):
        f(x0, np.int64(steps))  # warm-up
        before = sys.getallocatedblocks()
        f(x0, np.int64(steps))
        return sys.getallocatedblocks() - before

    small = min(blocks(1_000) for _ in range(3))
    large = min(blocks(10_000) for _ in range(3))
    assert abs(large - small) <= 1
    assert f(x0, np.int64(10_000)) == 10_000.0
    assert thunk.fallbacks == 0 and thunk.last_n_run == 10_000


# -- buffers kept between calls ------------------------------------------------------
def _cumsum_scan():
    x = T.dvector("x")
    r, _ = theano.scan(lambda a, h: h + a, sequences=x,
                       outputs_info=[T.constant(0.0, dtype="float64")])
    return x, r


@pytest.mark.parametrize("linker", LOOP_LINKERS)
def test_buffers_are_reused_once_no_trace_is_alive(linker):
    x, r = _cumsum_scan()
    f = theano.function([x], (r ** 2).sum(), mode=mode(linker))
    (thunk,) = loop_thunks(f)
    values = [np.arange(6.0), np.arange(6.0) * 2, np.ones(6)]
    got = [float(f(v)) for v in values]
    np.testing.assert_allclose(got, [float((np.cumsum(v) ** 2).sum()) for v in values])
    assert thunk.buffers_allocated == 1 and thunk.buffers_reused == 2
    f(np.ones(9))  # another length: a new buffer
    assert thunk.buffers_allocated == 2


@pytest.mark.parametrize("linker", LOOP_LINKERS)
def test_a_trace_or_view_still_alive_is_never_overwritten(linker):
    x, r = _cumsum_scan()
    f = theano.function([x], r, mode=mode(linker))
    (thunk,) = loop_thunks(f)
    first = f(np.arange(5.0))
    tail = f(np.ones(5))[2:]  # only a view of the second trace survives
    again = f(np.full(5, 3.0))
    np.testing.assert_array_equal(first, np.cumsum(np.arange(5.0)))
    np.testing.assert_array_equal(tail, [3.0, 4.0, 5.0])
    np.testing.assert_array_equal(again, np.cumsum(np.full(5, 3.0)))
    # a trace fed back as the sequence (the call reads it while writing)
    np.testing.assert_array_equal(f(f(np.ones(5))), np.cumsum(np.arange(1.0, 6.0)))
    assert thunk.buffers_reused == 0 and thunk.buffers_allocated == 5


def test_buffer_cache_can_be_turned_off():
    from symarray.vm._loop import set_buffer_cache_bytes

    x, r = _cumsum_scan()
    f = theano.function([x], r[-1], mode=mode("cvm"))
    (thunk,) = loop_thunks(f)
    old = set_buffer_cache_bytes(0)
    try:
        thunk.clear_buffer_cache()
        assert [float(f(np.arange(4.0))) for _ in range(3)] == [6.0] * 3
        assert thunk.buffers_reused == 0 and thunk.buffers_allocated == 3
    finally:
        set_buffer_cache_bytes(old)
    with pytest.raises(ValueError, match="nbytes must be >= 0"):
        set_buffer_cache_bytes(-1)


@pytest.mark.parametrize(("linker", "reused"), [("cvm", 0), ("cvm_nogc", 2)])
def test_only_no_gc_mode_keeps_buffers_over_the_limit(linker, reused):
    from symarray.vm._loop import set_buffer_cache_bytes

    x, r = _cumsum_scan()
    f = theano.function([x], r.sum(), mode=mode(linker))
    (thunk,) = loop_thunks(f)
    old = set_buffer_cache_bytes(1000)  # a 200-row float64 trace is 1,600 bytes
    try:
        assert [float(f(np.ones(200))) for _ in range(3)] == [20100.0] * 3
    finally:
        set_buffer_cache_bytes(old)
    assert thunk.buffers_reused == reused


# -- the profiling hooks -------------------------------------------------------------
def test_profiled_loop_times_its_parts_and_counts_steps_as_runs():
    from symarray.vm._loop import LOOP_PARTS

    x, r = _cumsum_scan()
    f = theano.function([x], r.sum(), mode=mode("cvm"), profile=True)
    (thunk,) = loop_thunks(f)
    f(np.arange(4.0))
    f(np.arange(6.0))
    f(np.zeros(0))  # zero steps: perform
    parts = {name: (calls, ticks) for name, calls, ticks in thunk.profile_parts()}
    assert list(parts) == [name for name, _ in LOOP_PARTS]
    assert parts["loop setup"][0] == 3 and parts["inner program"][0] == 10
    assert parts["between steps"][0] == parts["loop finish"][0] == 2
    assert parts["perform fallback"][0] == 1 and thunk.fallbacks == 1
    assert all(ticks >= 0 for _, ticks in parts.values())
    recorder = thunk.vm.profile
    assert recorder.n_runs == 10 and recorder.run_ticks == parts["inner program"][1]
    thunk.reset_profile_parts()
    assert all(calls == ticks == 0 for _, calls, ticks in thunk.profile_parts())
    unprofiled = theano.function([x], r[-1], mode=mode("cvm"))
    assert loop_thunks(unprofiled)[0].profile_parts() == []
