"""set_subtensor / inc_subtensor (symarray.tensor.subtensor_inc) against NumPy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from op_checks import check_against_numpy, check_infer_shape

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray.errors import DtypeError, IndexingError, RankError, ShapeMismatchError
from symarray.tensor.subtensor_inc import (
    AdvancedIncSubtensor,
    AdvancedIncSubtensor1,
    IncSubtensor,
    advanced_inc_subtensor,
    advanced_inc_subtensor1,
    advanced_set_subtensor,
    advanced_set_subtensor1,
)

from .index_keys import SHAPES, random_key, symbolic_key

RNG = np.random.default_rng(3)
DTYPES = ("float32", "float64", "int32", "int64")


def _data(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(-50, 50, size=shape).astype(dtype)
    return RNG.uniform(-5, 5, size=shape).astype(dtype)


def _ref(x: np.ndarray, key: Any, y: np.ndarray, set_: bool) -> np.ndarray:
    out = x.copy()
    if set_:
        out[key] = y
    else:
        np.add.at(out, key, y)
    return out


# (x shape, key, y shape, expected op)
CASES: list[tuple[tuple[int, ...], Any, tuple[int, ...], type]] = [
    ((5,), 2, (), IncSubtensor),
    ((5,), slice(1, 4), (3,), IncSubtensor),
    ((5,), slice(1, 4), (), IncSubtensor),
    ((5,), slice(None, None, -2), (3,), IncSubtensor),
    ((3, 4), (slice(1, None), slice(None, None, -1)), (4,), IncSubtensor),
    ((3, 4), (Ellipsis, 1), (3,), IncSubtensor),
    ((3, 4), (None, 1), (1, 4), IncSubtensor),
    ((3, 4), (slice(None), None, 0), (3, 1), IncSubtensor),
    ((0, 4), slice(None), (4,), IncSubtensor),
    ((5,), [0, 0, 3, 0], (4,), AdvancedIncSubtensor1),
    ((5, 2), [4, -1, 1], (2,), AdvancedIncSubtensor1),
    ((5, 2), [4, -1, 1], (3, 1), AdvancedIncSubtensor1),
    ((5, 2), np.array([], dtype=np.int64), (), AdvancedIncSubtensor1),
    ((5, 2), ([1, 1, 0], slice(1, None)), (3, 1), AdvancedIncSubtensor),
    ((5, 2), (slice(None), [1, 1]), (5, 2), AdvancedIncSubtensor),
    ((5, 2), ([0, 0, 4], [1, 1, 0]), (3,), AdvancedIncSubtensor),
    ((5, 2), (RNG.random((5, 2)) < 0.5,), (), AdvancedIncSubtensor),
    ((5, 2), (RNG.random(5) < 0.5, 1), (), AdvancedIncSubtensor),
    ((2, 3, 4), ([1, 1], slice(None), [3, 3]), (2, 3), AdvancedIncSubtensor),
    ((2, 3, 4), (Ellipsis, [0, 0]), (3, 2), AdvancedIncSubtensor),
]


@pytest.mark.parametrize("set_", [False, True], ids=["inc", "set"])
@pytest.mark.parametrize(("shape", "key", "y_shape", "op_class"), CASES,
                         ids=[str(i) for i in range(len(CASES))])
@pytest.mark.parametrize("dtype", DTYPES)
def test_write_matches_numpy(shape: tuple[int, ...], key: Any, y_shape: tuple[int, ...],
                             op_class: type, set_: bool, dtype: str) -> None:
    x = T.tensor(dtype, shape=(None,) * len(shape), name="x")
    y = T.tensor(dtype, shape=(None,) * len(y_shape), name="y")
    out = T.set_subtensor(x[key], y) if set_ else T.inc_subtensor(x[key], y)
    assert isinstance(out.owner.op, op_class)
    assert out.owner.op.set_instead_of_inc == set_
    assert out.type == x.type
    xv, yv = _data(shape, dtype), _data(y_shape, dtype)
    np_key = tuple(np.asarray(k) if isinstance(k, list) else k
                   for k in (key if isinstance(key, tuple) else (key,)))
    check_against_numpy([x, y], out, [xv, yv], lambda a, b: _ref(a, np_key, b, set_))
    check_infer_shape([x, y], out, [xv, yv])


def test_symbolic_indices() -> None:
    x = T.dmatrix("x")
    i, j = T.lscalar("i"), T.iscalar("j")
    v = T.lvector("v")
    y = T.dscalar("y")
    xv = _data((4, 5), "float64")
    for out, ref in [
        (T.inc_subtensor(x[i, j:], y),
         lambda a, b, c, d, e: _ref(a, (b, slice(c, None)), e, False)),
        (T.set_subtensor(x[i:, v], y),
         lambda a, b, c, d, e: _ref(a, (slice(b, None), d), e, True)),
        (T.inc_subtensor(x[v], y), lambda a, b, c, d, e: _ref(a, (d,), e, False)),
    ]:
        args = [xv, np.int64(1), np.int32(-3), np.array([0, 2, 0]), np.float64(1.5)]
        check_against_numpy([x, i, j, v, y], out, args, ref)


def test_repeated_indices_accumulate_and_last_set_wins() -> None:
    x = T.dvector("x")
    y = T.dvector("y")
    idx = [1, 1, 3, 1]
    inc = sa.function([x, y], T.inc_subtensor(x[idx], y))
    np.testing.assert_array_equal(inc(np.zeros(5), np.array([1.0, 2.0, 3.0, 4.0])),
                                  [0.0, 7.0, 0.0, 3.0, 0.0])
    put = sa.function([x, y], T.set_subtensor(x[idx], y))
    np.testing.assert_array_equal(put(np.zeros(5), np.array([1.0, 2.0, 3.0, 4.0])),
                                  [0.0, 4.0, 0.0, 3.0, 0.0])
    m = T.dmatrix("m")
    inc2 = sa.function([m], T.inc_subtensor(m[[0, 0], [1, 1]], 1.0))
    np.testing.assert_array_equal(inc2(np.zeros((2, 2))), [[0.0, 2.0], [0.0, 0.0]])


def test_out_of_place_by_default_and_inplace_destroys() -> None:
    x = T.dvector("x")
    out = T.set_subtensor(x[1:], 5.0)
    op = out.owner.op
    assert not op.inplace and op.destroy_map == {} and op.view_map == {}
    value = np.zeros(3)
    storage: list[list[Any]] = [[None]]
    op.perform(out.owner, [value, np.float64(5.0)], storage)
    np.testing.assert_array_equal(value, np.zeros(3))
    np.testing.assert_array_equal(storage[0][0], [0.0, 5.0, 5.0])

    for sub in (x[1:], x[[1, 2]], x[np.array([False, True, True])]):
        out = T.inc_subtensor(sub, 1.0, inplace=True)
        node = out.owner
        assert node.op.inplace and node.op.destroy_map == {0: [0]}
        assert str(node.op).endswith("_inplace")
        value = np.zeros(3)
        extra = [np.asarray(c.data) for c in node.inputs[2:]]
        node.op.perform(node, [value, np.float64(1.0), *extra], storage)
        assert storage[0][0] is value
        np.testing.assert_array_equal(value, [0.0, 1.0, 1.0])


def test_op_names_and_props() -> None:
    x = T.dmatrix("x")
    assert str(T.set_subtensor(x[0], 1.0).owner.op) == "SetSubtensor{0}"
    assert str(T.inc_subtensor(x[[0]], 1.0).owner.op) == "AdvancedIncSubtensor1{}"
    name = str(T.set_subtensor(x[:, [0]], 1.0).owner.op)
    assert name == "AdvancedSetSubtensor{:, []}"
    assert IncSubtensor((0,)) == IncSubtensor((0,))
    assert IncSubtensor((0,)) != IncSubtensor((0,), set_instead_of_inc=True)
    assert AdvancedIncSubtensor1() != AdvancedIncSubtensor1(inplace=True)


def test_helpers() -> None:
    x = T.dmatrix("x")
    y = T.dvector("y")
    xv, yv = _data((3, 2), "float64"), _data((2,), "float64")
    idx = np.array([2, 0, 2])
    check_against_numpy([x, y], advanced_inc_subtensor1(x, y, idx), [xv, yv],
                        lambda a, b: _ref(a, (idx,), b, False))
    check_against_numpy([x, y], advanced_set_subtensor1(x, y, idx), [xv, yv],
                        lambda a, b: _ref(a, (idx,), b, True))
    check_against_numpy([x, y], advanced_inc_subtensor(x, y, idx, slice(None)),
                        [xv, yv], lambda a, b: _ref(a, (idx,), b, False))
    check_against_numpy([x, y], advanced_set_subtensor(x, y[0], slice(None), [1]),
                        [xv, yv], lambda a, b: _ref(a, (slice(None), [1]), b[0], True))


# -- dtypes and errors -----------------------------------------------------------


def test_y_is_cast_when_safe() -> None:
    x = T.fvector("x")
    for y, yv in [(T.bscalar("y"), np.int8(3)), (T.fscalar("y"), np.float32(2.5))]:
        out = T.set_subtensor(x[0], y)
        assert out.dtype == "float32"
        f = sa.function([x, y], out)
        np.testing.assert_array_equal(f(np.zeros(2, np.float32), yv), [yv, 0.0])
    # Python numbers take x's dtype when they fit
    assert T.inc_subtensor(x[0], 1.5).owner.inputs[1].dtype == "float32"
    assert T.inc_subtensor(T.ivector()[0], 3).owner.inputs[1].dtype == "int32"
    assert T.set_subtensor(T.lvector()[0], T.iscalar()).dtype == "int64"


@pytest.mark.parametrize(("x", "y"), [
    (T.fvector(), T.dscalar()),
    (T.ivector(), T.fscalar()),
    (T.ivector(), 1.5),
    (T.bvector(), 1000),
    (T.ivector(), T.lscalar()),
])
def test_unsafe_cast_is_an_error(x: Any, y: Any) -> None:
    hint = f"cast them first: T.cast\\(y, '{x.dtype}'\\)"
    with pytest.raises(DtypeError, match=hint):
        T.set_subtensor(x[0], y)


def test_bad_target() -> None:
    x = T.dmatrix("x")
    with pytest.raises(TypeError, match="must be an indexed tensor such as a"):
        T.set_subtensor(x, 1.0)
    with pytest.raises(TypeError, match=r"made by .*exp"):
        T.inc_subtensor(T.exp(x), 1.0)
    with pytest.raises(TypeError, match="indexed tensor"):
        T.inc_subtensor(np.zeros(3), 1.0)


def test_y_shape_errors() -> None:
    x = T.tensor("float64", shape=(4, 3))
    with pytest.raises(RankError, match="y has 3 dimensions"):
        T.set_subtensor(x[0], T.dtensor3())
    with pytest.raises(ShapeMismatchError, match=r"cannot be broadcast to the shape of "
                                                 r"x\[idx\], \(2, 3\)"):
        T.set_subtensor(x[1:3], np.ones((3, 3)))
    m = T.dmatrix("m")
    f = sa.function([m], T.inc_subtensor(m[1:], np.ones(3)))
    with pytest.raises(ShapeMismatchError, match="cannot broadcast y of shape"):
        f(np.zeros((3, 2)))
    g = sa.function([m], T.set_subtensor(m[[0, 1]], np.ones(3)))
    with pytest.raises(ShapeMismatchError, match="cannot broadcast y"):
        g(np.zeros((3, 2)))


def test_index_errors() -> None:
    x = T.tensor("float64", shape=(3,))
    with pytest.raises(IndexingError, match="out of bounds"):
        IncSubtensor((5,))(x, 1.0)
    v = T.dvector("v")
    i = T.lvector("i")
    f = sa.function([v, i], T.inc_subtensor(v[i], 1.0))
    with pytest.raises(IndexingError, match="AdvancedIncSubtensor1.*index 9 is out "
                                            "of bounds"):
        f(np.zeros(3), np.array([9]))


# -- property test ------------------------------------------------------------


@given(st.data(), SHAPES, st.booleans())
def test_random_keys_write_like_numpy(data: st.DataObject, shape: tuple[int, ...],
                                      set_: bool) -> None:
    key = random_key(data, shape)
    xv = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    sub_shape = xv[key].shape
    y_shape = sub_shape[data.draw(st.integers(0, len(sub_shape))):]
    yv = np.arange(1.0, 1.0 + np.prod(y_shape)).reshape(y_shape)
    expected = _ref(xv, key, yv, set_)
    sym, inputs, values = symbolic_key(data, key)
    x = T.tensor("float64", shape=(None,) * len(shape))
    y = T.tensor("float64", shape=(None,) * len(y_shape))
    sub = x[sym]
    out = T.set_subtensor(sub, y) if set_ else T.inc_subtensor(sub, y)
    got = sa.function([x, y, *inputs], out)(xv, yv, *values)
    # with repeated targets, setting keeps NumPy's choice (the last value)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == xv.dtype and not np.shares_memory(got, xv)
