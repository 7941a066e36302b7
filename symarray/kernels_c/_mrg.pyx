# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The C kernel of MRG31k3p uniform draws (:class:`CyMRGThunk`).

Runs an ``MRGUniform`` node (:mod:`symarray.tensor.random.mrg_op`): from an
``(n_streams, 6)`` int32 state it writes ``prod(size)`` draws, element
``i`` being the ``i // n_streams``-th number of stream ``i % n_streams``,
and the state after them.  The numbers are those of the op's ``perform``
bit for bit (the same integer recurrence; the same float scaling).

How it runs: streams are taken in blocks of ``BLOCK``; a block's six state
words live in local arrays (one array per word, so the compiler may
vectorise the step over the block) and every round writes ``BLOCK``
consecutive draws.  Blocks are independent, so large calls split them
over the kernel thread pool (``kernel_threads``); each draw depends only
on its stream, so results never depend on the thread count.  The
arithmetic avoids division: ``2**31 = 1 (mod M1)`` and ``2**31 = 21069
(mod M2)`` fold the high bits back in (L'Ecuyer's reductions).

The thunk hands the node to ``perform`` (same results, same errors) when
the state is not a C-contiguous ``(n, 6)`` int32 array (or not writeable
for the in-place op) or the size is not an int64 vector of the op's
length; ``perform`` then raises the user-facing error, if any.
"""

cimport numpy as cnp
from libc.stdint cimport int32_t, int64_t, uint64_t

from symarray.kernels_c._fallback cimport CyFallbackThunk, cell_fits
from symarray.kernels_c._threads cimport parallel_for, sa_task
from symarray.vm._cvm cimport CCell, cell_set, cells_overlap

cnp.import_array()

cdef enum:
    BLOCK = 64     # streams stepped together (one local array per state word)
    MAXD = 64      # most dimensions of the draws (NumPy's limit)

#: calls with at least this many draws use the thread pool
PARALLEL_MIN = 1 << 15


cdef struct mrg_job:
    const int32_t* src      # (ns, 6) state read
    int32_t* dst            # (ns, 6) state written (may be src)
    char* out               # n draws, C order
    Py_ssize_t n            # number of draws
    Py_ssize_t ns           # number of streams
    int f32                 # 1: float32 draws, 0: float64


cdef extern from *:
    """
    #include <stdint.h>
    #include <numpy/ndarraytypes.h>
    #if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
    #define MRG_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", \
                                                    "default")))
    #else
    #define MRG_CLONES
    #endif
    #define MRG_M1 2147483647ULL
    #define MRG_M2 2147462579ULL
    /* One step of `count` streams (their six words in six arrays, newest
       first) and their draws, scaled as T.  Unsigned 64-bit arithmetic:
       every value is below 2**54, and the shifts vectorise (AVX2 has no
       64-bit arithmetic shift).  x1 = 2**22 x1[n-2] + 129 x1[n-3] mod M1,
       folded with 2**31 = 1 (mod M1); x2 = 2**15 x2[n-1] + 32769 x2[n-3]
       mod M2, folded with 2**31 = 21069 (mod M2). */
    #define MRG_ROUND(T, S, NORM)                                                  \
    MRG_CLONES static void mrg_round_##S(                                          \
            uint64_t *restrict a0, uint64_t *restrict a1, uint64_t *restrict a2,  \
            uint64_t *restrict b0, uint64_t *restrict b1, uint64_t *restrict b2,  \
            T *restrict out, npy_intp count) {                                     \
        for (npy_intp j = 0; j < count; j++) {                                     \
            uint64_t y = (a1[j] << 22) + (a2[j] << 7) + a2[j];                     \
            y = (y & MRG_M1) + (y >> 31);                                          \
            y = (y & MRG_M1) + (y >> 31);                                          \
            y = y >= MRG_M1 ? y - MRG_M1 : y;                                      \
            uint64_t w = (b0[j] << 15) + (b2[j] << 15) + b2[j];                    \
            w = (w & MRG_M1) + (w >> 31) * 21069u;                                 \
            w = (w & MRG_M1) + (w >> 31) * 21069u;                                 \
            w = w >= MRG_M2 ? w - MRG_M2 : w;                                      \
            a2[j] = a1[j]; a1[j] = a0[j]; a0[j] = y;                               \
            b2[j] = b1[j]; b1[j] = b0[j]; b0[j] = w;                               \
            int32_t z = (int32_t)(y > w ? y - w : y + MRG_M1 - w);                 \
            out[j] = (T)z * NORM;                                                  \
        }                                                                          \
    }
    MRG_ROUND(float, f32, 4.6566126e-10f)
    MRG_ROUND(double, f64, (1.0 / 2147483648.0))
    """
    void mrg_round_f32(uint64_t* a0, uint64_t* a1, uint64_t* a2, uint64_t* b0,
                       uint64_t* b1, uint64_t* b2, float* out,
                       cnp.npy_intp count) noexcept nogil
    void mrg_round_f64(uint64_t* a0, uint64_t* a1, uint64_t* a2, uint64_t* b0,
                       uint64_t* b1, uint64_t* b2, double* out,
                       cnp.npy_intp count) noexcept nogil


cdef void _run_blocks(void* ctx, Py_ssize_t begin, Py_ssize_t end,
                      int part) noexcept nogil:
    """Streams of blocks ``[begin, end)``: all their draws and new states."""
    cdef mrg_job* job = <mrg_job*>ctx
    cdef uint64_t a0[BLOCK]
    cdef uint64_t a1[BLOCK]
    cdef uint64_t a2[BLOCK]
    cdef uint64_t b0[BLOCK]
    cdef uint64_t b1[BLOCK]
    cdef uint64_t b2[BLOCK]
    cdef Py_ssize_t blk, s0, width, j, base, count
    for blk in range(begin, end):
        s0 = blk * BLOCK
        width = min(<Py_ssize_t>BLOCK, job.ns - s0)
        for j in range(width):
            a0[j] = <uint64_t>job.src[(s0 + j) * 6 + 0]
            a1[j] = <uint64_t>job.src[(s0 + j) * 6 + 1]
            a2[j] = <uint64_t>job.src[(s0 + j) * 6 + 2]
            b0[j] = <uint64_t>job.src[(s0 + j) * 6 + 3]
            b1[j] = <uint64_t>job.src[(s0 + j) * 6 + 4]
            b2[j] = <uint64_t>job.src[(s0 + j) * 6 + 5]
        base = s0
        while base < job.n:  # one round: each stream of the block draws once
            count = min(width, job.n - base)
            if job.f32:
                mrg_round_f32(a0, a1, a2, b0, b1, b2, <float*>job.out + base, count)
            else:
                mrg_round_f64(a0, a1, a2, b0, b1, b2, <double*>job.out + base, count)
            base += job.ns
        for j in range(width):
            job.dst[(s0 + j) * 6 + 0] = <int32_t>a0[j]
            job.dst[(s0 + j) * 6 + 1] = <int32_t>a1[j]
            job.dst[(s0 + j) * 6 + 2] = <int32_t>a2[j]
            job.dst[(s0 + j) * 6 + 3] = <int32_t>b0[j]
            job.dst[(s0 + j) * 6 + 4] = <int32_t>b1[j]
            job.dst[(s0 + j) * 6 + 5] = <int32_t>b2[j]


cdef class CyMRGThunk(CyFallbackThunk):
    """Runs an ``MRGUniform`` node in C (backend ``"c"``)."""

    cdef int ndim               # length of the size vector
    cdef int f32                # 1: float32 draws
    cdef int typenum            # NumPy dtype number of the draws
    cdef bint inplace           # write the new state into the input state
    cdef int nthreads           # threads for large calls
    cdef mrg_job job

    def __init__(self, node, int nthreads=1):
        CyFallbackThunk.__init__(self, node)
        op = node.op
        if self.nin != 2 or self.nout != 2:
            raise ValueError(f"CyMRGThunk: {node} must have 2 inputs and 2 outputs")
        self.ndim = node.outputs[1].type.ndim
        if self.ndim > MAXD:
            raise ValueError(f"CyMRGThunk: {self.ndim} dimensions, at most {MAXD}")
        self.f32 = 1 if op.dtype == "float32" else 0
        self.typenum = cnp.NPY_FLOAT32 if self.f32 else cnp.NPY_FLOAT64
        self.inplace = bool(op.inplace)
        self.nthreads = max(1, nthreads)
        self.backend = "c"

    cdef int run(self) except -1:
        cdef CCell* st = self.ins[0]
        cdef CCell* sz = self.ins[1]
        cdef CCell* out_state = self.outs[0]
        cdef CCell* out = self.outs[1]
        cdef cnp.npy_intp dims[MAXD]
        cdef cnp.npy_intp sdims[2]
        cdef Py_ssize_t n = 1, ns, d, nblocks
        cdef int parts
        cdef int want = cnp.NPY_ARRAY_C_CONTIGUOUS
        if self.inplace:
            want = want | cnp.NPY_ARRAY_WRITEABLE
        if (st.typenum != cnp.NPY_INT32 or st.ndim != 2 or st.shape[1] != 6
                or st.shape[0] < 1 or (st.flags & want) != want
                or sz.typenum != cnp.NPY_INT64 or sz.ndim != 1
                or sz.shape[0] != self.ndim):
            return self.fallback.run()
        for d in range(self.ndim):
            dims[d] = (<int64_t*>(sz.data + d * sz.strides[0]))[0]
            if dims[d] < 0:
                return self.fallback.run()  # perform raises the error
            n *= dims[d]
        ns = st.shape[0]
        # the draws
        if not (self.keep_buffers and cell_fits(out, self.typenum, self.ndim, dims)
                and not cells_overlap(out, 8, st, 4)):
            cell_set(out, cnp.PyArray_EMPTY(self.ndim, dims, self.typenum, 0))
        # the new state: the input's array (in place) or a new one
        if self.inplace:
            if out_state.obj != st.obj:
                cell_set(out_state, <object>st.obj)
        else:
            sdims[0] = ns
            sdims[1] = 6
            cell_set(out_state, cnp.PyArray_EMPTY(2, sdims, cnp.NPY_INT32, 0))
        self.job.src = <const int32_t*>st.data
        self.job.dst = <int32_t*>out_state.data
        self.job.out = out.data
        self.job.n = n
        self.job.ns = ns
        self.job.f32 = self.f32
        nblocks = (ns + BLOCK - 1) // BLOCK
        parts = self.nthreads if n >= PARALLEL_MIN else 1
        if parts > nblocks:
            parts = <int>nblocks
        with nogil:
            if parts > 1:
                parallel_for(<sa_task>_run_blocks, &self.job, nblocks, 1, parts)
            else:
                _run_blocks(&self.job, 0, nblocks, 0)
        return 0
