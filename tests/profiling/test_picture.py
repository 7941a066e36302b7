"""Tests of symarray.profiling.picture: pictures render or say what is missing."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET

import pytest

from symarray.profiling import picture


def test_dot_source_colours_nodes_by_time(profile, tmp_path):
    text = picture.to_dot(profile.functions[0])
    assert text.startswith("digraph profile {") and "fillcolor=" in text
    assert "#ff2728" in text  # the slowest node is full red
    path = profile.picture(tmp_path / "g.dot")
    assert open(path).read() == text


def test_svg_renders_without_graphviz_or_matplotlib(profile, tmp_path, monkeypatch):
    monkeypatch.setattr(picture.shutil, "which", lambda name: None)
    monkeypatch.setattr(picture, "_have_matplotlib", lambda: False)
    path = profile.picture(tmp_path / "g.svg", function=1)
    root = ET.parse(path).getroot()
    rects = root.findall("{http://www.w3.org/2000/svg}rect")
    assert len(rects) == len(profile.functions[1].nodes)
    op = profile.functions[1].nodes[-1].op
    assert html.escape(op[:20]) in open(path).read()


def test_png_without_a_renderer_is_a_clear_error(profile, tmp_path, monkeypatch):
    monkeypatch.setattr(picture.shutil, "which", lambda name: None)
    monkeypatch.setattr(picture, "_have_matplotlib", lambda: False)
    with pytest.raises(RuntimeError, match="install graphviz"):
        profile.picture(tmp_path / "g.png")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"format": "gif"}, ValueError, "unknown format"),
    ({"function": 5}, IndexError, "no function #5"),
])
def test_bad_arguments(profile, tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        profile.picture(tmp_path / "g.svg", **kwargs)


def test_graphviz_renders_when_installed(profile, tmp_path):
    if picture.shutil.which("dot") is None:
        pytest.skip("graphviz's dot is not installed")
    path = profile.picture(tmp_path / "g.png")
    assert open(path, "rb").read(4) == b"\x89PNG"
