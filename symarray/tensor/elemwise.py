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
from typing import cast as cast_type

import numpy as np

from symarray.errors import DtypeError, RankError, ShapeMismatchError
from symarray.graph.basic import Apply, Op, Variable
from symarray.scalar.basic import ScalarOp, ScalarRow, result_dtype
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.type import TensorType, dtype_of

__all__ = ["Elemwise", "DimShuffle", "Cast", "dimshuffle", "transpose", "cast",
           "broadcast_static_shape"]


def broadcast_static_shape(
    shapes: Sequence[tuple[int | None, ...]], what: str = "broadcast"
) -> tuple[int | None, ...]:
    """Static shape of broadcasting equal-rank static shapes (None: unknown)."""
    out: list[int | None] = []
    for dim, lengths in enumerate(zip(*shapes, strict=True)):
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


def _own_buffers(target: np.ndarray, claimed: Sequence[np.ndarray]) -> bool:
    """May an output be written into ``target``, given the inputs ``claimed``
    by earlier outputs of the same call?  Not when they may share memory:
    the outputs would alias each other, and the later write would change
    the earlier output.

    The graph never asks for that: the destroy handler refuses a node that
    overwrites an input it also reads through another input (unless the op
    declares ``destroy_allowed_aliases``; Elemwise does not), and distinct
    temporaries never share memory.  Only aliased arguments can: ``f(a, a)``
    for two ``In(..., mutable=True)`` inputs, which ``Function`` copies
    apart unless ``trust_input`` is set, or a direct call of ``perform``.
    """
    return not any(np.may_share_memory(target, c) for c in claimed)


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
        binary_associative = row.associative and self.scalar_op.nin == 2
        if len(inputs) > 2 and binary_associative:
            out = inputs[0]
            for x in inputs[1:]:
                out = Op.__call__(self, out, x)
            return out
        if len(inputs) == 1 and binary_associative:
            return as_tensor_variable(inputs[0])
        return Op.__call__(self, *inputs, **kwargs)

    def make_node(self, *inputs: Any) -> Apply:
        nin = self.scalar_op.nin
        if len(inputs) != nin:
            plural = "input" if nin == 1 else "inputs"
            raise TypeError(f"{self} takes {nin} {plural}, got {len(inputs)}")
        tensors = [as_tensor_variable(i) for i in inputs]
        tensors, weak = _yield_weak_constants(self.scalar_op, tensors)
        ndim = max(t.ndim for t in tensors)
        padded = [
            t if t.ndim == ndim
            else dimshuffle(t, ("x",) * (ndim - t.ndim) + tuple(range(t.ndim)))
            for t in tensors
        ]
        shape = broadcast_static_shape([t.type.shape for t in padded], str(self))
        try:
            dtypes = self.scalar_op.output_dtypes([t.dtype for t in padded], weak)
        except DtypeError as err:
            types = ", ".join(str(t.type) for t in padded)
            raise DtypeError(f"{err} (inputs: {types})") from None
        for o, i in self.inplace_pattern:
            if padded[i].dtype != dtypes[o] or padded[i].type.shape != shape:
                raise TypeError(
                    f"{self}: input {i} ({padded[i].type}) cannot hold output {o} "
                    f"(dtype {dtypes[o]}, shape {shape}) in place"
                )
        outputs = [TensorType(d, shape=shape).make_variable() for d in dtypes]
        return Apply(self, padded, outputs)

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        dtypes = [cast_type(TensorType, o.type).dtype for o in node.outputs]
        try:
            if len(dtypes) == 1:
                results = [self.scalar_op.compute(inputs, dtypes[0])]
            else:  # a multi-output Composite (fusion)
                op: Any = self.scalar_op
                results = list(op.compute_all(inputs, dtypes))
        except ValueError as err:
            shapes = [np.shape(i) for i in inputs]
            try:
                np.broadcast_shapes(*shapes)
            except ValueError:
                raise ShapeMismatchError(
                    f"{self}: input shapes {', '.join(map(str, shapes))} cannot be "
                    "broadcast together (each dimension needs equal lengths or 1)"
                ) from err
            raise
        # a program that reads only some inputs (a fused Composite) must still
        # give the broadcast shape of all of them
        full = np.broadcast_shapes(*[np.shape(i) for i in inputs])
        results = [
            r if r.shape == full else np.array(np.broadcast_to(r, full))
            for r in results
        ]
        claimed: list[np.ndarray] = []  # inputs an output was written into
        for o, i in self.inplace_pattern:
            # destroy_map permits overwriting, it does not oblige: an input
            # that NumPy broadcast (or cannot write, or whose elements share
            # memory through a zero stride) gets a fresh result, and so does
            # one that shares memory with an input another output took (the
            # same array passed for two destroyed inputs: only a caller can
            # do that, see _own_buffers)
            target, result = inputs[i], results[o]
            if (isinstance(target, np.ndarray) and target.flags.writeable
                    and target.shape == result.shape
                    and target.dtype == result.dtype
                    and all(st or n == 1 for st, n in zip(target.strides,
                                                          target.shape,
                                                          strict=True))
                    and _own_buffers(target, claimed)):
                target[...] = result
                results[o] = target
                claimed.append(target)
        for k, result in enumerate(results):
            output_storage[k][0] = result

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        out_shape: list[Any] = []
        out_type = cast_type(TensorType, node.outputs[0].type)
        static = out_type.shape
        for dim in range(out_type.ndim):
            if static[dim] is not None:
                out_shape.append(static[dim])
                continue
            candidates = [
                shp[dim] for inp, shp in zip(node.inputs, input_shapes, strict=True)
                if cast_type(TensorType, inp.type).shape[dim] != 1
            ]
            out_shape.append(_broadcast_len(candidates))
        return [tuple(out_shape)] * len(node.outputs)

    def L_op(self, inputs: list[Variable], outputs: list[Variable],  # noqa: N802
             output_grads: list[Variable]) -> list[Any]:
        if getattr(self.scalar_op, "is_composite", False):
            from symarray.tensor.rewriting.fusion import composite_L_op

            return composite_L_op(self, inputs, outputs, output_grads)
        from symarray.tensor.elemwise_grad import elemwise_L_op

        return elemwise_L_op(self, inputs, outputs, output_grads)

    def R_op(  # noqa: N802
        self, inputs: list[Variable], eval_points: list[Any]
    ) -> list[Any]:
        if getattr(self.scalar_op, "is_composite", False):
            from symarray.tensor.rewriting.fusion import composite_R_op

            return composite_R_op(self, inputs, eval_points)
        from symarray.tensor.elemwise_grad import elemwise_R_op

        return elemwise_R_op(self, inputs, eval_points)

    def scalar_constant_value(self, var: Variable, get: Any) -> Any:
        values = [get(i) for i in var.owner.inputs]  # type: ignore[union-attr]
        if getattr(self.scalar_op, "is_composite", False):
            op: Any = self.scalar_op
            return op.compute_all(values)[var.index]
        return self.scalar_op.compute(values, var.type.dtype)  # type: ignore[attr-defined]


def _broadcast_len(candidates: list[Any]) -> Any:
    """Length of a broadcast dimension from its inputs' (symbolic) lengths.

    NumPy broadcasting stretches a length-1 input even where the static type
    did not say 1, so the result is the first length that is not 1:
    ``switch(eq(a, 1), b, a)`` (``maximum`` would be wrong for ``(1, 0)``).
    """
    from symarray.tensor import math as tm

    out = candidates[-1]
    for c in reversed(candidates[:-1]):
        if isinstance(c, (int, np.integer)):
            out = out if c == 1 else c
        else:
            ops = tm.ELEMWISE_OPS
            out = ops["switch"](ops["eq"](c, 1), out, c)
    return out


def _fits(value: Any, dtype: str) -> bool:
    info = np.iinfo(dtype)
    return bool(info.min <= value <= info.max)


def _yield_weak_constants(
    scalar_op: ScalarOp, tensors: list[Any]
) -> tuple[list[Any], list[bool]]:
    """Weak flags of the inputs, weak constants recast to the operands' dtype.

    A weak (Python-scalar) integer that does not fit the strong integer
    inputs' dtype stops being weak (``int8 + 1000`` is int16, not an
    overflow).  The weak constants that yield are rebuilt in the common
    dtype, so ``fvector * 0.5`` multiplies two float32 values.
    """
    weak = [bool(getattr(t, "weak", False)) for t in tensors]
    if not any(weak) or all(weak):
        return tensors, weak
    first = 1 if scalar_op.row.rule == "switch" else 0
    if scalar_op.row.rule in ("clip", "cast") or first >= len(tensors):
        return tensors, weak
    strong = [t.dtype for t, w in zip(tensors[first:], weak[first:], strict=True)
              if not w]
    if not strong:
        return tensors, weak
    base = str(np.result_type(*strong))
    if np.dtype(base).kind in "iu":
        for k in range(first, len(tensors)):
            t = tensors[k]
            if weak[k] and t.type.numpy_dtype.kind in "iu" and not _fits(t.data, base):
                weak[k] = False
    common = result_dtype([t.dtype for t in tensors[first:]], weak[first:])
    out = list(tensors)
    for k in range(first, len(tensors)):
        t = tensors[k]
        if weak[k] and t.dtype != common:
            if np.dtype(common).kind == "b" or (
                t.type.numpy_dtype.kind == "c" and np.dtype(common).kind != "c"
            ):
                continue
            from symarray.tensor.variable import TensorConstant

            data = np.asarray(t.data).astype(common)
            out[k] = TensorConstant(TensorType(common, shape=t.type.shape), data,
                                    t.name, weak=True)
    return out, weak


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
    """``x`` converted to ``dtype`` (no node when it already has it).

    Complex to real casts are refused (take ``T.real`` or ``T.abs`` first).

    >>> import symarray.tensor as T
    >>> T.cast(T.fvector("x"), "int32").dtype
    'int32'
    """
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

    def __init__(self, input_ndim: int | Sequence[bool],
                 new_order: Sequence[int | str]) -> None:
        if not isinstance(input_ndim, (int, np.integer)):
            input_ndim = len(input_ndim)  # Theano's input_broadcastable
        self.input_ndim = int(input_ndim)
        self.new_order = tuple(new_order)
        kept = [d for d in self.new_order if d != "x"]
        for d in kept:
            if (not isinstance(d, (int, np.integer)) or isinstance(d, bool)
                    or not 0 <= d < self.input_ndim):
                raise ValueError(
                    f"dimshuffle: pattern entry {d!r} is not 'x' or a dimension of a "
                    f"{self.input_ndim}-d input"
                )
        if len(set(kept)) != len(kept):
            raise ValueError(
                f"dimshuffle: pattern {self.new_order} repeats a dimension"
            )
        self.kept = tuple(int(d) for d in kept)
        self.dropped = tuple(d for d in range(self.input_ndim) if d not in kept)
        self.is_transpose = (
            len(self.kept) == self.input_ndim and "x" not in self.new_order
        )

    def __str__(self) -> str:
        if self.is_transpose and self.kept == tuple(reversed(range(self.input_ndim))):
            return "Transpose"
        return f"DimShuffle{{{','.join(str(d) for d in self.new_order)}}}"

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim != self.input_ndim:
            raise RankError(
                f"{self}: expected a {self.input_ndim}-d input, got {x} of type "
                f"{x.type}"
            )
        for d in self.dropped:
            if x.type.shape[d] != 1:
                raise ValueError(
                    f"{self}: cannot drop dimension {d} of {x.type}, its length is "
                    "not known to be 1; keep it in the pattern, or use "
                    "T.specify_shape first"
                )
        shape = tuple(1 if d == "x" else x.type.shape[d] for d in self.new_order)
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

    def L_op(self, inputs: list[Variable], outputs: list[Variable],  # noqa: N802
             output_grads: list[Variable]) -> list[Any]:
        from symarray.tensor.elemwise_grad import dimshuffle_L_op

        return dimshuffle_L_op(self, inputs, output_grads)

    def R_op(  # noqa: N802
        self, inputs: list[Variable], eval_points: list[Any]
    ) -> list[Any]:
        from symarray.tensor.elemwise_grad import dimshuffle_R_op

        return dimshuffle_R_op(self, inputs, eval_points)

    def scalar_constant_value(self, var: Variable, get: Any) -> Any:
        return get(var.owner.inputs[0])  # type: ignore[union-attr]


def dimshuffle(x: Any, pattern: Sequence[int | str]) -> Any:
    """``x`` with dimensions reordered/added/dropped per ``pattern``.

    Entries are input dimensions in their new order, or ``'x'`` for a new
    broadcastable dimension; dimensions left out must be broadcastable.

    >>> import symarray.tensor as T
    >>> T.dimshuffle(T.matrix("m"), ("x", 1, 0)).broadcastable
    (True, False, False)
    """
    x = as_tensor_variable(x)
    pattern = tuple(pattern)
    if pattern == tuple(range(x.ndim)):
        return x
    return DimShuffle(x.ndim, pattern)(x)


def transpose(x: Any, axes: Sequence[int] | None = None) -> Any:
    """Permute dimensions; reverses them when ``axes`` is None.

    >>> import symarray.tensor as T
    >>> T.transpose(T.tensor3("t"), (2, 0, 1)).ndim
    3
    """
    x = as_tensor_variable(x)
    if axes is None:
        axes = tuple(reversed(range(x.ndim)))
    given = tuple(axes)
    if any(not -x.ndim <= int(a) < x.ndim for a in given) or len(given) != x.ndim:
        raise ValueError(
            f"transpose: axes {given} are not a permutation of the {x.ndim} "
            f"dimensions of {x.type}"
        )
    perm = tuple(int(a) % x.ndim for a in given)
    if sorted(perm) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {given} repeat a dimension of {x.type}")
    return dimshuffle(x, perm)
