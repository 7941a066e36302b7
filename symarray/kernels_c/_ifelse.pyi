"""What Python sees of symarray/kernels_c/_ifelse.pyx."""

from typing import Any

from symarray.vm._cvm import CyThunk

class CyIfElseThunk(CyThunk):
    """Selects the taken branch's values of an ``IfElse`` node (backend ``"c"``)."""

    def __init__(self, node: Any) -> None: ...
