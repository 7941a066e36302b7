"""local_random_inplace: draws overwrite the state only when it is updated."""

from __future__ import annotations

import numpy as np

import symarray as theano
from symarray.tensor.random.mrg import MRG_RandomStreams
from symarray.tensor.random.streams import RandomStreams


def _inplace(f: object) -> list[bool]:
    return [n.op.inplace for n in f.maker.fgraph.apply_nodes  # type: ignore[attr-defined]
            if hasattr(n.op, "inplace")]


def test_inplace_only_when_the_state_is_updated() -> None:
    for srng in (RandomStreams(5), MRG_RandomStreams(5)):
        u = srng.uniform((3,))
        f = theano.function([], u)
        g = theano.function([], u, no_default_updates=True)
        h = theano.function([], u, mode="FAST_COMPILE")
        e = theano.function([], u, mode=theano.Mode().excluding("inplace"))
        assert _inplace(f) == [True]
        assert _inplace(g) == _inplace(h) == _inplace(e) == [False]
        state = u.rng.get_value(borrow=True)
        before = theano.shared(state).get_value()  # a copy
        g()
        assert u.rng.get_value(borrow=True) is state
        if isinstance(state, np.ndarray):
            np.testing.assert_array_equal(state, before)  # not overwritten
        f()  # overwrites the state (Theano's mutable shared state)
        assert u.rng.get_value(borrow=True) is state
        h()
        assert u.rng.get_value(borrow=True) is not state  # a new state


def test_another_reader_of_the_old_state_blocks_inplace() -> None:
    srng = MRG_RandomStreams(5)
    u = srng.uniform((3,))
    f = theano.function([], [u, u.rstate * 1])  # reads the old state too
    before = u.rstate.get_value()
    _, old = f()
    np.testing.assert_array_equal(old, before)  # read before it was overwritten
    assert u.rstate.get_value().tolist() != before.tolist()  # the state moved on
