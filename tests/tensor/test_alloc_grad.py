"""Gradients (L_op) and tangents (R_op) of the allocation ops.

``alloc`` and the helpers built on it (``fill``/``second``, ``full``,
``zeros_like``...), ``broadcast_to``, ``tensor_copy``, ``arange``, ``eye``,
``empty``, ``repeat`` and ``tile`` are checked with ``verify_grad``
(central finite differences) and their ``Rop`` against a numeric
Jacobian-vector product.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray import config
from symarray.gradient import DisconnectedInputError, verify_grad
from symarray.graph.basic import Op

from .grad_numeric import check_both, check_rop

# the module (``symarray.tensor.alloc`` is also the name of the function)
alloc_module = importlib.import_module("symarray.tensor.alloc")


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# -- alloc and friends ---------------------------------------------------------

ALLOC_CASES = {
    "scalar": (lambda v: T.alloc(v, 2, 3), [()]),
    "row_padded": (lambda v: T.alloc(v, 2, 3), [(3,)]),
    "same_shape": (lambda v: T.alloc(v, 2, 3), [(2, 3)]),
    "broadcastable_dim": (lambda v: T.alloc(T.addbroadcast(v, 0), 2, 4, 3), [(1, 3)]),
    "symbolic_length": (lambda v: T.alloc(v, v.shape[0] + 1, v.shape[0]), [(3,)]),
    "zero_length": (lambda v: T.alloc(v, 0, 3) + 1.0, [(3,)]),
    "fill": (lambda m, v: T.fill(m, v), [(2, 3), ()]),
    "second_row": (lambda m, v: T.second(m, v), [(2, 3), (3,)]),
    "full_like": (lambda v: T.full_like(T.zeros((2, 2)), v), [()]),
    "broadcast_to": (lambda v: T.broadcast_to(v, (3, 4, 2)), [(4, 2)]),
    "broadcast_to_col": (lambda v: T.broadcast_to(T.addbroadcast(v, 1), (3, 2)),
                         [(3, 1)]),
    "broadcast_arrays": (lambda a, b: T.broadcast_arrays(a, b)[0]
                         * T.broadcast_arrays(a, b)[1], [(2, 1), (3,)]),
    "copy": (lambda v: v.copy() * 2.0, [(2, 3)]),
}


@pytest.mark.parametrize("name", list(ALLOC_CASES))
def test_alloc_grad_and_rop(name):
    fun, shapes = ALLOC_CASES[name]
    if name == "broadcast_arrays":
        fun = _static_broadcast(fun)
    check_both(fun, shapes)


def _static_broadcast(fun: Callable[..., Any]) -> Callable[..., Any]:
    # broadcasting follows static shapes: give the (2, 1) input its 1
    return lambda a, b: fun(T.addbroadcast(a, 1), b)


def test_alloc_grad_with_run_time_broadcasting():
    # the value's length-1 dimensions are not static here: summed at run time
    check_both(lambda v: T.alloc(v, 2, 4, 3), [(1, 3)])
    check_both(lambda v: T.broadcast_to(v, (2, 4, 3)), [(4, 1)])
    check_both(lambda v: T.alloc(v, 2, 3), [(2, 3)])


def test_alloc_grad_float32():
    v = _rng(1).standard_normal(3).astype("float32")
    verify_grad(lambda u: T.alloc(u, 2, 3), [v], rng=_rng(2))
    verify_grad(lambda u: T.broadcast_to(u, (2, 3)), [v], rng=_rng(3))
    verify_grad(lambda u: T.repeat(u, [2, 0, 1]), [v], rng=_rng(4))


def test_alloc_grad_dtypes_and_types():
    v = T.fvector("v")
    g = sa.grad(T.alloc(v, 4, 3).sum(), v)
    assert g.type == v.type
    row = T.tensor("float64", shape=(1, None), name="row")
    g = sa.grad((T.alloc(row, 5, 3) ** 2).sum(), row)
    assert g.type == row.type
    np.testing.assert_allclose(g.eval({row: np.ones((1, 3))}), np.full((1, 3), 10.0))


def test_alloc_shape_arguments_get_no_gradient():
    v, n = T.dscalar("v"), T.lscalar("n")
    gv, gn = sa.grad(T.alloc(v, n, 2).sum(), [v, n])
    f = sa.function([v, n], [gv, gn])
    got_v, got_n = f(1.0, 3)
    assert float(got_v) == 6.0 and float(got_n) == 0.0


def test_fill_model_gets_no_gradient():
    m, v = T.dmatrix("m"), T.dscalar("v")
    with pytest.raises(DisconnectedInputError):
        sa.grad(T.fill(m, v).sum(), m)
    gm = sa.grad(T.fill(m, v).sum(), m, disconnected_inputs="ignore")
    np.testing.assert_array_equal(gm.eval({m: np.ones((2, 2))}), 0)


def test_empty_and_eye_have_no_gradient_inputs():
    x = T.dmatrix("x")
    gx = sa.grad((T.eye(3, 2) * x).sum() + (T.empty((3, 2)) * 0.0).sum(), x)
    np.testing.assert_array_equal(gx.eval({x: np.zeros((3, 2))}), np.eye(3, 2))
    op = alloc_module.AllocEmpty("float64")
    node = op.make_node(2, 3)
    assert op.L_op(node.inputs, node.outputs, [x]) == [None, None]
    node = alloc_module.Eye("float64").make_node(2, 2, 0)
    assert node.op.R_op(node.inputs, [None] * 3) == [None]
    check_rop(lambda u: T.eye(2, 3, 1) * u, [_rng(5).standard_normal((2, 3))])


# -- arange ----------------------------------------------------------------------

def test_arange_grad_and_rop_float_arguments():
    start = np.array(0.3)
    check_both(lambda s: T.arange(s, 4.0, 0.7) ** 2, [()])
    check_both(lambda st: T.arange(0.3, 4.0, st) ** 2, [()])
    check_both(lambda s, st: T.arange(s, 4.0, st) * T.arange(s, 4.0, st), [(), ()])
    verify_grad(lambda s: T.arange(s, 4.0, 0.5), [start.astype("float32")],
                rng=_rng(1))


def test_arange_stop_has_zero_gradient():
    start, stop, step = T.dscalar("start"), T.dscalar("stop"), T.dscalar("step")
    out = T.arange(start, stop, step)
    grads = sa.grad((out * out).sum(), [start, stop, step])
    got = sa.function([start, stop, step], grads)(1.0, 3.5, 0.5)
    k = np.arange(5)
    values = 1.0 + 0.5 * k
    np.testing.assert_allclose(got, [2 * values.sum(), 0.0, (2 * values * k).sum()])


def test_integer_arange_gives_zero_gradients():
    n = T.dscalar("n")
    out = T.arange(T.cast(n, "int64"))  # int64 output: nothing to differentiate
    w = T.dscalar("w")
    gn, gw = sa.grad((T.cast(out, "float64") * w).sum(), [n, w],
                     disconnected_inputs="ignore")
    got_n, got_w = sa.function([n, w], [gn, gw])(4.0, 2.0)
    assert float(got_n) == 0.0 and float(got_w) == 6.0
    node = alloc_module.ARange("int64").make_node(0, 5, 1)
    grads = node.op.L_op(node.inputs, node.outputs, [T.dvector()])
    assert [g.dtype for g in grads] == [config.floatX] * 3


# -- repeat, tile ----------------------------------------------------------------

REPEAT_CASES = {
    "scalar_axis1": lambda v: T.repeat(v, 2, axis=1),
    "scalar_axis0": lambda v: T.repeat(v, 3, axis=0),
    "scalar_flat": lambda v: T.repeat(v, 3),
    "vector_axis1": lambda v: T.repeat(v, [1, 0, 3], axis=1),
    "vector_axis0": lambda v: T.repeat(v, [2, 1], axis=0),
    "vector_flat": lambda v: T.repeat(v, [1, 0, 3, 1, 2, 2]),
    "length1_vector": lambda v: T.repeat(v, [2], axis=1),
    "zero_repeats": lambda v: T.repeat(v, 0, axis=0) + 1.0,
    "tile": lambda v: T.tile(v, (2, 3)),
    "tile_more_dims": lambda v: T.tile(v, (2, 1, 3)),
    "tile_ndim": lambda v: T.tile(v, 2, ndim=3),
}


@pytest.mark.parametrize("name", list(REPEAT_CASES))
def test_repeat_and_tile_grad_and_rop(name):
    check_both(REPEAT_CASES[name], [(2, 3)])


def test_repeat_with_symbolic_repeats():
    counts = sa.shared(np.array([3, 0, 1]))
    times = sa.shared(np.int64(2))
    check_both(lambda v: T.repeat(v, counts, axis=1), [(2, 3)])
    check_both(lambda v: T.repeat(v, times), [(2, 3)])
    x, r = T.dvector("x"), T.lvector("r")
    gx, gr = sa.grad((T.repeat(x, r) ** 2).sum(), [x, r])
    got_x, got_r = sa.function([x, r], [gx, gr])(np.array([1.0, 2.0]), np.array([3, 1]))
    np.testing.assert_allclose(got_x, [6.0, 4.0])
    np.testing.assert_array_equal(got_r, [0.0, 0.0])


# -- every op here has a native R_op --------------------------------------------

OP_CLASSES = [alloc_module.Alloc, alloc_module.AllocEmpty, alloc_module.BroadcastTo,
              alloc_module.TensorCopy, alloc_module.ARange, alloc_module.Eye,
              alloc_module.Repeat]


@pytest.mark.parametrize("cls", OP_CLASSES, ids=lambda c: c.__name__)
def test_op_has_native_r_op_and_l_op(cls):
    assert cls.R_op is not Op.R_op
    assert cls.L_op is not Op.L_op
