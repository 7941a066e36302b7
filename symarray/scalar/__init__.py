"""Scalar ops: one table row each (NumPy, C and CUDA expression, gradient)."""

from symarray.scalar.basic import ScalarOp, ScalarRow, upgrade_to_float
from symarray.scalar.table import ROWS, SCALAR_OPS, get_scalar_op

__all__ = ["ScalarOp", "ScalarRow", "upgrade_to_float", "ROWS", "SCALAR_OPS",
           "get_scalar_op"]
