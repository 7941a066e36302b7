"""Shape ops (symarray.tensor.shape_ops) against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from op_checks import check_against_numpy, check_infer_shape

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.errors import (
    AssertionFailedError,
    AxisError,
    DtypeError,
    RankError,
    ShapeMismatchError,
)
from symarray.tensor.shape_ops import split_entries, vector_entries

RNG = np.random.default_rng(7)
DTYPES = ("float32", "float64", "int32", "int64")


def _data(shape: tuple[int, ...], dtype: str = "float64") -> np.ndarray:
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(-5, 6, size=shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


def _var(ndim: int, dtype: str = "float64", name: str = "x") -> T.TensorVariable:
    return T.tensor(dtype, shape=(None,) * ndim, name=name)


# -- shape, shape_i ---------------------------------------------------------


@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 0, 4), (1, 5)])
def test_shape_and_shape_i(shape: tuple[int, ...]) -> None:
    x = _var(len(shape))
    s = T.shape(x)
    assert s.type == T.TensorType("int64", shape=(len(shape),))
    check_against_numpy([x], s, [_data(shape)], lambda v: np.asarray(v.shape, "int64"))
    check_infer_shape([x], s, [_data(shape)])
    for i in range(-len(shape), len(shape)):
        si = T.shape_i(x, i)
        assert si.ndim == 0 and si.dtype == "int64"
        check_against_numpy([x], si, [_data(shape)],
                            lambda v, i=i: np.int64(v.shape[i]))
        check_infer_shape([x], si, [_data(shape)])
    assert (x.shape).owner.op == T.Shape()


def test_shape_i_constant_value_and_errors() -> None:
    x = T.tensor("float32", shape=(None, 4))
    assert int(T.get_scalar_constant_value(T.shape_i(x, 1))) == 4
    assert int(T.get_scalar_constant_value(T.shape_i(x, -1))) == 4
    with pytest.raises(T.NotScalarConstantError):
        T.get_scalar_constant_value(T.shape_i(x, 0))
    with pytest.raises(AxisError, match="out of range"):
        T.shape_i(x, 2)
    with pytest.raises(RankError, match="no dimension 3"):
        T.Shape_i(3)(x)


# -- specify_shape --------------------------------------------------------------


def test_specify_shape_static_and_run_time() -> None:
    x = T.dmatrix("x")
    n = T.lscalar("n")
    y = T.specify_shape(x, (None, 3))
    assert y.type.shape == (None, 3)
    assert y.owner.op.view_map == {0: [0]}
    check_against_numpy([x], y, [_data((2, 3))], lambda v: v)
    check_infer_shape([x], y, [_data((2, 3))])
    z = T.specify_shape(x, (n, 3))
    assert z.type.shape == (None, 3)
    check_against_numpy([x, n], z, [_data((4, 3)), 4], lambda v, n: v)
    check_infer_shape([x, n], z, [_data((4, 3)), 4])
    f = sa.function([x, n], z)
    msg = r"expected shape \(5, 3\), got \(4, 3\)"
    with pytest.raises(ShapeMismatchError, match=msg):
        f(_data((4, 3)), 5)
    with pytest.raises(ShapeMismatchError, match=r"expected shape \(\?, 3\)"):
        sa.function([x], y)(_data((2, 2)))


def test_specify_shape_no_op_and_errors() -> None:
    x = T.tensor("float64", shape=(2, None))
    assert T.specify_shape(x, (2, None)) is x
    assert T.specify_shape(x, [None, None]) is x
    assert T.specify_shape(x, (2, 5)).type.shape == (2, 5)
    with pytest.raises(ShapeMismatchError, match="static length 2, but 3"):
        T.specify_shape(x, (3, None))
    with pytest.raises(RankError, match="has 2 dimensions"):
        T.specify_shape(x, (2,))
    with pytest.raises(DtypeError, match="expected an integer"):
        T.specify_shape(x, (T.dscalar(), None))
    v = T.dvector("v")
    assert T.specify_shape(v, 3).type.shape == (3,)
    assert T.specify_shape(v, T.shape(x)[1:]).ndim == 1


# -- reshape ------------------------------------------------------------------

RESHAPES = [
    ((6,), (2, 3)), ((2, 3), (3, 2)), ((2, 3), (-1,)), ((2, 3, 4), (4, -1)),
    ((2, 3, 4), (-1, 2, 3)), ((0, 3), (3, 0)), ((0, 3), (-1, 3)), ((), (1, 1)),
    ((1,), ()), ((4,), (2, 1, 2)), ((2, 0), (0,)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("in_shape,new", RESHAPES)
def test_reshape_constant_shape(dtype: str, in_shape: tuple[int, ...],
                                new: tuple[int, ...]) -> None:
    x = _var(len(in_shape), dtype)
    y = T.reshape(x, new)
    value = _data(in_shape, dtype)
    expected = np.reshape(value, new)
    assert y.type.shape == tuple(s if s != -1 else None for s in new)
    check_against_numpy([x], y, [value], lambda v: np.reshape(v, new))
    check_infer_shape([x], y, [value])
    # with a static input shape every output length is static
    xs = T.tensor(dtype, shape=in_shape)
    assert T.reshape(xs, new).type.shape == expected.shape


@pytest.mark.parametrize("in_shape,new", RESHAPES)
def test_reshape_symbolic_entries(in_shape: tuple[int, ...],
                                  new: tuple[int, ...]) -> None:
    x = _var(len(in_shape))
    scalars = [T.lscalar(f"s{k}") for k in range(len(new))]
    y = T.reshape(x, scalars)
    assert y.ndim == len(new)
    if new:
        assert y.owner.inputs[1].owner.op == T.MakeVector("int64")
    value = _data(in_shape)
    check_against_numpy([x, *scalars], y, [value, *new], lambda v, *s: np.reshape(v, s))
    check_infer_shape([x, *scalars], y, [value, *new])
    # mixing ints and symbolic entries keeps the ints static
    if new:
        z = T.reshape(x, [scalars[0], *new[1:]])
        assert z.type.shape[1:] == tuple(None if s == -1 else s for s in new[1:])
        check_infer_shape([x, scalars[0]], z, [value, new[0]])


@pytest.mark.parametrize("in_shape,new", RESHAPES)
def test_reshape_symbolic_vector(in_shape: tuple[int, ...],
                                 new: tuple[int, ...]) -> None:
    x = _var(len(in_shape))
    shp = T.lvector("shp")
    y = T.reshape(x, shp, ndim=len(new))
    value = _data(in_shape)
    vec = np.asarray(new, dtype="int64").reshape(len(new))
    check_against_numpy([x, shp], y, [value, vec], lambda v, s: np.reshape(v, s))
    check_infer_shape([x, shp], y, [value, vec])
    # int32 vectors, ndim from a static length, methods
    s32 = T.tensor("int32", shape=(len(new),))
    check_against_numpy([x, s32], x.reshape(s32), [value, vec.astype("int32")],
                        lambda v, s: np.reshape(v, s))


def test_reshape_like_other_tensor() -> None:
    x, y = T.dvector("x"), T.dmatrix("y")
    out = T.reshape(x, y.shape)
    assert out.ndim == 2
    check_against_numpy([x, y], out, [_data((6,)), _data((2, 3))],
                        lambda a, b: a.reshape(b.shape))
    assert x.reshape(2, 3).type.shape == (2, 3)
    assert x.reshape((2, 3)).type.shape == (2, 3)


def test_reshape_static_from_one_free_entry() -> None:
    x = T.tensor("float64", shape=(2, 3, 4))
    n = T.lscalar("n")
    y = T.reshape(x, (n, 4))
    assert y.type.shape == (6, 4)  # n is 6 or -1: either way 24 / 4
    check_against_numpy([x, n], y, [_data((2, 3, 4)), -1],
                        lambda v, n: v.reshape(n, 4))
    assert T.reshape(x, (n, 5)).type.shape == (None, 5)
    assert T.reshape(x, (n, n)).type.shape == (None, None)


def test_get_vector_length() -> None:
    x = T.tensor3("x")
    assert T.get_vector_length(x.shape) == 3
    assert T.get_vector_length(T.constant([1, 2])) == 2
    assert T.get_vector_length(T.stack([T.lscalar(), 2])) == 2
    with pytest.raises(ValueError, match="not known"):
        T.get_vector_length(T.lvector())
    with pytest.raises(RankError, match="expected a vector"):
        T.get_vector_length(x)


def test_reshape_errors() -> None:
    x = T.tensor("float64", shape=(2, 3))
    with pytest.raises(ShapeMismatchError, match=r"6 elements\) into \(4, 2\)"):
        T.reshape(x, (4, 2))
    with pytest.raises(ShapeMismatchError, match="not a multiple of 4"):
        T.reshape(x, (4, -1))
    with pytest.raises(ShapeMismatchError, match="at most one -1"):
        T.reshape(x, (-1, -1))
    with pytest.raises(ShapeMismatchError, match="entries must be >= 0"):
        T.reshape(x, (-2, 3))
    with pytest.raises(ValueError, match="pass ndim="):
        T.reshape(x, T.lvector())
    with pytest.raises(ValueError, match="ndim=3 but the shape"):
        T.reshape(x, (6,), ndim=3)
    with pytest.raises(DtypeError, match="integer"):
        T.reshape(x, T.dvector(), ndim=1)
    with pytest.raises(DtypeError, match="expected an integer"):
        T.reshape(x, (T.dscalar(), 2))
    m = T.dmatrix("m")
    n = T.lscalar("n")
    f = sa.function([m, n], T.reshape(m, (n, 4)))
    with pytest.raises(ShapeMismatchError, match=r"shape \(2, 3\) \(6 elements\)"):
        f(_data((2, 3)), 2)


def test_vector_entries_by_split_and_index() -> None:
    v = T.lvector("v")
    for entries in (split_entries(v, 3), vector_entries(v, 3)):
        f = sa.function([v], entries)
        assert [int(e) for e in f(np.array([4, 5, 6]))] == [4, 5, 6]
        assert all(e.ndim == 0 and e.dtype == "int64" for e in entries)
    assert split_entries(v, 0) == []
    with pytest.raises(ShapeMismatchError, match="not known when the graph is built"):
        vector_entries(v)


# -- flatten, squeeze, padding ---------------------------------------------------


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 0, 4), (2, 3, 4, 1)])
@pytest.mark.parametrize("dtype", ("float32", "int64"))
def test_flatten(shape: tuple[int, ...], dtype: str) -> None:
    x = _var(len(shape), dtype)
    value = _data(shape, dtype)
    for nd in range(1, max(len(shape), 1) + 1):
        y = T.flatten(x, nd)
        assert y.ndim == nd

        def ref(v: np.ndarray, nd: int = nd) -> np.ndarray:
            return v.reshape(v.shape[: nd - 1] + (-1,)) if v.size else v.reshape(
                v.shape[: nd - 1] + (int(np.prod(v.shape[nd - 1:])),))

        check_against_numpy([x], y, [value], ref)
        if y is not x:
            check_infer_shape([x], y, [value])
    xs = T.tensor(dtype, shape=(2, None, 4))
    assert T.flatten(xs, 2).type.shape == (2, None)
    assert T.flatten(T.tensor(dtype, shape=(2, 3, 4)), 2).type.shape == (2, 12)
    assert xs.flatten().ndim == 1 and xs.ravel().ndim == 1
    with pytest.raises(ValueError, match="out of range"):
        T.flatten(xs, 4)
    with pytest.raises(ValueError, match="out of range"):
        T.flatten(xs, 0)


def test_squeeze() -> None:
    x = T.tensor("float64", shape=(1, None, 1, None))
    y = T.squeeze(x)
    assert y.type.shape == (None, None)
    value = _data((1, 2, 1, 3))
    check_against_numpy([x], y, [value], np.squeeze)
    m = T.dmatrix("m")
    z = T.squeeze(m, axis=0)
    assert z.ndim == 1
    check_against_numpy([m], z, [_data((1, 4))], lambda v: np.squeeze(v, 0))
    check_against_numpy([m], m.squeeze((0, -1)), [_data((1, 1))], np.squeeze)
    with pytest.raises(ShapeMismatchError, match=r"expected shape \(1, \?\)"):
        sa.function([m], z)(_data((2, 4)))
    with pytest.raises(ShapeMismatchError, match="has length 3, not 1"):
        T.squeeze(T.tensor("float64", shape=(3, 1)), 0)
    with pytest.raises(AxisError):
        T.squeeze(m, 2)


def test_padding() -> None:
    x = T.tensor("float32", shape=(None, 3))
    value = _data((2, 3), "float32")
    cases = [
        (T.shape_padleft(x), (1, None, 3), lambda v: v[None]),
        (T.shape_padleft(x, 2), (1, 1, None, 3), lambda v: v[None, None]),
        (T.shape_padright(x), (None, 3, 1), lambda v: v[..., None]),
        (T.shape_padaxis(x, 1), (None, 1, 3), lambda v: np.expand_dims(v, 1)),
        (T.shape_padaxis(x, -1), (None, 3, 1), lambda v: np.expand_dims(v, -1)),
        (T.shape_padaxis(x, 0), (1, None, 3), lambda v: np.expand_dims(v, 0)),
    ]
    for y, static, ref in cases:
        assert y.type.shape == static
        check_against_numpy([x], y, [value], ref)
    with pytest.raises(AxisError):
        T.shape_padaxis(x, 3)


def test_add_un_pattern_broadcast() -> None:
    x = T.dmatrix("x")
    y = T.addbroadcast(x, 0)
    assert y.broadcastable == (True, False)
    check_against_numpy([x], y, [_data((1, 3))], lambda v: v)
    with pytest.raises(ShapeMismatchError, match=r"expected shape \(1, \?\)"):
        sa.function([x], y)(_data((2, 3)))
    r = T.drow("r")
    u = T.unbroadcast(r, 0)
    assert u.broadcastable == (False, False) and u.owner.op.view_map == {0: [0]}
    check_against_numpy([r], u, [_data((1, 3))], lambda v: v)
    check_infer_shape([r], u, [_data((1, 3))])
    assert T.unbroadcast(x, 0, 1) is x
    p = T.patternbroadcast(r, (False, True))
    assert p.broadcastable == (False, True)
    check_against_numpy([r], p, [_data((1, 1))], lambda v: v)
    with pytest.raises(ShapeMismatchError, match="cannot be broadcastable"):
        T.addbroadcast(T.tensor("float64", shape=(2, None)), 0)
    with pytest.raises(RankError, match="has 1 entries"):
        T.patternbroadcast(x, (True,))


# -- Assert, MakeVector --------------------------------------------------------


def test_assert_op() -> None:
    x = T.dvector("x")
    y = T.assert_op(x, T.gt(T.shape_i(x, 0), 1), msg="need more than one")
    assert y.type == x.type and y.owner.op.view_map == {0: [0]}
    check_against_numpy([x], y, [_data((3,))], lambda v: v)
    check_infer_shape([x], y, [_data((3,))])
    with pytest.raises(AssertionFailedError, match="need more than one"):
        sa.function([x], y)(_data((1,)))
    z = T.Assert("all positive")(x, T.ge(x, 0))
    assert sa.function([x], z)(np.array([1.0, 2.0])).tolist() == [1.0, 2.0]
    with pytest.raises(AssertionFailedError, match="all positive"):
        sa.function([x], z)(np.array([1.0, -2.0]))
    assert T.Assert("a") == T.Assert("a") and T.Assert("a") != T.Assert("b")


def test_make_vector() -> None:
    a, b = T.iscalar("a"), T.lscalar("b")
    v = T.make_vector(a, b, 3)
    assert v.type == T.TensorType("int64", shape=(3,))
    check_against_numpy([a, b], v, [np.int32(1), np.int64(2)],
                        lambda a, b: np.array([a, b, 3], dtype="int64"))
    check_infer_shape([a, b], v, [np.int32(1), np.int64(2)])
    empty = T.MakeVector("float32")()
    assert sa.function([], empty)().shape == (0,)
    with pytest.raises(RankError, match="must be 0-d"):
        T.make_vector(T.dvector())
