# cython: language_level=3, boundscheck=False, wraparound=False
"""The part timer of a profiled scan loop (:class:`CyLoopProfile`).

A :class:`~symarray.vm._loop.CyLoopThunk` whose ``profile_inner`` hook the
profiler called (:mod:`symarray.profiling.attach`) runs its steps on the
profiled twin of its inner VM and holds a :class:`CyLoopProfile`, which

* counts each step as one run of the inner VM's recorder
  (:class:`~symarray.vm._cvm_profile.CyProfile`: per inner node calls and ticks,
  and the trace ring of the last steps);
* times the parts of each call with the same clock (:data:`LOOP_PARTS`:
  setup, the inner program, the work between steps, finish, perform
  fallbacks), which add up to the thunk's time but for the VM's clock
  readings around it.

It lives in its own extension so that the loop module holds the loop
alone: the thunk calls a few ``cdef`` methods at the marks of a call
(start, setup done, each step, steps done, end) and none when it is not
profiled.
"""

cimport numpy as cnp
from libc.stdint cimport int64_t

from symarray.vm._cvm cimport CyVM
from symarray.vm._cvm_profile cimport CyProfile

import numpy as np

cnp.import_array()

cdef extern from "_ticks.h":  # the profiling clock (the same as _cvm_profile's)
    long long symarray_ticks() noexcept nogil

# the parts of a call a profiled loop times (LOOP_PARTS)
cdef enum:
    PART_SETUP = 0        # checks, buffers, views, initial states copied in
    PART_INNER = 1        # the inner program's runs (one per step)
    PART_BETWEEN = 2      # rebinding pointers, copying outputs, the until test
    PART_FINISH = 3       # traces to the outer cells, inner cells emptied
    PART_FALLBACK = 4     # calls handed to perform
    N_PARTS = 5

#: what each part of a profiled loop call is (``CyLoopThunk.profile_parts``)
LOOP_PARTS = (
    ("loop setup", "checks, buffer allocation, views, initial states copied in"),
    ("inner program", "the step's nodes (one inner program run per step)"),
    ("between steps", "rebinding cell pointers, copying outputs not written in "
                      "place, the until test"),
    ("loop finish", "traces handed to the outer cells, inner cells emptied"),
    ("perform fallback", "calls the loop handed to the op's perform"),
)


cdef class CyLoopProfile:
    """Times the parts of a loop thunk's calls and counts its steps as runs
    of ``recorder`` (the inner VM's :class:`~symarray.vm._cvm_profile.CyProfile`).

    The thunk marks each call: :meth:`begin_call`, :meth:`setup_done` (the
    buffers and views are ready), :meth:`step` per step (runs the inner
    VM's dispatch), :meth:`steps_done`, :meth:`end_call` (after the inner
    cells were emptied) and, when the call went to ``perform``,
    :meth:`fallback_done`.  A mark never reached (a declined call, an
    exception) leaves its parts uncounted.
    """

    def __init__(self, CyProfile recorder not None):
        self.recorder = recorder
        self.part_calls = np.zeros(N_PARTS, dtype=np.int64)
        self.part_ticks = np.zeros(N_PARTS, dtype=np.int64)
        self.c_calls = <int64_t*>cnp.PyArray_DATA(self.part_calls)
        self.c_ticks = <int64_t*>cnp.PyArray_DATA(self.part_ticks)

    cdef void begin_call(self) noexcept:
        self.t_start = symarray_ticks()
        self.t_setup = self.t_steps = self.t_inner = 0

    cdef void setup_done(self) noexcept:
        self.t_setup = symarray_ticks()

    cdef void steps_done(self) noexcept:
        self.t_steps = symarray_ticks()

    cdef int step(self, CyVM vm) except -1:
        """One run of the (profiled) inner VM, counted as one run of the
        recorder: its time, and its trace row when tracing."""
        cdef CyProfile p = self.recorder
        cdef int64_t start = symarray_ticks()
        cdef int64_t end
        cdef bint failed = True
        p.begin_run(start)
        try:
            vm.dispatch()
            failed = False
        finally:
            end = symarray_ticks()
            p.run_ticks += end - start
            p.end_run(end, failed)
            self.t_inner += end - start
            self.c_calls[PART_INNER] += 1
        return 0

    cdef int64_t end_call(self) noexcept:
        """Add the call's parts; return the clock reading at its end."""
        cdef int64_t end = symarray_ticks()
        cdef int64_t setup_end = self.t_setup if self.t_setup else end
        cdef int64_t steps_end = self.t_steps if self.t_steps else end
        self.c_calls[PART_SETUP] += 1
        self.c_ticks[PART_SETUP] += setup_end - self.t_start
        self.c_ticks[PART_INNER] += self.t_inner
        if self.t_setup:
            self.c_calls[PART_BETWEEN] += 1
            self.c_ticks[PART_BETWEEN] += steps_end - setup_end - self.t_inner
        if self.t_steps:
            self.c_calls[PART_FINISH] += 1
            self.c_ticks[PART_FINISH] += end - steps_end
        return end

    cdef void fallback_done(self, int64_t since) noexcept:
        """The call ran ``perform`` from ``since`` (:meth:`end_call`'s) to now."""
        self.c_calls[PART_FALLBACK] += 1
        self.c_ticks[PART_FALLBACK] += symarray_ticks() - since

    def parts(self):
        """One ``(name, calls, ticks)`` per part of :data:`LOOP_PARTS` since
        the timer was made or reset; ``calls`` counts calls, but steps for
        the inner program."""
        calls = self.part_calls.tolist()
        ticks = self.part_ticks.tolist()
        return [(LOOP_PARTS[i][0], calls[i], ticks[i]) for i in range(N_PARTS)]

    def reset(self):
        """Forget the part timings recorded so far (not the recorder's)."""
        self.part_calls[:] = 0
        self.part_ticks[:] = 0

    def __repr__(self):
        return f"<CyLoopProfile {int(self.part_calls[PART_SETUP])} calls>"
