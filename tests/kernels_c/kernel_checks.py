"""Shared helpers of the elementwise kernel tests: run a node's C thunk on a
storage arena, run its ``perform``, compare the two, make test values.

Tolerances reflect the kernels' math: glibc's vector functions (libmvec)
are accurate to 4 ulp and NumPy's own to a few ulp, so float results are
compared with a relative tolerance of a few float32/float64 epsilons
(scaled up for long programs) plus an absolute slack of the same size
relative to the largest finite value (cancellation).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symarray import kernels_c
from symarray.kernels_c._composite import CyCompositeThunk
from symarray.vm import CyStorage

INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
FLOATS = ["float32", "float64"]
DTYPES = ["bool", *INTS, *FLOATS]

#: inputs in each op's domain (besides NaN and infinities)
DOMAIN = {"log": "pos", "log2": "pos", "log10": "pos", "sqrt": "pos",
          "log1p": "pos", "arccosh": "ge1", "arcsin": "unit", "arccos": "unit",
          "arctanh": "unit", "pow": "pos", "erfinv": "unit", "erfcinv": "two",
          "log1mexp": "neg", "gamma": "pos", "gammaln": "pos"}

SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 2.0]


def values(dtype: str, shape: Any, rng: np.random.Generator,
           domain: str | None = None) -> np.ndarray:
    """Random values of ``dtype`` (floats in ``domain``)."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return rng.integers(max(info.min, -50), min(info.max, 50), shape,
                            endpoint=True).astype(dt)
    lo, hi = {"pos": (0.1, 3.0), "ge1": (1.0, 4.0), "unit": (-0.9, 0.9),
              "two": (0.05, 1.95), "neg": (-3.0, -0.05)}.get(domain or "", (-3, 3))
    return rng.uniform(lo, hi, shape).astype(dt)


def run_thunk(node: Any, args: list[Any], keep_buffers: bool = False,
              storage: Any = None, thunk: Any = None) -> tuple[Any, Any, list[Any]]:
    """Run the C thunk of ``node`` on ``args``; (thunk, storage, outputs)."""
    nin, nout = len(node.inputs), len(node.outputs)
    if thunk is None:
        thunk = kernels_c.make_thunk(node)
        assert isinstance(thunk, CyCompositeThunk) and thunk.backend == "c", node
        storage = CyStorage(nin + nout)
        thunk.bind(storage, range(nin), range(nin, nin + nout), keep_buffers)
    for i, a in enumerate(args):
        storage[i] = a
    thunk()
    return thunk, storage, [storage[nin + k] for k in range(nout)]


def perform(node: Any, args: list[Any]) -> list[Any]:
    """The node's outputs computed by ``perform`` on copies of ``args``."""
    out: list[list[Any]] = [[None] for _ in node.outputs]
    with np.errstate(all="ignore"):
        node.op.perform(node, [np.array(a) for a in args], out)
    return [o[0] for o in out]


def tolerance(dtype: Any, scale: float = 1.0) -> float:
    return (4e-6 if np.dtype(dtype) == np.float32 else 2e-13) * scale


def assert_same(got: Any, expected: Any, scale: float = 1.0, msg: str = "") -> None:
    """Same dtype and shape; equal ints and bools; close floats, NaN where
    NaN, infinities where infinities."""
    assert isinstance(got, np.ndarray), msg
    assert got.dtype == expected.dtype, (msg, got.dtype, expected.dtype)
    assert got.shape == expected.shape, (msg, got.shape, expected.shape)
    if got.dtype.kind != "f":
        np.testing.assert_array_equal(got, expected, err_msg=msg)
        return
    rtol = tolerance(got.dtype, scale)
    finite = np.abs(expected[np.isfinite(expected)])
    atol = rtol * max(1.0, float(finite.max(initial=0.0)))
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=msg)
