# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The Cython loop thunk: runs every step of a ``Scan`` node in a ``cdef`` loop.

:class:`CyLoopThunk` is the C thunk of a Scan node (registered by
:mod:`symarray.kernels_c.scan`, which also builds the inner program and the
:class:`LoopLayout`).  The step function is an inner Program (C thunks where
available, no GC so inner buffers persist between steps) run by an inner
:class:`~symarray.vm._cvm.CyVM` whose ``dispatch`` is called directly.

One call:

1. checks the outer values (n_steps, sequences, initial states, shared
   values); anything unexpected (a dtype, a rank, a short sequence, zero
   steps) runs the op's ``perform`` instead, which raises the user-facing
   errors;
2. allocates the buffers once: per carried state a C-contiguous
   ``(L + n_steps, *shape)`` buffer whose first ``L`` rows hold the initial
   state (so every tap reads rows of one array; the trace is its
   ``[L:]`` part), per nit_sot a ``(n_steps, *shape)`` trace (after step 0,
   when the shape is known), per updated shared variable a ``(2, *shape)``
   double buffer;
3. makes one view ndarray per inner input and per inner output (a row of
   its buffer), put in the inner cells once;
4. per step, without creating Python objects: rebinds each view's data
   pointer (``PyArrayObject_fields.data``) and the cell's cached pointer to
   the step's row, runs the inner bytecode, and checks that each inner
   output landed in its row.  C kernels write there directly in no-GC mode
   (their output cell holds a reusable C-contiguous buffer of the right
   shape and dtype: the row view); any other output is copied (memcpy, or a
   strided copy).  The ``until`` condition is read from its cell in C;
5. returns the traces (trimmed with a view when ``until`` stopped early) and
   the shared values, and empties the inner cells that saw per-call memory
   (the inner program's ``after_call`` cells), so no later call writes into
   a returned array.

When a step's output does not fit its row (a shape or dtype that changed
between steps), the call is restarted with ``perform`` (the inputs are
never written, so this is safe); ``fallbacks`` counts such calls.
"""

cimport numpy as cnp
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyObject
from libc.string cimport memcpy, memset

from symarray.vm._cvm cimport (
    CCell,
    CyPyThunk,
    CyStorage,
    CyThunk,
    CyVM,
    cell_set,
)

cnp.import_array()

cdef extern from "numpy/ndarraytypes.h":
    # the start of NumPy's array struct: only the data pointer is touched
    ctypedef struct PyArrayObject_fields:
        char* data

# what an inner input reads (LoopLayout.in_kind)
cdef enum:
    IN_SEQ = 0            # a row of a sequence
    IN_STATE = 1          # a row of a carried state's buffer (a tap)
    IN_SHARED = 2         # the current row of a shared variable's double buffer
    IN_NONSEQ = 3         # an outer value, the same every step

# where an inner output goes (LoopLayout.out_kind)
cdef enum:
    OUT_STATE = 0         # row L + t of the carried state's buffer
    OUT_NIT = 1           # row t of a nit_sot trace
    OUT_SHARED = 2        # the next row of a shared variable's double buffer
    OUT_COND = 3          # the until condition

cdef enum:
    MAXD = cnp.NPY_MAXDIMS

# _loop's results besides -1 (an exception)
cdef enum:
    LOOP_DONE = 0
    LOOP_DECLINE = 1      # run perform instead (nothing was written outside)

#: names of the inner-input kinds, for LoopLayout
IN_KINDS = {"seq": IN_SEQ, "state": IN_STATE, "shared": IN_SHARED,
            "nonseq": IN_NONSEQ}
#: names of the inner-output kinds, for LoopLayout
OUT_KINDS = {"state": OUT_STATE, "nit": OUT_NIT, "shared": OUT_SHARED,
             "cond": OUT_COND}


cdef inline void _rebind(CCell* c, char* ptr) noexcept:
    """Point the view array held by ``c`` (and ``c``'s cached pointer) at
    ``ptr``: same shape, strides and dtype, other memory."""
    (<PyArrayObject_fields*>c.obj).data = ptr
    if c.typenum >= 0:
        c.data = ptr


cdef int _copy_contig(char* dst, CCell* src, Py_ssize_t itemsize) noexcept nogil:
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


cdef int _truth(CCell* c) except -1:
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


cdef int _read_n_steps(CCell* c, Py_ssize_t* out) except -1:
    if c.obj == NULL:
        raise RuntimeError("scan: the n_steps cell is empty")
    if c.typenum == cnp.NPY_INT64 and c.size == 1:
        out[0] = <Py_ssize_t>(<long long*>c.data)[0]
    else:
        out[0] = int(<object>c.obj)
    return 0


cdef class CyLoopThunk(CyThunk):
    """The C thunk of a ``Scan`` node (backend ``"c"``).

    Parameters
    ----------
    node
        The Scan Apply node.  Outer inputs: ``n_steps``, the sequences, the
        initial-state buffers, the shared values, the non-sequences; outer
        outputs: the state traces, the nit_sot traces, the shared values.
    vm
        A :class:`~symarray.vm._cvm.CyVM` over the inner Program (no GC):
        its inputs are the inner inputs, its outputs the inner outputs, in
        the Scan order.
    layout
        A :class:`symarray.kernels_c.scan.LoopLayout` saying what each inner
        input reads and where each inner output goes.
    """

    # the inner VM, its storage and program
    cdef readonly CyVM vm
    cdef CyStorage inner
    cdef readonly object layout
    # perform on the same cells (declined and restarted calls)
    cdef CyPyThunk fallback
    # number of sequences, carried states, nit_sots, shared states, non-seqs
    cdef int n_seqs, n_states, n_nit, n_shared, n_nonseqs
    # the step returns an until condition (the last inner output)
    cdef bint as_while
    # number of inner inputs / outputs
    cdef int n_in, n_out
    # per inner input: kind, source index, row offset (seq: tap - min tap;
    # state: L + tap); the inner cell; the view it holds during a call
    cdef int* in_kind
    cdef int* in_idx
    cdef Py_ssize_t* in_off
    cdef CCell** in_cell
    cdef PyObject** in_view
    # per inner output: kind, destination index, written in place (the
    # cell is pre-pointed at its row); the inner cell; its row view
    cdef int* out_kind
    cdef int* out_idx
    cdef unsigned char* out_direct
    cdef CCell** out_cell
    cdef PyObject** out_view
    # per inner output: the dtype number and rank of its rows; per call,
    # the shape of its rows (borrowed from its buffer)
    cdef int* out_typenum
    cdef int* out_ndim
    cdef cnp.npy_intp** out_rowshape
    # per sequence: extra rows it needs (max tap - min tap); dtype; rank
    cdef Py_ssize_t* seq_span
    cdef int* seq_typenum
    cdef int* seq_ndim
    # per carried state: L (rows of its initial buffer); dtype; outer rank
    cdef Py_ssize_t* state_lag
    cdef int* state_typenum
    cdef int* state_ndim
    # per shared state: dtype; rank
    cdef int* shared_typenum
    cdef int* shared_ndim
    # per call: base pointer and row stride of each buffer
    cdef char** seq_data
    cdef Py_ssize_t* seq_stride
    cdef char** state_data
    cdef Py_ssize_t* state_stride
    cdef char** nit_data
    cdef Py_ssize_t* nit_stride
    cdef char** shared_data
    cdef Py_ssize_t* shared_stride
    # REWRITES: per carried state / nit_sot, the rows kept (ScanInfo.keep_last,
    # 0: all) and, per call, the rows of its (circular when kept) buffer
    cdef Py_ssize_t* state_keep
    cdef Py_ssize_t* state_rows
    cdef Py_ssize_t* nit_keep
    cdef Py_ssize_t* nit_rows
    # per call: the buffers and views (owners of the pointers above)
    cdef list _buffers
    cdef list _views
    # inner thunks that run perform (0: the loop creates no Python objects)
    cdef readonly int n_py_thunks
    # steps run by the last call
    cdef readonly Py_ssize_t last_n_run
    # calls that ran perform instead of the C loop
    cdef readonly Py_ssize_t fallbacks

    def __cinit__(self, *args, **kwargs):
        self.in_kind = NULL
        self.in_idx = NULL
        self.in_off = NULL
        self.in_cell = NULL
        self.in_view = NULL
        self.out_kind = NULL
        self.out_idx = NULL
        self.out_direct = NULL
        self.out_cell = NULL
        self.out_view = NULL
        self.out_rowshape = NULL
        self.out_typenum = NULL
        self.out_ndim = NULL
        self.seq_span = NULL
        self.seq_typenum = NULL
        self.seq_ndim = NULL
        self.state_lag = NULL
        self.state_typenum = NULL
        self.state_ndim = NULL
        self.shared_typenum = NULL
        self.shared_ndim = NULL
        self.seq_data = NULL
        self.seq_stride = NULL
        self.state_data = NULL
        self.state_stride = NULL
        self.nit_data = NULL
        self.nit_stride = NULL
        self.shared_data = NULL
        self.shared_stride = NULL
        self.state_keep = NULL
        self.state_rows = NULL
        self.nit_keep = NULL
        self.nit_rows = NULL

    def __dealloc__(self):
        PyMem_Free(self.in_kind)
        PyMem_Free(self.in_idx)
        PyMem_Free(self.in_off)
        PyMem_Free(self.in_cell)
        PyMem_Free(self.in_view)
        PyMem_Free(self.out_kind)
        PyMem_Free(self.out_idx)
        PyMem_Free(self.out_direct)
        PyMem_Free(self.out_cell)
        PyMem_Free(self.out_view)
        PyMem_Free(self.out_rowshape)
        PyMem_Free(self.out_typenum)
        PyMem_Free(self.out_ndim)
        PyMem_Free(self.seq_span)
        PyMem_Free(self.seq_typenum)
        PyMem_Free(self.seq_ndim)
        PyMem_Free(self.state_lag)
        PyMem_Free(self.state_typenum)
        PyMem_Free(self.state_ndim)
        PyMem_Free(self.shared_typenum)
        PyMem_Free(self.shared_ndim)
        PyMem_Free(self.seq_data)
        PyMem_Free(self.seq_stride)
        PyMem_Free(self.state_data)
        PyMem_Free(self.state_stride)
        PyMem_Free(self.nit_data)
        PyMem_Free(self.nit_stride)
        PyMem_Free(self.shared_data)
        PyMem_Free(self.shared_stride)
        PyMem_Free(self.state_keep)
        PyMem_Free(self.state_rows)
        PyMem_Free(self.nit_keep)
        PyMem_Free(self.nit_rows)

    def __init__(self, node, CyVM vm not None, layout):
        cdef int j
        cdef CCell* cells
        CyThunk.__init__(self, node)
        self.backend = "c"
        self.vm = vm
        self.inner = vm.storage
        self.layout = layout
        self.fallback = CyPyThunk(node)
        self.n_seqs = layout.n_seqs
        self.n_states = layout.n_states
        self.n_nit = layout.n_nit
        self.n_shared = layout.n_shared
        self.n_nonseqs = layout.n_nonseqs
        self.as_while = layout.as_while
        program = vm.program
        self.n_in = len(program.input_cells)
        self.n_out = len(program.output_cells)
        want_in = self.n_seqs + self.n_states + self.n_shared + self.n_nonseqs
        want_out = self.n_states + self.n_nit + self.n_shared
        if self.nin != 1 + want_in or self.nout != want_out:
            raise ValueError(
                f"CyLoopThunk: {node} has {self.nin} inputs and {self.nout} outputs; "
                f"the layout wants {1 + want_in} and {want_out}")
        if (len(layout.in_kind) != self.n_in
                or len(layout.out_kind) != self.n_out
                or self.n_out != want_out + self.as_while):
            raise ValueError(
                f"CyLoopThunk: the layout describes {len(layout.in_kind)} inner "
                f"inputs and {len(layout.out_kind)} inner outputs; the inner "
                f"program has {self.n_in} and {self.n_out}")
        self.in_kind = _ints(layout.in_kind)
        self.in_idx = _ints(layout.in_index)
        self.in_off = _ssizes(layout.in_offset)
        self.in_cell = <CCell**>_alloc(self.n_in * sizeof(CCell*))
        self.in_view = <PyObject**>_alloc(self.n_in * sizeof(PyObject*))
        self.out_kind = _ints(layout.out_kind)
        self.out_idx = _ints(layout.out_index)
        self.out_direct = <unsigned char*>_alloc(self.n_out)
        self.out_cell = <CCell**>_alloc(self.n_out * sizeof(CCell*))
        self.out_view = <PyObject**>_alloc(self.n_out * sizeof(PyObject*))
        self.out_rowshape = <cnp.npy_intp**>_alloc(self.n_out * sizeof(void*))
        self.out_typenum = _ints(layout.out_typenum)
        self.out_ndim = _ints(layout.out_ndim)
        cells = self.inner.cells
        for j in range(self.n_in):
            self.in_cell[j] = &cells[<Py_ssize_t>program.input_cells[j]]
            self.in_view[j] = NULL
        for j in range(self.n_out):
            self.out_cell[j] = &cells[<Py_ssize_t>program.output_cells[j]]
            self.out_direct[j] = bool(layout.out_direct[j])
            self.out_view[j] = NULL
        self.seq_span = _ssizes(layout.seq_span)
        self.seq_typenum = _ints(layout.seq_typenum)
        self.seq_ndim = _ints(layout.seq_ndim)
        self.state_lag = _ssizes(layout.state_lag)
        self.state_typenum = _ints(layout.state_typenum)
        self.state_ndim = _ints(layout.state_ndim)
        self.shared_typenum = _ints(layout.shared_typenum)
        self.shared_ndim = _ints(layout.shared_ndim)
        keep = tuple(getattr(layout, "keep_last", ()) or (0,) * (self.n_states
                                                                 + self.n_nit))
        self.state_keep = _ssizes(keep[:self.n_states])
        self.nit_keep = _ssizes(keep[self.n_states:])
        self.state_rows = _ssizes([0] * self.n_states)
        self.nit_rows = _ssizes([0] * self.n_nit)
        self.seq_data = <char**>_alloc(self.n_seqs * sizeof(char*))
        self.seq_stride = <Py_ssize_t*>_alloc(self.n_seqs * sizeof(Py_ssize_t))
        self.state_data = <char**>_alloc(self.n_states * sizeof(char*))
        self.state_stride = <Py_ssize_t*>_alloc(self.n_states * sizeof(Py_ssize_t))
        self.nit_data = <char**>_alloc(self.n_nit * sizeof(char*))
        self.nit_stride = <Py_ssize_t*>_alloc(self.n_nit * sizeof(Py_ssize_t))
        self.shared_data = <char**>_alloc(self.n_shared * sizeof(char*))
        self.shared_stride = <Py_ssize_t*>_alloc(self.n_shared * sizeof(Py_ssize_t))
        self.n_py_thunks = sum(
            1 for t in program.thunks if getattr(t, "backend", "py") == "py")

    def bind(self, CyStorage storage not None, in_cells, out_cells,
             bint keep_buffers=False):
        CyThunk.bind(self, storage, in_cells, out_cells, keep_buffers)
        self.fallback.bind(storage, in_cells, out_cells, keep_buffers)

    @property
    def inner_program(self):
        """The inner Program (one step)."""
        return self.vm.program

    cdef int run(self) except -1:
        cdef int r
        try:
            r = self._loop()
        finally:
            self._end_call()
        if r == LOOP_DECLINE:
            self.fallbacks += 1
            self.fallback.run()
        return 0

    cdef void _end_call(self) noexcept:
        """Empty the inner cells that saw this call's memory; drop the views
        and buffers."""
        cdef int j
        self.vm._clear_after_call()
        for j in range(self.n_in):
            self.in_view[j] = NULL
        for j in range(self.n_out):
            self.out_view[j] = NULL
        self._buffers = None
        self._views = None

    cdef int _loop(self) except -1:
        """Run the steps; LOOP_DECLINE when perform should run instead."""
        cdef Py_ssize_t n_steps, t, n_run
        cdef CCell* cond = NULL
        cdef int r
        _read_n_steps(self.ins[0], &n_steps)
        if n_steps <= 0:
            return LOOP_DECLINE  # perform: zero steps (nit_sot shapes) or errors
        if self._setup(n_steps) == LOOP_DECLINE:
            return LOOP_DECLINE
        if self.as_while:
            cond = self.out_cell[self.n_out - 1]
        n_run = n_steps
        self.vm.pc = -1  # no inner node failed (dispatch leaves -1 at HALT)
        try:
            for t in range(n_steps):
                self._point(t)
                self.vm.dispatch()
                r = self._collect(t, n_steps)
                if r != LOOP_DONE:
                    return r
                if cond != NULL and _truth(cond):
                    n_run = t + 1
                    break
        except BaseException as err:
            self.vm._failed(err)  # the inner node's note (when one failed)
            raise
        self.last_n_run = n_run
        self._finish(n_run, n_steps)
        return LOOP_DONE

    cdef int _setup(self, Py_ssize_t n_steps) except -1:
        """Check the outer values, allocate the buffers, make the views and
        put them (and the non-sequences) in the inner cells."""
        cdef int s, i, j, base
        cdef CCell* c
        cdef cnp.ndarray buf
        cdef Py_ssize_t lag
        cdef cnp.npy_intp dims[MAXD + 1]
        cdef list buffers = []
        cdef list views = []
        self._buffers = buffers
        self._views = views
        # sequences: read in place
        for s in range(self.n_seqs):
            c = self.ins[1 + s]
            if (c.typenum != self.seq_typenum[s] or c.ndim != self.seq_ndim[s]
                    or c.shape[0] < n_steps + self.seq_span[s]):
                return LOOP_DECLINE
            self.seq_data[s] = c.data
            self.seq_stride[s] = c.strides[0]
        # carried states: (L + n_steps, *shape), the initial rows first
        base = 1 + self.n_seqs
        for i in range(self.n_states):
            c = self.ins[base + i]
            lag = self.state_lag[i]
            if (c.typenum != self.state_typenum[i] or c.ndim != self.state_ndim[i]
                    or c.shape[0] != lag):
                return LOOP_DECLINE
            dims[0] = lag + n_steps
            if self.state_keep[i] > 0:  # REWRITES: circular, L + 1 rows at least
                dims[0] = min(dims[0], max(lag + 1, self.state_keep[i]))
            self.state_rows[i] = dims[0]
            for j in range(1, c.ndim):
                dims[j] = c.shape[j]
            buf = cnp.PyArray_EMPTY(c.ndim, dims, c.typenum, 0)
            buf[:lag] = <object>c.obj
            buffers.append(buf)
            self.state_data[i] = <char*>cnp.PyArray_DATA(buf)
            self.state_stride[i] = cnp.PyArray_STRIDES(buf)[0]
        # shared states: (2, *shape) double buffers, row 0 holds the value
        base += self.n_states
        for i in range(self.n_shared):
            c = self.ins[base + i]
            if c.typenum != self.shared_typenum[i] or c.ndim != self.shared_ndim[i]:
                return LOOP_DECLINE
            dims[0] = 2
            for j in range(c.ndim):
                dims[j + 1] = c.shape[j]
            buf = cnp.PyArray_EMPTY(c.ndim + 1, dims, c.typenum, 0)
            buf[0] = <object>c.obj
            buffers.append(buf)
            self.shared_data[i] = <char*>cnp.PyArray_DATA(buf)
            self.shared_stride[i] = cnp.PyArray_STRIDES(buf)[0]
        for i in range(self.n_nit):
            self.nit_data[i] = NULL
            self.nit_stride[i] = 0
        buffers.extend([None] * self.n_nit)
        # the inner inputs: one view per input, made from row 0 of its buffer
        base += self.n_shared
        for j in range(self.n_in):
            kind = self.in_kind[j]
            i = self.in_idx[j]
            if kind == IN_NONSEQ:
                cell_set(self.in_cell[j], <object>self.ins[base + i].obj)
                continue
            if kind == IN_SEQ:
                view = (<object>self.ins[1 + i].obj)[0, ...]
            elif kind == IN_STATE:
                view = buffers[i][0, ...]
            else:
                view = buffers[self.n_states + i][0, ...]
            views.append(view)
            self.in_view[j] = <PyObject*>view
            cell_set(self.in_cell[j], view)
        # the outputs written in place: a view of a row of their buffer
        for j in range(self.n_out):
            kind = self.out_kind[j]
            self.out_rowshape[j] = NULL
            if kind == OUT_NIT or kind == OUT_COND:
                continue  # nit_sot buffers are made after step 0
            i = self.out_idx[j]
            buf = buffers[i if kind == OUT_STATE else self.n_states + i]
            self.out_rowshape[j] = cnp.PyArray_DIMS(buf) + 1
            if not self.out_direct[j]:
                continue
            view = buf[0, ...]
            views.append(view)
            self.out_view[j] = <PyObject*>view
        return LOOP_DONE

    cdef char* _target(self, int j, Py_ssize_t t) noexcept:
        """Where inner output ``j`` of step ``t`` goes (NULL: not known yet)."""
        cdef int i = self.out_idx[j]
        cdef int kind = self.out_kind[j]
        if kind == OUT_STATE:
            return self.state_data[i] + ((t + self.state_lag[i]) % self.state_rows[i]
                                         ) * self.state_stride[i]
        if kind == OUT_NIT:
            if self.nit_data[i] == NULL:
                return NULL
            return self.nit_data[i] + (t % self.nit_rows[i]) * self.nit_stride[i]
        if kind == OUT_SHARED:
            return self.shared_data[i] + ((t + 1) & 1) * self.shared_stride[i]
        return NULL

    cdef int _point(self, Py_ssize_t t) except -1:
        """Point the inner input cells at step ``t``'s rows and the direct
        output cells at their destination rows."""
        cdef int j, kind, i
        cdef CCell* c
        cdef char* ptr
        for j in range(self.n_in):
            kind = self.in_kind[j]
            if kind == IN_NONSEQ:
                continue
            i = self.in_idx[j]
            if kind == IN_SEQ:
                ptr = self.seq_data[i] + (t + self.in_off[j]) * self.seq_stride[i]
            elif kind == IN_STATE:
                ptr = self.state_data[i] + ((t + self.in_off[j]) % self.state_rows[i]
                                            ) * self.state_stride[i]
            else:
                ptr = self.shared_data[i] + (t & 1) * self.shared_stride[i]
            c = self.in_cell[j]
            if c.obj != self.in_view[j]:
                cell_set(c, <object>self.in_view[j])
            _rebind(c, ptr)
        for j in range(self.n_out):
            if self.out_view[j] == NULL:
                continue
            c = self.out_cell[j]
            if c.obj != self.out_view[j]:
                cell_set(c, <object>self.out_view[j])
            _rebind(c, self._target(j, t))
        return 0

    cdef int _collect(self, Py_ssize_t t, Py_ssize_t n_steps) except -1:
        """Move step ``t``'s inner outputs into their rows (those the kernels
        did not write in place); LOOP_DECLINE when one does not fit."""
        cdef int j, d, kind
        cdef CCell* c
        cdef char* dst
        for j in range(self.n_out):
            kind = self.out_kind[j]
            if kind == OUT_COND:
                continue
            c = self.out_cell[j]
            dst = self._target(j, t)
            if dst == NULL:  # the first nit_sot row: allocate the trace
                if self._alloc_nit(j, n_steps) == LOOP_DECLINE:
                    return LOOP_DECLINE
                dst = self._target(j, t)
            elif c.data == dst and c.typenum >= 0:
                continue  # written in place
            if c.typenum != self.out_typenum[j] or c.ndim != self.out_ndim[j]:
                return LOOP_DECLINE
            for d in range(c.ndim):
                if c.shape[d] != self.out_rowshape[j][d]:
                    return LOOP_DECLINE
            _copy_contig(dst, c, cnp.PyArray_ITEMSIZE(<cnp.ndarray>c.obj))
        return LOOP_DONE

    cdef int _alloc_nit(self, int j, Py_ssize_t n_steps) except -1:
        """Allocate nit_sot ``j``'s trace from step 0's output shape."""
        cdef CCell* c = self.out_cell[j]
        cdef int i = self.out_idx[j]
        cdef int d
        cdef cnp.npy_intp dims[MAXD + 1]
        cdef cnp.ndarray buf
        if (c.typenum != self.out_typenum[j] or c.ndim != self.out_ndim[j]
                or c.ndim + 1 > MAXD):
            return LOOP_DECLINE
        dims[0] = n_steps
        if self.nit_keep[i] > 0:  # REWRITES: a circular buffer of K rows
            dims[0] = min(n_steps, self.nit_keep[i])
        self.nit_rows[i] = dims[0]
        for d in range(c.ndim):
            dims[d + 1] = c.shape[d]
        buf = cnp.PyArray_EMPTY(c.ndim + 1, dims, c.typenum, 0)
        self._buffers[self.n_states + self.n_shared + i] = buf
        self.out_rowshape[j] = cnp.PyArray_DIMS(buf) + 1
        self.nit_data[i] = <char*>cnp.PyArray_DATA(buf)
        self.nit_stride[i] = cnp.PyArray_STRIDES(buf)[0]
        if self.out_direct[j] and n_steps > 1:
            view = buf[0, ...]
            self._views.append(view)
            self.out_view[j] = <PyObject*>view
        return LOOP_DONE

    cdef int _finish(self, Py_ssize_t n_run, Py_ssize_t n_steps) except -1:
        """Put the traces and the shared values in the outer output cells."""
        cdef int i
        cdef Py_ssize_t lag
        cdef list buffers = self._buffers
        cdef int k = 0
        for i in range(self.n_states):
            lag = self.state_lag[i]
            if self.state_keep[i] > 0:  # REWRITES: the last K rows, in order
                cell_set(self.outs[k], _last_rows(buffers[i], lag, n_run,
                                                  self.state_keep[i]))
            else:
                cell_set(self.outs[k], buffers[i][lag:lag + n_run])
            k += 1
        for i in range(self.n_nit):
            buf = buffers[self.n_states + self.n_shared + i]
            if self.nit_keep[i] > 0:
                cell_set(self.outs[k], _last_rows(buf, 0, n_run, self.nit_keep[i]))
            else:
                cell_set(self.outs[k], buf if n_run == n_steps else buf[:n_run])
            k += 1
        for i in range(self.n_shared):
            cell_set(self.outs[k], buffers[self.n_states + i][n_run & 1])
            k += 1
        return 0

    def __repr__(self):
        return (f"<CyLoopThunk [c] {self.node}: {len(self.vm.program.nodes)} inner "
                f"nodes, {self.n_py_thunks} on perform>")


def _last_rows(buf, Py_ssize_t lag, Py_ssize_t n_run, Py_ssize_t keep):
    """Steps ``max(0, n_run - keep) .. n_run - 1`` of a buffer holding step
    ``s`` in row ``(lag + s) % len(buf)`` (REWRITES: last-k traces): a view
    when they are in order, else a copy."""
    cdef Py_ssize_t rows = buf.shape[0]
    cdef Py_ssize_t start = max(0, n_run - keep)
    if lag + n_run <= rows:
        return buf[lag + start:lag + n_run]
    return buf.take([(lag + s) % rows for s in range(start, n_run)], axis=0)


cdef void* _alloc(size_t n) except NULL:
    cdef void* p = PyMem_Malloc(n if n > 0 else 1)
    if p == NULL:
        raise MemoryError()
    memset(p, 0, n if n > 0 else 1)
    return p


cdef int* _ints(values) except NULL:
    cdef Py_ssize_t k
    values = list(values)
    cdef int* p = <int*>_alloc(len(values) * sizeof(int))
    for k in range(len(values)):
        p[k] = values[k]
    return p


cdef Py_ssize_t* _ssizes(values) except NULL:
    cdef Py_ssize_t k
    values = list(values)
    cdef Py_ssize_t* p = <Py_ssize_t*>_alloc(len(values) * sizeof(Py_ssize_t))
    for k in range(len(values)):
        p[k] = values[k]
    return p


def rebind_view(cnp.ndarray base not None, Py_ssize_t row):
    """Test helper: a view of ``base[0]`` whose data pointer was then rebound
    to ``base[row]`` (what the loop does to its inner cells each step)."""
    cdef CyStorage s = CyStorage(1)
    view = base[0, ...]
    s[0] = view
    _rebind(&s.cells[0], <char*>cnp.PyArray_DATA(base) + row * base.strides[0])
    cached = s.cached(0)
    return view, cached
