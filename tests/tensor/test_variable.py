"""TensorVariable: Python operators (plain, reflected, with NumPy on the left),
the dtype rules for Python scalars, and the errors of truth value/len/iter."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from op_checks import check_against_numpy

import symarray as sa
import symarray.tensor as T  # noqa: N812 - Theano's convention
from symarray import config
from symarray.errors import DtypeError

# -- operators between variables -----------------------------------------

BINARY: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("+", operator.add), ("-", operator.sub), ("*", operator.mul),
    ("/", operator.truediv), ("//", operator.floordiv), ("%", operator.mod),
    ("**", operator.pow), ("<", operator.lt), ("<=", operator.le),
    (">", operator.gt), (">=", operator.ge),
]
BITWISE: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("&", operator.and_), ("|", operator.or_), ("^", operator.xor),
]


def _values(dtype: str, shape: tuple[int, ...], positive: bool = False) -> np.ndarray:
    rng = np.random.default_rng(0)
    if np.dtype(dtype).kind in "iu":
        return rng.integers(1 if positive else -4, 5, shape).astype(dtype)
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    return (rng.uniform(0.5, 2.0, shape) if positive else rng.normal(size=shape)
            ).astype(dtype)


@pytest.mark.parametrize(("sym", "fn"), BINARY, ids=[s for s, _ in BINARY])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_binary_operators(sym: str, fn: Callable[[Any, Any], Any], dtype: str) -> None:
    x, y = T.matrix(dtype=dtype), T.row(dtype=dtype)
    a = _values(dtype, (3, 4))
    b = _values(dtype, (1, 4), positive=True)  # divisors and exponents

    def ref(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        if sym == "**" and dtype.startswith("int"):
            v = v % 3
        with np.errstate(all="ignore"):
            return fn(u, v)

    if sym == "**" and dtype.startswith("int"):
        b = b % 3
    out = fn(x, y)
    check_against_numpy([x, y], out, [a, b], ref)


@pytest.mark.parametrize(("sym", "fn"), BITWISE, ids=[s for s, _ in BITWISE])
@pytest.mark.parametrize("dtype", ["bool", "uint8", "int32", "int64"])
def test_bitwise_operators(sym: str, fn: Callable[[Any, Any], Any], dtype: str) -> None:
    x, y = T.vector(dtype=dtype), T.vector(dtype=dtype)
    vals = [_values(dtype, (6,)), _values(dtype, (6,), positive=True)]
    check_against_numpy([x, y], fn(x, y), vals, fn, dtype)
    check_against_numpy([x], fn(x, True) if dtype == "bool" else fn(x, 6), vals[:1],
                        lambda u: fn(u, True) if dtype == "bool" else fn(u, 6), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int8", "bool"])
def test_unary_operators(dtype: str) -> None:
    x = T.vector(dtype=dtype)
    val = _values(dtype, (5,))
    if dtype != "bool":
        check_against_numpy([x], -x, [val], np.negative, dtype)
    check_against_numpy([x], abs(x), [val], np.abs, dtype)
    assert +x is x
    if dtype in ("int32", "int8", "bool"):
        check_against_numpy([x], ~x, [val], np.invert, dtype)


def test_unary_operator_errors() -> None:
    with pytest.raises(DtypeError, match="invert: inputs must be integers or bools, "
                       "got float64"):
        ~T.dvector()
    with pytest.raises(DtypeError, match="neg is not defined for bool inputs"):
        -T.vector(dtype="bool")


def test_abs_of_complex_is_real() -> None:
    z = T.cvector()
    val = np.array([3 + 4j, -1j], "complex64")
    check_against_numpy([z], abs(z), [val], np.abs, "float32")


def test_divmod_and_round() -> None:
    x = T.dvector()
    q, r = divmod(x, 3)
    val = np.array([-4.5, 7.0, 2.0])
    check_against_numpy([x], [q, r], [val], lambda v: divmod(v, 3))
    q2, r2 = divmod(7, x)
    check_against_numpy([x], [q2, r2], [val], lambda v: divmod(7, v))
    check_against_numpy([x], round(x), [np.array([0.5, 1.5, -2.5])], np.round)
    with pytest.raises(NotImplementedError, match="round\\(x, ndigits\\)"):
        round(x, 2)


def test_matmul_operator() -> None:
    if not hasattr(T, "dot"):
        pytest.skip("T.dot not there yet")
    a, b = T.dmatrix(), T.dmatrix()
    vals = [np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)]
    check_against_numpy([a, b], a @ b, vals, np.matmul)
    check_against_numpy([b], vals[0] @ b, vals[1:], lambda v: vals[0] @ v)


# -- reflected forms ------------------------------------------------------

REFLECTED = BINARY + BITWISE


@pytest.mark.parametrize(("sym", "fn"), REFLECTED, ids=[s for s, _ in REFLECTED])
@pytest.mark.parametrize("left", ["python", "numpy_scalar", "numpy_array"])
def test_reflected_operators(sym: str, fn: Callable[[Any, Any], Any],
                             left: str) -> None:
    dtype = "int32" if (sym in "&|^" or sym == "**") else "float64"
    x = T.vector(dtype=dtype)
    val = _values(dtype, (4,), positive=True)
    others: dict[str, Any] = {
        "python": 3,
        "numpy_scalar": np.int32(3) if dtype == "int32" else np.float64(3.0),
        "numpy_array": np.arange(1, 5).astype(dtype),
    }
    other = others[left]
    out = fn(other, x)
    assert isinstance(out, T.TensorVariable), f"{left} {sym} x gave {type(out)}"
    check_against_numpy([x], out, [val], lambda v: fn(other, v))


def test_numpy_arrays_on_the_left_make_graphs() -> None:
    x = T.fvector()
    assert T.TensorVariable.__array_ufunc__ is None
    for out in (np.ones(3, "float32") + x, np.ones(3) * x, np.float64(2) - x,
                np.ones(3) < x, np.ones((2, 3)) / x):
        assert isinstance(out, T.TensorVariable)
    assert (np.ones(3) + x).dtype == "float64"  # NumPy data are not weak
    assert (np.float32(2) * x).dtype == "float32"
    with pytest.raises(TypeError):
        np.add(np.ones(3), x)  # an explicit ufunc call cannot take variables


def test_equality_keeps_identity_semantics() -> None:
    x, y = T.dvector(), T.dvector()
    assert x == x and x != y
    assert {x: 1}[x] == 1
    assert (np.ones(3) == x) is False


# -- dtypes of Python scalars (weak) --------------------------------------


@pytest.mark.parametrize(("make", "expr", "expected"), [
    (T.ivector, lambda x: x + 1, "int32"),
    (T.bvector, lambda x: x + 1, "int8"),
    (T.bvector, lambda x: x * -128, "int8"),
    (T.bvector, lambda x: x + 1000, "int16"),
    (T.lvector, lambda x: x + 1, "int64"),
    (T.wvector, lambda x: 2 * x, "int16"),
    (lambda: T.vector(dtype="uint8"), lambda x: x + 1, "uint8"),
    (lambda: T.vector(dtype="uint8"), lambda x: x - 1, "uint8"),
    (lambda: T.vector(dtype="uint8"), lambda x: x + -1, "int16"),
    (lambda: T.vector(dtype="bool"), lambda x: x + 1, "int8"),
    (lambda: T.vector(dtype="bool"), lambda x: x & True, "bool"),
    (T.ivector, lambda x: x + True, "int32"),
    (T.ivector, lambda x: x / 2, "float64"),
    (T.bvector, lambda x: x / 2, "float32"),
    (T.fvector, lambda x: x + 1.5, "float32"),
    (T.fvector, lambda x: x * 0.5, "float32"),
    (T.fvector, lambda x: 0.5 * x, "float32"),
    (T.fvector, lambda x: x / 3, "float32"),
    (T.fvector, lambda x: x ** 2, "float32"),
    (T.fvector, lambda x: 2.0 ** x, "float32"),
    (T.fvector, lambda x: x - 1e10, "float32"),
    (T.fvector, lambda x: x + 1j, "complex64"),
    (T.dvector, lambda x: x + 1j, "complex128"),
    (T.fvector, lambda x: x > 0.5, "bool"),
    (T.fvector, lambda x: T.maximum(x, 0), "float32"),
    (T.fvector, lambda x: T.switch(x > 0, x, 0.1), "float32"),
    (T.dvector, lambda x: x + np.float32(1), "float64"),
    (T.fvector, lambda x: x + np.float64(1), "float64"),
    (T.fvector, lambda x: x + np.ones(3), "float64"),
    (T.ivector, lambda x: x + np.int64(1), "int64"),
    (T.ivector, lambda x: x + T.constant(3), "int32"),
])
def test_python_scalar_dtypes(make: Callable[[], Any], expr: Callable[[Any], Any],
                              expected: str) -> None:
    assert expr(make()).dtype == expected


@pytest.mark.parametrize("floatx", ["float32", "float64"])
def test_python_floats_with_ints_give_floatx(floatx: str) -> None:
    with config.change_flags(floatX=floatx):
        assert (T.ivector() + 1.5).dtype == floatx
        assert (T.bvector() * 0.5).dtype == floatx
        assert (T.lvector() - 2.5).dtype == floatx
        assert (T.vector(dtype="bool") + 0.5).dtype == floatx


def test_float32_stays_float32_when_computed() -> None:
    x = T.fvector()
    out = (x * 0.5 + 1) / 3 - 2.0 ** x
    f = sa.function([x], out)
    val = np.array([0.1, 1.0, 2.5], "float32")
    result = f(val)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, (val * 0.5 + 1) / 3 - 2.0 ** val, rtol=1e-6)
    # the Python scalar became a float32 constant in the graph
    mul = (x * 0.5).owner
    assert [i.dtype for i in mul.inputs] == ["float32", "float32"]


def test_python_int_too_large_for_the_int_dtype_upcasts_values() -> None:
    x = T.bvector()
    check_against_numpy([x], x + 1000, [np.array([100, -100], "int8")],
                        lambda v: v.astype("int16") + 1000, "int16")
    u = T.vector(dtype="uint8")
    check_against_numpy([u], u + -1, [np.array([0, 255], "uint8")],
                        lambda v: v.astype("int16") - 1, "int16")


def test_weak_int_values_compute_in_the_strong_dtype() -> None:
    x = T.bvector()
    check_against_numpy([x], x * 2, [np.array([100, -3], "int8")],
                        lambda v: v * np.int8(2), "int8")


# -- truth value, len, iteration ------------------------------------------


def test_no_truth_value() -> None:
    x = T.dscalar()
    with pytest.raises(TypeError, match=r"a symbolic variable has no truth value; use "
                       r"T.switch\(cond, a, b\) or ifelse"):
        bool(x)
    with pytest.raises(TypeError, match="no truth value"):
        if x > 0:
            pass
    with pytest.raises(TypeError, match="no truth value"):
        _ = 0 < x < 1  # chained comparisons need a truth value


def test_no_len() -> None:
    with pytest.raises(TypeError, match=r"len\(\) of a symbolic 1-d variable is not "
                       r"known before it is computed; use x.shape\[0\]"):
        len(T.dvector())
    with pytest.raises(TypeError, match="len"):
        len(T.tensor("float64", shape=(3,)))


def test_iteration_needs_a_static_length() -> None:
    with pytest.raises(TypeError, match=r"cannot iterate over x of type "
                       r"Tensor\{float64, \(\?,\)\}: its length is not static"):
        iter(T.dvector("x"))
    with pytest.raises(TypeError, match=r"cannot iterate over a 0-d variable"):
        list(T.dscalar())
    with pytest.raises(TypeError, match="not static"):
        _a, _b = T.dmatrix()


def test_iteration_over_a_static_length() -> None:
    if not hasattr(T, "subtensor") or not hasattr(T.subtensor, "getitem"):
        pytest.skip("indexing not there yet")
    x = T.tensor("float64", shape=(2, None))
    first, second = x
    val = np.arange(6.0).reshape(2, 3)
    check_against_numpy([x], [first, second], [val], lambda v: (v[0], v[1]))


# -- methods --------------------------------------------------------------


def test_static_facts() -> None:
    x = T.tensor("float32", shape=(1, None))
    assert x.ndim == 2 and x.dtype == "float32" and x.broadcastable == (True, False)


def test_astype_dimshuffle_transpose_methods() -> None:
    x = T.dmatrix()
    assert x.astype("int32").dtype == "int32"
    assert x.astype(x.dtype) is x
    assert x.dimshuffle(1, "x", 0).type.shape == (None, 1, None)
    assert x.T.owner.op == x.transpose().owner.op
    val = np.arange(6.0).reshape(2, 3)
    check_against_numpy([x], x.transpose(1, 0), [val], np.transpose)


def test_clip_and_round_methods() -> None:
    x = T.fvector()
    val = np.array([-2.5, 0.5, 3.5], "float32")
    check_against_numpy([x], x.clip(-1, 2), [val], lambda v: np.clip(v, -1, 2),
                        "float32")
    check_against_numpy([x], x.round("half_away_from_zero"), [val],
                        lambda v: np.sign(v) * np.floor(np.abs(v) + 0.5), "float32")
