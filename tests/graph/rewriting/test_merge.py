"""Tests of symarray.graph.rewriting.merge: merging equal nodes and constants."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.mode import Mode
from symarray.graph import Constant, FunctionGraph
from symarray.graph.fg import Feature, InconsistencyError
from symarray.graph.rewriting import (
    MergeFeature,
    node_rewriter,
    rewrite_to_fixed_point,
)
from symarray.graph.rewriting.merge import merge_graph
from symarray.tensor.elemwise import Elemwise
from symarray.tensor.reduction import Sum


def _ops(fg):
    return [type(n.op).__name__ if not isinstance(n.op, Elemwise) else str(n.op)
            for n in fg.toposort()]


def _constants(fg):
    return {v for n in fg.apply_nodes for v in n.inputs if isinstance(v, Constant)}


def test_equal_subexpressions_merge():
    x = T.dvector("x")
    fg = FunctionGraph([x], [T.exp(x) + T.exp(x)])
    assert merge_graph(fg) == 1
    assert _ops(fg) == ["exp", "add"]
    add = fg.outputs[0].owner
    assert add.inputs[0] is add.inputs[1]
    fg.check_integrity()


def test_merges_cascade_down_the_graph():
    x, y = T.dvectors("x", "y")
    a = T.tanh(T.exp(x) * y) + 1
    b = T.tanh(T.exp(x) * y) + 1
    fg = FunctionGraph([x, y], [a * b])
    merge_graph(fg)
    assert _ops(fg).count("exp") == 1 and _ops(fg).count("tanh") == 1
    assert _ops(fg).count("add") == 1 and len(fg.apply_nodes) == 6  # + DimShuffle
    mul = fg.outputs[0].owner
    assert mul.inputs[0] is mul.inputs[1]
    fg.check_integrity()


def test_equal_constants_merge_and_different_ones_do_not():
    x = T.dvector("x")
    c1, c2 = T.constant(np.array([1.0, 2.0])), T.constant(np.array([1.0, 2.0]))
    other = T.constant(np.array([1.0, 3.0]))
    other_dtype = T.constant(np.array([1.0, 2.0], dtype="float32"))
    fg = FunctionGraph([x], [x * c1, x + c2, x - other, x / other_dtype])
    assert len(_constants(fg)) == 4
    merge_graph(fg)
    consts = _constants(fg)
    assert len(consts) == 3
    data = sorted((str(c.data.dtype), tuple(c.data)) for c in consts)
    assert data == [("float32", (1.0, 2.0)), ("float64", (1.0, 2.0)),
                    ("float64", (1.0, 3.0))]


def test_weak_and_strong_constants_stay_apart():
    c_weak = T.constant(2.0)
    c_strong = T.constant(2.0, dtype=c_weak.dtype)
    x = T.dscalar("x")
    fg = FunctionGraph([x], [x * c_weak, x * c_strong])
    merge_graph(fg)
    assert len(_constants(fg)) == 2


def test_different_nodes_are_not_merged():
    x, y = T.dmatrices("x", "y")
    outs = [T.exp(x), T.exp(y), T.log(x), x.sum(axis=0), x.sum(axis=1), x + y, y + x]
    fg = FunctionGraph([x, y], outs)
    n = len(fg.apply_nodes)
    assert merge_graph(fg) == 0 and len(fg.apply_nodes) == n


def test_props_decide_equality():
    x = T.dmatrix("x")
    fg = FunctionGraph([x], [x.sum(axis=0), x.sum(axis=0), x.sum(axis=1)])
    merge_graph(fg)
    sums = [n for n in fg.apply_nodes if isinstance(n.op, Sum)]
    assert len(sums) == 2
    assert fg.outputs[0] is fg.outputs[1] and fg.outputs[2] is not fg.outputs[0]


def test_nodes_that_destroy_an_input_are_not_merged():
    from symarray.scalar.table import SCALAR_OPS

    exp_inplace = Elemwise(SCALAR_OPS["exp"], {0: 0})
    x = T.dvector("x")
    y = x * 2
    fg = FunctionGraph([x], [exp_inplace(y), exp_inplace(y)])
    merge_graph(fg)
    assert sum(1 for n in fg.apply_nodes if n.op == exp_inplace) == 2


def test_merge_respects_a_veto():
    class NoMerge(Feature):
        def validate(self, fgraph):
            if len({id(o) for o in fgraph.outputs}) < len(fgraph.outputs):
                raise InconsistencyError("outputs must stay distinct")

    x = T.dvector("x")
    fg = FunctionGraph([x], [T.exp(x), T.exp(x)], features=[NoMerge()])
    assert merge_graph(fg) == 0
    assert len(fg.apply_nodes) == 2
    fg.check_integrity()


def test_more_specific_node_is_kept():
    # two equal nodes whose output types differ: the less specific one goes
    x = T.dvector("x")
    c = T.constant(np.arange(3.0))
    loose = T.exp(x)
    fg = FunctionGraph([x], [loose, T.exp(c)], clone=False)
    fg.replace(x, x)  # no-op; now make the first node read c without retyping
    fg.change_node_input(loose.owner, 0, c, check=False)
    assert loose.type.shape == (None,) and fg.outputs[1].type.shape == (3,)
    assert merge_graph(fg) == 1
    assert fg.outputs[0] is fg.outputs[1] and fg.outputs[0].type.shape == (3,)


def test_feature_merges_nodes_rewrites_create():
    x = T.dvector("x")

    @node_rewriter([T.log])
    def local_log_to_exp(fgraph, node):  # log(x) -> exp(x), a toy that duplicates
        return [T.exp(node.inputs[0])]

    fg = FunctionGraph([x], [T.exp(x) * T.log(x)])
    feature = MergeFeature()
    fg.attach_feature(feature)
    applied, merged = rewrite_to_fixed_point(fg, [local_log_to_exp])
    assert (applied, merged) == (1, 1)
    assert _ops(fg) == ["exp", "mul"] and feature.merged == 1
    fg.remove_feature(feature)
    fg.check_integrity()


def test_process_needs_attachment():
    with pytest.raises(ValueError, match="not attached"):
        MergeFeature().process()


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_merged_function_gives_the_same_results(dtype):
    x, y = T.vector("x", dtype=dtype), T.vector("y", dtype=dtype)
    outs = [(x * y + 3) * (x * y + 3), x * y + 3, T.maximum(x, y) - T.maximum(x, y)]
    xv = np.arange(4).astype(dtype)
    yv = (np.arange(4) - 2).astype(dtype)
    merged = sa.function([x, y], outs, mode=Mode(linker="py", optimizer="merge"))
    plain = sa.function([x, y], outs, mode=Mode(linker="py", optimizer=None))
    assert len(merged.maker.fgraph.apply_nodes) < len(plain.maker.fgraph.apply_nodes)
    for got, want in zip(merged(xv, yv), plain(xv, yv), strict=True):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype


def test_merged_outputs_are_distinct_arrays():
    x = T.dvector("x")
    f = sa.function([x], [T.exp(x), T.exp(x)], mode=Mode(linker="py",
                                                           optimizer="merge"))
    a, b = f(np.zeros(2))
    np.testing.assert_array_equal(a, [1.0, 1.0])
    a[0] = 5.0
    assert b[0] == 1.0
