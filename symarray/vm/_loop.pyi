"""What Python sees of the Cython loop thunk (symarray/vm/_loop.pyx)."""

from typing import Any

from symarray.vm._cvm import CyThunk, CyVM

#: inner-input kinds of a LoopLayout: seq, state, shared, nonseq
IN_KINDS: dict[str, int]
#: inner-output kinds of a LoopLayout: state, nit, shared, cond
OUT_KINDS: dict[str, int]
#: (name, what it covers) of each part of a profiled loop call: loop setup,
#: inner program, between steps, loop finish, perform fallback (defined in
#: symarray.vm._loop_profile)
LOOP_PARTS: tuple[tuple[str, str], ...]
#: default of the most bytes of buffers a loop thunk keeps between calls
BUFFER_CACHE_BYTES: int

def set_buffer_cache_bytes(nbytes: int) -> int:
    """Set the most bytes of buffers each loop thunk keeps between calls for
    reuse (0: none); return the previous value."""

class CyLoopThunk(CyThunk):
    """The C thunk of a Scan node: runs every step in a ``cdef`` loop."""

    #: the inner VM (no GC), whose dispatch runs one step
    vm: CyVM
    #: the symarray.kernels_c.scan.LoopLayout it was made with
    layout: Any
    #: inner thunks that run perform, labelled py or numpy (0: no Python
    #: object per step)
    n_py_thunks: int
    #: steps run by the last call (fewer than n_steps when until stopped it)
    last_n_run: int
    #: calls that ran the op's perform instead of the loop
    fallbacks: int
    #: buffers reused from the previous call / newly allocated, over all calls
    buffers_reused: int
    buffers_allocated: int
    def __init__(self, node: Any, vm: CyVM, layout: Any) -> None: ...
    @property
    def inner_program(self) -> Any: ...
    def profile_inner(self, make_vm: Any) -> list[CyVM]:
        """The profiler's hook: run the steps on ``make_vm(self.vm)`` (one run
        of its recorder per step) and time the parts of each call."""
    def profile_parts(self) -> list[tuple[str, int, int]]:
        """``(name, calls, ticks)`` per part of LOOP_PARTS since profiling
        started (empty when not profiled)."""
    def reset_profile_parts(self) -> None:
        """Forget the part timings recorded so far."""
    def clear_buffer_cache(self) -> None:
        """Drop the buffers kept for reuse by the next call."""
