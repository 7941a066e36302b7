"""add, sub, mul, sp_sum, row_scale and col_scale against NumPy (every kind of
matrix, every linker), infer_shape, dtypes and gradients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import symarray as sa
import symarray.sparse as S  # noqa: N812
import symarray.tensor as T  # noqa: N812
from symarray.errors import ShapeMismatchError
from symarray.sparse.grad import verify_grad_sparse

from .sparse_checks import (
    KINDS,
    assert_close,
    check_infer_shape,
    check_op,
    random_sparse,
)

SHAPE = (5, 4)
RNG = np.random.default_rng(7)
#: dense operands by name: a symbolic variable maker and a value
DENSE: dict[str, tuple[Callable[[], Any], np.ndarray]] = {
    "matrix": (lambda: T.dmatrix("d"), RNG.standard_normal(SHAPE)),
    "row": (lambda: T.dvector("d"), RNG.standard_normal(SHAPE[1])),
    "scalar": (lambda: T.dscalar("d"), np.array(1.7)),
    "column": (lambda: T.TensorType("float64", shape=(None, 1))("d"),
               RNG.standard_normal((SHAPE[0], 1))),
    "one_by_one": (lambda: T.TensorType("float64", shape=(1, 1))("d"),
                   np.array([[0.3]])),
}


def _pairs(fx: str, fy: str) -> list[list[Any]]:
    return [[random_sparse(fx, SHAPE, kind, seed=k),
             random_sparse(fy, SHAPE, KINDS[(k + 2) % len(KINDS)], seed=10 + k)]
            for k, kind in enumerate(KINDS)]


SS_OPS: list[tuple[str, Callable[[Any, Any], Any], Callable[[Any, Any], Any]]] = [
    ("add", S.add, np.add), ("sub", S.sub, np.subtract), ("mul", S.mul, np.multiply),
]


@pytest.mark.parametrize("fx, fy", [("csr", "csr"), ("csc", "csc"), ("csr", "csc")])
@pytest.mark.parametrize("name, op, ref", SS_OPS, ids=[o[0] for o in SS_OPS])
def test_sparse_sparse(fx: str, fy: str, name: str, op: Any, ref: Any) -> None:
    x, y = S.matrix(fx, "x", "float64"), S.matrix(fy, "y", "float64")
    out = op(x, y)
    assert S.is_sparse_variable(out) and out.type.format == fx
    check_op([x, y], out, _pairs(fx, fy), ref)
    check_infer_shape([x, y], out, _pairs(fx, fy)[4])


SD_OPS: list[tuple[str, Callable[[Any, Any], Any], Callable[[Any, Any], Any], bool]] = [
    ("add", S.add, np.add, False), ("radd", lambda x, d: S.add(d, x),
                                    lambda x, d: d + x, False),
    ("sub", S.sub, np.subtract, False), ("rsub", lambda x, d: S.sub(d, x),
                                         lambda x, d: d - x, False),
    ("mul", S.mul, np.multiply, True), ("rmul", lambda x, d: S.mul(d, x),
                                        lambda x, d: d * x, True),
]


@pytest.mark.parametrize("dense", list(DENSE))
@pytest.mark.parametrize("name, op, ref, sparse_out", SD_OPS,
                         ids=[o[0] for o in SD_OPS])
def test_sparse_dense(dense: str, name: str, op: Any, ref: Any,
                      sparse_out: bool) -> None:
    make, value = DENSE[dense]
    x, d = S.csr_matrix("x", "float64"), make()
    out = op(x, d)
    assert S.is_sparse_variable(out) == sparse_out
    cases = [[random_sparse("csr", SHAPE, kind, seed=k), value]
             for k, kind in enumerate(KINDS)]
    check_op([x, d], out, cases, ref, linkers=("py", "cvm"))
    check_infer_shape([x, d], out, cases[3])


@pytest.mark.parametrize("name, op", [("add", S.add), ("mul", S.mul)])
def test_dense_operand_must_match_or_broadcast(name: str, op: Any) -> None:
    x, d = S.csr_matrix("x", "float64"), T.dmatrix("d")
    f = sa.function([x, d], op(x, d))
    m = random_sparse("csr", SHAPE)
    with pytest.raises(ShapeMismatchError, match="static length 1"):
        f(m, np.ones((SHAPE[0], 1)))
    with pytest.raises(ShapeMismatchError, match="differ"):
        sa.function([x], op(x, S.csr_matrix("y", "float64")).owner.op(
            x, S.transpose(x)))(m)
    with pytest.raises(TypeError, match="at most 2"):
        op(x, T.tensor3("t"))


@pytest.mark.parametrize("xdtype, other, want", [
    ("float32", 2.5, "float32"),            # a Python scalar yields
    ("float32", np.float64(2.5), "float64"),  # a NumPy scalar does not (as T.mul)
    ("float32", T.dscalar(), "float64"),    # a float64 variable does not
    ("float64", T.fmatrix(), "float64"),
    ("int64", 2, "int64"),
])
def test_result_dtypes(xdtype: str, other: Any, want: str) -> None:
    x = S.csr_matrix("x", xdtype)
    assert S.mul(x, other).dtype == want
    assert S.add(x, other).dtype == want


def test_dense_dense_falls_back_to_tensor_ops() -> None:
    a, b = T.dmatrix("a"), T.dmatrix("b")
    for op in (S.add, S.sub, S.mul, S.dot):
        assert not S.is_sparse_variable(op(a, b))


def test_float32_scaling_keeps_dtype() -> None:
    x = S.csr_matrix("x", "float32")
    f = sa.function([x], x * 0.5)
    m = random_sparse("csr", SHAPE, "duplicates", dtype="float32")
    got = f(m)
    assert got.dtype == np.float32
    assert_close(got, m.toarray() * 0.5)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_sp_sum(fmt: str, axis: int | None) -> None:
    x = S.matrix(fmt, "x", "float64")
    out = S.sp_sum(x, axis=axis)
    cases = [[random_sparse(fmt, SHAPE, kind, seed=k)] for k, kind in enumerate(KINDS)]
    check_op([x], out, cases, lambda d: d.sum(axis=axis))
    check_infer_shape([x], out, cases[4])
    with pytest.raises(ValueError, match="axis"):
        S.sp_sum(x, axis=2)


def test_sp_sum_keeps_integer_dtype() -> None:
    x = S.csr_matrix("x", "int32")
    out = S.sp_sum(x, axis=0)
    assert out.dtype == "int32"
    m = random_sparse("csr", SHAPE, "duplicates", seed=3, low=1, high=9).astype("int32")
    assert_close(sa.function([x], out)(m), m.toarray().sum(0).astype("int32"))


@pytest.mark.parametrize("name, scale, ref", [
    ("row_scale", S.row_scale, lambda m, s: m * s[:, None]),
    ("col_scale", S.col_scale, lambda m, s: m * s[None, :]),
])
def test_row_col_scale(name: str, scale: Any, ref: Any) -> None:
    x, s = S.csc_matrix("x", "float64"), T.dvector("s")
    out = scale(x, s)
    n = SHAPE[0] if name == "row_scale" else SHAPE[1]
    cases = [[random_sparse("csc", SHAPE, kind, seed=k), RNG.standard_normal(n)]
             for k, kind in enumerate(KINDS)]
    check_op([x, s], out, cases, ref)
    check_infer_shape([x, s], out, cases[0])
    with pytest.raises(TypeError, match="vector"):
        scale(x, T.dmatrix("m"))


# -- gradients -----------------------------------------------------------------
@pytest.mark.parametrize("kind", ["plain", "duplicates"])
def test_grads_sparse_sparse(kind: str) -> None:
    a = random_sparse("csr", (4, 3), kind, seed=1)
    b = random_sparse("csc", (4, 3), "unsorted", seed=2)
    for op in (S.add, S.sub, S.mul):
        verify_grad_sparse(op, [a, b], structured=True, n_tests=1)
        verify_grad_sparse(op, [a, b], structured=False, n_tests=1)


@pytest.mark.parametrize("dense", list(DENSE))
def test_grads_sparse_dense(dense: str) -> None:
    a = random_sparse("csr", (5, 4), "duplicates", seed=4)
    make, value = DENSE[dense]
    static = make().type.shape  # verify_grad's inputs have no static lengths

    def fit(d: Any) -> Any:
        return T.specify_shape(d, static) if 1 in static else d

    for op in (S.add, S.mul, lambda x, d: S.sub(d, x)):
        verify_grad_sparse(lambda x, d, op=op: op(x, fit(d)), [a, value],
                           structured=True, n_tests=1)
    # mul is regular: the full gradient, checked on dense points
    verify_grad_sparse(lambda x, d: S.mul(x, fit(d)), [a, value], structured=False,
                       n_tests=1)


def test_add_sparse_dense_grad_is_structured() -> None:
    x, d = S.csr_matrix("x", "float64"), T.dmatrix("d")
    g = sa.grad(T.sum(S.add(x, d)), x)
    m = random_sparse("csr", SHAPE, "empty_rows")
    assert_close(g.eval({x: m, d: np.ones(SHAPE)}), (m.toarray() != 0).astype(float))


@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("sparse_grad", [False, True])
def test_sp_sum_grad(axis: int | None, sparse_grad: bool) -> None:
    a = random_sparse("csc", (4, 3), "duplicates", seed=8)
    verify_grad_sparse(lambda x: S.sp_sum(x, axis, sparse_grad), [a],
                       structured=True, n_tests=1)
    x = S.csc_matrix("x", "float64")
    g = sa.grad(T.sum(S.sp_sum(x, axis, sparse_grad) * 2.0), x).eval({x: a})
    pattern = (a.toarray() != 0).astype(float)
    assert_close(g, 2.0 * (pattern if sparse_grad else np.ones_like(pattern)),
                 sparse=True, fmt="csc")


def test_scale_grads() -> None:
    a = random_sparse("csr", (4, 3), "duplicates", seed=9)
    verify_grad_sparse(S.row_scale, [a, RNG.standard_normal(4)], structured=True,
                       n_tests=1)
    verify_grad_sparse(S.col_scale, [a, RNG.standard_normal(3)], structured=True,
                       n_tests=1)
