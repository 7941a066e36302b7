"""Tests of symarray.kernels_c._threads: the process's thread pool.

``parallel_for`` and ``parallel_chunks`` must run every element of their
range exactly once, in at most the parts (threads) asked for, also in a
forked child (which starts its own workers).  ``parallel_gang`` must run
all its parts at once on distinct threads (each part waits for the others
to arrive), nested (on temporary threads) and from concurrent Python
threads (one gang at a time) without deadlock.
"""

from __future__ import annotations

import os
import threading

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


@pytest.mark.parametrize("parts", [1, 2, 3, 4, 8])
def test_gang_runs_every_part_at_once_on_its_own_thread(parts):
    ret, met, tids, _ = _threads.run_gang_probe(parts)
    assert ret == parts - 1
    assert met == parts  # each part saw all the others arrive: they overlapped
    assert len(set(tids)) == parts
    assert tids[0] == threading.get_native_id()  # part 0 on the caller
    assert set(tids[1:]) <= set(_threads.worker_tids())  # the rest on the pool


def test_gang_and_chunks_share_the_workers():
    _threads.run_gang_probe(3)
    _threads.run_probe(10**6, 3, chunk=1000)
    workers = set(_threads.worker_tids())
    tasks = {int(t) for t in os.listdir("/proc/self/task")}
    assert workers <= tasks
    assert _threads.stats()["workers"] == len(workers) >= 2


def test_nested_gang_runs_on_temporary_threads():
    before = _threads.stats()["gang_temporary"]
    ret, met, tids, nested_ok = _threads.run_gang_probe(3, nested=True)
    assert (ret, met, nested_ok) == (2, 3, 3)  # each part's own gang of 2 met too
    assert _threads.stats()["gang_temporary"] == before + 3


def test_concurrent_python_threads_do_not_deadlock():
    """Gangs and chunked calls from several Python threads at once: gangs
    take turns on the pool, chunked calls run on their caller when it is
    busy, and all finish."""
    errors: list[str] = []

    def gangs():
        for _ in range(30):
            ret, met, _, _ = _threads.run_gang_probe(3, timeout=30.0)
            if (ret, met) != (2, 3):
                errors.append(f"gang returned {ret}, {met} parts met")

    def chunks():
        for _ in range(30):
            total, _, _ = _threads.run_probe(10**5, 3, chunk=100)
            if total != 10**5 * (10**5 - 1) // 2:
                errors.append(f"chunks summed {total}")

    workers = [threading.Thread(target=f) for f in (gangs, gangs, chunks, gangs)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert not any(w.is_alive() for w in workers), "a thread hung in the pool"
    assert not errors


def test_a_forked_child_runs_gangs():
    _threads.run_gang_probe(3)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            ret, met, tids, _ = _threads.run_gang_probe(3, timeout=20.0)
            on_pool = set(tids[1:]) <= set(_threads.worker_tids())
            good = ret == 2 and met == 3 and on_pool
            os.write(write, b"ok" if good else b"no")
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 2) == b"ok"
    os.close(read)


@pytest.mark.parametrize("spin_us", [0.0, 5.0])
def test_idle_spin_is_a_setting_not_a_result(spin_us):
    before = _threads.set_idle_spin(spin_us)
    try:
        assert _threads.idle_spin() == spin_us
        assert _threads.run_probe(10**5, 2)[0] == 10**5 * (10**5 - 1) // 2
        assert _threads.run_gang_probe(2)[:2] == (1, 2)
    finally:
        _threads.set_idle_spin(before)
    with pytest.raises(ValueError, match="microseconds must be >= 0"):
        _threads.set_idle_spin(-1.0)


def test_gang_too_large_runs_no_part():
    ret, met, tids, _ = _threads.run_gang_probe(_threads.MAX_THREADS + 1)
    assert (ret, met) == (-1, 0)
    assert not any(tids)
    with pytest.raises(ValueError, match="parts must be in"):
        _threads.run_gang_probe(0)
