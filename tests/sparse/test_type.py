"""SparseType, sparse variables and constants, and sparse values in compiled
functions (inputs, outputs, the VM's cells) under every linker."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from op_checks import LINKERS

import symarray as sa
import symarray.sparse as S  # noqa: N812
import symarray.tensor as T  # noqa: N812
from symarray.errors import DtypeError, SparseFormatError

from .sparse_checks import KINDS, assert_close, random_sparse


# -- the type ----------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_type_identity(fmt: str) -> None:
    t = S.SparseType(fmt, "float32")
    assert t == S.SparseType(fmt, np.float32) and hash(t) == hash(
        S.SparseType(fmt, "float32"))
    assert t != S.SparseType(fmt, "float64")
    assert t != S.SparseType("csc" if fmt == "csr" else "csr", "float32")
    assert str(t) == f"Sparse{{{fmt}, float32}}"
    assert (t.ndim, t.broadcastable, t.dtype, t.format) == (2, (False, False),
                                                            "float32", fmt)
    assert not hasattr(t, "shape")  # array features skip sparse values


@pytest.mark.parametrize("make, fmt, dtype", [
    (S.csr_matrix, "csr", "float64"), (S.csc_matrix, "csc", "float64"),
    (S.csr_dmatrix, "csr", "float64"), (S.csc_fmatrix, "csc", "float32"),
    (S.csr_fmatrix, "csr", "float32"), (S.csc_dmatrix, "csc", "float64"),
])
def test_constructors(make: object, fmt: str, dtype: str) -> None:
    x = make("x")  # type: ignore[operator]
    assert isinstance(x, S.SparseVariable) and x.name == "x"
    assert (x.format, x.dtype, x.ndim) == (fmt, dtype, 2)
    assert S.matrix(fmt, "y", dtype).type == x.type


@pytest.mark.parametrize("bad, error", [
    (lambda: S.SparseType("coo", "float64"), SparseFormatError),
    (lambda: S.SparseType("csr", "float16"), DtypeError),
    (lambda: S.SparseType("csr", "bogus"), DtypeError),
])
def test_type_refuses(bad: object, error: type) -> None:
    with pytest.raises(error):
        bad()  # type: ignore[operator]


def test_filter_accepts_and_converts() -> None:
    t = S.SparseType("csr", "float64")
    m = sp.random(3, 4, density=0.5, format="csr", random_state=0)
    assert t.filter(m) is m and t.filter(m, strict=True) is m
    for other in (m.tocsc(), m.tocoo(), sp.csr_array(m), m.tolil()):
        got = t.filter(other)
        assert type(got) is sp.csr_matrix
        assert_close(got, m)
    got = t.filter(m.astype("float32"))  # a safe cast
    assert got.dtype == np.float64


@pytest.mark.parametrize("value, kwargs, error, words", [
    (np.ones((2, 2)), {}, SparseFormatError, ["dense ndarray", "csr_matrix"]),
    ([[1.0, 0.0]], {}, SparseFormatError, ["dense list", "csr_from_dense"]),
    (sp.eye(2, format="csc"), {"strict": True}, SparseFormatError, ["strict"]),
    (sp.eye(2, format="csr", dtype="complex128"), {}, DtypeError,
     ["lose precision", "allow_input_downcast"]),
])
def test_filter_errors(value: object, kwargs: dict, error: type,
                       words: list[str]) -> None:
    t = S.SparseType("csr", "float64")
    with pytest.raises(error) as info:
        t.filter(value, **kwargs)
    for w in words:
        assert w in str(info.value)


def test_filter_downcast_and_symbolic() -> None:
    t = S.SparseType("csr", "float32")
    got = t.filter(sp.eye(2, format="csr"), allow_downcast=True)
    assert got.dtype == np.float32
    with pytest.raises(TypeError, match="symbolic variable"):
        t.filter(S.csr_matrix("x"))


def test_values_eq() -> None:
    t = S.SparseType("csr", "float64")
    a = random_sparse("csr", (4, 3), "duplicates")
    b = sp.csr_matrix(a.toarray())
    assert t.values_eq(a, b) and t.values_eq_approx(a, b * (1 + 1e-12))
    assert not t.values_eq(a, b * 2) and not t.values_eq(a, np.ones((4, 3)))


def test_constants_merge_by_value() -> None:
    m = sp.eye(3, format="csr")
    c1, c2 = S.as_sparse_variable(m), S.as_sparse_variable(m.copy())
    assert isinstance(c1, S.SparseConstant)
    assert c1.signature() == c2.signature()
    assert c1.signature() != S.as_sparse_variable(m * 2).signature()
    hash(c1.signature())
    assert c1.clone().signature() == c1.signature()
    f = sa.function([], S.add(c1, c2))
    assert_close(f(), 2 * np.eye(3), sparse=True, fmt="csr")


def test_as_sparse_variable_errors() -> None:
    with pytest.raises(SparseFormatError, match="csr_from_dense"):
        S.as_sparse_variable(T.dmatrix("d"))
    with pytest.raises(SparseFormatError, match="ndarray"):
        S.as_sparse_variable(np.ones((2, 2)))


def test_variable_methods_build_sparse_ops() -> None:
    x = S.csr_matrix("x", "float64")
    y = S.csr_matrix("y", "float64")
    d = T.dmatrix("d")
    m = random_sparse("csr", (3, 4), "duplicates", seed=1)
    n = random_sparse("csr", (3, 4), "unsorted", seed=2)
    dv = np.random.default_rng(3).standard_normal((3, 4))
    md, nd = m.toarray(), n.toarray()
    cases = [
        (x + y, md + nd), (x - y, md - nd), (x * y, md * nd), (x * 2.0, md * 2),
        (2.0 * x, 2 * md), (-x, -md), (abs(x), np.abs(md)), (x.T, md.T),
        (x.toarray(), md), (x + d, md + dv), (x * d, md * dv),
        (x.astype("float32"), md.astype("float32")), (x.sum(), md.sum()),
        (x.sum(axis=1), md.sum(axis=1)), (x.zeros_like(), 0 * md),
        (x.shape, np.array([3, 4])), (x @ d.T, md @ dv.T),
        (x.ones_like(), (md != 0).astype(float)),
    ]
    fn = sa.function([x, y, d], [c for c, _ in cases], on_unused_input="ignore")
    for got, (_, want) in zip(fn(m, n, dv), cases, strict=True):
        assert_close(got, want)


def test_numpy_defers_to_sparse_variables() -> None:
    x = S.csr_matrix("x", "float64")
    assert isinstance(np.float64(2.0) * x, S.SparseVariable)


# -- values in compiled functions --------------------------------------------
@pytest.mark.parametrize("linker", LINKERS)
def test_function_passes_sparse_values_through(linker: str) -> None:
    x = S.csc_matrix("x", "float64")
    f = sa.function([x], [x, S.transpose(x)], mode=sa.Mode(linker=linker))
    for kind in KINDS:
        m = random_sparse("csc", (5, 4), kind)
        same, tr = f(m)
        assert type(same) is sp.csc_matrix and type(tr) is sp.csr_matrix
        assert_close(same, m)
        assert_close(tr, m.toarray().T)
        # the output is a copy: changing it leaves the argument alone
        same.data[:] = 7.0
        assert_close(m, random_sparse("csc", (5, 4), kind))


@pytest.mark.parametrize("linker", ["py", "cvm"])
def test_function_input_conversion_and_errors(linker: str) -> None:
    x = S.csr_matrix("x", "float64")
    f = sa.function([x], S.sp_sum(x), mode=sa.Mode(linker=linker))
    m = random_sparse("csr", (3, 3))
    assert np.isclose(f(m.tocsc()), m.sum())  # converted
    with pytest.raises(SparseFormatError, match="index 0"):
        f(m.toarray())
    g = sa.function([sa.In(x, strict=True)], S.sp_sum(x),
                    mode=sa.Mode(linker=linker))
    with pytest.raises(SparseFormatError, match="strict"):
        g(m.tocsc())
    h = sa.function([x], S.sp_sum(x), mode=sa.Mode(linker=linker), trust_input=True)
    assert np.isclose(h(m), m.sum())


def test_eval_and_givens() -> None:
    x = S.csr_matrix("x", "float64")
    y = S.csr_matrix("y", "float64")
    m = random_sparse("csr", (3, 4))
    assert_close(S.sp_sum(x * 2.0, axis=0).eval({x: m}), 2 * m.toarray().sum(0))
    f = sa.function([y], S.sp_sum(x), givens={x: S.mul(y, 3.0)})
    assert np.isclose(f(m), 3 * m.sum())


@pytest.mark.parametrize("module", ["type", "basic", "math", "elemwise", "products",
                                    "sharedvar", "grad"])
def test_docstring_examples(module: str) -> None:
    import doctest
    import importlib

    mod = importlib.import_module(f"symarray.sparse.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
