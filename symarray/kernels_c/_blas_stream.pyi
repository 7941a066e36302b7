"""What Python sees of symarray/kernels_c/_blas_stream.pyx (one pass over X)."""

from typing import Any

from symarray.vm._cvm import CyStorage, CyThunk

#: bytes of X in one block of rows
BLOCK_BYTES: int
#: calls with at least this many elements of X release the GIL
NOGIL_MIN: int
#: calls with at least this many elements of X run on several threads
PARALLEL_MIN: int
#: bytes of X in one chunk of rows (a thread's unit, with its own accumulator)
CHUNK_BYTES: int
#: most chunks of one call
MAX_CHUNKS: int

def n_loops() -> int: ...
def block_bytes(value: int | None = None) -> int: ...
def chunk_bytes(value: int | None = None) -> int: ...
def parallel_min(value: int | None = None) -> int: ...
def use_blas(value: bool | None = None) -> bool: ...
def last_run() -> tuple[int, int]: ...

class CyStreamGemvThunk(CyThunk):
    """A StreamGemv node: one pass over the rows of X (backend "c")."""

    def __init__(self, node: Any, program: Any, nthreads: int = 1) -> None: ...
    def bind(self, storage: CyStorage, in_cells: Any, out_cells: Any,
             keep_buffers: bool = False) -> None: ...
