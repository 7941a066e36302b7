"""What Python sees of symarray/kernels_c/_mrg.pyx."""

from typing import Any

from symarray.vm._cvm import CyStorage, CyThunk

#: calls with at least this many draws use the thread pool
PARALLEL_MIN: int

class CyMRGThunk(CyThunk):
    """Runs an ``MRGUniform`` node in C (backend ``"c"``); large calls split
    the streams over ``nthreads`` threads (same numbers for any count)."""

    def __init__(self, node: Any, nthreads: int = 1) -> None: ...
    def bind(self, storage: CyStorage, in_cells: Any, out_cells: Any,
             keep_buffers: bool = False) -> None: ...
