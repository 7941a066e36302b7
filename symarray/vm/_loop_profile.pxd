# The part timer of a profiled scan loop thunk (symarray/vm/_loop_profile.pyx).
# A CyLoopThunk holds one (cimported from here) once the profiler called its
# profile_inner hook, None before: an unprofiled loop takes no clock reading.

from libc.stdint cimport int64_t

from symarray.vm._cvm cimport CyVM
from symarray.vm._cvm_profile cimport CyProfile


cdef class CyLoopProfile:
    # the inner VM's recorder: each step is one run of it
    cdef public CyProfile recorder
    # per part (LOOP_PARTS): calls, and ticks of the profiling clock (int64
    # ndarrays of N_PARTS)
    cdef readonly object part_calls
    cdef readonly object part_ticks
    cdef int64_t* c_calls
    cdef int64_t* c_ticks
    # the call being timed: ticks at its start, after setup (0: not reached),
    # after the last step (0: not reached); ticks in inner runs so far
    cdef int64_t t_start
    cdef int64_t t_setup
    cdef int64_t t_steps
    cdef int64_t t_inner

    cdef void begin_call(self) noexcept
    cdef void setup_done(self) noexcept
    cdef void steps_done(self) noexcept
    cdef int step(self, CyVM vm) except -1
    cdef int64_t end_call(self) noexcept
    cdef void fallback_done(self, int64_t since) noexcept
