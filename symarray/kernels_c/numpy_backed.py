"""Ops that stay on NumPy: their ``perform`` thunks, labelled backend ``numpy``.

Every node gets one of three backends (shown by ``disassemble``,
``config.print_thunk_backends`` and the profiler):

* ``c``: a C kernel of :mod:`symarray.kernels_c`;
* ``numpy``: the op's ``perform``, for an op in :data:`NUMPY_BACKED`: its
  work is one or two NumPy calls (an allocation, a view, a copy, a sort...)
  that a C kernel would not do faster, so no kernel is planned;
* ``py``: any other ``perform`` (a C kernel may be missing, or declined
  this node's dtypes or layout).

The factory is registered for :class:`~symarray.graph.basic.Op`, the last
class of every op's MRO before ``object``, so the kernels registered for
the op's own classes are always asked first, whatever the import order:
an indexing node the C kernels of :mod:`symarray.kernels_c.indexing`
decline (a mask read, arrays apart in the key) shows ``numpy``.

>>> import symarray.tensor as T
>>> x = T.dmatrix("x")
>>> numpy_thunk(T.concatenate([x, x]).owner).backend
'numpy'
"""

from __future__ import annotations

from typing import Any

from symarray.graph.basic import Apply, Op
from symarray.kernels_c import register
from symarray.tensor.alloc import (
    Alloc,
    AllocEmpty,
    ARange,
    BroadcastTo,
    Eye,
    Repeat,
)
from symarray.tensor.elemwise import DimShuffle
from symarray.tensor.elemwise_grad import SumToShape
from symarray.tensor.extra_ops import (
    AllocDiag,
    CumOp,
    Diff,
    ExtractDiag,
    NonzeroOp,
    SearchsortedOp,
)
from symarray.tensor.join import Join, Split
from symarray.tensor.shape_ops import (
    IdentityLikeOp,
    MakeVector,
    Reshape,
    Shape,
    Shape_i,
    SpecifyShape,
)
from symarray.tensor.sort import ArgSortOp, SortOp
from symarray.tensor.subtensor import Subtensor
from symarray.tensor.subtensor_advanced import (
    AdvancedSubtensor,
    AdvancedSubtensor1,
    CountNonzero,
    SliceLength,
)
from symarray.tensor.subtensor_inc import (
    AdvancedIncSubtensor,
    AdvancedIncSubtensor1,
    IncSubtensor,
)
from symarray.vm import CyPyThunk

__all__ = ["NUMPY_BACKED", "NumpyThunk", "numpy_thunk", "is_numpy_backed"]

#: Op class -> what its perform does in NumPy (the reason it stays there);
#: docs/kernels.md shows this table
NUMPY_BACKED: dict[type, str] = {
    Alloc: "np.empty and one broadcast fill (the C thunk declines unusual inputs)",
    AllocEmpty: "np.empty",
    BroadcastTo: "np.broadcast_to: a view (the C thunk declines unusual inputs)",
    ARange: "np.arange (the C thunk declines float16, bool and unusual inputs)",
    Eye: "np.eye",
    Repeat: "np.repeat",
    IdentityLikeOp: "TensorCopy (a memcpy), Unbroadcast and Assert (the input)",
    DimShuffle: "transpose and reshape: a view (the C thunk declines non-arrays)",
    Reshape: "np.reshape: a view when the layout allows",
    Shape: "the shape tuple as an int64 vector",
    Shape_i: "one length as an int64 scalar (the C thunk declines non-arrays)",
    SpecifyShape: "a shape check; the input",
    MakeVector: "a small vector from scalars",
    Join: "np.concatenate (memcpy per input)",
    Split: "np.split: views",
    SortOp: "np.sort (introsort / radix sort, SIMD)",
    ArgSortOp: "np.argsort",
    CumOp: "np.cumsum / np.cumprod",
    Diff: "np.diff",
    ExtractDiag: "np.diagonal and a copy",
    AllocDiag: "np.diag",
    SearchsortedOp: "np.searchsorted",
    NonzeroOp: "np.nonzero",
    SumToShape: ("np.sum over the broadcast axes (the C thunk passes the input "
                 "through when none)"),
    CountNonzero: "np.count_nonzero",
    SliceLength: "a slice length (Python integers)",
    Subtensor: "a view (the C view thunk declines unusual inputs)",
    IncSubtensor: "a copy, then one ufunc on a view (basic indices never repeat)",
    AdvancedSubtensor1: "fancy indexing (the C gather declines other dtypes)",
    AdvancedSubtensor: "fancy indexing: masks, mixed keys (the C gather declines)",
    AdvancedIncSubtensor1: "np.add.at (the C scatter declines other dtypes)",
    AdvancedIncSubtensor: "np.add.at: mixed keys (the C scatter declines)",
}

_CLASSES = tuple(NUMPY_BACKED)


class NumpyThunk(CyPyThunk):
    """Runs ``node.op.perform`` like :class:`CyPyThunk`, labelled ``numpy``.

    Only the Python-visible label differs (``thunk.backend``); the VM runs
    it exactly as a ``py`` thunk.
    """

    backend = "numpy"

    def __repr__(self) -> str:
        return f"<NumpyThunk [numpy] {self.node}>"


def is_numpy_backed(op: Op) -> bool:
    """Is ``op`` one of the ops that stay on NumPy (:data:`NUMPY_BACKED`)?"""
    return isinstance(op, _CLASSES)


@register(Op)
def numpy_thunk(node: Apply) -> Any:
    """A :class:`NumpyThunk` for a node of a NumPy-backed op, else None."""
    if not is_numpy_backed(node.op):
        return None
    return NumpyThunk(node)
