"""R_op of the linear and bilinear sparse ops: ``theano.Rop`` against the exact
central difference ``(f(x + v) - f(x - v)) / 2`` (exact for ops of degree
at most 2), under the py and cvm linkers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import symarray as sa
import symarray.sparse as S  # noqa: N812
import symarray.tensor as T  # noqa: N812

from .sparse_checks import KINDS, assert_close, random_sparse, to_dense

SHAPE = (5, 4)
RNG = np.random.default_rng(11)


def _sp(fmt: str, shape: tuple[int, int] = SHAPE) -> Any:
    return lambda k: random_sparse(fmt, shape, KINDS[k % len(KINDS)], seed=k)


def _dense(*shape: int) -> Any:
    return lambda k: np.random.default_rng(k).standard_normal(shape)


def _var(example: Any) -> Any:
    if hasattr(example, "format"):
        return S.matrix(example.format, None, "float64")
    return T.TensorType("float64", shape=(None,) * example.ndim)()


#: name, function of the symbolic inputs, makers of input values (by seed)
CASES: list[tuple[str, Any, list[Any]]] = [
    ("transpose", S.transpose, [_sp("csr")]),
    ("as_format", lambda x: S.as_format(x, "csc"), [_sp("csr")]),
    ("cast", lambda x: S.cast(x, "float32"), [_sp("csc")]),
    ("dense_from_sparse", S.dense_from_sparse, [_sp("csr")]),
    ("csr_from_dense", S.csr_from_dense, [_dense(*SHAPE)]),
    ("add_ss", S.add, [_sp("csr"), _sp("csc")]),
    ("add_sd", S.add, [_sp("csc"), _dense(*SHAPE)]),
    ("add_sd_row", S.add, [_sp("csr"), _dense(SHAPE[1])]),
    ("mul_ss", S.mul, [_sp("csr"), _sp("csr")]),
    ("mul_sd", S.mul, [_sp("csr"), _dense(*SHAPE)]),
    ("sub", S.sub, [_sp("csr"), _dense(*SHAPE)]),
    ("sp_sum", lambda x: S.sp_sum(x, axis=0), [_sp("csc")]),
    ("structured_dot", S.structured_dot, [_sp("csr"), _dense(SHAPE[1], 3)]),
    ("structured_dot_ss", S.structured_dot, [_sp("csr"), _sp("csc", (4, 3))]),
    ("dot", S.dot, [_sp("csc"), _dense(SHAPE[1], 3)]),
    ("dot_ds", S.dot, [_dense(3, SHAPE[0]), _sp("csr")]),
    ("hstack", lambda x, y: S.hstack([x, y], format="csr"),
     [_sp("csr"), _sp("csc")]),
    ("vstack", lambda x, y: S.vstack([x, y]), [_sp("csr"), _sp("csr")]),
    ("clean", S.clean, [_sp("csr")]),
    ("square_diagonal", S.square_diagonal, [_dense(4)]),
    ("diag", S.diag, [_sp("csr", (4, 4))]),
    ("getitem", lambda x: x[1:4, ::2], [_sp("csc")]),
    ("getitem_scalar", lambda x: x[2, 1], [_sp("csr")]),
    ("csm", lambda d: S.CSR(d, np.array([0, 2, 1]), np.array([0, 2, 3]),
                            np.array([2, 3])), [_dense(3)]),
]


@pytest.mark.parametrize("name, fn, makers", CASES, ids=[c[0] for c in CASES])
def test_rop(name: str, fn: Any, makers: list[Any]) -> None:
    points = [m(k) for k, m in enumerate(makers)]
    directions = [m(k + 20) for k, m in enumerate(makers)]
    xs = [_var(p) for p in points]
    vs = [_var(p) for p in points]
    out = fn(*xs)
    r = sa.Rop(out, xs, vs)
    assert S.is_sparse_variable(r) == S.is_sparse_variable(out)
    for linker in ("py", "cvm"):
        mode = sa.Mode(linker=linker)
        f = sa.function(xs, out, mode=mode)
        fr = sa.function(xs + vs, r, mode=mode, on_unused_input="ignore")
        got = fr(*points, *directions)
        plus = f(*[p + d for p, d in zip(points, directions, strict=True)])
        minus = f(*[p - d for p, d in zip(points, directions, strict=True)])
        assert_close(got, (to_dense(plus) - to_dense(minus)) / 2)


def test_rop_wrt_one_operand() -> None:
    x, y = S.csr_matrix("x", "float64"), T.dmatrix("y")
    v = S.csr_matrix("v", "float64")
    r = sa.Rop(S.structured_dot(x, y), x, v)
    a, b, c = _sp("csr")(0), RNG.standard_normal((4, 2)), _sp("csr")(1)
    assert_close(r.eval({x: a, y: b, v: c}), c.toarray() @ b)
