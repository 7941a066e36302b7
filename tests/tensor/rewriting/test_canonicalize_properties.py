"""Property tests of the canonicalize and shape rewrites (hypothesis).

Random small programs built from the patterns these rewrites target
(``x*1``, ``--x``, ``x+(-y)``, ``2*x*3``, ``x/c``, ``log(exp(x))``,
transposes, sums of sums, reshapes...) mixed with ordinary elementwise ops,
over a vector and a matrix that broadcast against each other:

* FAST_RUN results equal the unrewritten ones within tolerance wherever the
  unrewritten result is finite (where it is not, a rewrite may give a
  finite value: ``log(exp(x))`` is ``x`` even where ``exp`` overflows);
* rewriting terminates without a rewriter hitting its application cap;
* the function computing ``out.shape`` computes no array values (only
  integers and the booleans of broadcast tests).
"""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.mode import Mode
from symarray.errors import RewriteLimitWarning

FAST_RUN = Mode(linker="py", optimizer="fast_run")
NO_REWRITES = Mode(linker="py", optimizer=None)


def _unary(name, v, c):
    dt = v.dtype
    one, zero = np.asarray(1, dt), np.asarray(0, dt)
    return {
        "mul1": lambda: v * one, "one_mul": lambda: 1 * v, "add0": lambda: v + zero,
        "sub0": lambda: v - 0, "negneg": lambda: T.neg(-v), "neg": lambda: -v,
        "log_exp": lambda: T.log(T.exp(v)), "exp_log_abs": lambda: T.exp(T.log(abs(v))),
        "tanh": lambda: T.tanh(v), "sin": lambda: T.sin(v),
        "scale": lambda: c * v * (c + 1), "div": lambda: v / (c + 4),
        "TT": lambda: v.T.T, "ones3": lambda: v * np.ones(3, dt),
        "sum_sum": lambda: T.sum(T.sum(v, axis=-1)) if v.ndim else v + 1,
        "reflat": lambda: T.flatten(v).reshape(v.shape) if v.ndim else -v,
    }[name]()


def _binary(name, a, b):
    return {
        "add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
        "add_neg": lambda: a + (-b), "sub_neg": lambda: a - (-b),
        "neg_add": lambda: (-a) + b, "div": lambda: a / (abs(b) + 1),
        "sub_self": lambda: a - a,
    }[name]()


UNARY = ["mul1", "one_mul", "add0", "sub0", "negneg", "neg", "log_exp",
         "exp_log_abs", "tanh", "sin", "scale", "div", "TT", "ones3", "sum_sum",
         "reflat"]
BINARY = ["add", "sub", "mul", "add_neg", "sub_neg", "neg_add", "div", "sub_self"]

_row = st.lists(st.floats(-2.0, 2.0, width=32), min_size=3, max_size=3)


@st.composite
def programs(draw):
    dtype = draw(st.sampled_from(["float32", "float64"]))
    steps = []
    for k in range(draw(st.integers(1, 10))):
        pool = 2 + k
        if draw(st.booleans()):
            steps.append((draw(st.sampled_from(UNARY)),
                          (draw(st.integers(0, pool - 1)),),
                          draw(st.sampled_from([-2.0, 0.5, 1.0, 3.0]))))
        else:
            steps.append((draw(st.sampled_from(BINARY)),
                          (draw(st.integers(0, pool - 1)),
                           draw(st.integers(0, pool - 1))), None))
    outputs = draw(st.lists(st.integers(2, 1 + len(steps)), min_size=1, max_size=2))
    return dtype, steps, outputs


def _build(dtype, steps, outputs):
    x = T.vector("x", dtype=dtype)
    y = T.matrix("y", dtype=dtype)
    pool = [x, y]
    for name, args, c in steps:
        if len(args) == 1:
            pool.append(_unary(name, pool[args[0]], c))
        else:
            pool.append(_binary(name, pool[args[0]], pool[args[1]]))
    return [x, y], [pool[k] for k in outputs]


def _compile(inputs, outs, mode):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RewriteLimitWarning)
        return sa.function(inputs, outs, mode=mode, on_unused_input="ignore")


@given(programs(), _row, st.lists(_row, min_size=2, max_size=2))
def test_fast_run_keeps_finite_results(program, x_value, y_value):
    dtype = program[0]
    inputs, outs = _build(*program)
    xv, yv = np.asarray(x_value, dtype), np.asarray(y_value, dtype)
    with np.errstate(all="ignore"):
        got = _compile(inputs, outs, FAST_RUN)(xv, yv)
        want = _compile(inputs, outs, NO_REWRITES)(xv, yv)
    rtol = 2e-3 if dtype == "float32" else 1e-9
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        finite = np.isfinite(w)
        scale = max(1.0, float(np.max(np.abs(w[finite]), initial=0.0)))
        np.testing.assert_allclose(g[finite], w[finite], rtol=rtol, atol=rtol * scale)
        # a non-finite result stays what it was, or becomes finite (stability)
        same = (g == w) | (np.isnan(g) & np.isnan(w)) | np.isfinite(g)
        assert same[~finite].all()


@given(programs())
def test_shapes_are_computed_without_values(program):
    dtype = program[0]
    inputs, outs = _build(*program)
    shapes = [o.shape for o in outs]
    f = _compile(inputs, shapes, FAST_RUN)
    for node in f.maker.fgraph.apply_nodes:
        for out in node.outputs:
            assert np.dtype(out.dtype).kind in "biu", (
                f"{node} computes {out.dtype} values for a shape"
            )
    xv, yv = np.ones(3, dtype), np.ones((2, 3), dtype)
    values = _compile(inputs, outs, NO_REWRITES)(xv, yv)
    with np.errstate(all="ignore"):
        got = f(xv, yv)
    for shape, value in zip(got, values, strict=True):
        assert tuple(shape) == np.shape(value)
