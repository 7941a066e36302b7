"""Tests of symarray.graph.fg: FunctionGraph, features, replace, toposort."""

from __future__ import annotations

import sys
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.errors import MissingInputError
from symarray.graph.basic import Apply, Op, Variable
from symarray.graph.fg import (
    Feature,
    FunctionGraph,
    InconsistencyError,
    ReplacementDidNotRemoveError,
    Supervisor,
    Validator,
)
from symarray.graph.traversal import ancestors


class Recorder(Feature):
    """Records every callback with its arguments."""

    def __init__(self):
        self.events = []

    def on_attach(self, fgraph):
        self.events.append(("attach", fgraph))

    def on_detach(self, fgraph):
        self.events.append(("detach", fgraph))

    def on_import(self, fgraph, node, reason):
        self.events.append(("import", node, reason))

    def on_prune(self, fgraph, node, reason):
        self.events.append(("prune", node, reason))

    def on_change_input(self, fgraph, node, i, old, new, reason):
        self.events.append(("change", node, i, old, new, reason))

    def kinds(self):
        return [e[0] for e in self.events]


class Veto(Feature):
    """Fails validation while ``active``."""

    def __init__(self):
        self.active = False
        self.calls = 0

    def validate(self, fgraph):
        self.calls += 1
        if self.active:
            raise InconsistencyError("vetoed")


def snapshot(fg):
    """Everything replace may change, for exact-rollback comparisons (the
    order of a variable's clients does not matter)."""
    return (
        list(fg.outputs),
        set(fg.apply_nodes),
        set(fg.variables),
        {v: Counter((id(n), i) for n, i in c) for v, c in fg.clients.items()},
        {n: list(n.inputs) for n in fg.apply_nodes},
    )


def small_graph():
    x, y = T.dvector("x"), T.dvector("y")
    e = T.exp(x)
    out = e * y + e
    fg = FunctionGraph([x, y], [out], clone=False)
    return fg, x, y, e, out


# -- construction ----------------------------------------------------------------
def test_construction_and_clients():
    fg, x, y, e, out = small_graph()
    fg.check_integrity()
    assert fg.inputs == [x, y] and fg.outputs == [out]
    assert len(fg.apply_nodes) == 3
    mul = out.owner.inputs[0].owner
    assert sorted(i for _, i in fg.clients[e]) == [0, 1]
    assert {n for n, _ in fg.clients[e]} == {mul, out.owner}
    assert fg.clients[out] == [("output", 0)]
    assert fg.get_clients(out) == [("output", 0)]
    assert e in fg and out.owner in fg and T.dvector() not in fg


def test_clone_true_leaves_user_graph_alone():
    x = T.dvector("x")
    out = T.exp(x)
    fg = FunctionGraph([x], [out])
    assert fg.inputs[0] is not x and fg.outputs[0] is not out
    fg.replace(fg.outputs[0], fg.inputs[0])
    assert out.owner.inputs == [x]


def test_inputs_default_to_the_free_variables():
    x, y = T.dvector("x"), T.dvector("y")
    fg = FunctionGraph(None, [x * 2.0 + y], clone=False)
    assert set(fg.inputs) == {x, y}


def test_construction_errors():
    x = T.dvector("x")
    with pytest.raises(ValueError, match="listed twice"):
        FunctionGraph([x, x], [x * 2])
    with pytest.raises(ValueError, match="has an owner"):
        FunctionGraph([T.exp(x)], [x], clone=False)


def test_missing_input_names_variable_reader_and_site():
    x, y = T.dvector("x"), T.dvector("y")
    line = sys._getframe().f_lineno - 1
    with pytest.raises(MissingInputError) as info:
        FunctionGraph([x], [x + y])
    msg = str(info.value)
    assert "depend on y" in msg and "read by add" in msg
    assert f"{__file__}\", line {line}" in msg


# -- callbacks ---------------------------------------------------------------------
def test_attach_detach_callbacks():
    fg, *_ = small_graph()
    rec = Recorder()
    fg.attach_feature(rec)
    fg.attach_feature(rec)  # once only
    assert rec.events == [("attach", fg)]
    assert fg.features == [rec]
    fg.remove_feature(rec)
    assert rec.events[-1] == ("detach", fg)
    with pytest.raises(ValueError, match="not attached"):
        fg.remove_feature(rec)


def test_import_prune_change_callbacks_with_arguments():
    fg, x, y, e, out = small_graph()
    rec = Recorder()
    fg.attach_feature(rec)
    rec.events.clear()
    mul = out.owner.inputs[0].owner
    new = T.log(x) * y  # two new nodes: log, then mul
    fg.replace(mul.outputs[0], new, reason="test")
    fg.check_integrity()
    assert rec.kinds() == ["import", "import", "prune", "change"]
    assert rec.events[0] == ("import", new.owner.inputs[0].owner, "test")
    assert rec.events[1] == ("import", new.owner, "test")
    assert rec.events[2] == ("prune", mul, "test")
    assert rec.events[3] == ("change", out.owner, 0, mul.outputs[0], new, "test")


def test_change_callback_for_output_slots():
    fg, x, y, e, out = small_graph()
    rec = Recorder()
    fg.attach_feature(rec)
    fg.replace(out, y, reason="r")
    pruned = [e[1] for e in rec.events if e[0] == "prune"]
    assert set(pruned) == {out.owner, out.owner.inputs[0].owner, e.owner}
    assert rec.events[-1] == ("change", "output", 0, out, y, "r")
    assert fg.apply_nodes == set() and fg.outputs == [y]
    fg.check_integrity()


def test_callbacks_on_features_without_base_class():
    class Duck:
        def __init__(self):
            self.n = 0

        def on_import(self, fgraph, node, reason):
            self.n += 1

    fg, x, *_ = small_graph()
    duck = Duck()
    fg.attach_feature(duck)
    fg.replace(fg.outputs[0], T.exp(x) + 1.0)
    assert duck.n >= 1


# -- replace: the tricky cases ---------------------------------------------------------
def test_replace_output_by_input():
    fg, x, y, e, out = small_graph()
    fg.replace(out, x)
    assert fg.outputs == [x] and not fg.apply_nodes
    assert fg.variables == {x, y}
    fg.check_integrity()


def test_replace_by_constant_and_constants_leave_with_their_readers():
    x = T.dvector("x")
    out = T.exp(x) * 2.0
    two = out.owner.inputs[1]
    fg = FunctionGraph([x], [out], clone=False)
    assert two in fg.variables
    c = T.constant(np.array([1.0, 2.0]))
    fg.replace(out, c)
    assert fg.outputs == [c] and not fg.apply_nodes
    assert two not in fg.variables and two not in fg.clients
    fg.check_integrity()


def test_node_reading_a_variable_twice():
    x, z = T.dvector("x"), T.dvector("z")
    e = T.exp(x)
    out = e * e
    fg = FunctionGraph([x, z], [out], clone=False)
    assert sorted(i for _, i in fg.clients[e]) == [0, 1]
    fg.replace(e, z)
    assert out.owner.inputs == [z, z]
    assert e not in fg.variables and e.owner not in fg.apply_nodes
    fg.check_integrity()
    fg.replace(out, x)  # prunes the node that read z twice
    assert fg.clients[z] == []
    fg.check_integrity()


def test_variable_that_is_an_output_and_read_by_a_node():
    x = T.dvector("x")
    e = T.exp(x)
    f = T.log(e)
    fg = FunctionGraph([x], [e, f], clone=False)
    fg.replace(f, x)  # log pruned, exp stays: still output 0
    assert e.owner in fg.apply_nodes and f.owner not in fg.apply_nodes
    assert fg.clients[e] == [("output", 0)]
    fg.check_integrity()
    fg.replace(e, x)
    assert fg.outputs == [x, x] and not fg.apply_nodes
    assert fg.clients[x] == [("output", 1), ("output", 0)]
    fg.check_integrity()


def test_multi_output_node_stays_while_any_output_is_read():
    class Split(Op):
        def make_node(self, v):
            return Apply(self, [v], [v.type(), v.type()])

    x = T.dvector("x")
    a, b = Split()(x)
    fg = FunctionGraph([x], [T.exp(a), T.exp(b)], clone=False)
    fg.replace(fg.outputs[0], x)
    assert a.owner in fg.apply_nodes and a in fg.variables
    fg.check_integrity()
    fg.replace(fg.outputs[1], x)
    assert a.owner not in fg.apply_nodes and a not in fg.variables
    fg.check_integrity()


def test_replace_by_an_expression_of_the_replaced_variable():
    fg, x, y, e, out = small_graph()
    wrapped = T.exp(e) + 0.0
    fg.replace(e, x)
    fg.replace(out, T.exp(out))
    assert fg.outputs[0].owner.inputs == [out]
    fg.check_integrity()
    del wrapped


def test_replace_type_mismatch_changes_nothing():
    fg, x, y, e, out = small_graph()
    before = snapshot(fg)
    with pytest.raises(TypeError, match="cannot replace .* Tensor{float32"):
        fg.replace(e, T.fvector())
    with pytest.raises(TypeError, match="cannot replace"):
        fg.change_node_input("output", 0, T.dmatrix())
    assert snapshot(fg) == before


def test_replace_accepts_a_more_specific_type():
    fg, x, y, e, out = small_graph()
    fixed = T.exp(T.dvector("x3", shape=(3,)))
    fg.add_input(fixed.owner.inputs[0])
    fg.replace(e, fixed)
    assert fixed in fg.variables
    fg.check_integrity()


def test_replace_of_a_foreign_variable_is_a_no_op():
    fg, *_ = small_graph()
    before = snapshot(fg)
    fg.replace(T.dvector(), T.dvector())
    assert snapshot(fg) == before


def test_replace_by_free_variable_raises_and_changes_nothing():
    fg, x, y, e, out = small_graph()
    before = snapshot(fg)
    free = T.dvector("free")
    with pytest.raises(MissingInputError, match="free"):
        fg.replace(e, T.exp(free) * 2.0)
    assert snapshot(fg) == before
    fg.check_integrity()


def test_change_node_input_of_foreign_node():
    fg, *_ = small_graph()
    other = T.exp(T.dvector()).owner
    with pytest.raises(ValueError, match="not in this graph"):
        fg.change_node_input(other, 0, T.dvector())


def test_add_input_and_output():
    fg, x, y, e, out = small_graph()
    z = T.dvector("z")
    fg.add_input(z)
    fg.add_input(z)
    assert fg.inputs == [x, y, z]
    fg.add_output(T.exp(z))
    assert len(fg.outputs) == 2
    fg.check_integrity()


# -- validation and rollback -----------------------------------------------------------
def test_replace_all_validate_rolls_back_exactly():
    fg, x, y, e, out = small_graph()
    veto = Veto()
    rec = Recorder()
    fg.attach_feature(veto)
    fg.attach_feature(rec)
    before = snapshot(fg)
    veto.active = True
    pairs = [(e, T.log(x)), (out, out * 2.0)]
    with pytest.raises(InconsistencyError, match="vetoed"):
        fg.replace_all_validate(pairs, reason="try")
    assert snapshot(fg) == before
    fg.check_integrity()
    assert any(ev[-1] == "rollback" for ev in rec.events if ev[0] == "change")
    veto.active = False
    fg.replace_all_validate(pairs, reason="try")
    assert fg.outputs[0] is not out
    fg.check_integrity()


def test_replace_all_validate_rolls_back_on_a_bad_pair():
    fg, x, y, e, out = small_graph()
    before = snapshot(fg)
    with pytest.raises(TypeError):
        fg.replace_all_validate([(e, T.log(x)), (y, T.fvector())])
    assert snapshot(fg) == before


def test_replace_all_validate_remove():
    fg, x, y, e, out = small_graph()
    before = snapshot(fg)
    with pytest.raises(ReplacementDidNotRemoveError, match="still in the graph"):
        fg.replace_all_validate_remove([(out, out * 1.0)], remove=[e.owner])
    assert snapshot(fg) == before and fg.features == []
    fg.replace_all_validate_remove([(e, x)], remove=[e.owner])
    assert e.owner not in fg.apply_nodes


def test_validator_feature_provides_replace_validate():
    fg, x, y, e, out = small_graph()
    val = Validator()
    fg.attach_feature(val)
    fg.replace_validate([(e, x)])
    assert e not in fg.variables
    fg.remove_feature(val)
    assert not hasattr(fg, "replace_validate")


def test_supervisor_vetoes_destroying_a_protected_input():
    fg, x, y, e, out = small_graph()
    destroyed = {}
    fg.destroyers = lambda var: destroyed.get(var, [])
    fg.attach_feature(Supervisor([x]))
    fg.validate()
    destroyed[x] = [e.owner]
    with pytest.raises(InconsistencyError, match="would overwrite x"):
        fg.validate()


def test_replace_all():
    fg, x, y, e, out = small_graph()
    fg.replace_all([(e, x), (y, x)])
    assert fg.clients[y] == []
    fg.check_integrity()


# -- check_integrity -------------------------------------------------------------------
def test_check_integrity_finds_corruption():
    fg, x, y, e, out = small_graph()
    fg.clients[e].pop()
    with pytest.raises(InconsistencyError, match="clients of"):
        fg.check_integrity()
    fg, x, y, e, out = small_graph()
    fg.apply_nodes.discard(e.owner)
    with pytest.raises(InconsistencyError, match="apply_nodes"):
        fg.check_integrity()
    fg, x, y, e, out = small_graph()
    fg.variables.add(T.dvector())
    with pytest.raises(InconsistencyError, match="variables"):
        fg.check_integrity()


# -- toposort and clone ----------------------------------------------------------------
def test_toposort_respects_dependencies_and_orderings():
    fg, x, y, e, out = small_graph()
    order = fg.toposort()
    pos = {n: k for k, n in enumerate(order)}
    for node in order:
        for inp in node.inputs:
            if inp.owner is not None:
                assert pos[inp.owner] < pos[node]
    # a feature may ask one node to run before another
    a, b = T.exp(x), T.log(y)
    fg2 = FunctionGraph([x, y], [a, b], clone=False)

    class Order(Feature):
        def orderings(self, fgraph):
            return {a.owner: [b.owner]}

    assert fg2.toposort() == [a.owner, b.owner]
    fg2.attach_feature(Order())
    assert fg2.toposort() == [b.owner, a.owner]


def test_clone_is_independent():
    fg, x, y, e, out = small_graph()
    rec = Recorder()
    rec.clone = Recorder  # features with clone() follow the graph
    fg.attach_feature(rec)
    fg.update_mapping = {0: 1}
    cp, equiv = fg.clone_get_equiv()
    assert equiv[x] is cp.inputs[0] and equiv[out] is cp.outputs[0]
    assert not (cp.apply_nodes & fg.apply_nodes)
    assert cp.update_mapping == {0: 1}
    assert len(cp.features) == 1 and isinstance(cp.features[0], Recorder)
    cp.replace(cp.outputs[0], cp.inputs[0])
    fg.check_integrity()
    assert fg.outputs == [out]
    assert isinstance(fg.clone(), FunctionGraph)
    assert str(fg) == f"FunctionGraph({out})"


class Inc(Op):
    """A cheap op for big graphs: make_node does no checks."""

    def make_node(self, x):
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] + 1


def test_100k_node_chain_needs_no_recursion():
    assert sys.getrecursionlimit() <= 10_000
    x = T.dscalar("x")
    out = x
    inc = Inc()
    for _ in range(100_000):
        out = inc.make_node(out).outputs[0]
    fg = FunctionGraph([x], [out], clone=False)
    order = fg.toposort()
    assert len(order) == 100_000
    assert order[0].inputs[0] is x and order[-1].outputs[0] is out
    fg.check_integrity()
    assert len(ancestors([out])) == 100_001
    fg.replace(out.owner.inputs[0], x)  # prunes 99,999 nodes iteratively
    assert len(fg.apply_nodes) == 1
    fg.check_integrity()


def test_10k_node_chain_clones():
    x = T.dscalar("x")
    out = x
    for _ in range(10_000):
        out = Inc().make_node(out).outputs[0]
    cp = FunctionGraph([x], [out]).clone()
    assert len(cp.apply_nodes) == 10_000 and len(cp.toposort()) == 10_000


# -- random replace sequences keep the bookkeeping exact -------------------------------
UNARY = [T.exp, T.neg, T.sqr]
BINARY = [T.add, T.mul, T.sub]


@st.composite
def graphs_and_edits(draw):
    n_in = draw(st.integers(1, 3))
    variables: list[Variable] = [T.dvector(f"x{i}") for i in range(n_in)]
    inputs = list(variables)
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.booleans()):
            f = draw(st.sampled_from(UNARY))
            variables.append(f(draw(st.sampled_from(variables))))
        else:
            f = draw(st.sampled_from(BINARY))
            a = draw(st.sampled_from(variables))
            b = draw(st.sampled_from(variables + [None]))
            variables.append(f(a, a if b is None else b))
    n_out = draw(st.integers(1, 3))
    outputs = [draw(st.sampled_from(variables[n_in:] or variables))
               for _ in range(n_out)]
    edits = draw(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6),
                                     st.integers(0, 3)), max_size=8))
    return inputs, outputs, edits


@settings(deadline=None)
@given(graphs_and_edits())
def test_random_replacements_keep_integrity(case):
    inputs, outputs, edits = case
    fg = FunctionGraph(inputs, outputs, clone=False)
    fg.check_integrity()
    veto = Veto()
    fg.attach_feature(veto)
    for pick, other, kind in edits:
        candidates = sorted((v for v in fg.variables if v.type == inputs[0].type),
                            key=lambda v: v.auto_name)
        var = candidates[pick % len(candidates)]
        if kind == 0:  # an existing variable that does not depend on var
            pool = [v for v in candidates
                    if v.type == var.type and var not in ancestors([v])]
            if not pool:
                continue
            new = pool[other % len(pool)]
        elif kind == 1:
            new = T.constant(np.array([1.5, 2.5]))
        elif kind == 2:  # a new expression over the graph's inputs
            new = T.exp(fg.inputs[other % len(fg.inputs)]) + 1.0
        else:  # the same replacement, vetoed: nothing may change
            before = snapshot(fg)
            veto.active = True
            with pytest.raises(InconsistencyError):
                fg.replace_all_validate([(var, fg.inputs[0])])
            veto.active = False
            assert snapshot(fg) == before
            continue
        fg.replace(var, new)
        fg.check_integrity()
        fresh = FunctionGraph(fg.inputs, fg.outputs, clone=False)
        assert fresh.apply_nodes == fg.apply_nodes
        assert fresh.variables == fg.variables
