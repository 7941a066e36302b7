"""Registers the indexing C thunks of :mod:`symarray.kernels_c._indexing`.

==========================  ==============================================
Op                          C thunk
==========================  ==============================================
``Subtensor``               :class:`CySubtensorThunk`: the view built in C
``AdvancedSubtensor1``      gather ``x[idx]`` on axis 0
``AdvancedSubtensor``       gather, when the key is one integer array
                            after full slices (``x[:, idx]``), or
                            coordinates: integer arrays (and symbolic
                            integers) on adjacent axes after full slices
                            (``x[i, j]``, :class:`CyCoordIndexThunk`)
``AdvancedIncSubtensor1``   ``x[idx] += y`` (accumulating) / ``x[idx] = y``
``AdvancedIncSubtensor``    the same, when the key is one integer array or
                            one boolean mask after full slices, or
                            coordinates (``x[i, j] += y``)
==========================  ==============================================

Every other key (constant integers or slices between arrays, masks with
arrays, ``None`` or ``...``; masks when reading) is declined: the op's
``perform``, one NumPy call, runs it
(:mod:`symarray.kernels_c.numpy_backed` labels it ``numpy``).

>>> import symarray.tensor as T
>>> x, i, j = T.dmatrix("x"), T.lvector("i"), T.ivector("j")
>>> index_thunk(T.inc_subtensor(x[i], 1.0).owner).backend
'c'
>>> type(index_thunk(x[i, j].owner)).__name__
'CyCoordIndexThunk'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.graph.basic import Apply
from symarray.kernels_c import register
from symarray.kernels_c._indexing import (
    ENTRY_KINDS,
    MAX_COORDS,
    CyCoordIndexThunk,
    CyIndexThunk,
    CySubtensorThunk,
    has_kernel,
)
from symarray.tensor.subtensor import Idx, IndexSlice, Subtensor
from symarray.tensor.subtensor_advanced import AdvancedSubtensor, AdvancedSubtensor1
from symarray.tensor.subtensor_inc import AdvancedIncSubtensor, AdvancedIncSubtensor1

__all__ = ["index_thunk", "subtensor_thunk", "single_array_axis", "coord_axes",
           "subtensor_code"]


def single_array_axis(idx_list: Sequence[Any]) -> int | None:
    """The position of the one array entry of ``idx_list`` when every other
    entry is a full slice (``:``), else None."""
    coords = coord_axes(idx_list)
    return coords[0] if coords is not None and coords[1] == 1 else None


def coord_axes(idx_list: Sequence[Any]) -> tuple[int, int] | None:
    """``(axis, k)`` when ``idx_list`` is ``axis`` full slices, then ``k``
    entries that are index inputs, at least one an array (a symbolic integer
    is a 0-d array among them, as in NumPy), then only full slices
    (``x[:, i, j]``: ``(1, 2)``), else None.

    >>> coord_axes([IndexSlice(), Idx.ARRAY, Idx.SCALAR])
    (1, 2)
    >>> coord_axes([Idx.ARRAY, IndexSlice(), Idx.ARRAY]) is None
    True
    """
    run = [k for k, e in enumerate(idx_list) if e is Idx.ARRAY or e is Idx.SCALAR]
    if Idx.ARRAY not in idx_list or run[-1] - run[0] + 1 != len(run):
        return None
    for e in idx_list:
        if not (e is Idx.ARRAY or e is Idx.SCALAR or (
                isinstance(e, IndexSlice) and e.is_full and e.n_inputs == 0)):
            return None
    return run[0], len(run)


def _dtype(var: Any) -> np.dtype[Any] | None:
    dtype = getattr(var.type, "dtype", None)
    return None if dtype is None else np.dtype(dtype)


@register(AdvancedSubtensor1)
@register(AdvancedSubtensor)
@register(AdvancedIncSubtensor1)
@register(AdvancedIncSubtensor)
def index_thunk(node: Apply) -> Any:
    """A :class:`CyIndexThunk` (or :class:`CyCoordIndexThunk`) for an advanced
    indexing ``node``, or None."""
    op = node.op
    scatter = isinstance(op, (AdvancedIncSubtensor1, AdvancedIncSubtensor))
    if len(node.outputs) != 1:
        return None
    index_input = 2 if scatter else 1
    x_dtype = _dtype(node.inputs[0])
    if x_dtype is None or (scatter and _dtype(node.inputs[1]) != x_dtype):
        return None
    if scatter:
        mode = "set" if op.set_instead_of_inc else "inc"  # type: ignore[attr-defined]
    else:
        mode = "gather"
    if not has_kernel(mode, x_dtype):
        return None
    i_dtypes = [_dtype(v) for v in node.inputs[index_input:]]
    if any(d is None for d in i_dtypes):
        return None
    if isinstance(op, (AdvancedSubtensor1, AdvancedIncSubtensor1)):
        coords: tuple[int, int] | None = (0, 1)
    else:
        coords = coord_axes(op.idx_list)  # type: ignore[attr-defined]
    if coords is None:
        return None
    axis, k = coords
    if k == 1 and i_dtypes[0].kind == "b":  # type: ignore[union-attr]
        if not scatter:
            return None  # NumPy's boolean indexing is as fast
        return CyIndexThunk(node, mode, axis, index_input, True)
    if any(d.kind not in "iu" for d in i_dtypes):  # type: ignore[union-attr]
        return None  # masks with arrays
    if k == 1 and i_dtypes[0] != np.uint64:
        return CyIndexThunk(node, mode, axis, index_input, False)
    if k > MAX_COORDS:
        return None
    return CyCoordIndexThunk(node, mode, axis, k)


def subtensor_code(idx_list: Sequence[Any]) -> np.ndarray[Any, Any]:
    """``idx_list`` as :class:`CySubtensorThunk`'s int64 rows ``(kind, v0, v1,
    v2, in0, in1, in2, none_bits)``.

    >>> subtensor_code([IndexSlice(1, None, Idx.SCALAR), 2]).tolist()
    [[1, 1, 0, 0, 0, 0, 1, 2], [0, 2, 0, 0, 0, 0, 0, 0]]
    """
    rows = []
    for e in idx_list:
        row = [0] * 8
        if e is None:
            row[0] = ENTRY_KINDS["newaxis"]
        elif e is Ellipsis:
            row[0] = ENTRY_KINDS["ellipsis"]
        elif isinstance(e, IndexSlice):
            row[0] = ENTRY_KINDS["slice"]
            for p, part in enumerate(e.parts):
                if part is None:
                    row[7] |= 1 << p
                elif isinstance(part, Idx):
                    row[4 + p] = 1  # Idx.SCALAR: a slice part is never an array
                else:
                    row[1 + p] = int(part)
        elif e is Idx.SCALAR:
            row[0], row[4] = ENTRY_KINDS["int"], 1
        elif isinstance(e, (int, np.integer)) and not isinstance(e, bool):
            row[0], row[1] = ENTRY_KINDS["int"], int(e)
        else:
            raise TypeError(f"subtensor_code: bad idx_list entry {e!r}")
        rows.append(row)
    return np.array(rows, dtype=np.int64).reshape(-1, 8)


@register(Subtensor)
def subtensor_thunk(node: Apply) -> Any:
    """A :class:`CySubtensorThunk` for a basic indexing ``node``, or None."""
    op = node.op
    assert isinstance(op, Subtensor)  # registered for Subtensor
    if len(node.outputs) != 1 or _dtype(node.inputs[0]) is None:
        return None
    if any(e is Idx.ARRAY for e in op.idx_list):
        return None
    return CySubtensorThunk(node, subtensor_code(op.idx_list))
