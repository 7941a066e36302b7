#!/usr/bin/env python3
"""Profiler overhead: profiled vs unprofiled calls of ``chain100_nofuse``.

``chain100_nofuse`` is 100 elementwise nodes on a 10-vector (the anchors'
chain, ``benchmarks/chains.py``) compiled with the ``fusion`` rewrite
excluded, so per-node costs show.  Measured side by side in one run:

* NumPy's eager chain (the reference the VM benchmarks use);
* ``cvm_nogc`` and ``cvm``: unprofiled, ``profile=True``, with
  ``profile_memory`` and with a 10-call trace;
* the dispatch loop alone (``vm.run()``), unprofiled and profiled.

Targets (issue #9): profiled ``cvm_nogc`` call at most 1.5x the unprofiled
call; unprofiled calls as fast as before the profiler existed.  For the
second, compare the unprofiled ``x numpy`` ratio with
:data:`BEFORE_PROFILER` (measured on the development machine just before
the profiler was added; ratios, not times, compare across runs).

Usage::

    python benchmarks/profiler_overhead.py            # ~30 s
    python benchmarks/profiler_overhead.py --quick    # ~5 s smoke run
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
from collections.abc import Callable
from typing import Any

import numpy as np
from chains import CHAIN100, apply_chain
from timing import measure

import symarray
import symarray.tensor as T  # noqa: N812
from symarray.profiling import ProfileStats

#: unprofiled ``f(v)`` of chain100_nofuse before the profiler (2 shared cores,
#: x86_64, 2026-11-27): microseconds per call, and / NumPy's eager chain
BEFORE_PROFILER = {"cvm_nogc": (3.93, 0.098), "cvm": (4.11, 0.102)}


def cases() -> tuple[dict[str, Callable[[], Any]], dict[str, str], dict[str, int],
                     dict[str, ProfileStats]]:
    """The cases, each profiled case's unprofiled twin, node counts, profiles."""
    x = T.dvector("x")
    v = np.random.default_rng(0).standard_normal(10)
    expected = apply_chain(v, CHAIN100, np.sin)
    out = apply_chain(x, CHAIN100, T.sin)
    base = symarray.get_default_mode().excluding("fusion")
    table: dict[str, Callable[[], Any]] = {
        "numpy eager": lambda: apply_chain(v, CHAIN100, np.sin)}
    twin: dict[str, str] = {}
    nodes: dict[str, int] = {}
    profiles: dict[str, ProfileStats] = {}
    for linker in ("cvm_nogc", "cvm"):
        mode = symarray.Mode(linker=linker, optimizer=base.optimizer,
                             excluding=base.excluded)
        variants = {
            "": False,
            " profiled": ProfileStats(atexit_print=False),
            " profiled+memory": ProfileStats(memory=True, atexit_print=False),
            " profiled+trace10": ProfileStats(trace_calls=10, atexit_print=False),
        }
        for suffix, prof in variants.items():
            if linker == "cvm" and suffix not in ("", " profiled"):
                continue
            f = symarray.function([x], out, mode=mode, profile=prof)
            np.testing.assert_allclose(f(v), expected, rtol=1e-12)
            name = linker + suffix
            table[name] = lambda f=f: f(v)
            nodes[name] = len(f.vm.program.nodes)
            if prof:
                twin[name] = linker
                profiles[name] = prof
                prof.reset()
        if linker == "cvm_nogc":
            for suffix, prof in (("", False), (" profiled", True)):
                vm = symarray.function([x], out, mode=mode,
                                       profile=ProfileStats(atexit_print=False)
                                       if prof else False).vm
                vm.set_input(0, v)
                name = f"{linker}: dispatch alone{suffix}"
                table[name] = vm.run
                nodes[name] = len(vm.program.nodes)
                if prof:
                    twin[name] = f"{linker}: dispatch alone"
    return table, twin, nodes, profiles


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
          f"{platform.python_version()}, {platform.machine()}, "
          f"{datetime.date.today().isoformat()}")
    print(f"{repeats} interleaved batches of ~{batch_time:g} s per case, gc off\n")
    table, twin, nodes, profiles = cases()
    times = measure(table, repeats, batch_time)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    ref = med["numpy eager"]
    print("chain100_nofuse: 100 elementwise nodes on a 10-vector, fusion off "
          "(target: profiled <= 1.5x unprofiled)")
    header = (f"  {'case':<36} {'median us':>10} {'(min)':>9} {'x numpy':>8} "
              f"{'x unprofiled':>13} {'ns/node':>8}")
    print(header)
    print("  " + "-" * (len(header) - 2))
    for name, ts in times.items():
        ratio = f"{med[name] / med[twin[name]]:12.2f}x" if name in twin else " " * 13
        per_node = (f"{med[name] * 1e9 / nodes[name]:8.1f}" if name in nodes
                    else " " * 8)
        print(f"  {name:<36} {med[name] * 1e6:10.3f} {min(ts) * 1e6:9.3f} "
              f"{med[name] / ref:7.3f}x {ratio} {per_node}")
    print()
    print("Unprofiled calls before the profiler existed (same machine, earlier run):")
    for linker, (us, ratio) in BEFORE_PROFILER.items():
        print(f"  {linker:<10} before {us:6.2f} us = {ratio:.3f}x numpy;  now "
              f"{med[linker] * 1e6:6.2f} us = {med[linker] / ref:.3f}x numpy")
    print()
    print("What the profiler itself reports for the profiled cvm_nogc calls:")
    fs = profiles["cvm_nogc profiled"].functions[0]
    executed = sum(n.calls for n in fs.nodes)
    print(f"  {fs.calls} calls: {fs.call_time / fs.calls * 1e6:.3f} us per call, "
          f"VM {fs.vm_time / fs.vm_runs * 1e6:.3f} us, nodes "
          f"{fs.node_time / fs.vm_runs * 1e6:.3f} us "
          f"({fs.node_time / executed * 1e9:.1f} ns per executed node), "
          f"VM overhead {fs.vm_overhead / fs.vm_runs * 1e9:.0f} ns per run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
