# cython: language_level=3, boundscheck=False, wraparound=False
"""The buffer pool: NumPy's data allocator while a compiled function runs.

A compiled function's large intermediates are freed and allocated again on
every call.  The C allocator gives such blocks back to the operating system
(or maps them fresh), so each call page-faults them in again.  While a VM
runs, this module is NumPy's data allocator (NEP 49,
``PyDataMem_SetHandler``): blocks of 128 KiB and more come from the pool's
own mappings, and a freed one is kept for the next allocation of about the
same size, up to a byte limit.  Smaller blocks are plain ``malloc`` blocks.

An array allocated while the pool is active keeps the pool as its allocator
for life: when it is freed later (a result the caller drops), its block
goes back to the pool.  NumPy code outside compiled functions is untouched:
the handler is set for the duration of a call only (``pool_enter`` /
``pool_exit``, a context variable, so threads do not see each other's).

The C side (the free list, the header before each block) is ``_pool.h``.
"""

cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_New
from libc.stdint cimport uint64_t

import os

cnp.import_array()

cdef extern from "numpy/arrayobject.h":
    ctypedef struct PyDataMem_Handler:
        pass
    object PyDataMem_SetHandler(object handler)
    object PyDataMem_GetHandler()

cdef extern from "_pool.h" nogil:
    ctypedef struct sa_pool_t:
        size_t limit
        size_t cached_bytes
        size_t cached_blocks
        size_t live_bytes
        uint64_t hits, misses, evictions, returns
    sa_pool_t sa_pool
    PyDataMem_Handler sa_pool_handler
    size_t SA_POOL_MIN_BYTES
    void sa_pool_set_limit(size_t limit)
    void sa_pool_clear()
    void sa_pool_after_fork_child()
    void* sa_malloc(void* ctx, size_t size)
    void sa_free(void* ctx, void* ptr, size_t size)

cdef extern from "<pthread.h>" nogil:
    int pthread_atfork(void (*prepare)(), void (*parent)(), void (*child)())

#: the handler capsule NumPy stores on every array allocated by the pool
cdef object _handler = PyCapsule_New(&sa_pool_handler, b"mem_handler", NULL)
pthread_atfork(NULL, NULL, sa_pool_after_fork_child)

#: the smallest block the pool keeps (smaller ones are malloc blocks)
MIN_BLOCK_BYTES = SA_POOL_MIN_BYTES


cdef object pool_enter():
    """Make the pool NumPy's allocator in this context; return what
    :func:`pool_exit` needs to undo it (None: nothing to undo, because the
    pool is off or already active, as in a nested call)."""
    if sa_pool.limit == 0:
        return None
    if PyDataMem_GetHandler() is _handler:
        return None
    return PyDataMem_SetHandler(_handler)


cdef int pool_exit(object previous) except -1:
    """Undo :func:`pool_enter`."""
    if previous is not None:
        PyDataMem_SetHandler(previous)
    return 0


cdef uint64_t pool_big_allocs() noexcept nogil:
    """Large blocks the pool has handed out so far (a VM compares two
    readings to see whether a call needed the pool)."""
    return sa_pool.hits + sa_pool.misses


cdef void pool_counts(uint64_t* hits, uint64_t* misses) noexcept nogil:
    """Large blocks served from kept ones, and new mappings, so far (the
    profiled VM records the difference over each run)."""
    hits[0] = sa_pool.hits
    misses[0] = sa_pool.misses


def _physical_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def set_limit(limit_bytes):
    """Keep at most ``limit_bytes`` of freed blocks (0 turns the pool off:
    compiled functions then allocate with NumPy's default allocator, and
    the blocks kept so far are released)."""
    limit = int(limit_bytes)
    if limit < 0:
        raise ValueError(f"buffer pool limit must be >= 0 bytes, got {limit}")
    sa_pool_set_limit(limit)


def set_limit_mb(mb):
    """:func:`set_limit` in MiB, capped at an eighth of the physical memory
    (the ``buffer_pool_mb`` flag goes through here)."""
    limit = int(mb) * 1024 * 1024
    physical = _physical_bytes()
    if physical:
        limit = min(limit, physical // 8)
    set_limit(limit)


def limit():
    """The byte limit on kept blocks (0: the pool is off)."""
    return sa_pool.limit


def clear():
    """Release every kept block to the operating system now."""
    sa_pool_clear()


def stats():
    """Counters: ``hits`` (allocations served from kept blocks), ``misses``
    (new mappings), ``returns`` (blocks kept at free), ``evictions``
    (kept blocks released to respect the limit), ``cached_bytes`` and
    ``cached_blocks`` (kept now), ``live_bytes`` (pool blocks in use now),
    ``limit``."""
    return {"hits": sa_pool.hits, "misses": sa_pool.misses,
            "returns": sa_pool.returns, "evictions": sa_pool.evictions,
            "cached_bytes": sa_pool.cached_bytes,
            "cached_blocks": sa_pool.cached_blocks,
            "live_bytes": sa_pool.live_bytes, "limit": sa_pool.limit}


def handler():
    """The NumPy memory handler capsule (``np.lib.tracemalloc_domain`` aside,
    ``numpy.core.multiarray.get_handler_name(arr)`` names it
    ``"symarray_buffer_pool"`` for arrays the pool allocated)."""
    return _handler


def active():
    """``with active(): ...`` runs NumPy code with the pool as its allocator
    (what a compiled function's call does); a no-op when the pool is off."""
    return _Active()


cdef class _Active:
    """The context manager :func:`active` returns."""

    cdef object previous

    def __enter__(self):
        self.previous = pool_enter()
        return self

    def __exit__(self, *exc):
        pool_exit(self.previous)
        self.previous = None
        return False


def _raw_block(size_t size):
    """Allocate and free one block through the C functions (tests of the
    allocator itself, without NumPy in between); returns the data address
    modulo 64 (the alignment)."""
    cdef void* p = sa_malloc(NULL, size)
    if p == NULL:
        raise MemoryError(size)
    address = <size_t>p
    sa_free(NULL, p, size)
    return address % 64
