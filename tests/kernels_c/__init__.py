"""Tests of symarray.kernels_c."""
