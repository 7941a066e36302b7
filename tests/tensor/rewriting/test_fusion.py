"""Tests of symarray.tensor.rewriting.fusion: elementwise fusion."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.mode import Mode
from symarray.graph import FunctionGraph
from symarray.scalar import get_scalar_op
from symarray.scalar.composite import Composite, CompositeBuilder
from symarray.tensor.elemwise import Elemwise
from symarray.tensor.rewriting.fusion import MAX_FUSION_INPUTS, ElemwiseFusion

LINKERS = ["py", "cvm"]
FAST_RUN = Mode(linker="py", optimizer="fast_run")
NO_REWRITES = Mode(linker="py", optimizer=None)


def _fused(f):
    return [n for n in f.maker.fgraph.apply_nodes
            if isinstance(n.op, Elemwise) and isinstance(n.op.scalar_op, Composite)]


def _same_results(inputs, outputs, values, mode=FAST_RUN):
    f = sa.function(inputs, outputs, mode=mode)
    want = sa.function(inputs, outputs, mode=NO_REWRITES)(*values)
    for g, w in zip(f(*values), want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-6 if g.dtype == "float32" else 1e-12)
    return f


@pytest.mark.parametrize("linker", LINKERS)
def test_a_100_op_chain_becomes_one_node(linker):
    x = T.dvector("x")
    y = x
    for k in range(25):
        y = T.sin(y) * 1.01 + T.cos(y) - float(k)
    assert len(FunctionGraph([x], [y]).apply_nodes) >= 100
    f = _same_results([x], [y], [np.linspace(-1, 1, 7)],
                      Mode(linker=linker, optimizer="fast_run"))
    assert len(f.maker.fgraph.apply_nodes) == 1
    assert len(_fused(f)) == 1
    assert f.maker.fgraph.rewrite_stats.applied("local_elemwise_fusion") == 1


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_dtypes_and_weak_constants_are_kept(dtype):
    x = T.vector("x", dtype=dtype)
    y = T.vector("y", dtype=dtype)
    outs = [(x + 1) * y - 2, T.maximum(x * 3, y) + x, T.cast(x, "float32") * 0.5 + y]
    values = [np.arange(5).astype(dtype), np.arange(5, 10).astype(dtype)]
    f = _same_results([x, y], outs, values)
    assert len(_fused(f)) == 3


def test_broadcast_inputs_are_boundaries():
    m = T.dmatrix("m")
    b = T.dvector("b")
    out = T.exp(m + b) * 2 - b
    f = _same_results([m, b], [out], [np.ones((2, 3)), np.arange(3.0)])
    (node,) = _fused(f)
    assert sorted(str(i.owner.op) if i.owner else "input" for i in node.inputs) == [
        "DimShuffle{x,0}", "input"]
    assert node.outputs[0].type.shape == (None, None)


def test_broadcast_shapes_of_intermediates():
    # the inner sum is (1, n); the fused node computes at the full shape
    r, c = T.dmatrix("r"), T.dmatrix("c")
    r2 = T.specify_shape(r, (1, None))
    c2 = T.specify_shape(c, (None, 1))
    out = T.exp(r2 + r2) * c2
    _same_results([r, c], [out], [np.ones((1, 4)), np.arange(3.0).reshape(3, 1)])


def test_an_intermediate_read_outside_is_an_extra_output():
    x = T.dvector("x")
    t = T.exp(T.sin(x))
    f = _same_results([x], [t * 2 + 1, t], [np.arange(3.0)])
    ops = sorted(str(n.op) for n in f.maker.fgraph.apply_nodes)
    assert ops == ["Composite{add(mul(exp(sin(i0)), 2.0), 1.0), exp(sin(i0))}"]
    # without extra outputs it stays a node of its own
    fg = FunctionGraph([x], [t * 2 + 1, t])
    ElemwiseFusion(multi_output=False).apply(fg)
    assert sorted(n.nout for n in fg.apply_nodes if isinstance(n.op, Elemwise)) == [
        1, 1]


def test_a_value_with_two_readers_is_computed_once():
    x = T.dvector("x")
    t = T.exp(T.sin(x))
    f = _same_results([x], [t * 2 + 1, t * 3 - 1], [np.arange(3.0)])
    (node,) = _fused(f)
    steps = [s.op.name for s in node.op.scalar_op.steps]
    assert node.nout == 2 and steps.count("exp") == 1 and steps.count("sin") == 1


def test_a_multi_output_composite_is_inlined():
    b = CompositeBuilder(["float64"])
    e = b.apply(get_scalar_op("exp"), [b.inputs[0]])
    two = b.build([e, b.apply(get_scalar_op("neg"), [e])])
    x = T.dvector("x")
    o1, o2 = Elemwise(two)(x)
    f = _same_results([x], [o1 * o2 + 1], [np.arange(3.0)])
    (node,) = _fused(f)
    assert node.op.scalar_op.nout == 1
    assert len(f.maker.fgraph.apply_nodes) == 1
    # one output read outside: it is an output of the fused node
    g = _same_results([x], [o1 * 2, o2], [np.arange(3.0)])
    (node,) = _fused(g)
    steps = [s.op.name for s in node.op.scalar_op.steps]
    assert node.nout == 2 and steps.count("exp") == 1


def test_the_input_limit_is_respected():
    xs = [T.dvector(f"x{k}") for k in range(MAX_FUSION_INPUTS + 8)]
    out = xs[0]
    for x in xs[1:]:
        out = out * 0.5 + T.exp(x)
    values = [np.full(2, k / 10) for k in range(len(xs))]
    f = _same_results(xs, [out], values)
    fused = _fused(f)
    assert len(fused) >= 2
    assert all(len(n.inputs) <= MAX_FUSION_INPUTS for n in fused)
    fg = FunctionGraph(xs, [out])
    ElemwiseFusion(max_inputs=4).apply(fg)
    assert all(len(n.inputs) <= 4 for n in fg.apply_nodes)
    with pytest.raises(ValueError, match="max_inputs"):
        ElemwiseFusion(max_inputs=0)


def test_nodes_of_different_branches_are_not_fused():
    x = T.dvector("x")
    a = T.exp(x)
    b = T.sin(a)
    out = T.cos(b) * 2
    fg = FunctionGraph([x], [out])
    first = {n for n in fg.apply_nodes if str(n.op) in ("exp", "sin")}
    fg.branch_of = lambda node: "then" if node in first else "else"
    assert ElemwiseFusion().apply(fg) == 2
    assert sorted(str(n.op) for n in fg.apply_nodes) == [
        "Composite{mul(cos(i0), i1)}",  # the 2 is a DimShuffle (nothing folded)
        "Composite{sin(exp(i0))}",
        "DimShuffle{x}",
    ]


@pytest.mark.parametrize("tag", ["fusion", "local_elemwise_fusion", "elemwise_fusion"])
def test_excluding_turns_fusion_off(tag):
    x = T.dvector("x")
    f = sa.function([x], T.exp(T.sin(x)) * 2, mode=FAST_RUN.excluding(tag))
    assert _fused(f) == [] and len(f.maker.fgraph.apply_nodes) == 3
    assert f.maker.fgraph.rewrite_stats.applied("local_elemwise_fusion") == 0


def test_fast_compile_does_not_fuse():
    x = T.dvector("x")
    f = sa.function([x], T.exp(T.sin(x)) * 2,
                    mode=Mode(linker="py", optimizer="fast_compile"))
    assert _fused(f) == []


def test_in_place_nodes_are_left_alone():
    x = T.dvector("x")
    exp_inplace = Elemwise(get_scalar_op("exp"), {0: 0})
    out = exp_inplace(T.sin(x)) * 2
    f = sa.function([x], out, mode=FAST_RUN, accept_inplace=True)
    assert any(str(n.op) == "exp_inplace" for n in f.maker.fgraph.apply_nodes)
    np.testing.assert_allclose(f(np.zeros(2)), [2.0, 2.0])


def test_fused_nodes_report_failures_at_the_users_line():
    x, y = T.dvectors("x", "y")
    out = T.exp(x) * y + 1
    f = sa.function([x, y], out, mode=FAST_RUN)
    with pytest.raises(ValueError, match="cannot be broadcast"):
        f(np.ones(2), np.ones(3))
