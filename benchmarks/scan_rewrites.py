#!/usr/bin/env python3
"""What the scan rewrites buy: one graph compiled with and without them.

Measured side by side in one run (compare ratios, not absolute times):

* ``rnn_fwd_grad``: ``h_t = tanh(h_{t-1} W + x_t U)`` (100 steps, hidden 64,
  input 32, batch 16), the cost ``sum(h ** 2)`` and its gradients with
  respect to ``W`` and ``U``, in µs per step, with every scan rewrite, without
  ``local_scan_hoist_invariants``, and without any (``excluding("scan")``);
* ``rnn_vec_fwd_grad``: the same on one sequence of vectors (1,000 steps,
  hidden 32, input 16), Theano's classic form, in µs per step;
* ``two_maps``: two maps over the same 10,000-row sequence, with and without
  ``scan_merge``, in µs per step;
* peak memory (``tracemalloc``) of ``reduce`` over 100,000 rows of 64 and of
  ``rnn_fwd_grad``, with and without ``scan_keep_last``.

Usage::

    python benchmarks/scan_rewrites.py            # ~30 s
    python benchmarks/scan_rewrites.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import datetime
import gc
import platform
import statistics
import timeit
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
from timing import calls_per_batch

import symarray
import symarray.tensor as T  # noqa: N812

RNN_T, RNN_BATCH, RNN_IN, RNN_H = 100, 16, 32, 64
VEC_T, VEC_IN, VEC_H = 1000, 16, 32
MAP_STEPS = 10_000
REDUCE_STEPS, REDUCE_WIDTH = 100_000, 64
VARIANTS = {"all scan rewrites": None,
            "no hoisting": "local_scan_hoist_invariants",
            "no merging": "scan_merge",
            "no last-k": "scan_keep_last",
            "no scan rewrites": "scan"}


def _mode(linker: str, without: str | None) -> Any:
    mode = symarray.Mode(linker=linker)
    return mode if without is None else mode.excluding(without)


def measure(cases: dict[str, Callable[[], Any]], repeats: int, batch_time: float
            ) -> dict[str, list[float]]:
    """Interleaved timings: ``repeats`` batches of each case, round robin."""
    for fn in cases.values():
        fn()
    numbers = {name: calls_per_batch(timeit.Timer(fn), batch_time)
               for name, fn in cases.items()}
    times: dict[str, list[float]] = {name: [] for name in cases}
    gc.disable()
    try:
        for _ in range(repeats):
            for name, fn in cases.items():
                n = numbers[name]
                times[name].append(timeit.Timer(fn).timeit(n) / n)
    finally:
        gc.enable()
    return times


def report(title: str, times: dict[str, list[float]], per: int, reference: str
           ) -> None:
    ref = statistics.median(times[reference])
    print(f"\n{title} (µs per step; ratio to '{reference}')")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:<22} {med * 1e6 / per:10.3f}  {med / ref:6.2f}x")


def peak_bytes(fn: Callable[[], Any]) -> int:
    fn()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# -- cases ---------------------------------------------------------------------------
def rnn_grad_graph() -> tuple[list[Any], list[Any], list[np.ndarray]]:
    rng = np.random.default_rng(0)
    xs, h0 = T.dtensor3("X"), T.dmatrix("h0")
    w, u = T.dmatrix("W"), T.dmatrix("U")
    hs, _ = symarray.scan(lambda x, h, w_, u_: T.tanh(T.dot(h, w_) + T.dot(x, u_)),
                          sequences=xs, outputs_info=h0, non_sequences=[w, u])
    cost = (hs ** 2).sum()
    outs = [cost, *T.grad(cost, [w, u])]
    values = [rng.standard_normal((RNN_T, RNN_BATCH, RNN_IN)),
              rng.standard_normal((RNN_H, RNN_H)) * (0.9 / np.sqrt(RNN_H)),
              rng.standard_normal((RNN_IN, RNN_H)) * (1.0 / np.sqrt(RNN_IN)),
              np.zeros((RNN_BATCH, RNN_H))]
    return [xs, w, u, h0], outs, values


def rnn_grad_cases(linker: str) -> dict[str, Callable[[], Any]]:
    ins, outs, values = rnn_grad_graph()
    cases = {}
    want = None
    for label in ("all scan rewrites", "no hoisting", "no scan rewrites"):
        f = symarray.function(ins, outs, mode=_mode(linker, VARIANTS[label]))
        got = f(*values)
        if want is None:
            want = got
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)
        cases[label] = lambda f=f: f(*values)
    return cases


def rnn_vec_cases(linker: str) -> dict[str, Callable[[], Any]]:
    """Theano's RNN on one sequence: ``h_t = tanh(h_{t-1} W + x_t U)``, vectors."""
    rng = np.random.default_rng(0)
    x, h0, w, u = T.dmatrix("x"), T.dvector("h0"), T.dmatrix("W"), T.dmatrix("U")
    hs, _ = symarray.scan(lambda x_t, h, w_, u_: T.tanh(T.dot(h, w_) + T.dot(x_t, u_)),
                          sequences=x, outputs_info=h0, non_sequences=[w, u])
    cost = (hs ** 2).sum()
    outs = [cost, *T.grad(cost, [w, u])]
    values = [rng.standard_normal((VEC_T, VEC_IN)), np.zeros(VEC_H),
              rng.standard_normal((VEC_H, VEC_H)) * (0.9 / np.sqrt(VEC_H)),
              rng.standard_normal((VEC_IN, VEC_H)) * (1.0 / np.sqrt(VEC_IN))]
    cases = {}
    for label in ("all scan rewrites", "no hoisting", "no scan rewrites"):
        f = symarray.function([x, h0, w, u], outs, mode=_mode(linker, VARIANTS[label]))
        f(*values)
        cases[label] = lambda f=f: f(*values)
    return cases


def two_maps_cases(linker: str) -> dict[str, Callable[[], Any]]:
    x = T.dvector("x")
    a, _ = symarray.scan(lambda v: T.exp(v) * 2.0, sequences=x)
    b, _ = symarray.scan(lambda v: T.sin(v) + 1.0, sequences=x)
    value = np.linspace(0, 1, MAP_STEPS)
    cases = {}
    for label in ("all scan rewrites", "no merging"):
        f = symarray.function([x], [a, b], mode=_mode(linker, VARIANTS[label]))
        cases[label] = lambda f=f: f(value)
    return cases


def memory_rows(linker: str) -> list[tuple[str, int, int]]:
    x = T.dmatrix("x")
    total, _ = symarray.reduce(lambda v, acc: acc + v, sequences=x,
                               outputs_info=T.zeros_like(x[0]))
    value = np.ones((REDUCE_STEPS, REDUCE_WIDTH))
    rows = []
    fs = [symarray.function([x], total, mode=_mode(linker, v))
          for v in (None, "scan_keep_last")]
    rows.append(("reduce", peak_bytes(lambda: fs[0](value)),
                 peak_bytes(lambda: fs[1](value))))
    ins, outs, values = rnn_grad_graph()
    gs = [symarray.function(ins, outs, mode=_mode(linker, v))
          for v in (None, "scan_keep_last")]
    rows.append(("rnn_fwd_grad", peak_bytes(lambda: gs[0](*values)),
                 peak_bytes(lambda: gs[1](*values))))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch-time", type=float, default=0.2)
    parser.add_argument("--linker", default="cvm")
    args = parser.parse_args()
    repeats, batch = (2, 0.02) if args.quick else (args.repeats, args.batch_time)
    cpu = platform.processor() or platform.machine()
    print(f"scan rewrites, linker {args.linker}: {cpu}, Python "
          f"{platform.python_version()}, NumPy {np.__version__}, "
          f"{datetime.date.today()}")
    times = measure(rnn_grad_cases(args.linker), repeats, batch)
    report(f"rnn_fwd_grad ({RNN_T} steps)", times, RNN_T, "no scan rewrites")
    times = measure(rnn_vec_cases(args.linker), repeats, batch)
    report(f"rnn_vec_fwd_grad ({VEC_T} steps)", times, VEC_T, "no scan rewrites")
    times = measure(two_maps_cases(args.linker), repeats, batch)
    report(f"two_maps ({MAP_STEPS} steps)", times, MAP_STEPS, "no merging")
    print("\npeak memory (tracemalloc, MiB): with last-k, without, ratio")
    for name, on, off in memory_rows(args.linker):
        print(f"  {name:<22} {on / 2**20:10.2f} {off / 2**20:10.2f}  "
              f"{off / max(on, 1):8.1f}x")


if __name__ == "__main__":
    main()
