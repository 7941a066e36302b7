"""Tests of symarray.tensor.rewriting.nnet: a softmax computed next to the
log-softmax of the same input becomes ``exp(log_softmax(x))``.

Every case compiles the same graph with the rewrite and without it (FAST_RUN
otherwise) and compares values, NaN and infinities included, and counts the
``Softmax`` nodes left (the verifier is on, see conftest).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.mode import Mode
from symarray.tensor.nnet.basic import LogSoftmax, Softmax

NAME = "local_softmax_as_exp_log_softmax"
FAST_RUN = Mode(linker="cvm", optimizer="fast_run")
WITHOUT = FAST_RUN.excluding(NAME)
RTOL = {"float32": 1e-5, "float64": 1e-12}


def _count(f, op_class):
    return sum(isinstance(n.op, op_class) for n in f.maker.fgraph.apply_nodes)


def _compile_both(inputs, outputs):
    with_rw = sa.function(inputs, outputs, mode=FAST_RUN)
    without = sa.function(inputs, outputs, mode=WITHOUT)
    return with_rw, without


def _assert_close(got, want, dtype):
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=RTOL[dtype],
                                   atol=8 * float(np.finfo(dtype).eps),
                                   equal_nan=True)


SPECIALS = [np.nan, np.inf, -np.inf, 1000.0, -1000.0, 0.0]


@st.composite
def cases(draw):
    """(dtype, shape, softmax axis, log-softmax axis spelling, values)."""
    dtype = draw(st.sampled_from(["float32", "float64"]))
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=ndim, max_size=ndim)))
    axis = draw(st.integers(-ndim, ndim - 1))
    other = draw(st.sampled_from([axis, axis % ndim, axis - ndim if axis >= 0
                                  else axis + ndim]))
    size = int(np.prod(shape))
    values = draw(st.lists(st.one_of(st.floats(-30, 30), st.sampled_from(SPECIALS)),
                           min_size=size, max_size=size))
    return dtype, shape, axis, other, np.array(values, dtype=dtype).reshape(shape)


@settings(max_examples=40, deadline=None)
@given(cases())
def test_values_kept_and_softmax_removed(case):
    """softmax(x) next to log_softmax(x) (the same axis, any spelling): the
    results are those without the rewrite, and no Softmax node is left."""
    dtype, shape, axis, other, value = case
    x = T.TensorType(dtype, shape=(None,) * len(shape))("x")
    sm = T.nnet.softmax(x, axis=axis)
    lsm = T.nnet.log_softmax(x, axis=other)
    outputs = [sm * 2 + 1, lsm]
    with_rw, without = _compile_both([x], outputs)
    with np.errstate(all="ignore"):
        _assert_close(with_rw(value), without(value), dtype)
    assert _count(without, Softmax) == 1
    assert _count(with_rw, Softmax) == 0
    assert with_rw.maker.fgraph.rewrite_stats.applied(NAME) == 1


@pytest.mark.parametrize("build", [
    lambda x: [T.nnet.softmax(x)],                                  # no log-softmax
    lambda x: [T.nnet.softmax(x, axis=0), T.nnet.log_softmax(x, axis=1)],
    lambda x: [T.nnet.softmax(x), T.nnet.log_softmax(x + 1)],       # other input
])
def test_does_not_fire_without_a_matching_log_softmax(build):
    x = T.dmatrix("x")
    f = sa.function([x], build(x), mode=FAST_RUN)
    assert _count(f, Softmax) == 1
    assert f.maker.fgraph.rewrite_stats.applied(NAME) == 0


def test_mlp_gradient_reads_log_softmax_only():
    """The anchors' MLP loss: the forward pass has log_softmax (stabilize),
    its gradient softmax; after the rewrite only LogSoftmax is computed, and
    the loss and gradients are unchanged."""
    rng = np.random.default_rng(0)
    x, y = T.dmatrix("x"), T.lvector("y")
    w = sa.shared(rng.standard_normal((7, 4)) * 0.5, name="w")
    b = sa.shared(np.zeros(4), name="b")
    p_y = T.nnet.softmax(T.dot(x, w) + b)
    cost = -T.mean(T.log(p_y)[T.arange(y.shape[0]), y])
    grads = sa.grad(cost, [w, b])
    with_rw, without = _compile_both([x, y], [cost, *grads])
    xv = rng.standard_normal((9, 7))
    yv = rng.integers(0, 4, 9)
    _assert_close(with_rw(xv, yv), without(xv, yv), "float64")
    assert _count(without, Softmax) == 1
    assert _count(with_rw, Softmax) == 0
    assert _count(with_rw, LogSoftmax) == 1
