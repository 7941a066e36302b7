"""What Python sees of symarray/kernels_c/_reduce.pyx."""

from typing import Any

from symarray.kernels_c.program import Program
from symarray.vm._cvm import CyStorage, CyThunk

#: loops over at least this many elements release the GIL
NOGIL_MIN: int
#: reductions over at least this many elements run on the kernels' pool
THREAD_MIN: int
#: elements per block of a prologue or of gathered values
BLOCK: int
#: most inputs of a fused prologue
MAX_INPUTS: int
#: reduction name -> the engine's op number
OPS: dict[str, int]

def resolve(nthreads: int) -> int: ...
def helped() -> int: ...
def tindex(dtype: Any) -> int: ...
def has_reduce(name: str, dtype: Any) -> bool: ...
def loop_table() -> list[tuple[str, str, int, int, int]]: ...

class CyReduceThunk(CyThunk):
    """A reduction node (optionally with a fused elementwise prologue) run by
    the C engine (backend ``"c"``)."""

    def __init__(self, node: Any, op: int, acc_dtype: Any, axes: Any,
                 prologue: Program | None = None,
                 nthreads: int = 0) -> None: ...
    def bind(self, storage: CyStorage, in_cells: Any, out_cells: Any,
             keep_buffers: bool = False) -> None: ...
    @property
    def folds_dot(self) -> bool: ...

class CyArgReduceThunk(CyThunk):
    """``Argmax``/``Argmin`` run by the C engine (backend ``"c"``)."""

    def __init__(self, node: Any, is_max: bool, axes: Any,
                 nthreads: int = 0) -> None: ...
    def bind(self, storage: CyStorage, in_cells: Any, out_cells: Any,
             keep_buffers: bool = False) -> None: ...
