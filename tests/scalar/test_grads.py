"""The partial-derivative table: one rule per scalar row, well-formed entries.

The numeric checks of every rule (reverse and forward mode, float32 and
float64, broadcasting, complex inputs) are in
``tests/tensor/test_elemwise_grad.py``; here the table itself is checked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import symarray.tensor as T  # noqa: N812 - Theano's convention
from symarray.graph.basic import Variable
from symarray.scalar import ROWS
from symarray.scalar.grads import (
    COMPLEX_RULES,
    HOLOMORPHIC,
    NOT_DIFFERENTIABLE,
    PARTIALS,
    NoDerivative,
)

ROW_BY_NAME = {row.name: row for row in ROWS}


def test_every_row_has_a_rule_or_is_not_differentiable() -> None:
    names = set(ROW_BY_NAME)
    covered = set(PARTIALS) | NOT_DIFFERENTIABLE
    assert covered == names, (
        f"rows without a gradient rule: {sorted(names - covered)}; "
        f"rules for unknown rows: {sorted(covered - names)}"
    )
    assert not set(PARTIALS) & NOT_DIFFERENTIABLE


def test_complex_rows_have_complex_rules() -> None:
    complex_rows = {row.name for row in ROWS if row.complex_ok and row.rule != "int"}
    handled = HOLOMORPHIC | set(COMPLEX_RULES) | NOT_DIFFERENTIABLE
    assert complex_rows <= handled, (
        f"rows that take complex inputs without a complex rule: "
        f"{sorted(complex_rows - handled)}"
    )
    assert HOLOMORPHIC <= set(PARTIALS)
    assert not HOLOMORPHIC & set(COMPLEX_RULES)
    for name in COMPLEX_RULES:
        assert ROW_BY_NAME[name].nin == 1 and ROW_BY_NAME[name].complex_ok


def _inputs(name: str) -> list[Variable]:
    nin = ROW_BY_NAME[name].nin
    return [T.dvector(f"x{k}") for k in range(nin)]


@pytest.mark.parametrize("name", sorted(PARTIALS))
def test_rule_gives_one_well_formed_entry_per_input(name: str) -> None:
    xs = _inputs(name)
    out = getattr(T, name)(*xs)
    partials = PARTIALS[name](T, xs, out)
    assert len(partials) == len(xs)
    for p in partials:
        ok_number = isinstance(p, (int, float)) and not isinstance(p, bool)
        assert p is None or ok_number or isinstance(p, (Variable, NoDerivative)), p
        if isinstance(p, Variable):
            assert p.ndim <= out.ndim and p.dtype.startswith("float")


def test_constant_partials_build_no_nodes() -> None:
    x, y = T.dvector(), T.dvector()
    assert PARTIALS["add"](T, [x, y], x + y) == [1, 1]
    assert PARTIALS["sub"](T, [x, y], x - y) == [1, -1]
    assert PARTIALS["deg2rad"](T, [x], T.deg2rad(x)) == [pytest.approx(np.pi / 180)]


def test_psi_derivative_is_tri_gamma_and_tri_gamma_has_none_yet() -> None:
    x = T.dvector()
    (p,) = PARTIALS["psi"](T, [x], T.psi(x))
    assert p.owner is not None and str(p.owner.op) == "tri_gamma"
    (q,) = PARTIALS["tri_gamma"](T, [x], T.tri_gamma(x))
    assert isinstance(q, NoDerivative) and q.kind == "not_implemented"
    assert "polygamma(2, x)" in q.why


def test_no_derivative_kind_is_checked() -> None:
    with pytest.raises(ValueError, match="kind must be 'undefined' or "):
        NoDerivative("missing")


def _eval(expr: Any, xs: list[Variable], values: list[np.ndarray]) -> np.ndarray:
    import symarray as sa

    if not isinstance(expr, Variable):
        return np.full(values[0].shape, expr, dtype=float)
    f = sa.function(xs, expr, on_unused_input="ignore")
    return np.broadcast_to(f(*values), values[0].shape)


#: (name, point, derivative) spot checks of partials with known values
SPOT_CHECKS = [
    ("reciprocal", [2.0], [-0.25]),
    ("arcsinh", [0.75], [1 / np.sqrt(0.75 ** 2 + 1)]),
    ("arccosh", [2.0], [1 / np.sqrt(3.0)]),
    ("arctanh", [0.5], [1 / 0.75]),
    ("rad2deg", [1.0], [180 / np.pi]),
    ("erfcinv", [1.0], [-np.sqrt(np.pi) / 2]),
    ("erfcx", [0.0], [-2 / np.sqrt(np.pi)]),
    ("real", [3.0], [1.0]),
    ("conj", [3.0], [1.0]),
    ("psi", [1.0], [np.pi ** 2 / 6]),
    ("mod", [5.5, 2.0], [1.0, -2.0]),
    ("pow", [0.0, 2.0], [0.0, 0.0]),
]


@pytest.mark.parametrize("name,point,expected", SPOT_CHECKS, ids=lambda v: str(v))
def test_partial_spot_values(name: str, point: list[float],
                             expected: list[float]) -> None:
    xs = _inputs(name)
    values = [np.array([v]) for v in point]
    partials = PARTIALS[name](T, xs, getattr(T, name)(*xs))
    for p, e in zip(partials, expected, strict=True):
        np.testing.assert_allclose(_eval(p, xs, values), [e], rtol=1e-12, atol=1e-15)
