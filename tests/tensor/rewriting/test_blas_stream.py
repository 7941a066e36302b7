"""Tests of symarray.tensor.rewriting.blas_stream: ``local_gemv_stream_rows``.

The rewrite must turn the gradient steps of linear models (logistic
regression as the anchors write it, least squares, Poisson; float32 and
float64; with fusion on or off, so whatever shape the fused graph has)
into one ``StreamGemv`` pass, with results equal to the graph compiled
without it; and it must leave graphs alone where one pass is impossible
(``f`` reads a reduction over ``z``, the products use different matrices
or several ``w``) or not wanted (integer dtypes, mixed dtypes).
"""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.mode import Mode
from symarray.graph.rewriting import REWRITES
from symarray.tensor.blas import Dot
from symarray.tensor.blas_ops import Gemv
from symarray.tensor.blas_stream import StreamGemv

NAME = "local_gemv_stream_rows"
LR = 0.1


def _mode(linker="cvm", stream=True, fusion=True):
    mode = Mode(linker=linker, optimizer="fast_run")
    if not stream:
        mode = mode.excluding(NAME)
    if not fusion:
        mode = mode.excluding("local_elemwise_fusion")
    return mode


def _ops(f, cls):
    return [n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, cls)]


def _data(dtype="float64", n=53, k=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, k)).astype(dtype)  # noqa: N806
    y = (rng.standard_normal(n) > 0).astype(dtype)
    return X, y


def logreg(dtype, mode):
    """The anchors' logistic-regression step: loss, gradient and update."""
    x, t = T.matrix("x", dtype=dtype), T.vector("t", dtype=dtype)
    w = sa.shared(np.linspace(-0.1, 0.1, 7).astype(dtype), name="w")
    b = sa.shared(np.asarray(0.05, dtype=dtype), name="b")
    p1 = 1 / (1 + T.exp(-(T.dot(x, w) + b)))
    cost = (-t * T.log(p1) - (1 - t) * T.log(1 - p1)).mean()
    gw, gb = sa.grad(cost, [w, b])
    lr = np.asarray(LR, dtype=dtype)
    f = sa.function([x, t], cost, updates=[(w, w - lr * gw), (b, b - lr * gb)],
                    mode=mode)
    return f, [w, b]


def least_squares(dtype, mode):
    """w -= lr * X.T @ (X @ w - y) / n, and the loss."""
    x, t = T.matrix("x", dtype=dtype), T.vector("t", dtype=dtype)
    w = sa.shared(np.linspace(-0.1, 0.1, 7).astype(dtype), name="w")
    r = T.dot(x, w) - t
    g = T.dot(x.T, r) / T.cast(x.shape[0], dtype)
    f = sa.function([x, t], 0.5 * (r ** 2).mean(), updates=[(w, w - LR * g)],
                    mode=mode)
    return f, [w]


def poisson(dtype, mode):
    """w -= lr * X.T @ (exp(X @ w) - y) (the gradient of the Poisson NLL)."""
    x, t = T.matrix("x", dtype=dtype), T.vector("t", dtype=dtype)
    w = sa.shared(np.linspace(-0.1, 0.1, 7).astype(dtype), name="w")
    z = T.dot(x, w)
    cost = (T.exp(z) - t * z).sum()
    (gw,) = sa.grad(cost, [w])
    f = sa.function([x, t], cost, updates=[(w, w - LR * gw)], mode=mode)
    return f, [w]


MODELS = {"logreg": logreg, "least_squares": least_squares, "poisson": poisson}


def _steps(build, dtype, mode, X, y, n_steps=3):  # noqa: N803
    f, params = build(dtype, mode)
    out = [np.asarray(f(X, y)) for _ in range(n_steps)]
    return f, out + [p.get_value() for p in params]


@pytest.mark.parametrize("fusion", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("model", sorted(MODELS))
def test_training_steps_are_one_pass_and_equal_the_two_pass_graph(model, dtype,
                                                                  fusion):
    X, y = _data(dtype)  # noqa: N806
    f, got = _steps(MODELS[model], dtype, _mode(fusion=fusion), X, y)
    ref_f, want = _steps(MODELS[model], dtype, _mode(stream=False, fusion=fusion),
                         X, y)
    assert len(_ops(f, StreamGemv)) == 1
    assert not _ops(f, Dot) and not _ops(f, Gemv)  # X is read by one node
    assert f.maker.fgraph.rewrite_stats.applied(NAME) == 1
    assert not _ops(ref_f, StreamGemv)
    tol = 2e-5 if dtype == "float32" else 1e-12
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


@pytest.mark.parametrize("linker", ["py", "cvm_nogc"])
def test_other_linkers(linker):
    X, y = _data()  # noqa: N806
    f, got = _steps(logreg, "float64", _mode(linker), X, y)
    _, want = _steps(logreg, "float64", _mode(linker, stream=False), X, y)
    assert len(_ops(f, StreamGemv)) == 1
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_mismatched_rows_raise_as_the_two_pass_graph_does():
    f, _ = logreg("float64", _mode())
    X, y = _data()  # noqa: N806
    with pytest.raises(ValueError):
        f(X, y[:-1])


def _gradient_step(g_of_z, x=None, w=None, x2=None):
    """A compiled ``w - lr * x2.T @ g_of_z(x @ w)`` (x2 defaults to x)."""
    x = T.dmatrix("x") if x is None else x
    w = T.dvector("w") if w is None else w
    x2 = x if x2 is None else x2
    g = g_of_z(T.dot(x, w))
    inputs = [v for v in {x: 0, w: 0, x2: 0} if v.owner is None]
    return sa.function(inputs, w - LR * T.dot(x2.T, g), mode=_mode(),
                       on_unused_input="ignore")


def test_fires_for_a_plain_elemwise_path():
    f = _gradient_step(lambda z: T.tanh(z) * 2.0)
    assert len(_ops(f, StreamGemv)) == 1


@pytest.mark.parametrize("case", ["softmax", "mean_centering", "max"])
def test_not_when_f_reads_a_reduction_over_z(case):
    def g(z):
        if case == "softmax":
            e = T.exp(z)
            return e / e.sum()
        if case == "mean_centering":
            return z - z.mean()
        return T.exp(z - z.max())

    f = _gradient_step(g)
    assert not _ops(f, StreamGemv)
    assert _ops(f, Gemv)


def test_not_for_another_matrix():
    x, x2 = T.dmatrix("x"), T.dmatrix("x2")
    f = _gradient_step(T.tanh, x=x, x2=x2)
    assert not _ops(f, StreamGemv)


def test_not_for_two_products_of_x():
    x, w, u = T.dmatrix("x"), T.dvector("w"), T.dvector("u")
    g = T.tanh(T.dot(x, w)) * T.dot(x, u)
    f = sa.function([x, w, u], w - LR * T.dot(x.T, g), mode=_mode())
    assert not _ops(f, StreamGemv)


def test_for_a_product_with_another_vector():
    """``f`` may read ``X @ u`` for any ``u``: it need not be the ``y0``."""
    x, w, u = T.dmatrix("x"), T.dvector("w"), T.dvector("u")
    f = sa.function([x, w, u], w - LR * T.dot(x.T, T.tanh(T.dot(x, u))), mode=_mode())
    assert len(_ops(f, StreamGemv)) == 1
    rng = np.random.default_rng(1)
    xv, wv, uv = rng.standard_normal((9, 4)), rng.standard_normal(4), \
        rng.standard_normal(4)
    np.testing.assert_allclose(f(xv, wv, uv), wv - LR * xv.T @ np.tanh(xv @ uv),
                               rtol=1e-12)


@pytest.mark.parametrize("case", ["int64", "mixed"])
def test_not_for_integer_or_mixed_dtypes(case):
    if case == "int64":
        x, w = T.lmatrix("x"), T.lvector("w")
        out = w - 2 * T.dot(x.T, T.dot(x, w) - 1)
    else:
        x, w = T.fmatrix("x"), T.dvector("w")
        out = w - LR * T.dot(x.T, T.tanh(T.dot(x, w)))
    f = sa.function([x, w], out, mode=_mode())
    assert not _ops(f, StreamGemv)


def test_other_readers_read_the_new_node():
    """The loss reads ``z`` and the bias gradient ``sum(g)`` reads ``g``:
    they read the StreamGemv's outputs (nothing computes them twice)."""
    f, _ = logreg("float64", _mode())
    (node,) = _ops(f, StreamGemv)
    clients = f.maker.fgraph.clients
    assert clients[node.outputs[0]] and clients[node.outputs[2]]


def test_phase_and_tags():
    entry = REWRITES[NAME]
    assert entry.phases == ("fusion",)
    assert {"fast_run", "blas_stream"} <= entry.tags
    assert entry.position > REWRITES["local_reduce_elemwise_fusion"].position


_UNARY = {"tanh": T.tanh, "sigmoid": T.nnet.sigmoid,
          "exp_neg_abs": lambda a: T.exp(-abs(a)), "sqr": T.sqr}
_BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b,
           "mul": lambda a, b: a * b, "maximum": T.maximum}


def _expr(draw, leaves, depth):
    """A random elementwise expression over ``leaves`` (hypothesis)."""
    from hypothesis import strategies as st

    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(leaves))
    if draw(st.booleans()):
        return _UNARY[draw(st.sampled_from(sorted(_UNARY)))](
            _expr(draw, leaves, depth - 1))
    op = _BINARY[draw(st.sampled_from(sorted(_BINARY)))]
    return op(_expr(draw, leaves, depth - 1), _expr(draw, leaves, depth - 1))


def test_random_elementwise_f_equals_the_two_pass_graph():
    """Random f(X @ w, t, s, 0.5) (times X @ w, so that f reads it): the
    rewrite applies, and the step's values are the unrewritten graph's."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    rng = np.random.default_rng(3)
    xv, wv = rng.standard_normal((23, 5)), rng.standard_normal(5) * 0.3
    tv, sv = rng.standard_normal(23), np.float64(0.7)

    @settings(max_examples=25, deadline=None)
    @given(st.data())
    def check(data):
        x, w, t, s = T.dmatrix("x"), T.dvector("w"), T.dvector("t"), T.dscalar("s")
        z = T.dot(x, w)
        g = _expr(data.draw, [z, t, s, T.constant(0.5)], 3) * z
        step = w - LR * T.dot(x.T, g)
        got_f = sa.function([x, w, t, s], step, mode=_mode(),
                            on_unused_input="ignore")
        want = sa.function([x, w, t, s], step, mode=_mode(stream=False),
                           on_unused_input="ignore")(xv, wv, tv, sv)
        assert len(_ops(got_f, StreamGemv)) == 1
        np.testing.assert_allclose(got_f(xv, wv, tv, sv), want, rtol=1e-10,
                                   atol=1e-10)

    check()


def test_theano_tutorial_logreg_with_l2_streams() -> None:
    """Theano's documented example: the L2 term makes the update
    ``w - 0.1 * (X.T @ g + 0.02 * w)``, which becomes
    ``Gemv(w, -0.1, X.T, g, 0.998)`` and then one ``StreamGemv`` pass."""
    X, t = _data()  # noqa: N806
    w0 = np.linspace(-0.3, 0.3, 7)
    results = []
    for stream in (True, False):
        x, y = T.dmatrix("x"), T.dvector("y")
        w = sa.shared(w0.copy(), name="w")
        b = sa.shared(0.0, name="b")
        p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
        prediction = p_1 > 0.5
        xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
        cost = xent.mean() + 0.01 * (w ** 2).sum()
        gw, gb = sa.grad(cost, [w, b])
        train = sa.function([x, y], [prediction, xent], mode=_mode(stream=stream),
                            updates=((w, w - 0.1 * gw), (b, b - 0.1 * gb)))
        assert len(_ops(train, StreamGemv)) == (1 if stream else 0)
        if stream:
            assert not _ops(train, Dot) and not _ops(train, Gemv)
        out = [train(X, t) for _ in range(3)]
        results.append([*out[-1], w.get_value(), b.get_value()])
    for got, want in zip(*results, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
