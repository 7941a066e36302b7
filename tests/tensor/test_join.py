"""Join, stack, split and roll (symarray.tensor.join) against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from op_checks import check_against_numpy, check_infer_shape

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import config
from symarray.errors import AxisError, DtypeError, RankError, ShapeMismatchError

RNG = np.random.default_rng(5)
DTYPES = ("float32", "float64", "int32", "int64")


def _data(shape: tuple[int, ...], dtype: str = "float64") -> np.ndarray:
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(-5, 6, size=shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


def _var(ndim: int, dtype: str = "float64",
         name: str | None = None) -> T.TensorVariable:
    return T.tensor(dtype, shape=(None,) * ndim, name=name)


# -- join / concatenate ----------------------------------------------------------

JOINS = [
    (0, [(2,), (3,)]), (0, [(2, 3), (1, 3), (0, 3)]), (1, [(2, 3), (2, 1)]),
    (-1, [(2, 3, 4), (2, 3, 1)]), (1, [(2, 0), (2, 0)]), (2, [(1, 2, 3)] * 3),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis,shapes", JOINS)
def test_join(dtype: str, axis: int, shapes: list[tuple[int, ...]]) -> None:
    xs = [_var(len(s), dtype) for s in shapes]
    values = [_data(s, dtype) for s in shapes]
    out = T.join(axis, *xs)
    assert out.dtype == dtype
    check_against_numpy(xs, out, values, lambda *v: np.concatenate(v, axis=axis))
    check_infer_shape(xs, out, values)
    check_against_numpy(xs, T.concatenate(xs, axis), values,
                        lambda *v: np.concatenate(v, axis=axis))
    # static shapes add up along the axis and carry over elsewhere
    statics = [T.tensor(dtype, shape=s) for s in shapes]
    assert T.join(axis, *statics).type.shape == np.concatenate(values, axis).shape


@pytest.mark.parametrize("dtypes", [("int32", "float32"), ("int8", "int64"),
                                    ("float32", "float64"), ("bool", "int16"),
                                    ("uint8", "int8")])
def test_join_upcasts(dtypes: tuple[str, str]) -> None:
    xs = [_var(1, d) for d in dtypes]
    values = [_data((2,), d) if d != "bool" else np.array([True, False])
              for d in dtypes]
    out = T.join(0, *xs)
    expected = np.concatenate(values).dtype
    assert out.dtype == str(expected)
    check_against_numpy(xs, out, values, lambda *v: np.concatenate(v))


def test_join_forms() -> None:
    x, y = T.dvector("x"), T.dvector("y")
    assert T.join(0, x) is x
    assert T.join(T.constant(0), x, y).ndim == 1
    assert T.join(0, [x, y]).ndim == 1
    f = T.fvector("f")
    assert T.join(0, f, [1.5, 2.5]).dtype == config.floatX
    partial = T.join(0, T.tensor("float64", shape=(None, 3)), T.dmatrix())
    assert partial.type.shape == (None, 3)
    assert T.join(1, T.dcol(), T.dcol()).type.shape == (None, 2)


def test_join_errors() -> None:
    a = T.tensor("float64", shape=(2, 3))
    b = T.tensor("float64", shape=(3, 3))
    with pytest.raises(ShapeMismatchError, match="lengths \\[2, 3\\] in dimension 0"):
        T.join(1, a, b)
    with pytest.raises(RankError, match="same number of dimensions"):
        T.join(0, T.dvector(), T.dmatrix())
    with pytest.raises(RankError, match="use stack"):
        T.join(0, T.dscalar(), T.dscalar())
    with pytest.raises(AxisError, match="out of range"):
        T.join(2, a, a)
    with pytest.raises(TypeError, match="known when the graph is built"):
        T.join(T.lscalar(), a, a)
    with pytest.raises(TypeError, match="list or tuple"):
        T.concatenate(T.dvector(), 0)
    with pytest.raises(TypeError, match="at least one"):
        T.join(0)
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = sa.function([x, y], T.join(0, x, y))
    msg = r"shapes \(2, 3\), \(2, 4\) along axis 0"
    with pytest.raises(ShapeMismatchError, match=msg):
        f(_data((2, 3)), _data((2, 4)))


# -- stack -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,n,axis", [
    ((), 3, 0), ((3,), 2, 0), ((3,), 2, 1), ((3,), 2, -1), ((2, 3), 3, 1),
    ((0, 2), 2, 2), ((), 1, 0), ((2,), 1, 0),
])
def test_stack(dtype: str, shape: tuple[int, ...], n: int, axis: int) -> None:
    xs = [_var(len(shape), dtype) for _ in range(n)]
    values = [_data(shape, dtype) for _ in range(n)]
    out = T.stack(xs, axis=axis)
    assert out.dtype == dtype and out.ndim == len(shape) + 1
    check_against_numpy(xs, out, values, lambda *v: np.stack(v, axis=axis))
    check_infer_shape(xs, out, values)
    check_against_numpy(xs, T.stack(xs, axis), values,
                        lambda *v: np.stack(v, axis=axis))
    if axis == 0:  # Theano's varargs form
        check_against_numpy(xs, T.stack(*xs), values, lambda *v: np.stack(v))


def test_stack_scalars_and_as_tensor_variable() -> None:
    a = T.fscalar("a")
    v = T.stack([a, 1.0, 2])
    assert v.type == T.TensorType("float32", shape=(3,))
    check_against_numpy([a], v, [np.float32(0.5)],
                        lambda a: np.array([a, 1.0, 2.0], dtype="float32"))
    w = T.as_tensor_variable([a, 1.0])
    assert w.type.shape == (2,) and w.dtype == "float32"
    i = T.iscalar("i")
    assert T.stack([i, 3]).dtype == "int32"
    assert T.stack([i, T.lscalar()]).dtype == "int64"
    assert T.stack([i, 1.5]).dtype == config.floatX
    m = T.as_tensor_variable([[a, a], [1.0, 2.0]])
    assert m.type.shape == (2, 2)
    check_against_numpy([a], m, [np.float32(3)],
                        lambda a: np.array([[a, a], [1, 2]], dtype="float32"))
    x, y = T.dvector("x"), T.dvector("y")
    check_against_numpy([x, y], T.as_tensor_variable([x, y]),
                        [_data((2,)), _data((2,))], lambda a, b: np.stack([a, b]))


def test_stack_errors() -> None:
    with pytest.raises(ValueError, match="at least one"):
        T.stack([])
    with pytest.raises(RankError, match="same number of dimensions"):
        T.stack([T.dvector(), T.dscalar()])
    with pytest.raises(AxisError):
        T.stack([T.dvector(), T.dvector()], axis=2)
    x, y = T.dvector("x"), T.dvector("y")
    with pytest.raises(ShapeMismatchError):
        sa.function([x, y], T.stack([x, y]))(_data((2,)), _data((3,)))


@pytest.mark.parametrize("shapes", [[(3,), (2,)], [(2, 3), (2, 1)], [(2,), (2,)],
                                    [(2, 2, 1), (2, 3, 1)], [(2, 0), (2, 2)]])
def test_horizontal_stack(shapes: list[tuple[int, ...]]) -> None:
    xs = [_var(len(s)) for s in shapes]
    values = [_data(s) for s in shapes]
    check_against_numpy(xs, T.horizontal_stack(*xs), values, lambda *v: np.hstack(v))
    check_against_numpy(xs, T.hstack(xs), values, lambda *v: np.hstack(v))


@pytest.mark.parametrize("shapes", [[(3,), (3,)], [(2, 3), (1, 3)], [(3,), (2, 3)],
                                    [(2, 2, 1), (3, 2, 1)], [(0, 2), (2, 2)]])
def test_vertical_stack(shapes: list[tuple[int, ...]]) -> None:
    xs = [_var(len(s)) for s in shapes]
    values = [_data(s) for s in shapes]
    check_against_numpy(xs, T.vertical_stack(*xs), values, lambda *v: np.vstack(v))
    check_against_numpy(xs, T.vstack(xs), values, lambda *v: np.vstack(v))
    with pytest.raises(ValueError, match="at least one"):
        T.vstack([])


# -- split -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,sizes,axis", [
    ((5,), [2, 3], 0), ((5,), [5], 0), ((4, 3), [1, 0, 3], 0), ((2, 6), [4, 2], 1),
    ((2, 3, 4), [1, 1, 2], -1), ((0, 2), [0, 0], 0),
])
def test_split(dtype: str, shape: tuple[int, ...], sizes: list[int], axis: int) -> None:
    x = _var(len(shape), dtype)
    value = _data(shape, dtype)
    outs = T.split(x, sizes, len(sizes), axis)
    assert isinstance(outs, list) and len(outs) == len(sizes)

    def ref(v: np.ndarray) -> list[np.ndarray]:
        return np.split(v, np.cumsum(sizes)[:-1], axis=axis)

    check_against_numpy([x], outs, [value], ref)
    check_infer_shape([x], outs, [value])
    ax = axis % len(shape)
    assert [o.type.shape[ax] for o in outs] == sizes
    assert outs[0].owner.op.view_map == {i: [0] for i in range(len(sizes))}
    s = T.lvector("s")
    sym = T.split(x, s, len(sizes), axis)
    sv = np.asarray(sizes, dtype="int64")
    check_against_numpy([x, s], sym, [value, sv], lambda v, s: ref(v))
    check_infer_shape([x, s], sym, [value, sv])
    n = T.lscalar("n")
    mixed = T.split(x, [n, *sizes[1:]], len(sizes), axis)
    check_against_numpy([x, n], mixed, [value, sizes[0]], lambda v, n: ref(v))


def test_split_errors() -> None:
    x = T.tensor("float64", shape=(5, None))
    with pytest.raises(ShapeMismatchError, match="add up to 4"):
        T.split(x, [1, 3], 2)
    with pytest.raises(ShapeMismatchError, match="2 sizes given for 3 pieces"):
        T.split(x, [2, 3], 3)
    with pytest.raises(ShapeMismatchError, match="do not describe"):
        T.split(x, [6, -1], 2)
    with pytest.raises(RankError, match="0-d"):
        T.split(T.dscalar(), [1], 1)
    with pytest.raises(DtypeError, match="integer vector"):
        T.split(x, T.dvector(), 2)
    with pytest.raises(ValueError, match="n_splits must be >= 1"):
        T.Split(0)
    v, s = T.dvector("v"), T.lvector("s")
    f = sa.function([v, s], T.split(v, s, 2))
    with pytest.raises(ShapeMismatchError, match=r"add up to 3, but dimension 0"):
        f(_data((4,)), np.array([1, 2]))
    with pytest.raises(ShapeMismatchError, match="do not describe 2 pieces"):
        f(_data((4,)), np.array([4]))


# -- roll ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ("float32", "int64"))
@pytest.mark.parametrize("shape,shift,axis", [
    ((5,), 2, None), ((5,), -7, 0), ((2, 3), 1, None), ((2, 3), 1, 1),
    ((2, 3), -1, 0), ((2, 3), 0, 1), ((0,), 3, 0), ((2, 3, 4), 5, -1),
    ((2, 3), (1, 2), (0, 1)), ((2, 3), 3, 1),
])
def test_roll(dtype: str, shape: tuple[int, ...], shift: object, axis: object) -> None:
    x = _var(len(shape), dtype)
    value = _data(shape, dtype)
    check_against_numpy([x], T.roll(x, shift, axis), [value],
                        lambda v: np.roll(v, shift, axis))
    xs = T.tensor(dtype, shape=shape)
    static = T.roll(xs, shift, axis)
    assert static.type.shape == shape
    check_against_numpy([xs], static, [value], lambda v: np.roll(v, shift, axis))
    if isinstance(shift, int):
        s = T.iscalar("s")
        out = T.roll(x, s, axis)
        check_against_numpy([x, s], out, [value, np.int32(shift)],
                            lambda v, s: np.roll(v, int(s), axis))


def test_roll_errors() -> None:
    with pytest.raises(ValueError, match="tuple of axes"):
        T.roll(T.dvector(), (1, 2))
    with pytest.raises(ValueError, match="2 shifts for 1 axes"):
        T.roll(T.dmatrix(), (1, 2), (0,))
    with pytest.raises(AxisError):
        T.roll(T.dvector(), 1, 1)


# -- properties ------------------------------------------------------------------


@given(st.lists(st.integers(0, 3), min_size=1, max_size=4), st.integers(0, 1))
def test_join_split_round_trip(sizes: list[int], axis: int) -> None:
    other = 2
    shape = [other, other]
    parts = []
    for n in sizes:
        shape[axis] = n
        parts.append(_data(tuple(shape)))
    xs = [_var(2) for _ in sizes]
    joined = T.join(axis, *xs)
    back = T.split(joined, sizes, len(sizes), axis)
    fn = sa.function(xs, [joined, *back])
    got = fn(*parts)
    np.testing.assert_array_equal(got[0], np.concatenate(parts, axis))
    for g, p in zip(got[1:], parts, strict=True):
        np.testing.assert_array_equal(g, p)
