"""``symarray.profiler``: another name for :mod:`symarray.profiling`.

``python -m symarray.profiler report profile.json`` runs the profiling
command line (:mod:`symarray.profiling.__main__`).
"""

from __future__ import annotations

import sys

from symarray.profiling import (
    CompileStats,
    FunctionStats,
    MemoryStats,
    NodeStats,
    OutputStats,
    ProfileStats,
    TracedCall,
)
from symarray.profiling.__main__ import main

__all__ = ["ProfileStats", "FunctionStats", "NodeStats", "OutputStats",
           "CompileStats", "MemoryStats", "TracedCall", "main"]

if __name__ == "__main__":
    sys.exit(main())
