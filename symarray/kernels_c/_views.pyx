# cython: language_level=3, boundscheck=False, wraparound=False
"""C thunks of the small shape and view ops (backend ``"c"``).

These nodes do next to no work (a view, a length, a fill), so the Python
call into ``perform`` was most of their cost.  Each thunk reads its input
cells in C and builds the same result ``perform`` gives through NumPy's C
API; anything unusual (an input that is not a plain ndarray, a length that
is not a small integer array, an error to report) goes to ``perform``:

* :class:`CyDimShuffleThunk`: ``PyArray_Transpose`` then ``PyArray_Newshape``,
  the calls behind ``perform``'s ``x.transpose(...).reshape(...)``, so shape,
  strides, flags and base are NumPy's own;
* :class:`CyShapeIThunk`: a 0-d int64, its buffer reused in no-GC mode;
* :class:`CyBroadcastToThunk`: a read-only view with stride 0 on the new
  and length-1 axes, as ``np.broadcast_to`` makes it;
* :class:`CySumToShapeThunk`: passes the gradient through when no axis
  needs summing (the common case), else ``perform`` sums;
* :class:`CyAllocThunk`: an empty (or reused) C-contiguous array filled
  with ``PyArray_CopyInto`` (NumPy's broadcasting assignment).
"""

cimport numpy as cnp
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t
from libc.stdint cimport uint8_t, uint16_t, uint32_t

from symarray.kernels_c._fallback cimport CyFallbackThunk, cell_fits
from symarray.vm._cvm cimport CCell, cell_set, cells_overlap

cnp.import_array()

cdef extern from "numpy/arrayobject.h":
    # steals a reference to descr
    object PyArray_NewFromDescr(PyTypeObject* subtype, cnp.PyArray_Descr* descr,
                                int nd, cnp.npy_intp* dims, cnp.npy_intp* strides,
                                void* data, int flags, PyObject* obj)
    PyTypeObject PyArray_Type


cdef bint _read_length(CCell* c, cnp.npy_intp* out) noexcept:
    """Read a 0-d integer array's value into ``out``; False when ``c`` holds
    anything else (the caller falls back to ``perform``)."""
    if c.typenum < 0 or c.ndim != 0:
        return False
    if c.typenum == cnp.NPY_INT64 or c.typenum == cnp.NPY_LONGLONG:
        out[0] = <cnp.npy_intp>(<int64_t*>c.data)[0]
    elif c.typenum == cnp.NPY_INT32:
        out[0] = (<int32_t*>c.data)[0]
    elif c.typenum == cnp.NPY_INT16:
        out[0] = (<int16_t*>c.data)[0]
    elif c.typenum == cnp.NPY_INT8:
        out[0] = (<int8_t*>c.data)[0]
    elif c.typenum == cnp.NPY_UINT32:
        out[0] = (<uint32_t*>c.data)[0]
    elif c.typenum == cnp.NPY_UINT16:
        out[0] = (<uint16_t*>c.data)[0]
    elif c.typenum == cnp.NPY_UINT8:
        out[0] = (<uint8_t*>c.data)[0]
    else:
        return False
    return True


cdef class CyDimShuffleThunk(CyFallbackThunk):
    """``DimShuffle``: a view of the input (transpose, drop, add 1-axes)."""

    cdef cnp.npy_intp perm[cnp.NPY_MAXDIMS]   # kept + dropped
    cdef int in_ndim
    cdef int out_ndim
    cdef bint identity                        # perm is 0, 1, 2...
    cdef int src[cnp.NPY_MAXDIMS]             # per output axis: input axis, -1 "x"

    def __init__(self, node):
        CyFallbackThunk.__init__(self, node)
        op = node.op
        order = tuple(op.kept) + tuple(op.dropped)
        if len(order) > cnp.NPY_MAXDIMS or len(op.new_order) > cnp.NPY_MAXDIMS:
            raise ValueError(f"CyDimShuffleThunk: {op} has more than "
                             f"{cnp.NPY_MAXDIMS} dimensions")
        self.in_ndim = op.input_ndim
        self.out_ndim = len(op.new_order)
        self.identity = order == tuple(range(self.in_ndim))
        for d, a in enumerate(order):
            self.perm[d] = a
        for d, a in enumerate(op.new_order):
            self.src[d] = -1 if a == "x" else a
        self.backend = "c"

    cdef int run(self) except -1:
        cdef CCell* x = self.ins[0]
        cdef cnp.PyArray_Dims dims
        cdef cnp.npy_intp shape[cnp.NPY_MAXDIMS]
        cdef cnp.ndarray arr
        cdef int d
        cdef bint same
        if x.typenum < 0 or x.ndim != self.in_ndim:
            return self.fallback.run()
        arr = <cnp.ndarray>x.obj
        if not self.identity:
            dims.ptr = self.perm
            dims.len = self.in_ndim
            arr = <cnp.ndarray>cnp.PyArray_Transpose(arr, &dims)
        same = self.out_ndim == self.in_ndim and not self.identity
        for d in range(self.out_ndim):
            shape[d] = 1 if self.src[d] < 0 else x.shape[self.src[d]]
            if same and shape[d] != cnp.PyArray_DIMS(arr)[d]:
                same = False
        if not same:  # a reshape to the same shape keeps the strides
            dims.ptr = shape
            dims.len = self.out_ndim
            arr = <cnp.ndarray>cnp.PyArray_Newshape(arr, &dims, cnp.NPY_CORDER)
        cell_set(self.outs[0], arr)
        return 0


cdef class CyShapeIThunk(CyFallbackThunk):
    """``Shape_i``: the input's length along axis ``i`` as a 0-d int64."""

    cdef int i

    def __init__(self, node):
        CyFallbackThunk.__init__(self, node)
        self.i = node.op.i
        self.backend = "c"

    cdef int run(self) except -1:
        cdef CCell* x = self.ins[0]
        cdef CCell* out = self.outs[0]
        if x.typenum < 0 or self.i < 0 or self.i >= x.ndim:
            return self.fallback.run()
        if not (self.keep_buffers and cell_fits(out, cnp.NPY_INT64, 0, NULL)):
            cell_set(out, cnp.PyArray_EMPTY(0, NULL, cnp.NPY_INT64, 0))
        (<int64_t*>out.data)[0] = x.shape[self.i]
        return 0


cdef class CyBroadcastToThunk(CyFallbackThunk):
    """``BroadcastTo``: a read-only view with stride 0 on broadcast axes."""

    def __init__(self, node):
        CyFallbackThunk.__init__(self, node)
        if self.nin - 1 > cnp.NPY_MAXDIMS:
            raise ValueError(f"CyBroadcastToThunk: {node.op} has more than "
                             f"{cnp.NPY_MAXDIMS} dimensions")
        self.backend = "c"

    cdef int run(self) except -1:
        cdef CCell* x = self.ins[0]
        cdef cnp.npy_intp shape[cnp.NPY_MAXDIMS]
        cdef cnp.npy_intp strides[cnp.NPY_MAXDIMS]
        cdef int nd = self.nin - 1
        cdef int lead, d, k
        cdef cnp.ndarray src
        cdef cnp.PyArray_Descr* descr
        if x.typenum < 0 or x.ndim > nd:
            return self.fallback.run()
        lead = nd - x.ndim
        for d in range(nd):
            if not _read_length(self.ins[1 + d], &shape[d]) or shape[d] < 0:
                return self.fallback.run()
            if d < lead:
                strides[d] = 0
                continue
            k = d - lead
            if x.shape[k] == 1:
                strides[d] = 0
            elif x.shape[k] == shape[d]:
                strides[d] = x.strides[k]
            else:
                return self.fallback.run()  # perform raises the error
        src = <cnp.ndarray>x.obj
        descr = cnp.PyArray_DESCR(src)
        Py_INCREF(<object>descr)  # stolen below
        view = PyArray_NewFromDescr(&PyArray_Type, descr, nd, shape, strides,
                                    x.data, 0, NULL)
        cnp.set_array_base(<cnp.ndarray>view, src)
        cell_set(self.outs[0], view)
        return 0


cdef class CySumToShapeThunk(CyFallbackThunk):
    """``SumToShape``: the gradient itself when no listed axis needs a sum."""

    cdef tuple axes

    def __init__(self, node):
        CyFallbackThunk.__init__(self, node)
        self.axes = tuple(node.op.axes)
        self.backend = "c"

    cdef int run(self) except -1:
        cdef CCell* g = self.ins[0]
        cdef CCell* x = self.ins[1]
        cdef Py_ssize_t d
        if g.typenum < 0 or x.typenum < 0 or g.ndim != x.ndim:
            return self.fallback.run()
        for a in self.axes:
            d = a
            if d >= g.ndim or g.shape[d] != x.shape[d]:
                return self.fallback.run()  # a sum, or an error to report
        if self.outs[0].obj != g.obj:
            cell_set(self.outs[0], <object>g.obj)
        return 0


cdef class CyAllocThunk(CyFallbackThunk):
    """``Alloc``: a C-contiguous array of the given lengths filled with the
    value (broadcast); its buffer is reused in no-GC mode."""

    cdef int typenum
    cdef cnp.npy_intp itemsize

    def __init__(self, node):
        CyFallbackThunk.__init__(self, node)
        if self.nin - 1 > cnp.NPY_MAXDIMS:
            raise ValueError(f"CyAllocThunk: {node.op} has more than "
                             f"{cnp.NPY_MAXDIMS} dimensions")
        dt = cnp.dtype(node.outputs[0].type.dtype)
        self.typenum = dt.num
        self.itemsize = dt.itemsize
        self.backend = "c"

    cdef int run(self) except -1:
        cdef CCell* v = self.ins[0]
        cdef CCell* out = self.outs[0]
        cdef cnp.npy_intp shape[cnp.NPY_MAXDIMS]
        cdef int nd = self.nin - 1
        cdef int d, k
        if v.typenum < 0 or v.ndim > nd:
            return self.fallback.run()
        for d in range(nd):
            if not _read_length(self.ins[1 + d], &shape[d]) or shape[d] < 0:
                return self.fallback.run()
            if v.ndim + d >= nd:  # v's axis must broadcast here
                k = v.ndim + d - nd
                if v.shape[k] != 1 and v.shape[k] != shape[d]:
                    return self.fallback.run()  # perform raises the error
        if not (self.keep_buffers and cell_fits(out, self.typenum, nd, shape)
                and not cells_overlap(out, self.itemsize, v,
                                      cnp.PyArray_ITEMSIZE(<cnp.ndarray>v.obj))):
            cell_set(out, cnp.PyArray_EMPTY(nd, shape, self.typenum, 0))
        cnp.PyArray_CopyInto(<cnp.ndarray>out.obj, <cnp.ndarray>v.obj)
        return 0
