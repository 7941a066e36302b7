"""``debugprint``: a graph as an indented tree, one line per variable.

Each line shows the op (``add``; ``scan.1`` for output 1 of a multi-output
node) or the input's name, an id (``[id A]``), and on request the type,
static shape, view/destroy maps, clients and stored value.  A node is
expanded the first time it is met; later uses print only its line, so a
shared subexpression appears once and is referred to by id.  For a
FunctionGraph or a compiled Function each node line ends with its position
in the schedule, and for a Function with the backend of its thunk
(``[c]``: a C kernel, ``[numpy]``/``[py]``: the op's ``perform``).  Inner
graphs (scan steps, fused composites, lazy ifelse blocks) follow under
``Inner graphs:`` (:mod:`symarray.printing.inner`).

The tree is walked with an explicit stack, so deep graphs (long chains)
print without hitting Python's recursion limit.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from typing import IO, Any

from symarray.graph.basic import Apply, Variable
from symarray.printing._graph import (
    REUSED,
    GraphView,
    IdMaker,
    graph_view,
    short_value,
    variable_label,
)
from symarray.printing.inner import (
    InnerGraph,
    LazyBlocks,
    has_inner_graph,
    ifelse_input_tags,
    inner_graph,
    is_ifelse,
)

__all__ = ["debugprint"]

#: Theano/PyTensor arguments symarray does not implement, and why
_UNSUPPORTED = {
    "profile": "profiling reports live in symarray.profiling "
               "(theano.function(..., profile=True))",
    "scan_ops": "inner graphs are found and printed automatically",
    "print_op_info": "scan inner inputs are already named by their role "
                     "(x[t-1], ...) and point at their outer inputs",
    "include_nan_info": "use DebugMode or a Print op to inspect values",
    "include_inf_info": "use DebugMode or a Print op to inspect values",
}

_KNOWN = ("obj", "depth", "print_type", "file", "ids", "stop_on_name", "done",
          "print_storage", "print_clients", "used_ids", "print_view_map",
          "print_destroy_map", "print_shape", "print_fgraph_inputs", "id_type")


class _Printer:
    """The state of one debugprint call."""

    def __init__(self, view: GraphView, ids: IdMaker, done: dict[Any, str],
                 opts: dict[str, Any]) -> None:
        self.view = view
        self.ids = ids
        self.done = done
        self.opts = opts
        self.lines: list[str] = []
        self.inner_queue: list[Apply] = []
        self._queued: set[Apply] = set()
        self.cache: dict[Any, Any] = {}
        self.clients: dict[Variable, list[Apply | str]] | None = None

    # -- one line ----------------------------------------------------------------
    def _extras(self, var: Variable) -> list[str]:
        opts = self.opts
        parts = []
        if opts["print_type"]:
            parts.append(f"<{var.type}>")
        if opts["print_shape"]:
            shape = getattr(var.type, "shape", None)
            if shape is not None:
                text = ", ".join("?" if s is None else str(s) for s in shape)
                parts.append(f"shape=({text}{',' if len(shape) == 1 else ''})")
        return parts

    def _tail(self, var: Variable) -> list[str]:
        parts = []
        if self.opts["print_clients"]:
            clients = self._clients().get(var, [])
            if len(clients) > 1:
                parts.append("clients:" + ",".join(map(self._client_text, clients)))
        if self.opts["print_storage"] and self.view.storage is not None:
            value = self.view.storage(var)
            if value is REUSED:
                parts.append(f"storage={REUSED}")
            elif value is not None:
                parts.append(f"storage={short_value(value, 60)}")
        return parts

    def node_line(self, var: Variable, tag: str, head: bool = False) -> str:
        """The line of ``var`` (a node output); ``head``: the line that opens
        the node's inner graph (the op alone, no schedule position)."""
        node = var.owner
        assert node is not None
        op = node.op
        label = str(op) if node.nout == 1 or head else f"{op}.{var.index}"
        parts = [tag + label]
        if self.ids.kind:
            parts.append(self.ids(var))
        parts += self._extras(var)
        if var.name is not None:
            parts.append(f"'{var.name}'")
        dmap = getattr(op, "destroy_map", None)
        if self.opts["print_destroy_map"] and dmap:
            parts.append(f"d={dict(dmap)}")
        vmap = getattr(op, "view_map", None)
        if self.opts["print_view_map"] and vmap:
            parts.append(f"v={dict(vmap)}")
        text = " ".join(parts)
        pos = None if head else self.view.order.get(node)
        if pos is not None:
            text += f"   {pos}"
            backend = self.view.backend.get(node)
            if backend is not None:
                text += f" [{backend}]"
        return " ".join([text, *([] if head else self._tail(var))])

    def leaf_line(self, var: Variable, tag: str, inner: InnerGraph | None) -> str:
        label = None if inner is None else inner.leaf_labels.get(var)
        parts = [tag + (label if label is not None else variable_label(var))]
        if self.ids.kind:
            parts.append(self.ids(var))
        parts += self._extras(var)
        if inner is not None and var in inner.outer_of:
            outer = inner.outer_of[var]
            parts.append(f"-> {self.ids(outer)}" if self.ids.kind
                         else f"-> {_plain(outer)}")
        return " ".join(parts + self._tail(var))

    def _clients(self) -> dict[Variable, list[Apply | str]]:
        if self.clients is None:
            clients: dict[Variable, list[Apply | str]] = {}
            for node in self.view.nodes():
                for var in node.inputs:
                    clients.setdefault(var, []).append(node)
            for out in self.view.outputs:
                clients.setdefault(out, []).append("output")
            self.clients = clients
        return self.clients

    def _client_text(self, client: Apply | str) -> str:
        if isinstance(client, str):
            return client
        return self.ids(client) if self.ids.kind else str(client.op)

    # -- one tree ----------------------------------------------------------------
    def tree(self, root: Variable, prefix: str, inner: InnerGraph | None) -> None:
        """Print ``root`` and its inputs below it, Theano's ``|`` style."""
        depth = self.opts["depth"]
        stop_on_name = self.opts["stop_on_name"]
        # (variable, levels left, prefix of its line, prefix of its children, tag)
        stack: list[tuple[Variable, int, str, str, str]] = [
            (root, depth, prefix, prefix, "")]
        while stack:
            var, left, pre, child_pre, tag = stack.pop()
            if left == 0:
                continue
            node = var.owner
            if node is None:
                self.lines.append(pre + self.leaf_line(var, tag, inner))
                continue
            key = IdMaker.key(var)
            expanded = key in self.done
            self.lines.append(pre + self.node_line(var, tag))
            self.done[key] = self.ids(var) if self.ids.kind else str(node.op)
            if expanded:
                continue
            self._queue_inner(node)
            if stop_on_name and var.name is not None and var is not root:
                continue
            tags = ifelse_input_tags(node) if is_ifelse(node) else [""] * node.nin
            n = node.nin
            for i in reversed(range(n)):
                last = i == n - 1
                stack.append((node.inputs[i], left - 1, child_pre + " |",
                              child_pre + ("  " if last else " |"), tags[i]))

    def _queue_inner(self, node: Apply) -> None:
        if node in self._queued:
            return
        if has_inner_graph(node):
            self._queued.add(node)
            self.inner_queue.append(node)

    # -- inner graphs ------------------------------------------------------------
    def inner_sections(self) -> None:
        if not self.inner_queue:
            return
        if any(is_ifelse(n) for n in self.inner_queue) and "lazy" not in self.cache:
            self.cache["lazy"] = _lazy_regions(self.view)
        self.lines += ["", "Inner graphs:"]
        k = 0
        while k < len(self.inner_queue):  # inner graphs may add more
            node = self.inner_queue[k]
            k += 1
            got = inner_graph(node, self.cache)
            self.lines.append("")
            self.lines.append(self.node_line(node.outputs[0], "", head=True))
            if isinstance(got, LazyBlocks):
                self._lazy_lines(got)
            elif got is not None:
                for out in got.outputs:
                    self.tree(out, " >", got)

    def _lazy_lines(self, blocks: LazyBlocks) -> None:
        for side, nodes in (("then", blocks.then_nodes), ("else", blocks.else_nodes)):
            if not nodes:
                self.lines.append(f" >{side}: (no node runs only in this branch)")
            for n in nodes:
                ref = self.ids(n) if self.ids.kind else ""
                self.lines.append(f" >{side}: {n.op} {ref}".rstrip())


def _lazy_regions(view: GraphView) -> dict[Apply, Any]:
    from symarray.control.branches import branch_regions

    return branch_regions(view.nodes(), view.outputs)


def _plain(var: Variable) -> str:
    if var.owner is None:
        return variable_label(var)
    return str(var.owner.op)


def _open(file: Any) -> tuple[IO[str], Callable[[], Any]]:
    """The stream to write to and what debugprint returns afterwards."""
    if file is None:
        return sys.stdout, lambda: None
    if isinstance(file, str):
        if file != "str":
            raise ValueError(f"debugprint: file must be None, 'str' or an open "
                             f"file, got the string {file!r}")
        buf = io.StringIO()
        return buf, buf.getvalue
    if not callable(getattr(file, "write", None)):
        raise TypeError(f"debugprint: file must be None, 'str' or an object with "
                        f"a write method, got {type(file).__name__}")
    return file, lambda: file


def debugprint(obj: Any, depth: int = -1, print_type: bool = False,
               file: Any = None, ids: str = "CHAR", stop_on_name: bool = False,
               done: dict[Any, str] | None = None, print_storage: bool = False,
               print_clients: bool = False, used_ids: dict[Any, str] | None = None,
               print_view_map: bool = False, print_destroy_map: bool = False,
               print_shape: bool = False, print_fgraph_inputs: bool = False,
               id_type: str | None = None, **unsupported: Any) -> Any:
    """Print a graph as an indented tree (Theano's ``debugprint``).

    Parameters
    ----------
    obj
        A Variable, a list or tuple of Variables, an Apply, a FunctionGraph
        or a compiled Function (its rewritten graph, with each node's
        position in the schedule and the backend of its thunk).
    depth
        Levels to print below each output (-1: all).
    print_type, print_shape
        Show each variable's type (``<Tensor{float64, (?,)}>``) / static shape.
    file
        None (standard output), ``"str"`` (return the text) or an open file.
    ids
        ``"CHAR"`` (``[id A]``), ``"int"`` (``[id 0]``), ``"id"`` (Python's
        ``id``), ``"auto"`` (the variable's ``auto_name``) or ``""`` (none).
        ``id_type`` is PyTensor's name for it.
    stop_on_name
        Do not expand named variables below the printed outputs.
    done, used_ids
        Dicts shared between calls: ``done`` holds the nodes already
        expanded (printed again only as a reference), ``used_ids`` the ids
        given so far (so several calls number alike).
    print_storage
        For a Function: the value in each variable's storage cell (useful
        after a call in a no-GC mode, which keeps intermediates).
    print_clients
        Show the readers of variables read more than once.
    print_view_map, print_destroy_map
        Show ``v={0: [0]}`` / ``d={0: [0]}`` for ops that view / overwrite
        their inputs.
    print_fgraph_inputs
        First list the graph's inputs, one ``-> x [id A]`` line each.

    Returns
    -------
    The text when ``file="str"``, the file when one is given, else None.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x, y = T.dvectors("x", "y")
    >>> print(debugprint((x + y) * T.exp(x), file="str"), end="")
    mul [id A]
     |add [id B]
     | |x [id C]
     | |y [id D]
     |exp [id E]
       |x [id C]
    """
    if unsupported:
        _refuse(unsupported)
    if id_type is not None:
        if ids not in ("CHAR", id_type):
            raise ValueError(f"debugprint: ids={ids!r} and id_type={id_type!r} "
                             "disagree; pass only one of them")
        ids = id_type
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < -1:
        raise ValueError(f"debugprint: depth must be -1 (everything) or an int "
                         f">= 0, got {depth!r}")
    if done is not None and not isinstance(done, dict):
        raise TypeError(f"debugprint: done must be a dict (or None), got "
                        f"{type(done).__name__}")
    stream, result = _open(file)
    view = graph_view(obj, "debugprint")
    opts = {"depth": depth, "print_type": print_type, "print_shape": print_shape,
            "stop_on_name": stop_on_name, "print_storage": print_storage,
            "print_clients": print_clients, "print_view_map": print_view_map,
            "print_destroy_map": print_destroy_map}
    printer = _Printer(view, IdMaker(ids, used_ids, "debugprint"),
                       {} if done is None else done, opts)
    if print_fgraph_inputs:
        for inp in view.inputs:
            printer.lines.append("-> " + printer.leaf_line(inp, "", None))
    for out in view.outputs:
        printer.tree(out, "", None)
    printer.inner_sections()
    stream.write("\n".join(printer.lines) + "\n")
    return result()


def _refuse(unsupported: dict[str, Any]) -> None:
    name = next(iter(unsupported))
    if name in _UNSUPPORTED:
        raise TypeError(f"debugprint: the argument {name}= is not supported by "
                        f"symarray ({_UNSUPPORTED[name]})")
    raise TypeError(f"debugprint: unknown argument {name!r}; known: "
                    f"{', '.join(_KNOWN[1:])}")
