"""Random generator types: what they accept and how states compare."""

from __future__ import annotations

import numpy as np
import pytest

from symarray.tensor.random.type import (
    copy_state,
    random_generator_type,
    random_state_type,
    random_type_of,
)


def test_filter() -> None:
    r, g = np.random.RandomState(0), np.random.default_rng(0)
    assert random_state_type.filter(r) is r
    assert random_generator_type.filter(g) is g
    with pytest.raises(TypeError, match="expected a numpy.random.*RandomState, got "
                                        "Generator; make one with"):
        random_state_type.filter(g)
    with pytest.raises(TypeError, match="default_rng"):
        random_generator_type.filter(np.zeros(2))
    assert random_type_of(r) is random_state_type
    assert random_type_of(g) is random_generator_type
    assert random_type_of(3) is None
    assert random_state_type != random_generator_type
    assert hash(random_state_type) == hash(type(random_state_type)())


@pytest.mark.parametrize("make", [np.random.RandomState, np.random.default_rng])
def test_copy_state_is_independent(make: type) -> None:
    a = make(5)
    b = copy_state(a)
    assert b is not a and random_type_of(a).values_eq(a, b)  # type: ignore[union-attr]
    x = a.uniform(size=3)
    assert not random_type_of(a).values_eq(a, b)  # type: ignore[union-attr]
    np.testing.assert_array_equal(b.uniform(size=3), x)
