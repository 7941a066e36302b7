"""Tests of symarray.tensor.rewriting.fusion: values read outside a group
become extra outputs of the fused node (multi-output fusion)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.mode import Mode
from symarray.graph import FunctionGraph
from symarray.scalar.composite import Composite
from symarray.tensor.elemwise import Elemwise
from symarray.tensor.reduction_fused import ReduceElemwise
from symarray.tensor.rewriting.fusion import (
    MAX_FUSION_INPUTS,
    MAX_FUSION_OUTPUTS,
    ElemwiseFusion,
)

LINKERS = ["py", "cvm"]
NO_REWRITES = Mode(linker="py", optimizer=None)


def _mode(linker="py"):
    return Mode(linker=linker, optimizer="fast_run")


def _fused(fgraph):
    return [n for n in fgraph.apply_nodes
            if isinstance(n.op, Elemwise) and isinstance(n.op.scalar_op, Composite)]


def _elemwise(fgraph):
    return [n for n in fgraph.apply_nodes if isinstance(n.op, Elemwise)]


def _same_results(inputs, outputs, values, linker="py"):
    f = sa.function(inputs, outputs, mode=_mode(linker))
    want = sa.function(inputs, outputs, mode=NO_REWRITES)(*values)
    got = f(*values)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-6 if g.dtype == "float32" else 1e-12)
    return f


def _steps(node, name):
    return sum(1 for s in node.op.scalar_op.steps if s.op.name == name)


@pytest.mark.parametrize("linker", LINKERS)
def test_a_value_read_by_several_groups_is_computed_with_them(linker):
    # logistic regression's z: read by two softplus terms and the gradient
    X, w = T.dmatrix("X"), T.dvector("w")
    b = T.dscalar("b")
    z = T.dot(X, w) + b
    outs = [T.softplus(z), T.softplus(-z) * 2, T.sigmoid(z) - 1]
    rng = np.random.default_rng(0)
    values = [rng.normal(size=(5, 3)), rng.normal(size=3), np.float64(0.5)]
    f = _same_results([X, w, b], outs, values, linker)
    (node,) = _elemwise(f.maker.fgraph)
    assert node.nout == 3 and _steps(node, "add") == 1


def test_an_intermediate_read_by_an_other_op_is_an_extra_output():
    x = T.dvector("x")
    t = T.exp(T.sin(x))
    y = T.sort(t)  # not elementwise
    f = _same_results([x], [t * 2 + 1, y], [np.array([0.5, -1.0, 2.0])])
    (node,) = _fused(f.maker.fgraph)
    assert node.nout == 2 and _steps(node, "exp") == 1


@pytest.mark.parametrize("linker", LINKERS)
def test_siblings_reading_one_input_merge(linker):
    x = T.dvector("x")
    outs = [T.exp(x) + 1, T.sin(x) * 3, T.cast(x > 0, "int8")]
    f = _same_results([x], outs, [np.array([0.5, -1.0, 2.0])], linker)
    (node,) = _elemwise(f.maker.fgraph)
    assert sorted(o.dtype for o in node.outputs) == ["float64", "float64", "int8"]


def test_lengths_that_may_differ_at_run_time_stay_apart():
    # exp(x) has x's length; exp(x) + y may have y's (x of length 1 broadcasts)
    x, y = T.dvectors("x", "y")
    t = T.exp(x)
    outs = [t + y, t]
    for xs, ys in [(np.array([0.5]), np.arange(3.0)), (np.arange(3.0), np.arange(3.0))]:
        f = _same_results([x, y], outs, [xs, ys])
    assert len(_elemwise(f.maker.fgraph)) == 2
    # siblings over different inputs: one node would broadcast x against y
    f = _same_results([x, y], [T.exp(x), T.sin(y)], [np.array([0.5]), np.arange(3.0)])
    assert len(_elemwise(f.maker.fgraph)) == 2


def test_equal_static_lengths_merge():
    x, y = (T.TensorType("float64", shape=(3,))(n) for n in "xy")
    t = T.exp(x)
    f = _same_results([x, y], [t + y, t], [np.arange(3.0), np.ones(3)])
    (node,) = _fused(f.maker.fgraph)
    assert node.nout == 2


def test_lengths_of_the_same_inputs_are_equal():
    # exp(p) - q and tanh(exp(p) - q) * 2 are computed from p and q alone
    A = T.dmatrix("A")
    v, w = T.dvectors("v", "w")
    p, q = T.dot(A, v), T.max(A * w, axis=1)
    d = T.exp(p) - q
    outs = [T.tanh(d) * 2, T.sort(d)]
    rng = np.random.default_rng(1)
    f = _same_results([A, v, w], outs, [rng.normal(size=(4, 2)), rng.normal(size=2),
                                        rng.normal(size=2)])
    (node,) = _elemwise(f.maker.fgraph)
    assert node.nout == 2


def test_lengths_the_shape_feature_proves_equal_merge():
    # sort(x) has x's length: sin(sort(x)) and sin(sort(x)) * x have one shape
    x = T.dvector("x")
    s = T.sin(T.sort(x))
    f = _same_results([x], [s * x, s], [np.array([0.3, -0.2, 0.1])])
    (node,) = _elemwise(f.maker.fgraph)
    assert node.nout == 2
    # without the proof (y's length is its own) they stay apart
    y = T.dvector("y")
    f = _same_results([x, y], [s * y, s], [np.array([0.3, -0.2, 0.1]), np.ones(3)])
    assert len(_elemwise(f.maker.fgraph)) == 2


def test_an_output_never_waits_for_a_value_it_does_not_need():
    # 1 / n and total / n share n; fused, 1 / n would wait for the sum
    x = T.dvector("x")
    n = T.cast(x.shape[0], "float64")
    total = T.sum(T.exp(x))
    outs = [total / n, T.alloc(1.0 / n, x.shape[0]) * x]
    f = _same_results([x], outs, [np.arange(3.0)])
    for node in _fused(f.maker.fgraph):
        assert not (any(i.owner is not None and "Sum" in str(i.owner.op)
                        for i in node.inputs) and node.nout > 1)


def test_a_broadcast_row_is_not_an_output_of_the_full_node():
    # exp(r) is (1, n); exp(r) * m is (k, n): the row stays a node of its own
    r, m = T.dmatrix("r"), T.dmatrix("m")
    row = T.specify_shape(r, (1, None))
    e = T.exp(row)
    f = _same_results([r, m], [e * m, e], [np.ones((1, 3)), np.ones((2, 3))])
    assert len(_elemwise(f.maker.fgraph)) == 2


@pytest.mark.parametrize("linker", LINKERS)
def test_no_cycle_through_an_outside_node(linker):
    # a = exp(x) feeds sum(a), which feeds the sin group: a cannot be one of
    # that group's outputs (the fused node would read its own output)
    x = T.dvector("x")
    a = T.exp(x)
    s = T.sum(a)
    out = T.sin(a) + s
    f = _same_results([x], [out], [np.array([0.1, 0.2, 0.3])], linker)
    fg = f.maker.fgraph
    fg.check_integrity()
    assert len(fg.toposort()) == len(fg.apply_nodes)
    exp_node = next(n for n in fg.apply_nodes if str(n.op) == "exp")
    assert exp_node.outputs[0] in fg.variables  # computed on its own


def test_no_cycle_through_a_value_of_the_same_shape():
    # sort(a) has a's shape, so only the cycle keeps a out of the group
    x = T.dvector("x")
    a = T.exp(x)
    out = T.sin(a) * T.sort(a) + a
    fg = FunctionGraph([x], [out])
    assert ElemwiseFusion().apply(fg) >= 1
    fg.check_integrity()
    order = fg.toposort()
    assert set(order) == fg.apply_nodes
    seen: set = set()
    for node in order:  # every input is computed before it is read
        assert all(v.owner is None or v.owner in seen for v in node.inputs)
        seen.add(node)
    _same_results([x], [out], [np.array([0.1, -0.2, 0.3])])


@pytest.mark.parametrize("linker", LINKERS)
def test_lazy_branches_stay_lazy(linker):
    from symarray.control.ifelse import IfElse
    from symarray.ifelse import ifelse

    c = T.bscalar("c")
    x, y = T.dvectors("x", "y")
    e = T.exp(x)  # read by a branch and outside
    out = ifelse(c, T.tanh(e * 2.0 + y), T.cosh(x - y))
    f = sa.function([c, x, y], [out, e + 1, T.sin(x) * y],
                    mode=Mode(linker=linker, optimizer="fast_run"))
    fg = f.maker.fgraph
    node = next(n for n in fg.apply_nodes if isinstance(n.op, IfElse))
    then_node, else_node = node.inputs[1].owner, node.inputs[2].owner
    assert fg.branch_of(then_node) == (node, "then")
    assert fg.branch_of(else_node) == (node, "else")
    xv, yv = np.array([0.1, 0.2]), np.array([0.3, 0.4])
    for cv in (0, 1):
        want = np.tanh(np.exp(xv) * 2 + yv) if cv else np.cosh(xv - yv)
        got = f(cv, xv, yv)
        np.testing.assert_allclose(got[0], want)
        np.testing.assert_allclose(got[1], np.exp(xv) + 1)
        np.testing.assert_allclose(got[2], np.sin(xv) * yv)


def test_multi_output_false_fuses_single_reader_values_only():
    x = T.dvector("x")
    t = T.exp(T.sin(x))
    fg = FunctionGraph([x], [t * 2 + 1, t])
    ElemwiseFusion(multi_output=False).apply(fg)
    assert sorted(n.nout for n in _fused(fg)) == [1, 1]
    fg = FunctionGraph([x], [t * 2 + 1, t])
    ElemwiseFusion().apply(fg)
    assert [n.nout for n in _fused(fg)] == [2]


def test_the_output_and_input_limits_are_respected():
    x = T.dvector("x")
    t = T.exp(x)
    outs = [t * float(k) for k in range(MAX_FUSION_OUTPUTS + 6)]
    f = _same_results([x], outs, [np.arange(3.0)])
    fused = _fused(f.maker.fgraph)
    assert len(fused) >= 2
    assert all(n.nout <= MAX_FUSION_OUTPUTS for n in fused)
    xs = [T.dvector(f"x{k}") for k in range(MAX_FUSION_INPUTS + 4)]
    outs = [T.exp(v) + xs[0] for v in xs[1:]]
    f = _same_results(xs, outs, [np.full(2, k / 10) for k in range(len(xs))])
    assert all(len(n.inputs) <= MAX_FUSION_INPUTS for n in _fused(f.maker.fgraph))


def test_the_reduction_keeps_its_elementwise_prologue():
    # (x - y) is read by sqr (summed) and by exp: sqr stays with the sum
    x, y = T.dvectors("x", "y")
    d = x - y
    outs = [T.sum(d ** 2), T.exp(d), T.sum(T.cos(x) * 2)]
    f = _same_results([x, y], outs, [np.arange(3.0), np.ones(3)])
    reductions = [n for n in f.maker.fgraph.apply_nodes
                  if isinstance(n.op, ReduceElemwise)]
    assert len(reductions) == 2


def test_scan_inner_graphs_fuse_with_extra_outputs():
    x = T.dmatrix("x")
    h0 = T.dvector("h0")

    def step(xt, h):
        a = xt * h + 0.5
        return [T.tanh(a) + T.sigmoid(a), a]

    (hs, As), _ = sa.scan(step, sequences=[x], outputs_info=[h0, None])
    values = [np.linspace(-1, 1, 12).reshape(4, 3), np.array([0.1, 0.2, 0.3])]
    for linker in LINKERS:
        _same_results([x, h0], [hs, As], values, linker)


# -- property test: random elementwise DAGs with shared intermediates --------------

UNARY = ["neg", "exp", "sin", "tanh", "sqr", "sigmoid"]
BINARY = ["add", "sub", "mul", "maximum"]


@st.composite
def dags(draw):
    """(instructions, outputs, x length): intermediates with several readers."""
    instructions = []
    for k in range(draw(st.integers(2, 10))):
        pool = 4 + k  # x, y, dot(A, v), dot(A, w), then the values
        if draw(st.booleans()):
            instructions.append((draw(st.sampled_from(UNARY)),
                                 (draw(st.integers(0, pool - 1)),)))
        else:
            instructions.append((draw(st.sampled_from(BINARY)),
                                 (draw(st.integers(0, pool - 1)),
                                  draw(st.integers(0, pool - 1)))))
    total = 4 + len(instructions)
    outputs = draw(st.lists(st.integers(4, total - 1), min_size=1, max_size=4,
                            unique=True))
    x_len = draw(st.sampled_from([1, 3]))  # 1: broadcast against length 3
    return instructions, outputs, x_len


@settings(max_examples=40, deadline=None)
@given(dags())
def test_random_dags_keep_their_results(case):
    instructions, outputs, x_len = case
    x, y, v, w = T.dvectors("x", "y", "v", "w")
    A = T.dmatrix("A")
    pool = [x, y, T.dot(A, v), T.dot(A, w)]
    for op, args in instructions:
        pool.append(getattr(T, op)(*[pool[a] for a in args]))
    outs = [pool[k] for k in outputs]
    rng = np.random.default_rng(len(instructions))
    values = [rng.uniform(-1, 1, x_len), rng.uniform(-1, 1, 3),
              rng.uniform(-1, 1, 2), rng.uniform(-1, 1, 2), rng.uniform(-1, 1, (3, 2))]
    inputs = [x, y, v, w, A]
    want = sa.function(inputs, outs, mode=NO_REWRITES,
                       on_unused_input="ignore")(*values)
    for linker in LINKERS:
        f = sa.function(inputs, outs, mode=_mode(linker), on_unused_input="ignore")
        for g, e in zip(f(*values), want, strict=True):
            assert g.shape == e.shape and g.dtype == e.dtype
            np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)
        f.maker.fgraph.check_integrity()
    # applying fusion to a fused graph terminates and keeps it valid
    fg = FunctionGraph(inputs, outs)
    ElemwiseFusion().apply(fg)
    ElemwiseFusion().apply(fg)
    fg.check_integrity()
    assert set(fg.toposort()) == fg.apply_nodes
