"""Gradients (L_op) and tangents (R_op) of Join and Split.

``join``/``concatenate``, ``stack`` (and its ``MakeVector`` form for
scalars), the ``*stack`` helpers, ``split`` and ``roll`` (built from Split
and Join) are checked with ``verify_grad`` (central finite differences) and
their ``Rop`` against a numeric Jacobian-vector product.
"""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray.gradient import Rop, verify_grad
from symarray.graph.basic import Op
from symarray.tensor.join import Join, Split

from .grad_numeric import check_both


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# -- join, stack -----------------------------------------------------------------

JOIN_CASES = {
    "axis0_unequal": (lambda a, b: T.join(0, a, b), [(2, 3), (1, 3)]),
    "axis1_three": (lambda a, b: T.join(1, a, b, a), [(2, 3), (2, 1)]),
    "axis_negative": (lambda a, b: T.concatenate([a, b], axis=-1), [(2, 2), (2, 3)]),
    "empty_piece": (lambda a, b: T.join(0, a, b), [(0, 3), (2, 3)]),
    "vectors": (lambda a, b: T.concatenate([b, a, b]), [(3,), (2,)]),
    "stack_axis0": (lambda a, b: T.stack([a, b]), [(2, 3), (2, 3)]),
    "stack_axis1": (lambda a, b: T.stack([a, b], axis=1), [(2, 3), (2, 3)]),
    "stack_last": (lambda a, b: T.stack([a, b, a], axis=-1), [(3,), (3,)]),
    "stack_scalars": (lambda a, b: T.stack([a, b, a * b]), [(), ()]),
    "stack_theano_form": (lambda a, b: T.stack(a, 2.0, b), [(), ()]),
    "hstack": (lambda a, b: T.hstack([a, b]), [(2, 1), (2, 2)]),
    "vstack_vectors": (lambda a, b: T.vstack([a, b]), [(3,), (3,)]),
}


@pytest.mark.parametrize("name", list(JOIN_CASES))
def test_join_grad_and_rop(name):
    fun, shapes = JOIN_CASES[name]
    check_both(fun, shapes)


def test_join_grad_float32():
    a = _rng(1).standard_normal((2, 3)).astype("float32")
    b = _rng(2).standard_normal((1, 3)).astype("float32")
    verify_grad(lambda u, v: T.join(0, u, v, u), [a, b], rng=_rng(3))
    verify_grad(lambda u: T.split(u, [2, 1], 2, axis=1)[0], [a], rng=_rng(4))


def test_join_mixed_dtypes_gives_each_input_its_dtype():
    a, b, i = T.fvector("a"), T.dvector("b"), T.lvector("i")
    out = T.concatenate([a, b, i])
    assert out.dtype == "float64"
    ga, gb, gi = sa.grad((out * np.arange(1.0, 8.0)).sum(), [a, b, i])
    assert (ga.dtype, gb.dtype) == ("float32", "float64")
    f = sa.function([a, b, i], [ga, gb, gi])
    got_a, got_b, got_i = f(np.ones(2, "float32"), np.ones(3), np.ones(2, "int64"))
    np.testing.assert_array_equal(got_a, [1.0, 2.0])
    np.testing.assert_array_equal(got_b, [3.0, 4.0, 5.0])
    np.testing.assert_array_equal(got_i, [0.0, 0.0])  # integers: zeros


def test_join_grad_keeps_broadcastable_input_type():
    a = T.tensor("float64", shape=(None, 1), name="a")
    b = T.dmatrix("b")
    ga = sa.grad((T.join(0, a, b) ** 2).sum(), a)
    assert ga.type == a.type
    row = T.tensor("float64", shape=(1, None), name="row")
    g = sa.grad(T.join(1, row, row).sum(), row)
    assert g.type == row.type


def test_join_of_integers_has_no_gradient():
    i, j = T.lvector("i"), T.lvector("j")
    gi = sa.grad(T.cast(T.join(0, i, j), "float64").sum(), i)
    np.testing.assert_array_equal(gi.eval({i: np.arange(2), j: np.arange(3)}), 0)


# -- split, roll -------------------------------------------------------------------

SPLIT_CASES = {
    "all_pieces": lambda a: T.join(1, *T.split(a, [1, 3], 2, axis=1)[::-1]),
    "one_piece": lambda a: T.split(a, [1, 3], 2, axis=1)[1],
    "middle_piece": lambda a: T.split(a, [1, 1, 0], 3, axis=0)[1] * 2.0,
    "empty_piece_used": lambda a: T.split(a, [2, 0], 2, axis=0)[1] + 1.0,
    "single": lambda a: T.split(a, [4], 1, axis=1)[0] ** 2,
    "roll_axis": lambda a: T.roll(a, 1, axis=1),
    "roll_negative_flat": lambda a: T.roll(a, -3),
    "roll_tuple": lambda a: T.roll(a, (1, -1), axis=(0, 1)),
    "roll_zero": lambda a: T.roll(a, 4, axis=1) * 1.5,
}


@pytest.mark.parametrize("name", list(SPLIT_CASES))
def test_split_grad_and_rop(name):
    check_both(SPLIT_CASES[name], [(2, 4)])


def test_split_grad_with_unused_pieces_is_zero_there():
    a = T.dmatrix("a")
    first, _, third = T.split(a, [1, 2, 1], 3, axis=1)
    g = sa.grad(first.sum() + 2 * third.sum(), a)
    got = g.eval({a: np.zeros((2, 4))})
    np.testing.assert_array_equal(got, [[1.0, 0.0, 0.0, 2.0]] * 2)


def test_split_and_roll_with_symbolic_sizes():
    sizes = sa.shared(np.array([3, 1]))
    shift = sa.shared(np.int64(-2))
    check_both(lambda a: T.split(a, sizes, 2, axis=1)[0] * 3.0, [(2, 4)])
    check_both(lambda a: T.roll(a, shift, axis=1), [(2, 4)])


def test_split_sizes_get_no_gradient():
    a, sizes = T.dvector("a"), T.lvector("sizes")
    pieces = T.split(a, sizes, 2)
    ga, gs = sa.grad(pieces[0].sum() + 3 * pieces[1].sum(), [a, sizes])
    f = sa.function([a, sizes], [ga, gs])
    got_a, got_s = f(np.zeros(4), np.array([1, 3]))
    np.testing.assert_array_equal(got_a, [1.0, 3.0, 3.0, 3.0])
    np.testing.assert_array_equal(got_s, [0.0, 0.0])


def test_split_rop_gives_one_tangent_per_piece():
    a, v = T.dvector("a"), T.dvector("v")
    pieces = T.split(a * a, [1, 2], 2)
    tangents = Rop(pieces, a, v)
    got = sa.function([a, v], tangents)(np.array([1.0, 2.0, 3.0]), np.ones(3))
    np.testing.assert_allclose(got[0], [2.0])
    np.testing.assert_allclose(got[1], [4.0, 6.0])


@pytest.mark.parametrize("cls", [Join, Split], ids=lambda c: c.__name__)
def test_op_has_native_r_op_and_l_op(cls):
    assert cls.R_op is not Op.R_op
    assert cls.L_op is not Op.L_op
