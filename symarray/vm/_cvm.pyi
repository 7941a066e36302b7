"""What Python sees of the Cython VM (symarray/vm/_cvm.pyx)."""

from collections.abc import Iterable, Sequence
from typing import Any

#: opcode name -> number, as compiled in
OPCODES: dict[str, int]
#: NumPy's limit on the number of dimensions
MAXDIMS: int
#: ``fast_call`` check flags: check the arguments; the caller guards the
#: outputs against aliasing arguments; decline overlapping arguments
FAST_CHECK: int
FAST_GUARDED: int
FAST_SEPARATE: int

class CyStorage:
    """The cells of one Program; ``storage[i]`` is cell i's value or None."""

    n: int
    constants: tuple[int, ...]
    def __init__(self, n: int, constants: dict[int, Any] | None = None) -> None: ...
    def __len__(self) -> int: ...
    def __getitem__(self, i: int) -> Any: ...
    def __setitem__(self, i: int, value: Any) -> None: ...
    def clear(self, i: int) -> None: ...
    def clear_cells(self, cells: Iterable[int]) -> None: ...
    def free(self) -> None: ...
    def values(self) -> list[Any]: ...
    def cached(self, i: int) -> tuple[int, int, tuple[int, ...], tuple[int, ...]]: ...

class CyThunk:
    """Base class of thunks; ``thunk()`` runs it from Python."""

    node: Any
    backend: str
    storage: CyStorage | None
    nin: int
    nout: int
    keep_buffers: bool
    def __init__(self, node: Any) -> None: ...
    def bind(self, storage: CyStorage, in_cells: Sequence[int],
             out_cells: Sequence[int], keep_buffers: bool = False) -> None: ...
    def __call__(self) -> None: ...
    def input_values(self) -> list[Any]: ...
    def output_values(self) -> list[Any]: ...

class CyPyThunk(CyThunk):
    """Runs ``node.op.perform`` over the thunk's cells."""

class CyVM:
    """Runs a Program's bytecode in Cython."""

    program: Any
    storage: CyStorage
    allow_gc: bool
    outputs_fresh: bool
    pc: int
    def __init__(self, program: Any) -> None: ...
    def __call__(self, input_values: Sequence[Any]) -> list[Any]: ...
    def fast_call(self, args: tuple[Any, ...], check: int) -> Any: ...
    def fast_call1(self, args: tuple[Any, ...], check: int) -> Any: ...
    def run(self) -> None: ...
    def set_input(self, i: int, value: Any) -> None: ...
    def outputs(self) -> list[Any]: ...
    def free(self) -> None: ...

# -- profiling (the profiled twin of CyVM) ------------------------------------
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
