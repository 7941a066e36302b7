"""Property test of the rewriter: random elementwise graphs keep their results.

Random small programs over elementwise ops, inputs and constants (with
broadcasting and repeated subexpressions) are compiled with FAST_RUN and
without rewriting; the results must agree and rewriting must terminate
(the verifier is on for every phase, see conftest).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.mode import Mode

UNARY = ["neg", "exp", "sin", "tanh", "abs", "sqr", "log1p", "sgn"]
BINARY = ["add", "sub", "mul", "maximum", "minimum", "true_div"]

FAST_RUN = Mode(linker="py", optimizer="fast_run")
NO_REWRITES = Mode(linker="py", optimizer=None)

_values = st.lists(st.floats(-2.0, 2.0, width=32), min_size=3, max_size=3)


@st.composite
def programs(draw):
    """(dtype, constants, instructions, outputs) of a random program."""
    dtype = draw(st.sampled_from(["float32", "float64"]))
    constants = draw(st.lists(
        st.one_of(st.floats(-2.0, 2.0, width=32), _values), min_size=1, max_size=3,
    ))
    n_leaves = 2 + len(constants)
    instructions = []
    for k in range(draw(st.integers(1, 12))):
        pool = n_leaves + k
        if draw(st.booleans()):
            op = draw(st.sampled_from(UNARY))
            args = (draw(st.integers(0, pool - 1)),)
        else:
            op = draw(st.sampled_from(BINARY))
            args = (draw(st.integers(0, pool - 1)), draw(st.integers(0, pool - 1)))
        instructions.append((op, args))
    total = n_leaves + len(instructions)
    outputs = draw(st.lists(st.integers(0, total - 1), min_size=1, max_size=3))
    return dtype, constants, instructions, outputs


def _build(dtype, constants, instructions, outputs):
    x = T.vector("x", dtype=dtype)
    y = T.matrix("y", dtype=dtype)  # broadcasts against x
    pool = [x, y]
    for c in constants:
        pool.append(T.constant(np.asarray(c, dtype=dtype)))
    for op, args in instructions:
        pool.append(getattr(T, op)(*[pool[a] for a in args]))
    outs = [pool[k] for k in outputs]
    # an output that is an input or a constant is still a valid function
    return [x, y], outs


@given(programs(), _values, st.lists(_values, min_size=2, max_size=2))
def test_fast_run_keeps_results(program, x_value, y_value):
    dtype = program[0]
    inputs, outs = _build(*program)
    xv = np.asarray(x_value, dtype=dtype)
    yv = np.asarray(y_value, dtype=dtype)
    with np.errstate(all="ignore"):
        rewritten = sa.function(inputs, outs, mode=FAST_RUN, on_unused_input="ignore")
        plain = sa.function(inputs, outs, mode=NO_REWRITES, on_unused_input="ignore")
        got, want = rewritten(xv, yv), plain(xv, yv)
    assert hasattr(rewritten.maker.fgraph, "rewrite_stats")
    n_plain = len(plain.maker.fgraph.apply_nodes)
    assert len(rewritten.maker.fgraph.apply_nodes) <= n_plain
    rtol = 1e-4 if dtype == "float32" else 1e-10
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol, equal_nan=True)
