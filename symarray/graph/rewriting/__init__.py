"""The rewrite engine: node rewriters, the tagged registry, phases, merge.

``basic`` defines node and graph rewriters and the one registry
(:data:`REWRITES`, :func:`register_rewrite`, :class:`RewriteQuery`);
``merge`` is common subexpression elimination; ``engine`` runs the selected
rewrites phase by phase to a fixed point and keeps statistics.  The tensor
rewrites live in :mod:`symarray.tensor.rewriting`; :mod:`symarray.compile.rewrite`
turns a Mode into a pipeline.
"""

from symarray.graph.rewriting.basic import (
    PHASES,
    REWRITES,
    GraphRewriter,
    NodeRewriter,
    RewriteEntry,
    RewriteQuery,
    RewriteRegistry,
    graph_rewriter,
    node_rewriter,
    register_rewrite,
)
from symarray.graph.rewriting.engine import (
    Phase,
    PhaseStats,
    RewritePipeline,
    RewriterStats,
    RewriteStats,
    pipeline_for_query,
    rewrite_graph,
    rewrite_to_fixed_point,
    verify_graph,
)
from symarray.graph.rewriting.merge import MergeFeature, MergeRewriter, merge_graph

#: the merge phase: one entry, in FAST_RUN and FAST_COMPILE
register_rewrite(MergeRewriter(), "merge", "fast_run", "fast_compile", name="merge")

__all__ = [
    "PHASES", "REWRITES", "GraphRewriter", "NodeRewriter", "RewriteEntry",
    "RewriteQuery", "RewriteRegistry", "graph_rewriter", "node_rewriter",
    "register_rewrite", "Phase", "PhaseStats", "RewritePipeline", "RewriterStats",
    "RewriteStats", "pipeline_for_query", "rewrite_graph", "rewrite_to_fixed_point",
    "verify_graph", "MergeFeature", "MergeRewriter", "merge_graph",
]
