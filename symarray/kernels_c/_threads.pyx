# cython: language_level=3
"""The process's thread pool: the kernels' threads and OpenBLAS's.

Kernels cimport :func:`parallel_chunks` or :func:`parallel_for` from
``_threads.pxd``; the BLAS threads callback (``_blas.pyx``) runs OpenBLAS's
jobs with :func:`parallel_gang`.  The pool itself is C (``_threads.h``):
workers spin briefly after a call and then sleep, the calling thread never
waits for a worker that has not started (gangs excepted: their parts run
at once), and a forked child starts its own workers.

How many threads a kernel asks for, and how many jobs OpenBLAS splits a
product into, is the ``kernel_threads`` config flag (0: every core), read
when a function is compiled.  The VM runs one node at a time, so a kernel
and a BLAS call never compete for the workers.
"""

import os

cdef extern from "_threads.h":
    ctypedef void (*c_task "sa_task")(void* ctx, Py_ssize_t begin,
                                      Py_ssize_t end, int part) noexcept nogil
    int sa_parallel_for(c_task fn, void* ctx, Py_ssize_t n, Py_ssize_t align,
                        int parts) noexcept nogil
    int sa_parallel_chunks(c_task fn, void* ctx, Py_ssize_t n, Py_ssize_t chunk,
                           int nthreads) noexcept nogil
    int sa_parallel_gang(c_task fn, void* ctx, int parts) noexcept nogil
    int sa_worker_tids(long* out) noexcept nogil
    void sa_stats(long* out) noexcept nogil
    void sa_set_spin_ns(long ns) noexcept nogil
    long sa_get_spin_ns() noexcept nogil
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


cdef int parallel_gang(sa_task fn, void* ctx, int parts) noexcept nogil:
    return sa_parallel_gang(<c_task>fn, ctx, parts)


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
    """Whether this process is a fork child (it starts its own workers)."""
    return bool(sa_forked)


def worker_tids():
    """Kernel thread ids (as in ``/proc/self/task``) of the pool's workers."""
    cdef long out[64]
    cdef int n
    with nogil:
        n = sa_worker_tids(out)
    return [out[i] for i in range(n)]


def stats():
    """What the pool has done: ``workers`` alive, ``parallel`` calls that
    used workers, ``gang`` calls run on the pool, ``gang_waits`` (gangs that
    waited for the pool to be free) and ``gang_temporary`` (nested gangs,
    run on threads started for them)."""
    cdef long out[5]
    sa_stats(out)
    return {"workers": out[0], "parallel": out[1], "gang": out[2],
            "gang_waits": out[3], "gang_temporary": out[4]}


def set_idle_spin(double microseconds):
    """How long a worker spins after a call before it sleeps (0: sleep at
    once); returns the previous value.  For benchmarks and tests."""
    if microseconds < 0:
        raise ValueError(f"set_idle_spin: microseconds must be >= 0, got "
                         f"{microseconds}")
    cdef long before = sa_get_spin_ns()
    sa_set_spin_ns(<long>(microseconds * 1000.0))
    return before / 1000.0


def idle_spin():
    """How long (microseconds) a worker spins after a call before it sleeps."""
    return sa_get_spin_ns() / 1000.0


cdef extern from *:
    """
    #define sa_atomic_add(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
    #define sa_atomic_or(p, v) __atomic_fetch_or((p), (v), __ATOMIC_SEQ_CST)

    /* A gang probe: every part records its thread and waits (up to a
       deadline) until all parts have arrived, which only happens when they
       run at the same time; with `nested`, each part then runs a gang of
       two parts of its own. */
    typedef struct {
        int parts, nested;
        long arrived;              /* parts that have arrived (atomic) */
        long met;                  /* parts that saw every part arrive */
        long nested_ok;            /* nested gangs that met */
        long deadline_ns;
        long tids[SA_MAX_THREADS + 1];
    } sa_gang_probe;

    static void sa_gang_probe_part(void *ctx, Py_ssize_t b, Py_ssize_t e, int part);

    static void sa_gang_probe_meet(sa_gang_probe *p, int part) {
        p->tids[part] = (long)syscall(SYS_gettid);
        __atomic_fetch_add(&p->arrived, 1, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&p->arrived, __ATOMIC_SEQ_CST) < p->parts) {
            if (sa_now_ns() > p->deadline_ns) return;
            sched_yield();
        }
        __atomic_fetch_add(&p->met, 1, __ATOMIC_SEQ_CST);
    }

    static void sa_gang_probe_part(void *ctx, Py_ssize_t b, Py_ssize_t e, int part) {
        sa_gang_probe *p = (sa_gang_probe *)ctx;
        (void)b; (void)e;
        sa_gang_probe_meet(p, part);
        if (p->nested) {
            sa_gang_probe inner = {2, 0, 0, 0, 0, p->deadline_ns};
            if (sa_parallel_gang(sa_gang_probe_part, &inner, 2) == 1 && inner.met == 2)
                __atomic_fetch_add(&p->nested_ok, 1, __ATOMIC_SEQ_CST);
        }
    }

    static int sa_run_gang_probe(sa_gang_probe *p) {
        p->deadline_ns += sa_now_ns();
        return sa_parallel_gang(sa_gang_probe_part, p, p->parts);
    }
    """
    void sa_atomic_add(Py_ssize_t* p, Py_ssize_t v) noexcept nogil
    void sa_atomic_or(long* p, long v) noexcept nogil
    ctypedef struct sa_gang_probe:
        int parts
        int nested
        long arrived
        long met
        long nested_ok
        long deadline_ns
        long tids[65]
    int sa_run_gang_probe(sa_gang_probe* p) noexcept nogil


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


def run_gang_probe(int parts, bint nested=False, double timeout=10.0):
    """Run a gang of ``parts`` parts that each wait (up to ``timeout``
    seconds) for all the others to arrive; with ``nested``, each part then
    runs a gang of two of its own.  Returns (what parallel_gang returned,
    parts that met all the others, the kernel thread id of each part (0:
    did not run), nested gangs that met).  ``MAX_THREADS + 1`` parts shows
    a gang that cannot be run (-1, no part runs).  For tests."""
    if not 1 <= parts <= SA_MAX_THREADS + 1:
        raise ValueError(f"run_gang_probe: parts must be in [1, {SA_MAX_THREADS + 1}]"
                         f", got {parts}")
    cdef sa_gang_probe p
    cdef int ret, i
    p.parts = parts
    p.nested = nested
    p.arrived = 0
    p.met = 0
    p.nested_ok = 0
    p.deadline_ns = <long>(timeout * 1e9)
    for i in range(parts):
        p.tids[i] = 0
    with nogil:
        ret = sa_run_gang_probe(&p)
    return ret, p.met, [p.tids[i] for i in range(parts)], p.nested_ok
