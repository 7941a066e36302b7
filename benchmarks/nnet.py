#!/usr/bin/env python3
"""Softmax and log-softmax: the C kernels next to their NumPy ``perform``.

Cases (µs per call; one node's thunk called directly, so no function-call
overhead is timed): ``Softmax`` and ``LogSoftmax`` of a 600 x 10 matrix
(the anchors' MLP output layer), of a 4000 x 1000 matrix along its rows,
and of the 4000 x 1000 matrix along axis 0 (the strided path: blocks of
columns gathered), float64 and float32.  Columns:

* ``c 1t`` / ``c all``: the C thunk on one thread / on every core
  (``kernel_threads`` 0); the 600 x 10 cases are under the threading
  threshold and always run on one thread;
* ``perform``: the op's NumPy ``perform`` (what ran before the kernel);
* ``ratio``: ``c all`` / ``perform`` (below 1: the kernel is faster).

Timings of one case alternate between the variants (``--repeats`` rounds,
median kept).

Usage::

    python benchmarks/nnet.py            # ~30 s
    python benchmarks/nnet.py --quick    # a few seconds
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from timing import measure  # noqa: E402

from symarray.kernels_c._nnet import CyNnetThunk  # noqa: E402
from symarray.tensor.nnet.basic import LogSoftmax, Softmax  # noqa: E402
from symarray.tensor.type import TensorType  # noqa: E402
from symarray.vm import CyStorage, make_py_thunk  # noqa: E402

CASES = [((600, 10), 1), ((4000, 1000), 1), ((4000, 1000), 0)]


def bound(thunk: Any, x: np.ndarray) -> Callable[[], Any]:
    """``thunk`` bound to a 2-cell arena holding ``x``: a no-argument call."""
    storage = CyStorage(2)
    thunk.bind(storage, [0], [1])
    storage[0] = x
    return thunk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch-time", type=float, default=0.2)
    args = parser.parse_args()
    repeats = 3 if args.quick else args.repeats
    batch = 0.05 if args.quick else args.batch_time
    rng = np.random.default_rng(0)
    print(f"{'case':<34} {'c 1t':>10} {'c all':>10} {'perform':>10} {'ratio':>7}")
    for op_class in (Softmax, LogSoftmax):
        for dtype in ("float64", "float32"):
            for shape, axis in CASES:
                x = rng.standard_normal(shape).astype(dtype)
                node = op_class(axis)(TensorType(dtype, shape=(None, None))()).owner
                log = op_class is LogSoftmax
                cases = {
                    "c1": bound(CyNnetThunk(node, log, 1), x),
                    "call": bound(CyNnetThunk(node, log, 0), x),
                    "py": bound(make_py_thunk(node), x),
                }
                times = measure(cases, repeats, batch)
                med = {k: statistics.median(v) * 1e6 for k, v in times.items()}
                name = f"{op_class.__name__} {dtype} {shape[0]}x{shape[1]} ax{axis}"
                print(f"{name:<34} {med['c1']:>10.1f} {med['call']:>10.1f} "
                      f"{med['py']:>10.1f} {med['call'] / med['py']:>7.3f}")


if __name__ == "__main__":
    main()
