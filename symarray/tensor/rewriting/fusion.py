"""Elementwise fusion: connected elementwise subgraphs become one node.

``local_elemwise_fusion`` (phase ``fusion``, tags ``fast_run``, ``fusion``,
``elemwise_fusion``; excludable by name as Theano users do with
``mode.excluding('local_elemwise_fusion')``) replaces each maximal group of
``Elemwise`` nodes by one ``Elemwise(Composite)`` node, whose scalar program
(:class:`~symarray.scalar.composite.Composite`) the fused kernel runs in one
pass over the data: ``exp(x) * y + 1`` then makes no temporaries.

A group grows upwards from a *root* node (visited from the outputs towards
the inputs) and takes in a producer when:

* it is an ``Elemwise`` whose scalar op has a C expression (or is itself a
  composite, which is inlined), and overwrites nothing;
* every reader of every output of it is already in the group, so no
  intermediate result is needed outside (a value read elsewhere stays a
  node of its own; its readers then form their own groups).  A group grown
  this way is convex: no path leaves it and comes back;
* the group would not read more than :data:`MAX_FUSION_INPUTS` distinct
  variables;
* it is in the same control-flow branch as the root: when the graph has a
  ``branch_of(node)`` feature (the ``ifelse`` issue provides it; the
  scheduler uses the same feature), nodes of different branches are never
  fused, so a lazy branch never computes the other's work.

The group's inputs are the variables it reads from outside: graph inputs,
other nodes' results and the ``DimShuffle`` nodes that broadcast an input
(those stay, as the boundaries of the fused node).  Scalar constants (one
element) are embedded in the program instead.  Every group member feeds
the root, so the root's value has the broadcast shape of all the group's
inputs, exactly what the one ``Elemwise`` node computes.

Gradients are taken before rewriting, so a fused node rarely needs one;
:func:`composite_L_op` and :func:`composite_R_op` give them by expanding the
program back into elementwise nodes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from symarray.graph.basic import Apply, Constant, Variable
from symarray.graph.fg import FunctionGraph, InconsistencyError
from symarray.graph.rewriting import GraphRewriter, register_rewrite
from symarray.scalar.composite import Composite, CompositeBuilder
from symarray.tensor.elemwise import Elemwise, cast
from symarray.tensor.type import TensorType

__all__ = ["ElemwiseFusion", "local_elemwise_fusion", "MAX_FUSION_INPUTS",
           "expand_composite", "composite_L_op", "composite_R_op"]

_log = logging.getLogger(__name__)

#: most distinct inputs one fused node may read (C kernels take a fixed
#: argument list; Theano's limit was of this order too)
MAX_FUSION_INPUTS = 32


def _fusable(node: Apply) -> bool:
    op = node.op
    if not isinstance(op, Elemwise) or op.inplace_pattern:
        return False
    sop = op.scalar_op
    if not isinstance(sop, Composite) and sop.row.c is None:
        return False
    return all(isinstance(o.type, TensorType) for o in node.outputs)


def _embeddable(var: Variable) -> bool:
    """A constant with one element: it goes into the program, not the inputs."""
    return isinstance(var, Constant) and getattr(var.data, "size", 2) == 1


class ElemwiseFusion(GraphRewriter):
    """Fuse maximal elementwise groups into ``Elemwise(Composite)`` nodes.

    Parameters
    ----------
    max_inputs
        Most distinct inputs of a fused node (default
        :data:`MAX_FUSION_INPUTS`).

    Examples
    --------
    >>> import symarray.tensor as T
    >>> from symarray.graph import FunctionGraph
    >>> x, y = T.dvectors("x", "y")
    >>> fg = FunctionGraph([x, y], [T.exp(x) * y + 1])
    >>> ElemwiseFusion().apply(fg)
    1
    >>> [str(n.op) for n in fg.toposort()]  # the 1 is broadcast by a DimShuffle
    ['DimShuffle{x}', 'Composite{add(mul(exp(i0), i1), i2)}']
    """

    name = "local_elemwise_fusion"

    def __init__(self, max_inputs: int | None = None) -> None:
        self.max_inputs = MAX_FUSION_INPUTS if max_inputs is None else max_inputs
        if self.max_inputs < 1:
            raise ValueError(f"ElemwiseFusion: max_inputs must be >= 1, got "
                             f"{self.max_inputs}")

    def apply(self, fgraph: Any) -> int:
        order = fgraph.toposort()
        position = {n: k for k, n in enumerate(order)}
        branch_of = getattr(fgraph, "branch_of", None)
        taken: set[Apply] = set()
        changes = 0
        for root in reversed(order):
            if root in taken or root not in fgraph.apply_nodes or not _fusable(root):
                continue
            members, inputs = self._grow(fgraph, root, taken, branch_of)
            taken |= members
            if len(members) < 2 or not inputs:
                continue
            if self._fuse(fgraph, root, members, position):
                changes += 1
        return changes

    def _grow(self, fgraph: FunctionGraph, root: Apply, taken: set[Apply],
              branch_of: Any) -> tuple[set[Apply], dict[Variable, None]]:
        """The group rooted at ``root`` and the variables it reads from outside."""
        clients = fgraph.clients
        members = {root}
        inputs: dict[Variable, None] = {}
        reads: dict[Apply, int] = {}  # producer -> reads of it by members
        candidates: list[Apply] = []
        branch = branch_of(root) if branch_of is not None else None

        def take_inputs_of(m: Apply) -> None:
            for v in m.inputs:
                if not _embeddable(v):
                    inputs.setdefault(v, None)
                p = v.owner
                if p is not None and p not in members:
                    reads[p] = reads.get(p, 0) + 1
                    candidates.append(p)

        take_inputs_of(root)
        while candidates:
            p = candidates.pop()
            if p in members or p in taken or not _fusable(p):
                continue
            if reads[p] != sum(len(clients[o]) for o in p.outputs):
                continue  # read outside the group (so far)
            if branch_of is not None and branch_of(p) != branch:
                continue
            fresh = {v: None for v in p.inputs
                     if not _embeddable(v) and v not in inputs}
            kept = sum(1 for o in p.outputs if o in inputs)
            if len(inputs) - kept + len(fresh) > self.max_inputs:
                continue
            members.add(p)
            for o in p.outputs:
                inputs.pop(o, None)
            take_inputs_of(p)
        return members, inputs

    def _fuse(self, fgraph: FunctionGraph, root: Apply, members: set[Apply],
              position: dict[Apply, int]) -> bool:
        ordered = sorted(members, key=position.__getitem__)
        produced = {o for m in ordered for o in m.outputs}
        in_vars: dict[Variable, None] = {}
        for m in ordered:
            for v in m.inputs:
                if v not in produced and not _embeddable(v):
                    in_vars.setdefault(v, None)
        inputs = list(in_vars)
        builder = CompositeBuilder([v.type.dtype for v in inputs])  # type: ignore[attr-defined]
        reg: dict[Variable, Any] = dict(zip(inputs, builder.inputs, strict=True))
        for m in ordered:
            args = []
            for v in m.inputs:
                r = reg.get(v)
                if r is None:  # an embedded constant
                    data: Any = v.data  # type: ignore[attr-defined]
                    r = reg[v] = builder.constant(data.reshape(()), str(data.dtype))
                args.append(r)
            sop = m.op.scalar_op  # type: ignore[attr-defined]
            if isinstance(sop, Composite):
                outs = builder.inline(sop, args)
            else:
                outs = [builder.apply(sop, args, m.outputs[0].type.dtype)]  # type: ignore[attr-defined]
            for o, r in zip(m.outputs, outs, strict=True):
                reg[o] = r
        comp = builder.build([reg[o] for o in root.outputs])
        new = Elemwise(comp).make_node(*inputs)
        for old, fresh in zip(root.outputs, new.outputs, strict=True):
            if not (old.type == fresh.type or old.type.is_super(fresh.type)):
                _log.debug("not fusing at %s: %s has type %s, the fused node gives "
                           "%s", root, old, old.type, fresh.type)
                return False
            fresh.name = old.name
            fresh.tag.site = old.tag.site
        try:
            fgraph.replace_all_validate(list(zip(root.outputs, new.outputs,
                                                 strict=True)),
                                        reason=self.name)
        except (InconsistencyError, TypeError) as err:
            _log.debug("not fusing at %s: %s", root, err)
            return False
        return True


local_elemwise_fusion = register_rewrite(
    ElemwiseFusion(), "fusion", "fast_run", "elemwise_fusion",
    "composite_elemwise_fusion", name="local_elemwise_fusion",
)


# -- gradients of fused nodes (rarely needed: fusion runs after grad) ------------


def expand_composite(op: Elemwise, inputs: Sequence[Variable]) -> list[Variable]:
    """The outputs of ``op`` (an ``Elemwise(Composite)``) as separate nodes."""
    comp = op.scalar_op
    if not isinstance(comp, Composite):
        raise TypeError(f"expand_composite: {op} does not hold a Composite")
    from symarray.tensor.basic import constant

    regs: list[Variable] = list(inputs)
    regs += [constant(v) for _, v in comp.constants]
    for step in comp.steps:
        out = Elemwise(step.op)(*[regs[a] for a in step.args])
        if out.dtype != step.dtype:
            out = cast(out, step.dtype)
        regs.append(out)
    return [regs[o] for o in comp.outputs]


def composite_L_op(  # noqa: N802 - Theano's name
    op: Elemwise, inputs: list[Variable], outputs: list[Variable],
    output_grads: list[Variable],
) -> list[Any]:
    """Input gradients of a fused node, through its expanded program."""
    from symarray.gradient import grad

    expanded = expand_composite(op, inputs)
    known = {e: g for e, g in zip(expanded, output_grads, strict=True)
             if g is not None and isinstance(g.type, TensorType)}
    if not known:
        from symarray.tensor.alloc import zeros_like

        return [zeros_like(i) for i in inputs]
    return list(grad(None, list(inputs), known_grads=known,
                     disconnected_inputs="ignore"))


def composite_R_op(  # noqa: N802 - Theano's name
    op: Elemwise, inputs: list[Variable], eval_points: list[Any],
) -> list[Any]:
    """Output tangents of a fused node, through its expanded program."""
    from symarray.gradient import Rop

    wrt = [i for i, e in zip(inputs, eval_points, strict=True) if e is not None]
    if not wrt:
        return [None] * op.scalar_op.nout  # type: ignore[attr-defined]
    points = [e for e in eval_points if e is not None]
    return list(Rop(expand_composite(op, inputs), wrt, points))
