# cython: language_level=3
"""The kernels' thread pool (one per process).

Kernels cimport :func:`parallel_chunks` or :func:`parallel_for` from
``_threads.pxd``.  The pool itself is C (``_threads.h``): workers sleep
between calls, the calling thread never waits for a worker that has not
started, and a forked child starts its own workers.

How many threads an elementwise kernel asks for is the ``kernel_threads``
config flag (0: :func:`default_threads`), read when a function is compiled.
The VM runs one node at a time, so a kernel's threads and BLAS's threads
are never busy together.
"""

import os

cdef extern from "_threads.h":
    ctypedef void (*c_task "sa_task")(void* ctx, Py_ssize_t begin,
                                      Py_ssize_t end, int part) noexcept nogil
    int sa_parallel_for(c_task fn, void* ctx, Py_ssize_t n, Py_ssize_t align,
                        int parts) noexcept nogil
    int sa_parallel_chunks(c_task fn, void* ctx, Py_ssize_t n, Py_ssize_t chunk,
                           int nthreads) noexcept nogil
    int SA_MAX_THREADS
    int sa_forked

#: most parts one call can run in
MAX_THREADS = SA_MAX_THREADS


cdef int parallel_for(sa_task fn, void* ctx, Py_ssize_t n, Py_ssize_t align,
                      int parts) noexcept nogil:
    return sa_parallel_for(<c_task>fn, ctx, n, align, parts)


cdef int parallel_chunks(sa_task fn, void* ctx, Py_ssize_t n, Py_ssize_t chunk,
                         int nthreads) noexcept nogil:
    return sa_parallel_chunks(<c_task>fn, ctx, n, chunk, nthreads)


def default_threads():
    """The number of cores this process may run on (its CPU affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def resolve_threads(int requested):
    """Threads a kernel uses for the flag value ``requested`` (0: all cores)."""
    if requested < 0:
        raise ValueError(f"kernel_threads must be >= 0, got {requested}; use 0 "
                         "for every core")
    n = requested if requested > 0 else default_threads()
    return min(n, SA_MAX_THREADS)


def is_forked():
    """Whether this process is a fork child (kernels run on one thread)."""
    return bool(sa_forked)


cdef extern from *:
    """
    #define sa_atomic_add(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
    #define sa_atomic_or(p, v) __atomic_fetch_or((p), (v), __ATOMIC_SEQ_CST)
    """
    void sa_atomic_add(Py_ssize_t* p, Py_ssize_t v) noexcept nogil
    void sa_atomic_or(long* p, long v) noexcept nogil


cdef struct _probe:
    Py_ssize_t total
    long parts_seen


cdef void _probe_task(void* ctx, Py_ssize_t begin, Py_ssize_t end,
                      int part) noexcept nogil:
    cdef _probe* p = <_probe*>ctx
    cdef Py_ssize_t i
    cdef Py_ssize_t s = 0
    for i in range(begin, end):
        s += i
    sa_atomic_add(&p.total, s)
    sa_atomic_or(&p.parts_seen, 1L << part)


def run_probe(Py_ssize_t n, int parts, Py_ssize_t align=1, Py_ssize_t chunk=0):
    """Sum ``range(n)`` over the threads; returns (sum, parts (or threads)
    that ran, other threads that helped).  ``chunk`` > 0 uses
    ``parallel_chunks``.  For tests, and to see the threads work."""
    cdef _probe p
    cdef int helpers
    p.total = 0
    p.parts_seen = 0
    with nogil:
        if chunk > 0:
            helpers = parallel_chunks(_probe_task, &p, n, chunk, parts)
        else:
            helpers = parallel_for(_probe_task, &p, n, align, parts)
    return p.total, bin(p.parts_seen).count("1"), helpers
