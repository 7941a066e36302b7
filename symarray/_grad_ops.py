"""Ops that change what flows backwards: zero_grad, disconnected_grad, grad_clip,
grad_scale (re-exported by :mod:`symarray.gradient`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from symarray.gradient import (
    TensorLike,
    _tensor,
    _zeros_like_float,
)
from symarray.graph.basic import Apply, Op


class _GradModifier(Op):
    """Identity in the forward pass; changes what flows backwards."""

    view_map = {0: [0]}

    def make_node(self, x: Any) -> Apply:
        x = _tensor().as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(
        self, node: Apply, inputs: Sequence[Any], output_storage: list[list[Any]]
    ) -> None:
        output_storage[0][0] = inputs[0]

    def infer_shape(
        self, fgraph: Any, node: Apply, input_shapes: list[tuple[Any, ...]]
    ) -> list[tuple[Any, ...]]:
        return [input_shapes[0]]

    def L_op(  # noqa: N802 - Theano's name
        self,
        inputs: list[TensorLike],
        outputs: list[TensorLike],
        output_grads: list[TensorLike],
    ) -> list[Any]:
        return [self._backward(inputs[0], output_grads[0])]

    def R_op(  # noqa: N802 - Theano's name
        self, inputs: list[TensorLike], eval_points: list[Any]
    ) -> list[Any]:
        return [self._tangent(inputs[0], eval_points[0])]

    def _backward(self, x: TensorLike, g: TensorLike) -> Any:
        """The gradient for ``x`` given the output's gradient ``g``."""
        raise NotImplementedError

    def _tangent(self, x: TensorLike, ev: Any) -> Any:
        """The output's tangent given ``x``'s tangent ``ev`` (identity)."""
        return ev


class ZeroGrad(_GradModifier):
    """Forward: identity.  Backward: zero."""

    def _backward(self, x: TensorLike, g: Any) -> Any:
        return _zeros_like_float(x)

    def _tangent(self, x: TensorLike, ev: Any) -> Any:
        return _zeros_like_float(x)


class DisconnectedGrad(_GradModifier):
    """Forward: identity.  Backward: disconnected (the input is a constant)."""

    def _backward(self, x: TensorLike, g: Any) -> Any:
        return None

    def _tangent(self, x: TensorLike, ev: Any) -> Any:
        return None


class GradClip(_GradModifier):
    """Forward: identity.  Backward: the gradient clipped to [lower, upper]."""

    __props__ = ("lower", "upper")

    def __init__(self, lower: float, upper: float) -> None:
        if not lower <= upper:
            raise ValueError(f"grad_clip: lower {lower} must not exceed upper {upper}")
        self.lower = float(lower)
        self.upper = float(upper)

    def _backward(self, x: TensorLike, g: TensorLike) -> Any:
        return _tensor().clip(g, self.lower, self.upper)


class GradScale(_GradModifier):
    """Forward: identity.  Backward: the gradient times a constant."""

    __props__ = ("multiplier",)

    def __init__(self, multiplier: float) -> None:
        self.multiplier = float(multiplier)

    def _backward(self, x: TensorLike, g: TensorLike) -> Any:
        return g * self.multiplier


_zero_grad = ZeroGrad()
_disconnected_grad = DisconnectedGrad()


def zero_grad(x: Any) -> TensorLike:
    """``x`` in the forward pass; its gradient is zero."""
    return _zero_grad(x)


def disconnected_grad(x: Any) -> TensorLike:
    """``x`` in the forward pass; no gradient flows through it."""
    return _disconnected_grad(x)


def consider_constant(x: Any) -> TensorLike:
    """Theano's name for :func:`disconnected_grad`."""
    return disconnected_grad(x)


def grad_clip(x: Any, lower_bound: float, upper_bound: float) -> TensorLike:
    """``x`` in the forward pass; its gradient is clipped to the bounds."""
    return GradClip(lower_bound, upper_bound)(x)


def grad_scale(x: Any, multiplier: float) -> TensorLike:
    """``x`` in the forward pass; its gradient is scaled by ``multiplier``."""
    return GradScale(multiplier)(x)
