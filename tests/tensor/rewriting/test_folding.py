"""Tests of symarray.tensor.rewriting.folding: constant folding."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.mode import Mode
from symarray.graph import Apply, Constant, FunctionGraph, Op, clone_replace
from symarray.graph.rewriting import RewriteQuery, rewrite_graph
from symarray.scalar.composite import Composite
from symarray.tensor.alloc import Alloc, BroadcastTo
from symarray.tensor.elemwise import Elemwise
from symarray.tensor.rewriting.folding import FOLD_SIZE_LIMIT

FAST_RUN = Mode(linker="py", optimizer="fast_run")
NO_REWRITES = Mode(linker="py", optimizer=None)
DTYPES = ["float32", "float64", "int32", "int64"]


def _ops(f):
    return [type(n.op).__name__ for n in f.maker.fgraph.toposort()]


def _scalar_ops(f):
    """Names of the ops the graph computes, the steps of fused programs included."""
    names = []
    for node in f.maker.fgraph.apply_nodes:
        program = getattr(node.op, "scalar_op", None)
        if isinstance(program, Composite):
            names.extend(str(step.op) for step in program.steps)
        else:
            names.append(str(node.op))
    return names


def _compare(inputs, outputs, values):
    """Rewritten and unrewritten functions agree exactly (dtype included)."""
    got = sa.function(inputs, outputs, mode=FAST_RUN)(*values)
    want = sa.function(inputs, outputs, mode=NO_REWRITES)(*values)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("dtype", DTYPES)
def test_constant_subexpression_folds(dtype):
    x = T.vector("x", dtype=dtype)
    c = T.constant(np.arange(1, 4).astype(dtype))
    out = x + (c * 2 + T.maximum(c, 2))
    f = sa.function([x], out, mode=FAST_RUN)
    nodes = f.maker.fgraph.toposort()
    assert len(nodes) == 1 and str(nodes[0].op) == "add"
    folded = nodes[0].inputs[1]
    assert isinstance(folded, Constant) and folded.dtype == dtype
    np.testing.assert_array_equal(folded.data, np.arange(1, 4) * 2 + [2, 2, 3])
    # mul, maximum, add and the (merged) DimShuffle that broadcasts the 2
    assert f.maker.fgraph.rewrite_stats.applied("local_constant_folding") == 4
    _compare([x], [out], [np.arange(3).astype(dtype)])


def test_an_output_that_folds_becomes_a_constant():
    c = T.constant(np.array([0.0, 1.0]))
    f = sa.function([], T.exp(c), mode=FAST_RUN)
    assert not f.maker.fgraph.apply_nodes
    assert isinstance(f.maker.fgraph.outputs[0], Constant)
    first = f()
    np.testing.assert_allclose(first, np.exp([0.0, 1.0]))
    first[0] = 42.0  # the caller's copy: the next call is unaffected
    np.testing.assert_allclose(f(), np.exp([0.0, 1.0]))


def test_a_deep_constant_chain_folds_in_one_phase():
    c = T.constant(np.array([0.1, 0.2]))
    y = c
    for _ in range(50):
        y = T.sin(y)
    x = T.dvector("x")
    f = sa.function([x], x * y, mode=FAST_RUN)
    assert _ops(f) == ["Elemwise"]
    assert f.maker.fgraph.rewrite_stats.applied("local_constant_folding") == 50
    _compare([x], [x * y], [np.ones(2)])


def test_folded_constant_may_be_more_specific_than_the_output():
    v = T.dvector("v")
    loose = T.exp(v)  # output type (?,)
    x = T.dvector("x")
    [out] = clone_replace([loose * x], {v: T.constant(np.arange(3.0))})
    exp_node = out.owner.inputs[0].owner
    assert exp_node.outputs[0].type.shape == (None,)
    fg = FunctionGraph([x], [out])
    rewrite_graph(fg, RewriteQuery(include=("fast_run",)))
    folded = fg.outputs[0].owner.inputs[0]
    assert isinstance(folded, Constant) and folded.type.shape == (3,)


def test_big_allocs_are_not_folded_nor_computed(monkeypatch):
    def refuse(*args):
        raise AssertionError("folding must not compute a big alloc")

    monkeypatch.setattr(Alloc, "perform", refuse)
    monkeypatch.setattr(BroadcastTo, "perform", refuse)
    big = T.alloc(0.0, 10_000, 10_000)
    wide = T.broadcast_to(T.constant(1.0), (1000, 1000))
    # local_sum_alloc would remove the sums (below); without it folding alone
    # sees the big nodes
    f = sa.function([], [big.sum(), wide.sum()],
                    mode=FAST_RUN.excluding("local_sum_alloc"))
    assert sorted(_ops(f)) == ["Alloc", "BroadcastTo", "Sum", "Sum"]
    # with it, sum(alloc(v, n, m)) is v * n * m: constants, nothing computed
    f = sa.function([], [big.sum(), wide.sum()], mode=FAST_RUN)
    assert f.maker.fgraph.rewrite_stats.applied("local_sum_alloc") == 2
    assert _ops(f) == []
    assert [float(v) for v in f()] == [0.0, 1e6]


def test_small_allocs_fold():
    out = T.alloc(1.0, 3, 3) + 1
    f = sa.function([], out, mode=FAST_RUN)
    assert not f.maker.fgraph.apply_nodes
    np.testing.assert_array_equal(f(), np.full((3, 3), 2.0))


def test_size_limit_follows_the_inputs():
    col = T.constant(np.ones((1000, 1)))
    row = T.constant(np.ones((1, 1000)))
    outer = col + row  # 10**6 elements from 2000: left to run time
    big = T.constant(np.ones(FOLD_SIZE_LIMIT * 2))
    same_size = big * 2  # as big as its input: folded
    f = sa.function([], [outer.sum(), same_size], mode=FAST_RUN)
    # sum(col + row) stays a run-time computation (fused into one
    # ReduceElemwise node when the C kernels are built)
    assert _ops(f) in (["Elemwise", "Sum"], ["ReduceElemwise"])
    assert isinstance(f.maker.fgraph.outputs[1], Constant)


class _Boom(Op):
    """A toy op whose perform always fails."""

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        raise ValueError("boom at run time")


class _NoFold(_Boom):
    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0].copy()

    def do_constant_folding(self, fgraph, node):
        return False


class _WrongDtype(_NoFold):
    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0].astype("float32")

    def do_constant_folding(self, fgraph, node):
        return True


class _Nullary(Op):
    def make_node(self):
        return Apply(self, [], [T.dvector()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.ones(2)


def test_ops_that_say_no_or_fail_are_left_alone():
    c = T.constant(np.ones(2))
    outs = [_NoFold()(c), _WrongDtype()(c), _Nullary()(), T.empty((2, 3))]
    f = sa.function([], outs, mode=FAST_RUN)
    assert sorted(_ops(f)) == ["AllocEmpty", "_NoFold", "_Nullary", "_WrongDtype"]
    g = sa.function([], _Boom()(c) * 2, mode=FAST_RUN)
    assert _ops(g) == ["_Boom", "Elemwise"]
    with pytest.raises(ValueError, match="boom at run time"):
        g()


def test_folding_is_silent_about_numpy_warnings():
    c = T.constant(np.array([0.0, -1.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = sa.function([], T.log(c), mode=FAST_RUN)
    assert not f.maker.fgraph.apply_nodes
    with np.errstate(all="ignore"):
        want = np.log([0.0, -1.0])
    np.testing.assert_array_equal(f(), want)


def test_shared_variables_are_not_folded():
    s = sa.shared(np.arange(3.0), name="s")
    f = sa.function([], s * 2, mode=FAST_RUN)
    assert _ops(f) == ["Elemwise"]
    s.set_value(np.ones(3))
    np.testing.assert_array_equal(f(), [2.0, 2.0, 2.0])


def test_views_of_constants_are_copied_and_multi_output_ops_fold():
    data = np.arange(6.0)
    c = T.constant(data)
    a, b = T.split(c, [2, 4], 2)
    f = sa.function([], [a, b, c.reshape((2, 3)).T], mode=FAST_RUN)
    assert not f.maker.fgraph.apply_nodes
    outs = f.maker.fgraph.outputs
    assert all(isinstance(o, Constant) for o in outs)
    for o in outs:
        assert not np.shares_memory(o.data, data)
    got = f()
    np.testing.assert_array_equal(got[0], [0.0, 1.0])
    np.testing.assert_array_equal(got[2], data.reshape(2, 3).T)


def test_inplace_nodes_are_not_folded():
    from symarray.scalar.table import SCALAR_OPS

    exp_inplace = Elemwise(SCALAR_OPS["exp"], {0: 0})
    data = np.zeros(2)
    c = T.constant(data)
    fg = FunctionGraph([], [exp_inplace(c)])
    rewrite_graph(fg, RewriteQuery(include=("fast_run",)))
    assert [n.op for n in fg.apply_nodes] == [exp_inplace]
    np.testing.assert_array_equal(data, [0.0, 0.0])


@pytest.mark.parametrize("mode, folds", [
    (Mode(linker="py", optimizer="fast_compile"), True),
    (Mode(linker="py", optimizer="canonicalize"), True),
    (Mode(linker="py", optimizer="merge"), False),
    (Mode(linker="py", optimizer="fast_run").excluding("constant_folding"), False),
    (Mode(linker="py", optimizer="fast_run").excluding("local_constant_folding"),
     False),
])
def test_which_modes_fold(mode, folds):
    x = T.dvector("x")
    out = x + T.exp(T.constant(np.ones(2)))
    f = sa.function([x], out, mode=mode)
    # FAST_RUN fuses x + exp(c) into one node: look inside fused programs
    assert sorted(_scalar_ops(f)) == (["add"] if folds else ["add", "exp"])
    np.testing.assert_allclose(f(np.zeros(2)), np.exp(np.ones(2)))
