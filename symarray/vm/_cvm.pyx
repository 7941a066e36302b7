# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The Cython VM: a storage arena, the thunk protocol and the dispatch loop.

Design (see ``_cvm.pxd`` for every field):

* :class:`CyStorage` is the arena of cells of one Program.  A cell owns one
  Python reference and caches the array's data pointer, dtype number, rank,
  shape and strides, so C thunks read them without touching Python objects.
  The arena is allocated once and never moved: thunks keep pointers into it.
* :class:`CyThunk` is the thunk base class.  ``run`` is a ``cdef`` method the
  VM calls through the C vtable; :class:`CyPyThunk` wraps an op's
  ``perform``; kernel packages subclass ``CyThunk`` for C kernels.  A thunk
  is made unbound by a factory and bound to its cells by the assembler.
* :class:`CyVM` runs a Program's bytecode (``program.code``, three int32
  words per instruction) in a ``cdef`` loop: CALL, FREE, JUMP,
  JUMP_IF_FALSE, HALT (LOOP is reserved for scan).  One call runs at a time
  per VM (per storage): a second thread waits (the GIL is released while
  it waits); a re-entrant call from the same thread is refused.  When a
  thunk fails, the exception gets the note of
  :func:`symarray.vm.pyvm.describe_failure` and is re-raised.
* ``fast_call`` is the path ``Function.__call__`` takes for positional
  calls: it checks exact ndarray arguments (the explicit inputs, then the
  shared values) in C, or trusts them, and runs the program without building
  intermediate Python lists.  Its ``check`` flags (``FAST_*``) say what to
  check; what it declines, Function converts and separates in Python.
* The profiled twin of :class:`CyVM` (``CyProfiledVM``, its recorder
  ``CyProfile``, the profiling clock) is :mod:`symarray.vm._cvm_profile`;
  it shares :func:`int32_pointer` and :func:`cell_true` through ``_cvm.pxd``.
"""

cimport numpy as cnp
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyObject
from cpython.pythread cimport (
    WAIT_LOCK,
    PyThread_acquire_lock,
    PyThread_allocate_lock,
    PyThread_free_lock,
    PyThread_get_thread_ident,
    PyThread_release_lock,
)
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
from libc.stdint cimport int32_t, uint64_t
from libc.string cimport memset

from symarray.vm._pool cimport pool_big_allocs, pool_enter, pool_exit

# a call without the pool (see CyVM._pool_begin)
cdef object _NOT_SAMPLED = object()

cdef enum:
    POOL_IDLE_CALLS = 63

import numpy as np

cnp.import_array()

#: opcode name -> number, as compiled into this module (checked against
#: symarray.vm.program.Opcode by the tests)
OPCODES = {"HALT": OP_HALT, "CALL": OP_CALL, "FREE": OP_FREE, "JUMP": OP_JUMP,
           "JUMP_IF_FALSE": OP_JUMP_IF_FALSE, "LOOP": OP_LOOP}

#: NumPy's limit on the number of dimensions, as compiled in
MAXDIMS = cnp.NPY_MAXDIMS

# ``fast_call`` check flags (``True`` is FAST_CHECK alone)
cdef enum:
    C_FAST_CHECK = 1
    C_FAST_GUARDED = 2
    C_FAST_SEPARATE = 4

#: check each argument: an exact ndarray of its input's dtype, rank and
#: static lengths (else decline); without FAST_GUARDED, also decline when an
#: output might alias an argument (``outputs_fresh`` false)
FAST_CHECK = C_FAST_CHECK
#: the caller guards the outputs against aliasing arguments itself
FAST_GUARDED = C_FAST_GUARDED
#: decline when the memory of two array arguments may overlap (the graph
#: overwrites an input, which must then be copied first)
FAST_SEPARATE = C_FAST_SEPARATE


# -- storage -----------------------------------------------------------------
cdef class CyStorage:
    """The cells of one Program: ``storage[i]`` is cell ``i``'s value (None
    when empty).  Constant cells are filled once and never emptied."""

    def __cinit__(self, Py_ssize_t n, constants=None):
        cdef Py_ssize_t i
        self.n = n
        self.cells = <CCell*>PyMem_Malloc(max(n, 1) * sizeof(CCell))
        self.is_constant = <unsigned char*>PyMem_Malloc(max(n, 1))
        if self.cells == NULL or self.is_constant == NULL:
            raise MemoryError()
        memset(self.cells, 0, max(n, 1) * sizeof(CCell))
        memset(self.is_constant, 0, max(n, 1))
        for i in range(n):
            cell_clear(&self.cells[i])
        consts = dict(constants or {})
        for i, value in consts.items():
            self._check(i)
            cell_set(&self.cells[i], value)
            self.is_constant[i] = 1
        self.constants = tuple(sorted(consts))

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self.cells != NULL:
            for i in range(self.n):
                cell_clear(&self.cells[i])
            PyMem_Free(self.cells)
            self.cells = NULL
        if self.is_constant != NULL:
            PyMem_Free(self.is_constant)
            self.is_constant = NULL

    cdef int _check(self, Py_ssize_t i) except -1:
        if not 0 <= i < self.n:
            raise IndexError(f"cell {i} out of range: the storage has {self.n} cells")
        return 0

    def __len__(self):
        return self.n

    def __getitem__(self, Py_ssize_t i):
        self._check(i)
        return cell_get(&self.cells[i])

    def __setitem__(self, Py_ssize_t i, value):
        self._check(i)
        if self.is_constant[i]:
            raise ValueError(f"cell {i} holds a constant; it cannot be changed")
        cell_set(&self.cells[i], value)

    def clear(self, Py_ssize_t i):
        """Empty cell ``i`` (constants stay)."""
        self._check(i)
        if not self.is_constant[i]:
            cell_clear(&self.cells[i])

    def clear_cells(self, cells):
        """Empty each cell in ``cells`` (constants stay)."""
        cdef Py_ssize_t i
        for i in cells:
            self.clear(i)

    cdef void clear_all(self, bint keep_constants) noexcept:
        cdef Py_ssize_t i
        for i in range(self.n):
            if not (keep_constants and self.is_constant[i]):
                cell_clear(&self.cells[i])

    def free(self):
        """Empty every cell except the constants."""
        self.clear_all(True)

    def values(self):
        """The values of all cells, in order (None for empty cells)."""
        return [cell_get(&self.cells[i]) for i in range(self.n)]

    def cached(self, Py_ssize_t i):
        """What the C side sees in cell ``i``: (typenum, ndim, shape, strides);
        typenum is -1 for values C thunks do not read directly."""
        self._check(i)
        cdef CCell* c = &self.cells[i]
        shape = tuple(c.shape[d] for d in range(c.ndim)) if c.typenum >= 0 else ()
        strides = tuple(c.strides[d] for d in range(c.ndim)) if c.typenum >= 0 else ()
        return c.typenum, c.ndim, shape, strides

    def __repr__(self):
        full = sum(1 for i in range(self.n) if self.cells[i].obj != NULL)
        return f"<CyStorage {self.n} cells, {full} full>"


# -- thunks ------------------------------------------------------------------
cdef class CyThunk:
    """Base class of thunks: ``run`` computes a node's outputs from its cells.

    Subclasses override the ``cdef int run(self) except -1`` method (C
    kernels) and are bound to their cells by :meth:`bind` before the first
    run.  Calling the thunk from Python (``thunk()``) runs it too; that is
    what the Python twin of the VM does.
    """

    def __cinit__(self, *args, **kwargs):
        self.ins = NULL
        self.outs = NULL
        self.backend = "?"

    def __init__(self, node):
        self.node = node
        self.nin = len(node.inputs)
        self.nout = len(node.outputs)

    def __dealloc__(self):
        PyMem_Free(self.ins)
        PyMem_Free(self.outs)

    def bind(self, CyStorage storage not None, in_cells, out_cells,
             bint keep_buffers=False):
        """Point the thunk at ``storage``'s cells ``in_cells``/``out_cells``.

        ``keep_buffers`` (no-GC mode): outputs may be written into the
        buffers the output cells still hold from the last call.
        """
        cdef Py_ssize_t i
        in_cells, out_cells = tuple(in_cells), tuple(out_cells)
        if len(in_cells) != self.nin or len(out_cells) != self.nout:
            raise ValueError(
                f"bind: {self.node} has {self.nin} inputs and {self.nout} outputs, "
                f"got {len(in_cells)} input and {len(out_cells)} output cells")
        PyMem_Free(self.ins)
        PyMem_Free(self.outs)
        self.ins = <CCell**>PyMem_Malloc(max(self.nin, 1) * sizeof(CCell*))
        self.outs = <CCell**>PyMem_Malloc(max(self.nout, 1) * sizeof(CCell*))
        if self.ins == NULL or self.outs == NULL:
            raise MemoryError()
        for i in range(self.nin):
            storage._check(in_cells[i])
            self.ins[i] = &storage.cells[<Py_ssize_t>in_cells[i]]
        for i in range(self.nout):
            storage._check(out_cells[i])
            self.outs[i] = &storage.cells[<Py_ssize_t>out_cells[i]]
        self.storage = storage
        self.keep_buffers = keep_buffers

    cdef int run(self) except -1:
        raise NotImplementedError(f"{type(self).__name__} does not define run()")

    cdef int _check_bound(self) except -1:
        if self.storage is None:
            raise RuntimeError(f"thunk for {self.node} is not bound to storage; "
                               "call bind() first")
        return 0

    def __call__(self):
        self._check_bound()
        self.run()

    def input_values(self):
        """The values in the thunk's input cells."""
        self._check_bound()
        return [cell_get(self.ins[i]) for i in range(self.nin)]

    def output_values(self):
        """The values in the thunk's output cells."""
        self._check_bound()
        return [cell_get(self.outs[i]) for i in range(self.nout)]

    def __repr__(self):
        return f"<{type(self).__name__} [{self.backend}] {self.node}>"


cdef class CyPyThunk(CyThunk):
    """Runs ``node.op.perform`` over the thunk's cells (a Python thunk).

    In no-GC mode ``output_storage[j][0]`` holds the output's value from the
    last call when ``perform`` starts (Theano's convention: an op may write
    into it); in GC mode it is None.
    """

    def __init__(self, node):
        CyThunk.__init__(self, node)
        self.perform = node.op.perform
        self.backend = "py"
        self.out_storage = [[None] for _ in range(self.nout)]

    cdef int run(self) except -1:
        cdef Py_ssize_t i
        cdef list storage = self.out_storage
        inputs = [cell_get(self.ins[i]) for i in range(self.nin)]
        for i in range(self.nout):
            (<list>storage[i])[0] = (
                cell_get(self.outs[i]) if self.keep_buffers else None)
        try:
            self.perform(self.node, inputs, storage)
            for i in range(self.nout):
                cell_set(self.outs[i], (<list>storage[i])[0])
        finally:
            for i in range(self.nout):
                (<list>storage[i])[0] = None
        return 0


# -- the VM ------------------------------------------------------------------
cdef int32_t* int32_pointer(object arr, list keep) except NULL:
    a = np.ascontiguousarray(arr, dtype=np.int32)
    if a.size == 0:
        a = np.zeros(1, dtype=np.int32)
    keep.append(a)
    return <int32_t*>cnp.PyArray_DATA(<cnp.ndarray>a)


def _check_code(code, free_lists, Py_ssize_t n_thunks, Py_ssize_t n_cells):
    """Refuse bytecode whose operands point outside the program (the dispatch
    loop does not check them)."""
    n = len(code)
    for pc, (op, a, b) in enumerate(code.tolist()):
        if op == OP_CALL and not 0 <= a < n_thunks:
            raise ValueError(f"program.code calls a thunk that does not exist "
                             f"(instruction {pc}: CALL {a}, {n_thunks} thunks)")
        if op == OP_FREE:
            if not 0 <= a < len(free_lists) or a + free_lists[a] >= len(free_lists):
                raise ValueError(f"instruction {pc}: FREE {a} is outside free_lists")
            cells = free_lists[a + 1:a + 1 + free_lists[a]]
            if cells.size and (cells.min() < 0 or cells.max() >= n_cells):
                raise ValueError(f"instruction {pc}: FREE {a} names a missing cell")
        if op in (OP_JUMP, OP_JUMP_IF_FALSE):
            target = a if op == OP_JUMP else b
            if not 0 <= target < n:
                raise ValueError(f"instruction {pc} jumps to {target}, outside the "
                                 f"{n} instructions")
            if op == OP_JUMP_IF_FALSE and not 0 <= a < n_cells:
                raise ValueError(f"instruction {pc} tests cell {a}, which does not "
                                 "exist")


cdef inline void _array_span(cnp.ndarray a, char** lo, char** hi) noexcept:
    """The byte range ``[lo, hi)`` that the non-empty array ``a`` may touch."""
    cdef int d
    cdef cnp.npy_intp step
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(a)
    cdef cnp.npy_intp* strides = cnp.PyArray_STRIDES(a)
    lo[0] = <char*>cnp.PyArray_DATA(a)
    hi[0] = lo[0] + cnp.PyArray_ITEMSIZE(a)
    for d in range(cnp.PyArray_NDIM(a)):
        step = (dims[d] - 1) * strides[d]
        if step < 0:
            lo[0] += step
        else:
            hi[0] += step


cdef bint _args_overlap(tuple args) noexcept:
    """Whether two non-empty arrays of ``args`` (exact ndarrays, checked by
    the caller) may share memory (the test of ``np.may_share_memory``)."""
    cdef Py_ssize_t i, j, n = PyTuple_GET_SIZE(args)
    cdef char* alo
    cdef char* ahi
    cdef char* blo
    cdef char* bhi
    for i in range(n):
        a = <cnp.ndarray>PyTuple_GET_ITEM(args, i)
        if cnp.PyArray_SIZE(a) == 0:
            continue
        _array_span(a, &alo, &ahi)
        for j in range(i + 1, n):
            b = <cnp.ndarray>PyTuple_GET_ITEM(args, j)
            if cnp.PyArray_SIZE(b) == 0:
                continue
            _array_span(b, &blo, &bhi)
            if alo < bhi and blo < ahi:
                return True
    return False


cdef bint _fast_accepts(CyVM vm, tuple args, int check) noexcept:
    """``fast_call``'s test of ``args`` under the ``FAST_*`` flags ``check``."""
    cdef Py_ssize_t i, d
    cdef int32_t want
    cdef cnp.npy_intp* dims
    if PyTuple_GET_SIZE(args) != vm.n_inputs:
        return False
    if not check:
        return True
    if not (check & C_FAST_GUARDED) and not vm.outputs_fresh:
        return False
    for i in range(vm.n_inputs):
        value = <object>PyTuple_GET_ITEM(args, i)
        if not cnp.PyArray_CheckExact(value):
            return False
        if (cnp.PyArray_TYPE(<cnp.ndarray>value) != vm.input_typenum[i]
                or cnp.PyArray_NDIM(<cnp.ndarray>value) != vm.input_ndim[i]):
            return False
        dims = cnp.PyArray_DIMS(<cnp.ndarray>value)
        for d in range(vm.input_ndim[i]):
            want = vm.input_shape[i * cnp.NPY_MAXDIMS + d]
            if want >= 0 and dims[d] != want:
                return False
    if check & C_FAST_SEPARATE and _args_overlap(args):
        return False
    return True


cdef class CyVM:
    """Runs a Program's bytecode in Cython (linkers ``cvm`` and ``c|py``).

    ``vm(input_values)`` returns the list of output values; afterwards the
    VM holds no reference to the arguments or the results (the cells of
    ``program.after_call`` are emptied).  In no-GC mode intermediates stay
    in their cells so that C thunks write into last call's buffers.
    """

    def __cinit__(self, *args, **kwargs):
        self.turnstile = PyThread_allocate_lock()
        if self.turnstile == NULL:
            raise MemoryError()
        PyThread_acquire_lock(self.turnstile, WAIT_LOCK)  # waiters block on it
        self.thunks = NULL

    def __dealloc__(self):
        if self.turnstile != NULL:
            PyThread_release_lock(self.turnstile)
            PyThread_free_lock(self.turnstile)
        PyMem_Free(self.thunks)

    def __init__(self, program):
        cdef Py_ssize_t i
        cdef list keep = []
        self._keep = keep  # owns every array the pointers below point into
        self.program = program
        self.storage = program.cells
        code = np.ascontiguousarray(program.code, dtype=np.int32)
        if code.ndim != 2 or code.shape[1] != 3:
            raise ValueError(f"program.code must be an (n, 3) int32 array, got shape "
                             f"{code.shape}")
        if code.shape[0] == 0 or code[-1, 0] != OP_HALT:
            raise ValueError("program.code must end with HALT")
        self.code = int32_pointer(code, keep)
        self.free_lists = int32_pointer(program.free_lists, keep)
        thunks = tuple(program.thunks)
        for t in thunks:
            if not isinstance(t, CyThunk):
                raise TypeError(f"CyVM runs CyThunk objects, got {t!r}")
            (<CyThunk>t)._check_bound()
            if (<CyThunk>t).storage is not self.storage:
                raise ValueError(f"{t!r} is bound to another storage than "
                                 "program.cells")
        self.n_thunks = len(thunks)
        self.thunks = <PyObject**>PyMem_Malloc(
            max(self.n_thunks, 1) * sizeof(PyObject*))
        if self.thunks == NULL:
            raise MemoryError()
        for i in range(self.n_thunks):
            self.thunks[i] = <PyObject*>thunks[i]
        keep.append(thunks)
        _check_code(code, np.ascontiguousarray(program.free_lists, dtype=np.int32),
                    self.n_thunks, self.storage.n)
        for name in ("input_cells", "output_cells", "after_call"):
            cells = list(getattr(program, name))
            if cells and not (0 <= min(cells) and max(cells) < self.storage.n):
                raise ValueError(f"program.{name} names a cell that does not exist")
        self.n_inputs = len(program.input_cells)
        self.n_outputs = len(program.output_cells)
        self.input_cells = int32_pointer(program.input_cells, keep)
        self.output_cells = int32_pointer(program.output_cells, keep)
        self.after_call = int32_pointer(program.after_call, keep)
        self.n_after_call = len(program.after_call)
        self._init_checks(program, keep)
        self.allow_gc = program.allow_gc
        self.outputs_fresh = program.outputs_fresh
        self.pc = -1

    cdef _init_checks(self, program, list keep):
        """Per input: the exact dtype number, rank and static lengths that
        ``fast_call(check=True)`` accepts without conversion."""
        n = self.n_inputs
        typenum = np.full(n, -2, dtype=np.int32)
        ndim = np.zeros(n, dtype=np.int32)
        shape = np.full((n, cnp.NPY_MAXDIMS), -1, dtype=np.int32)
        for i, var in enumerate(program.inputs):
            t = var.type
            dtype = getattr(t, "dtype", None)
            static = getattr(t, "shape", None)
            if dtype is None or static is None or len(static) > cnp.NPY_MAXDIMS:
                continue
            try:
                typenum[i] = np.dtype(dtype).num
            except TypeError:
                continue
            ndim[i] = len(static)
            for d, s in enumerate(static):
                if s is not None:
                    shape[i, d] = s
        self.input_typenum = int32_pointer(typenum, keep)
        self.input_ndim = int32_pointer(ndim, keep)
        self.input_shape = int32_pointer(shape, keep)

    # -- locking ---------------------------------------------------------------
    # One call at a time per VM.  The uncontended case costs two int stores:
    # ``busy`` is tested and set while this thread holds the GIL, so no other
    # thread runs in between (this relies on the GIL).  A thread finding the
    # VM busy counts itself in ``waiters`` and blocks on ``turnstile`` (a lock
    # kept locked) with the GIL released; ``_release`` then hands the VM over
    # by releasing the turnstile once, leaving ``busy`` set, so exactly one
    # waiter proceeds.
    cdef int _acquire(self) except -1:
        cdef long me
        if not self.busy:
            self.busy = True
            self.owner = PyThread_get_thread_ident()
            return 0
        me = PyThread_get_thread_ident()
        if self.owner == me:
            raise RuntimeError(
                "a compiled function was called again while it runs (from one of its "
                "own ops); use Function.copy() for a function with its own storage")
        self.waiters += 1
        with nogil:
            PyThread_acquire_lock(self.turnstile, WAIT_LOCK)
        self.owner = me  # handed over: busy is still set
        return 0

    cdef void _release(self) noexcept:
        self.owner = 0
        if self.waiters:
            self.waiters -= 1
            PyThread_release_lock(self.turnstile)
        else:
            self.busy = False

    # -- running ---------------------------------------------------------------
    cdef int dispatch(self) except -1:
        """Run the bytecode from instruction 0 to HALT."""
        cdef int32_t* code = self.code
        cdef int32_t* ins
        cdef int32_t* lst
        cdef CCell* cells = self.storage.cells
        cdef Py_ssize_t pc = 0
        cdef int32_t j, n
        while True:
            ins = code + 3 * pc
            if ins[0] == OP_CALL:
                self.pc = pc
                (<CyThunk>self.thunks[ins[1]]).run()
                pc += 1
            elif ins[0] == OP_FREE:
                lst = self.free_lists + ins[1]
                n = lst[0]
                for j in range(1, n + 1):
                    cell_clear(&cells[lst[j]])
                pc += 1
            elif ins[0] == OP_HALT:
                self.pc = -1
                return 0
            elif ins[0] == OP_JUMP:
                pc = ins[1]
            elif ins[0] == OP_JUMP_IF_FALSE:
                self.pc = pc
                if cell_true(&cells[ins[1]]):
                    pc += 1
                else:
                    pc = ins[2]
            else:
                self.pc = pc
                raise NotImplementedError(
                    f"opcode {ins[0]} at instruction {pc} is not implemented")

    cdef int _run(self) except -1:
        """dispatch(), with the buffer pool as NumPy's allocator when this
        program needs it; on failure add the node's note and empty the cells."""
        cdef uint64_t allocs = 0
        cdef object previous = self._pool_begin(&allocs)
        try:
            self.dispatch()
        except BaseException as err:
            self._failed(err)
            raise
        finally:
            self._pool_end(previous, allocs)
        return 0

    # -- the buffer pool (symarray.vm._pool) -------------------------------------
    # Setting NumPy's allocator costs two context-variable writes (~0.2 us),
    # as much as a whole call of a small function.  So a VM samples: a call
    # runs with the pool, and when it allocated no large block the next
    # POOL_IDLE_CALLS calls run without it.  A program with large
    # intermediates keeps the pool on every call.

    cdef object _pool_begin(self, uint64_t* allocs):
        if self.pool_idle > 0:
            self.pool_idle -= 1
            return _NOT_SAMPLED
        allocs[0] = pool_big_allocs()
        return pool_enter()

    cdef int _pool_end(self, object previous, uint64_t allocs) except -1:
        if previous is _NOT_SAMPLED:
            return 0
        pool_exit(previous)
        if pool_big_allocs() == allocs:
            self.pool_idle = POOL_IDLE_CALLS
        return 0

    cdef _failed(self, err):
        cdef Py_ssize_t pc = self.pc
        try:
            if isinstance(err, Exception) and pc >= 0:
                from symarray.vm.pyvm import add_failure_note

                op, a, _ = self.program.code[pc]
                if op == OP_CALL:
                    add_failure_note(err, self.program, int(a))
        finally:
            if self.allow_gc:
                self.storage.clear_all(True)
            else:
                self._clear_after_call()

    cdef void _clear_after_call(self) noexcept:
        cdef Py_ssize_t i
        cdef CCell* cells = self.storage.cells
        for i in range(self.n_after_call):
            if not self.storage.is_constant[self.after_call[i]]:
                cell_clear(&cells[self.after_call[i]])

    cdef int _set_inputs(self, object values, bint is_tuple) except -1:
        cdef Py_ssize_t i
        cdef CCell* cells = self.storage.cells
        if is_tuple:
            for i in range(self.n_inputs):
                cell_set(&cells[self.input_cells[i]],
                         <object>PyTuple_GET_ITEM(values, i))
        else:
            for i in range(self.n_inputs):
                cell_set(&cells[self.input_cells[i]], values[i])
        return 0

    cdef list _outputs(self):
        cdef Py_ssize_t i
        cdef CCell* cells = self.storage.cells
        return [cell_get(&cells[self.output_cells[i]]) for i in range(self.n_outputs)]

    def __call__(self, input_values):
        """Run the program on ``input_values`` (one per graph input, then the
        shared values); return the list of output values."""
        if len(input_values) != self.n_inputs:
            raise TypeError(f"the program takes {self.n_inputs} input values, got "
                            f"{len(input_values)}")
        self._acquire()
        try:
            self._set_inputs(input_values, False)
            self._run()
            results = self._outputs()
            self._clear_after_call()
        finally:
            self._release()
        return results

    def fast_call(self, tuple args, int check):
        """Run on ``args`` (the graph inputs, in order) and return the list of
        outputs, or ``NotImplemented`` when ``check`` (``FAST_*`` flags;
        ``True`` is ``FAST_CHECK``) has it check the arguments and one is
        not an exact ndarray of its input's dtype, rank and static shape
        (or an output might alias an argument, or, with ``FAST_SEPARATE``,
        two arguments may share memory): the caller then converts the
        arguments and calls the VM itself."""
        if not _fast_accepts(self, args, check):
            return NotImplemented
        self._acquire()
        try:
            self._set_inputs(args, True)
            self._run()
            results = self._outputs()
            self._clear_after_call()
        finally:
            self._release()
        return results

    def fast_call1(self, tuple args, int check):
        """:meth:`fast_call` returning the first output alone."""
        cdef CCell* cells = self.storage.cells
        if self.n_outputs < 1 or not _fast_accepts(self, args, check):
            return NotImplemented
        self._acquire()
        try:
            self._set_inputs(args, True)
            self._run()
            result = cell_get(&cells[self.output_cells[0]])
            self._clear_after_call()
        finally:
            self._release()
        return result

    cdef bint _accepts(self, tuple args, bint check) noexcept:
        return _fast_accepts(self, args, C_FAST_CHECK if check else 0)

    def run(self):
        """Run the program on the values already in the input cells, leaving
        every cell as it is (for tests and benchmarks of the VM alone)."""
        self._acquire()
        try:
            self._run()
        finally:
            self._release()

    def set_input(self, Py_ssize_t i, value):
        """Put ``value`` in the cell of input ``i``."""
        if not 0 <= i < self.n_inputs:
            raise IndexError(f"input {i} out of range ({self.n_inputs} inputs)")
        cell_set(&self.storage.cells[self.input_cells[i]], value)

    def outputs(self):
        """The values in the output cells."""
        return self._outputs()

    def free(self):
        """Empty every cell except constants (no-GC mode's kept buffers)."""
        self._acquire()
        try:
            self.storage.clear_all(True)
        finally:
            self._release()

    def __repr__(self):
        gc = "on" if self.allow_gc else "off"
        return (f"<CyVM {len(self.program.nodes)} nodes, {self.storage.n} cells, "
                f"gc {gc}>")


cdef bint cell_true(CCell* c) except -1:
    """Truth of a condition cell (a 0-d array, a NumPy or Python scalar)."""
    if c.obj == NULL:
        raise RuntimeError("JUMP_IF_FALSE reads an empty cell")
    if c.typenum == cnp.NPY_BOOL and c.size == 1:
        return c.data[0] != 0
    return bool(<object>c.obj)
