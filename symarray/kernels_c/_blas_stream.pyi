"""What Python sees of symarray/kernels_c/_blas_stream.pyx (one pass over X)."""

from typing import Any, SupportsIndex

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
# The tunables: each returns its old value and sets a new one unless
# ``value`` is None.  ``value`` must be an integer (``operator.index``: not
# a bool or a float) from 1 to ``sys.maxsize``: TypeError / ValueError
# naming the tunable, the value and the default otherwise.
def block_bytes(value: SupportsIndex | None = None) -> int: ...
def chunk_bytes(value: SupportsIndex | None = None) -> int: ...
def parallel_min(value: SupportsIndex | None = None) -> int: ...
def use_blas(value: bool | None = None) -> bool: ...
def last_run() -> tuple[int, int]: ...

class CyStreamGemvThunk(CyThunk):
    """A StreamGemv node: one pass over the rows of X (backend "c")."""

    def __init__(self, node: Any, program: Any, nthreads: int = 1) -> None: ...
    def bind(self, storage: CyStorage, in_cells: Any, out_cells: Any,
             keep_buffers: bool = False) -> None: ...
