"""What Python sees of symarray/kernels_c/_composite.pyx (the block interpreter)."""

from typing import Any

from symarray.vm._cvm import CyStorage, CyThunk

#: elements per block (each register holds one block)
BLOCK: int
#: loops over at least this many elements release the GIL
NOGIL_MIN: int

def parallel_min_work(value: int | None = None) -> int: ...
def loop_table() -> list[tuple[str, str, int, int, int]]: ...

class CyCompositeThunk(CyThunk):
    """An Elemwise node run by the block interpreter (backend "c")."""

    def __init__(self, node: Any, program: Any, nthreads: int = 1) -> None: ...
    def bind(self, storage: CyStorage, in_cells: Any, out_cells: Any,
             keep_buffers: bool = False) -> None: ...
