"""What Python sees of symarray/kernels_c/_composite.pyx."""

from typing import Any

from symarray.vm._cvm import CyStorage, CyThunk

#: elements per block (each register holds one block)
BLOCK: int
#: loops over at least this many elements release the GIL
NOGIL_MIN: int

def opcodes() -> dict[str, tuple[int, int]]: ...

class CyCompositeThunk(CyThunk):
    """A one-output Elemwise(Composite) node run by the block interpreter."""

    def __init__(self, node: Any, typenum: int, code: Any, slot_of: Any,
                 n_slots: int, constants: Any, out_reg: int) -> None: ...
    def bind(self, storage: CyStorage, in_cells: Any, out_cells: Any,
             keep_buffers: bool = False) -> None: ...
