"""What Python sees of symarray/kernels_c/_nnet.pyx."""

from typing import Any

from symarray.vm._cvm import CyStorage, CyThunk

#: inputs of at least this many elements release the GIL
NOGIL_MIN: int
#: inputs of at least this many elements run on the kernels' pool
THREAD_MIN: int
#: elements of work per chunk handed to a thread
CHUNK: int

def resolve(nthreads: int) -> int: ...

class CyNnetThunk(CyThunk):
    """A ``Softmax`` or ``LogSoftmax`` node run in C (backend ``"c"``)."""

    #: threads for inputs of THREAD_MIN elements and more (resolved)
    nthreads: int

    def __init__(self, node: Any, log: bool, nthreads: int = 0) -> None: ...
    def bind(self, storage: CyStorage, in_cells: Any, out_cells: Any,
             keep_buffers: bool = False) -> None: ...
