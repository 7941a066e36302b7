"""Tests of symarray.tensor.rewriting.canonicalize_layout.

Dimshuffles, reshapes and reductions: each rewrite fires, results equal the
unrewritten graph's, and it stays off where it would be wrong.
"""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.mode import Mode
from symarray.errors import ShapeMismatchError
from symarray.tensor.elemwise import DimShuffle
from symarray.tensor.shape_ops import Reshape

CANONICALIZE = Mode(linker="py", optimizer="canonicalize")
FAST_RUN = Mode(linker="py", optimizer="fast_run")
NO_REWRITES = Mode(linker="py", optimizer=None)


def _ops(f):
    return [type(n.op).__name__ for n in f.maker.fgraph.toposort()]


def _check(inputs, out, rewrite, values, fires=True):
    f = sa.function(inputs, out, mode=CANONICALIZE)
    applied = f.maker.fgraph.rewrite_stats.applied(rewrite)
    assert (applied > 0) == fires, (rewrite, applied, _ops(f))
    want = sa.function(inputs, out, mode=NO_REWRITES)(*values)
    for got in (f(*values), sa.function(inputs, out, mode=FAST_RUN)(*values)):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6)
    return f


M = np.arange(6.0).reshape(2, 3)
T3 = np.arange(24.0).reshape(2, 3, 4)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_transpose_of_transpose(dtype):
    m = T.matrix("m", dtype=dtype)
    f = _check([m], m.T.T * 2, "local_dimshuffle_dimshuffle", [M.astype(dtype)])
    assert "DimShuffle" not in _ops(f)


def test_dimshuffles_merge_into_one():
    t = T.tensor3("t", dtype="float64")
    out = t.dimshuffle(2, "x", 0, 1).dimshuffle(0, 2, 3, 1, "x") * 1.5
    f = _check([t], out, "local_dimshuffle_dimshuffle", [T3])
    [ds] = [n for n in f.maker.fgraph.toposort() if isinstance(n.op, DimShuffle)]
    assert ds.op.new_order == (2, 0, 1, "x", "x")


def test_dimshuffle_that_drops_what_it_added():
    v = T.dvector("v")
    out = T.exp(v.dimshuffle("x", 0).dimshuffle(1))
    f = _check([v], out, "local_dimshuffle_dimshuffle", [np.arange(3.0)])
    assert _ops(f) == ["Elemwise"]


@pytest.mark.parametrize("pattern", [("x", 1), (0, 1)])
def test_useless_dimshuffle(pattern):
    r = T.row("r", dtype="float64")  # (1, n)
    op = DimShuffle(2, pattern)
    f = _check([r], op(r) * 2, "local_useless_dimshuffle", [M[:1]])
    assert "DimShuffle" not in _ops(f)


def test_dimshuffle_that_moves_elements_stays():
    m = T.dmatrix("m")
    f = _check([m], m.T * 2, "local_useless_dimshuffle", [M], fires=False)
    assert "DimShuffle" in _ops(f)
    c = T.col("c", dtype="float64")  # (n, 1) -> (1, n) moves elements
    _check([c], DimShuffle(2, (1, 0))(c) + 0.5, "local_useless_dimshuffle",
           [M[:, :1]], fires=False)


def test_reshape_of_reshape():
    v = T.dvector("v")
    out = v.reshape((2, 3)).reshape((3, 2)) * 2
    f = _check([v], out, "local_reshape_reshape", [np.arange(6.0)])
    [node] = [n for n in f.maker.fgraph.toposort() if isinstance(n.op, Reshape)]
    assert node.inputs[0].name == "v"
    assert f.maker.fgraph.outputs[0].type.shape == (3, 2)


def test_reshape_of_reshape_keeps_the_static_shape():
    v = T.dvector("v")
    out = v.reshape((2, 3)).reshape((-1,))  # static (6,), from the inner reshape
    f = _check([v], out, "local_reshape_reshape", [np.arange(6.0)])
    assert f.maker.fgraph.outputs[0].type.shape == (6,)
    with pytest.raises(ShapeMismatchError):
        f(np.arange(5.0))


@pytest.mark.parametrize("build", [
    lambda m: m.reshape(m.shape),
    lambda m: m.reshape((m.shape[0], -1)),
    lambda m: m.reshape((-1, m.shape[1])),
    lambda m: T.exp(m).reshape(m.shape),
], ids=["shape", "(n, -1)", "(-1, k)", "exp(m) to m.shape"])
def test_useless_reshape(build):
    m = T.dmatrix("m")
    f = _check([m], build(m) * 2, "local_useless_reshape", [M])
    assert "Reshape" not in _ops(f)


def test_reshape_to_static_same_shape():
    m = T.matrix("m", dtype="float64", shape=(2, 3))
    f = _check([m], m.reshape((2, 3)) * 2, "local_useless_reshape", [M])
    assert "Reshape" not in _ops(f)


@pytest.mark.parametrize("build", [
    lambda m: m.reshape((m.shape[1], m.shape[0])),
    lambda m: m.reshape((2, 3)),
    lambda m: m.reshape((m.shape[0], 3)),
], ids=["swapped", "constant", "constant column"])
def test_reshape_that_may_change_the_shape_stays(build):
    m = T.dmatrix("m")
    f = _check([m], build(m) * 2, "local_useless_reshape", [M], fires=False)
    assert "Reshape" in _ops(f)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "bool"])
def test_sum_of_sum(dtype):
    t = T.tensor3("t", dtype=dtype)
    out = T.sum(T.sum(t, axis=1), axis=1)  # axes 1, then 2 of t
    f = _check([t], out, "local_reduce_reduce", [(T3 % 3).astype(dtype)])
    [node] = f.maker.fgraph.toposort()
    assert node.op.axis == (1, 2)


@pytest.mark.parametrize("fn", [T.prod, T.max, T.min, T.all, T.any])
def test_other_reductions_of_reductions(fn):
    t = T.tensor3("t", dtype="float64")
    out = fn(fn(t, axis=(0, 2)), axis=0)
    f = _check([t], out, "local_reduce_reduce", [(T3 % 5) - 1.0])
    assert len(f.maker.fgraph.toposort()) == 1


def test_reductions_that_do_not_merge():
    t = T.tensor3("t", dtype="float64")
    inner = T.sum(t, axis=0)
    # read twice: merging would sum t twice
    _check([t], T.sum(inner, axis=0) + T.sum(inner), "local_reduce_reduce", [T3],
           fires=False)
    # a different kind
    _check([t], T.max(T.sum(t, axis=0), axis=0), "local_reduce_reduce", [T3],
           fires=False)
    # a different output dtype
    i = T.tensor3("i", dtype="int32")
    out = T.sum(T.sum(i, axis=0, dtype="int16"), axis=0, dtype="int64")
    _check([i], out, "local_reduce_reduce", [np.full((2, 3, 4), 10000, "int32")],
           fires=False)
    # keepdims puts a dimshuffle in between
    _check([t], T.sum(T.sum(t, axis=0, keepdims=True)), "local_reduce_reduce", [T3],
           fires=False)
