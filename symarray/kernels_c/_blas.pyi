"""What Python sees of symarray/kernels_c/_blas.pyx."""

from typing import Any

from symarray.vm._cvm import CyStorage, CyThunk

#: BLAS calls of at least this many multiply-adds release the GIL
NOGIL_FLOPS: int

def threads_callback_address() -> int: ...
def callback_stats() -> tuple[int, int]: ...
def callback_threads() -> list[int]: ...
def bind_thread_count(set_num_threads: int, get_num_threads: int) -> None: ...

class _CyBlasThunk(CyThunk):
    def __init__(self, node: Any, threads: int = 0) -> None: ...
    def bind(self, storage: CyStorage, in_cells: Any, out_cells: Any,
             keep_buffers: bool = False) -> None: ...

class CyDotThunk(_CyBlasThunk):
    """``Dot`` of float32/float64 vectors and matrices through BLAS."""

class CyGemmThunk(_CyBlasThunk):
    """``Gemm(z, alpha, x, y, beta)`` through ``?gemm``."""

class CyGemvThunk(_CyBlasThunk):
    """``Gemv(z, alpha, a, x, beta)`` through ``?gemv``."""

class CyGerThunk(_CyBlasThunk):
    """``Ger(z, alpha, x, y)`` through ``?ger``."""
