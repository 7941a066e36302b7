"""sort and argsort (symarray.tensor.sort) against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from op_checks import check_against_numpy, check_infer_shape

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray.errors import AxisError

RNG = np.random.default_rng(11)
DTYPES = ("float32", "float64", "int32", "int64")
CASES = [((2, 3, 4), -1), ((2, 3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), None),
         ((5,), 0), ((0, 3), 0), ((0, 3), None), ((), None)]


def _distinct(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Values without ties, so every sort kind gives NumPy's argsort."""
    n = int(np.prod(shape))
    return RNG.permutation(n).reshape(shape).astype(dtype) - n // 2


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axis", CASES)
@pytest.mark.parametrize("kind", ["quicksort", "stable"])
def test_sort_argsort_match_numpy(dtype: str, shape: tuple[int, ...], axis: int | None,
                                  kind: str) -> None:
    x = T.tensor(dtype, shape=(None,) * len(shape))
    value = _distinct(shape, dtype)
    out = T.sort(x, axis=axis, kind=kind)
    assert out.dtype == dtype
    check_against_numpy([x], out, [value], lambda v: np.sort(v, axis=axis))
    check_infer_shape([x], out, [value])
    idx = T.argsort(x, axis=axis, kind=kind)
    assert idx.dtype == "int64"
    check_against_numpy([x], idx, [value],
                        lambda v: np.argsort(v, axis=axis).astype("int64"))
    check_infer_shape([x], idx, [value])


def test_argsort_stable_keeps_order_of_ties() -> None:
    x = T.lvector("x")
    value = np.array([2, 1, 2, 1, 0, 2] * 20)
    got = sa.function([x], T.argsort(x, kind="stable"))(value)
    np.testing.assert_array_equal(got, np.argsort(value, kind="stable"))
    got = sa.function([x], T.argsort(x, kind="mergesort"))(value)
    np.testing.assert_array_equal(got, np.argsort(value, kind="stable"))


def test_sort_bool_nan_and_methods() -> None:
    b = T.bvector("b")
    check_against_numpy([b], T.sort(b), [np.array([1, 0, 1], "int8")], np.sort)
    x = T.dmatrix("x")
    value = np.array([[3.0, np.nan, 1.0], [2.0, 0.0, -1.0]])
    check_against_numpy([x], x.sort(), [value], np.sort)
    check_against_numpy([x], x.argsort(axis=0), [value],
                        lambda v: np.argsort(v, axis=0))


def test_static_shape_and_props() -> None:
    x = T.tensor("float32", shape=(2, 3))
    assert T.sort(x).type.shape == (2, 3)
    assert T.sort(x, axis=None).type.shape == (6,)
    assert T.argsort(x, axis=-1).owner.op == T.ArgSortOp(1, "quicksort")
    assert T.sort(x, axis=0).owner.op != T.sort(x, axis=1).owner.op


def test_sort_errors() -> None:
    x = T.dmatrix("x")
    with pytest.raises(AxisError, match="out of range"):
        T.sort(x, axis=2)
    with pytest.raises(ValueError, match="kind"):
        T.sort(x, kind="bogo")
    with pytest.raises(ValueError, match="order"):
        T.argsort(x, order="f")
    with pytest.raises(ValueError, match="axis=None"):
        T.sort(T.dscalar())
