"""Tests of symarray.graph.traversal: walks, orderings, cloning, replacing."""

from __future__ import annotations

import numpy as np
import pytest

import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.errors import SymarrayError
from symarray.graph.basic import Apply, Op
from symarray.graph.traversal import (
    NotScalarConstantError,
    ancestors,
    applys_between,
    clone,
    clone_get_equiv,
    clone_replace,
    get_scalar_constant_value,
    graph_inputs,
    graph_replace,
    io_toposort,
    vars_between,
)


def diamond():
    x, y = T.dvector("x"), T.dvector("y")
    a = T.exp(x)
    b = a * y
    c = a + b
    return x, y, a, b, c


# -- walks --------------------------------------------------------------------------
def test_ancestors_and_blockers():
    x, y, a, b, c = diamond()
    anc = ancestors([c])
    assert anc[0] is c
    assert set(anc) == {c, a, b, x, y}
    assert len(anc) == 5
    assert set(ancestors([c], blockers=[a])) == {c, a, b, y}


def test_graph_inputs():
    x, y, a, b, c = diamond()
    assert graph_inputs([c]) == [x, y]
    assert set(graph_inputs([c], blockers=[b])) == {x, b}
    k = T.exp(x) * 2.0
    const = k.owner.inputs[1]
    while const.owner is not None:
        const = const.owner.inputs[0]
    assert set(graph_inputs([k])) == {x, const}


def test_applys_and_vars_between():
    x, y, a, b, c = diamond()
    assert set(applys_between([x, y], [c])) == {a.owner, b.owner, c.owner}
    assert set(applys_between([a, y], [c])) == {b.owner, c.owner}
    assert set(vars_between([a], [c])) == {a, b, c, y}


def test_io_toposort_orders_and_detects_cycles():
    x, y, a, b, c = diamond()
    order = io_toposort([x, y], [c, b])
    assert order == [a.owner, b.owner, c.owner]
    assert io_toposort([x, y], [x]) == []
    assert io_toposort([a, y], [c]) == [b.owner, c.owner]
    # extra orderings
    p, q = T.exp(x), T.log(y)
    assert io_toposort([x, y], [p, q], {p.owner: [q.owner]}) == [q.owner, p.owner]
    # a cycle (only a broken graph has one)
    q.owner.inputs[0] = p
    p.owner.inputs[0] = q
    with pytest.raises(SymarrayError, match="cycle"):
        io_toposort([x, y], [p])


# -- cloning ---------------------------------------------------------------------------
def test_clone_get_equiv_copies_nodes_inputs_and_orphans():
    x = T.dvector("x")
    out = T.exp(x) + 1.0
    equiv = clone_get_equiv([x], [out])
    assert equiv[x] is not x and equiv[x].type == x.type and equiv[x].name == "x"
    new_out = equiv[out]
    assert new_out is not out and new_out.owner.op == out.owner.op
    assert graph_inputs([new_out])[0] is equiv[x]
    consts = [v for v in ancestors([out]) if v.owner is None and v is not x]
    assert all(equiv[c] is not c for c in consts)
    keep = clone_get_equiv([x], [out], copy_inputs=False, copy_orphans=False)
    assert keep[x] is x and all(keep[c] is c for c in consts)


def test_clone_get_equiv_memo_injects_replacements():
    x, z = T.dvector("x"), T.dvector("z")
    out = T.exp(x)
    equiv = clone_get_equiv([x], [out], memo={x: z})
    assert equiv[out].owner.inputs == [z]


def test_clone_returns_lists():
    x = T.dvector("x")
    out = T.exp(x)
    (cx,), (cout,) = clone([x], [out])
    assert cx is not x and cout.owner.inputs == [cx]
    (cx2,), (cout2,) = clone([x], [x])
    assert cout2 is cx2


# -- clone_replace / graph_replace -----------------------------------------------------
def test_clone_replace_with_dict_and_pairs():
    x, y, a, b, c = diamond()
    z = T.dvector("z")
    for repl in ({x: z}, [(x, z)]):
        new = clone_replace(c, repl)
        assert z in graph_inputs([new]) and x not in graph_inputs([new])
        xv, yv = np.array([0.5, 1.0]), np.array([2.0, 3.0])
        np.testing.assert_allclose(new.eval({z: xv, y: yv}), np.exp(xv) * (1 + yv))
    # the original graph is untouched
    assert graph_inputs([c]) == [x, y]


def test_clone_replace_lists_and_no_replacement():
    x, y, a, b, c = diamond()
    outs = clone_replace([b, c], None)
    assert len(outs) == 2 and outs[0] is not b and outs[1] is not c
    assert set(graph_inputs(outs)) == {x, y}
    assert outs[1].owner.inputs[1] is outs[0]  # shared structure preserved


def test_clone_replace_of_an_intermediate_and_self_reference():
    x, y, a, b, c = diamond()
    new = clone_replace(c, {a: a * 2.0})
    xv, yv = np.array([0.0]), np.array([3.0])
    np.testing.assert_allclose(new.eval({x: xv, y: yv}), [2.0 + 2.0 * 3.0])


def test_clone_replace_type_checks():
    x = T.dvector("x")
    out = T.exp(x)
    with pytest.raises(TypeError, match="cannot replace"):
        clone_replace(out, {x: T.fvector()})
    with pytest.raises(TypeError, match="Variables to Variables"):
        clone_replace(out, {x: np.zeros(2)})
    loose = clone_replace(out, {x: T.fvector()}, rebuild_strict=False)
    assert loose.dtype == "float32"
    fixed = clone_replace(out, {x: T.dvector(shape=(3,))})
    assert fixed.type == out.type  # strict: the output type is kept


def test_graph_replace_requires_replaced_variables_in_graph():
    x, y, a, b, c = diamond()
    z = T.dvector("z")
    new = graph_replace(c, {y: z})
    assert set(graph_inputs([new])) == {x, z}
    with pytest.raises(ValueError, match="not part of the graph"):
        graph_replace(a, {y: z})
    assert len(graph_replace([a, c], [(x, z)])) == 2


# -- get_scalar_constant_value ---------------------------------------------------------
def test_scalar_constant_value_of_constants():
    assert get_scalar_constant_value(T.constant(3.5)) == 3.5
    assert get_scalar_constant_value(T.constant(np.full((1, 1), 7))) == 7
    assert get_scalar_constant_value(T.constant(np.full((2, 3), 4.0))) == 4.0
    assert get_scalar_constant_value(np.float32(2.0)) == 2.0
    assert get_scalar_constant_value(5) == 5


def test_scalar_constant_value_through_casts_dimshuffles_and_elemwise():
    c = T.constant(np.float64(2.5))
    assert get_scalar_constant_value(T.cast(c, "int32")) == 2
    assert get_scalar_constant_value(c.dimshuffle("x", "x")) == 2.5
    assert get_scalar_constant_value(T.cast(c, "float32").dimshuffle("x")) == 2.5
    assert get_scalar_constant_value(c * 2.0 + 1.0) == 6.0


def test_scalar_constant_value_refuses_non_constants():
    x = T.dscalar("x")
    for bad in (x, x + 1.0, T.constant(np.arange(3.0)), T.cast(x, "int32")):
        with pytest.raises(NotScalarConstantError):
            get_scalar_constant_value(bad)
    with pytest.raises(NotScalarConstantError, match="not a scalar"):
        get_scalar_constant_value(np.arange(3))
    with pytest.raises(NotScalarConstantError):
        get_scalar_constant_value(T.constant(np.zeros(0)))
    deep = T.constant(np.float64(1.0))
    for _ in range(12):
        deep = deep.dimshuffle("x")
    with pytest.raises(NotScalarConstantError):
        get_scalar_constant_value(deep, max_recur=5)
    assert issubclass(NotScalarConstantError, ValueError)


def test_scalar_constant_value_ignores_ops_without_the_hook():
    class Opaque(Op):
        def make_node(self, v):
            return Apply(self, [v], [v.type()])

    with pytest.raises(NotScalarConstantError):
        get_scalar_constant_value(Opaque()(T.constant(1.0)))
