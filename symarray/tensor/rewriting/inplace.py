"""The in-place phase: ops switch to versions that overwrite an input.

Last in the pipeline (phase ``inplace``, tags ``fast_run`` and ``inplace``;
not in FAST_COMPILE).  An op may overwrite an input only when the graph's
:class:`~symarray.graph.destroyhandler.DestroyHandler` allows it: the input
is a temporary (not a graph input unless ``In(x, mutable=True)`` or a
shared variable with an update, never a constant), no graph output shares
its memory, and every other reader can run first (the handler orders them).
The rewrites ask the handler first (:meth:`~symarray.graph.destroyhandler.
DestroyHandler.why_not_destroy`) and only then replace, so a refused
candidate costs no rollback.

=========================================  ====================================
rewrite                                    turns on
=========================================  ====================================
``local_inplace_setsubtensor``             ``IncSubtensor`` (set and inc)
``local_inplace_incsubtensor1``            ``AdvancedIncSubtensor1``
``local_inplace_advanced_incsubtensor``    ``AdvancedIncSubtensor``
``local_inplace_gemm`` / ``_gemv`` /       ``Gemm``, ``Gemv``, ``Ger``
``_ger``
``local_inplace_elemwise``                 ``Elemwise``: each output reuses
                                           an input of its type (an updated
                                           shared value first)
=========================================  ====================================

The op-specific rewrites run first (one equilibrium step), then the
elementwise pass, so an ``inc_subtensor`` or ``gemm`` gets first claim on a
temporary that an elementwise node also reads.  The ops here follow one
protocol: an ``inplace`` prop whose true value sets ``destroy_map``; a new
op following it needs one line in :data:`INPLACE_OPS`.
"""

from __future__ import annotations

import logging
from typing import Any

from symarray.graph.basic import Apply, Constant, Op
from symarray.graph.destroyhandler import DestroyHandler, get_destroy_handler
from symarray.graph.fg import InconsistencyError
from symarray.graph.rewriting import GraphRewriter, node_rewriter, register_rewrite
from symarray.tensor.blas_ops import Gemm, Gemv, Ger
from symarray.tensor.elemwise import Elemwise
from symarray.tensor.subtensor_inc import (
    AdvancedIncSubtensor,
    AdvancedIncSubtensor1,
    IncSubtensor,
)

__all__ = ["INPLACE_OPS", "InplaceElemwise", "local_inplace_elemwise",
           "inplace_variant"]

_log = logging.getLogger(__name__)

#: rewrite name -> the op class it turns in place (``inplace`` prop protocol)
INPLACE_OPS: dict[str, type[Op]] = {
    "local_inplace_setsubtensor": IncSubtensor,
    "local_inplace_incsubtensor1": AdvancedIncSubtensor1,
    "local_inplace_advanced_incsubtensor": AdvancedIncSubtensor,
    "local_inplace_gemm": Gemm,
    "local_inplace_gemv": Gemv,
    "local_inplace_ger": Ger,
}


def inplace_variant(op: Op) -> Op:
    """``op`` with its ``inplace`` prop set (the same op when already set)."""
    if getattr(op, "inplace", False):
        return op
    props = {p: getattr(op, p) for p in op.__props__}
    props["inplace"] = True
    return type(op)(**props)


def _allowed(handler: DestroyHandler, node: Apply, op: Op) -> bool:
    """Whether a node like ``node`` but with ``op`` may overwrite its inputs."""
    allowed = getattr(op, "destroy_allowed_aliases", ()) or ()
    for o, idx in op.destroy_map.items():
        for i in idx:
            inp = node.inputs[i]
            if isinstance(inp, Constant) or inp.type != node.outputs[o].type:
                return False
            why = handler.why_not_destroy(node, i, allowed)
            if why is not None:
                _log.debug("%s may not overwrite input %d: %s", node, i, why)
                return False
    return True


def _same_node_with(node: Apply, op: Op) -> Apply:
    """A node computing what ``node`` does, with ``op`` (an in-place variant)."""
    new = Apply(op, list(node.inputs), [o.type.make_variable() for o in node.outputs])
    for fresh, old in zip(new.outputs, node.outputs, strict=True):
        fresh.name = old.name
        fresh.tag.site = old.tag.site
    return new


def _make_op_rewriter(name: str, op_class: type[Op]) -> Any:
    def rewrite(fgraph: Any, node: Apply) -> list[Any] | None:
        # op(x, ...) -> op_inplace(x, ...)  when x is a temporary read last here
        if getattr(node.op, "inplace", True):
            return None
        op = inplace_variant(node.op)
        if not _allowed(get_destroy_handler(fgraph), node, op):
            return None
        return list(_same_node_with(node, op).outputs)

    rewrite.__name__ = rewrite.__qualname__ = name
    rewrite.__doc__ = (f"{op_class.__name__}(x, ...) -> its in-place version, "
                       "when the destroy handler allows.")
    return register_rewrite("inplace", "fast_run")(
        node_rewriter([op_class], name=name)(rewrite)
    )


for _name, _cls in INPLACE_OPS.items():
    _make_op_rewriter(_name, _cls)


class InplaceElemwise(GraphRewriter):
    """Elemwise -> its in-place version, each output written over an input.

    ``x + y -> add_inplace(x, y)`` (output 0 written into ``x``) when ``x``
    has the output's type (dtype and static shape, so it is not
    broadcast), is not a constant, and the destroy handler allows it (a
    temporary or a mutable input, no output shares it, every other reader
    can run first).  A multi-output ``Composite`` gets one input per output
    where it can, each input overwritten by at most one output.  An output
    that is the update of a shared variable overwrites that variable's old
    value when it may (the call then keeps the variable's array: nothing to
    allocate or free); otherwise inputs are tried in order.  Visits nodes
    in execution order; each change is validated by the destroy handler.
    """

    name = "local_inplace_elemwise"

    def apply(self, fgraph: Any) -> int:
        handler = get_destroy_handler(fgraph)
        changes = 0
        for node in fgraph.toposort():
            op = node.op
            if (not isinstance(op, Elemwise) or op.inplace_pattern
                    or node not in fgraph.apply_nodes):
                continue
            pattern = self._pattern(fgraph, handler, node)
            if not pattern:
                continue
            new = _same_node_with(node, Elemwise(op.scalar_op, pattern, name=op.name))
            try:
                fgraph.replace_all_validate(
                    list(zip(node.outputs, new.outputs, strict=True)),
                    reason=self.name,
                )
            except InconsistencyError as err:
                _log.debug("%s on %s rolled back: %s", self.name, node, err)
                continue
            changes += 1
        return changes

    @staticmethod
    def _pattern(fgraph: Any, handler: DestroyHandler, node: Apply) -> dict[int, int]:
        """Output -> the input it may overwrite (distinct inputs)."""
        inputs, outputs = node.inputs, node.outputs
        passthrough = _passthrough_inputs(node)
        verdict: dict[int, bool] = {}

        def may_take(o: int, i: int) -> bool:
            inp = inputs[i]
            if (isinstance(inp, Constant) or inp.type != outputs[o].type
                    or not passthrough.get(i, {o}) <= {o}):
                return False
            if i not in verdict:
                why = handler.why_not_destroy(node, i)
                if why is not None:
                    _log.debug("%s may not overwrite input %d: %s", node, i, why)
                verdict[i] = why is None
            return verdict[i]

        pattern: dict[int, int] = {}
        for o, i in _updated_inputs(fgraph, node).items():
            if i not in pattern.values() and may_take(o, i):
                pattern[o] = i
        for o in range(len(outputs)):
            if o in pattern:
                continue
            for i in range(len(inputs)):
                if i not in pattern.values() and may_take(o, i):
                    pattern[o] = i
                    break
        return pattern


def _updated_inputs(fgraph: Any, node: Apply) -> dict[int, int]:
    """Output of ``node`` -> its input holding the shared value it updates."""
    mapping = getattr(fgraph, "update_mapping", None)
    if not mapping:
        return {}
    found: dict[int, int] = {}
    for o, out in enumerate(node.outputs):
        for c, j in fgraph.clients.get(out, ()):
            k = mapping.get(j) if c == "output" else None
            if k is None:
                continue
            for i, inp in enumerate(node.inputs):
                if inp is fgraph.inputs[k]:
                    found.setdefault(o, i)
    return found


def _passthrough_inputs(node: Apply) -> dict[int, set[int]]:
    """Input -> the outputs that return it unchanged (a Composite may).

    The C kernel copies each block's outputs in order, so an input that an
    output returns as it is may only be overwritten by that output.
    """
    outs = getattr(getattr(node.op, "scalar_op", None), "outputs", None)
    found: dict[int, set[int]] = {}
    for o, r in enumerate(outs or ()):
        if r < len(node.inputs):
            found.setdefault(r, set()).add(o)
    return found


local_inplace_elemwise = register_rewrite(
    InplaceElemwise(), "inplace", "fast_run", "inplace_elemwise",
    "inplace_elemwise_optimizer", name="local_inplace_elemwise",
)
