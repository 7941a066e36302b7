"""Tests of symarray.compile.io: In and Out."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.io import In, Out


def test_in_defaults():
    x = T.dvector("x")
    inp = In(x)
    assert inp.variable is x and inp.name == "x"
    assert not inp.has_default and inp.value is None and inp.update is None
    assert not inp.mutable and not inp.borrow and not inp.strict
    assert inp.allow_downcast is None and not inp.implicit
    assert repr(inp) == "In(x)"


def test_in_options():
    x = T.dvector("x")
    inp = In(x, name="data", value=np.zeros(2), mutable=True)
    assert inp.name == "data" and inp.has_default
    assert inp.mutable and inp.borrow  # mutable implies borrow
    assert In(x, borrow=True).borrow and not In(x, borrow=True).mutable
    assert In(T.dvector()).name is None


def test_in_value_and_name_in_calls():
    x, y = T.dscalar("x"), T.dscalar("y")
    f = theano.function([x, In(y, value=10.0, name="offset")], x + y)
    assert float(f(1.0)) == 11.0
    assert float(f(1.0, offset=2.0)) == 3.0
    with pytest.raises(TypeError, match="'y' is unknown"):
        f(1.0, y=2.0)


def test_mutable_input_allows_overwriting():
    # nothing overwrites inputs yet; a mutable input must still compute right
    x = T.dvector("x")
    f = theano.function([In(x, mutable=True)], x * 2)
    a = np.ones(2)
    np.testing.assert_array_equal(f(a), [2.0, 2.0])


def test_in_and_out_refuse_non_variables():
    with pytest.raises(TypeError, match="In\\(\\) takes a symbolic variable"):
        In(np.zeros(2))
    with pytest.raises(TypeError, match="Out\\(\\) takes a symbolic variable"):
        Out(3.0)


def test_out_borrow():
    x = T.dvector("x")
    out = Out(x * 2, borrow=True)
    assert out.borrow and repr(out) == f"Out({out.variable})"
    assert not Out(x).borrow
    f = theano.function([x], [Out(x, borrow=True), x])
    a = np.ones(2)
    same, copied = f(a)
    assert same is a and not np.shares_memory(copied, a)
