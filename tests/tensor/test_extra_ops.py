"""cumsum/cumprod, diff, diagonals, searchsorted (symarray.tensor.extra_ops)."""

from __future__ import annotations

import numpy as np
import pytest
from op_checks import check_against_numpy, check_infer_shape

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray.errors import AxisError, RankError

RNG = np.random.default_rng(3)
DTYPES = ("float32", "float64", "int32", "int64")


def _data(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if dtype == "bool":
        return RNG.integers(0, 2, size=shape).astype(bool)
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(0 if dtype[0] == "u" else -3, 4, size=shape).astype(dtype)
    return RNG.normal(size=shape).astype(dtype)


CUM_CASES = [((2, 3, 4), None), ((2, 3, 4), 0), ((2, 3, 4), -1), ((2, 3, 4), 1),
             ((0, 3), 0), ((0, 3), None), ((5,), 0), ((), None)]


@pytest.mark.parametrize("dtype", DTYPES + ("bool", "int8", "uint8"))
@pytest.mark.parametrize("shape,axis", CUM_CASES)
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_cumsum_cumprod_match_numpy(name: str, dtype: str, shape: tuple[int, ...],
                                    axis: int | None) -> None:
    x = T.tensor(dtype, shape=(None,) * len(shape))
    out = getattr(T, name)(x, axis=axis)
    value = _data(shape, dtype)
    ref = getattr(np, name)
    assert out.dtype == ref(np.zeros((1,), dtype)).dtype.name
    check_against_numpy([x], out, [value], lambda v: ref(v, axis=axis))
    check_infer_shape([x], out, [value])


def test_cum_methods_and_static_shape() -> None:
    x = T.tensor("float64", shape=(2, 3))
    assert x.cumsum().type.shape == (6,)
    assert x.cumprod(axis=0).type.shape == (2, 3)
    value = _data((2, 3), "float64")
    check_against_numpy([x], x.cumsum(axis=1), [value], lambda v: v.cumsum(axis=1))
    assert T.cumsum(x, -1).owner.op == T.CumOp(1, "add")
    with pytest.raises(AxisError, match="out of range"):
        T.cumsum(x, axis=2)
    with pytest.raises(ValueError, match="mode"):
        T.CumOp(0, "max")


@pytest.mark.parametrize("dtype", DTYPES + ("bool",))
@pytest.mark.parametrize("shape,n,axis", [
    ((5,), 1, -1), ((5,), 2, 0), ((3, 4), 1, 0), ((3, 4), 3, 1), ((3, 4), 5, 1),
    ((2, 3, 4), 1, -2), ((3, 4), 0, 1), ((0, 4), 1, 0),
])
def test_diff_matches_numpy(dtype: str, shape: tuple[int, ...], n: int,
                            axis: int) -> None:
    x = T.tensor(dtype, shape=(None,) * len(shape))
    out = T.diff(x, n=n, axis=axis)
    value = _data(shape, dtype)
    check_against_numpy([x], out, [value], lambda v: np.diff(v, n=n, axis=axis))
    check_infer_shape([x], out, [value])
    static = T.tensor(dtype, shape=shape)
    assert T.diff(static, n=n, axis=axis).type.shape == np.diff(value, n, axis).shape


def test_diff_errors_and_no_alias() -> None:
    with pytest.raises(RankError, match="at least 1"):
        T.diff(T.dscalar())
    with pytest.raises(ValueError, match="non-negative"):
        T.diff(T.dvector(), n=-1)
    x = T.dvector("x")
    value = np.arange(3.0)
    got = sa.function([x], T.diff(x, n=0))(value)
    assert not np.shares_memory(got, value)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,offset,axis1,axis2", [
    ((3, 4), 0, 0, 1), ((3, 4), 1, 0, 1), ((3, 4), -2, 0, 1), ((3, 4), 5, 0, 1),
    ((3, 4), -4, 0, 1), ((4, 3), 1, 1, 0), ((2, 3, 4), 0, 0, 2), ((2, 3, 4), 1, -1, 1),
    ((0, 3), 0, 0, 1),
])
def test_diagonal_matches_numpy(dtype: str, shape: tuple[int, ...], offset: int,
                                axis1: int, axis2: int) -> None:
    x = T.tensor(dtype, shape=(None,) * len(shape))
    out = T.diagonal(x, offset, axis1, axis2)
    value = _data(shape, dtype)
    check_against_numpy([x], out, [value],
                        lambda v: np.diagonal(v, offset, axis1, axis2))
    check_infer_shape([x], out, [value])
    static = T.tensor(dtype, shape=shape)
    expected = np.diagonal(value, offset, axis1, axis2).shape
    assert T.diagonal(static, offset, axis1, axis2).type.shape == expected


def test_diagonal_is_a_writable_copy_and_errors() -> None:
    x = T.dmatrix("x")
    value = np.eye(3)
    got = sa.function([x], x.diagonal())(value)
    assert got.flags.writeable and not np.shares_memory(got, value)
    with pytest.raises(RankError, match="at least 2"):
        T.diagonal(T.dvector())
    with pytest.raises(AxisError, match="must differ"):
        T.diagonal(x, 0, 1, -1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,k", [((3,), 0), ((3,), 2), ((3,), -1), ((0,), 0),
                                     ((3, 4), 0), ((3, 4), 1), ((3, 4), -2)])
def test_diag_matches_numpy(dtype: str, shape: tuple[int, ...], k: int) -> None:
    x = T.tensor(dtype, shape=(None,) * len(shape))
    out = T.diag(x, k)
    value = _data(shape, dtype)
    check_against_numpy([x], out, [value], lambda v: np.diag(v, k))
    check_infer_shape([x], out, [value])


def test_diag_rank_error() -> None:
    with pytest.raises(RankError, match="vector or a matrix"):
        T.diag(T.dtensor3())
    assert T.diag(T.tensor("float32", shape=(4,)), 1).type.shape == (5, 5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("vshape", [(), (5,), (2, 3), (0,)])
def test_searchsorted_matches_numpy(dtype: str, side: str,
                                    vshape: tuple[int, ...]) -> None:
    x = T.tensor(dtype, shape=(None,))
    v = T.tensor(dtype, shape=(None,) * len(vshape))
    out = T.searchsorted(x, v, side=side)
    values = [np.sort(_data((6,), dtype)), _data(vshape, dtype)]
    check_against_numpy([x, v], out, values,
                        lambda a, b: np.searchsorted(a, b, side=side).astype("int64"))
    if vshape:
        check_infer_shape([x, v], out, values)


def test_searchsorted_sorter_and_errors() -> None:
    x, v, s = T.dvector("x"), T.dvector("v"), T.lvector("s")
    xv = np.array([3.0, 1.0, 2.0])
    values = [xv, np.array([2.5, 0.0]), np.argsort(xv)]
    check_against_numpy([x, v, s], T.searchsorted(x, v, sorter=s), values,
                        lambda a, b, c: np.searchsorted(a, b, sorter=c))
    with pytest.raises(RankError, match="vector"):
        T.searchsorted(T.dmatrix(), v)
    with pytest.raises(ValueError, match="side"):
        T.searchsorted(x, v, side="middle")


@pytest.mark.parametrize("dtype", DTYPES + ("bool",))
@pytest.mark.parametrize("shape", [(6,), (3, 4), (2, 3, 4), (0, 3)])
def test_nonzero_matches_numpy(dtype: str, shape: tuple[int, ...]) -> None:
    x = T.tensor(dtype, shape=(None,) * len(shape))
    value = _data(shape, dtype)
    outs = T.nonzero(x)
    assert isinstance(outs, tuple) and len(outs) == len(shape)
    check_against_numpy([x], list(outs), [value],
                        lambda v: [i.astype("int64") for i in np.nonzero(v)])
    check_infer_shape([x], list(outs), [value])
    check_against_numpy([x], T.flatnonzero(x), [value],
                        lambda v: np.flatnonzero(v).astype("int64"))


def test_nonzero_matrix_form_and_errors() -> None:
    x = T.dmatrix("x")
    value = np.array([[0.0, 1.0], [2.0, 0.0]])
    check_against_numpy([x], T.nonzero(x, return_matrix=True), [value],
                        lambda v: np.array(np.nonzero(v)))
    check_against_numpy([x], x.nonzero()[1], [value], lambda v: np.nonzero(v)[1])
    with pytest.raises(RankError, match="at least 1"):
        T.nonzero(T.dscalar())
