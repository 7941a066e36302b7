"""Tests of symarray.vm.memplan: lifetimes, cell sharing, peaks, and the
planned no-GC mode it drives (same results as GC mode, no allocation after
the first call, changing shapes)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import config
from symarray.compile.linkers import memory_plan
from symarray.graph.basic import Apply, Op
from symarray.graph.fg import FunctionGraph
from symarray.ifelse import ifelse
from symarray.scalar import get_scalar_op
from symarray.scalar.composite import CompositeBuilder
from symarray.tensor.elemwise import Elemwise
from symarray.vm.memplan import Peaks, ShapeClasses, plan_memory, sizes_from_values

N = 1000  # static length of the planner's test vectors


def vec(name, n=N, dtype="float64"):
    return T.TensorType(dtype, shape=(n,))(name)


def mat(name, shape=(20, 30)):
    return T.TensorType("float64", shape=shape)(name)


def plan_for(inputs, outputs, schedule=None, **kw):
    fg = FunctionGraph(inputs, outputs, clone=False)
    return plan_memory(fg, schedule or fg.toposort(), **kw)


def mates(plan, var):
    """The variables that share ``var``'s cell (itself included)."""
    return next((set(g) for g in plan.groups if var in g), {var})


class AddOneInplace(Op):
    """``x + 1`` written over ``x`` (declares destroy_map)."""

    __props__ = ()
    destroy_map = {0: [0]}

    def make_node(self, x):
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, out):
        x = inputs[0]
        x += 1.0
        out[0][0] = x


# -- lifetimes and sharing ------------------------------------------------------------
def test_a_chain_reuses_two_cells():
    x = vec("x")
    a = T.exp(x)
    b = T.sin(a)
    c = T.cos(b)
    d = T.tanh(c)
    e = T.sqr(d)
    plan = plan_for([x], [e])
    assert plan.lifetime[a] == (0, 1) and plan.lifetime[d] == (3, 4)
    # b is written while a is read: never the same cell
    assert mates(plan, a) == {a, c} and mates(plan, b) == {b, d}
    assert plan.representative(c) is a and plan.representative(a) is a
    assert e in plan.pinned and all(e not in g for g in plan.groups)
    size = 8 * N
    assert plan.peaks() == Peaks(gc=2 * size, naive=5 * size, planned=3 * size)
    text = str(plan)
    assert "2 cells" in text and "peaks: gc 15.6 KiB" in text


@pytest.mark.parametrize("view", [False, True])
def test_views_extend_their_base(view):
    x = mat("x")
    m = T.exp(x)
    v = m.dimshuffle(1, 0) if view else T.sin(m).dimshuffle(1, 0)
    s = T.sin(x)  # written while v (a view of m) is still to be read
    r = v.dimshuffle(1, 0) * s
    q = T.cos(r)
    out = T.tanh(q)
    order = [m.owner, *([] if view else [v.owner.inputs[0].owner]), v.owner,
             s.owner, r.owner.inputs[0].owner, r.owner, q.owner, out.owner]
    plan = plan_for([x], [out], schedule=order)
    assert v not in plan.lifetime  # a view owns no buffer
    base = m if view else v.owner.inputs[0]
    assert plan.roots[v] == {base}
    assert plan.lifetime[base][1] == order.index(r.owner)
    assert s not in mates(plan, base)
    assert len(mates(plan, q)) > 1  # a cell is free again after the last read


def test_in_place_results_alias_their_input():
    x = vec("x")
    a = T.exp(x)
    b = AddOneInplace()(a)
    c = T.sin(x)
    d = b * c
    e = T.cos(d)
    plan = plan_for([x], [T.tanh(e)])
    assert b not in plan.lifetime and plan.roots[b] == {a}
    assert plan.lifetime[a][1] == plan.order.index(d.owner)
    assert c not in mates(plan, a)


def test_outputs_and_what_they_view_are_never_shared():
    x = mat("x")
    m = T.exp(x)
    seen = m.dimshuffle(1, 0)  # an output viewing m
    later = T.cos(T.sin(T.tanh(x) * 2.0))
    plan = plan_for([x], [seen, later])
    assert m in plan.pinned and later in plan.pinned
    shared = {v for g in plan.groups for v in g}
    assert m not in shared and later not in shared
    assert x not in plan.lifetime  # inputs are not the function's to plan


def test_different_dtypes_and_shapes_are_not_shared():
    x, y = vec("x"), vec("y", n=N + 1)
    a = T.exp(x)
    b = T.cast(T.sin(a), "float32")   # float32
    c = T.exp(T.sin(y))               # another length
    d = T.cos(c) * 2.0
    plan = plan_for([x, y], [T.sum(b) + T.sum(d)])
    for g in plan.groups:
        assert len({(v.dtype, v.type.shape) for v in g}) == 1
    # unknown shapes are never shared without a shape key
    u = T.dvector("u")
    plan = plan_for([u], [T.tanh(T.cos(T.sin(T.exp(u))))])
    assert plan.groups == []


def test_lazy_branches_share_cells_across_blocks():
    c = T.bscalar("c")
    x = vec("x")
    then_mid = T.sin(x)
    else_mid = T.tanh(x)
    out = ifelse(c, T.exp(then_mid), T.cos(else_mid))
    res = T.sqr(out)
    plan = plan_for([c, x], [res])
    kinds = [str(n.op) for n in plan.order]
    assert kinds.index("sin") < kinds.index("exp") < kinds.index("tanh")
    # the then-block's dead value lends its cell to the else-block
    assert else_mid in mates(plan, then_mid)
    # both branch values live until the select reads them, and out (a view
    # of both) until sqr: they do not share
    then_val, else_val = out.owner.inputs[1], out.owner.inputs[2]
    assert else_val not in mates(plan, then_val)
    assert plan.roots[out] == {then_val, else_val}
    # as an output, the select pins both branches' values
    plan = plan_for([c, x], [out])
    assert {then_val, else_val} <= plan.pinned


def test_shape_classes_and_symbolic_keys():
    x, y = T.dvector("x"), T.dvector("y")
    a = T.exp(x)
    b = a * y          # elementwise: y's length is x's
    c = T.sin(b)
    d = T.cos(c) + 1.0
    out = T.sum(d)
    fg = FunctionGraph([x, y], [out], clone=False)
    plan = memory_plan(fg, fg.toposort())
    assert mates(plan, a) == {a, c, d}
    assert not hasattr(fg, "shape_feature")  # attached for the plan only
    shapes = {x: (x.shape[0],)}
    assert ShapeClasses(shapes.__getitem__).key(T.iscalar()) is None


def test_peaks_and_sizes_from_a_run():
    x = T.dmatrix("x")
    h = T.tanh(T.dot(x, x.T) + 1.0)
    out = T.sum(T.exp(h) * h) + T.sum(h)
    f = theano.function([x], out, mode=theano.Mode(linker="cvm_nogc"))
    plan = f.vm.program.memory_plan
    assert plan is not None and plan.unknown()
    value = np.ones((50, 50))
    sizes = sizes_from_values({v: value for v in plan.lifetime})
    gc, naive, planned = plan.peaks(sizes)
    assert 0 < gc <= planned <= naive


# -- planned no-GC mode at run time ---------------------------------------------------
def nogc(**kw):
    return theano.Mode(linker="cvm_nogc", optimizer=None, **kw)


def c_graph():
    """Elementwise C-thunk nodes with same-shaped intermediates and a fused
    Composite; no node creates a Python object when it runs."""
    x, y = T.dvector("x"), T.dvector("y")
    b = CompositeBuilder(["float64", "float64"])
    i0, i1 = b.inputs
    comp = b.build([b.apply(get_scalar_op("mul"),
                            [b.apply(get_scalar_op("exp"), [i0]), i1])])
    a = T.exp(x)
    p = a * y
    q = T.sin(p)
    r = Elemwise(comp)(q, x)   # fused: exp(q) * x
    s = T.tanh(r) + a
    t = T.cos(s) - y
    return [x, y], t, lambda u, w: np.cos(
        np.tanh(np.exp(np.sin(np.exp(u) * w)) * u) + np.exp(u)) - w


def test_planned_nogc_call_allocates_no_intermediate_buffers():
    inputs, out, ref = c_graph()
    f = theano.function(inputs, out, mode=nogc())
    prog = f.vm.program
    assert {t.backend for t in prog.thunks} == {"c"}
    n_cells = len({c for outs in prog.node_outputs for c in outs})
    assert n_cells < len(prog.nodes)  # cells are shared
    u, w = np.linspace(0.0, 1.0, 50_000), np.full(50_000, 0.5)
    np.testing.assert_allclose(f(u, w), ref(u, w), rtol=1e-10, atol=1e-14)
    kept = {c: prog.cells[c] for outs in prog.node_outputs for c in outs
            if c not in prog.after_call}
    assert kept and all(v is not None for v in kept.values())
    vm = f.vm
    vm.set_input(0, u)
    vm.set_input(1, w)
    vm.run()  # warm-up: the output cell gets its buffer too
    tracemalloc.start()
    try:
        vm.run()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < u.nbytes // 10  # no buffer allocated
    assert all(prog.cells[c] is v for c, v in kept.items())
    np.testing.assert_allclose(vm.outputs()[0], ref(u, w), rtol=1e-10, atol=1e-14)


def test_planned_nogc_keeps_fewer_buffers_than_naive():
    inputs, out, ref = c_graph()
    u, w = np.linspace(0.0, 1.0, 10_000), np.full(10_000, 0.5)
    held = {}
    for planned in (False, True):
        with config.change_flags(memory_plan=planned):
            f = theano.function(inputs, out, mode=nogc())
        f(u, w)
        held[planned] = sum(v.nbytes for v in f.vm.program.cells.values()
                            if isinstance(v, np.ndarray) and v.size > 1)
    assert held[True] < held[False]


def test_changing_the_batch_size_between_calls():
    inputs, out, ref = c_graph()
    f = theano.function(inputs, out, mode=nogc())
    for n in (100, 7, 100, 1, 3000, 3000):
        u, w = np.linspace(-1.0, 1.0, n), np.linspace(0.0, 2.0, n)
        np.testing.assert_allclose(f(u, w), ref(u, w), rtol=1e-10, atol=1e-14)


# -- the same results as GC mode on many graphs ---------------------------------------
def _mlp_step():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    rng = np.random.default_rng(0)
    w1 = theano.shared(rng.normal(size=(6, 5)) * 0.3, name="w1")
    w2 = theano.shared(rng.normal(size=(5, 3)) * 0.3, name="w2")
    h = T.tanh(T.dot(x, w1))
    p = T.nnet.softmax(T.dot(h, w2))
    loss = -T.mean(T.sum(y * T.log(p), axis=1))
    gw1, gw2 = theano.grad(loss, [w1, w2])
    def data(n):
        r = np.random.default_rng(n)
        return [r.normal(size=(n, 6)), np.eye(3)[r.integers(0, 3, n)]]

    return [x, y], [loss, h.T, gw1 * 1.0], {w2: w2 - 0.1 * gw2}, data


def _elementwise():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    a = T.exp(-x ** 2) * T.sin(y) + T.log1p(abs(x)) * 0.5
    b = T.tanh(a) * a - y
    return [x, y], [b, a.T, T.sum(b, axis=0)], None, lambda n: [
        np.linspace(-1, 1, 4 * n).reshape(n, 4), np.ones((n, 4))]


def _views_and_inplace():
    x = T.dmatrix("x")
    a = T.exp(x)
    b = a.T + 1.0        # in-place add on a transposed view after rewriting
    c = b.reshape((-1,))
    d = T.sin(c) * 2.0
    e = T.concatenate([d, c[:3]])
    return [x], [e, T.max(b)], None, lambda n: [np.linspace(0, 1, 3 * n)
                                                .reshape(n, 3)]


def _ifelse():
    c = T.dscalar("c")
    x = T.dvector("x")
    t = T.exp(T.sin(x)) * x
    e = T.cos(x * x) + 1.0
    out = ifelse(T.gt(c, 0), t, e)
    return [c, x], [out * 2.0, T.sum(out)], None, lambda n: [
        np.array(float(n % 2) - 0.5), np.linspace(0, 1, n)]


def _multi_output_and_indexing():
    x = T.dmatrix("x")
    i = T.lvector("i")
    m = T.maximum(x, 0.0)
    rows = m[i]
    s = T.sum(rows * rows, axis=1)
    srt = T.sort(s)
    return [x, i], [srt, T.argmax(m, axis=1), rows.T], None, lambda n: [
        np.linspace(-1, 1, 5 * n).reshape(n, 5), np.arange(n)[::-1] % n]


GRAPHS = {"mlp_step": _mlp_step, "elementwise": _elementwise,
          "views_and_inplace": _views_and_inplace, "ifelse": _ifelse,
          "multi_output_and_indexing": _multi_output_and_indexing}


@pytest.mark.parametrize("name", sorted(GRAPHS))
@pytest.mark.parametrize("linker", ["cvm_nogc", "vm_nogc"])
def test_planned_nogc_matches_gc(name, linker):
    inputs, outputs, updates, data = GRAPHS[name]()
    shared = [v for v in (updates or {})]
    start = [s.get_value() for s in shared]
    results = {}
    for mode in ("cvm", linker):
        for s, v in zip(shared, start, strict=True):
            s.set_value(v.copy())
        f = theano.function(inputs, outputs, updates=updates,
                            mode=theano.Mode(linker=mode))
        assert (f.vm.program.memory_plan is not None) == (mode != "cvm")
        got = []
        for n in (4, 4, 9, 4):  # repeated calls, then another batch size
            got.append([np.copy(r) for r in f(*data(n))])
            got[-1] += [s.get_value().copy() for s in shared]
        results[mode] = got
    for gc_call, nogc_call in zip(results["cvm"], results[linker], strict=True):
        for a, b in zip(gc_call, nogc_call, strict=True):
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
