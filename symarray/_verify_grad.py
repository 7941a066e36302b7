"""verify_grad: gradients against finite differences (re-exported by
:mod:`symarray.gradient`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from symarray.gradient import (
    GradientError,
    TensorLike,
    _dtype,
    _tensor,
    grad,
)
from symarray.graph.basic import Variable

_EPS = {"float64": 1e-7, "float32": 3e-4, "float16": 1e-1}
_TOL = {"float64": (1e-4, 1e-4), "float32": (1e-2, 1e-2), "float16": (5e-2, 5e-2)}


def verify_grad(
    fun: Callable[..., TensorLike],
    pt: Sequence[Any],
    n_tests: int = 2,
    rng: Any = None,
    eps: float | None = None,
    abs_tol: float | None = None,
    rel_tol: float | None = None,
    mode: Any = None,
    cast_to_output_type: bool = False,
) -> None:
    """Check ``grad`` of ``fun`` at ``pt`` against central finite differences.

    ``fun`` takes symbolic inputs shaped like the arrays in ``pt`` and
    returns a variable.  Its gradient is checked through the random
    projection ``sum(fun(*x) * r)``, ``n_tests`` times with different ``r``.
    Raises :class:`GradientError` showing the worst element, analytic vs
    numeric value.
    """
    from symarray.compile.function import function

    T = _tensor()  # noqa: N806 - Theano's name
    if not isinstance(pt, (list, tuple)):
        raise TypeError("verify_grad: pt must be a list of arrays (one per input)")
    # C order: the finite differences perturb p through p.reshape(-1), a view
    # only for C-contiguous arrays (a Fortran-ordered point would be copied
    # and the numeric gradient silently come out as zeros)
    pt = [np.array(p, order="C") for p in pt]
    if rng is None:
        rng = np.random.default_rng(42)
    for k, p in enumerate(pt):
        if p.dtype.kind not in "fc":
            raise TypeError(
                f"verify_grad: point {k} has dtype {p.dtype}; gradients are checked "
                "for floating-point inputs only"
            )
    dtype = max((p.dtype.name for p in pt), key=lambda d: np.dtype(d).itemsize)
    eps_arg = eps
    eps = eps if eps is not None else _EPS.get(dtype, 1e-7)
    rtol, atol = _TOL.get(dtype, (1e-4, 1e-4))
    rtol = rel_tol if rel_tol is not None else rtol
    atol = abs_tol if abs_tol is not None else atol
    inputs = [
        T.TensorType(p.dtype, shape=(None,) * p.ndim)(f"input{k}")
        for k, p in enumerate(pt)
    ]
    out = fun(*inputs)
    if not isinstance(out, Variable):
        raise TypeError("verify_grad: fun must return one symbolic variable")
    out_fn = function(inputs, out, mode=mode, on_unused_input="ignore")
    out_shape = np.shape(out_fn(*pt))
    # the least precise of the inputs and the output sets eps and tolerances
    if (
        np.dtype(_dtype(out)).kind == "f"
        and np.dtype(_dtype(out)).itemsize < np.dtype(dtype).itemsize
    ):
        dtype = _dtype(out)
        eps = eps_arg if eps_arg is not None else _EPS.get(dtype, 1e-7)
        rtol = rel_tol if rel_tol is not None else _TOL.get(dtype, (1e-4, 1e-4))[0]
        atol = abs_tol if abs_tol is not None else _TOL.get(dtype, (1e-4, 1e-4))[1]
    for _ in range(n_tests):
        proj = rng.uniform(0.5, 1.5, size=out_shape).astype(_dtype(out))
        r = T.constant(proj, dtype=_dtype(out))
        cost = T.sum(out * r)
        cost_fn = function(inputs, cost, mode=mode, on_unused_input="ignore")
        grads = grad(cost, inputs, disconnected_inputs="ignore")
        grad_fn = function(inputs, grads, mode=mode, on_unused_input="ignore")
        analytic = grad_fn(*pt)
        for k, p in enumerate(pt):
            numeric = np.zeros(p.shape, dtype="float64")
            flat = p.reshape(-1)
            for idx in range(flat.size):
                orig = flat[idx]
                flat[idx] = orig + eps
                plus = float(cost_fn(*pt))
                flat[idx] = orig - eps
                minus = float(cost_fn(*pt))
                flat[idx] = orig
                numeric.reshape(-1)[idx] = (plus - minus) / (2 * eps)
            a = np.asarray(analytic[k], dtype="float64")
            err = np.abs(a - numeric)
            scale = atol + rtol * np.abs(numeric)
            if (err > scale).any():
                worst = np.unravel_index(np.argmax(err - scale), err.shape)
                raise GradientError(
                    f"verify_grad: gradient of input {k} (shape {p.shape}, dtype "
                    f"{p.dtype}) disagrees with finite differences: worst element "
                    f"{tuple(int(i) for i in worst)}: analytic {a[worst]!r}, numeric "
                    f"{numeric[worst]!r} (abs err {err[worst]:.3g}, tolerance "
                    f"abs {atol} + rel {rtol}); eps={eps}"
                )
