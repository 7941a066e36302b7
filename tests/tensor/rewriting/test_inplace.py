"""Tests of symarray.tensor.rewriting.inplace: the in-place phase."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.io import In
from symarray.compile.mode import Mode
from symarray.tensor import blas_ops
from symarray.tensor.elemwise import Elemwise

LINKERS = ["py", "cvm"]
NO_REWRITES = Mode(linker="py", optimizer=None)


def _mode(linker="py", *excluding):
    return Mode(linker=linker, optimizer="fast_run").excluding(*excluding)


def _destroyers(f):
    return [n for n in f.maker.fgraph.toposort() if n.op.destroy_map]


def _same_results(inputs, outputs, values, mode):
    """FAST_RUN results equal unrewritten ones; the arguments stay unchanged."""
    kept = [np.array(v, copy=True) for v in values]
    f = sa.function(inputs, outputs, mode=mode)
    want = sa.function(inputs, outputs, mode=NO_REWRITES)(*kept)
    for _ in range(2):  # a second call must see the same arguments
        got = f(*values)
        for g, w in zip(got, want, strict=True):
            assert g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=1e-12)
        for v, k in zip(values, kept, strict=True):
            np.testing.assert_array_equal(v, k)
    return f


# -- elementwise ---------------------------------------------------------------


@pytest.mark.parametrize("linker", LINKERS)
def test_elementwise_ops_overwrite_temporaries(linker):
    x, y = T.dvectors("x", "y")
    out = T.exp(T.sin(x)) * y
    f = _same_results([x, y], [out], [np.linspace(0, 1, 5), np.ones(5)],
                      _mode(linker, "fusion"))
    names = [str(n.op) for n in f.maker.fgraph.toposort()]
    assert names == ["sin", "exp_inplace", "mul_inplace"]
    assert f.maker.fgraph.rewrite_stats.applied("local_inplace_elemwise") == 2


@pytest.mark.parametrize("linker", LINKERS)
def test_fused_nodes_go_in_place_too(linker):
    x = T.dmatrix("x")
    t = T.exp(x)
    out = (t + t.sum()) * 2.0  # the fused node may overwrite t after the sum
    f = _same_results([x], [out], [np.arange(6.0).reshape(2, 3)], _mode(linker))
    fused = [n for n in _destroyers(f) if "Composite" in str(n.op)]
    assert len(fused) == 1


def test_inputs_are_never_overwritten():
    x, y = T.dmatrices("x", "y")
    b = T.dvector("b")
    outs = [T.exp(x) + y, x * 2, T.tanh(x + b), -y]
    values = [np.ones((2, 3)), np.full((2, 3), 2.0), np.arange(3.0)]
    for linker in LINKERS:
        for exclude in ((), ("fusion",)):
            f = _same_results([x, y, b], outs, values, _mode(linker, *exclude))
            for node in _destroyers(f):
                for idx in node.op.destroy_map.values():
                    for i in idx:
                        assert node.inputs[i] not in f.maker.fgraph.inputs


def test_a_destroyer_runs_after_every_other_reader():
    x, y = T.dvectors("x", "y")
    t = T.exp(x)
    r = t.sum()                   # reads t, no path to the destroyer
    d = t * T.sin(T.cos(y))       # may overwrite t once r has run
    f = _same_results([x, y], [d, r], [np.arange(3.0), np.ones(3)],
                      _mode("py", "fusion"))
    order = f.maker.fgraph.toposort()
    (destroyer,) = [n for n in order if n.op.destroy_map and n.inputs[0] is
                    order[0].outputs[0]]
    reader = next(n for n in order if "Sum" in str(n.op))
    assert order.index(reader) < order.index(destroyer)
    assert f.maker.schedule.index(reader) < f.maker.schedule.index(destroyer)


def test_a_value_that_is_returned_is_not_overwritten():
    x = T.dvector("x")
    t = T.exp(x)
    f = _same_results([x], [t, T.sin(t)], [np.arange(3.0)], _mode("py", "fusion"))
    assert _destroyers(f) == []


def test_mutable_inputs_may_be_overwritten():
    x = T.dvector("x")
    f = sa.function([In(x, mutable=True)], T.exp(x), mode=_mode("py"))
    (node,) = _destroyers(f)
    assert node.inputs[0] is f.maker.fgraph.inputs[0]
    arg = np.array([0.0, 1.0])
    out = f(arg)
    np.testing.assert_allclose(out, np.exp([0.0, 1.0]))
    np.testing.assert_allclose(arg, np.exp([0.0, 1.0]))  # overwritten, as allowed
    g = sa.function([x], T.exp(x), mode=_mode("py"))
    assert _destroyers(g) == []


def test_only_updated_shared_variables_may_be_overwritten():
    s = sa.shared(np.arange(3.0), name="s")
    x = T.dvector("x")
    f = sa.function([x], T.exp(s) + x, updates=[(s, s * 2)], mode=_mode("py"))
    g = sa.function([x], T.exp(s) * x, mode=_mode("py"))
    assert g.maker.fgraph.destroyers(g.maker.fgraph.inputs[1]) == []
    # f updates s: one node may write over s's old value, after its readers
    assert len(f.maker.fgraph.destroyers(f.maker.fgraph.inputs[1])) <= 1
    np.testing.assert_allclose(g(np.ones(3)), np.exp([0.0, 1.0, 2.0]))
    np.testing.assert_allclose(f(np.zeros(3)), np.exp([0.0, 1.0, 2.0]))
    np.testing.assert_allclose(s.get_value(), [0.0, 2.0, 4.0])
    np.testing.assert_allclose(g(np.ones(3)), np.exp([0.0, 2.0, 4.0]))
    np.testing.assert_allclose(f(np.zeros(3)), np.exp([0.0, 2.0, 4.0]))
    np.testing.assert_allclose(s.get_value(), [0.0, 4.0, 8.0])


def test_an_update_overwrites_the_value_it_replaces():
    # b - 0.1 * g: b's old array takes the result, not the gradient's
    x = T.dmatrix("x")
    w = sa.shared(np.ones((3, 2)), name="w")
    b = sa.shared(np.zeros(2), name="b")
    cost = T.sum(T.tanh(T.dot(x, w) + b) ** 2)
    gw, gb = sa.grad(cost, [w, b])
    f = sa.function([x], cost, updates=[(w, w - 0.1 * gw), (b, b - 0.1 * gb)],
                    mode=_mode("cvm"))
    fg = f.maker.fgraph
    for k in (1, 2):  # the shared inputs, each overwritten by its update
        (d,) = fg.destroyers(fg.inputs[k])
        assert d.outputs[0] is fg.outputs[k]
    held = [w.get_value(borrow=True), b.get_value(borrow=True)]
    f(np.ones((4, 3)))
    assert w.get_value(borrow=True) is held[0]
    assert b.get_value(borrow=True) is held[1]


def test_runtime_broadcasting_falls_back_to_a_new_array():
    x, y = T.dvectors("x", "y")
    out = T.exp(x) + T.exp(y)  # exp(x) may be length 1 at run time
    f = _same_results([x, y], [out], [np.zeros(1), np.arange(3.0)],
                      _mode("py", "fusion"))
    assert any(n.op.destroy_map for n in f.maker.fgraph.apply_nodes)


# -- inc_subtensor and BLAS ----------------------------------------------------


@pytest.mark.parametrize(("name", "index"), [
    ("local_inplace_setsubtensor", lambda t: t[1:]),
    ("local_inplace_incsubtensor1", lambda t: t[[0, 2, 2]]),
    ("local_inplace_advanced_incsubtensor", lambda t: t[np.array([True, False,
                                                                  True, True])]),
])
@pytest.mark.parametrize("linker", LINKERS)
def test_inc_subtensor_overwrites_a_temporary(name, index, linker):
    x = T.dvector("x")
    for build in (T.set_subtensor, T.inc_subtensor):
        out = build(index(T.exp(x)), 1.5)
        f = _same_results([x], [out], [np.arange(4.0)], _mode(linker))
        assert f.maker.fgraph.rewrite_stats.applied(name) == 1
        assert any(str(n.op).endswith("_inplace") for n in _destroyers(f))
        # on an input it stays a copy
        g = _same_results([x], [build(index(x), 1.5)], [np.arange(4.0)],
                          _mode(linker))
        assert g.maker.fgraph.rewrite_stats.applied(name) == 0


def test_gemm_overwrites_a_temporary():
    z, a, b = T.dmatrices("z", "a", "b")
    out = blas_ops.gemm(T.exp(z), 2.0, a, b, 0.5)
    values = [np.ones((2, 2)), np.arange(4.0).reshape(2, 2), np.eye(2)]
    f = _same_results([z, a, b], [out], values, _mode("py"))
    assert f.maker.fgraph.rewrite_stats.applied("local_inplace_gemm") == 1
    g = _same_results([z, a, b], [blas_ops.gemm(z, 2.0, a, b, 0.5)], values,
                      _mode("py"))
    assert g.maker.fgraph.rewrite_stats.applied("local_inplace_gemm") == 0


# -- modes ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", [
    Mode(linker="py", optimizer="fast_compile"),
    _mode("py", "inplace"),
    _mode("py", "local_inplace_elemwise"),
])
def test_modes_without_the_inplace_phase(mode):
    x = T.dvector("x")
    f = sa.function([x], T.exp(T.sin(x)) * 2, mode=mode.excluding("fusion")
                    if mode.optimizer == "fast_run" else mode)
    assert not any(n.op.destroy_map for n in f.maker.fgraph.apply_nodes)


def test_user_inplace_graphs_are_checked():
    x = T.dvector("x")
    add_inplace = Elemwise(T.add.scalar_op, {0: 0})
    with pytest.raises(Exception, match="not mutable"):
        sa.function([x], add_inplace(x, x), accept_inplace=True)
    f = sa.function([In(x, mutable=True)], add_inplace(x, 1.0),
                    accept_inplace=True)
    np.testing.assert_allclose(f(np.ones(2)), [2.0, 2.0])


def test_perform_overwrites_only_plain_writeable_arrays():
    x, y = T.dvectors("x", "y")
    node = Elemwise(T.add.scalar_op, {0: 0}).make_node(x, y)
    plain = np.zeros(3)
    readonly = np.zeros(3)
    readonly.flags.writeable = False
    strided = np.lib.stride_tricks.as_strided(np.zeros(1), (3,), (0,))
    for target, overwritten in ((plain, True), (readonly, False), (strided, False),
                                (np.zeros(1), False)):  # broadcast at run time
        storage = [[None]]
        node.op.perform(node, [target, np.arange(3.0)], storage)
        np.testing.assert_array_equal(storage[0][0], np.arange(3.0))
        assert (storage[0][0] is target) == overwritten


# -- a training step ---------------------------------------------------------


def _mlp_step(mode, seed=0):
    """An MLP's SGD step (tanh hidden layer, softmax output, mean NLL)."""
    rng = np.random.default_rng(seed)
    shapes = {"W1": (6, 5), "b1": (5,), "W2": (5, 3), "b2": (3,)}
    params = [sa.shared(rng.normal(size=s), name=n) for n, s in shapes.items()]
    W1, b1, W2, b2 = params
    x, y = T.dmatrix("x"), T.lvector("y")
    h = T.tanh(T.dot(x, W1) + b1)
    p_y = T.nnet.softmax(T.dot(h, W2) + b2)
    cost = -T.mean(T.log(p_y)[T.arange(y.shape[0]), y])
    grads = sa.grad(cost, params)
    f = sa.function([x, y], cost, mode=mode,
                    updates=[(p, p - 0.1 * g) for p, g in zip(params, grads,
                                                              strict=True)])
    return f, params


@pytest.mark.parametrize("linker", LINKERS)
def test_an_mlp_step_updates_every_parameter_in_place(linker):
    f, params = _mlp_step(_mode(linker))
    want, ref_params = _mlp_step(_mode(linker, "inplace"))
    fg = f.maker.fgraph
    n_out = len(fg.outputs) - len(params)
    for k, p in enumerate(params):  # Gemm{inplace} or an in-place elemwise
        var = fg.inputs[2 + k]
        assert var.name == p.name
        (d,) = fg.destroyers(var)
        assert d.outputs[0] is fg.outputs[n_out + k], (p.name, d)
        assert any(d.inputs[i] is var for i in
                   [i for lst in d.op.destroy_map.values() for i in lst])
    assert not any(n.op.destroy_map for n in want.maker.fgraph.apply_nodes)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(8, 6)), rng.integers(0, 3, 8)
    held = [p.get_value(borrow=True) for p in params]
    for _ in range(3):
        np.testing.assert_allclose(f(x, y), want(x, y), rtol=1e-12)
        for p, q in zip(params, ref_params, strict=True):
            np.testing.assert_allclose(p.get_value(), q.get_value(), rtol=1e-12)
    assert all(p.get_value(borrow=True) is a for p, a in zip(params, held,
                                                              strict=True))
