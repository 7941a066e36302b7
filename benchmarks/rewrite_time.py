#!/usr/bin/env python3
"""Rewrite time against graph size, and compile time of small functions.

Three measurements, all in one run:

1. **Scaling.**  FAST_RUN rewrite time of two graph families at about 1k,
   10k and 50k nodes (the node count of the graph handed to the rewriter):

   * ``mlp_grad``: a deep MLP (``tanh(dot(h, W_k) + b_k)`` layers on 4x4
     weights, a softmax output and the crossentropy against one-hot
     targets), compiled to the loss and its gradient with respect to every
     weight and bias;
   * ``chain``: a long elementwise chain on a vector,
     ``[x * 1.0001, x + 0.5, sin(x), x - 0.25]`` repeated.

   The depth of each graph is calibrated to the target node count.  Each
   point is the median of ``--repeats`` rewrites of freshly built graphs
   (the graph cache is off), each size measured in a fresh process.  Times
   are CPU time of the process (``--wall`` for wall-clock time), so other
   jobs on a shared machine do not count.  The rewrite runs with the
   garbage collector paused, as in ``function()``; the collection of the
   objects it allocated is shown after it ("then gc").  Printed:
   ``T(10k) / T(1k)`` (target <= 12) and ``T(50k) / T(10k)`` (target <= 6).

2. **Against PyTensor** (when ``pytensor`` imports): on the 1k graphs,
   PyTensor's FAST_RUN rewrite time (``Mode(linker="py",
   optimizer="fast_run")``; the time its ``FunctionMaker`` spends in the
   rewriter) next to ours, target <= 0.3x.

3. **Small functions.**  Compiling a 21-node function (``function()``
   from the graph to a callable: rewrite + link; fresh graph each time,
   graph cache off), next to PyTensor's compile time for the same graph
   with its C VM (``Mode(linker="cvm", optimizer="fast_run")``, warm
   on-disk cache) and with its Python linker: target <= 0.2x the faster
   of the two.  Also shown: our compile time when the graph cache hits.

Usage::

    python benchmarks/rewrite_time.py               # about 1-2 minutes
    python benchmarks/rewrite_time.py --quick       # 1k and 10k only, 1 repeat
    $HOME/.venvs/anchors/bin/python benchmarks/rewrite_time.py   # with PyTensor
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import symarray
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import config
from symarray.compile.mode import Mode
from symarray.compile.rewrite import pipeline_for_mode
from symarray.graph.destroyhandler import DestroyHandler
from symarray.graph.fg import FunctionGraph, Supervisor
from symarray.graph.traversal import gc_paused

try:  # PyTensor only if it is installed (the anchors venv has it)
    import pytensor
    import pytensor.tensor as pt
    from pytensor.compile.maker import FunctionMaker as PtFunctionMaker
    from pytensor.compile.mode import Mode as PtMode
    from pytensor.tensor.special import softmax as pt_softmax
except Exception:  # noqa: BLE001 (any import failure: run without it)
    pytensor = None

#: the clock: CPU time of this process, so that other jobs on a shared
#: machine do not count (``--wall`` switches to wall-clock time)
CLOCK = time.process_time


# -- graph builders (one per library, the same graphs) ------------------------


def mlp_grad(lib: Any, depth: int) -> tuple[list[Any], list[Any]]:
    """Inputs and outputs (loss, then its gradients) of a ``depth``-layer MLP."""
    tn, grad, softmax = lib
    x = tn.dmatrix("x")
    t = tn.dmatrix("t")
    params = []
    h = x
    for k in range(depth):
        w = tn.dmatrix(f"W{k}")
        b = tn.dvector(f"b{k}")
        h = tn.tanh(tn.dot(h, w) + b)
        params += [w, b]
    p = softmax(h)
    loss = -tn.mean(tn.sum(t * tn.log(p), axis=1))
    return [x, t, *params], [loss, *grad(loss, params)]


def chain(lib: Any, length: int) -> tuple[list[Any], list[Any]]:
    """A vector input and a chain of ``length`` elementwise steps."""
    tn = lib[0]
    x = tn.dvector("x")
    y = x
    for k in range(length):
        step = k % 4
        if step == 0:
            y = y * 1.0001
        elif step == 1:
            y = y + 0.5
        elif step == 2:
            y = tn.sin(y)
        else:
            y = y - 0.25
    return [x], [y]


def small(lib: Any, _: int = 0) -> tuple[list[Any], list[Any]]:
    """A 21-node function: logistic predictions and a regularised loss."""
    tn = lib[0]
    x = tn.dmatrix("x")
    y = tn.dvector("y")
    w = tn.dvector("w")
    b = tn.dscalar("b")
    p = 1 / (1 + tn.exp(-(tn.dot(x, w) + b)))
    loss = tn.mean((p - y) ** 2) + 0.01 * tn.sum(w**2)
    return [x, y, w, b], [loss, p]


SA_LIB = (T, symarray.grad, T.nnet.softmax)
PT_LIB = None if pytensor is None else (pt, pytensor.grad, pt_softmax)
BUILDERS: dict[str, Callable[[Any, int], tuple[list[Any], list[Any]]]] = {
    "mlp_grad": mlp_grad, "chain": chain,
}


# -- symarray -------------------------------------------------------------------

FAST_RUN = Mode(linker="py", optimizer="fast_run")


def sa_fgraph(inputs: list[Any], outputs: list[Any]) -> FunctionGraph:
    """The graph ``function()`` hands to the rewriter (same features)."""
    fg = FunctionGraph(inputs, outputs)
    fg.attach_feature(DestroyHandler())
    fg.attach_feature(Supervisor(fg.inputs))
    return fg


def sa_nodes(build: Callable[..., Any], size: int) -> int:
    return len(sa_fgraph(*build(SA_LIB, size)).apply_nodes)


def sa_rewrite_time(build: Callable[..., Any], size: int) -> tuple[float, float]:
    """(rewrite seconds, seconds of the garbage collection that follows).

    ``function()`` runs the rewriter with the cyclic garbage collector
    paused (as here); the objects rewriting allocated are scanned at the
    next collection, timed separately.
    """
    fg = sa_fgraph(*build(SA_LIB, size))
    pipeline = pipeline_for_mode(FAST_RUN)
    gc.collect()
    with gc_paused():
        t0 = CLOCK()
        pipeline.run(fg)
        t1 = CLOCK()
    gc.collect(0)  # what the next allocation would trigger: the young objects
    return t1 - t0, CLOCK() - t1


def child(name: str, depth: int, repeats: int) -> None:
    """Measure one graph in this (fresh) process; print JSON for the parent."""
    config.graph_cache = False
    times = [sa_rewrite_time(BUILDERS[name], depth) for _ in range(repeats)]
    nodes = sa_nodes(BUILDERS[name], depth)
    print(json.dumps({"nodes": nodes, "rewrite": [t for t, _ in times],
                      "gc": [g for _, g in times]}))


def measure(name: str, depth: int, repeats: int) -> dict[str, Any]:
    """Rewrite times of ``name`` at ``depth``, measured in a fresh process
    (so the heap left by bigger or earlier graphs does not slow it)."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, str(depth), str(repeats)]
        + (["--wall"] if CLOCK is time.perf_counter else []),
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def calibrate(build: Callable[..., Any], target: int) -> int:
    """The depth whose graph has about ``target`` nodes (linear fit)."""
    n1, n2 = sa_nodes(build, 4), sa_nodes(build, 8)
    per = (n2 - n1) / 4
    return max(1, round(4 + (target - n1) / per))


def sa_compile_time(build: Callable[..., Any], mode: Any) -> float:
    ins, outs = build(SA_LIB)
    gc.collect()
    t0 = CLOCK()
    symarray.function(ins, outs, mode=mode)
    return CLOCK() - t0


# -- PyTensor -------------------------------------------------------------------


_pt_rewrite_times: list[float] = []


def _timed_prepare_fgraph(*args: Any, **kwargs: Any) -> Any:
    """PyTensor's ``FunctionMaker.prepare_fgraph`` (its rewrite step), timed."""
    t0 = CLOCK()
    try:
        return _pt_prepare_fgraph(*args, **kwargs)
    finally:
        _pt_rewrite_times.append(CLOCK() - t0)


if pytensor is not None:
    warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
    _pt_prepare_fgraph = PtFunctionMaker.prepare_fgraph
    PtFunctionMaker.prepare_fgraph = staticmethod(_timed_prepare_fgraph)


def pt_rewrite_time(build: Callable[..., Any], size: int) -> float:
    """Time PyTensor's FunctionMaker spends rewriting (FAST_RUN)."""
    ins, outs = build(PT_LIB, size)
    mode = PtMode(linker="py", optimizer="fast_run")
    gc.collect()
    _pt_rewrite_times.clear()
    pytensor.function(ins, outs, mode=mode)
    return _pt_rewrite_times[-1]


def pt_compile_time(build: Callable[..., Any], linker: str) -> float:
    ins, outs = build(PT_LIB)
    mode = PtMode(linker=linker, optimizer="fast_run")
    gc.collect()
    t0 = CLOCK()
    pytensor.function(ins, outs, mode=mode)
    return CLOCK() - t0


# -- running ----------------------------------------------------------------------


def median_of(fn: Callable[[], float], repeats: int) -> float:
    return statistics.median(fn() for _ in range(repeats))


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:9.1f} ms" if seconds < 10 else f"{seconds:9.2f} s "


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--small-repeats", type=int, default=21)
    ap.add_argument("--quick", action="store_true",
                    help="sizes 1k and 10k, one repeat (a smoke run)")
    ap.add_argument("--no-pytensor", action="store_true")
    ap.add_argument("--wall", action="store_true",
                    help="time with the wall clock instead of CPU time")
    ap.add_argument("--child", nargs=3, metavar=("NAME", "DEPTH", "REPEATS"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    global CLOCK
    if args.wall:
        CLOCK = time.perf_counter
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]))
        return 0
    if args.quick:
        args.sizes, args.repeats, args.small_repeats = [1000, 10000], 1, 5
    use_pt = pytensor is not None and not args.no_pytensor
    config.graph_cache = False
    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"symarray linker for compiles: {config.linker}"
          + (f", pytensor {pytensor.__version__}" if use_pt else ", no pytensor"))
    clock = "wall-clock" if args.wall else "CPU"
    print(f"{clock} time, median of {args.repeats}; rewrite = the FAST_RUN pipeline "
          "on a fresh graph (gc paused, as in function()), each size in a fresh "
          "process\n")

    ok = True
    ours_1k: dict[str, float] = {}
    depth_1k: dict[str, int] = {}
    for name, build in BUILDERS.items():
        times: dict[int, float] = {}
        for size in args.sizes:
            depth = calibrate(build, size)
            m = measure(name, depth, args.repeats)
            t, g = statistics.median(m["rewrite"]), statistics.median(m["gc"])
            times[size] = t
            if size == args.sizes[0]:
                depth_1k[name], ours_1k[name] = depth, t
            print(f"{name:9s} depth {depth:5d} nodes {m['nodes']:6d}  rewrite "
                  f"{fmt(t)} ({t / m['nodes'] * 1e6:5.1f} us/node)  then gc "
                  f"{fmt(g)}  [all: {', '.join(f'{x * 1e3:.0f}' for x in m['rewrite'])}"
                  " ms]")
        for lo, hi, target in ((1000, 10000, 12.0), (10000, 50000, 6.0)):
            if lo in times and hi in times:
                r = times[hi] / times[lo]
                ok &= r <= target
                print(f"{name:9s} T({hi // 1000}k)/T({lo // 1000}k) = {r:5.2f}  "
                      f"(target <= {target:g}) {'ok' if r <= target else 'MISSED'}")
        print()

    if use_pt and ours_1k:
        print(f"against PyTensor on the {args.sizes[0]}-node graphs (FAST_RUN "
              "rewrite time; symarray's from above):")
        for name, build in BUILDERS.items():
            ours = ours_1k[name]
            theirs = median_of(lambda b=build, d=depth_1k[name]: pt_rewrite_time(b, d),
                               args.repeats)
            r = ours / theirs
            ok &= r <= 0.3
            print(f"{name:9s} symarray {fmt(ours)}  pytensor {fmt(theirs)}  "
                  f"ratio {r:5.3f}  (target <= 0.3) {'ok' if r <= 0.3 else 'MISSED'}")
        print()

    n_small = sa_nodes(small, 0)
    print(f"compile a {n_small}-node function (function(): rewrite + link), "
          f"median of {args.small_repeats}:")
    sa_default = Mode(optimizer="fast_run")
    sa_compile_time(small, sa_default)  # warm-up (imports, kernel caches)
    ours = median_of(lambda: sa_compile_time(small, sa_default), args.small_repeats)
    ours_py = median_of(lambda: sa_compile_time(small, FAST_RUN), args.small_repeats)
    config.graph_cache = True
    sa_compile_time(small, sa_default)
    cached = median_of(lambda: sa_compile_time(small, sa_default), args.small_repeats)
    config.graph_cache = False
    print(f"  symarray linker={sa_default.linker:8s} {fmt(ours)}   "
          f"(graph cache hit: {fmt(cached).strip()})")
    print(f"  symarray linker=py       {fmt(ours_py)}")
    if use_pt:
        theirs = {}
        for linker in ("cvm", "py"):
            pt_compile_time(small, linker)  # warm-up (C modules from the disk cache)
            theirs[linker] = median_of(lambda lk=linker: pt_compile_time(small, lk),
                                       args.small_repeats)
            print(f"  pytensor linker={linker:8s} {fmt(theirs[linker])}")
        best = min(theirs.values())
        r = ours / best
        ok &= r <= 0.2
        print(f"  ratio symarray / fastest pytensor = {r:5.3f}  (target <= 0.2) "
              f"{'ok' if r <= 0.2 else 'MISSED'}")
    print("\nall targets met" if ok else "\nsome targets MISSED")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
