"""Tests of symarray.tensor.rewriting.inplace on multi-output elementwise nodes:
each output of a fused node may overwrite an input of its own."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.io import In
from symarray.compile.mode import Mode
from symarray.graph import FunctionGraph
from symarray.scalar import get_scalar_op
from symarray.scalar.composite import Composite, CompositeBuilder
from symarray.tensor.elemwise import Elemwise
from symarray.tensor.rewriting.inplace import InplaceElemwise

LINKERS = ["py", "cvm"]
NO_REWRITES = Mode(linker="py", optimizer=None)


def _fused(fgraph):
    return [n for n in fgraph.toposort()
            if isinstance(n.op, Elemwise) and isinstance(n.op.scalar_op, Composite)]


@pytest.mark.parametrize("linker", LINKERS)
def test_each_output_of_a_fused_node_overwrites_an_input_of_its_own(linker):
    X = T.dmatrix("X")
    w, v = T.dvectors("w", "v")
    p, q = T.dot(X, w), T.dot(X, v)  # two temporaries of the outputs' type
    outs = [T.softplus(p + q), T.sigmoid(p - q) * 2, T.tanh(p * q)]
    f = sa.function([X, w, v], outs, mode=Mode(linker=linker, optimizer="fast_run"))
    (node,) = _fused(f.maker.fgraph)
    assert node.nout == 3
    pattern = dict(node.op.inplace_pattern)
    assert len(pattern) == 2 and sorted(pattern.values()) == [0, 1]
    rng = np.random.default_rng(0)
    values = [rng.normal(size=(5, 3)), rng.normal(size=3), rng.normal(size=3)]
    want = sa.function([X, w, v], outs, mode=NO_REWRITES)(*values)
    for _ in range(2):
        for got, exp in zip(f(*values), want, strict=True):
            np.testing.assert_allclose(got, exp, rtol=1e-12)


def _composite(outputs):
    """exp(i0) + i1, i1 * i2 and others over three float64 inputs."""
    b = CompositeBuilder(["float64", "float64", "float64"])
    i0, i1, i2 = b.inputs
    e = b.apply(get_scalar_op("exp"), [i0])
    regs = {"s": b.apply(get_scalar_op("add"), [e, i1]),
            "m": b.apply(get_scalar_op("mul"), [i1, i2]),
            "e": e, "i0": i0, "i1": i1}
    return b.build([regs[k] for k in outputs])


def test_an_input_an_output_returns_is_overwritten_by_that_output_only():
    # output 1 returns input 0 as it is: output 0 may not write over it
    # (the kernel copies the outputs of a block one after the other)
    x, y, z = T.dvectors("x", "y", "z")
    temps = [T.sort(x), T.sort(y), T.sort(z)]
    outs = Elemwise(_composite(("s", "i0")))(*temps)
    fg = FunctionGraph([x, y, z], [o * 1 for o in outs])
    assert InplaceElemwise().apply(fg) >= 1
    (node,) = _fused(fg)
    pattern = dict(node.op.inplace_pattern)
    assert pattern[0] == 1 and pattern.get(1, 0) == 0


CASES = [  # outputs of the composite, output -> input it overwrites
    (("s", "m"), {0: 0, 1: 1}),
    (("s", "m"), {0: 1, 1: 2}),
    (("m", "s"), {0: 2, 1: 0}),
    (("s", "m", "e"), {0: 2, 2: 0}),
    (("i1", "m"), {1: 2}),
]
LAYOUTS = {
    "contiguous": lambda v: v.copy(),
    "fortran": np.asfortranarray,
    "strided": lambda v: np.repeat(v, 2, axis=1)[:, ::2],
}


@pytest.mark.parametrize(("outputs", "pattern"), CASES)
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_the_kernel_overwrites_inputs_per_output_as_perform_does(outputs, pattern,
                                                                 layout):
    op = Elemwise(_composite(outputs), pattern)
    xs = [T.dmatrix(n) for n in "abc"]
    outs = op(*xs)
    rng = np.random.default_rng(2)
    base = [rng.normal(size=(67, 300)) for _ in range(3)]  # threads may split it
    results = {}
    for linker in ("py", "cvm"):
        f = sa.function([In(x, mutable=True) for x in xs], outs, accept_inplace=True,
                        mode=Mode(linker=linker, optimizer=None))
        if linker == "cvm":
            (thunk,) = [t for t in f.vm.program.thunks if t.node.op == op]
            assert thunk.backend == "c"
        args = [LAYOUTS[layout](v) for v in base]
        got = f(*args)
        for o, i in pattern.items():  # the argument holds the output now
            np.testing.assert_array_equal(args[i], got[o])
        results[linker] = got
    for g, w in zip(results["cvm"], results["py"], strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("linker", LINKERS)
def test_an_input_broadcast_at_run_time_is_not_overwritten(linker):
    op = Elemwise(_composite(("s", "m")), {0: 0, 1: 1})
    xs = [T.dmatrix(n) for n in "abc"]
    f = sa.function([In(x, mutable=True) for x in xs], op(*xs), accept_inplace=True,
                    mode=Mode(linker=linker, optimizer=None))
    rng = np.random.default_rng(3)
    a, b, c = rng.normal(size=(1, 4)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    kept = a.copy()
    s, m = f(a, b.copy(), c)
    np.testing.assert_allclose(s, np.exp(kept) + b, rtol=1e-13)
    np.testing.assert_allclose(m, b * c, rtol=1e-13)
    np.testing.assert_array_equal(a, kept)  # (1, 4) cannot hold (3, 4)
