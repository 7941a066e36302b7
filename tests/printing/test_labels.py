"""Tests of symarray.printing.labels: min_informative_str, var_descriptor."""

from __future__ import annotations

import pytest

import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.printing import min_informative_str, var_descriptor


def test_min_informative_str_stops_at_names_and_reuses_labels():
    x, y = T.dvectors("x", "y")
    h = T.exp(x)
    h.name = "h"
    assert min_informative_str(h * y + h).split("\n") == [
        "A. add", " B. mul", "  C. h", "  D. y", " C"]
    assert min_informative_str((x + 1.5).owner, indent_level=2).split("\n") == [
        "  A. add", "   B. x", "   C. DimShuffle{x}", "    D. 1.5"]


def test_min_informative_str_shares_state_between_calls():
    x = T.dvector("x")
    prev: dict = {}
    counter = [0]
    min_informative_str(T.exp(x), _prev_obs=prev, _tag_generator=counter)
    assert min_informative_str(x * 2, _prev_obs=prev, _tag_generator=counter).split(
        "\n")[:2] == ["C. mul", " B"]


def test_var_descriptor_is_stable_and_tags_shared_subexpressions():
    def build():
        x, y = T.dvectors("x", "y")
        s = x + y
        return s * T.exp(s)

    text = var_descriptor(build())
    assert text == "mul(<A>=add(x, y), exp(<A>))"
    assert var_descriptor(build()) == text  # no ids or addresses
    x = T.dvector("x")
    long = var_descriptor(x + T.constant(list(range(100)), dtype="float64"))
    assert "sha1:" in long and "Constant{float64[100]" in long
    assert var_descriptor(x * 2) == "mul(x, DimShuffle{x}(Constant{2.0}))"


def test_labels_reject_other_objects():
    with pytest.raises(TypeError, match="takes a Variable or an Apply"):
        var_descriptor(3)
    with pytest.raises(TypeError, match="takes a Variable or an Apply"):
        min_informative_str([T.dvector()])
