"""Allocation ops (symarray.tensor.alloc) against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from op_checks import check_against_numpy, check_infer_shape

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import config
from symarray.errors import AxisError, DtypeError, RankError, ShapeMismatchError

RNG = np.random.default_rng(11)
DTYPES = ("float32", "float64", "int32", "int64")
SHAPES = [(), (0,), (3,), (2, 3), (2, 0, 4)]


def _data(shape: tuple[int, ...], dtype: str = "float64") -> np.ndarray:
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(-5, 6, size=shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


def _var(ndim: int, dtype: str = "float64", name: str = "x") -> T.TensorVariable:
    return T.tensor(dtype, shape=(None,) * ndim, name=name)


# -- alloc ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("value_shape,shape", [
    ((), (2, 3)), ((3,), (2, 3)), ((1, 3), (4, 3)), ((2, 1), (2, 0)), ((), ()),
    ((3,), (3,)), ((), (0, 5)),
])
def test_alloc(dtype: str, value_shape: tuple[int, ...],
               shape: tuple[int, ...]) -> None:
    v = T.tensor(dtype, shape=tuple(1 if s == 1 else None for s in value_shape))
    value = _data(value_shape, dtype)
    out = T.alloc(v, *shape)
    assert out.type.shape == shape and out.dtype == dtype
    check_against_numpy([v], out, [value], lambda a: np.broadcast_to(a, shape).copy())
    check_infer_shape([v], out, [value])
    scalars = [T.lscalar() for _ in shape]
    sym = T.alloc(v, *scalars)
    check_against_numpy([v, *scalars], sym, [value, *shape],
                        lambda a, *s: np.broadcast_to(a, s).copy())
    check_infer_shape([v, *scalars], sym, [value, *shape])
    result = sa.function([v], out)(value)
    assert result.flags.writeable and not np.shares_memory(result, value)


def test_alloc_forms_and_errors() -> None:
    n = T.iscalar("n")
    assert T.alloc(1.0, (2, 3)).type.shape == (2, 3)
    assert T.alloc(1.0, np.int64(2), n).type.shape == (2, None)
    assert T.get_scalar_constant_value(T.alloc(2.5, n)) == 2.5
    m = T.dmatrix("m")
    check_against_numpy([m], T.alloc(0.0, *m.shape), [_data((2, 3))], np.zeros_like)
    with pytest.raises(RankError, match="more than the 1 of the shape"):
        T.alloc(T.dmatrix(), 3)
    with pytest.raises(ShapeMismatchError, match="dimension 0 has length 3"):
        T.alloc(T.tensor("float64", shape=(3,)), 2, 4)
    with pytest.raises(DtypeError, match="expected an integer"):
        T.alloc(0.0, T.dscalar())
    with pytest.raises(RankError, match="expected a 0-d integer"):
        T.alloc(0.0, T.lmatrix())
    f = sa.function([n], T.alloc(T.constant(np.arange(3.0)), 2, n))
    with pytest.raises(ShapeMismatchError, match=r"shape \(3,\) to shape \(2, 4\)"):
        f(4)
    with pytest.raises(ShapeMismatchError, match="negative length"):
        f(-1)


# -- zeros, ones, full, *_like, fill, empty, copy -------------------------------------


@pytest.mark.parametrize("dtype", (None,) + DTYPES)
@pytest.mark.parametrize("shape", [(), (3,), (2, 0), (2, 3)])
def test_zeros_ones_full_empty(dtype: str | None, shape: tuple[int, ...]) -> None:
    expected = dtype or config.floatX
    for fn, ref in ((T.zeros, np.zeros), (T.ones, np.ones)):
        out = fn(shape, dtype=dtype)
        assert out.type.shape == shape
        check_against_numpy([], out, [], lambda ref=ref: ref(shape, dtype=expected))
    full = T.full(shape, 7, dtype=dtype)
    check_against_numpy([], full, [], lambda: np.full(shape, 7, dtype=expected))
    empty = T.empty(shape, dtype)
    got = sa.function([], empty)()
    assert got.shape == shape and got.dtype == expected
    check_infer_shape([], empty, [])


def test_zeros_forms() -> None:
    n = T.lscalar("n")
    m = T.dmatrix("m")
    assert T.zeros(3).type.shape == (3,)
    out = T.zeros((n, 2), dtype="int32")
    check_against_numpy([n], out, [4], lambda n: np.zeros((n, 2), "int32"))
    check_infer_shape([n], out, [4])
    check_against_numpy([m], T.ones(m.shape), [_data((2, 3))], np.ones_like)
    full = T.full((2, 2), T.fscalar("f"))
    assert full.dtype == "float32"
    assert T.full((2,), 1.5).dtype == config.floatX


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_like_functions(dtype: str, shape: tuple[int, ...]) -> None:
    x = _var(len(shape), dtype)
    value = _data(shape, dtype)
    for fn, ref in ((T.zeros_like, np.zeros_like), (T.ones_like, np.ones_like)):
        out = fn(x)
        assert out.dtype == dtype
        check_against_numpy([x], out, [value], ref)
        check_against_numpy([x], fn(x, dtype="float32"), [value],
                            lambda v, ref=ref: ref(v, dtype="float32"))
    out = T.full_like(x, 3)
    check_against_numpy([x], out, [value], lambda v: np.full_like(v, 3))
    check_infer_shape([x], out, [value])
    assert x.zeros_like().dtype == dtype and x.ones_like().dtype == dtype


def test_like_keeps_static_shape() -> None:
    x = T.tensor("float32", shape=(None, 3, 1))
    assert T.zeros_like(x).type.shape == (None, 3, 1)
    assert T.full_like(x, T.constant([1.0, 2.0, 3.0]).dimshuffle(0, "x")).ndim == 3
    with pytest.raises(RankError, match="more than"):
        T.full_like(T.dvector(), T.dmatrix())


@pytest.mark.parametrize("model_shape,value_shape", [
    ((2, 3), ()), ((2, 3), (3,)), ((2, 1), (1, 4)), ((0, 3), ()), ((), ()),
])
def test_fill_and_second(model_shape: tuple[int, ...],
                         value_shape: tuple[int, ...]) -> None:
    m = _var(len(model_shape), "float32", "m")
    v = _var(len(value_shape), "int32", "v")
    out = T.fill(m, v)
    assert out.dtype == "int32"
    mv, vv = _data(model_shape, "float32"), _data(value_shape, "int32")

    def ref(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.broadcast_to(b, np.broadcast_shapes(a.shape, b.shape)).copy()

    check_against_numpy([m, v], out, [mv, vv], ref)
    check_infer_shape([m, v], out, [mv, vv])
    assert T.second(m, 0.5).dtype == "float32"
    assert T.fill(T.imatrix(), 0.5).dtype == config.floatX
    assert T.fill(T.imatrix(), 2).dtype == "int32"
    check_against_numpy([m], m.fill(2.0), [mv], lambda a: np.full_like(a, 2.0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_tensor_copy(dtype: str) -> None:
    x = T.tensor(dtype, shape=(None, 3))
    y = x.copy(name="c")
    assert y.name == "c" and y.type == x.type
    value = _data((2, 3), dtype)
    check_against_numpy([x], y, [value], np.copy)
    check_infer_shape([x], y, [value])
    out = sa.function([x], T.tensor_copy(x))(value)
    assert not np.shares_memory(out, value)


# -- broadcast_to, broadcast_arrays ---------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("in_shape,target", [
    ((), (2, 3)), ((3,), (2, 3)), ((1, 3), (4, 3)), ((2, 1), (2, 0)),
    ((3,), (3,)), ((1,), (0,)), ((2, 1, 1), (5, 2, 3, 4)),
])
def test_broadcast_to(dtype: str, in_shape: tuple[int, ...],
                      target: tuple[int, ...]) -> None:
    x = T.tensor(dtype, shape=tuple(1 if s == 1 else None for s in in_shape))
    value = _data(in_shape, dtype)
    y = T.broadcast_to(x, target)
    if y is not x:
        assert y.type.shape == target
        assert y.owner.op.view_map == {0: [0]}
        check_infer_shape([x], y, [value])
    check_against_numpy([x], y, [value], lambda v: np.broadcast_to(v, target))
    scalars = [T.lscalar() for _ in target]
    z = T.broadcast_to(x, scalars)
    check_against_numpy([x, *scalars], z, [value, *target],
                        lambda v, *s: np.broadcast_to(v, s))
    check_infer_shape([x, *scalars], z, [value, *target])


def test_broadcast_to_errors_and_views() -> None:
    x = T.dvector("x")
    n = T.lscalar("n")
    y = T.broadcast_to(x, (n, 3))
    assert y.type.shape == (None, 3)
    out = sa.function([x, n], y)(_data((3,)), 2)
    assert out.shape == (2, 3)
    with pytest.raises(ShapeMismatchError, match=r"shape \(4,\) to shape \(2, 3\)"):
        sa.function([x, n], y)(_data((4,)), 2)
    with pytest.raises(ShapeMismatchError, match="dimension 0 has length 3"):
        T.broadcast_to(T.tensor("float64", shape=(3,)), (2, 4))
    with pytest.raises(RankError, match="to 1 dimensions"):
        T.broadcast_to(T.dmatrix(), (3,))
    m = T.dmatrix("m")
    assert T.broadcast_to(x, m.shape).ndim == 2


@pytest.mark.parametrize("shapes", [
    [(2, 3), (3,)], [(1, 3), (2, 1)], [(1,), (0,)], [(), (2, 2), (1, 2)],
    [(0, 1), (1, 1)], [(4,)],
])
def test_broadcast_arrays(shapes: list[tuple[int, ...]]) -> None:
    xs = [T.tensor("float64", shape=(None,) * len(s)) for s in shapes]
    values = [_data(s) for s in shapes]
    outs = T.broadcast_arrays(*xs)
    check_against_numpy(xs, outs, values, lambda *v: list(np.broadcast_arrays(*v)))
    # with static broadcastable dimensions, too
    xs2 = [T.tensor("float64", shape=tuple(1 if n == 1 else None for n in s))
           for s in shapes]
    outs2 = T.broadcast_arrays(xs2)
    check_against_numpy(xs2, outs2, values, lambda *v: list(np.broadcast_arrays(*v)))
    with pytest.raises(ShapeMismatchError, match="cannot be broadcast"):
        T.broadcast_arrays(T.tensor("float64", shape=(2,)),
                           T.tensor("float64", shape=(3,)))


# -- arange, eye ------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    (5,), (0,), (-3,), (2, 8), (2, 8, 3), (8, 2, -2), (0.0, 1.0, 0.1), (1.5,),
    (5, 2), (-1.5, 2.25, 0.5), (0, 10, 20),
])
def test_arange_constant(args: tuple[float, ...]) -> None:
    out = T.arange(*args)
    expected = np.arange(*args)
    if all(isinstance(a, int) for a in args):
        assert out.dtype == "int64"
    else:
        assert out.dtype == config.floatX
    assert out.type.shape == expected.shape
    check_against_numpy([], out, [], lambda: expected.astype(out.dtype))
    check_infer_shape([], out, [])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("values", [(0, 5, 1), (2, 9, 3), (9, 2, -2), (5, 0, 1),
                                    (1, 2, 5), (-4, 4, 3)])
def test_arange_symbolic(dtype: str, values: tuple[int, int, int]) -> None:
    start, stop, step = (T.tensor(dtype, shape=(), name=n) for n in ("a", "b", "c"))
    out = T.arange(start, stop, step)
    expected_dtype = "int64" if dtype.startswith("int") else dtype
    assert out.dtype == expected_dtype and out.type.shape == (None,)
    vals = [np.asarray(v, dtype=dtype) for v in values]
    check_against_numpy([start, stop, step], out, vals,
                        lambda a, b, c: np.arange(a, b, c, dtype=expected_dtype))
    check_infer_shape([start, stop, step], out, vals)
    if dtype.startswith("float"):  # fractional steps
        vals = [np.asarray(v, dtype=dtype) for v in (0.0, 1.0, 0.3)]
        check_infer_shape([start, stop, step], out, vals)


def test_arange_dtypes_and_errors() -> None:
    n = T.iscalar("n")
    assert T.arange(n).dtype == "int64"
    assert T.arange(T.fscalar()).dtype == "float32"
    assert T.arange(T.fscalar(), 10).dtype == "float32"
    assert T.arange(T.constant(np.uint8(3))).dtype == "uint64"
    assert T.arange(5, dtype="float32").dtype == "float32"
    with pytest.raises(ShapeMismatchError, match="step is 0"):
        T.arange(0, 5, 0)
    f = sa.function([n], T.arange(0, 5, n))
    with pytest.raises(ShapeMismatchError, match="step is 0"):
        f(0)
    with pytest.raises(RankError, match="stop must be 0-d"):
        T.arange(T.dvector())
    with pytest.raises(DtypeError, match="must be real"):
        T.arange(T.zscalar())


@pytest.mark.parametrize("n,m,k", [(3, None, 0), (2, 4, 1), (4, 2, -1), (0, 3, 0),
                                   (3, 3, 5)])
@pytest.mark.parametrize("dtype", (None, "int32", "float32"))
def test_eye(n: int, m: int | None, k: int, dtype: str | None) -> None:
    out = T.eye(n, m, k, dtype=dtype)
    expected = np.eye(n, m, k, dtype=dtype or config.floatX)
    assert out.type.shape == expected.shape
    check_against_numpy([], out, [], lambda: expected)
    ns, ms, ks = T.lscalar(), T.lscalar(), T.lscalar()
    sym = T.eye(ns, ms, ks, dtype=dtype)
    vals = [n, m if m is not None else n, k]
    check_against_numpy([ns, ms, ks], sym, vals, lambda *a: expected)
    check_infer_shape([ns, ms, ks], sym, vals)


def test_eye_errors_and_identity_like() -> None:
    with pytest.raises(ShapeMismatchError, match="negative length"):
        T.eye(-1)
    n = T.lscalar()
    with pytest.raises(ShapeMismatchError, match="negative length"):
        sa.function([n], T.eye(n))(-2)
    x = T.imatrix("x")
    out = T.identity_like(x)
    assert out.dtype == "int32"
    check_against_numpy([x], out, [_data((2, 3), "int32")],
                        lambda v: np.eye(*v.shape, dtype="int32"))
    with pytest.raises(RankError, match="expected a matrix"):
        T.identity_like(T.dvector())


# -- tile, repeat -----------------------------------------------------------------


@pytest.mark.parametrize("dtype", ("float32", "int64"))
@pytest.mark.parametrize("shape,reps", [
    ((3,), (2,)), ((3,), (2, 2)), ((2, 3), (2,)), ((2, 3), (1, 1)), ((2, 3), (3, 1)),
    ((), (3,)), ((0, 2), (2, 3)), ((2, 1, 3), (1, 2, 1, 2)), ((2,), 3),
    ((2, 2), (0, 2)),
])
def test_tile(dtype: str, shape: tuple[int, ...], reps: tuple[int, ...] | int) -> None:
    x = _var(len(shape), dtype)
    value = _data(shape, dtype)
    out = T.tile(x, reps)
    check_against_numpy([x], out, [value], lambda v: np.tile(v, reps))
    xs = T.tensor(dtype, shape=shape)
    assert T.tile(xs, reps).type.shape == np.tile(value, reps).shape
    r = (reps,) if isinstance(reps, int) else reps
    syms = [T.lscalar() for _ in r]
    out2 = T.tile(x, syms)
    check_against_numpy([x, *syms], out2, [value, *r], lambda v, *s: np.tile(v, s))
    if out2.owner is not None:
        check_infer_shape([x, *syms], out2, [value, *r])
    with pytest.raises(ValueError, match="non-negative"):
        T.tile(x, (-1,))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,repeats,axis", [
    ((3,), 2, None), ((3,), [1, 0, 2], 0), ((2, 3), 2, None), ((2, 3), 3, 1),
    ((2, 3), [1, 2], 0), ((2, 3), [2], 1), ((2, 3), [0, 1, 2], -1), ((0, 3), 2, 0),
    ((), 3, None), ((2, 3), [1, 1, 1, 1, 1, 1], None), ((2, 3), 0, 0),
])
def test_repeat(dtype: str, shape: tuple[int, ...], repeats: object,
                axis: int | None) -> None:
    x = _var(len(shape), dtype)
    value = _data(shape, dtype)
    out = T.repeat(x, repeats, axis)
    expected = np.repeat(value, repeats, axis)
    check_against_numpy([x], out, [value], lambda v: np.repeat(v, repeats, axis))
    check_infer_shape([x], out, [value])
    xs = T.tensor(dtype, shape=shape)
    assert T.repeat(xs, repeats, axis).type.shape == expected.shape
    r = T.lvector("r") if np.ndim(repeats) else T.lscalar("r")
    sym = x.repeat(r, axis)
    rv = np.asarray(repeats, dtype="int64")
    check_against_numpy([x, r], sym, [value, rv], lambda v, r: np.repeat(v, r, axis))
    check_infer_shape([x, r], sym, [value, rv])


def test_repeat_errors() -> None:
    x = T.dmatrix("x")
    with pytest.raises(ShapeMismatchError, match="3 repeat counts for 2"):
        T.repeat(T.tensor("float64", shape=(2, 3)), [1, 2, 3], 0)
    with pytest.raises(ValueError, match=">= 0"):
        T.repeat(x, -1)
    with pytest.raises(AxisError):
        T.repeat(x, 2, axis=2)
    with pytest.raises(DtypeError, match="integer"):
        T.repeat(x, T.dvector())
    r = T.lvector("r")
    f = sa.function([x, r], T.repeat(x, r, 0))
    with pytest.raises(ShapeMismatchError, match="3 repeat counts"):
        f(_data((2, 2)), np.array([1, 2, 3]))
    with pytest.raises(ShapeMismatchError, match=">= 0"):
        f(_data((2, 2)), np.array([1, -2]))
