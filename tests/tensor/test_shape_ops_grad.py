"""Gradients (L_op) and tangents (R_op) of the shape ops.

``reshape`` (and ``flatten``), ``specify_shape`` (and ``addbroadcast``,
``squeeze``), ``unbroadcast``, ``Assert``, ``MakeVector`` and the shape
readers ``Shape``/``Shape_i`` are checked with ``verify_grad`` (central
finite differences) and their ``Rop`` against a numeric Jacobian-vector
product.  Shape readers give no gradient: a length does not depend on the
values.
"""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray import config
from symarray.errors import AssertionFailedError, ShapeMismatchError
from symarray.gradient import DisconnectedInputError, Rop, verify_grad
from symarray.graph.basic import Op
from symarray.graph.traversal import io_toposort
from symarray.tensor import shape_ops

from .grad_numeric import check_both


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# -- reshape and the ops that keep the values -------------------------------------

CASES = {
    "reshape": (lambda x: T.reshape(x, (3, 2)), (2, 3)),
    "reshape_minus_one": (lambda x: T.reshape(x, (-1, 1, 2)) ** 2, (2, 3)),
    "reshape_to_scalar": (lambda x: T.reshape(x, ()), (1, 1)),
    "reshape_symbolic": (lambda x: T.reshape(x, (x.shape[1], x.shape[0])), (2, 3)),
    "reshape_empty": (lambda x: T.reshape(x, (3, 0)) + 1.0, (0, 3)),
    "flatten": (lambda x: T.flatten(x) * T.flatten(x), (2, 3)),
    "flatten_2": (lambda x: T.flatten(x, 2), (2, 3, 2)),
    "specify_shape": (lambda x: T.specify_shape(x, (2, None)) ** 2, (2, 3)),
    "specify_symbolic": (lambda x: T.specify_shape(x, (x.shape[0], 3)), (2, 3)),
    "addbroadcast": (lambda x: T.addbroadcast(x, 0) * 3.0, (1, 3)),
    "squeeze": (lambda x: T.squeeze(x[:, :1], 1), (2, 3)),
    "unbroadcast": (lambda x: T.unbroadcast(T.addbroadcast(x, 0), 0) ** 2, (1, 3)),
    "patternbroadcast": (lambda x: T.patternbroadcast(x, (True, False)), (1, 3)),
    "assert": (lambda x: T.assert_op(x, T.all(x > -100.0), msg="finite") ** 2,
               (2, 3)),
    "shape_scaled": (lambda x: x * T.cast(x.shape[0], "float64"), (2, 3)),
    "shape_i_scaled": (lambda x: x / T.cast(T.shape_i(x, 1), "float64"), (2, 3)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_shape_op_grad_and_rop(name):
    fun, shape = CASES[name]
    check_both(fun, [shape])


def test_make_vector_grad_and_rop():
    check_both(lambda a, b: T.stack([a, b, a * b]), [(), ()])
    check_both(lambda a, b: shape_ops.make_vector(a, 2.0, b) ** 2, [(), ()])


def test_shape_ops_grad_float32():
    x = _rng(1).standard_normal((2, 3)).astype("float32")
    verify_grad(lambda v: T.reshape(v, (3, 2)), [x], rng=_rng(2))
    verify_grad(lambda v: T.specify_shape(v, (2, 3)) * v, [x], rng=_rng(3))
    a, b = (np.asarray(_rng(k).standard_normal(), "float32") for k in (4, 5))
    verify_grad(lambda u, w: shape_ops.make_vector(u, w), [a, b], rng=_rng(6))


def test_make_vector_gradient_dtypes():
    f, d, i = T.fscalar("f"), T.dscalar("d"), T.lscalar("i")
    vec = shape_ops.make_vector(f, d, i)
    assert vec.dtype == "float64"
    gf, gd, gi = sa.grad((vec * np.array([2.0, 3.0, 4.0])).sum(), [f, d, i])
    assert (gf.dtype, gd.dtype) == ("float32", "float64")
    got = sa.function([f, d, i], [gf, gd, gi], on_unused_input="ignore")(1.0, 1.0, 1)
    assert [float(g) for g in got] == [2.0, 3.0, 0.0]


def test_integer_make_vector_has_no_gradient():
    i, j = T.lscalar("i"), T.lscalar("j")
    node = shape_ops.MakeVector("int64").make_node(i, j)
    assert node.op.L_op(node.inputs, node.outputs, [T.lvector()]) == [None, None]
    assert node.op.R_op(node.inputs, [T.lscalar(), None]) == [None]


def test_specify_shape_gradient_keeps_the_check():
    x = T.dmatrix("x")
    y = T.specify_shape(x, (2, None))
    g = sa.grad((y ** 2).sum(), x)
    assert any(isinstance(n.op, shape_ops.SpecifyShape)
               for n in io_toposort([x], [g]) if y.owner is not n)
    assert g.type.shape == (2, None)
    with pytest.raises(ShapeMismatchError):
        sa.function([x], g)(np.ones((3, 3)))


def test_gradients_keep_static_lengths():
    x = T.tensor("float64", shape=(1, None), name="x")
    for out in (T.unbroadcast(x, 0), T.reshape(x, (-1,)), T.specify_shape(x, (1, 3))):
        g = sa.grad((out ** 2).sum(), x)
        assert x.type.is_super(g.type)  # (1, 3) from specify_shape is fine


def test_shape_readers_give_no_gradient():
    x = T.dmatrix("x")
    cost = T.cast(x.shape[0] * T.shape_i(x, 1), "float64")
    with pytest.raises(DisconnectedInputError):
        sa.grad(cost, x)
    g = sa.grad(cost, x, disconnected_inputs="ignore")
    np.testing.assert_array_equal(g.eval({x: np.ones((2, 3))}), np.zeros((2, 3)))
    for op in (shape_ops.Shape(), shape_ops.Shape_i(0)):
        node = op.make_node(x)
        assert op.L_op(node.inputs, node.outputs, [node.outputs[0]]) == [None]
        assert op.R_op(node.inputs, [x]) == [None]


def test_assert_conditions_get_no_gradient_and_gate_the_tangent():
    x, c, v = T.dvector("x"), T.dscalar("c"), T.dvector("v")
    out = T.assert_op(x * c, T.gt(c, 0), msg="c must be positive")
    gx, gc = sa.grad(out.sum(), [x, c])
    f = sa.function([x, c], [gx, gc])
    got_x, got_c = f(np.array([1.0, 2.0]), 3.0)
    np.testing.assert_allclose(got_x, [3.0, 3.0])
    assert float(got_c) == 3.0  # through x * c only
    jvp = sa.function([x, c, v], Rop(out, x, v))
    np.testing.assert_allclose(jvp(np.ones(2), 2.0, np.array([1.0, -1.0])), [2.0, -2.0])
    with pytest.raises(AssertionFailedError, match="c must be positive"):
        jvp(np.ones(2), -1.0, np.ones(2))


def test_reshape_of_integers_has_no_gradient():
    i = T.lmatrix("i")
    g = sa.grad(T.cast(T.reshape(i, (-1,)), "float64").sum(), i)
    assert g.dtype == config.floatX
    np.testing.assert_array_equal(g.eval({i: np.ones((2, 2), "int64")}), 0)


# -- every op here has a native R_op --------------------------------------------

OP_CLASSES = [shape_ops.Shape, shape_ops.Shape_i, shape_ops.SpecifyShape,
              shape_ops.Reshape, shape_ops.Unbroadcast, shape_ops.Assert,
              shape_ops.MakeVector]


@pytest.mark.parametrize("cls", OP_CLASSES, ids=lambda c: c.__name__)
def test_op_has_native_r_op_and_l_op(cls):
    assert cls.R_op is not Op.R_op
    assert cls.L_op is not Op.L_op
