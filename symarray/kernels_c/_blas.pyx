# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""C thunks for Dot, Gemm, Gemv and Ger through ``scipy.linalg.cython_blas``.

Every product runs in one BLAS call of SciPy's OpenBLAS (float32 and
float64; other dtypes go to ``perform``):

======================  ==========================================
``Dot`` matrix-matrix   ``?gemm``
``Dot`` matrix-vector   ``?gemv`` (vector-matrix: the transpose)
``Dot`` vector-vector   ``?dot``
``Gemm`` / ``Gemv``     ``?gemm`` / ``?gemv`` with alpha and beta
``Ger``                 ``?ger``
======================  ==========================================

Key decisions:

* Layouts.  BLAS is column-major; a C-ordered result is computed as its
  transpose (``C^T = B^T A^T``).  Each matrix operand is classified by
  ``sb_layout``: rows contiguous (C-like, any leading dimension, so
  row-slices and ``x[:, :k]`` pass as they are), columns contiguous
  (F-like: transposed and F-ordered arrays pass as a BLAS transpose), or
  neither (a negative or broadcast stride, a step along both axes): only
  then is the operand copied, once per call, into a C-ordered array.
  Vectors pass any non-zero stride (negative ones too); a broadcast
  vector (stride 0) is copied.
* Outputs.  ``Dot`` writes a C-ordered array: in no-GC mode the cell's
  buffer from the last call when its shape and dtype match and it does
  not overlap an input.  ``Gemm``/``Gemv``/``Ger`` copy ``z`` into that
  buffer first; their in-place forms (``destroy_map``) run BLAS on ``z``
  itself when its layout allows it and no other input overlaps it.
* What ``perform`` keeps: a scale (alpha or beta) of 0 (BLAS skips that
  term, so ``0 * nan`` would give 0, not NaN as the elementwise graph
  does), a ``z`` that broadcasts against the product, a contracted length
  of 0 for the update ops, mixed or non-float dtypes, shape errors, and
  lengths beyond BLAS's 32-bit ints.
* Threads.  SciPy's OpenBLAS splits a large product into jobs and, given
  a threads callback (``openblas_set_threads_callback_function``, which
  :mod:`symarray.kernels_c.blas` installs), hands them to ``sb_threads``
  instead of its own pool: the jobs run as a gang of the process's one
  thread pool (``_threads.h``), each on its own thread at once (level-3
  jobs wait on each other), job 0 on the calling thread.  Kernels and BLAS
  thus share one set of workers, which spin briefly after a call and then
  sleep.  During its call a thunk caps OpenBLAS's thread count at the
  ``kernel_threads`` flag it was compiled with (``sb_cap_threads``; 0: no
  cap), so ``kernel_threads=1`` runs BLAS on the calling thread.  Calls
  longer than ``NOGIL_FLOPS`` multiply-adds release the GIL.
"""

cimport numpy as cnp
from libc.string cimport memset
from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer

from symarray.kernels_c._threads cimport parallel_gang
from symarray.vm._cvm cimport (
    CCell,
    CyPyThunk,
    CyStorage,
    CyThunk,
    cell_set,
    cells_overlap,
)

cnp.import_array()

# -- the BLAS routines, from scipy.linalg.cython_blas ---------------------------
# The pointers are read from the module's exported C API (``__pyx_capi__``)
# rather than by ``cimport``: a cimport imports the ``scipy.linalg`` package,
# which costs about 0.13 s in every fresh process (most of the time a
# compiled MLP takes to start on a warm cache); loading the one extension
# module costs about 2 ms.  It is the same module object ``import
# scipy.linalg.cython_blas`` gives later.
ctypedef void (*gemm_d_t)(char*, char*, int*, int*, int*, double*, double*, int*,
                          double*, int*, double*, double*, int*) noexcept nogil
ctypedef void (*gemm_s_t)(char*, char*, int*, int*, int*, float*, float*, int*,
                          float*, int*, float*, float*, int*) noexcept nogil
ctypedef void (*gemv_d_t)(char*, int*, int*, double*, double*, int*, double*, int*,
                          double*, double*, int*) noexcept nogil
ctypedef void (*gemv_s_t)(char*, int*, int*, float*, float*, int*, float*, int*,
                          float*, float*, int*) noexcept nogil
ctypedef void (*ger_d_t)(int*, int*, double*, double*, int*, double*, int*, double*,
                         int*) noexcept nogil
ctypedef void (*ger_s_t)(int*, int*, float*, float*, int*, float*, int*, float*,
                         int*) noexcept nogil
ctypedef double (*dot_d_t)(int*, double*, int*, double*, int*) noexcept nogil
ctypedef float (*dot_s_t)(int*, float*, int*, float*, int*) noexcept nogil

cdef gemm_d_t dgemm
cdef gemm_s_t sgemm
cdef gemv_d_t dgemv
cdef gemv_s_t sgemv
cdef ger_d_t dger
cdef ger_s_t sger
cdef dot_d_t ddot
cdef dot_s_t sdot


def _cython_blas_module():
    """scipy.linalg.cython_blas, loaded without importing scipy.linalg."""
    import importlib.machinery
    import importlib.util
    import os
    import sys

    import scipy

    name = "scipy.linalg.cython_blas"
    if name in sys.modules:
        return sys.modules[name]
    folder = os.path.join(os.path.dirname(scipy.__file__), "linalg")
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(folder, "cython_blas" + suffix)
        if os.path.exists(path):
            loader = importlib.machinery.ExtensionFileLoader(name, path)
            spec = importlib.util.spec_from_loader(name, loader)
            module = importlib.util.module_from_spec(spec)
            loader.exec_module(module)
            return module
    import scipy.linalg.cython_blas as module  # an unusual layout: the slow way
    return module


cdef void* _blas_pointer(dict capi, str name) except NULL:
    capsule = capi[name]
    return PyCapsule_GetPointer(capsule, PyCapsule_GetName(capsule))


cdef _load_blas():
    global dgemm, sgemm, dgemv, sgemv, dger, sger, ddot, sdot
    cdef dict capi = _cython_blas_module().__pyx_capi__
    dgemm = <gemm_d_t>_blas_pointer(capi, "dgemm")
    sgemm = <gemm_s_t>_blas_pointer(capi, "sgemm")
    dgemv = <gemv_d_t>_blas_pointer(capi, "dgemv")
    sgemv = <gemv_s_t>_blas_pointer(capi, "sgemv")
    dger = <ger_d_t>_blas_pointer(capi, "dger")
    sger = <ger_s_t>_blas_pointer(capi, "sger")
    ddot = <dot_d_t>_blas_pointer(capi, "ddot")
    sdot = <dot_s_t>_blas_pointer(capi, "sdot")


_load_blas()

cdef extern from *:
    """
    #include <limits.h>
    #include <stddef.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <sys/syscall.h>
    #include <unistd.h>
    #include <numpy/ndarraytypes.h>

    /* How BLAS can read an r x c matrix with byte strides (sr, sc) of
       e-byte items: 1 rows contiguous (C-like), 2 columns contiguous
       (F-like), 0 neither (copy it).  *ld is the leading dimension. */
    static int sb_layout(npy_intp r, npy_intp c, npy_intp sr, npy_intp sc,
                         npy_intp e, int *ld) {
        const npy_intp rr = r > 1 ? r : 1, cc = c > 1 ? c : 1;
        if (r > INT_MAX || c > INT_MAX) return 0;
        if (c <= 1 || sc == e) {
            npy_intp l = r <= 1 ? cc : sr / e;
            if (r <= 1 || (sr % e == 0 && l >= cc && l <= INT_MAX)) {
                *ld = (int)l;
                return 1;
            }
        }
        if (r <= 1 || sr == e) {
            npy_intp l = c <= 1 ? rr : sc / e;
            if (c <= 1 || (sc % e == 0 && l >= rr && l <= INT_MAX)) {
                *ld = (int)l;
                return 2;
            }
        }
        return 0;
    }

    /* The BLAS increment of an n-vector with byte stride s, and the pointer
       BLAS wants (the lowest address for a negative increment); 0: copy it. */
    static int sb_vector(npy_intp n, npy_intp s, npy_intp e, char **p, int *inc) {
        if (n > INT_MAX) return 0;
        if (n <= 1) { *inc = 1; return 1; }
        if (s == 0 || s % e != 0 || s / e > INT_MAX || s / e < -INT_MAX) return 0;
        *inc = (int)(s / e);
        if (s < 0) *p += (n - 1) * s;
        return 1;
    }

    /* -- OpenBLAS's jobs on the pool (see sb_threads) ----------------------- */

    typedef void (*sb_dojob)(int thread_num, void *jobdata, int dojob_data);

    static long sb_n_calls = 0;    /* calls run on the pool (atomic) */
    static long sb_n_serial = 0;   /* calls of one job (atomic) */
    static long sb_seen[64];       /* kernel thread ids that ran jobs (a set) */
    static __thread long sb_tid = 0;

    /* Add this thread to sb_seen (for tests: which threads run BLAS). */
    static void sb_note_thread(void) {
        if (!sb_tid) sb_tid = (long)syscall(SYS_gettid);
        for (int i = 0; i < 64; i++) {
            long t = __atomic_load_n(&sb_seen[i], __ATOMIC_RELAXED);
            if (t == sb_tid) return;
            if (t == 0 && __atomic_compare_exchange_n(&sb_seen[i], &t, sb_tid, 0,
                                                      __ATOMIC_RELAXED,
                                                      __ATOMIC_RELAXED))
                return;
            if (t == sb_tid) return;
        }
    }
    static void sb_count(long *counter) {
        __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
    }

    static void sb_no_threads(int numjobs) {
        fprintf(stderr,
                "symarray: cannot run the %d jobs of an OpenBLAS call at once "
                "(more than 64, or pthread_create failed).  OpenBLAS's jobs "
                "wait on each other, so they cannot run one after another on "
                "one thread.  Raise the process's thread limit, or set "
                "OPENBLAS_NUM_THREADS=1 or SYMARRAY_BLAS_THREADS=native.\\n",
                numjobs);
        abort();
    }

    /* -- how many jobs OpenBLAS makes: the kernel_threads flag ------------- */

    typedef void (*sb_set_fn)(int);
    typedef int (*sb_get_fn)(void);
    static sb_set_fn sb_set_threads = NULL;   /* openblas_set_num_threads */
    static sb_get_fn sb_get_threads = NULL;   /* openblas_get_num_threads */

    static void sb_bind(size_t set, size_t get) {
        sb_set_threads = (sb_set_fn)set;
        sb_get_threads = (sb_get_fn)get;
    }

    /* Before a BLAS call of a thunk compiled with kernel_threads = flag (GIL
       held): cap OpenBLAS's thread count at flag (0: no cap); returns the
       count to put back after the call, 0 when it was left alone. */
    static inline int sb_cap_threads(int flag) {
        if (flag <= 0 || !sb_set_threads) return 0;
        const int now = sb_get_threads();
        if (now <= flag) return 0;
        sb_set_threads(flag);
        return now;
    }
    static inline void sb_uncap_threads(int before) {
        if (before > 0) sb_set_threads(before);
    }

    static long sb_get_calls(void) {
        return __atomic_load_n(&sb_n_calls, __ATOMIC_RELAXED);
    }
    static long sb_get_serial(void) {
        return __atomic_load_n(&sb_n_serial, __ATOMIC_RELAXED);
    }
    """
    int sb_layout(cnp.npy_intp r, cnp.npy_intp c, cnp.npy_intp sr, cnp.npy_intp sc,
                  cnp.npy_intp e, int* ld) noexcept nogil
    int sb_vector(cnp.npy_intp n, cnp.npy_intp s, cnp.npy_intp e, char** p,
                  int* inc) noexcept nogil
    ctypedef void (*sb_dojob)(int thread_num, void* jobdata,
                              int dojob_data) noexcept nogil
    long sb_n_calls
    long sb_n_serial
    long sb_seen[64]
    void sb_note_thread() noexcept nogil
    void sb_count(long* counter) noexcept nogil
    void sb_no_threads(int numjobs) noexcept nogil
    void sb_bind(size_t set, size_t get) noexcept
    int sb_cap_threads(int flag) noexcept
    void sb_uncap_threads(int before) noexcept
    long sb_get_calls() noexcept
    long sb_get_serial() noexcept


#: BLAS calls of at least this many multiply-adds release the GIL
NOGIL_FLOPS = 1 << 14
cdef cnp.npy_intp _NOGIL_FLOPS = NOGIL_FLOPS

cdef enum:
    F32 = cnp.NPY_FLOAT32
    F64 = cnp.NPY_FLOAT64


# -- OpenBLAS's threads callback: its jobs on the process's pool ------------------

cdef struct _SbCall:
    sb_dojob dojob              # runs job i: dojob(i, jobs + i * size, data)
    char* jobs
    size_t size
    int data


cdef void _sb_job(void* ctx, Py_ssize_t begin, Py_ssize_t end,
                  int part) noexcept nogil:
    cdef _SbCall* call = <_SbCall*>ctx
    sb_note_thread()
    call.dojob(part, call.jobs + <size_t>part * call.size, call.data)


cdef void sb_threads(int sync, sb_dojob dojob, int numjobs, size_t size,
                     void* jobdata, int data) noexcept nogil:
    """OpenBLAS's threads callback: job i is ``dojob(i, jobdata + i * size,
    data)``; every job must run at the same time (level-3 jobs wait on each
    other), so the jobs run as a gang of the pool, job 0 on this thread.
    ``sync`` is always 1: OpenBLAS expects the jobs done on return."""
    cdef _SbCall call
    if numjobs <= 1:
        if numjobs == 1:
            sb_note_thread()
            dojob(0, jobdata, data)
        sb_count(&sb_n_serial)
        return
    call.dojob = dojob
    call.jobs = <char*>jobdata
    call.size = size
    call.data = data
    if parallel_gang(_sb_job, &call, numjobs) < 0:
        sb_no_threads(numjobs)  # reports and aborts: no order of the jobs is safe
    sb_count(&sb_n_calls)


def threads_callback_address():
    """The address of the C callback that runs OpenBLAS's jobs on the
    process's thread pool (for ``openblas_set_threads_callback_function``)."""
    return <size_t><void*>sb_threads


def callback_stats():
    """``(calls run on the pool, calls of a single job)``."""
    return sb_get_calls(), sb_get_serial()


def callback_threads():
    """Kernel thread ids (as in ``/proc/self/task``) of the threads that ran
    OpenBLAS's jobs through the callback so far."""
    return sorted(t for t in sb_seen if t)


def bind_thread_count(size_t set_num_threads, size_t get_num_threads):
    """Give the thunks OpenBLAS's ``openblas_set_num_threads`` and
    ``openblas_get_num_threads`` (addresses; 0: none), so that the
    ``kernel_threads`` flag also caps how many jobs OpenBLAS makes."""
    if (set_num_threads == 0) != (get_num_threads == 0):
        raise ValueError("bind_thread_count: give both addresses or neither")
    sb_bind(set_num_threads, get_num_threads)


# -- BLAS calls, typed by the dtype number ----------------------------------------

cdef inline void _gemm(int typ, char ta, char tb, int m, int n, int k, double alpha,
                       char* a, int lda, char* b, int ldb, double beta, char* c,
                       int ldc) noexcept nogil:
    cdef float fa = <float>alpha
    cdef float fb = <float>beta
    if typ == F64:
        dgemm(&ta, &tb, &m, &n, &k, &alpha, <double*>a, &lda, <double*>b, &ldb,
              &beta, <double*>c, &ldc)
    else:
        sgemm(&ta, &tb, &m, &n, &k, &fa, <float*>a, &lda, <float*>b, &ldb,
              &fb, <float*>c, &ldc)


cdef inline void _gemv(int typ, char t, int m, int n, double alpha, char* a, int lda,
                       char* x, int incx, double beta, char* y,
                       int incy) noexcept nogil:
    cdef float fa = <float>alpha
    cdef float fb = <float>beta
    if typ == F64:
        dgemv(&t, &m, &n, &alpha, <double*>a, &lda, <double*>x, &incx, &beta,
              <double*>y, &incy)
    else:
        sgemv(&t, &m, &n, &fa, <float*>a, &lda, <float*>x, &incx, &fb,
              <float*>y, &incy)


cdef inline void _ger(int typ, int m, int n, double alpha, char* x, int incx,
                      char* y, int incy, char* a, int lda) noexcept nogil:
    cdef float fa = <float>alpha
    if typ == F64:
        dger(&m, &n, &alpha, <double*>x, &incx, <double*>y, &incy, <double*>a, &lda)
    else:
        sger(&m, &n, &fa, <float*>x, &incx, <float*>y, &incy, <float*>a, &lda)


cdef inline double _dot(int typ, int n, char* x, int incx, char* y,
                        int incy) noexcept nogil:
    if typ == F64:
        return ddot(&n, <double*>x, &incx, <double*>y, &incy)
    return sdot(&n, <float*>x, &incx, <float*>y, &incy)


cdef inline double _scalar(CCell* c, int typ) noexcept:
    if typ == F64:
        return (<double*>c.data)[0]
    return (<float*>c.data)[0]


# -- operands ----------------------------------------------------------------------

cdef struct Mat:
    char* p        # first element
    int rows       # as the graph sees it
    int cols
    int ld         # BLAS leading dimension
    int layout     # 1: rows contiguous (C-like), 2: columns contiguous (F-like)


cdef struct Vec:
    char* p        # what BLAS gets (the lowest address for a negative step)
    int n
    int inc


cdef class _CyBlasThunk(CyThunk):
    """Shared parts: dtype checks, operand layouts, copies, the output buffer."""

    cdef int typ                # dtype number of every array input and the output
    cdef int itemsize
    cdef CyPyThunk fallback     # runs perform on the same cells
    cdef list _copies           # arrays copied for this call (kept alive)
    cdef int threads            # kernel_threads when compiled: caps BLAS's jobs

    def __init__(self, node, int threads=0):
        import numpy as np

        CyThunk.__init__(self, node)
        if threads < 0:
            raise ValueError(f"{type(self).__name__}: threads must be >= 0 (the "
                             f"kernel_threads flag), got {threads}")
        self.threads = threads
        dtype = np.dtype(node.outputs[0].type.dtype)
        if dtype.num not in (F32, F64):
            raise ValueError(f"{type(self).__name__}: {node} outputs {dtype}; only "
                             "float32 and float64 run through BLAS")
        self.typ = dtype.num
        self.itemsize = dtype.itemsize
        self.backend = "c"
        self.fallback = CyPyThunk(node)
        self._copies = []

    def bind(self, CyStorage storage not None, in_cells, out_cells,
             bint keep_buffers=False):
        CyThunk.bind(self, storage, in_cells, out_cells, keep_buffers)
        self.fallback.bind(storage, in_cells, out_cells, keep_buffers)

    cdef bint _typed(self, int i, int ndim) noexcept:
        """Whether input ``i`` is an ndarray of the thunk's dtype and rank."""
        cdef CCell* c = self.ins[i]
        return c.typenum == self.typ and c.ndim == ndim

    cdef int _mat(self, int i, Mat* m) except -1:
        """Describe matrix input ``i`` for BLAS, copying it when it must."""
        cdef CCell* c = self.ins[i]
        cdef cnp.ndarray arr
        m.rows = <int>c.shape[0]
        m.cols = <int>c.shape[1]
        m.p = c.data
        m.layout = sb_layout(c.shape[0], c.shape[1], c.strides[0], c.strides[1],
                             self.itemsize, &m.ld)
        if m.layout == 0:
            arr = cnp.PyArray_NewCopy(<cnp.ndarray>c.obj, cnp.NPY_CORDER)
            self._copies.append(arr)
            m.p = <char*>cnp.PyArray_DATA(arr)
            m.layout = 1
            m.ld = m.cols if m.cols > 1 else 1
        return 0

    cdef int _vec(self, int i, Vec* v) except -1:
        """Describe vector input ``i`` for BLAS, copying it when it must."""
        cdef CCell* c = self.ins[i]
        cdef cnp.ndarray arr
        v.n = <int>c.shape[0]
        v.p = c.data
        if not sb_vector(c.shape[0], c.strides[0], self.itemsize, &v.p, &v.inc):
            arr = cnp.PyArray_NewCopy(<cnp.ndarray>c.obj, cnp.NPY_CORDER)
            self._copies.append(arr)
            v.p = <char*>cnp.PyArray_DATA(arr)
            v.inc = 1
        return 0

    cdef int _new_output(self, int ndim, cnp.npy_intp* shape) except -1:
        """A C-ordered output of ``shape``: last call's buffer when it fits
        (no-GC mode) and overlaps no input, else a new array."""
        cdef CCell* out = self.outs[0]
        cdef int i
        if self.keep_buffers and _reusable(out, self.typ, ndim, shape):
            for i in range(self.nin):
                if cells_overlap(out, self.itemsize, self.ins[i], self.itemsize):
                    break
            else:
                return 0
        cell_set(out, cnp.PyArray_EMPTY(ndim, shape, self.typ, 0))
        return 0

    cdef bint _big(self, cnp.npy_intp flops) noexcept:
        return flops >= _NOGIL_FLOPS


cdef bint _fits_int(cnp.npy_intp n) noexcept:
    return n <= 2147483647


cdef class CyDotThunk(_CyBlasThunk):
    """``Dot`` of float32/float64 vectors and matrices through BLAS (backend ``"c"``)."""

    cdef int nda                # rank of the first input
    cdef int ndb                # rank of the second input

    def __init__(self, node, int threads=0):
        _CyBlasThunk.__init__(self, node, threads)
        a, b = node.inputs
        if a.type.dtype != b.type.dtype or a.type.dtype != node.outputs[0].type.dtype:
            raise ValueError(f"CyDotThunk: {node} mixes dtypes")
        self.nda = a.type.ndim
        self.ndb = b.type.ndim

    cdef int run(self) except -1:
        cdef int before = 0
        cdef CCell* ca = self.ins[0]
        cdef CCell* cb = self.ins[1]
        cdef cnp.npy_intp k
        if not (self._typed(0, self.nda) and self._typed(1, self.ndb)):
            return self.fallback.run()
        k = ca.shape[self.nda - 1]
        if cb.shape[0] != k or not _fits_int(k):
            return self.fallback.run()  # perform raises the shape error
        before = sb_cap_threads(self.threads)
        try:
            if self.nda == 2 and self.ndb == 2:
                return self._mm(k)
            if self.nda == 2:
                return self._mv(0, k)
            if self.ndb == 2:
                return self._mv(1, k)
            return self._vv(k)
        finally:
            self._copies.clear()
            sb_uncap_threads(before)

    cdef int _mm(self, cnp.npy_intp k) except -1:
        cdef Mat a, b
        cdef CCell* out
        cdef cnp.npy_intp shape[2]
        cdef cnp.npy_intp m = self.ins[0].shape[0], n = self.ins[1].shape[1]
        cdef char ta, tb
        cdef int ldc
        if not (_fits_int(m) and _fits_int(n)):
            return self.fallback.run()
        shape[0] = m
        shape[1] = n
        self._new_output(2, shape)
        out = self.outs[0]
        if m == 0 or n == 0:
            return 0
        if k == 0:
            memset(out.data, 0, m * n * self.itemsize)
            return 0
        self._mat(0, &a)
        self._mat(1, &b)
        # C-ordered out: out^T (n x m, column-major) = B^T A^T
        tb = b'N' if b.layout == 1 else b'T'
        ta = b'N' if a.layout == 1 else b'T'
        ldc = <int>n
        if self._big(m * n * k):
            with nogil:
                _gemm(self.typ, tb, ta, <int>n, <int>m, <int>k, 1.0, b.p, b.ld, a.p,
                      a.ld, 0.0, out.data, ldc)
        else:
            _gemm(self.typ, tb, ta, <int>n, <int>m, <int>k, 1.0, b.p, b.ld, a.p, a.ld,
                  0.0, out.data, ldc)
        return 0

    cdef int _mv(self, int mat, cnp.npy_intp k) except -1:
        """matrix . vector (mat=0) or vector . matrix (mat=1)."""
        cdef Mat a
        cdef Vec x
        cdef CCell* out
        cdef cnp.npy_intp shape[1]
        cdef cnp.npy_intp m
        cdef char t
        cdef int rows, cols
        m = self.ins[0].shape[0] if mat == 0 else self.ins[1].shape[1]
        if not _fits_int(m):
            return self.fallback.run()
        shape[0] = m
        self._new_output(1, shape)
        out = self.outs[0]
        if m == 0:
            return 0
        if k == 0:
            memset(out.data, 0, m * self.itemsize)
            return 0
        self._mat(mat, &a)
        self._vec(1 - mat, &x)
        # BLAS sees a row-major operand as its transpose (column-major): its
        # dimensions swap, and it multiplies a (mat=0) or a^T (mat=1)
        rows, cols = a.rows, a.cols
        if a.layout == 1:
            rows, cols = cols, rows
        t = b'T' if (a.layout == 1) == (mat == 0) else b'N'
        if self._big(m * k):
            with nogil:
                _gemv(self.typ, t, rows, cols, 1.0, a.p, a.ld, x.p, x.inc, 0.0,
                      out.data, 1)
        else:
            _gemv(self.typ, t, rows, cols, 1.0, a.p, a.ld, x.p, x.inc, 0.0, out.data, 1)
        return 0

    cdef int _vv(self, cnp.npy_intp k) except -1:
        cdef Vec x, y
        cdef double r = 0.0
        cdef CCell* out
        self._new_output(0, NULL)
        out = self.outs[0]
        if k > 0:
            self._vec(0, &x)
            self._vec(1, &y)
            if self._big(k):
                with nogil:
                    r = _dot(self.typ, x.n, x.p, x.inc, y.p, y.inc)
            else:
                r = _dot(self.typ, x.n, x.p, x.inc, y.p, y.inc)
        if self.typ == F64:
            (<double*>out.data)[0] = r
        else:
            (<float*>out.data)[0] = <float>r
        return 0


cdef class _CyUpdateThunk(_CyBlasThunk):
    """``z <- [beta *] z + alpha * product``: the output buffer and the scales."""

    cdef bint inplace           # destroy_map {0: [0]}

    def __init__(self, node, int threads=0):
        _CyBlasThunk.__init__(self, node, threads)
        self.inplace = bool(getattr(node.op, "inplace", False))

    cdef int _target(self, int ndim, cnp.npy_intp* shape, int* layout,
                     int* ld) except -1:
        """Point the output at the array BLAS updates: z itself (in place,
        when BLAS can write it and no other input overlaps it), or a C-ordered
        copy of z, broadcast to the product's shape when z is a row or column
        (a bias).  Returns 0, or 1 when perform must run instead."""
        cdef CCell* z = self.ins[0]
        cdef CCell* out = self.outs[0]
        cdef int i, d
        cdef bint stretched = False
        for d in range(ndim):
            if z.shape[d] != shape[d]:
                if z.shape[d] != 1:
                    return 1  # perform raises the shape error
                stretched = True
        if self.inplace and not stretched and (z.flags & cnp.NPY_ARRAY_WRITEABLE):
            if ndim == 2:
                layout[0] = sb_layout(shape[0], shape[1], z.strides[0], z.strides[1],
                                      self.itemsize, ld)
            else:
                layout[0] = 1 if (shape[0] <= 1 or z.strides[0] == self.itemsize) else 0
            for i in range(1, self.nin):
                if cells_overlap(z, self.itemsize, self.ins[i], self.itemsize):
                    layout[0] = 0
            if layout[0] != 0:
                if out.obj != z.obj:
                    cell_set(out, <object>z.obj)
                return 0
        self._new_output(ndim, shape)
        cnp.PyArray_CopyInto(<cnp.ndarray>out.obj, <cnp.ndarray>z.obj)
        layout[0] = 1
        ld[0] = <int>(shape[1] if ndim == 2 and shape[1] > 1 else 1)
        return 0

    cdef bint _scales_ok(self, int n_scales) noexcept:
        """alpha (input 1) and beta (input 4) are 0-d of the dtype and nonzero."""
        cdef CCell* c
        cdef int k
        for k in range(n_scales):
            c = self.ins[1 if k == 0 else 4]
            if c.typenum != self.typ or c.ndim != 0 or _scalar(c, self.typ) == 0:
                return False
        return True


cdef class CyGemmThunk(_CyUpdateThunk):
    """``Gemm(z, alpha, x, y, beta)`` through ``?gemm`` (backend ``"c"``)."""

    cdef int run(self) except -1:
        cdef int before = 0
        cdef Mat x, y
        cdef cnp.npy_intp shape[2]
        cdef cnp.npy_intp k
        cdef int layout = 0, ld = 0
        cdef double alpha, beta
        cdef char tx, ty
        cdef CCell* out
        if not (self._typed(0, 2) and self._typed(2, 2) and self._typed(3, 2)
                and self._scales_ok(2)):
            return self.fallback.run()
        k = self.ins[2].shape[1]
        shape[0] = self.ins[2].shape[0]
        shape[1] = self.ins[3].shape[1]
        if (self.ins[3].shape[0] != k or k == 0 or shape[0] == 0 or shape[1] == 0
                or not (_fits_int(k) and _fits_int(shape[0]) and _fits_int(shape[1]))):
            return self.fallback.run()
        if self._target(2, shape, &layout, &ld):
            return self.fallback.run()
        out = self.outs[0]
        alpha = _scalar(self.ins[1], self.typ)
        beta = _scalar(self.ins[4], self.typ)
        before = sb_cap_threads(self.threads)
        try:
            self._mat(2, &x)
            self._mat(3, &y)
            if layout == 1:  # out^T = alpha y^T x^T + beta out^T
                ty = b'N' if y.layout == 1 else b'T'
                tx = b'N' if x.layout == 1 else b'T'
                with nogil:
                    _gemm(self.typ, ty, tx, <int>shape[1], <int>shape[0], <int>k, alpha,
                          y.p, y.ld, x.p, x.ld, beta, out.data, ld)
            else:
                tx = b'T' if x.layout == 1 else b'N'
                ty = b'T' if y.layout == 1 else b'N'
                with nogil:
                    _gemm(self.typ, tx, ty, <int>shape[0], <int>shape[1], <int>k, alpha,
                          x.p, x.ld, y.p, y.ld, beta, out.data, ld)
        finally:
            self._copies.clear()
            sb_uncap_threads(before)
        return 0


cdef class CyGemvThunk(_CyUpdateThunk):
    """``Gemv(z, alpha, a, x, beta)`` through ``?gemv`` (backend ``"c"``)."""

    cdef int run(self) except -1:
        cdef int before = 0
        cdef Mat a
        cdef Vec x, zv
        cdef cnp.npy_intp shape[1]
        cdef cnp.npy_intp k
        cdef int layout = 0, ld = 0, rows, cols
        cdef double alpha, beta
        cdef char t
        cdef CCell* out
        if not (self._typed(0, 1) and self._typed(2, 2) and self._typed(3, 1)
                and self._scales_ok(2)):
            return self.fallback.run()
        k = self.ins[2].shape[1]
        shape[0] = self.ins[2].shape[0]
        if (self.ins[3].shape[0] != k or k == 0 or shape[0] == 0
                or not (_fits_int(k) and _fits_int(shape[0]))):
            return self.fallback.run()
        if self._target(1, shape, &layout, &ld):
            return self.fallback.run()
        out = self.outs[0]
        alpha = _scalar(self.ins[1], self.typ)
        beta = _scalar(self.ins[4], self.typ)
        before = sb_cap_threads(self.threads)
        try:
            self._mat(2, &a)
            self._vec(3, &x)
            rows, cols = a.rows, a.cols
            if a.layout == 1:
                t = b'T'
                rows, cols = cols, rows
            else:
                t = b'N'
            with nogil:
                _gemv(self.typ, t, rows, cols, alpha, a.p, a.ld, x.p, x.inc, beta,
                      out.data, 1)
        finally:
            self._copies.clear()
            sb_uncap_threads(before)
        return 0


cdef class CyGerThunk(_CyUpdateThunk):
    """``Ger(z, alpha, x, y)`` through ``?ger`` (backend ``"c"``)."""

    cdef int run(self) except -1:
        cdef int before = 0
        cdef Vec x, y
        cdef cnp.npy_intp shape[2]
        cdef int layout = 0, ld = 0
        cdef double alpha
        cdef CCell* out
        if not (self._typed(0, 2) and self._typed(2, 1) and self._typed(3, 1)
                and self._scales_ok(1)):
            return self.fallback.run()
        shape[0] = self.ins[2].shape[0]
        shape[1] = self.ins[3].shape[0]
        if shape[0] == 0 or shape[1] == 0 or not (
                _fits_int(shape[0]) and _fits_int(shape[1])):
            return self.fallback.run()
        if self._target(2, shape, &layout, &ld):
            return self.fallback.run()
        out = self.outs[0]
        alpha = _scalar(self.ins[1], self.typ)
        before = sb_cap_threads(self.threads)
        try:
            self._vec(2, &x)
            self._vec(3, &y)
            if layout == 1:  # out^T += alpha y x^T
                with nogil:
                    _ger(self.typ, y.n, x.n, alpha, y.p, y.inc, x.p, x.inc, out.data, ld)
            else:
                with nogil:
                    _ger(self.typ, x.n, y.n, alpha, x.p, x.inc, y.p, y.inc, out.data, ld)
        finally:
            self._copies.clear()
            sb_uncap_threads(before)
        return 0


# -- helpers -----------------------------------------------------------------------

cdef inline bint _reusable(CCell* c, int typenum, int ndim,
                           cnp.npy_intp* shape) noexcept:
    """Whether cell ``c`` holds a writeable C-contiguous array of this dtype
    and shape (last call's output, kept in no-GC mode)."""
    cdef int d
    if c.typenum != typenum or c.ndim != ndim:
        return False
    if (c.flags & (cnp.NPY_ARRAY_C_CONTIGUOUS | cnp.NPY_ARRAY_WRITEABLE)) != (
            cnp.NPY_ARRAY_C_CONTIGUOUS | cnp.NPY_ARRAY_WRITEABLE):
        return False
    for d in range(ndim):
        if c.shape[d] != shape[d]:
            return False
    return True
