"""Registers :class:`~symarray.kernels_c._mrg.CyMRGThunk` for ``MRGUniform``.

Every MRG31k3p uniform node gets the C kernel; its thread count is the
``kernel_threads`` flag (0: every core) when the function is compiled.
The draws do not depend on it: each stream is stepped by one thread.

>>> import symarray as sa
>>> from symarray.sandbox.rng_mrg import MRG_RandomStreams
>>> u = MRG_RandomStreams(1).uniform((3,))
>>> mrg_thunk(u.update[1].owner).backend
'c'
"""

from __future__ import annotations

from typing import Any

from symarray import config
from symarray.graph.basic import Apply
from symarray.kernels_c import register
from symarray.kernels_c._mrg import CyMRGThunk
from symarray.tensor.random.mrg_op import MRGUniform

__all__ = ["mrg_thunk"]


@register(MRGUniform)
def mrg_thunk(node: Apply) -> Any:
    """A :class:`CyMRGThunk` for ``node`` (threads: the ``kernel_threads`` flag)."""
    from symarray.kernels_c._threads import resolve_threads

    return CyMRGThunk(node, int(resolve_threads(int(config.kernel_threads))))
