"""Tests of symarray.graph.basic: Type, Variable, Constant, Apply, Op."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import config
from symarray.errors import SymarrayError
from symarray.graph.basic import (
    Apply,
    Constant,
    CreationSite,
    NoTestValueError,
    Op,
    Type,
    Variable,
    creation_site,
)
from symarray.graph.traversal import clone_replace
from symarray.tensor.type import TensorType


class IntType(Type):
    """Python ints (a minimal Type)."""

    def filter(self, data, strict=False, allow_downcast=None):
        if isinstance(data, bool) or not isinstance(data, (int, np.integer)):
            raise TypeError(f"expected an int, got {data!r}")
        return int(data)

    def __eq__(self, other):
        return type(other) is IntType

    def __hash__(self):
        return hash(IntType)

    def __str__(self):
        return "int"


IntType.variable_type = Variable
IntType.constant_type = Constant
INT = IntType()


class AddK(Op):
    """``x + k`` on ints; ``k`` is a prop."""

    __props__ = ("k",)

    def __init__(self, k):
        self.k = k

    def make_node(self, x):
        return Apply(self, [x], [INT()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] + self.k


class TwoOut(Op):
    """Two outputs; the second is the default."""

    default_output = 1

    def make_node(self, x):
        return Apply(self, [x], [INT(), INT()])


# -- Op props ------------------------------------------------------------------
def test_props_define_equality_and_hash():
    assert AddK(1) == AddK(1)
    assert hash(AddK(1)) == hash(AddK(1))
    assert AddK(1) != AddK(2)
    assert len({AddK(1), AddK(1), AddK(2)}) == 2
    assert str(AddK(3)) == "AddK{k=3}"


def test_ops_of_different_classes_differ():
    class Other(AddK):
        pass

    assert Other(1) != AddK(1)


def test_op_call_returns_default_output():
    x = INT("x")
    out = TwoOut()(x)
    assert out is out.owner.outputs[1]
    assert out.owner.out is out
    assert out.owner.default_output is out


def test_op_without_make_node_or_perform_says_so():
    with pytest.raises(NotImplementedError, match="Op must define make_node"):
        Op().make_node()
    node = AddK(1).make_node(INT())
    with pytest.raises(NotImplementedError, match="TwoOut has no perform"):
        TwoOut().perform(node, [1], [[None]])


# -- Variable / Apply / Constant ---------------------------------------------
def test_apply_sets_owner_and_index():
    x = INT("x")
    node = TwoOut().make_node(x)
    assert [o.owner for o in node.outputs] == [node, node]
    assert [o.index for o in node.outputs] == [0, 1]
    assert node.nin == 1 and node.nout == 2
    assert node.get_parents() == [x]
    assert node.outputs[0].get_parents() == [node]


def test_apply_rejects_non_variable_inputs_and_foreign_outputs():
    with pytest.raises(TypeError, match="input 0 must be a Variable, got int"):
        Apply(AddK(1), [3], [INT()])
    y = AddK(1)(INT())
    with pytest.raises(ValueError, match="already belongs to another node"):
        Apply(AddK(2), [INT()], [y])


def test_variables_hash_by_identity():
    a, b = INT("a"), INT("a")
    assert a != b
    assert len({a, b}) == 2


def test_variable_str():
    x = INT("x")
    assert str(x) == "x"
    assert str(INT()) == "<int>"
    assert str(AddK(1)(x)) == "AddK{k=1}.out"


def test_constant_signature_merges_equal_data():
    a = T.constant(np.arange(3.0))
    b = T.constant(np.arange(3.0))
    c = T.constant(np.arange(3.0) + 1)
    assert a.signature() == b.signature()
    assert a.signature() != c.signature()
    assert str(T.constant(np.arange(100))).endswith("...")


def test_constant_clone_keeps_data_and_site():
    c = Constant(INT, 5, name="five")
    cp = c.clone()
    assert cp is not c and cp.data == 5 and cp.name == "five"
    assert cp.tag.site == c.tag.site


def test_variable_clone_is_a_fresh_input():
    x = AddK(1)(INT("x"))
    cp = x.clone()
    assert cp.owner is None and cp.type == x.type and cp.name == x.name


def test_apply_clone_and_clone_with_new_inputs():
    x, y = INT("x"), INT("y")
    out = AddK(2)(x)
    out.name = "out"
    node = out.owner
    cp = node.clone()
    assert cp.op == node.op and cp.inputs == [x]
    assert cp.outputs[0] is not out and cp.outputs[0].name == "out"
    moved = node.clone_with_new_inputs([y])
    assert moved.inputs == [y] and node.inputs == [x]
    with pytest.raises(ValueError, match="got 2 inputs, expected 1"):
        node.clone_with_new_inputs([x, y])


def test_strict_clone_accepts_more_specific_types_only():
    v = T.dvector("v")
    node = T.exp(v).owner
    fixed = T.dvector("f", shape=(3,))
    assert node.clone_with_new_inputs([fixed]).inputs == [fixed]
    assert node.clone_with_new_inputs([fixed]).outputs[0].type == node.outputs[0].type
    with pytest.raises(TypeError, match="strict clone"):
        node.clone_with_new_inputs([T.fvector()])
    # not strict: make_node rebuilds and the output type may change
    loose = node.clone_with_new_inputs([T.fvector()], strict=False)
    assert loose.outputs[0].type.dtype == "float32"


def test_clone_does_not_share_eval_cache():
    # regression: clones copied the tag, eval cache included, and then
    # evaluated the original graph
    x = T.dscalar("x")
    y = x + 1
    assert float(y.eval({x: 1.0})) == 2.0
    z = clone_replace(y, {x: x * 2})
    assert float(z.eval({x: 1.0})) == 3.0


# -- test values ------------------------------------------------------------------
def test_test_values():
    x = INT("x")
    with pytest.raises(NoTestValueError, match="has no test value"):
        x.get_test_value()
    x.tag.test_value = 4
    assert x.get_test_value() == 4


def test_compute_test_value_runs_perform(monkeypatch):
    monkeypatch.setattr(config, "compute_test_value", "raise")
    x = INT("x")
    x.tag.test_value = 4
    assert AddK(3)(x).get_test_value() == 7
    with pytest.raises(NoTestValueError):
        AddK(3)(INT("no_value"))


def test_compute_test_value_warn_without_values(monkeypatch):
    monkeypatch.setattr(config, "compute_test_value", "warn")
    with pytest.warns(UserWarning, match="no test value"):
        AddK(3)(INT())


# -- eval ----------------------------------------------------------------------------
def test_eval_with_values_and_names():
    x, y = T.dscalar("x"), T.dscalar("y")
    z = x * y + 1
    assert float(z.eval({x: 2.0, y: 3.0})) == 7.0
    assert float(z.eval({"x": 2.0, "y": 4.0})) == 9.0
    assert float(z.eval({x: 1.0, y: 1.0})) == 2.0  # cached function, new values
    assert float((T.constant(2.0) * 3.0).eval()) == 6.0
    with pytest.raises(KeyError, match="no input named 'w'"):
        z.eval({"w": 1.0})


def test_eval_missing_input_names_it():
    x, y = T.dscalar("x"), T.dscalar("y")
    with pytest.raises(SymarrayError, match="depend on y"):
        (x + y).eval({x: 1.0})


# -- creation site ---------------------------------------------------------------
def test_creation_site_points_at_this_line():
    x = T.dvector("x")
    line = sys._getframe().f_lineno + 1
    y = T.exp(x) + 1
    site = y.tag.site
    assert isinstance(site, CreationSite)
    assert site[0] == __file__
    assert site[1] == line
    assert site[2] == "test_creation_site_points_at_this_line"
    assert y.site == site
    assert str(site) == f'File "{__file__}", line {line}, in {site[2]}'
    assert x.tag.site[1] == line - 2


def test_creation_site_skips_symarray_frames_in_helpers():
    # T.mean / operators call more symarray code; the site is still ours
    x = T.dmatrix("x")
    line = sys._getframe().f_lineno + 1
    y = (x.T * 2).sum()
    for var in (y, y.owner.inputs[0]):
        assert var.tag.site[:2] == (__file__, line)


def test_creation_site_can_be_turned_off(monkeypatch):
    monkeypatch.setattr(config, "record_creation_site", False)
    assert creation_site() is None
    assert T.dvector("x").tag.site is None


def test_type_defaults():
    t = TensorType("float64", shape=(None,))
    assert t.is_valid_value(np.zeros(3))
    assert not t.is_valid_value(np.zeros((3, 3)))
    assert INT.convert_variable(INT("x")) is not None
    assert INT.convert_variable(T.dvector()) is None
    assert INT.is_super(INT) and INT.values_eq(1, 1)
    assert INT.values_eq_approx(1, 1)
    assert isinstance(INT.make_constant(3), Constant)
