"""Comparisons with a sparse operand: ``eq``, ``neq``, ``lt``, ``gt``,
``le``, ``ge``.

As in Theano, results are ``uint8`` (1 where the comparison holds; sparse
matrices store no bool):

=================  ===============  ========================================
operands           op               result
=================  ===============  ========================================
sparse, sparse     ``ComparisonSS``   sparse, the first operand's format
sparse, dense      ``ComparisonSD``   dense matrix (the dense operand
                                      broadcasts as in ``sparse.add``)
dense, sparse      ``ComparisonSD``   the mirrored comparison (``a < x`` is
                                      ``x > a``)
dense, dense       the tensor op      (``T.lt`` ...)
=================  ===============  ========================================

Note ``eq``, ``le`` and ``ge`` of two sparse matrices hold wherever both
are zero, so their result stores most positions (scipy warns about that;
the warning is silenced here).  Comparisons have no gradient.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from symarray.errors import ShapeMismatchError
from symarray.graph.basic import Apply
from symarray.sparse.basic import (
    _SameShapeOp,
    as_result,
    as_sparse_or_tensor_variable,
    as_sparse_variable,
)
from symarray.sparse.math import _broadcast_check, _dense_operand
from symarray.sparse.type import SparseType, is_sparse_variable
from symarray.tensor.type import TensorType

__all__ = ["ComparisonSS", "ComparisonSD", "eq", "neq", "lt", "gt", "le", "ge"]

#: comparison name -> (Python operator, tensor op name, mirrored name)
COMPARISONS: dict[str, tuple[Callable[[Any, Any], Any], str, str]] = {
    "eq": (operator.eq, "eq", "eq"),
    "neq": (operator.ne, "neq", "neq"),
    "lt": (operator.lt, "lt", "gt"),
    "gt": (operator.gt, "gt", "lt"),
    "le": (operator.le, "le", "ge"),
    "ge": (operator.ge, "ge", "le"),
}


def _check_name(name: str) -> str:
    if name not in COMPARISONS:
        raise KeyError(f"no sparse comparison {name!r}; known: {sorted(COMPARISONS)}")
    return name


class _Comparison(_SameShapeOp):
    __props__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = _check_name(name)

    def __str__(self) -> str:
        return f"{type(self).__name__}{{{self.name}}}"

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        return [None] * len(inputs)


class ComparisonSS(_Comparison):
    """Sparse (op) sparse -> sparse uint8 in the first operand's format."""

    def make_node(self, x: Any, y: Any) -> Apply:
        x, y = as_sparse_variable(x), as_sparse_variable(y)
        return Apply(self, [x, y], [SparseType(x.type.format, "uint8")()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x, y = inputs
        if x.shape != y.shape:
            raise ShapeMismatchError(
                f"sparse {self.name}: shapes {x.shape} and {y.shape} differ"
            )
        fmt: Any = node.outputs[0].type
        # scipy compares canonical storage (duplicates summed first)
        xc, yc = x.copy(), y.copy()
        xc.sum_duplicates()
        yc.sum_duplicates()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sp.SparseEfficiencyWarning)
            got = COMPARISONS[self.name][0](xc, yc)
        out = as_result(got, fmt.format, "uint8")
        out.eliminate_zeros()
        output_storage[0][0] = out


class ComparisonSD(_Comparison):
    """Sparse (op) dense -> dense uint8 matrix; the dense operand may be a
    scalar, a row vector or a matrix (broadcast as in ``sparse.add``)."""

    def make_node(self, x: Any, y: Any) -> Apply:
        x = as_sparse_variable(x)
        y = _dense_operand(y, f"sparse {self.name}")
        return Apply(self, [x, y], [TensorType("uint8", shape=(None, None))()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x, y = inputs
        yt: Any = node.inputs[1].type
        _broadcast_check(f"sparse {self.name}", yt, y, x.shape)
        # the result is dense: comparing the dense value costs the same order
        got = COMPARISONS[self.name][0](x.toarray(), np.asarray(y))
        output_storage[0][0] = np.asarray(got, dtype=np.uint8)


def _compare(name: str, x: Any, y: Any) -> Any:
    x, y = as_sparse_or_tensor_variable(x), as_sparse_or_tensor_variable(y)
    xs, ys = is_sparse_variable(x), is_sparse_variable(y)
    if xs and ys:
        return ComparisonSS(name)(x, y)
    if xs:
        return ComparisonSD(name)(x, y)
    if ys:
        return ComparisonSD(COMPARISONS[name][2])(y, x)
    from symarray.tensor.math import ELEMWISE_OPS

    return ELEMWISE_OPS[COMPARISONS[name][1]](x, y)


def eq(x: Any, y: Any) -> Any:
    """``x == y`` as uint8, at least one operand sparse (see the module table).

    >>> import scipy.sparse as sp, symarray.sparse as S
    >>> x = S.csr_matrix("x", "float64")
    >>> S.eq(x, 1.0).eval({x: sp.eye(2, format="csr")}).tolist()
    [[1, 0], [0, 1]]
    """
    return _compare("eq", x, y)


def neq(x: Any, y: Any) -> Any:
    """``x != y`` as uint8, at least one operand sparse."""
    return _compare("neq", x, y)


def lt(x: Any, y: Any) -> Any:
    """``x < y`` as uint8, at least one operand sparse."""
    return _compare("lt", x, y)


def gt(x: Any, y: Any) -> Any:
    """``x > y`` as uint8, at least one operand sparse."""
    return _compare("gt", x, y)


def le(x: Any, y: Any) -> Any:
    """``x <= y`` as uint8, at least one operand sparse."""
    return _compare("le", x, y)


def ge(x: Any, y: Any) -> Any:
    """``x >= y`` as uint8, at least one operand sparse."""
    return _compare("ge", x, y)
