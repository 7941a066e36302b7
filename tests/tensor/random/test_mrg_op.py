"""MRG31k3p against a pure-Python version of the published recurrence."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T
from symarray.errors import DtypeError, ShapeMismatchError
from symarray.tensor.random import mrg_op
from symarray.tensor.random.mrg_op import (
    ChoiceFromUniform,
    MRGUniform,
    MultinomialFromUniform,
    jump,
    seed_state,
    substream_states,
)

from .mrg_reference import P1, P2, PyMRG, py_jump


def test_constants_are_the_published_ones() -> None:
    assert (mrg_op.M1, mrg_op.M2) == (P1, P2)


@pytest.mark.parametrize("seed", [1, 12345, [5, 6, 7, 8, 9, 10],
                                  [P1 - 1, 0, 3, P2 - 1, P2 - 2, 0]])
def test_one_stream_matches_the_recurrence(seed: object) -> None:
    state = seed_state(seed)
    ref = PyMRG([int(w) for w in state])
    want = [ref.next_float64() for _ in range(50)]
    draws, new = mrg_op.uniform_from_states(state[None, :], 50, "float64")
    np.testing.assert_array_equal(draws, want)  # exact, not approximate
    assert new[0].tolist() == ref.state()


def test_float32_draws_are_below_one() -> None:
    # the largest z (M1) must not round up to 1 in float32
    z = np.array([P1, 1, 2 ** 30], dtype=np.int64)
    u = mrg_op._scale(z, "float32")
    assert u.dtype == np.float32 and (u < 1).all() and (u > 0).all()


@pytest.mark.parametrize("log2", [0, 1, 5, 10])
def test_jump_matrix_equals_stepping(log2: int) -> None:
    state = [11, 22, 33, 44, 55, 66]
    ref = PyMRG(state)
    for _ in range(2 ** log2):
        ref.next_z()
    assert jump(np.asarray(state), log2)[0].tolist() == ref.state()
    assert py_jump(state, 2 ** log2) == ref.state()


def test_substreams_are_spaced_2_pow_72() -> None:
    base = [int(w) for w in seed_state(234)]
    rows = substream_states(seed_state(234), 7)
    want = base
    for k in range(7):
        assert rows[k].tolist() == want
        want = py_jump(want, 2 ** 72)


def test_draws_interleave_streams() -> None:
    # element i is the (i // ns)-th number of stream i % ns
    states = substream_states(seed_state(99), 3)
    refs = [PyMRG([int(w) for w in row]) for row in states]
    want = [refs[i % 3].next_float64() for i in range(11)]
    draws, new = mrg_op.uniform_from_states(states, 11, "float64")
    np.testing.assert_array_equal(draws, want)
    assert [r.state() for r in refs] == new.tolist()


@pytest.mark.parametrize("seed, err", [(0, ValueError), (P2, ValueError),
                                       ([1, 2, 3], ValueError),
                                       ([0, 0, 0, 1, 1, 1], ValueError),
                                       ("abc", TypeError), (1.5, TypeError)])
def test_bad_seeds(seed: object, err: type) -> None:
    with pytest.raises(err, match="seed"):
        seed_state(seed)


@pytest.mark.parametrize("linker", ["py", "cvm"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_op_pure_and_inplace(linker: str, dtype: str) -> None:
    states = substream_states(seed_state(7), 4)
    r = T.imatrix("r")
    new, u = MRGUniform(dtype)(r, T.as_tensor_variable(np.array([3, 5])))
    f = sa.function([r], [new, u], mode=sa.Mode(linker=linker))
    got_new, got_u = f(states)
    want_u, want_new = mrg_op.uniform_from_states(states, 15, dtype)
    np.testing.assert_array_equal(got_u, want_u.reshape(3, 5))
    assert got_u.dtype == dtype
    np.testing.assert_array_equal(got_new, want_new)
    assert states.tolist() == substream_states(seed_state(7), 4).tolist()  # untouched


def test_op_errors() -> None:
    r = T.imatrix("r")
    with pytest.raises(DtypeError, match="float32 or float64"):
        MRGUniform("int32")
    with pytest.raises(DtypeError, match="int32 matrix"):
        MRGUniform("float64")(T.dmatrix(), [2])
    with pytest.raises(DtypeError, match="integer vector"):
        MRGUniform("float64")(r, T.dvector())
    with pytest.raises(ShapeMismatchError, match="length of size"):
        MRGUniform("float64")(r, T.lvector())
    s = T.lvector("s")
    f = sa.function([r, s], MRGUniform("float64")(r, T.specify_shape(s, (1,)))[1])
    with pytest.raises(ShapeMismatchError, match="n_streams >= 1, 6"):
        f(np.zeros((2, 5), "int32"), [3])


def test_multinomial_and_choice_from_uniform() -> None:
    p = np.array([[0.2, 0.5, 0.3], [1.0, 0.0, 0.0]])
    unis = np.array([0.1, 0.9, 0.6, 0.3])  # draw c of row j: unis[c * 2 + j]
    pv, u = T.dmatrix(), T.dvector()
    counts = sa.function([pv, u], MultinomialFromUniform("int64")(pv, u, 2))(p, unis)
    # row 0: 0.1 -> 0, 0.6 -> 1; row 1: always outcome 0
    assert counts.tolist() == [[1, 1, 0], [2, 0, 0]]
    idx = sa.function([pv, u], ChoiceFromUniform("int64")(pv, u, 2))(
        np.array([[0.2, 0.5, 0.3], [0.5, 0.25, 0.25]]), unis)
    # without replacement: row 0 picks 0 (0.1) then, renormalised, 1 (0.6)
    assert idx.tolist() == [[0, 1], [2, 0]]
    with pytest.raises(ValueError, match="without replacement"):
        sa.function([pv, u], ChoiceFromUniform("int64")(pv, u, 4))(p, np.zeros(8))
