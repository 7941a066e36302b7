"""Random NumPy index keys for property tests of the indexing ops.

:func:`random_key` draws a valid key for a given shape (ints, slices,
``None``, ``...``, integer arrays with a common broadcast shape, boolean
masks), and :func:`symbolic_key` turns some of its parts into symbolic
inputs, returning the inputs and their values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import symarray.tensor as T  # noqa: N812

SHAPES = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)


def random_key(data: st.DataObject, shape: tuple[int, ...],
               allow_arrays: bool = True) -> tuple[Any, ...]:
    """A valid NumPy key for an array of ``shape``.

    Integer arrays share one broadcast shape; a boolean mask is never mixed
    with arrays (its length is data-dependent and would not broadcast).
    """
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    ndim = len(shape)
    bshape = tuple(data.draw(st.lists(st.integers(0, 3), max_size=2)))
    key: list[Any] = []
    axis = 0
    used_ellipsis = False
    fancy = ""  # "", "array" or "mask"
    for _ in range(data.draw(st.integers(0, ndim + 2))):
        kinds = ["none"] if used_ellipsis else ["none", "ellipsis"]
        if axis < ndim:
            kinds.append("slice")
            if shape[axis] > 0:
                kinds.append("int")
                if allow_arrays and fancy != "mask":
                    kinds.append("array")
            if allow_arrays and not fancy:
                kinds.append("mask")
        kind = data.draw(st.sampled_from(kinds))
        if kind == "none":
            key.append(None)
            continue
        if kind == "ellipsis":
            used_ellipsis = True
            key.append(Ellipsis)
            # the ellipsis covers some dims; the items after it index the rest
            axis = ndim - data.draw(st.integers(0, ndim - axis))
            continue
        n = shape[axis]
        if kind == "int":
            key.append(int(rng.integers(-n, n)))
            axis += 1
        elif kind == "slice":
            start, stop = (data.draw(st.one_of(st.none(), st.integers(-6, 6)))
                           for _ in range(2))
            steps = st.sampled_from([-3, -2, -1, 1, 2, 3])
            step = data.draw(st.one_of(st.none(), steps))
            key.append(slice(start, stop, step))
            axis += 1
        elif kind == "array":
            fancy = "array"
            sub = bshape[data.draw(st.integers(0, len(bshape))):]
            sub = tuple(1 if data.draw(st.booleans()) else s for s in sub)
            key.append(rng.integers(-n, n, size=sub))
            axis += 1
        else:
            fancy = "mask"
            k = data.draw(st.integers(1, ndim - axis))
            key.append(rng.random(shape[axis:axis + k]) < 0.5)
            axis += k
    if used_ellipsis:  # the items after the ellipsis must reach the last dim
        key.extend(slice(None) for _ in range(ndim - axis))
    return tuple(key)


def symbolic_key(data: st.DataObject, key: tuple[Any, ...]
                 ) -> tuple[tuple[Any, ...], list[Any], list[Any]]:
    """``key`` with some ints, slice parts and arrays replaced by variables."""
    inputs: list[Any] = []
    values: list[Any] = []

    def maybe(v: Any) -> Any:
        if v is None or not data.draw(st.booleans()):
            return v
        if isinstance(v, np.ndarray):
            var = T.tensor(v.dtype.name, shape=(None,) * v.ndim)
            value = v
        else:
            var = T.lscalar() if data.draw(st.booleans()) else T.iscalar()
            value = np.asarray(v, dtype=var.dtype)
        inputs.append(var)
        values.append(value)
        return var

    out: list[Any] = []
    for k in key:
        if isinstance(k, slice):
            out.append(slice(maybe(k.start), maybe(k.stop), maybe(k.step)))
        elif isinstance(k, (int, np.ndarray)):
            out.append(maybe(k))
        else:
            out.append(k)
    return tuple(out), inputs, values
