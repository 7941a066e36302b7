"""Gradients (L_op) and tangents (R_op) of the reductions, checked numerically."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray.gradient import DisconnectedInputError

from .grad_numeric import check_grad, check_rop, grad_of

RNG = np.random.default_rng(7)
X = RNG.uniform(-2, 2, (2, 3, 2))  # distinct values: no ties
AXES = (None, 0, -1, (0, 2))

REDUCERS = {
    "sum": lambda x, axis, keepdims: T.sum(x, axis=axis, keepdims=keepdims),
    "prod": lambda x, axis, keepdims: T.prod(x, axis=axis, keepdims=keepdims),
    "max": lambda x, axis, keepdims: T.max(x, axis=axis, keepdims=keepdims),
    "min": lambda x, axis, keepdims: T.min(x, axis=axis, keepdims=keepdims),
    "mean": lambda x, axis, keepdims: T.mean(x, axis=axis, keepdims=keepdims),
    "var": lambda x, axis, keepdims: T.var(x, axis=axis, keepdims=keepdims),
    "var_ddof": lambda x, axis, keepdims: T.var(x, axis=axis, ddof=1,
                                                keepdims=keepdims, corrected=True),
    "std": lambda x, axis, keepdims: T.std(x, axis=axis, keepdims=keepdims),
    "logsumexp": lambda x, axis, keepdims: T.logsumexp(x, axis=axis,
                                                       keepdims=keepdims),
}


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("name", sorted(REDUCERS))
def test_grad_and_rop_float64(name: str, axis: object, keepdims: bool) -> None:
    def fun(x: object) -> object:
        return REDUCERS[name](x, axis, keepdims)

    check_grad(fun, [X])
    check_rop(fun, [X])


@pytest.mark.parametrize("name", ["sum", "prod", "max", "mean", "var", "logsumexp"])
def test_grad_and_rop_float32(name: str) -> None:
    x = X.astype("float32")

    def fun(v: object) -> object:
        return REDUCERS[name](v, 1, False)

    check_grad(fun, [x])
    check_rop(fun, [x])
    v = T.ftensor3("v")
    assert T.grad(T.sum(fun(v)), v).dtype == "float32"


def test_gradient_dtype_follows_input() -> None:
    x = T.fvector("x")
    g = T.grad(T.sum(x, dtype="float64"), x)
    assert g.dtype == "float32"
    assert g.eval({x: np.ones(3, "float32")}).tolist() == [1.0, 1.0, 1.0]
    g = T.grad(T.prod(x, dtype="float64"), x)
    assert g.dtype == "float32"
    assert g.eval({x: np.array([2, 3, 4], "float32")}).tolist() == [12, 8, 6]


def test_static_shapes_and_broadcast_input() -> None:
    x = T.tensor("float64", shape=(1, 3))
    for f in (T.sum, T.prod, T.max, T.mean):
        g = T.grad(T.sum(f(x, axis=1) * np.array([2.0])), x)
        assert g.type.shape == (1, 3)
    check_rop(lambda v: T.prod(v, axis=0), [RNG.uniform(1, 2, (1, 3))], static=True)


# -- prod with zeros -------------------------------------------------------


def _prod_others(row: np.ndarray) -> np.ndarray:
    """d prod(row) / d row_i: the product of the other entries."""
    return np.array([np.prod(np.delete(row, i)) for i in range(row.size)])


@pytest.mark.parametrize("row", [[2.0, 3.0, 4.0], [2.0, 0.0, 4.0],
                                 [0.0, 3.0, 0.0], [0.0, 0.0, 0.0], [0.0], []])
def test_prod_grad_with_zeros_is_exact(row: list[float]) -> None:
    x = T.dvector("x")
    value = np.array(row)
    got = grad_of(T.prod(x), x, {x: value})
    np.testing.assert_allclose(got, _prod_others(value))
    assert np.isfinite(got).all()


def test_prod_grad_and_rop_with_zeros_by_axis() -> None:
    x = RNG.uniform(0.5, 2, (3, 4))
    x[0, 1] = 0.0  # one zero in row 0
    x[1, 0] = x[1, 3] = 0.0  # two zeros in row 1
    for axis in (None, 0, 1):
        check_grad(lambda v, axis=axis: T.prod(v, axis=axis), [x])
        check_rop(lambda v, axis=axis: T.prod(v, axis=axis), [x])
    m = T.dmatrix("m")
    got = grad_of(T.sum(T.prod(m, axis=1)), m, {m: x})
    np.testing.assert_allclose(got, np.stack([_prod_others(r) for r in x]))


def test_prod_hessian_with_one_zero() -> None:
    # second-order gradients keep the zero's own dependence
    x = T.tensor("float64", shape=(3,))
    hess = T.hessian(T.prod(x), x).eval({x: np.array([1.0, 2.0, 0.0])})
    np.testing.assert_allclose(hess, [[0, 0, 2], [0, 0, 1], [2, 1, 0]])


def test_prod_no_zeros_in_input() -> None:
    x = T.dvector("x")
    out = T.prod(x, no_zeros_in_input=True)
    assert out.owner.op.no_zeros_in_input
    assert out.owner.op != T.prod(x).owner.op
    value = np.array([2.0, -3.0, 0.5])
    np.testing.assert_allclose(grad_of(out, x, {x: value}), _prod_others(value))
    check_grad(lambda v: T.prod(v, axis=1, no_zeros_in_input=True), [X[0] + 3])
    check_rop(lambda v: T.prod(v, axis=0, no_zeros_in_input=True), [X[0] + 3])


# -- max / min and the index reductions --------------------------------------


def test_max_min_ties_give_every_tied_entry_the_gradient() -> None:
    # Theano's rule: each entry equal to the extreme gets the full gradient
    x = T.dmatrix("x")
    value = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]])
    weights = np.array([10.0, 100.0])
    got = grad_of(T.sum(T.max(x, axis=1) * weights), x, {x: value})
    np.testing.assert_array_equal(got, [[0, 10, 10], [100, 100, 0]])
    got = grad_of(T.min(x), x, {x: value})
    np.testing.assert_array_equal(got, [[0, 0, 0], [0, 0, 1]])
    # R_op is L_op's adjoint: the tied tangents are summed
    v = T.dmatrix("v")
    rop = T.Rop(T.max(x, axis=1), x, v)
    tangent = np.array([[1.0, 2.0, 4.0], [8.0, 16.0, 32.0]])
    np.testing.assert_array_equal(rop.eval({x: value, v: tangent}), [6.0, 24.0])


def test_max_nan_gets_no_gradient() -> None:
    x = T.dvector("x")
    got = grad_of(T.max(x), x, {x: np.array([1.0, np.nan])})
    np.testing.assert_array_equal(got, [0.0, 0.0])


def test_max_and_argmax_gradient() -> None:
    x = T.dmatrix("x")
    mx, am = T.max_and_argmax(x, axis=1)
    value = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    cost = T.sum(mx) + T.sum(T.cast(am, "float64"))
    np.testing.assert_array_equal(grad_of(cost, x, {x: value}),
                                  [[0, 1, 0], [1, 0, 0]])
    check_grad(lambda v: T.max_and_argmax(v, axis=0)[0], [X[:, :, 0]])


@pytest.mark.parametrize("fn", [T.argmax, T.argmin, T.all, T.any])
def test_index_and_bool_reductions_have_no_gradient(fn: object) -> None:
    x = T.dmatrix("x")
    out = fn(x, axis=1)  # type: ignore[operator]
    node = out.owner
    assert node.op.L_op(node.inputs, node.outputs,
                        [T.zeros_like(out, dtype="float64")]) == [None]
    assert node.op.R_op(node.inputs, [x]) == [None]
    cost = T.sum(T.cast(out, "float64"))
    with pytest.raises(DisconnectedInputError, match="not part of the computational"):
        T.grad(cost, x)
    zero = grad_of(cost, x, {x: np.ones((2, 3))}, disconnected_inputs="ignore")
    np.testing.assert_array_equal(zero, np.zeros((2, 3)))
    v = T.dmatrix("v")
    rop = T.Rop(out, x, v).eval({x: np.ones((2, 3)), v: np.ones((2, 3))})
    np.testing.assert_array_equal(rop, [0.0, 0.0])


def test_integer_input_gets_zero_gradient() -> None:
    ix, x = T.ivector("ix"), T.dvector("x")
    cost = T.sum(x) * T.cast(T.sum(ix), "float64") + T.cast(T.prod(ix), "float64")
    g = T.grad(cost, ix, disconnected_inputs="ignore")
    got = sa.function([ix, x], g, on_unused_input="ignore")(
        np.array([1, 2], "int32"), np.ones(2))
    np.testing.assert_array_equal(got, [0.0, 0.0])
    for fn in (T.sum, T.prod, T.max):
        node = fn(ix).owner
        assert node.op.L_op(node.inputs, node.outputs, [T.dscalar()]) == [None]


# -- compositions ------------------------------------------------------------


def test_logsumexp_gradient_is_finite_for_large_inputs() -> None:
    x = T.dvector("x")
    value = np.array([1000.0, 1000.0, 999.0])
    got = grad_of(T.logsumexp(x), x, {x: value})
    expected = np.exp(value - value.max()) / np.exp(value - value.max()).sum()
    np.testing.assert_allclose(got, expected)
    got = grad_of(T.logsumexp(x), x, {x: np.array([-np.inf, 0.0, -1000.0])})
    np.testing.assert_allclose(got, [0.0, 1.0, 0.0])
    check_grad(lambda v: T.logsumexp(v, axis=0), [X[0] + 1000.0])
    check_rop(lambda v: T.logsumexp(v, axis=1), [X[0] * 500.0])


def test_mean_with_static_and_symbolic_lengths() -> None:
    x = T.tensor("float64", shape=(2, None))
    g = T.grad(T.mean(x), x)
    np.testing.assert_allclose(g.eval({x: np.ones((2, 3))}), np.full((2, 3), 1 / 6))
    ix = T.imatrix("ix")
    check_rop(lambda v: T.mean(v, axis=0), [X[:, :, 0]])
    assert T.grad(T.mean(ix) + T.sum(x), ix).dtype.startswith("float")
