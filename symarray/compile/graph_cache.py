"""The in-process cache of rewritten graphs.

Libraries compile many small functions, often the same graph again and
again.  Rewriting is the costly step of compiling, so ``function()``
remembers, per process, what each graph became: compiling a graph whose
structure was already rewritten with the same rewrite query rebuilds the
cached result on the new graph's inputs instead of rewriting.

The key is a *structural hash* of the FunctionGraph, built in one
topological pass: each node is its op (ops compare by ``__props__``) and
references to its inputs (an input position, an earlier node output, or a
constant's ``signature()``, i.e. its type and data), with its output types;
then the inputs (class, type, whether the destroy handler may overwrite
it, whether the Supervisor protects it), the outputs, the update mapping
and the attached features.  Variable identities and names do not count.
The key also holds everything else rewriting depends on: the rewrite
query, the registry version (registering a rewrite empties nothing but
changes every key), the engine's settings and the config flags declared
``affects_graph`` in :mod:`symarray.config` (:func:`key_flags`; a flag
acting only through the Mode or at link time, such as ``linker``,
``kernel_threads`` or ``c_codegen``, is left out, since a hit's thunks are
made from the current flags).

An entry stores the rewritten graph as a program over the graph inputs
(per node: the op, where its inputs come from, templates of its outputs).
On a hit the program is replayed on the graph's own inputs (fresh nodes;
shared variables are this function's, constants the cached, equal ones)
and the graph's output slots are pointed at the result;
the old nodes leave the graph and the new ones arrive through the usual
feature callbacks, so the destroy handler and the Supervisor see them as
after a fresh rewrite, and the graph is validated.  Creation sites (the
user lines that run-time errors show) follow the new graph: a rewritten
variable that kept the site of an original variable gets the site of the
matching variable of the new graph.  ``fgraph.rewrite_stats`` is a copy of
the stats of the rewrite that filled the entry; ``fgraph.graph_cache_hit``
says whether the graph came from the cache.

A rewrite that emitted warnings is not cached (a hit could not repeat
them); graphs whose ops or constants cannot be hashed are never cached.
The cache is an LRU bounded by :data:`MAX_ENTRIES` graphs and
:data:`MAX_NODES` nodes in all.  ``config.graph_cache = False`` turns it
off; :func:`stats` and :func:`clear` inspect and empty it.
"""

from __future__ import annotations

import copy
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from symarray import config
from symarray.graph.basic import Apply, Constant, Variable, _copy_tag
from symarray.graph.fg import FunctionGraph, Supervisor
from symarray.graph.rewriting import (
    REWRITES,
    PhaseStats,
    RewriteQuery,
    RewriterStats,
    RewriteStats,
    engine,
)
from symarray.graph.traversal import io_toposort

__all__ = ["GraphCacheStats", "stats", "clear", "rewrite_cached", "structural_key",
           "key_flags", "MAX_ENTRIES", "MAX_NODES"]

#: at most this many rewritten graphs are kept
MAX_ENTRIES = 256
#: ... with at most this many nodes in all (the least recently used go first)
MAX_NODES = 500_000


def key_flags() -> tuple[str, ...]:
    """The config flags the key holds: those declared ``affects_graph`` (or
    not classified).  The others act through the Mode, whose query is in the
    key, or after rewriting: the cache holds rewritten graphs only, and the
    thunks of a hit are made from the current flags like those of a miss.

    Examples
    --------
    >>> "floatX" in key_flags(), "kernel_threads" in key_flags()
    (True, False)
    """
    return tuple(f.name for f in config.flags() if f.affects_graph is not False)



@dataclass
class GraphCacheStats:
    """Counters of the graph cache since the process started (or ``clear``).

    ``hits``: compiles served from the cache; ``misses``: compiles that
    rewrote and stored their result; ``uncacheable``: compiles whose graph
    had no key (an unhashable op or constant) or whose rewrite warned;
    ``evictions``: entries dropped for room; ``entries``/``nodes``: what is
    held now; ``key_time``/``hit_time``: seconds spent hashing graphs and
    cloning cached ones; ``saved_time``: rewrite seconds the hits avoided.
    """

    hits: int = 0
    misses: int = 0
    uncacheable: int = 0
    evictions: int = 0
    entries: int = 0
    nodes: int = 0
    key_time: float = 0.0
    hit_time: float = 0.0
    saved_time: float = 0.0


@dataclass
class _Entry:
    """A rewritten graph as a program over the graph inputs.

    ``steps`` holds, per node in topological order, the node of the
    rewritten graph it copies (its op, output types, names and tags) and its
    inputs: an ``int`` is a position in the value list (the graph inputs,
    then each step's outputs), anything else a constant.  ``outputs`` are
    such references too.  ``site_refs`` pairs a value position with the key
    position of the original variable whose creation site it carries.
    """

    steps: list[tuple[Apply, tuple[Any, ...]]]
    outputs: tuple[Any, ...]
    site_refs: list[tuple[int, int]]
    stats: RewriteStats


class _Key:
    """A structural key with its hash computed once (keys are long tuples)."""

    __slots__ = ("items", "hash")

    def __init__(self, items: tuple[Any, ...]) -> None:
        self.items = items
        self.hash = hash(items)

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, _Key) and self.hash == other.hash
                and self.items == other.items)


_lock = threading.Lock()
_entries: OrderedDict[Hashable, _Entry] = OrderedDict()
_stats = GraphCacheStats()


def stats() -> GraphCacheStats:
    """A snapshot of the cache's counters.

    Examples
    --------
    >>> import symarray as theano, symarray.tensor as T
    >>> from symarray.compile import graph_cache
    >>> graph_cache.clear()
    >>> x = T.dvector("x")
    >>> f = theano.function([x], T.exp(x) * 2)
    >>> g = theano.function([x], T.exp(x) * 2)
    >>> s = graph_cache.stats()
    >>> (s.misses, s.hits)
    (1, 1)
    """
    with _lock:
        return copy.copy(_stats)


def clear() -> None:
    """Drop every cached graph and reset the counters."""
    global _stats
    with _lock:
        _entries.clear()
        _stats = GraphCacheStats()


# -- the structural key ----------------------------------------------------------


def _environment(query: RewriteQuery) -> tuple[Any, ...]:
    """What rewriting depends on besides the graph."""
    flags = []
    for name in key_flags():
        value = getattr(config, name)
        flags.append((name, value if isinstance(value, Hashable) else repr(value)))
    return (
        query, REWRITES.version, engine.VERIFY_REWRITES, engine.MAX_USE_RATIO,
        engine.MIN_USE_CAP, engine.ON_ERROR, tuple(flags),
    )


def structural_key(
    fgraph: FunctionGraph, query: RewriteQuery
) -> tuple[Hashable, list[Variable]] | None:
    """The cache key of ``fgraph`` under ``query``, and its variables in key order.

    Two graphs get equal keys exactly when they have equal structure: the
    same ops applied in the same pattern to inputs of the same types at the
    same positions and to equal constants, with the same outputs.  The list
    holds the graph's inputs, then every node output, in the order the key
    numbers them.  Returns None when an op or a constant cannot be hashed.
    """
    inputs = fgraph.inputs
    ref: dict[Variable, int] = {v: k for k, v in enumerate(inputs)}
    get = ref.get
    order: list[Variable] = list(inputs)
    mutable: set[Variable] = set()
    protected: set[Variable] = set()
    features: list[str] = []
    for feature in fgraph.features:
        features.append(type(feature).__name__)
        if isinstance(feature, Supervisor):
            protected.update(feature.protected)
        else:
            mutable.update(getattr(feature, "mutable", ()))
    nodes: list[tuple[Any, ...]] = []
    try:
        for node in io_toposort(inputs, fgraph.outputs):
            args = tuple([k if (k := get(v)) is not None else _constant_key(v)
                          for v in node.inputs])
            outs = node.outputs
            for out in outs:
                ref[out] = len(order)
                order.append(out)
            if len(outs) == 1:
                nodes.append((node.op, args, outs[0].type))
            else:
                nodes.append((node.op, args, tuple(o.type for o in outs)))
        key = _Key((
            _environment(query),
            tuple((type(v), v.type, v in mutable, v in protected) for v in inputs),
            tuple(nodes),
            tuple(k if (k := get(o)) is not None else _constant_key(o)
                  for o in fgraph.outputs),
            tuple(sorted(fgraph.update_mapping.items())),
            tuple(features),
        ))
    except TypeError:  # an unhashable op, type or constant
        return None
    return key, order


def _constant_key(v: Variable) -> Any:
    if isinstance(v, Constant):
        return ("constant", v.signature())
    raise TypeError(f"{v} is neither an input, a node output nor a constant")


def _constant(v: Variable) -> Constant:
    if isinstance(v, Constant):
        return v
    raise TypeError(f"{v} is neither an input, a node output nor a constant")


# -- rewriting through the cache ------------------------------------------------


def rewrite_cached(
    fgraph: FunctionGraph,
    query: RewriteQuery,
    rewrite: Callable[[FunctionGraph], RewriteStats],
) -> RewriteStats:
    """Rewrite ``fgraph`` in place with ``rewrite``, or from the cache.

    ``rewrite(fgraph)`` must be the pipeline of ``query``.  With
    ``config.graph_cache`` off this is ``rewrite(fgraph)``.
    """
    fgraph.graph_cache_hit = False  # type: ignore[attr-defined]
    if not config.graph_cache:
        return rewrite(fgraph)
    t0 = time.perf_counter()
    found = structural_key(fgraph, query)
    t1 = time.perf_counter()
    with _lock:
        _stats.key_time += t1 - t0
    if found is None:
        with _lock:
            _stats.uncacheable += 1
        return rewrite(fgraph)
    key, order = found
    with _lock:
        entry = _entries.get(key)
        if entry is not None:
            _entries.move_to_end(key)
    if entry is not None and _install(fgraph, entry, order):
        with _lock:
            _stats.hits += 1
            _stats.hit_time += time.perf_counter() - t1
            _stats.saved_time += entry.stats.time
        return fgraph.rewrite_stats  # type: ignore[attr-defined]
    sites = {id(v.tag.site): k for k, v in enumerate(order)
             if v.owner is not None and getattr(v.tag, "site", None) is not None}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = rewrite(fgraph)
    finally:
        for w in caught:  # shown as if no one had listened
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno,
                                   source=w.source)
    if caught:
        with _lock:
            _stats.uncacheable += 1
        return result
    _store(key, fgraph, result, sites)
    return result


def _store(key: Hashable, fgraph: FunctionGraph, result: RewriteStats,
           sites: dict[int, int]) -> None:
    """Record the rewritten ``fgraph`` as a program over its inputs under ``key``.

    The steps refer to the rewritten graph's nodes for their ops, output
    types, names and tags only (a hit copies those), so later changes to
    that graph's wiring do not reach the entry.
    """
    inputs = fgraph.inputs
    pos: dict[Variable, int] = {v: k for k, v in enumerate(inputs)}
    get = pos.get
    steps: list[tuple[Apply, tuple[Any, ...]]] = []
    site_refs: list[tuple[int, int]] = []
    n = len(inputs)
    try:
        for node in io_toposort(inputs, fgraph.outputs):
            steps.append((node, tuple([k if (k := get(v)) is not None else _constant(v)
                                       for v in node.inputs])))
            for out in node.outputs:
                site = getattr(out.tag, "site", None)
                if site is not None and (k := sites.get(id(site))) is not None:
                    site_refs.append((n, k))
                pos[out] = n
                n += 1
        outputs = tuple(k if (k := get(o)) is not None else _constant(o)
                        for o in fgraph.outputs)
    except TypeError:  # cannot happen after a rewrite; never cache then
        return
    entry = _Entry(steps, outputs, site_refs, _copy_stats(result))
    n_nodes = len(steps)
    with _lock:
        old = _entries.pop(key, None)
        if old is not None:
            _stats.nodes -= len(old.steps)
        _entries[key] = entry
        _stats.misses += 1
        _stats.nodes += n_nodes
        while _entries and (len(_entries) > MAX_ENTRIES or _stats.nodes > MAX_NODES):
            _, dropped = _entries.popitem(last=False)
            _stats.nodes -= len(dropped.steps)
            _stats.evictions += 1
        _stats.entries = len(_entries)


def _copy_stats(stats: RewriteStats) -> RewriteStats:
    """An independent copy (a deepcopy costs 10x more)."""
    return RewriteStats(
        {k: PhaseStats(**vars(v)) for k, v in stats.phases.items()},
        {k: RewriterStats(**vars(v)) for k, v in stats.rewriters.items()},
    )


def _install(fgraph: FunctionGraph, entry: _Entry, order: list[Variable]) -> bool:
    """Make ``fgraph`` compute ``entry``'s rewritten graph; False if refused.

    The entry's program is replayed on ``fgraph``'s inputs (fresh nodes and
    variables: copies of the cached ones), the output slots are pointed at
    the result, then the features validate it; a refusal restores the
    graph (and the caller rewrites it from scratch).
    """
    env: list[Any] = list(fgraph.inputs)
    extend = env.extend
    for node, args in entry.steps:
        outs = [o.clone() for o in node.outputs]
        new = Apply(node.op, [env[a] if type(a) is int else a for a in args], outs)
        new.tag = _copy_tag(node.tag)
        extend(outs)
    for p, k in entry.site_refs:
        env[p].tag.site = order[k].tag.site
    new_outputs = [env[r] if type(r) is int else r for r in entry.outputs]
    old = list(fgraph.outputs)
    done: list[int] = []
    try:
        for i, out in enumerate(new_outputs):
            fgraph.change_node_input("output", i, out, "graph_cache", check=False)
            done.append(i)
        fgraph.validate()
    except Exception:
        for i in reversed(done):
            fgraph.change_node_input("output", i, old[i], "rollback", check=False)
        return False
    fgraph.rewrite_stats = _copy_stats(entry.stats)  # type: ignore[attr-defined]
    fgraph.graph_cache_hit = True  # type: ignore[attr-defined]
    return True
