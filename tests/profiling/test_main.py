"""Tests of the command line (python -m symarray.profiling / symarray.profiler)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

import symarray
from symarray.profiling.__main__ import main


@pytest.fixture(scope="module")
def saved(profile, tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "profile.json"
    profile.save(path)
    return path


def test_text_report(saved, capsys):
    assert main(["report", str(saved)]) == 0
    out = capsys.readouterr().out
    assert "Profile: test profile" in out and "Apply nodes" in out


def test_json_and_merged_reports(saved, tmp_path, capsys):
    out = tmp_path / "again.json"
    assert main(["report", str(saved), "--format", "json", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["format"] == "symarray-profile"
    assert main(["report", str(saved), str(out), "--n-apply", "3"]) == 0
    text = capsys.readouterr().out
    assert "#3 g" in text and "more nodes" in text


@pytest.mark.parametrize("fmt, ext", [("svg", ".svg"), ("dot", ".dot"),
                                      ("trace", ".trace.json")])
def test_pictures_and_traces(saved, tmp_path, capsys, fmt, ext):
    out = tmp_path / f"out{ext}"
    assert main(["report", str(saved), "--format", fmt, "-o", str(out)]) == 0
    assert out.stat().st_size > 0 and "wrote" in capsys.readouterr().out


def test_errors_exit_non_zero(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing.json")]) == 2
    assert "error:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["report", "x.json", "--format", "gif"])


def test_python_dash_m_symarray_profiler(saved):
    root = pathlib.Path(symarray.__file__).resolve().parent.parent
    env = dict(os.environ,
               PYTHONPATH=os.pathsep.join([str(root),
                                           os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-m", "symarray.profiler", "report",
                          str(saved)], env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    assert "Apply nodes" in out.stdout
