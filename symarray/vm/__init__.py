"""Virtual machines that run scheduled graphs (Programs).

``assembler.build_program`` turns a schedule into a :class:`Program`
(bytecode, thunks, storage cells); :class:`CyVM` runs it in Cython and
:class:`PyVM` (the Python twin) runs the same Program in Python.
"""

from symarray.vm._cvm import CyPyThunk, CyStorage, CyThunk, CyVM
from symarray.vm.assembler import build_program
from symarray.vm.program import Opcode, Program, disassemble
from symarray.vm.pyvm import PyVM, add_failure_note, describe_failure, make_py_thunk

__all__ = ["Program", "Opcode", "build_program", "disassemble", "PyVM", "CyVM",
           "CyThunk", "CyPyThunk", "CyStorage", "describe_failure",
           "add_failure_note", "make_py_thunk"]
