"""The buffer pool (symarray.vm._pool): NumPy's allocator while a C VM runs."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import symarray as th
import symarray.tensor as T
from symarray import config
from symarray.compile.mode import Mode
from symarray.vm import _pool

BIG = 1 << 20  # bytes: well above the pool's smallest block
POOL_NAME = "symarray_buffer_pool"


def handler_name(arr: np.ndarray) -> str:
    core = getattr(np, "_core", None) or np.core  # NumPy 2 / NumPy 1.26
    return core.multiarray.get_handler_name(arr)


@pytest.fixture(autouse=True)
def fresh_pool():
    """Each test starts with an empty pool of 256 MiB and restores the limit."""
    before = _pool.limit()
    _pool.clear()
    _pool.set_limit(256 << 20)
    yield
    _pool.clear()
    _pool.set_limit(before)


def test_blocks_are_aligned_to_64_bytes():
    assert _pool._raw_block(BIG) == 0
    assert _pool._raw_block(3 * BIG + 5) == 0
    assert _pool._raw_block(100) % 16 == 0


def test_active_makes_numpy_allocate_from_the_pool_and_restores_the_default():
    outside = np.empty(10)
    with _pool.active():
        big, small = np.empty(BIG // 8), np.ones(10)
    after = np.empty(BIG // 8)
    assert handler_name(big) == POOL_NAME
    assert handler_name(small) == POOL_NAME  # small blocks: malloc behind a header
    assert handler_name(outside) == handler_name(after) != POOL_NAME
    assert small.sum() == 10


def test_a_freed_block_is_reused_by_the_next_allocation_of_about_its_size():
    with _pool.active():
        a = np.empty(BIG // 8)
        del a
        start = _pool.stats()
        b = np.empty(BIG // 8 - 100)  # within the 25% slack
        c = np.empty(4 * BIG // 8)    # a different size: a new mapping
    s = _pool.stats()
    assert s["hits"] == start["hits"] + 1
    assert s["misses"] == start["misses"] + 1
    assert s["live_bytes"] >= b.nbytes + c.nbytes


def test_zeros_on_a_reused_dirty_block_are_zero():
    with _pool.active():
        a = np.empty(BIG // 8)
        a.fill(7.0)
        del a
        hits = _pool.stats()["hits"]
        z = np.zeros(BIG // 8)
    assert _pool.stats()["hits"] == hits + 1
    assert not z.any()


def test_values_survive_resize_through_the_pool():
    with _pool.active():
        a = np.arange(BIG // 8, dtype=np.float64)
        a.resize(3 * BIG // 8, refcheck=False)
        s = np.arange(10, dtype=np.int64)
        s.resize(BIG, refcheck=False)  # a small block grows into a big one
    np.testing.assert_array_equal(a[: BIG // 8], np.arange(BIG // 8))
    assert not a[BIG // 8:].any()
    np.testing.assert_array_equal(s[:10], np.arange(10))


def test_the_limit_bounds_the_kept_bytes_and_zero_turns_the_pool_off():
    _pool.set_limit(3 * BIG)
    with _pool.active():
        arrays = [np.empty(BIG // 8) for _ in range(6)]
        del arrays
    s = _pool.stats()
    assert s["cached_bytes"] <= 3 * BIG
    assert s["evictions"] >= 3
    _pool.set_limit(0)
    assert _pool.stats()["cached_blocks"] == 0
    with _pool.active():
        off = np.empty(BIG // 8)
    assert handler_name(off) != POOL_NAME


def test_a_negative_limit_is_refused():
    with pytest.raises(ValueError, match="must be >= 0 bytes, got -1"):
        _pool.set_limit(-1)


def test_the_flag_is_read_at_compile_time_and_capped_by_physical_memory():
    x = T.dvector("x")
    with config.change_flags(buffer_pool_mb=0):
        th.function([x], 2 * x)
    assert _pool.limit() == 0
    with config.change_flags(buffer_pool_mb=64):
        th.function([x], 2 * x)
    assert 0 < _pool.limit() <= 64 << 20


def _big_function(linker: str = "cvm"):
    x = T.dmatrix("x")
    y = T.tanh(x * 2.0) + T.exp(-x)  # two large intermediates per call
    z = T.dot(y, y.T).sum() + (y * 3.0).sum()
    return th.function([x], z, mode=Mode(linker=linker)), x


@pytest.mark.parametrize("linker", ["cvm", "c|py"])
def test_repeated_calls_of_a_large_function_take_every_block_from_the_pool(linker):
    f, _ = _big_function(linker)
    xv = np.random.default_rng(0).standard_normal((300, 400))
    y = np.tanh(xv * 2.0) + np.exp(-xv)
    expected = (y @ y.T).sum() + (y * 3.0).sum()
    for _ in range(3):
        np.testing.assert_allclose(f(xv), expected, rtol=1e-10)
    before = _pool.stats()
    for _ in range(5):
        np.testing.assert_allclose(f(xv), expected, rtol=1e-10)
    after = _pool.stats()
    assert after["misses"] == before["misses"]  # no new mapping: nothing faults in
    assert after["hits"] >= before["hits"] + 5


def test_a_small_function_samples_the_pool_once_then_runs_without_it():
    x = T.dvector("x")
    f = th.function([x], x * 2.0 + 1.0)
    xv = np.arange(5.0)
    first = f(xv)
    later = [f(xv) for _ in range(10)]
    assert handler_name(first) == POOL_NAME  # the sampled call
    assert all(handler_name(v) != POOL_NAME for v in later)
    np.testing.assert_array_equal(later[-1], xv * 2.0 + 1.0)


def test_results_outlive_the_call_and_return_their_blocks_when_dropped():
    f, _ = _big_function()
    xv = np.ones((300, 400))
    x = T.dmatrix("x")
    g = th.function([x], T.exp(x) * 2.0)  # a large result handed to the caller
    out = g(xv)
    assert handler_name(out) == POOL_NAME
    returns = _pool.stats()["returns"]
    np.testing.assert_allclose(out, np.exp(xv) * 2.0)
    del out
    assert _pool.stats()["returns"] == returns + 1


def test_a_failing_call_restores_numpy_s_allocator():
    x = T.dmatrix("x")
    v = T.dvector("v")
    f = th.function([x, v], T.dot(T.exp(x), v))
    with pytest.raises(ValueError):
        f(np.ones((300, 400)), np.ones(3))
    assert handler_name(np.empty(BIG // 8)) != POOL_NAME


def test_profiled_calls_use_the_pool_too():
    x = T.dmatrix("x")
    f = th.function([x], T.dot(T.exp(x), T.tanh(x).T).sum(), profile=True)
    xv = np.ones((300, 400))
    for _ in range(3):
        f(xv)
    before = _pool.stats()
    f(xv)
    after = _pool.stats()
    assert after["hits"] > before["hits"] and after["misses"] == before["misses"]


def test_threads_calling_functions_at_once_get_right_results():
    f, _ = _big_function()
    rng = np.random.default_rng(1)
    inputs = [rng.standard_normal((200, 300)) for _ in range(4)]

    def expected(xv):
        y = np.tanh(xv * 2.0) + np.exp(-xv)
        return (y @ y.T).sum() + (y * 3.0).sum()

    copies = [f.copy() for _ in inputs]
    results: dict[int, list[float]] = {}

    def work(i: int) -> None:
        results[i] = [copies[i](inputs[i]) for _ in range(10)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, xv in enumerate(inputs):
        np.testing.assert_allclose(results[i], [expected(xv)] * 10, rtol=1e-10)
