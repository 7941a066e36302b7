"""Tests of symarray.kernels_c._blas: Dot, Gemm, Gemv, Ger through BLAS.

Every thunk runs on C-ordered, F-ordered, transposed, row-sliced,
column-strided, negative-stride and broadcast operands (float32 and
float64), with 0-size and 1-element shapes, and must give what the op's
NumPy ``perform`` gives.  The update ops are checked in place (``z``
overwritten when BLAS can write it) and out of place (``z`` untouched),
with a zero scale left to ``perform`` (so ``0 * nan`` stays NaN).  The
threads callback must run SciPy's BLAS correctly and survive ``fork``.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import kernels_c
from symarray.kernels_c import blas as kblas
from symarray.kernels_c._blas import CyDotThunk, callback_stats
from symarray.tensor.blas_ops import Gemm, Gemv, Ger
from symarray.tensor.type import TensorType
from symarray.vm import CyStorage
from tests.op_checks import assert_allclose_typed, check_against_numpy

FLOATS = ["float32", "float64"]
LAYOUTS = ["c", "f", "transposed", "rows", "cols", "negative", "broadcast"]


def layout(a, how):
    """``a``'s values in another memory layout (same shape)."""
    if a.ndim == 0 or how == "c":
        return a
    if how == "f":
        return np.asfortranarray(a)
    if how == "transposed":
        return np.ascontiguousarray(a.T).T
    if how == "rows":  # a row slice of a wider array: a leading dimension
        wide = np.zeros(a.shape[:-1] + (a.shape[-1] + 3,), a.dtype)
        wide[..., 1:a.shape[-1] + 1] = a
        return wide[..., 1:a.shape[-1] + 1]
    if how == "cols":  # a step along the last axis: not BLAS-able, copied
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        big[..., ::2] = a
        return big[..., ::2]
    if how == "negative":
        return np.ascontiguousarray(a[::-1])[::-1]
    if how == "broadcast":
        if a.shape[0] == 0:
            return a
        return np.broadcast_to(a[:1], a.shape)
    raise ValueError(how)


def run_c(node, args, keep_buffers=False, storage=None, thunk=None):
    """Run the C thunk of ``node``; return (thunk, storage, output)."""
    if thunk is None:
        thunk = kernels_c.make_thunk(node)
        assert thunk is not None and thunk.backend == "c", thunk
        storage = CyStorage(len(args) + 1)
        thunk.bind(storage, range(len(args)), [len(args)], keep_buffers)
    for i, a in enumerate(args):
        storage[i] = a
    thunk()
    return thunk, storage, storage[len(args)]


def run_perform(node, args):
    out = [[None]]
    with np.errstate(all="ignore"):
        node.op.perform(node, [np.array(a) for a in args], out)
    return out[0][0]


def check(node, args):
    expected = run_perform(node, args)
    got = run_c(node, args)[2]
    assert got.dtype == expected.dtype
    assert_allclose_typed(got, expected)


def rand(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


DOT_SHAPES = [((3, 4), (4, 5)), ((1, 4), (4, 1)), ((0, 4), (4, 5)), ((3, 0), (0, 5)),
              ((3, 4), (4, 0)), ((5,), (5, 3)), ((3, 5), (5,)), ((5,), (5,)),
              ((0,), (0,)), ((1,), (1, 1)), ((6, 1), (1,))]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shapes", DOT_SHAPES, ids=str)
def test_dot_matches_perform(dtype, shapes):
    rng = np.random.default_rng(0)
    sa, sb = shapes
    a_var = TensorType(dtype, shape=(None,) * len(sa))()
    b_var = TensorType(dtype, shape=(None,) * len(sb))()
    node = T.dot(a_var, b_var).owner
    thunk = kernels_c.make_thunk(node)
    assert isinstance(thunk, CyDotThunk)
    a, b = rand(rng, sa, dtype), rand(rng, sb, dtype)
    for la in LAYOUTS:
        for lb in LAYOUTS:
            check(node, [layout(a, la), layout(b, lb)])


@pytest.mark.parametrize("dtype", FLOATS)
def test_dot_large_and_nan(dtype):
    rng = np.random.default_rng(1)
    a, b = rand(rng, (130, 70), dtype), rand(rng, (70, 90), dtype)
    a[3, 5] = np.nan
    b[7, 2] = np.inf
    x, y = (TensorType(dtype, shape=(None, None))() for _ in range(2))
    node = T.dot(x, y).owner
    for la, lb in [("c", "c"), ("f", "transposed"), ("rows", "f")]:
        check(node, [layout(a, la), layout(b, lb)])
    v = rand(rng, (70,), dtype)
    node = T.dot(x, TensorType(dtype, shape=(None,))()).owner
    check(node, [a, v])
    check(node, [a.T.copy().T, v[::-1].copy()[::-1]])


def test_dot_declines_other_dtypes():
    for dt in ("int64", "complex128"):
        x = TensorType(dt, shape=(None, None))()
        assert kernels_c.make_thunk(T.dot(x, x).owner) is None or \
            kernels_c.make_thunk(T.dot(x, x).owner).backend != "c"
    mixed = T.dot(T.fmatrix(), T.dmatrix()).owner
    thunk = kernels_c.make_thunk(mixed)
    assert thunk is None or thunk.backend != "c"


def test_dot_shape_error_comes_from_perform():
    node = T.dot(T.dmatrix(), T.dmatrix()).owner
    with pytest.raises(Exception, match="not aligned"):
        run_c(node, [np.ones((2, 3)), np.ones((4, 2))])


def test_dot_no_gc_reuses_the_output():
    node = T.dot(T.dmatrix(), T.dmatrix()).owner
    rng = np.random.default_rng(2)
    a, b = rng.random((4, 3)), rng.random((3, 5))
    thunk, storage, first = run_c(node, [a, b], keep_buffers=True)
    _, _, second = run_c(node, [b.T.copy(), a.T.copy()], thunk=thunk, storage=storage)
    assert second is not first  # another shape: a new buffer
    _, _, third = run_c(node, [b.T.copy(), a.T.copy()], thunk=thunk, storage=storage)
    assert third is second
    np.testing.assert_allclose(third, (a @ b).T)


def update_node(op, dtype):
    m, v = (lambda: TensorType(dtype, shape=(None, None))(),
            lambda: TensorType(dtype, shape=(None,))())
    s = lambda: TensorType(dtype, shape=())()  # noqa: E731
    if isinstance(op, Gemm):
        return op(m(), s(), m(), m(), s()).owner
    if isinstance(op, Gemv):
        return op(v(), s(), m(), v(), s()).owner
    return op(m(), s(), v(), v()).owner


def update_args(op, dtype, rng, zl, xl, yl, dims=(4, 3, 5)):
    m, k, n = dims
    a, b = np.asarray(0.7, dtype), np.asarray(-1.3, dtype)
    if isinstance(op, Gemm):
        return [layout(rand(rng, (m, n), dtype), zl), a,
                layout(rand(rng, (m, k), dtype), xl),
                layout(rand(rng, (k, n), dtype), yl), b]
    if isinstance(op, Gemv):
        return [layout(rand(rng, (m,), dtype), zl), a,
                layout(rand(rng, (m, k), dtype), xl),
                layout(rand(rng, (k,), dtype), yl), b]
    return [layout(rand(rng, (m, n), dtype), zl), a,
            layout(rand(rng, (m,), dtype), xl), layout(rand(rng, (n,), dtype), yl)]


UPDATES = [Gemm, Gemv, Ger]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("cls", UPDATES, ids=lambda c: c.__name__)
def test_update_matches_perform(cls, inplace, dtype):
    op = cls(inplace=inplace)
    node = update_node(op, dtype)
    rng = np.random.default_rng(3)
    for zl in ("c", "f", "rows", "negative"):
        for xl in ("c", "f", "cols", "negative"):
            for yl in ("c", "transposed", "negative", "broadcast"):
                args = update_args(op, dtype, rng, zl, xl, yl)
                if not args[0].flags.writeable:
                    continue
                expected = run_perform(node, args)
                z_before = np.array(args[0])
                z = args[0]
                got = run_c(node, args)[2]
                assert_allclose_typed(got, expected, dtype)
                if not inplace:
                    np.testing.assert_array_equal(z, z_before)  # z untouched
                elif got is z:
                    assert_allclose_typed(z, expected, dtype)


@pytest.mark.parametrize("cls", UPDATES, ids=lambda c: c.__name__)
def test_update_writes_z_in_place(cls):
    op = cls(inplace=True)
    node = update_node(op, "float64")
    rng = np.random.default_rng(4)
    for zl in ("c", "f"):
        args = update_args(op, "float64", rng, zl, "c", "c", dims=(40, 30, 50))
        z = args[0]
        got = run_c(node, args)[2]
        assert got is z


@pytest.mark.parametrize("cls", UPDATES, ids=lambda c: c.__name__)
def test_zero_scale_keeps_nan_like_the_graph(cls):
    op = cls()
    node = update_node(op, "float64")
    rng = np.random.default_rng(5)
    args = update_args(op, "float64", rng, "c", "c", "c")
    args[0] = np.full_like(args[0], np.nan)
    args[1] = np.asarray(0.0)
    if len(args) == 5:
        args[4] = np.asarray(0.0)
    got = run_c(node, args)[2]
    assert np.isnan(got).all()  # 0 * nan is nan, as perform gives


def test_update_with_zero_length_and_broadcast_z():
    op = Gemm()
    node = update_node(op, "float64")
    rng = np.random.default_rng(6)
    args = update_args(op, "float64", rng, "c", "c", "c", dims=(4, 0, 5))
    check(node, args)
    z = TensorType("float64", shape=(1, None))()
    node = op(z, 1.0, T.dmatrix(), T.dmatrix(), 1.0).owner
    check(node, [np.ones((1, 5)), np.asarray(1.0), np.ones((3, 2)),
                 np.ones((2, 5)), np.asarray(1.0)])


def test_through_function():
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("z")
    rng = np.random.default_rng(7)
    vals = [rng.random((5, 4)), rng.random((4, 6)), rng.random((5, 6))]
    check_against_numpy([x, y, z], 2.0 * T.dot(x, y) + 0.5 * z, vals,
                        lambda a, b, c: 2.0 * a @ b + 0.5 * c)
    v = T.dvector("v")
    check_against_numpy([x, v], T.dot(x.T, v) + 1.0,
                        [vals[0], rng.random(5)], lambda a, b: a.T @ b + 1.0)


def test_threads_callback_runs_scipy_blas():
    import scipy.linalg

    rng = np.random.default_rng(8)
    a = rng.random((300, 300))
    calls_before = sum(callback_stats())
    got = scipy.linalg.blas.dgemm(1.0, a, a)
    np.testing.assert_allclose(got, a @ a, rtol=1e-10)
    if kblas.shared_libraries:
        assert sum(callback_stats()) > calls_before


def test_fork_child_uses_blas():
    node = T.dot(T.dmatrix(), T.dmatrix()).owner
    a = np.random.default_rng(9).random((300, 300))
    run_c(node, [a, a])  # threads have run in the parent
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            out = run_c(node, [a, a])[2]
            os._exit(0 if np.allclose(out, a @ a) else 3)
        finally:
            os._exit(4)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.02)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung in BLAS")


def test_numpy_blas_on_the_shared_team():
    """``SYMARRAY_BLAS_THREADS=all`` also hands NumPy's OpenBLAS the callback;
    NumPy's products stay right, and switching back restores its pool."""
    rng = np.random.default_rng(10)
    a = rng.random((300, 300))
    want = np.array(a @ a)
    changed = kblas.share_blas_threads(True, ("numpy",))
    try:
        before = sum(callback_stats())
        np.testing.assert_allclose(a @ a, want, rtol=1e-12)
        if changed:
            assert sum(callback_stats()) > before
            assert set(changed) <= set(kblas.shared_libraries)
    finally:
        kblas.share_blas_threads(False, ("numpy",))
    assert not set(changed) & set(kblas.shared_libraries)
    np.testing.assert_allclose(a @ a, want, rtol=1e-12)
