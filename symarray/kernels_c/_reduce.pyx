# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""C thunks for reductions: sum, prod, max, min, all, any, argmax, argmin.

The engine is C, in ``_reduce_core.h`` (its opening comment describes it):
an iteration space over the input(s) and an accumulator array, ordered by
strides and merged, walked in chunks by the kernels' thread pool
(:mod:`symarray.kernels_c._threads`), with pairwise summation and
an optional *prologue*: the scalar program of a fused elementwise producer
(``sum(x ** 2, axis=1)`` as one node) as a program of the elementwise block
interpreter (:mod:`symarray.kernels_c.program` builds it for both; the
typed loops are ``_loops.h``'s, generated from the scalar table and compiled
into this module too), run over blocks of 1,024 elements so no temporary of
the input's size is made.

:class:`CyReduceThunk` runs ``Sum``/``Prod``/``Max``/``Min``/``All``/
``AnyReduce`` nodes and the fused ``ReduceElemwise`` nodes;
:class:`CyArgReduceThunk` runs ``Argmax``/``Argmin``.  Each run:

1. every input must be an aligned, native-order ndarray of the node's
   dtype and rank, and the inputs must broadcast; otherwise the op's
   ``perform`` runs (it raises the errors, e.g. an empty ``max``);
2. the output: in no-GC mode last call's buffer when it fits, else a new
   C-ordered array; the accumulators are the output itself when the
   accumulator dtype is the output's (else a scratch array, converted at
   the end: a float32 sum accumulates in float64);
3. the engine runs, releasing the GIL from ``NOGIL_MIN`` elements; from
   ``THREAD_MIN`` elements it hands chunks to the kernels' pool, on up to
   the thunk's threads (the ``kernel_threads`` flag; 0: every core).  The
   chunks do not depend on the thread count, so neither do the results.

Dtypes follow the ops (``symarray.tensor.reduction``): bool, int8..int64,
uint8..uint64, float32, float64 inputs; complex inputs run ``perform``.
A prologue runs what the elementwise interpreter runs; one whose loop flags
a value ``perform`` rejects (an integer to a negative power) lets
``perform`` raise.
NaN propagates through max/min (and argmax/argmin give the first NaN) as
in NumPy.
"""

cimport numpy as cnp
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int32_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from symarray.kernels_c._fallback cimport CyFallbackThunk, cell_fits
from symarray.kernels_c._interp cimport (
    SC_BLOCK_BYTES,
    sc_instr,
    sc_load_code,
    sc_load_constants,
    sc_loop_list,
    sc_read_program,
)
from symarray.kernels_c._threads cimport parallel_chunks, sa_task
from symarray.vm._cvm cimport CCell, cell_set, cells_overlap

cnp.import_array()

cdef extern from "_reduce_core.h" nogil:
    enum:
        SR_MAXIN
        SR_MAXD
        SR_BLOCK
        SR_SUM
        SR_PROD
        SR_MAX
        SR_MIN
        SR_ALL
        SR_ANY
        SR_N_TYPES
        SR_T_b
        SR_T_i64
        SR_T_f64
    ctypedef struct sr_plan:
        int op
        int nin
        int ndim
        int atype
        cnp.npy_intp shape[SR_MAXD]
        unsigned char red[SR_MAXD]
        cnp.npy_intp str[SR_MAXIN][SR_MAXD]
        char* data[SR_MAXIN]
        int itype[SR_MAXIN]
        char* acc
        const sc_instr* code
        int n_instr
        int n_regs
        int n_slots
        const int32_t* slot_of
        char* consts
        int n_const
        int out_reg
        int etype
        int dot
        int checked
        int status
        cnp.npy_intp acc_size
    ctypedef struct sr_job:
        cnp.npy_intp len
        cnp.npy_intp chunk
    ctypedef struct sr_argplan:
        int is_max
        int itype
        int nk
        int nr
        cnp.npy_intp kshape[SR_MAXD]
        cnp.npy_intp kstr[SR_MAXD]
        cnp.npy_intp rshape[SR_MAXD]
        cnp.npy_intp rstr[SR_MAXD]
        char* data
        cnp.npy_int64* out
        cnp.npy_intp out_size
    ctypedef void (*sr_load_fn)(const char* src, cnp.npy_intp st, cnp.npy_intp n,
                                void* dst)
    ctypedef void (*sr_fill_fn)(int op, void* b, cnp.npy_intp n)
    const int sr_tsize[]
    const sr_load_fn sr_loads[SR_N_TYPES][SR_N_TYPES]
    const sr_fill_fn sr_fills[SR_N_TYPES]
    int sr_tindex(int typenum)
    int sr_has_reduce(int op, int t)
    int sr_dot_ok(const sr_plan* p, Py_ssize_t loop)
    int sr_prepare(sr_plan* p)
    int sr_execute(sr_plan* p)
    int sr_job_init(sr_job* j, sr_plan* p)
    int sr_job_finish(sr_job* j)
    void sr_task(void* ctx, Py_ssize_t begin, Py_ssize_t end, int thread)
    void sr_arg_range(const sr_argplan* p, cnp.npy_intp lo, cnp.npy_intp hi)
    void sr_arg_task(void* ctx, Py_ssize_t begin, Py_ssize_t end, int thread)

#: loops over at least this many elements release the GIL
NOGIL_MIN = 1 << 14
#: reductions over at least this many elements run on the kernels' pool
THREAD_MIN = 1 << 16
#: elements per block of a prologue or of gathered values
BLOCK = SR_BLOCK
#: most inputs of a fused prologue
MAX_INPUTS = SR_MAXIN

cdef cnp.npy_intp _NOGIL_MIN = NOGIL_MIN
cdef cnp.npy_intp _THREAD_MIN = THREAD_MIN

#: reduction name -> the engine's op number
OPS = {"sum": SR_SUM, "prod": SR_PROD, "max": SR_MAX, "min": SR_MIN,
       "all": SR_ALL, "any": SR_ANY}

cdef enum:
    MAXD = cnp.NPY_MAXDIMS


def resolve(int nthreads):
    """Threads a thunk asking for ``nthreads`` uses (0: every core)."""
    from symarray.kernels_c._threads import resolve_threads

    return int(resolve_threads(nthreads))


cdef long _helped = 0        # chunks other threads ran in the last parallel run


def helped():
    """How many chunks threads other than the caller ran in the last parallel
    reduction (0: the caller did all the work, e.g. on a busy machine)."""
    return _helped


cdef int _run_parallel(sr_plan* p, sr_job* j, int nthreads) noexcept nogil:
    """Run the plan's chunks on the kernels' pool; -1: no memory."""
    global _helped
    if sr_job_init(j, p) < 0:
        return -1
    _helped = parallel_chunks(<sa_task>sr_task, j, j.len, j.chunk, nthreads)
    return sr_job_finish(j)


def tindex(dtype):
    """The engine's type index of ``dtype``, or -1 when it has none."""
    import numpy as np

    return sr_tindex(np.dtype(dtype).num)


def has_reduce(str name, dtype):
    """Whether the engine reduces ``name`` with accumulators of ``dtype``."""
    import numpy as np

    op = OPS.get(name, -1)
    if op in (SR_MAX, SR_MIN) and np.dtype(dtype) == np.bool_:
        return True  # max/min of bools are any/all
    return bool(sr_has_reduce(op, sr_tindex(np.dtype(dtype).num)))


def loop_table():
    """The interpreter's loops compiled into this module, as
    :func:`symarray.kernels_c._composite.loop_table` lists its own: a
    program's loop numbers mean the same loops here when the lists agree."""
    return sc_loop_list()


cdef inline bint _overlap(CCell* a, CCell* b) noexcept:
    """Whether the memory spans of two cells' arrays intersect (16 bytes
    per element: at least one element of any dtype here)."""
    return cells_overlap(a, 16, b, 16)


cdef class _CyOutThunk(CyFallbackThunk):
    """Shared parts: the fallback and the output buffer."""

    cdef int otype_num          # NumPy type number of the output

    cdef int _output(self, int ndim, cnp.npy_intp* shape) except -1:
        """A C-ordered output: last call's buffer when it fits and overlaps
        no input (no-GC mode), else a new array."""
        cdef CCell* out = self.outs[0]
        cdef int i
        if self.keep_buffers and cell_fits(out, self.otype_num, ndim, shape):
            for i in range(self.nin):
                if _overlap(out, self.ins[i]):
                    break
            else:
                return 0
        cell_set(out, cnp.PyArray_EMPTY(ndim, shape, self.otype_num, 0))
        return 0


cdef class CyReduceThunk(_CyOutThunk):
    """A reduction node (optionally with a fused elementwise prologue) run by
    the C engine (backend ``"c"``).

    Parameters
    ----------
    node
        The Apply node; its inputs are the arrays read (one for a plain
        reduction, the prologue's inputs for a fused one).
    op
        The engine's op number (:data:`OPS`).
    acc_dtype
        The accumulator dtype.
    axes
        The reduced axes of the (broadcast) input.
    prologue
        None (a plain reduction of its one input), or the
        :class:`symarray.kernels_c.program.Program` of the fused scalar op
        (see :func:`symarray.kernels_c.reduce.prologue_program`), with one
        output: the values reduced.
    nthreads
        Threads for large inputs (0: every core).
    """

    cdef int op                 # engine op
    cdef int ndim               # rank of the inputs
    cdef int atype              # accumulator type (dense index)
    cdef int otype              # output type (dense index)
    cdef bint no_identity       # max/min: an empty reduction raises (perform)
    cdef int* in_t              # dense type each input must have
    cdef unsigned char* red     # per input dimension: 1 when reduced
    cdef sr_plan* plan
    cdef sr_job* job            # the chunks' bookkeeping for the pool
    cdef sc_instr* code         # the prologue's instructions
    cdef int32_t* slot_of       # its registers' blocks
    cdef char* consts           # its constants' blocks, filled
    cdef int nthreads           # threads for large inputs

    def __cinit__(self, *args, **kwargs):
        self.plan = NULL
        self.job = NULL
        self.in_t = NULL
        self.red = NULL
        self.code = NULL
        self.slot_of = NULL
        self.consts = NULL

    def __dealloc__(self):
        PyMem_Free(self.plan)
        PyMem_Free(self.job)
        PyMem_Free(self.in_t)
        PyMem_Free(self.red)
        PyMem_Free(self.code)
        PyMem_Free(self.slot_of)
        PyMem_Free(self.consts)

    def __init__(self, node, int op, acc_dtype, axes, prologue=None,
                 int nthreads=0):
        import numpy as np

        cdef int k
        CyFallbackThunk.__init__(self, node)
        if self.nout != 1 or not 1 <= self.nin <= SR_MAXIN:
            raise ValueError(f"CyReduceThunk: {node} must have 1 to {SR_MAXIN} "
                             "inputs and one output")
        out_dtype = np.dtype(node.outputs[0].type.dtype)
        self.otype_num = out_dtype.num
        self.otype = sr_tindex(out_dtype.num)
        self.atype = sr_tindex(np.dtype(acc_dtype).num)
        self.ndim = node.inputs[0].type.ndim
        self.no_identity = op in (SR_MAX, SR_MIN)
        if self.atype == SR_T_b and op in (SR_MAX, SR_MIN):
            op = SR_ANY if op == SR_MAX else SR_ALL
        if self.otype < 0 or not sr_has_reduce(op, self.atype):
            raise ValueError(f"CyReduceThunk: no loops for op {op} accumulating in "
                             f"{acc_dtype} into {out_dtype}")
        self.op = op
        self.plan = <sr_plan*>PyMem_Malloc(sizeof(sr_plan))
        self.job = <sr_job*>PyMem_Malloc(sizeof(sr_job))
        self.in_t = <int*>PyMem_Malloc(self.nin * sizeof(int))
        self.red = <unsigned char*>PyMem_Malloc(max(self.ndim, 1))
        if (self.plan == NULL or self.job == NULL or self.in_t == NULL
                or self.red == NULL):
            raise MemoryError()
        memset(self.plan, 0, sizeof(sr_plan))
        memset(self.red, 0, max(self.ndim, 1))
        for k, v in enumerate(node.inputs):
            if v.type.ndim != self.ndim:
                raise ValueError(f"CyReduceThunk: the inputs of {node} differ in rank")
            self.in_t[k] = sr_tindex(np.dtype(v.type.dtype).num)
            if self.in_t[k] < 0:
                raise ValueError(f"CyReduceThunk: no loops for input dtype "
                                 f"{v.type.dtype}")
        for k in axes:
            self.red[k] = 1
        self.plan.op = op
        self.plan.nin = self.nin
        self.plan.atype = self.atype
        self.plan.n_regs = self.nin     # a plain reduction: out_reg 0, its input
        self.plan.etype = self.in_t[0]
        if prologue is not None:
            self._set_prologue(prologue)
        self.nthreads = resolve(nthreads)
        self.backend = "c"

    def _set_prologue(self, program):
        """Point the plan at ``program``'s instructions and blocks."""
        import numpy as np

        cdef int k, nin = self.nin
        code, reg_types, slot_of, out_regs, n_slots = sc_read_program(
            program, nin, "CyReduceThunk")
        n_regs = len(reg_types)
        n_const = len(program.constants)
        if [int(t) for t in program.in_types] != [
                np.dtype(v.type.dtype).num for v in self.node.inputs]:
            raise ValueError(f"CyReduceThunk: the prologue reads "
                             f"{program.in_types}, not the dtypes of {self.node}")
        if len(out_regs) != 1 or sr_tindex(reg_types[out_regs[0]]) < 0:
            raise ValueError(f"CyReduceThunk: a prologue has one output register "
                             f"of a reduction dtype, got out_regs {out_regs}")
        self.code = <sc_instr*>PyMem_Malloc(max(code.shape[0], 1) * sizeof(sc_instr))
        self.slot_of = <int32_t*>PyMem_Malloc(n_regs * sizeof(int32_t))
        self.consts = <char*>PyMem_Malloc(max(n_const, 1) * SC_BLOCK_BYTES)
        if self.code == NULL or self.slot_of == NULL or self.consts == NULL:
            raise MemoryError()
        sc_load_code(self.code, code)
        for k in range(n_regs):
            self.slot_of[k] = slot_of[k]
        sc_load_constants(self.consts, program, reg_types, nin)
        self.plan.code = self.code
        self.plan.n_instr = <int>code.shape[0]
        self.plan.n_regs = n_regs
        self.plan.n_slots = n_slots
        self.plan.slot_of = self.slot_of
        self.plan.consts = self.consts
        self.plan.n_const = n_const
        self.plan.out_reg = out_regs[0]
        self.plan.etype = sr_tindex(reg_types[out_regs[0]])
        self.plan.checked = bool(program.checked)
        if code.shape[0]:
            self.plan.dot = sr_dot_ok(self.plan, code[code.shape[0] - 1, 0])

    @property
    def folds_dot(self):
        """Whether a sum folds its prologue's last product as a dot of the
        factors (``sum(x * y)``, ``sum(x ** 2)``: no block of products)."""
        return bool(self.plan.dot)

    cdef int run(self) except -1:
        cdef int nin = self.nin, ndim = self.ndim
        cdef int k, d, nd_out = 0, rc = 0
        cdef CCell* c
        cdef CCell* out
        cdef sr_plan* p = self.plan
        cdef cnp.npy_intp n, m, total = 1
        cdef cnp.npy_intp shape[MAXD]
        cdef cnp.npy_intp out_shape[MAXD]
        cdef char* acc
        cdef int asz = sr_tsize[self.atype]
        # 1. inputs the engine reads directly, broadcasting
        for k in range(nin):
            c = self.ins[k]
            if c.typenum < 0 or c.ndim != ndim or sr_tindex(c.typenum) != self.in_t[k]:
                return self.fallback.run()
        for d in range(ndim):
            n = self.ins[0].shape[d]
            for k in range(1, nin):
                m = self.ins[k].shape[d]
                if m != n:
                    if n == 1:
                        n = m
                    elif m != 1:
                        return self.fallback.run()  # perform raises
            shape[d] = n
            total *= n
            if self.red[d]:
                if n == 0 and self.no_identity:
                    return self.fallback.run()  # perform raises
            else:
                out_shape[nd_out] = n
                nd_out += 1
        # 2. the output and the accumulators
        self._output(nd_out, out_shape)
        out = self.outs[0]
        if out.size == 0:
            return 0
        if self.atype == self.otype:
            acc = out.data
        else:
            acc = <char*>malloc(out.size * asz)
            if acc == NULL:
                raise MemoryError()
        sr_fills[self.atype](self.op, acc, out.size)
        # 3. the plan
        p.ndim = ndim
        p.acc = acc
        for d in range(ndim):
            p.shape[d] = shape[d]
            p.red[d] = self.red[d]
        for k in range(nin):
            c = self.ins[k]
            p.data[k] = c.data
            p.itype[k] = self.in_t[k]
            for d in range(ndim):
                p.str[k][d] = 0 if c.shape[d] == 1 else c.strides[d]
        p.status = 0
        if sr_prepare(p):
            if total >= _THREAD_MIN:
                with nogil:
                    rc = _run_parallel(p, self.job, self.nthreads)
            elif total >= _NOGIL_MIN:
                with nogil:
                    rc = sr_execute(p)
            else:
                rc = sr_execute(p)
        if acc != out.data:
            sr_loads[self.otype][self.atype](acc, asz, out.size, out.data)
            free(acc)
        if rc < 0:
            raise MemoryError("reduction: no memory for the thread scratch blocks")
        if p.status:
            return self.fallback.run()  # perform raises the error a loop flagged
        return 0


cdef class CyArgReduceThunk(_CyOutThunk):
    """``Argmax``/``Argmin`` run by the C engine (backend ``"c"``): the index
    of the first extreme (the first NaN, if any) of each reduced block, the
    reduced axes flattened in C order."""

    cdef bint is_max
    cdef int ndim
    cdef int in_t
    cdef int nthreads           # threads for large inputs
    cdef unsigned char red[MAXD]

    def __init__(self, node, bint is_max, axes, int nthreads=0):
        import numpy as np

        cdef int k
        CyFallbackThunk.__init__(self, node)
        self.is_max = is_max
        self.ndim = node.inputs[0].type.ndim
        self.in_t = sr_tindex(np.dtype(node.inputs[0].type.dtype).num)
        if self.in_t < 0:
            raise ValueError(f"CyArgReduceThunk: no loops for {node.inputs[0].type}")
        self.otype_num = np.dtype("int64").num
        for k in range(MAXD):
            self.red[k] = 0
        for k in axes:
            self.red[k] = 1
        self.nthreads = resolve(nthreads)
        self.backend = "c"

    cdef int run(self) except -1:
        cdef CCell* c = self.ins[0]
        cdef CCell* out
        cdef sr_argplan p
        cdef int d, nd_out = 0
        cdef cnp.npy_intp block = 1, total = 1
        cdef cnp.npy_intp out_shape[MAXD]
        if c.typenum < 0 or c.ndim != self.ndim or sr_tindex(c.typenum) != self.in_t:
            return self.fallback.run()
        p.nk = 0
        p.nr = 0
        for d in range(self.ndim):
            total *= c.shape[d]
            if self.red[d]:
                block *= c.shape[d]
                if c.shape[d] == 1:
                    continue
                if p.nr > 0 and p.rstr[p.nr - 1] == c.strides[d] * c.shape[d]:
                    p.rshape[p.nr - 1] *= c.shape[d]
                    p.rstr[p.nr - 1] = c.strides[d]
                else:
                    p.rshape[p.nr] = c.shape[d]
                    p.rstr[p.nr] = c.strides[d]
                    p.nr += 1
            else:
                out_shape[nd_out] = c.shape[d]
                nd_out += 1
                if c.shape[d] != 1:
                    p.kshape[p.nk] = c.shape[d]
                    p.kstr[p.nk] = c.strides[d]
                    p.nk += 1
        if block == 0:
            return self.fallback.run()  # perform raises for an empty block
        self._output(nd_out, out_shape)
        out = self.outs[0]
        if out.size == 0:
            return 0
        if p.nr == 0:
            p.rshape[0] = 1
            p.rstr[0] = 0
            p.nr = 1
        p.is_max = self.is_max
        p.itype = self.in_t
        p.data = c.data
        p.out = <cnp.npy_int64*>out.data
        p.out_size = out.size
        if total >= _THREAD_MIN:  # outputs in chunks of ~32k elements of work
            with nogil:
                parallel_chunks(<sa_task>sr_arg_task, &p, p.out_size,
                                max(1, (1 << 15) // max(block, 1)), self.nthreads)
        elif total >= _NOGIL_MIN:
            with nogil:
                sr_arg_range(&p, 0, p.out_size)
        else:
            sr_arg_range(&p, 0, p.out_size)
        return 0
