"""Fixtures of the codegen tests: the flag on, a cache folder, fresh state.

``codegen`` shares one cache folder for the whole session (kernels that
several tests use compile once); ``fresh_cache`` gives a test its own empty
folder (the cache protocol tests count compiles).  Without a C compiler on
the machine the tests that need one are skipped.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from symarray import config
from symarray.kernels_c.codegen import reset_stats
from symarray.kernels_c.codegen.thunk import clear_loaded

HAVE_CC = any(shutil.which(c) for c in ("cc", "gcc", "clang"))


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("codegen-cache"))


@pytest.fixture
def codegen(shared_cache: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """c_codegen on, the session's cache folder; yields the folder."""
    if not HAVE_CC:
        pytest.skip("no C compiler on PATH")
    monkeypatch.delenv("CC", raising=False)
    reset_stats()
    with config.change_flags(c_codegen="on", base_compiledir=shared_cache,
                             c_compiler="", c_codegen_dump_source=False):
        yield shared_cache
    clear_loaded()


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """c_codegen on, an empty cache folder of the test's own, nothing loaded."""
    if not HAVE_CC:
        pytest.skip("no C compiler on PATH")
    monkeypatch.delenv("CC", raising=False)
    clear_loaded()
    reset_stats()
    with config.change_flags(c_codegen="on", base_compiledir=str(tmp_path),
                             c_compiler="", c_codegen_dump_source=False):
        yield str(tmp_path)
    clear_loaded()
