# The buffer pool's entry points for the VMs (see _pool.pyx).
from libc.stdint cimport uint64_t

cdef object pool_enter()
cdef int pool_exit(object previous) except -1
cdef uint64_t pool_big_allocs() noexcept nogil
cdef void pool_counts(uint64_t* hits, uint64_t* misses) noexcept nogil
