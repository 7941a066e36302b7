"""Virtual machines that run scheduled graphs (Programs)."""

from symarray.vm.program import Program, build_program, disassemble
from symarray.vm.pyvm import PyVM, describe_failure, make_py_thunk

__all__ = ["Program", "build_program", "disassemble", "PyVM", "describe_failure",
           "make_py_thunk"]
