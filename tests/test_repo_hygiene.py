"""Repository rules that keep symarray readable and cheap to import.

- every source module under symarray/ stays at most MAX_LINES long;
- ``import symarray`` is fast and does not pull in networkx, scipy or cupy;
- every logger is ``logging.getLogger(__name__)``, so it is named
  ``symarray.<module>``.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "symarray"
MAX_LINES = 1500
SOURCE_SUFFIXES = (".py", ".pyx", ".pxd", ".c")
IMPORT_BUDGET_S = 0.3
HEAVY_MODULES = ("networkx", "scipy", "cupy")
#: loaded on first use, not by ``import symarray, symarray.tensor`` (a name
#: here also covers its submodules)
LAZY_MODULES = (
    "symarray.profiling", "symarray.compile.profiling", "symarray.printing",
    "symarray.compile.debugmode", "symarray.compile.linkers",
    "symarray.compile.rewrite", "symarray.compile.graph_cache", "symarray.vm",
    "symarray.kernels_c", "symarray.control.scan", "symarray.tensor.random",
    "symarray.tensor.rewriting", "symarray.sparse", "logging", "difflib", "json",
)


def _sources(suffixes: tuple[str, ...]) -> list[pathlib.Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*")
        if path.suffix in suffixes
        and path.is_file()
        and "__pycache__" not in path.parts
    )


def _line_count(path: pathlib.Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def test_modules_are_small() -> None:
    sizes = sorted(
        (
            (_line_count(p), p.relative_to(ROOT).as_posix())
            for p in _sources(SOURCE_SUFFIXES)
        ),
        reverse=True,
    )
    print("largest modules:")
    for lines, name in sizes[:5]:
        print(f"  {lines:6d}  {name}")
    too_big = [f"{name} ({lines} lines)" for lines, name in sizes if lines > MAX_LINES]
    assert not too_big, (
        f"modules over {MAX_LINES} lines: {', '.join(too_big)}; split them by "
        "concern (STYLE.md: aim for under 800 lines)"
    )


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYMARRAY")}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


_IMPORTTIME_LINE = re.compile(r"^import time:\s*(\d+)\s*\|\s*(\d+)\s*\| symarray$")


def _import_seconds() -> float:
    """Cumulative import time of the top-level ``symarray`` line, in seconds."""
    result = _python("-X", "importtime", "-c", "import symarray")
    assert result.returncode == 0, f"import symarray failed:\n{result.stderr}"
    micros = [
        int(match.group(2))
        for line in result.stderr.splitlines()
        if (match := _IMPORTTIME_LINE.match(line.rstrip()))
    ]
    assert micros, f"no 'symarray' line in -X importtime output:\n{result.stderr}"
    return sum(micros) / 1e6


needs_package = pytest.mark.skipif(
    not (PACKAGE / "__init__.py").exists(),
    reason="symarray/__init__.py does not exist yet; nothing to import",
)


@needs_package
def test_import_is_fast() -> None:
    _import_seconds()  # warm-up: write .pyc files, fill the OS cache
    seconds = min(_import_seconds() for _ in range(3))
    assert seconds < IMPORT_BUDGET_S, (
        f"import symarray took {seconds:.3f} s, budget {IMPORT_BUDGET_S} s; run "
        "`python -X importtime -c 'import symarray'` to find the slow import and "
        "defer it into the function that needs it"
    )


@needs_package
def test_import_does_not_load_heavy_modules() -> None:
    code = (
        "import sys, symarray, symarray.tensor\n"
        f"heavy = {HEAVY_MODULES!r}\n"
        f"lazy = {LAZY_MODULES!r}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)"
        " | {m for m in sys.modules for n in lazy"
        " if m == n or m.startswith(n + '.')}))\n"
    )
    result = _python("-c", code)
    assert result.returncode == 0, f"import symarray failed:\n{result.stderr}"
    loaded = result.stdout.strip()
    assert loaded == "[]", (
        f"import symarray loads {loaded}; import them lazily inside the functions "
        "that need them"
    )


_GET_LOGGER = re.compile(r"\bgetLogger\(([^)]*)\)")


def test_loggers_are_named_after_their_module() -> None:
    bad = []
    for path in _sources((".py", ".pyx")):
        text = path.read_text(encoding="utf-8")
        for match in _GET_LOGGER.finditer(text):
            if match.group(1).strip() != "__name__":
                line = text.count("\n", 0, match.start()) + 1
                bad.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0)}")
    assert not bad, (
        "loggers must be logging.getLogger(__name__) so they are named "
        "symarray.<module>; found: " + "; ".join(bad)
    )


def test_build_ext_in_place_byte_compiles_the_package(tmp_path: pathlib.Path) -> None:
    # an editable install builds in place; setup.py's build_ext then writes
    # __pycache__ so a fresh process does not compile ~170 modules' source
    # (PYTHONDONTWRITEBYTECODE=1 stops the interpreter from writing them).
    # Checked on one module whose .pyc is removed first; no extension is
    # rebuilt (SYMARRAY_BUILD_ONLY names none).
    import importlib.util

    source = ROOT / "symarray" / "errors.py"
    cached = pathlib.Path(importlib.util.cache_from_source(str(source)))
    cached.unlink(missing_ok=True)
    env = dict(os.environ, SYMARRAY_BUILD_ONLY="none", PYTHONDONTWRITEBYTECODE="1")
    subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace",
                    "--build-temp", str(tmp_path)], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    assert cached.exists()
