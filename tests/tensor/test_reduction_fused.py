"""Tests of symarray.tensor.reduction_fused: the ReduceElemwise op.

Its ``perform`` must be the unfused computation (values, dtype, errors),
``make_node`` must normalise the reduction's props and refuse inputs of
different ranks, ``infer_shape`` must match perform, and gradients (reverse
and forward) must match finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest

import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.errors import EmptyReductionError
from symarray.scalar import get_scalar_op
from symarray.scalar.composite import CompositeBuilder
from symarray.tensor.reduction import Max, Prod, Sum
from symarray.tensor.reduction_fused import ReduceElemwise, reduce_elemwise
from tests.op_checks import LINKERS, check_against_numpy, check_infer_shape
from tests.tensor.grad_numeric import check_grad, check_rop


def _exp_minus():
    b = CompositeBuilder(["float64", "float64"])
    x, y = b.inputs
    return b.build([b.apply(get_scalar_op("exp"),
                            [b.apply(get_scalar_op("sub"), [x, y])])])


def test_perform_is_the_unfused_computation():
    x, m = T.dmatrix("x"), T.dmatrix("m")
    rng = np.random.default_rng(0)
    xv, mv = rng.standard_normal((4, 5)), rng.standard_normal((4, 1))
    out = reduce_elemwise(Sum(1), _exp_minus(), x, m)
    assert isinstance(out.owner.op, ReduceElemwise)
    assert out.dtype == "float64" and out.ndim == 1
    check_against_numpy([x, m], out, [xv, mv],
                        lambda a, b: np.sum(np.exp(a - b), axis=1), linkers=LINKERS)


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_dtypes_follow_the_reduction(dtype):
    x = T.matrix("x", dtype=dtype)
    sop = get_scalar_op("maximum")
    out = reduce_elemwise(Sum(0), sop, x, x)
    unfused = T.sum(T.maximum(x, x), axis=0)
    assert out.dtype == unfused.dtype
    v = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    check_against_numpy([x], out, [v], lambda a: np.sum(np.maximum(a, a), axis=0,
                                                        dtype=unfused.dtype))


def test_props_are_normalised_and_ranks_checked():
    x = T.dmatrix("x")
    out = ReduceElemwise(Sum(-1), get_scalar_op("sqr"), "float64")(x)
    assert out.owner.op.reduce_op.axis == (1,)
    assert out.owner.op.reduce_op.acc_dtype == "float64"
    with pytest.raises(TypeError, match="rank"):
        ReduceElemwise(Sum(0), get_scalar_op("add"), "float64")(x, T.dvector())
    with pytest.raises(TypeError, match="CAReduce"):
        ReduceElemwise(T.sum, get_scalar_op("add"), "float64")
    assert "Sum" in str(out.owner.op) and "sqr" in str(out.owner.op)


def test_empty_max_raises_like_max():
    x = T.dmatrix("x")
    out = reduce_elemwise(Max(1), get_scalar_op("neg"), x)
    for linker in LINKERS:
        import symarray as sa

        f = sa.function([x], out, mode=sa.Mode(linker=linker))
        with pytest.raises(EmptyReductionError):
            f(np.zeros((3, 0)))


def test_infer_shape():
    x, m = T.dmatrix("x"), T.dmatrix("m")
    rng = np.random.default_rng(1)
    out = reduce_elemwise(Prod(0), _exp_minus(), x, m)
    check_infer_shape([x, m], out, [rng.random((3, 4)), rng.random((1, 4))])


def test_gradients():
    comp = _exp_minus()

    def fun(a, b):
        return reduce_elemwise(Sum(1), comp, a, b)

    rng = np.random.default_rng(2)
    vals = [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))]
    check_grad(fun, vals)
    check_rop(fun, vals)
