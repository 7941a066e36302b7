"""Numeric gradient checks shared by the ``test_*_grad.py`` files.

* :func:`check_grad` runs :func:`symarray.gradient.verify_grad` (reverse
  mode against central differences).
* :func:`check_both` runs both at standard-normal points of given shapes.
* :func:`check_rop` compares ``Rop(fun(x), x, v)`` with the central
  difference ``(f(x + eps v) - f(x - eps v)) / (2 eps)`` (forward mode).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray.gradient import Rop, verify_grad

#: finite-difference step and (rtol, atol) of check_rop per dtype
ROP_EPS = {"float64": 1e-6, "float32": 1e-3}
ROP_TOL = {"float64": (1e-5, 1e-6), "float32": (2e-2, 2e-2)}


def check_grad(fun: Callable[..., Any], values: Sequence[Any], seed: int = 0,
               **kwargs: Any) -> None:
    """``verify_grad(fun, values)`` with a fixed seed."""
    verify_grad(fun, [np.asarray(v) for v in values],
                rng=np.random.default_rng(seed), **kwargs)


def check_rop(fun: Callable[..., Any], values: Sequence[Any], seed: int = 0,
              static: bool = False) -> None:
    """Check ``Rop(fun(*x), x, v)`` against a numeric Jacobian-vector product.

    ``static=True`` gives the symbolic inputs the values' static shapes.
    """
    rng = np.random.default_rng(seed)
    values = [np.asarray(v) for v in values]
    xs = [T.TensorType(v.dtype, shape=v.shape if static else (None,) * v.ndim)(f"x{k}")
          for k, v in enumerate(values)]
    vs = [x.type(f"v{k}") for k, x in enumerate(xs)]
    out = fun(*xs)
    jvp = sa.function(xs + vs, Rop(out, xs, vs), on_unused_input="ignore")
    f = sa.function(xs, out, on_unused_input="ignore")
    tangents = [rng.uniform(-1, 1, v.shape).astype(v.dtype) for v in values]
    got = np.asarray(jvp(*values, *tangents))
    dtype = out.type.dtype
    assert got.dtype == np.dtype(dtype), f"Rop dtype {got.dtype}, expected {dtype}"
    assert got.shape == np.shape(f(*values))
    eps = ROP_EPS[dtype]
    pairs = list(zip(values, tangents, strict=True))
    plus = f(*[(v + eps * t).astype(v.dtype) for v, t in pairs])
    minus = f(*[(v - eps * t).astype(v.dtype) for v, t in pairs])
    numeric = (np.asarray(plus, "float64") - np.asarray(minus, "float64")) / (2 * eps)
    rtol, atol = ROP_TOL[dtype]
    np.testing.assert_allclose(got, numeric, rtol=rtol, atol=atol)


def check_both(fun: Callable[..., Any], shapes: Sequence[tuple[int, ...]],
               seed: int = 0) -> None:
    """Reverse and forward mode of ``fun`` at standard-normal float64 points."""
    pt = [np.random.default_rng(seed + k).standard_normal(s)
          for k, s in enumerate(shapes)]
    check_grad(fun, pt, seed=seed + 10)
    check_rop(fun, pt, seed=seed + 20)


def grad_of(cost: Any, wrt: Any, values: dict[Any, Any], **kwargs: Any) -> Any:
    """The value of ``grad(cost, wrt)`` at ``values`` (a {variable: array} dict)."""
    return T.grad(cost, wrt, **kwargs).eval(values)
