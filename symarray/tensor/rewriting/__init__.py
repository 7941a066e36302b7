"""The tensor rewrites, registered in :data:`symarray.graph.rewriting.REWRITES`.

Importing this package registers them all (``symarray.compile.rewrite``
does, the first time ``function()`` rewrites a graph).  One module per
family (docs/rewrites.md has the table of every rewrite):

``canonicalize``
    algebraic normal forms (``x * 1``, ``-(-x)``, constants gathered,
    ``log(exp(x))``; the ``unsafe`` ones behind their tag).
``canonicalize_layout``
    dimshuffle, reshape, reduction and subtensor normal forms.
``folding``
    constant folding (``local_constant_folding``).
``fusion``
    elementwise subgraphs -> one ``Elemwise(Composite)`` node.
``fuse_reduce``
    a reduction and the elementwise node feeding it -> one ``ReduceElemwise``.
``blas_stream``
    ``gemv(y0, a, X.T, f(X @ w), b)`` -> one ``StreamGemv`` pass over ``X``.
``inplace``
    ops -> their in-place versions, where the destroy handler allows.
``nnet``
    ``softmax(x)`` as ``exp(log_softmax(x))`` when both are computed.
``shape``
    the shape feature and the rewrites that read static or symbolic shapes.
``specialize``
    faster forms: ``x ** 2 -> sqr(x)``, BLAS (gemm, gemv, ger), sums of
    allocations.
``stabilize``
    numerically safer forms: ``log(1 + x) -> log1p(x)``, log-softmax,
    log-sum-exp.
``subtensor``
    indexing lifted through elementwise ops and merged.
``sum_to_shape``
    ``SumToShape(g, x)`` -> ``g`` or a static ``sum`` where the summed axes are known.

Inside a phase, rewrites run in registration order: the order of the
imports below, and of the definitions in each module.
"""

from symarray.tensor.rewriting import (  # noqa: F401  (importing registers them)
    blas_stream,
    canonicalize,
    canonicalize_layout,
    folding,
    fuse_reduce,
    fusion,
    inplace,
    nnet,
    shape,
    specialize,
    stabilize,
    subtensor,
    sum_to_shape,
)

__all__: list[str] = []
