"""Every row of the structured elementwise table against NumPy (on the
stored positions, every kind of matrix, every linker), dtypes, infer_shape
and gradients (structured; regular for the linear rows)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

import symarray as sa
import symarray.sparse as S  # noqa: N812
import symarray.tensor as T  # noqa: N812
from symarray.sparse.elemwise import STRUCTURED
from symarray.sparse.grad import verify_grad_sparse

from .sparse_checks import (
    KINDS,
    assert_close,
    check_infer_shape,
    check_op,
    random_sparse,
)

SHAPE = (5, 4)
Y = 0.7  # the scalar operand of binary rows

#: public name of each row (the op instance users call)
PUBLIC = {
    "sigmoid": "structured_sigmoid", "exp": "structured_exp",
    "log": "structured_log", "pow": "structured_pow", "add": "structured_add",
    "minimum": "structured_minimum", "maximum": "structured_maximum",
    "abs": "abs_",
}
#: NumPy's name when it differs from the row's
NUMPY = {"sgn": np.sign, "sqr": np.square, "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
         "pow": np.power, "add": np.add, "neg": np.negative}
ROWS = sorted(STRUCTURED)


def _public(name: str) -> Any:
    return S.neg if name == "neg" else getattr(S, PUBLIC.get(name, name))


def _reference(name: str) -> Any:
    fn = NUMPY.get(name) or getattr(np, name)
    binary = STRUCTURED[name].arity == 2

    def ref(d: np.ndarray, *y: Any) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.where(d != 0, fn(d, *y) if binary else fn(d), 0.0)

    return ref


def _cases(fmt: str, binary: bool) -> list[list[Any]]:
    # values in (0.1, 0.9): inside every row's domain (log, arcsin, arctanh...)
    mats = [random_sparse(fmt, SHAPE, kind, seed=k, low=0.1, high=0.9)
            for k, kind in enumerate(KINDS)]
    return [[m, np.array(Y)] if binary else [m] for m in mats]


def test_table_and_public_names_agree() -> None:
    for name in ROWS:
        op = _public(name)
        assert name in str(op if name != "neg" else S.Structured("neg"))
    with pytest.raises(KeyError, match="known"):
        S.Structured("cosh_typo")


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("name", ROWS)
def test_row_against_numpy(fmt: str, name: str) -> None:
    binary = STRUCTURED[name].arity == 2
    x = S.matrix(fmt, "x", "float64")
    y = T.dscalar("y")
    out = _public(name)(x, y) if binary else _public(name)(x)
    assert out.type == x.type
    inputs = [x, y] if binary else [x]
    cases = _cases(fmt, binary)
    check_op(inputs, out, cases, _reference(name),
             linkers=("py", "cvm") if fmt == "csc" else ("py", "vm", "cvm", "cvm_nogc"))
    check_infer_shape(inputs, out, cases[4])


def test_pattern_is_kept_with_explicit_zeros() -> None:
    m = sp.csr_matrix((np.array([0.0, 2.0]), np.array([0, 1]), np.array([0, 2, 2])),
                      shape=(2, 3))
    x = S.csr_matrix("x", "float64")
    got = sa.function([x], S.structured_exp(x))(m)
    assert got.nnz == 2  # exp(stored 0) = 1 is kept; unstored zeros stay zero
    assert_close(got, [[1.0, np.exp(2.0), 0], [0, 0, 0]])


@pytest.mark.parametrize("op, dtype, want", [
    (S.sqr, "int32", "int32"), (S.neg, "int64", "int64"), (S.abs_, "int8", "int8"),
    (S.sqrt, "int64", "float64"), (S.structured_exp, "float32", "float32"),
    (S.sqrt, "int8", "float32"),  # NumPy's float16 is not stored sparse
])
def test_dtypes(op: Any, dtype: str, want: str) -> None:
    x = S.csr_matrix("x", dtype)
    out = op(x)
    assert out.dtype == want
    m = random_sparse("csr", SHAPE, "duplicates", seed=1, low=1, high=5).astype(dtype)
    got = sa.function([x], out)(m)
    assert got.dtype == np.dtype(want)


def test_structured_binary_rows_take_dtype_rules() -> None:
    x = S.csr_matrix("x", "float32")
    assert S.structured_pow(x, 2.0).dtype == "float32"  # Python scalar yields
    assert S.structured_add(x, T.dscalar()).dtype == "float64"


def test_operand_errors() -> None:
    x = S.csr_matrix("x", "float64")
    with pytest.raises(TypeError, match="scalar"):
        S.structured_pow(x, T.dvector("v"))
    with pytest.raises(TypeError, match="2 operand"):
        S.structured_add(x)
    with pytest.raises(TypeError, match="1 operand"):
        S.sqr(x, 2.0)


# -- gradients -----------------------------------------------------------------
@pytest.mark.parametrize("name", ROWS)
def test_row_gradient(name: str) -> None:
    row = STRUCTURED[name]
    m = random_sparse("csr", (4, 3), "duplicates", seed=3, low=0.1, high=0.9)
    op = _public(name)
    pt = [m, np.array(Y)] if row.arity == 2 else [m]
    if row.dx is None and row.scale is None:  # piecewise constant: zero
        x = S.csr_matrix("x", "float64")
        g = sa.grad(S.sp_sum(op(x)), x)
        assert sa.function([x], g)(m).nnz == 0
        return
    verify_grad_sparse(op, pt, structured=True, n_tests=1)
    if row.scale is not None:  # linear: the regular gradient
        verify_grad_sparse(op, pt, structured=False, n_tests=1)


def test_structured_gradient_stays_on_the_pattern() -> None:
    x = S.csc_matrix("x", "float64")
    m = random_sparse("csc", SHAPE, "empty_rows", low=0.1, high=0.9)
    g = sa.function([x], sa.grad(S.sp_sum(S.sin(x)), x))(m)
    assert type(g) is sp.csc_matrix
    d = m.toarray()
    assert_close(g, np.where(d != 0, np.cos(d), 0.0))


@pytest.mark.parametrize("name", ["sqrt", "pow"])
def test_infer_shape_of_gradient_op(name: str) -> None:
    x, g = S.csr_matrix("x", "float64"), S.csr_matrix("g", "float64")
    ys = [T.dscalar("y")] if STRUCTURED[name].arity == 2 else []
    m = random_sparse("csr", SHAPE, "unsorted", low=0.1, high=0.9)
    outs = S.StructuredGrad(name)(x, *ys, g)
    for out in outs if isinstance(outs, list) else [outs]:
        check_infer_shape([x, *ys, g], out, [m, *[np.array(Y)] * len(ys), m])
