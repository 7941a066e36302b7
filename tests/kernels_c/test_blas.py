"""Tests of symarray.kernels_c._blas: Dot, Gemm, Gemv, Ger through BLAS.

Every thunk runs on C-ordered, F-ordered, transposed, row-sliced,
column-strided, negative-stride and broadcast operands (float32 and
float64), with 0-size and 1-element shapes, and must give what the op's
NumPy ``perform`` gives.  The update ops are checked in place (``z``
overwritten when BLAS can write it) and out of place (``z`` untouched),
with a zero scale left to ``perform`` (so ``0 * nan`` stays NaN).  The
threads callback must run SciPy's BLAS correctly on the process's one
thread pool (``_threads``), survive ``fork`` and concurrent Python threads,
and ``kernel_threads=1`` must keep BLAS and the kernels on the caller.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time

import numpy as np
import pytest

import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import config, kernels_c
from symarray.kernels_c import _threads
from symarray.kernels_c import blas as kblas
from symarray.kernels_c._blas import CyDotThunk, callback_stats, callback_threads
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


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("zshape", [(1, 5), (4, 1), (1, 1)])
def test_gemm_broadcasts_a_bias_z_in_c(zshape, inplace, monkeypatch):
    """z of length 1 along an axis (dot(x, W) + b) is stretched into a new
    C-ordered output by the kernel itself; perform never runs, z is untouched."""
    op = Gemm(inplace=inplace)
    z = TensorType("float64", shape=(None, None))()
    node = op(z, 0.5, T.dmatrix(), T.dmatrix(), 2.0).owner
    rng = np.random.default_rng(8)
    args = [rng.random(zshape), np.asarray(0.5), rng.random((4, 3)),
            rng.random((3, 5)), np.asarray(2.0)]
    expected = run_perform(node, args)
    z_before = args[0].copy()

    def no_perform(*a, **k):
        raise AssertionError("Gemm's perform ran: the C kernel declined a bias z")

    monkeypatch.setattr(Gemm, "perform", no_perform)
    got = run_c(node, args)[2]
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    assert got.shape == (4, 5) and got.flags.c_contiguous
    np.testing.assert_array_equal(args[0], z_before)


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
    mv = T.dot(T.fmatrix(), T.fvector()).owner
    rng = np.random.default_rng(9)
    a = rng.random((300, 300))
    m, v = rng.random((5000, 784)).astype("float32"), rng.random(784).astype("float32")
    run_c(node, [a, a])  # the pool's workers have run BLAS jobs in the parent
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            calls = callback_stats()[0]
            out = run_c(node, [a, a])[2]
            out_v = run_c(mv, [m, v])[2]
            good = np.allclose(out, a @ a) and np.allclose(out_v, m @ v, rtol=1e-4)
            used = callback_stats()[0] > calls or not blas_is_threaded()
            os._exit(0 if good and used else 3)
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


# -- OpenBLAS's jobs on the process's pool --------------------------------------------

def openblas_threads():
    """The thread count of SciPy's OpenBLAS (1 when it cannot be read)."""
    for path in kblas.shared_libraries:
        lib = ctypes.CDLL(path)
        for _, getter in kblas._THREAD_COUNT:
            fn = getattr(lib, getter, None)
            if fn is not None:
                return int(fn())
    return 1


def blas_is_threaded():
    """Whether SciPy's OpenBLAS hands big products to the callback here."""
    return bool(kblas.shared_libraries) and openblas_threads() > 1


# products large enough for OpenBLAS to split into jobs
THREADED = [("gemm", (600, 10), (10, 500)), ("gemm", (300, 300), (300, 300)),
            ("gemm", (1000, 64), (64, 300)), ("gemv", (5000, 784), (784,)),
            ("gemv", (1500, 1500), (1500,)), ("gevm", (2000,), (2000, 700))]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("kind, sa, sb", THREADED, ids=lambda x: str(x))
def test_threaded_products_match_numpy(dtype, kind, sa, sb):
    rng = np.random.default_rng(11)
    a, b = rand(rng, sa, dtype), rand(rng, sb, dtype)
    x = TensorType(dtype, (False,) * len(sa))()
    y = TensorType(dtype, (False,) * len(sb))()
    node = T.dot(x, y).owner
    calls = callback_stats()[0]
    got = run_c(node, [a, b])[2]
    want = a.astype("float64") @ b.astype("float64")
    tol = 1e-4 if dtype == "float32" else 1e-11
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())
    if blas_is_threaded():
        assert callback_stats()[0] > calls, "OpenBLAS ran this product unthreaded"


def test_blas_jobs_run_on_the_one_pool():
    """BLAS's jobs and the kernels' chunks run on the same workers: no
    thread is started beside the pool's, and the jobs ran on the caller and
    on pool workers only."""
    tasks_before = {int(t) for t in os.listdir("/proc/self/task")}
    seen_before = set(callback_threads())
    rng = np.random.default_rng(12)
    a = rng.random((400, 400))
    node = T.dot(T.dmatrix(), T.dmatrix()).owner
    for _ in range(3):
        np.testing.assert_allclose(run_c(node, [a, a])[2], a @ a, rtol=1e-12)
        _threads.run_probe(10**6, 2, chunk=10**4)
    workers = set(_threads.worker_tids())
    new_tasks = {int(t) for t in os.listdir("/proc/self/task")} - tasks_before
    assert new_tasks <= workers
    if blas_is_threaded():
        ran = set(callback_threads())
        assert ran - seen_before <= {threading.get_native_id()} | workers
        assert ran & workers, "no BLAS job ran on a pool worker"


def test_concurrent_python_threads_calling_blas_do_not_deadlock():
    """Python threads calling threaded products and kernels at once: the
    gangs take turns on the pool and every result is right."""
    rng = np.random.default_rng(13)
    a = rng.random((300, 300))
    m, v = rng.random((3000, 784)), rng.random(784)
    x, y, w = T.dmatrix("x"), T.dmatrix("y"), T.dvector("w")
    import symarray as sa

    f_mm = sa.function([x, y], T.tanh(T.dot(x, y)))
    f_mv = sa.function([x, w], T.dot(x, w))
    want_mm, want_mv = np.tanh(a @ a), m @ v
    errors: list[str] = []

    def loop(fn, args, want):
        for _ in range(15):
            got = fn(*args)
            if not np.allclose(got, want, rtol=1e-10):
                errors.append(f"{fn} gave a wrong result")

    work = [(f_mm, (a, a), want_mm), (f_mv, (m, v), want_mv),
            (f_mm, (a, a), want_mm), (f_mv, (m, v), want_mv)]
    threads = [threading.Thread(target=loop, args=job) for job in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert not any(t.is_alive() for t in threads), "a Python thread hung in BLAS"
    assert not errors


def test_kernel_threads_1_runs_blas_and_kernels_on_the_caller():
    import symarray as sa

    rng = np.random.default_rng(14)
    a, b = rng.random((600, 300)), rng.random((300, 500))
    x, y = T.dmatrix("x"), T.dmatrix("y")
    graph = T.tanh(T.dot(x, y)) * 2.0  # a threaded gemm and a threaded kernel
    with config.change_flags(kernel_threads=1):
        f1 = sa.function([x, y], graph)
    f0 = sa.function([x, y], graph)
    want = np.tanh(a @ b) * 2.0
    count = openblas_threads()
    calls, pool = callback_stats(), _threads.stats()
    for _ in range(3):
        np.testing.assert_allclose(f1(a, b), want, rtol=1e-12)
    assert callback_stats() == calls
    after = _threads.stats()
    assert (after["parallel"], after["gang"]) == (pool["parallel"], pool["gang"])
    assert openblas_threads() == count  # the cap lasts for the call only
    np.testing.assert_allclose(f0(a, b), want, rtol=1e-12)
    if blas_is_threaded() and _threads.default_threads() > 1:
        assert callback_stats()[0] > calls[0]
