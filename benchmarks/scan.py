#!/usr/bin/env python3
"""Scan loops: symarray's Cython loop thunk next to a NumPy Python loop.

Measured side by side in one run (compare ratios, not absolute times):

* ``scan_trivial``: 10,000 steps of ``carry + 1`` on a 0-d float64, in µs
  per step, against the same loop in Python over NumPy 0-d arrays (targets:
  at most the NumPy loop's time per step and at most 0.1x PyTensor C-VM's).
* ``rnn_fwd``: ``h_t = tanh(h_{t-1} W + x_t U)``, 100 steps, hidden 64,
  input 32, batch 16, all ``h_t`` returned, in µs per call, against the
  NumPy Python loop.

symarray runs under ``cvm`` (the default) and ``cvm_nogc``; the ``py``
linker (the Scan op's ``perform``, a Python loop over a compiled step) is
shown for reference.  PyTensor (C-VM mode ``CVM`` and its default numba
backend) and JAX (``lax.scan`` under ``jit``) get a row each when they are
importable, e.g. under ``~/.venvs/anchors/bin/python``, where symarray is
installed too.

Usage::

    python benchmarks/scan.py            # ~1 min with the peers
    python benchmarks/scan.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import platform
import statistics
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from timing import measure

import symarray
import symarray.tensor as T  # noqa: N812

SCAN_STEPS = 10_000
RNN_T, RNN_BATCH, RNN_IN, RNN_H = 100, 16, 32, 64
LINKERS = ("cvm", "cvm_nogc", "py")


def _optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception:  # not installed, or broken: no column
        return None


# -- scan_trivial ------------------------------------------------------------------
def scan_trivial_cases(peers: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    c0 = np.array(0.0)
    n = SCAN_STEPS

    def numpy_loop() -> Any:
        c = c0
        for _ in range(n):
            c = c + 1
        return c

    cases: dict[str, Callable[[], Any]] = {"numpy python loop": numpy_loop}
    c = T.dscalar("c0")
    out, _ = symarray.scan(lambda h: h + 1, outputs_info=c, n_steps=n)
    for linker in LINKERS:
        f = symarray.function([c], out[-1], mode=symarray.Mode(linker=linker))
        assert float(f(c0)) == n
        cases[f"symarray {linker}"] = lambda f=f: f(c0)
    pt = peers.get("pytensor")
    if pt is not None:
        pc = pt.tensor.dscalar("c0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pout, _ = pt.scan(lambda h: h + 1, outputs_info=pc, n_steps=n)
        for label, mode in (("pytensor CVM", "CVM"), ("pytensor numba", None)):
            kw = {} if mode is None else {"mode": mode}
            try:
                g = pt.function([pc], pout[-1], **kw)
                g(c0)
            except Exception as err:  # a backend that is not available here
                print(f"  ({label} skipped: {type(err).__name__}: {err})")
                continue
            cases[label] = lambda g=g: g(c0)
    jax = peers.get("jax")
    if jax is not None:
        def jloop(c: Any) -> Any:
            return jax.lax.scan(lambda h, _: (h + 1, None), c, None, length=n)[0]
        jf = jax.jit(jloop)
        jc = jax.numpy.asarray(0.0)
        cases["jax lax.scan"] = lambda: jf(jc).block_until_ready()
    return cases


# -- rnn_fwd -----------------------------------------------------------------------
def rnn_data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"X": rng.standard_normal((RNN_T, RNN_BATCH, RNN_IN)),
            "W": rng.standard_normal((RNN_H, RNN_H)) * (0.9 / np.sqrt(RNN_H)),
            "U": rng.standard_normal((RNN_IN, RNN_H)) * (1.0 / np.sqrt(RNN_IN)),
            "h0": np.zeros((RNN_BATCH, RNN_H))}


def rnn_numpy(xs: np.ndarray, w: np.ndarray, u: np.ndarray, h0: np.ndarray
              ) -> np.ndarray:
    hs = np.empty((xs.shape[0], *h0.shape))
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(h @ w + xs[t] @ u)
        hs[t] = h
    return hs


def rnn_fwd_cases(peers: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    d = rnn_data()
    args = (d["X"], d["W"], d["U"], d["h0"])
    expected = rnn_numpy(*args)
    cases: dict[str, Callable[[], Any]] = {
        "numpy python loop": lambda: rnn_numpy(*args)}

    def graph(tt: Any, scan: Any) -> tuple[list[Any], Any]:
        xs, h0 = tt.dtensor3("X"), tt.dmatrix("h0")
        w, u = tt.dmatrix("W"), tt.dmatrix("U")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hs, _ = scan(lambda x, h, w, u: tt.tanh(tt.dot(h, w) + tt.dot(x, u)),
                         sequences=xs, outputs_info=h0, non_sequences=[w, u])
        return [xs, w, u, h0], hs

    ins, H = graph(T, symarray.scan)
    for linker in LINKERS:
        f = symarray.function(ins, H, mode=symarray.Mode(linker=linker))
        np.testing.assert_allclose(f(*args), expected, rtol=1e-10, atol=1e-12)
        cases[f"symarray {linker}"] = lambda f=f: f(*args)
    pt = peers.get("pytensor")
    if pt is not None:
        pins, pH = graph(pt.tensor, pt.scan)
        for label, mode in (("pytensor CVM", "CVM"), ("pytensor numba", None)):
            kw = {} if mode is None else {"mode": mode}
            try:
                g = pt.function(pins, pH, **kw)
                np.testing.assert_allclose(g(*args), expected, rtol=1e-10, atol=1e-12)
            except Exception as err:
                print(f"  ({label} skipped: {type(err).__name__}: {err})")
                continue
            cases[label] = lambda g=g: g(*args)
    jax = peers.get("jax")
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
        jnp = jax.numpy

        def jrnn(xs: Any, w: Any, u: Any, h0: Any) -> Any:
            def step(h: Any, x: Any) -> Any:
                h = jnp.tanh(h @ w + x @ u)
                return h, h
            return jax.lax.scan(step, h0, xs)[1]

        jf = jax.jit(jrnn)
        jargs = [jnp.asarray(a) for a in args]
        np.testing.assert_allclose(np.asarray(jf(*jargs)), expected, rtol=1e-8)
        cases["jax lax.scan"] = lambda: jf(*jargs).block_until_ready()
    return cases


def report(title: str, times: dict[str, list[float]], per: int, unit: str,
           reference: str = "numpy python loop") -> None:
    scale = 1e6 / per
    ref = statistics.median(times[reference])
    cvm = times.get("pytensor CVM")
    print(title)
    header = (f"  {'case':<22} {'median ' + unit:>14} {'(min)':>10} "
              f"{'x numpy loop':>13} {'x pytensor CVM':>15}")
    print(header)
    print("  " + "-" * (len(header) - 2))
    for name, ts in times.items():
        med = statistics.median(ts)
        vs_cvm = f"{med / statistics.median(cvm):14.3f}x" if cvm else " " * 15
        print(f"  {name:<22} {med * scale:14.4f} {min(ts) * scale:10.4f} "
              f"{med / ref:12.3f}x {vs_cvm}")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 3 repeats of 0.03 s batches")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed batches per case (default 7, quick 3)")
    parser.add_argument("--batch-time", type=float, default=None,
                        help="seconds per batch (default 0.2, quick 0.03)")
    parser.add_argument("--no-peers", action="store_true",
                        help="leave PyTensor and JAX out even when importable")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 7)
    batch_time = args.batch_time or (0.03 if args.quick else 0.2)
    peers = {} if args.no_peers else {
        name: mod for name in ("pytensor", "jax")
        if (mod := _optional(name)) is not None}
    versions = ", ".join(f"{k} {getattr(m, '__version__', '?')}" for k, m in
                         peers.items())
    print(f"symarray {symarray.__version__}, numpy {np.__version__}"
          f"{', ' + versions if versions else ''}, Python "
          f"{platform.python_version()}, {platform.machine()} "
          f"({platform.processor() or 'unknown cpu'}), "
          f"{datetime.date.today().isoformat()}")
    print(f"{repeats} interleaved batches of ~{batch_time:g} s per case, gc off")
    print()
    report(f"scan_trivial: {SCAN_STEPS} steps of carry + 1 on a 0-d float64, per "
           "step (targets: symarray cvm <= 1x numpy loop, <= 0.1x pytensor CVM)",
           measure(scan_trivial_cases(peers), repeats, batch_time, warmup=2),
           SCAN_STEPS, "us/step")
    report(f"rnn_fwd: h = tanh(h W + x_t U), T={RNN_T}, batch {RNN_BATCH}, "
           f"in {RNN_IN}, hidden {RNN_H}, per call",
           measure(rnn_fwd_cases(peers), repeats, batch_time, warmup=2), 1, "us/call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
