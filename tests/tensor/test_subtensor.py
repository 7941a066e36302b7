"""Basic indexing (symarray.tensor.subtensor) against NumPy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from op_checks import check_against_numpy, check_infer_shape

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray.errors import IndexDtypeError, IndexingError
from symarray.graph.traversal import NotScalarConstantError, get_scalar_constant_value
from symarray.tensor.subtensor import (
    Idx,
    IndexSlice,
    Subtensor,
    index_layout,
    parse_index,
)
from symarray.tensor.subtensor_advanced import SliceLength

RNG = np.random.default_rng(7)
DTYPES = ("float32", "float64", "int32", "int64")


def _data(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(-50, 50, size=shape).astype(dtype)
    return RNG.uniform(-5, 5, size=shape).astype(dtype)


# (shape, key): constant keys, the same object indexes NumPy and symarray
CONSTANT_KEYS: list[tuple[tuple[int, ...], Any]] = [
    ((5,), 1),
    ((5,), -1),
    ((5,), slice(1, 3)),
    ((5,), slice(None, None, -1)),
    ((5,), slice(None, None, -2)),
    ((5,), slice(4, 0, -2)),
    ((5,), slice(-10, 10)),
    ((5,), slice(3, 1)),
    ((5,), ()),
    ((5,), Ellipsis),
    ((5,), None),
    ((3, 4), (1, 2)),
    ((3, 4), (slice(1, 3), slice(None, None, -1))),
    ((3, 4), (slice(None), 2)),
    ((3, 4), (Ellipsis, 1)),
    ((3, 4), (None, 1, None)),
    ((3, 4), (-1,)),
    ((3, 4), (slice(None, None, 2), None, slice(1, None))),
    ((2, 3, 4), (1, Ellipsis, slice(0, 2))),
    ((2, 3, 4), (slice(None), 0, slice(None, None, -3))),
    ((2, 3, 4), (Ellipsis, None)),
    ((2, 0), (Ellipsis, None, slice(None))),
    ((2, 3), (None, Ellipsis, slice(None), slice(None))),
    ((2, 3, 4), (np.int64(1), np.int32(-1))),
    ((0, 3), (slice(1, 3),)),
    ((0, 3), (slice(None), 1)),
    ((0, 3), slice(None, None, -1)),
    ((3, 0), (1, slice(None, None, -1))),
    ((), ()),
    ((), None),
    ((), Ellipsis),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "key"), CONSTANT_KEYS,
                         ids=[f"{s}-{k!r}" for s, k in CONSTANT_KEYS])
def test_constant_keys_match_numpy(shape: tuple[int, ...], key: Any,
                                   dtype: str) -> None:
    x = T.tensor(dtype, shape=(None,) * len(shape), name="x")
    out = x[key]
    assert isinstance(out.owner.op, Subtensor)
    value = _data(shape, dtype)
    check_against_numpy([x], out, [value], lambda v: np.asarray(v[key]))
    check_infer_shape([x], out, [value])


# (shape, number of symbolic int scalars, key builder, values of the scalars)
SYMBOLIC_KEYS: list[tuple[tuple[int, ...], Any, tuple[int, ...]]] = [
    ((5,), lambda i: i, (3,)),
    ((5,), lambda i: i, (-5,)),
    ((5,), lambda i: slice(i, None), (2,)),
    ((5,), lambda i: slice(None, i), (-2,)),
    ((5,), lambda i, j: slice(i, j), (1, 4)),
    ((5,), lambda i, j: slice(i, j), (4, 1)),
    ((5,), lambda s: slice(None, None, s), (-1,)),
    ((5,), lambda s: slice(None, None, s), (2,)),
    ((5,), lambda i, j, s: slice(i, j, s), (4, 0, -2)),
    ((5,), lambda i, j, s: slice(i, j, s), (-7, 10, 3)),
    ((3, 4), lambda i: (i, slice(None, None, -1)), (2,)),
    ((3, 4), lambda i, j: (slice(None), slice(i, j)), (1, 3)),
    ((3, 4), lambda i, j: (i, j), (-1, 0)),
    ((2, 3, 4), lambda i, s: (Ellipsis, i, slice(None, None, s)), (1, -2)),
    ((2, 3, 4), lambda i: (None, slice(i, None), 0), (1,)),
    ((0, 4), lambda i, j: (slice(i, j), slice(j, None)), (0, 2)),
]


@pytest.mark.parametrize("dtype", ("float32", "int64"))
@pytest.mark.parametrize(("shape", "build", "values"), SYMBOLIC_KEYS)
def test_symbolic_keys_match_numpy(shape: tuple[int, ...], build: Any,
                                   values: tuple[int, ...], dtype: str) -> None:
    x = T.tensor(dtype, shape=(None,) * len(shape), name="x")
    scalars = [T.lscalar(f"i{k}") if k % 2 else T.iscalar(f"i{k}")
               for k in range(len(values))]
    out = x[build(*scalars)]
    assert isinstance(out.owner.op, Subtensor)
    args = [_data(shape, dtype)] + [
        np.asarray(v, dtype=s.dtype) for v, s in zip(values, scalars, strict=False)]
    check_against_numpy([x, *scalars], out, args,
                        lambda v, *iv: np.asarray(v[build(*iv)]))
    check_infer_shape([x, *scalars], out, args)


def test_constant_parts_are_props_and_symbolic_parts_are_inputs() -> None:
    x = T.dmatrix("x")
    i = T.lscalar("i")
    out = x[i, 1:i:-1]
    op = out.owner.op
    assert op.idx_list == (Idx.SCALAR, IndexSlice(1, Idx.SCALAR, -1))
    assert out.owner.inputs == [x, i, i]
    assert str(op) == "Subtensor{?, 1:?:-1}"
    # trailing full slices and a trailing ... are implicit
    assert x[1, :].owner.op == x[1].owner.op == x[1, ...].owner.op
    # constant 0-d tensors are constant parts
    assert x[T.constant(2)].owner.op.idx_list == (2,)


def test_equal_keys_build_equal_ops() -> None:
    x = T.dmatrix("x")
    assert x[1:3, ::-1].owner.op == x[1:3, ::-1].owner.op
    assert hash(x[1:3].owner.op) == hash(x[1:3].owner.op)
    assert x[1:3].owner.op != x[1:4].owner.op


STATIC_SHAPES = [
    ((5,), slice(1, 3), (2,)),
    ((5,), slice(None, None, -1), (5,)),
    ((5,), slice(None, None, 2), (3,)),
    ((5, None), (slice(1, 3), 0), (2,)),
    ((None, 4), (slice(None), slice(None, None, -1)), (None, 4)),
    ((None, 4), slice(1, 3), (None, 4)),
    ((None,), slice(None, None, -1), (None,)),
    ((1, None), (None, slice(None), 1), (1, 1)),
    ((0, None), slice(2, 5), (0, None)),
    ((3, 1), (Ellipsis, 0), (3,)),
]


@pytest.mark.parametrize(("shape", "key", "expected"), STATIC_SHAPES)
def test_static_output_shape(shape: tuple[int | None, ...], key: Any,
                             expected: tuple[int | None, ...]) -> None:
    x = T.tensor("float64", shape=shape)
    assert x[key].type.shape == expected


def test_static_shape_with_symbolic_parts_is_unknown() -> None:
    x = T.tensor("float64", shape=(5, 3))
    i = T.lscalar("i")
    assert x[i:].type.shape == (None, 3)
    assert x[i].type.shape == (3,)


def test_result_is_a_view() -> None:
    x = T.dmatrix("x")
    out = x[1:, ::-1]
    assert out.owner.op.view_map == {0: [0]}
    value = np.arange(6.0).reshape(2, 3)
    storage: list[list[Any]] = [[None]]
    out.owner.op.perform(out.owner, [value], storage)
    assert np.shares_memory(storage[0][0], value)
    scalar = x[0, 0]
    scalar.owner.op.perform(scalar.owner, [value], storage)
    assert isinstance(storage[0][0], np.ndarray) and storage[0][0].ndim == 0


def test_variable_indexing_method_and_iteration() -> None:
    x = T.tensor("float64", shape=(3,))
    parts = list(x)
    assert len(parts) == 3
    f = sa.function([x], parts)
    assert [float(v) for v in f(np.array([1.0, 2.0, 3.0]))] == [1.0, 2.0, 3.0]


# -- errors -------------------------------------------------------------------


def test_too_many_indices() -> None:
    x = T.dmatrix("x")
    with pytest.raises(IndexingError, match=r"too many indices for a 2-d tensor"):
        x[0, 1, 2]
    with pytest.raises(IndexingError, match="uses 3 dimensions"):
        x[0, ..., 1, :]
    with pytest.raises(IndexError, match="too many indices"):
        T.dscalar()[0]


@pytest.mark.parametrize("key", [1.5, np.float32(1), slice(0.5, 2),
                                 slice(None, None, 1.0), "a", (0, 1.0)])
def test_float_and_other_bad_indices(key: Any) -> None:
    x = T.dmatrix("x")
    with pytest.raises(IndexDtypeError, match="integer|valid indices"):
        x[key]


def test_float_variable_index() -> None:
    x = T.dvector("x")
    with pytest.raises(IndexDtypeError, match="cast it with T.cast"):
        x[T.dscalar("f")]
    with pytest.raises(TypeError, match="slice stop must be"):
        x[: T.dscalar("f")]
    with pytest.raises(TypeError, match="slice start must be"):
        x[T.lvector("v"):]


def test_two_ellipses_and_zero_step() -> None:
    x = T.dmatrix("x")
    with pytest.raises(IndexingError, match="single ellipsis"):
        x[..., ...]
    with pytest.raises(ValueError, match="step cannot be zero"):
        x[::0]
    s = T.lscalar("s")
    f = sa.function([x, s], x[::s])
    with pytest.raises(ValueError, match="step cannot be zero"):
        f(np.zeros((2, 2)), 0)


def test_out_of_range_constant_index_on_static_dim() -> None:
    x = T.tensor("float64", shape=(3, None))
    with pytest.raises(IndexingError, match=r"index 3 is out of bounds for axis 0 "
                                            r"with length 3"):
        x[3]
    with pytest.raises(IndexingError, match="index -4 is out of bounds"):
        x[-4, 0]
    x[-3, 100]  # dimension 1 is not static: checked at run time


def test_out_of_range_index_at_run_time() -> None:
    x = T.dmatrix("x")
    f = sa.function([x], x[:, 5])
    with pytest.raises(IndexingError, match=r"Subtensor\{:, 5\}: index 5 is out of "
                                            r"bounds for axis 1 with size 3.*shape "
                                            r"\(2, 3\)"):
        f(np.zeros((2, 3)))
    i = T.lscalar("i")
    g = sa.function([x, i], x[i])
    with pytest.raises(IndexError, match="index -3 is out of bounds"):
        g(np.zeros((2, 3)), -3)


def test_subtensor_rejects_bad_inputs() -> None:
    x = T.dvector("x")
    with pytest.raises(TypeError, match="needs 1 index inputs, got 0"):
        Subtensor((Idx.SCALAR,))(x)
    with pytest.raises(IndexDtypeError, match="must be a 0-d integer"):
        Subtensor((Idx.SCALAR,))(x, T.dscalar())
    with pytest.raises(TypeError, match="AdvancedSubtensor"):
        Subtensor((Idx.ARRAY,))
    with pytest.raises(IndexingError, match="too many indices"):
        Subtensor((0, 0))(x)


# -- constant values and shapes ------------------------------------------------


def test_scalar_constant_value_of_static_shape_entry() -> None:
    if not hasattr(T, "shape"):
        pytest.skip("T.shape (shape_ops) is not available yet")
    x = T.tensor("float64", shape=(4, None, 2))
    assert int(get_scalar_constant_value(x.shape[0])) == 4
    assert int(get_scalar_constant_value(x.shape[-1])) == 2
    with pytest.raises(NotScalarConstantError):
        get_scalar_constant_value(x.shape[1])
    f = sa.function([x], [x.shape[1], x.shape[-1]])
    assert [int(v) for v in f(np.zeros((4, 7, 2)))] == [7, 2]
    i = T.lscalar("i")
    vec = T.make_vector(T.constant(3), i)
    assert int(get_scalar_constant_value(vec[0])) == 3
    with pytest.raises(NotScalarConstantError):
        get_scalar_constant_value(vec[1])


def test_scalar_constant_value_of_indexed_constant() -> None:
    c = T.constant(np.array([3, 5, 7]))
    assert int(get_scalar_constant_value(c[1])) == 5
    assert int(get_scalar_constant_value(c[-1])) == 7
    with pytest.raises(NotScalarConstantError):
        get_scalar_constant_value(T.dvector()[0])
    with pytest.raises(NotScalarConstantError):
        get_scalar_constant_value(c[1:])


@pytest.mark.parametrize("n", [0, 1, 5, 9])
@pytest.mark.parametrize("parts", [(1, None, None), (None, -2, None), (None, None, -1),
                                   (-1, 0, -2), (2, 7, 3), (-20, 20, None)])
def test_slice_length(n: int, parts: tuple[int | None, ...]) -> None:
    flags = tuple(p is not None for p in parts)
    args = [np.int64(n)] + [np.int64(p) for p in parts if p is not None]
    out = SliceLength(*flags)(*args)
    assert int(out.eval()) == len(range(*slice(*parts).indices(n)))
    assert int(get_scalar_constant_value(out)) == len(range(*slice(*parts).indices(n)))
    sym = [T.lscalar() for _ in args]
    check_infer_shape(sym, SliceLength(*flags)(*sym), args)


def test_parse_index_and_layout() -> None:
    x = T.tensor3()
    idx_list, inputs = parse_index(x, (None, 0, ..., slice(1, None)))
    assert idx_list == (None, 0, Ellipsis, IndexSlice(1, None, None))
    assert inputs == []
    layout = index_layout(idx_list, 3, [])
    assert [d[0] for d in layout.out] == ["new", "slice", "slice"]
    assert [d[1] for d in layout.out[1:]] == [1, 2]
