"""mypy over the package, with the ``[tool.mypy]`` settings of pyproject.toml.

STYLE.md asks for type hints on all Python and mypy in the test suite: this
runs mypy in-process (``mypy.api.run``) on ``symarray/`` and fails with the
list of errors.  A clean clone checks the package in about 5 s on one core
(well under a second with a warm ``.mypy_cache``), so it is not marked slow.
"""

from __future__ import annotations

import pathlib

import pytest

mypy_api = pytest.importorskip("mypy.api", reason="mypy is in the [test] extras")

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_mypy_is_clean() -> None:
    stdout, stderr, status = mypy_api.run([
        "--config-file", str(ROOT / "pyproject.toml"),
        "--cache-dir", str(ROOT / ".mypy_cache"),
        "--no-color-output",
        "--no-error-summary",
        str(ROOT / "symarray"),
    ])
    errors = [line for line in stdout.splitlines() if ": error:" in line]
    assert status == 0, (
        f"mypy found {len(errors)} error(s) in symarray/ (exit status {status}); "
        "fix the annotations (narrow with isinstance, or tensor_type(var) for a "
        "variable known to be a tensor) rather than adding `# type: ignore`:\n"
        + "\n".join(stdout.splitlines() or [stderr])
    )
