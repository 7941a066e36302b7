"""``gemv(y0, alpha, X.T, f(X @ w), beta)`` as one op that reads ``X`` once.

A linear model's gradient step computes ``z = X @ w``, an elementwise
``g = f(z, ...)`` (the loss derivative, reading row-aligned vectors such as
the targets and scalars such as the learning rate), and then
``beta * y0 + alpha * X.T @ g``.  As separate nodes, ``X`` is streamed from
memory twice.  Row ``i`` of the second product needs only ``g[i]``, which
needs only ``z[i] = X[i] @ w``, so one pass over blocks of rows does both
products while each block is in cache.  :class:`StreamGemv` is that pass;
the rewrite ``local_gemv_stream_rows``
(:mod:`symarray.tensor.rewriting.blas_stream`) builds it after fusion, and
the C kernel (:mod:`symarray.kernels_c.blas_stream`) runs it.

=======  ============================================================
inputs   ``X, w, *others, y0, alpha, beta``
outputs  ``z = X @ w``, ``y = beta * y0 + alpha * X.T @ g`` and
         ``g = f(z, *others)``
=======  ============================================================

Key decisions:

* ``f`` is a scalar :class:`~symarray.scalar.composite.Composite` held as a
  prop, with ``z`` as its first input and ``others`` after it.  Each other
  input is a vector aligned with the rows of ``X`` (length ``n`` at run
  time, or 1: broadcast) or a 0-d scalar; ``perform`` raises a
  ``ShapeMismatchError`` (a ``ValueError``) naming the input otherwise.
* ``perform`` is the unfused computation with NumPy (``np.dot`` twice and
  ``f``'s ``compute``), the living spec; ``y0`` broadcasts against the
  product as in :class:`~symarray.tensor.blas_ops.Gemv`, and a scale of 0
  multiplies (``0 * nan`` is ``nan``) as the elementwise graph does.
* ``g`` is an output too: the kernel writes it anyway, and the step often
  needs it again (the bias gradient ``sum(g)``), so nothing computes it
  twice.
* The op is made after gradients are taken, so it has none: ``L_op`` and
  ``R_op`` raise, naming the rewrite to exclude.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.errors import DtypeError, RankError, ShapeMismatchError
from symarray.graph.basic import Apply, Op, Variable
from symarray.scalar.composite import Composite
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.elemwise import broadcast_static_shape
from symarray.tensor.type import TensorType, tensor_type

__all__ = ["StreamGemv", "stream_gemv", "FLOAT_DTYPES"]

#: dtypes the op is built for (the kernel's BLAS dtypes)
FLOAT_DTYPES = ("float32", "float64")


class StreamGemv(Op):
    """``z = X @ w``, ``y = beta * y0 + alpha * X.T @ g`` and ``g = f(z, *others)``.

    Parameters
    ----------
    f
        A one-output :class:`~symarray.scalar.composite.Composite` whose
        first input is ``z``; its other inputs are ``others``, in order.

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> from symarray.scalar import get_scalar_op
    >>> from symarray.scalar.composite import CompositeBuilder
    >>> b = CompositeBuilder(["float64", "float64"])
    >>> f = b.build([b.apply(get_scalar_op("sub"), b.inputs)])   # z - t
    >>> X, w, t, y0 = T.dmatrix("X"), T.dvector("w"), T.dvector("t"), T.dvector("y0")
    >>> z, y, g = stream_gemv(f, X, w, [t], y0, -1.0, 1.0)
    >>> Xv = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> y.eval({X: Xv, w: np.ones(2), t: np.zeros(2), y0: np.zeros(2)})
    array([-24., -34.])
    """

    __props__ = ("f",)

    def __init__(self, f: Composite) -> None:
        if not isinstance(f, Composite) or f.nout != 1 or f.nin < 1:
            raise TypeError(
                f"StreamGemv: f must be a one-output Composite with z as its first "
                f"input, got {f!r}; build one with CompositeBuilder"
            )
        self.f = f

    def __str__(self) -> str:
        return f"StreamGemv{{{self.f.name}}}"

    @property
    def n_others(self) -> int:
        """Inputs of ``f`` after ``z``."""
        return self.f.nin - 1

    def make_node(self, X: Any, w: Any, *rest: Any) -> Apply:  # noqa: N803
        what = str(self)
        if len(rest) != self.n_others + 3:
            raise TypeError(
                f"{what}: takes X, w, {self.n_others} input(s) of f, y0, alpha and "
                f"beta ({self.n_others + 5} inputs), got {len(rest) + 2}"
            )
        X, w = as_tensor_variable(X), as_tensor_variable(w)  # noqa: N806
        others = [as_tensor_variable(v) for v in rest[:self.n_others]]
        y0, alpha, beta = (as_tensor_variable(v) for v in rest[self.n_others:])
        for name, v, ndim in (("X", X, 2), ("w", w, 1), ("y0", y0, 1),
                              ("alpha", alpha, 0), ("beta", beta, 0)):
            if v.type.ndim != ndim:
                raise RankError(f"{what}: {name} must have {ndim} dimension(s), got "
                                f"{v} of type {v.type}")
        dtype = X.type.dtype
        if dtype not in FLOAT_DTYPES:
            raise DtypeError(f"{what}: X must be float32 or float64, got {X.type}")
        for name, v in (("w", w), ("y0", y0), ("alpha", alpha), ("beta", beta)):
            if v.type.dtype != dtype:
                raise DtypeError(f"{what}: {name} has dtype {v.type.dtype} but X has "
                                 f"{dtype}; cast it: T.cast({name}, '{dtype}')")
        k_x, k_w = X.type.shape[1], w.type.shape[0]
        if k_x is not None and k_w is not None and k_x != k_w:
            raise ShapeMismatchError(f"{what}: X has {k_x} columns but w has length "
                                     f"{k_w}; they must agree for X @ w")
        for i, v in enumerate(others):
            if v.type.ndim > 1:
                raise RankError(f"{what}: input {i + 1} of f must be a vector aligned "
                                f"with the rows of X or a 0-d scalar, got {v.type}")
        got = (dtype, *(v.type.dtype for v in others))
        if got != self.f.input_dtypes or self.f.output_dtype_list != [dtype]:
            raise DtypeError(
                f"{what}: f was built for inputs {list(self.f.input_dtypes)} and "
                f"output {self.f.output_dtype_list}, got inputs {list(got)} and X of "
                f"{dtype}; build f for these dtypes"
            )
        z = TensorType(dtype, shape=(X.type.shape[0],))()
        y = TensorType(dtype, shape=broadcast_static_shape(
            [y0.type.shape, (k_x,)], what))()
        g = TensorType(dtype, shape=(X.type.shape[0],))()
        return Apply(self, [X, w, *others, y0, alpha, beta], [z, y, g])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        X, w = np.asarray(inputs[0]), np.asarray(inputs[1])  # noqa: N806
        others = [np.asarray(v) for v in inputs[2:2 + self.n_others]]
        y0, alpha, beta = (np.asarray(v) for v in inputs[2 + self.n_others:])
        dtype = tensor_type(node.outputs[0]).dtype
        if X.shape[1] != w.shape[0]:
            raise ShapeMismatchError(f"{self}: X of shape {X.shape} and w of shape "
                                     f"{w.shape} are not aligned for X @ w")
        n = X.shape[0]
        for i, v in enumerate(others):
            if v.ndim == 1 and v.shape[0] not in (n, 1):
                source = node.inputs[2 + i]
                raise ShapeMismatchError(
                    f"{self}: input {i + 1} of f ({source}) has length {v.shape[0]} "
                    f"but X has {n} rows; each vector f reads must have one entry "
                    "per row of X (or length 1)"
                )
        z = np.asarray(np.dot(X, w), dtype=dtype)
        g = np.asarray(self.f.compute([z, *others], dtype))
        if g.shape != (n,):
            g = np.array(np.broadcast_to(g, (n,)))
        with np.errstate(all="ignore"):
            y = np.asarray(beta * y0 + alpha * np.dot(X.T, g), dtype=dtype)
        output_storage[0][0] = z
        output_storage[1][0] = y
        output_storage[2][0] = g

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        x_shape = input_shapes[0]
        return [(x_shape[0],), (x_shape[1],), (x_shape[0],)]

    def L_op(self, inputs: list[Variable], outputs: list[Variable],  # noqa: N802
             output_grads: list[Variable]) -> list[Any]:
        raise NotImplementedError(
            f"{self} has no gradient: the rewrite local_gemv_stream_rows makes it "
            "after gradients are taken; take gradients of the graph before "
            "compiling it, or compile with mode.excluding('local_gemv_stream_rows')"
        )

    def R_op(self, inputs: list[Variable], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        raise NotImplementedError(
            f"{self} has no R_op: the rewrite local_gemv_stream_rows makes it after "
            "gradients are taken; compile with mode.excluding("
            "'local_gemv_stream_rows') to keep the separate products"
        )


def stream_gemv(f: Composite, X: Any, w: Any, others: Sequence[Any], y0: Any,  # noqa: N803
                alpha: Any, beta: Any) -> list[Variable]:
    """``[z, beta * y0 + alpha * X.T @ g, g]`` for ``z = X @ w`` and
    ``g = f(z, *others)``, as one node.

    ``alpha`` and ``beta`` may be Python numbers (made 0-d tensors of
    ``X``'s dtype).
    """
    X = as_tensor_variable(X)  # noqa: N806
    dtype = X.type.dtype
    scales = [v if isinstance(v, Variable) else as_tensor_variable(np.asarray(v, dtype))
              for v in (alpha, beta)]
    return list(StreamGemv(f)(X, w, *others, y0, *scales))
