# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""C thunks of ``Softmax`` and ``LogSoftmax`` (backend ``"c"``).

The work is C, in ``_nnet_core.h`` (its opening comment describes it): per
slice along the op's axis, the maximum, the sum of ``exp(x - max)`` in
double, then the normalized values, with NumPy's results for NaN and
infinities.  :class:`CyNnetThunk` runs one node:

1. the input must be an aligned, native-order ndarray of the node's dtype
   (float32 or float64) and rank; anything else runs ``perform``;
2. the output: in no-GC mode last call's buffer when it has the shape and
   dtype, is contiguous and writeable and does not overlap the input, else
   a new array in the input's memory order (``perform``'s layout); any
   strides of the input (negative, non-contiguous, broadcast) are read;
3. inputs of at least ``NOGIL_MIN`` elements release the GIL, from
   ``THREAD_MIN`` elements the rows go to the kernels' pool (chunks of
   rows, each row on one thread, so results do not depend on the
   ``kernel_threads`` flag).
"""

cimport numpy as cnp
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.string cimport memset

from symarray.kernels_c._fallback cimport CyFallbackThunk
from symarray.kernels_c._threads cimport parallel_chunks, sa_task
from symarray.vm._cvm cimport CCell, cell_set, cells_overlap

cnp.import_array()

cdef extern from "numpy/arrayobject.h":
    object PyArray_NewLikeArray(cnp.ndarray prototype, cnp.NPY_ORDER order,
                                cnp.PyArray_Descr* descr, int subok)

cdef extern from "_nnet_core.h" nogil:
    enum:
        NN_MAXD
        NN_ALIGN
    ctypedef struct nn_plan:
        int log
        int f32
        cnp.npy_intp isz
        cnp.npy_intp n
        int nd
        cnp.npy_intp rows
        int path
        cnp.npy_intp group
        cnp.npy_intp part_bytes
        const char* x
        char* out
        char* scratch
    void nn_prepare(nn_plan* p, int ndim, const cnp.npy_intp* shape,
                    const cnp.npy_intp* xstr, const cnp.npy_intp* ostr, int axis)
    void nn_rows(const nn_plan* p, cnp.npy_intp begin, cnp.npy_intp end, int part)
    void nn_task(void* ctx, Py_ssize_t begin, Py_ssize_t end, int part)

#: inputs of at least this many elements release the GIL
NOGIL_MIN = 1 << 14
#: inputs of at least this many elements run on the kernels' pool
THREAD_MIN = 1 << 15
#: elements of work per chunk handed to a thread
CHUNK = 1 << 14

cdef cnp.npy_intp _NOGIL_MIN = NOGIL_MIN
cdef cnp.npy_intp _THREAD_MIN = THREAD_MIN
cdef cnp.npy_intp _CHUNK = CHUNK


def resolve(int nthreads):
    """Threads a thunk asking for ``nthreads`` uses (0: every core)."""
    from symarray.kernels_c._threads import resolve_threads

    return int(resolve_threads(nthreads))


cdef class CyNnetThunk(CyFallbackThunk):
    """A ``Softmax`` or ``LogSoftmax`` node run in C (backend ``"c"``).

    Parameters
    ----------
    node
        The Apply node: one float32 or float64 input of rank >= 1.
    log
        True for ``LogSoftmax``, False for ``Softmax``.
    nthreads
        Threads for large inputs (0: every core).
    """

    cdef int axis               # normalized axis, 0 <= axis < ndim
    cdef int ndim               # rank of the input
    cdef int typenum            # NumPy type number of input and output
    cdef cnp.npy_intp isz       # itemsize
    cdef readonly int nthreads  # threads for large inputs
    cdef nn_plan* plan
    cdef char* scratch_mem      # the scratch allocation
    cdef char* scratch          # scratch_mem aligned to NN_ALIGN: one block per part
    cdef cnp.npy_intp scratch_bytes

    def __cinit__(self, *args, **kwargs):
        self.plan = NULL
        self.scratch_mem = NULL
        self.scratch = NULL
        self.scratch_bytes = 0

    def __dealloc__(self):
        PyMem_Free(self.plan)
        PyMem_Free(self.scratch_mem)

    def __init__(self, node, bint log, int nthreads=0):
        import numpy as np

        CyFallbackThunk.__init__(self, node)
        if self.nin != 1 or self.nout != 1:
            raise ValueError(f"CyNnetThunk: {node} must have one input and one output")
        dt = np.dtype(node.inputs[0].type.dtype)
        if dt not in (np.float32, np.float64) or node.outputs[0].type.dtype != dt:
            raise ValueError(f"CyNnetThunk: needs a float32 or float64 input and "
                             f"output of the same dtype, got {node.inputs[0].type} "
                             f"-> {node.outputs[0].type}")
        self.ndim = node.inputs[0].type.ndim
        if not 1 <= self.ndim <= NN_MAXD:
            raise ValueError(f"CyNnetThunk: rank must be 1..{NN_MAXD}, got "
                             f"{self.ndim} for {node}")
        self.axis = node.op.axis % self.ndim
        self.typenum = dt.num
        self.isz = dt.itemsize
        self.plan = <nn_plan*>PyMem_Malloc(sizeof(nn_plan))
        if self.plan == NULL:
            raise MemoryError()
        memset(self.plan, 0, sizeof(nn_plan))
        self.plan.log = log
        self.plan.f32 = dt == np.float32
        self.plan.isz = self.isz
        self.nthreads = resolve(nthreads)
        self.backend = "c"

    cdef int _output(self, CCell* x) except -1:
        """Last call's output when it fits (no-GC mode), else a new array in
        the input's memory order."""
        cdef CCell* out = self.outs[0]
        cdef int d
        cdef int dense = cnp.NPY_ARRAY_C_CONTIGUOUS | cnp.NPY_ARRAY_F_CONTIGUOUS
        if (self.keep_buffers and out.typenum == self.typenum
                and out.ndim == x.ndim and (out.flags & cnp.NPY_ARRAY_WRITEABLE)
                and (out.flags & dense)
                and not cells_overlap(out, self.isz, x, self.isz)):
            for d in range(x.ndim):
                if out.shape[d] != x.shape[d]:
                    break
            else:
                return 0
        cell_set(out, PyArray_NewLikeArray(<cnp.ndarray>x.obj, cnp.NPY_KEEPORDER,
                                           NULL, 0))
        return 0

    cdef int _scratch(self, cnp.npy_intp nbytes) except -1:
        """Grow the scratch blocks to ``nbytes`` (from an NN_ALIGN boundary)."""
        cdef char* p
        if nbytes > self.scratch_bytes:
            PyMem_Free(self.scratch_mem)
            self.scratch_mem = NULL
            self.scratch = NULL
            self.scratch_bytes = 0
            p = <char*>PyMem_Malloc(nbytes + NN_ALIGN)
            if p == NULL:
                raise MemoryError(f"{self.node.op}: no memory for {nbytes} bytes "
                                  "of scratch blocks")
            self.scratch_mem = p
            self.scratch = p + (NN_ALIGN - <size_t>p % NN_ALIGN) % NN_ALIGN
            self.scratch_bytes = nbytes
        return 0

    cdef int run(self) except -1:
        cdef CCell* x = self.ins[0]
        cdef CCell* out
        cdef nn_plan* p = self.plan
        cdef int threads = 1
        cdef cnp.npy_intp chunk
        if x.typenum != self.typenum or x.ndim != self.ndim:
            return self.fallback.run()
        self._output(x)
        out = self.outs[0]
        if x.size == 0:
            return 0
        nn_prepare(p, self.ndim, x.shape, x.strides, out.strides, self.axis)
        p.x = x.data
        p.out = out.data
        if x.size >= _THREAD_MIN and p.rows > 1:
            threads = self.nthreads
        self._scratch(threads * p.part_bytes)
        p.scratch = self.scratch
        if threads > 1:  # whole blocks: the same blocks for any thread count
            chunk = max(1, _CHUNK // (p.n * p.group)) * p.group
            with nogil:
                parallel_chunks(<sa_task>nn_task, p, p.rows, chunk, threads)
        elif x.size >= _NOGIL_MIN:
            with nogil:
                nn_rows(p, 0, p.rows, 0)
        else:
            nn_rows(p, 0, p.rows, 0)
        return 0
