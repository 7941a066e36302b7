# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The thunk that calls a generated, run-time compiled elementwise kernel.

A kernel library (see :mod:`symarray.kernels_c.codegen.source`) exports two
C functions, whose addresses :mod:`symarray.kernels_c.codegen.thunk` finds
with ctypes and hands to :class:`CyCodegenThunk`:

* ``sa_kernel_flat(begin, end, data)`` when every input is C-contiguous
  with the outputs' shape (or is statically one element) and every output
  is C-contiguous;
* ``sa_kernel_strided(nd, shape, strides, data, begin, end)`` otherwise,
  after broadcast dimensions get stride 0 and dimensions whose strides line
  up for every operand are merged.

Both run over a range of the output's elements, so large outputs are split
between the kernels' shared thread pool (:mod:`symarray.kernels_c._threads`)
without the GIL.  Inputs the kernel cannot read (another dtype, not an
aligned native ndarray, shapes that do not broadcast) and a kernel that
reports an element without a result (integer ** negative) make the call run
``perform`` instead, which gives the result or raises the user's error.
Each output (a fused node may have several) is allocated, reused (no-GC
mode) or written over the input its ``inplace_pattern`` destroys exactly as
in the precompiled interpreter (``_composite.pyx``).
"""

cimport numpy as cnp
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport uintptr_t

from symarray.kernels_c._fallback cimport CyFallbackThunk, cell_fits
from symarray.kernels_c._threads cimport parallel_for
from symarray.vm._cvm cimport CCell, cell_set, cells_overlap

cnp.import_array()

ctypedef int (*flat_fn)(cnp.npy_intp begin, cnp.npy_intp end,
                        char** data) noexcept nogil
ctypedef int (*strided_fn)(int nd, const cnp.npy_intp* shape,
                           const cnp.npy_intp* strides, char** data,
                           cnp.npy_intp begin, cnp.npy_intp end) noexcept nogil

#: outputs of at least this many elements are computed without the GIL
NOGIL_MIN = 1 << 15
#: ... and split between the pool's threads from this many elements on
PARALLEL_MIN = 1 << 16

cdef enum:
    MAXD = cnp.NPY_MAXDIMS
    MAX_PARTS = 64
    ALIGN = 64            # part boundaries fall on multiples of this

cdef cnp.npy_intp _NOGIL_MIN = NOGIL_MIN
cdef cnp.npy_intp _PARALLEL_MIN = PARALLEL_MIN


cdef struct _job:
    flat_fn flat              # the contiguous kernel (flat jobs)
    strided_fn strided        # the strided kernel (strided jobs)
    int nd                    # coalesced rank (strided jobs)
    cnp.npy_intp* shape       # nd lengths
    cnp.npy_intp* strides     # (nin + nout) x nd byte strides, outputs last
    char** data               # nin + nout pointers, outputs last
    int status[MAX_PARTS]     # what each part's kernel call returned


cdef void _flat_task(void* ctx, Py_ssize_t begin, Py_ssize_t end,
                     int part) noexcept nogil:
    cdef _job* job = <_job*>ctx
    job.status[part] = job.flat(begin, end, job.data)


cdef void _strided_task(void* ctx, Py_ssize_t begin, Py_ssize_t end,
                        int part) noexcept nogil:
    cdef _job* job = <_job*>ctx
    job.status[part] = job.strided(job.nd, job.shape, job.strides, job.data,
                                   begin, end)


cdef class CyCodegenThunk(CyFallbackThunk):
    """An ``Elemwise(Composite)`` node run by its generated kernel.

    Parameters
    ----------
    node
        The Apply node.
    library
        The loaded library (kept alive as long as the thunk).
    flat_addr, strided_addr
        Addresses of ``sa_kernel_flat`` and ``sa_kernel_strided``.
    in_typenums
        NumPy type number of each input.
    out_typenums
        NumPy type number of each output (an int: the one output's).
    scalar_inputs
        Per input: statically one element (the flat kernel reads it once).
    inplace
        Per output: the input it may overwrite, or -1 (an int: the one
        output's).
    parts
        Threads a large output is split between (1: never split).
    key
        The kernel's cache key (shown by ``repr``).
    """

    cdef flat_fn flat                # sa_kernel_flat
    cdef strided_fn strided          # sa_kernel_strided
    cdef readonly object library     # keeps the shared library loaded
    cdef readonly str key            # the cache key of the kernel
    cdef int* in_typenum             # nin dtype numbers
    cdef int* in_itemsize            # nin item sizes in bytes
    cdef unsigned char* scalar       # nin flags: statically one element
    cdef int* out_typenum            # nout dtype numbers of the outputs
    cdef int* out_itemsize           # nout item sizes
    cdef int ndim                    # rank of the inputs and the outputs
    cdef int* inplace                # nout: the input each overwrites; -1: none
    cdef readonly int parts          # threads for large outputs
    cdef cnp.npy_intp* shape         # MAXD: broadcast, then coalesced shape
    cdef cnp.npy_intp* strides       # (nin + nout) x MAXD byte strides
    cdef cnp.npy_intp* packed        # (nin + nout) x nd strides for the kernel
    cdef char** data                 # nin + nout data pointers

    def __cinit__(self, *args, **kwargs):
        self.in_typenum = NULL
        self.in_itemsize = NULL
        self.scalar = NULL
        self.out_typenum = NULL
        self.out_itemsize = NULL
        self.inplace = NULL
        self.shape = NULL
        self.strides = NULL
        self.packed = NULL
        self.data = NULL

    def __dealloc__(self):
        PyMem_Free(self.in_typenum)
        PyMem_Free(self.in_itemsize)
        PyMem_Free(self.scalar)
        PyMem_Free(self.out_typenum)
        PyMem_Free(self.out_itemsize)
        PyMem_Free(self.inplace)
        PyMem_Free(self.shape)
        PyMem_Free(self.strides)
        PyMem_Free(self.packed)
        PyMem_Free(self.data)

    def __init__(self, node, library, uintptr_t flat_addr, uintptr_t strided_addr,
                 in_typenums, out_typenums, scalar_inputs, inplace,
                 int parts, str key):
        cdef int i, nin, nout
        CyFallbackThunk.__init__(self, node)
        nin, nout = self.nin, self.nout
        if flat_addr == 0 or strided_addr == 0:
            raise ValueError("CyCodegenThunk: null kernel address")
        in_typenums = [int(t) for t in in_typenums]
        scalar_inputs = [bool(s) for s in scalar_inputs]
        if len(in_typenums) != nin or len(scalar_inputs) != nin:
            raise ValueError(f"CyCodegenThunk: {node} has {nin} inputs, got "
                             f"{len(in_typenums)} dtypes and {len(scalar_inputs)} "
                             "scalar flags")
        if isinstance(out_typenums, int):
            out_typenums = [out_typenums]
        if isinstance(inplace, int):
            inplace = [inplace]
        out_typenums = [int(t) for t in out_typenums]
        inplace = [int(t) for t in inplace]
        if nout < 1 or len(out_typenums) != nout or len(inplace) != nout:
            raise ValueError(f"CyCodegenThunk: {node} has {nout} outputs, got "
                             f"{len(out_typenums)} dtypes and {len(inplace)} "
                             "in-place targets")
        for i in inplace:
            if not -1 <= i < nin:
                raise ValueError(f"CyCodegenThunk: in-place target {i} of {node} "
                                 f"is not an input (0..{nin - 1}) or -1")
        self.flat = <flat_fn>flat_addr
        self.strided = <strided_fn>strided_addr
        self.library = library
        self.key = key
        self.ndim = node.outputs[0].type.ndim
        self.parts = max(1, min(parts, MAX_PARTS))
        self.in_typenum = <int*>PyMem_Malloc(max(nin, 1) * sizeof(int))
        self.in_itemsize = <int*>PyMem_Malloc(max(nin, 1) * sizeof(int))
        self.scalar = <unsigned char*>PyMem_Malloc(max(nin, 1))
        self.shape = <cnp.npy_intp*>PyMem_Malloc(MAXD * sizeof(cnp.npy_intp))
        self.out_typenum = <int*>PyMem_Malloc(nout * sizeof(int))
        self.out_itemsize = <int*>PyMem_Malloc(nout * sizeof(int))
        self.inplace = <int*>PyMem_Malloc(nout * sizeof(int))
        self.strides = <cnp.npy_intp*>PyMem_Malloc(
            (nin + nout) * MAXD * sizeof(cnp.npy_intp))
        self.packed = <cnp.npy_intp*>PyMem_Malloc(
            (nin + nout) * MAXD * sizeof(cnp.npy_intp))
        self.data = <char**>PyMem_Malloc((nin + nout) * sizeof(char*))
        if (self.in_typenum == NULL or self.in_itemsize == NULL
                or self.scalar == NULL or self.shape == NULL
                or self.out_typenum == NULL or self.out_itemsize == NULL
                or self.inplace == NULL
                or self.strides == NULL or self.packed == NULL
                or self.data == NULL):
            raise MemoryError()
        for i in range(nin):
            self.in_typenum[i] = in_typenums[i]
            self.in_itemsize[i] = cnp.PyArray_DescrFromType(in_typenums[i]).itemsize
            self.scalar[i] = scalar_inputs[i]
        for i in range(nout):
            self.out_typenum[i] = out_typenums[i]
            self.out_itemsize[i] = cnp.PyArray_DescrFromType(
                out_typenums[i]).itemsize
            self.inplace[i] = inplace[i]
        self.backend = "codegen"

    def __repr__(self):
        return f"<CyCodegenThunk [codegen {self.key[:12]}] {self.node}>"

    cdef int run(self) except -1:
        cdef int nin = self.nin
        cdef int nout = self.nout
        cdef int nops = nin + nout
        cdef int ndim = self.ndim
        cdef int i, d, nd, t
        cdef CCell* c
        cdef CCell* out
        cdef cnp.npy_intp n, m, size
        cdef bint flat = True
        cdef _job job
        # 1. inputs the kernel can read directly
        for i in range(nin):
            c = self.ins[i]
            if c.typenum != self.in_typenum[i] or c.ndim != ndim or (
                    self.scalar[i] and c.size != 1):  # its type said one element
                return self.fallback.run()
        # 2. the broadcast output shape
        for d in range(ndim):
            n = self.ins[0].shape[d]
            for i in range(1, nin):
                m = self.ins[i].shape[d]
                if m != n:
                    if n == 1:
                        n = m
                    elif m != 1:
                        return self.fallback.run()  # perform raises the shape error
            self.shape[d] = n
        # 3. the output buffers
        for i in range(nout):
            out = self.outs[i]
            t = self.inplace[i]
            if t >= 0 and self._can_overwrite(self.ins[t], i):
                if out.obj != self.ins[t].obj:
                    cell_set(out, <object>self.ins[t].obj)
            elif not (t < 0 and self.keep_buffers and self._reusable(out, i)):
                cell_set(out, cnp.PyArray_EMPTY(ndim, self.shape,
                                                self.out_typenum[i], 0))
        size = self.outs[0].size
        if size == 0:
            return 0
        # 4. the flat kernel when every operand is contiguous
        for i in range(nin):
            c = self.ins[i]
            self.data[i] = c.data
            if not ((self.scalar[i] and c.size == 1) or (
                    c.size == size and (c.flags & cnp.NPY_ARRAY_C_CONTIGUOUS))):
                flat = False
        for i in range(nout):
            out = self.outs[i]
            self.data[nin + i] = out.data
            flat = flat and (out.flags & cnp.NPY_ARRAY_C_CONTIGUOUS) != 0
        job.flat = self.flat
        job.strided = self.strided
        job.data = self.data
        if flat:
            return self._finish(self._launch(&job, size, True))
        # 5. else the strided kernel over the coalesced dimensions
        for i in range(nin):
            c = self.ins[i]
            for d in range(ndim):
                self.strides[i * MAXD + d] = 0 if c.shape[d] == 1 else c.strides[d]
        for i in range(nout):
            out = self.outs[i]
            for d in range(ndim):
                self.strides[(nin + i) * MAXD + d] = out.strides[d]
        nd = _coalesce(nops, ndim, self.shape, self.strides)
        if nd == 0:  # every dimension has length 1
            nd = 1
            self.shape[0] = 1
            for i in range(nops):
                self.strides[i * MAXD] = 0
        for i in range(nops):
            for d in range(nd):
                self.packed[i * nd + d] = self.strides[i * MAXD + d]
        job.nd = nd
        job.shape = self.shape
        job.strides = self.packed
        return self._finish(self._launch(&job, size, False))

    cdef int _launch(self, _job* job, cnp.npy_intp size, bint flat) noexcept:
        """Run the kernel over ``size`` elements; the OR of the parts' status."""
        cdef int parts = self.parts if size >= _PARALLEL_MIN else 1
        cdef int p
        cdef int status = 0
        for p in range(parts):
            job.status[p] = 0
        if size < _NOGIL_MIN:
            _run_parts(job, size, parts, flat)
        else:
            with nogil:
                _run_parts(job, size, parts, flat)
        for p in range(parts):
            status |= job.status[p]
        return status

    cdef int _finish(self, int status) except -1:
        if status != 0:  # an element perform refuses: let it raise
            return self.fallback.run()
        return 0

    cdef bint _can_overwrite(self, CCell* target, int o) noexcept:
        """Whether output ``o`` can be written over ``target`` (as ``perform``
        decides): its dtype and shape, writeable, no zero stride, no other
        input overlaps it except element for element, and no earlier output
        of this call took it."""
        cdef int i, d
        cdef CCell* c
        if target.typenum != self.out_typenum[o] or not (
                target.flags & cnp.NPY_ARRAY_WRITEABLE):
            return False
        for i in range(o):
            if self.outs[i].obj == target.obj:
                return False
        for d in range(self.ndim):
            if target.shape[d] != self.shape[d]:
                return False
            if target.strides[d] == 0 and target.shape[d] > 1:
                return False
        for i in range(self.nin):
            c = self.ins[i]
            if c == target or c.obj == target.obj or not cells_overlap(
                    c, self.in_itemsize[i], target, self.out_itemsize[o]):
                continue
            if c.data != target.data or self.in_itemsize[i] != self.out_itemsize[o]:
                return False
            for d in range(self.ndim):
                if c.shape[d] != target.shape[d] or c.strides[d] != target.strides[d]:
                    return False
        return True

    cdef bint _reusable(self, CCell* out, int o) noexcept:
        """Whether ``out`` holds last call's writeable C-contiguous buffer of
        output ``o``'s dtype and shape, sharing no memory with an input or an
        earlier output of this call."""
        cdef int i
        if not cell_fits(out, self.out_typenum[o], self.ndim, self.shape):
            return False
        for i in range(self.nin):
            if cells_overlap(self.ins[i], self.in_itemsize[i], out,
                             self.out_itemsize[o]):
                return False
        for i in range(o):
            if self.outs[i].obj == out.obj:
                return False
        return True


cdef void _run_parts(_job* job, cnp.npy_intp size, int parts,
                     bint flat) noexcept nogil:
    if parts <= 1:
        if flat:
            _flat_task(job, 0, size, 0)
        else:
            _strided_task(job, 0, size, 0)
    elif flat:
        parallel_for(_flat_task, job, size, ALIGN, parts)
    else:
        parallel_for(_strided_task, job, size, ALIGN, parts)


cdef int _coalesce(int nops, int ndim, cnp.npy_intp* shape,
                   cnp.npy_intp* strides) noexcept nogil:
    """Drop length-1 dimensions and merge neighbours whose strides line up
    for every operand (``strides``: nops rows of MAXD); the new rank."""
    cdef int nd = 0
    cdef int d, k
    cdef bint merge
    for d in range(ndim):
        if shape[d] == 1:
            continue
        merge = nd > 0
        k = 0
        while merge and k < nops:
            if strides[k * MAXD + nd - 1] != strides[k * MAXD + d] * shape[d]:
                merge = False
            k += 1
        if merge:
            shape[nd - 1] *= shape[d]
            for k in range(nops):
                strides[k * MAXD + nd - 1] = strides[k * MAXD + d]
        else:
            shape[nd] = shape[d]
            for k in range(nops):
                strides[k * MAXD + nd] = strides[k * MAXD + d]
            nd += 1
    return nd


