"""Products (symarray.tensor.blas) against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from op_checks import check_against_numpy, check_infer_shape

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray.errors import RankError, ShapeMismatchError

RNG = np.random.default_rng(7)
DTYPES = ("float32", "float64", "int32", "int64")


def _data(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if np.dtype(dtype).kind in "iub":
        return RNG.integers(-3, 4, size=shape).astype(dtype)
    return RNG.normal(size=shape).astype(dtype)


def _var(dtype: str, ndim: int) -> T.TensorVariable:
    return T.tensor(dtype, shape=(None,) * ndim)


# (shape of a, shape of b): every np.dot rank combination, 0-size included
DOT_CASES = [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
    ((0, 3), (3, 4)), ((2, 0), (0, 4)), ((0,), (0,)),
    ((), (3, 4)), ((2, 3), ()), ((2, 3, 4), (4, 5)), ((2, 3, 4), (5, 4, 6)),
    ((3,), (2, 3, 4)), ((2, 3, 4), (4,)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa_,sb", DOT_CASES)
def test_dot_matches_numpy(dtype: str, sa_: tuple[int, ...],
                           sb: tuple[int, ...]) -> None:
    a, b = _var(dtype, len(sa_)), _var(dtype, len(sb))
    out = T.dot(a, b)
    values = [_data(sa_, dtype), _data(sb, dtype)]
    check_against_numpy([a, b], out, values, np.dot)
    if out.owner is not None and out.ndim:
        check_infer_shape([a, b], out, values)


@pytest.mark.parametrize("da,db", [("int32", "float32"), ("float32", "float64"),
                                   ("int64", "float32"), ("int8", "int32"),
                                   ("bool", "bool")])
def test_dot_upcasts_like_numpy(da: str, db: str) -> None:
    a, b = _var(da, 2), _var(db, 1)
    out = T.dot(a, b)
    expected = np.dot(np.zeros((1, 1), da), np.zeros(1, db)).dtype
    assert out.dtype == expected.name
    values = [_data((3, 4), da), _data((4,), db)]
    check_against_numpy([a, b], out, values, np.dot)


def test_matmul_operator_and_method_call_dot() -> None:
    a, b = T.dmatrix("a"), T.dmatrix("b")
    values = [_data((2, 3), "float64"), _data((3, 2), "float64")]
    check_against_numpy([a, b], a @ b, values, np.dot)
    check_against_numpy([a, b], a.dot(b), values, np.dot)
    assert isinstance((a @ b).owner.op, T.Dot)


def test_dot_static_shape_errors() -> None:
    a = T.tensor("float64", shape=(2, 3))
    b = T.tensor("float64", shape=(2, 3))
    with pytest.raises(ShapeMismatchError, match=r"\(2, 3\).*\(2, 3\).*transpose"):
        T.dot(a, b)
    assert T.dot(a, b.T).type.shape == (2, 2)
    with pytest.raises(ShapeMismatchError, match="contracted lengths differ"):
        T.dot(T.tensor("float64", shape=(4,)), T.tensor("float64", shape=(3,)))


def test_dot_run_time_shape_error() -> None:
    a, b = T.dmatrix("a"), T.dmatrix("b")
    fn = sa.function([a, b], T.dot(a, b))
    with pytest.raises(ShapeMismatchError, match=r"\(2, 3\) and \(2, 3\)"):
        fn(np.zeros((2, 3)), np.zeros((2, 3)))


def test_dot_op_rank_error() -> None:
    with pytest.raises(RankError, match="vector or a matrix"):
        T.Dot()(T.dtensor3("a"), T.dmatrix("b"))


@pytest.mark.parametrize("dtype", ("float32", "int64"))
@pytest.mark.parametrize("sa_,sb,axes", [
    ((2, 3, 4), (3, 4, 5), 2), ((2, 3), (3, 4), 1), ((2, 3), (4, 5), 0),
    ((2, 3, 4), (4, 3), [[1, 2], [1, 0]]), ((2, 3, 4), (3,), [[1], [0]]),
    ((2, 3, 4), (5, 2), [[-3], [-1]]), ((0, 3), (3, 2), [[1], [0]]),
    ((3, 4), (3,), [0, 0]),
])
def test_tensordot_matches_numpy(dtype: str, sa_: tuple[int, ...], sb: tuple[int, ...],
                                 axes: object) -> None:
    a, b = _var(dtype, len(sa_)), _var(dtype, len(sb))
    out = T.tensordot(a, b, axes)
    values = [_data(sa_, dtype), _data(sb, dtype)]
    check_against_numpy([a, b], out, values, lambda x, y: np.tensordot(x, y, axes))
    check_infer_shape([a, b], out, values)


def test_tensordot_errors() -> None:
    a, b = T.dtensor3("a"), T.dmatrix("b")
    with pytest.raises(ValueError, match="as many"):
        T.tensordot(a, b, [[0, 1], [0]])
    with pytest.raises(ValueError, match="out of range"):
        T.tensordot(a, b, [[3], [0]])
    with pytest.raises(ValueError, match="axes=3"):
        T.tensordot(a, b, 3)
    with pytest.raises(ShapeMismatchError, match="axis 1 of the first"):
        T.tensordot(T.tensor("float64", shape=(2, 3)), T.tensor("float64", shape=(4,)),
                    [[1], [0]])


@pytest.mark.parametrize("dtype", ("float32", "int32"))
def test_outer(dtype: str) -> None:
    x, y = _var(dtype, 1), _var("float64", 2)
    values = [_data((3,), dtype), _data((2, 2), "float64")]
    check_against_numpy([x, y], T.outer(x, y), values, np.outer)
    check_against_numpy([x], T.outer(x, x), values[:1], lambda v: np.outer(v, v))


def _np_batched_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.stack([np.dot(x, y) for x, y in zip(a, b, strict=True)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa_,sb", [
    ((4, 2, 3), (4, 3, 5)), ((4, 2, 3), (4, 3)), ((4, 3), (4, 3, 5)), ((4, 3), (4, 3)),
    ((4,), (4, 3)), ((4, 2, 3), (4,)), ((4, 2, 3, 5), (4, 5, 2)),
    ((4, 3), (4, 2, 3, 5)),
])
def test_batched_dot_matches_loop(dtype: str, sa_: tuple[int, ...],
                                  sb: tuple[int, ...]) -> None:
    a, b = _var(dtype, len(sa_)), _var(dtype, len(sb))
    out = T.batched_dot(a, b)
    values = [_data(sa_, dtype), _data(sb, dtype)]

    def reference(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if x.ndim == 1:
            return x.reshape((-1,) + (1,) * (y.ndim - 1)) * y
        if y.ndim == 1:
            return x * y.reshape((-1,) + (1,) * (x.ndim - 1))
        return _np_batched_dot(x, y)

    check_against_numpy([a, b], out, values, reference)
    check_infer_shape([a, b], out, values)


def test_batched_dot_empty_batch_and_errors() -> None:
    a, b = T.dtensor3("a"), T.dtensor3("b")
    fn = sa.function([a, b], T.batched_dot(a, b))
    got = fn(np.zeros((0, 2, 3)), np.zeros((0, 3, 4)))
    assert got.shape == (0, 2, 4)
    fn = sa.function([a, b], T.batched_dot(a, b))
    with pytest.raises(ShapeMismatchError, match="batch lengths differ"):
        fn(np.zeros((2, 2, 3)), np.zeros((3, 3, 4)))
    with pytest.raises(ShapeMismatchError, match="not aligned"):
        fn(np.zeros((2, 2, 3)), np.zeros((2, 2, 4)))
    with pytest.raises(ShapeMismatchError, match="batch lengths differ"):
        T.batched_dot(T.tensor("float64", shape=(2, 3, 3)),
                      T.tensor("float64", shape=(5, 3, 3)))
    with pytest.raises(RankError, match="batch axis"):
        T.batched_dot(T.dscalar(), b)


def test_batched_tensordot() -> None:
    a, b = T.dtensor4("a"), T.dtensor3("b")
    values = [_data((2, 3, 4, 5), "float64"), _data((2, 5, 4), "float64")]
    out = T.batched_tensordot(a, b, [[2, 3], [2, 1]])
    check_against_numpy(
        [a, b], out, values,
        lambda x, y: np.stack([np.tensordot(p, q, [[1, 2], [1, 0]])
                               for p, q in zip(x, y, strict=True)]))
    check_infer_shape([a, b], out, values)
    with pytest.raises(ValueError, match="batch axis"):
        T.batched_tensordot(a, b, [[0], [0]])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa_,sb", [
    ((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,)),
    ((5, 2, 3), (3, 4)), ((5, 2, 3), (5, 3, 4)), ((1, 2, 3), (6, 3, 4)),
    ((7, 1, 2, 3), (5, 3, 4)), ((3,), (5, 3, 4)), ((5, 2, 3), (3,)),
    ((0, 2, 3), (3, 4)), ((2, 0), (0, 4)),
])
def test_matmul_matches_numpy(dtype: str, sa_: tuple[int, ...],
                              sb: tuple[int, ...]) -> None:
    a, b = _var(dtype, len(sa_)), _var(dtype, len(sb))
    out = T.matmul(a, b)
    values = [_data(sa_, dtype), _data(sb, dtype)]
    check_against_numpy([a, b], out, values, np.matmul)
    check_infer_shape([a, b], out, values)


def test_matmul_static_broadcast_and_errors() -> None:
    a = T.tensor("float64", shape=(1, 2, 3))
    b = T.tensor("float64", shape=(6, 3, None))
    assert T.matmul(a, b).type.shape == (6, 2, None)
    with pytest.raises(ShapeMismatchError, match="batch"):
        T.matmul(T.tensor("float64", shape=(4, 2, 3)), b)
    with pytest.raises(ShapeMismatchError, match="contracted"):
        T.matmul(T.tensor("float64", shape=(2, 5)), b)
    with pytest.raises(RankError, match="0-d"):
        T.matmul(T.dscalar(), b)
    x, y = T.dtensor3("x"), T.dtensor3("y")
    fn = sa.function([x, y], T.matmul(x, y))
    with pytest.raises(ShapeMismatchError, match="broadcast"):
        fn(np.zeros((2, 2, 3)), np.zeros((3, 3, 4)))
