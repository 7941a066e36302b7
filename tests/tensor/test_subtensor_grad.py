"""Gradients (L_op) and tangents (R_op) of indexing and writing ops.

``x[idx]`` (Subtensor, AdvancedSubtensor1, AdvancedSubtensor, ``take``) and
``set_subtensor`` / ``inc_subtensor`` (IncSubtensor, AdvancedIncSubtensor1,
AdvancedIncSubtensor) are checked with ``verify_grad`` (central finite
differences) and their ``Rop`` against a numeric Jacobian-vector product.
Repeated advanced indices are covered: increments accumulate, and for
``set`` only the value written last receives a gradient.
"""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray import config
from symarray.gradient import Rop, verify_grad
from symarray.graph.basic import Op
from symarray.tensor import subtensor_advanced, subtensor_inc
from symarray.tensor.subtensor import Subtensor

from .grad_numeric import check_both


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


MASK = np.array([[True, False], [False, True], [True, True], [False, False]])

# -- reading: x[idx] -----------------------------------------------------------

READ_CASES = {
    "slice": lambda x: x[1:3],
    "reversed_int": lambda x: x[::-1, 1],
    "negative_step_start": lambda x: x[-1:0:-2],
    "newaxis_ellipsis": lambda x: x[None, ..., 0],
    "scalar": lambda x: x[2, 1],
    "empty_slice": lambda x: x[3:1],
    "adv1_repeated": lambda x: x[[0, 0, 2, 0]],
    "adv1_negative": lambda x: x[[-1, 1, -1]],
    "adv_columns": lambda x: x[:, [1, 1, 0]],
    "adv_pairs_repeated": lambda x: x[[0, 1, 1], [1, 1, 1]],
    "adv_2d_index": lambda x: x[[[0, 3], [3, 3]]],
    "adv_with_slice": lambda x: x[[0, 0], 1:],
    "mask": lambda x: x[MASK],
    "mask_rows": lambda x: x[np.array([True, False, True, True])],
    "take_axis0": lambda x: T.take(x, [[0, 3], [3, 3]], axis=0),
    "take_flat": lambda x: T.take(x, [7, 0, 7]),
    "take_wrap": lambda x: T.take(x, [5, -1], axis=1, mode="wrap"),
    "take_clip": lambda x: T.take(x, [9, 1, 9], axis=0, mode="clip"),
}


@pytest.mark.parametrize("name", list(READ_CASES))
def test_read_grad_and_rop(name):
    check_both(READ_CASES[name], [(4, 2)])


def test_read_grad_float32():
    x = _rng(1).standard_normal((4, 2)).astype("float32")
    for fun in (lambda v: v[1:, 0], lambda v: v[[0, 0, 3]], lambda v: v[:, [1, 1]]):
        verify_grad(fun, [x], rng=_rng(2))


def test_repeated_indices_accumulate():
    x = T.dvector("x")
    g = sa.grad(x[[0, 0, 2, 0]].sum(), x)
    np.testing.assert_array_equal(g.eval({x: np.zeros(4)}), [3.0, 0.0, 1.0, 0.0])
    g = sa.grad(x[[[1, 1], [1, 3]]].sum(), x)
    np.testing.assert_array_equal(g.eval({x: np.zeros(4)}), [0.0, 3.0, 0.0, 1.0])


def test_symbolic_indices_get_no_gradient():
    x, i, ivec = T.dmatrix("x"), T.lscalar("i"), T.lvector("iv")
    cost = (x[i:, i] ** 2).sum() + x[ivec].sum()
    gx, gi, giv = sa.grad(cost, [x, i, ivec])
    f = sa.function([x, i, ivec], [gx, gi, giv])
    xv = np.arange(8.0).reshape(4, 2)
    got_x, got_i, got_iv = f(xv, 1, np.array([3, 3, 0]))
    expected = np.zeros((4, 2))
    expected[1:, 1] = 2 * xv[1:, 1]
    np.add.at(expected, [3, 3, 0], 1.0)
    np.testing.assert_allclose(got_x, expected)
    assert got_i.shape == () and got_i == 0  # integer inputs: zeros
    np.testing.assert_array_equal(got_iv, np.zeros(3))


def test_shared_index_grad_and_rop():
    i = sa.shared(np.int64(1))
    ivec = sa.shared(np.array([3, 0, 3]))
    check_both(lambda x: x[i:, i] + x[ivec][:3, :1], [(4, 2)])


def test_integer_tensor_gets_zero_gradient():
    x, w = T.lmatrix("x"), T.dscalar("w")
    gx, gw = sa.grad((T.cast(x[1:], "float64") * w).sum(), [x, w])
    assert gx.dtype == config.floatX
    np.testing.assert_array_equal(gx.eval({x: np.ones((3, 2), "int64")}), 0)
    assert float(gw.eval({x: np.ones((3, 2), "int64"), w: 2.0})) == 4.0


def test_gradient_of_broadcastable_input_keeps_its_type():
    x = T.tensor("float64", shape=(1, None), name="x")
    g = sa.grad((x[:, 1:] ** 2).sum(), x)
    assert g.type == x.type
    g = sa.grad(x[[0, 0]].sum(), x)
    assert g.type == x.type


# -- writing: set_subtensor / inc_subtensor ------------------------------------

WRITE_CASES = {
    "inc_slice": (lambda x, y: T.inc_subtensor(x[1:3], y), (2, 2)),
    "set_slice_broadcast_row": (lambda x, y: T.set_subtensor(x[1:3], y), (2,)),
    "set_column_scalar": (lambda x, y: T.set_subtensor(x[:, 1], y), ()),
    "inc_int_scalar": (lambda x, y: T.inc_subtensor(x[3, 0], y), ()),
    "set_reversed": (lambda x, y: T.set_subtensor(x[::-2], y), (2, 1)),
    "inc_adv1_repeated": (lambda x, y: T.inc_subtensor(x[[0, 0, 2, 0]], y), (4, 2)),
    "set_adv1_repeated": (lambda x, y: T.set_subtensor(x[[0, 0, 2, 0]], y), (4, 2)),
    "set_adv1_repeated_broadcast": (
        lambda x, y: T.set_subtensor(x[[1, 1, 3]], y), (2,)),
    "set_adv1_unique": (lambda x, y: T.set_subtensor(x[[3, 1]], y), (2, 2)),
    "set_adv1_mixed_signs": (lambda x, y: T.set_subtensor(x[[-1, 3]], y), (2, 2)),
    "inc_adv_pairs": (lambda x, y: T.inc_subtensor(x[[0, 1, 1], [1, 1, 1]], y), (3,)),
    "set_adv_pairs": (lambda x, y: T.set_subtensor(x[[0, 1, 1], [1, 1, 1]], y), (3,)),
    "set_adv_column_repeated": (lambda x, y: T.set_subtensor(x[:, [1, 1]], y), (1, 2)),
    "set_adv_scalar_and_array": (lambda x, y: T.set_subtensor(x[2, [1, 0]], y), (2,)),
    "inc_mask": (lambda x, y: T.inc_subtensor(x[MASK], y), (4,)),
    "set_mask_scalar": (lambda x, y: T.set_subtensor(x[MASK], y), ()),
    "set_mask_rows": (
        lambda x, y: T.set_subtensor(x[np.array([True, False, False, True])], y),
        (2, 1)),
}


@pytest.mark.parametrize("name", list(WRITE_CASES))
def test_write_grad_and_rop(name):
    fun, y_shape = WRITE_CASES[name]
    check_both(fun, [(4, 2), y_shape])


@pytest.mark.parametrize("fun", [
    lambda x, y: T.set_subtensor(x[1:3], y),
    lambda x, y: T.inc_subtensor(x[[0, 0, 1]], y),
    lambda x, y: T.set_subtensor(x[[0, 0, 1]], y),
], ids=["set_slice", "inc_adv1", "set_adv1"])
def test_write_grad_with_y_broadcast_at_run_time(fun):
    check_both(fun, [(4, 2), (1, 2)])  # y's 1 is not static
    check_both(fun, [(4, 2), (1, 1)])


def test_write_grad_float32():
    x = _rng(1).standard_normal((4, 2)).astype("float32")
    y = _rng(2).standard_normal(2).astype("float32")
    for fun in (lambda a, b: T.inc_subtensor(a[1:3, 0], b),
                lambda a, b: T.set_subtensor(a[[0, 0]], b),
                lambda a, b: T.inc_subtensor(a[[0, 3], [1, 1]], b)):
        verify_grad(fun, [x, y], rng=_rng(3))


def test_set_with_repeats_gives_gradient_to_last_value_only():
    x, y = T.dvector("x"), T.dvector("y")
    out = T.set_subtensor(x[[0, 2, 0]], y)
    gx, gy = sa.grad((out * np.array([1.0, 2.0, 3.0])).sum(), [x, y])
    f = sa.function([x, y], [gx, gy])
    got_x, got_y = f(np.zeros(3), np.zeros(3))
    np.testing.assert_array_equal(got_x, [0.0, 2.0, 0.0])
    np.testing.assert_array_equal(got_y, [0.0, 3.0, 1.0])


def test_set_with_symbolic_repeated_index():
    idx = sa.shared(np.array([1, 1, 3, 1]))
    check_both(lambda x, y: T.set_subtensor(x[idx], y), [(4, 2), (4, 2)])
    pairs = sa.shared(np.array([0, 0, 2]))
    check_both(lambda x, y: T.set_subtensor(x[pairs, pairs % 2], y), [(4, 2), (1,)])


def test_write_with_symbolic_slice():
    i = sa.shared(np.int64(1))
    check_both(lambda x, y: T.inc_subtensor(x[i:, i], y), [(4, 2), (3,)])
    check_both(lambda x, y: T.set_subtensor(x[:i + 2], y), [(4, 2), (2,)])


def test_write_rop_with_one_tangent():
    x, y, v = T.dmatrix("x"), T.dvector("y"), T.dmatrix("v")
    xv, yv = _rng(1).standard_normal((4, 2)), _rng(2).standard_normal(2)
    vv = _rng(3).standard_normal((4, 2))
    out = T.set_subtensor(x[[0, 0, 2]], y)
    got = sa.function([x, y, v], Rop(out, x, v), on_unused_input="ignore")(xv, yv, vv)
    expected = vv.copy()
    expected[[0, 2]] = 0.0
    np.testing.assert_allclose(got, expected)
    w = T.dvector("w")
    out = T.inc_subtensor(x[1:3, 1], y)
    rop = sa.function([x, y, w], Rop(out, y, w), on_unused_input="ignore")
    got = rop(xv, yv, np.array([1.0, 2.0]))
    expected = np.zeros((4, 2))
    expected[1:3, 1] = [1.0, 2.0]
    np.testing.assert_allclose(got, expected)


def test_write_into_integer_tensor_has_no_gradient():
    x, y = T.lvector("x"), T.lscalar("y")
    out = T.cast(T.inc_subtensor(x[1:], y), "float64").sum()
    gx, gy = sa.grad(out, [x, y])
    values = {x: np.arange(3), y: 2}
    np.testing.assert_array_equal(gx.eval(values), 0)
    assert float(gy.eval(values)) == 0.0


def test_inplace_write_grad_builds_out_of_place_ops():
    x, y = T.dvector("x"), T.dvector("y")
    sub = x[[0, 1]]
    op = subtensor_inc.AdvancedIncSubtensor1(inplace=True, set_instead_of_inc=True)
    out = op(x, y, sub.owner.inputs[1])
    grads = sa.grad((out * 2).sum(), [x, y])
    nodes = sa.graph.traversal.io_toposort([x, y], grads)
    writes = [n.op for n in nodes if n is not out.owner
              and isinstance(n.op, subtensor_inc.AdvancedIncSubtensor1)]
    assert writes
    assert not any(w.inplace for w in writes)


# -- every op here has a native R_op --------------------------------------------

OP_CLASSES = [
    Subtensor, subtensor_advanced.AdvancedSubtensor1,
    subtensor_advanced.AdvancedSubtensor, subtensor_advanced.CountNonzero,
    subtensor_advanced.SliceLength, subtensor_inc.IncSubtensor,
    subtensor_inc.AdvancedIncSubtensor1, subtensor_inc.AdvancedIncSubtensor,
]


@pytest.mark.parametrize("cls", OP_CLASSES, ids=lambda c: c.__name__)
def test_op_has_native_r_op_and_l_op(cls):
    assert cls.R_op is not Op.R_op
    assert cls.L_op is not Op.L_op or cls.grad is not Op.grad
