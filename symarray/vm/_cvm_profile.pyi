"""What Python sees of the profiled twin of the Cython VM
(symarray/vm/_cvm_profile.pyx)."""

from typing import Any

from symarray.vm._cvm import CyVM

def ticks() -> int:
    """The profiling clock's current reading."""

def ns_per_tick(seconds: float = 0.02) -> float:
    """Nanoseconds per tick of the profiling clock (calibrated once)."""

class CyProfile:
    """Raw per node calls and clock ticks that a profiled VM records."""

    calls: Any  # int64 ndarray, per node
    ticks: Any  # int64 ndarray, per node
    out_bytes: Any  # int64 ndarray, per cell (-1: never seen)
    memory: bool
    n_runs: int
    failed_runs: int
    run_ticks: int
    other_ticks: int
    pool_reused: int
    pool_mapped: int
    trace: Any
    trace_capacity: int
    trace_count: int
    trace_runs: Any
    trace_calls: int
    ticks_are_ns: bool
    start_tick: int
    start_ns: int
    n_nodes: int
    def __init__(self, n_nodes: int, n_cells: int, memory: bool = False,
                 trace_calls: int = 0, trace_events: int = -1,
                 clock: str = "ticks") -> None: ...
    def reset(self) -> None: ...
    def ns_per_tick(self) -> float: ...
    def record_begin(self, start: int) -> None: ...
    def record_run(self, start: int, end: int, failed: bool = False) -> None: ...
    def record_node(self, k: int, start: int, end: int) -> None: ...
    def record_other(self, ticks: int) -> None: ...
    def record_bytes(self, cell: int, nbytes: int) -> None: ...
    def traced_runs(self) -> list[tuple[int, int, Any]]: ...

class CyProfiledVM(CyVM):
    """A CyVM whose dispatch loop records per node calls and time."""

    profile: CyProfile
    def __init__(self, program: Any, profile: CyProfile) -> None: ...
