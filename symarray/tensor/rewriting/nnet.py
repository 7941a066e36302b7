"""Rewrites of the softmax ops that save work (phase ``specialize``).

A classifier's graph often computes both ``softmax(x)`` and
``log_softmax(x)`` of the same logits: the loss needs the log-probabilities
(``log(softmax(x))`` becomes ``log_softmax(x)`` in stabilize) and the
gradient of the log-softmax, after ``local_softmax_grad_stable``, reads
``softmax(x)`` in ``g - softmax(x) * sum(g, axis)``.  Both ops take a
maximum, a sum of exponentials and a pass over the data.

``local_softmax_as_exp_log_softmax`` computes the softmax from the
log-softmax instead: ``exp(log_softmax(x))`` is one elementwise ``exp``,
which fusion then folds into the elementwise node that reads the softmax,
so the second normalization disappears.

It runs in ``specialize``, after every stabilize rewrite that matches a
``Softmax`` node (the log of a softmax, the crossentropy of a softmax,
softmax's gradient) has had its chance.
"""

from __future__ import annotations

from typing import Any

from symarray.graph.rewriting import node_rewriter, register_rewrite
from symarray.tensor.nnet.basic import LogSoftmax, Softmax
from symarray.tensor.rewriting._patterns import OPS, like

__all__ = ["local_softmax_as_exp_log_softmax"]

_TAGS = ("specialize", "fast_run")


def _log_softmax_of(fgraph: Any, x: Any, axis: int) -> Any:
    """The output of a ``LogSoftmax`` node of ``x`` along ``axis`` in
    ``fgraph`` (any spelling of the axis), or None."""
    for client, _ in fgraph.clients.get(x, ()):
        op = getattr(client, "op", None)  # "output" slots have no op
        if isinstance(op, LogSoftmax) and op.axis % x.ndim == axis:
            return client.outputs[0]
    return None


@register_rewrite(*_TAGS)
@node_rewriter([Softmax])
def local_softmax_as_exp_log_softmax(fgraph: Any, node: Any) -> list[Any] | None:
    """softmax(x, axis) -> exp(log_softmax(x, axis)) when the graph computes
    log_softmax(x, axis) too.

    ``exp(x - m - log(s)) = exp(x - m) / s`` with ``m = max(x)`` and
    ``s = sum(exp(x - m))``: the same value (within a few ulp), NaN and
    infinities included (a row of ``-inf`` or holding ``inf`` or NaN is NaN
    both ways), and the ``exp`` fuses into the softmax's elementwise readers.
    """
    x = node.inputs[0]
    logp = _log_softmax_of(fgraph, x, node.op.axis % x.ndim)
    if logp is None:
        return None
    return [like(OPS["exp"](logp), node.outputs[0])]
