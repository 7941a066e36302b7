"""The tensor rewrites, registered in :data:`symarray.graph.rewriting.REWRITES`.

Importing this package registers them all (``symarray.compile.rewrite``
does, the first time ``function()`` rewrites a graph).  One module per
family: ``folding`` (constant folding), and the algebraic, stability,
specialization, subtensor, fusion and in-place families as they arrive.
"""

from symarray.tensor.rewriting import folding  # noqa: F401

__all__: list[str] = []
