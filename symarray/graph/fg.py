"""FunctionGraph: a mutable graph with fixed inputs and outputs.

The FunctionGraph owns a set of Apply nodes, knows every variable's
*clients* (the ``(node, input_index)`` pairs that read it; an output slot is
the client ``("output", i)``), and lets rewrites replace variables.  Features
(shape tracking, the destroy handler, validators, rewrite statistics) attach
to it and are told about every change through callbacks:

``on_attach(fg)``, ``on_detach(fg)``, ``on_import(fg, node, reason)``,
``on_prune(fg, node, reason)``, ``on_change_input(fg, node, i, old, new,
reason)``, and ``validate(fg)`` (raise to veto a change).

Key decisions:

* Every callback is local to the change, so a sequence of rewrites costs
  time proportional to what it touches, never to the graph.
* A node leaves the graph (``on_prune``) as soon as none of its outputs is
  read; constants leave with their last reader.  Inputs stay.
* Changes are all-or-nothing: a replacement is imported (and checked for
  free variables) before anything is rewired, and ``replace_all_validate``
  restores the exact graph when a feature's ``validate`` vetoes.
* ``check_integrity`` recomputes everything from the outputs and compares;
  tests call it after random replacement sequences.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from symarray.errors import MissingInputError, SymarrayError
from symarray.graph.basic import Apply, Constant, Variable
from symarray.graph.traversal import (
    clone_get_equiv,
    gc_paused,
    graph_inputs,
    io_toposort,
)

__all__ = ["FunctionGraph", "InconsistencyError", "Feature", "Validator", "Supervisor",
           "ReplacementDidNotRemoveError"]

ClientNode = Apply | Literal["output"]
Client = tuple[ClientNode, int]


class InconsistencyError(SymarrayError):
    """A change would leave the graph invalid (a feature vetoed it)."""


class ReplacementDidNotRemoveError(InconsistencyError):
    """``replace_all_validate_remove`` left a node that had to disappear."""


class Feature:
    """Base class for FunctionGraph features; every callback is optional.

    A feature that should follow the graph into ``fgraph.clone()`` defines
    ``clone()``, returning a fresh feature for the copy, or
    ``clone_with_equiv(equiv)`` when it refers to variables (``equiv`` maps
    this graph's variables and nodes to the copy's).
    """

    def on_attach(self, fgraph: FunctionGraph) -> None: ...

    def on_detach(self, fgraph: FunctionGraph) -> None: ...

    def on_import(self, fgraph: FunctionGraph, node: Apply, reason: str) -> None: ...

    def on_prune(self, fgraph: FunctionGraph, node: Apply, reason: str) -> None: ...

    def on_change_input(
        self,
        fgraph: FunctionGraph,
        node: ClientNode,
        i: int,
        old: Variable,
        new: Variable,
        reason: str,
    ) -> None: ...

    def validate(self, fgraph: FunctionGraph) -> None: ...


class Validator(Feature):
    """Provides ``fgraph.replace_validate``: replace, then validate or undo."""

    def on_attach(self, fgraph: FunctionGraph) -> None:
        fgraph.replace_validate = self._replace_validate.__get__(fgraph)  # type: ignore[attr-defined]

    def on_detach(self, fgraph: FunctionGraph) -> None:
        fgraph.__dict__.pop("replace_validate", None)

    @staticmethod
    def _replace_validate(
        fgraph: FunctionGraph,
        replacements: Any,
        reason: str = "",
    ) -> None:
        fgraph.replace_all_validate(list(replacements), reason)


class Supervisor(Feature):
    """Vetoes any change after which a node overwrites a protected variable.

    ``function`` protects the inputs the caller did not mark ``mutable`` (and
    shared values nobody updates).  The check asks the destroy handler
    (``fgraph.destroy_handler``): it reports the destroyers whose overwritten
    variables may have changed since the last successful ``validate``, and
    only those are checked, so a replacement costs time proportional to what
    it touched, not to the number of protected inputs (the first check after
    attaching looks at every destroyer).  A graph with only a
    ``fgraph.destroyers(var)`` function (a list of the nodes overwriting
    ``var``) is asked about every protected variable; a graph with neither
    cannot overwrite anything, and every change passes.
    """

    def __init__(self, protected: Iterable[Variable]) -> None:
        self.protected = list(protected)
        #: protected variables without an owner: they are never views, so a
        #: destroyer threatens one exactly when it overwrites it
        self._roots = {v for v in self.protected if v.owner is None}
        #: protected variables computed by a node (rare): asked about each time
        self._others = [v for v in self.protected if v.owner is not None]
        self._handler: Any = None
        self._changed: dict[Apply, None] = {}
        self._check_all = True

    def on_detach(self, fgraph: FunctionGraph) -> None:
        self._stop_watching()

    def _stop_watching(self) -> None:
        if self._handler is not None:
            self._handler.unwatch(self._changed)
        self._handler, self._changed, self._check_all = None, {}, True

    def validate(self, fgraph: FunctionGraph) -> None:
        handler = getattr(fgraph, "destroy_handler", None)
        if handler is None or not hasattr(handler, "watch"):
            destroyers = getattr(fgraph, "destroyers", None)
            if destroyers is not None:
                self._ask(destroyers, self.protected)
            return
        if handler is not self._handler:
            self._stop_watching()
            self._handler, self._changed = handler, handler.watch()
        candidates = handler.destroyed_inputs if self._check_all else self._changed
        nodes = fgraph.apply_nodes
        for node in candidates:
            if node in nodes:
                hit = self._roots.intersection(handler.overwritten_roots(node))
                if hit:
                    self._refuse(node, next(iter(hit)))
        if self._others:
            self._ask(handler.destroyers, self._others)
        self._changed.clear()
        self._check_all = False

    def _ask(self, destroyers: Any, variables: Iterable[Variable]) -> None:
        for var in variables:
            nodes = destroyers(var)
            if nodes:
                self._refuse(nodes[0], var)

    @staticmethod
    def _refuse(node: Apply, var: Variable) -> None:
        raise InconsistencyError(
            f"{node} would overwrite {var}, which the function must not "
            "modify (pass In(var, mutable=True) to allow it)"
        )

    def clone_with_equiv(self, equiv: Mapping[Any, Any]) -> Supervisor:
        """A supervisor for a copy of the graph (``equiv``: old -> new variables).

        It protects the copies of the protected variables.
        """
        return Supervisor(equiv.get(v, v) for v in self.protected)


class FunctionGraph:
    """A graph between ``inputs`` and ``outputs`` that rewrites may mutate.

    Parameters
    ----------
    inputs, outputs
        The graph's boundary.  Variables the outputs depend on that are not
        inputs must be constants (or other ownerless "orphans").
    features
        Features to attach.
    clone
        Copy the graph first, so the user's variables are never mutated.
    """

    def __init__(
        self,
        inputs: Sequence[Variable] | None = None,
        outputs: Sequence[Variable] = (),
        features: Iterable[Feature] = (),
        clone: bool = True,
    ) -> None:
        outputs = list(outputs)
        if inputs is None:
            inputs = [i for i in graph_inputs(outputs) if not isinstance(i, Constant)]
        inputs = list(inputs)
        if len(set(inputs)) != len(inputs):
            dup = next(i for i in inputs if inputs.count(i) > 1)
            raise ValueError(f"FunctionGraph: input {dup} is listed twice")
        if clone:
            equiv = clone_get_equiv(inputs, outputs, copy_orphans=False)
            inputs = [equiv[i] for i in inputs]
            outputs = [equiv[o] for o in outputs]
        self.inputs: list[Variable] = []
        self.outputs: list[Variable] = []
        self.apply_nodes: set[Apply] = set()
        self.variables: set[Variable] = set()
        self.clients: dict[Variable, list[Client]] = {}
        self._input_set: set[Variable] = set()
        self._features: list[Feature] = []
        self.update_mapping: dict[int, int] = {}
        with gc_paused():
            for inp in inputs:
                self.add_input(inp)
            for out in outputs:
                self.add_output(out, reason="init")
        for feature in features:
            self.attach_feature(feature)

    def _check_orphan(self, var: Variable, user: Apply | None) -> None:
        """Raise MissingInputError if ``var`` is a free variable of the graph."""
        if var.owner is not None or isinstance(var, Constant) or var in self._input_set:
            return
        where = f" (read by {user.op})" if user is not None else ""
        site = f"; it was created at {var.tag.site}" if var.tag.site else ""
        shown = ", ".join(str(i) for i in self.inputs[:10])
        more = f", ... ({len(self.inputs)} in all)" if len(self.inputs) > 10 else ""
        raise MissingInputError(
            f"the outputs depend on {var}{where}, which is not among the inputs "
            f"[{shown}{more}]{site}; pass it as an input or replace it with givens"
        )

    # -- structure -----------------------------------------------------
    def add_input(self, var: Variable) -> None:
        """Add ``var`` (an ownerless variable) to the graph's inputs."""
        if var in self._input_set:
            return
        if var.owner is not None:
            raise ValueError(f"FunctionGraph: input {var} has an owner ({var.owner})")
        self.inputs.append(var)
        self._input_set.add(var)
        self._setup_var(var)

    def add_output(self, var: Variable, reason: str = "") -> None:
        """Append ``var`` to the outputs, importing the nodes it needs."""
        self.import_var(var, reason)
        self.outputs.append(var)
        self.clients[var].append(("output", len(self.outputs) - 1))

    def get_clients(self, var: Variable) -> list[Client]:
        """The ``(node, input_index)`` pairs reading ``var`` (a copy)."""
        return list(self.clients.get(var, ()))

    def _setup_var(self, var: Variable) -> None:
        if var not in self.variables:
            self.variables.add(var)
            self.clients.setdefault(var, [])

    def import_var(self, var: Variable, reason: str = "") -> None:
        """Make ``var`` part of the graph, importing its owner if needed.

        Raises :class:`MissingInputError` (changing nothing) when ``var``
        depends on a free variable that is not an input.
        """
        if var.owner is not None:
            if var.owner not in self.apply_nodes:
                self.import_node(var.owner, reason)
        else:
            self._check_orphan(var, None)
        self._setup_var(var)

    def import_node(self, node: Apply, reason: str = "") -> None:
        """Import ``node`` and every node it depends on that is missing.

        All-or-nothing: free variables are looked for before anything is
        added.
        """
        missing = self._missing_nodes(node)
        for n in missing:
            for inp in n.inputs:
                self._check_orphan(inp, n)
        for n in missing:
            self.apply_nodes.add(n)
            for out in n.outputs:
                self._setup_var(out)
            for i, inp in enumerate(n.inputs):
                self._setup_var(inp)
                self.clients[inp].append((n, i))
            self._callback("on_import", n, reason)

    def _missing_nodes(self, node: Apply) -> list[Apply]:
        """Nodes not yet in the graph that ``node`` needs, in dependency order."""
        have = self.apply_nodes
        order: list[Apply] = []
        seen: set[Apply] = set()
        stack: list[tuple[Apply, bool]] = [(node, False)]
        while stack:
            n, expanded = stack.pop()
            if expanded:
                order.append(n)
                continue
            if n in seen or n in have:
                continue
            seen.add(n)
            stack.append((n, True))
            for inp in reversed(n.inputs):
                owner = inp.owner
                if owner is not None and owner not in have and owner not in seen:
                    stack.append((owner, False))
        return order

    def _remove_client(self, var: Variable, client: Client, reason: str) -> None:
        """Drop one client of ``var``; prune what becomes unused.

        A node is pruned when none of its outputs has a client left; its
        inputs then lose that client in turn (iteratively).  Ownerless
        variables that are not inputs (constants) leave with their last
        client.
        """
        stack = [(var, client)]
        while stack:
            v, c = stack.pop()
            clients = self.clients[v]
            if clients[-1] == c:  # pruning usually drops the newest reader:
                clients.pop()     # O(1) instead of a scan of a long list
            else:
                clients.remove(c)
            if clients:
                continue
            node = v.owner
            if node is None:
                if v not in self._input_set:
                    self.variables.discard(v)
                    del self.clients[v]
                continue
            if node not in self.apply_nodes:
                continue
            if any(self.clients.get(o) for o in node.outputs):
                continue
            self.apply_nodes.discard(node)
            for o in node.outputs:
                self.variables.discard(o)
                self.clients.pop(o, None)
            self._callback("on_prune", node, reason)
            for i, inp in enumerate(node.inputs):
                stack.append((inp, (node, i)))

    # -- mutation ------------------------------------------------------
    def change_node_input(
        self,
        node: ClientNode,
        i: int,
        new_var: Variable,
        reason: str = "",
        check: bool = True,
    ) -> None:
        """Make input ``i`` of ``node`` (or output slot ``i``) read ``new_var``.

        ``new_var`` (and the nodes it needs) is imported first, so a failure
        (a type mismatch, a free variable) leaves the graph unchanged.
        """
        if node == "output":
            old = self.outputs[i]
            where = "output"
        else:
            if not isinstance(node, Apply) or node not in self.apply_nodes:
                raise ValueError(f"change_node_input: {node} is not in this graph")
            old = node.inputs[i]
            where = str(node.op)
        if old is new_var:
            return
        if check and not _compatible(old, new_var):
            raise TypeError(_type_mismatch(old, new_var, where, i))
        self.import_var(new_var, reason)
        if node == "output":
            self.outputs[i] = new_var
        else:
            node.inputs[i] = new_var
        self.clients[new_var].append((node, i))
        self._remove_client(old, (node, i), reason)
        self._callback("on_change_input", node, i, old, new_var, reason)

    def replace(
        self, var: Variable, new_var: Variable, reason: str = "", verbose: bool = False
    ) -> None:
        """Make every client of ``var`` read ``new_var``.

        ``new_var`` must have ``var``'s type, or a more specific one (static
        lengths where ``var``'s type has none).  Replacing a variable the
        graph does not hold does nothing.
        """
        if var not in self.variables:
            return
        new_var = self._converted(var, new_var)
        if verbose:
            print(f"rewriting: {reason}: {var} -> {new_var}")
        for node, i in list(self.clients[var]):
            self.change_node_input(node, i, new_var, reason, check=False)

    @staticmethod
    def _converted(var: Variable, new_var: Variable) -> Variable:
        if _compatible(var, new_var):
            return new_var
        converted = var.type.convert_variable(new_var)
        if converted is None:
            raise TypeError(_type_mismatch(var, new_var, "replace", 0))
        return converted

    def replace_all(
        self, pairs: Iterable[tuple[Variable, Variable]], reason: str = ""
    ) -> None:
        """``replace`` each ``(var, new_var)`` in turn."""
        for var, new_var in pairs:
            self.replace(var, new_var, reason)

    def replace_all_validate(
        self, pairs: Iterable[tuple[Variable, Variable]], reason: str = ""
    ) -> None:
        """Replace, then run every feature's ``validate``; undo on failure.

        The graph is restored exactly (the same nodes, inputs and outputs)
        when a replacement or a validation raises; the error propagates.
        """
        undo: list[tuple[ClientNode, int, Variable]] = []
        try:
            for var, new_var in pairs:
                if var not in self.variables:
                    continue
                new_var = self._converted(var, new_var)
                for node, i in list(self.clients[var]):
                    self.change_node_input(node, i, new_var, reason, check=False)
                    undo.append((node, i, var))
            self.validate()
        except Exception:
            for node, i, old in reversed(undo):
                self.change_node_input(node, i, old, "rollback", check=False)
            raise

    def replace_all_validate_remove(
        self,
        pairs: Iterable[tuple[Variable, Variable]],
        remove: Iterable[Apply],
        reason: str = "",
    ) -> None:
        """Like ``replace_all_validate``, and require ``remove`` to be gone.

        Raises :class:`ReplacementDidNotRemoveError` (after undoing) when a
        node of ``remove`` is still in the graph afterwards.
        """
        pairs = list(pairs)
        remove = list(remove)

        class _Check(Feature):
            def validate(self, fgraph: FunctionGraph) -> None:
                left = [n for n in remove if n in fgraph.apply_nodes]
                if left:
                    raise ReplacementDidNotRemoveError(
                        f"{reason or 'replacement'}: {left[0]} is still in the graph "
                        "after the replacement meant to remove it"
                    )

        check = _Check()
        self._features.append(check)
        try:
            self.replace_all_validate(pairs, reason)
        finally:
            self._features.remove(check)

    def validate(self) -> None:
        for feature in self._features:
            feature.validate(self)

    # -- features ------------------------------------------------------
    def attach_feature(self, feature: Feature) -> None:
        """Attach ``feature`` (once) and call its ``on_attach``."""
        if feature in self._features:
            return
        self._features.append(feature)
        attach = getattr(feature, "on_attach", None)
        if attach is not None:
            attach(self)

    def remove_feature(self, feature: Feature) -> None:
        """Detach ``feature`` and call its ``on_detach``."""
        if feature not in self._features:
            raise ValueError(f"remove_feature: {feature!r} is not attached")
        self._features.remove(feature)
        detach = getattr(feature, "on_detach", None)
        if detach is not None:
            detach(self)

    @property
    def features(self) -> list[Feature]:
        return list(self._features)

    def _callback(self, name: str, *args: Any) -> None:
        for feature in self._features:
            fn = getattr(feature, name, None)
            if fn is not None:
                fn(self, *args)

    execute_callbacks = _callback

    # -- queries -------------------------------------------------------
    def toposort(self) -> list[Apply]:
        """Nodes in an order that respects dependencies and feature orderings."""
        orderings: dict[Apply, list[Apply]] = {}
        for feature in self._features:
            get = getattr(feature, "orderings", None)
            if get is not None:
                for node, before in get(self).items():
                    orderings.setdefault(node, []).extend(before)
        order = io_toposort(self.inputs, self.outputs, orderings)
        if len(order) != len(self.apply_nodes):
            # nodes that no output reaches cannot exist; this is a bug guard
            missing = self.apply_nodes.difference(order)
            outs = [o for n in missing for o in n.outputs]
            order.extend(io_toposort(self.inputs, outs))
        return order

    def check_integrity(self) -> None:
        """Raise InconsistencyError unless the bookkeeping matches the graph.

        Recomputes from the outputs which nodes and variables the graph holds
        and who reads each variable, and compares with ``apply_nodes``,
        ``variables`` and ``clients`` (a debugging aid: O(graph size)).
        """
        nodes = io_toposort(self.inputs, self.outputs)
        if set(nodes) != self.apply_nodes:
            extra = self.apply_nodes.difference(nodes)
            lost = set(nodes).difference(self.apply_nodes)
            raise InconsistencyError(
                f"apply_nodes is wrong: {len(extra)} unreachable node(s) kept "
                f"{list(extra)[:3]}, {len(lost)} needed node(s) missing "
                f"{list(lost)[:3]}"
            )
        expected: dict[Variable, list[Client]] = {v: [] for v in self.inputs}
        for node in nodes:
            for i, inp in enumerate(node.inputs):
                expected.setdefault(inp, []).append((node, i))
                if inp.owner is None:
                    self._check_integrity_orphan(inp)
            for out in node.outputs:
                expected.setdefault(out, [])
        for i, out in enumerate(self.outputs):
            expected.setdefault(out, []).append(("output", i))
            if out.owner is None:
                self._check_integrity_orphan(out)
        if set(expected) != self.variables:
            extra_v = self.variables.difference(expected)
            lost_v = set(expected).difference(self.variables)
            raise InconsistencyError(
                f"variables is wrong: extra {list(extra_v)[:3]}, missing "
                f"{list(lost_v)[:3]}"
            )
        if set(self.clients) != self.variables:
            raise InconsistencyError("clients and variables have different keys")
        for var, want in expected.items():
            got = self.clients[var]
            if len(got) != len(want) or set(map(_client_key, got)) != set(
                map(_client_key, want)
            ):
                raise InconsistencyError(
                    f"clients of {var} are {got}, expected {want}"
                )
        if set(self.inputs) != self._input_set or len(self.inputs) != len(
            self._input_set
        ):
            raise InconsistencyError("the inputs list and the input set disagree")

    def _check_integrity_orphan(self, var: Variable) -> None:
        if not isinstance(var, Constant) and var not in self._input_set:
            raise InconsistencyError(f"{var} has no owner and is not an input")

    def clone(self, check_integrity: bool = True) -> FunctionGraph:
        return self.clone_get_equiv(check_integrity)[0]

    def clone_get_equiv(
        self, check_integrity: bool = True
    ) -> tuple[FunctionGraph, dict[Any, Any]]:
        equiv = clone_get_equiv(self.inputs, self.outputs, copy_orphans=False)
        fg = FunctionGraph(
            [equiv[i] for i in self.inputs],
            [equiv[o] for o in self.outputs],
            clone=False,
        )
        fg.update_mapping = dict(self.update_mapping)
        if check_integrity:
            fg.check_integrity()
        for feature in self._features:
            with_equiv = getattr(feature, "clone_with_equiv", None)
            if with_equiv is not None:
                fg.attach_feature(with_equiv(equiv))
                continue
            clone_feature = getattr(feature, "clone", None)
            if clone_feature is not None:
                fg.attach_feature(clone_feature())
        return fg, equiv

    def __str__(self) -> str:
        return f"FunctionGraph({', '.join(str(o) for o in self.outputs)})"

    def __contains__(self, item: Any) -> bool:
        return item in self.variables or item in self.apply_nodes


def _client_key(client: Client) -> tuple[int, int]:
    node, i = client
    return (id(node), i)


def _compatible(old: Variable, new: Variable) -> bool:
    return old.type == new.type


def _type_mismatch(old: Variable, new: Variable, where: str, i: int) -> str:
    return (
        f"{where} (slot {i}): cannot replace {old} of type {old.type} by {new} of "
        f"type {new.type}; the rewrite must produce the same type"
    )
