"""Property test of the in-place phase on random graphs: every reader of an
overwritten value runs before the node that overwrites it, and results equal
the unrewritten graph's."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.io import In
from symarray.compile.mode import Mode

NO_REWRITES = Mode(linker="py", optimizer=None)

#: name -> (number of operands, builder); every result is a length-4 vector
OPS = {
    "sin": (1, T.sin),
    "tanh": (1, T.tanh),
    "half": (1, lambda a: a * 0.5),
    "add": (2, lambda a, b: a + b),
    "mul": (2, lambda a, b: a * b),
    "sub": (2, lambda a, b: a - b),
    "reverse": (1, lambda a: a[::-1]),             # a view
    "tail_view": (1, lambda a: T.join(0, a[1:], a[:1])),
    "plus_sum": (2, lambda a, b: a + b.sum()),     # a reduction reads b
    "sort": (1, T.sort),                           # a temporary, not elementwise
    "set_head": (2, lambda a, b: T.set_subtensor(a[:2], b[2:])),
    "inc_some": (2, lambda a, b: T.inc_subtensor(a[[0, 2, 2]], b[:3])),
}


@st.composite
def programs(draw):
    n = draw(st.integers(3, 12))
    steps = []
    for k in range(n):
        name = draw(st.sampled_from(sorted(OPS)))
        nin = OPS[name][0]
        # operands mostly among the last few values: long chains, late readers
        steps.append((name, tuple(draw(st.integers(max(0, k - 3), 2 + k))
                                  for _ in range(nin))))
    outputs = [2 + n] + draw(st.lists(st.integers(3, 2 + n), max_size=2))
    update = draw(st.one_of(st.none(), st.integers(0, 2 + n)))
    return steps, outputs, update, draw(st.booleans()), draw(st.booleans())


def _build(steps, outputs, update, mutable_x, mode):
    x, y = T.dvectors("x", "y")
    s = sa.shared(np.linspace(-1.0, 1.0, 4), name="s")
    pool = [x, y, s]
    for name, args in steps:
        pool.append(OPS[name][1](*[pool[a] for a in args]))
    updates = [] if update is None else [(s, pool[update])]
    inputs = [In(x, mutable=True) if mutable_x else x, y]
    f = sa.function(inputs, [pool[k] for k in outputs], updates=updates, mode=mode,
                    on_unused_input="ignore")
    return f, s


def _alias_roots(fgraph):
    """Variable -> the non-view variables whose memory it may share (from scratch)."""
    roots = {}
    for node in fgraph.toposort():
        for v in node.inputs:
            roots.setdefault(v, {v})
        for j, out in enumerate(node.outputs):
            srcs = node.op.view_map.get(j, ())
            roots[out] = set().union(*(roots[node.inputs[i]] for i in srcs)) or {out}
    return roots


def _check_schedule(f):
    fg = f.maker.fgraph
    roots = _alias_roots(fg)
    for order in (fg.toposort(), f.maker.schedule):
        where = {n: k for k, n in enumerate(order)}
        for d in order:
            for idx in d.op.destroy_map.values():
                for i in idx:
                    hit = roots[d.inputs[i]]
                    for v, r in roots.items():
                        if not r & hit:
                            continue
                        for c, _ in fg.clients.get(v, ()):
                            assert c != "output", f"{d} overwrites output {v}"
                            if c is not d:
                                assert where[c] < where[d], f"{c} runs after {d}"


@settings(max_examples=100, deadline=None)
@given(programs(), st.sampled_from(["py", "cvm"]))
def test_in_place_graphs_order_readers_first_and_keep_results(program, linker):
    steps, outputs, update, mutable_x, fusion = program
    mode = Mode(linker=linker, optimizer="fast_run")
    f, s = _build(steps, outputs, update, mutable_x,
                  mode if fusion else mode.excluding("fusion"))
    ref, s_ref = _build(steps, outputs, update, mutable_x, NO_REWRITES)
    _check_schedule(f)
    rng = np.random.default_rng(0)
    for _ in range(2):
        x, y = rng.normal(size=4), rng.normal(size=4)
        got, want = f(x.copy(), y.copy()), ref(x.copy(), y.copy())
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(s.get_value(), s_ref.get_value(), rtol=1e-12)
