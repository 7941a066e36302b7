"""``scan()`` and its helpers against NumPy loops: every feature of the API."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T
from symarray.control.scan import Scan
from symarray.scan_module import foldl, foldr, map, reduce, until  # noqa: A004
from symarray.updates import OrderedUpdates
from tests.control.scan._helpers import check

RNG = np.random.default_rng(0)


def zero():
    return T.constant(0.0, dtype="float64")


def _scan_nodes(var):
    from symarray.graph.traversal import ancestors

    return [v.owner for v in ancestors([var])
            if v.owner is not None and isinstance(v.owner.op, Scan)]


# -- sequences ----------------------------------------------------------------
@pytest.mark.parametrize("taps", [[0], [-1], [1], [-2, 0, 1], [1, -2], [-3, -1],
                                  [2, 3]])
def test_sequence_taps(taps):
    x = T.dvector("x")
    weights = [10.0 ** j for j in range(len(taps))]
    out, _ = sa.scan(lambda *v: sum(w * a for w, a in zip(weights, v, strict=True)),
                     sequences=dict(input=x, taps=taps))
    xv = np.arange(1.0, 9.0)
    lo, hi = min(min(taps), 0), max(max(taps), 0)
    n = len(xv) - (hi - lo)
    expected = [sum(w * xv[t + k - lo] for w, k in zip(weights, taps, strict=True))
                for t in range(n)]
    check([x], out, [xv], expected)


def test_several_sequences_shortest_wins_and_matrix_rows():
    x, m = T.dvector("x"), T.dmatrix("m")
    out, _ = sa.scan(lambda a, row: row * a, sequences=[x, m])
    xv, mv = np.arange(1.0, 5.0), RNG.normal(size=(3, 2))
    check([x, m], out, [xv, mv], mv * xv[:3, None])


@pytest.mark.parametrize("go_backwards, n_steps", [(True, None), (False, -3),
                                                   (True, -2), (True, 2)])
def test_backwards(go_backwards, n_steps):
    x = T.dvector("x")
    out, _ = sa.scan(lambda v, acc: acc * 10 + v, sequences=x, outputs_info=zero(),
                     go_backwards=go_backwards, n_steps=n_steps)
    xv = np.array([1.0, 2.0, 3.0])
    backwards = go_backwards != (n_steps is not None and n_steps < 0)
    seq = xv[::-1] if backwards else xv
    n = len(xv) if n_steps is None else abs(n_steps)
    expected, acc = [], 0.0
    for t in range(n):
        acc = acc * 10 + seq[t]
        expected.append(acc)
    check([x], out, [xv], expected)


# -- outputs_info ---------------------------------------------------------------
def test_outputs_info_mixed_order_and_return_list():
    x = T.dvector("x")
    outs, _ = sa.scan(lambda v, acc: [v * 2, acc + v], sequences=x,
                      outputs_info=[None, zero()])
    xv = np.array([1.0, 2.0, 3.0])
    check([x], outs, [xv], [xv * 2, np.cumsum(xv)])
    single, _ = sa.scan(lambda v: v * 2, sequences=x, return_list=True)
    assert isinstance(single, list) and len(single) == 1


@pytest.mark.parametrize("taps", [[-1], [-2], [-2, -1], [-1, -3], [-4, -2]])
def test_state_taps(taps):
    init = T.dmatrix("init")
    weights = [1.0 + j for j in range(len(taps))]
    def step(*v):
        return sum(w * a for w, a in zip(weights, v, strict=True)) * 0.5

    out, _ = sa.scan(step,
                     outputs_info=dict(initial=init if taps != [-1] else init[0],
                                       taps=taps), n_steps=6)
    lag = -min(taps)
    iv = RNG.normal(size=(lag + 2, 3))  # extra rows: Theano uses the first `lag`
    hist = list(iv[:lag]) if taps != [-1] else [iv[0]]
    for _ in range(6):
        hist.append(sum(w * hist[len(hist) + k] for w, k in
                        zip(weights, taps, strict=True)) * 0.5)
    check([init], out, [iv], np.array(hist[-6:]))


def test_all_none_outputs_info_and_several_outputs():
    x = T.dvector("x")
    (a, b), _ = sa.scan(lambda v: [v + 1, v * v], sequences=x, outputs_info=None)
    xv = np.array([1.0, 2.0])
    check([x], [a, b], [xv], [xv + 1, xv * xv])


def test_state_with_static_shape_and_less_specific_step():
    # the initial state has static shape (3,); the step's value does not know it
    v = T.dvector("v")
    out, _ = sa.scan(lambda h, v: h + v, outputs_info=T.constant(np.zeros(3)),
                     non_sequences=v, n_steps=2)
    check([v], out, [np.arange(3.0)], [np.arange(3.0), 2 * np.arange(3.0)])
    f = sa.function([v], out)
    with pytest.raises(ValueError):
        f(np.arange(4.0))


# -- non-sequences, implicit inputs, strict ------------------------------------
def test_non_sequences_and_implicit_shared_and_outer_variables():
    x, b = T.dvector("x"), T.dscalar("b")
    w = sa.shared(np.float64(3.0), name="w")
    out, updates = sa.scan(lambda v, k: v * w + k + b, sequences=x,
                           non_sequences=T.constant(10.0, dtype="float64"))
    assert not updates
    node = _scan_nodes(out)[0]
    assert node.op.info.n_non_seqs == 3  # 10.0, then w and b found in the graph
    xv = np.array([1.0, 2.0])
    check([x, b], out, [xv, 0.5], xv * 3.0 + 10.0 + 0.5)
    w.set_value(np.float64(-1.0))
    check([x, b], out, [xv, 0.5], -xv + 10.5)


def test_strict_refuses_implicit_inputs():
    x = T.dvector("x")
    w = sa.shared(np.float64(3.0), name="w")
    with pytest.raises(ValueError, match=r"strict=True.*uses w.*non_sequences"):
        sa.scan(lambda v: v * w, sequences=x, strict=True)
    out, _ = sa.scan(lambda v, w_: v * w_, sequences=x, non_sequences=w, strict=True)
    check([x], out, [np.array([1.0, 2.0])], [3.0, 6.0])


# -- shared variables updated inside ---------------------------------------------
@pytest.mark.parametrize("form", ["outs_updates", "updates_outs", "updates_only",
                                  "pairs"])
def test_shared_updates(form):
    x = T.dvector("x")
    c = sa.shared(np.float64(0.0), name="c")

    def step(v):
        ups = {c: c + v}
        if form == "outs_updates":
            return v * c, ups
        if form == "updates_outs":
            return ups, v * c
        if form == "pairs":
            return v * c, [(c, c + v)]
        return ups

    out, updates = sa.scan(step, sequences=x)
    assert isinstance(updates, OrderedUpdates) and list(updates) == [c]
    xv = np.array([1.0, 2.0, 3.0])
    outputs = [updates[c]] if form == "updates_only" else [out, updates[c]]
    expected = [6.0] if form == "updates_only" else [[0.0, 2.0, 9.0], 6.0]
    check([x], outputs, [xv], expected, updates=updates,
          reset=lambda: c.set_value(np.float64(0.0)),
          after=lambda: np.testing.assert_allclose(c.get_value(), 6.0))


def test_default_update_inside_scan():
    c = sa.shared(np.float64(1.0), name="c")
    c.default_update = c * 2
    out, updates = sa.scan(lambda: c + 0.0, n_steps=3)
    assert list(updates) == [c]
    check([], out, [], [1.0, 2.0, 4.0], updates=updates,
          reset=lambda: c.set_value(np.float64(1.0)),
          after=lambda: np.testing.assert_allclose(c.get_value(), 8.0))


# -- do-while ----------------------------------------------------------------------
@pytest.mark.parametrize("form", ["outs_until", "until_outs", "outs_updates_until",
                                  "two_outs_until"])
def test_until(form):
    limit = T.dscalar("limit")
    c = sa.shared(np.float64(0.0), name="c")

    def step(p):
        new = p * 2
        stop = until(T.gt(new, limit))
        if form == "outs_until":
            return new, stop
        if form == "until_outs":
            return stop, new
        if form == "two_outs_until":
            return new, new + 1, stop
        return new, {c: c + 1}, stop

    info = [T.constant(1.0, dtype="float64")]
    if form == "two_outs_until":
        info.append(None)
    out, updates = sa.scan(step, outputs_info=info, n_steps=100)
    expected = [2.0, 4.0, 8.0, 16.0, 32.0]
    if form == "two_outs_until":
        check([limit], out, [20.0], [expected, np.add(expected, 1)])
    else:
        check([limit], out, [20.0], expected, updates=updates,
              reset=lambda: c.set_value(np.float64(0.0)))
    if form == "outs_updates_until":
        assert c.get_value() == 5.0


def test_until_hits_n_steps_and_zero_steps():
    n = T.lscalar("n")
    out, _ = sa.scan(lambda p: (p + 1, until(T.gt(p, 100))),
                     outputs_info=zero(), n_steps=n)
    check([n], out, [4], [1.0, 2.0, 3.0, 4.0])
    check([n], out, [0], np.zeros(0))


# -- helpers ------------------------------------------------------------------------
def test_map_reduce_foldl_foldr():
    x = T.dvector("x")
    xv = np.array([1.0, 2.0, 3.0])
    check([x], map(lambda v: v * 2, x)[0], [xv], xv * 2)
    check([x], reduce(lambda v, a: a * 10 + v, x, zero())[0], [xv], 123.0)
    check([x], foldl(lambda v, a: a * 10 + v, x, zero())[0], [xv], 123.0)
    check([x], foldr(lambda v, a: a * 10 + v, x, zero())[0], [xv], 321.0)
    both, _ = reduce(lambda v, a, b: [a + v, b * v], x, [zero(), T.constant(1.0)])
    check([x], both, [xv], [6.0, 6.0])
    assert sa.map is map and sa.reduce is reduce and sa.foldl is foldl


def test_top_level_exports():
    assert sa.scan is sa.scan_module.scan
    assert sa.scan_module.until is until


# -- errors --------------------------------------------------------------------------
X = T.dvector("X")


@pytest.mark.parametrize("build, error, match", [
    (lambda: sa.scan(lambda v, a: [a + v, v], sequences=X, outputs_info=[zero()]),
     ValueError, r"returns 2 output\(s\) but outputs_info has 1 entries"),
    (lambda: sa.scan(lambda v: "text", sequences=X),
     TypeError, "cannot understand what the step function returned: str"),
    (lambda: sa.scan(lambda v: [v, {1: 2}, {3: 4}], sequences=X),
     TypeError, "cannot understand"),
    (lambda: sa.scan(lambda a, b: a + b, n_steps=3, outputs_info=dict(
        initial=T.constant(np.zeros(2)), taps=[-3, -1])),
     ValueError, r"taps \[-3, -1\], which read 3 earlier steps, but its initial value "
                 "has 2 rows"),
    (lambda: sa.scan(lambda a, b: a + b, n_steps=3, outputs_info=dict(
        initial=zero(), taps=[-3, -1])),
     ValueError, "needs a leading dimension of at least 3 rows"),
    (lambda: sa.scan(lambda a: T.cast(a, "float32"), outputs_info=zero(), n_steps=3),
     TypeError, r"changes dtype between steps.*float64.*float32.*T\.cast"),
    (lambda: sa.scan(lambda a: T.stack([a, a]), outputs_info=zero(), n_steps=3),
     TypeError, "changes rank between steps"),
    (lambda: sa.scan(lambda a: a + 1, outputs_info=zero()),
     ValueError, "no sequence gives the number of steps; pass n_steps"),
    (lambda: sa.scan(lambda a: (a, until(T.gt(T.ones(3), a))), outputs_info=zero(),
                     n_steps=3),
     TypeError, r"until: the condition must be a scalar \(0-d\)"),
    (lambda: sa.scan(lambda a: (a, until(a)), outputs_info=zero(), n_steps=3),
     TypeError, "until: the condition must be boolean or integer"),
    (lambda: sa.scan(lambda a: (a, until(a > 1), until(a > 2)), outputs_info=zero(),
                     n_steps=3),
     TypeError, "2 until conditions"),
    (lambda: sa.scan(lambda v: v, sequences=dict(input=X, taps=[0, 0])),
     ValueError, "lists a tap twice"),
    (lambda: sa.scan(lambda v: v, sequences=T.dscalar("s")),
     TypeError, "must have at least one dimension"),
    (lambda: sa.scan(lambda a: a, outputs_info=dict(initial=zero(), taps=[1]),
                     n_steps=2),
     ValueError, "must all be negative"),
    (lambda: sa.scan(lambda a: a, outputs_info=zero(), n_steps=T.dscalar()),
     TypeError, "n_steps must be a scalar integer"),
    (lambda: sa.scan(lambda a: a, outputs_info=zero(), n_steps=2.5),
     TypeError, "n_steps must be an integer"),
    (lambda: sa.scan(lambda v: v, sequences=dict(taps=[0])),
     ValueError, "needs the key 'input'"),
    (lambda: sa.scan(lambda v: v, sequences=X, outputs_info=[dict(taps=[-1])]),
     ValueError, "without an 'initial' value"),
    (lambda: sa.scan(3, sequences=X), TypeError, "fn must be callable"),
])
def test_build_errors(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_named_scan_in_errors():
    with pytest.raises(ValueError, match="scan 'loop': no sequence"):
        sa.scan(lambda a: a + 1, outputs_info=zero(), name="loop")


@pytest.mark.parametrize("linker", ["py", "cvm"])
def test_run_time_errors(linker):
    x, n = T.dvector("x"), T.lscalar("n")
    out, _ = sa.scan(lambda v: v * 2, sequences=x, n_steps=n)
    f = sa.function([x, n], out, mode=sa.Mode(linker=linker))
    np.testing.assert_allclose(f(np.ones(3), 2), [2.0, 2.0])
    with pytest.raises(ValueError, match="sequence 0 has 3 rows but 5 steps"):
        f(np.ones(3), 5)
    with pytest.raises(ValueError, match="n_steps is -1 at run time"):
        f(np.ones(3), -1)
    f0 = T.dvector("f0")
    fib, _ = sa.scan(lambda a, b: a + b, outputs_info=dict(initial=f0, taps=[-3, -1]),
                     n_steps=3)
    g = sa.function([f0], fib, mode=sa.Mode(linker=linker))
    with pytest.raises(ValueError, match=r"initial value of output 0 has 2 rows but "
                                         r"its taps \[-3, -1\] read 3"):
        g(np.zeros(2))


# -- compile-time behaviour ------------------------------------------------------------
def test_test_values_flow_through_scan():
    x, a0 = T.dvector("x"), T.dscalar("a0")
    x.tag.test_value, a0.tag.test_value = np.arange(3.0), 0.5
    with sa.config.change_flags(compute_test_value="raise"):
        out, _ = sa.scan(lambda v, a: a * 10 + v, sequences=x, outputs_info=a0)
    np.testing.assert_allclose(out.tag.test_value, [5.0, 51.0, 512.0])


def test_grad_goes_to_grad_module(monkeypatch):
    grad_mod = pytest.importorskip("symarray.control.scan.grad")
    calls = []

    def fake_lop(op, inputs, outputs, output_grads):
        calls.append(op)
        return [None] + [T.zeros_like(i) for i in inputs[1:]]

    monkeypatch.setattr(grad_mod, "scan_lop", fake_lop)
    x = T.dvector("x")
    out, _ = sa.scan(lambda v: v * 2, sequences=x)
    T.grad(out.sum(), x)
    assert len(calls) == 1 and isinstance(calls[0], Scan)


def test_shapes_of_outputs_do_not_run_the_loop():
    from tests.op_checks import check_infer_shape

    x, h0, m = T.dvector("x"), T.dvector("h0"), T.dmatrix("m")
    (hs, ys), _ = sa.scan(lambda v, h, m: [h * v, T.dot(m, h)], sequences=x,
                          outputs_info=[h0, None], non_sequences=m)
    values = [np.arange(1.0, 5.0), np.ones(3), np.ones((2, 3))]
    check_infer_shape([x, h0, m], [hs, ys], values)
    f = sa.function([x, h0, m], [hs.shape, ys.shape])
    assert not any(isinstance(n.op, Scan) for n in f.maker.fgraph.apply_nodes)
    got = f(*values)
    np.testing.assert_array_equal(got[0], [4, 3])
    np.testing.assert_array_equal(got[1], [4, 2])


@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE"])
def test_compiles_under_each_mode(mode):
    x = T.dvector("x")
    out, _ = sa.scan(lambda v, a: a + T.exp(v) * 2, sequences=x,
                     outputs_info=zero(), mode=mode)
    xv = np.array([0.0, 1.0])
    f = sa.function([x], out * 1, mode=mode)
    np.testing.assert_allclose(f(xv), np.cumsum(np.exp(xv) * 2))
