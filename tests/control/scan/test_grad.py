"""Gradients of scan (``symarray/control/scan/grad.py``): the backward scan
(``L_op``) and the tangent scan (``R_op``), checked against finite
differences and NumPy loops under the ``py`` and ``cvm`` linkers."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray.compile.sharedvalue import SharedVariable
from symarray.gradient import DisconnectedInputError, Rop, verify_grad
from symarray.graph.basic import Apply, Constant, Op, Type, Variable
from symarray.scan_module import until

LINKERS = ("py", "cvm")


def _mode(linker: str) -> Any:
    return sa.Mode(linker=linker)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _check(fun: Callable[..., Any], pt: list[Any], linker: str, **kw: Any) -> None:
    verify_grad(fun, [np.asarray(p, dtype="float64") for p in pt], n_tests=1,
                rng=_rng(7), mode=_mode(linker), **kw)


# -- step functions and their NumPy loops --------------------------------------


def _rnn(u: Any, x0: Any, w: Any) -> Any:
    out, _ = sa.scan(lambda u_t, x, w_: T.tanh(T.dot(w_, x) + u_t),
                     sequences=[u], outputs_info=[x0], non_sequences=[w])
    return out


def _fib(init: Any, a: Any, b: Any) -> Any:
    out, _ = sa.scan(lambda x2, x1, a_, b_: a_ * x2 + b_ * T.tanh(x1),
                     outputs_info=[dict(initial=init, taps=[-2, -1])],
                     non_sequences=[a, b], n_steps=5)
    return out


def _seq_taps(s: Any, v: Any) -> Any:
    out, _ = sa.scan(lambda sm1, s0, sp1, v_: sm1 * s0 + T.sin(sp1) * v_,
                     sequences=[dict(input=s, taps=[-1, 0, 1])], non_sequences=[v])
    return out


def _nit_sot(u: Any, x0: Any) -> Any:
    # a carried state and a per-step output that is not fed back
    [xs, ys], _ = sa.scan(lambda u_t, x: [x * T.cos(u_t), T.exp(x) * u_t],
                          sequences=[u], outputs_info=[x0, None])
    return ys


TABLE: list[tuple[str, Callable[..., Any], list[tuple[int, ...]]]] = [
    ("rnn", _rnn, [(4, 3), (3,), (3, 3)]),
    ("two_taps", _fib, [(2, 3), (3,), ()]),
    ("seq_taps", _seq_taps, [(6, 2), (2,)]),
    ("nit_sot", _nit_sot, [(5, 2), (2,)]),
    ("readout_of_new_state", lambda u, x0, v: sa.scan(
        lambda u_t, x, v_: [T.tanh(x * v_ + u_t), T.dot(v_, T.tanh(x * v_ + u_t))],
        sequences=[u], outputs_info=[x0, None], non_sequences=[v])[0][1],
     [(4, 3), (3,), (3,)]),
    ("gapped_taps", lambda init, a: sa.scan(
        lambda x3, x1, a_: T.sin(x3 * a_) + 0.5 * x1,
        outputs_info=[dict(initial=init, taps=[-3, -1])], non_sequences=[a],
        n_steps=5)[0], [(3, 2), (2,)]),
    ("positive_seq_taps", lambda s: sa.scan(
        lambda s1, s2: s1 * T.exp(s2), sequences=[dict(input=s, taps=[1, 2])])[0],
     [(6, 2)]),
    ("matrix_state", lambda x0, a: sa.scan(
        lambda x, a_: T.tanh(T.dot(x, a_)), outputs_info=[x0], non_sequences=[a],
        n_steps=3)[0], [(2, 2), (2, 2)]),
    ("non_seq_matrix", lambda x0, m: sa.scan(
        lambda x, m_: T.dot(m_, T.sin(x)), outputs_info=[x0], non_sequences=[m],
        n_steps=4)[0], [(3,), (3, 3)]),
]


@pytest.mark.parametrize("linker", LINKERS)
@pytest.mark.parametrize(("name", "fun", "shapes"), TABLE, ids=[r[0] for r in TABLE])
def test_verify_grad(name: str, fun: Callable[..., Any], shapes: list[Any],
                     linker: str) -> None:
    rng = _rng(1)
    pt = [rng.uniform(-0.8, 0.8, s) for s in shapes]
    _check(fun, pt, linker)


@pytest.mark.parametrize(("name", "fun", "shapes"), TABLE, ids=[r[0] for r in TABLE])
def test_verify_grad_no_gc(name: str, fun: Callable[..., Any],
                           shapes: list[Any]) -> None:
    # the no-GC linker named explicitly (its buffers persist between steps and
    # calls): the backward scan of seq_taps passes sequence rows through
    # SumToShape, whose cell must follow the row the loop moves each step
    rng = _rng(1)
    pt = [rng.uniform(-0.8, 0.8, s) for s in shapes]
    _check(fun, pt, "cvm_nogc")


def test_seq_taps_grad_matches_numpy_over_calls() -> None:
    s, v = T.dmatrix("s"), T.dvector("v")
    weights = np.arange(8.0).reshape(4, 2)
    cost = (_seq_taps(s, v) * weights).sum()
    rng = _rng(5)
    sv, vv = rng.uniform(-0.8, 0.8, (6, 2)), rng.uniform(-0.8, 0.8, 2)
    # d cost / d s for out_t = s[t-1] * s[t] + sin(s[t+1]) * v, t = 1..4
    want = np.zeros_like(sv)
    for t in range(1, 5):
        want[t - 1] += weights[t - 1] * sv[t]
        want[t] += weights[t - 1] * sv[t - 1]
        want[t + 1] += weights[t - 1] * np.cos(sv[t + 1]) * vv
    for linker in ("py", "cvm", "cvm_nogc"):
        fn = sa.function([s, v], T.grad(cost, s), mode=_mode(linker))
        results = [fn(sv, vv) for _ in range(3)]  # later calls reuse buffers
        for got in results:
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12,
                                       err_msg=linker)


@pytest.mark.parametrize("linker", LINKERS)
def test_float32(linker: str) -> None:
    w, u, x0 = T.fmatrix("w"), T.fmatrix("u"), T.fvector("x0")
    xs = _rnn(u, x0, w)
    grads = T.grad((xs ** 2).sum(), [w, u, x0])
    assert [g.dtype for g in grads] == ["float32"] * 3
    w64, u64, x64 = T.dmatrix("w"), T.dmatrix("u"), T.dvector("x0")
    grads64 = T.grad((_rnn(u64, x64, w64) ** 2).sum(), [w64, u64, x64])
    rng = _rng(14)
    vals = [rng.uniform(-1, 1, s) for s in [(3, 3), (4, 3), (3,)]]
    got = sa.function([w, u, x0], grads, mode=_mode(linker))(
        *[v.astype("float32") for v in vals])
    want = sa.function([w64, u64, x64], grads64, mode=_mode(linker))(*vals)
    for g, e in zip(got, want, strict=True):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("linker", LINKERS)
def test_until_loop(linker: str) -> None:
    # x <- x * f + c until sum(x) > 3: the number of steps is stable under
    # the finite-difference perturbation
    def fun(x0: Any, f: Any) -> Any:
        out, _ = sa.scan(lambda x, f_: (x * f_ + 0.1, until(T.sum(x) > 3.0)),
                         outputs_info=[x0], non_sequences=[f], n_steps=50)
        return out

    x0 = np.array([0.5, 0.3])
    f = np.array([1.3, 1.2])
    n_run = sa.function([xs := T.dvector(), fs := T.dvector()],
                        fun(xs, fs))(x0, f).shape[0]
    assert 1 < n_run < 50
    _check(fun, [x0, f], linker)


@pytest.mark.parametrize("linker", LINKERS)
def test_go_backwards(linker: str) -> None:
    def fun(u: Any, x0: Any) -> Any:
        out, _ = sa.scan(lambda u_t, x: T.tanh(x * u_t + u_t), sequences=[u],
                         outputs_info=[x0], go_backwards=True)
        return out

    rng = _rng(2)
    _check(fun, [rng.uniform(-1, 1, (5, 2)), rng.uniform(-1, 1, 2)], linker)


@pytest.mark.parametrize("linker", LINKERS)
def test_reduce_and_foldl(linker: str) -> None:
    def fun(u: Any, w: Any) -> Any:
        total, _ = sa.reduce(lambda u_t, acc, w_: acc * w_ + u_t ** 2, sequences=[u],
                             outputs_info=[T.zeros_like(w)], non_sequences=[w])
        back, _ = sa.foldl(lambda u_t, acc: T.sin(acc + u_t), sequences=[u],
                           outputs_info=[total])
        return back

    rng = _rng(3)
    _check(fun, [rng.uniform(-1, 1, (4, 3)), rng.uniform(0.5, 1, 3)], linker)


def _numpy_truncated_bptt(w: np.ndarray, u: np.ndarray, x0: np.ndarray, k: int
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """d sum(xs ** 2) / d (w, u, x0) for x_t = tanh(w x_{t-1} + u_t), with
    only the last k steps back-propagating."""
    n = u.shape[0]
    xs = [x0]
    for t in range(n):
        xs.append(np.tanh(w @ xs[-1] + u[t]))
    gw, gu, gx = np.zeros_like(w), np.zeros_like(u), np.zeros_like(x0)
    carry = np.zeros_like(x0)
    for t in range(n - 1, max(n - k, 0) - 1, -1):
        g = 2 * xs[t + 1] + carry
        pre = g * (1 - xs[t + 1] ** 2)
        gw += np.outer(pre, xs[t])
        gu[t] = pre
        carry = w.T @ pre
    if k >= n:
        gx = carry
    return gw, gu, gx


@pytest.mark.parametrize("linker", LINKERS)
@pytest.mark.parametrize("k", [2, 5, 9])
def test_truncate_gradient(linker: str, k: int) -> None:
    w, u, x0 = T.dmatrix("w"), T.dmatrix("u"), T.dvector("x0")
    xs, _ = sa.scan(lambda u_t, x, w_: T.tanh(T.dot(w_, x) + u_t), sequences=[u],
                    outputs_info=[x0], non_sequences=[w], truncate_gradient=k)
    grads = T.grad((xs ** 2).sum(), [w, u, x0])
    fn = sa.function([w, u, x0], grads, mode=_mode(linker))
    rng = _rng(4)
    wv, uv, xv = rng.uniform(-1, 1, (3, 3)), rng.uniform(-1, 1, (5, 3)), rng.uniform(
        -1, 1, 3)
    for got, want in zip(fn(wv, uv, xv), _numpy_truncated_bptt(wv, uv, xv, k),
                         strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("linker", LINKERS)
def test_disconnected_inputs(linker: str) -> None:
    u, x0, unused, v = T.dvector("u"), T.dscalar("x0"), T.dscalar("unused"), T.dvector(
        "v")
    # the step ignores the non-sequence `unused` and the sequence `v`
    xs, _ = sa.scan(lambda u_t, v_t, x, c: x * u_t, sequences=[u, v],
                    outputs_info=[x0], non_sequences=[unused])
    cost = xs.sum()
    with pytest.raises(DisconnectedInputError):
        T.grad(cost, unused)
    g_u, g_unused, g_v = T.grad(cost, [u, unused, v], disconnected_inputs="ignore")
    fn = sa.function([u, x0, unused, v], [g_u, g_unused, g_v], mode=_mode(linker),
                     on_unused_input="ignore")
    gu, gc, gv = fn([2.0, 3.0], 1.5, 7.0, [1.0, 1.0])
    np.testing.assert_allclose(gu, [1.5 + 1.5 * 3.0, 1.5 * 2.0])
    assert float(gc) == 0.0
    np.testing.assert_array_equal(gv, [0.0, 0.0])


@pytest.mark.parametrize("linker", LINKERS)
def test_unused_output_and_integer_inputs(linker: str) -> None:
    # the cost uses one of two outputs; an integer sequence and an integer
    # state take part without a gradient
    u, x0 = T.dvector("u"), T.dscalar("x0")
    idx = T.lvector("idx")
    c0 = T.constant(np.int64(0))
    [xs, ys, cs], _ = sa.scan(
        lambda u_t, i_t, x, c: [x + u_t * T.cast(i_t + c, "float64"), x * 2.0, c + 1],
        sequences=[u, idx], outputs_info=[x0, None, c0])
    g_u, g_idx = T.grad(xs[-1], [u, idx])
    assert g_idx.dtype.startswith("float")
    fn = sa.function([u, idx, x0], [g_u, g_idx], mode=_mode(linker))
    gu, gi = fn([1.0, 2.0, 3.0], [1, 2, 3], 0.0)
    np.testing.assert_allclose(gu, [1.0, 3.0, 5.0])
    np.testing.assert_array_equal(gi, [0, 0, 0])


@pytest.mark.parametrize("linker", LINKERS)
def test_zero_steps(linker: str) -> None:
    x0, w = T.dvector("x0"), T.dscalar("w")
    n = T.lscalar("n")
    xs, _ = sa.scan(lambda x, w_: x * w_, outputs_info=[x0], non_sequences=[w],
                    n_steps=n)
    cost = xs.sum() + x0.sum()
    fn = sa.function([x0, w, n], T.grad(cost, [x0, w]), mode=_mode(linker))
    gx, gw = fn([1.0, 2.0], 3.0, 0)
    np.testing.assert_allclose(gx, [1.0, 1.0])
    assert float(gw) == 0.0
    gx, gw = fn([1.0, 2.0], 3.0, 2)
    np.testing.assert_allclose(gx, [1.0 + 3.0 + 9.0] * 2)
    np.testing.assert_allclose(gw, (1 + 6) * 3.0)


@pytest.mark.parametrize("linker", LINKERS)
def test_shared_updated_inside(linker: str) -> None:
    # a float shared variable updated inside the loop: its gradient is that
    # of its initial value, like a carried state
    acc = sa.shared(np.array([0.5, -0.2]), name="acc")
    u = T.dmatrix("u")
    ys, upd = sa.scan(lambda u_t: (T.sum(acc * u_t), {acc: T.tanh(acc + u_t)}),
                      sequences=[u])
    cost = ys.sum() + (upd[acc] ** 2).sum()
    g_acc, g_u = T.grad(cost, [acc, u])
    fn = sa.function([u], [cost, g_acc, g_u], mode=_mode(linker))
    cost_fn = sa.function([u], cost, mode=_mode(linker))
    uv = _rng(5).uniform(-1, 1, (4, 2))
    _, ga, gu = fn(uv)
    a0 = acc.get_value()
    num = np.zeros(2)
    for i in range(2):
        for sign in (1, -1):
            a = a0.copy()
            a[i] += sign * 1e-6
            acc.set_value(a)
            num[i] += sign * float(cost_fn(uv)) / 2e-6
    acc.set_value(a0)
    np.testing.assert_allclose(ga, num, rtol=1e-5, atol=1e-7)
    _check(lambda uu: sa.scan(
        lambda u_t: (T.sum(acc * u_t), {acc: T.tanh(acc + u_t)}),
        sequences=[uu])[0], [uv], linker)


@pytest.mark.parametrize("linker", LINKERS)
def test_integer_shared_counter(linker: str) -> None:
    # an integer shared variable updated inside: the backward step reads its
    # value at each step from a traced forward scan
    count = sa.shared(np.int64(1), name="count")
    x0 = T.dvector("x0")
    xs, upd = sa.scan(lambda x: (T.sin(x) * T.cast(count, "float64"),
                                 {count: count + 1}), outputs_info=[x0], n_steps=3)
    fn = sa.function([x0], T.grad(xs.sum(), x0), mode=_mode(linker))
    x = np.array([0.3, -0.5])
    # x1 = sin(x0), x2 = 2 sin(x1), x3 = 3 sin(x2)
    x1 = np.sin(x)
    x2 = 2 * np.sin(x1)
    d1 = np.cos(x)
    d2 = 2 * np.cos(x1) * d1
    d3 = 3 * np.cos(x2) * d2
    np.testing.assert_allclose(fn(x), d1 + d2 + d3)
    assert int(count.get_value()) == 1


class _GenType(Type):
    """A NumPy random generator (a non-tensor value, like a random state)."""

    variable_type = Variable
    constant_type = Constant

    def filter(self, data: Any, strict: bool = False,
               allow_downcast: bool | None = None) -> Any:
        if not isinstance(data, np.random.Generator):
            raise TypeError(f"expected a numpy Generator, got {type(data).__name__}")
        return data

    def __eq__(self, other: object) -> bool:
        return type(other) is _GenType

    def __hash__(self) -> int:
        return hash("_GenType")


class _Uniform(Op):
    """``(gen, like) -> (new gen, uniform(0.5, 1.5) shaped like like)``."""

    __props__ = ()

    def make_node(self, gen: Any, like: Any) -> Apply:
        like = T.as_tensor_variable(like)
        return Apply(self, [gen, like], [_GenType()(), like.type()])

    def perform(self, node: Apply, inputs: Any, out: Any) -> None:
        gen = copy.deepcopy(inputs[0])
        out[1][0] = gen.uniform(0.5, 1.5, size=np.shape(inputs[1]))
        out[0][0] = gen

    def L_op(self, inputs: Any, outputs: Any, grads: Any) -> list[Any]:  # noqa: N802
        return [None, T.zeros_like(inputs[1])]


@pytest.mark.parametrize("linker", LINKERS)
def test_random_draws_are_reused(linker: str) -> None:
    # the backward step must see the draws the forward step made, not new ones
    gen = SharedVariable(_GenType(), np.random.default_rng(3), name="gen")
    x0 = T.dvector("x0")

    def step(x: Any) -> Any:
        new_gen, u = _Uniform()(gen, x)
        return T.tanh(x * u + 0.1), {gen: new_gen}

    xs, _ = sa.scan(step, outputs_info=[x0], n_steps=4)
    fn = sa.function([x0], T.grad((xs ** 2).sum(), x0), mode=_mode(linker))
    rng = np.random.default_rng(3)
    draws = [rng.uniform(0.5, 1.5, size=2) for _ in range(4)]

    def ref(x: np.ndarray) -> float:
        total = 0.0
        for u in draws:
            x = np.tanh(x * u + 0.1)
            total += float((x ** 2).sum())
        return total

    x = np.array([0.3, -0.4])
    numeric = [(ref(x + e) - ref(x - e)) / 2e-6 for e in np.eye(2) * 1e-6]
    np.testing.assert_allclose(fn(x), numeric, rtol=1e-6)


@pytest.mark.parametrize("linker", LINKERS)
def test_grad_of_grad(linker: str) -> None:
    # second order: the backward scan's own L_op
    def fun(w: Any, u: Any, x0: Any) -> Any:
        return T.grad((_rnn(u, x0, w) ** 2).sum(), w)

    rng = _rng(12)
    _check(fun, [rng.uniform(-1, 1, (2, 2)), rng.uniform(-1, 1, (3, 2)),
                 rng.uniform(-1, 1, 2)], linker)


@pytest.mark.parametrize("linker", LINKERS)
def test_nested_scan(linker: str) -> None:
    def fun(u: Any, w: Any) -> Any:
        def outer_step(u_t: Any, x: Any, w_: Any) -> Any:
            inner, _ = sa.scan(lambda z, w__: T.tanh(z * w__ + u_t),
                               outputs_info=[x], non_sequences=[w_], n_steps=2)
            return inner[-1]

        out, _ = sa.scan(outer_step, sequences=[u], outputs_info=[T.zeros_like(w)],
                         non_sequences=[w])
        return out

    rng = _rng(6)
    _check(fun, [rng.uniform(-1, 1, (3, 2)), rng.uniform(-1, 1, 2)], linker)


def test_rnn_training_loss_decreases() -> None:
    # Theano's classic example: an RNN trained with T.grad and SGD updates
    rng = _rng(8)
    n_in, n_hid, n_steps = 2, 5, 6
    w_in = sa.shared(rng.uniform(-0.5, 0.5, (n_hid, n_in)), name="w_in")
    w_rec = sa.shared(rng.uniform(-0.5, 0.5, (n_hid, n_hid)), name="w_rec")
    w_out = sa.shared(rng.uniform(-0.5, 0.5, n_hid), name="w_out")
    x, target = T.dmatrix("x"), T.dvector("target")
    h0 = T.zeros((n_hid,), dtype="float64")
    hs, _ = sa.scan(lambda x_t, h: T.tanh(T.dot(w_in, x_t) + T.dot(w_rec, h)),
                    sequences=[x], outputs_info=[h0])
    y = T.dot(hs, w_out)
    loss = ((y - target) ** 2).mean()
    params = [w_in, w_rec, w_out]
    updates = [(p, p - 0.2 * g) for p, g in zip(params, T.grad(loss, params),
                                                strict=True)]
    train = sa.function([x, target], loss, updates=updates)
    xv = rng.uniform(-1, 1, (n_steps, n_in))
    tv = np.sin(np.arange(n_steps, dtype="float64"))
    losses = [float(train(xv, tv)) for _ in range(60)]
    assert losses[-1] < 0.5 * losses[0], losses[::10]
    assert all(b <= a + 1e-9 for a, b in zip(losses[20:], losses[21:], strict=False))


def _check_rop(fun: Callable[..., Any], values: list[np.ndarray], linker: str
               ) -> None:
    xs = [T.TensorType("float64", shape=(None,) * v.ndim)(f"x{k}")
          for k, v in enumerate(values)]
    vs = [x.type(f"v{k}") for k, x in enumerate(xs)]
    out = fun(*xs)
    jvp = sa.function(xs + vs, Rop(out, xs, vs), mode=_mode(linker),
                      on_unused_input="ignore")
    f = sa.function(xs, out, mode=_mode(linker), on_unused_input="ignore")
    tangents = [_rng(9 + k).uniform(-1, 1, v.shape) for k, v in enumerate(values)]
    eps = 1e-6
    plus = f(*[v + eps * t for v, t in zip(values, tangents, strict=True)])
    minus = f(*[v - eps * t for v, t in zip(values, tangents, strict=True)])
    np.testing.assert_allclose(jvp(*values, *tangents), (plus - minus) / (2 * eps),
                               rtol=1e-5, atol=1e-7)


ROP_TABLE = [r for r in TABLE if r[0] != "two_taps"] + [
    ("two_taps", lambda init, a: _fib(init, a, T.constant(0.7)), [(2, 3), (3,)])]


@pytest.mark.parametrize("linker", LINKERS)
@pytest.mark.parametrize(("name", "fun", "shapes"), ROP_TABLE,
                         ids=[r[0] for r in ROP_TABLE])
def test_rop_against_numeric_jvp(name: str, fun: Callable[..., Any],
                                 shapes: list[Any], linker: str) -> None:
    rng = _rng(10)
    _check_rop(fun, [rng.uniform(-0.8, 0.8, s) for s in shapes], linker)


@pytest.mark.parametrize("linker", LINKERS)
def test_rop_until_and_shared(linker: str) -> None:
    def fun(x0: Any, f: Any) -> Any:
        out, _ = sa.scan(lambda x, f_: (x * f_ + 0.1, until(T.sum(x) > 3.0)),
                         outputs_info=[x0], non_sequences=[f], n_steps=50)
        return out

    _check_rop(fun, [np.array([0.5, 0.3]), np.array([1.3, 1.2])], linker)


@pytest.mark.parametrize("linker", LINKERS)
def test_rop_through_updated_shared(linker: str) -> None:
    acc = sa.shared(np.array([0.5, -0.2]), name="acc")

    def fun(u: Any) -> Any:
        ys, upd = sa.scan(lambda u_t: (T.sum(acc * u_t), {acc: T.tanh(acc + u_t)}),
                          sequences=[u])
        return T.concatenate([ys, upd[acc]])

    _check_rop(fun, [_rng(13).uniform(-1, 1, (3, 2))], linker)


@pytest.mark.parametrize("linker", LINKERS)
def test_hessian_vector_product(linker: str) -> None:
    # Rop of the gradient: the backward scan's own R_op
    w, u, x0, v = T.dmatrix("w"), T.dmatrix("u"), T.dvector("x0"), T.dmatrix("v")
    cost = (_rnn(u, x0, w) ** 2).sum()
    g = T.grad(cost, w)
    hv = Rop(g, w, v)
    mode = _mode(linker)
    fn = sa.function([w, u, x0, v], hv, mode=mode)
    gfn = sa.function([w, u, x0], g, mode=mode)
    rng = _rng(11)
    wv, uv, xv = rng.uniform(-1, 1, (2, 2)), rng.uniform(-1, 1, (3, 2)), rng.uniform(
        -1, 1, 2)
    vv = rng.uniform(-1, 1, (2, 2))
    eps = 1e-6
    numeric = (gfn(wv + eps * vv, uv, xv) - gfn(wv - eps * vv, uv, xv)) / (2 * eps)
    np.testing.assert_allclose(fn(wv, uv, xv, vv), numeric, rtol=1e-5, atol=1e-7)
