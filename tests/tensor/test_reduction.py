"""Reductions (symarray.tensor.reduction) against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from op_checks import check_against_numpy, check_infer_shape

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray.errors import AxisError, DtypeError, EmptyReductionError

RNG = np.random.default_rng(42)
DTYPES = ("float32", "float64", "int32", "int64")
AXES = (None, 0, -1, 1, (0, 2), (-1, 0), ())
SUM_DTYPE = {"float32": "float32", "float64": "float64", "int32": "int64",
             "int64": "int64", "bool": "int64", "int8": "int64", "uint8": "uint64",
             "uint32": "uint64", "uint64": "uint64", "float16": "float16"}


def _data(shape: tuple[int, ...], dtype: str, low: int = -3,
          high: int = 4) -> np.ndarray:
    if dtype == "bool":
        return RNG.integers(0, 2, size=shape).astype(bool)
    if np.dtype(dtype).kind in "iu":
        low = max(low, 0) if np.dtype(dtype).kind == "u" else low
        return RNG.integers(low, high, size=shape).astype(dtype)
    return RNG.uniform(low, high, size=shape).astype(dtype)




# -- sum / prod -----------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES + ("bool", "int8", "uint8", "uint32"))
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", ["sum", "prod"])
def test_sum_prod_match_numpy(name: str, dtype: str, axis: object,
                              keepdims: bool) -> None:
    x = T.tensor(dtype, shape=(None, None, None))
    out = getattr(T, name)(x, axis=axis, keepdims=keepdims)
    assert out.dtype == SUM_DTYPE[dtype]
    value = _data((2, 3, 4), dtype, -2, 3)
    ref = getattr(np, name)

    def reference(v: np.ndarray) -> np.ndarray:
        return ref(v, axis=axis, keepdims=keepdims, dtype=SUM_DTYPE[dtype])

    check_against_numpy([x], out, [value], reference)
    if keepdims and axis is not None:
        kept = [a % 3 for a in ((axis,) if isinstance(axis, int) else axis)]
        assert all(out.broadcastable[a] for a in kept)


@pytest.mark.parametrize("shape,axis", [((0, 3), None), ((0, 3), 0), ((0, 3), 1),
                                        ((0,), None), ((), None)])
def test_sum_prod_empty_and_scalar(shape: tuple[int, ...], axis: object) -> None:
    x = T.tensor("float64", shape=(None,) * len(shape))
    for name in ("sum", "prod"):
        out = getattr(T, name)(x, axis=axis)
        check_against_numpy([x], out, [np.zeros(shape)],
                            lambda v, n=name: getattr(np, n)(v, axis=axis))


def test_sum_float32_accumulates_in_float64() -> None:
    x = T.fvector("x")
    out = T.sum(x)
    assert out.owner.op.acc_dtype == "float64"
    value = np.full(10**6, 0.1, dtype="float32")
    got = sa.function([x], out)(value)
    assert got.dtype == np.float32
    assert abs(float(got) - float(np.sum(value, dtype="float64"))) < 1e-2


def test_sum_dtype_and_acc_dtype_arguments() -> None:
    x = T.imatrix("x")
    value = _data((3, 4), "int32")
    out = T.sum(x, axis=0, dtype="float32")
    check_against_numpy([x], out, [value], lambda v: v.sum(axis=0).astype("float32"),
                        dtype="float32")
    out = T.sum(x, acc_dtype="float64")
    assert out.dtype == "int64"
    with pytest.raises(DtypeError, match="acc_dtype int8"):
        T.sum(x, acc_dtype="int8")


def test_op_props_are_normalized() -> None:
    x = T.dtensor3("x")
    a = T.sum(x, axis=(-1, 0)).owner.op
    b = T.sum(x, axis=[2, 0]).owner.op
    assert a == b and hash(a) == hash(b)
    assert a.axis == (0, 2)
    assert T.Sum(axis=None)(x).owner.op.axis == (0, 1, 2)
    from symarray.tensor import reduction

    assert reduction.Any is T.AnyReduce
    assert "Sum" in str(a)


# -- max / min / all / any ----------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES + ("bool", "uint8"))
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_match_numpy(name: str, dtype: str, axis: object,
                             keepdims: bool) -> None:
    x = T.tensor(dtype, shape=(None, None, None))
    out = getattr(T, name)(x, axis=axis, keepdims=keepdims)
    assert out.dtype == dtype
    check_against_numpy([x], out, [_data((2, 3, 4), dtype)],
                        lambda v: getattr(np, name)(v, axis=axis, keepdims=keepdims))


@pytest.mark.parametrize("dtype", ("bool", "float64", "int32"))
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", ["all", "any"])
def test_all_any_match_numpy(name: str, dtype: str, axis: object,
                             keepdims: bool) -> None:
    x = T.tensor(dtype, shape=(None, None, None))
    out = getattr(T, name)(x, axis=axis, keepdims=keepdims)
    assert out.dtype == "bool"
    value = _data((2, 3, 4), dtype, 0, 2)
    check_against_numpy([x], out, [value],
                        lambda v: getattr(np, name)(v, axis=axis, keepdims=keepdims))
    empty = np.zeros((0, 3, 4), dtype=dtype)
    check_against_numpy([x], out, [empty],
                        lambda v: getattr(np, name)(v, axis=axis, keepdims=keepdims))


def test_max_propagates_nan() -> None:
    x = T.dvector("x")
    got = sa.function([x], [T.max(x), T.min(x)])(np.array([1.0, np.nan, 3.0]))
    assert np.isnan(got[0]) and np.isnan(got[1])


def test_max_of_empty_raises_at_run_time() -> None:
    x = T.dmatrix("x")
    fn = sa.function([x], T.max(x, axis=0))
    with pytest.raises(EmptyReductionError, match=r"Max.*\(0, 3\)"):
        fn(np.zeros((0, 3)))
    # reducing a non-empty axis of an empty array is fine
    assert sa.function([x], T.max(x, axis=1))(np.zeros((0, 3))).shape == (0,)
    with pytest.raises(EmptyReductionError, match=r"Argmin.*\(3, 0\)"):
        sa.function([x], T.argmin(x, axis=1))(np.zeros((3, 0)))


# -- argmax / argmin ------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES + ("bool",))
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_match_numpy(name: str, dtype: str, axis: object,
                                   keepdims: bool) -> None:
    x = T.tensor(dtype, shape=(None, None, None))
    out = getattr(T, name)(x, axis=axis, keepdims=keepdims)
    assert out.dtype == "int64"
    value = _data((2, 3, 4), dtype, 0, 3)  # small range: plenty of ties
    check_against_numpy(
        [x], out, [value],
        lambda v: getattr(np, name)(v, axis=axis, keepdims=keepdims).astype("int64"))


def test_argmax_ties_give_first_index_and_tuple_axes() -> None:
    x = T.dmatrix("x")
    value = np.array([[1.0, 3.0, 3.0], [5.0, 0.0, 5.0]])
    assert sa.function([x], T.argmax(x, axis=1))(value).tolist() == [1, 0]
    assert sa.function([x], T.argmax(x))(value).tolist() == 3
    y = T.dtensor3("y")
    v3 = RNG.normal(size=(2, 3, 4))
    got = sa.function([y], T.argmax(y, axis=(0, 2)))(v3)
    expected = np.argmax(np.transpose(v3, (1, 0, 2)).reshape(3, 8), axis=-1)
    assert got.tolist() == expected.tolist()
    kept = T.argmin(y, axis=(2, 0), keepdims=True)
    assert kept.broadcastable == (True, False, True)
    assert sa.function([y], kept)(v3).shape == (1, 3, 1)


def test_max_and_argmax() -> None:
    x = T.fmatrix("x")
    value = _data((3, 5), "float32")
    check_against_numpy([x], T.max_and_argmax(x, axis=1), [value],
                        lambda v: [v.max(axis=1), v.argmax(axis=1).astype("int64")])


# -- mean / var / std -----------------------------------------------------------


MEAN_DTYPE = {"float32": "float32", "float64": "float64", "int32": "float64",
              "int64": "float64", "bool": "float64"}


@pytest.mark.parametrize("dtype", DTYPES + ("bool",))
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("static", [False, True])
def test_mean_matches_numpy(dtype: str, axis: object, keepdims: bool,
                            static: bool) -> None:
    x = T.tensor(dtype, shape=(2, 3, 4) if static else (None, None, None))
    out = T.mean(x, axis=axis, keepdims=keepdims)
    assert out.dtype == MEAN_DTYPE[dtype]
    check_against_numpy([x], out, [_data((2, 3, 4), dtype)],
                        lambda v: np.mean(v, axis=axis, keepdims=keepdims))


def test_mean_of_nothing_is_nan() -> None:
    x = T.dvector("x")
    assert np.isnan(sa.function([x], T.mean(x))(np.zeros(0)))


@pytest.mark.parametrize("dtype", ("float32", "float64", "int32"))
@pytest.mark.parametrize("axis", [None, 1, (0, -1)])
@pytest.mark.parametrize("ddof", [0, 1])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("corrected", [False, True])
def test_var_std_match_numpy(dtype: str, axis: object, ddof: int, keepdims: bool,
                             corrected: bool) -> None:
    x = T.tensor(dtype, shape=(None, None, None))
    value = _data((3, 4, 5), dtype)
    for name in ("var", "std"):
        out = getattr(T, name)(x, axis=axis, ddof=ddof, keepdims=keepdims,
                               corrected=corrected)
        assert out.dtype == MEAN_DTYPE[dtype]
        check_against_numpy(
            [x], out, [value],
            lambda v, n=name: getattr(np, n)(v.astype("float64"), axis=axis, ddof=ddof,
                                             keepdims=keepdims))


def test_var_methods_and_static_shape() -> None:
    x = T.tensor("float64", shape=(4, None))
    value = _data((4, 6), "float64")
    check_against_numpy([x], x.var(axis=0, ddof=1), [value],
                        lambda v: v.var(axis=0, ddof=1))
    check_against_numpy([x], x.std(), [value], lambda v: v.std())
    check_against_numpy([x], x.mean(axis=1), [value], lambda v: v.mean(axis=1))


# -- logsumexp ------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ("float32", "float64", "int32"))
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_matches_scipy(dtype: str, axis: object, keepdims: bool) -> None:
    from scipy.special import logsumexp

    x = T.tensor(dtype, shape=(None, None))
    out = T.logsumexp(x, axis=axis, keepdims=keepdims)
    check_against_numpy([x], out, [_data((3, 4), dtype)],
                        lambda v: logsumexp(v, axis=axis, keepdims=keepdims))


@pytest.mark.parametrize("big", [1000.0, -1000.0])
def test_logsumexp_is_stable(big: float) -> None:
    x = T.dvector("x")
    got = sa.function([x], T.logsumexp(x))(np.array([big, big]))
    assert np.isfinite(got)
    np.testing.assert_allclose(got, big + np.log(2.0))
    with np.errstate(divide="ignore"):
        minus_inf = sa.function([x], T.logsumexp(x))(np.array([-np.inf, -np.inf]))
    assert minus_inf == -np.inf


# -- infer_shape ------------------------------------------------------------------


@pytest.mark.parametrize("fn", [T.sum, T.prod, T.max, T.min, T.all, T.any, T.argmax,
                                T.argmin])
@pytest.mark.parametrize("axis", [None, 1, (0, 2), ()])
def test_infer_shape(fn: object, axis: object) -> None:
    x = T.dtensor3("x")
    out = fn(x, axis=axis)  # type: ignore[operator]
    check_infer_shape([x], out, [_data((2, 3, 4), "float64")])


# -- errors -------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [T.sum, T.max, T.argmax, T.mean, T.var, T.all])
def test_axis_errors(fn: object) -> None:
    x = T.dmatrix("x")
    with pytest.raises(AxisError, match="out of range for a 2-d input"):
        fn(x, axis=2)  # type: ignore[operator]
    with pytest.raises(AxisError, match="repeats"):
        fn(x, axis=(0, -2))  # type: ignore[operator]
    with pytest.raises(AxisError, match="must be ints"):
        fn(x, axis=1.0)  # type: ignore[operator]


def test_symbolic_axis_is_rejected() -> None:
    x, a = T.dmatrix("x"), T.lscalar("a")
    with pytest.raises(AxisError, match="must be a constant"):
        T.sum(x, axis=a)
    assert T.sum(x, axis=T.constant(1)).owner.op.axis == (1,)


def test_argmax_rejects_complex() -> None:
    with pytest.raises(DtypeError, match="complex"):
        T.argmax(T.zvector("z"))
