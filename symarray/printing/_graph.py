"""What the printers share: the objects users pass, turned into one view.

``debugprint``, ``pp`` and ``pydotprint`` accept a Variable, a list of
Variables, an Apply, a FunctionGraph or a compiled Function.
:func:`graph_view` turns any of them into a :class:`GraphView`: the
variables to print, and, for graphs that run (a FunctionGraph or a
Function), the position of each node in the schedule, the backend of its
thunk and the value in its storage cell.  Ids (``[id A]``) and the short
text of constants are here too, so every printer labels things alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from symarray.graph.basic import Apply, Constant, Variable
from symarray.graph.fg import FunctionGraph
from symarray.graph.traversal import graph_inputs, io_toposort

__all__ = ["GraphView", "graph_view", "IdMaker", "ID_KINDS", "char_from_number",
           "short_value", "variable_label", "is_shared", "SUPPORTED_OBJECTS"]

#: what ``GraphView.storage`` gives for a variable whose cell a later node reused
REUSED = "(cell reused by a later node)"

#: what the printers accept, for error messages
SUPPORTED_OBJECTS = ("a Variable, a list or tuple of Variables, an Apply, a "
                     "FunctionGraph or a compiled Function")


@dataclass
class GraphView:
    """One printable graph, whatever object it came from."""

    #: the variables to print, in order
    outputs: list[Variable]
    #: the graph's inputs (a FunctionGraph's inputs, else the ownerless ancestors)
    inputs: list[Variable]
    #: node -> position in the schedule (graphs that run), else empty
    order: dict[Apply, int] = field(default_factory=dict)
    #: node -> backend of its thunk (``c``, ``numpy``, ``py``): compiled only
    backend: dict[Apply, str] = field(default_factory=dict)
    #: variable -> value held in its VM cell (compiled only)
    storage: Callable[[Variable], Any] | None = None
    #: the FunctionGraph behind the view (for clients), if any
    fgraph: FunctionGraph | None = None

    def nodes(self) -> list[Apply]:
        """The Apply nodes, in schedule order when known, else topologically."""
        topo = io_toposort(self.inputs, self.outputs)
        if self.order:
            topo.sort(key=lambda n: self.order.get(n, len(self.order)))
        return topo


def _is_function(obj: Any) -> bool:
    maker = getattr(obj, "maker", None)
    return isinstance(getattr(maker, "fgraph", None), FunctionGraph)


def _function_view(fn: Any) -> GraphView:
    fgraph: FunctionGraph = fn.maker.fgraph
    program = getattr(getattr(fn, "vm", None), "program", None)
    schedule = list(getattr(program, "nodes", None) or fn.maker.schedule)
    view = GraphView(list(fgraph.outputs), list(fgraph.inputs),
                     {node: k for k, node in enumerate(schedule)}, fgraph=fgraph)
    if program is not None:
        view.backend = {node: str(getattr(thunk, "backend", "?"))
                        for node, thunk in zip(program.nodes, program.thunks,
                                               strict=False)}
        cells, cell_of = program.cells, program.cell_of
        # no-GC memory plans let variables with disjoint lifetimes share a
        # cell: it holds the value of the last of them the schedule computes
        holder: dict[int, Variable] = {}
        for node in schedule:
            for out in node.outputs:
                if out in cell_of:
                    holder[cell_of[out]] = out

        def storage(var: Variable) -> Any:
            idx = cell_of.get(var)
            if idx is None:
                return None
            if holder.get(idx, var) is not var:
                return REUSED
            return cells[idx]

        view.storage = storage
    return view


def graph_view(obj: Any, who: str) -> GraphView:
    """The :class:`GraphView` of ``obj`` (see the module docstring).

    ``who`` names the calling function in error messages.
    """
    if isinstance(obj, Variable):
        return GraphView([obj], graph_inputs([obj]))
    if isinstance(obj, Apply):
        outs = list(obj.outputs)
        return GraphView(outs, graph_inputs(outs))
    if isinstance(obj, FunctionGraph):
        order = {node: k for k, node in enumerate(obj.toposort())}
        return GraphView(list(obj.outputs), list(obj.inputs), order, fgraph=obj)
    if _is_function(obj):
        return _function_view(obj)
    if isinstance(obj, (list, tuple)):
        if not obj:
            raise ValueError(f"{who}: got an empty {type(obj).__name__}; pass "
                             f"{SUPPORTED_OBJECTS}")
        views = [graph_view(o, who) for o in obj]
        merged = GraphView([], [])
        for v in views:
            merged.outputs.extend(v.outputs)
            merged.inputs.extend(i for i in v.inputs if i not in merged.inputs)
            merged.order.update(v.order)
            merged.backend.update(v.backend)
            merged.storage = merged.storage or v.storage
            merged.fgraph = merged.fgraph or v.fgraph
        if len(views) > 1:
            merged.fgraph = None  # clients of one graph would mislead
        return merged
    raise TypeError(f"{who}: cannot print a {type(obj).__name__} ({obj!r:.60}); "
                    f"pass {SUPPORTED_OBJECTS}")


# -- ids -------------------------------------------------------------------------

#: the ``ids`` values debugprint and pydotprint accept
ID_KINDS = ("CHAR", "id", "int", "auto", "")


def char_from_number(number: int) -> str:
    """``0 -> 'A'``, ``25 -> 'Z'``, ``26 -> 'BA'``: base 26 with A as digit 0.

    >>> [char_from_number(n) for n in (0, 1, 25, 26, 27)]
    ['A', 'B', 'Z', 'BA', 'BB']
    """
    if number < 0:
        raise ValueError(f"char_from_number: needs a number >= 0, got {number}")
    digits = ""
    while True:
        number, rest = divmod(number, 26)
        digits = chr(ord("A") + rest) + digits
        if number == 0:
            return digits


class IdMaker:
    """Gives each node (or ownerless variable) one id, ``[id A]`` style.

    ``used`` (a dict, shared between calls when the caller passes one) maps
    each object to its id text; ids are never reused.
    """

    def __init__(self, kind: str, used: dict[Any, str] | None, who: str) -> None:
        if kind not in ID_KINDS:
            raise ValueError(f"{who}: ids must be one of {list(ID_KINDS)}, got "
                             f"{kind!r}")
        if used is not None and not isinstance(used, dict):
            raise TypeError(f"{who}: used_ids must be a dict (or None), got "
                            f"{type(used).__name__}")
        self.kind = kind
        self.used: dict[Any, str] = {} if used is None else used
        self._next = len(self.used)

    @staticmethod
    def key(var: Variable | Apply) -> Variable | Apply:
        """Node outputs share their node's id; other variables have their own."""
        if isinstance(var, Variable) and var.owner is not None:
            return var.owner
        return var

    def __call__(self, obj: Variable | Apply) -> str:
        """``[id X]`` for ``obj`` (``""`` when ids are off)."""
        if self.kind == "":
            return ""
        key = self.key(obj)
        got = self.used.get(key)
        if got is None:
            got = self.used[key] = f"[id {self._make(key)}]"
        return got

    def _make(self, key: Variable | Apply) -> str:
        if self.kind == "id":
            return str(id(key))
        if self.kind == "auto":
            var = key.outputs[0] if isinstance(key, Apply) else key
            return str(getattr(var, "auto_name", id(var)))
        n = self._next
        self._next += 1
        return char_from_number(n) if self.kind == "CHAR" else str(n)


# -- labels ----------------------------------------------------------------------


def short_value(data: Any, limit: int = 40) -> str:
    """A one-line text of a constant's value: ``2.0``, ``[1. 2. 3.]``,
    ``(2, 3) of 0.0`` when every element is equal, cut at ``limit``.

    >>> short_value(np.ones((2, 3)))
    '(2, 3) of 1.0'
    >>> short_value(np.arange(3.0))
    '[0.0, 1.0, 2.0]'
    """
    arr = np.asarray(data) if isinstance(data, (np.ndarray, np.generic)) else None
    if arr is None:
        text = repr(data) if not isinstance(data, (int, float, complex)) else str(data)
    elif arr.ndim == 0:
        text = str(arr.item())
    elif arr.size > 1 and arr.dtype.kind in "biufc" and bool(
            np.all(arr == arr.flat[0])):
        text = f"{arr.shape} of {arr.flat[0].item()}"
    elif arr.size <= 8:
        text = str(arr.tolist())
    else:
        text = np.array2string(arr, threshold=8, edgeitems=2, separator=", ")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_shared(var: Variable) -> bool:
    """True for a shared variable (or an fgraph's copy of one)."""
    from symarray.compile.sharedvalue import SharedVariable

    return isinstance(var, SharedVariable)


def variable_label(var: Variable) -> str:
    """How a variable without an owner is named: its name, else
    ``TensorConstant{2.0}`` for a constant, else its type in angle brackets."""
    if var.name is not None:
        return var.name
    if isinstance(var, Constant):
        return f"{type(var).__name__}{{{short_value(var.data)}}}"
    return str(var)

