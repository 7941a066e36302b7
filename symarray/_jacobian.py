"""Jacobians and Hessians (re-exported by :mod:`symarray.gradient`)."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from symarray.gradient import (
    DisconnectedInputError,
    Rop,
    TensorLike,
    _as_list,
    _tensor,
    _zeros_like_float,
    grad,
)
from symarray.graph.basic import Apply, Constant, Op, Variable
from symarray.graph.traversal import ancestors, clone_replace, graph_inputs

if TYPE_CHECKING:
    from symarray.tensor.type import TensorType


def _static_size(var: TensorLike) -> int | None:
    """The number of elements of ``var`` if its type fixes every length."""
    size = 1
    for s in var.type.shape:
        if s is None:
            return None
        size *= s
    return size


def jacobian(
    expression: TensorLike,
    wrt: TensorLike | Sequence[TensorLike],
    consider_constant: Iterable[TensorLike] | None = None,
    disconnected_inputs: str = "raise",
) -> Any:
    """The Jacobian of ``expression`` (any rank) with respect to ``wrt``.

    The result for each wrt has shape ``expression.shape + wrt.shape``:
    ``J[i..., j...] = d expression[i...] / d wrt[j...]``.

    Without scan the Jacobian is unrolled, so one side needs a static size:

    * if ``expression``'s type fixes its shape, one reverse pass (``grad``)
      per element of the expression gives the rows;
    * otherwise, if every ``wrt``'s type fixes its shape, one forward pass
      (:func:`Rop` with a one-hot tangent) per element of ``wrt`` gives the
      columns, so expressions whose length is known only at run time work.

    When neither size is static a :class:`NotImplementedError` says how to
    give one (``T.specify_shape``); the general case needs scan.

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> x = T.TensorType("float64", shape=(2,))("x")
    >>> J = T.jacobian(x ** 2, x)
    >>> J.eval({x: np.array([1.0, 3.0])})
    array([[2., 0.],
           [0., 6.]])
    """
    T = _tensor()  # noqa: N806 - Theano's name
    single = isinstance(wrt, Variable)
    wrts = _as_list(wrt)
    expression = T.as_tensor_variable(expression)
    if expression.type.ndim == 0:
        out = grad(
            expression,
            wrts,
            consider_constant=consider_constant,
            disconnected_inputs=disconnected_inputs,
        )
        return out[0] if single else out
    size = _static_size(expression)
    if size is not None:
        out = _jacobian_rows(
            expression, wrts, size, consider_constant, disconnected_inputs
        )
    elif not consider_constant and all(_static_size(w) is not None for w in wrts):
        out = [_jacobian_columns(expression, w, disconnected_inputs) for w in wrts]
    else:
        loop = JacobianLoop(expression, wrts, consider_constant, disconnected_inputs)
        out = loop.make_node().outputs
    return out[0] if single else out


def _jacobian_rows(
    expression: TensorLike,
    wrts: list[TensorLike],
    size: int,
    consider_constant: Iterable[TensorLike] | None,
    disconnected_inputs: str,
) -> list[TensorLike]:
    """Reverse mode: one ``grad`` per element of the (static) expression."""
    T = _tensor()  # noqa: N806 - Theano's name
    flat = T.flatten(expression, 1)
    rows = [
        grad(
            flat[i],
            wrts,
            consider_constant=consider_constant,
            disconnected_inputs=disconnected_inputs,
        )
        for i in range(size)
    ]
    out = []
    for k, w in enumerate(wrts):
        w_shape = [w.shape[d] for d in range(w.type.ndim)]
        shape = [*expression.type.shape, *w_shape]
        if rows:
            stacked = T.stack([r[k] for r in rows])
        else:
            stacked = T.zeros([0, *w_shape], dtype=_zeros_like_float(w).dtype)
        out.append(T.reshape(stacked, shape, ndim=len(shape)))
    return out


def _jacobian_columns(
    expression: TensorLike, w: TensorLike, disconnected_inputs: str
) -> TensorLike:
    """Forward mode: one ``Rop`` per element of the (static) wrt variable."""
    T = _tensor()  # noqa: N806 - Theano's name
    if w not in ancestors([expression]):
        message = (
            f"jacobian: {w} is not part of the computational graph of "
            f"{expression}; pass disconnected_inputs='ignore' if that is intended"
        )
        if disconnected_inputs == "raise":
            raise DisconnectedInputError(message)
        if disconnected_inputs == "warn":
            warnings.warn(message, stacklevel=3)
    size = _static_size(w) or 0
    dtype = _zeros_like_float(w).dtype
    eye = np.eye(size, dtype=dtype)
    cols = [
        Rop(expression, w, T.constant(eye[j].reshape(w.type.shape), dtype=dtype))
        for j in range(size)
    ]
    e_shape = [expression.shape[d] for d in range(expression.type.ndim)]
    if cols:
        stacked = T.stack(cols, axis=expression.type.ndim)
    else:
        stacked = T.zeros([*e_shape, 0], dtype=expression.dtype)
    shape = [*e_shape, *w.type.shape]
    return T.reshape(stacked, shape, ndim=len(shape))


def hessian(
    cost: TensorLike,
    wrt: TensorLike | Sequence[TensorLike],
    consider_constant: Iterable[TensorLike] | None = None,
    disconnected_inputs: str = "raise",
) -> Any:
    """Hessian of the scalar ``cost`` with respect to each (vector) wrt.

    The Hessian is the :func:`jacobian` of the gradient, so (until scan) the
    wrt vectors need a static length (``T.specify_shape(w, (n,))``, or a
    type built with ``shape=(n,)``).

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> x = T.TensorType("float64", shape=(2,))("x")
    >>> H = T.hessian((x ** 3).sum(), x)
    >>> H.eval({x: np.array([1.0, 2.0])})
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    single = isinstance(wrt, Variable)
    wrts = _as_list(wrt)
    out = []
    for w in wrts:
        if w.type.ndim != 1:
            raise TypeError(
                f"hessian: wrt must be vectors, got {w} of type {w.type}; flatten "
                "the parameters into one vector (and reshape inside the cost)"
            )
        g = grad(
            cost,
            w,
            consider_constant=consider_constant,
            disconnected_inputs=disconnected_inputs,
        )
        out.append(
            jacobian(
                g,
                w,
                consider_constant=consider_constant,
                disconnected_inputs=disconnected_inputs,
            )
        )
    return out[0] if single else out


class JacobianLoop(Op):
    """The Jacobian when no size is static: one reverse pass per row at run time.

    The op holds the gradient graph of ``expression`` seeded by a one-hot
    output gradient; ``perform`` evaluates the expression, then runs the
    compiled gradient once per element and stacks the rows.  Its inputs are
    the variables the expression depends on (the wrt variables cut the graph,
    as in :func:`grad`).  Each instance is its own op: two loops are never
    merged.
    """

    def __init__(
        self,
        expression: TensorLike,
        wrts: list[TensorLike],
        consider_constant: Iterable[TensorLike] | None,
        disconnected_inputs: str,
    ) -> None:
        outer = [
            v
            for v in graph_inputs([expression], blockers=wrts)
            if not isinstance(v, Constant)
        ]
        outer += [w for w in wrts if w not in outer]
        self.outer = outer
        self.wrt_index = [outer.index(w) for w in wrts]
        seed = expression.type()
        grads = grad(
            None,
            wrts,
            consider_constant=consider_constant,
            disconnected_inputs=disconnected_inputs,
            known_grads={expression: seed},
        )
        self.fresh = [v.type() for v in outer]
        inner = clone_replace(
            [expression, *grads], list(zip(outer, self.fresh, strict=True))
        )
        self.expression, self.grads = inner[0], inner[1:]
        self.seed = seed
        self._fns: tuple[Any, Any] | None = None

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __str__(self) -> str:
        return "JacobianLoop"

    def make_node(self) -> Apply:
        T = _tensor()  # noqa: N806 - Theano's name
        outputs = [
            T.TensorType(g.dtype, shape=(None,) * (self.expression.ndim + g.ndim))()
            for g in self.grads
        ]
        return Apply(self, list(self.outer), outputs)

    def _compiled(self) -> tuple[Any, Any]:
        if self._fns is None:
            from symarray.compile.function import function

            value = function(self.fresh, self.expression, on_unused_input="ignore")
            rows = function(
                [*self.fresh, self.seed], self.grads, on_unused_input="ignore"
            )
            self._fns = (value, rows)
        return self._fns

    def perform(
        self, node: Apply, inputs: Sequence[Any], output_storage: list[list[Any]]
    ) -> None:
        value_fn, rows_fn = self._compiled()
        y = np.asarray(value_fn(*inputs))
        rows = []
        for i in range(y.size):
            seed = np.zeros(y.shape, dtype=y.dtype)
            seed.flat[i] = 1
            rows.append(rows_fn(*inputs, seed))
        for k, (cell, idx) in enumerate(
            zip(output_storage, self.wrt_index, strict=True)
        ):
            w_shape = np.shape(inputs[idx])
            dtype = cast("TensorType", node.outputs[k].type).dtype
            if rows:
                stacked = np.stack([np.asarray(r[k], dtype=dtype) for r in rows])
            else:
                stacked = np.zeros((0, *w_shape), dtype=dtype)
            cell[0] = stacked.reshape(y.shape + w_shape)

    def infer_shape(
        self, fgraph: Any, node: Apply, input_shapes: list[tuple[Any, ...]]
    ) -> list[tuple[Any, ...]]:
        T = _tensor()  # noqa: N806 - Theano's name
        expr = clone_replace(
            self.expression, list(zip(self.fresh, node.inputs, strict=True))
        )
        e_shape = tuple(T.shape_i(expr, d) for d in range(expr.ndim))
        return [e_shape + tuple(input_shapes[idx]) for idx in self.wrt_index]

    def L_op(
        self, inputs: list[Any], outputs: list[Any], output_grads: list[Any]
    ) -> list[Any]:
        from symarray.gradient import grad_not_implemented

        return [
            grad_not_implemented(
                self, k, x, "differentiate the expression and take its jacobian instead"
            )
            for k, x in enumerate(inputs)
        ]
