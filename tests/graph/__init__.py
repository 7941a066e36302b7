"""Tests of symarray.graph."""
