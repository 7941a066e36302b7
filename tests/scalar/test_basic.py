"""Output-dtype rules of scalar ops (the rules in symarray/scalar/basic.py)."""

from __future__ import annotations

import numpy as np
import pytest

from symarray import config
from symarray.errors import DtypeError
from symarray.scalar import get_scalar_op, upgrade_to_float
from symarray.scalar.basic import result_dtype


@pytest.mark.parametrize(("dtype", "expected"), [
    ("bool", "float32"), ("int8", "float32"), ("uint8", "float32"),
    ("int16", "float32"), ("uint16", "float32"), ("int32", "float64"),
    ("uint32", "float64"), ("int64", "float64"), ("uint64", "float64"),
    ("float32", "float32"), ("float64", "float64"), ("complex64", "complex64"),
    ("complex128", "complex128"),
])
def test_upgrade_to_float(dtype: str, expected: str) -> None:
    assert upgrade_to_float(dtype) == expected


@pytest.mark.parametrize(("op", "dtypes", "expected"), [
    # upcast: NumPy's result type
    ("add", ["int8", "int16"], "int16"),
    ("add", ["uint8", "int8"], "int16"),
    ("add", ["int32", "float32"], "float64"),
    ("add", ["float32", "float32"], "float32"),
    ("add", ["float32", "complex64"], "complex64"),
    ("add", ["bool", "bool"], "bool"),
    ("mul", ["int64", "uint64"], "float64"),
    # float: ints and bools become floats, float32 stays
    ("exp", ["int8"], "float32"),
    ("exp", ["int16"], "float32"),
    ("exp", ["int32"], "float64"),
    ("exp", ["bool"], "float32"),
    ("exp", ["float32"], "float32"),
    ("exp", ["complex64"], "complex64"),
    ("true_div", ["int32", "int32"], "float64"),
    ("true_div", ["int8", "uint8"], "float32"),
    ("true_div", ["float32", "int8"], "float32"),
    ("true_div", ["float32", "int32"], "float64"),
    # bool
    ("lt", ["float32", "int64"], "bool"),
    ("isnan", ["complex64"], "bool"),
    # abs / angle: complex gives the matching float
    ("abs", ["complex64"], "float32"),
    ("abs", ["complex128"], "float64"),
    ("abs", ["int8"], "int8"),
    ("real", ["complex64"], "float32"),
    ("angle", ["complex128"], "float64"),
    ("angle", ["int32"], "float64"),
    ("angle", ["float32"], "float32"),
    # int (bitwise)
    ("and_", ["uint8", "uint8"], "uint8"),
    ("or_", ["bool", "bool"], "bool"),
    ("xor", ["int8", "int32"], "int32"),
    ("invert", ["bool"], "bool"),
    # switch: the branches decide
    ("switch", ["bool", "float32", "float32"], "float32"),
    ("switch", ["int64", "int8", "float32"], "float32"),
    # clip: the first input decides
    ("clip", ["int32", "int64", "int64"], "int32"),
    # on_bool
    ("pow", ["bool", "bool"], "int8"),
    ("sqr", ["bool"], "int8"),
    ("int_div", ["bool", "bool"], "int8"),
    ("mod", ["bool", "bool"], "int8"),
    ("sub", ["bool", "int8"], "int8"),
    ("maximum", ["bool", "bool"], "bool"),
])
def test_output_dtypes(op: str, dtypes: list[str], expected: str) -> None:
    assert get_scalar_op(op).output_dtypes(dtypes) == [expected]


@pytest.mark.parametrize(("dtypes", "weak", "expected"), [
    # weak ints yield to strong ints and floats
    (["int32", "int8"], [False, True], "int32"),
    (["int8", "int8"], [False, True], "int8"),
    (["uint8", "int8"], [False, True], "uint8"),
    (["float32", "int16"], [False, True], "float32"),
    (["bool", "int8"], [False, True], "int8"),
    # weak floats yield to strong floats, give floatX over ints
    (["float32", "float64"], [False, True], "float32"),
    (["float64", "float64"], [False, True], "float64"),
    (["int32", "float64"], [False, True], "float64"),
    (["int8", "float64"], [False, True], "float64"),
    (["bool", "float64"], [False, True], "float64"),
    # weak bools always yield
    (["int16", "bool"], [False, True], "int16"),
    (["float32", "bool"], [False, True], "float32"),
    # weak complex: the complex matching the strong float
    (["float32", "complex128"], [False, True], "complex64"),
    (["float64", "complex128"], [False, True], "complex128"),
    (["int32", "complex128"], [False, True], "complex128"),
    (["complex64", "complex128"], [False, True], "complex64"),
    # strong inputs: NumPy's result type
    (["float32", "float64"], [False, False], "float64"),
    (["float64", "float32"], [False, False], "float64"),
    (["int32", "int8"], None, "int32"),
    # only weak inputs: their own dtypes
    (["int8", "int16"], [True, True], "int16"),
    (["int8", "float64"], [True, True], "float64"),
    # the weak side may come first
    (["int8", "float32"], [True, False], "float32"),
])
def test_result_dtype_with_weak_inputs(dtypes: list[str], weak: list[bool] | None,
                                       expected: str) -> None:
    assert result_dtype(dtypes, weak) == expected


def test_weak_float_over_ints_follows_floatx() -> None:
    with config.change_flags(floatX="float32"):
        assert result_dtype(["int32", "float32"], [False, True]) == "float32"
        assert result_dtype(["int32", "complex64"], [False, True]) == "complex64"
        assert get_scalar_op("add").output_dtypes(["int64", "float32"],
                                                  [False, True]) == ["float32"]
    assert result_dtype(["int32", "float64"], [False, True]) == config.floatX


@pytest.mark.parametrize("op", ["sub", "neg", "sgn"])
def test_all_bool_arithmetic_numpy_refuses_is_refused(op: str) -> None:
    nin = get_scalar_op(op).nin
    with pytest.raises(DtypeError, match=rf"^{op} is not defined for bool inputs \(as "
                       r"in NumPy\); use ~x or T.xor for logic, or cast first"):
        get_scalar_op(op).output_dtypes(["bool"] * nin)


def test_bitwise_refuses_floats() -> None:
    with pytest.raises(DtypeError, match=r"^and_: inputs must be integers or bools, "
                       r"got "
                       r"float64; cast first \(x.astype\('int64'\)\)"):
        get_scalar_op("and_").output_dtypes(["int32", "float64"])


def test_complex_refused_where_undefined() -> None:
    with pytest.raises(DtypeError, match=r"^lt is not defined for complex inputs, got "
                       r"complex64; take T.real, T.imag or T.abs first"):
        get_scalar_op("lt").output_dtypes(["float32", "complex64"])
    with pytest.raises(DtypeError, match="clip is not defined for complex"):
        get_scalar_op("clip").output_dtypes(["complex64", "float32", "float32"])


def test_output_dtypes_checks_the_input_count() -> None:
    with pytest.raises(TypeError, match="add takes 2 inputs, got 1"):
        get_scalar_op("add").output_dtypes(["int8"])


def test_compute_casts_ints_for_float_ops() -> None:
    op = get_scalar_op("true_div")
    out = op.compute([np.array([1, 2], "int8"), np.array([2, 4], "int8")], "float32")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [0.5, 0.5])


def test_compute_bool_in_int8() -> None:
    out = get_scalar_op("sqr").compute([np.array([True, False])], "int8")
    assert out.dtype == np.int8 and out.tolist() == [1, 0]


def test_compute_copies_views() -> None:
    x = np.array([1 + 2j, 3 - 1j])
    out = get_scalar_op("real").compute([x], "float64")
    assert out.tolist() == [1.0, 3.0] and not np.shares_memory(out, x)
    y = np.array([1.0, 2.0])
    assert not np.shares_memory(get_scalar_op("real").compute([y], "float64"), y)
