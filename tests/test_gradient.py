"""Tests of the gradient API: grad, Lop, Rop, jacobian, hessian, verify_grad.

The ops' own derivatives are tested next to the ops (tests/tensor/...);
here the machinery is: graph walking (once per node, accumulation from
several clients), the flags of ``grad``, null and disconnected gradients,
forward mode and its double-Lop fallback, Jacobians and Hessians against
finite differences, the gradient-modifying ops, ``verify_grad``'s error,
and Theano's classic training loops.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray import gradient
from symarray._jacobian import JacobianLoop
from symarray.gradient import (
    ROP_FALLBACK_OPS,
    DisconnectedInputError,
    DisconnectedType,
    GradientError,
    Lop,
    NullType,
    NullTypeGradError,
    Rop,
    consider_constant,
    disconnected_grad,
    grad,
    grad_clip,
    grad_not_implemented,
    grad_scale,
    grad_undefined,
    hessian,
    jacobian,
    verify_grad,
    zero_grad,
)
from symarray.graph.basic import Apply, Op, Variable
from symarray.graph.traversal import graph_inputs, io_toposort


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _static(name: str, shape: tuple[int, ...]) -> Variable:
    return T.TensorType("float64", shape=shape)(name)


def _numeric_jacobian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                      eps: float = 1e-6) -> np.ndarray:
    """``J[i..., j...] = d f(x)[i...] / d x[j...]`` by central differences."""
    out_shape = np.shape(f(x))
    jac = np.zeros(out_shape + x.shape)
    for j in np.ndindex(*x.shape):
        step = np.zeros_like(x)
        step[j] = eps
        jac[(Ellipsis, *j)] = (np.asarray(f(x + step)) - f(x - step)) / (2 * eps)
    return jac


def _count_nodes(outputs: Sequence[Variable]) -> int:
    return len(io_toposort(graph_inputs(list(outputs)), list(outputs)))


# -- custom ops used below ---------------------------------------------------------


class _Square(Op):
    """``x ** 2`` with a hand-written L_op (wrong on purpose when ``bad``)."""

    __props__ = ("bad",)

    def __init__(self, bad: bool = False) -> None:
        self.bad = bad

    def make_node(self, x: Any) -> Apply:
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        output_storage[0][0] = np.asarray(inputs[0] ** 2)

    def infer_shape(self, fgraph: Any, node: Apply, shapes: list[Any]) -> list[Any]:
        return [shapes[0]]

    def L_op(self, inputs, outputs, output_grads):  # noqa: N802
        factor = 2.1 if self.bad else 2.0
        return [factor * inputs[0] * output_grads[0]]


class _NoGrad(Op):
    """``x + 1`` without any gradient (Op's default grad raises)."""

    def make_node(self, x: Any) -> Apply:
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        output_storage[0][0] = np.asarray(inputs[0] + 1)


class _HalfDefined(Op):
    """``x * y`` whose gradient wrt y is declared undefined."""

    def make_node(self, x: Any, y: Any) -> Apply:
        x, y = T.as_tensor_variable(x), T.as_tensor_variable(y)
        return Apply(self, [x, y], [x.type()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        output_storage[0][0] = np.asarray(inputs[0] * inputs[1])

    def L_op(self, inputs, outputs, output_grads):  # noqa: N802
        x, y = inputs
        return [output_grads[0] * y,
                grad_undefined(self, 1, y, "y is a hyper-parameter")]


# -- grad: basics and graph walking ----------------------------------------------


def test_grad_of_scalar_and_list_wrt():
    x, y = T.dscalar("x"), T.dscalar("y")
    cost = x ** 3 * y + T.sin(x)
    gx = grad(cost, x)
    assert isinstance(gx, Variable)
    gs = grad(cost, [x, y])
    assert isinstance(gs, list) and len(gs) == 2
    f = sa.function([x, y], [gx, *gs])
    a, b = 1.5, -2.0
    got = f(a, b)
    dx = 3 * a ** 2 * b + np.cos(a)
    np.testing.assert_allclose(got, [dx, dx, a ** 3])
    assert sa.grad is grad and T.grad is grad


def test_grad_names_and_types():
    x = T.fvector("x")
    cost = T.sum(x ** 2)
    cost.name = "loss"
    gx = grad(cost, x)
    assert gx.type == x.type
    assert gx.name == "(dloss/dx)"
    assert grad(cost, x, add_names=False).name is None


def test_grad_accumulates_from_several_clients():
    x = T.dvector("x")
    h = T.tanh(x)
    # x reaches the cost four ways: twice through one node, h, exp and directly
    cost = T.sum(x * x + h * x + T.exp(h) + 3 * x)
    gx = sa.function([x], grad(cost, x))
    v = np.array([0.3, -1.2, 2.0])
    t = np.tanh(v)
    expected = 2 * v + (1 - t ** 2) * v + t + np.exp(t) * (1 - t ** 2) + 3
    np.testing.assert_allclose(gx(v), expected)


def test_grad_wrt_intermediate_variable():
    x = T.dvector("x")
    h = T.tanh(x)
    cost = T.sum(h ** 2)
    gh, gx = grad(cost, [h, x])
    f = sa.function([x], [gh, gx])
    v = np.array([0.5, -0.25])
    got_h, got_x = f(v)
    np.testing.assert_allclose(got_h, 2 * np.tanh(v))
    np.testing.assert_allclose(got_x, 2 * np.tanh(v) * (1 - np.tanh(v) ** 2))


def _chain(x: Variable, depth: int) -> Variable:
    for _ in range(depth):
        x = x * x + x
    return x


def test_grad_visits_shared_subexpressions_once():
    # every level uses the previous one three times: a tree walk would take
    # 3**60 steps; the gradient graph must stay O(depth)
    x = T.dscalar("x")
    sizes = {}
    for depth in (30, 60):
        y = _chain(x, depth)
        gx = grad(y, x)  # a tree walk would never return
        sizes[depth] = _count_nodes([gx])
        assert sizes[depth] <= 20 * depth
    assert sizes[60] <= 2.2 * sizes[30]
    # and the value is right: d/dx of x -> x^2 + x is 2x + 1, chained
    value, expected = 0.01, 1.0
    f = sa.function([x], grad(_chain(x, 60), x))
    for _ in range(60):
        expected *= 2 * value + 1
        value = value * value + value
    np.testing.assert_allclose(f(0.01), expected, rtol=1e-10)


def test_grad_of_wrt_itself_and_constant_cost():
    x = T.dscalar("x")
    gx = sa.function([x], grad(x, x), on_unused_input="ignore")
    np.testing.assert_allclose(gx(3.0), 1.0)
    v = T.dvector("v")
    g = grad(T.sum(v), v)
    np.testing.assert_allclose(sa.function([v], g)(np.zeros(4)), np.ones(4))


# -- grad: errors and flags ----------------------------------------------------------


def test_non_scalar_cost_is_an_error():
    x = T.dvector("x")
    with pytest.raises(TypeError, match=r"cost must be a scalar \(0-d\).*cost.sum\(\)"):
        grad(x * 2, x)


def test_integer_cost_is_an_error():
    i = T.lscalar("i")
    with pytest.raises(TypeError, match="integer dtype int64"):
        grad(i * 2, i)


def test_wrt_must_be_symbolic():
    x = T.dscalar("x")
    with pytest.raises(TypeError, match=r"wrt\[1\] must be a symbolic variable"):
        grad(x * 2, [x, 3.0])


@pytest.mark.parametrize(("flag", "value"), [
    ("disconnected_inputs", "explode"),
    ("return_disconnected", "nothing"),
    ("null_gradients", "warn"),
])
def test_bad_flag_values(flag, value):
    x = T.dscalar("x")
    with pytest.raises(ValueError, match=flag):
        grad(x * 2, x, **{flag: value})


def test_disconnected_input_raises_by_default():
    x, y = T.dscalar("x"), T.dscalar("y")
    with pytest.raises(DisconnectedInputError, match="y is not part of the comput"):
        grad(x * 2, [x, y])


def test_disconnected_input_warn_and_ignore():
    x, y = T.dscalar("x"), T.dscalar("y")
    with pytest.warns(UserWarning, match="not part of the computational graph"):
        gx, gy = grad(x * 2, [x, y], disconnected_inputs="warn")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, gy2 = grad(x * 2, [x, y], disconnected_inputs="ignore")
    f = sa.function([x, y], [gy, gy2], on_unused_input="ignore")
    assert f(1.0, 2.0) == [0.0, 0.0]


def test_return_disconnected_variants():
    x, y = T.dscalar("x"), T.dmatrix("y")
    cost = x * 2
    gy = grad(cost, y, disconnected_inputs="ignore", return_disconnected="zero")
    assert gy.type == y.type
    out = sa.function([y], gy)(np.ones((2, 3)))
    np.testing.assert_array_equal(out, np.zeros((2, 3)))
    ignore = {"disconnected_inputs": "ignore"}
    assert grad(cost, y, return_disconnected="None", **ignore) is None
    gd = grad(cost, y, return_disconnected="Disconnected", **ignore)
    assert isinstance(gd.type, DisconnectedType)


def test_blocked_path_is_disconnected():
    # y only reaches the cost through a comparison (zero gradient) and
    # through disconnected_grad (no gradient at all)
    x, y = T.dscalar("x"), T.dscalar("y")
    cost = x * disconnected_grad(y)
    with pytest.raises(DisconnectedInputError):
        grad(cost, y)


def test_integer_inputs_get_zero_gradient():
    x = T.dvector("x")
    i = T.lvector("i")
    cost = T.sum(x * T.cast(i, "float64")) + T.sum(T.cast(i, "float64") ** 2)
    gi = grad(cost, i)
    assert gi.dtype.startswith("float") and gi.ndim == 1
    got = sa.function([x, i], gi, on_unused_input="ignore")(np.ones(3),
                                                             np.array([1, 2, 3]))
    np.testing.assert_array_equal(got, np.zeros(3))


def test_op_without_gradient_raises_only_when_used():
    x, y = T.dvector("x"), T.dvector("y")
    cost = T.sum(_NoGrad()(x)) + T.sum(y ** 2)
    gy = grad(cost, y)  # fine: y does not pass through the op
    np.testing.assert_allclose(sa.function([y], gy)(np.array([1.0, 2.0])), [2.0, 4.0])
    with pytest.raises(NullTypeGradError, match=r"_NoGrad.grad is not implemented"):
        grad(cost, x)
    null = grad(cost, x, null_gradients="return")
    assert isinstance(null.type, NullType)
    assert "_NoGrad" in null.type.why


def test_grad_undefined_only_for_that_input():
    x, y = T.dvector("x"), T.dvector("y")
    cost = T.sum(_HalfDefined()(x, y))
    gx = grad(cost, x)
    np.testing.assert_allclose(
        sa.function([x, y], gx)(np.ones(2), np.array([3.0, 4.0])), [3.0, 4.0])
    with pytest.raises(NullTypeGradError, match="undefined.*hyper-param"):
        grad(cost, y)
    # a null gradient reaching a variable through one client poisons it
    with pytest.raises(NullTypeGradError):
        grad(cost + T.sum(y), y)


def test_grad_not_implemented_helper():
    x = T.dvector("x")
    null = grad_not_implemented(T.exp, 0, x, "later")
    assert isinstance(null.type, NullType)
    assert "not implemented" in null.type.why and "later" in null.type.why


def test_known_grads():
    x = T.dvector("x")
    h = T.tanh(x)
    seed = T.dvector("seed")
    gx = grad(None, x, known_grads={h: seed})
    v, s = np.array([0.2, -0.7]), np.array([1.0, 3.0])
    expected = s * (1 - np.tanh(v) ** 2)
    np.testing.assert_allclose(sa.function([x, seed], gx)(v, s), expected)
    # with a cost as well, the contributions add up
    both = grad(T.sum(x), x, known_grads={h: seed})
    np.testing.assert_allclose(sa.function([x, seed], both)(v, s), expected + 1)
    with pytest.raises(ValueError, match="known gradient of .* has 0 dims"):
        grad(None, x, known_grads={h: T.dscalar()})
    with pytest.raises(TypeError, match="give a cost, known_grads, or both"):
        grad(None, x)


def test_consider_constant_argument_and_function():
    x = T.dscalar("x")
    h = x ** 2
    cost = h * x
    g_blocked = grad(cost, x, consider_constant=[h])
    g_fn = grad(consider_constant(x ** 2) * x, x)
    g_full = grad(cost, x)
    f = sa.function([x], [g_blocked, g_fn, g_full])
    np.testing.assert_allclose(f(3.0), [9.0, 9.0, 27.0])


def test_zero_and_disconnected_grad():
    x = T.dvector("x")
    v = np.array([1.0, 2.0])
    g_zero = grad(T.sum(zero_grad(x) * x), x)
    np.testing.assert_allclose(sa.function([x], g_zero)(v), v)
    # forward values are unchanged
    np.testing.assert_allclose(sa.function([x], zero_grad(x) * 2)(v), 2 * v)
    g_disc = grad(T.sum(disconnected_grad(x ** 2) + x), x)
    np.testing.assert_allclose(sa.function([x], g_disc)(v), [1.0, 1.0])
    # only zero_grad keeps the input connected
    g_z = grad(T.sum(zero_grad(x)), x)
    np.testing.assert_allclose(sa.function([x], g_z)(v), [0.0, 0.0])
    with pytest.raises(DisconnectedInputError):
        grad(T.sum(disconnected_grad(x)), x)


def test_grad_clip_and_grad_scale():
    x = T.dvector("x")
    v = np.array([-3.0, 0.1, 3.0])
    clipped = grad(T.sum(grad_clip(x, -1.0, 1.0) ** 2), x)
    np.testing.assert_allclose(sa.function([x], clipped)(v), [-1.0, 0.2, 1.0])
    scaled = grad(T.sum(grad_scale(x, -0.5) ** 2), x)
    np.testing.assert_allclose(sa.function([x], scaled)(v), -0.5 * 2 * v)
    np.testing.assert_allclose(sa.function([x], grad_clip(x, -1, 1))(v), v)
    with pytest.raises(ValueError, match="lower 2.0 must not exceed upper 1.0"):
        grad_clip(x, 2.0, 1.0)


def test_grad_keeps_float32():
    x = T.fvector("x")
    g = grad(T.sum(T.exp(x) * 2.0), x)
    assert g.dtype == "float32"
    out = sa.function([x], g)(np.array([0.0, 1.0], dtype="float32"))
    assert out.dtype == np.float32


# -- Lop and Rop --------------------------------------------------------------------


def _vector_fn(x: Variable, w: Variable) -> Variable:
    return T.tanh(x * w) + T.exp(x) * T.sum(w ** 2)


def test_lop_against_numeric_vjp():
    x, w = T.dvector("x"), T.dvector("w")
    u = T.dvector("u")
    out = _vector_fn(x, w)
    lx, lw = Lop(out, [x, w], u)
    f = sa.function([x, w], out)
    vjp = sa.function([x, w, u], [lx, lw])
    xv, wv, uv = _rng(1).standard_normal((3, 4))
    jx = _numeric_jacobian(lambda a: f(a, wv), xv)
    jw = _numeric_jacobian(lambda a: f(xv, a), wv)
    got_x, got_w = vjp(xv, wv, uv)
    np.testing.assert_allclose(got_x, uv @ jx, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got_w, uv @ jw, rtol=1e-6, atol=1e-8)
    with pytest.raises(ValueError, match="1 outputs but 2 eval points"):
        Lop(out, x, [u, u])


def test_rop_against_numeric_jvp():
    x, w = T.dvector("x"), T.dvector("w")
    vx, vw = T.dvector("vx"), T.dvector("vw")
    out = _vector_fn(x, w)
    f = sa.function([x, w], out)
    jvp = sa.function([x, w, vx, vw], Rop(out, [x, w], [vx, vw]))
    xv, wv, tx, tw = _rng(2).standard_normal((4, 4))
    eps = 1e-6
    plus = f(xv + eps * tx, wv + eps * tw)
    numeric = (plus - f(xv - eps * tx, wv - eps * tw)) / (2 * eps)
    np.testing.assert_allclose(jvp(xv, wv, tx, tw), numeric, rtol=1e-6, atol=1e-8)
    # a list of outputs gives a list of tangents
    outs = Rop([out, T.sum(out)], x, vx)
    assert isinstance(outs, list) and len(outs) == 2
    with pytest.raises(ValueError, match="eval point for x has 0 dims, expected 1"):
        Rop(out, x, T.dscalar())


def test_rop_without_dependence_is_zero():
    x, y = T.dvector("x"), T.dvector("y")
    v = T.dvector("v")
    r = Rop(T.exp(y), x, v)
    got = sa.function([y, v], r, on_unused_input="ignore")(np.ones(2), np.ones(2))
    np.testing.assert_array_equal(got, np.zeros(2))


def test_rop_double_lop_fallback():
    # _Square has an L_op but no R_op: Rop falls back to the double-Lop trick
    x, v = T.dvector("x"), T.dvector("v")
    r = Rop(T.sin(_Square()(x)), x, v)
    xv, vv = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, -1.0])
    expected = np.cos(xv ** 2) * 2 * xv * vv
    np.testing.assert_allclose(sa.function([x, v], r)(xv, vv), expected)


def test_rop_through_op_without_derivatives_is_an_error():
    x, v = T.dvector("x"), T.dvector("v")
    with pytest.raises(NotImplementedError, match="neither an R_op nor an L_op"):
        Rop(_NoGrad()(x), x, v)


def test_rop_of_grad_modifiers():
    x, v = T.dvector("x"), T.dvector("v")
    ones = np.ones(2)
    # each is the identity forward, so its tangent is the input's (zero_grad: 0)
    for out, expected in [(zero_grad(x), 0.0), (grad_clip(x, 0.5, 1.0), 2.0),
                          (grad_scale(x, 3), 2.0)]:
        jvp = sa.function([x, v], Rop(out * 2, x, v), on_unused_input="ignore")
        got = jvp(ones, ones)
        np.testing.assert_allclose(got, expected * ones)


# -- jacobian and hessian ------------------------------------------------------------


def _jac_fn(x: Variable) -> Variable:
    return T.tanh(x) * T.sum(x ** 2)


def test_jacobian_static_expression():
    x = _static("x", (3,))
    jac = jacobian(_jac_fn(x), x)
    f = sa.function([x], _jac_fn(x))
    xv = np.array([0.3, -0.5, 1.2])
    got = sa.function([x], jac)(xv)
    assert got.shape == (3, 3)
    np.testing.assert_allclose(got, _numeric_jacobian(f, xv), rtol=1e-6, atol=1e-8)


def test_jacobian_dynamic_expression_static_wrt():
    # the expression's length is known only at run time: forward mode per column
    x = _static("x", (2,))
    data = T.dmatrix("data")
    out = T.tanh(T.sum(data * x, axis=1))  # one entry per row of data
    assert out.type.shape == (None,)
    jac = jacobian(out, x)
    f = sa.function([data, x], jac)
    dv, xv = _rng(3).standard_normal((5, 2)), np.array([0.4, -0.3])
    g = sa.function([data, x], out)
    expected = _numeric_jacobian(lambda a: g(dv, a), xv)
    got = f(dv, xv)
    assert got.shape == (5, 2)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_jacobian_matrix_shapes_and_several_wrt():
    a = _static("a", (2, 2))
    b = _static("b", (3,))
    out = T.exp(a) * T.sum(b)  # 2 x 2
    ja, jb = jacobian(out, [a, b])
    f = sa.function([a, b], [ja, jb])
    av, bv = np.array([[0.1, 0.2], [0.3, 0.4]]), np.array([1.0, 2.0, 3.0])
    got_a, got_b = f(av, bv)
    assert got_a.shape == (2, 2, 2, 2) and got_b.shape == (2, 2, 3)
    expected_a = np.einsum("ij,ik,jl->ijkl", np.exp(av) * 6.0, np.eye(2), np.eye(2))
    np.testing.assert_allclose(got_a, expected_a)
    np.testing.assert_allclose(got_b, np.exp(av)[:, :, None] * np.ones(3))


def test_jacobian_of_scalar_is_grad():
    x = T.dvector("x")
    jac = jacobian(T.sum(x ** 2), x)
    np.testing.assert_allclose(sa.function([x], jac)(np.array([1.0, 2.0])), [2.0, 4.0])


def _numeric_jacobian(fn, xv, eps=1e-6):
    cols = [(fn(xv + eps * e) - fn(xv - eps * e)) / (2 * eps)
            for e in np.eye(xv.size).reshape(xv.size, *xv.shape)]
    return np.stack(cols, axis=-1).reshape(np.shape(fn(xv)) + xv.shape)


def test_jacobian_with_no_static_size_loops_at_run_time():
    x = T.dvector("x")
    w = sa.shared(np.array([1.0, 2.0, 3.0]), name="w")
    y = T.tanh(x * w) * x.sum()
    jac = jacobian(y, x)
    assert isinstance(jac.owner.op, JacobianLoop)
    xv = np.array([0.1, 0.2, 0.3])
    got = sa.function([x], jac)(xv)
    np.testing.assert_allclose(got, _numeric_jacobian(sa.function([x], y), xv),
                               rtol=1e-6)
    # its shape is inferred without running the loop
    assert list(sa.function([x], jac.shape)(xv)) == [3, 3]
    # a different length at run time works too
    xv4 = np.linspace(0.1, 0.4, 4)
    w.set_value(np.ones(4))
    assert sa.function([x], jac)(xv4).shape == (4, 4)


def test_jacobian_loop_of_a_matrix_expression_and_empty_input():
    x = T.dmatrix("x")
    y = T.exp(x).sum(axis=1)
    fn = sa.function([x], jacobian(y, x))
    xv = np.arange(6.0).reshape(2, 3) / 10
    np.testing.assert_allclose(
        fn(xv), _numeric_jacobian(sa.function([x], y), xv), rtol=1e-6)
    assert fn(np.zeros((0, 3))).shape == (0, 0, 3)


def test_hessian_of_a_vector_of_unknown_length():
    x = T.dvector("x")
    cost = (x ** 3).sum() + x.prod()
    fn = sa.function([x], hessian(cost, x))
    xv = np.array([0.5, 1.5, 2.0])
    gfn = sa.function([x], T.grad(cost, x))
    np.testing.assert_allclose(fn(xv), _numeric_jacobian(gfn, xv), rtol=1e-5)


def test_jacobian_static_wrt_uses_forward_mode():
    x = T.dvector("x")
    xs = T.specify_shape(x, (3,))
    jac = sa.function([x], jacobian(T.tanh(xs), xs))(np.zeros(3))
    np.testing.assert_allclose(jac, np.eye(3))


def test_jacobian_disconnected():
    x, y = _static("x", (2,)), T.dvector("y")
    with pytest.raises(DisconnectedInputError):
        jacobian(T.exp(y), x)
    jac = jacobian(T.exp(y), x, disconnected_inputs="ignore")
    got = sa.function([x, y], jac, on_unused_input="ignore")(np.ones(2), np.ones(3))
    np.testing.assert_array_equal(got, np.zeros((3, 2)))


def test_hessian_of_small_function():
    x = _static("x", (3,))
    cost = T.sum(x ** 3) + T.sum(x) ** 2
    hess = sa.function([x], hessian(cost, x))(np.array([1.0, -2.0, 0.5]))
    expected = np.diag(6 * np.array([1.0, -2.0, 0.5])) + 2.0
    np.testing.assert_allclose(hess, expected)
    with pytest.raises(TypeError, match="wrt must be vectors"):
        hessian(cost, T.dmatrix())


# sizes of the small MLP whose loss Hessian is checked: 2 inputs, 3 hidden, 1 out
_N_IN, _N_HID = 2, 3
_N_PARAMS = _N_IN * _N_HID + _N_HID + _N_HID + 1


def _mlp_loss(theta: Variable, data: Variable, target: Variable) -> Variable:
    """Squared error of a tanh MLP whose parameters are packed in ``theta``."""
    k = _N_IN * _N_HID
    w1 = T.reshape(theta[:k], (_N_IN, _N_HID))
    b1 = theta[k:k + _N_HID]
    w2 = theta[k + _N_HID:k + 2 * _N_HID]
    b2 = theta[k + 2 * _N_HID]
    hidden = T.tanh(T.dot(data, w1) + b1)
    pred = T.dot(hidden, w2) + b2
    return T.mean((pred - target) ** 2)


def test_hessian_of_mlp_loss_against_numeric():
    rng = _rng(4)
    theta = _static("theta", (_N_PARAMS,))
    data_v, target_v = rng.standard_normal((5, _N_IN)), rng.standard_normal(5)
    data, target = T.constant(data_v), T.constant(target_v)
    cost = _mlp_loss(theta, data, target)
    hess = sa.function([theta], hessian(cost, theta))
    grad_fn = sa.function([theta], grad(cost, theta))
    point = rng.standard_normal(_N_PARAMS) * 0.5
    got = hess(point)
    assert got.shape == (_N_PARAMS, _N_PARAMS)
    np.testing.assert_allclose(got, got.T, atol=1e-12)
    numeric = _numeric_jacobian(grad_fn, point)
    np.testing.assert_allclose(got, numeric, rtol=1e-5, atol=1e-7)


# -- verify_grad ------------------------------------------------------------------


def test_verify_grad_accepts_a_right_gradient():
    verify_grad(lambda x: _Square()(x), [np.array([1.0, -2.0, 0.5])], rng=_rng(5))
    verify_grad(lambda x: T.tanh(x).sum(), [np.array(0.3)], rng=_rng(5))
    verify_grad(lambda x: _Square()(x), [np.array([1.0, 2.0], dtype="float32")])
    # Theano's users pass a RandomState
    verify_grad(T.exp, [np.ones(3)], rng=np.random.RandomState(0))


def test_verify_grad_fortran_ordered_point():
    # a Fortran-ordered point must be perturbed, not a copy of it: a wrong
    # gradient is still caught and a right one accepted
    point = np.asfortranarray(np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]]))
    verify_grad(lambda x: _Square()(x), [point], rng=_rng(5))
    with pytest.raises(GradientError):
        verify_grad(lambda x: _Square(bad=True)(x), [point], rng=_rng(6))


def test_verify_grad_reports_worst_element():
    point = np.array([[1.0, -2.0], [3.0, 0.5]])
    with pytest.raises(GradientError) as info:
        verify_grad(lambda x: _Square(bad=True)(x), [point], rng=_rng(6))
    message = str(info.value)
    # the largest error is at the largest |x|: (1, 0)
    assert "worst element (1, 0)" in message
    assert "analytic" in message and "numeric" in message
    assert "input 0 (shape (2, 2), dtype float64)" in message


def test_verify_grad_rejects_bad_points():
    with pytest.raises(TypeError, match="pt must be a list"):
        verify_grad(T.exp, np.ones(2))
    with pytest.raises(TypeError, match="dtype int64"):
        verify_grad(T.exp, [np.array([1, 2])])
    with pytest.raises(TypeError, match="one symbolic variable"):
        verify_grad(lambda x: [x, x], [np.ones(2)])


# -- training loops -----------------------------------------------------------------


def test_logistic_regression_training_converges():
    # the logistic-regression example of Theano's tutorial, on separable data
    rng = _rng(7)
    n, feats = 100, 5
    inputs = rng.standard_normal((n, feats))
    labels = (inputs @ rng.standard_normal(feats) > 0).astype("float64")

    x = T.dmatrix("x")
    y = T.dvector("y")
    w = sa.shared(rng.standard_normal(feats) * 0.01, name="w")
    b = sa.shared(0.0, name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    prediction = p_1 > 0.5
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean() + 0.01 * (w ** 2).sum()
    gw, gb = T.grad(cost, [w, b])
    train = sa.function(inputs=[x, y], outputs=[prediction, xent],
                        updates=((w, w - 0.5 * gw), (b, b - 0.5 * gb)))
    predict = sa.function(inputs=[x], outputs=prediction)

    # the first gradient matches the closed form X^T (p - y) / n + 0.02 w
    w0, b0 = w.get_value(), b.get_value()
    p0 = 1 / (1 + np.exp(-(inputs @ w0) - b0))
    expected_gw = inputs.T @ (p0 - labels) / n + 0.02 * w0
    got_gw = sa.function([x, y], gw)(inputs, labels)
    np.testing.assert_allclose(got_gw, expected_gw, rtol=1e-10)

    first = train(inputs, labels)[1].mean()
    for _ in range(300):
        _, err = train(inputs, labels)
    assert err.mean() < 0.5 * first
    assert (predict(inputs) == labels).mean() >= 0.95


def test_two_layer_mlp_loss_decreases():
    rng = _rng(8)
    n, n_in, n_hid, n_out = 40, 4, 8, 3
    inputs = rng.standard_normal((n, n_in))
    noise = 0.1 * rng.standard_normal((n, n_out))
    labels = np.argmax(inputs[:, :n_out] + noise, axis=1)

    x = T.dmatrix("x")
    y = T.lvector("y")
    w1 = sa.shared(rng.standard_normal((n_in, n_hid)) * 0.5, name="w1")
    b1 = sa.shared(np.zeros(n_hid), name="b1")
    w2 = sa.shared(rng.standard_normal((n_hid, n_out)) * 0.5, name="w2")
    b2 = sa.shared(np.zeros(n_out), name="b2")
    hidden = T.tanh(T.dot(x, w1) + b1)
    p_y = T.nnet.softmax(T.dot(hidden, w2) + b2)
    loss = T.nnet.categorical_crossentropy(p_y, y).mean()
    params = [w1, b1, w2, b2]
    grads = T.grad(loss, params)
    updates = [(p, p - 0.5 * g) for p, g in zip(params, grads, strict=True)]
    train = sa.function([x, y], loss, updates=updates)
    losses = [float(train(inputs, labels)) for _ in range(30)]
    assert losses[-1] < 0.6 * losses[0]
    assert all(b <= a + 1e-12 for a, b in zip(losses[:5], losses[1:6], strict=True))


# -- the R_op allowlist (keep this test last) --------------------------------------


def _tensor_op_classes() -> dict[str, type]:
    """Every Op subclass defined in symarray.tensor (and T.nnet), by name.

    Base classes that other ops derive from (``CAReduce``, ``_WriteOp``...)
    are left out: graphs hold their subclasses, which are checked instead.
    """
    import symarray.tensor as tensor_pkg

    found: dict[str, type] = {}
    modules = [tensor_pkg] + [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(tensor_pkg.__path__, "symarray.tensor.")
    ]
    for module in modules:
        for name, obj in vars(module).items():
            if not (inspect.isclass(obj) and issubclass(obj, Op)):
                continue
            if obj.__module__ != module.__name__:
                continue
            if any(sub.__module__.startswith("symarray.")
                   for sub in obj.__subclasses__()):
                continue
            found[name] = obj
    return found


def test_rop_fallback_list_is_exactly_the_ops_without_r_op():
    classes = _tensor_op_classes()
    without = {name for name, cls in classes.items() if cls.R_op is Op.R_op}
    assert isinstance(ROP_FALLBACK_OPS, frozenset)
    missing = sorted(without - ROP_FALLBACK_OPS)
    stale = sorted(ROP_FALLBACK_OPS - without)
    assert not missing, f"ops without R_op, not in ROP_FALLBACK_OPS: {missing}"
    assert not stale, f"ROP_FALLBACK_OPS names ops that have an R_op (or none): {stale}"
    assert gradient.ROP_FALLBACK_OPS is ROP_FALLBACK_OPS
