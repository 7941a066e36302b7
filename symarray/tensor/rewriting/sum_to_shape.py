"""``SumToShape(g, x)`` without ``x`` where the summed axes are known.

Gradients insert :class:`~symarray.tensor.elemwise_grad.SumToShape` for an
input an Elemwise may have stretched at run time.  It reads only ``x``'s
shape, yet keeps ``x`` alive until it runs (a whole forward intermediate,
to the end of the backward pass) and runs as a Python thunk.  Axis by axis:

* **nothing to sum** when no summation can happen at run time: ``g``'s
  static length is 1, ``x``'s static length is not 1 (the lengths must then
  agree), both static lengths are equal, or the shape feature proves the
  two lengths equal;
* **sum** when ``x``'s static length is 1 and ``g``'s is not 1 (summing a
  length-1 axis is harmless, so this holds whatever ``g``'s length is);
* **unknown** otherwise (``x`` may or may not have been stretched).

With no unknown axis the node becomes ``g`` (``local_sum_to_shape_noop``)
or ``sum(g, axis=<summed>, keepdims=True)`` on the C reduction kernel
(``local_sum_to_shape_to_sum``); neither reads ``x``.  With an unknown axis
the node stays, but where the shape feature gives ``x``'s lengths without
reading ``x`` (``x = dot(a, W)``: ``Shape_i(W, 1)``), ``x`` is replaced by a
zero-strided stand-in of that shape (``broadcast_to(int8 0, lengths)``, as
the scan hoisting rewrite does inside loops), so ``x`` is freed once the
forward pass is done with it (``local_sum_to_shape_shape_only``).  That
one is not in ``fast_run`` yet (``Mode().including(
"local_sum_to_shape_shape_only")`` runs it): in benchmarks/memory.py it
cuts the GC peak from 7.0 to 4.7 MiB, but the pre-activation ``dot(x, W)``
then has one reader and becomes ``Gemm(broadcast b, x, W)``, whose BLAS
thunk allocates a temporary and runs slower than ``Dot`` + a fused add.
``SumToShape`` keeps ``g``'s number of dimensions, so no leading dimension
is ever dropped.  A replacement whose static type would
know less than the node's output (``g`` of length ``None`` where ``x`` says
4) is not made: the node's run-time length check stays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symarray.graph.basic import Apply, Constant, Variable
from symarray.graph.rewriting import node_rewriter, register_rewrite
from symarray.tensor.elemwise_grad import SumToShape
from symarray.tensor.rewriting.shape import (
    get_shape_feature,
    length_variable,
    same_value,
)
from symarray.tensor.shape_ops import Shape, Shape_i

__all__ = ["local_sum_to_shape_noop", "local_sum_to_shape_to_sum",
           "local_sum_to_shape_shape_only", "classify_sum_axes"]


def classify_sum_axes(fgraph: Any, node: Apply) -> tuple[list[int], bool]:
    """The axes of a ``SumToShape`` node that are summed for sure, and
    whether every axis is known (summed for sure, or never summed)."""
    g, x = node.inputs
    gs, xs = g.type.shape, x.type.shape  # type: ignore[attr-defined]
    summed: list[int] = []
    shapes: tuple[Any, Any] | None = None
    for d in node.op.axes:  # type: ignore[attr-defined]
        if gs[d] == 1 or (xs[d] is not None and xs[d] != 1) or (
                gs[d] is not None and gs[d] == xs[d]):
            continue  # no summation can happen here
        if xs[d] == 1:
            summed.append(d)
            continue
        if fgraph is None or not hasattr(fgraph, "attach_feature"):
            return summed, False
        if shapes is None:
            feature = get_shape_feature(fgraph)
            shapes = (feature.shape_of(g), feature.shape_of(x))
        if not same_value(shapes[0][d], shapes[1][d]):
            return summed, False
    return summed, True


def _fits(old: Variable, new: Variable) -> bool:
    return bool(new.type == old.type or old.type.is_super(new.type))


@register_rewrite("canonicalize", "fast_run", "shape")
@node_rewriter([SumToShape])
def local_sum_to_shape_noop(fgraph: Any, node: Apply) -> list[Variable] | None:
    """SumToShape(g, x) -> g where no axis can be summed at run time.

    Known from the static lengths (``g``'s is 1, ``x``'s is static and not 1,
    or both are equal) or from the shape feature (the lengths are equal).
    """
    summed, known = classify_sum_axes(fgraph, node)
    g, out = node.inputs[0], node.outputs[0]
    if not known or summed or not _fits(out, g):
        return None
    return [g]


@register_rewrite("canonicalize", "fast_run", "shape")
@node_rewriter([SumToShape])
def local_sum_to_shape_to_sum(fgraph: Any, node: Apply) -> list[Variable] | None:
    """SumToShape(g, x) -> sum(g, axis=a, keepdims=True) where the axes ``a``
    along which ``x`` has static length 1 are the only ones summed.

    The other axes must be known never to be summed (as for
    ``local_sum_to_shape_noop``); the sum no longer reads ``x``.
    """
    from symarray.tensor.reduction import sum as tsum

    summed, known = classify_sum_axes(fgraph, node)
    if not known or not summed:
        return None
    g, out = node.inputs[0], node.outputs[0]
    new = tsum(g, axis=tuple(summed), keepdims=True, dtype=g.type.dtype)  # type: ignore[attr-defined]
    return [new] if _fits(out, new) else None


def shape_stand_in(node: Apply, entries: Any) -> Variable | None:
    """``SumToShape(g, broadcast_to(int8 0, lengths))`` for the SumToShape
    ``node``, where ``entries`` are the ShapeFeature lengths of its second
    input (only the summed axes' lengths are read); None when the new
    output's type would not fit the old one.

    The stand-in has the shape ``SumToShape`` reads and no memory (zero
    strides), so the forward value it replaces need not stay alive.
    """
    from symarray.tensor.alloc import BroadcastTo
    from symarray.tensor.basic import constant

    axes = node.op.axes  # type: ignore[attr-defined]
    lengths = [length_variable(e if d in axes else 1) for d, e in enumerate(entries)]
    stand_in = BroadcastTo()(constant(np.int8(0)), *lengths)
    new = SumToShape(axes)(node.inputs[0], stand_in)
    return new if _fits(node.outputs[0], new) else None


def _is_stand_in(x: Variable) -> bool:
    """Is ``x`` already ``broadcast_to(constant, lengths)`` (a shape only)?"""
    from symarray.tensor.alloc import BroadcastTo

    return (x.owner is not None and isinstance(x.owner.op, BroadcastTo)
            and isinstance(x.owner.inputs[0], Constant))


def _shape_only(entry: Any) -> bool:
    """Does the length ``entry`` read nothing but the shapes of graph inputs
    (and constants, and small integer arithmetic on them)?"""
    if isinstance(entry, int):
        return True
    stack, seen = [entry], set()
    while stack:
        v = stack.pop()
        if v in seen or isinstance(v, Constant):
            continue
        seen.add(v)
        node = v.owner
        if node is None:
            if v.type.ndim != 0:
                return False
            continue
        if isinstance(node.op, (Shape, Shape_i)):
            if node.inputs[0].owner is not None:
                return False  # the shape of an intermediate keeps it alive
            continue
        if any(getattr(o.type, "ndim", None) not in (0, 1) for o in node.outputs):
            return False
        stack.extend(node.inputs)
    return True


@register_rewrite("canonicalize")  # not fast_run: see the module docstring
@node_rewriter([SumToShape])
def local_sum_to_shape_shape_only(fgraph: Any,
                                  node: Apply) -> list[Variable] | None:
    """SumToShape(g, x) -> SumToShape(g, broadcast_to(0, lengths of x)) where
    those lengths read only the shapes of the graph's inputs.

    ``x`` (a forward intermediate) is no longer kept alive for its shape.
    """
    x = node.inputs[1]
    if x.owner is None or _is_stand_in(x) or not hasattr(fgraph, "attach_feature"):
        return None
    axes = node.op.axes  # type: ignore[attr-defined]
    entries = get_shape_feature(fgraph).shape_of(x)
    if not all(_shape_only(e) for d, e in enumerate(entries) if d in axes):
        return None
    new = shape_stand_in(node, entries)
    return None if new is None else [new]
