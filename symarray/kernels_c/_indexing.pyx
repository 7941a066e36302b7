# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""C thunks for indexing: gathers, accumulating scatters and basic views.

:class:`CyIndexThunk` runs the advanced-indexing ops whose key is a single
index array on one axis ``k`` (the other entries full slices):

* ``gather``: ``x[..., idx, ...]`` (``AdvancedSubtensor1``, and
  ``AdvancedSubtensor`` with one integer array);
* ``inc``: ``x[..., idx, ...] += y`` with repeated indices accumulating,
  like ``np.add.at`` (``AdvancedIncSubtensor1`` / ``AdvancedIncSubtensor``,
  also with one boolean mask);
* ``set``: ``x[..., idx, ...] = y``, the last of repeated indices winning.

All three are one loop (``SA_IX_LOOP`` in ``_indexing.h``): the *target* array is
addressed through the index (``x`` for a gather, the output for a scatter),
the *sequential* array walks the index positions in order (the output of a
gather, ``y`` broadcast to ``x[idx]`` for a scatter).  Dimensions before
``k`` (outer) and after the indexed ones (inner) are merged where the
memory layout allows, so a row ``x[r]`` of a C-contiguous matrix is one
contiguous run: the compiler vectorizes it.  Negative indices count from
the end; every index is checked before anything is written, and an
out-of-range one raises ``IndexingError`` (an ``IndexError``) naming the
index, the axis and its size.  A mask is turned into byte offsets first.

:class:`CyCoordIndexThunk` runs coordinate indexing ``x[i, j]`` (and its
scatters): ``k`` integer index arrays of any integer dtypes on adjacent
axes, broadcast together as in NumPy; ``sa_co_offsets`` checks them and
turns each position of the broadcast shape into one byte offset into the
target, and the same loop runs over those offsets (the classifier loss
``log_p[arange(n), y]`` and its gradient).

Scatters write into ``x`` itself when the node is in place
(``destroy_map``) and ``x`` is writeable and does not overlap ``y`` or the
index; otherwise into a copy of ``x`` (in no-GC mode the output buffer of
the last call is reused).  Loops over at least ``NOGIL_MIN`` elements
release the GIL.

:class:`CySubtensorThunk` makes basic-indexing views (``Subtensor``): the
view's shape, strides and data pointer are computed in C from the constant
``idx_list`` and the scalar index cells, skipping the Python-level key.

Anything else (other dtypes, unaligned arrays, shapes that do not
broadcast, a set whose repeated elements NumPy may write in another order)
runs the op's ``perform``, the living spec.
"""

cimport numpy as cnp
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF
from libc.stdint cimport int64_t

from symarray.kernels_c._fallback cimport CyFallbackThunk, cell_fits
from symarray.vm._cvm cimport CCell, cell_set, cells_overlap

import numpy as np

from symarray.errors import IndexingError

cnp.import_array()

cdef extern from "_indexing.h":
    enum: SA_IX_MAXD
    ctypedef struct sa_ix:
        int nd_outer
        cnp.npy_intp outer_shape[SA_IX_MAXD]
        cnp.npy_intp outer_t[SA_IX_MAXD]
        cnp.npy_intp outer_s[SA_IX_MAXD]
        cnp.npy_intp m
        const char* idx
        cnp.npy_intp idx_st
        cnp.npy_intp n
        cnp.npy_intp ax_t
        cnp.npy_intp ax_s
        int nd_inner
        cnp.npy_intp inner_shape[SA_IX_MAXD]
        cnp.npy_intp inner_t[SA_IX_MAXD]
        cnp.npy_intp inner_s[SA_IX_MAXD]
        char* t_base
        char* s_base
    ctypedef void (*sa_ix_fn)(const sa_ix* a) noexcept nogil
    sa_ix_fn sa_ix_find(int mode, int kind, int itemsize) noexcept nogil
    cnp.npy_intp sa_mask_scan(int nd, const cnp.npy_intp* shape, const char* m,
                              const cnp.npy_intp* mst, const cnp.npy_intp* tst,
                              cnp.npy_int64* out) noexcept nogil
    cnp.npy_intp sa_ix_check(const char* idx, cnp.npy_intp st, cnp.npy_intp m,
                             cnp.npy_intp n) noexcept nogil
    enum: SA_CO_MAXK
    ctypedef struct sa_co:
        int k
        int q
        cnp.npy_intp shape[SA_IX_MAXD]
        const char* data[SA_CO_MAXK]
        int itemsize[SA_CO_MAXK]
        int is_signed[SA_CO_MAXK]
        cnp.npy_intp st[SA_CO_MAXK][SA_IX_MAXD]
        cnp.npy_intp n[SA_CO_MAXK]
        cnp.npy_intp tst[SA_CO_MAXK]
    int sa_co_offsets(const sa_co* c, cnp.npy_int64* out) noexcept nogil

cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX
    Py_ssize_t PySlice_AdjustIndices(Py_ssize_t length, Py_ssize_t* start,
                                     Py_ssize_t* stop, Py_ssize_t step) nogil

cdef extern from "numpy/arrayobject.h":
    ctypedef struct _Descr "PyArray_Descr":
        pass
    # steals a reference to descr
    object PyArray_NewFromDescr(PyTypeObject* subtype, _Descr* descr, int nd,
                                cnp.npy_intp* dims, cnp.npy_intp* strides,
                                void* data, int flags, PyObject* obj)
    PyTypeObject PyArray_Type

#: kernels over at least this many elements release the GIL
NOGIL_MIN = 1 << 15
cdef cnp.npy_intp _NOGIL_MIN = NOGIL_MIN

cdef enum:
    MAXD = cnp.NPY_MAXDIMS
    MODE_GATHER = 0
    MODE_INC = 1
    MODE_SET = 2

#: mode name -> number (CyIndexThunk's ``mode`` argument)
MODES = {"gather": MODE_GATHER, "inc": MODE_INC, "set": MODE_SET}

#: most index arrays a CyCoordIndexThunk takes
MAX_COORDS = SA_CO_MAXK

cdef int _INT64 = cnp.NPY_INT64


cdef sa_ix_fn _kernel(int mode, str kind, int itemsize) noexcept:
    """The loop for (mode, dtype kind, item size), or NULL."""
    if len(kind) != 1 or kind not in "biufcMm":
        return NULL
    return sa_ix_find(mode, ord(kind), itemsize)


def has_kernel(str mode, dtype):
    """Whether ``mode`` ("gather", "inc", "set") has a loop for ``dtype``."""
    dt = np.dtype(dtype)
    if mode not in MODES or dt.hasobject:
        return False
    return _kernel(MODES[mode], dt.kind, dt.itemsize) != NULL


cdef int _merge(int nd, cnp.npy_intp* shape, cnp.npy_intp* st1,
                cnp.npy_intp* st2) noexcept:
    """Merge adjacent dimensions that are one run in both stride arrays and
    drop length-1 dimensions, in place; the new number of dimensions."""
    cdef int d, k = 0
    for d in range(nd):
        if shape[d] == 1:
            continue
        if k > 0 and st1[k - 1] == st1[d] * shape[d] and st2[k - 1] == st2[d] * shape[d]:
            shape[k - 1] *= shape[d]
            st1[k - 1] = st1[d]
            st2[k - 1] = st2[d]
            continue
        shape[k] = shape[d]
        st1[k] = st1[d]
        st2[k] = st2[d]
        k += 1
    return k


cdef bint _overlap(CCell* a, CCell* b) noexcept:
    """Whether the memory spans of two cells' arrays intersect."""
    if a.obj == NULL or b.obj == NULL:
        return False
    return cells_overlap(a, cnp.PyArray_ITEMSIZE(<cnp.ndarray>a.obj),
                         b, cnp.PyArray_ITEMSIZE(<cnp.ndarray>b.obj))


cdef class CyIndexThunk(CyFallbackThunk):
    """An indexing node with one index array on axis ``axis``, run in C.

    ``mode`` is "gather" (``x[idx]``), "inc" or "set" (``x[idx] += y``,
    ``x[idx] = y``).  Inputs: ``x``, then ``y`` for a scatter, then the
    index inputs; ``index_input`` is the input number of the index array.
    ``mask``: the index is a boolean mask (scatters only).
    """

    cdef int mode               # MODE_GATHER, MODE_INC or MODE_SET
    cdef int axis               # first axis of x the index covers
    cdef int index_input        # input number of the (first) index array
    cdef int k                  # number of index arrays (1 here)
    cdef int ndim               # x's rank
    cdef int typenum            # dtype number of x (and y, and the output)
    cdef int itemsize           # bytes per element
    cdef bint inplace           # destroy_map: the output may be x itself
    cdef bint mask              # the index is a boolean mask
    cdef sa_ix_fn kernel        # the loop
    cdef object index_dtype     # what the index is converted to (int64)

    def __init__(self, node, str mode, int axis, int index_input, bint mask=False):
        CyFallbackThunk.__init__(self, node)
        if mode not in MODES:
            raise ValueError(f"CyIndexThunk: mode must be one of {sorted(MODES)}, "
                             f"got {mode!r}")
        dt = np.dtype(node.inputs[0].type.dtype)
        self.mode = MODES[mode]
        self.kernel = _kernel(self.mode, dt.kind, dt.itemsize)
        if self.kernel == NULL or dt.hasobject:
            raise ValueError(f"CyIndexThunk: no {mode} loop for dtype {dt}")
        if mask and self.mode == MODE_GATHER:
            raise ValueError("CyIndexThunk: gathers take integer indices only")
        self.axis = axis
        self.index_input = index_input
        self.k = 1
        self.ndim = node.inputs[0].type.ndim
        self.typenum = dt.num
        self.itemsize = dt.itemsize
        self.inplace = bool(getattr(node.op, "destroy_map", None))
        self.mask = mask
        self.index_dtype = np.dtype(np.int64)
        self.backend = "c"

    cdef int run(self) except -1:
        cdef CCell* x = self.ins[0]
        cdef CCell* ic = self.ins[self.index_input]
        cdef CCell* y = NULL
        cdef CCell* t
        cdef sa_ix a
        cdef cnp.ndarray idx_arr
        cdef object keep_idx = None
        cdef cnp.npy_intp sub_shape[MAXD]      # shape of x[idx]
        cdef cnp.npy_intp y_st[MAXD]           # y's strides broadcast to sub_shape
        cdef cnp.npy_intp sub_ndim, q, n, bad
        cdef int d, axis = self.axis, ndim = self.ndim
        cdef int md = 1                        # dims of x the index covers
        cdef bint scatter = self.mode != MODE_GATHER
        # 1. operands the loops read directly; anything else goes to perform
        if x.typenum != self.typenum or x.ndim != ndim or ic.obj == NULL:
            return self.fallback.run()
        if scatter:
            y = self.ins[1]
            if y.typenum != self.typenum:
                return self.fallback.run()
        if self.mask:
            if ic.typenum != cnp.NPY_BOOL or ic.ndim == 0 or axis + ic.ndim > ndim:
                return self.fallback.run()
            md = ic.ndim
            for d in range(md):
                if ic.shape[d] != x.shape[axis + d]:
                    return self.fallback.run()  # perform raises NumPy's error
        elif ic.typenum < 0 or not cnp.PyTypeNum_ISINTEGER(ic.typenum) or (
                ic.typenum == cnp.NPY_UINT64 or ic.typenum == cnp.NPY_ULONGLONG):
            return self.fallback.run()
        elif (self.mode == MODE_SET and ic.ndim > 1 and ic.size > 1
              and not self._c_ordered(ic.size)):
            return self.fallback.run()  # see _c_ordered
        # 2. the index as int64 positions (or byte offsets, for a mask)
        if self.mask:  # the offsets depend on the target's strides: step 5
            q = 1
            a.m = _mask_count(ic)
            a.n = 0
        else:
            if ic.typenum == _INT64 or ic.typenum == cnp.NPY_LONGLONG:
                idx_arr = <cnp.ndarray>ic.obj
            else:
                keep_idx = cnp.PyArray_Cast(<cnp.ndarray>ic.obj, cnp.NPY_INT64)
                idx_arr = <cnp.ndarray>keep_idx
            q = ic.ndim
            a.m = cnp.PyArray_SIZE(idx_arr)
            n = x.shape[axis]
            a.n = n
            if q > 1 and not cnp.PyArray_IS_C_CONTIGUOUS(idx_arr):
                keep_idx = cnp.PyArray_GETCONTIGUOUS(idx_arr)
                idx_arr = <cnp.ndarray>keep_idx
            a.idx = <const char*>cnp.PyArray_DATA(idx_arr)
            a.idx_st = 8 if q != 1 else cnp.PyArray_STRIDES(idx_arr)[0]
            bad = sa_ix_check(a.idx, a.idx_st, a.m, a.n)
            if bad >= 0:
                self._raise_out_of_bounds(bad, idx_arr, q)
        # 3. the shape of x[idx]: outer dims, the index's dims, inner dims
        sub_ndim = axis + q + (ndim - axis - md)
        if sub_ndim > MAXD:
            return self.fallback.run()
        for d in range(axis):
            sub_shape[d] = x.shape[d]
        for d in range(q):
            sub_shape[axis + d] = (a.m if self.mask
                                   else cnp.PyArray_DIMS(idx_arr)[d])
        for d in range(axis + md, ndim):
            sub_shape[d - md + q] = x.shape[d]
        if scatter:
            if not self._y_strides(y, sub_shape, <int>sub_ndim, y_st):
                return self.fallback.run()  # perform raises the shape error
            # y's index dims must be one run (or broadcast) of stride ax_s
            if not _one_run(sub_shape, y_st, axis, q, &a.ax_s):
                return self.fallback.run()
        # 4. the output
        t = self._output(x, y, <int>sub_ndim, sub_shape)
        if a.m == 0 or self._nothing_to_do(t, y):
            return 0
        # 5. the loop's view: outer dims, then the index, then inner dims
        if self.mask:
            keep_idx = _mask_offsets(ic, t, axis, a.m)
            a.idx = <const char*>cnp.PyArray_DATA(<cnp.ndarray>keep_idx)
            a.idx_st = 8
            a.ax_t = 1
        else:
            a.ax_t = t.strides[axis]
        return self._loop(&a, x, y, t, y_st, md, <int>q)

    cdef bint _c_ordered(self, cnp.npy_intp m) noexcept:
        """Whether one index array of all ``m`` positions lies in C order with
        positive strides: NumPy then sets in C order, as the loop does (with
        every array in another order NumPy may walk the positions in that
        order, and the value it writes last for a repeated element differs)."""
        cdef CCell* ic
        cdef cnp.npy_intp last
        cdef int j, d
        cdef bint ok
        for j in range(self.k):
            ic = self.ins[self.index_input + j]
            if ic.size != m:
                continue
            ok = True
            last = -1
            for d in range(ic.ndim):
                if ic.shape[d] == 1:
                    continue
                if ic.strides[d] <= 0 or (last >= 0 and ic.strides[d] > last):
                    ok = False
                    break
                last = ic.strides[d]
            if ok:
                return True
        return False

    cdef bint _overlaps_index(self, CCell* c) noexcept:
        """Whether ``c`` shares memory with one of the index cells."""
        cdef int j
        for j in range(self.k):
            if _overlap(c, self.ins[self.index_input + j]):
                return True
        return False

    cdef CCell* _output(self, CCell* x, CCell* y, int sub_ndim,
                        cnp.npy_intp* sub_shape) except NULL:
        """Make the output cell's array; the target (x, or the output of a
        scatter: x itself in place, else a copy of x)."""
        cdef CCell* out = self.outs[0]
        if self.mode == MODE_GATHER:
            if not (self.keep_buffers
                    and cell_fits(out, self.typenum, sub_ndim, sub_shape)
                    and not _overlap(out, x) and not self._overlaps_index(out)):
                cell_set(out, cnp.PyArray_EMPTY(sub_ndim, sub_shape, self.typenum, 0))
            return x
        if self.inplace and (x.flags & cnp.NPY_ARRAY_WRITEABLE) and not (
                _overlap(x, y) or self._overlaps_index(x)):
            if out.obj != x.obj:
                cell_set(out, <object>x.obj)
        else:
            if not (self.keep_buffers and cell_fits(out, self.typenum, self.ndim,
                                                    x.shape)
                    and not _overlap(out, x) and not _overlap(out, y)
                    and not self._overlaps_index(out)):
                cell_set(out, cnp.PyArray_EMPTY(self.ndim, x.shape, self.typenum, 0))
            cnp.PyArray_CopyInto(<cnp.ndarray>out.obj, <cnp.ndarray>x.obj)
        return out

    cdef bint _nothing_to_do(self, CCell* t, CCell* y) noexcept:
        """Whether the target, the output or y is empty."""
        return t.size == 0 or self.outs[0].size == 0 or (
            self.mode != MODE_GATHER and y.size == 0)

    cdef int _loop(self, sa_ix* a, CCell* x, CCell* y, CCell* t,
                   cnp.npy_intp* y_st, int md, int q) except -1:
        """Fill the outer and inner dims of ``a`` (``x``'s dims before and
        after the ``md`` indexed ones; ``q``: the index's dims in x[idx])
        and run the loop.  The caller has set ``m``, ``idx``, ``idx_st``,
        ``n``, ``ax_t`` and, for a scatter, ``ax_s``."""
        cdef CCell* out = self.outs[0]
        cdef CCell* s = y if self.mode != MODE_GATHER else out
        cdef cnp.npy_intp work
        cdef int d, k = 0, axis = self.axis
        a.t_base = t.data
        a.s_base = s.data
        if self.mode == MODE_GATHER:  # y_st: the output's own strides
            y_st = out.strides
            a.ax_s = out.strides[axis + q - 1] if q > 0 else 0
        for d in range(axis):
            a.outer_shape[d] = x.shape[d]
            a.outer_t[d] = t.strides[d]
            a.outer_s[d] = y_st[d]
        for d in range(axis + md, self.ndim):
            a.inner_shape[k] = x.shape[d]
            a.inner_t[k] = t.strides[d]
            a.inner_s[k] = y_st[d - md + q]
            k += 1
        a.nd_outer = _merge(axis, a.outer_shape, a.outer_t, a.outer_s)
        a.nd_inner = _merge(k, a.inner_shape, a.inner_t, a.inner_s)
        if a.nd_inner == 0:
            a.nd_inner = 1
            a.inner_shape[0] = 1
            a.inner_t[0] = 0
            a.inner_s[0] = 0
        work = a.m
        for d in range(a.nd_outer):
            work *= a.outer_shape[d]
        for d in range(a.nd_inner):
            work *= a.inner_shape[d]
        if work >= _NOGIL_MIN:
            with nogil:
                self.kernel(a)
        else:
            self.kernel(a)
        return 0

    cdef bint _y_strides(self, CCell* y, cnp.npy_intp* sub_shape, int sub_ndim,
                         cnp.npy_intp* y_st) noexcept:
        """y's strides broadcast to ``sub_shape`` (0 along broadcast dims);
        False when y does not broadcast."""
        cdef int d, lead = sub_ndim - y.ndim
        if lead < 0:
            return False
        for d in range(sub_ndim):
            if d < lead:
                y_st[d] = 0
            elif y.shape[d - lead] == sub_shape[d]:
                y_st[d] = y.strides[d - lead] if sub_shape[d] != 1 else 0
            elif y.shape[d - lead] == 1:
                y_st[d] = 0
            else:
                return False
        return True

    cdef int _raise_out_of_bounds(self, cnp.npy_intp pos, cnp.ndarray idx,
                                  cnp.npy_intp q) except -1:
        cdef CCell* x = self.ins[0]
        flat = idx.reshape(-1) if q != 1 else idx
        value = int(flat[pos])
        shape = tuple(x.shape[d] for d in range(x.ndim))
        what = "indexing" if self.mode == MODE_GATHER else "writing into"
        raise IndexingError(
            f"{self.node.op}: index {value} is out of bounds for axis {self.axis} "
            f"with size {x.shape[self.axis]} ({what} an array of shape {shape})")


#: most positions whose offsets a CyCoordIndexThunk keeps between calls
cdef cnp.npy_intp _KEEP_OFFSETS = 1 << 16


cdef class CyCoordIndexThunk(CyIndexThunk):
    """Coordinate indexing ``x[i0, ..., i(k-1)]``: ``k`` integer index arrays
    on axes ``axis .. axis+k-1`` (full slices elsewhere), run in C.

    The arrays (any integer dtype) broadcast together as in NumPy; their
    values become the byte offset into the target of each position
    (``sa_co_offsets``, which checks them), then :class:`CyIndexThunk`'s
    loop runs over the positions in C order.  A set whose operands' layout
    could make NumPy write repeated elements in another order runs
    ``perform`` (see ``_c_ordered``), as do index errors, shapes that do
    not broadcast and a y that does not fit (``perform`` reports them).
    """

    cdef object offsets         # int64 scratch: the positions' byte offsets
                                # (kept for up to _KEEP_OFFSETS positions)

    def __init__(self, node, str mode, int axis, int k):
        CyIndexThunk.__init__(self, node, mode, axis, 1 if mode == "gather" else 2)
        if not 1 <= k <= SA_CO_MAXK or axis + k > self.ndim:
            raise ValueError(f"CyCoordIndexThunk: {k} index arrays from axis {axis} "
                             f"of a {self.ndim}-d array (at most {SA_CO_MAXK})")
        self.k = k
        self.offsets = None

    cdef int run(self) except -1:
        cdef CCell* x = self.ins[0]
        cdef CCell* y = NULL
        cdef CCell* ic
        cdef CCell* t
        cdef sa_co co
        cdef sa_ix a
        cdef cnp.npy_intp sub_shape[MAXD]
        cdef cnp.npy_intp y_st[MAXD]
        cdef cnp.npy_intp m = 1
        cdef cnp.npy_int64* offsets
        cdef CCell y_copy               # y_full's data and size, for the loop
        cdef object y_full = None
        cdef object keep                # the offsets' array
        cdef int j, d, lead, rc, q = 0, sub_ndim
        cdef int axis = self.axis, k = self.k, ndim = self.ndim
        cdef bint scatter = self.mode != MODE_GATHER
        # 1. operands the loops read directly; anything else goes to perform
        if x.typenum != self.typenum or x.ndim != ndim:
            return self.fallback.run()
        if scatter:
            y = self.ins[1]
            if y.typenum != self.typenum:
                return self.fallback.run()
        for j in range(k):
            ic = self.ins[self.index_input + j]
            if ic.typenum < 0 or not cnp.PyTypeNum_ISINTEGER(ic.typenum):
                return self.fallback.run()
            q = max(q, ic.ndim)
        # 2. the broadcast index shape (perform raises NumPy's mismatch error)
        for d in range(q):
            co.shape[d] = 1
        for j in range(k):
            ic = self.ins[self.index_input + j]
            lead = q - ic.ndim
            for d in range(ic.ndim):
                if ic.shape[d] == 1 or ic.shape[d] == co.shape[lead + d]:
                    continue
                if co.shape[lead + d] != 1:
                    return self.fallback.run()
                co.shape[lead + d] = ic.shape[d]
        for d in range(q):
            m *= co.shape[d]
        # 3. the shape of x[idx]: outer dims, the broadcast index, inner dims
        sub_ndim = axis + q + ndim - axis - k
        if sub_ndim > MAXD:
            return self.fallback.run()
        for d in range(axis):
            sub_shape[d] = x.shape[d]
        for d in range(q):
            sub_shape[axis + d] = co.shape[d]
        for d in range(axis + k, ndim):
            sub_shape[d - k + q] = x.shape[d]
        if scatter:
            if not self._y_strides(y, sub_shape, sub_ndim, y_st):
                return self.fallback.run()  # perform raises the shape error
            if self.mode == MODE_SET and m > 1 and not (
                    self._c_ordered(m) or self._all_c_consistent(co.shape, q,
                                                                 y_st + axis)):
                return self.fallback.run()
            if not _one_run(sub_shape, y_st, axis, q, &a.ax_s):
                # y repeats along some index dims: a C-ordered copy of y
                # broadcast to x[idx] (read before anything is written)
                y_full = cnp.PyArray_EMPTY(sub_ndim, sub_shape, self.typenum, 0)
                cnp.PyArray_CopyInto(<cnp.ndarray>y_full, <cnp.ndarray>y.obj)
                y_copy.data = <char*>cnp.PyArray_DATA(<cnp.ndarray>y_full)
                y_copy.size = cnp.PyArray_SIZE(<cnp.ndarray>y_full)
                for d in range(sub_ndim):
                    y_st[d] = cnp.PyArray_STRIDES(<cnp.ndarray>y_full)[d]
                _one_run(sub_shape, y_st, axis, q, &a.ax_s)
        # 4. the output, then the positions' byte offsets into the target
        t = self._output(x, y, sub_ndim, sub_shape)
        if y_full is not None:
            y = &y_copy
        if m == 0:
            return 0  # NumPy checks no index then
        self._describe(&co, t, q)
        if m > _KEEP_OFFSETS:  # a large scratch is not kept between calls
            keep = cnp.PyArray_EMPTY(1, &m, cnp.NPY_INT64, 0)
        else:
            if self.offsets is None or cnp.PyArray_SIZE(self.offsets) < m:
                self.offsets = cnp.PyArray_EMPTY(1, &m, cnp.NPY_INT64, 0)
            keep = self.offsets
        offsets = <cnp.npy_int64*>cnp.PyArray_DATA(<cnp.ndarray>keep)
        if m >= _NOGIL_MIN:
            with nogil:
                rc = sa_co_offsets(&co, offsets)
        else:
            rc = sa_co_offsets(&co, offsets)
        if rc < 0:
            return self.fallback.run()  # perform raises NumPy's IndexError
        if self._nothing_to_do(t, y):
            return 0
        # 5. the loop over the offsets
        a.m = m
        a.idx = <const char*>offsets
        a.idx_st = 8
        a.n = 0
        a.ax_t = 1
        return self._loop(&a, x, y, t, y_st, k, q)

    cdef bint _all_c_consistent(self, cnp.npy_intp* shape, int q,
                                cnp.npy_intp* y_st) noexcept:
        """Whether every index array and y (strides ``y_st`` over the
        broadcast index shape ``shape``) is laid out in C order, broadcast
        dims aside, with no negative stride: no operand then asks NumPy's
        iterator to reorder or reverse the positions."""
        cdef cnp.npy_intp st[MAXD]
        cdef int j
        if not _c_consistent(shape, y_st, q):
            return False
        for j in range(self.k):
            _bcast_strides(self.ins[self.index_input + j], q, st)
            if not _c_consistent(shape, st, q):
                return False
        return True

    cdef void _describe(self, sa_co* co, CCell* t, int q) noexcept:
        """The index arrays as ``sa_co_offsets`` reads them (``co.shape`` is
        set); ``t``: the target."""
        cdef CCell* ic
        cdef int j
        co.k = self.k
        co.q = q
        if q == 0:  # 0-d indices: one position
            co.q = 1
            co.shape[0] = 1
        for j in range(self.k):
            ic = self.ins[self.index_input + j]
            co.data[j] = ic.data
            co.itemsize[j] = <int>cnp.PyArray_ITEMSIZE(<cnp.ndarray>ic.obj)
            co.is_signed[j] = cnp.PyTypeNum_ISSIGNED(ic.typenum)
            co.n[j] = self.ins[0].shape[self.axis + j]
            co.tst[j] = t.strides[self.axis + j]
            _bcast_strides(ic, co.q, co.st[j])


cdef void _bcast_strides(CCell* ic, int q, cnp.npy_intp* st) noexcept:
    """``ic``'s strides over a ``q``-d broadcast shape (0 on broadcast dims)."""
    cdef int d, lead = q - ic.ndim
    for d in range(q):
        st[d] = 0 if d < lead or ic.shape[d - lead] == 1 else ic.strides[d - lead]


cdef bint _c_consistent(cnp.npy_intp* shape, cnp.npy_intp* st, int q) noexcept:
    """Whether strides ``st`` over ``shape`` are non-negative and, where not
    0 (broadcast), non-increasing (C order)."""
    cdef cnp.npy_intp last = -1
    cdef int d
    for d in range(q):
        if shape[d] == 1 or st[d] == 0:
            continue
        if st[d] < 0 or (last >= 0 and st[d] > last):
            return False
        last = st[d]
    return True


cdef bint _one_run(cnp.npy_intp* shape, cnp.npy_intp* st, int start, cnp.npy_intp q,
                   cnp.npy_intp* step) noexcept:
    """Whether dims ``start .. start+q-1`` (C order) are one run of elements
    ``step`` bytes apart (or all broadcast); sets ``step``."""
    cdef cnp.npy_intp d, inner_step = 0, expect
    cdef bint first = True
    step[0] = 0
    for d in range(start + q - 1, start - 1, -1):
        if shape[d] == 1:
            continue
        if first:
            inner_step = st[d]
            expect = st[d] * shape[d]
            first = False
        elif st[d] != expect:
            return False
        else:
            expect = st[d] * shape[d]
    step[0] = inner_step
    return True


cdef cnp.npy_intp _mask_count(CCell* mask) noexcept:
    """The number of True elements of a boolean mask cell."""
    return sa_mask_scan(mask.ndim, mask.shape, mask.data, mask.strides,
                        mask.strides, NULL)


cdef object _mask_offsets(CCell* mask, CCell* t, int axis, cnp.npy_intp count):
    """Byte offsets into the target ``t`` (from its element at the outer
    position) of the ``count`` True elements of ``mask``, which covers t's
    dims ``axis .. axis+mask.ndim-1``, in the mask's C order."""
    cdef cnp.npy_intp room = count + 1
    offsets = cnp.PyArray_EMPTY(1, &room, cnp.NPY_INT64, 0)
    sa_mask_scan(mask.ndim, mask.shape, mask.data, mask.strides, t.strides + axis,
                 <cnp.npy_int64*>cnp.PyArray_DATA(offsets))
    return offsets


# -- basic indexing views ------------------------------------------------------

cdef enum:
    E_INT = 0       # an integer index (removes the dim)
    E_SLICE = 1     # a slice
    E_NEWAXIS = 2   # None: a new length-1 dim
    E_ELLIPSIS = 3  # ...: full slices over the dims left


cdef class CySubtensorThunk(CyFallbackThunk):
    """A ``Subtensor`` (basic indexing) node: the view is built in C.

    ``code`` is the op's ``idx_list`` compiled to int64 rows ``(kind, v0,
    v1, v2, in0, in1, in2, none_bits)`` (:func:`subtensor_code`): part p
    (an int's value, or a slice's start, stop, step) is the constant
    ``v<p>``, or the next scalar index input when ``in<p>`` is 1; bit p of
    ``none_bits`` marks an absent slice part.
    """

    cdef object code            # int64 (n_entries, 8), see CySubtensorThunk.__init__
    cdef cnp.int64_t* codep     # code's data
    cdef Py_ssize_t n_entries
    cdef int ndim               # x's rank
    cdef int out_ndim           # the view's rank
    cdef int n_consumed         # dims of x the entries other than ... take

    def __init__(self, node, code):
        CyFallbackThunk.__init__(self, node)
        self.code = np.ascontiguousarray(code, dtype=np.int64).reshape(-1, 8)
        self.codep = <cnp.int64_t*>cnp.PyArray_DATA(<cnp.ndarray>self.code)
        self.n_entries = self.code.shape[0]
        self.ndim = node.inputs[0].type.ndim
        self.out_ndim = node.outputs[0].type.ndim
        self.n_consumed = int(sum(1 for row in self.code.tolist()
                                  if row[0] in (E_INT, E_SLICE)))
        self.backend = "c"

    cdef int run(self) except -1:
        cdef CCell* x = self.ins[0]
        cdef cnp.npy_intp dims[MAXD]
        cdef cnp.npy_intp strides[MAXD]
        cdef cnp.npy_intp vals[3]
        cdef cnp.int64_t* code = self.codep
        cdef Py_ssize_t e
        cdef int d = 0, nd = 0, p, kind, next_input = 1
        cdef Py_ssize_t start, stop, step, length
        cdef char* data
        if x.typenum < 0 or x.ndim != self.ndim:
            return self.fallback.run()
        data = x.data
        for e in range(self.n_entries):
            kind = <int>code[8 * e + 0]
            for p in range(3):
                if code[8 * e + 4 + p]:
                    if not _read_int(self.ins[next_input], &vals[p]):
                        return self.fallback.run()
                    next_input += 1
                else:
                    vals[p] = code[8 * e + 1 + p]
            if kind == E_INT:
                start = vals[0]
                if start < 0:
                    start += x.shape[d]
                if not 0 <= start < x.shape[d]:
                    self._raise_out_of_bounds(vals[0], d)
                data += start * x.strides[d]
                d += 1
            elif kind == E_SLICE:
                # code[8 * e + 7] bit p: part p is None
                step = 1 if code[8 * e + 7] & 4 else vals[2]
                if step == 0:
                    return self.fallback.run()  # perform raises NumPy's error
                if code[8 * e + 7] & 1:
                    start = 0 if step > 0 else PY_SSIZE_T_MAX
                else:
                    start = vals[0]
                if code[8 * e + 7] & 2:
                    stop = PY_SSIZE_T_MAX if step > 0 else -PY_SSIZE_T_MAX - 1
                else:
                    stop = vals[1]
                length = PySlice_AdjustIndices(x.shape[d], &start, &stop, step)
                dims[nd] = length
                strides[nd] = x.strides[d] * step
                if length > 0:
                    data += start * x.strides[d]
                nd += 1
                d += 1
            elif kind == E_NEWAXIS:
                dims[nd] = 1
                strides[nd] = 0
                nd += 1
            else:  # Ellipsis: full slices over the dims no entry takes
                for p in range(self.ndim - self.n_consumed):
                    dims[nd] = x.shape[d]
                    strides[nd] = x.strides[d]
                    nd += 1
                    d += 1
        while d < self.ndim:  # trailing dims: full slices
            dims[nd] = x.shape[d]
            strides[nd] = x.strides[d]
            nd += 1
            d += 1
        if nd != self.out_ndim:
            return self.fallback.run()
        descr = <object>cnp.PyArray_DESCR(<cnp.ndarray>x.obj)
        Py_INCREF(descr)  # PyArray_NewFromDescr steals it
        view = PyArray_NewFromDescr(
            &PyArray_Type, <_Descr*>descr, nd, dims, strides, data,
            x.flags & cnp.NPY_ARRAY_WRITEABLE, NULL)
        cnp.set_array_base(<cnp.ndarray>view, <object>x.obj)
        cell_set(self.outs[0], view)
        return 0

    cdef int _raise_out_of_bounds(self, cnp.npy_intp value, int axis) except -1:
        cdef CCell* x = self.ins[0]
        shape = tuple(x.shape[d] for d in range(x.ndim))
        raise IndexingError(
            f"{self.node.op}: index {value} is out of bounds for axis {axis} with "
            f"size {x.shape[axis]} (indexing an array of shape {shape})")


cdef bint _read_int(CCell* c, cnp.npy_intp* out) noexcept:
    """The value of a 0-d integer array cell; False when it is not one."""
    if c.ndim != 0 or c.typenum < 0:
        return False
    if c.typenum == cnp.NPY_INT64 or c.typenum == cnp.NPY_LONGLONG:
        out[0] = (<int64_t*>c.data)[0]
    elif c.typenum == cnp.NPY_INT32:
        out[0] = (<cnp.int32_t*>c.data)[0]
    elif c.typenum == cnp.NPY_INT16:
        out[0] = (<cnp.int16_t*>c.data)[0]
    elif c.typenum == cnp.NPY_INT8:
        out[0] = (<cnp.int8_t*>c.data)[0]
    elif c.typenum == cnp.NPY_UINT8:
        out[0] = (<cnp.uint8_t*>c.data)[0]
    elif c.typenum == cnp.NPY_UINT16:
        out[0] = (<cnp.uint16_t*>c.data)[0]
    elif c.typenum == cnp.NPY_UINT32:
        out[0] = (<cnp.uint32_t*>c.data)[0]
    else:
        return False
    return True


#: entry kinds of CySubtensorThunk's code
ENTRY_KINDS = {"int": E_INT, "slice": E_SLICE, "newaxis": E_NEWAXIS,
               "ellipsis": E_ELLIPSIS}
