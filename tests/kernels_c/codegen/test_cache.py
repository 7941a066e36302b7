"""Tests of symarray.kernels_c.codegen.cache: keys, hits, locks, processes.

The compiler is counted (a wrapper around ``compile_library``) or read from
the cache's compile log.  The multi-process test starts 4 spawned processes
on one empty cache, all compiling a kernel they share and one of their own
at once: every process gets working kernels, each distinct kernel is
compiled exactly once, and no temporary folder or lock is left.
"""

from __future__ import annotations

import multiprocessing
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from symarray import config
from symarray.kernels_c.codegen import CACHE_STATS, cache, compiler, source
from symarray.kernels_c.codegen.thunk import clear_loaded, compile_kernel
from symarray.scalar import get_scalar_op
from symarray.scalar.composite import CompositeBuilder


def program(constant: float, dtype: str = "float64") -> source.KernelSource:
    """``exp(x) * constant + y``: one kernel per constant."""
    b = CompositeBuilder([dtype, dtype])
    x, y = b.inputs
    e = b.apply(get_scalar_op("exp"), [x])
    m = b.apply(get_scalar_op("mul"), [e, b.constant(constant, dtype)])
    comp = b.build([b.apply(get_scalar_op("add"), [m, y])])
    return source.render(comp, dtype, (False, False))


@pytest.fixture
def count_compiles(monkeypatch):
    """A list that gets one entry per compiler run."""
    calls: list[str] = []
    real = cache.compile_library

    def counting(cc, src, target):
        calls.append(src.read_text(encoding="utf-8"))
        return real(cc, src, target)

    monkeypatch.setattr(cache, "compile_library", counting)
    return calls


def leftovers(root: str) -> list[str]:
    """Temporary folders and locks left in the cache."""
    return sorted(p for p in os.listdir(root)
                  if p.startswith("tmp-") or ".lock" in p)


def log_keys(root: str) -> list[str]:
    path = pathlib.Path(root, "codegen", cache.LOG_NAME)
    if not path.exists():
        return []
    return [line.split()[0] for line in path.read_text().splitlines()]


def test_second_compile_of_a_program_does_not_run_the_compiler(
        fresh_cache, count_compiles):
    src = program(2.0)
    first = compile_kernel(src)
    assert len(count_compiles) == 1 and CACHE_STATS["misses"] == 1
    assert CACHE_STATS["compile_s"] > 0
    assert compile_kernel(src) is first  # in memory
    assert CACHE_STATS["memory_hits"] == 1
    clear_loaded()  # a new process: the disk cache answers
    again = compile_kernel(program(2.0))
    assert again.key == first.key and again.path == first.path
    assert len(count_compiles) == 1
    assert CACHE_STATS["disk_hits"] == 1 and CACHE_STATS["hits"] == 2
    compile_kernel(program(3.0))  # another program: another kernel
    assert len(count_compiles) == 2
    assert log_keys(fresh_cache) == [first.key, compile_kernel(program(3.0)).key]
    entry = sorted(os.listdir(first.path.parent))
    assert entry == ["kernel.c", "kernel.so", "meta.json"]
    assert leftovers(os.path.join(fresh_cache, "codegen")) == []


def test_the_key_covers_source_compiler_and_flags(fresh_cache, monkeypatch):
    cc = compiler.find_compiler()
    text = program(2.0).text
    key = cache.kernel_key(text, cc)
    assert key == cache.kernel_key(program(2.0).text, cc)  # deterministic
    assert len(key) == 40 and int(key, 16) >= 0
    assert cache.kernel_key(program(2.5).text, cc) != key
    assert cache.kernel_key(program(2.0, "float32").text, cc) != key
    assert cache.kernel_key(text, cc._replace(version="cc 0.1")) != key
    monkeypatch.setattr(cache, "FLAGS", (*compiler.FLAGS, "-O1"))
    assert cache.kernel_key(text, cc) != key


def test_a_stale_lock_of_a_dead_process_is_broken(fresh_cache, count_compiles):
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = int(done.stdout)
    src = program(4.0)
    key = cache.kernel_key(src.text, compiler.find_compiler())
    root = pathlib.Path(fresh_cache, "codegen")
    root.mkdir()
    lock = root / f"{key}.lock"
    lock.write_text(f"{dead} {socket.gethostname()} {time.time():.3f} abc\n")
    kernel = compile_kernel(src)
    assert kernel.key == key and len(count_compiles) == 1
    assert CACHE_STATS["locks_broken"] == 1
    assert leftovers(str(root)) == []


def test_lock_staleness_rules():
    host, now = socket.gethostname(), time.time()
    alive = f"{os.getpid()} {host} {now:.3f} t"
    assert not cache.lock_is_stale(alive, now, now)
    assert cache.lock_is_stale(alive, now, now + cache.LOCK_TIMEOUT_S + 1)
    assert not cache.lock_is_stale(f"1234 other-host {now:.3f} t", now, now)
    assert cache.lock_is_stale(f"1234 other-host {now - 1e4:.3f} t", now, now)
    assert not cache.lock_is_stale("", now - 1, now)  # being written
    assert cache.lock_is_stale("", now - 1e4, now)


def test_a_waiting_process_takes_the_kernel_another_one_compiled(
        fresh_cache, count_compiles):
    src = program(5.0)
    cc = compiler.find_compiler()
    key = cache.kernel_key(src.text, cc)
    root = pathlib.Path(fresh_cache, "codegen")
    root.mkdir()
    lock = root / f"{key}.lock"
    lock.write_text(f"{os.getpid()} {socket.gethostname()} {time.time():.3f} other\n")

    def other_holder() -> None:  # holds the lock, compiles, releases
        time.sleep(0.3)
        cache._build(root, key, src.text, cc)
        lock.unlink()

    thread = threading.Thread(target=other_holder)
    thread.start()
    try:
        path = cache.get_or_build(key, src.text, cc)
    finally:
        thread.join()
    assert path.exists() and len(count_compiles) == 1
    assert CACHE_STATS["waited"] == 1 and CACHE_STATS["misses"] == 1


def test_damaged_libraries_and_dead_compiles_are_cleaned_up(
        fresh_cache, count_compiles):
    src = program(6.0)
    key = cache.kernel_key(src.text, compiler.find_compiler())
    path = cache.get_or_build(key, src.text, compiler.find_compiler())  # not loaded
    path.write_bytes(b"not a shared library")
    root = path.parent.parent
    old = root / "tmp-deadbeef0000-x"
    old.mkdir()
    (old / "kernel.c").write_text("half")
    past = time.time() - cache.LOCK_TIMEOUT_S - 10
    os.utime(old, (past, past))
    again = compile_kernel(program(6.0))  # loading fails: evicted, rebuilt
    assert again.key == key and len(count_compiles) == 2
    assert not old.exists()
    assert leftovers(str(root)) == []


def _worker(root: str, constants: list[float], barrier) -> list[tuple[str, bool]]:
    """In a spawned process: compile each program, run it, check the result."""
    from symarray.kernels_c.codegen._thunk import CyCodegenThunk
    from symarray.tensor.elemwise import Elemwise
    from symarray.tensor.type import TensorType
    from symarray.vm import CyStorage

    config.base_compiledir = root
    config.c_codegen = "on"
    # a worker that failed before this point breaks the barrier for the
    # others (BrokenBarrierError) instead of leaving them waiting forever
    barrier.wait(timeout=120)
    results = []
    for c in constants:
        src = program(c)
        kernel = compile_kernel(src)
        b = CompositeBuilder(["float64", "float64"])
        x, y = b.inputs
        e = b.apply(get_scalar_op("exp"), [x])
        m = b.apply(get_scalar_op("mul"), [e, b.constant(c, "float64")])
        comp = b.build([b.apply(get_scalar_op("add"), [m, y])])
        node = Elemwise(comp).make_node(*[TensorType("float64", shape=(None,))()
                                          for _ in range(2)])
        thunk = CyCodegenThunk(node, kernel.library, kernel.flat_addr,
                               kernel.strided_addr, [12, 12], 12, [False, False],
                               -1, 1, kernel.key)
        storage = CyStorage(3)
        thunk.bind(storage, [0, 1], [2])
        xv, yv = np.linspace(-1, 1, 101), np.linspace(0, 3, 101)
        storage[0], storage[1] = xv, yv
        thunk()
        ok = np.allclose(storage[2], np.exp(xv) * c + yv, rtol=1e-13)
        results.append((kernel.key, bool(ok)))
    return results


def test_four_processes_compile_into_an_empty_cache_at_once(fresh_cache):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(4) as pool:
        barrier = manager.Barrier(4)
        # every process: the shared kernel 1.5, its own kernel, the shared 2.5
        jobs = [(fresh_cache, [1.5, 10.0 + k, 2.5], barrier) for k in range(4)]
        results = pool.starmap_async(_worker, jobs, chunksize=1).get(timeout=600)
    assert all(ok for res in results for _, ok in res)
    keys = {key for res in results for key, _ in res}
    assert len(keys) == 6
    assert {res[0][0] for res in results} == {results[0][0][0]}  # shared
    compiled = log_keys(fresh_cache)
    assert sorted(compiled) == sorted(keys)  # each exactly once
    root = os.path.join(fresh_cache, "codegen")
    assert leftovers(root) == []
    for key in keys:
        assert sorted(os.listdir(os.path.join(root, key))) == [
            "kernel.c", "kernel.so", "meta.json"]
    assert config.c_codegen == "on"
