"""The elementwise chains the benchmarks share.

``CHAIN100`` is the anchors harness's chain100 (100 elementwise nodes);
``TANH_CHAIN100`` is the variant ``overhead.py`` has always timed.  Each step
is ``(op, constant)``; ``apply_chain`` runs the steps on symbolic variables
or NumPy arrays, with ``unary`` for the one-argument step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Steps = list[tuple[str, float | None]]

CHAIN100: Steps = [("mul", 1.0001), ("add", 0.5), ("sin", None), ("sub", 0.25)] * 25
TANH_CHAIN100: Steps = [
    ("mul", 1.0001), ("add", 0.0001), ("tanh", None), ("sub", 0.0001),
] * 25


def apply_chain(x: Any, steps: Steps, unary: Callable[[Any], Any]) -> Any:
    """``x`` through every step: ``x * c``, ``x + c``, ``x - c`` or ``unary(x)``."""
    for op, c in steps:
        if op == "mul":
            x = x * c
        elif op == "add":
            x = x + c
        elif op == "sub":
            x = x - c
        else:
            x = unary(x)
    return x
