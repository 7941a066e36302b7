"""The rewrite stage of ``function()``: a Mode's optimizer name -> a pipeline.

Each optimizer name is a base :class:`~symarray.graph.rewriting.RewriteQuery`
(Theano's meanings):

============== ==========================================================
``merge``      merge equal nodes and constants only
``fast_compile`` merge + the cheap rewrites tagged ``fast_compile``
``fast_run``   everything tagged ``fast_run``, all phases
``canonicalize`` / ``stabilize`` / ``specialize``
               ``fast_run`` rewrites up to and including that phase
``None``       no rewriting (no pipeline is registered)
============== ==========================================================

``mode.including(...)``, ``.excluding(...)``, ``.requiring(...)`` (and the
``optimizer_including``/``_excluding``/``_requiring`` flags, already folded
into the Mode) extend the base query.  Pipelines are cached per query and
rebuilt when the registry changes.  Importing this module registers the
pipelines in :data:`symarray.compile.mode.REWRITE_PIPELINES` and imports
the tensor rewrites.
"""

from __future__ import annotations

import symarray.control.scan.rewriting  # noqa: F401  (the scan rewrites)
import symarray.tensor.random.rewriting  # noqa: F401  (random ops in place)
import symarray.tensor.rewriting  # noqa: F401  (registers the tensor rewrites)
from symarray.compile import graph_cache
from symarray.compile.mode import REWRITE_PIPELINES, Mode
from symarray.graph.fg import FunctionGraph
from symarray.graph.rewriting import (
    REWRITES,
    RewritePipeline,
    RewriteQuery,
    RewriteStats,
    pipeline_for_query,
)

__all__ = ["BASE_QUERIES", "query_for_mode", "pipeline_for_mode", "rewrite_for_mode"]

#: optimizer name -> the query it starts from
BASE_QUERIES: dict[str, RewriteQuery] = {
    "merge": RewriteQuery(include=("merge",)),
    "fast_compile": RewriteQuery(include=("fast_compile",)),
    "fast_run": RewriteQuery(include=("fast_run",)),
    "canonicalize": RewriteQuery(include=("fast_run",), last_phase="canonicalize"),
    "stabilize": RewriteQuery(include=("fast_run",), last_phase="stabilize"),
    "specialize": RewriteQuery(include=("fast_run",), last_phase="specialize"),
}

_cache: dict[RewriteQuery, tuple[int, RewritePipeline]] = {}


def query_for_mode(mode: Mode) -> RewriteQuery:
    """The query ``mode`` runs (its optimizer's base query plus its tags)."""
    name = str(mode.optimizer)
    base = BASE_QUERIES.get(name)
    if base is None:
        raise KeyError(
            f"no rewrite query for optimizer {name!r}; known: {sorted(BASE_QUERIES)}"
        )
    return (
        base.including(*mode.included)
        .excluding(*mode.excluded)
        .requiring(*mode.required)
    )


def pipeline_for_mode(mode: Mode) -> RewritePipeline:
    """The (cached) pipeline of ``mode``'s query."""
    return _pipeline(query_for_mode(mode))


def _pipeline(query: RewriteQuery) -> RewritePipeline:
    hit = _cache.get(query)
    if hit is not None and hit[0] == REWRITES.version:
        return hit[1]
    pipeline = pipeline_for_query(query)
    _cache[query] = (REWRITES.version, pipeline)
    return pipeline


def rewrite_for_mode(fgraph: FunctionGraph, mode: Mode) -> RewriteStats:
    """Rewrite ``fgraph`` in place as ``mode`` says; stats go to the graph too.

    A graph already rewritten with the same query in this process is taken
    from :mod:`symarray.compile.graph_cache` (``config.graph_cache``).
    """
    query = query_for_mode(mode)
    return graph_cache.rewrite_cached(fgraph, query, _pipeline(query).run)


def _register() -> None:
    for name in BASE_QUERIES:
        REWRITE_PIPELINES[name] = rewrite_for_mode


_register()

