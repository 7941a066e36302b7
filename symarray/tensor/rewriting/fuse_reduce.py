"""Reductions fused with the elementwise node that feeds them.

``local_reduce_elemwise_fusion`` (phase ``fusion``, after
``local_elemwise_fusion``; tags ``fast_run``, ``fusion``,
``reduce_fusion``)::

    reduce(Elemwise(f)(x, y, ...), axis) -> ReduceElemwise(reduce, f)(x, y, ...)

for ``reduce`` one of ``sum``, ``prod``, ``max``, ``min``, ``all``,
``any`` and ``f`` a scalar-table op or the ``Composite`` that elementwise
fusion built.  The fused node (:mod:`symarray.tensor.reduction_fused`) is
run by a C kernel that evaluates ``f`` over blocks and reduces each block
at once: ``T.sum(x ** 2, axis=1)`` reads ``x`` once and stores nothing of
its size.

It applies when:

* the elementwise result is read by this reduction only (a result needed
  elsewhere is computed anyway, so fusing would compute it twice);
* the elementwise node overwrites nothing (no ``inplace_pattern``) and has
  one output;
* the C prologue can run ``f`` (what the elementwise interpreter runs:
  :func:`symarray.kernels_c.reduce.prologue_program`) and the
  reduction has C loops for its accumulator dtype.  Anything else keeps
  the two nodes, whose separate kernels are at least as fast as the fused
  node's ``perform``.  Without the compiled kernels nothing is fused.

It runs after elementwise fusion so that it fuses the whole elementwise
group at once (``sum((x - y) ** 2)`` becomes one node, not a fused
``sqr`` reading a separate ``x - y``).
"""

from __future__ import annotations

from typing import Any

from symarray.graph.basic import Apply, Variable
from symarray.graph.rewriting import REWRITES, node_rewriter, register_rewrite
from symarray.tensor.elemwise import Elemwise
from symarray.tensor.reduction import All, AnyReduce, CAReduce, Max, Min, Prod, Sum
from symarray.tensor.reduction_fused import ReduceElemwise
from symarray.tensor.rewriting import fusion

__all__ = ["local_reduce_elemwise_fusion", "FUSABLE_REDUCTIONS"]

#: reductions the rewrite fuses
FUSABLE_REDUCTIONS = (Sum, Prod, Max, Min, All, AnyReduce)


def _kernel_runs(node: Apply, elem: Apply) -> bool:
    """Whether the C kernel can run the fused node (the prologue and the
    reduction's accumulator dtype)."""
    try:
        from symarray.kernels_c import reduce as kernels
    except ImportError:  # the compiled kernels are not built
        return False
    sop = elem.op.scalar_op  # type: ignore[attr-defined]
    dtypes = [v.type.dtype for v in elem.inputs]  # type: ignore[attr-defined]
    out_dtype = elem.outputs[0].type.dtype  # type: ignore[attr-defined]
    if kernels.prologue_program(sop, dtypes, out_dtype) is None:
        return False
    op: Any = node.op
    return kernels._reducible(op, out_dtype, node.outputs[0].type.dtype) is not None  # type: ignore[attr-defined]


@node_rewriter(list(FUSABLE_REDUCTIONS))
def local_reduce_elemwise_fusion(fgraph: Any, node: Apply) -> list[Variable] | None:
    """reduce(f(x, ...), axis) -> ReduceElemwise(reduce, f)(x, ...): the
    elementwise values are reduced block by block, never stored."""
    op = node.op
    if type(op) not in FUSABLE_REDUCTIONS:
        return None
    (x,) = node.inputs
    elem = x.owner
    if elem is None or not isinstance(elem.op, Elemwise):
        return None
    if elem.op.inplace_pattern or len(elem.outputs) != 1:
        return None
    if len(fgraph.clients.get(x, ())) != 1:
        return None  # the elementwise result is needed elsewhere too
    if not _kernel_runs(node, elem):
        return None
    assert isinstance(op, CAReduce)
    fused = ReduceElemwise(op, elem.op.scalar_op, x.type.dtype)(*elem.inputs)  # type: ignore[attr-defined]
    out = node.outputs[0]
    if fused.type != out.type:
        return None
    fused.name = out.name
    return [fused]


register_rewrite(
    local_reduce_elemwise_fusion, "fusion", "fast_run", "reduce_fusion",
    name="local_reduce_elemwise_fusion",
    position=REWRITES[fusion.local_elemwise_fusion.name].position + 0.5,
)
