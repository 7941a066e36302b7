"""Property test of FAST_RUN over the op table: rewriting keeps results.

Hypothesis draws small programs over every elementwise row of
``symarray.scalar.ROWS`` plus reductions, dots and dimshuffles, on a
vector, a square matrix, a scalar and constants.  Each program is compiled
with FAST_RUN and with ``optimizer=None``; the results must agree (NaN
equal to NaN) and rewriting must terminate (a ``RewriteLimitWarning`` is an
error; the verifier is on, see conftest).

Every value is tracked in float64 NumPy while the program is drawn, so each
op gets arguments in its valid domain and away from ill-conditioned spots:
an argument outside the op's domain first passes through an adapter
``c + r * tanh(a)`` that maps it into a safe range.  Discontinuous ops
(rounding, sign, comparisons, ``int_div``/``mod``) only read leaves, whose
values lie on a grid away from their jumps.  For float32 the tolerance
grows with how far the unrewritten float32 result is from float64 (the
computation's own conditioning).
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.mode import Mode
from symarray.errors import RewriteLimitWarning
from symarray.scalar import ROWS, get_scalar_op

FAST_RUN = Mode(linker="py", optimizer="fast_run")
NO_REWRITES = Mode(linker="py", optimizer=None)

#: leaf values: never an integer nor a .5 tie, never 0
GRID = [k * 0.25 + 0.1 for k in range(-8, 8)]
INT_GRID = list(range(-5, 6))
#: an argument larger than this is squashed first (keeps products moderate)
CAP = 50.0


def _any(v: np.ndarray) -> bool:
    return True


def _between(lo: float, hi: float) -> Callable[[np.ndarray], bool]:
    return lambda v: bool(np.all((v >= lo) & (v <= hi)))


def _away_from_zero(m: float) -> Callable[[np.ndarray], bool]:
    return lambda v: bool(np.all(np.abs(v) >= m))


#: float ops: per argument, (accepted values, the adapter's target range)
ANY = (_any, (-2.0, 2.0))
FLOAT_DOMAINS: dict[str, tuple[tuple[Callable[[np.ndarray], bool],
                                     tuple[float, float]], ...]] = {
    "true_div": (ANY, (_away_from_zero(0.5), (0.5, 2.0))),
    "reciprocal": ((_away_from_zero(0.5), (0.5, 2.0)),),
    "pow": ((_between(0.5, 10.0), (0.5, 2.0)), (_between(-3.0, 3.0), (-2.0, 2.0))),
    "log": ((_between(0.3, CAP), (0.5, 3.0)),),
    "log2": ((_between(0.3, CAP), (0.5, 3.0)),),
    "log10": ((_between(0.3, CAP), (0.5, 3.0)),),
    "log1p": ((_between(-0.7, CAP), (-0.5, 2.0)),),
    "sqrt": ((_between(0.1, CAP), (0.2, 3.0)),),
    "log1mexp": ((_between(-CAP, -0.1), (-3.0, -0.2)),),
    "tan": ((_between(-1.2, 1.2), (-1.0, 1.0)),),
    "arcsin": ((_between(-0.9, 0.9), (-0.8, 0.8)),),
    "arccos": ((_between(-0.9, 0.9), (-0.8, 0.8)),),
    "arctanh": ((_between(-0.9, 0.9), (-0.8, 0.8)),),
    "erfinv": ((_between(-0.9, 0.9), (-0.8, 0.8)),),
    "arccosh": ((_between(1.1, CAP), (1.2, 3.0)),),
    "arctan2": ((_away_from_zero(0.1), (0.2, 2.0)), ANY),
    "erfcx": ((_between(-2.0, CAP), (-1.0, 3.0)),),
    "erfcinv": ((_between(0.1, 1.9), (0.2, 1.8)),),
    "gamma": ((_between(0.5, 5.0), (0.6, 4.0)),),
    "gammaln": ((_between(0.5, 20.0), (0.6, 4.0)),),
    "psi": ((_between(0.5, 20.0), (0.6, 4.0)),),
    "tri_gamma": ((_between(0.5, 20.0), (0.6, 4.0)),),
}
for _name in ("exp", "exp2", "expm1", "sinh", "cosh"):
    FLOAT_DOMAINS[_name] = ((_between(-5.0, 5.0), (-3.0, 3.0)),)
#: read leaves only (their results jump where the argument crosses a point)
DISCONTINUOUS = {"floor", "ceil", "trunc", "round_half_to_even",
                 "round_half_away_from_zero", "sgn", "angle", "int_div", "mod"}
SPECIAL = {"switch", "clip"}
CONDITIONS = [r.name for r in ROWS if r.rule == "bool" and r.nin == 2]
INT_ONLY = [r.name for r in ROWS if r.rule == "int"]
FLOAT_OPS = [r.name for r in ROWS if r.rule not in ("bool", "int", "cast")
             and r.name not in SPECIAL]
INT_OPS = ["add", "sub", "mul", "neg", "abs", "sqr", "maximum", "minimum",
           "int_div", "mod", "sgn", *INT_ONLY]
REDUCTIONS = ["sum", "max", "min", "mean", "prod"]

Program = list[tuple[Any, ...]]


class _Builder:
    """Draws a program step by step, tracking each value in float64 NumPy."""

    def __init__(self, data: st.DataObject, kind: str) -> None:
        self.data = data
        self.kind = kind
        grid = st.sampled_from(INT_GRID if kind == "int" else GRID)
        self.leaves = [
            np.array(data.draw(st.lists(grid, min_size=3, max_size=3))),
            np.array(data.draw(st.lists(grid, min_size=9, max_size=9))).reshape(3, 3),
            np.array(data.draw(grid)),
        ]
        self.program: Program = []
        self.values: list[np.ndarray] = list(self.leaves)
        for _ in range(data.draw(st.integers(0, 2))):
            const = np.array(data.draw(st.one_of(
                grid, st.lists(grid, min_size=3, max_size=3))))
            self._push(("const", const), const)
        self.n_leaves = len(self.values)

    def _push(self, step: tuple[Any, ...], value: Any) -> int:
        value = np.asarray(value, dtype=np.int64 if self.kind == "int" else np.float64)
        self.program.append(step)
        self.values.append(value)
        return len(self.values) - 1

    def pick(self, leaves_only: bool = False) -> int:
        hi = (self.n_leaves if leaves_only else len(self.values)) - 1
        return self.data.draw(st.integers(0, hi))

    def fit(self, k: int, accepts: Callable[[np.ndarray], bool],
            target: tuple[float, float]) -> int:
        """``k``, or an adapter of it into ``target`` when ``accepts`` refuses."""
        v = self.values[k]
        if self.kind == "int":
            if accepts(v) and np.all(np.abs(v) <= 1000):
                return k
            lo, hi = target
            return self._push(("clip", k, int(lo), int(hi)), np.clip(v, lo, hi))
        if accepts(v) and np.all(np.abs(v) <= CAP):
            return k
        lo, hi = target
        c, r = (lo + hi) / 2, (hi - lo) / 2
        return self._push(("adapt", k, c, r), c + r * np.tanh(v))

    def step(self) -> None:
        choice = self.data.draw(st.sampled_from(
            ["elemwise"] * 6 + ["switch", "clip", "reduce", "dot", "dimshuffle"]))
        getattr(self, "_" + choice)()

    def _elemwise(self) -> None:
        ops = INT_OPS if self.kind == "int" else FLOAT_OPS
        name = self.data.draw(st.sampled_from(ops))
        op = get_scalar_op(name)
        if name in DISCONTINUOUS:
            args = [self.pick(leaves_only=True) for _ in range(op.nin)]
            if name in ("int_div", "mod") and self.kind == "int":
                args[1] = self.fit(args[1], _away_from_zero(1), (1, 4))
        else:
            domains = FLOAT_DOMAINS.get(name, (ANY,) * op.nin)
            if self.kind == "int":
                domains = ((_any, (-20, 20)),) * op.nin
            args = [self.fit(self.pick(), *d) for d in domains]
        with np.errstate(all="ignore"):
            value = op.impl(*[self.values[a] for a in args])
        self._push(("elemwise", name, *args), value)

    def _switch(self) -> None:
        cond = self.data.draw(st.sampled_from(CONDITIONS))
        a, b = self.pick(leaves_only=True), self.pick(leaves_only=True)
        x, y = self.pick(), self.pick()
        with np.errstate(all="ignore"):
            c = get_scalar_op(cond).impl(self.values[a], self.values[b])
        self._push(("switch", cond, a, b, x, y),
                   np.where(c, self.values[x], self.values[y]))

    def _clip(self) -> None:
        grid = INT_GRID if self.kind == "int" else GRID
        lo, hi = sorted(self.data.draw(st.lists(st.sampled_from(grid), min_size=2,
                                                max_size=2, unique=True)))
        k = self.pick()
        self._push(("clip", k, lo, hi), np.clip(self.values[k], lo, hi))

    def _reduce(self) -> None:
        kinds = REDUCTIONS if self.kind != "int" else ["sum", "max", "min", "prod"]
        how = self.data.draw(st.sampled_from(kinds))
        k = self.pick()
        ndim = self.values[k].ndim
        axis = self.data.draw(st.sampled_from([None, *range(ndim)]))
        if how == "prod":
            k = self.fit(k, _between(-3, 3), (-2, 2))
        fn = {"sum": np.sum, "max": np.max, "min": np.min, "mean": np.mean,
              "prod": np.prod}[how]
        self._push(("reduce", how, k, axis), fn(self.values[k], axis=axis))

    def _dot(self) -> None:
        a, b = self.pick(), self.pick()
        va, vb = self.values[a], self.values[b]
        if {va.ndim, vb.ndim} - {1, 2} or va.shape[-1] != vb.shape[0]:
            return
        a = self.fit(a, _any, (-2, 2))
        b = self.fit(b, _any, (-2, 2))
        self._push(("dot", a, b), np.dot(self.values[a], self.values[b]))

    def _dimshuffle(self) -> None:
        k = self.pick()
        v = self.values[k]
        if v.ndim == 0:
            self._push(("dimshuffle", k, ("x",)), v.reshape(1))
        elif v.ndim == 1:
            pattern = self.data.draw(st.sampled_from([("x", 0), (0, "x")]))
            self._push(("dimshuffle", k, pattern), v.reshape(_shape(v.shape, pattern)))
        elif v.shape[0] == v.shape[1]:  # keeps every shape in the program 3 or 1
            self._push(("dimshuffle", k, (1, 0)), v.T)


def _shape(shape: tuple[int, ...], pattern: tuple[Any, ...]) -> tuple[int, ...]:
    return tuple(1 if p == "x" else shape[p] for p in pattern)


def build(program: Program, dtype: str) -> tuple[list[Any], list[Any]]:
    """The symbolic inputs and every value of ``program`` in ``dtype``."""
    inputs = [T.tensor(dtype=dtype, shape=(None,), name="x"),
              T.tensor(dtype=dtype, shape=(None, None), name="y"),
              T.tensor(dtype=dtype, shape=(), name="s")]
    pool: list[Any] = list(inputs)
    for step in program:
        kind, args = step[0], step[1:]
        if kind == "const":
            pool.append(T.constant(np.asarray(args[0], dtype=dtype)))
        elif kind == "adapt":
            k, c, r = args
            pool.append(c + r * T.tanh(pool[k]))
        elif kind == "elemwise":
            pool.append(getattr(T, args[0])(*[pool[a] for a in args[1:]]))
        elif kind == "switch":
            cond, a, b, x, y = args
            pool.append(T.switch(getattr(T, cond)(pool[a], pool[b]), pool[x], pool[y]))
        elif kind == "clip":
            k, lo, hi = args
            pool.append(T.clip(pool[k], lo, hi))
        elif kind == "reduce":
            how, k, axis = args
            pool.append(getattr(T, how)(pool[k], axis=axis))
        elif kind == "dot":
            pool.append(T.dot(pool[args[0]], pool[args[1]]))
        else:
            pool.append(pool[args[0]].dimshuffle(*args[1]))
    return inputs, pool


def _compile(inputs: list[Any], outs: list[Any], mode: Mode) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RewriteLimitWarning)  # must terminate
        return sa.function(inputs, outs, mode=mode, on_unused_input="ignore")


def _run(program: Program, leaves: list[np.ndarray], outs: list[int], dtype: str,
         mode: Mode) -> list[np.ndarray]:
    inputs, pool = build(program, dtype)
    fn = _compile(inputs, [pool[k] for k in outs], mode)
    with np.errstate(all="ignore"):
        return fn(*[np.asarray(v, dtype=dtype) for v in leaves])


def check_program(builder: _Builder, dtype: str) -> None:
    """Compile the program both ways and compare every output."""
    program, leaves = builder.program, builder.leaves
    last = len(builder.values) - 1
    outs = sorted({last, builder.data.draw(st.integers(0, last))})
    got = _run(program, leaves, outs, dtype, FAST_RUN)
    want = _run(program, leaves, outs, dtype, NO_REWRITES)
    if dtype == "float32":
        ref64 = _run(program, leaves, outs, "float64", NO_REWRITES)
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape, (k, g, w)
        if np.dtype(dtype).kind in "iu":
            np.testing.assert_array_equal(g, w)
            continue
        if dtype == "float32":
            with np.errstate(all="ignore"):
                noise = np.abs(w.astype(np.float64) - np.asarray(ref64[k]))
            tol = 1e-4 + 1e-3 * np.abs(w) + 10 * np.nan_to_num(noise, posinf=0.0)
        else:
            tol = 1e-9 + 1e-6 * np.abs(w)
        both_nan = np.isnan(g) & np.isnan(w)
        same_inf = np.isinf(w) & (g == w)
        with np.errstate(all="ignore"):
            close = np.abs(g.astype(np.float64) - w) <= tol
        ok = both_nan | same_inf | close
        assert ok.all(), (
            f"output {k} (value {outs[k]}) differs after FAST_RUN: got {g}, "
            f"expected {w}; program {program}, leaves {leaves}"
        )


_SETTINGS = settings(suppress_health_check=[HealthCheck.too_slow,
                                            HealthCheck.data_too_large])


@_SETTINGS
@given(st.data(), st.sampled_from(["float32", "float64"]))
def test_fast_run_keeps_float_results(data, dtype):
    builder = _Builder(data, "float")
    for _ in range(data.draw(st.integers(1, 8))):
        builder.step()
    check_program(builder, dtype)


@_SETTINGS
@given(st.data(), st.sampled_from(["int32", "int64"]))
def test_fast_run_keeps_integer_results(data, dtype):
    builder = _Builder(data, "int")
    for _ in range(data.draw(st.integers(1, 8))):
        builder.step()
    check_program(builder, dtype)


@pytest.mark.parametrize("name", FLOAT_OPS)
def test_every_float_row_survives_fast_run(name):
    """Each elementwise row once, on valid arguments, in a small expression
    around it (so the rewrites that look at its neighbours see it too)."""
    op = get_scalar_op(name)
    domains = FLOAT_DOMAINS.get(name, (ANY,) * op.nin)
    x = T.dvector("x")
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    raw = rng.uniform(-1.0, 1.0, size=3)
    args, values = [], []
    for k, (_, (lo, hi)) in enumerate(domains):
        c, r = (lo + hi) / 2, (hi - lo) / 2
        args.append(c + r * T.tanh(x + k))
        values.append(c + r * np.tanh(raw + k))
    y = getattr(T, name)(*args)
    outs = [y, y * 2 + 1, T.sum(y)]
    got = _compile([x], outs, FAST_RUN)(raw)
    want = _compile([x], outs, NO_REWRITES)(raw)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-12, equal_nan=True)
