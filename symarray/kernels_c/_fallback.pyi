"""What Python sees of symarray/kernels_c/_fallback.pyx."""

from typing import Any

from symarray.vm._cvm import CyStorage, CyThunk

class CyFallbackThunk(CyThunk):
    """A C thunk that runs the node's ``perform`` for what it does not take."""

    def __init__(self, node: Any) -> None: ...
    def bind(self, storage: CyStorage, in_cells: Any, out_cells: Any,
             keep_buffers: bool = False) -> None: ...
