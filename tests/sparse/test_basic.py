"""Building, taking apart and converting sparse matrices: results against
NumPy on every kind of matrix under every linker, infer_shape, gradients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

import symarray as sa
import symarray.sparse as S  # noqa: N812
import symarray.tensor as T  # noqa: N812
from symarray.sparse.grad import verify_grad_sparse

from .sparse_checks import (
    KINDS,
    assert_close,
    check_infer_shape,
    check_op,
    random_sparse,
)

SHAPE = (5, 4)


def _cases(fmt: str, dtype: str = "float64") -> list[list[Any]]:
    return [[random_sparse(fmt, SHAPE, kind, dtype, seed=k)]
            for k, kind in enumerate(KINDS)]


def _ones_pattern(d: np.ndarray) -> np.ndarray:
    return (d != 0).astype(d.dtype)


#: (name, op on a sparse variable, NumPy reference on its dense value)
UNARY: list[tuple[str, Callable[[Any], Any], Callable[[Any], Any]]] = [
    ("dense_from_sparse", S.dense_from_sparse, lambda d: d),
    ("todense_method", lambda x: x.toarray(), lambda d: d),
    ("transpose", S.transpose, lambda d: d.T),
    ("cast_float32", lambda x: S.cast(x, "float32"), lambda d: d.astype("float32")),
    ("cast_int64", lambda x: S.cast(x, "int64"), lambda d: d.astype("int64")),
    ("as_format", lambda x: S.AsFormat("csc" if x.format == "csr" else "csr")(x),
     lambda d: d),
    ("sp_ones_like", S.sp_ones_like, _ones_pattern),
    ("sp_zeros_like", S.sp_zeros_like, np.zeros_like),
    ("sparse_shape", S.sparse_shape, lambda d: np.array(d.shape)),
    ("csm_data_roundtrip", lambda x: S.CSM(x.format)(*S.csm_properties(x)),
     lambda d: d),
]


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("name, op, ref", UNARY, ids=[u[0] for u in UNARY])
def test_unary_against_numpy(fmt: str, name: str, op: Callable[[Any], Any],
                             ref: Callable[[Any], Any]) -> None:
    x = S.matrix(fmt, "x", "float64")
    out = op(x)
    check_op([x], out, _cases(fmt), ref)
    check_infer_shape([x], out, _cases(fmt)[3])


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sp_nnz_counts_stored_values(fmt: str) -> None:
    x = S.matrix(fmt, "x", "float64")
    f = sa.function([x], S.sp_nnz(x))
    for (m,) in _cases(fmt):
        assert int(f(m)) == m.nnz


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("make", [S.csr_from_dense, S.csc_from_dense])
def test_sparse_from_dense(fmt: str, make: S.SparseFromDense) -> None:
    d = T.dmatrix("d")
    out = make(d)
    cases = [[to] for to in (random_sparse(fmt, SHAPE, k).toarray() for k in KINDS)]
    check_op([d], out, cases, lambda v: v)
    check_infer_shape([d], out, cases[0])
    assert out.type.format == make.format


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_csm_properties_is_storage(fmt: str) -> None:
    x = S.matrix(fmt, "x", "float64")
    outs = S.csm_properties(x)
    f = sa.function([x], outs)
    for (m,) in _cases(fmt):
        data, indices, indptr, shape = f(m)
        np.testing.assert_array_equal(data, m.data[:m.nnz])
        np.testing.assert_array_equal(indices, m.indices[:m.nnz])
        np.testing.assert_array_equal(indptr, m.indptr)
        np.testing.assert_array_equal(shape, m.shape)
        assert indices.dtype == indptr.dtype == shape.dtype == np.int32
        for out in outs:
            check_infer_shape([x], out, [m])
    for accessor, k in ((S.csm_data, 0), (S.csm_indices, 1), (S.csm_indptr, 2),
                        (S.csm_shape, 3)):
        var = accessor(x)
        assert var.owner.outputs.index(var) == k


@pytest.mark.parametrize("make, fmt", [(S.CSR, "csr"), (S.CSC, "csc")])
def test_csm_builds_from_storage(make: S.CSM, fmt: str) -> None:
    data, indices, indptr = T.dvector("data"), T.ivector("indices"), T.ivector("p")
    shape = T.lvector("shape")
    out = make(data, indices, indptr, shape)
    assert out.type == S.SparseType(fmt, "float64")
    cases = []
    for kind in KINDS:
        m = random_sparse(fmt, SHAPE, kind)
        cases.append([m.data, m.indices.astype("int32"), m.indptr.astype("int32"),
                      np.array(m.shape)])
    fn = sa.function([data, indices, indptr, shape], out)
    for args in cases:
        want = S.FORMATS[fmt](tuple(args[:3]), shape=tuple(args[3]))
        got = fn(*args)
        assert_close(got, want, sparse=True, fmt=fmt)
        got.data[:] = 0  # a copy: the arguments stay
        assert np.any(args[0]) or len(args[0]) == 0
    check_infer_shape([data, indices, indptr, shape], out, cases[0])
    with pytest.raises(ValueError):
        fn(np.ones(2), np.array([0, 1], "int32"), np.array([0, 5], "int32"),
           np.array([2, 2]))


def test_conversion_errors() -> None:
    with pytest.raises(TypeError, match="2-d|matrix"):
        S.csr_from_dense(T.dvector("v"))
    with pytest.raises(TypeError, match="integer vector"):
        S.CSR(T.dvector("d"), T.dvector("i"), T.ivector("p"), T.lvector("s"))
    with pytest.raises(TypeError, match="stored sparse"):
        S.csr_from_dense(T.matrix("h", dtype="float16"))


# -- gradients -----------------------------------------------------------------
VALUE_OPS: list[Callable[[Any], Any]] = [
    S.dense_from_sparse, S.transpose, lambda x: S.cast(x, "float32"),
    lambda x: S.AsFormat("csc")(x)]
#: ops that read the storage itself: with duplicate entries each stored
#: value gets the gradient of the summed matrix value (as in Theano), so
#: they are checked on matrices without duplicates
STORAGE_OPS: list[Callable[[Any], Any]] = [
    lambda x: S.CSM(x.format)(*S.csm_properties(x)) * 1.5,
    lambda x: S.csm_data(x) * 2.0]


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("kind", ["plain", "unsorted", "duplicates"])
def test_structured_grads(fmt: str, kind: str) -> None:
    m = random_sparse(fmt, (4, 3), kind, seed=5)
    ops = VALUE_OPS + (STORAGE_OPS if kind != "duplicates" else [])
    for op in ops:
        verify_grad_sparse(op, [m], structured=True, n_tests=1,
                           rng=np.random.default_rng(0))


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_regular_grads(fmt: str) -> None:
    m = random_sparse(fmt, (4, 3), seed=6)
    for op in (S.DenseFromSparse(structured=False), S.transpose):
        verify_grad_sparse(op, [m], structured=False, n_tests=1)
    d = np.random.default_rng(1).standard_normal((3, 4))
    sa.verify_grad(lambda v: S.dense_from_sparse(S.SparseFromDense(fmt)(v)), [d],
                   n_tests=1)


def test_dense_from_sparse_grad_is_structured_by_default() -> None:
    x = S.csr_matrix("x", "float64")
    g = sa.grad(T.sum(S.dense_from_sparse(x) * 3.0), x)
    assert g.type == x.type
    m = random_sparse("csr", SHAPE, "duplicates")
    got = g.eval({x: m})
    assert_close(got, 3.0 * _ones_pattern(m.toarray()) + 0 * m.toarray())
    full = sa.grad(T.sum(S.DenseFromSparse(False)(x) * 3.0), x).eval({x: m})
    assert_close(full, np.full(SHAPE, 3.0))


def test_csm_grad_gathers_at_each_stored_value() -> None:
    m = random_sparse("csr", (4, 3), "duplicates", seed=2)
    data = T.dvector("data")
    w = np.random.default_rng(0).standard_normal((4, 3))
    built = S.CSR(data, m.indices, m.indptr, m.shape)
    g = sa.grad(T.sum(S.dense_from_sparse(built) * w), data).eval({data: m.data})
    rows = np.repeat(np.arange(4), np.diff(m.indptr))
    np.testing.assert_allclose(g, w[rows, m.indices])


def test_disconnected_sparse_grad_is_sparse_zeros() -> None:
    x = S.csr_matrix("x", "float64")
    d = T.dscalar("d")
    g = sa.grad(d * 2.0, x, disconnected_inputs="ignore")
    assert isinstance(g, S.SparseVariable)
    assert sa.function([x], g, on_unused_input="ignore")(
        random_sparse("csr", SHAPE)).nnz == 0


def test_sparse_output_gradient_sums_contributions() -> None:
    x = S.csr_matrix("x", "float64")
    cost = T.sum(S.dense_from_sparse(x)) + S.sp_sum(x * 2.0) + S.sp_sum(x.T)
    m = random_sparse("csr", SHAPE, seed=9)
    g = sa.grad(cost, x).eval({x: m})
    assert sp.issparse(g)
    # dense_from_sparse: structured (the pattern); sp_sum: regular (everywhere)
    assert_close(g, _ones_pattern(m.toarray()) + 3.0)
    structured = T.sum(S.dense_from_sparse(x)) + S.sp_sum(x * 2.0, sparse_grad=True)
    assert_close(sa.grad(structured, x).eval({x: m}), 3.0 * _ones_pattern(m.toarray()))


def test_infer_shape_of_size_and_gradient_ops() -> None:
    x = S.csr_matrix("x", "float64")
    g = T.dmatrix("g")
    m = random_sparse("csr", SHAPE, "duplicates")
    args = [m, np.ones(SHAPE)]
    check_infer_shape([x, g], S.sp_nnz(x), args)
    indices, indptr = S.csm_indices(x), S.csm_indptr(x)
    for grad_of in (g, S.csr_from_dense(g)):
        out = S.CSMGrad("csr")(grad_of, indices, indptr)
        check_infer_shape([x, g], out, args)
        got = sa.function([x, g], out)(m, np.ones(SHAPE))
        np.testing.assert_array_equal(got, np.ones(m.nnz))


def test_theano_basic_module_names() -> None:
    import symarray.sparse.basic as basic

    for name in ("mul", "add", "structured_dot", "dot", "sp_sum", "sqr",
                 "verify_grad_sparse", "transpose", "csm_properties"):
        assert getattr(basic, name) is getattr(S, name)
    with pytest.raises(AttributeError, match="no attribute"):
        basic.not_a_sparse_op  # noqa: B018
