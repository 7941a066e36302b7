"""Elemwise (a scalar op lifted to arrays, with broadcasting) and DimShuffle.

``Elemwise(scalar_op)`` applies one row of the scalar table elementwise.
Inputs of lower rank are padded on the left with broadcastable dimensions
(a DimShuffle), as NumPy does; static lengths are checked at build time, and
the output's static shape is the broadcast of the inputs'.

``DimShuffle(input_ndim, new_order)`` permutes dimensions, inserts
broadcastable ones (``'x'``) and drops broadcastable ones; it returns a view.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.errors import DtypeError, ShapeMismatchError
from symarray.graph.basic import Apply, Op, Variable
from symarray.scalar.basic import ScalarOp, ScalarRow
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.type import TensorType, dtype_of

__all__ = ["Elemwise", "DimShuffle", "Cast", "dimshuffle", "transpose", "cast",
           "broadcast_static_shape"]


def broadcast_static_shape(
    shapes: Sequence[tuple[int | None, ...]], what: str = "broadcast"
) -> tuple[int | None, ...]:
    """Static shape of broadcasting equal-rank static shapes (None: unknown)."""
    out: list[int | None] = []
    for dim, lengths in enumerate(zip(*shapes)):
        known = {s for s in lengths if s is not None and s != 1}
        if len(known) > 1:
            raise ShapeMismatchError(
                f"{what}: static lengths {sorted(known)} in dimension {dim} cannot "
                f"be broadcast together (input shapes {list(shapes)})"
            )
        if known:
            out.append(known.pop())
        elif all(s == 1 for s in lengths):
            out.append(1)
        else:
            out.append(None)
    return tuple(out)


class Elemwise(Op):
    """Apply a scalar op to every element, broadcasting like NumPy."""

    __props__ = ("scalar_op", "inplace_pattern")

    def __init__(self, scalar_op: ScalarOp,
                 inplace_pattern: dict[int, int] | None = None,
                 name: str | None = None) -> None:
        self.scalar_op = scalar_op
        self.inplace_pattern = tuple(sorted((inplace_pattern or {}).items()))
        self.destroy_map = {o: [i] for o, i in self.inplace_pattern}
        self.name = name

    def __str__(self) -> str:
        if self.inplace_pattern:
            return f"{self.scalar_op}_inplace"
        return str(self.scalar_op)

    def __call__(self, *inputs: Any, **kwargs: Any) -> Any:
        row = self.scalar_op.row
        if len(inputs) > self.scalar_op.nin and row.associative and self.scalar_op.nin == 2:
            out = inputs[0]
            for x in inputs[1:]:
                out = Op.__call__(self, out, x)
            return out
        if len(inputs) == 1 and row.associative and self.scalar_op.nin == 2:
            return as_tensor_variable(inputs[0])
        return Op.__call__(self, *inputs, **kwargs)

    def make_node(self, *inputs: Any) -> Apply:
        nin = self.scalar_op.nin
        if len(inputs) != nin:
            raise TypeError(f"{self}: expected {nin} inputs, got {len(inputs)}")
        tensors = [as_tensor_variable(i) for i in inputs]
        weak = [bool(getattr(t, "weak", False)) for t in tensors]
        ndim = max(t.ndim for t in tensors)
        padded = [
            t if t.ndim == ndim else dimshuffle(t, ("x",) * (ndim - t.ndim) + tuple(range(t.ndim)))
            for t in tensors
        ]
        shape = broadcast_static_shape([t.type.shape for t in padded], str(self))
        try:
            dtypes = self.scalar_op.output_dtypes([t.dtype for t in padded], weak)
        except DtypeError as err:
            raise DtypeError(f"{self}: {err} (inputs: {', '.join(str(t.type) for t in padded)})") from None
        for o, i in self.inplace_pattern:
            if padded[i].dtype != dtypes[o] or padded[i].type.shape != shape:
                raise TypeError(f"{self}: input {i} cannot hold output {o} in place")
        outputs = [TensorType(d, shape=shape).make_variable() for d in dtypes]
        return Apply(self, padded, outputs)

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        out_type = node.outputs[0].type
        result = self.scalar_op.compute(inputs, out_type.dtype)
        if result.ndim != out_type.ndim:
            result = result.reshape(np.broadcast_shapes(*[np.shape(i) for i in inputs]))
        if self.inplace_pattern:
            target = inputs[self.inplace_pattern[0][1]]
            target[...] = result
            result = target
        output_storage[0][0] = result

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        out_shape = []
        static = node.outputs[0].type.shape
        for dim in range(node.outputs[0].type.ndim):
            if static[dim] is not None:
                out_shape.append(static[dim])
                continue
            candidates = [
                shp[dim] for inp, shp in zip(node.inputs, input_shapes)
                if inp.type.shape[dim] != 1
            ]
            out_shape.append(candidates[0] if len(candidates) == 1 else _max_len(candidates))
        return [tuple(out_shape)] * len(node.outputs)

    def scalar_constant_value(self, var: Variable, get: Any) -> Any:
        values = [get(i) for i in var.owner.inputs]  # type: ignore[union-attr]
        return self.scalar_op.compute(values, var.type.dtype)  # type: ignore[attr-defined]


def _max_len(candidates: list[Any]) -> Any:
    """Length of a broadcast dimension whose inputs are not static."""
    from symarray.tensor import math as tm

    out = candidates[0]
    for c in candidates[1:]:
        out = tm.maximum(out, c)
    return out


class Cast(ScalarOp):
    """Scalar cast to a fixed dtype (``x.astype(dtype)``)."""

    def __init__(self, dtype: str) -> None:
        super().__init__(ScalarRow(f"cast_{dtype}", 1, np.asarray, "cast",
                                   f"({_C_TYPES.get(dtype, dtype)})({{0}})"))
        self.dtype = dtype

    def output_dtypes(self, dtypes: Sequence[str],
                      weak: Sequence[bool] | None = None) -> list[str]:
        if np.dtype(dtypes[0]).kind == "c" and np.dtype(self.dtype).kind != "c":
            raise DtypeError(
                f"cast: cannot cast {dtypes[0]} to {self.dtype}; take T.real or "
                "T.abs first"
            )
        return [self.dtype]

    def compute(self, inputs: Sequence[Any], out_dtype: str) -> Any:
        return np.asarray(inputs[0]).astype(out_dtype)


_C_TYPES = {"float32": "float", "float64": "double", "int8": "int8_t",
            "int16": "int16_t", "int32": "int32_t", "int64": "int64_t",
            "uint8": "uint8_t", "uint16": "uint16_t", "uint32": "uint32_t",
            "uint64": "uint64_t", "bool": "bool"}

_CASTS: dict[str, Elemwise] = {}


def cast(x: Any, dtype: Any) -> Any:
    """``x`` converted to ``dtype`` (no node when it already has it)."""
    x = as_tensor_variable(x)
    dtype = dtype_of(dtype)
    if x.dtype == dtype:
        return x
    op = _CASTS.get(dtype)
    if op is None:
        op = _CASTS[dtype] = Elemwise(Cast(dtype))
    return op(x)


class DimShuffle(Op):
    """Reorder, add (``'x'``) and drop (broadcastable) dimensions; a view."""

    __props__ = ("input_ndim", "new_order")
    view_map = {0: [0]}

    def __init__(self, input_ndim: int, new_order: Sequence[int | str]) -> None:
        self.input_ndim = int(input_ndim)
        self.new_order = tuple(new_order)
        kept = [d for d in self.new_order if d != "x"]
        for d in kept:
            if not isinstance(d, (int, np.integer)) or not 0 <= d < self.input_ndim:
                raise ValueError(
                    f"dimshuffle: pattern entry {d!r} is not 'x' or a dimension of a "
                    f"{self.input_ndim}-d input"
                )
        if len(set(kept)) != len(kept):
            raise ValueError(f"dimshuffle: pattern {self.new_order} repeats a dimension")
        self.kept = tuple(int(d) for d in kept)
        self.dropped = tuple(d for d in range(self.input_ndim) if d not in kept)
        self.is_transpose = len(self.kept) == self.input_ndim and "x" not in self.new_order

    def __str__(self) -> str:
        if self.is_transpose and self.kept == tuple(reversed(range(self.input_ndim))):
            return "Transpose"
        return f"DimShuffle{{{','.join(str(d) for d in self.new_order)}}}"

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim != self.input_ndim:
            raise TypeError(
                f"{self}: expected a {self.input_ndim}-d input, got {x} of type {x.type}"
            )
        for d in self.dropped:
            if x.type.shape[d] != 1:
                raise ValueError(
                    f"{self}: cannot drop dimension {d} of {x.type}, its length is not "
                    "known to be 1; use T.squeeze after specify_shape, or keep it"
                )
        shape = tuple(1 if d == "x" else x.type.shape[d] for d in self.new_order)  # type: ignore[index]
        return Apply(self, [x], [TensorType(x.dtype, shape=shape).make_variable()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x = np.asarray(inputs[0])
        out = x.transpose(self.kept + self.dropped)
        shape = tuple(1 if d == "x" else x.shape[d] for d in self.new_order)  # type: ignore[index]
        output_storage[0][0] = out.reshape(shape)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        (shp,) = input_shapes
        return [tuple(1 if d == "x" else shp[d] for d in self.new_order)]  # type: ignore[index]

    def scalar_constant_value(self, var: Variable, get: Any) -> Any:
        return get(var.owner.inputs[0])  # type: ignore[union-attr]


def dimshuffle(x: Any, pattern: Sequence[int | str]) -> Any:
    """``x`` with dimensions reordered/added/dropped per ``pattern``."""
    x = as_tensor_variable(x)
    pattern = tuple(pattern)
    if pattern == tuple(range(x.ndim)):
        return x
    return DimShuffle(x.ndim, pattern)(x)


def transpose(x: Any, axes: Sequence[int] | None = None) -> Any:
    """Permute dimensions; reverses them when ``axes`` is None."""
    x = as_tensor_variable(x)
    if axes is None:
        axes = tuple(reversed(range(x.ndim)))
    axes = tuple(int(a) % x.ndim if x.ndim else int(a) for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of {x.ndim} dims")
    return dimshuffle(x, axes)
