"""Advanced indexing and take (symarray.tensor.subtensor_advanced) against NumPy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from op_checks import check_against_numpy, check_infer_shape

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray.errors import AxisError, IndexDtypeError, IndexingError
from symarray.tensor.subtensor import Subtensor
from symarray.tensor.subtensor_advanced import (
    AdvancedSubtensor,
    AdvancedSubtensor1,
    CountNonzero,
)

from .index_keys import SHAPES, random_key, symbolic_key

RNG = np.random.default_rng(11)
DTYPES = ("float32", "float64", "int32", "int64")


def _data(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(-50, 50, size=shape).astype(dtype)
    return RNG.uniform(-5, 5, size=shape).astype(dtype)


# (x shape, key with numpy index arrays); each array becomes a symbolic
# input in the symbolic variant of the test
KEYS: list[tuple[tuple[int, ...], tuple[Any, ...]]] = [
    ((5,), (np.array([0, 4, -1, 2, 2]),)),
    ((5, 3), (np.array([0, 4, -1, 2, 2]),)),
    ((5, 3), (np.array([3, 1]), slice(1, None))),
    ((5, 3), (slice(None), np.array([2, 0, 2]))),
    ((5, 3), (np.array([0, 1, 4]), np.array([2, 0, 1]))),
    ((5, 3), (np.array([[0, 1], [4, 4]]),)),
    ((5, 3), (np.array([[0], [4]]), np.array([0, 1, 2]))),
    ((5, 3), (1, np.array([0, 2]))),
    ((5, 3), (np.array([0, 2]), -1)),
    ((5, 3), (np.array([], dtype=np.int64),)),
    ((5, 3), (RNG.random((5, 3)) < 0.5,)),
    ((5, 3), (RNG.random(5) < 0.5,)),
    ((5, 3), (slice(None, None, -1), RNG.random(3) < 0.5)),
    ((5, 3), (np.zeros((5, 3), dtype=bool),)),
    ((2, 3, 4), (np.array([1, 0]), slice(None), np.array([3, 1]))),
    ((2, 3, 4), (slice(None), np.array([1, 0]), np.array([3, 1]))),
    ((2, 3, 4), (np.array([1, 0]), None, np.array([2, 1]))),
    ((2, 3, 4), (Ellipsis, np.array([3, 0]))),
    ((2, 3, 4), (np.array([1]), Ellipsis, np.array([3, 0]))),
    ((2, 3, 4), (0, slice(None), np.array([3, 0]))),
    ((2, 3, 4), (RNG.random((2, 3)) < 0.5, np.array([3]))),
    ((2, 3, 4), (None, RNG.random((2, 3, 4)) < 0.5)),
    ((0, 3), (np.array([], dtype=np.int32), slice(None))),
    ((0, 3), (np.zeros((0, 3), dtype=bool),)),
    ((3, 0), (np.array([2, 0]),)),
    ((4,), (np.array(True),)),
    ((4,), (np.array([1, 3], dtype=np.uint8),)),
    ((4,), (np.array([1, 3], dtype=np.int8),)),
]


@pytest.mark.parametrize(("shape", "key"), KEYS, ids=[str(i) for i in range(len(KEYS))])
@pytest.mark.parametrize("dtype", DTYPES)
def test_constant_array_keys(shape: tuple[int, ...], key: tuple[Any, ...],
                             dtype: str) -> None:
    x = T.tensor(dtype, shape=(None,) * len(shape), name="x")
    out = x[key]
    assert isinstance(out.owner.op, (AdvancedSubtensor, AdvancedSubtensor1))
    value = _data(shape, dtype)
    check_against_numpy([x], out, [value], lambda v: v[key])
    check_infer_shape([x], out, [value])


@pytest.mark.parametrize(("shape", "key"), KEYS, ids=[str(i) for i in range(len(KEYS))])
def test_symbolic_array_keys(shape: tuple[int, ...], key: tuple[Any, ...]) -> None:
    x = T.tensor("float64", shape=(None,) * len(shape), name="x")
    inputs, values, sym_key = [], [], []
    for k in key:
        if isinstance(k, np.ndarray):
            var = T.tensor(k.dtype.name, shape=(None,) * k.ndim)
            inputs.append(var)
            values.append(k)
            sym_key.append(var)
        else:
            sym_key.append(k)
    out = x[tuple(sym_key)]
    value = _data(shape, "float64")
    check_against_numpy([x, *inputs], out, [value, *values], lambda v, *_: v[key])
    check_infer_shape([x, *inputs], out, [value, *values])


def test_op_choice() -> None:
    x = T.dmatrix("x")
    i = T.lvector("i")
    assert isinstance(x[i].owner.op, AdvancedSubtensor1)
    assert isinstance(x[i, :].owner.op, AdvancedSubtensor1)
    assert isinstance(x[[0, 1]].owner.op, AdvancedSubtensor1)
    assert isinstance(x[i, 1:].owner.op, AdvancedSubtensor)
    assert isinstance(x[:, i].owner.op, AdvancedSubtensor)
    assert isinstance(x[T.lmatrix()].owner.op, AdvancedSubtensor)
    assert isinstance(x[x > 0].owner.op, AdvancedSubtensor)
    assert isinstance(x[np.int64(1)].owner.op, Subtensor)
    assert str(x[i, 1:].owner.op) == "AdvancedSubtensor{[], 1:}"


def test_result_is_a_copy() -> None:
    x = T.dmatrix("x")
    value = np.arange(6.0).reshape(2, 3)
    for out in (x[[0, 1]], x[:, [0, 1]], x[value > 1]):
        assert out.owner.op.view_map == {}
        storage: list[list[Any]] = [[None]]
        node = out.owner
        vals = [value] + [np.asarray(c.data) for c in node.inputs[1:]]
        node.op.perform(node, vals, storage)
        assert not np.shares_memory(storage[0][0], value)


def test_static_shapes() -> None:
    x = T.tensor("float64", shape=(5, None, 3))
    assert x[[0, 2, 4]].type.shape == (3, None, 3)
    assert x[T.lvector()].type.shape == (None, None, 3)
    assert x[:, :, [[0], [1]]].type.shape == (5, None, 2, 1)
    assert x[0, :, [1, 2]].type.shape == (2, None)
    assert x[np.ones((5, 2), dtype=bool)].type.shape == (10, 3)
    assert x[T.bmatrix().astype("bool")].type.shape == (None, 3)
    assert x[[1, 2], None, [0, 1]].type.shape == (2, 1, 3)
    assert x[:, None, [1, 2], [0, 1]].type.shape == (5, 1, 2)
    assert x[[0, 1], :, [1, 2]].type.shape == (2, None)


def test_list_of_symbolic_scalars_is_an_index_vector() -> None:
    x = T.dvector("x")
    i, j = T.lscalar("i"), T.lscalar("j")
    f = sa.function([x, i, j], x[[i, j]])
    np.testing.assert_array_equal(f(np.arange(5.0), 3, 1), [3.0, 1.0])


def test_mask_count_infer_shape_uses_count_nonzero() -> None:
    x = T.dmatrix("x")
    m = T.tensor("bool", shape=(None, None))
    out = x[m]
    shape = out.owner.op.infer_shape(None, out.owner, [(1, 2), (3, 4)])
    assert isinstance(shape[0][0].owner.op, CountNonzero)
    check_infer_shape([x, m], out, [np.ones((3, 2)), np.eye(3, 2, dtype=bool)])
    count = CountNonzero()(m)
    check_infer_shape([m], count, [np.eye(3, 2, dtype=bool)])
    assert int(count.eval({m: np.eye(3, 2, dtype=bool)})) == 2


# -- errors -------------------------------------------------------------------


def test_out_of_range_constant_array_on_static_dim() -> None:
    x = T.tensor("float64", shape=(3, None))
    with pytest.raises(IndexingError, match="index 3 is out of bounds for axis 0"):
        x[[0, 3]]
    with pytest.raises(IndexingError, match="index -4 is out of bounds for axis 0"):
        x[[-4], 1:]


def test_out_of_range_array_at_run_time() -> None:
    x, i = T.dmatrix("x"), T.lvector("i")
    for out in (x[i], x[:, i]):
        f = sa.function([x, i], out)
        with pytest.raises(IndexingError, match=r"Advanced.*index 7 is out of bounds"):
            f(np.zeros((3, 3)), np.array([0, 7]))


def test_mask_shape_mismatch() -> None:
    x = T.tensor("float64", shape=(3, 4))
    with pytest.raises(IndexingError, match="boolean index did not match.*axis 1"):
        x[np.ones((3, 5), dtype=bool)]
    y = T.dmatrix("y")
    m = T.tensor("bool", shape=(None,))
    f = sa.function([y, m], y[m])
    with pytest.raises(IndexError, match="boolean index did not match"):
        f(np.zeros((3, 2)), np.ones(4, dtype=bool))


def test_arrays_that_do_not_broadcast() -> None:
    x = T.dmatrix("x")
    with pytest.raises(IndexingError, match="could not be broadcast"):
        x[[0, 1], [0, 1, 2]]


@pytest.mark.parametrize("bad", [np.array([0.0, 1.0]), [0.5], T.dvector()])
def test_float_array_index(bad: Any) -> None:
    x = T.dmatrix("x")
    with pytest.raises(IndexDtypeError):
        x[bad]


def test_advanced_subtensor1_rejects_non_vectors() -> None:
    with pytest.raises(IndexDtypeError, match="integer vector"):
        AdvancedSubtensor1()(T.dmatrix(), T.lmatrix())
    with pytest.raises(IndexingError, match="0-d"):
        AdvancedSubtensor1()(T.dscalar(), [0])


# -- property test: random keys ---------------------------------------------


@given(st.data(), SHAPES)
def test_random_keys_match_numpy(data: st.DataObject, shape: tuple[int, ...]) -> None:
    key = random_key(data, shape)
    value = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    expected = value[key]
    sym, inputs, values = symbolic_key(data, key)
    static = data.draw(st.booleans())
    x = T.tensor("float64", shape=shape if static else (None,) * len(shape))
    out = x[sym]
    assert out.type.ndim == expected.ndim
    pairs = zip(out.type.shape, expected.shape, strict=True)
    assert all(s is None or s == n for s, n in pairs), (out.type, expected.shape)
    got = sa.function([x, *inputs], out)(value, *values)
    np.testing.assert_array_equal(got, expected)
    if out.owner is not None:
        check_infer_shape([x, *inputs], out, [value, *values])


# -- take ---------------------------------------------------------------------

TAKE_CASES: list[tuple[tuple[int, ...], Any, int | None]] = [
    ((3, 4), [1, 0, 1], None),
    ((3, 4), 5, None),
    ((3, 4), -1, None),
    ((3, 4), [[0, 2], [1, 1]], 0),
    ((3, 4), [3, -1], 1),
    ((3, 4), [3, -1], -1),
    ((3, 4), 2, 1),
    ((2, 3, 4), [[0], [2]], 1),
    ((2, 3, 4), [], 2),
    ((5,), [4, 0], 0),
]


@pytest.mark.parametrize(("shape", "indices", "axis"), TAKE_CASES)
@pytest.mark.parametrize("dtype", ("float32", "int64"))
def test_take_constant_indices(shape: tuple[int, ...], indices: Any,
                               axis: int | None, dtype: str) -> None:
    a = T.tensor(dtype, shape=(None,) * len(shape), name="a")
    out = T.take(a, indices, axis=axis)
    value = _data(shape, dtype)
    check_against_numpy([a], out, [value], lambda v: np.take(v, indices, axis=axis))
    check_against_numpy([a], a.take(indices, axis), [value],
                        lambda v: np.take(v, indices, axis=axis))


@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("idx_ndim", [0, 1, 2])
def test_take_symbolic_indices(axis: int | None, idx_ndim: int) -> None:
    a = T.dmatrix("a")
    i = T.tensor("int32", shape=(None,) * idx_ndim)
    out = T.take(a, i, axis=axis)
    value = _data((3, 4), "float64")
    idx = RNG.integers(-3, 3, size=(2, 3)[:idx_ndim]).astype(np.int32)
    check_against_numpy([a, i], out, [value, idx],
                        lambda v, j: np.take(v, j, axis=axis))
    check_infer_shape([a, i], out, [value, idx])


@pytest.mark.parametrize("mode", ["wrap", "clip"])
def test_take_modes(mode: str) -> None:
    a = T.dmatrix("a")
    i = T.lvector("i")
    value = _data((3, 4), "float64")
    idx = np.array([-7, -1, 0, 3, 9])
    check_against_numpy([a, i], T.take(a, i, axis=1, mode=mode), [value, idx],
                        lambda v, j: np.take(v, j, axis=1, mode=mode))


def test_take_errors() -> None:
    a = T.dmatrix("a")
    with pytest.raises(AxisError, match="axis 2 is out of bounds"):
        T.take(a, [0], axis=2)
    with pytest.raises(IndexDtypeError, match="indices must be integers"):
        T.take(a, T.dvector(), axis=0)
    with pytest.raises(ValueError, match="mode must be"):
        T.take(a, [0], mode="bogus")
    f = sa.function([a], T.take(a, [0, 12]))
    with pytest.raises(IndexError, match="out of bounds"):
        f(np.zeros((3, 4)))
