"""hstack, vstack, remove0, ensure_sorted_indices, clean, square_diagonal and
diag against NumPy (every kind of matrix, every linker), infer_shape, dtypes,
formats and gradients."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

import symarray as sa
import symarray.sparse as S  # noqa: N812
import symarray.tensor as T  # noqa: N812
from symarray.errors import RankError, ShapeMismatchError
from symarray.sparse.grad import verify_grad_sparse

from .sparse_checks import KINDS, check_infer_shape, check_op, random_sparse

LINKERS = ("py", "cvm")


def _blocks(axis: int, fmts: tuple[str, ...], seed: int) -> list[Any]:
    sizes = (2, 3, 1)
    return [random_sparse(f, (4, n) if axis == 1 else (n, 4),
                          KINDS[(seed + k) % len(KINDS)], seed=seed + k)
            for k, (f, n) in enumerate(zip(fmts, sizes, strict=False))]


STACKS = [("hstack", S.hstack, np.hstack, 1), ("vstack", S.vstack, np.vstack, 0)]


@pytest.mark.parametrize("name, stack, ref, axis", STACKS, ids=["h", "v"])
@pytest.mark.parametrize("fmts", [("csr", "csc", "csr"), ("csc", "csc")])
@pytest.mark.parametrize("format", [None, "csr"])
def test_stack(name: str, stack: Any, ref: Any, axis: int, fmts: tuple[str, ...],
               format: str | None) -> None:
    xs = [S.matrix(f, f"x{k}", "float64") for k, f in enumerate(fmts)]
    out = stack(xs, format=format)
    assert out.type.format == (format or "csc")   # Theano's default: csc
    cases = [_blocks(axis, fmts, seed) for seed in range(len(KINDS))]
    check_op(xs, out, cases, lambda *d: ref(d), linkers=LINKERS)
    check_infer_shape(xs, out, cases[0])


def test_stack_dtypes_and_errors() -> None:
    a, b = S.csr_matrix("a", "float32"), S.csr_matrix("b", "int64")
    assert S.hstack([a, b]).dtype == "float64"
    assert S.vstack([a, a]).dtype == "float32"
    out = S.vstack([a, b], dtype="float32")
    assert out.dtype == "float32"
    m = random_sparse("csr", (2, 3)).astype("float32")
    got = sa.function([a, b], out)(m, random_sparse("csr", (1, 3), low=1,
                                                     high=5).astype("int64"))
    assert got.dtype == np.float32 and got.shape == (3, 3)
    f = sa.function([a], S.hstack([a, a.T]))
    with pytest.raises(ShapeMismatchError, match="same number of rows"):
        f(m)
    with pytest.raises(ValueError, match="at least one"):
        S.hstack([])


@pytest.mark.parametrize("name, stack, axis", [("h", S.hstack, 1), ("v", S.vstack, 0)])
def test_stack_grads(name: str, stack: Any, axis: int) -> None:
    blocks = _blocks(axis, ("csr", "csc", "csr"), 3)
    verify_grad_sparse(lambda *xs: stack(xs, format="csr"), blocks,
                       structured=False, n_tests=1)
    xs = [S.matrix(b.format, None, "float64") for b in blocks]
    w = np.arange(np.prod(stack(xs).eval(dict(zip(xs, blocks, strict=True))).shape),
                  dtype=float).reshape(-1)
    z = stack(xs)
    cost = T.sum(S.dense_from_sparse(z).flatten() * w)
    grads = sa.grad(cost, xs)
    full = w.reshape(z.eval(dict(zip(xs, blocks, strict=True))).shape)
    parts = np.split(full, np.cumsum([b.shape[axis] for b in blocks])[:-1], axis)
    for g, b, p in zip(grads, blocks, parts, strict=True):
        assert g.type.format == b.format
        got = g.eval({x_: v for x_, v in zip(xs, blocks, strict=True)})
        np.testing.assert_allclose(got.toarray(), p * (b.toarray() != 0))


def _with_zeros(fmt: str, kind: str, seed: int) -> Any:
    m = random_sparse(fmt, (5, 4), kind, seed=seed)
    m = m.copy()
    m.data[::3] = 0.0        # explicit zeros (and duplicates that may cancel)
    return m


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("op", ["remove0", "ensure_sorted_indices", "clean"])
def test_cleaning(fmt: str, op: str) -> None:
    x = S.matrix(fmt, "x", "float64")
    out = getattr(S, op)(x)
    cases = [[_with_zeros(fmt, kind, k)] for k, kind in enumerate(KINDS)]
    check_op([x], out, cases, lambda d: d, linkers=LINKERS)
    check_infer_shape([x], out, cases[0])
    f = sa.function([x], out)
    for (m,) in cases:
        got = f(m)
        if op != "ensure_sorted_indices":
            assert np.all(got.data != 0), "stored zeros left"
        if op != "remove0":
            assert got.has_sorted_indices
            assert all(np.all(np.diff(got.indices[a:b]) >= 0)
                       for a, b in zip(got.indptr[:-1], got.indptr[1:], strict=True))
        assert type(got) is type(m) and got.dtype == m.dtype


def test_remove0_drops_cancelling_duplicates_and_grad() -> None:
    m = sp.csr_matrix((np.array([1.0, -1.0, 2.0]), np.array([0, 0, 1]),
                       np.array([0, 3, 3])), shape=(2, 2))
    x = S.csr_matrix("x", "float64")
    got = S.remove0(x).eval({x: m})
    assert got.nnz == 1 and got[0, 1] == 2.0
    a = _with_zeros("csc", "duplicates", 4)
    for op in (S.remove0, S.clean, S.ensure_sorted_indices):
        verify_grad_sparse(op, [a], structured=True, n_tests=1)
        verify_grad_sparse(op, [a], structured=False, n_tests=1)


def test_square_diagonal_and_diag() -> None:
    v = T.dvector("v")
    out = S.square_diagonal(v)
    assert out.type.format == "csc"
    cases = [[np.array([1.0, 0.0, -2.5])], [np.zeros(0)], [np.array([4.0])]]
    check_op([v], out, cases, np.diag, linkers=LINKERS)
    check_infer_shape([v], out, cases[0])
    for fmt in ("csr", "csc"):
        x = S.matrix(fmt, "x", "float64")
        d = S.diag(x)
        sq = [[random_sparse(fmt, (4, 4), kind, seed=k)]
              for k, kind in enumerate(KINDS)]
        check_op([x], d, sq, np.diag, linkers=LINKERS)
        check_infer_shape([x], d, sq[0])
        with pytest.raises(ShapeMismatchError, match="square"):
            sa.function([x], d)(random_sparse(fmt, (3, 4)))
    with pytest.raises(RankError, match="vector"):
        S.square_diagonal(T.dmatrix())


def test_diagonal_grads() -> None:
    rng = np.random.default_rng(0)
    verify_grad_sparse(lambda v: S.square_diagonal(v), [rng.standard_normal(4)],
                       structured=True, n_tests=1)
    a = random_sparse("csr", (4, 4), "duplicates", seed=2)
    verify_grad_sparse(S.diag, [a], structured=False, n_tests=1)
    v = T.dvector("v")
    g = sa.grad(T.sum(S.dense_from_sparse(S.square_diagonal(v)) ** 2), v)
    np.testing.assert_allclose(g.eval({v: np.array([1.0, 2.0])}), [2.0, 4.0])
