# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The block interpreter for fused ``Elemwise(Composite)`` nodes.

A :class:`~symarray.scalar.composite.Composite` is a straight-line program
of scalar-table rows.  :mod:`symarray.kernels_c.composite` translates it once
(at thunk creation) into an int32 instruction array, five words per step:
``(opcode, dst, a, b, c)`` over *registers* (``-1`` for an unused operand).
Registers are numbered as in the composite: inputs, constants, steps.

At run time the output is computed in blocks of :data:`BLOCK` elements.  A
register is a pointer to ``BLOCK`` values of the compute dtype: an input's
register points straight into the input array (contiguous fast path) or at
a block the input was gathered into (strides, broadcasting, negative
strides); a constant's register at a block filled once; a step's at a
scratch block shared with steps whose lifetimes do not overlap.  For each
block, ``sc_exec_<dtype>`` runs every instruction as one tight typed loop
over the block (a ``switch`` per instruction, not per element), so each
input is read once and the output written once, and nothing is allocated
beyond the output and the scratch blocks made with the thunk.

Key decisions:

* One compute dtype per program, float32 or float64 (float32 stays
  float32: ``<tgmath.h>`` picks ``expf`` for floats).  Programs with other
  dtypes, casts or ops without a loop here are declined by the factory and
  ``perform`` runs them.
* Ops follow NumPy: NaN propagates through maximum/minimum/clip,
  ``logaddexp`` and ``sgn`` treat equal infinities and NaN like NumPy.
* The output register is written straight into the output array when it is
  the last step and the output is contiguous; otherwise its block is
  copied (scattered) out after the block's program ran.  Either way an
  element is written only after every read of the same element in that
  block, so an in-place output over an input of the same layout is safe.
* Loops over at least ``NOGIL_MIN`` elements release the GIL.
"""

cimport numpy as cnp
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int32_t
from libc.string cimport memcpy, memset

from symarray.vm._cvm cimport CCell, CyPyThunk, CyStorage, CyThunk, cell_set

cnp.import_array()

cdef extern from *:
    """
    #include <tgmath.h>
    #include <stdint.h>
    #include <string.h>
    #include <numpy/ndarraytypes.h>

    #ifndef M_PI
    #define M_PI 3.14159265358979323846
    #endif

    /* NumPy's logaddexp: equal arguments (also equal infinities) give
       x + log 2; NaN propagates. */
    static inline double sc_lae_d(double x, double y) {
        if (x == y) return x + 0.693147180559945309417232121458176568;
        const double t = x - y;
        if (t > 0) return x + log1p(exp(-t));
        if (t <= 0) return y + log1p(exp(t));
        return t;
    }
    static inline float sc_lae_f(float x, float y) {
        if (x == y) return x + 0.693147180559945309417232121458176568f;
        const float t = x - y;
        if (t > 0) return x + log1pf(expf(-t));
        if (t <= 0) return y + log1pf(expf(t));
        return t;
    }
    #define SC_LOGADDEXP(a, b) _Generic((a), float: sc_lae_f, default: sc_lae_d)(a, b)
    #define SC_MAX(a, b) (((a) >= (b) || (a) != (a)) ? (a) : (b))
    #define SC_MIN(a, b) (((a) <= (b) || (a) != (a)) ? (a) : (b))
    #define SC_SGN(a) ((a) > 0 ? (sc_t)1 : (a) < 0 ? (sc_t)-1 : (a) == (a) ? (sc_t)0 : (a))

    /* The ops: X(name, expression in a, b, c of type sc_t). */
    #define SC_UNARY_OPS(X)                                                      \\
        X(neg, -a) X(abs, fabs(a)) X(sqr, a * a) X(reciprocal, (sc_t)1 / a)      \\
        X(sgn, SC_SGN(a))                                                        \\
        X(exp, exp(a)) X(exp2, exp2(a)) X(expm1, expm1(a)) X(log, log(a))        \\
        X(log2, log2(a)) X(log10, log10(a)) X(log1p, log1p(a)) X(sqrt, sqrt(a))  \\
        X(sin, sin(a)) X(cos, cos(a)) X(tan, tan(a)) X(arcsin, asin(a))          \\
        X(arccos, acos(a)) X(arctan, atan(a)) X(sinh, sinh(a)) X(cosh, cosh(a))  \\
        X(tanh, tanh(a)) X(arcsinh, asinh(a)) X(arccosh, acosh(a))               \\
        X(arctanh, atanh(a)) X(floor, floor(a)) X(ceil, ceil(a))                 \\
        X(trunc, trunc(a)) X(round_half_to_even, rint(a))                        \\
        X(deg2rad, a * (sc_t)(M_PI / 180)) X(rad2deg, a * (sc_t)(180 / M_PI))    \\
        X(sigmoid, (sc_t)1 / ((sc_t)1 + exp(-a)))                                \\
        X(softplus, (a > 0 ? a : (sc_t)0) + log1p(exp(-fabs(a))))
    #define SC_BINARY_OPS(X)                                                     \\
        X(add, a + b) X(sub, a - b) X(mul, a * b) X(true_div, a / b)             \\
        X(pow, pow(a, b)) X(arctan2, atan2(a, b)) X(maximum, SC_MAX(a, b))       \\
        X(minimum, SC_MIN(a, b)) X(logaddexp, SC_LOGADDEXP(a, b))
    #define SC_TERNARY_OPS(X) X(clip, SC_MIN(SC_MAX(a, b), c))

    #define SC_ENUM(NAME, E) SC_OP_##NAME,
    enum {
        SC_OP_NONE = 0,
        SC_UNARY_OPS(SC_ENUM) SC_BINARY_OPS(SC_ENUM) SC_TERNARY_OPS(SC_ENUM)
        SC_N_OPS
    };

    typedef struct { const char *name; int nin; int code; } sc_opinfo;
    #define SC_INFO1(NAME, E) {#NAME, 1, SC_OP_##NAME},
    #define SC_INFO2(NAME, E) {#NAME, 2, SC_OP_##NAME},
    #define SC_INFO3(NAME, E) {#NAME, 3, SC_OP_##NAME},
    static const sc_opinfo sc_ops[] = {
        SC_UNARY_OPS(SC_INFO1) SC_BINARY_OPS(SC_INFO2) SC_TERNARY_OPS(SC_INFO3)
        {NULL, 0, 0}
    };
    static const char *sc_op_name(int k) { return sc_ops[k].name; }
    static int sc_op_nin(int k) { return sc_ops[k].nin; }
    static int sc_op_code(int k) { return sc_ops[k].code; }
    static int sc_n_ops(void) { return SC_N_OPS - 1; }

    /* One loop per op: z[i] = E(x[i], y[i], w[i]) over the block. */
    #define SC_CASE1(NAME, E) case SC_OP_##NAME:                                 \\
        for (npy_intp i = 0; i < n; i++) { const sc_t a = x[i]; z[i] = (E); }    \\
        break;
    #define SC_CASE2(NAME, E) case SC_OP_##NAME:                                 \\
        for (npy_intp i = 0; i < n; i++) {                                       \\
            const sc_t a = x[i], b = y[i]; z[i] = (E); }                         \\
        break;
    #define SC_CASE3(NAME, E) case SC_OP_##NAME:                                 \\
        for (npy_intp i = 0; i < n; i++) {                                       \\
            const sc_t a = x[i], b = y[i], c = w[i]; z[i] = (E); }               \\
        break;

    /* Run the program (n_instr instructions of 5 words) over n elements of
       the registers regs[]. */
    #define SC_EXEC(S, TYPE)                                                     \\
    static void sc_exec_##S(const int32_t *code, int n_instr, void **regs,      \\
                            npy_intp n) {                                        \\
        typedef TYPE sc_t;                                                       \\
        for (int k = 0; k < n_instr; k++) {                                      \\
            const int32_t *ins = code + 5 * k;                                   \\
            sc_t *z = (sc_t *)regs[ins[1]];                                      \\
            const sc_t *x = (const sc_t *)regs[ins[2]];                          \\
            const sc_t *y = ins[3] >= 0 ? (const sc_t *)regs[ins[3]] : x;        \\
            const sc_t *w = ins[4] >= 0 ? (const sc_t *)regs[ins[4]] : x;        \\
            switch (ins[0]) {                                                    \\
                SC_UNARY_OPS(SC_CASE1)                                           \\
                SC_BINARY_OPS(SC_CASE2)                                          \\
                SC_TERNARY_OPS(SC_CASE3)                                         \\
                default: break;                                                  \\
            }                                                                    \\
        }                                                                        \\
    }
    SC_EXEC(f32, npy_float32)
    SC_EXEC(f64, npy_float64)

    typedef void (*sc_exec_fn)(const int32_t *, int, void **, npy_intp);

    /* Copy n elements (itemsize 4 or 8) between a contiguous block and a
       strided run. */
    static void sc_gather(char *dst, const char *src, npy_intp n, npy_intp step,
                          int itemsize) {
        if (step == itemsize) { memcpy(dst, src, n * itemsize); return; }
        if (itemsize == 8) {
            npy_float64 *d = (npy_float64 *)dst;
            for (npy_intp i = 0; i < n; i++, src += step) d[i] = *(const npy_float64 *)src;
        } else {
            npy_float32 *d = (npy_float32 *)dst;
            for (npy_intp i = 0; i < n; i++, src += step) d[i] = *(const npy_float32 *)src;
        }
    }
    static void sc_scatter(char *dst, const char *src, npy_intp n, npy_intp step,
                           int itemsize) {
        if (step == itemsize) { memmove(dst, src, n * itemsize); return; }
        if (itemsize == 8) {
            const npy_float64 *s = (const npy_float64 *)src;
            for (npy_intp i = 0; i < n; i++, dst += step) *(npy_float64 *)dst = s[i];
        } else {
            const npy_float32 *s = (const npy_float32 *)src;
            for (npy_intp i = 0; i < n; i++, dst += step) *(npy_float32 *)dst = s[i];
        }
    }
    """
    ctypedef void (*sc_exec_fn)(const int32_t* code, int n_instr, void** regs,
                                cnp.npy_intp n) noexcept nogil
    void sc_exec_f32(const int32_t* code, int n_instr, void** regs,
                     cnp.npy_intp n) noexcept nogil
    void sc_exec_f64(const int32_t* code, int n_instr, void** regs,
                     cnp.npy_intp n) noexcept nogil
    const char* sc_op_name(int k) noexcept
    int sc_op_nin(int k) noexcept
    int sc_op_code(int k) noexcept
    int sc_n_ops() noexcept
    void sc_gather(char* dst, const char* src, cnp.npy_intp n, cnp.npy_intp step,
                   int itemsize) noexcept nogil
    void sc_scatter(char* dst, const char* src, cnp.npy_intp n, cnp.npy_intp step,
                    int itemsize) noexcept nogil


#: elements per block (each register holds one block)
BLOCK = 1024
#: loops over at least this many elements release the GIL
NOGIL_MIN = 1 << 15

cdef enum:
    _BLOCK = 1024
    MAXD = cnp.NPY_MAXDIMS

cdef cnp.npy_intp _NOGIL_MIN = NOGIL_MIN


def opcodes():
    """``{op name: (opcode, arity)}`` for every scalar op with a loop here."""
    return {sc_op_name(k).decode(): (sc_op_code(k), sc_op_nin(k))
            for k in range(sc_n_ops())}


cdef class CyCompositeThunk(CyThunk):
    """A one-output ``Elemwise(Composite)`` node run by the block interpreter.

    Parameters
    ----------
    node
        The Apply node (its inputs all have dtype ``typenum``).
    typenum
        NumPy type number of the compute dtype (float32 or float64).
    code
        int32 array ``(n_steps, 5)``: ``(opcode, dst, a, b, c)`` per step.
    slot_of
        int32 array, per register: its scratch block, or -1 for an input.
    n_slots
        Number of scratch blocks for constants and steps.
    constants
        float64 array: the value of each constant register, in order.
    out_reg
        The register holding the output (a step).
    """

    cdef sc_exec_fn exec_fn      # the interpreter for the compute dtype
    cdef int32_t* code           # n_instr x 5 words
    cdef int n_instr             # number of instructions (steps)
    cdef int n_regs              # inputs + constants + steps
    cdef void** regs             # per register: pointer to its current block
    cdef void** home             # per register: its scratch block (NULL: input)
    cdef char* scratch           # (nin + n_slots) blocks, one allocation
    cdef int out_reg             # the output register
    cdef bint out_last           # out_reg is written by the last instruction
    cdef int typenum             # compute dtype number (inputs and output)
    cdef int itemsize            # bytes per element
    cdef int ndim                # rank of the inputs and the output
    cdef int inplace             # input the output overwrites; -1: none
    cdef cnp.npy_intp* shape     # MAXD: coalesced iteration shape
    cdef cnp.npy_intp* strides   # (nin + 1) x MAXD byte strides (output last)
    cdef cnp.npy_intp* idx       # MAXD: block start index (n-d walk)
    cdef char** base             # nin + 1 data pointers
    cdef unsigned char* bcast    # nin flags: a one-element input (flat pass)
    cdef CyPyThunk fallback      # runs perform on the same cells

    def __cinit__(self, *args, **kwargs):
        self.code = NULL
        self.regs = NULL
        self.home = NULL
        self.scratch = NULL
        self.shape = NULL
        self.strides = NULL
        self.idx = NULL
        self.base = NULL
        self.bcast = NULL

    def __dealloc__(self):
        PyMem_Free(self.code)
        PyMem_Free(self.regs)
        PyMem_Free(self.home)
        PyMem_Free(self.scratch)
        PyMem_Free(self.shape)
        PyMem_Free(self.strides)
        PyMem_Free(self.idx)
        PyMem_Free(self.base)
        PyMem_Free(self.bcast)

    def __init__(self, node, int typenum, code, slot_of, int n_slots, constants,
                 int out_reg):
        import numpy as np

        cdef int i, k, nin, n_const
        cdef Py_ssize_t nbytes
        cdef char* blk
        CyThunk.__init__(self, node)
        if self.nout != 1:
            raise ValueError(f"CyCompositeThunk: {node} must have one output")
        if typenum == cnp.NPY_FLOAT64:
            self.exec_fn = sc_exec_f64
        elif typenum == cnp.NPY_FLOAT32:
            self.exec_fn = sc_exec_f32
        else:
            raise ValueError(f"CyCompositeThunk: no interpreter for dtype number "
                             f"{typenum}")
        nin = self.nin
        code_arr = np.ascontiguousarray(code, dtype=np.int32).reshape(-1, 5)
        slots = np.ascontiguousarray(slot_of, dtype=np.int32).ravel()
        consts = np.ascontiguousarray(constants, dtype=np.float64).ravel()
        self.n_instr = code_arr.shape[0]
        self.n_regs = slots.shape[0]
        n_const = consts.shape[0]
        if self.n_instr == 0 or not 0 <= out_reg < self.n_regs:
            raise ValueError("CyCompositeThunk: empty program or bad output register")
        if self.n_regs != nin + n_const + self.n_instr:
            raise ValueError("CyCompositeThunk: slot_of must list every register")
        if code_arr.min(initial=0) < -1 or code_arr[:, 1:].max(
                initial=0) >= self.n_regs:
            raise ValueError("CyCompositeThunk: a register number is out of range")
        if slots[nin:].min(initial=0) < 0 or slots.max(initial=0) >= n_slots:
            raise ValueError("CyCompositeThunk: a slot number is out of range")
        self.typenum = typenum
        self.itemsize = 8 if typenum == cnp.NPY_FLOAT64 else 4
        dtype_name = "float64" if typenum == cnp.NPY_FLOAT64 else "float32"
        self.out_reg = out_reg
        self.out_last = code_arr[self.n_instr - 1, 1] == out_reg
        self.ndim = node.outputs[0].type.ndim
        self.inplace = dict(getattr(node.op, "inplace_pattern", ())).get(0, -1)
        # C arrays
        self.code = <int32_t*>PyMem_Malloc(self.n_instr * 5 * sizeof(int32_t))
        self.regs = <void**>PyMem_Malloc(self.n_regs * sizeof(void*))
        self.home = <void**>PyMem_Malloc(self.n_regs * sizeof(void*))
        nbytes = <Py_ssize_t>(nin + n_slots) * _BLOCK * self.itemsize
        self.scratch = <char*>PyMem_Malloc(max(nbytes, 1))
        self.shape = <cnp.npy_intp*>PyMem_Malloc(MAXD * sizeof(cnp.npy_intp))
        self.idx = <cnp.npy_intp*>PyMem_Malloc(MAXD * sizeof(cnp.npy_intp))
        self.strides = <cnp.npy_intp*>PyMem_Malloc(
            (nin + 1) * MAXD * sizeof(cnp.npy_intp))
        self.base = <char**>PyMem_Malloc((nin + 1) * sizeof(char*))
        self.bcast = <unsigned char*>PyMem_Malloc(max(nin, 1))
        if (self.code == NULL or self.regs == NULL or self.home == NULL
                or self.scratch == NULL or self.shape == NULL or self.idx == NULL
                or self.strides == NULL or self.base == NULL
                or self.bcast == NULL):
            raise MemoryError()
        for k in range(self.n_instr * 5):
            self.code[k] = code_arr.flat[k]
        # scratch blocks: one gather block per input, then the slots
        for i in range(self.n_regs):
            if i < nin:
                self.home[i] = self.scratch + <Py_ssize_t>i * _BLOCK * self.itemsize
            else:
                self.home[i] = self.scratch + (
                    <Py_ssize_t>(nin + slots[i]) * _BLOCK * self.itemsize)
            self.regs[i] = self.home[i]
        for k in range(n_const):  # constants: blocks filled once
            blk = <char*>self.home[nin + k]
            fill = np.full(_BLOCK, consts[k], dtype=dtype_name)
            memcpy(blk, cnp.PyArray_DATA(<cnp.ndarray>fill), _BLOCK * self.itemsize)
        self.backend = "c"
        self.fallback = CyPyThunk(node)

    def bind(self, CyStorage storage not None, in_cells, out_cells,
             bint keep_buffers=False):
        CyThunk.bind(self, storage, in_cells, out_cells, keep_buffers)
        self.fallback.bind(storage, in_cells, out_cells, keep_buffers)

    cdef int run(self) except -1:
        cdef int nin = self.nin
        cdef int ndim = self.ndim
        cdef int i, d
        cdef CCell* c
        cdef CCell* out = self.outs[0]
        cdef cnp.npy_intp n, m, size
        cdef bint flat = True
        # 1. inputs the interpreter can read directly
        for i in range(nin):
            c = self.ins[i]
            if c.typenum != self.typenum or c.ndim != ndim:
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
        # 3. the output buffer
        if self.inplace >= 0 and self._can_overwrite(self.ins[self.inplace]):
            if out.obj != self.ins[self.inplace].obj:
                cell_set(out, <object>self.ins[self.inplace].obj)
        elif not (self.inplace < 0 and self.keep_buffers and self._reusable(out)):
            cell_set(out, cnp.PyArray_EMPTY(ndim, self.shape, self.typenum, 0))
        size = out.size
        if size == 0:
            return 0
        # 4. the blocks: a flat pass when every input is contiguous with the
        # output's shape or a single element, else the n-d walk
        for i in range(nin):
            c = self.ins[i]
            self.base[i] = c.data
            if not (c.size == 1 or (c.size == size
                                    and (c.flags & cnp.NPY_ARRAY_C_CONTIGUOUS))):
                flat = False
        self.base[nin] = out.data
        flat = flat and (out.flags & cnp.NPY_ARRAY_C_CONTIGUOUS) != 0
        for i in range(self.n_regs):
            self.regs[i] = self.home[i]
        if flat:
            if size >= _NOGIL_MIN:
                with nogil:
                    self._run_flat(size)
            else:
                self._run_flat(size)
            return 0
        for i in range(nin):
            c = self.ins[i]
            for d in range(ndim):
                self.strides[i * MAXD + d] = 0 if c.shape[d] == 1 else c.strides[d]
        for d in range(ndim):
            self.strides[nin * MAXD + d] = out.strides[d]
        if size >= _NOGIL_MIN:
            with nogil:
                self._run_nd(size)
        else:
            self._run_nd(size)
        return 0

    cdef void _run_flat(self, cnp.npy_intp size) noexcept nogil:
        """Every operand contiguous (or one element): direct pointers."""
        cdef int nin = self.nin
        cdef int isz = self.itemsize
        cdef int i
        cdef cnp.npy_intp off, n, k
        cdef bint direct_out = self.out_last
        cdef unsigned char* one = self.bcast
        for i in range(nin):
            one[i] = self.ins[i].size == 1 and size > 1
            if one[i]:  # a broadcast element: fill its block once
                for k in range(_BLOCK):
                    memcpy(<char*>self.home[i] + k * isz, self.base[i], isz)
        off = 0
        while off < size:
            n = min(<cnp.npy_intp>_BLOCK, size - off)
            for i in range(nin):
                if not one[i]:
                    self.regs[i] = self.base[i] + off * isz
            if direct_out:
                self.regs[self.out_reg] = self.base[nin] + off * isz
            self.exec_fn(self.code, self.n_instr, self.regs, n)
            if not direct_out:
                memcpy(self.base[nin] + off * isz, self.regs[self.out_reg], n * isz)
            off += n

    cdef void _run_nd(self, cnp.npy_intp size) noexcept nogil:
        """Any strides: gather each input's block, run, scatter the output."""
        cdef int nin = self.nin
        cdef int isz = self.itemsize
        cdef int i, nd
        cdef cnp.npy_intp off, n
        nd = _coalesce(nin + 1, self.ndim, self.shape, self.strides)
        if nd == 0:  # every dimension has length 1
            nd = 1
            self.shape[0] = 1
            for i in range(nin + 1):
                self.strides[i * MAXD] = 0
        for i in range(nd):
            self.idx[i] = 0
        for i in range(nin):
            self.regs[i] = self.home[i]
        off = 0
        while off < size:
            n = min(<cnp.npy_intp>_BLOCK, size - off)
            for i in range(nin):
                _copy_block(nd, self.shape, self.idx, n, self.base[i],
                            self.strides + i * MAXD, <char*>self.home[i], isz, 0)
            self.exec_fn(self.code, self.n_instr, self.regs, n)
            _copy_block(nd, self.shape, self.idx, n, self.base[nin],
                        self.strides + nin * MAXD, <char*>self.regs[self.out_reg],
                        isz, 1)
            _advance(nd, self.shape, self.idx, n)
            off += n

    cdef bint _can_overwrite(self, CCell* target) noexcept:
        """Whether the output can be written over ``target`` (as ``perform``
        decides): its dtype and shape, writeable, no zero stride, and no other
        input overlaps it except element for element."""
        cdef int i, d
        cdef CCell* c
        if target.typenum != self.typenum or not (
                target.flags & cnp.NPY_ARRAY_WRITEABLE):
            return False
        for d in range(self.ndim):
            if target.shape[d] != self.shape[d]:
                return False
            if target.strides[d] == 0 and target.shape[d] > 1:
                return False
        for i in range(self.nin):
            c = self.ins[i]
            if c == target or c.obj == target.obj or not _overlap(
                    c, target, self.itemsize):
                continue
            if c.data != target.data:
                return False
            for d in range(self.ndim):
                if c.shape[d] != target.shape[d] or c.strides[d] != target.strides[d]:
                    return False
        return True

    cdef bint _reusable(self, CCell* out) noexcept:
        """Whether ``out`` holds last call's writeable C-contiguous buffer of
        this dtype and shape, sharing no memory with an input (no-GC mode)."""
        cdef int d, i
        cdef int want = cnp.NPY_ARRAY_C_CONTIGUOUS | cnp.NPY_ARRAY_WRITEABLE
        if out.typenum != self.typenum or out.ndim != self.ndim:
            return False
        if (out.flags & want) != want:
            return False
        for d in range(self.ndim):
            if out.shape[d] != self.shape[d]:
                return False
        for i in range(self.nin):
            if _overlap(self.ins[i], out, self.itemsize):
                return False
        return True


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


cdef inline void _advance(int nd, const cnp.npy_intp* shape, cnp.npy_intp* idx,
                          cnp.npy_intp n) noexcept nogil:
    """Move the C-order index ``idx`` forward by ``n`` elements."""
    cdef int d = nd - 1
    cdef cnp.npy_intp carry = n
    while d >= 0 and carry:
        carry += idx[d]
        idx[d] = carry % shape[d]
        carry = carry // shape[d]
        d -= 1


cdef void _copy_block(int nd, const cnp.npy_intp* shape, const cnp.npy_intp* start,
                      cnp.npy_intp n, char* data, const cnp.npy_intp* strides,
                      char* block, int itemsize, bint scatter) noexcept nogil:
    """Copy ``n`` elements from index ``start`` of a strided array into
    ``block`` (or from ``block`` into the array when ``scatter``)."""
    cdef cnp.npy_intp idx[MAXD]
    cdef cnp.npy_intp done = 0
    cdef cnp.npy_intp m
    cdef int d
    cdef int last = nd - 1
    cdef char* p
    for d in range(nd):
        idx[d] = start[d]
    while done < n:
        m = min(n - done, shape[last] - idx[last])
        p = data
        for d in range(nd):
            p += idx[d] * strides[d]
        if scatter:
            sc_scatter(p, block + done * itemsize, m, strides[last], itemsize)
        else:
            sc_gather(block + done * itemsize, p, m, strides[last], itemsize)
        done += m
        _advance(nd, shape, idx, m)


cdef inline bint _overlap(CCell* a, CCell* b, cnp.npy_intp itemsize) noexcept:
    """Whether the memory spans of two cells' arrays intersect."""
    cdef char* alo
    cdef char* ahi
    cdef char* blo
    cdef char* bhi
    if a.size == 0 or b.size == 0 or a.data == NULL or b.data == NULL:
        return False
    _span(a, itemsize, &alo, &ahi)
    _span(b, itemsize, &blo, &bhi)
    return alo < bhi and blo < ahi


cdef inline void _span(CCell* c, cnp.npy_intp itemsize, char** lo,
                       char** hi) noexcept:
    cdef int d
    cdef cnp.npy_intp step
    lo[0] = c.data
    hi[0] = c.data + itemsize
    for d in range(c.ndim):
        step = (c.shape[d] - 1) * c.strides[d]
        if step < 0:
            lo[0] += step
        else:
            hi[0] += step
