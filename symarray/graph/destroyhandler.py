"""The destroy handler: which nodes may overwrite an input, and when they run.

An op that overwrites an input declares it in ``destroy_map`` (output ->
input indices); an op whose output shares memory with an input declares
``view_map``.  The :class:`DestroyHandler` feature tracks both on a
FunctionGraph and keeps the graph correct:

* **What may be overwritten.**  Following views upwards, a destroyed
  variable belongs to one or more *roots* (variables that are no view).  A
  root must not be a constant (its data is shared between calls), nor a
  graph input unless the handler was told it is mutable
  (``In(x, mutable=True)``, or a shared variable with an update), and no
  variable sharing its memory (the root and every view of it: its *alias
  class*) may be a graph output.  At most one node may overwrite a root.
* **Who reads it.**  Every other node reading the alias class must run
  before the destroyer: :meth:`DestroyHandler.orderings` gives those
  constraints to ``FunctionGraph.toposort``.  The destroyer itself may read
  the class only through the destroyed input, unless its op declares
  ``destroy_allowed_aliases = {(destroyed_input, other_input), ...}``
  (it guarantees the two never overlap: inc_subtensor, scan).
* **No cycle.**  A reader that depends on the destroyer's result cannot run
  before it; :meth:`DestroyHandler.validate` refuses such graphs (raising
  :class:`~symarray.graph.fg.InconsistencyError`, so
  ``replace_all_validate`` rolls the change back).

Key decisions (incremental, never a whole-graph walk per change):

* Views and destroyers are indexed as nodes arrive and leave.  A change
  marks the destroyers it may affect *dirty* (a new reader of their alias
  class, a view moved under them); ``validate`` re-checks only those.
* Cycles are found with a *level* per node, a topological potential: along
  every data edge and every ordering edge the level increases.  A new edge
  that respects the levels cannot close a cycle, which is the common case;
  one that does not raises the levels below it (a local repair, nodes
  visited in their old level order) and finds a cycle exactly when the
  repair reaches the edge's source.  Levels exist only once some destroyer
  needs an ordering (the in-place phase, at its end of the pipeline), and
  cost one O(graph) pass to set up.  They are built :data:`LEVEL_GAP`
  apart and a repair raises a node by the least amount, so it usually
  stops within a few nodes (with levels one apart, moving a node after a
  late reader would raise every node after it: quadratic in the depth of
  a backward pass).  A new node gets one above its inputs, so an in-place
  twin replacing a node never sits above that node's clients.
* :meth:`DestroyHandler.why_not_destroy` answers the in-place rewrites'
  question "may this node overwrite input i?" exactly, as Theano's handler
  does: every other reader must run first, so the answer is no only when a
  reader depends on the node's result (the ordering edge reader -> node
  would close a cycle).  A reader below the node's level cannot; for the
  others it searches the node's descendants (data and ordering edges),
  visiting only those below the highest such reader's level, since levels
  increase along every edge.  Readers usually sit below the node, so the
  common query costs time proportional to the readers of the input; the
  search is capped (:data:`SEARCH_BUDGET` nodes, then the answer is a
  conservative no).  A yes may need the level repair at the next
  ``validate``, which places the node after its readers.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

from symarray.errors import SymarrayError
from symarray.graph.basic import Apply, Constant, Variable
from symarray.graph.fg import ClientNode, Feature, FunctionGraph, InconsistencyError
from symarray.graph.traversal import io_toposort

__all__ = ["DestroyHandler", "get_destroy_handler"]

#: nodes :meth:`DestroyHandler.why_not_destroy` may visit to decide whether a
#: reader depends on the node that would overwrite its input (then: no)
SEARCH_BUDGET = 2000
#: level difference along a data edge when levels are built; a repair
#: raises a node only to one above its new predecessor, so the slack absorbs
#: it a few nodes downstream instead of raising everything below
LEVEL_GAP = 4


class DestroyHandler(Feature):
    """Tracks views and in-place ops; vetoes unsafe overwrites; orders readers.

    Parameters
    ----------
    mutable_inputs
        Graph inputs that may be overwritten (``function`` passes the inputs
        given as ``In(x, mutable=True)``).  Every other input is protected.

    Attaching it gives the graph ``fgraph.destroy_handler`` and
    ``fgraph.destroyers(var)`` (the nodes overwriting ``var``'s memory; the
    :class:`~symarray.graph.fg.Supervisor` asks it).

    Examples
    --------
    >>> import symarray.tensor as T
    >>> from symarray.graph import FunctionGraph
    >>> from symarray.scalar import get_scalar_op
    >>> from symarray.tensor.elemwise import Elemwise
    >>> x = T.dvector("x")
    >>> exp_inplace = Elemwise(get_scalar_op("exp"), {0: 0})
    >>> fg = FunctionGraph([x], [exp_inplace(T.sin(x))], features=[DestroyHandler()])
    >>> fg.validate()                      # sin(x) is a temporary: fine
    >>> fg2 = FunctionGraph([x], [exp_inplace(x)], features=[DestroyHandler()])
    >>> fg2.validate()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symarray.graph.fg.InconsistencyError: exp_inplace(x) would overwrite x, an input ...
    """

    def __init__(self, mutable_inputs: Iterable[Variable] = ()) -> None:
        self.mutable: set[Variable] = set(mutable_inputs)
        self._mutable_positions: list[int] | None = None
        self.fgraph: FunctionGraph | None = None
        #: view variable -> the variables it is a view of
        self.view_of: dict[Variable, tuple[Variable, ...]] = {}
        #: variable -> the views of it (one level)
        self.views: dict[Variable, set[Variable]] = {}
        #: destroyer node -> indices of the inputs it overwrites
        self.destroyed_inputs: dict[Apply, tuple[int, ...]] = {}
        #: validated destroyer -> roots it overwrites, and the reverse
        self.node_roots: dict[Apply, frozenset[Variable]] = {}
        self.root_destroyers: dict[Variable, set[Apply]] = {}
        #: destroyers to check at the next validate (a dict: insertion order)
        self.dirty: dict[Apply, None] = {}
        #: topological potential (None until some destroyer needs orderings)
        self.levels: dict[Apply, int] | None = None
        #: data edges added since the last validate, while levels exist
        self.pending: list[tuple[Apply, Apply]] = []
        #: levels were rebuilt from scratch during the current check
        self._rebuilt = False
        #: collections handed out by :meth:`watch`
        self._watchers: list[dict[Apply, None]] = []

    def __repr__(self) -> str:
        return f"DestroyHandler({len(self.destroyed_inputs)} destroyers)"

    # -- attaching -------------------------------------------------------------
    def on_attach(self, fgraph: FunctionGraph) -> None:
        problem = None
        if self.fgraph is not None:
            problem = "a DestroyHandler serves one FunctionGraph; make another"
        elif getattr(fgraph, "destroy_handler", None) is not None:
            problem = f"{fgraph} already has a destroy handler; attach only one"
        if problem is not None:
            if self in fgraph._features:  # attach_feature listed it already
                fgraph._features.remove(self)
            raise ValueError(problem)
        self.fgraph = fgraph
        if self._mutable_positions is not None:
            self.mutable = {fgraph.inputs[k] for k in self._mutable_positions}
        fgraph.destroy_handler = self  # type: ignore[attr-defined]
        fgraph.destroyers = self.destroyers  # type: ignore[attr-defined]
        for node in fgraph.apply_nodes:
            self._add_node(node)

    def on_detach(self, fgraph: FunctionGraph) -> None:
        for name in ("destroy_handler", "destroyers"):
            fgraph.__dict__.pop(name, None)
        self.fgraph = None

    def clone(self) -> DestroyHandler:
        """A fresh handler protecting the same input positions (for fg.clone)."""
        fresh = DestroyHandler()
        if self.fgraph is not None:
            inputs = self.fgraph.inputs
            fresh._mutable_positions = [
                k for k, v in enumerate(inputs) if v in self.mutable
            ]
        return fresh

    # -- bookkeeping callbacks -------------------------------------------------------
    def _add_node(self, node: Apply) -> None:
        op = node.op
        for j, srcs in (op.view_map or {}).items():
            self._set_view(node.outputs[j], node, srcs)
        if op.destroy_map:
            idx = sorted({i for lst in op.destroy_map.values() for i in lst})
            self.destroyed_inputs[node] = tuple(idx)
            self._retarget(node)

    def _set_view(self, out: Variable, node: Apply, srcs: Iterable[int]) -> None:
        for s in self.view_of.get(out, ()):
            self._discard_view(s, out)
        sources = tuple(dict.fromkeys(node.inputs[i] for i in srcs))
        self.view_of[out] = sources
        for s in sources:
            self.views.setdefault(s, set()).add(out)

    def _discard_view(self, source: Variable, view: Variable) -> None:
        vs = self.views.get(source)
        if vs is not None:
            vs.discard(view)
            if not vs:
                del self.views[source]

    def on_import(self, fgraph: FunctionGraph, node: Apply, reason: str) -> None:
        self._add_node(node)
        for v in node.inputs:
            self._new_reader(v)
        levels = self.levels
        if levels is not None:
            # one above its inputs: a node replacing another with the same
            # inputs (its in-place twin) then never sits above the clients
            levels[node] = 1 + max(
                (levels.get(i.owner, 0) for i in node.inputs if i.owner is not None),
                default=0,
            )

    def on_prune(self, fgraph: FunctionGraph, node: Apply, reason: str) -> None:
        for out in node.outputs:
            for s in self.view_of.pop(out, ()):
                self._discard_view(s, out)
            self.views.pop(out, None)
        if node in self.destroyed_inputs:
            del self.destroyed_inputs[node]
            self.dirty.pop(node, None)
            self._forget_roots(node)
        if self.levels is not None:
            self.levels.pop(node, None)

    def on_change_input(self, fgraph: FunctionGraph, node: ClientNode, i: int,
                        old: Variable, new: Variable, reason: str) -> None:
        if not isinstance(node, Apply):  # an output slot reads ``new`` now
            self._new_reader(new)
            return
        for j, srcs in (node.op.view_map or {}).items():
            if i in srcs:
                out = node.outputs[j]
                self._set_view(out, node, srcs)
                self._dirty_below(out)
        if i in self.destroyed_inputs.get(node, ()):
            self._retarget(node)
        self._new_reader(new)
        if self.levels is not None and new.owner is not None:
            self.pending.append((new.owner, node))

    def _new_reader(self, var: Variable) -> None:
        """``var`` has a new reader: its destroyers must be checked again."""
        if not self.root_destroyers:
            return
        for r in self._roots(var):
            ds = self.root_destroyers.get(r)
            if ds:
                self.dirty.update(dict.fromkeys(ds))

    def _dirty_below(self, var: Variable) -> None:
        """Mark the destroyers of ``var`` and of its views (their roots moved)."""
        assert self.fgraph is not None
        clients = self.fgraph.clients
        for v in self._view_tree(var):
            for c, k in clients.get(v, ()):
                if isinstance(c, Apply) and k in self.destroyed_inputs.get(c, ()):
                    self._retarget(c)

    def _retarget(self, node: Apply) -> None:
        """What destroyer ``node`` overwrites may have changed: check it again."""
        self.dirty[node] = None
        for changes in self._watchers:
            changes[node] = None

    def watch(self) -> dict[Apply, None]:
        """A collection the handler fills with destroyers whose targets change.

        From now on, every node that starts overwriting an input, or whose
        overwritten input (or a view under it) is replaced, is added to the
        returned dict (its keys; the caller clears it when it has checked
        them).  The :class:`~symarray.graph.fg.Supervisor` uses it to check
        only what a change touched.  Stop with :meth:`unwatch`.
        """
        changes: dict[Apply, None] = {}
        self._watchers.append(changes)
        return changes

    def unwatch(self, changes: dict[Apply, None]) -> None:
        """Stop filling ``changes`` (a collection from :meth:`watch`)."""
        self._watchers = [w for w in self._watchers if w is not changes]

    def _forget_roots(self, node: Apply) -> None:
        for r in self.node_roots.pop(node, ()):
            ds = self.root_destroyers.get(r)
            if ds is not None:
                ds.discard(node)
                if not ds:
                    del self.root_destroyers[r]

    # -- alias structure -------------------------------------------------------
    def _roots(self, var: Variable) -> set[Variable]:
        """The non-view variables whose memory ``var`` may share."""
        view_of = self.view_of
        if var not in view_of:
            return {var}
        roots: set[Variable] = set()
        stack = [var]
        seen: set[Variable] = set()
        while stack:
            v = stack.pop()
            if v in seen:
                continue
            seen.add(v)
            srcs = view_of.get(v)
            if srcs:
                stack.extend(srcs)
            else:
                roots.add(v)
        return roots

    def _view_tree(self, var: Variable) -> Iterator[Variable]:
        """``var`` and every variable that is a view of it, transitively."""
        views = self.views
        stack = [var]
        seen: set[Variable] = set()
        while stack:
            v = stack.pop()
            if v in seen:
                continue
            seen.add(v)
            yield v
            stack.extend(views.get(v, ()))

    def _destroyed_roots(self, node: Apply) -> frozenset[Variable]:
        roots: set[Variable] = set()
        for i in self.destroyed_inputs.get(node, ()):
            roots |= self._roots(node.inputs[i])
        return frozenset(roots)

    def _current_roots(self, node: Apply) -> frozenset[Variable]:
        if node in self.dirty or node not in self.node_roots:
            return self._destroyed_roots(node)
        return self.node_roots[node]

    # -- queries -----------------------------------------------------------------
    def overwritten_roots(self, node: Apply) -> frozenset[Variable]:
        """The non-view variables whose memory ``node`` overwrites (now)."""
        return self._destroyed_roots(node)

    def destroyers(self, var: Variable) -> list[Apply]:
        """The nodes that overwrite ``var``'s memory (``var`` or a view of it)."""
        assert self.fgraph is not None
        roots = self._roots(var)
        found: dict[Apply, None] = {}
        for r in roots:
            for d in self.root_destroyers.get(r, ()):
                if d not in self.dirty:
                    found[d] = None
        nodes = self.fgraph.apply_nodes
        for d in self.dirty:
            if d in nodes and roots & self._destroyed_roots(d):
                found[d] = None
        return list(found)

    def why_not_destroy(self, node: Apply, i: int,
                        allowed_aliases: Iterable[tuple[int, int]] = ()) -> str | None:
        """Why an in-place version of ``node`` may not overwrite input ``i``.

        None means it may: a node with ``node``'s inputs that overwrites input
        ``i`` (and reads it through other inputs only where
        ``allowed_aliases`` says), replacing ``node``, passes
        :meth:`validate` (which may reorder the readers before it).  The
        answers for several inputs of one node combine: all the new orderings
        end at the node, so they close a cycle only if one of them does.
        Costs time proportional to the readers of that input, plus a search
        of ``node``'s descendants when a reader is not below it (at most
        :data:`SEARCH_BUDGET` nodes; beyond that the answer is no).
        """
        assert self.fgraph is not None
        fg = self.fgraph
        var = node.inputs[i]
        allowed = set(allowed_aliases)
        roots = self._roots(var)
        for r in roots:
            problem = self._root_problem(r)
            if problem is not None:
                return problem
            for d in self.root_destroyers.get(r, ()):
                if d is not node:
                    return f"{d} already overwrites {r}"
        for d in self.dirty:
            if (d is not node and d in fg.apply_nodes
                    and roots & self._destroyed_roots(d)):
                return f"{d} already overwrites it"
        readers: list[Apply] = []
        for r in roots:
            for v in self._view_tree(r):
                for c, k in fg.clients.get(v, ()):
                    if not isinstance(c, Apply):
                        return f"{v} is an output of the graph"
                    if c is node:
                        if k != i and (i, k) not in allowed:
                            return f"the node also reads {v} as input {k}"
                        continue
                    readers.append(c)
        if not readers:
            return None
        if self.pending or any(d in fg.apply_nodes for d in self.dirty):
            # levels are exact only after the last change is checked (a
            # rollback leaves it unchecked): check it now
            try:
                self.validate(fg)
            except InconsistencyError as err:
                return f"the graph is not consistent now ({err})"
        levels = self._ensure_levels()
        # a reader at or below the node's level cannot depend on it
        late = {c for c in readers if levels[c] > levels[node]}
        if not late:
            return None
        return self._depends_on(node, late)

    def _depends_on(self, node: Apply, readers: set[Apply]) -> str | None:
        """Why one of ``readers`` cannot run before ``node`` (None: all can).

        A reader can run first unless it is a descendant of ``node`` through
        data and ordering edges.  Levels increase along every edge, so only
        descendants below the highest reader's level can lead to one.
        """
        levels = self.levels
        assert levels is not None
        top = max(levels[c] for c in readers)
        stack = [node]
        seen = {node}
        budget = SEARCH_BUDGET
        while stack:
            n = stack.pop()
            budget -= 1
            if budget < 0:
                return (f"deciding whether its other readers can run before {node} "
                        f"needs a search of over {SEARCH_BUDGET} nodes")
            for s in self._successors(n):
                if s in readers:
                    return (f"{s}, which reads it too, depends on the result of "
                            f"{node}, so it cannot run before")
                if s not in seen and levels[s] < top:
                    seen.add(s)
                    stack.append(s)
        return None

    def _root_problem(self, root: Variable) -> str | None:
        if isinstance(root, Constant):
            return f"{root} is a constant (shared between calls)"
        if root.owner is None and root not in self.mutable:
            return f"{root} is an input of the graph that is not mutable"
        return None

    # -- orderings ---------------------------------------------------------------
    def orderings(self, fgraph: FunctionGraph) -> dict[Apply, list[Apply]]:
        """Destroyer -> the other readers of what it overwrites (run them first)."""
        out: dict[Apply, list[Apply]] = {}
        nodes = fgraph.apply_nodes
        clients = fgraph.clients
        for d, idx in self.destroyed_inputs.items():
            if d not in nodes:
                continue
            readers: dict[Apply, None] = {}
            for i in idx:
                for r in self._roots(d.inputs[i]):
                    for v in self._view_tree(r):
                        for c, _ in clients.get(v, ()):
                            if isinstance(c, Apply) and c is not d:
                                readers[c] = None
            if readers:
                out[d] = list(readers)
        return out

    # -- validation ----------------------------------------------------------------
    def validate(self, fgraph: FunctionGraph) -> None:
        """Check the destroyers a change may have affected; raise if unsafe.

        Raises :class:`~symarray.graph.fg.InconsistencyError` naming the node
        and the reason (the state is left as before, so a rollback followed by
        another ``validate`` gives the old answer).
        """
        undo: dict[Apply, int] = {}
        self._rebuilt = False
        nodes = fgraph.apply_nodes
        dirty = [d for d in self.dirty if d in nodes]
        try:
            readers = {d: self._check_targets(d) for d in dirty}
            if self.levels is not None and self.pending:
                self._check_data_edges(undo)
            for d in dirty:
                if readers[d] and not self._rebuilt:
                    self._check_order(d, readers[d], undo)
        except InconsistencyError:
            if self._rebuilt:
                self.levels = None
                self.pending.clear()
            elif self.levels is not None:
                self.levels.update(undo)
            raise
        self.dirty.clear()
        self.pending.clear()

    def _check_data_edges(self, undo: dict[Apply, int]) -> None:
        assert self.fgraph is not None and self.levels is not None
        nodes, levels = self.fgraph.apply_nodes, self.levels
        for a, b in self.pending:
            if (a in nodes and b in nodes and levels[a] >= levels[b]
                    and any(p.owner is a for p in b.inputs)):
                self._raise_after(a, b, undo)
                if self._rebuilt:
                    return

    def _check_targets(self, d: Apply) -> list[Apply]:
        """Check what ``d`` overwrites, record its roots; return the other readers."""
        assert self.fgraph is not None
        fg = self.fgraph
        idx = self.destroyed_inputs[d]
        allowed = set(getattr(d.op, "destroy_allowed_aliases", ()) or ())
        per_input = {i: self._roots(d.inputs[i]) for i in idx}
        for i, roots in per_input.items():
            for r in roots:
                problem = self._root_problem(r)
                if problem is not None:
                    raise InconsistencyError(
                        f"{d} would overwrite {d.inputs[i]}, an input of the graph "
                        f"or a constant ({problem}); an in-place op may only "
                        "overwrite temporaries (pass In(x, mutable=True) to let "
                        "the function overwrite an argument)"
                    )
                for other in self.root_destroyers.get(r, ()):
                    if other is not d and other in fg.apply_nodes and (
                        r in self._current_roots(other)
                    ):
                        raise InconsistencyError(
                            f"{d} and {other} would both overwrite {r}; only one "
                            "node may overwrite a value"
                        )
        self._forget_roots(d)
        roots_all = frozenset().union(*per_input.values())
        self.node_roots[d] = roots_all
        for r in roots_all:
            self.root_destroyers.setdefault(r, set()).add(d)
        readers: dict[Apply, None] = {}
        for i, roots in per_input.items():
            for r in roots:
                for v in self._view_tree(r):
                    for c, k in fg.clients.get(v, ()):
                        if not isinstance(c, Apply):
                            raise InconsistencyError(
                                f"{d} would overwrite {v}, which is (or shares "
                                "memory with) an output of the graph; outputs must "
                                "keep their value"
                            )
                        if c is d:
                            if k != i and (i, k) not in allowed:
                                raise InconsistencyError(
                                    f"{d} overwrites its input {i} but also reads "
                                    f"{v}, which shares its memory, as input {k}; "
                                    "the op must declare destroy_allowed_aliases "
                                    f"= {{({i}, {k})}} if they never overlap"
                                )
                            continue
                        readers[c] = None
        return list(readers)

    def _check_order(self, d: Apply, readers: list[Apply],
                     undo: dict[Apply, int]) -> None:
        """Every other reader of what ``d`` overwrites can run before it."""
        levels = self._ensure_levels()
        if self._rebuilt:  # the rebuild already ordered everything
            return
        for c in readers:
            if levels[c] >= levels[d]:
                self._raise_after(c, d, undo)
                if self._rebuilt:
                    return

    # -- levels --------------------------------------------------------------------
    def _ensure_levels(self) -> dict[Apply, int]:
        if self.levels is None:
            self._rebuild_levels()
        assert self.levels is not None
        return self.levels

    def _rebuild_levels(self) -> None:
        """Levels from scratch: one topological pass over data and orderings."""
        assert self.fgraph is not None
        fg = self.fgraph
        order_before = self.orderings(fg)
        try:
            order = io_toposort(fg.inputs, fg.outputs, order_before)
        except SymarrayError as err:
            raise InconsistencyError(
                f"the in-place ops would need a node to run before one it depends "
                f"on ({err}); an overwritten value is read after it is overwritten"
            ) from None
        levels: dict[Apply, int] = {}
        for n in order:
            lvl = 0
            for p in n.inputs:
                if p.owner is not None:
                    lvl = max(lvl, levels[p.owner])
            for p_node in order_before.get(n, ()):
                lvl = max(lvl, levels[p_node])
            levels[n] = lvl + LEVEL_GAP
        self.levels = levels
        self.pending.clear()
        self._rebuilt = True

    def _successors(self, n: Apply) -> Iterator[Apply]:
        """Nodes that must run after ``n``: its clients and ordering successors."""
        assert self.fgraph is not None
        clients = self.fgraph.clients
        for out in n.outputs:
            for c, _ in clients.get(out, ()):
                if isinstance(c, Apply):
                    yield c
        if self.root_destroyers:
            for v in n.inputs:
                for r in self._roots(v):
                    for d in self.root_destroyers.get(r, ()):
                        if d is not n:
                            yield d

    def _raise_after(self, a: Apply, b: Apply, undo: dict[Apply, int]) -> None:
        """Raise levels so that ``b`` (and what follows it) comes after ``a``.

        Nodes are repaired in the order of their levels before the repair
        (a topological order), so each is usually visited once.  Reaching
        ``a`` means ``b`` leads back to it: a cycle.
        """
        levels = self.levels
        assert levels is not None
        heap: list[tuple[int, int, Apply]] = []
        queued: set[Apply] = set()
        seq = 0

        def bump(n: Apply, lvl: int) -> None:
            nonlocal seq
            if levels[n] >= lvl:
                return
            if n is a:
                raise InconsistencyError(
                    f"{b} would have to run before {a}, which depends on it: an "
                    "in-place op would overwrite a value that a later node still "
                    "reads"
                )
            undo.setdefault(n, levels[n])
            if n not in queued:
                queued.add(n)
                heapq.heappush(heap, (levels[n], seq, n))
                seq += 1
            levels[n] = lvl

        bump(b, levels[a] + 1)
        budget = 4 * len(levels) + 64
        while heap:
            _, _, n = heapq.heappop(heap)
            queued.discard(n)
            budget -= 1
            if budget < 0:  # several new edges interact: start afresh
                self._rebuild_levels()
                return
            lvl = levels[n] + 1
            for s in self._successors(n):
                bump(s, lvl)


def get_destroy_handler(fgraph: FunctionGraph) -> DestroyHandler:
    """``fgraph``'s destroy handler, attaching one (all inputs protected) if none."""
    handler = getattr(fgraph, "destroy_handler", None)
    if handler is None:
        handler = DestroyHandler()
        fgraph.attach_feature(handler)
    return handler
