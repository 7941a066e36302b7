# cython: language_level=3
"""Interface of the profiled twin of the Cython VM (owned by the profiler stage).

The plain CyVM (``_cvm.pxd``) is untouched by profiling: a profiled Function
runs a CyProfiledVM instead, whose dispatch loop takes one clock reading per
instruction and adds the delta to the node that ran.  symarray.profiling
reads the CyProfile arrays and formats them; the VM never imports it.  The
scan loop's part timer (``_loop_profile.pxd``) cimports CyProfile.
"""

from libc.stdint cimport int32_t, int64_t

from symarray.vm._cvm cimport CyVM


cdef class CyProfile:
    # per node: number of executions (int64 ndarray, n_nodes)
    cdef readonly object calls
    cdef int64_t* c_calls
    # per node: clock ticks spent in its thunk (int64 ndarray, n_nodes)
    cdef readonly object ticks
    cdef int64_t* c_ticks
    # per cell: largest nbytes its value had right after its node ran, -1 never
    # seen (int64 ndarray, n_cells; filled only when memory is on)
    cdef readonly object out_bytes
    cdef int64_t* c_out_bytes
    # record out_bytes (costs a few Python calls per node)
    cdef readonly bint memory
    # completed program runs (each VM call is one run)
    cdef readonly int64_t n_runs
    # runs that ended with an exception (also counted in n_runs)
    cdef readonly int64_t failed_runs
    # ticks from the start to the end of every run (VM time)
    cdef readonly int64_t run_ticks
    # ticks in instructions other than CALL (FREE, JUMP_IF_FALSE...)
    cdef readonly int64_t other_ticks
    # large blocks the buffer pool gave the runs from kept blocks (reused),
    # and from new mappings (page-faulted in), counted process-wide during
    # each run (symarray.vm._pool)
    cdef readonly int64_t pool_reused
    cdef readonly int64_t pool_mapped
    # trace ring: (node, start tick, end tick) per executed CALL (int64 ndarray)
    cdef readonly object trace
    cdef int64_t* c_trace
    # rows of the trace ring (0: no trace)
    cdef readonly Py_ssize_t trace_capacity
    # events written in all (the ring keeps the last trace_capacity)
    cdef readonly int64_t trace_count
    # per traced run: (start tick, end tick, first event, end event) (int64 ring)
    cdef readonly object trace_runs
    cdef int64_t* c_trace_runs
    # rows of trace_runs (the number of last runs kept)
    cdef readonly Py_ssize_t trace_calls
    # 1: ticks are nanoseconds (the Python twin's clock); 0: raw CPU ticks
    cdef readonly bint ticks_are_ns
    # clock reading and time.perf_counter_ns() when the recorder was made
    cdef readonly int64_t start_tick
    cdef readonly int64_t start_ns
    cdef void begin_run(self, int64_t now) noexcept
    cdef void end_run(self, int64_t now, bint failed) noexcept


cdef class CyProfiledVM(CyVM):
    # where the timings go
    cdef readonly CyProfile profile
    # program.operands and program.node_operands (memory recording)
    cdef int32_t* operands
    cdef int32_t* node_operands
    cdef int dispatch(self) except -1
    cdef int _run(self) except -1
    cdef int _record_bytes(self, Py_ssize_t k) except -1
