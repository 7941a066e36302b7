"""TensorType: construction, equality, is_super, and filter's conversion rules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812 - Theano's convention
from symarray.errors import DtypeError, RankError, ShapeMismatchError
from symarray.tensor.type import DTYPES, TensorType, dtype_of

# -- construction ---------------------------------------------------------


def test_broadcastable_and_shape_forms() -> None:
    a = TensorType("float64", (False, True))
    assert a.shape == (None, 1) and a.broadcastable == (False, True) and a.ndim == 2
    b = TensorType("float64", shape=(None, 1))
    assert a == b
    c = TensorType("float32", (3, None))  # a shape given positionally
    assert c.shape == (3, None) and c.broadcastable == (False, False)
    assert TensorType("int8", ()).ndim == 0
    assert TensorType("int8", [np.bool_(True)]).shape == (1,)
    assert TensorType("float64", shape=(np.int64(2),)).shape == (2,)


def test_dtype_spellings() -> None:
    assert TensorType(np.float32, ()).dtype == "float32"
    assert TensorType("f8", ()).dtype == "float64"
    assert TensorType(np.dtype("uint16"), ()).dtype == "uint16"
    assert TensorType(bool, ()).dtype == "bool"
    with sa.config.change_flags(floatX="float32"):
        assert TensorType("floatX", ()).dtype == "float32"
    assert dtype_of(np.dtype("float32")) == "float32"
    for d in DTYPES:
        assert dtype_of(d) == d


@pytest.mark.parametrize(("dtype", "message"), [
    ("float33", "unknown dtype 'float33'; expected one of bool, int8"),
    (object, "dtype object is not supported"),
    ("U3", "dtype str96 is not supported"),
])
def test_bad_dtypes(dtype: Any, message: str) -> None:
    with pytest.raises(DtypeError, match=message):
        TensorType(dtype, ())


@pytest.mark.parametrize("entry", [-1, 1.5, "a", True])
def test_bad_shape_entries(entry: Any) -> None:
    with pytest.raises(TypeError, match=r"shape entries must be non-negative ints or "
                       r"None, got"):
        TensorType("float64", shape=(None, entry))


def test_shape_or_broadcastable_is_needed() -> None:
    with pytest.raises(TypeError, match="TensorType needs broadcastable or shape"):
        TensorType("float64")


def test_str() -> None:
    assert str(TensorType("float32", shape=(None, 3))) == "Tensor{float32, (?, 3)}"
    assert str(TensorType("int8", shape=(None,))) == "Tensor{int8, (?,)}"
    assert str(TensorType("int8", shape=())) == "Tensor{int8, ()}"
    assert str(TensorType("int8", shape=(), name="idx")) == "idx"


def test_clone() -> None:
    t = TensorType("float32", shape=(None, 3))
    assert t.clone() == t
    assert t.clone(dtype="int8") == TensorType("int8", shape=(None, 3))
    assert t.clone(shape=(2,)) == TensorType("float32", shape=(2,))
    assert t.clone(broadcastable=(True, False)) == TensorType("float32", (True, False))


# -- equality, hashing, is_super -----------------------------------------


def test_equality_and_hash() -> None:
    a = TensorType("float64", shape=(None, 1))
    assert a == TensorType("float64", (False, True))
    assert hash(a) == hash(TensorType("float64", (False, True)))
    assert a != TensorType("float32", (False, True))
    assert a != TensorType("float64", (False, False))
    assert a != TensorType("float64", (False, True, False))
    assert a != "float64"
    assert len({a, TensorType("float64", shape=(None, 1)), T.dmatrix().type}) == 2


def test_is_super() -> None:
    general = TensorType("float64", shape=(None, None))
    specific = TensorType("float64", shape=(3, 1))
    assert general.is_super(specific)
    assert not specific.is_super(general)
    assert general.is_super(general)
    assert not general.is_super(TensorType("float32", shape=(3, 1)))
    assert not general.is_super(TensorType("float64", shape=(None,)))
    assert TensorType("float64", shape=(3, None)).is_super(specific)
    assert not TensorType("float64", shape=(4, None)).is_super(specific)


def test_convert_variable() -> None:
    general = TensorType("float64", shape=(None, None))
    v = T.tensor("float64", shape=(3, 1))
    assert general.convert_variable(v) is v
    assert TensorType("float64", shape=(3, 1)).convert_variable(T.dmatrix()) is None
    assert general.convert_variable(T.fmatrix()) is None


def test_calling_a_type_makes_a_variable() -> None:
    t = TensorType("int32", shape=(None,))
    v = t("v")
    assert isinstance(v, T.TensorVariable) and v.type == t and v.name == "v"


# -- filter ---------------------------------------------------------------

F32V = TensorType("float32", shape=(None,))
F32S = TensorType("float32", shape=())
F64S = TensorType("float64", shape=())
I32S = TensorType("int32", shape=())
I8V = TensorType("int8", shape=(None,))


@pytest.mark.parametrize(("ttype", "data", "expected"), [
    # exact dtype: returned as it is
    (F32V, np.ones(2, "float32"), [1.0, 1.0]),
    # safe casts of arrays
    (F32V, np.array([1, 2], "int8"), [1.0, 2.0]),
    (F32V, np.array([1, 2], "int16"), [1.0, 2.0]),
    (TensorType("int64", shape=(None,)), np.array([1], "int32"), [1]),
    # Python floats and lists of them go into any float type
    (F32S, 0.1, np.float32(0.1)),
    (F32V, [0.1, 0.2], np.array([0.1, 0.2], "float32")),
    (F64S, 0.1, 0.1),
    # Python ints into floats, and into ints when they fit
    (F32S, 3, 3.0),
    (I32S, 7, 7),
    (I32S, 7.0, 7),
    (I32S, True, 1),
    (I8V, [1, -2], [1, -2]),
    # NumPy scalars: when the value is kept exactly
    (F32S, np.float64(0.5), 0.5),
    (I32S, np.int64(5), 5),
    (F64S, np.float32(0.1), np.float64(np.float32(0.1))),
])
def test_filter_accepts(ttype: TensorType, data: Any, expected: Any) -> None:
    out = ttype.filter(data)
    assert isinstance(out, np.ndarray) and out.dtype == ttype.numpy_dtype
    np.testing.assert_array_equal(out, expected)


def test_filter_returns_exact_arrays_unchanged() -> None:
    data = np.ones(3, "float32")
    assert F32V.filter(data) is data
    assert F32V.filter(data, strict=True) is data


def test_filter_takes_arrays_of_the_dtype_in_any_spelling_unchanged() -> None:
    # the fast test compares dtype objects; equal names still pass as they are
    swapped = np.ones(3, ">f4")
    assert F32V.filter(swapped) is swapped
    longlong = np.ones(2, np.longlong)
    assert TensorType("int64", shape=(None,)).filter(longlong) is longlong
    sub = np.ones(3, "float32").view(np.ma.MaskedArray)
    assert F32V.filter(sub) is sub


@pytest.mark.parametrize(("ttype", "data", "message"), [
    (F32V, np.ones(2), r"expected an array of dtype float32 \(Tensor\{float32, "
     r"\(\?,\)\}\), got float64; that could lose precision: cast it yourself, or pass "
     r"allow_input_downcast=True"),
    (F32S, np.array(0.5), "got float64; that could lose precision"),
    (F32V, np.array([1, 2], "int32"), "got int32; that could lose precision"),
    (I8V, np.array([1], "int16"), "got int16"),
    (TensorType("uint8", shape=()), np.array(1, "int8"), "got int8"),
    (F32S, np.float64(0.1), r"value np.float64\(0.1\) does not fit dtype float32 "
     r"exactly; pass allow_input_downcast=True"),
    (I32S, 1.5, "value 1.5 does not fit dtype int32 exactly"),
    (I32S, 2**40, "does not fit dtype int32 exactly"),
    (I8V, [1, 300], "does not fit dtype int8 exactly"),
    (F32S, 1 + 2j, r"value \(1\+2j\) does not fit dtype float32"),
    (F32S, "a", "cannot convert str 'a' to float32"),
    (F32S, None, "cannot convert NoneType None to float32"),
    (F32V, [1, "a"], "cannot convert list"),
])
def test_filter_refuses(ttype: TensorType, data: Any, message: str) -> None:
    with pytest.raises(DtypeError, match=message):
        ttype.filter(data)


def test_allow_downcast() -> None:
    out = F32V.filter(np.array([0.1, 1e40]), allow_downcast=True)
    assert out.dtype == np.float32 and np.isinf(out[1])
    assert I32S.filter(1.7, allow_downcast=True) == 1
    with pytest.raises(DtypeError):
        F32S.filter(0.1, allow_downcast=False)
    assert F32S.filter(0.5, allow_downcast=False) == 0.5


def test_strict() -> None:
    with pytest.raises(DtypeError, match=r"expected an ndarray of dtype float32 "
                       r"\(Tensor\{float32, \(\)\}\), got float64; strict inputs"):
        F32S.filter(np.array(1.0), strict=True)
    with pytest.raises(DtypeError, match="got float; strict"):
        F32S.filter(1.0, strict=True)
    with pytest.raises(DtypeError, match="got float32"):
        F32S.filter(np.float32(1.0), strict=True)
    assert F32S.is_valid_value(np.array(1.0, "float32"))
    assert not F32S.is_valid_value(np.array(1.0))
    assert not F32S.is_valid_value(np.ones(2, "float32"))


def test_filter_checks_rank_and_static_lengths() -> None:
    with pytest.raises(RankError, match=r"expected a 1-d array of float32 \(Tensor\{"
                       r"float32, \(\?,\)\}\), got a 2-d array of shape \(2, 2\)"):
        F32V.filter(np.ones((2, 2), "float32"))
    with pytest.raises(RankError, match="expected a 0-d array"):
        F32S.filter([1.0])
    t = TensorType("float64", shape=(None, 3))
    with pytest.raises(ShapeMismatchError, match=r"expected length 3 in dimension 1 "
                       r"\(Tensor\{float64, \(\?, 3\)\}\), got shape \(2, 4\)"):
        t.filter(np.ones((2, 4)))
    assert t.filter(np.ones((0, 3))).shape == (0, 3)


def test_filter_refuses_symbolic_variables() -> None:
    with pytest.raises(TypeError, match="got the symbolic variable x; pass a value, or "
                       "substitute variables with givens"):
        F32S.filter(T.fscalar("x"))


def test_function_inputs_follow_filter() -> None:
    x = T.fvector("x")
    f = sa.function([x], x * 2)
    assert f([0.1, 0.2]).dtype == np.float32
    with pytest.raises(DtypeError, match="float64; that could lose precision"):
        f(np.array([0.1, 0.2]))
    g = sa.function([x], x * 2, allow_input_downcast=True)
    assert g(np.array([0.1, 0.2])).dtype == np.float32


# -- values ---------------------------------------------------------------


def test_values_eq() -> None:
    t = TensorType("float64", shape=(None,))
    assert t.values_eq(np.array([1.0, np.nan]), np.array([1.0, np.nan]))
    assert not t.values_eq(np.array([1.0]), np.array([1.0, 1.0]))
    assert not t.values_eq(np.array([1.0]), np.array([1.0 + 1e-12]))
    assert t.values_eq_approx(np.array([1.0]), np.array([1.0 + 1e-12]))
    assert not t.values_eq_approx(np.array([1.0]), np.array([1.1]))
    assert F32V.values_eq_approx(np.array([1.0], "float32"), np.array([1.00001]))
    assert I8V.values_eq_approx(np.array([1], "int8"), np.array([1], "int8"))


def test_make_constant() -> None:
    c = F32V.make_constant(np.array([1.0, 2.0], "float32"), name="c")
    assert isinstance(c, T.TensorConstant) and c.type == F32V and c.name == "c"
