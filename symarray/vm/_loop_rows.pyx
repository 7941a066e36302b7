# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Row and cell helpers of the scan loop thunk (:mod:`symarray.vm._loop`).

C functions that know nothing of a loop's state: rebinding a view's data
pointer to another row (:func:`rebind`, inline in the ``.pxd``), copying a
cell's array into a contiguous row, reading the ``until`` condition and
``n_steps`` from their cells, the last rows of a circular trace, counting
the cells that hold a buffer or views of it (buffer reuse), and
zero-filled C arrays.  Kept apart so that ``_loop.pyx`` holds the loop.
"""

cimport numpy as cnp
from cpython.mem cimport PyMem_Malloc
from cpython.object cimport PyObject
from libc.string cimport memcpy, memset

from symarray.vm._cvm cimport CCell, CyStorage

cnp.import_array()


cdef int copy_contig(char* dst, CCell* src, Py_ssize_t itemsize) noexcept nogil:
    """Copy the array of ``src`` into C-contiguous memory at ``dst``."""
    cdef cnp.npy_intp idx[MAXD]
    cdef int nd = src.ndim
    cdef int last = nd - 1
    cdef int d
    cdef cnp.npy_intp _k, n
    cdef char* p
    if src.size == 0:
        return 0
    if nd == 0 or (src.flags & cnp.NPY_ARRAY_C_CONTIGUOUS):
        memcpy(dst, src.data, src.size * itemsize)
        return 0
    for d in range(nd):
        idx[d] = 0
    n = src.shape[last]
    while True:
        p = src.data
        for d in range(last):
            p += idx[d] * src.strides[d]
        if src.strides[last] == itemsize:
            memcpy(dst, p, n * itemsize)
            dst += n * itemsize
        else:
            for _k in range(n):
                memcpy(dst, p, itemsize)
                dst += itemsize
                p += src.strides[last]
        d = last - 1
        while d >= 0:
            idx[d] += 1
            if idx[d] < src.shape[d]:
                break
            idx[d] = 0
            d -= 1
        if d < 0:
            return 0


cdef int cell_truth(CCell* c) except -1:
    """Truth of the until condition's cell (a 0-d array or a scalar)."""
    if c.obj == NULL:
        raise RuntimeError("scan: the until condition's cell is empty")
    if c.typenum >= 0 and c.size == 1:
        if c.typenum == cnp.NPY_BOOL or c.typenum == cnp.NPY_INT8 or (
                c.typenum == cnp.NPY_UINT8):
            return (<char*>c.data)[0] != 0
        if c.typenum == cnp.NPY_INT64 or c.typenum == cnp.NPY_UINT64:
            return (<long long*>c.data)[0] != 0
        if c.typenum == cnp.NPY_INT32 or c.typenum == cnp.NPY_UINT32:
            return (<int*>c.data)[0] != 0
        if c.typenum == cnp.NPY_FLOAT64:
            return (<double*>c.data)[0] != 0
    return bool(<object>c.obj)


cdef int read_n_steps(CCell* c, Py_ssize_t* out) except -1:
    """``n_steps`` from its cell (a 0-d int64 array, or anything ``int`` takes)."""
    if c.obj == NULL:
        raise RuntimeError("scan: the n_steps cell is empty")
    if c.typenum == cnp.NPY_INT64 and c.size == 1:
        out[0] = <Py_ssize_t>(<long long*>c.data)[0]
    else:
        out[0] = int(<object>c.obj)
    return 0


cdef object last_rows(object buf, Py_ssize_t lag, Py_ssize_t n_run, Py_ssize_t keep):
    """Steps ``max(0, n_run - keep) .. n_run - 1`` of a buffer holding step
    ``s`` in row ``(lag + s) % len(buf)`` (REWRITES: last-k traces): a view
    when they are in order, else a copy."""
    cdef Py_ssize_t rows = buf.shape[0]
    cdef Py_ssize_t start = max(0, n_run - keep)
    if lag + n_run <= rows:
        return buf[lag + start:lag + n_run]
    return buf.take([(lag + s) % rows for s in range(start, n_run)], axis=0)


cdef Py_ssize_t stale_refs(CyStorage storage, PyObject* buf, dict views) except -1:
    """Cells of ``storage`` holding ``buf`` (returned) or an array view of it
    (counted in ``views``, by the view's address).  A value the current
    call computed from a live view of ``buf`` holds references that are
    not all in cells, so the loop thunk does not reuse ``buf``."""
    cdef Py_ssize_t k, n = 0
    cdef PyObject* o
    if storage is None:
        return 0
    for k in range(storage.n):
        o = storage.cells[k].obj
        if o == buf:
            n += 1
        elif (o != NULL and storage.cells[k].typenum >= 0
              and (<PyArrayObject_fields*>o).base == buf):
            address = <Py_ssize_t>o
            views[address] = views.get(address, 0) + 1
    return n


cdef void* alloc_zeroed(size_t n) except NULL:
    """``n`` zeroed bytes from PyMem_Malloc (at least one; free with PyMem_Free)."""
    cdef void* p = PyMem_Malloc(n if n > 0 else 1)
    if p == NULL:
        raise MemoryError()
    memset(p, 0, n if n > 0 else 1)
    return p


cdef int* int_array(object values) except NULL:
    """A C array of ``values`` as ints (alloc_zeroed memory)."""
    cdef Py_ssize_t k
    values = list(values)
    cdef int* p = <int*>alloc_zeroed(len(values) * sizeof(int))
    for k in range(len(values)):
        p[k] = values[k]
    return p


cdef Py_ssize_t* ssize_array(object values) except NULL:
    """A C array of ``values`` as Py_ssize_t (alloc_zeroed memory)."""
    cdef Py_ssize_t k
    values = list(values)
    cdef Py_ssize_t* p = <Py_ssize_t*>alloc_zeroed(len(values) * sizeof(Py_ssize_t))
    for k in range(len(values)):
        p[k] = values[k]
    return p


def rebind_view(cnp.ndarray base not None, Py_ssize_t row):
    """Test helper: a view of ``base[0]`` whose data pointer was then rebound
    to ``base[row]`` (what the loop does to its inner cells each step), and
    the cell's cache after rebinding."""
    cdef CyStorage s = CyStorage(1)
    view = base[0, ...]
    s[0] = view
    rebind(&s.cells[0], <char*>cnp.PyArray_DATA(base) + row * base.strides[0])
    cached = s.cached(0)
    return view, cached
