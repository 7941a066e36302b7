#!/usr/bin/env python3
"""VM overhead: per-call and per-node cost of compiled functions, next to NumPy.

Measured side by side in one run (ratios are what to compare on a noisy
machine):

* ``x+1``: ``f(x) = x + 1`` on a 0-d float64 array, under each linker, as
  a normal call and with ``f.trust_input = True``, against ``np.add(x, 1)``
  (the issue's reference) and NumPy's ``x + 1``.  The ``cvm`` rows also show
  the VM alone (``vm.fast_call1``) so that the cost of ``Function.__call__``
  itself is visible.
* ``chain100_nofuse``: 100 elementwise nodes on a 10-vector
  (``[x * 1.0001, x + 0.5, sin(x), x - 0.25] x 25``, the anchors' chain) in
  FAST_RUN with the ``fusion`` rewrite excluded, under ``py``, ``vm``,
  ``cvm`` and ``cvm_nogc``, against NumPy's eager chain; also in ns per
  executed node (the Program's node count) and, for the Cython VM, the
  dispatch loop alone (``vm.run()`` on inputs already in their cells).

Each case is warmed up, its batch size calibrated so a batch lasts about
``--batch-time`` seconds; ``--repeats`` batches are timed (gc off) with
symarray and NumPy batches interleaved.  The table shows the median per call
(and the minimum).

Usage::

    python benchmarks/vm_overhead.py            # ~40 s
    python benchmarks/vm_overhead.py --quick    # ~5 s smoke run
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from chains import CHAIN100, apply_chain
from timing import measure

import symarray
import symarray.tensor as T  # noqa: N812

LINKERS = ("py", "vm", "cvm", "cvm_nogc")


def call_overhead_cases() -> tuple[dict[str, Callable[[], Any]], dict[str, int]]:
    x = T.dscalar("x")
    v = np.array(1.5)
    cases: dict[str, Callable[[], Any]] = {
        "numpy np.add(x, 1)": lambda: np.add(v, 1),
        "numpy x + 1": lambda: v + 1,
    }
    nodes = {}
    for linker in LINKERS:
        f = symarray.function([x], x + 1, mode=symarray.Mode(linker=linker))
        np.testing.assert_allclose(f(v), 2.5)
        g = f.copy()
        g.trust_input = True
        cases[f"{linker}"] = lambda f=f: f(v)
        cases[f"{linker} trust_input"] = lambda g=g: g(v)
        nodes[linker] = nodes[f"{linker} trust_input"] = len(f.vm.program.nodes)
        if linker == "cvm":
            cases["cvm: VM alone (fast_call1)"] = (
                lambda fast=f.vm.fast_call1, args=(v,): fast(args, False))
    return cases, nodes


def chain_cases() -> tuple[dict[str, Callable[[], Any]], dict[str, int]]:
    x = T.dvector("x")
    v = np.random.default_rng(0).standard_normal(10)
    expected = apply_chain(v, CHAIN100, np.sin)
    mode = symarray.get_default_mode().excluding("fusion")
    cases: dict[str, Callable[[], Any]] = {
        "numpy eager": lambda: apply_chain(v, CHAIN100, np.sin)}
    nodes: dict[str, int] = {}
    out = apply_chain(x, CHAIN100, T.sin)
    for linker in LINKERS:
        m = symarray.Mode(linker=linker, optimizer=mode.optimizer,
                          excluding=mode.excluded)
        f = symarray.function([x], out, mode=m)
        np.testing.assert_allclose(f(v), expected, rtol=1e-12)
        cases[linker] = lambda f=f: f(v)
        nodes[linker] = len(f.vm.program.nodes)
        if linker in ("cvm", "cvm_nogc"):
            vm = f.copy().vm  # its own cells: the f(v) calls empty f's inputs
            vm.set_input(0, v)
            cases[f"{linker}: dispatch alone (vm.run)"] = vm.run
            nodes[f"{linker}: dispatch alone (vm.run)"] = nodes[linker]
    return cases, nodes


def report(title: str, times: dict[str, list[float]], reference: str,
           nodes: dict[str, int]) -> None:
    ref = statistics.median(times[reference])
    print(title)
    header = (f"  {'case':<30} {'median us':>10} {'(min)':>9} {'x ' + reference:>22} "
              f"{'ns/node':>8}")
    print(header)
    print("  " + "-" * (len(header) - 2))
    for name, ts in times.items():
        med = statistics.median(ts)
        per_node = f"{med * 1e9 / nodes[name]:8.1f}" if name in nodes else " " * 8
        print(f"  {name:<30} {med * 1e6:10.3f} {min(ts) * 1e6:9.3f} "
              f"{med / ref:21.2f}x {per_node}")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 3 repeats of 0.03 s batches")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed batches per case (default 9, quick 3)")
    parser.add_argument("--batch-time", type=float, default=None,
                        help="seconds per batch (default 0.15, quick 0.03)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 9)
    batch_time = args.batch_time or (0.03 if args.quick else 0.15)

    print(f"symarray {symarray.__version__}, numpy {np.__version__}, Python "
          f"{platform.python_version()}, {platform.machine()} "
          f"({platform.processor() or 'unknown cpu'}), "
          f"{datetime.date.today().isoformat()}")
    print(f"{repeats} interleaved batches of ~{batch_time:g} s per case, gc off")
    print()
    cases, nodes = call_overhead_cases()
    report("x+1 on a 0-d float64 (targets: cvm <= 1.3x np.add, trust_input "
           "<= 0.65x)", measure(cases, repeats, batch_time), "numpy np.add(x, 1)",
           nodes)
    cases, nodes = chain_cases()
    report("chain100_nofuse: 100 elementwise nodes on a 10-vector, fusion off "
           "(target: cvm_nogc <= 0.12x NumPy)", measure(cases, repeats, batch_time),
           "numpy eager", nodes)
    print("ns/node = median / the Program's node count.  Function.__call__ costs "
          "the difference between 'cvm trust_input' and 'cvm: VM alone'.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
