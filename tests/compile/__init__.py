"""Tests of symarray.compile."""
