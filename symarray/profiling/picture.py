"""A picture of a profiled function's graph, nodes coloured by time share.

Each Apply node is a box (op, share of the node time, calls, backend) whose
colour goes from white (no time) to red (the slowest node); graph inputs
and constants are ellipses.  Renderers, in order:

1. graphviz's ``dot`` when it is on the PATH (svg, png, pdf);
2. networkx + matplotlib when matplotlib is importable (svg, png, pdf);
3. for svg only, a small built-in layered drawing (no dependency).

``format="dot"`` writes the graphviz source itself.  Any other case raises
a RuntimeError that says what to install.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
from collections.abc import Sequence
from typing import Any

from symarray.profiling.report import format_time
from symarray.profiling.stats import FunctionStats

__all__ = ["render", "to_dot", "graph_of"]

FORMATS = ("svg", "png", "pdf", "dot")


def _colour(share: float) -> str:
    """White (0) to red (1)."""
    share = min(max(share, 0.0), 1.0)
    g = round(255 - share * (255 - 39))
    b = round(255 - share * (255 - 40))
    return f"#ff{g:02x}{b:02x}" if share < 1 else "#ff2728"


def graph_of(f: FunctionStats) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Vertices (id, label, kind, colour) and edges (from id, to id) of ``f``."""
    total = f.node_time
    top = max((n.time for n in f.nodes), default=0.0)
    vertices: list[dict[str, Any]] = []
    edges: list[tuple[str, str]] = []
    seen_inputs: dict[str, str] = {}
    for n in f.nodes:
        share = n.time / total if total > 0 else 0.0
        label = (f"{n.op[:40]}\n{100 * share:.1f}%  {format_time(n.time)}\n"
                 f"{n.calls} calls  [{n.backend}]")
        vertices.append({"id": f"n{n.index}", "label": label, "kind": "apply",
                         "colour": _colour(n.time / top if top > 0 else 0.0)})
        for src in n.inputs:
            if isinstance(src, int):
                edges.append((f"n{src}", f"n{n.index}"))
                continue
            vid = seen_inputs.get(src)
            if vid is None:
                vid = seen_inputs[src] = f"i{len(seen_inputs)}"
                vertices.append({"id": vid, "label": src[:30], "kind": "input",
                                 "colour": "#e8eef7"})
            edges.append((vid, f"n{n.index}"))
    return vertices, edges


def to_dot(f: FunctionStats) -> str:
    """The graphviz source of ``f``'s picture."""
    vertices, edges = graph_of(f)
    lines = ["digraph profile {", "  node [fontname=Helvetica fontsize=10];",
             f"  label={_dot_str(f'{f.name}: {format_time(f.node_time)} in nodes')};",
             "  labelloc=t;"]
    for v in vertices:
        shape = "box" if v["kind"] == "apply" else "ellipse"
        lines.append(f"  {v['id']} [label={_dot_str(v['label'])} shape={shape} "
                     f"style=filled fillcolor=\"{v['colour']}\"];")
    for a, b in edges:
        lines.append(f"  {a} -> {b};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_str(text: str) -> str:
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _layers(vertices: list[dict[str, Any]], edges: list[tuple[str, str]]
            ) -> dict[str, tuple[int, int]]:
    """(layer, slot) per vertex: layer = longest path from an input."""
    preds: dict[str, list[str]] = {v["id"]: [] for v in vertices}
    for a, b in edges:
        preds[b].append(a)
    layer: dict[str, int] = {}
    for v in vertices:  # nodes come in schedule order: producers first
        vid = v["id"]
        layer[vid] = 1 + max((layer.get(p, 0) for p in preds[vid]), default=-1)
    slots: dict[int, int] = {}
    pos = {}
    for v in vertices:
        d = layer[v["id"]]
        pos[v["id"]] = (d, slots.get(d, 0))
        slots[d] = slots.get(d, 0) + 1
    return pos


def _builtin_svg(f: FunctionStats) -> str:
    vertices, edges = graph_of(f)
    pos = _layers(vertices, edges)
    w, h, dx, dy, margin = 190, 48, 210, 80, 20
    width = margin * 2 + dx * (1 + max((s for _, s in pos.values()), default=0))
    height = margin * 2 + 30 + dy * (1 + max((d for d, _ in pos.values()), default=0))

    def box(vid: str) -> tuple[float, float]:
        d, s = pos[vid]
        return margin + s * dx, margin + 30 + d * dy

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" font-family="Helvetica,Arial,sans-serif" '
           'font-size="10">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
           'markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 '
           'L0,10 z"/></marker></defs>',
           f'<text x="{margin}" y="{margin + 10}" font-size="12">'
           f'{html.escape(f.name)}: {format_time(f.node_time)} in nodes</text>']
    for a, b in edges:
        (xa, ya), (xb, yb) = box(a), box(b)
        out.append(f'<line x1="{xa + w / 2}" y1="{ya + h}" x2="{xb + w / 2}" '
                   f'y2="{yb}" stroke="#555" marker-end="url(#arrow)"/>')
    for v in vertices:
        x, y = box(v["id"])
        if v["kind"] == "apply":
            out.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" '
                       f'fill="{v["colour"]}" stroke="#333"/>')
        else:
            out.append(f'<ellipse cx="{x + w / 2}" cy="{y + h / 2}" rx="{w / 2}" '
                       f'ry="{h / 2 - 8}" fill="{v["colour"]}" stroke="#333"/>')
        lines = v["label"].split("\n")
        for i, text in enumerate(lines):
            ty = y + h / 2 + (i - (len(lines) - 1) / 2) * 12 + 4
            out.append(f'<text x="{x + w / 2}" y="{ty}" text-anchor="middle">'
                       f"{html.escape(text)}</text>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _matplotlib(f: FunctionStats, path: str, fmt: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    vertices, edges = graph_of(f)
    pos = _layers(vertices, edges)
    g = nx.DiGraph()
    for v in vertices:
        g.add_node(v["id"])
    g.add_edges_from(edges)
    xy = {vid: (s, -d) for vid, (d, s) in pos.items()}
    depth = 1 + max((d for d, _ in pos.values()), default=0)
    fig, ax = plt.subplots(figsize=(8, max(3.0, 1.1 * depth)))
    nx.draw_networkx_edges(g, xy, ax=ax, arrows=True)
    nx.draw_networkx_nodes(g, xy, ax=ax, node_shape="s", node_size=2200,
                           node_color=[v["colour"] for v in vertices],
                           edgecolors="#333333")
    nx.draw_networkx_labels(g, xy, ax=ax, font_size=6,
                            labels={v["id"]: v["label"] for v in vertices})
    ax.set_title(f"{f.name}: {format_time(f.node_time)} in nodes")
    ax.axis("off")
    fig.savefig(path, format=fmt, bbox_inches="tight")
    plt.close(fig)


def _have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def render(functions: Sequence[FunctionStats], path: str | os.PathLike[str],
           format: str | None = None, function: int = 0) -> str:
    """Draw ``functions[function]`` to ``path`` (format from its extension
    unless given: svg, png, pdf or dot); return the path written."""
    path = os.fspath(path)
    fmt = (format or os.path.splitext(path)[1].lstrip(".") or "svg").lower()
    if fmt not in FORMATS:
        raise ValueError(f"picture: unknown format {fmt!r}; known: {list(FORMATS)}")
    if not functions:
        raise ValueError("picture: the profile holds no function")
    if not 0 <= function < len(functions):
        raise IndexError(f"picture: no function #{function}; the profile has "
                         f"{len(functions)} (#0..#{len(functions) - 1})")
    f = functions[function]
    if fmt == "dot":
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(to_dot(f))
        return path
    dot = shutil.which("dot")
    if dot is not None:
        subprocess.run([dot, f"-T{fmt}", "-o", path], input=to_dot(f), text=True,
                       check=True, capture_output=True)
    elif _have_matplotlib():
        _matplotlib(f, path, fmt)
    elif fmt == "svg":
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(_builtin_svg(f))
    else:
        raise RuntimeError(
            f"picture: cannot draw {fmt.upper()} here: graphviz's `dot` is not on "
            "the PATH and matplotlib is not installed; install graphviz (e.g. "
            "`apt install graphviz`) or `pip install matplotlib`, or ask for svg "
            "(drawn without them) or dot (graphviz source)"
        )
    return path
