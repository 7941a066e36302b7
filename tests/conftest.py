"""Shared pytest set-up: hypothesis profiles ("ci" when $CI is set, else "dev")."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", max_examples=30, deadline=None)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
