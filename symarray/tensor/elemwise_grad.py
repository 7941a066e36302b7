"""Gradients (L_op) and tangents (R_op) of Elemwise and DimShuffle.

Elemwise reads one partial-derivative rule per scalar op from
:data:`symarray.scalar.grads.PARTIALS`: reverse mode multiplies the output
gradient by each partial and sums it over the dimensions the input was
broadcast along; forward mode sums partials times tangents.  Integer and
bool inputs get no gradient; ops that are piecewise constant (rounding,
comparisons) give zeros.  Complex inputs follow the convention described in
:mod:`symarray.scalar.grads`.

Broadcasting is decided by static shapes where they are known (a length-1
dimension is summed away with ``sum``).  Elemwise also stretches a length-1
dimension at run time where the type does not say 1, so a gradient that
may have to be summed along such a dimension goes through
:class:`SumToShape`, which checks the real lengths when it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.errors import ShapeMismatchError
from symarray.graph.basic import Apply, Op, Variable
from symarray.scalar.grads import (
    COMPLEX_RULES,
    HOLOMORPHIC,
    NOT_DIFFERENTIABLE,
    PARTIALS,
    NoDerivative,
)

__all__ = ["elemwise_L_op", "elemwise_R_op", "dimshuffle_L_op", "dimshuffle_R_op",
           "reduce_to_input", "SumToShape"]


def _tensor() -> Any:
    import symarray.tensor as tt

    return tt


def _is_float(var: Any) -> bool:
    """Float or complex: the dtypes that carry gradients."""
    return str(var.type.dtype).startswith(("float", "complex"))


def _is_complex(var: Any) -> bool:
    return str(getattr(getattr(var, "type", None), "dtype", "")).startswith("complex")


def _discrete_grad(inp: Variable) -> Any:
    """Gradient of an integer or bool input: zeros (floatX), None for a constant.

    As in Theano, a computed integer input stays connected to the cost with
    a zero gradient, so ``grad(cast(x > 0, 'float64').sum(), x)`` is zeros
    rather than a disconnected-input error.
    """
    from symarray import config
    from symarray.graph.basic import Constant

    if isinstance(inp, Constant):
        return None
    return _tensor().zeros_like(inp, dtype=config.floatX)


def _is_number(p: Any) -> bool:
    return isinstance(p, (int, float, complex)) and not isinstance(p, bool)


# -- summing over broadcast dimensions ----------------------------------------


class SumToShape(Op):
    """``g`` summed over the ``axes`` along which ``x`` has length 1 at run time.

    Inputs ``(g, x)``; only ``x``'s shape is read.  Where ``x``'s length in one
    of ``axes`` is 1 and ``g``'s is not, ``g`` is summed over that axis (with
    keepdims); elsewhere the lengths must agree.  Returns ``g`` itself when
    nothing is summed (a view).  Gradients insert it for inputs an Elemwise
    may have broadcast at run time.
    """

    __props__ = ("axes",)
    view_map = {0: [0]}

    def __init__(self, axes: Sequence[int]) -> None:
        self.axes = tuple(sorted(int(a) for a in axes))

    def __str__(self) -> str:
        return f"SumToShape{{{','.join(map(str, self.axes))}}}"

    def make_node(self, g: Any, x: Any) -> Apply:
        T = _tensor()  # noqa: N806 - Theano's name
        g, x = T.as_tensor_variable(g), T.as_tensor_variable(x)
        if g.ndim != x.ndim or any(not 0 <= a < g.ndim for a in self.axes):
            raise ValueError(
                f"{self}: g ({g.type}) and x ({x.type}) must have the same number "
                "of dimensions, and the axes must be dimensions of them"
            )
        shape = tuple(
            gs if d not in self.axes
            else x.type.shape[d] if x.type.shape[d] is not None
            else (1 if gs == 1 else None)
            for d, gs in enumerate(g.type.shape)
        )
        return Apply(self, [g, x], [T.TensorType(g.dtype, shape=shape)()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        g, x = np.asarray(inputs[0]), np.asarray(inputs[1])
        summed = []
        for d in self.axes:
            if x.shape[d] == g.shape[d]:
                continue
            if x.shape[d] != 1:
                raise ShapeMismatchError(
                    f"{self}: the gradient has shape {g.shape} but the input it is "
                    f"for has shape {x.shape}; lengths in dimension {d} differ and "
                    "the input's is not 1"
                )
            summed.append(d)
        if summed:
            out = np.asarray(g.sum(axis=tuple(summed), keepdims=True), dtype=g.dtype)
        else:
            out = g
        output_storage[0][0] = out

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        gshape, xshape = input_shapes
        return [tuple(xshape[d] if d in self.axes else gshape[d]
                      for d in range(len(gshape)))]

    def L_op(self, inputs: list[Variable], outputs: list[Variable],  # noqa: N802
             output_grads: list[Variable]) -> list[Any]:
        # the adjoint of summing over broadcast axes is broadcasting back
        g, _ = inputs
        return [_tensor().fill(g, output_grads[0]), None]

    def R_op(  # noqa: N802
        self, inputs: list[Variable], eval_points: list[Any]
    ) -> list[Any]:
        if eval_points[0] is None:
            return [None]
        return [self(eval_points[0], inputs[1])]


def reduce_to_input(g: Variable, inp: Variable,
                    runtime_dims: Sequence[int] | None = None) -> Variable:
    """Gradient ``g`` (broadcast shape) summed back to ``inp``'s shape and dtype.

    Sums over the dimensions where ``inp`` has static length 1, and (through
    :class:`SumToShape`) over those of ``runtime_dims`` (default: all) where
    its static length is unknown, in case it was stretched at run time.  A
    complex ``g`` for a real ``inp`` keeps its real part.  ``g`` and ``inp``
    must have the same number of dimensions.
    """
    T = _tensor()  # noqa: N806 - Theano's name
    axes = [
        d for d, (s_in, s_g) in enumerate(
            zip(inp.type.shape, g.type.shape, strict=True))  # type: ignore[attr-defined]
        if s_in == 1 and s_g != 1
    ]
    if axes:
        g = T.sum(g, axis=axes, keepdims=True)
    if _is_complex(g) and not _is_complex(inp):
        g = T.real(g)
    dims = range(inp.type.ndim) if runtime_dims is None else runtime_dims  # type: ignore[attr-defined]
    dynamic = [
        d for d in dims
        if inp.type.shape[d] is None and g.type.shape[d] != 1  # type: ignore[attr-defined]
    ]
    if dynamic:
        g = SumToShape(dynamic)(g, inp)
    if g.type.dtype != inp.type.dtype:  # type: ignore[attr-defined]
        g = T.cast(g, inp.type.dtype)  # type: ignore[attr-defined]
    return g


def _runtime_dims(inputs: list[Variable], k: int) -> list[int]:
    """Dimensions along which input ``k`` may be stretched at run time.

    Those where its static length is unknown and some other input's is not
    known to be 1 (when all others have length 1 there, ``k`` sets the
    length itself).
    """
    shape = inputs[k].type.shape  # type: ignore[attr-defined]
    return [
        d for d in range(len(shape))
        if shape[d] is None and any(
            j != k and inp.type.shape[d] != 1  # type: ignore[attr-defined]
            for j, inp in enumerate(inputs)
        )
    ]


# -- Elemwise -------------------------------------------------------------------


def _partials(op: Any, inputs: list[Variable], output: Variable) -> list[Any]:
    from symarray.tensor.elemwise import Cast

    T = _tensor()  # noqa: N806 - Theano's name
    scalar_op = op.scalar_op
    if isinstance(scalar_op, Cast):
        return [1] if _is_float(output) else [None]
    name = scalar_op.name
    if name in NOT_DIFFERENTIABLE:
        return [None] * len(inputs)
    rule = PARTIALS.get(name)
    if rule is None:
        return [NoDerivative("not_implemented", f"no derivative rule for {name}")
                ] * len(inputs)
    return rule(T, inputs, output)


def _complex_trouble(op: Any, inputs: list[Variable], output: Variable) -> bool:
    """True when a complex value meets a row whose rule is for reals only."""
    from symarray.tensor.elemwise import Cast

    name = op.scalar_op.name
    if isinstance(op.scalar_op, Cast) or name in NOT_DIFFERENTIABLE:
        return False
    complex_in = any(_is_complex(i) for i in inputs) or _is_complex(output)
    return complex_in and name not in HOLOMORPHIC


def _null(op: Any, k: int, inp: Variable, p: NoDerivative) -> Variable:
    from symarray.gradient import grad_not_implemented, grad_undefined

    make = grad_undefined if p.kind == "undefined" else grad_not_implemented
    return make(op, k, inp, p.why)


def elemwise_L_op(  # noqa: N802 - Theano's name
    op: Any, inputs: list[Variable], outputs: list[Variable],
    output_grads: list[Variable],
) -> list[Any]:
    """Input gradients of an Elemwise node (one output)."""
    T = _tensor()  # noqa: N806 - Theano's name
    (out,), (gz,) = outputs, output_grads
    name = op.scalar_op.name
    if name in COMPLEX_RULES and _is_complex(inputs[0]):
        (z,) = inputs
        return [reduce_to_input(COMPLEX_RULES[name].lop(T, z, out, gz), z, [])]
    if _complex_trouble(op, inputs, out):
        partials: list[Any] = [NoDerivative(
            "not_implemented", f"{name} has no rule for complex numbers")
        ] * len(inputs)
    else:
        partials = _partials(op, inputs, out)
    result: list[Any] = []
    for k, (inp, p) in enumerate(zip(inputs, partials, strict=True)):
        if not _is_float(inp):
            result.append(_discrete_grad(inp))
        elif isinstance(p, NoDerivative):
            result.append(_null(op, k, inp, p))
        elif p is None or not _is_float(out):
            result.append(T.zeros_like(inp))
        else:
            if _is_number(p):
                g = gz if p == 1 else gz * p
            else:
                g = gz * (T.conj(p) if _is_complex(p) else p)
            result.append(reduce_to_input(g, inp, _runtime_dims(inputs, k)))
    return result


def elemwise_R_op(  # noqa: N802 - Theano's name
    op: Any, inputs: list[Variable], eval_points: list[Any],
) -> list[Any]:
    """Output tangent of an Elemwise node: sum of partials times tangents."""
    from symarray.gradient import NullTypeGradError

    T = _tensor()  # noqa: N806 - Theano's name
    out = op.make_node(*inputs).outputs[0]
    if not _is_float(out):
        return [None]
    name = op.scalar_op.name
    if name in COMPLEX_RULES and _is_complex(inputs[0]):
        if eval_points[0] is None:
            return [None]
        tangent = COMPLEX_RULES[name].rop(T, inputs[0], out, eval_points[0])
        return [T.cast(tangent, out.type.dtype)]
    if _complex_trouble(op, inputs, out):
        partials: list[Any] = [NoDerivative(
            "not_implemented", f"{name} has no rule for complex numbers")
        ] * len(inputs)
    else:
        partials = _partials(op, inputs, out)
    terms = []
    covered = 0
    for k, (inp, p, ep) in enumerate(zip(inputs, partials, eval_points, strict=True)):
        if ep is None or not _is_float(inp) or p is None:
            continue
        if isinstance(p, NoDerivative):
            raise NullTypeGradError(
                f"Rop: the derivative of {op} with respect to its input {k} ({inp}) "
                f"is {p.kind.replace('_', ' ')}. {p.why}".strip()
            )
        terms.append(ep if _is_number(p) and p == 1 else p * ep)
        covered += 1
    if not terms:
        return [T.zeros_like(out)]
    total = terms[0] if len(terms) == 1 else T.add(*terms)
    if _is_complex(total) and not _is_complex(out):
        total = T.real(total)
    if total.type.dtype != out.type.dtype:
        total = T.cast(total, out.type.dtype)
    if covered < len(inputs) and not (
        None not in out.type.shape and total.type.shape == out.type.shape
    ):
        # inputs without a tangent may be what gives the output its shape
        total = T.fill(out, total)
    return [total]


# -- DimShuffle -----------------------------------------------------------------


def dimshuffle_L_op(  # noqa: N802 - Theano's name
    op: Any, inputs: list[Any], output_grads: list[Any],
) -> list[Any]:
    """Undo a DimShuffle on the output gradient."""
    T = _tensor()  # noqa: N806 - Theano's name
    (x,), (gz,) = inputs, output_grads
    if not _is_float(x):
        return [_discrete_grad(x)]
    added = [k for k, d in enumerate(op.new_order) if d == "x"]
    if added:
        if all(gz.type.shape[k] == 1 for k in added):
            keep = [k for k in range(len(op.new_order)) if k not in added]
            gz = T.dimshuffle(gz, keep)
        else:  # lengths are 1 at run time: summing is a reshape
            gz = T.sum(gz, axis=added)
    pattern = ["x" if d in op.dropped else op.kept.index(d)
               for d in range(op.input_ndim)]
    gx = T.dimshuffle(gz, pattern)
    if gx.type.dtype != x.type.dtype:
        gx = T.cast(gx, x.type.dtype)
    return [gx]


def dimshuffle_R_op(  # noqa: N802 - Theano's name
    op: Any, inputs: list[Variable], eval_points: list[Any],
) -> list[Any]:
    """The DimShuffle applied to the tangent."""
    T = _tensor()  # noqa: N806 - Theano's name
    (ep,) = eval_points
    if ep is None:
        return [None]
    ep = T.as_tensor_variable(ep)
    if any(ep.type.shape[d] != 1 for d in op.dropped):
        # the tangent has x's shape: its dropped dimensions have length 1
        ep = T.specify_shape(ep, [1 if d in op.dropped else None
                                  for d in range(op.input_ndim)])
    return [op(ep)]
