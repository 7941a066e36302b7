"""What Python sees of symarray/kernels_c/codegen/_thunk.pyx."""

from collections.abc import Sequence
from typing import Any

from symarray.vm._cvm import CyStorage, CyThunk

#: outputs of at least this many elements are computed without the GIL
NOGIL_MIN: int
#: ... and split between the pool's threads from this many elements on
PARALLEL_MIN: int

class CyCodegenThunk(CyThunk):
    """An Elemwise(Composite) node (one or several outputs) run by its
    generated kernel."""

    library: Any
    key: str
    parts: int

    def __init__(self, node: Any, library: Any, flat_addr: int, strided_addr: int,
                 in_typenums: Sequence[int], out_typenums: int | Sequence[int],
                 scalar_inputs: Sequence[bool], inplace: int | Sequence[int],
                 parts: int,
                 key: str) -> None: ...
    def bind(self, storage: CyStorage, in_cells: Any, out_cells: Any,
             keep_buffers: bool = False) -> None: ...
