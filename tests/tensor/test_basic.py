"""Constructors (``T.matrix``, ``T.fvector``...), constant, as_tensor_variable."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import symarray.tensor as T  # noqa: N812 - Theano's convention
from symarray import config
from symarray.errors import DtypeError, RankError
from symarray.tensor.type import TensorType

KINDS = {
    "scalar": (), "vector": (None,), "row": (1, None), "col": (None, 1),
    "matrix": (None, None), "tensor3": (None,) * 3, "tensor4": (None,) * 4,
    "tensor5": (None,) * 5,
}
PREFIXES = {
    "b": "int8", "w": "int16", "i": "int32", "l": "int64", "f": "float32",
    "d": "float64", "c": "complex64", "z": "complex128",
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_generic_constructors_use_floatx(kind: str) -> None:
    v = getattr(T, kind)("v")
    assert isinstance(v, T.TensorVariable)
    assert v.type == TensorType(config.floatX, shape=KINDS[kind]) and v.name == "v"
    with config.change_flags(floatX="float32"):
        assert getattr(T, kind)().dtype == "float32"
    with config.change_flags(floatX="float64"):
        assert getattr(T, kind)().dtype == "float64"
    assert getattr(T, kind)(dtype="int16").dtype == "int16"
    assert getattr(T, kind)("w", "uint8").dtype == "uint8"


@pytest.mark.parametrize("prefix", sorted(PREFIXES))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_prefixed_constructors(prefix: str, kind: str) -> None:
    make = getattr(T, prefix + kind)
    v = make("name")
    assert v.type == TensorType(PREFIXES[prefix], shape=KINDS[kind])
    assert v.name == "name"
    assert make.__name__ == prefix + kind
    with config.change_flags(floatX="float32"):
        assert make().dtype == PREFIXES[prefix]  # floatX does not matter


def test_row_and_col_broadcastable_patterns() -> None:
    assert T.row().broadcastable == (True, False)
    assert T.col().broadcastable == (False, True)
    assert T.frow().broadcastable == (True, False)
    assert T.matrix().broadcastable == (False, False)
    assert T.scalar().broadcastable == ()


def test_constructors_take_static_shapes() -> None:
    assert T.matrix(shape=(2, None)).type.shape == (2, None)
    assert T.row(shape=(None, 5)).type.shape == (1, 5)
    assert T.fcol(shape=(4, 1)).type.shape == (4, 1)
    with pytest.raises(TypeError, match=r"row: dimension 0 is broadcastable \(length "
                       r"1\), got length 3 in shape \(3, None\)"):
        T.row(shape=(3, None))
    with pytest.raises(TypeError, match=r"matrix: shape \(2,\) must have 2 entries"):
        T.matrix(shape=(2,))
    with pytest.raises(TypeError, match=r"^dvector: shape \(1, 2\) must have 1 "):
        T.dvector(shape=(1, 2))


def test_plural_constructors() -> None:
    a, b = T.dmatrices("a", "b")
    assert a.type == T.dmatrix().type and (a.name, b.name) == ("a", "b")
    x, y, z = T.fvectors(3)
    assert x.dtype == "float32" and x.ndim == 1 and x is not y and z.name is None
    (s,) = T.iscalars("s")
    assert s.dtype == "int32" and s.ndim == 0
    assert [v.dtype for v in T.lvectors("p", "q")] == ["int64", "int64"]
    (m,) = T.matrices("m", dtype="int8")
    assert m.dtype == "int8"
    assert T.rows("r")[0].broadcastable == (True, False)
    assert len(T.tensor3s("u", "v")) == 2


def test_tensor_constructor_forms() -> None:
    assert T.tensor("float32", shape=(None, 3)).type.shape == (None, 3)
    assert T.tensor("int8", (False, True)).type.shape == (None, 1)
    assert T.tensor("int8", broadcastable=(True,)).type.shape == (1,)
    assert T.tensor(dtype="float64", ndim=3).type.shape == (None,) * 3
    with config.change_flags(floatX="float32"):
        assert T.tensor(shape=(None,)).dtype == "float32"
    named = T.tensor("float32", shape=(2,), name="t")
    assert named.name == "t"
    with pytest.raises(TypeError, match=r"tensor\(\) needs shape, broadcastable"):
        T.tensor("float32")


# -- constant -------------------------------------------------------------


@pytest.mark.parametrize(("value", "dtype"), [
    (3, "int8"), (-128, "int8"), (128, "int16"), (300, "int16"),
    (70000, "int32"), (2**31, "int64"), (-(2**40), "int64"), (2**63, "uint64"),
    (True, "bool"), (1j, "complex128"),
    (np.float32(1.5), "float32"), (np.int16(3), "int16"), (np.float64(2), "float64"),
    ([1, 2], "int64"), ([True, False], "bool"),
    (np.array([1, 2], "uint8"), "uint8"), (np.zeros((2, 2), "float32"), "float32"),
])
def test_constant_dtypes(value: Any, dtype: str) -> None:
    c = T.constant(value)
    assert isinstance(c, T.TensorConstant)
    assert c.dtype == dtype
    np.testing.assert_array_equal(c.data, np.asarray(value).astype(dtype))


@pytest.mark.parametrize("floatx", ["float32", "float64"])
def test_python_floats_become_floatx(floatx: str) -> None:
    with config.change_flags(floatX=floatx):
        assert T.constant(3.5).dtype == floatx
        assert T.constant([1.5, 2.5]).dtype == floatx
        assert T.constant([]).dtype == floatx
        assert T.as_tensor_variable(0.1).dtype == floatx
        assert T.constant(np.float64(3.5)).dtype == "float64"  # NumPy data keeps it
        assert T.constant(np.array([1.5])).dtype == "float64"


def test_constant_from_python_scalars_is_weak() -> None:
    assert T.constant(3).weak and T.constant(3.5).weak and T.constant(True).weak
    assert not T.constant(np.int8(3)).weak
    assert not T.constant([3]).weak
    assert not T.constant(3, dtype="int64").weak  # an explicit dtype is strong
    assert (T.ivector() + T.constant(3, dtype="int64")).dtype == "int64"
    assert (T.ivector() + T.constant(3)).dtype == "int32"


def test_constant_options() -> None:
    c = T.constant(2.7, dtype="int32", name="c")
    assert c.dtype == "int32" and c.data == 2 and c.name == "c"
    assert T.constant(np.ones(3), dtype="float32").dtype == "float32"
    padded = T.constant([1, 2], ndim=3)
    assert padded.type.shape == (1, 1, 2) and padded.data.shape == (1, 1, 2)
    assert T.constant(5, ndim=1).broadcastable == (True,)
    with pytest.raises(RankError, match="constant: value has 2 dimensions, more than "
                       "ndim=1"):
        T.constant(np.ones((2, 2)), ndim=1)


def test_constant_knows_its_whole_static_shape() -> None:
    assert T.constant(np.ones((1, 3))).type.shape == (1, 3)
    assert T.constant(np.ones((1, 3))).type.broadcastable == (True, False)
    assert T.constant(np.ones((0,))).type.shape == (0,)


@pytest.mark.parametrize(("value", "error", "message"), [
    ("abc", DtypeError, "cannot make a tensor constant from strings: 'abc'"),
    (["a", "b"], DtypeError, "from strings"),
    (None, DtypeError, "cannot make a tensor constant from NoneType None"),
    ({"a": 1}, DtypeError, "cannot make a tensor constant from dict"),
    (2**64, DtypeError, "integer 18446744073709551616 does not fit in 64 bits"),
])
def test_constant_errors(value: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        T.constant(value)


def test_constant_refuses_variables() -> None:
    with pytest.raises(TypeError, match="constant: got the symbolic variable x"):
        T.constant(T.dvector("x"))


def test_constant_evaluates_to_its_data() -> None:
    c = T.constant([[1.0, 2.0]])
    np.testing.assert_array_equal(c.eval(), [[1.0, 2.0]])
    assert T.get_scalar_constant_value(T.constant(7)) == 7


# -- as_tensor_variable ---------------------------------------------------


def test_variables_pass_through() -> None:
    x = T.dmatrix()
    assert T.as_tensor_variable(x) is x
    assert T.as_tensor(x) is x
    assert T.as_tensor_variable(x, ndim=2) is x
    assert T.as_tensor_variable(x.owner or (x * 2).owner).owner.op == T.mul


def test_as_tensor_variable_makes_constants() -> None:
    c = T.as_tensor_variable([1, 2, 3], name="c")
    assert isinstance(c, T.TensorConstant) and c.dtype == "int64" and c.name == "c"
    assert T.as_tensor_variable(np.float32(2)).dtype == "float32"
    assert T.as_tensor_variable(3).dtype == "int8"
    assert T.as_tensor_variable(3, dtype="float32").dtype == "float32"
    assert T.as_tensor_variable(5, ndim=2).type.shape == (1, 1)


def test_as_tensor_variable_ndim() -> None:
    v = T.dvector()
    padded = T.as_tensor_variable(v, ndim=3)
    assert padded.broadcastable == (True, True, False)
    r = T.tensor("float64", shape=(1, 1, None))
    assert T.as_tensor_variable(r, ndim=1).type.shape == (None,)
    with pytest.raises(RankError, match=r"expected a 1-d tensor, got .* only leading "
                       "broadcastable dimensions can be dropped"):
        T.as_tensor_variable(T.dmatrix(), ndim=1)


def test_as_tensor_variable_dtype_casts_variables() -> None:
    out = T.as_tensor_variable(T.ivector(), dtype="float64")
    assert out.dtype == "float64"


def test_as_tensor_variable_of_an_apply_gives_its_output() -> None:
    y = T.dvector() + 1
    assert T.as_tensor_variable(y.owner) is y


def test_as_tensor_variable_refuses_other_types() -> None:
    class Fake:
        owner = None
        type = "not a type"

    with pytest.raises(TypeError, match="cannot convert"):
        T.as_tensor_variable(Fake())
