"""Canonicalization of layout ops: dimshuffles, reshapes, reductions.

Consecutive dimshuffles (transposes included) become one, and a dimshuffle
that moves no element disappears; consecutive reshapes become one, and a
reshape to the shape its input already has disappears; a reduction of a
reduction of the same kind becomes one reduction over both sets of axes.

Every rewrite here is exact.  One remark on errors: ``reshape(reshape(x,
s1), s2)`` becomes ``reshape(x, s2)``, so a size mismatch that only ``s1``
would have revealed is no longer reported (Theano and PyTensor do the
same); ``s2`` is still checked.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from symarray.graph.basic import Apply, Constant, Variable
from symarray.graph.rewriting import node_rewriter, register_rewrite
from symarray.tensor.elemwise import DimShuffle, dimshuffle
from symarray.tensor.reduction import All, AnyReduce, CAReduce, Max, Min, Prod, Sum
from symarray.tensor.rewriting.canonicalize import fit_type
from symarray.tensor.rewriting.shape import get_shape_feature, same_value
from symarray.tensor.shape_ops import MakeVector, Reshape, Shape, Shape_i, static_int

__all__ = [
    "local_dimshuffle_dimshuffle", "local_useless_dimshuffle",
    "local_reshape_reshape", "local_useless_reshape", "local_reduce_reduce",
]


def _replace(node: Apply, new: Variable | None) -> list[Variable] | None:
    if new is None:
        return None
    out = node.outputs[0]
    if new.type != out.type and not out.type.is_super(new.type):
        return None
    return [new]


# -- dimshuffle -------------------------------------------------------------------


@register_rewrite("canonicalize", "fast_run", "fast_compile")
@node_rewriter([DimShuffle])
def local_dimshuffle_dimshuffle(fgraph: Any, node: Apply) -> list[Variable] | None:
    """dimshuffle(dimshuffle(x, p1), p2) -> dimshuffle(x, p1 o p2) (or x).

    ``x.T.T -> x``.
    """
    inner = node.inputs[0].owner
    if inner is None or not isinstance(inner.op, DimShuffle):
        return None
    first = inner.op.new_order
    order = tuple("x" if e == "x" else first[e]
                  for e in node.op.new_order)  # type: ignore[attr-defined]
    new = dimshuffle(inner.inputs[0], order)
    return _replace(node, fit_type(new, node.outputs[0]))


@register_rewrite("canonicalize", "fast_run", "fast_compile")
@node_rewriter([DimShuffle])
def local_useless_dimshuffle(fgraph: Any, node: Apply) -> list[Variable] | None:
    """dimshuffle(x, p) -> x when p moves no element.

    That is when every position keeps its dimension, or has length 1 both
    before and after (``dimshuffle(row, ('x', 1))``).
    """
    op: Any = node.op
    x, out = node.inputs[0], node.outputs[0]
    if op.input_ndim != len(op.new_order):
        return None
    before, after = x.type.shape, out.type.shape  # type: ignore[attr-defined]
    for k, e in enumerate(op.new_order):
        if e != k and not (before[k] == 1 and after[k] == 1):
            return None
    return _replace(node, fit_type(x, out))


# -- reshape ------------------------------------------------------------------------


@register_rewrite("canonicalize", "fast_run", "fast_compile")
@node_rewriter([Reshape])
def local_reshape_reshape(fgraph: Any, node: Apply) -> list[Variable] | None:
    """reshape(reshape(x, s1), s2) -> reshape(x, s2)."""
    inner = node.inputs[0].owner
    if inner is None or not isinstance(inner.op, Reshape):
        return None
    new = Reshape(node.op.ndim)(inner.inputs[0], node.inputs[1])  # type: ignore[attr-defined]
    return _replace(node, fit_type(new, node.outputs[0]))


def _requested_lengths(fgraph: Any, shp: Variable, n: int) -> list[Any] | None:
    """The entries of a reshape's shape vector, when they can be read off it."""
    if isinstance(shp, Constant):
        return [int(e) for e in np.asarray(shp.data).reshape(-1)]
    owner = shp.owner
    if owner is None:
        return None
    feature = get_shape_feature(fgraph)
    if isinstance(owner.op, Shape):
        return list(feature.shape_of(owner.inputs[0]))
    if not isinstance(owner.op, MakeVector) or len(owner.inputs) != n:
        return None
    out: list[Any] = []
    for item in owner.inputs:
        known = static_int(item)
        if known is not None:
            out.append(known)
        elif item.owner is not None and isinstance(item.owner.op, Shape_i):
            source = item.owner.inputs[0]
            out.append(feature.shape_of(source)[item.owner.op.i])
        else:
            out.append(item)
    return out


@register_rewrite("canonicalize", "fast_run")
@node_rewriter([Reshape])
def local_useless_reshape(fgraph: Any, node: Apply) -> list[Variable] | None:
    """reshape(x, s) -> x when s is x's shape (one entry may be -1)."""
    x, shp = node.inputs
    out = node.outputs[0]
    ndim = out.type.ndim  # type: ignore[attr-defined]
    if x.type.ndim != ndim:  # type: ignore[attr-defined]
        return None
    requested = _requested_lengths(fgraph, shp, ndim)
    if requested is None or len(requested) != ndim:
        return None
    have = get_shape_feature(fgraph).shape_of(x)
    wild = 0
    for want, length in zip(requested, have, strict=True):
        if isinstance(want, int) and want == -1:
            wild += 1
        elif not same_value(want, length):
            return None
    if wild > 1:
        return None
    return _replace(node, fit_type(x, out))


# -- reductions ---------------------------------------------------------------------

#: reductions that may be merged with a reduction of their own kind
_MERGEABLE = (Sum, Prod, Max, Min, All, AnyReduce)


@register_rewrite("canonicalize", "fast_run")
@node_rewriter(list(_MERGEABLE))
def local_reduce_reduce(fgraph: Any, node: Apply) -> list[Variable] | None:
    """sum(sum(x, a), b) -> sum(x, a and b) (also prod, max, min, all, any).

    The inner reduction must be read only here and have the same dtype and
    accumulator as the outer one.
    """
    outer = cast(CAReduce, node.op)
    inner_var = node.inputs[0]
    inner = inner_var.owner
    if inner is None or type(inner.op) is not type(outer):
        return None
    if len(fgraph.clients.get(inner_var, ())) != 1:
        return None
    inner_op = cast(CAReduce, inner.op)
    props = [p for p in outer.__props__ if p != "axis"]
    if any(getattr(outer, p) != getattr(inner_op, p) for p in props):
        return None
    x: Any = inner.inputs[0]
    first = tuple(inner_op.axis or ())
    remaining = [d for d in range(x.type.ndim) if d not in first]
    second = tuple(remaining[b] for b in outer.axis or ())
    kwargs = {p: getattr(outer, p) for p in props}
    merged = type(outer)(axis=tuple(sorted(first + second)), **kwargs)
    return _replace(node, fit_type(merged(x), node.outputs[0]))
