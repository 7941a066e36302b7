"""SumToShape(g, x) rewritten to g, to a static sum, or to read a stand-in."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.mode import Mode
from symarray.errors import ShapeMismatchError
from symarray.gradient import verify_grad
from symarray.tensor.alloc import BroadcastTo
from symarray.tensor.elemwise_grad import SumToShape

NAMES = ("local_sum_to_shape_noop", "local_sum_to_shape_to_sum",
         "local_sum_to_shape_shape_only")
ON = Mode(optimizer="fast_run")
STAND_IN = ON.including("local_sum_to_shape_shape_only")
OFF = Mode(optimizer="fast_run").excluding(*NAMES)


def _tt(shape: tuple[Any, ...], name: str) -> Any:
    return T.TensorType("float64", shape=shape)(name)


def _sum_to_shape_nodes(f: Any) -> list[Any]:
    return [n for n in f.maker.fgraph.toposort() if isinstance(n.op, SumToShape)]


def _check(inputs: list[Any], out: Any, values: list[np.ndarray],
           mode: Mode = ON) -> Any:
    f_on = sa.function(inputs, out, mode=mode)
    f_off = sa.function(inputs, out, mode=OFF)
    got, want = f_on(*values), f_off(*values)
    if not isinstance(out, (list, tuple)):
        got, want = [got], [want]
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    return f_on


# (g's static shape, x's static shape, axes, x's value shape, g's value shape,
#  expected: "g" (no SumToShape left, no sum), "sum" (a sum, no SumToShape),
#  "stays")
CASES = [
    ((3, 4), (3, 4), (0, 1), (3, 4), (3, 4), "g"),          # equal static
    ((1, None), (None, 4), (0,), (1, 4), (1, 4), "g"),      # g's length 1
    ((None, None), (5, None), (0,), (5, 2), (5, 2), "stays"),  # type would widen
    ((None, 4), (None, 4), (1,), (2, 4), (3, 4), "g"),      # x static, not 1
    ((3, 4), (3, 1), (1,), (3, 1), (3, 4), "sum"),          # x static 1
    ((None, None), (1, None), (0,), (1, 4), (3, 4), "sum"),
    ((None, None), (1, 1), (0, 1), (1, 1), (3, 4), "sum"),
    ((None, None), (None, None), (0, 1), (1, 4), (3, 4), "stays"),
    ((None, None), (None, None), (1,), (3, 4), (3, 4), "stays"),
]


@pytest.mark.parametrize("gshape,xshape,axes,xv_shape,gv_shape,expected", CASES)
def test_static_cases(gshape: Any, xshape: Any, axes: Any, xv_shape: Any,
                      gv_shape: Any, expected: str) -> None:
    g, x = _tt(gshape, "g"), _tt(xshape, "x")
    out = SumToShape(axes)(g, x)
    rng = np.random.default_rng(0)
    f = _check([g, x], out, [rng.normal(size=gv_shape), rng.normal(size=xv_shape)])
    ops = [type(n.op).__name__ for n in f.maker.fgraph.toposort()]
    if expected == "stays":
        assert len(_sum_to_shape_nodes(f)) == 1, ops
    else:
        assert not _sum_to_shape_nodes(f), ops
        assert ("Sum" in " ".join(ops)) == (expected == "sum"), ops


def test_shape_feature_proves_equal_lengths() -> None:
    # g = x * 2 has x's shape: nothing is ever summed
    x = T.dmatrix("x")
    out = SumToShape((0, 1))(T.exp(x) * 2.0, T.exp(x))
    f = _check([x], out, [np.arange(6.0).reshape(2, 3)])
    assert not _sum_to_shape_nodes(f)


def test_stand_in_replaces_an_intermediate() -> None:
    # x = dot(a, w) is read only for its shape: a stand-in from w's shape
    a, w, g = T.dmatrix("a"), T.dmatrix("w"), T.dmatrix("g")
    out = SumToShape((1,))(g, T.dot(a, w))
    rng = np.random.default_rng(1)
    av, wv = rng.normal(size=(3, 2)), rng.normal(size=(2, 1))
    values = [av, wv, rng.normal(size=(3, 5))]
    (node,) = _sum_to_shape_nodes(_check([a, w, g], out, values))
    assert not isinstance(node.inputs[1].owner.op, BroadcastTo)  # not in fast_run
    f = _check([a, w, g], out, values, STAND_IN)
    (node,) = _sum_to_shape_nodes(f)
    ref = node.inputs[1]
    assert isinstance(ref.owner.op, BroadcastTo), ref
    np.testing.assert_allclose(f(av, wv, np.ones((3, 5))), np.full((3, 1), 5.0))
    with pytest.raises(ShapeMismatchError):  # the length check stays
        f(av, rng.normal(size=(2, 2)), np.ones((3, 5)))


def test_stand_in_not_made_from_an_intermediate_shape() -> None:
    # no infer_shape path from inputs: x = the output of an op without one
    g, x = T.dmatrix("g"), T.dmatrix("x")
    sorted_x = T.sort(x, axis=1) if hasattr(T, "sort") else x + 1.0
    out = SumToShape((1,))(g, sorted_x)
    f = _check([g, x], out, [np.ones((2, 3)), np.ones((2, 1))], STAND_IN)
    assert len(_sum_to_shape_nodes(f)) == 1


def test_mlp_gradient() -> None:
    rng = np.random.default_rng(2)

    def mlp(x: Any, w: Any, b: Any, v: Any) -> Any:
        return T.tanh(T.dot(T.tanh(T.dot(x, w) + b), v)).sum()

    values = [rng.normal(size=(4, 3)), rng.normal(size=(3, 5)),
              rng.normal(size=5), rng.normal(size=(5, 2))]
    verify_grad(mlp, values, rng=rng, mode=ON)
    verify_grad(mlp, values, rng=rng, mode=STAND_IN)
    xs = [T.dmatrix("x"), T.dmatrix("w"), T.dvector("b"), T.dmatrix("v")]
    grads = sa.grad(mlp(*xs), xs[1:])
    _check(xs, grads, values)
    f = _check(xs, grads, values, STAND_IN)
    # the pre-activations are no longer read by SumToShape
    for node in _sum_to_shape_nodes(f):
        assert isinstance(node.inputs[1].owner.op, BroadcastTo)


def test_scan_rnn_gradient() -> None:
    rng = np.random.default_rng(3)

    def rnn(xs: Any, h0: Any, w: Any, u: Any) -> Any:
        hs, _ = sa.scan(lambda x_t, h, w_, u_: T.tanh(T.dot(h, w_) + T.dot(x_t, u_)),
                        sequences=xs, outputs_info=h0, non_sequences=[w, u])
        return hs

    values = [rng.normal(size=(4, 2, 3)), rng.normal(size=(2, 5)),
              0.5 * rng.normal(size=(5, 5)), rng.normal(size=(3, 5))]
    ins = [T.dtensor3("xs"), T.dmatrix("h0"), T.dmatrix("w"), T.dmatrix("u")]
    for mode in (ON, STAND_IN):
        verify_grad(rnn, values, rng=rng, mode=mode)
        _check(ins, sa.grad(rnn(*ins).sum(), ins), values, mode)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([None, 1, 3]), st.sampled_from([None, 1, 3]),
                          st.booleans(), st.booleans()), min_size=1, max_size=3),
       st.integers(0, 2**16))
def test_random_broadcast_patterns(dims: list[Any], seed: int) -> None:
    # per dim: g's static length, x's static length, x stretched at run time,
    # axis listed in SumToShape's axes
    gshape, xshape, gv, xv, axes = [], [], [], [], []
    for d, (gs, xs, stretched, listed) in enumerate(dims):
        xlen = xs if xs is not None else (1 if stretched else 3)
        glen = gs if gs is not None else (3 if xlen == 1 and stretched else xlen)
        if xlen != 1 and glen != xlen:
            glen = xlen  # would be a shape error: keep the case valid
        if gs is not None and gs != glen:
            gs = None
        if glen != xlen and not listed:
            listed = True  # a stretched axis must be one of the axes
        gshape.append(gs)
        xshape.append(xs)
        gv.append(glen)
        xv.append(xlen)
        if listed:
            axes.append(d)
    g, x = _tt(tuple(gshape), "g"), _tt(tuple(xshape), "x")
    rng = np.random.default_rng(seed)
    gval, xval = rng.normal(size=gv), rng.normal(size=xv)
    out = SumToShape(axes)(g, T.exp(x))
    expected = gval.sum(axis=tuple(d for d in range(len(gv)) if gv[d] != xv[d]),
                        keepdims=True)
    for mode in (ON, STAND_IN):
        f_on = sa.function([g, x], out, mode=mode)
        np.testing.assert_allclose(f_on(gval, xval), expected, rtol=1e-12)
