"""The scan rewrites (``symarray/control/scan/rewriting/``): each applies where it
should and not elsewhere, and a graph gives the same values with and without
them (``mode.excluding("scan")``), under the ``py`` and ``cvm`` linkers."""

from __future__ import annotations

import tracemalloc
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray.control.ifelse import ifelse
from symarray.control.scan import Scan, ScanInfo
from symarray.control.scan.rewriting.keep_last import rows_from_end
from symarray.graph.basic import Constant
from symarray.graph.rewriting import REWRITES
from symarray.scan_module import until
from symarray.tensor.blas import Dot
from symarray.tensor.elemwise import DimShuffle

#: a rewriter that fails on a node only warns when compiling; here it is an error
pytestmark = pytest.mark.filterwarnings("error:rewriter ")

LINKERS = ("py", "cvm")
NAMES = ("local_scan_hoist_invariants", "scan_remove_unused_outputs", "scan_merge",
         "scan_keep_last")


def _mode(linker: str, on: bool = True, without: str = "scan") -> Any:
    mode = sa.Mode(linker=linker)
    return mode if on else mode.excluding(without)


def _fn(inputs: Sequence[Any], outputs: Any, linker: str = "py", on: bool = True,
        without: str = "scan", **kw: Any) -> Any:
    return sa.function(list(inputs), outputs, mode=_mode(linker, on, without),
                       on_unused_input="ignore", **kw)


def _scans(f: Any) -> list[Any]:
    return [n for n in f.maker.fgraph.toposort() if isinstance(n.op, Scan)]


def _inner_ops(node: Any) -> list[Any]:
    return [n.op for n in node.op.fgraph.toposort()]


def _invariant_nodes(node: Any) -> list[Any]:
    """The step's nodes that read only non-sequences and constants."""
    fixed = set(node.op.inner_non_seqs())
    found = []
    for n in node.op.fgraph.toposort():
        if all(i in fixed or isinstance(i, Constant) for i in n.inputs):
            fixed.update(n.outputs)
            found.append(n)
    return found


def _same(inputs: Sequence[Any], outputs: Any, values: Sequence[Any],
          linkers: Sequence[str] = LINKERS, without: str = "scan",
          **kw: Any) -> None:
    """Values with the scan rewrites equal the values without them."""
    for linker in linkers:
        got = _fn(inputs, outputs, linker, True, **kw)(*values)
        want = _fn(inputs, outputs, linker, False, without, **kw)(*values)
        got = got if isinstance(got, list) else [got]
        want = want if isinstance(want, list) else [want]
        for g, w in zip(got, want, strict=True):
            assert np.shape(g) == np.shape(w), linker
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12,
                                       err_msg=f"linker {linker}")


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _rnn() -> tuple[list[Any], Any]:
    x, h0 = T.dmatrix("x"), T.dvector("h0")
    w, u = T.dmatrix("W"), T.dmatrix("U")
    hs, _ = sa.scan(lambda x_t, h, w_, u_: T.tanh(T.dot(w_, h) + T.dot(u_, x_t)),
                    sequences=x, outputs_info=h0, non_sequences=[w, u])
    return [x, h0, w, u], hs


def _rnn_values(steps: int = 6) -> list[Any]:
    r = _rng(1)
    return [r.normal(size=(steps, 3)), r.normal(size=4), 0.5 * r.normal(size=(4, 4)),
            r.normal(size=(4, 3))]


# -- registration ------------------------------------------------------------------


def test_registered_with_tags_and_phases() -> None:
    phases = {"local_scan_hoist_invariants": ("canonicalize",),
              "scan_remove_unused_outputs": ("canonicalize", "specialize"),
              "scan_merge": ("canonicalize",), "scan_keep_last": ("specialize",)}
    for name in NAMES:
        entry = REWRITES[name]
        assert {"fast_run", "scan"} <= entry.tags
        assert entry.phases == phases[name]


def test_inner_graph_gets_the_usual_rewrites() -> None:
    # the step is compiled with the default mode: fusion, BLAS, constants
    h0, w = T.dvector("h0"), T.dmatrix("W")
    hs, _ = sa.scan(lambda h, w_: T.exp(T.dot(w_, h) * 1.0 + 0.0) * 2.0 + 1.0,
                    outputs_info=h0, non_sequences=w, n_steps=3)
    f = _fn([h0, w], hs)
    (node,) = _scans(f)
    ops = [str(n.op) for n in node.op.inner_function().maker.fgraph.toposort()]
    assert any("Composite" in o for o in ops), ops     # exp, mul, add fused
    assert not any(o in ("mul", "add") for o in ops), ops
    assert any("Gemv" in o or "Dot" in o for o in ops), ops


# -- pushing loop invariants out --------------------------------------------------


def test_hoist_transpose_and_dot_of_non_sequences() -> None:
    x, w, b = T.dmatrix("x"), T.dmatrix("W"), T.dvector("b")
    ys, _ = sa.scan(lambda x_t, w_, b_: T.dot(w_.T, x_t) + T.dot(w_, b_),
                    sequences=x, non_sequences=[w, b])
    on, off = _fn([x, w, b], ys), _fn([x, w, b], ys, on=False)
    (n_on,), (n_off,) = _scans(on), _scans(off)
    assert any(isinstance(o, DimShuffle) for o in _inner_ops(n_off))
    assert not any(isinstance(o, DimShuffle) for o in _inner_ops(n_on))
    assert _invariant_nodes(n_off) and not _invariant_nodes(n_on)
    assert len(n_on.op.fgraph.apply_nodes) < len(n_off.op.fgraph.apply_nodes)
    outer = [str(n.op) for n in on.maker.fgraph.toposort()]
    assert any("Dot" in o or "Gemv" in o for o in outer)  # dot(W, b), once
    r = _rng()
    _same([x, w, b], ys, [r.normal(size=(5, 3)), r.normal(size=(3, 3)),
                          r.normal(size=3)])


def test_hoist_invariants_that_compiling_the_step_creates() -> None:
    # dot(h, W) + c of a vector h becomes gemv(c, W.T, h) when the step is
    # compiled: W.T is taken once, before the loop
    x, h0, w, u = T.dmatrix("x"), T.dvector("h0"), T.dmatrix("W"), T.dmatrix("U")
    hs, _ = sa.scan(lambda x_t, h, w_, u_: T.tanh(T.dot(h, w_) + T.dot(x_t, u_)),
                    sequences=x, outputs_info=h0, non_sequences=[w, u])
    steps = []
    for on in (True, False):
        (node,) = _scans(_fn([x, h0, w, u], hs, on=on))
        steps.append([n.op for n in node.op.inner_function().maker.fgraph.toposort()])
    transposes = [sum(isinstance(o, DimShuffle) for o in ops) for ops in steps]
    assert transposes[0] < transposes[1], steps
    r = _rng()
    _same([x, h0, w, u], hs, [r.normal(size=(4, 2)), r.normal(size=3),
                              r.normal(size=(3, 3)), r.normal(size=(2, 3))])


def test_hoist_keeps_lazy_branches_inside() -> None:
    x, w, b = T.dvector("x"), T.dmatrix("W"), T.dvector("b")
    # dot(W, b) only in the then-branch: not hoisted (the branch stays lazy);
    # W.sum() is read outside the branches: hoisted
    ys, _ = sa.scan(lambda x_t, h, w_, b_: ifelse(T.gt(x_t, 0), T.dot(w_, b_),
                                                   h + 1.0) * w_.sum(),
                    sequences=x, outputs_info=T.zeros_like(b), non_sequences=[w, b])
    f = _fn([x, w, b], ys)
    (node,) = _scans(f)
    assert any(isinstance(o, Dot) for o in _inner_ops(node))
    assert not any("Sum" in str(o) for o in _inner_ops(node))
    r = _rng()
    _same([x, w, b], ys, [np.array([1.0, -1.0, 2.0, -3.0]), r.normal(size=(3, 3)),
                          r.normal(size=3)])


def test_hoist_leaves_constant_only_nodes_and_loop_values() -> None:
    x = T.dvector("x")
    ys, _ = sa.scan(lambda v: v * T.arange(3).sum(), sequences=x)
    f = _fn([x], ys, on=True, without="scan")
    (node,) = _scans(f)
    assert node.op.info.n_non_seqs == 0  # nothing read from outside
    _same([x], ys, [np.arange(4.0)])


def test_hoist_lengths_of_states_and_sum_to_shape_stand_in() -> None:
    # the backward step of an RNN reads dot(W, h[t-1]) only for its shape
    # (SumToShape): a hoisted stand-in of that shape replaces it
    inputs, hs = _rnn()
    cost = (hs[-1] ** 2).sum() + hs.sum()
    grads = T.grad(cost, inputs[1:])
    on, off = _fn(inputs, grads), _fn(inputs, grads, on=False)
    back_on = [n for n in _scans(on) if n.op.name == "grad_of_scan"]
    back_off = [n for n in _scans(off) if n.op.name == "grad_of_scan"]
    dots = [sum(isinstance(o, Dot) for o in _inner_ops(n)) for n in back_on + back_off]
    assert dots[0] < dots[1], dots
    _same(inputs, grads, _rnn_values())


def test_hoist_a_nested_loop_over_non_sequences() -> None:
    x, w = T.dvector("x"), T.dmatrix("W")

    def step(v: Any, w_: Any) -> Any:
        rows, _ = sa.reduce(lambda r, acc: acc + r, sequences=w_,
                            outputs_info=T.zeros_like(w_[0]))
        inner, _ = sa.scan(lambda r, u: T.tanh(r * u), sequences=w_,
                           non_sequences=v)
        return v * rows.sum() + inner.sum()

    ys, _ = sa.scan(step, sequences=x, non_sequences=w)
    (node,) = _scans(_fn([x, w], ys))
    nested = [n for n in node.op.fgraph.toposort() if isinstance(n.op, Scan)]
    assert len(nested) == 1  # the reduce over W runs once, outside
    r = _rng()
    _same([x, w], ys, [r.normal(size=4), r.normal(size=(3, 2))])


@pytest.mark.parametrize("steps", [0, 1, 5])
def test_hoisted_values_with_any_step_count(steps: int) -> None:
    w, h0, n = T.dmatrix("W"), T.dvector("h0"), T.lscalar("n")
    hs, _ = sa.scan(lambda h, w_: T.tanh(T.dot(w_.T, h) + w_.sum(axis=0)),
                    outputs_info=h0, non_sequences=w, n_steps=n)
    r = _rng()
    _same([w, h0, n], hs, [r.normal(size=(3, 3)), r.normal(size=3), steps])


# -- removing unused outputs -------------------------------------------------------


def test_remove_unused_nit_sot_and_state() -> None:
    x = T.dvector("x")
    (a, b, c), _ = sa.scan(lambda v, s: [s + v, T.exp(v), s * 2.0], sequences=x,
                           outputs_info=[T.constant(0.0, dtype="float64"), None,
                                         None])
    on, off = _fn([x], c), _fn([x], c, on=False)
    (n_on,), (n_off,) = _scans(on), _scans(off)
    assert (n_off.op.info.n_states, n_off.op.info.n_nit_sot) == (1, 2)
    # state a is read by c (through its tap): it stays, with a 1-row buffer
    assert (n_on.op.info.n_states, n_on.op.info.n_nit_sot) == (1, 1)
    assert not any("exp" in str(o) for o in _inner_ops(n_on))
    _same([x], [c], [np.arange(5.0)])
    only_b = _fn([x], b)
    (n_b,) = _scans(only_b)
    assert (n_b.op.info.n_states, n_b.op.info.n_nit_sot) == (0, 1)
    _same([x], [b, a[-1]], [np.arange(5.0)])


def test_until_keeps_what_the_condition_reads() -> None:
    m = T.dscalar("m")
    (p, q), _ = sa.scan(lambda p_, q_, m_: ([p_ * 2, q_ + 1], until(p_ * 2 > m_)),
                        outputs_info=[T.constant(1.0, dtype="float64"),
                                      T.constant(0.0, dtype="float64")],
                        non_sequences=m, n_steps=100)
    f = _fn([m], q)
    (node,) = _scans(f)
    assert node.op.info.n_states == 2 and node.op.info.as_while
    _same([m], [q], [45.0])


def test_shared_updates_are_never_removed() -> None:
    a = sa.shared(np.float64(1.0), name="a")
    x = T.dvector("x")
    ys, upd = sa.scan(lambda v: (v * 2.0, {a: a + v}), sequences=x)
    for linker in LINKERS:
        a.set_value(np.float64(1.0))
        f = _fn([x], [], linker, updates=upd)
        (node,) = _scans(f)
        assert node.op.info.n_shared == 1 and node.op.info.n_nit_sot == 0
        f(np.arange(4.0))
        assert a.get_value() == 7.0


def test_unused_gradients_of_a_backward_scan_go() -> None:
    inputs, hs = _rnn()
    g_w = T.grad((hs[-1] ** 2).sum(), inputs[2])
    on, off = _fn(inputs, g_w), _fn(inputs, g_w, on=False)
    back_on = next(n for n in _scans(on) if n.op.name == "grad_of_scan")
    back_off = next(n for n in _scans(off) if n.op.name == "grad_of_scan")
    i_on, i_off = back_on.op.info, back_off.op.info
    assert i_on.n_states + i_on.n_nit_sot < i_off.n_states + i_off.n_nit_sot
    assert i_on.n_seqs < i_off.n_seqs  # the sequence x is no longer read
    _same(inputs, g_w, _rnn_values())


def test_remove_cascades_through_a_chain_of_loops() -> None:
    x = T.dvector("x")
    a, _ = sa.scan(lambda v: T.exp(v), sequences=x)
    (b, c), _ = sa.scan(lambda v, w: [v * 2.0, w + 1.0], sequences=[x, a])
    f = _fn([x], b)
    (node,) = _scans(f)  # c went, so a is read by nobody
    assert node.op.info.n_seqs == 1
    _same([x], b, [np.arange(3.0)])


# -- merging loops -----------------------------------------------------------------


def test_merge_loops_over_the_same_sequence() -> None:
    m, w = T.dmatrix("M"), T.dmatrix("W")
    s1, _ = sa.scan(lambda v, w_: T.dot(w_, v), sequences=m, non_sequences=w)
    s2, _ = sa.scan(lambda v, w_: T.tanh(T.dot(w_, v)), sequences=m, non_sequences=w)
    f = _fn([m, w], [s1, s2])
    (node,) = _scans(f)
    assert node.op.info.n_seqs == 1 and node.op.info.n_nit_sot == 2
    assert len(_scans(_fn([m, w], [s1, s2], without="scan_merge", on=False))) == 2
    r = _rng()
    _same([m, w], [s1, s2], [r.normal(size=(5, 3)), r.normal(size=(3, 3))])


def test_merge_needs_same_length_and_no_dependency() -> None:
    x, y = T.dvector("x"), T.dvector("y")
    a, _ = sa.scan(lambda v: v * 2.0, sequences=x)
    b, _ = sa.scan(lambda v: v + 1.0, sequences=y)          # another length
    c, _ = sa.scan(lambda v: v - 1.0, sequences=a)          # reads a
    d, _ = sa.scan(lambda h: (h * 2, until(h > 5)),          # do-while
                   outputs_info=T.constant(1.0, dtype="float64"), n_steps=x.shape[0])
    outs = [a, b, c, d]
    f = _fn([x, y], outs)
    assert len(_scans(f)) == 4
    _same([x, y], outs, [np.arange(4.0), np.arange(6.0)])


def test_merge_states_and_shared_updates() -> None:
    s = sa.shared(np.float64(0.0), name="s")
    x, n = T.dvector("x"), T.lscalar("n")
    fib, _ = sa.scan(lambda a, b: a + b,
                     outputs_info=dict(initial=x, taps=[-2, -1]), n_steps=n)
    acc, upd = sa.scan(lambda h: (h * 0.5, {s: s + 1.0}), outputs_info=x[0],
                       n_steps=n)
    for linker in LINKERS:
        s.set_value(np.float64(0.0))
        f = _fn([x, n], [fib, acc], linker, updates=upd)
        assert len(_scans(f)) == 1
        got = f(np.array([1.0, 1.0]), 5)
        np.testing.assert_allclose(got[0], [2, 3, 5, 8, 13])
        np.testing.assert_allclose(got[1], 0.5 ** np.arange(1, 6))
        assert s.get_value() == 5.0


# -- keeping the last rows ----------------------------------------------------------


def _trace_rows(f: Any, values: Sequence[Any], linker: str) -> list[tuple[int, ...]]:
    """The run-time shapes of the outputs of the compiled graph's Scan nodes."""
    fg = f.maker.fgraph
    outs = [o for n in _scans(f) for o in n.outputs]
    g = sa.function(fg.inputs, outs, mode=sa.Mode(linker=linker, optimizer=None),
                    on_unused_input="ignore")
    return [np.shape(v) for v in g(*values)]


@pytest.mark.parametrize("linker", LINKERS)
def test_reduce_keeps_one_row(linker: str) -> None:
    x = T.dmatrix("x")
    total, _ = sa.reduce(lambda v, acc: acc + v, sequences=x,
                         outputs_info=T.zeros_like(x[0]))
    f = _fn([x], total, linker)
    (node,) = _scans(f)
    assert node.op.info.keep_last == (1,)
    value = np.arange(20.0).reshape(10, 2)
    assert _trace_rows(f, [value], linker) == [(1, 2)]
    _same([x], total, [value], linkers=(linker,))


@pytest.mark.parametrize("linker", LINKERS)
@pytest.mark.parametrize("steps", [0, 1, 2, 7])
def test_last_rows_of_states_with_taps_and_nit_sots(linker: str, steps: int) -> None:
    init, n = T.dvector("init"), T.lscalar("n")
    (fib, sq), _ = sa.scan(lambda a, b, c: [a + b - 0.5 * c, b * b],
                           outputs_info=[dict(initial=init, taps=[-3, -2, -1]), None],
                           n_steps=n)
    outs = [fib[-2:], sq[-4:], fib[-1:], sq[-1:]]
    f = _fn([init, n], outs, linker)
    (node,) = _scans(f)
    assert node.op.info.keep_last == (2, 4)
    assert _trace_rows(f, [np.array([1.0, 0.5, 0.25]), steps], linker) == [
        (min(2, steps),), (min(4, steps),)]
    _same([init, n], outs, [np.array([1.0, 0.5, 0.25]), steps], linkers=(linker,))


def test_last_rows_of_a_do_while_loop() -> None:
    m = T.dscalar("m")
    vals, _ = sa.scan(lambda p, m_: (p * 2, until(p * 2 > m_)),
                      outputs_info=T.constant(1.0, dtype="float64"),
                      non_sequences=m, n_steps=1024)
    outs = [vals[-1], vals[-3:]]
    f = _fn([m], outs)
    assert _scans(f)[0].op.info.keep_last == (3,)
    for value in (0.5, 3.0, 45.0):
        _same([m], outs, [value])


_I = T.lscalar("i")


@pytest.mark.parametrize("use", [
    lambda t: t.sum(), lambda t: t[0], lambda t: t[1:], lambda t: t[-2::-1],
    lambda t: [t[-1], t], lambda t: t[_I],
])
def test_keep_last_not_where_more_is_read(use: Any) -> None:
    x = T.dvector("x")
    ys, _ = sa.scan(lambda v, h: h + v, sequences=x,
                    outputs_info=T.constant(0.0, dtype="float64"))
    out = use(ys)
    f = _fn([x, _I], out)
    assert _scans(f)[0].op.info.keep_last is None


@pytest.mark.parametrize(("key", "rows"), [
    (-1, 1), (-3, 3), (0, None), (2, None), (slice(-2, None), 2),
    (slice(-4, -1), 4), (slice(-3, None, 2), 3), (slice(-3, None, -1), None),
    (slice(None, -1), None), (slice(1, None), None), (slice(-2, 5), None),
    ((-1, 0), 1), ((slice(-2, None), slice(None, None, -1)), 2), (None, None),
])
def test_rows_from_end(key: Any, rows: int | None) -> None:
    x = T.dmatrix("x")
    out = x[key]
    assert rows_from_end(out.owner) == rows


@pytest.mark.parametrize("linker", LINKERS)
def test_keep_last_saves_memory(linker: str) -> None:
    steps, width = 4_000, 256
    x = T.dmatrix("x")
    total, _ = sa.reduce(lambda v, acc: acc + v, sequences=x,
                         outputs_info=T.zeros_like(x[0]))
    value = np.ones((steps, width))
    peaks = []
    for on in (True, False):
        f = _fn([x], total, linker, on, without="scan_keep_last")
        f(value)
        tracemalloc.start()
        try:
            got = f(value)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        np.testing.assert_allclose(got, np.full(width, steps))
    trace_bytes = steps * width * 8
    assert peaks[1] > trace_bytes > 20 * peaks[0], peaks


def test_keep_last_in_info_validated() -> None:
    with pytest.raises(ValueError, match="keep_last"):
        ScanInfo(((0,),), ((-1,),), 1, 0, 0, False, keep_last=(1,))
    with pytest.raises(ValueError, match="keep_last"):
        ScanInfo(((0,),), ((-1,),), 0, 0, 0, False, keep_last=(-1,))
    info = ScanInfo(((0,),), ((-1,),), 1, 0, 0, False, keep_last=(0, 3))
    assert (info.kept_rows(0), info.kept_rows(1)) == (0, 3)


# -- the classic examples, with and without the rewrites ------------------------------


def test_classic_examples_same_values() -> None:
    a, k = T.dvector("A"), T.lscalar("k")
    power, _ = sa.scan(lambda p, a_: p * a_, outputs_info=T.ones_like(a),
                       non_sequences=a, n_steps=k)
    _same([a, k], power[-1], [np.arange(5.0), 3])
    coeffs, z = T.dvector("c"), T.dscalar("z")
    terms, _ = sa.scan(lambda c, p, z_: c * z_ ** p,
                       sequences=[coeffs, T.arange(1000)], non_sequences=z)
    _same([coeffs, z], terms.sum(), [np.array([1.0, 0.0, 2.0]), 3.0])
    x = T.dvector("x")
    sums, _ = sa.foldl(lambda v, acc: acc + v, sequences=x,
                       outputs_info=T.constant(0.0, dtype="float64"))
    backw, _ = sa.foldr(lambda v, acc: acc * 0.5 + v, sequences=x,
                        outputs_info=T.constant(0.0, dtype="float64"))
    _same([x], [sums, backw], [np.arange(6.0)])


def test_rnn_forward_and_gradient_same_values() -> None:
    inputs, hs = _rnn()
    cost = (hs ** 2).sum() + hs[-1].sum()
    outs = [cost, *T.grad(cost, inputs)]
    _same(inputs, outs, _rnn_values())


# -- property: random loops give the same values --------------------------------------


_STATE_TAPS = [(-1,), (-2, -1), (-3, -1)]
_USES = ["all", "last", "last2", "unused", "sum"]


@st.composite
def _loops(draw: Any) -> dict[str, Any]:
    return {
        "steps": draw(st.integers(1, 5)),
        "seq_taps": draw(st.lists(st.sampled_from([(0,), (-1, 0), (0, 1), (-1, 1)]),
                                  max_size=2)),
        "state_taps": draw(st.lists(st.sampled_from(_STATE_TAPS), max_size=2)),
        "n_nit": draw(st.integers(0, 2)),
        "uses": draw(st.lists(st.sampled_from(_USES), min_size=4, max_size=4)),
        "picks": draw(st.lists(st.integers(0, 50), min_size=12, max_size=12)),
        "twin": draw(st.booleans()),
        "cvm": draw(st.booleans()),
    }


def _build(spec: dict[str, Any], w: Any, b: Any, seqs: list[Any], inits: list[Any],
           salt: float) -> list[Any]:
    n_st, n_nit = len(spec["state_taps"]), spec["n_nit"]
    if n_st + n_nit == 0:
        n_nit = 1
    picks = spec["picks"]

    def step(*args: Any) -> Any:
        args = list(args)
        w_, b_ = args[-2:]
        loop_vals = args[:-2]
        invariant = [T.dot(w_, b_), w_.sum(axis=0), b_ * salt]
        outs = []
        for k in range(n_st + n_nit):
            terms = [loop_vals[p % len(loop_vals)] for p in picks[k:k + 2]] \
                if loop_vals else []
            term = T.dot(w_.T, terms[0]) if terms else b_
            total = term + sum(terms[1:], invariant[picks[k + 3] % 3])
            outs.append(T.tanh(0.5 * total))
        return outs

    seq_args = [dict(input=s, taps=list(t)) for s, t in zip(seqs, spec["seq_taps"],
                                                           strict=True)]
    out_info = [v if taps == (-1,) else dict(initial=v, taps=list(taps))
                for v, taps in zip(inits, spec["state_taps"], strict=True)]
    out_info += [None] * n_nit
    outs, _ = sa.scan(step, sequences=seq_args, outputs_info=out_info,
                      non_sequences=[w, b], n_steps=spec["steps"], return_list=True)
    return outs


def _use(trace: Any, how: str) -> Any:
    return {"all": lambda t: t, "last": lambda t: t[-1], "last2": lambda t: t[-2:],
            "unused": lambda t: None, "sum": lambda t: t.sum()}[how](trace)


@settings(max_examples=20, deadline=None)
@given(_loops())
def test_random_loops_same_values(spec: dict[str, Any]) -> None:
    r = _rng(sum(spec["picks"]))
    w, b = T.dmatrix("W"), T.dvector("b")
    seqs = [T.dmatrix(f"s{i}") for i in range(len(spec["seq_taps"]))]
    inits = [T.dvector(f"i{i}") if taps == (-1,) else T.dmatrix(f"i{i}")
             for i, taps in enumerate(spec["state_taps"])]
    traces = _build(spec, w, b, seqs, inits, 2.0)
    if spec["twin"]:
        traces += _build(spec, w, b, seqs, inits, -1.0)
    outs = [u for k, t in enumerate(traces)
            if (u := _use(t, spec["uses"][k % 4])) is not None]
    if not outs:
        outs = [traces[0][-1]]
    values = [r.normal(size=(3, 3)), r.normal(size=3)]
    values += [r.normal(size=(spec["steps"] + 3, 3)) for _ in seqs]
    values += [r.normal(size=3) if taps == (-1,) else r.normal(size=(-taps[0], 3))
               for taps in spec["state_taps"]]
    linkers = LINKERS if spec["cvm"] else ("py",)
    _same([w, b, *seqs, *inits], outs, values, linkers=linkers)
