"""What Python sees of symarray/kernels_c/_elemwise.pyx."""

from typing import Any

from symarray.vm._cvm import CyStorage, CyThunk

#: loops over at least this many elements release the GIL
NOGIL_MIN: int

def n_loops() -> int: ...
def has_loop(name: str, dtype: Any, nin: int) -> int | None: ...

class CyElemwiseThunk(CyThunk):
    """A single-op Elemwise node run by a C loop (backend ``"c"``)."""

    def __init__(self, node: Any, name: str, tin: int) -> None: ...
    def bind(self, storage: CyStorage, in_cells: Any, out_cells: Any,
             keep_buffers: bool = False) -> None: ...
