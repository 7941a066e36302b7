#!/usr/bin/env python3
"""Memory and time of an MLP training step in GC, naive no-GC and planned no-GC mode.

The model is the anchors' ``mlp_step``: 784-500-10, tanh hidden layer,
softmax output, mean cross-entropy against integer labels, batch 600, one
SGD step on the 4 parameters (``function([x, y], cost, updates=...)`` in
FAST_RUN).  The same graph is compiled three times:

* ``gc``: linker ``cvm`` (intermediates freed after their last reader);
* ``naive``: ``cvm_nogc`` with ``memory_plan=False`` (every intermediate
  keeps its own buffer between calls);
* ``planned``: ``cvm_nogc`` (the static memory planner shares buffers).

Memory: after two warm-up calls traced by ``tracemalloc``, the peak of
traced memory during one call.  It counts what the function allocates and
holds: kept buffers, intermediates, the new parameter values (the inputs,
allocated before tracing, are not counted); ``held`` is what is traced just
before the call (kept buffers plus the current parameters).  The planner's
own estimate of the three peaks, from the sizes of a run, is printed too.

Time: median seconds per call, batches of the three modes interleaved with
the garbage collector off.  Targets (issue 6): planned peak <= 1.25x the GC
peak, planned call time <= naive no-GC's.

Usage::

    python benchmarks/memory.py            # ~30 s
    python benchmarks/memory.py --quick    # ~5 s smoke run
"""

from __future__ import annotations

import argparse
import datetime
import gc
import platform
import statistics
import sys
import tracemalloc
from typing import Any

import numpy as np
from timing import seconds_per_call

import symarray
import symarray.tensor as T  # noqa: N812
from symarray import config
from symarray.compile.linkers import memory_plan

N_BATCH, N_IN, N_HIDDEN, N_OUT = 600, 784, 500, 10
LR = 0.1
MODES = {"gc": ("cvm", True), "naive": ("cvm_nogc", False),
         "planned": ("cvm_nogc", True)}


def data(seed: int = 0) -> dict[str, np.ndarray]:
    """The anchors' mlp_step inputs and initial parameters."""
    rng = np.random.default_rng(seed)
    b1 = np.sqrt(6.0 / (N_IN + N_HIDDEN))
    b2 = np.sqrt(6.0 / (N_HIDDEN + N_OUT))
    return {"X": rng.standard_normal((N_BATCH, N_IN)),
            "y": rng.integers(0, N_OUT, N_BATCH).astype(np.int64),
            "W1": rng.uniform(-b1, b1, (N_IN, N_HIDDEN)), "b1": np.zeros(N_HIDDEN),
            "W2": rng.uniform(-b2, b2, (N_HIDDEN, N_OUT)), "b2": np.zeros(N_OUT)}


def mlp_step(d: dict[str, np.ndarray], linker: str, plan: bool) -> Any:
    """The compiled training step (its own shared parameters)."""
    names = ("W1", "b1", "W2", "b2")
    params = [symarray.shared(d[k].copy(), name=k) for k in names]
    w1, b1, w2, b2 = params
    x, y = T.dmatrix("x"), T.lvector("y")
    h = T.tanh(T.dot(x, w1) + b1)
    p_y = T.nnet.softmax(T.dot(h, w2) + b2)
    cost = -T.mean(T.log(p_y)[T.arange(y.shape[0]), y])
    grads = symarray.grad(cost, params)
    with config.change_flags(memory_plan=plan):
        f = symarray.function([x, y], cost, mode=symarray.Mode(linker=linker),
                              updates=[(p, p - LR * g) for p, g in zip(params, grads,
                                                                          strict=True)])
    f.params = params  # type: ignore[attr-defined]
    return f


def traced_peak(f: Any, args: tuple[Any, ...]) -> tuple[int, int]:
    """(held before the call, peak during it) in traced bytes."""
    f.free()  # buffers kept from untraced calls would not be counted
    gc.collect()
    tracemalloc.start()
    try:
        f(*args)
        f(*args)
        gc.collect()
        tracemalloc.reset_peak()
        held = tracemalloc.get_traced_memory()[0]
        f(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return held, peak


def run_sizes(d: dict[str, np.ndarray]) -> tuple[Any, dict[Any, int]]:
    """A naive no-GC step after one call: its plan and every kept size."""
    f = mlp_step(d, "cvm_nogc", False)
    outs = f.vm(list((d["X"], d["y"])) + [p.get_value() for p in f.params])
    prog = f.vm.program
    sizes: dict[Any, int] = {}
    for var, cell in prog.cell_of.items():
        value = prog.cells[cell]
        if isinstance(value, np.ndarray):
            sizes[var] = value.nbytes
    for var, value in zip(prog.outputs, outs, strict=True):
        sizes[var] = getattr(value, "nbytes", 0)
    return memory_plan(f.maker.fgraph, f.maker.schedule, sizes), sizes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--batch-time", type=float, default=0.5)
    ap.add_argument("--quick", action="store_true", help="3 short batches")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats, args.batch_time = 3, 0.1
    d = data()
    call_args = (d["X"], d["y"])
    fns = {name: mlp_step(d, linker, plan) for name, (linker, plan) in MODES.items()}
    ref = None
    for name, f in fns.items():  # every mode computes the same step
        loss = [float(f(*call_args)) for _ in range(3)]
        got = loss + [float(np.abs(p.get_value()).sum()) for p in f.params]
        ref = got if ref is None else ref
        np.testing.assert_allclose(got, ref, rtol=1e-9, err_msg=name)
    memory = {name: traced_peak(f, call_args) for name, f in fns.items()}
    times: dict[str, list[float]] = {name: [] for name in fns}
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(args.repeats):
            for name, f in fns.items():
                times[name].append(seconds_per_call(lambda f=f: f(*call_args),
                                                    args.batch_time))
    finally:
        if enabled:
            gc.enable()
    plan, sizes = run_sizes(d)
    est = plan.peaks(sizes)

    mib = 1 << 20
    print(f"# memory.py  {datetime.date.today()}  {platform.machine()}  "
          f"Python {platform.python_version()}  NumPy {np.__version__}")
    print(f"MLP step {N_IN}-{N_HIDDEN}-{N_OUT}, batch {N_BATCH}; "
          f"{len(fns['planned'].vm.program.nodes)} nodes")
    print(f"{'mode':<8} {'held MiB':>9} {'peak MiB':>9} {'peak/gc':>8} "
          f"{'ms/call':>9} {'min':>7} {'time/naive':>10} {'planner est. MiB':>17}")
    gc_peak = memory["gc"][1]
    naive_t = statistics.median(times["naive"])
    for name in fns:
        held, peak = memory[name]
        med, low = statistics.median(times[name]), min(times[name])
        estimate = getattr(est, name)
        print(f"{name:<8} {held / mib:9.2f} {peak / mib:9.2f} {peak / gc_peak:8.2f} "
              f"{med * 1e3:9.2f} {low * 1e3:7.2f} {med / naive_t:10.2f} "
              f"{estimate / mib:17.2f}")
    peak_ok = memory["planned"][1] <= 1.25 * gc_peak
    time_ok = statistics.median(times["planned"]) <= 1.02 * naive_t
    print(f"target planned peak <= 1.25x gc: {'met' if peak_ok else 'MISSED'}; "
          f"planned time <= naive (2% noise margin): {'met' if time_ok else 'MISSED'}")
    print(plan)
    return 0


if __name__ == "__main__":
    sys.exit(main())
