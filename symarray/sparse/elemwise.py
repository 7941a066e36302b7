"""Elementwise functions of the stored values of a sparse matrix: one table row each.

A row gives what a function does to the stored values (a NumPy function)
and its derivative.  :class:`Structured` applies a row to the stored values
(after merging duplicates) and keeps the sparsity pattern; its gradient is
*structured*: non-zero only at the stored positions (Theano's rule), except
for the linear rows (``neg``, ``rad2deg``, ``deg2rad``), whose gradient is
the regular ``c * gz``.

Rows whose function keeps zero at zero (``sin``, ``sqr``, ``sqrt``,
``abs_``, ``neg``, ...) give the same result as the dense function, so
they carry the function's own name; the others (``exp(0) = 1``) are named
``structured_*`` as in Theano, since they leave the unstored zeros alone.
Binary rows (``structured_pow``, ``structured_add``,
``structured_minimum``, ``structured_maximum``) take a dense scalar as the
second operand.  Adding a function is one row here plus one test row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from symarray.graph.basic import Apply, Op
from symarray.scalar.basic import result_dtype
from symarray.sparse.basic import (
    _check_dtype,
    _SameShapeOp,
    _shape_of,
    as_sparse_or_tensor_variable,
    as_sparse_variable,
    canonical,
    gather,
    grad_like,
    sp_zeros_like,
    stored_positions,
)
from symarray.sparse.type import FORMATS, SparseType, is_sparse_variable
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.type import TensorType

__all__ = ["StructuredRow", "STRUCTURED", "Structured", "StructuredGrad", "neg",
           "abs_", "structured_sigmoid", "structured_exp", "structured_log",
           "structured_pow", "structured_add", "structured_minimum",
           "structured_maximum", "sin", "tan", "arcsin", "arctan", "sinh",
           "arcsinh", "tanh", "arctanh", "rad2deg", "deg2rad", "rint", "ceil",
           "floor", "trunc", "sgn", "log1p", "expm1", "sqr", "sqrt"]

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class StructuredRow:
    """One elementwise function of the stored values.

    ``fn(x[, y])`` computes the new values; ``dx(x, out[, y])`` and (binary
    rows) ``dy(x, out, y)`` are the partial derivatives, ``None`` for a
    piecewise-constant function (zero gradient).  A linear function
    ``c * x`` gives ``scale=c``: its gradient is regular (``c * gz`` at
    every position, stored or not).
    """

    name: str
    fn: Callable[..., Array]
    dx: Callable[..., Array] | None
    dy: Callable[..., Array] | None = None
    arity: int = 1
    scale: float | None = None


def _sigmoid(x: Array) -> Array:
    from scipy.special import expit

    return np.asarray(expit(x))


def _rows() -> dict[str, StructuredRow]:
    r = StructuredRow
    rows = [
        # -- structured: f(0) != 0, only the stored values change --------
        r("sigmoid", _sigmoid, lambda x, o: o * (1 - o)),
        r("exp", np.exp, lambda x, o: o),
        r("log", np.log, lambda x, o: 1 / x),
        r("pow", np.power, lambda x, o, y: y * np.power(x, y - 1),
          lambda x, o, y: o * np.log(x), 2),
        r("add", np.add, lambda x, o, y: np.ones_like(x),
          lambda x, o, y: np.ones_like(x), 2),
        r("minimum", np.minimum, lambda x, o, y: (x <= y).astype(x.dtype),
          lambda x, o, y: (x > y).astype(x.dtype), 2),
        r("maximum", np.maximum, lambda x, o, y: (x >= y).astype(x.dtype),
          lambda x, o, y: (x < y).astype(x.dtype), 2),
        # -- f(0) == 0: the same as the dense function -------------------
        r("sin", np.sin, lambda x, o: np.cos(x)),
        r("tan", np.tan, lambda x, o: 1 + o * o),
        r("arcsin", np.arcsin, lambda x, o: 1 / np.sqrt(1 - x * x)),
        r("arctan", np.arctan, lambda x, o: 1 / (1 + x * x)),
        r("sinh", np.sinh, lambda x, o: np.cosh(x)),
        r("arcsinh", np.arcsinh, lambda x, o: 1 / np.sqrt(x * x + 1)),
        r("tanh", np.tanh, lambda x, o: 1 - o * o),
        r("arctanh", np.arctanh, lambda x, o: 1 / (1 - x * x)),
        r("rad2deg", np.rad2deg, None, scale=180 / np.pi),
        r("deg2rad", np.deg2rad, None, scale=np.pi / 180),
        r("rint", np.rint, None),
        r("ceil", np.ceil, None),
        r("floor", np.floor, None),
        r("trunc", np.trunc, None),
        r("sgn", np.sign, None),
        r("log1p", np.log1p, lambda x, o: 1 / (1 + x)),
        r("expm1", np.expm1, lambda x, o: o + 1),
        r("sqr", np.square, lambda x, o: 2 * x),
        r("sqrt", np.sqrt, lambda x, o: 0.5 / o),
        r("abs", np.abs, lambda x, o: np.sign(x)),
        r("neg", np.negative, None, scale=-1.0),
    ]
    return {row.name: row for row in rows}


#: name -> row, for every structured elementwise op
STRUCTURED: dict[str, StructuredRow] = _rows()


def _row(name: str) -> StructuredRow:
    row = STRUCTURED.get(name)
    if row is None:
        raise KeyError(f"no structured op {name!r}; known: {sorted(STRUCTURED)}")
    return row


def _result_dtype(row: StructuredRow, x_dtype: str, y: Any) -> str:
    """The dtype of the new values (NumPy's, float16 promoted to float32)."""
    if row.arity == 2:
        weak = bool(getattr(y, "weak", False))
        base = result_dtype([x_dtype, y.type.dtype], [False, weak])
        with np.errstate(all="ignore"):
            got = row.fn(np.ones(1, base), np.ones((), base)).dtype
    else:
        with np.errstate(all="ignore"):
            got = row.fn(np.ones(1, x_dtype)).dtype
    name = "float32" if got == np.float16 else got.name
    _check_dtype(name, f"structured {row.name}")
    return str(name)


def _scalar_operand(row: StructuredRow, y: Any) -> Any:
    y = as_tensor_variable(y)
    if y.type.ndim != 0:
        raise TypeError(
            f"structured_{row.name}: the second operand must be a scalar, got {y} "
            f"of type {y.type}; use sparse.mul / sparse.add for arrays"
        )
    return y


class _RowOp(Op):
    """Base of the ops that apply the row ``name`` of :data:`STRUCTURED`."""

    __props__ = ("name",)

    def __init__(self, name: str) -> None:
        _row(name)
        self.name = name

    @property
    def row(self) -> StructuredRow:
        return STRUCTURED[self.name]


class Structured(_RowOp, _SameShapeOp):
    """The row ``name`` applied to the stored values of a sparse matrix
    (duplicates merged first); the pattern is kept.

    >>> import scipy.sparse as sp, symarray.sparse as S
    >>> x = S.csr_matrix("x", "float64")
    >>> S.structured_exp(x).eval({x: sp.eye(2, format="csr")}).toarray().round(3)
    array([[2.718, 0.   ],
           [0.   , 2.718]])
    """

    def __str__(self) -> str:
        return f"Structured{{{self.name}}}"

    def make_node(self, x: Any, *args: Any) -> Apply:
        row = self.row
        x = as_sparse_variable(x)
        if len(args) != row.arity - 1:
            raise TypeError(
                f"structured {row.name} takes {row.arity} operand(s), got "
                f"{1 + len(args)}"
            )
        inputs = [x] + [_scalar_operand(row, a) for a in args]
        dtype = _result_dtype(row, x.type.dtype, inputs[1] if args else None)
        return Apply(self, inputs, [SparseType(x.type.format, dtype)()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x = canonical(inputs[0])
        out_type: Any = node.outputs[0].type
        with np.errstate(divide="ignore", invalid="ignore"):
            values = self.row.fn(x.data, *inputs[1:])
        output_storage[0][0] = FORMATS[out_type.format](
            (np.asarray(values, dtype=out_type.dtype), x.indices, x.indptr),
            shape=x.shape)

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        x, *ys = inputs
        floats = [str(v.type.dtype).startswith(("float", "complex")) for v in inputs]
        if self.row.scale is not None:  # linear: the regular gradient
            from symarray.sparse.math import mul

            return [grad_like(mul(output_grads[0], self.row.scale), x)
                    if floats[0] else None]
        if self.row.dx is None:
            gx = sp_zeros_like(x) if floats[0] else None
            return [gx] + [None] * len(ys)
        grads = StructuredGrad(self.name)(x, *ys, output_grads[0])
        if not ys:
            return [grad_like(grads, x) if floats[0] else None]
        gx, gy = grads
        if gy.type.dtype != ys[0].type.dtype and floats[1]:
            from symarray.tensor.elemwise import cast

            gy = cast(gy, ys[0].type.dtype)
        return [grad_like(gx, x) if floats[0] else None, gy if floats[1] else None]


class StructuredGrad(_RowOp):
    """The gradients of :class:`Structured` ``name``: w.r.t. the matrix (on
    its stored positions) and, for binary rows, w.r.t. the scalar."""

    def make_node(self, x: Any, *args: Any) -> Apply:
        x = as_sparse_variable(x)
        *ys, gz = args
        gz = as_sparse_or_tensor_variable(gz)
        ys = [as_tensor_variable(y) for y in ys]
        outs = [x.type()] + [TensorType(x.type.dtype, shape=())() for _ in ys]
        return Apply(self, [x, *ys, gz], outs)

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        row = self.row
        x, *ys, gz = inputs
        xc = canonical(x)
        major, minor = stored_positions(xc.indices, xc.indptr)
        rows, cols = (major, minor) if xc.format == "csr" else (minor, major)
        gvals = gather(gz, rows, cols)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = row.fn(xc.data, *ys)
            dx = row.dx(xc.data, out, *ys) if row.dx is not None else 0
            gx = np.asarray(gvals * dx, dtype=x.dtype)
            if ys and row.dy is not None:
                gy = np.sum(gvals * row.dy(xc.data, out, *ys))
                output_storage[1][0] = np.asarray(gy, dtype=x.dtype)
        output_storage[0][0] = FORMATS[xc.format]((gx, xc.indices, xc.indptr),
                                                  shape=xc.shape)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[tuple[Any, ...]]:
        shapes: list[tuple[Any, ...]] = [_shape_of(node.inputs[0], input_shapes[0])]
        return shapes + [()] * (len(node.outputs) - 1)


def neg(x: Any) -> Any:
    """``-x`` (sparse: the stored values negated; dense: ``T.neg``)."""
    x = as_sparse_or_tensor_variable(x)
    if is_sparse_variable(x):
        return Structured("neg")(x)
    from symarray.tensor.math import ELEMWISE_OPS

    return ELEMWISE_OPS["neg"](x)


abs_ = Structured("abs")
structured_sigmoid = Structured("sigmoid")
structured_exp = Structured("exp")
structured_log = Structured("log")
structured_pow = Structured("pow")
structured_add = Structured("add")
structured_minimum = Structured("minimum")
structured_maximum = Structured("maximum")
sin = Structured("sin")
tan = Structured("tan")
arcsin = Structured("arcsin")
arctan = Structured("arctan")
sinh = Structured("sinh")
arcsinh = Structured("arcsinh")
tanh = Structured("tanh")
arctanh = Structured("arctanh")
rad2deg = Structured("rad2deg")
deg2rad = Structured("deg2rad")
rint = Structured("rint")
ceil = Structured("ceil")
floor = Structured("floor")
trunc = Structured("trunc")
sgn = Structured("sgn")
log1p = Structured("log1p")
expm1 = Structured("expm1")
sqr = Structured("sqr")
sqrt = Structured("sqrt")
