"""``pydotprint``: a picture of a graph (Theano's ``pydotprint``).

The graph is first written as Graphviz ``dot`` text (no dependency), then
rendered by the ``dot`` program when it is on PATH, else by networkx and
matplotlib when both import, else a :class:`RendererNotFoundError` says
what to install.  ``format="dot"`` needs neither and returns the text.

Picture conventions: apply nodes are ellipses filled by op kind
(:data:`OP_COLORS`; Theano's choices where it had one: scan yellow, ifelse
magenta, elementwise pink, indexing purple, alloc orange, shape brown);
variables are boxes: graph inputs green, shared variables sea green,
constants grey, outputs blue, node outputs nobody reads grey.  With
``compact=True`` unnamed intermediate variables are not drawn: an edge
goes straight from the node that computes a value to each reader,
labelled with the input slot it fills (and the output index of a
multi-output producer, ``1->0``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from symarray.errors import SymarrayError
from symarray.graph.basic import Apply, Constant, Variable
from symarray.printing._graph import (
    GraphView,
    IdMaker,
    graph_view,
    is_shared,
    short_value,
)
from symarray.printing.inner import is_ifelse

__all__ = ["pydotprint", "dot_text", "RenderError", "RendererNotFoundError",
           "OP_COLORS", "VARIABLE_COLORS"]


class RenderError(SymarrayError, RuntimeError):
    """Rendering a graph picture failed (the renderer's message is included)."""


class RendererNotFoundError(RenderError):
    """Neither Graphviz's ``dot`` nor networkx + matplotlib is available."""


#: (op class names, fill colour): the first row naming a class of the op's
#: MRO wins
OP_COLORS: list[tuple[tuple[str, ...], str]] = [
    (("Scan",), "yellow"),
    (("IfElse",), "magenta"),
    (("Print",), "#FFD37F"),
    (("GpuFromHost", "HostFromGpu"), "red"),
    (("Shape", "Shape_i", "Reshape", "SpecifyShape", "MakeVector"), "#D2A679"),
    (("Subtensor", "AdvancedSubtensor1", "AdvancedSubtensor", "IncSubtensor",
      "AdvancedIncSubtensor1", "AdvancedIncSubtensor"), "#FFAAFF"),
    (("Alloc", "AllocEmpty"), "#FFAA22"),
    (("Elemwise",), "#FFAABB"),
    (("Dot", "Gemm", "Gemv", "Ger", "Matmul", "BatchedDot", "TensorDot"), "#AACCFF"),
    (("CAReduce", "ReduceElemwise", "ArgReduce"), "#CCEEAA"),
]
#: variable kind -> fill colour
VARIABLE_COLORS: dict[str, str] = {
    "input": "limegreen", "shared": "lightseagreen", "constant": "lightgrey",
    "output": "dodgerblue", "unused": "grey", "variable": "white",
}
#: border colours of the nodes that run only in one ifelse branch
BRANCH_COLORS = {"then": "#1B9E77", "else": "#D95F02"}
_BOX, _ELLIPSE = "box", "ellipse"


@dataclass
class _Node:
    key: str
    label: str
    shape: str
    color: str
    border: str | None = None


def _op_color(op: Any, color_codes: dict[str, str] | None) -> str:
    names = [c.__name__ for c in type(op).__mro__]
    if color_codes:
        for name in names:
            if name in color_codes:
                return color_codes[name]
    for name in names:
        for classes, color in OP_COLORS:
            if name in classes:
                return color
    return "white"


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(limit - 3, 1)] + "..."


class _Model:
    """The boxes, ellipses and edges of one picture."""

    def __init__(self, view: GraphView, opts: dict[str, Any]) -> None:
        self.view = view
        self.opts = opts
        self.ids = IdMaker("CHAR", None, "pydotprint")
        self.nodes: list[_Node] = []
        self.edges: list[tuple[str, str, str]] = []
        self.key_of: dict[Any, str] = {}
        self._build()

    def _label(self, obj: Variable | Apply, text: str) -> str:
        if self.opts["with_ids"]:
            text = f"{self.ids(obj)} {text}"
        return _cut(text, self.opts["max_label_size"])

    def _var_label(self, var: Variable) -> str:
        if isinstance(var, Constant) and var.name is None:
            return self._label(var, short_value(var.data))
        if var.name is None:
            return self._label(var, str(var.type))
        if self.opts["var_with_name_simple"]:
            return self._label(var, var.name)
        return self._label(var, f"{var.name} {var.type}")

    def _add_var(self, var: Variable, kind: str) -> str:
        key = self.key_of.get(var)
        if key is None:
            key = self.key_of[var] = f"v{len(self.key_of)}"
            self.nodes.append(_Node(key, self._var_label(var), _BOX,
                                    VARIABLE_COLORS[kind]))
        return key

    def _var_kind(self, var: Variable, outputs: set[Variable],
                  read: set[Variable]) -> str | None:
        """How ``var`` is drawn, or None for a compacted intermediate."""
        if var in outputs:
            return "output"
        if var.owner is None:
            if isinstance(var, Constant):
                return "constant"
            return "shared" if is_shared(var) else "input"
        if var not in read:
            return "unused"
        if self.opts["compact"] and var.name is None:
            return None
        return "variable"

    def _build(self) -> None:
        view, opts = self.view, self.opts
        nodes = view.nodes()
        outputs = set(view.outputs)
        read = {i for n in nodes for i in n.inputs}
        regions = _branch_regions(view, nodes) if opts["cond_highlight"] else {}
        for node in nodes:
            key = self.key_of[node] = f"n{len(self.nodes)}"
            label = self._label(node, str(node.op))
            border = None
            region = regions.get(node)
            if region is not None:
                border = BRANCH_COLORS[region[1]]
            self.nodes.append(_Node(key, label, _ELLIPSE,
                                    _op_color(node.op, opts["color_codes"]), border))
        kinds: dict[Variable, str | None] = {}
        for var in [*view.inputs, *(v for n in nodes for v in (*n.inputs, *n.outputs)),
                    *view.outputs]:
            if var not in kinds:
                kind = kinds[var] = self._var_kind(var, outputs, read)
                if kind is not None:
                    self._add_var(var, kind)
        for node in nodes:
            dst = self.key_of[node]
            for k, var in enumerate(node.inputs):
                slot = str(k) if node.nin > 1 else ""
                if kinds[var] is not None:
                    self.edges.append((self.key_of[var], dst, slot))
                else:
                    prod = var.owner
                    assert prod is not None
                    label = f"{var.index}->{k}" if prod.nout > 1 else slot
                    self.edges.append((self.key_of[prod], dst, label))
            for j, out in enumerate(node.outputs):
                if kinds[out] is not None:
                    self.edges.append((dst, self.key_of[out],
                                       str(j) if node.nout > 1 else ""))

    def dot(self) -> str:
        filled = self.opts["high_contrast"]
        lines = ["digraph G {", '  node [fontname="Helvetica"];']
        for n in self.nodes:
            attrs = [f'label="{_escape(n.label)}"', f"shape={n.shape}"]
            if filled:
                attrs += ["style=filled", f'fillcolor="{n.color}"']
            else:
                attrs.append(f'color="{n.color}"')
            if n.border is not None:
                attrs += [f'color="{n.border}"', "penwidth=3"]
            lines.append(f"  {n.key} [{', '.join(attrs)}];")
        for src, dst, label in self.edges:
            extra = f' [label="{_escape(label)}"]' if label else ""
            lines.append(f"  {src} -> {dst}{extra};")
        lines.append("}")
        return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _branch_regions(view: GraphView, nodes: list[Apply]) -> dict[Apply, Any]:
    if not any(is_ifelse(n) for n in nodes):
        return {}
    from symarray.control.branches import branch_regions

    return branch_regions(nodes, view.outputs)


def dot_text(obj: Any, **options: Any) -> str:
    """The Graphviz text :func:`pydotprint` renders (same options)."""
    return _Model(graph_view(obj, "pydotprint"), _options(**options)).dot()


def _options(compact: bool = True, with_ids: bool = False, high_contrast: bool = True,
             cond_highlight: bool | None = None,
             colorCodes: dict[str, str] | None = None,  # noqa: N803 - Theano's name
             max_label_size: int = 70, var_with_name_simple: bool = False
             ) -> dict[str, Any]:
    if colorCodes is not None and not isinstance(colorCodes, dict):
        raise TypeError(f"pydotprint: colorCodes must be a dict of op class name -> "
                        f"colour, got {type(colorCodes).__name__}")
    if isinstance(max_label_size, bool) or not isinstance(max_label_size, int) or (
            max_label_size < 4):
        raise ValueError(f"pydotprint: max_label_size must be an int >= 4, got "
                         f"{max_label_size!r}")
    return {"compact": compact, "with_ids": with_ids, "high_contrast": high_contrast,
            "cond_highlight": bool(cond_highlight), "color_codes": colorCodes,
            "max_label_size": max_label_size,
            "var_with_name_simple": var_with_name_simple}


# -- rendering ---------------------------------------------------------------------


def _render_dot(program: str, text: str, outfile: str, fmt: str) -> None:
    try:
        done = subprocess.run([program, f"-T{fmt}", "-o", outfile], input=text,
                              capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise RenderError(f"pydotprint: running {program} failed: {err}") from err
    if done.returncode != 0:
        raise RenderError(
            f"pydotprint: `{program} -T{fmt}` failed (exit {done.returncode}): "
            f"{done.stderr.strip()[:500]}; check that Graphviz supports the format "
            f"{fmt!r} (`dot -T?` lists them), or use format='dot'")


def _layers(model: _Model) -> dict[str, tuple[float, float]]:
    """Positions: one row per longest-path level, sources on top."""
    preds: dict[str, list[str]] = {n.key: [] for n in model.nodes}
    for src, dst, _ in model.edges:
        preds[dst].append(src)
    level: dict[str, int] = {}
    for n in model.nodes:  # nodes are listed after their inputs, mostly
        stack = [n.key]
        while stack:
            k = stack[-1]
            todo = [p for p in preds[k] if p not in level]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            level[k] = 1 + max((level[p] for p in preds[k]), default=-1)
    rows: dict[int, list[str]] = {}
    for k, lv in level.items():
        rows.setdefault(lv, []).append(k)
    pos: dict[str, tuple[float, float]] = {}
    for lv in sorted(rows):  # each row ordered by its inputs' mean position
        row = rows[lv]
        if lv:
            row.sort(key=lambda k: sum(pos[p][0] for p in preds[k]) / len(preds[k]))
        pos.update((k, (x - (len(row) - 1) / 2, -float(lv)))
                   for x, k in enumerate(row))
    return pos


def _render_matplotlib(model: _Model, outfile: str, fmt: str) -> None:
    import networkx as nx
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    g = nx.DiGraph()
    for n in model.nodes:
        g.add_node(n.key)
    g.add_edges_from((s, d) for s, d, _ in model.edges)
    pos = _layers(model)
    width = max((len([p for p in pos.values() if p[1] == y])
                 for y in {p[1] for p in pos.values()}), default=1)
    depth = 1 + max((-p[1] for p in pos.values()), default=0)
    fig = Figure(figsize=(max(4.0, 2.2 * width), max(3.0, 1.2 * depth)))
    canvas = FigureCanvasAgg(fig)
    supported = canvas.get_supported_filetypes()
    if fmt not in supported:
        raise RenderError(f"pydotprint: matplotlib cannot write {fmt!r} (it writes "
                          f"{sorted(supported)}); install Graphviz for more formats")
    ax = fig.add_subplot()
    ax.axis("off")
    ax.margins(0.25, 0.1)
    for shape, marker in ((_ELLIPSE, "o"), (_BOX, "s")):
        group = [n for n in model.nodes if n.shape == shape]
        nx.draw_networkx_nodes(g, pos, nodelist=[n.key for n in group], ax=ax,
                               node_shape=marker, node_size=900,
                               node_color=[n.color for n in group],
                               edgecolors=[n.border or "black" for n in group])
    nx.draw_networkx_edges(g, pos, ax=ax, arrows=True, node_size=900)
    nx.draw_networkx_labels(g, pos, {n.key: n.label for n in model.nodes}, ax=ax,
                            font_size=7)
    labels = {(s, d): lab for s, d, lab in model.edges if lab}
    if labels:
        nx.draw_networkx_edge_labels(g, pos, labels, ax=ax, font_size=6)
    fig.savefig(outfile, format=fmt)


def _render(model: _Model, text: str, outfile: str, fmt: str) -> None:
    program = shutil.which("dot")
    if program is not None:
        _render_dot(program, text, outfile, fmt)
        return
    try:
        import matplotlib  # noqa: F401
        import networkx  # noqa: F401
    except ImportError:
        raise RendererNotFoundError(
            f"pydotprint: drawing a {fmt!r} picture needs Graphviz's `dot` program "
            "on PATH (apt-get install graphviz, brew install graphviz or conda "
            "install graphviz) or both networkx and matplotlib (pip install "
            "networkx matplotlib); format='dot' returns the Graphviz text and "
            "needs neither") from None
    _render_matplotlib(model, outfile, fmt)


def _default_outfile(fmt: str) -> str:
    from symarray import config

    directory = config.base_compiledir
    os.makedirs(directory, exist_ok=True)
    return os.path.join(directory, f"symarray.pydotprint.{fmt}")


def pydotprint(fct: Any, outfile: str | os.PathLike[str] | None = None,
               compact: bool = True, format: str = "png",  # noqa: A002
               with_ids: bool = False, high_contrast: bool = True,
               cond_highlight: bool | None = None,
               colorCodes: dict[str, str] | None = None,  # noqa: N803
               max_label_size: int = 70, scan_graphs: bool = False,
               var_with_name_simple: bool = False, print_output_file: bool = True,
               return_image: bool = False) -> Any:
    """Draw a graph (Theano's ``pydotprint``).

    Parameters
    ----------
    fct
        A compiled Function, a Variable, a list of Variables, an Apply or a
        FunctionGraph.
    outfile
        Where to write the picture (``.<format>`` is added to a name without
        extension; default: ``<base_compiledir>/symarray.pydotprint.<format>``;
        with ``format="dot"`` nothing is written unless ``outfile`` is given).
    compact
        Leave out unnamed intermediate variables (edges go node to node).
    format
        ``"dot"`` (the Graphviz text, always available) or any format the
        renderer writes (``"png"``, ``"svg"``, ``"pdf"``...).
    with_ids
        Prefix labels with debugprint-style ids.
    high_contrast
        Fill shapes with their colour (False: colour the outline only).
    cond_highlight
        Outline the nodes that run only in an ifelse's then (green) or else
        (orange) branch.
    colorCodes
        Op class name -> colour, overriding :data:`OP_COLORS`.
    max_label_size
        Labels longer than this are cut with ``...``.
    scan_graphs
        Also draw each scan's step graph, to ``<outfile stem>_scan<k><ext>``.
    var_with_name_simple
        Label named variables with their name only (default: name and type).
    print_output_file
        Print where the picture was written.
    return_image
        Return the picture's bytes (the text for ``format="dot"``).

    Returns
    -------
    The Graphviz text for ``format="dot"``; the picture's bytes with
    ``return_image``; else None.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x = T.dvector("x")
    >>> print(pydotprint(T.exp(x) + 1, format="dot"))  # doctest: +ELLIPSIS
    digraph G {
    ...
      n0 [label="exp", shape=ellipse, style=filled, fillcolor="#FFAABB"];
    ...
    """
    if not isinstance(format, str) or not format.isidentifier():
        raise ValueError(f"pydotprint: format must be a Graphviz format name such as "
                         f"'png', 'svg', 'pdf' or 'dot', got {format!r}")
    opts = _options(compact, with_ids, high_contrast, cond_highlight, colorCodes,
                    max_label_size, var_with_name_simple)
    view = graph_view(fct, "pydotprint")
    model = _Model(view, opts)
    text = model.dot()
    if outfile is None and format != "dot":
        outfile = _default_outfile(format)
    path = None if outfile is None else os.fspath(outfile)
    if path is not None and not os.path.splitext(path)[1]:
        path = f"{path}.{format}"  # "graph" -> "graph.png", as Theano did
    if scan_graphs:
        if path is None:
            raise ValueError("pydotprint: scan_graphs=True writes one file per scan; "
                             "give an outfile")
        _draw_scans(view, path, format, opts, print_output_file)
    if format == "dot":
        if path is not None:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
            if print_output_file:
                print(f"The output file is available at {path}")
        return text
    assert path is not None
    _render(model, text, path, format)
    if print_output_file:
        print(f"The output file is available at {path}")
    if return_image:
        with open(path, "rb") as handle:
            return handle.read()
    return None


def _draw_scans(view: GraphView, path: str, fmt: str, opts: dict[str, Any],
                print_output_file: bool) -> None:
    from symarray.printing.inner import InnerGraph, inner_graph, is_scan

    stem, ext = os.path.splitext(path)
    count = 0
    for node in view.nodes():
        if not is_scan(node):
            continue  # scans only (a composite's program is its node's label)
        got = inner_graph(node, {})
        assert isinstance(got, InnerGraph)
        inner_path = f"{stem}_scan{count}{ext}"
        count += 1
        op: Any = node.op
        inner = GraphView(got.outputs, list(op.fgraph.inputs))
        model = _Model(inner, opts)
        text = model.dot()
        if fmt == "dot":
            with open(inner_path, "w", encoding="utf-8") as handle:
                handle.write(text)
        else:
            _render(model, text, inner_path, fmt)
        if print_output_file:
            print(f"The output file is available at {inner_path}")
        _draw_scans(inner, inner_path, fmt, opts, print_output_file)
