"""Node rewriters, graph rewriters, and the one registry of tagged rewrites.

A *node rewriter* is a function ``(fgraph, node) -> replacements`` that
looks at one Apply node (and, through its inputs, the nodes above it) and
returns what should replace the node's outputs: a list with one entry per
output (``None`` keeps that output), a dict ``{old_variable: new_variable}``,
or ``None``/``False`` when it does not apply.  It declares which ops it
*tracks* (op classes, or op instances such as ``T.exp``), so the engine
only ever shows it nodes it can rewrite.  A *graph rewriter* is a whole-graph
pass (merge, fusion, in-place) with ``apply(fgraph) -> number of changes``.

Every rewrite lives in one registry, :data:`REWRITES`, filled by the
:func:`register_rewrite` decorator.  Each entry has a name, tags and the
phases it runs in.  Phases run in the fixed order :data:`PHASES`; the phase
of an entry is the phase name among its tags (``"canonicalize"``...), or
``phase=``.  A :class:`RewriteQuery` selects entries by tag: an entry runs
when it carries one of the ``include`` tags, all of the ``require`` tags and
none of the ``exclude`` tags; an entry's name and phases count as tags.

Key decisions:

* One registry, not one database per phase: a rewrite registered in
  ``"canonicalize"`` and ``"stabilize"`` is one entry that runs in both.
* A query naming a tag nobody registered is an error that lists the known
  tags, so a typo in ``mode.excluding(...)`` does not silently do nothing.
  The phase names and the usual Theano tags are always known.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from symarray.errors import UnknownRewriteError
from symarray.graph.basic import Apply, Op, Variable

__all__ = [
    "PHASES",
    "NodeRewriter",
    "GraphRewriter",
    "node_rewriter",
    "graph_rewriter",
    "RewriteEntry",
    "RewriteRegistry",
    "RewriteQuery",
    "REWRITES",
    "register_rewrite",
]

#: the phases, in the order they run
PHASES: tuple[str, ...] = (
    "merge", "canonicalize", "stabilize", "specialize", "fusion", "inplace",
)

#: tags that are always known to queries, even before a rewrite carries them
BASE_TAGS: frozenset[str] = frozenset(PHASES) | {
    "fast_run", "fast_compile", "unsafe", "gpu", "cxx_only",
}

#: what a node rewriter returns
Replacements = Sequence[Variable | None] | dict[Variable, Variable] | None | bool
RewriteFn = Callable[[Any, Apply], Replacements]


class NodeRewriter:
    """A rewrite of one node, shown only nodes whose op it tracks.

    Parameters
    ----------
    fn
        ``fn(fgraph, node)`` returns a list of replacements for
        ``node.outputs`` (``None`` entries keep an output), a dict
        ``{old: new}``, or ``None``/``False``.  It must not change the graph
        itself: the engine checks the replacements and applies them.
    tracks
        Op classes (any op of that class or a subclass) and op instances
        (ops equal to it); ``None`` tracks every node.
    name
        Defaults to ``fn.__name__``.
    """

    def __init__(self, fn: RewriteFn, tracks: Iterable[type[Op] | Op] | None,
                 name: str | None = None) -> None:
        self.fn = fn
        self.name: str = name or str(getattr(fn, "__name__", type(self).__name__))
        if tracks is None:
            self.tracks: tuple[type[Op] | Op, ...] | None = None
        else:
            self.tracks = tuple(tracks)
            for t in self.tracks:
                is_class = isinstance(t, type) and issubclass(t, Op)
                if not (isinstance(t, Op) or is_class):
                    raise TypeError(
                        f"node_rewriter {self.name}: tracks must hold Op classes or Op "
                        f"instances, got {t!r}; pass None to see every node"
                    )
            if not self.tracks:
                raise ValueError(
                    f"node_rewriter {self.name}: tracks is empty, so it would never "
                    "run; pass None to see every node"
                )
        functools.update_wrapper(self, fn)

    def transform(self, fgraph: Any, node: Apply) -> Replacements:
        """Return the replacements for ``node`` (or None)."""
        return self.fn(fgraph, node)

    def __call__(self, fgraph: Any, node: Apply) -> Replacements:
        return self.fn(fgraph, node)

    def __repr__(self) -> str:
        return f"NodeRewriter({self.name})"


class GraphRewriter:
    """A whole-graph pass (subclass and define ``apply``, or use the decorator)."""

    name: str = "graph_rewriter"

    def apply(self, fgraph: Any) -> int:
        """Rewrite ``fgraph`` in place; return how many changes were made."""
        raise NotImplementedError(f"{type(self).__name__} must define apply")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name})"


class _FunctionGraphRewriter(GraphRewriter):
    def __init__(self, fn: Callable[[Any], int | None], name: str | None) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]

    def apply(self, fgraph: Any) -> int:
        return int(self.fn(fgraph) or 0)


def node_rewriter(
    tracks: Iterable[type[Op] | Op] | None, name: str | None = None
) -> Callable[[RewriteFn], NodeRewriter]:
    """Decorator: make ``fn(fgraph, node)`` a :class:`NodeRewriter`.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> from symarray.graph.rewriting import node_rewriter
    >>> @node_rewriter([T.neg])
    ... def local_neg_neg(fgraph, node):  # -(-x) -> x
    ...     inner = node.inputs[0].owner
    ...     if inner is not None and inner.op == T.neg:
    ...         return [inner.inputs[0]]
    ...     return None
    >>> local_neg_neg.name
    'local_neg_neg'
    """

    def decorate(fn: RewriteFn) -> NodeRewriter:
        return NodeRewriter(fn, tracks, name)

    return decorate


def graph_rewriter(
    name: str | None = None,
) -> Callable[[Callable[[Any], int | None]], GraphRewriter]:
    """Decorator: make ``fn(fgraph) -> changes`` a :class:`GraphRewriter`."""

    def decorate(fn: Callable[[Any], int | None]) -> GraphRewriter:
        return _FunctionGraphRewriter(fn, name)

    return decorate


@dataclass(frozen=True)
class RewriteEntry:
    """One registered rewrite: its name, tags, phases and order in a phase."""

    name: str
    rewriter: NodeRewriter | GraphRewriter
    tags: frozenset[str]
    phases: tuple[str, ...]
    position: float

    @property
    def all_tags(self) -> frozenset[str]:
        """The tags a query matches: declared tags, the name and the phases."""
        return self.tags | {self.name} | set(self.phases)


@dataclass(frozen=True)
class RewriteQuery:
    """Which registered rewrites run.

    An entry is selected when it has one of ``include``, all of ``require``
    and none of ``exclude`` (names count as tags).  ``last_phase`` drops
    the phases after it (``"stabilize"``: merge, canonicalize, stabilize).
    """

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    require: tuple[str, ...] = ()
    last_phase: str | None = None

    def including(self, *tags: str) -> RewriteQuery:
        return RewriteQuery(self.include + tags, self.exclude, self.require,
                            self.last_phase)

    def excluding(self, *tags: str) -> RewriteQuery:
        return RewriteQuery(self.include, self.exclude + tags, self.require,
                            self.last_phase)

    def requiring(self, *tags: str) -> RewriteQuery:
        return RewriteQuery(self.include, self.exclude, self.require + tags,
                            self.last_phase)

    def phases(self) -> tuple[str, ...]:
        """The phases this query runs, in order."""
        if self.last_phase is None:
            return PHASES
        return PHASES[: PHASES.index(self.last_phase) + 1]


class RewriteRegistry:
    """Registered rewrites by name; :meth:`select` answers a query."""

    def __init__(self) -> None:
        self._entries: dict[str, RewriteEntry] = {}
        self._declared: set[str] = set(BASE_TAGS)
        self._counter = 0
        #: bumped on every change, so callers can cache query results
        self.version = 0

    # -- registration ----------------------------------------------------
    def register(self, rewriter: NodeRewriter | GraphRewriter, *tags: str,
                 name: str | None = None, position: float | None = None,
                 phase: str | Sequence[str] | None = None) -> RewriteEntry:
        """Add ``rewriter`` under ``name`` (default: its own name)."""
        if not isinstance(rewriter, (NodeRewriter, GraphRewriter)):
            what = getattr(rewriter, "__name__", repr(rewriter))
            raise TypeError(
                f"register_rewrite: {what} is not a NodeRewriter or GraphRewriter; "
                "decorate the function with @node_rewriter([...]) first (below "
                "@register_rewrite)"
            )
        name = name or rewriter.name
        if name in self._entries:
            raise ValueError(
                f"register_rewrite: a rewrite named {name!r} is already registered; "
                "pick another name (or unregister the old one)"
            )
        for tag in tags:
            if not isinstance(tag, str) or not tag:
                raise TypeError(f"register_rewrite({name}): tags must be strings, got "
                                f"{tag!r}")
        if phase is None:
            phases = tuple(p for p in PHASES if p in tags)
        else:
            phases = (phase,) if isinstance(phase, str) else tuple(phase)
        unknown = [p for p in phases if p not in PHASES]
        if unknown or not phases:
            raise ValueError(
                f"register_rewrite({name}): name a phase among the tags or pass "
                f"phase=; phases are {list(PHASES)}"
                + (f", got {unknown}" if unknown else "")
            )
        if position is None:
            self._counter += 1
            position = float(self._counter)
        entry = RewriteEntry(name, rewriter, frozenset(tags), phases, float(position))
        self._entries[name] = entry
        self.version += 1
        return entry

    def unregister(self, name: str) -> RewriteEntry:
        """Remove and return the entry called ``name``."""
        entry = self[name]
        del self._entries[name]
        self.version += 1
        return entry

    def declare_tags(self, *tags: str) -> None:
        """Make ``tags`` known to queries before any rewrite carries them."""
        self._declared.update(tags)
        self.version += 1

    # -- lookup ------------------------------------------------------------
    def __getitem__(self, name: str) -> RewriteEntry:
        entry = self._entries.get(name)
        if entry is None:
            raise UnknownRewriteError(
                f"no rewrite named {name!r}"
                + _did_you_mean(name, self._entries)
                + f"; known: {sorted(self._entries)}"
            )
        return entry

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[RewriteEntry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def known_tags(self) -> set[str]:
        """Every tag and name a query may use."""
        known = set(self._declared)
        for entry in self._entries.values():
            known |= entry.all_tags
        return known

    def check_query(self, query: RewriteQuery) -> None:
        """Raise UnknownRewriteError if ``query`` names an unknown tag or phase."""
        if query.last_phase is not None and query.last_phase not in PHASES:
            raise UnknownRewriteError(
                f"rewrite query: unknown last phase {query.last_phase!r}"
                + _did_you_mean(query.last_phase, PHASES)
                + f"; phases: {list(PHASES)}"
            )
        known = self.known_tags()
        for field_name in ("include", "exclude", "require"):
            for tag in getattr(query, field_name):
                if tag not in known:
                    raise UnknownRewriteError(
                        f"rewrite query: {field_name} names {tag!r}, which is no "
                        "rewrite name or tag" + _did_you_mean(tag, known)
                        + f"; known: {sorted(known)}"
                    )

    def select(self, query: RewriteQuery) -> dict[str, list[RewriteEntry]]:
        """Phase name -> the selected entries of that phase, by position."""
        self.check_query(query)
        include, exclude = set(query.include), set(query.exclude)
        require = set(query.require)
        phases = query.phases()
        chosen: dict[str, list[RewriteEntry]] = {p: [] for p in phases}
        for entry in self._entries.values():
            tags = entry.all_tags
            if not tags & include or tags & exclude or not require <= tags:
                continue
            for p in entry.phases:
                if p in chosen:
                    chosen[p].append(entry)
        for entries in chosen.values():
            entries.sort(key=lambda e: e.position)
        return chosen


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


#: the registry every ``register_rewrite`` adds to
REWRITES = RewriteRegistry()


def register_rewrite(*tags: Any, name: str | None = None,
                     position: float | None = None,
                     phase: str | Sequence[str] | None = None,
                     registry: RewriteRegistry | None = None) -> Any:
    """Register a node or graph rewriter under ``tags`` (a decorator).

    The phase is the phase name among ``tags`` (several phases: it runs in
    each), or ``phase=``.  ``position`` orders rewrites inside a phase
    (default: registration order).  ``register_rewrite(rw, *tags)`` also
    registers ``rw`` directly and returns it.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> from symarray.graph.rewriting import (
    ...     REWRITES, node_rewriter, register_rewrite)
    >>> @register_rewrite("canonicalize", "fast_run", name="doc_neg_neg")
    ... @node_rewriter([T.neg])
    ... def local_neg_neg(fgraph, node):  # -(-x) -> x
    ...     inner = node.inputs[0].owner
    ...     return [inner.inputs[0]] if inner and inner.op == T.neg else None
    >>> REWRITES["doc_neg_neg"].phases
    ('canonicalize',)
    >>> _ = REWRITES.unregister("doc_neg_neg")
    """
    reg = REWRITES if registry is None else registry
    if tags and isinstance(tags[0], (NodeRewriter, GraphRewriter)):
        rewriter, rest = tags[0], tags[1:]
        reg.register(rewriter, *rest, name=name, position=position, phase=phase)
        return rewriter

    def decorate(rewriter: Any) -> Any:
        reg.register(rewriter, *tags, name=name, position=position, phase=phase)
        return rewriter

    return decorate
