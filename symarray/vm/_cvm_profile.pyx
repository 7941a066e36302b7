# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The profiled twin of the Cython VM: :class:`CyProfiledVM` and its recorder.

Design (see ``_cvm_profile.pxd`` for every field):

* Profiling never touches :class:`~symarray.vm._cvm.CyVM`: a profiled
  Function runs a :class:`CyProfiledVM` (a ``CyVM`` subclass over the same
  program and cells), whose dispatch loop reads a clock once per
  instruction and adds the delta since the last reading to the node that
  ran (CALL) or to ``other_ticks`` (FREE...).  It shares the plain VM's
  opcodes and cell helpers through ``_cvm.pxd``.
* The clock is the CPU's time-stamp counter where there is one (about 10 ns
  a reading; constant rate on current x86 CPUs), else CLOCK_MONOTONIC
  (``_ticks.h``, also read by ``_loop_profile.pyx``); :func:`ns_per_tick`
  and ``CyProfile.ns_per_tick`` convert.
* :class:`CyProfile` is the recorder: int64 NumPy arrays (per node calls
  and ticks, per cell output bytes, a trace ring) that
  :mod:`symarray.profiling` reads and formats; the VM never imports it.
"""

cimport numpy as cnp
from libc.stdint cimport int32_t, int64_t, uint64_t

from symarray.vm._cvm cimport (
    OP_CALL,
    OP_FREE,
    OP_HALT,
    OP_JUMP,
    OP_JUMP_IF_FALSE,
    CCell,
    CyThunk,
    CyVM,
    cell_clear,
    cell_true,
    int32_pointer,
)
from symarray.vm._pool cimport pool_counts

import numpy as np

cnp.import_array()

cdef extern from "_ticks.h":  # the clock, shared with _loop_profile.pyx
    long long symarray_ticks() noexcept nogil
    int SYMARRAY_TICKS_ARE_NS

cdef double _ns_per_tick = 0.0


def ticks():
    """The profiling clock's current reading (see :func:`ns_per_tick`)."""
    return symarray_ticks()


def ns_per_tick(double seconds=0.02):
    """Nanoseconds per tick of the profiling clock (1.0 when it counts ns).

    The time-stamp counter is calibrated once per process against
    ``time.perf_counter_ns`` over ``seconds`` of busy waiting.
    """
    global _ns_per_tick
    if SYMARRAY_TICKS_ARE_NS:
        return 1.0
    if _ns_per_tick > 0.0:
        return _ns_per_tick
    import time

    t0 = symarray_ticks()
    n0 = time.perf_counter_ns()
    while time.perf_counter_ns() - n0 < seconds * 1e9:
        pass
    t1 = symarray_ticks()
    n1 = time.perf_counter_ns()
    if t1 <= t0:
        raise RuntimeError("the profiling clock did not advance; cannot calibrate")
    _ns_per_tick = (n1 - n0) / <double>(t1 - t0)
    return _ns_per_tick


cdef int64_t* _int64_data(object arr) noexcept:
    return <int64_t*>cnp.PyArray_DATA(<cnp.ndarray>arr)


cdef class CyProfile:
    """What a profiled VM records: per node calls and clock ticks, run totals,
    per cell output bytes (``memory=True``) and, with ``trace_calls > 0``, the
    node timeline of the last ``trace_calls`` runs.

    ``clock="ticks"`` is the profiling clock (:class:`CyProfiledVM`);
    ``clock="ns"`` is ``time.perf_counter_ns`` (the Python twin,
    :class:`symarray.vm.pyvm.ProfiledPyVM`).  ``trace_events`` is the size of
    the event ring (default ``trace_calls * n_nodes``).
    """

    def __cinit__(self, Py_ssize_t n_nodes, Py_ssize_t n_cells, bint memory=False,
                  Py_ssize_t trace_calls=0, Py_ssize_t trace_events=-1,
                  str clock="ticks"):
        import time

        if n_nodes < 0 or n_cells < 0 or trace_calls < 0:
            raise ValueError(f"CyProfile: sizes must be >= 0, got n_nodes={n_nodes}, "
                             f"n_cells={n_cells}, trace_calls={trace_calls}")
        if clock not in ("ticks", "ns"):
            raise ValueError(f"CyProfile: clock must be 'ticks' or 'ns', got {clock!r}")
        self.ticks_are_ns = clock == "ns" or SYMARRAY_TICKS_ARE_NS
        self.calls = np.zeros(max(n_nodes, 1), dtype=np.int64)[:n_nodes]
        self.ticks = np.zeros(max(n_nodes, 1), dtype=np.int64)[:n_nodes]
        self.out_bytes = np.full(max(n_cells, 1), -1, dtype=np.int64)[:n_cells]
        self.c_calls = _int64_data(self.calls)
        self.c_ticks = _int64_data(self.ticks)
        self.c_out_bytes = _int64_data(self.out_bytes)
        self.memory = memory
        if trace_events < 0:
            trace_events = trace_calls * max(n_nodes, 1)
        self.trace_calls = trace_calls if trace_events > 0 else 0
        self.trace_capacity = trace_events if self.trace_calls else 0
        self.trace = np.zeros((max(self.trace_capacity, 1), 3), dtype=np.int64)
        self.trace_runs = np.zeros((max(self.trace_calls, 1), 4), dtype=np.int64)
        self.c_trace = _int64_data(self.trace)
        self.c_trace_runs = _int64_data(self.trace_runs)
        self.start_ns = time.perf_counter_ns()
        self.start_tick = self.start_ns if clock == "ns" else symarray_ticks()

    @property
    def n_nodes(self):
        return len(self.calls)

    def reset(self):
        """Forget everything recorded so far."""
        self.calls[:] = 0
        self.ticks[:] = 0
        self.out_bytes[:] = -1
        self.n_runs = self.failed_runs = self.run_ticks = self.other_ticks = 0
        self.pool_reused = self.pool_mapped = 0
        self.trace_count = 0

    def ns_per_tick(self):
        """Nanoseconds per tick of this recorder's clock."""
        if self.ticks_are_ns:
            return 1.0
        import time

        span_ns = time.perf_counter_ns() - self.start_ns
        span = symarray_ticks() - self.start_tick
        if span_ns >= 1_000_000_000 and span > 0:  # long enough to be exact
            return span_ns / <double>span
        return ns_per_tick()

    # -- recording (the Cython loop calls the cdef methods; the Python twin the
    # -- def ones, with perf_counter_ns readings)
    cdef void begin_run(self, int64_t now) noexcept:
        cdef int64_t* row
        if self.trace_calls:
            row = self.c_trace_runs + 4 * (self.n_runs % self.trace_calls)
            row[0] = now
            row[1] = now
            row[2] = self.trace_count
            row[3] = self.trace_count

    cdef void end_run(self, int64_t now, bint failed) noexcept:
        cdef int64_t* row
        if self.trace_calls:
            row = self.c_trace_runs + 4 * (self.n_runs % self.trace_calls)
            row[1] = now
            row[3] = self.trace_count
        self.n_runs += 1
        self.failed_runs += failed

    def record_run(self, int64_t start, int64_t end, bint failed=False):
        """Count one run from ``start`` to ``end`` (the trace row, if any, was
        opened by :meth:`record_begin`)."""
        self.run_ticks += end - start
        self.end_run(end, failed)

    def record_begin(self, int64_t start):
        """Open the trace row of the run that starts at ``start``."""
        self.begin_run(start)

    def record_node(self, Py_ssize_t k, int64_t start, int64_t end):
        """Node ``k`` ran from ``start`` to ``end``."""
        if not 0 <= k < len(self.calls):
            raise IndexError(f"node {k} out of range ({len(self.calls)} nodes)")
        self.c_calls[k] += 1
        self.c_ticks[k] += end - start
        if self.trace_capacity:
            _trace_event(self, k, start, end)

    def record_other(self, int64_t ticks):
        """Time spent in an instruction other than CALL."""
        self.other_ticks += ticks

    def record_bytes(self, Py_ssize_t cell, int64_t nbytes):
        """Cell ``cell`` held ``nbytes`` bytes right after its node ran."""
        if not 0 <= cell < len(self.out_bytes):
            raise IndexError(f"cell {cell} out of range ({len(self.out_bytes)} cells)")
        if nbytes > self.c_out_bytes[cell]:
            self.c_out_bytes[cell] = nbytes

    def traced_runs(self):
        """The node timelines kept: a list, oldest first, of ``(start, end,
        events)`` per run, ``events`` an ``(m, 3)`` int64 array of ``(node,
        start, end)`` rows (ticks).  Events the ring overwrote are left out."""
        out = []
        if not self.trace_calls:
            return out
        n = min(self.n_runs, self.trace_calls)
        oldest = self.trace_count - self.trace_capacity
        for r in range(self.n_runs - n, self.n_runs):
            start, end, first, last = self.trace_runs[r % self.trace_calls].tolist()
            first = max(first, oldest)
            idx = np.arange(first, last, dtype=np.int64) % self.trace_capacity
            out.append((start, end, self.trace[idx].copy()))
        return out

    def __repr__(self):
        return (f"<CyProfile {len(self.calls)} nodes, {self.n_runs} runs, "
                f"clock {'ns' if self.ticks_are_ns else 'ticks'}>")


cdef inline void _trace_event(CyProfile p, int64_t k, int64_t start,
                              int64_t end) noexcept:
    cdef int64_t* row = p.c_trace + 3 * (p.trace_count % p.trace_capacity)
    row[0] = k
    row[1] = start
    row[2] = end
    p.trace_count += 1


cdef int64_t _value_nbytes(object value) except -2:
    """Bytes of a value a cell holds (0 when it has no ``nbytes``)."""
    if cnp.PyArray_Check(value):
        return cnp.PyArray_NBYTES(<cnp.ndarray>value)
    n = getattr(value, "nbytes", None)
    return int(n) if n is not None else 0


cdef class CyProfiledVM(CyVM):
    """A :class:`CyVM` that records per node calls and time in ``profile``
    (a :class:`CyProfile` with ``clock="ticks"``).

    The dispatch loop is the plain one plus one clock reading after each
    instruction: a CALL's delta goes to its node, any other instruction's to
    ``profile.other_ticks``; a run's total goes to ``profile.run_ticks``, so
    ``run_ticks - ticks.sum()`` is the VM's own overhead.  JUMPs take no
    reading (their few ns go to the next node).
    """

    def __init__(self, program, CyProfile profile not None):
        CyVM.__init__(self, program)
        if len(profile.calls) != len(program.nodes):
            raise ValueError(f"CyProfiledVM: the profile has {len(profile.calls)} "
                             f"nodes, the program {len(program.nodes)}")
        if len(profile.out_bytes) != self.storage.n:
            raise ValueError(f"CyProfiledVM: the profile has {len(profile.out_bytes)} "
                             f"cells, the program {self.storage.n}")
        if profile.ticks_are_ns and not SYMARRAY_TICKS_ARE_NS:
            raise ValueError("CyProfiledVM needs a CyProfile(clock='ticks')")
        self.profile = profile
        self.operands = int32_pointer(program.operands, self._keep)
        self.node_operands = int32_pointer(program.node_operands, self._keep)

    cdef int _run(self) except -1:
        cdef CyProfile p = self.profile
        cdef int64_t start = symarray_ticks()
        cdef int64_t end
        cdef bint failed = True
        cdef uint64_t allocs = 0, hits0, misses0, hits1, misses1
        cdef object previous = self._pool_begin(&allocs)
        pool_counts(&hits0, &misses0)
        p.begin_run(start)
        try:
            self.dispatch()
            failed = False
        except BaseException as err:
            self._failed(err)
            raise
        finally:
            pool_counts(&hits1, &misses1)
            p.pool_reused += <int64_t>(hits1 - hits0)
            p.pool_mapped += <int64_t>(misses1 - misses0)
            self._pool_end(previous, allocs)
            end = symarray_ticks()
            p.run_ticks += end - start
            p.end_run(end, failed)
        return 0

    cdef int dispatch(self) except -1:
        """The profiled dispatch loop (CyVM.dispatch plus clock readings)."""
        cdef CyProfile p = self.profile
        cdef int64_t* calls = p.c_calls
        cdef int64_t* ticks = p.c_ticks
        cdef bint tracing = p.trace_capacity > 0
        cdef bint memory = p.memory
        cdef int32_t* code = self.code
        cdef int32_t* ins
        cdef int32_t* lst
        cdef CCell* cells = self.storage.cells
        cdef Py_ssize_t pc = 0
        cdef int32_t j, n, k
        cdef int64_t prev = symarray_ticks()
        cdef int64_t now
        while True:
            ins = code + 3 * pc
            if ins[0] == OP_CALL:
                self.pc = pc
                k = ins[1]
                (<CyThunk>self.thunks[k]).run()
                now = symarray_ticks()
                calls[k] += 1
                ticks[k] += now - prev
                if tracing:
                    _trace_event(p, k, prev, now)
                if memory:
                    self._record_bytes(k)
                    now = symarray_ticks()  # recording is VM overhead
                prev = now
                pc += 1
            elif ins[0] == OP_FREE:
                lst = self.free_lists + ins[1]
                n = lst[0]
                for j in range(1, n + 1):
                    cell_clear(&cells[lst[j]])
                now = symarray_ticks()
                p.other_ticks += now - prev
                prev = now
                pc += 1
            elif ins[0] == OP_HALT:
                self.pc = -1
                return 0
            elif ins[0] == OP_JUMP:
                pc = ins[1]
            elif ins[0] == OP_JUMP_IF_FALSE:
                self.pc = pc
                if cell_true(&cells[ins[1]]):
                    pc += 1
                else:
                    pc = ins[2]
                now = symarray_ticks()
                p.other_ticks += now - prev
                prev = now
            else:
                self.pc = pc
                raise NotImplementedError(
                    f"opcode {ins[0]} at instruction {pc} is not implemented by the "
                    "profiled VM")

    cdef int _record_bytes(self, Py_ssize_t k) except -1:
        cdef int32_t* entry = self.operands + self.node_operands[k]
        cdef int32_t nin = entry[0]
        cdef int32_t nout = entry[1]
        cdef int32_t j, c
        cdef int64_t nbytes
        cdef CCell* cell
        cdef int64_t* out_bytes = self.profile.c_out_bytes
        for j in range(nout):
            c = entry[2 + nin + j]
            cell = &self.storage.cells[c]
            if cell.obj == NULL:
                continue
            nbytes = _value_nbytes(<object>cell.obj)
            if nbytes > out_bytes[c]:
                out_bytes[c] = nbytes
        return 0

    def __repr__(self):
        gc = "on" if self.allow_gc else "off"
        return (f"<CyProfiledVM {len(self.program.nodes)} nodes, {self.storage.n} "
                f"cells, gc {gc}, {self.profile.n_runs} runs>")
