"""C thunks of the small shape and view ops (see _views.pyx)."""

from typing import Any

from symarray.vm import CyThunk

class CyDimShuffleThunk(CyThunk):
    def __init__(self, node: Any) -> None: ...

class CyShapeIThunk(CyThunk):
    def __init__(self, node: Any) -> None: ...

class CyBroadcastToThunk(CyThunk):
    def __init__(self, node: Any) -> None: ...

class CySumToShapeThunk(CyThunk):
    def __init__(self, node: Any) -> None: ...

class CyAllocThunk(CyThunk):
    def __init__(self, node: Any) -> None: ...

class CyARangeThunk(CyThunk):
    """``ARange`` for integer, float32 and float64 dtypes: NumPy's values."""

    def __init__(self, node: Any) -> None: ...
