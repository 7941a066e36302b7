"""verify_grad_sparse: it checks structured and regular gradients, and it
catches wrong ones."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import symarray.sparse as S  # noqa: N812
from symarray.gradient import GradientError

from .sparse_checks import random_sparse


def test_passes_for_right_gradients() -> None:
    m = random_sparse("csc", (4, 3), "duplicates", seed=1)
    w = np.random.default_rng(0).standard_normal((3, 2))
    S.verify_grad_sparse(S.structured_dot, [m, w], structured=True, n_tests=1)
    S.verify_grad_sparse(S.dot, [m, w], structured=False, n_tests=1)


@pytest.mark.parametrize("op, kind", [
    (S.structured_dot, "plain"),  # structured gradient vs every entry moving
    (S.structured_exp, "plain"),  # exp(0) = 1 appears when a zero is stored
])
def test_catches_structured_gradient_in_a_regular_check(op: object, kind: str) -> None:
    m = random_sparse("csr", (4, 3), kind, seed=2)
    pt = [m, np.ones((3, 2))] if op is S.structured_dot else [m]
    with pytest.raises(GradientError):
        S.verify_grad_sparse(op, pt, structured=False, n_tests=1)


def test_other_formats_and_dense_points() -> None:
    coo = sp.random(3, 4, density=0.5, format="coo", random_state=3)
    S.verify_grad_sparse(lambda x, v: S.col_scale(x, v), [coo, np.arange(1.0, 5.0)],
                         structured=True, n_tests=1)
