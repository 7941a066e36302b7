"""The in-place rewrite of random ops: draw from the state itself.

``local_random_inplace``  # rv(rng, ...) -> rv{inplace}(rng, ...)

A random op (:class:`~symarray.tensor.random.op.RandomVariable`,
:class:`~symarray.tensor.random.mrg_op.MRGUniform`) copies its input state
before drawing, so that it is a pure function.  When the graph's
:class:`~symarray.graph.destroyhandler.DestroyHandler` allows overwriting
the state (in practice: a shared generator whose update is these draws'
new state, and no other node reads the old one after them), the in-place
variant draws from it directly and returns it as the new state.  Phase
``inplace`` (tags ``fast_run``, ``inplace``), like the other in-place
rewrites, so ``FAST_COMPILE`` and ``Mode().excluding("inplace")`` keep the
copying op; a function with ``no_default_updates=True`` does not update
the state, so the handler refuses and the state is left untouched.
"""

from __future__ import annotations

from typing import Any

from symarray.graph.basic import Apply, Constant
from symarray.graph.destroyhandler import get_destroy_handler
from symarray.graph.rewriting import node_rewriter, register_rewrite
from symarray.tensor.random.mrg_op import MRGUniform
from symarray.tensor.random.op import RandomVariable
from symarray.tensor.rewriting.inplace import inplace_variant

__all__ = ["local_random_inplace"]


@register_rewrite("inplace", "fast_run")
@node_rewriter([RandomVariable, MRGUniform], name="local_random_inplace")
def local_random_inplace(fgraph: Any, node: Apply) -> list[Any] | None:
    """rv(rng, ...) -> rv{inplace}(rng, ...) when the state may be overwritten."""
    if getattr(node.op, "inplace", True) or isinstance(node.inputs[0], Constant):
        return None
    if get_destroy_handler(fgraph).why_not_destroy(node, 0) is not None:
        return None
    new = Apply(inplace_variant(node.op), list(node.inputs),
                [o.type.make_variable() for o in node.outputs])
    for fresh, old in zip(new.outputs, node.outputs, strict=True):
        fresh.name = old.name
        fresh.tag.site = old.tag.site
    return list(new.outputs)
