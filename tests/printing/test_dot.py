"""Tests of symarray.printing.dot: pydotprint's Graphviz text and renderers."""

from __future__ import annotations

import os
import re
import stat
import sys

import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.graph import FunctionGraph
from symarray.ifelse import ifelse
from symarray.printing import RendererNotFoundError, pydotprint
from symarray.printing.dot import OP_COLORS, VARIABLE_COLORS, RenderError

_NODE = re.compile(r'^  (\w+) \[label="((?:[^"\\]|\\.)*)", shape=(\w+), (.*)\];$')
_EDGE = re.compile(r'^  (\w+) -> (\w+)(?: \[label="([^"]*)"\])?;$')


def parse_dot(text: str) -> tuple[dict[str, dict[str, str]],
                                 list[tuple[str, str, str]]]:
    """A small parser of the dot subset pydotprint writes: nodes and edges.
    Every line must be one of them (or the header/footer)."""
    lines = text.rstrip("\n").split("\n")
    assert lines[0] == "digraph G {" and lines[-1] == "}"
    nodes: dict[str, dict[str, str]] = {}
    edges: list[tuple[str, str, str]] = []
    for ln in lines[1:-1]:
        if ln.startswith("  node ["):
            continue
        if m := _NODE.match(ln):
            attrs = dict(re.findall(r'(\w+)="?([^",]*)"?', m.group(4)))
            nodes[m.group(1)] = {"label": m.group(2), "shape": m.group(3), **attrs}
        elif m := _EDGE.match(ln):
            edges.append((m.group(1), m.group(2), m.group(3) or ""))
        else:
            raise AssertionError(f"unparsable dot line: {ln!r}")
    for src, dst, _ in edges:
        assert src in nodes and dst in nodes
    return nodes, edges


def _by_label(nodes, label):
    return next(k for k, n in nodes.items() if n["label"] == label)


def test_counts_match_the_graph_compact_and_full():
    x, y = T.dvectors("x", "y")
    e = T.exp(x)
    out = e * y + 1.0
    fg = FunctionGraph([x, y], [out], clone=False)
    n_apply = len(fg.apply_nodes)  # exp, mul, DimShuffle, add
    nodes, edges = parse_dot(pydotprint(fg, format="dot"))
    ellipses = [n for n in nodes.values() if n["shape"] == "ellipse"]
    boxes = [n for n in nodes.values() if n["shape"] == "box"]
    assert len(ellipses) == n_apply
    # inputs x, y, the constant 1.0 and the output
    assert sorted(b["fillcolor"] for b in boxes) == sorted(
        [VARIABLE_COLORS["input"]] * 2 + [VARIABLE_COLORS["constant"],
                                         VARIABLE_COLORS["output"]])
    n_inputs = sum(len(n.inputs) for n in fg.apply_nodes)
    assert len(edges) == n_inputs + 1  # every input slot, plus node -> output box
    # not compact: every intermediate gets its box and two edges
    nodes2, edges2 = parse_dot(pydotprint(fg, format="dot", compact=False))
    n_mid = n_apply - 1
    assert len(nodes2) == len(nodes) + n_mid
    assert len(edges2) == len(edges) + n_mid


def test_edge_labels_are_input_slots():
    x, y = T.dvectors("x", "y")
    nodes, edges = parse_dot(pydotprint(T.exp(x) * y, format="dot"))
    mul, exp = _by_label(nodes, "mul"), _by_label(nodes, "exp")
    assert (exp, mul, "0") in edges
    assert (_by_label(nodes, f"y {y.type}"), mul, "1") in edges


def test_multi_output_producer_edges_name_the_output():
    a, b = T.dscalars("a", "b")
    o1, o2 = ifelse(a < b, [a, b], [b, a])
    nodes, edges = parse_dot(pydotprint(o1 * o2, format="dot"))
    mul, if_ = _by_label(nodes, "mul"), _by_label(nodes, "if")
    assert {(if_, mul, "0->0"), (if_, mul, "1->1")} <= set(edges)


def test_colours_by_kind():
    x = T.dmatrix("x")
    s = theano.shared(1.0, name="s")
    out = T.sum(x[1:] * s)
    nodes, _ = parse_dot(pydotprint(out, format="dot"))
    colour = {name: c for names, c in OP_COLORS for name in names}
    sub = nodes[_by_label(nodes, "Subtensor{1:}")]
    assert sub["fillcolor"] == colour["Subtensor"]
    assert nodes[_by_label(nodes, "mul")]["fillcolor"] == colour["Elemwise"]
    total = next(n for n in nodes.values() if n["label"].startswith("Sum{"))
    assert total["fillcolor"] == colour["CAReduce"]
    assert nodes[_by_label(nodes, f"s {s.type}")]["fillcolor"] == VARIABLE_COLORS[
        "shared"]
    overridden, _ = parse_dot(pydotprint(out, format="dot",
                                         colorCodes={"Elemwise": "cyan"}))
    assert overridden[_by_label(overridden, "mul")]["fillcolor"] == "cyan"
    outline, _ = parse_dot(pydotprint(out, format="dot", high_contrast=False))
    assert all("fillcolor" not in n and "color" in n for n in outline.values())


def test_label_options():
    x = T.dvector("a_rather_long_variable_name")
    out = T.exp(x)
    nodes, _ = parse_dot(pydotprint(out, format="dot", var_with_name_simple=True))
    assert "a_rather_long_variable_name" in [n["label"] for n in nodes.values()]
    nodes, _ = parse_dot(pydotprint(out, format="dot", max_label_size=10))
    assert all(len(n["label"]) <= 10 for n in nodes.values())
    nodes, _ = parse_dot(pydotprint(out, format="dot", with_ids=True))
    assert any(re.match(r"\[id [A-Z]+\] exp", n["label"]) for n in nodes.values())


def test_cond_highlight_outlines_branch_nodes():
    a, b = T.dscalars("a", "b")
    out = ifelse(a < b, T.exp(a), T.log(b))
    nodes, _ = parse_dot(pydotprint(out, format="dot", cond_highlight=True))
    assert nodes[_by_label(nodes, "exp")]["color"] == "#1B9E77"
    assert nodes[_by_label(nodes, "log")]["color"] == "#D95F02"
    assert "penwidth" not in nodes[_by_label(nodes, "lt")]


def test_compiled_function_and_escaping():
    x = T.dvector('x"quoted\\')
    f = theano.function([x], T.exp(x) * 2 + 1)
    text = pydotprint(f, format="dot")
    nodes, _ = parse_dot(text)
    assert any(n["label"].startswith("Composite{") for n in nodes.values())
    assert '\\"quoted\\\\' in text


def test_dot_file_written(tmp_path, capsys):
    x = T.dvector("x")
    path = tmp_path / "g.dot"
    text = pydotprint(T.exp(x), outfile=path, format="dot")
    assert path.read_text() == text
    assert f"available at {path}" in capsys.readouterr().out
    pydotprint(T.exp(x), outfile=tmp_path / "bare", format="dot")
    assert (tmp_path / "bare.dot").read_text() == text


@pytest.fixture
def fake_dot(tmp_path, monkeypatch):
    """A `dot` on PATH (alone) that copies its input to -o and logs its
    arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "dot"
    script.write_text(
        f"#!{sys.executable}\n"
        "import os, sys\n"
        "here = os.path.dirname(os.path.abspath(__file__))\n"
        "open(os.path.join(here, 'args'), 'w').write(' '.join(sys.argv[1:]))\n"
        "if sys.argv[1] == '-Tbad':\n"
        "    sys.stderr.write('Format: bad not recognized')\n"
        "    sys.exit(1)\n"
        "open(sys.argv[3], 'w').write(sys.stdin.read())\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands for dot")
def test_rendered_with_graphviz_dot(fake_dot, tmp_path):
    x = T.dvector("x")
    out = tmp_path / "g.png"
    image = pydotprint(T.exp(x), outfile=str(out), print_output_file=False,
                       return_image=True)
    assert image == out.read_bytes() and image.startswith(b"digraph G {")
    assert (fake_dot / "args").read_text().split() == ["-Tpng", "-o", str(out)]
    assert pydotprint(T.exp(x), outfile=str(out), print_output_file=False) is None
    with pytest.raises(RenderError, match="Format: bad not recognized"):
        pydotprint(T.exp(x), outfile=str(tmp_path / "g.bad"), format="bad")


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands for dot")
def test_default_outfile_and_scan_graphs(fake_dot, tmp_path, capsys):
    xs = T.dmatrix("xs")
    ys, _ = theano.scan(lambda r: T.exp(r).sum(), sequences=xs)
    with theano.config.change_flags(base_compiledir=str(tmp_path / "cache")):
        pydotprint(ys)
    default = tmp_path / "cache" / "symarray.pydotprint.png"
    assert default.exists()
    out = tmp_path / "s.svg"
    pydotprint(ys, outfile=str(out), format="svg", scan_graphs=True)
    inner = tmp_path / "s_scan0.svg"
    nodes, _ = parse_dot(inner.read_text())
    assert any(n["label"] == "exp" for n in nodes.values())
    assert str(inner) in capsys.readouterr().out
    with pytest.raises(ValueError, match="give an outfile"):
        pydotprint(ys, format="dot", scan_graphs=True)


def test_no_renderer_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    x = T.dvector("x")
    with pytest.raises(RendererNotFoundError, match="graphviz.*matplotlib"):
        pydotprint(T.exp(x), outfile=str(tmp_path / "g.png"))
    assert pydotprint(T.exp(x), format="dot").startswith("digraph")


def test_rendered_with_matplotlib(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("PATH", str(tmp_path))
    x, y = T.dvectors("x", "y")
    out = tmp_path / "g.png"
    pydotprint(T.exp(x) * y, outfile=str(out), print_output_file=False)
    assert out.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("kwargs, error, words", [
    ({"format": "p n g"}, ValueError, "format must be"),
    ({"format": None}, ValueError, "format must be"),
    ({"max_label_size": 2}, ValueError, "max_label_size"),
    ({"colorCodes": ["red"]}, TypeError, "colorCodes must be a dict"),
])
def test_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        pydotprint(T.exp(T.dvector("x")), **{"format": "dot", **kwargs})


def test_bad_object():
    with pytest.raises(TypeError, match="pass a Variable"):
        pydotprint(os, format="dot")
