"""Tests of symarray.kernels_c.codegen (run-time C code generation)."""
