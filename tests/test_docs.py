"""Every Python example in the README and docs/*.md runs.

Each document runs in a fresh interpreter (examples set global flags, such
as ``config.mode = "DebugMode"``): its ```` ```python ```` blocks run in
order in one namespace, and a block written as an interactive session
(``>>>`` lines) is checked as a doctest, its printed output included.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

RUNNER = textwrap.dedent(
    """
    import doctest, io, contextlib, re, sys
    text = open(sys.argv[1], encoding="utf-8").read()
    blocks = re.findall(r"```python\\n(.*?)```", text, re.S)
    namespace = {"__name__": "__doc_example__"}
    failures = []
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS
                                   | doctest.NORMALIZE_WHITESPACE)
    for i, block in enumerate(blocks):
        name = f"{sys.argv[1]} block {i + 1}"
        if block.lstrip().startswith(">>>"):
            test = parser.get_doctest(block, namespace, name, sys.argv[1], 0)
            out = io.StringIO()
            result = runner.run(test, out=out.write, clear_globs=False)
            namespace.update(test.globs)  # the doctest ran on a copy
            if result.failed:
                failures.append(out.getvalue())
        else:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(block, name, "exec"), namespace)
    if failures:
        sys.exit("\\n".join(failures))
    print(len(blocks))
    """
)


def _has_examples(path: pathlib.Path) -> bool:
    return "```python" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "path", [p for p in DOCUMENTS if _has_examples(p)], ids=lambda p: p.name
)
def test_the_examples_of_a_document_run(path: pathlib.Path, tmp_path: pathlib.Path):
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(path)],
        cwd=tmp_path,  # examples that write files write them here
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (
        f"an example in {path.relative_to(ROOT)} failed:\n{done.stderr[-4000:]}"
    )
    assert int(done.stdout.split()[-1]) > 0
