"""What Python sees of symarray/kernels_c/_reduce.pyx."""

from typing import Any

from symarray.vm._cvm import CyStorage, CyThunk

#: loops over at least this many elements release the GIL
NOGIL_MIN: int
#: reductions over at least this many elements run on the kernels' pool
THREAD_MIN: int
#: elements per converted (or prologue) block
BLOCK: int
#: most inputs of a fused prologue
MAX_INPUTS: int
#: reduction name -> the engine's op number
OPS: dict[str, int]

def resolve(nthreads: int) -> int: ...
def helped() -> int: ...
def tindex(dtype: Any) -> int: ...
def has_reduce(name: str, dtype: Any) -> bool: ...
def prologue_ops() -> dict[str, tuple[int, int]]: ...

class CyReduceThunk(CyThunk):
    """A reduction node (optionally with a fused elementwise prologue) run by
    the C engine (backend ``"c"``)."""

    def __init__(self, node: Any, op: int, acc_dtype: Any, axes: Any,
                 prologue: tuple[Any, ...] | None = None,
                 nthreads: int = 0) -> None: ...
    def bind(self, storage: CyStorage, in_cells: Any, out_cells: Any,
             keep_buffers: bool = False) -> None: ...

class CyArgReduceThunk(CyThunk):
    """``Argmax``/``Argmin`` run by the C engine (backend ``"c"``)."""

    def __init__(self, node: Any, is_max: bool, axes: Any,
                 nthreads: int = 0) -> None: ...
    def bind(self, storage: CyStorage, in_cells: Any, out_cells: Any,
             keep_buffers: bool = False) -> None: ...
