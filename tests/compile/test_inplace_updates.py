"""Tests of symarray.compile.inplace_updates: updates that overwrite shared
values in place, and the copies that keep every other array intact."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.inplace_updates import (
    destroyed_inputs,
    mutable_shared,
    separate_destroyed,
)
from symarray.compile.io import In, Out
from symarray.compile.mode import Mode

LINKERS = ["py", "cvm", "cvm_nogc"]
LR, MU = 0.1, 0.9


def _modes(linker):
    """(in-place mode, the same without in-place rewrites)."""
    mode = Mode(linker=linker, optimizer="fast_run")
    return mode, mode.excluding("inplace")


def _shared_writers(f):
    """The nodes of ``f`` that overwrite a shared input, with its name."""
    fg = f.maker.fgraph
    shared = set(fg.inputs[len(f.maker.inputs):])
    found = []
    for node in fg.toposort():
        for idx in node.op.destroy_map.values():
            found += [(node, node.inputs[i].name) for i in idx
                      if node.inputs[i] in shared]
    return found


# -- models: (params, inputs, cost, updates) built on fresh shared variables ----------
def _logreg(rng):
    x, y = T.dmatrix("x"), T.ivector("y")
    w = theano.shared(rng.normal(size=(6, 3)), name="w")
    b = theano.shared(rng.normal(size=3), name="b")
    p = T.nnet.softmax(T.dot(x, w) + b)
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    gw, gb = theano.grad(cost, [w, b])
    return [w, b], [x, y], cost, [(w, w - LR * gw), (b, b - LR * gb)]


def _mlp(rng, momentum=False):
    x, y = T.dmatrix("x"), T.ivector("y")
    w1 = theano.shared(rng.normal(size=(6, 5)) * 0.5, name="w1")
    b1 = theano.shared(np.zeros(5), name="b1")
    w2 = theano.shared(rng.normal(size=(5, 3)) * 0.5, name="w2")
    b2 = theano.shared(np.zeros(3), name="b2")
    params = [w1, b1, w2, b2]
    h = T.tanh(T.dot(x, w1) + b1)
    p = T.nnet.softmax(T.dot(h, w2) + b2)
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    grads = theano.grad(cost, params)
    if not momentum:
        return params, [x, y], cost, [(q, q - LR * g)
                                      for q, g in zip(params, grads, strict=True)]
    # Nesterov momentum (Sutskever's form): both updates read the old velocity
    updates, vels = [], []
    for q, g in zip(params, grads, strict=True):
        v = theano.shared(np.zeros_like(q.get_value()), name=f"v_{q.name}")
        vels.append(v)
        updates += [(v, MU * v - LR * g), (q, q + MU * v - (1 + MU) * LR * g)]
    return params + vels, [x, y], cost, updates


MODELS = {"logreg": _logreg, "mlp_sgd": _mlp,
          "mlp_momentum": lambda rng: _mlp(rng, momentum=True)}


def _data(rng, n=8):
    return rng.normal(size=(n, 6)), rng.integers(0, 3, size=n).astype("int32")


@pytest.mark.parametrize("linker", LINKERS)
@pytest.mark.parametrize("model", sorted(MODELS))
def test_training_steps_equal_those_without_inplace(model, linker):
    mode, plain = _modes(linker)
    fns, params = [], []
    for m in (mode, plain):
        ps, inputs, cost, updates = MODELS[model](np.random.default_rng(1))
        fns.append(theano.function(inputs, cost, updates=updates, mode=m))
        params.append(ps)
    f, ref = fns
    assert f.maker.destroys_shared and _shared_writers(f)
    assert not ref.maker.destroys_shared and not _shared_writers(ref)
    rng = np.random.default_rng(2)
    for _ in range(4):
        x, y = _data(rng)
        np.testing.assert_allclose(f(x, y), ref(x, y), rtol=1e-12)
        for p, q in zip(*params, strict=True):
            np.testing.assert_allclose(p.get_value(), q.get_value(), rtol=1e-12,
                                       atol=1e-15, err_msg=p.name)


@pytest.mark.parametrize("linker", LINKERS)
def test_the_weight_update_is_an_inplace_gemm_keeping_the_array(linker):
    params, inputs, cost, updates = _logreg(np.random.default_rng(0))
    f = theano.function(inputs, cost, updates=updates, mode=_modes(linker)[0])
    writers = dict((name, node) for node, name in _shared_writers(f))
    gemm = writers["w"]
    assert "Gemm" in str(gemm.op) and gemm.op.destroy_map == {0: [0]}
    assert gemm.outputs[0] in f.maker.fgraph.outputs  # it is w's new value
    w = params[0]
    assert f.maker.fgraph.inputs.index(gemm.inputs[0]) in f.maker.destroyed_inputs
    array = w.get_value(borrow=True)
    x, y = _data(np.random.default_rng(3))
    f(x, y)
    f(x, y)
    assert w.get_value(borrow=True) is array  # no new w per call


@pytest.mark.parametrize("updates", [
    lambda a, b, c: [(a, b), (b, a)],                       # the classic swap
    lambda a, b, c: [(a, a + b), (b, a * b)],               # each reads both
    lambda a, b, c: [(a, b + 1), (b, c * 2), (c, a - 3)],   # a rotation
    lambda a, b, c: [(a, a * 2), (b, a + 1), (c, a.T.T + b)],  # a read thrice
    lambda a, b, c: [(a, b[::-1] + 1), (b, b * 2)],         # a view of b
])
@pytest.mark.parametrize("linker", LINKERS)
def test_updates_reading_other_old_values(updates, linker):
    def run(mode):
        a, b, c = (theano.shared(np.arange(3.0) + k, name=n)
                   for k, n in ((1, "a"), (10, "b"), (100, "c")))
        f = theano.function([], [], updates=updates(a, b, c), mode=mode)
        for _ in range(3):
            f()
        return [v.get_value() for v in (a, b, c)]

    want = run(Mode(linker="py", optimizer=None))  # no rewrites at all
    for mode in _modes(linker):
        for got, w, name in zip(run(mode), want, "abc", strict=True):
            np.testing.assert_array_equal(got, w, err_msg=name)


@pytest.mark.parametrize("linker", LINKERS)
def test_swap_still_swaps(linker):
    a = theano.shared(np.ones(2), name="a")
    b = theano.shared(np.zeros(2), name="b")
    f = theano.function([], (a * b).sum(), updates=[(a, b), (b, a)],
                        mode=_modes(linker)[0])
    for k in range(3):
        f()
        np.testing.assert_array_equal(a.get_value(), np.full(2, float(k % 2 == 1)))
        np.testing.assert_array_equal(b.get_value(), np.full(2, float(k % 2 == 0)))
        assert not np.shares_memory(a.get_value(borrow=True),
                                    b.get_value(borrow=True))


# -- functions that must not change shared values -------------------------------------
@pytest.mark.parametrize("linker", LINKERS)
def test_copy_delete_updates_leaves_shared_values_unchanged(linker):
    params, inputs, cost, updates = _mlp(np.random.default_rng(0))
    f = theano.function(inputs, cost, updates=updates, mode=_modes(linker)[0])
    assert f.maker.destroys_shared
    x, y = _data(np.random.default_rng(4))
    before = [p.get_value() for p in params]
    arrays = [p.get_value(borrow=True) for p in params]
    for g in (f.copy(delete_updates=True),
              f.copy(delete_updates=True, share_memory=True),
              f.copy(delete_updates=True).copy()):
        assert not g.maker.destroys_shared and g.maker is not f.maker
        want = float(g(x, y))
        assert float(g(x, y)) == want
        for p, old, arr in zip(params, before, arrays, strict=True):
            assert p.get_value(borrow=True) is arr
            np.testing.assert_array_equal(arr, old, err_msg=p.name)
    assert f.copy(delete_updates=True).maker is f.copy(delete_updates=True).maker
    assert float(f(x, y)) == want  # the original still updates
    assert not np.array_equal(params[0].get_value(), before[0])


def test_copy_delete_updates_keeps_swaps_and_stateful_inputs():
    a = theano.shared(np.ones(3), name="a")
    b = theano.shared(np.full(3, 5.0), name="b")
    x = T.dvector("x")
    count = T.dscalar("count")
    f = theano.function([x, In(count, value=0.0, update=count + 1)],
                        (a * x).sum() + count, updates=[(a, a * 2)])
    g = f.copy(swap={a: b})
    h = g.copy(delete_updates=True)
    assert float(h(np.ones(3))) == 15.0  # reads b, not a
    assert float(h(np.ones(3))) == 16.0  # the stateful input still counts
    np.testing.assert_array_equal(b.get_value(), np.full(3, 5.0))
    assert float(g.copy()(np.ones(3))) == 15.0  # a copy keeps the swap
    np.testing.assert_array_equal(b.get_value(), np.full(3, 10.0))
    np.testing.assert_array_equal(a.get_value(), np.ones(3))
    k = f.copy(delete_updates=True, swap={a: b})
    assert float(k(np.ones(3))) == 30.0
    np.testing.assert_array_equal(b.get_value(), np.full(3, 10.0))


@pytest.mark.parametrize("linker", LINKERS)
def test_copies_with_own_storage_update_the_same_variables(linker):
    params, inputs, cost, updates = _logreg(np.random.default_rng(0))
    f = theano.function(inputs, cost, updates=updates, mode=_modes(linker)[0])
    ps2, inputs2, cost2, updates2 = _logreg(np.random.default_rng(0))
    ref = theano.function(inputs2, cost2, updates=updates2, mode=_modes(linker)[1])
    g = f.copy()
    assert g.vm is not f.vm
    rng = np.random.default_rng(5)
    for step in range(4):
        x, y = _data(rng)
        fn = (f, g)[step % 2]
        np.testing.assert_allclose(fn(x, y), ref(x, y), rtol=1e-12)
    for p, q in zip(params, ps2, strict=True):
        np.testing.assert_allclose(p.get_value(), q.get_value(), rtol=1e-12)


def test_givens_replacing_a_shared_variable_leave_the_source_alone():
    w = theano.shared(np.zeros(3), name="w")
    v = theano.shared(np.ones(3), name="v")
    f = theano.function([], [], updates=[(w, w - 1)], givens={w: v})
    v_array = v.get_value(borrow=True)
    f()
    f()
    np.testing.assert_array_equal(v_array, np.ones(3))
    np.testing.assert_array_equal(w.get_value(), np.zeros(3))  # w := v - 1
    x = T.dvector("x")
    arg = np.full(3, 7.0)
    g = theano.function([x], [], updates=[(w, w * 2)], givens={w: x})
    g(arg)
    np.testing.assert_array_equal(arg, np.full(3, 7.0))
    np.testing.assert_array_equal(w.get_value(), np.full(3, 14.0))
    # a clone read in place of the updated variable: one value, two inputs
    u = theano.shared(np.ones(3), name="u")
    h = theano.function([], [], updates=[(u, u * 2)], givens={u: u.clone()})
    assert not h.maker.destroys_shared
    h()
    h()
    np.testing.assert_array_equal(u.get_value(), np.full(3, 4.0))


# -- user-visible arrays --------------------------------------------------------------
@pytest.mark.parametrize("linker", LINKERS)
def test_user_arrays_are_never_written_without_borrow(linker):
    user = np.arange(4.0)
    s = theano.shared(user, name="s")  # borrow=False: s holds a copy
    f = theano.function([], s * 2.0, updates=[(s, s - s.sum())],
                        mode=_modes(linker)[0])
    assert f.maker.destroys_shared
    seen = s.get_value()
    out = f()
    f()
    np.testing.assert_array_equal(user, np.arange(4.0))
    np.testing.assert_array_equal(seen, np.arange(4.0))
    np.testing.assert_array_equal(out, np.arange(4.0) * 2)
    np.testing.assert_array_equal(s.get_value(), np.arange(4.0) + 12)
    other = np.ones(4)
    s.set_value(other)
    f()
    np.testing.assert_array_equal(other, np.ones(4))
    np.testing.assert_array_equal(s.get_value(), np.full(4, -3.0))


def test_borrowed_user_array_may_be_updated_in_place():
    user = np.arange(4.0)
    s = theano.shared(user, borrow=True, name="s")
    f = theano.function([], [], updates=[(s, s - s.sum())])
    assert f.maker.destroys_shared
    f()
    assert s.get_value(borrow=True) is user  # documented: borrow=True lets it change
    np.testing.assert_array_equal(user, np.arange(4.0) - 6)


@pytest.mark.parametrize("linker", LINKERS)
def test_outputs_never_alias_shared_storage_unless_borrowed(linker):
    mode = _modes(linker)[0]
    w = theano.shared(np.ones((3, 3)), name="w")
    new = T.dot(w, w) * 0.5 + w
    f = theano.function([], [new, w, w.T, w * 2], updates=[(w, new)], mode=mode)
    outs = f()
    kept = w.get_value(borrow=True)
    for out in outs:
        assert not np.shares_memory(out, kept)
    np.testing.assert_array_equal(outs[0], kept)
    np.testing.assert_array_equal(outs[1], np.ones((3, 3)))
    g = theano.function([], Out(new, borrow=True), updates=[(w, new)], mode=mode)
    want = w.get_value() @ w.get_value() * 0.5 + w.get_value()
    np.testing.assert_allclose(g(), want)
    np.testing.assert_allclose(w.get_value(), want)


# -- aliases the graph cannot see -----------------------------------------------------
def _argument_aliasing_shared(mode):
    s = theano.shared(np.arange(4.0), name="s")
    x = T.dvector("x")
    new = s * 5
    f = theano.function([x], x * new, updates=[(s, new)], mode=mode)
    got = f(s.get_value(borrow=True))  # x aliases s, which ``new`` overwrites
    np.testing.assert_array_equal(got, np.arange(4.0) ** 2 * 5)
    np.testing.assert_array_equal(s.get_value(), np.arange(4.0) * 5)
    return f


def _shared_borrowing_one_array(mode):
    base = np.ones(3)
    a = theano.shared(base, borrow=True, name="a")
    b = theano.shared(base[:], borrow=True, name="b")
    g = theano.function([], [], updates=[(a, a + 1), (b, b * 3)], mode=mode)
    g()
    np.testing.assert_array_equal(a.get_value(), np.full(3, 2.0))
    np.testing.assert_array_equal(b.get_value(), np.full(3, 3.0))
    return g


def _swap_onto_a_variable_read_too(mode):
    c = theano.shared(np.ones(3), name="c")
    d = theano.shared(np.full(3, 10.0), name="d")
    new = c * 2
    h = theano.function([], d * new, updates=[(c, new)], mode=mode)
    k = h.copy(swap={c: d})  # d is read twice now; the update overwrites one
    np.testing.assert_array_equal(k(), np.full(3, 200.0))
    np.testing.assert_array_equal(d.get_value(), np.full(3, 20.0))
    return h


@pytest.mark.parametrize("case", [_argument_aliasing_shared,
                                  _shared_borrowing_one_array,
                                  _swap_onto_a_variable_read_too])
@pytest.mark.parametrize("linker", LINKERS)
def test_inputs_aliasing_an_overwritten_value_are_separated(case, linker):
    f = case(_modes(linker)[0])
    assert f.maker.destroys_shared


@pytest.mark.parametrize("linker", LINKERS)
def test_mutable_explicit_inputs(linker):
    x, y = T.dvector("x"), T.dvector("y")
    f = theano.function([In(x, mutable=True), y], T.exp(x) * 2 + y,
                        mode=_modes(linker)[0])
    assert f.maker.destroyed_inputs == (0,)
    arr = np.arange(3.0)
    np.testing.assert_allclose(f(arr, arr), np.exp(np.arange(3.0)) * 2 + np.arange(3))
    np.testing.assert_array_equal(arr, np.arange(3.0))  # it aliased y: copied
    np.testing.assert_allclose(f(arr, np.zeros(3)), np.exp(np.arange(3.0)) * 2)


def test_mutable_shared_decision():
    a, b = theano.shared(np.zeros(2)), theano.shared(np.zeros(2))
    c = a.clone()
    assert mutable_shared([a, b], {a.container}) == [True, False]
    assert mutable_shared([a, c, b], {a.container, b.container}) == [False, False,
                                                                      True]


def test_destroyed_inputs_follow_views():
    x = T.dvector("x")
    f = theano.function([In(x, mutable=True)], T.exp(x[::-1]) + 1)
    assert destroyed_inputs(f.maker.fgraph) == f.maker.destroyed_inputs
    assert theano.function([x], T.exp(x) + 1).maker.destroyed_inputs == ()


@pytest.mark.parametrize("values, positions, copied", [
    ([np.ones(2), np.zeros(2)], (0,), []),
    ("same", (0,), [0]),
    ("view", (1,), [1]),
    ("view", (0, 1), [0]),
    ([np.ones(2), 3.0], (0, 1), []),
])
def test_separate_destroyed_copies_only_aliased_overwritten_arrays(
        values, positions, copied):
    if values == "same":
        arr = np.ones(2)
        values = [arr, arr]
    elif values == "view":
        arr = np.ones(4)
        values = [arr, arr[1:]]
    before = list(values)
    separate_destroyed(values, positions)
    for k, (old, new) in enumerate(zip(before, values, strict=True)):
        assert (new is not old) == (k in copied)
        if k in copied:
            np.testing.assert_array_equal(new, old)
