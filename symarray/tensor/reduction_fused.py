"""A reduction with an elementwise prologue: ``sum(f(x, y), axis)`` as one op.

:class:`ReduceElemwise` holds a reduction op (``Sum``, ``Prod``, ``Max``,
``Min``, ``All``, ``AnyReduce``, with its axes) and the scalar op of the
elementwise node that fed it (a single scalar-table op or a fused
``Composite``).  Its inputs are the elementwise node's inputs; its output is
the reduction's.  The rewrite ``local_reduce_elemwise_fusion``
(:mod:`symarray.tensor.rewriting.fuse_reduce`) builds it, and the C kernel
(:mod:`symarray.kernels_c.reduce`) evaluates the scalar program over blocks
of a few thousand elements and reduces each block at once, so
``T.sum(x ** 2, axis=1)`` never stores ``x ** 2``.

Key decisions:

* ``perform`` is the unfused computation, the living spec: the scalar op's
  NumPy ``compute`` on the inputs (broadcast to their common shape), then
  the reduction op's ``perform``.  Results, dtypes and errors (an empty
  ``max``) are exactly the unfused graph's.
* ``elem_dtype`` (a prop) is the dtype the elementwise node produced; the
  op keeps it rather than recomputing it from the inputs, so a rewrite never
  changes a value's dtype.
* Gradients go through the unfused form (:meth:`ReduceElemwise.expand`),
  so every rule of the elementwise and reduction ops applies unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.graph.basic import Apply, Op, Variable
from symarray.scalar.basic import ScalarOp
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.elemwise import (
    Elemwise,
    _broadcast_len,
    broadcast_static_shape,
    cast,
)
from symarray.tensor.reduction import CAReduce
from symarray.tensor.type import TensorType

__all__ = ["ReduceElemwise", "reduce_elemwise"]


class ReduceElemwise(Op):
    """``reduce_op(Elemwise(scalar_op)(*inputs))`` computed as one node.

    Parameters
    ----------
    reduce_op
        A reduction (:class:`~symarray.tensor.reduction.CAReduce` subclass
        instance); ``make_node`` normalises its props as the reduction does.
    scalar_op
        The elementwise scalar op (a table row or a ``Composite``) with one
        output.
    elem_dtype
        The dtype of the elementwise result the reduction reads.

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> from symarray.tensor.reduction import Sum
    >>> from symarray.scalar import get_scalar_op
    >>> x = T.dmatrix("x")
    >>> op = ReduceElemwise(Sum((1,)), get_scalar_op("sqr"), "float64")
    >>> op(x).eval({x: np.array([[1.0, 2.0], [3.0, 4.0]])})
    array([ 5., 25.])
    """

    __props__ = ("reduce_op", "scalar_op", "elem_dtype")

    def __init__(self, reduce_op: CAReduce, scalar_op: ScalarOp,
                 elem_dtype: str) -> None:
        if not isinstance(reduce_op, CAReduce):
            raise TypeError(f"ReduceElemwise: reduce_op must be a CAReduce (sum, "
                            f"prod, max, min, all, any), got {reduce_op!r}")
        nout = getattr(scalar_op, "nout", 1)
        if nout != 1:
            raise TypeError(f"ReduceElemwise: the scalar op {scalar_op} has "
                            f"{nout} outputs; one is needed")
        self.reduce_op = reduce_op
        self.scalar_op = scalar_op
        self.elem_dtype = str(np.dtype(elem_dtype))

    def __str__(self) -> str:
        return f"{self.reduce_op}[{self.scalar_op}]"

    def _elem_type(self, inputs: Sequence[Variable]) -> TensorType:
        shape = broadcast_static_shape([i.type.shape for i in inputs],  # type: ignore[attr-defined]
                                       str(self))
        return TensorType(self.elem_dtype, shape=shape)

    def make_node(self, *inputs: Any) -> Apply:
        tensors = [as_tensor_variable(i) for i in inputs]
        if len(tensors) != self.scalar_op.nin:
            raise TypeError(f"{self} takes {self.scalar_op.nin} inputs, got "
                            f"{len(tensors)}")
        ndims = {t.ndim for t in tensors}
        if len(ndims) != 1:
            raise TypeError(
                f"{self}: the inputs must share one rank, got "
                f"{', '.join(str(t.type) for t in tensors)}; dimshuffle them first "
                "(the elementwise node it replaces had done so)"
            )
        elem = self._elem_type(tensors).make_variable()
        red = self.reduce_op.make_node(elem)
        if red.op != self.reduce_op:  # axes/dtypes normalised, as CAReduce does
            return ReduceElemwise(red.op, self.scalar_op,  # type: ignore[arg-type]
                                  self.elem_dtype).make_node(*tensors)
        return Apply(self, tensors, [red.outputs[0].type.make_variable()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        full = np.broadcast_shapes(*[np.shape(i) for i in inputs])
        values = np.asarray(self.scalar_op.compute(list(inputs), self.elem_dtype))
        if values.shape != full:
            values = np.broadcast_to(values, full)
        self.reduce_op.perform(node, [values], output_storage)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        static = self._elem_type(node.inputs).shape
        shape: list[Any] = []
        for d, length in enumerate(static):
            if length is not None:
                shape.append(length)
                continue
            shape.append(_broadcast_len([
                s[d] for v, s in zip(node.inputs, input_shapes, strict=True)
                if v.type.shape[d] != 1  # type: ignore[attr-defined]
            ]))
        axes = self.reduce_op.axis or ()
        return [tuple(s for d, s in enumerate(shape) if d not in axes)]

    def expand(self, inputs: Sequence[Variable]) -> Variable:
        """The unfused graph: ``reduce_op(Elemwise(scalar_op)(*inputs))``."""
        elem = Elemwise(self.scalar_op)(*inputs)
        if elem.dtype != self.elem_dtype:
            elem = cast(elem, self.elem_dtype)
        return self.reduce_op(elem)

    def L_op(self, inputs: list[Variable], outputs: list[Variable],  # noqa: N802
             output_grads: list[Variable]) -> list[Any]:
        from symarray.gradient import grad

        out = self.expand(inputs)
        return list(grad(None, list(inputs), known_grads={out: output_grads[0]},
                         disconnected_inputs="ignore"))

    def R_op(self, inputs: list[Variable], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        from symarray.gradient import Rop

        wrt = [i for i, e in zip(inputs, eval_points, strict=True) if e is not None]
        if not wrt:
            return [None]
        points = [e for e in eval_points if e is not None]
        return [Rop(self.expand(inputs), wrt, points)]


def reduce_elemwise(reduce_op: CAReduce, scalar_op: ScalarOp,
                    *inputs: Any) -> Variable:
    """``reduce_op(Elemwise(scalar_op)(*inputs))`` as one :class:`ReduceElemwise`.

    The inputs are padded to one rank, as the elementwise node would pad them.

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> from symarray.tensor.reduction import Max
    >>> from symarray.scalar import get_scalar_op
    >>> x, y = T.dvectors("x", "y")
    >>> out = reduce_elemwise(Max(None), get_scalar_op("sub"), x, y)
    >>> float(out.eval({x: np.array([3.0, 1.0]), y: np.array([1.0, 0.0])}))
    2.0
    """
    elem = Elemwise(scalar_op).make_node(*inputs)
    red = reduce_op.make_node(elem.outputs[0])
    op = ReduceElemwise(red.op, scalar_op, elem.outputs[0].type.dtype)  # type: ignore[arg-type,attr-defined]
    return op(*elem.inputs)
