# cython: language_level=3
"""The process's thread pool (see _threads.h); cimport to use it.

A kernel splits its work with :func:`parallel_chunks` or
:func:`parallel_for` while it does not hold the GIL; ``fn`` must not touch
Python objects.  :func:`parallel_gang` runs parts that must all run at once
(the BLAS threads callback).
"""

# fn(ctx, begin, end, part): do elements [begin, end)
ctypedef void (*sa_task)(void* ctx, Py_ssize_t begin, Py_ssize_t end,
                         int part) noexcept nogil

# Run fn over [0, n) in `parts` ranges aligned to `align`, each exactly once
# (fn's `part` is the range's number), on up to `parts` threads; returns the
# number of ranges other threads ran (0: all ran here).
cdef int parallel_for(sa_task fn, void* ctx, Py_ssize_t n, Py_ssize_t align,
                      int parts) noexcept nogil

# Hand out chunks of `chunk` elements of [0, n) to up to `nthreads` threads
# as they ask (dynamic scheduling); fn's `part` is the thread (< nthreads, 0
# the caller), called once per chunk it takes.  Returns the number of chunks
# other threads ran.
cdef int parallel_chunks(sa_task fn, void* ctx, Py_ssize_t n, Py_ssize_t chunk,
                         int nthreads) noexcept nogil

# Call fn(ctx, k, k + 1, k) for every part k < parts at the same time, each
# on its own thread (part 0 on the calling thread), and return when all
# have returned: for parts that wait on each other (OpenBLAS's jobs).  A
# gang from another thread waits until the pool is free; one called from
# work running on the pool runs on temporary threads.  Returns parts - 1,
# or -1 (no part ran) for more than 64 parts or when threads cannot be
# created.
cdef int parallel_gang(sa_task fn, void* ctx, int parts) noexcept nogil
