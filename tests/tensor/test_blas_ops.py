"""Gemm, Gemv and Ger (symarray.tensor.blas_ops) against NumPy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from op_checks import check_against_numpy, check_infer_shape

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray.compile.mode import Mode
from symarray.errors import DtypeError, RankError, ShapeMismatchError
from symarray.tensor.blas_ops import Gemm, Gemv, Ger, gemm, gemv, ger

RNG = np.random.default_rng(11)
DTYPES = ("float32", "float64", "complex128")
NO_REWRITES = Mode(linker="py", optimizer=None)


@pytest.fixture(params=[False, True], ids=["numpy_blas", "scipy_blas"])
def blas_backend(request: Any, monkeypatch: Any) -> bool:
    """Run a test with both BLAS paths of the ops (NumPy's dot, scipy's BLAS)."""
    import symarray.tensor.blas_ops as blas_ops

    monkeypatch.setattr(blas_ops, "USE_SCIPY_BLAS", request.param)
    return bool(request.param)


def _data(shape: tuple[int, ...], dtype: str, order: str = "C") -> np.ndarray:
    out = RNG.normal(size=shape)
    if np.dtype(dtype).kind == "c":
        out = out + 1j * RNG.normal(size=shape)
    return np.asarray(out.astype(dtype), order=order)


def _mat(dtype: str) -> Any:
    return T.matrix(dtype=dtype)


def _vec(dtype: str) -> Any:
    return T.vector(dtype=dtype)


def _scal(dtype: str) -> Any:
    return T.scalar(dtype=dtype)


# (z shape, x shape, y shape): z may broadcast against dot(x, y)
GEMM_SHAPES = [
    ((3, 4), (3, 5), (5, 4)),
    ((1, 4), (3, 5), (5, 4)),
    ((3, 1), (3, 5), (5, 4)),
    ((3, 4), (1, 5), (5, 4)),
    ((0, 4), (0, 5), (5, 4)),
    ((3, 4), (3, 0), (0, 4)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("zs,xs,ys", GEMM_SHAPES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_gemm_matches_numpy(
    blas_backend: bool,
    dtype: str,
    zs: tuple[int, ...],
    xs: tuple[int, ...],
    ys: tuple[int, ...],
    order: str,
) -> None:
    z, x, y, a, b = _mat(dtype), _mat(dtype), _mat(dtype), _scal(dtype), _scal(dtype)
    out = gemm(z, a, x, y, b)
    values = [
        _data(zs, dtype, order),
        np.asarray(0.7, dtype),
        _data(xs, dtype),
        _data(ys, dtype, order),
        np.asarray(-1.3, dtype),
    ]
    check_against_numpy(
        [z, a, x, y, b], out, values, lambda z, a, x, y, b: b * z + a * np.dot(x, y)
    )
    check_infer_shape([z, a, x, y, b], out, values)


GEMV_SHAPES = [
    ((3,), (3, 5), (5,)),
    ((1,), (3, 5), (5,)),
    ((3,), (1, 5), (5,)),
    ((0,), (0, 5), (5,)),
    ((3,), (3, 0), (0,)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("zs,as_,xs", GEMV_SHAPES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_gemv_matches_numpy(
    blas_backend: bool,
    dtype: str,
    zs: tuple[int, ...],
    as_: tuple[int, ...],
    xs: tuple[int, ...],
    order: str,
) -> None:
    z, m, x, a, b = _vec(dtype), _mat(dtype), _vec(dtype), _scal(dtype), _scal(dtype)
    out = gemv(z, a, m, x, b)
    values = [
        _data(zs, dtype),
        np.asarray(2.0, dtype),
        _data(as_, dtype, order),
        _data(xs, dtype),
        np.asarray(0.5, dtype),
    ]
    check_against_numpy(
        [z, a, m, x, b], out, values, lambda z, a, m, x, b: b * z + a * np.dot(m, x)
    )
    check_infer_shape([z, a, m, x, b], out, values)


GER_SHAPES = [
    ((3, 4), (3,), (4,)),
    ((1, 4), (3,), (4,)),
    ((3, 4), (1,), (4,)),
    ((0, 4), (0,), (4,)),
    ((3, 0), (3,), (0,)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("zs,xs,ys", GER_SHAPES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_ger_matches_numpy(
    blas_backend: bool,
    dtype: str,
    zs: tuple[int, ...],
    xs: tuple[int, ...],
    ys: tuple[int, ...],
    order: str,
) -> None:
    z, x, y, a = _mat(dtype), _vec(dtype), _vec(dtype), _scal(dtype)
    out = ger(z, a, x, y)
    values = [
        _data(zs, dtype, order),
        np.asarray(-0.5, dtype),
        _data(xs, dtype),
        _data(ys, dtype),
    ]
    check_against_numpy(
        [z, a, x, y], out, values, lambda z, a, x, y: z + a * np.outer(x, y)
    )
    check_infer_shape([z, a, x, y], out, values)


@pytest.mark.parametrize("alpha,beta", [(0.0, 1.0), (1.0, 0.0)])
def test_zero_scale_keeps_elementwise_nan_semantics(alpha: float, beta: float) -> None:
    # BLAS skips a term whose scale is 0; the elementwise graph gives 0 * nan
    z, x, y = T.dmatrix("z"), T.dmatrix("x"), T.dmatrix("y")
    f = sa.function([z, x, y], gemm(z, alpha, x, y, beta), mode=NO_REWRITES)
    zv, xv, yv = np.full((2, 2), np.nan), np.full((2, 3), np.inf), np.ones((3, 2))
    with np.errstate(all="ignore"):
        want = beta * zv + alpha * np.dot(xv, yv)
    np.testing.assert_array_equal(f(zv, xv, yv), want)


@pytest.mark.parametrize("order", ["C", "F"])
def test_inplace_variants_write_into_z(blas_backend: bool, order: str) -> None:
    z, x, y, v = T.dmatrix("z"), T.dmatrix("x"), T.dmatrix("y"), T.dvector("v")
    zv = np.asarray(np.ones((2, 2)), order=order)
    xv, yv = _data((2, 3), "float64"), _data((3, 2), "float64")
    f = sa.function(
        [sa.In(z, mutable=True), x, y],
        Gemm(inplace=True)(z, 2.0, x, y, 0.5),
        mode=NO_REWRITES,
        accept_inplace=True,
    )
    want = 0.5 * zv + 2.0 * xv @ yv
    got = f(zv, xv, yv)
    np.testing.assert_allclose(got, want)
    np.testing.assert_allclose(zv, want)  # z's buffer holds the result
    g = sa.function(
        [sa.In(z, mutable=True), v],
        Ger(inplace=True)(z, 1.0, v, v),
        mode=NO_REWRITES,
        accept_inplace=True,
    )
    zv = np.asarray(np.zeros((2, 2)), order=order)
    g(zv, np.array([1.0, 2.0]))
    np.testing.assert_allclose(zv, [[1.0, 2.0], [2.0, 4.0]])


def test_gemv_inplace_writes_into_z(blas_backend: bool) -> None:
    z, m, x = T.dvector("z"), T.dmatrix("m"), T.dvector("x")
    f = sa.function(
        [sa.In(z, mutable=True), m, x],
        Gemv(inplace=True)(z, 1.0, m, x, 1.0),
        mode=NO_REWRITES,
        accept_inplace=True,
    )
    zv = np.ones(2)
    f(zv, np.eye(2), np.array([3.0, 4.0]))
    np.testing.assert_allclose(zv, [4.0, 5.0])


def test_ops_compare_by_inplace_prop() -> None:
    assert Gemm() == Gemm(False) and Gemm() != Gemm(True)
    assert hash(Ger(True)) == hash(Ger(True))
    assert Gemm(True).destroy_map == {0: [0]} and Gemv().destroy_map == {}
    assert str(Gemv(True)) == "Gemv{inplace}"


def test_build_errors() -> None:
    z, x, y = T.dmatrix("z"), T.dmatrix("x"), T.dmatrix("y")
    with pytest.raises(DtypeError, match="share one dtype"):
        gemm(z, 1.0, T.fmatrix("f"), y, 1.0)
    with pytest.raises(DtypeError, match="float or complex"):
        gemm(T.lmatrix(), 1, T.lmatrix(), T.lmatrix(), 1)
    with pytest.raises(RankError, match="x must be a matrix"):
        gemm(z, 1.0, T.dvector(), y, 1.0)
    with pytest.raises(RankError, match="alpha must be a 0-d"):
        gemm(z, T.dvector(), x, y, 1.0)
    with pytest.raises(DtypeError, match="alpha"):
        gemm(T.fmatrix(), T.dscalar(), T.fmatrix(), T.fmatrix(), 1.0)
    with pytest.raises(ShapeMismatchError, match="columns of x and rows of y"):
        gemm(
            z,
            1.0,
            T.tensor("float64", shape=(2, 3)),
            T.tensor("float64", shape=(4, 2)),
            1.0,
        )
    with pytest.raises(RankError, match="z must be a vector"):
        gemv(z, 1.0, x, T.dvector(), 1.0)
    with pytest.raises(ShapeMismatchError):
        ger(
            T.tensor("float64", shape=(2, 3)),
            1.0,
            T.tensor("float64", shape=(3,)),
            T.dvector(),
        )
    with pytest.raises(TypeError, match="in place"):
        Gemm(True)(
            T.tensor("float64", shape=(1, 3)),
            1.0,
            T.tensor("float64", shape=(2, 2)),
            T.dmatrix(),
            1.0,
        )


def test_run_time_shape_errors() -> None:
    z, x, y = T.dmatrix("z"), T.dmatrix("x"), T.dmatrix("y")
    f = sa.function([z, x, y], gemm(z, 1.0, x, y, 1.0), mode=NO_REWRITES)
    with pytest.raises(ShapeMismatchError, match="not aligned"):
        f(np.ones((2, 2)), np.ones((2, 3)), np.ones((4, 2)))
    v = T.dvector("v")
    g = sa.function([z, v], ger(z, 1.0, v, v), mode=NO_REWRITES)
    with pytest.raises(ShapeMismatchError, match="does not broadcast"):
        g(np.ones((2, 2)), np.ones(3))


@pytest.mark.parametrize("zshape", [(3, 4), (1, 4)])
def test_gemm_gradient(zshape: tuple[int, ...]) -> None:
    pt = [
        _data(zshape, "float64"),
        np.asarray(0.7),
        _data((3, 2), "float64"),
        _data((2, 4), "float64"),
        np.asarray(-1.2),
    ]
    T.verify_grad(lambda z, a, x, y, b: gemm(z, a, x, y, b), pt)


@pytest.mark.parametrize(
    "zshape,ashape", [((3,), (3, 2)), ((3,), (1, 2)), ((1,), (3, 2))]
)
def test_gemv_gradient(zshape: tuple[int, ...], ashape: tuple[int, ...]) -> None:
    pt = [
        _data(zshape, "float64"),
        np.asarray(0.7),
        _data(ashape, "float64"),
        _data((2,), "float64"),
        np.asarray(1.5),
    ]
    T.verify_grad(lambda z, a, m, x, b: gemv(z, a, m, x, b), pt)


@pytest.mark.parametrize("zshape", [(3, 4), (3, 1)])
def test_ger_gradient(zshape: tuple[int, ...]) -> None:
    pt = [
        _data(zshape, "float64"),
        np.asarray(0.7),
        _data((3,), "float64"),
        _data((4,), "float64"),
    ]
    T.verify_grad(lambda z, a, x, y: ger(z, a, x, y), pt)


def _rop_check(inputs: list[Any], out: Any, naive: Any, values: list[Any]) -> None:
    """R_op of the op equals R_op of the elementwise expression it replaces."""
    tangents = [i.type() for i in inputs]
    r_op = T.Rop(out, inputs, tangents)
    r_naive = T.Rop(naive, inputs, tangents)
    f = sa.function(inputs + tangents, [r_op, r_naive], mode=NO_REWRITES)
    t_values = [_data(np.shape(v), "float64") for v in values]
    got, want = f(*values, *t_values)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_r_ops() -> None:
    z, x, y, a, b = (
        T.dmatrix("z"),
        T.dmatrix("x"),
        T.dmatrix("y"),
        T.dscalar("a"),
        T.dscalar("b"),
    )
    vals = [
        _data((3, 4), "float64"),
        np.asarray(0.7),
        _data((3, 2), "float64"),
        _data((2, 4), "float64"),
        np.asarray(1.1),
    ]
    _rop_check([z, a, x, y, b], gemm(z, a, x, y, b), b * z + a * T.dot(x, y), vals)
    v, w = T.dvector("v"), T.dvector("w")
    vals = [
        _data((3,), "float64"),
        np.asarray(0.7),
        _data((3, 2), "float64"),
        _data((2,), "float64"),
        np.asarray(1.1),
    ]
    _rop_check([v, a, x, w, b], gemv(v, a, x, w, b), b * v + a * T.dot(x, w), vals)
    vals = [
        _data((3, 4), "float64"),
        np.asarray(0.7),
        _data((3,), "float64"),
        _data((4,), "float64"),
    ]
    _rop_check([z, a, v, w], ger(z, a, v, w), z + a * T.outer(v, w), vals)
