"""What Python sees of the Cython loop thunk (symarray/vm/_loop.pyx)."""

from typing import Any

import numpy as np

from symarray.vm._cvm import CyThunk, CyVM

#: inner-input kinds of a LoopLayout: seq, state, shared, nonseq
IN_KINDS: dict[str, int]
#: inner-output kinds of a LoopLayout: state, nit, shared, cond
OUT_KINDS: dict[str, int]

class CyLoopThunk(CyThunk):
    """The C thunk of a Scan node: runs every step in a ``cdef`` loop."""

    #: the inner VM (no GC), whose dispatch runs one step
    vm: CyVM
    #: the symarray.kernels_c.scan.LoopLayout it was made with
    layout: Any
    #: inner thunks that run perform (0: no Python object per step)
    n_py_thunks: int
    #: steps run by the last call (fewer than n_steps when until stopped it)
    last_n_run: int
    #: calls that ran the op's perform instead of the loop
    fallbacks: int
    def __init__(self, node: Any, vm: CyVM, layout: Any) -> None: ...
    @property
    def inner_program(self) -> Any: ...

def rebind_view(base: np.ndarray, row: int) -> tuple[np.ndarray, tuple[Any, ...]]:
    """Test helper: a view of ``base[0]`` rebound to ``base[row]``, and the
    cell cache (typenum, ndim, shape, strides) after rebinding."""
    ...
