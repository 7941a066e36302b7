"""FunctionGraph: a mutable graph with fixed inputs and outputs.

The FunctionGraph owns a set of Apply nodes, knows every variable's
*clients* (the ``(node, input_index)`` pairs that read it; an output slot is
the client ``("output", i)``), and lets rewrites replace variables.  Features
(shape tracking, the destroy handler, validators, rewrite statistics) attach
to it and are told about every change through callbacks:

``on_attach(fg)``, ``on_detach(fg)``, ``on_import(fg, node, reason)``,
``on_prune(fg, node, reason)``, ``on_change_input(fg, node, i, old, new,
reason)``, and ``validate(fg)`` (raise to veto a change).

Key decision: every callback is local to the change, so a sequence of
rewrites costs time proportional to what it touches, never to the graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, Union

from symarray.errors import MissingInputError, SymarrayError
from symarray.graph.basic import Apply, Constant, Variable
from symarray.graph.traversal import clone_get_equiv, graph_inputs, io_toposort

__all__ = ["FunctionGraph", "InconsistencyError", "Feature", "Validator"]

ClientNode = Union[Apply, Literal["output"]]
Client = tuple[ClientNode, int]


class InconsistencyError(SymarrayError):
    """A change would leave the graph invalid (a feature vetoed it)."""


class Feature:
    """Base class for FunctionGraph features; every callback is optional."""

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

    @staticmethod
    def _replace_validate(
        fgraph: FunctionGraph,
        replacements: Any,
        reason: str = "",
    ) -> None:
        fgraph.replace_all_validate(list(replacements), reason)


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
        self._features: list[Feature] = []
        self.update_mapping: dict[int, int] = {}
        for inp in inputs:
            self.add_input(inp)
        for out in outputs:
            self.add_output(out, reason="init")
        self._check_inputs()
        for feature in features:
            self.attach_feature(feature)

    def _check_inputs(self) -> None:
        known = set(self.inputs)
        for var in self.variables:
            if var.owner is None and var not in known and not isinstance(var, Constant):
                user = next((n for n, _ in self.clients[var] if n != "output"), None)
                where = f" (read by {user.op})" if user is not None else ""
                site = f"; it was created at {var.tag.site}" if var.tag.site else ""
                raise MissingInputError(
                    f"the outputs depend on {var}{where}, which is not among the "
                    f"inputs {self.inputs}{site}; pass it as an input or use givens"
                )

    # -- structure -----------------------------------------------------
    def add_input(self, var: Variable) -> None:
        if var in self.variables and var in self.inputs:
            return
        if var.owner is not None:
            raise ValueError(f"FunctionGraph: input {var} has an owner ({var.owner})")
        self.inputs.append(var)
        self._setup_var(var)

    def add_output(self, var: Variable, reason: str = "") -> None:
        self.outputs.append(var)
        self._import_var(var, reason)
        self.clients[var].append(("output", len(self.outputs) - 1))

    def _setup_var(self, var: Variable) -> None:
        if var not in self.variables:
            self.variables.add(var)
            self.clients.setdefault(var, [])

    def _import_var(self, var: Variable, reason: str) -> None:
        if var.owner is not None and var.owner not in self.apply_nodes:
            self._import_node(var.owner, reason)
        self._setup_var(var)

    def _import_node(self, node: Apply, reason: str) -> None:
        """Import ``node`` and every node it depends on that is missing."""
        for n in self._missing_nodes(node):
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
        """Drop one client of ``var``; prune what becomes unused."""
        stack = [(var, client)]
        while stack:
            v, c = stack.pop()
            clients = self.clients[v]
            clients.remove(c)
            if clients or v.owner is None:
                continue
            node = v.owner
            if any(self.clients.get(o) for o in node.outputs):
                continue
            if node not in self.apply_nodes:
                continue
            self.apply_nodes.discard(node)
            for o in node.outputs:
                self.variables.discard(o)
                self.clients.pop(o, None)
            self._callback("on_prune", node, reason)
            for i, inp in enumerate(node.inputs):
                stack.append((inp, (node, i)))
        if var.owner is None and not self.clients.get(var) and var not in self.inputs:
            self.variables.discard(var)
            self.clients.pop(var, None)

    # -- mutation ------------------------------------------------------
    def change_node_input(
        self,
        node: ClientNode,
        i: int,
        new_var: Variable,
        reason: str = "",
        check: bool = True,
    ) -> None:
        """Make input ``i`` of ``node`` (or output slot ``i``) read ``new_var``."""
        if node == "output":
            old = self.outputs[i]
            if check and not _compatible(old, new_var):
                raise TypeError(_type_mismatch(old, new_var, "output", i))
            self.outputs[i] = new_var
        else:
            assert isinstance(node, Apply)
            old = node.inputs[i]
            if check and not _compatible(old, new_var):
                raise TypeError(_type_mismatch(old, new_var, str(node.op), i))
            node.inputs[i] = new_var
        if old is new_var:
            return
        self._import_var(new_var, reason)
        self.clients[new_var].append((node, i))
        self._remove_client(old, (node, i), reason)
        self._callback("on_change_input", node, i, old, new_var, reason)

    def replace(
        self, var: Variable, new_var: Variable, reason: str = "", verbose: bool = False
    ) -> None:
        """Make every client of ``var`` read ``new_var`` (types must match)."""
        if var not in self.variables:
            return
        if not _compatible(var, new_var):
            converted = var.type.convert_variable(new_var)
            if converted is None:
                raise TypeError(_type_mismatch(var, new_var, "replace", 0))
            new_var = converted
        for node, i in list(self.clients[var]):
            self.change_node_input(node, i, new_var, reason, check=False)

    def replace_all(self, pairs: Iterable[tuple[Variable, Variable]], reason: str = "") -> None:
        for var, new_var in pairs:
            self.replace(var, new_var, reason)

    def replace_all_validate(
        self, pairs: Iterable[tuple[Variable, Variable]], reason: str = ""
    ) -> None:
        """Replace, then run every feature's ``validate``; undo on failure."""
        undo: list[tuple[ClientNode, int, Variable]] = []
        try:
            for var, new_var in pairs:
                if var not in self.variables:
                    continue
                if not _compatible(var, new_var):
                    converted = var.type.convert_variable(new_var)
                    if converted is None:
                        raise TypeError(_type_mismatch(var, new_var, "replace", 0))
                    new_var = converted
                for node, i in list(self.clients[var]):
                    undo.append((node, i, var))
                    self.change_node_input(node, i, new_var, reason, check=False)
            self.validate()
        except Exception:
            for node, i, old in reversed(undo):
                self.change_node_input(node, i, old, "rollback", check=False)
            raise

    def validate(self) -> None:
        for feature in self._features:
            feature.validate(self)

    # -- features ------------------------------------------------------
    def attach_feature(self, feature: Feature) -> None:
        if feature in self._features:
            return
        self._features.append(feature)
        feature.on_attach(self)

    def remove_feature(self, feature: Feature) -> None:
        self._features.remove(feature)
        feature.on_detach(self)

    @property
    def features(self) -> list[Feature]:
        return list(self._features)

    def _callback(self, name: str, *args: Any) -> None:
        for feature in self._features:
            fn = getattr(feature, name, None)
            if fn is not None:
                fn(self, *args)

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
            order.extend(io_toposort(self.inputs, [o for n in missing for o in n.outputs]))
        return order

    def check_integrity(self) -> None:
        """Raise if clients, nodes and variables disagree (a debugging aid)."""
        for node in self.apply_nodes:
            for i, inp in enumerate(node.inputs):
                if (node, i) not in self.clients.get(inp, []):
                    raise InconsistencyError(f"{inp} lacks client ({node}, {i})")
                if inp.owner is not None and inp.owner not in self.apply_nodes:
                    raise InconsistencyError(f"{node} reads {inp} from a foreign node")
        for var, clients in self.clients.items():
            for node, i in clients:
                if node == "output":
                    if self.outputs[i] is not var:
                        raise InconsistencyError(f"output {i} is not {var}")
                elif node not in self.apply_nodes or node.inputs[i] is not var:
                    raise InconsistencyError(f"stale client ({node}, {i}) of {var}")

    def clone(self, check_integrity: bool = True) -> FunctionGraph:
        return self.clone_get_equiv(check_integrity)[0]

    def clone_get_equiv(
        self, check_integrity: bool = True
    ) -> tuple[FunctionGraph, dict[Any, Any]]:
        equiv = clone_get_equiv(self.inputs, self.outputs, copy_orphans=False)
        fg = FunctionGraph(
            [equiv[i] for i in self.inputs], [equiv[o] for o in self.outputs], clone=False
        )
        fg.update_mapping = dict(self.update_mapping)
        if check_integrity:
            fg.check_integrity()
        for feature in self._features:
            clone_feature = getattr(feature, "clone", None)
            if clone_feature is not None:
                fg.attach_feature(clone_feature())
        return fg, equiv

    def __str__(self) -> str:
        return f"FunctionGraph({', '.join(str(o) for o in self.outputs)})"

    def __contains__(self, item: Any) -> bool:
        return item in self.variables or item in self.apply_nodes


def _compatible(old: Variable, new: Variable) -> bool:
    return old.type == new.type


def _type_mismatch(old: Variable, new: Variable, where: str, i: int) -> str:
    return (
        f"{where} (slot {i}): cannot replace {old} of type {old.type} by {new} of "
        f"type {new.type}; the rewrite must produce the same type"
    )
