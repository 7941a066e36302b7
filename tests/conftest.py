"""Shared pytest set-up: hypothesis profiles ("ci" when $CI is set, else "dev")
and ``--linker NAME``, which runs the whole suite under that linker (it sets
``symarray.config.linker``; op checks still compare every linker in
``tests/op_checks.LINKERS``).  The ``check_rewrites`` flag is on for the
whole session: every rewritten node is checked against its op's make_node."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=30, deadline=None)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True, scope="session")
def _check_rewrites() -> Iterator[None]:
    """Every graph the suite rewrites is verified (the ``check_rewrites`` flag)."""
    from symarray import config as sa_config

    with sa_config.change_flags(check_rewrites=True):
        yield


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--linker", default=None, metavar="NAME",
        help="run every test under this symarray linker (py, vm, cvm, cvm_nogc, "
             "c|py, ...): sets symarray.config.linker for the whole run",
    )


def pytest_configure(config: pytest.Config) -> None:
    name = config.getoption("--linker")
    if name:
        from symarray import config as sa_config
        from symarray.compile.linkers import check_linker

        sa_config.linker = check_linker(name)


def pytest_report_header(config: pytest.Config) -> str | None:
    name = config.getoption("--linker")
    return f"symarray linker: {name}" if name else None


@pytest.fixture(autouse=True)
def _fresh_graph_cache() -> None:
    """Each test starts with an empty cache of rewritten graphs, so a test that
    patches an op or a rewrite never sees a graph rewritten before the patch."""
    from symarray.compile import graph_cache

    graph_cache.clear()
