# cython: language_level=3, boundscheck=False, wraparound=False
"""The C thunk of a lazy ``ifelse``'s select (:class:`CyIfElseThunk`).

The assembler lays each branch out in its own block behind
``JUMP_IF_FALSE``/``JUMP``; the ``IfElse`` node itself runs after the
blocks and only selects: each output cell takes the array held by the
taken branch's input cell (the outputs are views of the inputs in the op's
``view_map``).  This thunk does that without a Python call: it reads the
condition cell (a 0-d bool array, what ``T.gt`` and friends give, is read
in C; anything else through its truth value) and copies cell references.
No Python object is created, so a lazy ``ifelse`` costs the taken branch
plus a few nanoseconds.
"""

cimport numpy as cnp
from cpython.object cimport PyObject, PyObject_IsTrue

from symarray.vm._cvm cimport CCell, CyThunk, cell_set

cnp.import_array()


cdef class CyIfElseThunk(CyThunk):
    """Selects the taken branch's values of an ``IfElse`` node (backend ``"c"``).

    Inputs: the condition, ``n`` then-values, ``n`` else-values; outputs:
    ``n`` values.  An empty taken-branch cell (a scheduling bug) raises
    RuntimeError, as the op's ``perform`` does.
    """

    cdef int n  # number of outputs (values per branch)

    def __init__(self, node):
        CyThunk.__init__(self, node)
        if self.nin != 1 + 2 * self.nout or self.nout < 1:
            raise ValueError(f"CyIfElseThunk: {node} must have 1 + 2n inputs and n "
                             f"outputs, got {self.nin} inputs and {self.nout} outputs")
        self.n = self.nout
        self.backend = "c"

    cdef int run(self) except -1:
        cdef CCell* cond = self.ins[0]
        cdef CCell* src
        cdef CCell* out
        cdef int i, first, truth
        if cond.obj == NULL:
            raise RuntimeError(f"{self.node.op}: the condition was not computed "
                               "(a scheduling bug)")
        if cond.typenum == cnp.NPY_BOOL and cond.size == 1:
            truth = cond.data[0] != 0
        else:
            truth = PyObject_IsTrue(<object>cond.obj)
            if truth < 0:
                return -1
        first = 1 if truth else 1 + self.n
        for i in range(self.n):
            src = self.ins[first + i]
            out = self.outs[i]
            if src.obj == NULL:
                raise RuntimeError(f"{self.node.op}: the taken branch's value {i} was "
                                   "not computed (a scheduling bug)")
            if out.obj != src.obj:
                cell_set(out, <object>src.obj)
        return 0
