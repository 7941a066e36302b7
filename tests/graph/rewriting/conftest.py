"""Rewrite tests run with the verifier on and rewriter errors raised."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from symarray.graph.rewriting import engine


@pytest.fixture(autouse=True)
def _strict_rewriting(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(engine, "VERIFY_REWRITES", True)
    monkeypatch.setattr(engine, "ON_ERROR", "raise")
    yield
