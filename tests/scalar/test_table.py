"""The scalar op table: well-formed rows, lookups, algebraic flags."""

from __future__ import annotations

import re
import string

import numpy as np
import pytest

from symarray.scalar import ROWS, SCALAR_OPS, ScalarOp, ScalarRow, get_scalar_op
from symarray.scalar.basic import RULES


def test_row_names_are_unique_and_all_looked_up() -> None:
    names = [row.name for row in ROWS]
    assert len(names) == len(set(names))
    assert list(SCALAR_OPS) == names
    for row in ROWS:
        assert get_scalar_op(row.name).row is row


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_row_is_well_formed(row: ScalarRow) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9_]*", row.name)
    assert 1 <= row.nin <= 3
    assert row.rule in RULES
    assert row.on_bool in ("bool", "int8", "error")
    assert callable(SCALAR_OPS[row.name].impl)
    for expr in (row.c, row.cuda):
        assert expr is not None, f"{row.name} has no kernel expression"
        fields = {f for _, f, _, _ in string.Formatter().parse(expr) if f is not None}
        assert fields == {str(i) for i in range(row.nin)}, (
            f"{row.name}: expression {expr!r} must use each of the {row.nin} operands"
        )
    if row.associative:
        assert row.nin == 2 and row.commutative
    if row.identity is not None:
        assert row.nin == 2


@pytest.mark.parametrize("row", [r for r in ROWS if r.commutative],
                         ids=lambda r: r.name)
def test_commutative_rows_commute(row: ScalarRow) -> None:
    op = SCALAR_OPS[row.name]
    rng = np.random.default_rng(0)
    dtype = "int64" if row.rule == "int" else "float64"
    a, b = (rng.integers(-9, 9, 20).astype(dtype) for _ in range(2))
    out = op.output_dtypes([dtype, dtype])[0]
    np.testing.assert_array_equal(op.compute([a, b], out), op.compute([b, a], out))


@pytest.mark.parametrize("row", [r for r in ROWS if r.associative],
                         ids=lambda r: r.name)
def test_associative_rows_associate(row: ScalarRow) -> None:
    op = SCALAR_OPS[row.name]
    rng = np.random.default_rng(1)
    a, b, c = (rng.integers(-9, 9, 20) for _ in range(3))
    left = op.compute([op.compute([a, b], "int64"), c], "int64")
    right = op.compute([a, op.compute([b, c], "int64")], "int64")
    np.testing.assert_array_equal(left, right)


@pytest.mark.parametrize("row", [r for r in ROWS if r.identity is not None],
                         ids=lambda r: r.name)
def test_identity_is_neutral(row: ScalarRow) -> None:
    op = SCALAR_OPS[row.name]
    x = np.array([-2.5, 0.0, 3.0])
    out = op.compute([x, np.float64(row.identity)], "float64")
    np.testing.assert_array_equal(out, x)


def test_get_scalar_op_miss_lists_close_and_known_names() -> None:
    with pytest.raises(KeyError, match=r"no scalar op 'ad'; did you mean \[.*'add'.*\]"
                       r".*known: \["):
        get_scalar_op("ad")
    with pytest.raises(KeyError, match="no scalar op 'zzzz' known: "):
        get_scalar_op("zzzz")


def test_scalar_ops_compare_by_name() -> None:
    a = ScalarOp(get_scalar_op("exp").row)
    assert a == get_scalar_op("exp")
    assert hash(a) == hash(get_scalar_op("exp"))
    assert a != get_scalar_op("log")
    assert a != "exp"
    assert str(a) == repr(a) == "exp"


def test_scipy_implementations_load_lazily() -> None:
    op = ScalarOp(get_scalar_op("erf").row)
    assert op._impl is None
    assert op.impl(np.float64(0.0)) == 0.0
    assert op._impl is not None


@pytest.mark.parametrize(("kw", "message"), [
    ({"rule": "nope"}, "scalar row x: unknown rule 'nope'"),
    ({"on_bool": "maybe"}, "on_bool must be 'bool', 'int8' or 'error', got 'maybe'"),
])
def test_bad_rows_are_refused(kw: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ScalarRow("x", 1, np.exp, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_compute_gives_the_declared_dtype(row: ScalarRow) -> None:
    op = SCALAR_OPS[row.name]
    dtypes = ["int64" if row.rule == "int" else "float32"] * row.nin
    if row.rule == "switch":
        dtypes[0] = "bool"
    values = [np.ones(4, dtype=d) for d in dtypes]
    out = op.output_dtypes(dtypes)[0]
    result = op.compute(values, out)
    assert result.dtype == np.dtype(out) and result.shape == (4,)
    assert not any(np.shares_memory(result, v) for v in values)
