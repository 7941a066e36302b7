"""What Python sees of symarray/kernels_c/_indexing.pyx."""

from typing import Any

from symarray.vm._cvm import CyStorage, CyThunk

#: kernels over at least this many elements release the GIL
NOGIL_MIN: int
#: mode name -> number ("gather", "inc", "set")
MODES: dict[str, int]
#: most index arrays a CyCoordIndexThunk takes
MAX_COORDS: int
#: entry kind name -> number in CySubtensorThunk's code ("int", "slice",
#: "newaxis", "ellipsis")
ENTRY_KINDS: dict[str, int]

def has_kernel(mode: str, dtype: Any) -> bool:
    """Whether ``mode`` ("gather", "inc", "set") has a loop for ``dtype``."""

class CyIndexThunk(CyThunk):
    """An indexing node with one index array on axis ``axis``, run in C
    (backend ``"c"``): a gather ``x[idx]`` or a scatter ``x[idx] += y`` /
    ``x[idx] = y``; ``mask``: the index is a boolean mask (scatters)."""

    def __init__(self, node: Any, mode: str, axis: int, index_input: int,
                 mask: bool = False) -> None: ...
    def bind(self, storage: CyStorage, in_cells: Any, out_cells: Any,
             keep_buffers: bool = False) -> None: ...

class CyCoordIndexThunk(CyIndexThunk):
    """Coordinate indexing ``x[i0, ..., i(k-1)]``: ``k`` integer index arrays
    (any integer dtype, broadcast together) on axes ``axis .. axis+k-1``,
    run in C (backend ``"c"``): a gather, or a scatter ``x[idx] += y`` /
    ``x[idx] = y``."""

    def __init__(self, node: Any, mode: str, axis: int, k: int) -> None: ...

class CySubtensorThunk(CyThunk):
    """A ``Subtensor`` node whose view is built in C (backend ``"c"``);
    ``code`` comes from :func:`symarray.kernels_c.indexing.subtensor_code`."""

    def __init__(self, node: Any, code: Any) -> None: ...
    def bind(self, storage: CyStorage, in_cells: Any, out_cells: Any,
             keep_buffers: bool = False) -> None: ...
