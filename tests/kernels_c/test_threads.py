"""Tests of symarray.kernels_c._threads: the kernels' thread pool.

``parallel_for`` and ``parallel_chunks`` must run every element of their
range exactly once, in at most the parts (threads) asked for, also in a
forked child (which starts its own workers).
"""

from __future__ import annotations

import os

import pytest

from symarray.kernels_c import _threads


@pytest.mark.parametrize("n, parts, align", [(10**6, 2, 1), (10**6, 2, 64),
                                             (5, 2, 1), (100, 3, 64), (0, 2, 1),
                                             (1000, 1, 1), (7, 64, 1)])
def test_parallel_for_covers_the_range_once(n, parts, align):
    total, ran, helpers = _threads.run_probe(n, parts, align)
    assert total == n * (n - 1) // 2
    expected_parts = min(parts, -(-n // align))
    assert ran == expected_parts
    assert 0 <= helpers <= expected_parts


def test_thread_counts():
    assert _threads.default_threads() == len(os.sched_getaffinity(0))
    assert _threads.resolve_threads(0) == min(_threads.default_threads(),
                                              _threads.MAX_THREADS)
    assert _threads.resolve_threads(3) == 3
    assert _threads.resolve_threads(10**6) == _threads.MAX_THREADS
    with pytest.raises(ValueError, match="kernel_threads must be >= 0"):
        _threads.resolve_threads(-1)


def test_a_forked_child_starts_its_own_workers():
    _threads.run_probe(10**5, 2)  # the parent's team exists now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            total, ran, helpers = _threads.run_probe(10**5, 2)
            good = (total == 10**5 * (10**5 - 1) // 2 and ran == 2
                    and _threads.is_forked())
            os.write(write, b"ok" if good else b"no")
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 2) == b"ok"
    os.close(read)
    assert not _threads.is_forked()


@pytest.mark.parametrize("n, nthreads, chunk", [(10**6, 2, 1000), (10**6, 3, 64),
                                                (10, 2, 100), (0, 2, 5),
                                                (1000, 1, 7)])
def test_parallel_chunks_cover_the_range_once(n, nthreads, chunk):
    total, threads_seen, helpers = _threads.run_probe(n, nthreads, chunk=chunk)
    assert total == n * (n - 1) // 2
    assert threads_seen <= min(nthreads, -(-n // chunk))
    assert 0 <= helpers <= -(-n // chunk)
