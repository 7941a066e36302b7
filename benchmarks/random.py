#!/usr/bin/env python3
"""Random draws: MRG31k3p and RandomStreams against NumPy's generators.

Compared in one run (FAST_RUN, ``cvm``), each a compiled function with no
inputs whose draws' states are updated in place:

* ``mrg_uniform_1e6``: ``MRG_RandomStreams.uniform((1000, 1000))`` (the C
  kernel, ``kernel_threads`` 1 and 0 = every core) vs NumPy's
  ``Generator.random`` (PCG64) and ``RandomState.uniform`` (MT19937);
* ``dropout_1e6``: ``x * srng.binomial(x.shape, p=0.8) / 0.8`` (MRG) vs
  ``x * (rng.random(n) < 0.8) / 0.8`` in NumPy;
* ``streams_uniform_10``: ``RandomStreams.uniform((10,))`` (a RandomState
  drawn in place: the per-call cost) vs ``RandomState.uniform(size=10)``.

Usage::

    python benchmarks/random.py            # ~20 s
    python benchmarks/random.py --quick
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from timing import measure

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray.sandbox.rng_mrg import MRG_RandomStreams
from symarray.tensor.shared_randomstreams import RandomStreams


def _mrg(threads: int) -> Callable[[], Any]:
    with sa.config.change_flags(kernel_threads=threads):
        return sa.function([], MRG_RandomStreams(1).uniform((1000, 1000)))


def cases() -> dict[str, dict[str, Callable[[], Any]]]:
    gen, rs = np.random.default_rng(0), np.random.RandomState(0)
    x = T.dvector("x")
    xv = np.random.default_rng(1).standard_normal(10 ** 6)
    mask = MRG_RandomStreams(2).binomial(x.shape, p=0.8, dtype="float64")
    dropout = sa.function([x], x * mask / 0.8)
    small = sa.function([], RandomStreams(3).uniform((10,)))
    return {
        "mrg_uniform_1e6": {
            "symarray_1thread": _mrg(1), "symarray": _mrg(0),
            "numpy_pcg64": lambda: gen.random((1000, 1000)),
            "numpy_mt19937": lambda: rs.uniform(size=(1000, 1000))},
        "dropout_1e6": {
            "symarray": lambda: dropout(xv),
            "numpy": lambda: xv * (gen.random(xv.shape[0]) < 0.8) / 0.8},
        "streams_uniform_10": {
            "symarray": small, "numpy": lambda: rs.uniform(size=10)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch-time", type=float, default=0.3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    repeats, batch = (3, 0.05) if args.quick else (args.repeats, args.batch_time)
    for workload, fns in cases().items():
        times = measure(fns, repeats, batch)
        med = {k: statistics.median(v) for k, v in times.items()}
        base = med["numpy"] if "numpy" in med else med["numpy_pcg64"]
        print(f"{workload}:")
        for name, t in med.items():
            print(f"  {name:18s} {t * 1e6:10.1f} us   {t / base:5.2f}x numpy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
