"""Tests of symarray.updates: OrderedUpdates."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.errors import SymarrayError
from symarray.updates import OrderedUpdates, UpdateError


@pytest.fixture
def w():
    return theano.shared(np.zeros(2), name="w")


@pytest.fixture
def v():
    return theano.shared(np.zeros(2), name="v")


def test_construction_forms_keep_order(w, v):
    for source in ([(w, w + 1), (v, v * 2)], OrderedDict([(w, w + 1), (v, v * 2)])):
        up = OrderedUpdates(source)
        assert list(up) == [w, v]
    assert OrderedUpdates() == {}
    assert theano.OrderedUpdates is OrderedUpdates


def test_two_different_updates_are_refused_naming_the_variable(w):
    up = OrderedUpdates({w: w + 1})
    with pytest.raises(UpdateError, match="two different updates of shared variable "
                       r"'w' \(the expressions .* built at .*test_updates.py"):
        up[w] = w + 2
    with pytest.raises(UpdateError, match="'w'"):
        OrderedUpdates([(w, w + 1), (w, w - 1)])
    same = w + 1
    up2 = OrderedUpdates([(w, same), (w, same)])  # the same expression is fine
    assert up2[w] is same


def test_update_of_another_type_is_refused_naming_the_variable(w):
    with pytest.raises(UpdateError, match="update of shared variable 'w' has type "
                       r"Tensor\{float32.*expected Tensor\{float64.*cast it"):
        OrderedUpdates({w: T.cast(w, "float32")})
    with pytest.raises(UpdateError, match="'w'"):
        OrderedUpdates({w: T.dmatrix()})
    unnamed = theano.shared(np.zeros(2))
    with pytest.raises(UpdateError, match="shared"):
        OrderedUpdates({unnamed: T.dmatrix()})


def test_more_specific_and_python_values_are_accepted(w):
    fixed = T.dvector(shape=(2,))
    assert OrderedUpdates({w: fixed})[w] is fixed
    up = OrderedUpdates({w: [1, 2]})
    assert up[w].dtype == "float64"
    with pytest.raises(UpdateError, match="cannot convert"):
        OrderedUpdates({w: "text"})


def test_keys_must_be_shared_variables(w):
    x = T.dvector("x")
    with pytest.raises(UpdateError, match=r"must target shared variables.*symarray\."
                       r"shared\(value\)"):
        OrderedUpdates({x: x + 1})
    with pytest.raises(TypeError, match="keys are variables"):
        OrderedUpdates(w=1)
    with pytest.raises(TypeError, match="keys are variables"):
        OrderedUpdates().update(w=1)
    assert issubclass(UpdateError, SymarrayError)
    assert issubclass(UpdateError, ValueError)


def test_merging_operators_check_duplicates(w, v):
    a = OrderedUpdates({w: w + 1})
    b = OrderedUpdates({v: v + 1})
    for merged in (a + b, a | b):
        assert list(merged) == [w, v] and isinstance(merged, OrderedUpdates)
    assert list({v: v + 1} + a) == [v, w]
    assert list({v: v + 1} | a) == [v, w]
    with pytest.raises(UpdateError):
        a + {w: w * 3}
    c = a.copy()
    c |= b
    assert list(c) == [w, v] and list(a) == [w]
    with pytest.raises(UpdateError):
        c |= {w: w * 3}
    assert c.setdefault(w, w * 5) is c[w]
    d = OrderedUpdates()
    d.setdefault(v, v + 2)
    assert list(d) == [v]
    a.update(None)
    assert len(a) == 1


def test_ordered_updates_in_function(w, v):
    ups = OrderedUpdates()
    ups[w] = w + 1
    ups[v] = w * 10  # sees the old w
    theano.function([], [], updates=ups)()
    np.testing.assert_array_equal(w.get_value(), [1.0, 1.0])
    np.testing.assert_array_equal(v.get_value(), [0.0, 0.0])
