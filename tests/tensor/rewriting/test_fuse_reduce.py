"""Tests of symarray.tensor.rewriting.fuse_reduce: reductions fused with their
elementwise producer.

The rewrite must apply where it should (``sum(x ** 2, axis=1)``, a fused
composite feeding a max...), keep the two nodes where it should not (the
elementwise result read elsewhere, dtypes without C loops), keep every value
(hypothesis draws random programs and axes and compares with the
unrewritten graph), keep gradients working, and make no temporary of the
input's size (tracemalloc).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.mode import Mode
from symarray.graph.rewriting import REWRITES
from symarray.tensor.elemwise import Elemwise
from symarray.tensor.reduction_fused import ReduceElemwise

NO_REWRITES = Mode(linker="py", optimizer=None)
LINKERS = ["py", "cvm", "cvm_nogc"]


def _fused(f):
    return [n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, ReduceElemwise)]


def _same(inputs, outputs, values, linker="cvm"):
    f = sa.function(inputs, outputs, mode=Mode(linker=linker, optimizer="fast_run"),
                    on_unused_input="ignore")
    want = sa.function(inputs, outputs, mode=NO_REWRITES,
                       on_unused_input="ignore")(*values)
    got = f(*values)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        tol = 1e-5 if g.dtype == np.float32 else 1e-11
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol, equal_nan=True)
    return f


@pytest.mark.parametrize("linker", LINKERS)
def test_sum_of_squares_is_one_node(linker):
    x = T.dmatrix("x")
    v = np.random.default_rng(0).standard_normal((6, 7))
    f = _same([x], [T.sum(x ** 2, axis=1)], [v], linker)
    assert len(f.maker.fgraph.apply_nodes) == 1
    assert len(_fused(f)) == 1
    assert f.maker.fgraph.rewrite_stats.applied("local_reduce_elemwise_fusion") == 1


def test_runs_after_elemwise_fusion():
    assert (REWRITES["local_reduce_elemwise_fusion"].position
            > REWRITES["local_elemwise_fusion"].position)
    x, y = T.dmatrices("x", "y")
    rng = np.random.default_rng(1)
    f = _same([x, y], [T.sum((x - y) ** 2 * T.exp(-y))],
              [rng.random((4, 5)), rng.random((4, 5))])
    (node,) = _fused(f)
    assert len(f.maker.fgraph.apply_nodes) == 1  # the whole group went in
    assert "Composite" in str(node.op.scalar_op)


@pytest.mark.parametrize("reduce_fn", [T.sum, T.prod, T.max, T.min, T.mean])
def test_each_reduction(reduce_fn):
    x = T.fmatrix("x")
    v = np.random.default_rng(2).uniform(0.5, 1.5, (5, 6)).astype(np.float32)
    for axis in [None, 0, 1]:
        f = _same([x], [reduce_fn(T.tanh(x) * 2.0 + x, axis=axis)], [v])
        assert len(_fused(f)) == 1


def test_all_any_of_a_float_program():
    x = T.dmatrix("x")
    v = np.random.default_rng(3).standard_normal((5, 6))
    v[0, 0] = np.nan
    f = _same([x], [T.all(x * 2.0 - 1.0, axis=1), T.any(T.abs(x) - 1.0, axis=0)], [v])
    assert len(_fused(f)) == 2


def test_not_fused_when_the_values_are_read_elsewhere():
    x = T.dmatrix("x")
    sq = x ** 2
    v = np.random.default_rng(4).standard_normal((3, 4))
    f = _same([x], [T.sum(sq, axis=1), sq], [v])
    assert not _fused(f)


def test_integer_programs_fuse():
    # the prologue runs the elementwise interpreter's programs, every dtype
    x = T.lmatrix("x")
    v = np.arange(12).reshape(3, 4)
    f = _same([x], [T.sum(x * x + 1, axis=0)], [v])
    assert len(_fused(f)) == 1


def test_not_fused_for_programs_without_c_loops():
    x = T.zmatrix("x")  # complex: the C kernels decline it
    v = np.arange(12).reshape(3, 4) + 1j
    f = _same([x], [T.sum(x * x + 1, axis=0)], [v])
    assert not _fused(f)
    assert any(isinstance(n.op, Elemwise) for n in f.maker.fgraph.apply_nodes)


def test_excluded_by_name():
    x = T.dmatrix("x")
    mode = Mode(linker="cvm", optimizer="fast_run").excluding(
        "local_reduce_elemwise_fusion")
    f = sa.function([x], T.sum(x ** 2, axis=1), mode=mode)
    assert not _fused(f)


def test_broadcast_inputs():
    x, m = T.dmatrix("x"), T.dvector("m")
    rng = np.random.default_rng(5)
    # the log-sum-exp shape: exp(x - max) summed over the rows
    out = T.sum(T.exp(x - m.dimshuffle(0, "x")), axis=1)
    f = _same([x, m], [out], [rng.standard_normal((6, 9)), rng.standard_normal(6)])
    assert len(_fused(f)) == 1


def test_gradient_through_the_fused_node():
    x = T.dmatrix("x")
    cost = T.sum(T.sum(T.tanh(x) ** 2, axis=1) * T.arange(3))
    g = sa.grad(cost, x)
    f = sa.function([x], [cost, g])
    v = np.random.default_rng(6).standard_normal((3, 4))
    c, gv = f(v)
    want = 2 * np.tanh(v) * (1 - np.tanh(v) ** 2) * np.arange(3)[:, None]
    np.testing.assert_allclose(gv, want, rtol=1e-10)
    # the gradient of a fused node itself (built after rewriting)
    fused_graph = sa.function([x], T.sum(x ** 2, axis=0)).maker.fgraph
    (node,) = [n for n in fused_graph.apply_nodes if isinstance(n.op, ReduceElemwise)]
    y = T.dmatrix("y")
    out = node.op(y)
    gy = sa.grad(T.sum(out * T.arange(4)), y)
    np.testing.assert_allclose(sa.function([y], gy)(v), 2 * v * np.arange(4))


def test_no_temporary_of_the_input_size():
    x = T.dmatrix("x")
    f = sa.function([x], T.sum(x ** 2, axis=1))
    v = np.random.default_rng(7).standard_normal((1000, 1000))
    f(v)  # warm: thunks, buffers
    tracemalloc.start()
    try:
        out = f(v)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(out, np.sum(v ** 2, axis=1))
    assert peak < v.nbytes // 8, f"peak {peak} bytes for a {v.nbytes}-byte input"


# -- property test -------------------------------------------------------------

UNARY = [T.exp, T.tanh, T.sqr, T.abs, T.neg, T.sigmoid, T.sin]
BINARY = [T.add, T.sub, T.mul, T.maximum, T.minimum]
REDUCE = [T.sum, T.prod, T.max, T.min, T.mean, T.all, T.any]


@st.composite
def programs(draw):
    """A random elementwise program over up to 3 float inputs, a reduction
    and its axes."""
    ndim = draw(st.integers(1, 3))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    nin = draw(st.integers(1, 3))
    shape = draw(st.lists(st.integers(1, 5), min_size=ndim, max_size=ndim))
    masks = [draw(st.lists(st.booleans(), min_size=ndim, max_size=ndim))
             for _ in range(nin)]
    ops = draw(st.lists(st.tuples(st.integers(0, 99), st.integers(0, 99),
                                  st.integers(0, 99)), min_size=1, max_size=5))
    red = draw(st.sampled_from(REDUCE))
    axes = draw(st.one_of(st.none(), st.lists(st.integers(0, ndim - 1), unique=True,
                                              max_size=ndim)))
    seed = draw(st.integers(0, 2**16))
    return ndim, dtype, shape, masks, ops, red, axes, seed


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_property_fused_equals_unfused(prog):
    ndim, dtype, shape, masks, ops, red, axes, seed = prog
    rng = np.random.default_rng(seed)
    ins, vals = [], []
    for mask in masks:  # an input is length 1 (broadcast) where its mask says
        bshape = tuple(1 if m else n for m, n in zip(mask, shape, strict=True))
        ins.append(T.TensorType(dtype, shape=tuple(1 if b == 1 else None
                                                   for b in bshape))())
        vals.append(rng.uniform(0.3, 1.2, bshape).astype(dtype))
    regs = list(ins)
    for a, b, c in ops:
        if a % 2:
            regs.append(UNARY[b % len(UNARY)](regs[c % len(regs)]))
        else:
            regs.append(BINARY[b % len(BINARY)](regs[c % len(regs)],
                                                regs[(b + c) % len(regs)]))
    out = regs[-1]
    if out.ndim == 0:
        return
    target = red(out, axis=None if axes is None else tuple(axes))
    _same(ins, [target], vals)
