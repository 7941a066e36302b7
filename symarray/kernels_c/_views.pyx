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
  with ``PyArray_CopyInto`` (NumPy's broadcasting assignment);
* :class:`CyARangeThunk`: ``np.arange``'s values computed as NumPy does
  (see the class).
"""

cimport numpy as cnp
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF
from libc.math cimport ceil, fabs, isfinite
from libc.stdint cimport INT64_MAX, int8_t, int16_t, int32_t, int64_t
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t

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


# -- ARange ------------------------------------------------------------------

ctypedef struct _Num:
    bint is_int     # a Python int (or bool) for perform, else a Python float
    int64_t i       # the value when is_int
    double f        # the value otherwise


cdef bint _read_num(CCell* c, _Num* v) noexcept:
    """A 0-d real array cell's value as ``.item()`` gives it to ``perform``;
    False for other cells and for uint64 values above int64's range."""
    cdef int t = c.typenum
    cdef int size
    if t < 0 or c.ndim != 0:
        return False
    size = <int>cnp.PyArray_ITEMSIZE(<cnp.ndarray>c.obj)
    v.is_int = True
    v.i = 0
    v.f = 0.0
    if t == cnp.NPY_BOOL:
        v.i = (<uint8_t*>c.data)[0] != 0
    elif cnp.PyTypeNum_ISSIGNED(t):
        if size == 8:
            v.i = (<int64_t*>c.data)[0]
        elif size == 4:
            v.i = (<int32_t*>c.data)[0]
        elif size == 2:
            v.i = (<int16_t*>c.data)[0]
        elif size == 1:
            v.i = (<int8_t*>c.data)[0]
        else:
            return False
    elif cnp.PyTypeNum_ISUNSIGNED(t):
        if size == 8:
            if (<uint64_t*>c.data)[0] > <uint64_t>INT64_MAX:
                return False
            v.i = <int64_t>(<uint64_t*>c.data)[0]
        elif size == 4:
            v.i = (<uint32_t*>c.data)[0]
        elif size == 2:
            v.i = (<uint16_t*>c.data)[0]
        elif size == 1:
            v.i = (<uint8_t*>c.data)[0]
        else:
            return False
    elif t == cnp.NPY_FLOAT64:
        v.is_int = False
        v.f = (<double*>c.data)[0]
    elif t == cnp.NPY_FLOAT32:
        v.is_int = False
        v.f = (<float*>c.data)[0]
    else:
        return False
    return True


cdef extern from *:
    bint __builtin_add_overflow(int64_t a, int64_t b, int64_t* res) noexcept nogil
    bint __builtin_sub_overflow(int64_t a, int64_t b, int64_t* res) noexcept nogil


cdef inline double _as_double(_Num v) noexcept:
    return <double>v.i if v.is_int else v.f


cdef bint _add_num(_Num a, _Num b, _Num* out, bint subtract) noexcept:
    """``a + b`` (or ``a - b``) as Python computes it: exact for two ints
    (False when that leaves int64), else in double."""
    out.is_int = a.is_int and b.is_int
    if not out.is_int:
        if subtract:
            out.f = _as_double(a) - _as_double(b)
        else:
            out.f = _as_double(a) + _as_double(b)
        return True
    if subtract:
        return not __builtin_sub_overflow(a.i, b.i, &out.i)
    return not __builtin_add_overflow(a.i, b.i, &out.i)



#: longest range made in C; longer ones (and their errors) are perform's
cdef double _ARANGE_MAX = 2.0 ** 40
cdef double _EXACT = 2.0 ** 53


cdef class CyARangeThunk(CyFallbackThunk):
    """``ARange``: ``np.arange(start, stop, step, dtype)`` for integer and
    float32/float64 dtypes, the values NumPy's computes.

    Like NumPy: the length is ``ceil((stop - start) / step)`` computed as
    Python computes it on ``perform``'s Python numbers (exact integer
    difference, correctly rounded division); element 0 is ``start`` and
    element 1 ``start + step`` converted to the dtype; element ``i >= 2``
    is ``b0 + i * (b1 - b0)`` in the dtype's arithmetic (integers wrap).
    ``perform`` runs the rest: a zero step, integer dtypes with float
    arguments or values out of the dtype's range (NumPy's errors),
    non-finite or huge lengths, other dtypes.  The output buffer is reused
    in no-GC mode.
    """

    cdef int typenum
    cdef int itemsize
    cdef char kind              # 'i', 'u' or 'f'

    def __init__(self, node):
        CyFallbackThunk.__init__(self, node)
        dt = cnp.dtype(node.outputs[0].type.dtype)
        if dt.kind not in "iuf" or (dt.kind == "f" and dt.itemsize not in (4, 8)):
            raise ValueError(f"CyARangeThunk: no loop for dtype {dt}")
        self.typenum = dt.num
        self.itemsize = dt.itemsize
        self.kind = ord(dt.kind)
        self.backend = "c"

    cdef int run(self) except -1:
        cdef _Num start, stop, step, diff
        cdef _Num nxt = _Num(True, 0, 0.0)
        cdef CCell* out = self.outs[0]
        cdef double q
        cdef cnp.npy_intp n
        if not (_read_num(self.ins[0], &start) and _read_num(self.ins[1], &stop)
                and _read_num(self.ins[2], &step)):
            return self.fallback.run()
        if (step.i == 0) if step.is_int else (step.f == 0.0):
            return self.fallback.run()  # perform raises the zero-step error
        if self.kind != b"f" and not (start.is_int and stop.is_int and step.is_int):
            return self.fallback.run()
        # the length: ceil((stop - start) / step) as Python computes it
        if not _add_num(stop, start, &diff, True):
            return self.fallback.run()
        if diff.is_int and step.is_int and (fabs(<double>diff.i) > _EXACT
                                            or fabs(<double>step.i) > _EXACT):
            return self.fallback.run()  # int / int would round once, not twice
        q = _as_double(diff) / _as_double(step)
        if not isfinite(q) or q > _ARANGE_MAX:
            return self.fallback.run()
        n = <cnp.npy_intp>ceil(q) if q > 0 else 0
        if n > 1 and not _add_num(start, step, &nxt, False):
            return self.fallback.run()
        if self.kind != b"f" and not (self._fits(start.i) and (n < 2 or
                                                              self._fits(nxt.i))):
            return self.fallback.run()  # perform raises NumPy's OverflowError
        if not (self.keep_buffers and cell_fits(out, self.typenum, 1, &n)):
            cell_set(out, cnp.PyArray_EMPTY(1, &n, self.typenum, 0))
        if n == 0:
            return 0
        if self.kind == b"f":
            if self.itemsize == 8:
                _fill_f8(<double*>out.data, n, _as_double(start),
                         _as_double(nxt) if n > 1 else 0.0)
            else:
                _fill_f4(<float*>out.data, n, <float>_as_double(start),
                         <float>_as_double(nxt) if n > 1 else 0.0)
        else:
            _fill_int(out.data, self.itemsize, n, start.i, step.i)
        return 0

    cdef bint _fits(self, int64_t v) noexcept:
        """Whether ``v`` is in the integer dtype's range."""
        cdef int bits = 8 * self.itemsize
        if self.kind == b"u":
            return v >= 0 and (bits == 64 or v < (<int64_t>1 << bits))
        if bits == 64:
            return True
        return -(<int64_t>1 << (bits - 1)) <= v < (<int64_t>1 << (bits - 1))


cdef void _fill_f8(double* out, cnp.npy_intp n, double b0, double b1) noexcept:
    cdef double delta = b1 - b0
    cdef cnp.npy_intp i
    out[0] = b0
    if n > 1:
        out[1] = b1
    for i in range(2, n):
        out[i] = b0 + <double>i * delta


cdef void _fill_f4(float* out, cnp.npy_intp n, float b0, float b1) noexcept:
    cdef float delta = b1 - b0
    cdef cnp.npy_intp i
    out[0] = b0
    if n > 1:
        out[1] = b1
    for i in range(2, n):
        out[i] = b0 + <float>i * delta


cdef void _fill_int(char* out, int size, cnp.npy_intp n, int64_t start,
                    int64_t step) noexcept:
    """``start + i * step`` wrapped to ``size`` bytes (two's complement)."""
    cdef uint64_t v = <uint64_t>start, d = <uint64_t>step
    cdef cnp.npy_intp i
    if size == 8:
        for i in range(n):
            (<uint64_t*>out)[i] = v + <uint64_t>i * d
    elif size == 4:
        for i in range(n):
            (<uint32_t*>out)[i] = <uint32_t>(v + <uint64_t>i * d)
    elif size == 2:
        for i in range(n):
            (<uint16_t*>out)[i] = <uint16_t>(v + <uint64_t>i * d)
    else:
        for i in range(n):
            (<uint8_t*>out)[i] = <uint8_t>(v + <uint64_t>i * d)
