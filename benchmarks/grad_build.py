#!/usr/bin/env python3
"""Time to build and compile the gradient of an N-layer MLP.

The model is ``N`` tanh layers followed by a softmax layer and the mean
categorical crossentropy against integer labels.  For each depth ``N`` the
script builds the forward graph, calls ``grad(loss, params)`` (2 parameters
per layer) and compiles one training function returning the loss and every
gradient; the graph walk should be linear in the depth, so
``T(30) / T(10)`` should stay near 3 (the target is at most 3.6).

Each depth is timed ``--repeats`` times (fresh graphs each time) and the
median is shown, split into the ``grad`` call and ``function`` compilation,
with the node count of the compiled graph.  A final check runs the deepest
training function once on random data.

Usage::

    python benchmarks/grad_build.py               # N = 2, 10, 30; about 1 s
    python benchmarks/grad_build.py --depths 2 10 30 60 --repeats 5
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import time
from typing import Any

import numpy as np

import symarray
import symarray.tensor as T  # noqa: N812

N_IN, N_HIDDEN, N_OUT = 8, 16, 4


def build_mlp_loss(
    depth: int, rng: np.random.Generator
) -> tuple[Any, list[Any], Any, Any]:
    """The loss of a ``depth``-layer tanh MLP with a softmax output.

    Returns ``(loss, params, x, y)``; the parameters are shared variables.
    """
    x = T.dmatrix("x")
    y = T.lvector("y")
    params = []
    h = x
    n_prev = N_IN
    for k in range(depth):
        w = symarray.shared(rng.standard_normal((n_prev, N_HIDDEN)) * 0.3, name=f"W{k}")
        b = symarray.shared(np.zeros(N_HIDDEN), name=f"b{k}")
        h = T.tanh(T.dot(h, w) + b)
        params += [w, b]
        n_prev = N_HIDDEN
    w_out = symarray.shared(rng.standard_normal((n_prev, N_OUT)) * 0.3, name="W_out")
    b_out = symarray.shared(np.zeros(N_OUT), name="b_out")
    params += [w_out, b_out]
    p_y = T.nnet.softmax(T.dot(h, w_out) + b_out)
    loss = T.nnet.categorical_crossentropy(p_y, y).mean()
    return loss, params, x, y


def time_depth(depth: int, repeats: int) -> dict[str, Any]:
    """Median build (grad) and compile (function) times for one depth."""
    grad_times, compile_times, totals = [], [], []
    n_nodes = 0
    fn = None
    for r in range(repeats):
        rng = np.random.default_rng(r)
        loss, params, x, y = build_mlp_loss(depth, rng)
        gc.collect()
        start = time.perf_counter()
        grads = symarray.grad(loss, params)
        mid = time.perf_counter()
        fn = symarray.function([x, y], [loss, *grads])
        end = time.perf_counter()
        grad_times.append(mid - start)
        compile_times.append(end - mid)
        totals.append(end - start)
        n_nodes = len(fn.maker.fgraph.apply_nodes) if hasattr(fn, "maker") else 0
    # one run, to show the compiled function works
    rng = np.random.default_rng(0)
    assert fn is not None
    outs = fn(rng.standard_normal((5, N_IN)), rng.integers(0, N_OUT, size=5))
    if not all(np.isfinite(o).all() for o in outs):
        raise RuntimeError(f"depth {depth}: non-finite loss or gradient")
    return {
        "depth": depth,
        "grad": statistics.median(grad_times),
        "compile": statistics.median(compile_times),
        "total": statistics.median(totals),
        "nodes": n_nodes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[2, 10, 30])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    print(f"symarray {symarray.__version__}, Python {platform.python_version()}, "
          f"NumPy {np.__version__}; median of {args.repeats}")
    print(f"{'N':>4} {'grad (ms)':>10} {'compile (ms)':>13} {'total (ms)':>11} "
          f"{'nodes':>6}")
    results = {}
    for depth in args.depths:
        res = time_depth(depth, args.repeats)
        results[depth] = res
        print(f"{depth:>4} {res['grad'] * 1e3:>10.1f} {res['compile'] * 1e3:>13.1f} "
              f"{res['total'] * 1e3:>11.1f} {res['nodes']:>6}")
    if 10 in results and 30 in results:
        ratio = results[30]["total"] / results[10]["total"]
        verdict = "ok" if ratio <= 3.6 else "ABOVE TARGET"
        print(f"T(30)/T(10) = {ratio:.2f} (target <= 3.6, linear = 3.0): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
