# cython: language_level=3
"""The block interpreter's C API (``_interp.h``, ``_loops.h``) and the code
that loads a scalar :class:`symarray.kernels_c.program.Program` into it;
cimport to use them (``_composite``, ``_blas_stream``, ``_reduce``).

Key decisions:

* The header's table and loops are ``static``: every extension that
  cimports this compiles its own copy, and a program's loop numbers index
  the importing module's ``sc_table`` (``loop_table()`` in each module
  lists them; they agree because they come from one header).
* The helpers are ``inline``: each module compiles its own copy, so there
  is no extension module behind this file and nothing to import at run time.
* A program's blocks are one allocation: the constants' blocks (shared by
  the threads, filled once), then per thread the inputs' blocks and the
  temporaries' slots (see :func:`sc_exec_load`).
"""

cimport numpy as cnp
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int32_t
from libc.string cimport memcpy

cdef extern from "_interp.h" nogil:
    enum:
        SC_BLOCK          # elements per block (each register holds one)
        SC_BLOCK_BYTES    # bytes per block (SC_BLOCK 8-byte values)
        SC_MAXD           # most dimensions of an iteration space

    # one typed loop over n elements: z = op(x, y, w), unused operands repeat x
    ctypedef void (*sc_loop)(char* z, const char* x, const char* y, const char* w,
                             cnp.npy_intp n)

    ctypedef struct sc_instr:
        sc_loop fn                # the loop
        int32_t dst               # the register written
        int32_t a                 # the registers read (an unused one repeats a)
        int32_t b                 # second operand
        int32_t c                 # third operand (switch values)

    ctypedef struct sc_entry:
        const char* name          # the scalar op's name, or "cast"
        int kind                  # 0 same, 1 pred, 2 switch, 3 cast
        int tin                   # NumPy type number of the inputs
        int tout                  # NumPy type number of the output
        int nin                   # number of inputs
        sc_loop fn                # the loop

    # every loop, in the order program.py numbers them (ends with a NULL row)
    const sc_entry* sc_table
    # the number of loops in sc_table
    Py_ssize_t sc_n_loops()

    ctypedef struct sc_exec:
        int n_instr               # instructions
        int nin                   # input registers (the first ones)
        int nout                  # outputs
        int n_regs                # registers: inputs, constants, temporaries
        int nthreads              # threads with their own registers
        const sc_instr* code      # n_instr instructions
        const int32_t* out_reg    # nout: the register each output reads
        void** home               # nthreads x n_regs: each register's block
        void** regs               # nthreads x n_regs: pointers during a run
        const char** filled       # nthreads x nin: element a block holds
        int* status               # nthreads: sc_status after a run
        int checked               # a loop may set sc_status (integer powers)
        int flat                  # 1-d, contiguous operands: sc_run_flat
        int nd                    # rank of the coalesced iteration space
        cnp.npy_intp shape[SC_MAXD]   # its shape
        cnp.npy_intp* strides     # (nin + nout) x SC_MAXD byte strides
        char** base               # nin + nout data pointers
        int* isize                # nin + nout item sizes
        unsigned char* direct     # nout: may be written in place of its register

    # drop length-1 dimensions and merge neighbours whose strides line up for
    # all nops operands; returns the new rank (>= 1)
    int sc_coalesce(int nops, int ndim, cnp.npy_intp* shape, cnp.npy_intp* strides)
    # run the program over elements [begin, end) with thread t's registers
    void sc_run_range(sc_exec* e, cnp.npy_intp begin, cnp.npy_intp end, int t)


cdef inline list sc_loop_list():
    """Every loop of this module's table: ``(name, kind, tin, tout, nin)``, kind
    ``"same"``, ``"pred"``, ``"switch"`` or ``"cast"``; a loop's number is its
    position."""
    kinds = ("same", "pred", "switch", "cast")
    return [(sc_table[k].name.decode(), kinds[sc_table[k].kind], sc_table[k].tin,
             sc_table[k].tout, sc_table[k].nin) for k in range(sc_n_loops())]


cdef inline tuple sc_read_program(object program, int nin, str who):
    """Check ``program``'s numbers for ``nin`` inputs against this module's
    loops; returns ``(code, reg_types, slot_of, out_regs, n_slots)``: ``code``
    an int32 ``(n, 5)`` C-contiguous array (loop, dst, a, b, c), the others
    ints.  A mismatch raises ValueError naming ``who``."""
    import numpy as np

    code = np.ascontiguousarray(program.code, dtype=np.int32).reshape(-1, 5)
    reg_types = [int(x) for x in program.reg_types]
    slot_of = [int(x) for x in program.slot_of]
    out_regs = [int(x) for x in program.out_regs]
    n_regs, n_slots = len(reg_types), int(program.n_slots)
    n_const = len(program.constants)
    # (plain loops: a generator cannot live in a .pxd's inline function)
    bad_out = len(slot_of) != n_regs
    for r in out_regs:
        bad_out = bad_out or not 0 <= r < n_regs
    bad_slot = False
    for s in slot_of[nin + n_const:]:
        bad_slot = bad_slot or not 0 <= s < n_slots
    if bad_out:
        raise ValueError(f"{who}: out_regs {out_regs} or slot_of (length "
                         f"{len(slot_of)}) do not match the {n_regs} registers")
    if code.size and (code[:, 0].min() < 0 or code[:, 0].max() >= sc_n_loops()
                      or code[:, 1:].min() < 0 or code[:, 1:].max() >= n_regs):
        raise ValueError(f"{who}: a loop or register number is out of range "
                         f"({sc_n_loops()} loops, {n_regs} registers); was the "
                         "program built for this module's loop_table()?")
    if bad_slot:
        raise ValueError(f"{who}: a slot number is out of range (n_slots "
                         f"{n_slots}, slot_of {slot_of})")
    return code, reg_types, slot_of, out_regs, n_slots


cdef inline void sc_load_code(sc_instr* dst, cnp.ndarray code) noexcept:
    """Instructions from ``code`` as :func:`sc_read_program` returns it."""
    cdef const int32_t* row = <const int32_t*>cnp.PyArray_DATA(code)
    cdef Py_ssize_t k
    for k in range(cnp.PyArray_DIM(code, 0)):
        dst[k].fn = sc_table[row[0]].fn
        dst[k].dst = row[1]
        dst[k].a = row[2]
        dst[k].b = row[3]
        dst[k].c = row[4]
        row += 5


cdef inline int sc_load_constants(char* blocks, object program, list reg_types,
                                  int nin) except -1:
    """Fill one block (``SC_BLOCK_BYTES`` apart) per constant of ``program``
    with ``SC_BLOCK`` copies of it; constant ``k`` is register ``nin + k``."""
    import numpy as np

    cdef cnp.ndarray value
    cdef Py_ssize_t k
    for k in range(len(program.constants)):
        value = np.full(SC_BLOCK, program.constants[k],
                        dtype=cnp.PyArray_DescrFromType(reg_types[nin + k]))
        memcpy(blocks + k * SC_BLOCK_BYTES, cnp.PyArray_DATA(value),
               SC_BLOCK * cnp.PyArray_ITEMSIZE(value))
    return 0


cdef inline tuple sc_exec_load(sc_exec* e, char** scratch, object program,
                               int nin, int nout, int nthreads, str who):
    """Load ``program`` (checked, see :func:`sc_read_program`) into ``e`` for
    ``nin`` inputs, ``nout`` outputs and ``nthreads`` threads.

    Allocates ``e.code``, ``e.home``, ``e.regs``, ``e.filled``, ``e.status``
    and ``scratch[0]`` (every block: the constants', then per thread the
    inputs' and the temporaries'), fills the code, the constants and each
    thread's register homes, and sets ``n_instr``, ``nin``, ``nout``,
    ``n_regs``, ``nthreads`` and ``checked``.  The caller sets ``out_reg``,
    ``strides``, ``base``, ``isize``, ``direct`` and the run's fields, and
    frees with :func:`sc_exec_free` (also after an error here).  Returns
    ``(out_regs, n_const)``.
    """
    cdef int t, r, n_regs, n_slots, n_const
    cdef Py_ssize_t k, per_thread
    cdef sc_instr* instr
    code, reg_types, slot_of, out_regs, n_slots = sc_read_program(program, nin, who)
    if len(out_regs) != nout:
        raise ValueError(f"{who}: the program has {len(out_regs)} outputs, the "
                         f"node {nout}")
    n_regs = len(reg_types)
    n_const = len(program.constants)
    per_thread = nin + n_slots
    instr = <sc_instr*>PyMem_Malloc(max(code.shape[0], 1) * sizeof(sc_instr))
    e.code = instr
    e.home = <void**>PyMem_Malloc(max(nthreads * n_regs, 1) * sizeof(void*))
    e.regs = <void**>PyMem_Malloc(max(nthreads * n_regs, 1) * sizeof(void*))
    e.filled = <const char**>PyMem_Malloc(nthreads * max(nin, 1) * sizeof(char*))
    e.status = <int*>PyMem_Malloc(nthreads * sizeof(int))
    scratch[0] = <char*>PyMem_Malloc(
        max(n_const + nthreads * per_thread, 1) * SC_BLOCK_BYTES)
    if (instr == NULL or e.home == NULL or e.regs == NULL or e.filled == NULL
            or e.status == NULL or scratch[0] == NULL):
        raise MemoryError()
    sc_load_code(instr, code)
    sc_load_constants(scratch[0], program, reg_types, nin)
    for t in range(nthreads):
        for r in range(n_regs):
            if r < nin:
                k = n_const + t * per_thread + r
            elif r < nin + n_const:
                k = r - nin
            else:
                k = n_const + t * per_thread + nin + slot_of[r]
            e.home[t * n_regs + r] = scratch[0] + k * SC_BLOCK_BYTES
    e.n_instr = code.shape[0]
    e.nin = nin
    e.nout = nout
    e.n_regs = n_regs
    e.nthreads = nthreads
    e.checked = bool(program.checked)
    return out_regs, n_const


cdef inline void sc_exec_free(sc_exec* e, char* scratch) noexcept:
    """Free what :func:`sc_exec_load` allocated (NULL pointers are fine)."""
    PyMem_Free(<sc_instr*>e.code)
    PyMem_Free(e.home)
    PyMem_Free(e.regs)
    PyMem_Free(e.filled)
    PyMem_Free(e.status)
    PyMem_Free(scratch)
