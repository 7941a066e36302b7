"""Registers :class:`~symarray.kernels_c._ifelse.CyIfElseThunk` for IfElse.

Every ``IfElse`` node gets the C select: it only moves cell references, so
it handles any value type (the branch values are whatever their producers
put in the cells).

>>> import symarray.tensor as T
>>> from symarray.ifelse import ifelse
>>> a, b = T.dscalars("a", "b")
>>> ifelse_thunk(ifelse(T.lt(a, b), a, b).owner).backend
'c'
"""

from __future__ import annotations

from typing import Any

from symarray.control.ifelse import IfElse
from symarray.graph.basic import Apply
from symarray.kernels_c import register
from symarray.kernels_c._ifelse import CyIfElseThunk

__all__ = ["ifelse_thunk"]


@register(IfElse)
def ifelse_thunk(node: Apply) -> Any:
    """A :class:`CyIfElseThunk` for ``node``."""
    return CyIfElseThunk(node)
