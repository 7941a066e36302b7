# Row and cell helpers of the scan loop thunk (symarray/vm/_loop_rows.pyx):
# C functions with no loop state, cimported by _loop.pyx.  rebind is inline
# (the step loop calls it per inner value per step); the others are called
# through Cython's cross-module function table.

cimport numpy as cnp
from cpython.object cimport PyObject

from symarray.vm._cvm cimport CCell, CyStorage

cdef extern from "numpy/ndarraytypes.h":
    # NumPy's array struct: only the data pointer is written; base is read
    ctypedef struct PyArrayObject_fields:
        char* data
        PyObject* base

cdef enum:
    MAXD = cnp.NPY_MAXDIMS


cdef inline void rebind(CCell* c, char* ptr) noexcept:
    """Point the view array held by ``c`` (and ``c``'s cached pointer) at
    ``ptr``: same shape, strides and dtype, other memory."""
    (<PyArrayObject_fields*>c.obj).data = ptr
    if c.typenum >= 0:
        c.data = ptr


cdef int copy_contig(char* dst, CCell* src, Py_ssize_t itemsize) noexcept nogil
cdef int cell_truth(CCell* c) except -1
cdef int read_n_steps(CCell* c, Py_ssize_t* out) except -1
cdef object last_rows(object buf, Py_ssize_t lag, Py_ssize_t n_run, Py_ssize_t keep)
cdef Py_ssize_t stale_refs(CyStorage storage, PyObject* buf, dict views) except -1
cdef void* alloc_zeroed(size_t n) except NULL
cdef int* int_array(object values) except NULL
cdef Py_ssize_t* ssize_array(object values) except NULL
