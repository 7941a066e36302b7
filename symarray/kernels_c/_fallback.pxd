# cython: language_level=3
"""The base of the C thunks that hand what they do not take to ``perform``
(see _fallback.pyx); cimport to subclass it or to use :func:`cell_fits`."""

cimport numpy as cnp

from symarray.vm._cvm cimport CCell, CyPyThunk, CyThunk


cdef class CyFallbackThunk(CyThunk):
    # runs the node's perform on the same cells (bound with this thunk)
    cdef CyPyThunk fallback


# Whether cell c holds a writeable C-contiguous array of this dtype and shape
# (the last call's output, kept in no-GC mode).
cdef inline bint cell_fits(CCell* c, int typenum, int ndim,
                           const cnp.npy_intp* shape) noexcept:
    cdef int d
    cdef int want = cnp.NPY_ARRAY_C_CONTIGUOUS | cnp.NPY_ARRAY_WRITEABLE
    if c.obj == NULL or c.typenum != typenum or c.ndim != ndim:
        return False
    if (c.flags & want) != want:
        return False
    for d in range(ndim):
        if c.shape[d] != shape[d]:
            return False
    return True
