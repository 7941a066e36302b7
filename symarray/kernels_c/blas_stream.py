"""Registers the one-pass kernel of ``StreamGemv`` (:mod:`._blas_stream`).

A float32/float64 :class:`~symarray.tensor.blas_stream.StreamGemv` node gets
a :class:`~symarray.kernels_c._blas_stream.CyStreamGemvThunk` when its ``f``
becomes a block-interpreter program (:func:`stream_program`); otherwise
(an op without a C loop, a complex input, an integer power that may raise)
the node runs its ``perform``.  The thunk itself sends unusual run-time
operands (a layout BLAS cannot read in place, a ``y0`` that broadcasts,
wrong lengths) to ``perform`` as well.

>>> import symarray.tensor as T
>>> from symarray.scalar import get_scalar_op
>>> from symarray.scalar.composite import CompositeBuilder
>>> from symarray.tensor.blas_stream import stream_gemv
>>> b = CompositeBuilder(["float64"])
>>> f = b.build([b.apply(get_scalar_op("tanh"), b.inputs)])
>>> z, y, g = stream_gemv(f, T.dmatrix("X"), T.dvector("w"), [],
...                       T.dvector("y0"), 1.0, 1.0)
>>> stream_gemv_thunk(y.owner).backend
'c'
"""

from __future__ import annotations

from typing import Any

from symarray.graph.basic import Apply
from symarray.kernels_c import register
from symarray.kernels_c._blas_stream import CyStreamGemvThunk, n_loops
from symarray.kernels_c.program import LOOPS, Program, build_program, thread_count
from symarray.tensor.blas_stream import FLOAT_DTYPES, StreamGemv
from symarray.tensor.type import tensor_type

__all__ = ["stream_gemv_thunk", "stream_program"]

if n_loops() != len(LOOPS):  # a stale build of one of the two modules
    raise ImportError(
        f"symarray.kernels_c._blas_stream has {n_loops()} interpreter loops but "
        f"_composite has {len(LOOPS)}; rebuild both: /tmp/build_one.sh "
        "symarray/kernels_c/_blas_stream.pyx (and _composite.pyx)"
    )


def stream_program(op: StreamGemv, dtype: str) -> Program | None:
    """The interpreter's program for ``op.f`` giving ``dtype``, or None."""
    f = op.f
    program = build_program(list(f.input_dtypes), f.constants,
                            [(s.op, s.args, s.dtype) for s in f.steps],
                            f.outputs, [dtype])
    if program is None or program.checked:
        return None
    return program


@register(StreamGemv)
def stream_gemv_thunk(node: Apply) -> Any:
    """A :class:`CyStreamGemvThunk` for a float32/float64 node, or None."""
    dtype = tensor_type(node.outputs[0]).dtype
    if dtype not in FLOAT_DTYPES:
        return None
    op: Any = node.op
    program = stream_program(op, dtype)
    if program is None:
        return None
    return CyStreamGemvThunk(node, program, thread_count())
