"""Gradients (L_op) and tangents (R_op) of Elemwise and DimShuffle.

Elemwise reads one partial-derivative rule per scalar op from
:data:`symarray.scalar.grads.PARTIALS`: reverse mode multiplies the output
gradient by each partial and sums it over the dimensions the input was
broadcast along; forward mode sums partials times tangents.  Integer and
bool inputs get no gradient; ops that are piecewise constant (rounding,
comparisons) give zeros.
"""

from __future__ import annotations

from typing import Any

from symarray.graph.basic import Variable
from symarray.scalar.grads import NOT_DIFFERENTIABLE, PARTIALS

__all__ = ["elemwise_L_op", "elemwise_R_op", "dimshuffle_L_op", "reduce_to_input"]


def _T() -> Any:
    import symarray.tensor as T

    return T


def _is_float(var: Variable) -> bool:
    return var.type.dtype.startswith(("float", "complex"))  # type: ignore[attr-defined]


def reduce_to_input(g: Variable, inp: Variable) -> Variable:
    """Sum ``g`` over the dimensions along which ``inp`` was broadcast."""
    T = _T()
    axes = [
        d for d, (s_in, s_g) in enumerate(zip(inp.type.shape, g.type.shape))  # type: ignore[attr-defined]
        if s_in == 1 and s_g != 1
    ]
    if axes:
        g = T.sum(g, axis=axes, keepdims=True)
    if g.type.dtype != inp.type.dtype:  # type: ignore[attr-defined]
        g = T.cast(g, inp.type.dtype)  # type: ignore[attr-defined]
    return g


def _partials(op: Any, inputs: list[Variable], output: Variable) -> list[Any]:
    from symarray.tensor.elemwise import Cast

    T = _T()
    scalar_op = op.scalar_op
    if isinstance(scalar_op, Cast):
        return [T.ones_like(output)] if _is_float(output) else [None]
    name = scalar_op.name
    if name in NOT_DIFFERENTIABLE:
        return ["zero"] * len(inputs)
    rule = PARTIALS.get(name)
    if rule is None:
        return ["not_implemented"] * len(inputs)
    return rule(T, inputs, output)


def elemwise_L_op(op: Any, inputs: list[Variable], outputs: list[Variable],
                  output_grads: list[Variable]) -> list[Any]:
    """Input gradients of an Elemwise node (one output)."""
    from symarray.gradient import grad_not_implemented, grad_undefined

    T = _T()
    (out,), (gz,) = outputs, output_grads
    result: list[Any] = []
    for k, (inp, p) in enumerate(zip(inputs, _partials(op, inputs, out))):
        if not _is_float(inp):
            result.append(None)
        elif p is None or p == "zero":
            result.append(T.zeros_like(inp))
        elif p == "undefined":
            result.append(grad_undefined(op, k, inp))
        elif p == "not_implemented":
            result.append(grad_not_implemented(op, k, inp))
        elif not _is_float(out):
            result.append(T.zeros_like(inp))
        else:
            result.append(reduce_to_input(gz * p, inp))
    return result


def elemwise_R_op(op: Any, inputs: list[Variable], eval_points: list[Any]) -> list[Any]:
    """Output tangent of an Elemwise node: sum of partials times tangents."""
    T = _T()
    node = op.make_node(*inputs)
    out = node.outputs[0]
    if not _is_float(out):
        return [None]
    terms = []
    for inp, p, ep in zip(inputs, _partials(op, inputs, out), eval_points):
        if ep is None or not _is_float(inp) or p is None or p == "zero":
            continue
        if p in ("undefined", "not_implemented"):
            raise NotImplementedError(f"{op}: no derivative for R_op")
        terms.append(p * ep)
    if not terms:
        return [T.zeros_like(out)]
    total = terms[0] if len(terms) == 1 else T.add(*terms)
    if total.type.dtype != out.type.dtype:
        total = T.cast(total, out.type.dtype)
    return [total]


def dimshuffle_L_op(op: Any, inputs: list[Variable],
                    output_grads: list[Variable]) -> list[Any]:
    """Undo a DimShuffle on the output gradient."""
    T = _T()
    (x,), (gz,) = inputs, output_grads
    if not _is_float(x):
        return [None]
    added = [k for k, d in enumerate(op.new_order) if d == "x"]
    if added:
        gz = T.sum(gz, axis=added)  # length-1 axes: a reshape in disguise
    pattern = ["x" if d in op.dropped else op.kept.index(d) for d in range(op.input_ndim)]
    return [T.dimshuffle(gz, pattern)]
