"""Gradients and R_op of sort (argsort has none), checked numerically."""

from __future__ import annotations

import numpy as np
import pytest

import symarray.tensor as T  # noqa: N812
from symarray.gradient import DisconnectedInputError

from .grad_numeric import check_grad, check_rop, grad_of

RNG = np.random.default_rng(5)


SORT_CASES = [((5,), None), ((5,), 0), ((3, 4), None), ((3, 4), 0), ((3, 4), -1),
              ((2, 3, 2), None), ((2, 3, 2), 1), ((2, 3, 2), -1), ((), None)]


@pytest.mark.parametrize("kind", ["quicksort", "stable"])
@pytest.mark.parametrize("shape,axis", SORT_CASES)
def test_sort_grad_and_rop(shape: tuple[int, ...], axis: int | None,
                           kind: str) -> None:
    def fun(x: object) -> object:
        return T.sort(x, axis, kind)

    value = RNG.uniform(-1, 1, shape)
    check_grad(fun, [value])
    check_rop(fun, [value])


def test_sort_gradient_follows_the_values() -> None:
    x = T.dvector("x")
    weights = np.array([1.0, 10.0, 100.0])
    got = grad_of(T.sum(T.sort(x) * weights), x, {x: np.array([3.0, 1.0, 2.0])})
    np.testing.assert_array_equal(got, [100.0, 1.0, 10.0])
    # ties: each tied entry gets one of the tied slots' gradients
    got = grad_of(T.sum(T.sort(x, kind="stable") * weights), x,
                  {x: np.array([2.0, 1.0, 2.0])})
    np.testing.assert_array_equal(got, [10.0, 1.0, 100.0])


def test_sort_float32_and_second_order() -> None:
    value = RNG.uniform(-1, 1, (3, 4)).astype("float32")
    check_grad(lambda x: T.sort(x, 0), [value])
    check_rop(lambda x: T.sort(x, None), [value])
    x = T.tensor("float64", shape=(3,))
    hess = T.hessian(T.sum(T.sort(x) ** 3 * np.array([1.0, 2.0, 3.0])), x)
    # sorted: -2 (slot 0), 1 (slot 1), 3 (slot 2): d2/dx2 = 6 * x * weight
    np.testing.assert_allclose(hess.eval({x: np.array([1.0, -2.0, 3.0])}),
                               np.diag([12.0, -12.0, 54.0]))


def test_argsort_has_no_gradient() -> None:
    x = T.dmatrix("x")
    out = T.argsort(x)
    node = out.owner
    assert node.op.L_op(node.inputs, node.outputs, [T.lmatrix()]) == [None]
    assert node.op.R_op(node.inputs, [x]) == [None]
    with pytest.raises(DisconnectedInputError):
        T.grad(T.sum(T.cast(out, "float64")), x)
    zero = grad_of(T.sum(T.cast(out, "float64")), x, {x: np.ones((2, 2))},
                   disconnected_inputs="ignore")
    np.testing.assert_array_equal(zero, np.zeros((2, 2)))
