"""Tests of symarray.vm."""
