#!/usr/bin/env python3
"""Reductions and BLAS: the C kernels next to NumPy, measured in one run.

Cases (symarray FAST_RUN under ``cvm``; NumPy eager; ms per call):

* ``reduce_sq``: ``sum(x ** 2, axis=1)``, x 4000 x 4000 float64 (one fused
  ``ReduceElemwise`` node: no temporary);
* ``sum_axis0``, ``max_axis1``, ``argmax_axis0``: plain reductions of the same x;
* ``count_gt``: ``sum(x > 0, axis=1)`` (a bool prologue, summed in int64);
* ``sum_f32``: the sum of 1e7 float32 (accumulated in float64 here; NumPy
  sums float32 pairwise in float32);
* ``lse_rows``: ``sum(exp(x - max(x, 1)[:, None]), axis=1)``, x 2000 x 2000;
* ``dot_mm``, ``dot_mv``, ``dot_tv``: 1000 x 1000 products, 5000 x 784 by a
  vector, and its transpose by a vector (the logistic regression's products);
* ``logreg_step``, ``mlp_step``: the anchors' training steps (loss, gradient
  and update in one function), with the jobs of SciPy's OpenBLAS on the
  kernels' OpenMP team (``scipy``, the default), NumPy's too (``all``), or
  each OpenBLAS on its own pool (``native``); ``numpy+<step>`` runs a NumPy
  step right before each compiled step (against two NumPy steps), the
  pattern where two pools fight.

Each case is warmed up; ``--repeats`` timings of symarray and NumPy
alternate, each after ``--settle`` seconds of sleep so the other library's
BLAS threads stop spinning first.  The ratio is symarray's median over
NumPy's (below 1: faster).  The backend of the node that matters is printed.

Usage::

    python benchmarks/reductions.py            # ~1 min
    python benchmarks/reductions.py --quick    # fewer repeats and cases
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import symarray
import symarray.tensor as T  # noqa: N812
from symarray import kernels_c

LR = 0.1


def timed(fn: Callable[[], Any], number: int) -> float:
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - t0) / number
    finally:
        gc.enable()


def compare(name: str, ours: Callable[[], Any], numpy: Callable[[], Any],
            repeats: int, settle: float) -> float:
    ours(), numpy()
    number = max(1, int(0.1 / max(timed(ours, 1), 1e-9)))
    a, b = [], []
    for _ in range(repeats):
        time.sleep(settle)
        a.append(timed(ours, number))
        time.sleep(settle)
        b.append(timed(numpy, number))
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"{name:<34} {ma * 1e3:>9.2f} {min(a) * 1e3:>9.2f} "
          f"{mb * 1e3:>9.2f} {min(b) * 1e3:>9.2f} {ma / mb:>7.2f}")
    return ma / mb


def backend(f: Any, op_name: str) -> str:
    names = {t.backend for t in f.vm.program.thunks
             if op_name in type(t.node.op).__name__}
    return ",".join(sorted(names)) or "-"


def fn(inputs: list[Any], outputs: Any, **kwargs: Any) -> Any:
    return symarray.function(inputs, outputs,
                             mode=symarray.Mode(linker="cvm", optimizer="fast_run"),
                             **kwargs)


def reductions(rng: np.random.Generator, repeats: int, settle: float,
               quick: bool) -> None:
    x = T.dmatrix("x")
    xv = rng.standard_normal((4000, 4000))
    f = fn([x], T.sum(x ** 2, axis=1))
    np.testing.assert_allclose(f(xv), np.sum(xv ** 2, axis=1), rtol=1e-10)
    compare(f"reduce_sq [{backend(f, 'ReduceElemwise')}]", lambda: f(xv),
            lambda: np.sum(xv ** 2, axis=1), repeats, settle)
    if quick:
        return
    cases = [("sum_axis0", T.sum(x, axis=0), lambda: np.sum(xv, axis=0), "Sum"),
             ("max_axis1", T.max(x, axis=1), lambda: np.max(xv, axis=1), "Max"),
             ("argmax_axis0", T.argmax(x, axis=0), lambda: np.argmax(xv, axis=0),
              "Argmax"),
             ("count_gt", T.sum(T.gt(x, 0.0), axis=1), lambda: np.sum(xv > 0, axis=1),
              "ReduceElemwise")]
    for name, out, ref, op in cases:
        g = fn([x], out)
        np.testing.assert_allclose(g(xv), ref(), rtol=1e-10)
        compare(f"{name} [{backend(g, op)}]", lambda g=g: g(xv), ref, repeats, settle)
    v = T.fvector("v")
    vv = rng.standard_normal(10**7).astype(np.float32)
    g = fn([v], T.sum(v))
    compare(f"sum_f32 [{backend(g, 'Sum')}]", lambda: g(vv), lambda: np.sum(vv),
            repeats, settle)
    x2 = xv[:2000, :2000].copy()

    def lse_numpy() -> Any:
        return np.sum(np.exp(x2 - np.max(x2, axis=1)[:, None]), axis=1)

    g = fn([x], T.sum(T.exp(x - T.max(x, axis=1).dimshuffle(0, "x")), axis=1))
    np.testing.assert_allclose(g(x2), lse_numpy(), rtol=1e-10)
    compare(f"lse_rows [{backend(g, 'ReduceElemwise')}]", lambda: g(x2), lse_numpy,
            repeats, settle)


def products(rng: np.random.Generator, repeats: int, settle: float) -> None:
    a, b = T.dmatrix("a"), T.dmatrix("b")
    w = T.dvector("w")
    av, bv = rng.standard_normal((1000, 1000)), rng.standard_normal((1000, 1000))
    X, wv = rng.standard_normal((5000, 784)), rng.standard_normal(784)
    gv = rng.standard_normal(5000)
    f = fn([a, b], T.dot(a, b))
    compare(f"dot_mm [{backend(f, 'Dot')}]", lambda: f(av, bv), lambda: av @ bv,
            repeats, settle)
    f = fn([a, w], T.dot(a, w))
    compare(f"dot_mv [{backend(f, 'Dot')}]", lambda: f(X, wv), lambda: X @ wv,
            repeats, settle)
    f = fn([a, w], T.dot(a.T, w))
    compare(f"dot_tv [{backend(f, 'Dot')}]", lambda: f(X, gv), lambda: X.T @ gv,
            repeats, settle)


def logreg(rng: np.random.Generator) -> tuple[Callable[[], Any], Callable[[], Any]]:
    n, nf = 5000, 784
    X = rng.standard_normal((n, nf))
    y = ((X @ (rng.standard_normal(nf) / np.sqrt(nf))) > 0).astype(np.float64)
    w0 = rng.standard_normal(nf) * 0.01
    st = [w0.copy(), 0.0]

    def numpy_step() -> None:
        w, b = st
        z = X @ w + b
        g = (1.0 / (1.0 + np.exp(-z)) - y) / n
        st[0], st[1] = w - LR * (X.T @ g), b - LR * g.sum()

    x, yv = T.dmatrix("x"), T.dvector("y")
    ws = symarray.shared(w0.copy(), name="w")
    bs = symarray.shared(np.asarray(0.0), name="b")
    p1 = T.nnet.sigmoid(T.dot(x, ws) + bs)
    cost = (-yv * T.log(p1) - (1 - yv) * T.log(1 - p1)).mean()
    gw, gb = symarray.grad(cost, [ws, bs])
    f = fn([x, yv], cost, updates=[(ws, ws - LR * gw), (bs, bs - LR * gb)])
    return (lambda: f(X, y)), numpy_step


def mlp(rng: np.random.Generator) -> tuple[Callable[[], Any], Callable[[], Any]]:
    n, nin, nh, nout = 600, 784, 500, 10
    X = rng.standard_normal((n, nin))
    y = rng.integers(0, nout, n)
    b1, b2 = np.sqrt(6.0 / (nin + nh)), np.sqrt(6.0 / (nh + nout))
    init = [rng.uniform(-b1, b1, (nin, nh)), np.zeros(nh),
            rng.uniform(-b2, b2, (nh, nout)), np.zeros(nout)]
    st = [[p.copy() for p in init]]

    def numpy_step() -> None:
        W1, c1, W2, c2 = st[0]
        h = np.tanh(X @ W1 + c1)
        z = h @ W2 + c2
        z = z - z.max(axis=1, keepdims=True)
        ez = np.exp(z)
        s = ez.sum(axis=1, keepdims=True)
        dz = ez / s
        dz[np.arange(n), y] -= 1.0
        dz /= n
        da = (dz @ W2.T) * (1.0 - h * h)
        grads = (X.T @ da, da.sum(axis=0), h.T @ dz, dz.sum(axis=0))
        st[0] = [p - LR * g for p, g in zip(st[0], grads, strict=True)]

    params = [symarray.shared(p.copy()) for p in init]
    W1, c1, W2, c2 = params
    x, yv = T.dmatrix("x"), T.lvector("y")
    h = T.tanh(T.dot(x, W1) + c1)
    p_y = T.nnet.softmax(T.dot(h, W2) + c2)
    cost = -T.mean(T.log(p_y)[T.arange(yv.shape[0]), yv])
    grads = symarray.grad(cost, params)
    f = fn([x, yv], cost,
           updates=[(p, p - LR * g) for p, g in zip(params, grads, strict=True)])
    return (lambda: f(X, y)), numpy_step


def steps(rng: np.random.Generator, repeats: int, settle: float) -> None:
    from symarray.kernels_c import blas

    cases = {"logreg_step": logreg(rng), "mlp_step": mlp(rng)}
    modes = {"scipy": ("scipy",), "all": ("scipy", "numpy"), "native": ()}
    for mode, packages in modes.items():
        blas.share_blas_threads(False, ("scipy", "numpy"))
        if packages:
            blas.share_blas_threads(True, packages)
        for name, (ours, numpy_step) in cases.items():
            compare(f"{name} [BLAS {mode}]", ours, numpy_step, repeats, settle)
        # a NumPy step right before each compiled step (no settling): NumPy's
        # BLAS threads are still spinning when symarray's step starts
        for name, (ours, numpy_step) in cases.items():
            def both(ours: Any = ours, numpy_step: Any = numpy_step) -> None:
                numpy_step()
                ours()
            compare(f"numpy+{name} [BLAS {mode}]", both,
                    lambda s=numpy_step: (s(), s()), repeats, settle)
    blas.share_blas_threads(False, ("scipy", "numpy"))
    if blas.SHARE_BLAS_THREADS:
        blas.share_blas_threads(True, ("scipy", "numpy") if blas.BLAS_THREADS == "all"
                                else ("scipy",))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--settle", type=float, default=0.2,
                    help="seconds of sleep before each timed batch")
    args = ap.parse_args()
    repeats = 3 if args.quick else args.repeats
    kernels_c.make_thunk  # noqa: B018 (the kernels load on the first compile)
    print(f"# {datetime.date.today()} {platform.machine()} {os.cpu_count()} cpus "
          f"numpy {np.__version__}")
    print(f"{'case (ms)':<34} {'sa med':>9} {'sa min':>9} {'np med':>9} "
          f"{'np min':>9} {'ratio':>7}")
    rng = np.random.default_rng(0)
    reductions(rng, repeats, args.settle, args.quick)
    if not args.quick:
        products(rng, repeats, args.settle)
    steps(rng, repeats, args.settle)


if __name__ == "__main__":
    main()
