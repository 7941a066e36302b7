# cython: language_level=3
"""Interface of the Cython VM: storage cells, the thunk base class, the VM.

Kernel packages (``symarray.kernels_c``, later ``kernels_gpu``) cimport this
file to implement thunks: a subclass of :class:`CyThunk` overrides ``run``,
reads its input cells' cached pointers and writes its output cells with
:func:`cell_set`.  The VM calls ``run`` through the C vtable; no Python call
is made for a C thunk.  The VM's profiled twin (``_cvm_profile.pxd``:
CyProfiledVM and its recorder CyProfile) subclasses CyVM and shares its
opcodes and cell helpers through this file.
"""

cimport numpy as cnp
from cpython.object cimport PyObject
from cpython.pythread cimport PyThread_type_lock
from cpython.ref cimport Py_INCREF, Py_XDECREF
from libc.stdint cimport int32_t, uint64_t


# Opcodes of the bytecode (the same numbers as symarray.vm.program.Opcode).
# Each instruction is three int32 words: (opcode, a, b).
cdef enum:
    OP_HALT = 0           # stop; the outputs are in their cells
    OP_CALL = 1           # run thunk a (node a of the schedule)
    OP_FREE = 2           # empty the cells listed at free_lists[a] (count first)
    OP_JUMP = 3           # continue at instruction a
    OP_JUMP_IF_FALSE = 4  # continue at instruction b when cell a holds a false value
    OP_LOOP = 5           # reserved for scan's inner loop (not implemented yet)

# Where a cell's array lives.
cdef enum:
    DEVICE_CPU = 0        # a NumPy array in host memory
    DEVICE_GPU = 1        # reserved: a CuPy array (kernels_gpu)


ctypedef struct CCell:
    PyObject* obj           # the value (an owned reference), NULL when empty
    char* data              # obj's data pointer when typenum >= 0, else NULL
    cnp.npy_intp* shape     # obj's shape (borrowed from obj; valid while obj is held)
    cnp.npy_intp* strides   # obj's strides in bytes (borrowed likewise)
    cnp.npy_intp size       # number of elements of obj (0 when typenum < 0)
    int typenum             # NumPy dtype number; -1: not an exact, aligned ndarray
                            # in native byte order (C thunks send it to perform)
    int ndim                # number of dimensions of obj (0 when typenum < 0)
    int flags               # obj's NumPy flags when set (C/F-contiguous, writeable...)
    int device              # DEVICE_CPU or DEVICE_GPU


cdef inline int cell_set(CCell* c, object value) except -1:
    """Store ``value`` in ``c`` (None empties it) and cache its array fields."""
    cdef PyObject* old = c.obj
    cdef cnp.ndarray arr
    if value is None:
        c.obj = NULL
    else:
        Py_INCREF(value)
        c.obj = <PyObject*>value
    if value is not None and cnp.PyArray_CheckExact(value):
        arr = <cnp.ndarray>value
        c.flags = cnp.PyArray_FLAGS(arr)
        if (c.flags & cnp.NPY_ARRAY_ALIGNED) and cnp.PyArray_ISNOTSWAPPED(arr):
            c.typenum = cnp.PyArray_TYPE(arr)
            c.data = <char*>cnp.PyArray_DATA(arr)
            c.ndim = cnp.PyArray_NDIM(arr)
            c.shape = cnp.PyArray_DIMS(arr)
            c.strides = cnp.PyArray_STRIDES(arr)
            c.size = cnp.PyArray_SIZE(arr)
        else:
            _cell_unusable(c)
    else:
        c.flags = 0
        _cell_unusable(c)
    c.device = DEVICE_CPU
    Py_XDECREF(old)  # last: a destructor may run Python code
    return 0


cdef inline void _cell_unusable(CCell* c) noexcept:
    c.typenum = -1
    c.data = NULL
    c.ndim = 0
    c.shape = NULL
    c.strides = NULL
    c.size = 0


cdef inline void cell_clear(CCell* c) noexcept:
    """Empty ``c`` (drop its reference)."""
    cdef PyObject* old = c.obj
    c.obj = NULL
    c.flags = 0
    _cell_unusable(c)
    Py_XDECREF(old)


cdef inline object cell_get(CCell* c):
    """The value held by ``c`` (None when empty)."""
    if c.obj == NULL:
        return None
    return <object>c.obj


cdef inline void cell_span(CCell* c, cnp.npy_intp itemsize, char** lo,
                           char** hi) noexcept:
    """The byte range ``[lo, hi)`` the array in ``c`` may touch (any strides,
    negative included); ``itemsize`` is the size of one element."""
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


cdef inline bint cells_overlap(CCell* a, cnp.npy_intp a_itemsize, CCell* b,
                               cnp.npy_intp b_itemsize) noexcept:
    """Whether the memory of the arrays in ``a`` and ``b`` may intersect
    (False when either is empty or not an array the thunks read): a kernel
    asks before writing an output in place of, or next to, an input."""
    cdef char* alo
    cdef char* ahi
    cdef char* blo
    cdef char* bhi
    if a.typenum < 0 or b.typenum < 0 or a.size == 0 or b.size == 0:
        return False
    cell_span(a, a_itemsize, &alo, &ahi)
    cell_span(b, b_itemsize, &blo, &bhi)
    return alo < bhi and blo < ahi


# The int32 data of ``arr`` as a C array: a contiguous int32 copy (one zero for
# an empty array) appended to ``keep``, which must outlive the pointer.
cdef int32_t* int32_pointer(object arr, list keep) except NULL
# The truth of JUMP_IF_FALSE's condition cell (a 0-d array, a NumPy or Python
# scalar); -1 with an exception set when the cell is empty.
cdef bint cell_true(CCell* c) except -1


cdef class CyStorage:
    # the arena: n cells, allocated once, never moved
    cdef CCell* cells
    # number of cells
    cdef readonly Py_ssize_t n
    # per cell: 1 when it holds a constant (never emptied)
    cdef unsigned char* is_constant
    # indices of the constant cells
    cdef readonly tuple constants
    cdef int _check(self, Py_ssize_t i) except -1
    cdef void clear_all(self, bint keep_constants) noexcept


cdef class CyThunk:
    # the Apply node this thunk runs
    cdef readonly object node
    # "py" (perform), "c" (kernels_c)...; shown by disassemble
    cdef readonly str backend
    # the arena the cell pointers below point into
    cdef readonly CyStorage storage
    # input cells, one per node input (NULL until bound)
    cdef CCell** ins
    # output cells, one per node output (NULL until bound)
    cdef CCell** outs
    # len(node.inputs)
    cdef readonly int nin
    # len(node.outputs)
    cdef readonly int nout
    # no-GC mode: outputs may reuse last call's buffers
    cdef readonly bint keep_buffers
    # compute the outputs from the inputs; -1 with an exception set
    cdef int run(self) except -1
    cdef int _check_bound(self) except -1


cdef class CyPyThunk(CyThunk):
    # node.op.perform
    cdef object perform
    # one [value] list per output, handed to perform
    cdef list out_storage


cdef class CyVM:
    # the symarray.vm.program.Program this VM runs
    cdef readonly object program
    # program.cells
    cdef readonly CyStorage storage
    # references to the int32 arrays below
    cdef object _keep
    # n_instr x 3 int32 words: (opcode, a, b)
    cdef int32_t* code
    # FREE operands: count, then cell indices
    cdef int32_t* free_lists
    # borrowed references to the thunks (a tuple in _keep holds them)
    cdef PyObject** thunks
    # len(program.thunks)
    cdef Py_ssize_t n_thunks
    # cell of each graph input
    cdef int32_t* input_cells
    # cell of each graph output
    cdef int32_t* output_cells
    # cells emptied after every call (inputs, outputs, their views)
    cdef int32_t* after_call
    # per input: dtype number the fast check wants (-2: none possible)
    cdef int32_t* input_typenum
    # per input: number of dimensions
    cdef int32_t* input_ndim
    # per input: NPY_MAXDIMS static lengths (-1: any)
    cdef int32_t* input_shape
    # number of graph inputs
    cdef Py_ssize_t n_inputs
    # number of graph outputs
    cdef Py_ssize_t n_outputs
    # number of cells in after_call
    cdef Py_ssize_t n_after_call
    # GC mode (intermediates freed by FREE instructions)
    cdef readonly bint allow_gc
    # every output is written by a C thunk (never aliases an argument)
    cdef readonly bint outputs_fresh
    # instruction being executed (the failing one after an error)
    cdef readonly Py_ssize_t pc
    # a call is running (set and tested under the GIL)
    cdef bint busy
    # threads waiting for the running call to end
    cdef int waiters
    # held while nobody waits; waiters block on it
    cdef PyThread_type_lock turnstile
    # thread id running the call (re-entrant calls are refused)
    cdef long owner
    # calls left to run without the buffer pool (see _pool_begin)
    cdef int pool_idle
    cdef int dispatch(self) except -1
    cdef _init_checks(self, program, list keep)
    cdef int _acquire(self) except -1
    cdef void _release(self) noexcept
    cdef int _run(self) except -1
    cdef object _pool_begin(self, uint64_t* allocs)
    cdef int _pool_end(self, object previous, uint64_t allocs) except -1
    cdef _failed(self, err)
    cdef void _clear_after_call(self) noexcept
    cdef int _set_inputs(self, object values, bint is_tuple) except -1
    cdef list _outputs(self)
    cdef bint _accepts(self, tuple args, bint check) noexcept
