"""Branch regions: which lazy ``ifelse`` branch each node belongs to.

A node belongs to the innermost branch that holds every one of its uses.
A use through input ``i`` of an :class:`~symarray.control.ifelse.IfElse`
node ``N`` is in the region ``(N, "then")`` or ``(N, "else")`` (the
condition is read by ``N`` itself, in ``N``'s region); any other use is in
the reader's region; a graph output is in the top region (``None``).  A
node's region is the lowest common ancestor of its uses' regions in the
region tree (region ``(N, side)`` sits inside ``N``'s region), so a value
needed by both branches, or outside them, runs before the ``ifelse``.

The assembler lays the schedule out region by region
(:func:`plan_branches`): at each ``IfElse`` node it emits
``JUMP_IF_FALSE cond -> else``, the then-block, ``JUMP -> end``, the
else-block and then ``CALL`` of the node itself, which only selects.
Fusion reads the same regions through ``fgraph.branch_of(node)``
(:class:`BranchTracker`), so it never fuses nodes of different branches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from symarray.graph.basic import Apply, Variable
from symarray.graph.fg import Feature, FunctionGraph

__all__ = ["Region", "branch_regions", "plan_branches", "BranchPlan",
           "BranchTracker", "track_branches", "is_lazy"]

#: ``None`` (outside every branch) or ``(ifelse_node, "then" | "else")``
Region = tuple[Apply, str] | None


def is_lazy(node: Apply) -> bool:
    """True when ``node`` runs only one of two input groups (an IfElse)."""
    return getattr(node.op, "lazy_branches", None) is not None


def _parent(region: Region, region_of: dict[Apply, Region]) -> Region:
    return None if region is None else region_of[region[0]]


def _depth(region: Region, region_of: dict[Apply, Region]) -> int:
    d = 0
    while region is not None:
        region = region_of[region[0]]
        d += 1
    return d


def _common(a: Region, b: Region, region_of: dict[Apply, Region]) -> Region:
    """The lowest common ancestor of two regions."""
    da, db = _depth(a, region_of), _depth(b, region_of)
    while da > db:
        a, da = _parent(a, region_of), da - 1
    while db > da:
        b, db = _parent(b, region_of), db - 1
    while a != b:
        a, b = _parent(a, region_of), _parent(b, region_of)
    return a


def branch_regions(order: Sequence[Apply], outputs: Sequence[Variable]
                   ) -> dict[Apply, Region]:
    """The region of every node of a topologically ordered schedule."""
    readers: dict[Variable, list[Region]] = {o: [None] for o in outputs}
    region_of: dict[Apply, Region] = {}
    unset = object()
    for node in reversed(order):
        region: Any = unset
        for out in node.outputs:
            for r in readers.get(out, ()):
                region = r if region is unset else _common(region, r, region_of)
        if region is unset:  # read by nobody: runs where its readers would
            region = None
        region_of[node] = region
        op: Any = node.op
        sides = op.lazy_branches(node) if is_lazy(node) else None
        for i, var in enumerate(node.inputs):
            use: Region = region
            if sides is not None and sides[i] is not None:
                use = (node, sides[i])
            readers.setdefault(var, []).append(use)
    return region_of


@dataclass
class BranchPlan:
    """A schedule laid out in blocks, for the assembler.

    ``order`` is the new schedule (node ``k`` is ``order[k]``); ``items``
    the instructions without FREEs: ``("call", k)``, ``("jif", cond_var,
    label)``, ``("jump", label)``, ``("label", label)``.
    """

    order: list[Apply]
    items: list[tuple[Any, ...]]
    region_of: dict[Apply, Region]

    def free_point(self, reader: int, value: Variable) -> int:
        """The node after which ``value``'s read by node ``reader`` is over
        on every path: the reader, lifted out of the branches that the
        value's producer is not in."""
        owner = value.owner
        home = self.region_of.get(owner) if owner is not None else None
        node = self.order[reader]
        region = self.region_of[node]
        while region is not None and region != home and _inside(
                region, home, self.region_of):
            node = region[0]
            region = self.region_of[node]
        return self.index[node]

    def __post_init__(self) -> None:
        self.index = {n: k for k, n in enumerate(self.order)}


def _inside(region: Region, home: Region, region_of: dict[Apply, Region]) -> bool:
    """True when ``region`` lies strictly inside ``home``."""
    r = region
    while r is not None:
        r = region_of[r[0]]
        if r == home:
            return True
    return False


def plan_branches(schedule: Sequence[Apply], outputs: Sequence[Variable]
                  ) -> BranchPlan | None:
    """Lay ``schedule`` out in branch blocks; None when nothing is lazy."""
    if not any(is_lazy(n) for n in schedule):
        return None
    region_of = branch_regions(schedule, outputs)
    members: dict[Region, list[Apply]] = {}
    for node in schedule:
        members.setdefault(region_of[node], []).append(node)
    order: list[Apply] = []
    items: list[tuple[Any, ...]] = []
    labels = iter(range(1 << 30))

    def emit(region: Region) -> None:
        for node in members.get(region, ()):
            if is_lazy(node):
                at_else, at_end = next(labels), next(labels)
                op: Any = node.op
                items.append(("jif", op.lazy_condition(node), at_else))
                emit((node, "then"))
                items.append(("jump", at_end))
                items.append(("label", at_else))
                emit((node, "else"))
                items.append(("label", at_end))
            items.append(("call", len(order)))
            order.append(node)

    emit(None)
    return BranchPlan(order, items, region_of)


class BranchTracker(Feature):
    """Gives a FunctionGraph ``branch_of(node)``, recomputed after changes."""

    def __init__(self) -> None:
        self._regions: dict[Apply, Region] | None = None
        self._fgraph: FunctionGraph | None = None

    def clone(self) -> BranchTracker:
        return BranchTracker()

    def on_attach(self, fgraph: FunctionGraph) -> None:
        self._fgraph = fgraph
        fgraph.branch_of = self.branch_of  # type: ignore[attr-defined]

    def on_detach(self, fgraph: FunctionGraph) -> None:
        if getattr(fgraph, "branch_of", None) == self.branch_of:
            del fgraph.branch_of  # type: ignore[attr-defined]
        self._fgraph = None

    def on_import(self, fgraph: FunctionGraph, node: Apply, reason: str) -> None:
        self._regions = None

    def on_prune(self, fgraph: FunctionGraph, node: Apply, reason: str) -> None:
        self._regions = None

    def on_change_input(self, *args: Any, **kwargs: Any) -> None:
        self._regions = None

    def branch_of(self, node: Apply) -> Region:
        """The region of ``node`` (None: outside every lazy branch)."""
        fg = self._fgraph
        if fg is None:
            raise ValueError("branch_of: the BranchTracker is not attached")
        if self._regions is None:
            if any(is_lazy(n) for n in fg.apply_nodes):
                self._regions = branch_regions(fg.toposort(), fg.outputs)
            else:
                self._regions = {}
        return self._regions.get(node)


def track_branches(fgraph: FunctionGraph) -> None:
    """Attach a :class:`BranchTracker` unless ``fgraph`` has one."""
    if not any(isinstance(f, BranchTracker) for f in fgraph.features):
        fgraph.attach_feature(BranchTracker())
