"""The no-GC memory planner: which intermediates can share a storage cell.

In no-GC mode every cell keeps its array between calls and C kernels write
into the array their output cell holds when its shape and dtype match, so a
repeated call allocates nothing.  Kept naively, that holds every
intermediate at once.  The planner lets intermediates whose lifetimes do
not overlap use one cell, so the kept memory stays close to what GC mode
needs at its peak, while calls still allocate nothing after the first.

Public API (stable; the profiler calls it)::

    plan = plan_memory(fgraph, schedule, sizes=None, shape_key=None)
    plan.peaks(sizes=None)   # Peaks(gc=..., naive=..., planned=...) in bytes
    print(plan)              # the cells, their members and the three peaks
    plan.representative(var) # the variable whose cell ``var`` uses

``sizes`` maps variables to bytes (from static shapes by default, see
:func:`static_nbytes`; :func:`sizes_from_values` turns values of a run into
sizes); ``shape_key`` says which variables surely have the same shape (see
below).  ``symarray.compile.linkers.memory_plan`` plans exactly as the no-GC
linkers do (symbolic shapes), and a compiled no-GC function keeps its plan
in ``fn.vm.program.memory_plan``.

Design decisions:

* **Positions.**  Node ``k`` of the schedule as the assembler lays it out
  (a lazy ``ifelse``'s branches in blocks, :func:`~symarray.control.
  branches.plan_branches`) runs at position ``k``.  Jumps only go forward,
  so a call runs a subsequence of the layout: lifetimes that are disjoint
  in the layout are disjoint on every path.
* **Buffer owners.**  A node output that is neither a view (``view_map``)
  nor an in-place result (``destroy_map``) owns its buffer.  Views and
  in-place results own nothing: each read of them is a read of their
  owners, so they extend their owners' lifetimes, and they keep cells of
  their own (their cells hold arrays that alias the owner; a kernel must
  never write into one).
* **Never shared:** graph inputs, constants, graph outputs and every owner
  an output views, values that are not arrays with a dtype, and owners
  whose shape has no key.
* **Partners** have the same dtype and the same shape key, and strictly
  disjoint lifetimes ``[first write, last read]`` (a node never writes the
  cell it reads).  Each key class is coloured greedily by first write,
  which uses the fewest cells (interval graphs).
* **Shape keys.**  ``shape_key(var)`` returns a hashable key or None.  The
  default keys static shapes, and the symbolic shapes of the graph's
  :class:`~symarray.tensor.rewriting.shape.ShapeFeature` when one is
  attached (equal entries: the same int, or the same expression).
  :class:`ShapeClasses` builds keys from any ``shape_of`` plus extra
  equalities (the linker adds elementwise broadcasting's: an input's
  dimension not marked broadcastable equals the output's).
* **Run time.**  A cell is not a byte slot: a kernel reuses the array its
  cell holds when shape and dtype match, else allocates a new one and the
  cell drops the old.  So sharing is always correct and the keys only
  decide whether reuse happens.  When the batch size changes, variables
  with equal symbolic shapes change together: the first call at the new
  size allocates each cell once, and later calls allocate nothing again.
  Trade-off: variables of different shapes never share, where byte slots
  that only grow (a kernel carving its output out of a slot) could also
  pack a ``(n, 10)`` result into a dead ``(n, 500)`` buffer; that needs
  the kernels to take their output from the VM and is left for later.

The three peaks count the arrays the function allocates (intermediates and
outputs; inputs and constants are not counted; views and in-place results
count nothing) and both branches of an ``ifelse``: ``gc`` frees each owner
after its last read, ``naive`` keeps every owner (no-GC without a plan),
``planned`` keeps one array per planned cell plus every unplanned owner.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from symarray.control.branches import plan_branches
from symarray.graph.basic import Apply, Constant, Variable
from symarray.graph.fg import FunctionGraph

__all__ = ["plan_memory", "MemoryPlan", "Peaks", "ShapeClasses", "static_nbytes",
           "sizes_from_values", "static_shape_key", "layout"]

ShapeKey = Callable[[Variable], Hashable | None]


class Peaks(NamedTuple):
    """Peak bytes of one call in the three memory modes."""

    gc: int
    naive: int
    planned: int


def layout(schedule: Sequence[Apply], outputs: Sequence[Variable]) -> list[Apply]:
    """The node order the assembler emits: ``schedule`` with lazy branches
    laid out in blocks (unchanged when nothing is lazy)."""
    plan = plan_branches(schedule, outputs)
    return list(schedule) if plan is None else plan.order


def static_nbytes(var: Variable) -> int | None:
    """Bytes of ``var``'s value when its type fixes them, else None."""
    shape = getattr(var.type, "shape", None)
    dtype = getattr(var.type, "dtype", None)
    if shape is None or dtype is None or any(s is None for s in shape):
        return None
    try:
        itemsize = np.dtype(dtype).itemsize
    except TypeError:
        return None
    return int(np.prod(shape, dtype=np.int64)) * itemsize


def sizes_from_values(values: Mapping[Variable, Any]) -> dict[Variable, int]:
    """``{var: nbytes}`` for the values of a run (non-arrays count 0)."""
    return {v: int(getattr(x, "nbytes", 0) or 0) for v, x in values.items()}


def _dtype_of(var: Variable) -> str | None:
    dtype = getattr(var.type, "dtype", None)
    if dtype is None or getattr(var.type, "shape", None) is None:
        return None
    return str(dtype)


def static_shape_key(var: Variable) -> Hashable | None:
    """``(dtype, shape)`` when every length of ``var``'s type is static."""
    dtype = _dtype_of(var)
    shape = getattr(var.type, "shape", None)
    if dtype is None or shape is None or any(s is None for s in shape):
        return None
    return (dtype, tuple(int(s) for s in shape))


class _Interner:
    """Numbers shape entries so that equal values get equal numbers: the
    same int or integer constant, or the same op applied to the same
    numbered inputs (hash-consing: every key is a short tuple of ints, so
    deep shape expressions cost time linear in their size)."""

    def __init__(self) -> None:
        self.ids: dict[tuple[Any, ...], int] = {}
        self.ints: set[int] = set()  # ids of static lengths
        self._of: dict[int, int] = {}  # id(entry) -> number
        self._keep: list[Any] = []  # the entries numbered by id()

    def _number(self, key: tuple[Any, ...]) -> int:
        n = self.ids.get(key)
        if n is None:
            n = self.ids[key] = len(self.ids)
            if key[0] == "int":
                self.ints.add(n)
        return n

    def __call__(self, entry: Any) -> int:
        """The number of ``entry`` (an int or an integer variable)."""
        if isinstance(entry, (int, np.integer)):
            return self._number(("int", int(entry)))
        stack = [entry]
        while stack:  # inputs first, without recursion
            e = stack[-1]
            if id(e) in self._of:
                stack.pop()
                continue
            key: tuple[Any, ...] | None = None
            if isinstance(e, Constant):
                data = np.asarray(e.data)
                if data.ndim == 0 and data.dtype.kind in "iu":
                    key = ("int", int(data))
            elif isinstance(e, Variable) and e.owner is not None:
                pending = [i for i in e.owner.inputs if id(i) not in self._of]
                if pending:
                    stack.extend(pending)
                    continue
                try:
                    hash(e.owner.op)
                    key = ("apply", e.owner.op, e.index,
                           *(self._of[id(i)] for i in e.owner.inputs))
                except TypeError:
                    key = None
            if key is None:
                key = ("var", id(e))
            self._of[id(e)] = self._number(key)
            self._keep.append(e)
            stack.pop()
        return self._of[id(entry)]


class ShapeClasses:
    """Shape keys from symbolic shapes, with dimensions known equal merged.

    ``shape_of(var)`` gives one entry per dimension (an int, or a 0-d
    integer variable as the ShapeFeature gives).  Entries are equal when
    they are the same int or the same expression; :meth:`union` declares
    more equalities.  ``key(var)`` is ``(dtype, classes)``.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x, y = T.dvector("x"), T.dvector("y")
    >>> shapes = {x: (x.shape[0],), y: (y.shape[0],)}
    >>> sc = ShapeClasses(shapes.__getitem__)
    >>> sc.key(x) == sc.key(y)
    False
    >>> sc.union(shapes[x][0], shapes[y][0])
    >>> sc.key(x) == sc.key(y)
    True
    """

    def __init__(self, shape_of: Callable[[Variable], Sequence[Any]]) -> None:
        self._shape_of = shape_of
        self._number = _Interner()
        self._parent: dict[int, int] = {}

    def _find(self, k: int) -> int:
        parent = self._parent
        root = k
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(k, k) != root:  # path compression
            parent[k], k = root, parent[k]
        return root

    def union(self, a: Any, b: Any) -> None:
        """Declare entries ``a`` and ``b`` equal."""
        ra, rb = self._find(self._number(a)), self._find(self._number(b))
        if ra == rb:
            return
        if rb in self._number.ints:  # keep a static length as the class's name
            ra, rb = rb, ra
        self._parent[rb] = ra

    def entries(self, var: Variable) -> Sequence[Any] | None:
        """``shape_of(var)``, or None when it is unknown."""
        try:
            return self._shape_of(var)
        except Exception:  # noqa: BLE001 - an unknown shape is just not shared
            return None

    def key(self, var: Variable) -> Hashable | None:
        """``(dtype, per-dimension classes)``, or None when unknown."""
        dtype = _dtype_of(var)
        if dtype is None:
            return None
        entries = self.entries(var)
        if entries is None:
            return None
        return (dtype, tuple(self._find(self._number(e)) for e in entries))


def _default_shape_key(fgraph: FunctionGraph | None) -> ShapeKey:
    feature = getattr(fgraph, "shape_feature", None)
    shape_of = getattr(feature, "shape_of", None)
    if shape_of is None:
        return static_shape_key
    return ShapeClasses(shape_of).key


@dataclass(eq=False)
class MemoryPlan:
    """Which intermediates share a cell in planned no-GC mode.

    ``groups`` lists the shared cells: each a tuple of buffer owners in
    the order they write it (a group of one is a planned owner alone in
    its cell).  ``lifetime[v]`` is an owner's ``(first write, last read)``
    in ``order`` positions; ``roots[v]`` the owners whose buffer a node
    output may use (itself, for an owner).
    """

    order: list[Apply]
    lifetime: dict[Variable, tuple[int, int]]
    roots: dict[Variable, frozenset[Variable]]
    #: outputs and the owners they view: never shared
    pinned: frozenset[Variable]
    groups: list[tuple[Variable, ...]]
    #: default sizes (bytes per variable) for :meth:`peaks`
    sizes: dict[Variable, int] = field(default_factory=dict)
    _rep: dict[Variable, Variable] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rep = {v: g[0] for g in self.groups for v in g}

    @property
    def owners(self) -> list[Variable]:
        """Every buffer owner, in order of first write."""
        return sorted(self.lifetime, key=lambda v: self.lifetime[v][0])

    @property
    def shared(self) -> dict[Variable, Variable]:
        """``{var: representative}`` for every planned owner."""
        return dict(self._rep)

    def representative(self, var: Variable) -> Variable:
        """The variable whose cell ``var`` uses (``var`` itself if unplanned)."""
        return self._rep.get(var, var)

    def _size(self, var: Variable, sizes: Mapping[Variable, int]) -> int:
        size = sizes.get(var)
        if size is None:
            size = static_nbytes(var)
        return int(size or 0)

    def unknown(self, sizes: Mapping[Variable, int] | None = None) -> list[Variable]:
        """Owners whose size is neither given nor static (counted as 0)."""
        sizes = self.sizes if sizes is None else sizes
        return [v for v in self.owners if v not in sizes and static_nbytes(v) is None]

    def peaks(self, sizes: Mapping[Variable, int] | None = None) -> Peaks:
        """Peak bytes in GC, naive no-GC and planned no-GC mode.

        ``sizes`` (bytes per variable) defaults to the sizes given to
        :func:`plan_memory`; missing ones come from static shapes, else 0.
        """
        sizes = self.sizes if sizes is None else sizes
        size = {v: self._size(v, sizes) for v in self.lifetime}
        end_of_call = len(self.order)
        born: dict[int, list[Variable]] = {}
        dies: dict[int, list[Variable]] = {}
        for v, (first, last) in self.lifetime.items():
            born.setdefault(first, []).append(v)
            dies.setdefault(end_of_call if v in self.pinned else last, []).append(v)
        live = gc = 0
        for k in range(end_of_call):
            live += sum(size[v] for v in born.get(k, ()))
            gc = max(gc, live)
            live -= sum(size[v] for v in dies.get(k, ()))
        naive = sum(size.values())
        grouped = {v for g in self.groups for v in g}
        planned = sum(max(size[v] for v in g) for g in self.groups)
        planned += sum(s for v, s in size.items() if v not in grouped)
        return Peaks(gc, naive, planned)

    def __str__(self) -> str:
        planned = sum(len(g) for g in self.groups)
        lines = [
            f"memory plan: {len(self.order)} nodes, {len(self.lifetime)} buffer "
            f"owners; {planned} planned into {len(self.groups)} cells, "
            f"{len(self.lifetime) - planned} kept apart "
            f"({len(self.pinned)} of them outputs or viewed by an output)"
        ]
        for n, group in enumerate(self.groups):
            if len(group) < 2:
                continue
            members = ", ".join(
                f"{v} [{self.lifetime[v][0]}-{self.lifetime[v][1]}]" for v in group)
            lines.append(f"  cell {n}: {members}")
        gc, naive, plan = self.peaks()
        ratio = f" = {plan / gc:.2f}x gc" if gc else ""
        lines.append(f"peaks: gc {_fmt(gc)}, naive no-GC {_fmt(naive)}, "
                     f"planned no-GC {_fmt(plan)}{ratio}")
        unknown = self.unknown()
        if unknown:
            lines.append(f"  ({len(unknown)} owners of unknown size counted as 0; "
                         "give sizes= from a run)")
        return "\n".join(lines)


def _fmt(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)  # pragma: no cover


def _alias_sources(node: Apply, j: int) -> list[int]:
    view_map = getattr(node.op, "view_map", None) or {}
    destroy_map = getattr(node.op, "destroy_map", None) or {}
    return [*view_map.get(j, ()), *destroy_map.get(j, ())]


def plan_memory(fgraph: FunctionGraph, schedule: Sequence[Apply],
                sizes: Mapping[Variable, int] | None = None, *,
                shape_key: ShapeKey | None = None) -> MemoryPlan:
    """Plan which intermediates of ``schedule`` share a cell in no-GC mode.

    Parameters
    ----------
    fgraph
        The graph (its inputs and outputs; its ShapeFeature if attached).
    schedule
        Its nodes in execution order (before the branch layout: the plan
        lays lazy branches out as the assembler does).
    sizes
        Bytes per variable, the default for :meth:`MemoryPlan.peaks`.
    shape_key
        ``var -> hashable or None``: variables with equal keys surely have
        the same dtype and shape (None: never shared).  Default: static
        shapes, or the attached ShapeFeature's symbolic shapes.

    Returns
    -------
    MemoryPlan

    Examples
    --------
    >>> import symarray.tensor as T
    >>> from symarray.graph.fg import FunctionGraph
    >>> x = T.TensorType("float64", shape=(1000,))("x")
    >>> a = T.exp(x); b = T.sin(a); c = T.cos(b); d = T.tanh(c)
    >>> fg = FunctionGraph([x], [d], clone=False)
    >>> plan = plan_memory(fg, fg.toposort())
    >>> plan.representative(c) is a      # a is dead when c is written
    True
    >>> plan.peaks()
    Peaks(gc=16000, naive=32000, planned=24000)
    """
    order = layout(schedule, fgraph.outputs)
    key_of = shape_key or _default_shape_key(fgraph)
    roots: dict[Variable, frozenset[Variable]] = {}
    lifetime: dict[Variable, list[int]] = {}

    def roots_of(var: Variable) -> frozenset[Variable]:
        return roots.get(var, frozenset())  # inputs, constants: nothing to plan

    for k, node in enumerate(order):
        for var in node.inputs:
            for r in roots_of(var):
                lifetime[r][1] = max(lifetime[r][1], k)
        for j, out in enumerate(node.outputs):
            sources = _alias_sources(node, j)
            if sources:
                roots[out] = frozenset().union(
                    *(roots_of(node.inputs[i]) for i in sources))
            else:
                roots[out] = frozenset((out,))
                lifetime[out] = [k, k]
    pinned: set[Variable] = set()
    for out in fgraph.outputs:
        pinned |= roots_of(out)
    classes: dict[Hashable, list[Variable]] = {}
    for v in sorted(lifetime, key=lambda v: lifetime[v][0]):
        if v in pinned:
            continue
        key = key_of(v)
        if key is not None:
            classes.setdefault(key, []).append(v)
    groups: list[list[Variable]] = []
    for members in classes.values():
        free: list[tuple[int, int]] = []  # (last read, group) of each cell
        for v in members:
            first, last = lifetime[v]
            if free and free[0][0] < first:  # the cell freed first is free
                g = free[0][1]
                heapq.heapreplace(free, (last, g))
                groups[g].append(v)
            else:
                groups.append([v])
                heapq.heappush(free, (last, len(groups) - 1))
    return MemoryPlan(
        order=order,
        lifetime={v: (a, b) for v, (a, b) in lifetime.items()},
        roots=roots,
        pinned=frozenset(pinned),
        groups=[tuple(g) for g in groups],
        sizes=dict(sizes or {}),
    )

