# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The block interpreter: one C thunk for every elementwise node.

A fused ``Elemwise(Composite)`` node, and a single-op ``Elemwise`` node
alike, runs as a *program* (see :mod:`symarray.kernels_c.program`, which
builds it): a list of instructions ``(loop, dst, a, b, c)`` over typed
registers (inputs, constants, temporaries), where each loop is one C
function for one scalar op and one dtype (``_loops.h``, generated from the
scalar table).  ``_interp.h`` runs the program block by block (a few
thousand elements), so each input is read once and each output written
once, and nothing is allocated beyond the outputs and the registers' blocks
made with the thunk (1,024 elements each: ``BLOCK``).

Key decisions:

* Any strides (negative too) and broadcasting: each run coalesces the
  iteration space; a contiguous row is read in place, others are gathered.
* Outputs: a fresh C-contiguous array, last call's buffer (no-GC mode), or
  the destroyed input (``inplace_pattern``) when it can take the result as
  ``perform`` decides.  Anything else (dtypes or ranks other than the
  node's, non-ndarrays) runs the node's ``perform``.
* Threads: the kernels' pool (:mod:`._threads`).  Work of at least
  :func:`parallel_min_work` (elements times instructions) is cut into
  chunks that ``nthreads`` threads (the ``kernel_threads`` flag) take as
  they come, each thread with its own registers; smaller work runs on the
  calling thread.  Loops over at least ``NOGIL_MIN`` elements release the
  GIL.
* A run whose operands are all contiguous (or single elements) takes a flat
  path without index arithmetic (``sc_run_flat``): the per-node cost of a
  small array stays near 40 ns.
* A kernel that finds a value ``perform`` would reject (an integer to a
  negative power) stops and lets ``perform`` raise the error; such programs
  are never given an in-place output (see the program builder).
"""

cimport numpy as cnp
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int32_t

from symarray.kernels_c._fallback cimport CyFallbackThunk, cell_fits
from symarray.kernels_c._interp cimport (
    SC_BLOCK,
    sc_coalesce,
    sc_exec,
    sc_exec_free,
    sc_exec_load,
    sc_loop_list,
    sc_run_range,
)
from symarray.kernels_c._threads cimport parallel_chunks
from symarray.vm._cvm cimport CCell, cell_set, cells_overlap

cnp.import_array()

cdef void _task(void* ctx, Py_ssize_t begin, Py_ssize_t end,
                int part) noexcept nogil:
    sc_run_range(<sc_exec*>ctx, begin, end, part)


#: elements per block (each register holds one block)
BLOCK = SC_BLOCK
#: loops over at least this many elements release the GIL
NOGIL_MIN = 1 << 14

cdef enum:
    MAXD = cnp.NPY_MAXDIMS
    MAXOPS = 64  # inputs + outputs of one node

cdef cnp.npy_intp _NOGIL_MIN = NOGIL_MIN
cdef cnp.npy_intp _par_min_work = 1 << 17


def parallel_min_work(value=None):
    """The least work (elements x instructions) split over threads; a new
    ``value`` sets it (tests and benchmarks) and the old one is returned."""
    global _par_min_work
    old = _par_min_work
    if value is not None:
        if value < 1:
            raise ValueError(f"parallel_min_work must be >= 1, got {value}")
        _par_min_work = value
    return old


def loop_table():
    """Every loop: a list of ``(name, kind, tin, tout, nin)`` where kind is
    ``"same"`` (inputs and output of dtype number ``tin``), ``"pred"``
    (bool output), ``"switch"`` (a bool condition, then values) or
    ``"cast"``; a loop's number is its position."""
    return sc_loop_list()


cdef class CyCompositeThunk(CyFallbackThunk):
    """An ``Elemwise`` node run by the block interpreter (backend ``"c"``).

    Parameters
    ----------
    node
        The Apply node.
    program
        A :class:`symarray.kernels_c.program.Program`: ``code`` (int32
        ``(n, 5)``: loop number, dst, a, b, c), ``reg_types`` (dtype
        number per register), ``slot_of`` (scratch block per temporary),
        ``n_slots``, ``constants`` (one 0-d array per constant register),
        ``out_regs``, ``in_types``, ``out_types``, ``checked`` (whether a
        loop may stop for ``perform``).
    nthreads
        Most threads a run uses.
    """

    cdef sc_exec e               # the interpreter's state (see _interp.pxd)
    cdef int32_t* out_reg        # nout registers
    cdef char* scratch           # every block, one allocation
    cdef cnp.npy_intp* strides   # (nin + nout) x MAXD
    cdef char** base             # nin + nout data pointers
    cdef int* isize              # nin + nout item sizes
    cdef int* in_types           # nin dtype numbers the program reads
    cdef int* out_types          # nout dtype numbers it writes
    cdef int* inplace            # nout: the input each output overwrites, or -1
    cdef unsigned char* direct   # nout flags
    cdef int ndim                # rank of the inputs and outputs
    cdef int nthreads            # most threads a run uses
    cdef int n_instr             # instructions (the work per element)
    cdef bint checked            # a loop may flag a value perform rejects

    def __dealloc__(self):
        # every pointer starts NULL (the object's memory is zeroed)
        sc_exec_free(&self.e, self.scratch)
        PyMem_Free(self.out_reg)
        PyMem_Free(self.strides)
        PyMem_Free(self.base)
        PyMem_Free(self.isize)
        PyMem_Free(self.in_types)
        PyMem_Free(self.out_types)
        PyMem_Free(self.inplace)
        PyMem_Free(self.direct)

    def __init__(self, node, program, int nthreads=1):
        cdef int i, nin, nout, n_const
        CyFallbackThunk.__init__(self, node)
        nin, nout = self.nin, self.nout
        if nin + nout > MAXOPS:
            raise ValueError(f"CyCompositeThunk: {node} has {nin} inputs and {nout} "
                             f"outputs; at most {MAXOPS} operands")
        if nthreads < 1:
            raise ValueError(f"CyCompositeThunk: nthreads must be >= 1, got {nthreads}")
        out_regs, n_const = sc_exec_load(&self.e, &self.scratch, program, nin, nout,
                                         nthreads, "CyCompositeThunk")
        self.nthreads = nthreads
        self.n_instr = self.e.n_instr
        self.ndim = node.outputs[0].type.ndim
        self.checked = self.e.checked
        self.out_reg = <int32_t*>PyMem_Malloc(nout * sizeof(int32_t))
        self.strides = <cnp.npy_intp*>PyMem_Malloc(
            (nin + nout) * MAXD * sizeof(cnp.npy_intp))
        self.base = <char**>PyMem_Malloc((nin + nout) * sizeof(char*))
        self.isize = <int*>PyMem_Malloc((nin + nout) * sizeof(int))
        self.in_types = <int*>PyMem_Malloc(max(nin, 1) * sizeof(int))
        self.out_types = <int*>PyMem_Malloc(nout * sizeof(int))
        self.inplace = <int*>PyMem_Malloc(nout * sizeof(int))
        self.direct = <unsigned char*>PyMem_Malloc(nout)
        if (self.out_reg == NULL or self.strides == NULL or self.base == NULL
                or self.isize == NULL or self.in_types == NULL
                or self.out_types == NULL or self.inplace == NULL
                or self.direct == NULL):
            raise MemoryError()
        for i in range(nin):
            self.in_types[i] = program.in_types[i]
            self.isize[i] = _itemsize(program.in_types[i])
        pattern = dict(getattr(node.op, "inplace_pattern", ()))
        seen = set()
        for i in range(nout):
            self.out_reg[i] = out_regs[i]
            self.out_types[i] = program.out_types[i]
            self.isize[nin + i] = _itemsize(program.out_types[i])
            self.inplace[i] = pattern.get(i, -1)
            # an output may take its register's place: a temporary, the
            # first output reading it
            self.direct[i] = out_regs[i] >= nin + n_const and out_regs[i] not in seen
            seen.add(out_regs[i])
        self.e.out_reg = self.out_reg
        self.e.strides = self.strides
        self.e.base = self.base
        self.e.isize = self.isize
        self.backend = "c"

    cdef int run(self) except -1:
        cdef int nin = self.nin
        cdef int nout = self.nout
        cdef int ndim = self.ndim
        cdef int i, d, t, nthreads
        cdef CCell* c
        cdef CCell* out
        cdef cnp.npy_intp n, m, size, chunk
        cdef bint flat
        cdef cnp.npy_intp shape[MAXD]
        cdef unsigned char direct[MAXOPS]
        # 1. inputs the program can read
        for i in range(nin):
            c = self.ins[i]
            if c.typenum != self.in_types[i] or c.ndim != ndim:
                return self.fallback.run()
        # 2. the broadcast shape
        for d in range(ndim):
            n = 1
            for i in range(nin):
                m = self.ins[i].shape[d]
                if m != n:
                    if n == 1:
                        n = m
                    elif m != 1:
                        return self.fallback.run()  # perform raises the error
            shape[d] = n
        # 3. the outputs; one written over an input is never written in place
        # of its register (fresh and reused buffers overlap no input)
        for i in range(nout):
            out = self.outs[i]
            direct[i] = self.direct[i]
            if self.inplace[i] >= 0 and self._can_overwrite(
                    self.ins[self.inplace[i]], i, shape):
                if out.obj != self.ins[self.inplace[i]].obj:
                    cell_set(out, <object>self.ins[self.inplace[i]].obj)
                direct[i] = 0
            elif not (self.inplace[i] < 0 and self.keep_buffers
                      and self._reusable(out, i, shape)):
                cell_set(out, cnp.PyArray_EMPTY(ndim, shape, self.out_types[i], 0))
        size = 1
        for d in range(ndim):
            size *= shape[d]
        if size == 0:
            return 0
        # 4. the iteration space: one flat run when every operand is
        # C-contiguous with the output's size (or a single element), else
        # the n-d shape with broadcast strides, neighbours merged
        flat = True
        for i in range(nin):
            c = self.ins[i]
            self.base[i] = c.data
            if c.size == 1:
                self.strides[i * MAXD] = 0
            elif c.size == size and (c.flags & cnp.NPY_ARRAY_C_CONTIGUOUS):
                self.strides[i * MAXD] = self.isize[i]
            else:
                flat = False
        for i in range(nout):
            out = self.outs[i]
            self.base[nin + i] = out.data
            self.strides[(nin + i) * MAXD] = self.isize[nin + i]
            flat = flat and (out.flags & cnp.NPY_ARRAY_C_CONTIGUOUS) != 0
        self.e.flat = flat
        if flat:
            self.e.nd = 1
            self.e.shape[0] = size
        else:
            for i in range(nin):
                c = self.ins[i]
                for d in range(ndim):
                    self.strides[i * MAXD + d] = 0 if c.shape[d] == 1 else c.strides[d]
            for i in range(nout):
                out = self.outs[i]
                for d in range(ndim):
                    self.strides[(nin + i) * MAXD + d] = out.strides[d]
            for d in range(ndim):
                self.e.shape[d] = shape[d]
            self.e.nd = sc_coalesce(nin + nout, ndim, self.e.shape, self.strides)
        self.e.direct = direct
        # 5. run
        nthreads = 1
        if (self.nthreads > 1 and size >= 2 * SC_BLOCK
                and size * self.n_instr >= _par_min_work):
            nthreads = self.nthreads
        if self.checked:
            for t in range(self.nthreads):
                self.e.status[t] = 0
        if nthreads > 1:
            # chunks of at least 16 blocks, about 8 per thread, on multiples
            # of 64 elements (threads share no cache line of the outputs)
            chunk = max(16 * SC_BLOCK, size // (8 * nthreads))
            chunk = (chunk + 63) // 64 * 64
            with nogil:
                parallel_chunks(_task, &self.e, size, chunk, nthreads)
        elif size >= _NOGIL_MIN:
            with nogil:
                sc_run_range(&self.e, 0, size, 0)
        else:
            sc_run_range(&self.e, 0, size, 0)
        self.e.direct = NULL
        if self.checked:
            for t in range(self.nthreads):
                if self.e.status[t]:
                    return self.fallback.run()  # perform raises the error
        return 0

    cdef bint _can_overwrite(self, CCell* target, int o,
                             cnp.npy_intp* shape) noexcept:
        """Whether output ``o`` can be written over ``target`` (as
        ``perform`` decides): its dtype and shape, writeable, no zero stride,
        and no other input overlaps it except element for element."""
        cdef int i, d
        cdef CCell* c
        if target.typenum != self.out_types[o] or not (
                target.flags & cnp.NPY_ARRAY_WRITEABLE):
            return False
        for d in range(self.ndim):
            if target.shape[d] != shape[d]:
                return False
            if target.strides[d] == 0 and target.shape[d] > 1:
                return False
        for i in range(self.nin):
            c = self.ins[i]
            if c == target or c.obj == target.obj or not cells_overlap(
                    c, self.isize[i], target, self.isize[self.nin + o]):
                continue
            if c.data != target.data or self.isize[i] != self.isize[self.nin + o]:
                return False
            for d in range(self.ndim):
                if c.shape[d] != target.shape[d] or c.strides[d] != target.strides[d]:
                    return False
        return True

    cdef bint _reusable(self, CCell* out, int o, cnp.npy_intp* shape) noexcept:
        """Whether ``out`` holds last call's writeable C-contiguous buffer of
        output ``o``'s dtype and this shape, sharing no memory with an input
        (no-GC mode)."""
        cdef int i
        if not cell_fits(out, self.out_types[o], self.ndim, shape):
            return False
        for i in range(self.nin):
            if cells_overlap(self.ins[i], self.isize[i], out, self.isize[self.nin + o]):
                return False
        for i in range(o):  # another output of this call took it
            if self.outs[i].obj == out.obj:
                return False
        return True


cdef int _itemsize(int typenum) except -1:
    cdef cnp.dtype descr = cnp.PyArray_DescrFromType(typenum)
    return descr.itemsize
