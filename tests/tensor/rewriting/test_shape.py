"""Tests of symarray.tensor.rewriting.shape: the ShapeFeature and shape rewrites."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.mode import Mode
from symarray.graph import Apply, Constant, FunctionGraph, Op
from symarray.tensor.rewriting.shape import (
    ShapeFeature,
    get_shape_feature,
    same_value,
)
from symarray.tensor.shape_ops import Shape, Shape_i, SpecifyShape

FAST_RUN = Mode(linker="py", optimizer="fast_run")
NO_REWRITES = Mode(linker="py", optimizer=None)


def _ops(f):
    return [type(n.op).__name__ for n in f.maker.fgraph.toposort()]


def _scalar_ops(f):
    return {str(n.op) for n in f.maker.fgraph.apply_nodes}


def _same_results(inputs, outputs, values):
    got = sa.function(inputs, outputs, mode=FAST_RUN)(*values)
    want = sa.function(inputs, outputs, mode=NO_REWRITES)(*values)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


# -- the rewrites -----------------------------------------------------------------


def test_shape_of_a_product_does_not_compute_it():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    out = (T.exp(x) @ y).shape
    f = sa.function([x, y], out, mode=FAST_RUN)
    assert f.maker.fgraph.rewrite_stats.applied("local_shape_to_entries") == 1
    ops = _scalar_ops(f)
    assert not {"exp", "Dot"} & {o.split("{")[0] for o in ops}
    assert sorted(_ops(f)) == ["MakeVector", "Shape_i", "Shape_i"]
    np.testing.assert_array_equal(f(np.ones((2, 3)), np.ones((3, 4))), [2, 4])
    _same_results([x, y], [out], [np.ones((2, 3)), np.ones((3, 5))])


@pytest.mark.parametrize("index", [0, 1, -1, -2])
def test_shape_index_of_a_computed_variable(index):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    out = (T.exp(x) + T.sin(y)).shape[index]
    f = sa.function([x, y], out, mode=FAST_RUN)
    assert not {"exp", "sin"} & _scalar_ops(f)
    values = [np.ones((2, 3)), np.ones((1, 3))]
    assert int(f(*values)) == (2, 3)[index]
    _same_results([x, y], [out], values)


def test_shape_i_of_a_computed_variable():
    x = T.dvector("x")
    out = Shape_i(0)(T.tanh(x) * 2)
    f = sa.function([x], out, mode=FAST_RUN)
    assert f.maker.fgraph.rewrite_stats.applied("local_shape_i") == 1
    assert _ops(f) == ["Shape_i"] and f.maker.fgraph.toposort()[0].inputs[0].name == "x"
    assert int(f(np.ones(5))) == 5


def test_static_lengths_become_constants():
    x = T.matrix("x", dtype="float64", shape=(None, 3))
    f = sa.function([x], [x.shape[1], Shape_i(1)(T.exp(x)), T.exp(x).shape * 1],
                    mode=FAST_RUN)
    assert int(f(np.ones((2, 3)))[0]) == 3
    outs = f.maker.fgraph.outputs
    assert isinstance(outs[0], Constant) and isinstance(outs[1], Constant)
    assert "exp" not in _scalar_ops(f)
    np.testing.assert_array_equal(f(np.ones((4, 3)))[2], [4, 3])


def test_shape_of_an_input_stays_one_node():
    x = T.dmatrix("x")
    f = sa.function([x], x.shape, mode=FAST_RUN)
    assert _ops(f) == ["Shape"]
    assert f.maker.fgraph.rewrite_stats.applied("local_shape_to_entries") == 0
    g = sa.function([x], x.shape[1], mode=FAST_RUN)
    assert _ops(g) == ["Shape_i"]  # x.shape[1]: one lookup, no vector


def test_shape_rewrites_are_fast_run_only():
    x = T.dvector("x")
    out = T.exp(x).shape
    f = sa.function([x], out, mode=Mode(linker="py", optimizer="fast_compile"))
    assert "exp" in _scalar_ops(f)
    g = sa.function([x], out, mode=FAST_RUN.excluding("shape"))
    assert "exp" in _scalar_ops(g)


def test_broadcast_lengths_of_elemwise():
    x, y = T.dvector("x"), T.dvector("y")
    out = (T.exp(x) * y).shape[0]
    f = sa.function([x, y], out, mode=FAST_RUN)
    assert "exp" not in _scalar_ops(f)
    for a, b in [(3, 3), (1, 4), (4, 1)]:
        assert int(f(np.ones(a), np.ones(b))) == max(a, b)
    # x - x: one length, no switch between equal lengths
    g = sa.function([x], (T.exp(x) - T.exp(x)).shape[0], mode=FAST_RUN)
    assert _ops(g) == ["Shape_i"]


def test_shapes_through_reshape_and_reductions():
    x = T.dmatrix("x")
    out = [T.exp(x).reshape((-1,)).shape[0], T.sum(T.exp(x), axis=1).shape[0],
           T.exp(x).T.shape]
    f = sa.function([x], out, mode=FAST_RUN)
    assert "exp" not in _scalar_ops(f)
    a, b, c = f(np.ones((2, 3)))
    assert int(a) == 6 and int(b) == 2 and c.tolist() == [3, 2]


class _NoInferShape(Op):
    """An op without infer_shape: its shape can only be read off its output."""

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] * 2


def test_ops_without_infer_shape_fall_back_to_their_output():
    x = T.dvector("x")
    out = T.exp(_NoInferShape()(x)).shape[0]
    f = sa.function([x], out, mode=FAST_RUN)
    assert "_NoInferShape" in _ops(f) and "exp" not in _scalar_ops(f)
    assert int(f(np.ones(4))) == 4


def test_useless_specify_shape_is_removed():
    x3 = T.dvector("x3", shape=(3,))
    checked = SpecifyShape((True,))(x3, 3)  # already static
    x = T.dvector("x")
    same = T.specify_shape(x, x.shape[0])  # says what x.shape says
    f = sa.function([x3, x], [checked * 2, same * 2], mode=FAST_RUN)
    assert f.maker.fgraph.rewrite_stats.applied("local_useless_specify_shape") == 2
    assert "SpecifyShape" not in _ops(f)
    _same_results([x3, x], [checked * 2, same * 2], [np.ones(3), np.ones(2)])


def test_specify_shape_keeps_the_lengths_it_checks():
    m = T.matrix("m", dtype="float64", shape=(3, None))
    n = T.lscalar("n")
    out = SpecifyShape((True, True))(m, 3, n)
    f = sa.function([m, n], out * 2, mode=FAST_RUN)
    [node] = [nd for nd in f.maker.fgraph.toposort() if isinstance(nd.op, SpecifyShape)]
    assert node.op.given == (False, True)
    with pytest.raises(sa.errors.ShapeMismatchError):
        f(np.ones((3, 2)), 4)
    # a length that is not known to match is not removed
    x = T.dvector("x")
    h = sa.function([x, n], T.specify_shape(x, n) * 2, mode=FAST_RUN)
    assert "SpecifyShape" in _ops(h)


# -- the feature ----------------------------------------------------------------------


def _chain_graph(depth):
    x = T.dvector("x")
    out = x
    for _ in range(depth):
        out = T.exp(out)
    return FunctionGraph([x], [out], clone=False), x


def test_feature_is_lazy_and_caches():
    fg, x = _chain_graph(10)
    sf = ShapeFeature()
    fg.attach_feature(sf)
    assert sf.inferred == 0  # attaching computes nothing
    (length,) = sf.shape_of(fg.outputs[0])
    assert sf.inferred == 10
    assert length.owner.op == Shape_i(0) and length.owner.inputs[0] is x
    sf.shape_of(fg.outputs[0])
    middle = fg.outputs[0].owner.inputs[0].owner.inputs[0]
    assert sf.shape_of(middle)[0] is length  # ancestors were cached too
    assert sf.inferred == 10


def test_feature_forgets_only_what_changed():
    fg, x = _chain_graph(6)
    sf = get_shape_feature(fg)
    assert get_shape_feature(fg) is sf
    out = fg.outputs[0]
    sf.shape_of(out)
    before = sf.inferred
    node = out.owner.inputs[0].owner  # replace the 5th exp's input by x
    fg.replace(node.inputs[0], x)
    sf.shape_of(out)
    assert sf.inferred - before <= 2  # that node, and nothing above it
    fg.remove_feature(sf)
    assert not hasattr(fg, "shape_feature") and sf.fgraph is None


def test_feature_forgets_shapes_that_mention_pruned_variables():
    x = T.dvector("x")
    n = T.exp(x).shape[0] + 1
    out = T.alloc(1.0, n)
    fg = FunctionGraph([x], [out * 2], clone=False)
    sf = get_shape_feature(fg)
    (length,) = sf.shape_of(fg.outputs[0])
    assert length is n  # the alloc's length input, a graph variable
    fg.replace(n, Shape_i(0)(x) + 1)
    (again,) = sf.shape_of(fg.outputs[0])
    assert again is not n and again in fg.variables


def test_feature_handles_deep_graphs_without_recursion():
    depth = sys.getrecursionlimit() * 2
    fg, x = _chain_graph(depth)
    sf = get_shape_feature(fg)
    (length,) = sf.shape_of(fg.outputs[0])
    assert length.owner.inputs[0] is x and sf.inferred == depth


def test_constants_and_static_lengths():
    c = T.constant(np.zeros((2, 5)))
    x = T.matrix("x", dtype="float64", shape=(None, 5))
    fg = FunctionGraph([x], [c + x], clone=False)
    sf = get_shape_feature(fg)
    assert sf.shape_of(c) == (2, 5)
    assert sf.shape_of(fg.outputs[0]) == (2, 5)
    assert sf.shape_of(x)[1] == 5


def test_feature_refuses_non_tensors_and_double_attach():
    fg, _ = _chain_graph(1)
    sf = get_shape_feature(fg)
    with pytest.raises(ValueError, match="already has one"):
        fg.attach_feature(ShapeFeature())
    other, _ = _chain_graph(1)
    with pytest.raises(ValueError, match="another graph"):
        other.attach_feature(sf)


def test_shape_feature_is_detached_after_compiling():
    x = T.dmatrix("x")
    f = sa.function([x], T.exp(x).shape, mode=FAST_RUN)
    assert not hasattr(f.maker.fgraph, "shape_feature")
    assert not any(isinstance(ft, ShapeFeature) for ft in f.maker.fgraph.features)


def test_same_value():
    x = T.dvector("x")
    assert same_value(Shape_i(0)(x), Shape_i(0)(x))
    assert not same_value(Shape_i(0)(x), Shape_i(0)(T.dvector("y")))
    assert same_value(3, T.constant(np.int64(3)))
    assert not same_value(3, Shape_i(0)(x))
    assert same_value(Shape()(x), Shape()(x))
