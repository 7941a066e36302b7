# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The C thunk of ``StreamGemv``: ``X @ w``, ``f`` and ``X.T @ g`` in one pass.

:class:`~symarray.tensor.blas_stream.StreamGemv` computes ``z = X @ w`` and
``y = beta * y0 + alpha * X.T @ f(z, *others)``.  Done as two products, ``X``
(often larger than the last-level cache) is streamed twice.  Here the rows
of ``X`` are cut into blocks small enough to stay in the core's L2 cache
(:func:`block_bytes`), and for each block::

    z[blk] = X[blk] @ w                        # from memory
    g[blk] = f(z[blk], others[blk])            # the block interpreter
    acc   += X[blk].T @ g[blk]                 # X[blk] still in cache

and at the end ``y = beta * y0 + alpha * acc``.

Key decisions:

* The block products: for ``X`` with contiguous rows and a contiguous
  ``w``, two small C loops over four rows at a time (dot products for
  ``z``, then ``acc += g[i] * X[i]``), vectorized and compiled for
  AVX-512, AVX2 and baseline x86-64 (run-time dispatch, as the elementwise
  loops).  Measured on the logistic-regression step (5000 x 784 float64,
  one thread) they beat a BLAS ``?gemv`` per block by about 10%: no call
  overhead and no BLAS buffer per call.  A strided ``w`` takes ``?gemv``
  per block from ``scipy.linalg.cython_blas``'s C API
  (the pointers come from the module :mod:`._blas` loads, without
  importing ``scipy.linalg``); a block holds at most ``block_bytes()`` of
  ``X``, so OpenBLAS runs each call on the calling thread.
  :func:`use_blas` sends every layout to BLAS (benchmarks).
* ``f`` runs in the elementwise block interpreter (``_interp.h``): the
  program :mod:`symarray.kernels_c.program` builds for the Composite, with
  ``z`` as input 0; ``g`` is the node's third output.
* Threads: the rows are cut into chunks (about :func:`chunk_bytes` of ``X``,
  at most ``MAX_CHUNKS``), each with its own k-vector accumulator, summed
  in chunk order at the end.  The kernels' pool (:mod:`._threads`) hands
  the chunks to the threads as they come (``parallel_chunks``), so a late
  worker on a busy machine does not hold the call up, and the chunks
  depend only on ``n`` and ``k``: the result is the same for any number of
  threads and any scheduling.
* Layouts: ``X`` C-like (rows contiguous, any row stride) is read in one
  pass; F-like ``X`` (columns contiguous) in two whole-matrix ``?gemv``
  calls, as the separate nodes would (a block of its rows is a short piece
  of every column: measured twice as slow as the two calls).  Both are
  read in place; ``w`` and ``y0`` may have any
  non-zero stride, the other inputs any stride (0 for broadcast ones).
  Anything else (other dtypes or ranks, a ``y0`` that broadcasts, a
  row-aligned input of the wrong length, lengths beyond BLAS's 32-bit ints)
  runs the op's ``perform``, which also raises the errors.
* Scales are applied in C at the end (``beta * y0``, ``alpha * acc``), so
  ``0 * nan`` is ``nan`` as in ``perform``.
"""

cimport numpy as cnp
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer
from libc.stdint cimport int32_t
from libc.string cimport memset

from symarray.kernels_c._fallback cimport CyFallbackThunk, cell_fits
from symarray.kernels_c._interp cimport (
    SC_BLOCK,
    SC_MAXD,
    sc_exec,
    sc_exec_free,
    sc_exec_load,
    sc_n_loops,
    sc_run_range,
)
from symarray.kernels_c._threads cimport parallel_chunks
from symarray.vm._cvm cimport CCell, cell_set, cells_overlap

from operator import index as _index
from sys import maxsize as _MAXSIZE

cnp.import_array()

# -- BLAS ----------------------------------------------------------------------

ctypedef void (*gemv_d_t)(char*, int*, int*, double*, double*, int*, double*, int*,
                          double*, double*, int*) noexcept nogil
ctypedef void (*gemv_s_t)(char*, int*, int*, float*, float*, int*, float*, int*,
                          float*, float*, int*) noexcept nogil

cdef gemv_d_t dgemv
cdef gemv_s_t sgemv


cdef void* _blas_pointer(dict capi, str name) except NULL:
    capsule = capi[name]
    return PyCapsule_GetPointer(capsule, PyCapsule_GetName(capsule))


cdef _load_blas():
    global dgemv, sgemv
    from symarray.kernels_c._blas import _cython_blas_module

    cdef dict capi = _cython_blas_module().__pyx_capi__
    dgemv = <gemv_d_t>_blas_pointer(capi, "dgemv")
    sgemv = <gemv_s_t>_blas_pointer(capi, "sgemv")


_load_blas()

# -- row kernels (C-like X with contiguous w) ---------------------------------------

cdef extern from *:
    """
    #include <numpy/ndarraytypes.h>
    #if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
    #define BS_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", \
                                                   "default")))
    #else
    #define BS_CLONES
    #endif
    /* z[i] = X[i] . w (i < m) and acc += X^T g over m rows of X, the rows
       contiguous with a stride of ld elements, four rows at a time. */
    #define BS_ROWS(T, S)                                                          \
    BS_CLONES static void bs_dot_##S(const T *restrict X, npy_intp ld, npy_intp k,  \
                                     const T *restrict w, npy_intp m,               \
                                     T *restrict z) {                               \
        npy_intp i = 0;                                                             \
        for (; i + 4 <= m; i += 4) {                                                \
            const T *x0 = X + i * ld, *x1 = x0 + ld, *x2 = x1 + ld, *x3 = x2 + ld; \
            T s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                       \
            _Pragma("omp simd reduction(+:s0,s1,s2,s3)")                            \
            for (npy_intp j = 0; j < k; j++) {                                      \
                const T wj = w[j];                                                  \
                s0 += x0[j] * wj; s1 += x1[j] * wj;                                 \
                s2 += x2[j] * wj; s3 += x3[j] * wj;                                 \
            }                                                                       \
            z[i] = s0; z[i + 1] = s1; z[i + 2] = s2; z[i + 3] = s3;                 \
        }                                                                           \
        for (; i < m; i++) {                                                        \
            const T *x0 = X + i * ld;                                               \
            T s0 = 0;                                                               \
            _Pragma("omp simd reduction(+:s0)")                                     \
            for (npy_intp j = 0; j < k; j++) s0 += x0[j] * w[j];                    \
            z[i] = s0;                                                              \
        }                                                                           \
    }                                                                               \
    BS_CLONES static void bs_axpy_##S(const T *restrict X, npy_intp ld, npy_intp k, \
                                      const T *restrict g, npy_intp m,              \
                                      T *restrict acc) {                            \
        npy_intp i = 0;                                                             \
        for (; i + 4 <= m; i += 4) {                                                \
            const T *x0 = X + i * ld, *x1 = x0 + ld, *x2 = x1 + ld, *x3 = x2 + ld; \
            const T g0 = g[i], g1 = g[i + 1], g2 = g[i + 2], g3 = g[i + 3];         \
            _Pragma("omp simd")                                                     \
            for (npy_intp j = 0; j < k; j++)                                        \
                acc[j] += (g0 * x0[j] + g1 * x1[j]) + (g2 * x2[j] + g3 * x3[j]);    \
        }                                                                           \
        for (; i < m; i++) {                                                        \
            const T *x0 = X + i * ld;                                               \
            const T g0 = g[i];                                                      \
            _Pragma("omp simd")                                                     \
            for (npy_intp j = 0; j < k; j++) acc[j] += g0 * x0[j];                  \
        }                                                                           \
    }
    BS_ROWS(double, f64)
    BS_ROWS(float, f32)
    """
    void bs_dot_f64(const double* X, cnp.npy_intp ld, cnp.npy_intp k, const double* w,
                    cnp.npy_intp m, double* z) noexcept nogil
    void bs_dot_f32(const float* X, cnp.npy_intp ld, cnp.npy_intp k, const float* w,
                    cnp.npy_intp m, float* z) noexcept nogil
    void bs_axpy_f64(const double* X, cnp.npy_intp ld, cnp.npy_intp k, const double* g,
                     cnp.npy_intp m, double* acc) noexcept nogil
    void bs_axpy_f32(const float* X, cnp.npy_intp ld, cnp.npy_intp k, const float* g,
                     cnp.npy_intp m, float* acc) noexcept nogil

cdef bint _use_blas = False


def use_blas(value=None):
    """Whether C-like X goes through BLAS per block (True) or the row
    kernels (False); a new ``value`` sets it and the old one is returned."""
    global _use_blas
    old = _use_blas
    if value is not None:
        _use_blas = bool(value)
    return old


# -- the block interpreter -------------------------------------------------------

def n_loops():
    """Loops in this module's copy of the interpreter's table (it must match
    :func:`symarray.kernels_c._composite.loop_table`, which numbers them)."""
    return sc_n_loops()


# -- settings ----------------------------------------------------------------------

#: bytes of X in one block of rows (about half a core's L2 cache)
BLOCK_BYTES = 1 << 18
#: calls with at least this many elements of X release the GIL
NOGIL_MIN = 1 << 14
#: calls with at least this many elements of X run on several threads
PARALLEL_MIN = 1 << 16
#: bytes of X in one chunk of rows: the unit a thread takes, with its own
#: accumulator
CHUNK_BYTES = 1 << 21
#: most chunks of one call (bigger X: bigger chunks)
MAX_CHUNKS = 64

cdef cnp.npy_intp _NOGIL_MIN = NOGIL_MIN
cdef int _last_chunks = 0
cdef int _last_by_others = 0


def last_run():
    """``(chunks, chunks other threads ran)`` of the last call (tests)."""
    return _last_chunks, _last_by_others


# The tunables: C values ``run`` reads without the GIL, one row each in
# _TUNABLES, one validated setter (_tune) behind the public functions.

cdef enum:
    T_BLOCK_BYTES = 0    # bytes of X in one block of rows
    T_CHUNK_BYTES = 1    # bytes of X in one chunk of rows
    T_PARALLEL_MIN = 2   # least elements of X split over threads
    N_TUNABLES = 3

#: the tunables' values, indexed by T_*
cdef cnp.npy_intp _tunable[N_TUNABLES]
_tunable[:] = [BLOCK_BYTES, CHUNK_BYTES, PARALLEL_MIN]

#: (name, what it counts, default) per tunable, in T_* order
_TUNABLES = (
    ("block_bytes", "bytes of X in one block of rows", BLOCK_BYTES),
    ("chunk_bytes", "bytes of X in one chunk of rows", CHUNK_BYTES),
    ("parallel_min", "elements of X a call needs to run on several threads",
     PARALLEL_MIN),
)


cdef object _tune(int which, object value):
    """The tunable ``which``'s old value; sets it to ``value`` unless None.

    ``value`` must be an integer (``operator.index``; not a bool or a
    float, which would be truncated silently) from 1 to ``sys.maxsize``.
    """
    cdef object old = _tunable[which]
    if value is None:
        return old
    name, what, default = _TUNABLES[which]
    try:
        if isinstance(value, bool):
            raise TypeError
        n = _index(value)
    except TypeError:
        raise TypeError(
            f"{name}: expected an int >= 1 ({what}; default {default}), got "
            f"{type(value).__name__} {value!r}; pass an int, or None to read the "
            "setting") from None
    if not 1 <= n <= _MAXSIZE:
        raise ValueError(
            f"{name} must be >= 1 and <= {_MAXSIZE} ({what}; default {default}), "
            f"got {n}; pass a positive int, or None to read the setting")
    _tunable[which] = n
    return old


def block_bytes(value=None):
    """The bytes of ``X`` one block of rows holds; a new ``value`` (an int
    >= 1) sets it (tests and benchmarks) and the old one is returned."""
    return _tune(T_BLOCK_BYTES, value)


def chunk_bytes(value=None):
    """The bytes of ``X`` one chunk of rows holds; a new ``value`` (an int
    >= 1) sets it (tests and benchmarks) and the old one is returned."""
    return _tune(T_CHUNK_BYTES, value)


def parallel_min(value=None):
    """The least elements of ``X`` a call splits over threads; a new
    ``value`` (an int >= 1) sets it (tests) and the old one is returned."""
    return _tune(T_PARALLEL_MIN, value)


cdef enum:
    F32 = cnp.NPY_FLOAT32
    F64 = cnp.NPY_FLOAT64
    INT_MAX = 2147483647
    ALIGN = 16           # rows: chunk boundaries (z's cache lines are not shared)
    ACC_PAD = 16         # elements: each accumulator starts on its own cache line


cdef inline void _gemv(int typ, char t, int m, int n, char* a, int lda, char* x,
                       int incx, double beta, char* y) noexcept nogil:
    """``y = A x + beta y`` (t = 'N') or ``A^T x + beta y`` (t = 'T'), A
    column-major m x n."""
    cdef double one = 1.0
    cdef float fone = 1.0
    cdef float fbeta = <float>beta
    cdef int inc1 = 1
    if typ == F64:
        dgemv(&t, &m, &n, &one, <double*>a, &lda, <double*>x, &incx, &beta,
              <double*>y, &inc1)
    else:
        sgemv(&t, &m, &n, &fone, <float*>a, &lda, <float*>x, &incx, &fbeta,
              <float*>y, &inc1)


cdef struct Pass:
    int typ               # NPY_FLOAT32 or NPY_FLOAT64
    int isz               # bytes per element
    int layout            # 1: rows of X contiguous, 2: columns contiguous
                          # (two passes)
    int ld                # BLAS leading dimension of X
    int k                 # columns of X
    int incw              # BLAS increment of w
    bint rows             # C-like X and contiguous w: the row kernels
    cnp.npy_intp block    # rows per block (stays in the L2 cache)
    cnp.npy_intp chunk    # rows per chunk (one accumulator each)
    char* X               # X[0, 0]
    char* w               # what BLAS gets for w (lowest address)
    char* z               # the z output (contiguous)
    char* acc             # one accumulator of kpad elements per chunk
    cnp.npy_intp kpad     # elements between two accumulators
    sc_exec* e            # f's program; input 0 is z, output 0 is g


cdef void _rows(void* ctx, Py_ssize_t begin, Py_ssize_t end, int t) noexcept nogil:
    """The chunk of rows [begin, end) of X, on thread ``t``: z and g of its
    rows, and its share of ``X.T @ g`` into its accumulator (zeroed by the
    caller)."""
    cdef Pass* p = <Pass*>ctx
    cdef char* acc = p.acc + (begin // p.chunk) * p.kpad * p.isz
    cdef char* xb
    cdef char* gb
    cdef Py_ssize_t r = begin
    cdef int m
    while r < end:
        m = <int>(end - r if end - r < p.block else p.block)
        gb = p.e.base[p.e.nin] + r * p.isz
        if p.rows:
            xb = p.X + r * p.ld * p.isz
            if p.typ == F64:
                bs_dot_f64(<double*>xb, p.ld, p.k, <double*>p.w, m,
                           <double*>(p.z + r * p.isz))
            else:
                bs_dot_f32(<float*>xb, p.ld, p.k, <float*>p.w, m,
                           <float*>(p.z + r * p.isz))
            sc_run_range(p.e, r, r + m, t)
            if p.typ == F64:
                bs_axpy_f64(<double*>xb, p.ld, p.k, <double*>gb, m, <double*>acc)
            else:
                bs_axpy_f32(<float*>xb, p.ld, p.k, <float*>gb, m, <float*>acc)
        else:  # BLAS on the block, the k x m column-major matrix xb
            xb = p.X + r * p.ld * p.isz
            memset(p.z + r * p.isz, 0, m * p.isz)  # BLAS's beta 0 may keep NaN
            if p.k > 0:
                _gemv(p.typ, b'T', p.k, m, xb, p.ld, p.w, p.incw, 0.0,
                      p.z + r * p.isz)
            sc_run_range(p.e, r, r + m, t)
            if p.k > 0:
                _gemv(p.typ, b'N', p.k, m, xb, p.ld, gb, 1, 1.0, acc)
        r += m


cdef class CyStreamGemvThunk(CyFallbackThunk):
    """A ``StreamGemv`` node: one pass over the rows of ``X`` (backend ``"c"``).

    Parameters
    ----------
    node
        The Apply node (inputs ``X, w, *others, y0, alpha, beta``).
    program
        The block interpreter's :class:`symarray.kernels_c.program.Program`
        for the node's ``f``, with one output of ``X``'s dtype.
    nthreads
        Most threads a run uses.
    """

    cdef sc_exec e               # f's program (see _interp.pxd)
    cdef int32_t out_reg[1]      # the register g is read from
    cdef char* scratch           # the registers' blocks, one allocation
    cdef cnp.npy_intp* strides   # (nin + 1) x SC_MAXD byte strides
    cdef char* base[65]          # nin + 1 data pointers
    cdef int isize[65]           # nin + 1 item sizes
    cdef int in_types[64]        # dtype numbers f reads
    cdef int in_ndim[64]         # ranks of the inputs of f (z: 1)
    cdef unsigned char direct[1] # g may be written in place of its register
    cdef int typ                 # X's dtype number
    cdef int isz                 # its item size
    cdef int nf                  # inputs of f (z and the others)
    cdef int nthreads            # most threads a run uses
    cdef char* acc               # scratch: nthreads accumulators
    cdef cnp.npy_intp acc_cap    # bytes acc holds

    def __dealloc__(self):
        # every pointer starts NULL (the object's memory is zeroed)
        sc_exec_free(&self.e, self.scratch)
        PyMem_Free(self.strides)
        PyMem_Free(self.acc)

    def __init__(self, node, program, int nthreads=1):
        import numpy as np

        cdef int i, nf, n_const
        CyFallbackThunk.__init__(self, node)
        nf = self.nin - 4
        dtype = np.dtype(node.outputs[0].type.dtype)
        if dtype.num not in (F32, F64):
            raise ValueError(f"CyStreamGemvThunk: {node} is {dtype}; only float32 and "
                             "float64 run through BLAS")
        if not 1 <= nf <= 64:
            raise ValueError(f"CyStreamGemvThunk: {node} has {nf} inputs of f; at "
                             "most 64")
        if nthreads < 1:
            raise ValueError(f"CyStreamGemvThunk: nthreads must be >= 1, got {nthreads}")
        if program.checked:
            raise ValueError("CyStreamGemvThunk: the program may stop for perform "
                             "(an integer power); run perform instead")
        if (len(program.in_types) != nf or list(program.out_types) != [dtype.num]
                or int(program.in_types[0]) != dtype.num):
            raise ValueError(f"CyStreamGemvThunk: the program does not match {node}")
        out_regs, n_const = sc_exec_load(&self.e, &self.scratch, program, nf, 1,
                                         nthreads, "CyStreamGemvThunk")
        self.typ = dtype.num
        self.isz = dtype.itemsize
        self.nf = nf
        self.nthreads = nthreads
        self.strides = <cnp.npy_intp*>PyMem_Malloc(
            (nf + 1) * SC_MAXD * sizeof(cnp.npy_intp))
        if self.strides == NULL:
            raise MemoryError()
        memset(self.strides, 0, (nf + 1) * SC_MAXD * sizeof(cnp.npy_intp))
        for i in range(nf):
            self.in_types[i] = program.in_types[i]
            self.isize[i] = np.dtype(cnp.PyArray_DescrFromType(
                program.in_types[i])).itemsize
            self.in_ndim[i] = 1 if i == 0 else node.inputs[1 + i].type.ndim
        self.isize[nf] = self.isz
        self.out_reg[0] = out_regs[0]
        self.direct[0] = out_regs[0] >= nf + n_const
        self.e.out_reg = self.out_reg
        self.e.strides = self.strides
        self.e.base = self.base
        self.e.isize = self.isize
        self.e.direct = self.direct
        self.e.nd = 1
        self.backend = "c"

    cdef int run(self) except -1:
        cdef CCell* X = self.ins[0]
        cdef CCell* w = self.ins[1]
        cdef CCell* y0 = self.ins[self.nf + 1]
        cdef CCell* ca = self.ins[self.nf + 2]
        cdef CCell* cb = self.ins[self.nf + 3]
        cdef CCell* c
        cdef cnp.npy_intp n, k, s, need, j, row_bytes
        cdef int i, nthreads, layout = 0, ld = 0, incw = 1
        cdef cnp.npy_intp nchunks
        cdef char* wp
        cdef bint flat = True
        cdef Pass p
        cdef double alpha, beta
        # 1. operands this kernel reads, else perform (which raises the errors)
        if not (X.typenum == self.typ and X.ndim == 2 and w.typenum == self.typ
                and w.ndim == 1 and y0.typenum == self.typ and y0.ndim == 1
                and ca.typenum == self.typ and ca.ndim == 0
                and cb.typenum == self.typ and cb.ndim == 0):
            return self.fallback.run()
        n, k = X.shape[0], X.shape[1]
        if w.shape[0] != k or y0.shape[0] != k or n > INT_MAX or k > INT_MAX:
            return self.fallback.run()
        if not _layout(n, k, X.strides[0], X.strides[1], self.isz, &layout, &ld):
            return self.fallback.run()
        wp = w.data
        if k > 1:
            s = w.strides[0]
            if s == 0 or s % self.isz != 0 or s // self.isz > INT_MAX or (
                    s // self.isz < -INT_MAX):
                return self.fallback.run()
            incw = <int>(s // self.isz)
            if s < 0:
                wp += (k - 1) * s
        for i in range(1, self.nf):
            c = self.ins[1 + i]
            if c.typenum != self.in_types[i] or c.ndim != self.in_ndim[i]:
                return self.fallback.run()
            if c.ndim == 1 and c.shape[0] != n and c.shape[0] != 1:
                return self.fallback.run()
        # 2. outputs: z (n), y (k) and g (n), C-ordered
        self._output(0, n)
        self._output(1, k)
        self._output(2, n)
        # 3. blocks (L2-sized) and chunks (a thread's unit, with its own
        # accumulator): fixed by n and k, so the result does not depend on
        # the threads
        row_bytes = max(k * self.isz, 1)
        p.block = max(1, min(_tunable[T_BLOCK_BYTES] // row_bytes, SC_BLOCK))
        p.chunk = max(_tunable[T_CHUNK_BYTES] // row_bytes,
                      (n + MAX_CHUNKS - 1) // MAX_CHUNKS, 1)
        p.chunk = (p.chunk + ALIGN - 1) // ALIGN * ALIGN
        nchunks = max((n + p.chunk - 1) // p.chunk, 1)
        if layout == 2:  # two passes (see _two_passes): one accumulator
            p.chunk = max(n, 1)
            nchunks = 1
        # 4. scratch: the accumulators
        p.kpad = (k + ACC_PAD - 1) // ACC_PAD * ACC_PAD
        need = nchunks * p.kpad * self.isz + 64
        if need > self.acc_cap:
            PyMem_Free(self.acc)
            self.acc = <char*>PyMem_Malloc(need)
            if self.acc == NULL:
                self.acc_cap = 0
                raise MemoryError()
            self.acc_cap = need
        # 5. f's operands: z, the others, g
        self.base[0] = self.outs[0].data
        self.strides[0] = self.isz
        for i in range(1, self.nf):
            c = self.ins[1 + i]
            self.base[i] = c.data
            if c.size == 1:
                self.strides[i * SC_MAXD] = 0
            else:
                self.strides[i * SC_MAXD] = c.strides[0]
                flat = flat and c.strides[0] == self.isize[i]
        self.base[self.nf] = self.outs[2].data
        self.strides[self.nf * SC_MAXD] = self.isz
        self.e.flat = flat
        # flat runs read shape[0] only to fill broadcast inputs' blocks: one
        # block of rows needs no more; strided runs index with it
        self.e.shape[0] = min(p.block, n) if flat and layout == 1 else n
        # 6. the pass, chunk by chunk
        p.typ = self.typ
        p.isz = self.isz
        p.layout = layout
        p.ld = ld
        p.k = <int>k
        p.incw = incw
        p.rows = layout == 1 and (incw == 1 or k <= 1) and not _use_blas
        p.X = X.data
        p.w = wp
        p.z = self.outs[0].data
        p.acc = <char*>((<size_t>self.acc + 63) & ~(<size_t>63))
        p.e = &self.e
        memset(p.acc, 0, nchunks * p.kpad * self.isz)
        nthreads = <int>min(self.nthreads, nchunks)
        if layout == 2:
            with nogil:
                _two_passes(&p, n)
        elif nthreads > 1 and n * k >= _tunable[T_PARALLEL_MIN]:
            with nogil:
                _run_chunks(&p, n, nthreads)
        elif n * k >= _NOGIL_MIN:
            with nogil:
                _run_serial(&p, n)
        else:
            _run_serial(&p, n)
        # 7. y = beta * y0 + alpha * (the accumulators summed in chunk order)
        alpha = _scalar(ca, self.typ)
        beta = _scalar(cb, self.typ)
        _combine(&p, nchunks, k, y0.data, y0.strides[0], alpha, beta,
                 self.outs[1].data)
        return 0

    cdef int _in_isize(self, int i) noexcept:
        """The item size of input ``i``."""
        if 2 <= i <= self.nf:
            return self.isize[i - 1]
        return self.isz

    cdef int _output(self, int o, cnp.npy_intp length) except -1:
        """A C-ordered vector of ``length`` for output ``o``: last call's when
        it fits (no-GC mode) and overlaps no input, else a new one."""
        cdef CCell* out = self.outs[o]
        cdef int i
        cdef bint fits = self.keep_buffers and cell_fits(out, self.typ, 1, &length)
        if fits:
            for i in range(self.nin):
                if cells_overlap(out, self.isz, self.ins[i], self._in_isize(i)):
                    fits = False
                    break
            for i in range(o):  # another output of this call took it
                if self.outs[i].obj == out.obj:
                    fits = False
        if not fits:
            cell_set(out, cnp.PyArray_EMPTY(1, &length, self.typ, 0))
        return 0


cdef void _run_chunks(Pass* p, cnp.npy_intp n, int nthreads) noexcept nogil:
    """The chunks on ``nthreads`` threads of the pool, taken as they come."""
    global _last_chunks, _last_by_others
    _last_by_others = parallel_chunks(_rows, p, n, p.chunk, nthreads)
    _last_chunks = <int>((n + p.chunk - 1) // p.chunk)


cdef void _two_passes(Pass* p, cnp.npy_intp n) noexcept nogil:
    """Column-major X: ``z`` by one ``?gemv``, ``g``, then ``X.T @ g`` by
    another (OpenBLAS threads them).  Rows of a column-major X are strided,
    so a block of them reads short pieces of every column: measured, the
    blocked pass is twice as slow as these two calls on one thread."""
    global _last_chunks, _last_by_others
    memset(p.z, 0, n * p.isz)
    if p.k > 0 and n > 0:
        _gemv(p.typ, b'N', <int>n, p.k, p.X, p.ld, p.w, p.incw, 0.0, p.z)
    sc_run_range(p.e, 0, n, 0)
    if p.k > 0 and n > 0:
        _gemv(p.typ, b'T', <int>n, p.k, p.X, p.ld, p.e.base[p.e.nin], 1, 1.0, p.acc)
    _last_chunks = 1
    _last_by_others = 0


cdef void _run_serial(Pass* p, cnp.npy_intp n) noexcept nogil:
    """The chunks one after another on this thread."""
    global _last_chunks, _last_by_others
    cdef cnp.npy_intp begin = 0
    while begin < n:
        _rows(p, begin, min(begin + p.chunk, n), 0)
        begin += p.chunk
    _last_chunks = <int>((n + p.chunk - 1) // p.chunk)
    _last_by_others = 0


cdef void _combine(Pass* p, cnp.npy_intp nchunks, cnp.npy_intp k, char* y0,
                   cnp.npy_intp y0_stride, double alpha, double beta,
                   char* y) noexcept:
    """``y = beta * y0 + alpha * sum(acc[0..nchunks))``."""
    cdef cnp.npy_intp j, q
    cdef double sd
    cdef float sf
    cdef float fa = <float>alpha
    cdef float fb = <float>beta
    if p.typ == F64:
        for j in range(k):
            sd = 0.0
            for q in range(nchunks):
                sd = sd + (<double*>(p.acc + q * p.kpad * p.isz))[j]
            (<double*>y)[j] = beta * (<double*>(y0 + j * y0_stride))[0] + alpha * sd
    else:
        for j in range(k):
            sf = 0.0
            for q in range(nchunks):
                sf = sf + (<float*>(p.acc + q * p.kpad * p.isz))[j]
            (<float*>y)[j] = fb * (<float*>(y0 + j * y0_stride))[0] + fa * sf


cdef inline double _scalar(CCell* c, int typ) noexcept:
    if typ == F64:
        return (<double*>c.data)[0]
    return (<float*>c.data)[0]


cdef bint _layout(cnp.npy_intp r, cnp.npy_intp c, cnp.npy_intp sr, cnp.npy_intp sc,
                  cnp.npy_intp e, int* layout, int* ld) noexcept:
    """How BLAS reads an r x c matrix of e-byte items with byte strides
    (sr, sc) in place: rows contiguous (layout 1) or columns contiguous
    (layout 2), with its leading dimension; False: neither."""
    cdef cnp.npy_intp l
    if c <= 1 or sc == e:
        l = c if r <= 1 or sr % e != 0 else sr // e
        if l < c:
            l = c
        if (r <= 1 or (sr % e == 0 and sr // e >= c)) and l <= INT_MAX:
            layout[0] = 1
            ld[0] = <int>(l if l > 1 else 1)
            return True
    if r <= 1 or sr == e:
        l = r if c <= 1 or sc % e != 0 else sc // e
        if l < r:
            l = r
        if (c <= 1 or (sc % e == 0 and sc // e >= r)) and l <= INT_MAX:
            layout[0] = 2
            ld[0] = <int>(l if l > 1 else 1)
            return True
    return False
