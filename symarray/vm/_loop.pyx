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

The buffers of step 2 are kept for the next call and reused when nothing
else holds them or a view of them (no returned trace is alive: only this
thunk's own reference and stale values in cells remain, the last call's
traces in no-GC mode) and their shape and dtype fit.  A fresh buffer of a
few hundred KiB costs a page fault per 4 KiB page on its first write (and
an munmap when freed), which is most of a short loop's bookkeeping
otherwise.  In no-GC mode the cells keep the last traces alive anyway, so
keeping their buffers costs no memory; in GC mode a thunk keeps at most
:data:`BUFFER_CACHE_BYTES` (:func:`set_buffer_cache_bytes`; 0 turns reuse
off in both modes).

When a step's output does not fit its row (a shape or dtype that changed
between steps), the call is restarted with ``perform`` (the inputs are
never written, so this is safe); ``fallbacks`` counts such calls.

The C helpers that hold no loop state (rebinding a view to a row, copying
into a row, reading the until and n_steps cells, C arrays) are in
:mod:`symarray.vm._loop_rows`.

Profiling (:meth:`CyLoopThunk.profile_inner`, called by
:mod:`symarray.profiling`): the inner VM becomes its profiled twin and the
thunk gets a :class:`~symarray.vm._loop_profile.CyLoopProfile`, which
counts each step as one run of the twin's recorder and times the parts of
each call (:data:`LOOP_PARTS`).  Unprofiled, the loop takes no clock
reading.
"""

cimport numpy as cnp
from cpython.mem cimport PyMem_Free
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from libc.stdint cimport int64_t

from symarray.vm._cvm cimport (
    CCell,
    CyPyThunk,
    CyStorage,
    CyThunk,
    CyVM,
    cell_set,
)
from symarray.vm._cvm_profile cimport CyProfiledVM
from symarray.vm._loop_profile cimport CyLoopProfile
from symarray.vm._loop_rows cimport (
    MAXD,
    PyArrayObject_fields,
    alloc_zeroed,
    cell_truth,
    copy_contig,
    int_array,
    last_rows,
    read_n_steps,
    rebind,
    ssize_array,
    stale_refs,
)

import numpy as np

from symarray.vm._loop_profile import LOOP_PARTS  # noqa: F401 (re-exported)

cnp.import_array()

cdef extern from "Python.h":
    # the reference count of a borrowed pointer (no temporary reference)
    Py_ssize_t _refcnt "Py_REFCNT"(PyObject* o)

#: default of the most bytes of buffers a loop thunk of a GC-mode program
#: keeps between calls for reuse (no-GC mode: no limit, see the docstring)
BUFFER_CACHE_BYTES = 4 << 20
cdef Py_ssize_t _CACHE_BYTES = BUFFER_CACHE_BYTES


def set_buffer_cache_bytes(Py_ssize_t nbytes):
    """Set the most bytes of buffers each loop thunk of a GC-mode program
    keeps between calls for reuse (0: no reuse in any mode, and buffers kept
    already are not reused); return the previous value."""
    global _CACHE_BYTES
    if nbytes < 0:
        raise ValueError(f"set_buffer_cache_bytes: nbytes must be >= 0, got {nbytes}")
    old = _CACHE_BYTES
    _CACHE_BYTES = nbytes
    return old

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
    # per buffer slot (states, shared, nit_sots: the order of _buffers): the
    # last call's buffer, an owned reference kept for reuse (NULL: none)
    cdef PyObject** cache
    cdef Py_ssize_t n_cache
    # buffers reused / allocated, over all calls
    cdef readonly Py_ssize_t buffers_reused
    cdef readonly Py_ssize_t buffers_allocated
    # inner thunks that run perform (0: the loop creates no Python objects)
    cdef readonly int n_py_thunks
    # steps run by the last call
    cdef readonly Py_ssize_t last_n_run
    # calls that ran perform instead of the C loop
    cdef readonly Py_ssize_t fallbacks
    # PROFILING: the part timer (None: not profiled, no clock readings)
    cdef CyLoopProfile prof

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
        self.cache = NULL
        self.n_cache = 0

    def __dealloc__(self):
        cdef Py_ssize_t k
        if self.cache != NULL:
            for k in range(self.n_cache):
                Py_XDECREF(self.cache[k])
            PyMem_Free(self.cache)
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
        self.in_kind = int_array(layout.in_kind)
        self.in_idx = int_array(layout.in_index)
        self.in_off = ssize_array(layout.in_offset)
        self.in_cell = <CCell**>alloc_zeroed(self.n_in * sizeof(CCell*))
        self.in_view = <PyObject**>alloc_zeroed(self.n_in * sizeof(PyObject*))
        self.out_kind = int_array(layout.out_kind)
        self.out_idx = int_array(layout.out_index)
        self.out_direct = <unsigned char*>alloc_zeroed(self.n_out)
        self.out_cell = <CCell**>alloc_zeroed(self.n_out * sizeof(CCell*))
        self.out_view = <PyObject**>alloc_zeroed(self.n_out * sizeof(PyObject*))
        self.out_rowshape = <cnp.npy_intp**>alloc_zeroed(self.n_out * sizeof(void*))
        self.out_typenum = int_array(layout.out_typenum)
        self.out_ndim = int_array(layout.out_ndim)
        cells = self.inner.cells
        for j in range(self.n_in):
            self.in_cell[j] = &cells[<Py_ssize_t>program.input_cells[j]]
            self.in_view[j] = NULL
        for j in range(self.n_out):
            self.out_cell[j] = &cells[<Py_ssize_t>program.output_cells[j]]
            self.out_direct[j] = bool(layout.out_direct[j])
            self.out_view[j] = NULL
        self.seq_span = ssize_array(layout.seq_span)
        self.seq_typenum = int_array(layout.seq_typenum)
        self.seq_ndim = int_array(layout.seq_ndim)
        self.state_lag = ssize_array(layout.state_lag)
        self.state_typenum = int_array(layout.state_typenum)
        self.state_ndim = int_array(layout.state_ndim)
        self.shared_typenum = int_array(layout.shared_typenum)
        self.shared_ndim = int_array(layout.shared_ndim)
        keep = tuple(getattr(layout, "keep_last", ()) or (0,) * (self.n_states
                                                                 + self.n_nit))
        self.state_keep = ssize_array(keep[:self.n_states])
        self.nit_keep = ssize_array(keep[self.n_states:])
        self.state_rows = ssize_array([0] * self.n_states)
        self.nit_rows = ssize_array([0] * self.n_nit)
        self.seq_data = <char**>alloc_zeroed(self.n_seqs * sizeof(char*))
        self.seq_stride = <Py_ssize_t*>alloc_zeroed(self.n_seqs * sizeof(Py_ssize_t))
        self.state_data = <char**>alloc_zeroed(self.n_states * sizeof(char*))
        self.state_stride = <Py_ssize_t*>alloc_zeroed(self.n_states * sizeof(Py_ssize_t))
        self.nit_data = <char**>alloc_zeroed(self.n_nit * sizeof(char*))
        self.nit_stride = <Py_ssize_t*>alloc_zeroed(self.n_nit * sizeof(Py_ssize_t))
        self.shared_data = <char**>alloc_zeroed(self.n_shared * sizeof(char*))
        self.shared_stride = <Py_ssize_t*>alloc_zeroed(self.n_shared * sizeof(Py_ssize_t))
        self.n_cache = self.n_states + self.n_shared + self.n_nit
        self.cache = <PyObject**>alloc_zeroed(self.n_cache * sizeof(PyObject*))
        # perform thunks of any label (py, numpy): each is a Python call
        self.n_py_thunks = sum(1 for t in program.thunks
                               if isinstance(t, CyPyThunk)
                               or getattr(t, "backend", "py") in ("py", "numpy"))

    def bind(self, CyStorage storage not None, in_cells, out_cells,
             bint keep_buffers=False):
        CyThunk.bind(self, storage, in_cells, out_cells, keep_buffers)
        self.fallback.bind(storage, in_cells, out_cells, keep_buffers)

    @property
    def inner_program(self):
        """The inner Program (one step)."""
        return self.vm.program

    # -- the profiler's hooks (symarray.profiling.attach.profile_inner_programs) --
    def profile_inner(self, make_vm):
        """Run the steps on ``make_vm(self.vm)`` from now on: the profiled twin
        of the inner VM (same program and cells), which records per inner node
        calls and time, one run per step; return ``[twin]``.  From then on the
        thunk also times the parts of each call (:meth:`profile_parts`)."""
        twin = make_vm(self.vm)
        if not isinstance(twin, CyVM) or (<CyVM>twin).storage is not self.inner:
            raise ValueError("profile_inner: make_vm must return a CyVM over the "
                             "inner program's cells")
        self.vm = <CyVM>twin
        if isinstance(twin, CyProfiledVM):
            recorder = (<CyProfiledVM>twin).profile
            if self.prof is None:
                self.prof = CyLoopProfile(recorder)
            else:  # keep the parts timed so far
                self.prof.recorder = recorder
        return [twin]

    def profile_parts(self):
        """Where the time of this thunk's calls went since profiling started:
        one ``(name, calls, ticks)`` per part of :data:`LOOP_PARTS`, ticks
        of the profiling clock (``symarray.vm._cvm_profile.ns_per_tick`` converts);
        empty when the thunk is not profiled.  ``calls`` counts calls, but
        steps for the inner program."""
        return [] if self.prof is None else self.prof.parts()

    def reset_profile_parts(self):
        """Forget the part timings recorded so far."""
        if self.prof is not None:
            self.prof.reset()

    cdef int run(self) except -1:
        cdef int r
        cdef CyLoopProfile prof = self.prof
        cdef int64_t end = 0
        if prof is not None:
            prof.begin_call()
        try:
            r = self._loop()
        finally:
            self._end_call()
            if prof is not None:
                end = prof.end_call()
        if r == LOOP_DECLINE:
            self.fallbacks += 1
            try:
                self.fallback.run()
            finally:
                if prof is not None:
                    prof.fallback_done(end)
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
        read_n_steps(self.ins[0], &n_steps)
        if n_steps <= 0:
            return LOOP_DECLINE  # perform: zero steps (nit_sot shapes) or errors
        if self._setup(n_steps) == LOOP_DECLINE:
            return LOOP_DECLINE
        if self.as_while:
            cond = self.out_cell[self.n_out - 1]
        n_run = n_steps
        self.vm.pc = -1  # no inner node failed (dispatch leaves -1 at HALT)
        if self.prof is not None:
            self.prof.setup_done()
        try:
            for t in range(n_steps):
                self._point(t)
                if self.prof is None:
                    self.vm.dispatch()
                else:
                    self.prof.step(self.vm)
                r = self._collect(t, n_steps)
                if r != LOOP_DONE:
                    return r
                if cond != NULL and cell_truth(cond):
                    n_run = t + 1
                    break
        except BaseException as err:
            self.vm._failed(err)  # the inner node's note (when one failed)
            raise
        self.last_n_run = n_run
        if self.prof is not None:
            self.prof.steps_done()
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
            buf = self._buffer(i, c.ndim, dims, c.typenum)
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
            buf = self._buffer(self.n_states + i, c.ndim + 1, dims, c.typenum)
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

    cdef bint _only_ours(self, PyObject* buf) except -1:
        """Whether nothing refers to ``buf`` but the cache and stale values in
        the cells of the outer and inner programs (``buf`` itself, or views
        of it that only cells hold: last call's traces and views of them, in
        no-GC mode): then writing into it changes no live value."""
        cdef dict views = {}  # address of a view of buf -> cells holding it
        cdef Py_ssize_t direct = stale_refs(self.storage, buf, views)
        if self.inner is not self.storage:
            direct += stale_refs(self.inner, buf, views)
        for address, n in views.items():
            if _refcnt(<PyObject*><Py_ssize_t>address) != n:
                return False  # a live reference to a view
        return _refcnt(buf) == 1 + direct + len(views)

    cdef object _buffer(self, Py_ssize_t slot, int nd, cnp.npy_intp* dims,
                        int typenum):
        """A C-contiguous ``dims`` array of ``typenum`` for buffer ``slot``:
        the last call's when it fits and only this thunk refers to it (see
        the module docstring), else a new one, kept for the next call."""
        cdef PyObject* old = self.cache[slot]
        cdef cnp.ndarray arr
        cdef int d
        cdef bint fits
        if old != NULL and _CACHE_BYTES > 0 and self._only_ours(old):
            arr = <cnp.ndarray>old
            fits = (cnp.PyArray_NDIM(arr) == nd and cnp.PyArray_TYPE(arr) == typenum
                    and cnp.PyArray_ISCARRAY(arr))
            if fits:
                for d in range(nd):
                    if cnp.PyArray_DIMS(arr)[d] != dims[d]:
                        fits = False
                        break
            if fits:
                self.buffers_reused += 1
                return arr
        self.cache[slot] = NULL
        Py_XDECREF(old)
        arr = cnp.PyArray_EMPTY(nd, dims, typenum, 0)
        self.buffers_allocated += 1
        if _CACHE_BYTES > 0 and (self.keep_buffers or cnp.PyArray_NBYTES(arr)
                                 + self._cached_bytes() <= _CACHE_BYTES):
            Py_INCREF(arr)
            self.cache[slot] = <PyObject*>arr
        return arr

    cdef Py_ssize_t _cached_bytes(self) noexcept:
        cdef Py_ssize_t k, total = 0
        for k in range(self.n_cache):
            if self.cache[k] != NULL:
                total += cnp.PyArray_NBYTES(<cnp.ndarray>self.cache[k])
        return total

    def clear_buffer_cache(self):
        """Drop the buffers kept for reuse (they are freed when nothing else
        holds them)."""
        cdef Py_ssize_t k
        cdef PyObject* old
        for k in range(self.n_cache):
            old = self.cache[k]
            self.cache[k] = NULL
            Py_XDECREF(old)

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
            rebind(c, ptr)
        for j in range(self.n_out):
            if self.out_view[j] == NULL:
                continue
            c = self.out_cell[j]
            if c.obj != self.out_view[j]:
                cell_set(c, <object>self.out_view[j])
            rebind(c, self._target(j, t))
        self._refresh_cells()
        return 0

    cdef void _refresh_cells(self) noexcept:
        """Re-read every inner cell's cached data pointer from its array.

        ``rebind`` moves a view in place, so any other cell holding the same
        view object (the output of a node that passes its input through, such
        as ``SumToShape`` or ``IfElse``, kept from the last step because the
        thunk skips ``cell_set`` for an unchanged object) would otherwise keep
        the last step's row in its cache and its readers would read that row.
        """
        cdef CCell* cells = self.inner.cells
        cdef Py_ssize_t k
        for k in range(self.inner.n):
            if cells[k].typenum >= 0:
                cells[k].data = (<PyArrayObject_fields*>cells[k].obj).data

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
            copy_contig(dst, c, cnp.PyArray_ITEMSIZE(<cnp.ndarray>c.obj))
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
        buf = self._buffer(self.n_states + self.n_shared + i, c.ndim + 1, dims,
                           c.typenum)
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
                cell_set(self.outs[k], last_rows(buffers[i], lag, n_run,
                                                  self.state_keep[i]))
            else:
                cell_set(self.outs[k], buffers[i][lag:lag + n_run])
            k += 1
        for i in range(self.n_nit):
            buf = buffers[self.n_states + self.n_shared + i]
            if self.nit_keep[i] > 0:
                cell_set(self.outs[k], last_rows(buf, 0, n_run, self.nit_keep[i]))
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
