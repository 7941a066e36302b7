"""Indexing sparse matrices: ``x[i, j]``, ``x[a:b, c:d]``, ``x[rows]``.

Theano's three ops, with scipy's indexing doing the work:

==========================  ===============  ================================
index                       op               result
==========================  ===============  ================================
two integers                ``GetItemScalar``  dense 0-d of ``x``'s dtype
slices (or one integer)     ``GetItem2d``      sparse of ``x``'s format (2-d)
integer vector (one axis)   ``GetItemList``    sparse of ``x``'s format
==========================  ===============  ================================

Indices may be Python integers or symbolic integer scalars (vectors for
``GetItemList``); negative indices and slice steps follow NumPy.  Each op
records which index parts are given in ``spec`` (one entry per axis:
``"i"`` an integer, ``"l"`` an integer vector, or a ``(start, stop,
step)`` tuple of booleans for a slice), and takes the given parts as
inputs after ``x``.

The gradient w.r.t. ``x`` is regular: a sparse matrix of ``x``'s shape
holding the output gradient at the indexed positions (a row listed twice
gets the sum of both gradients), built by ``GetItemGrad``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from symarray.errors import RankError
from symarray.graph.basic import Apply, Op, Variable
from symarray.sparse.basic import (
    _shape_of,
    as_result,
    as_sparse_or_tensor_variable,
    as_sparse_variable,
    grad_like,
)
from symarray.sparse.type import FORMATS, SparseType, sparse_type
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.type import TensorType

__all__ = ["GetItem2d", "GetItemScalar", "GetItemList", "GetItemGrad",
           "get_item_2d", "get_item_scalar", "get_item_list", "getitem"]

Spec = tuple[Any, Any]


def _int_input(v: Any, ndim: int, where: str) -> Variable:
    t = as_tensor_variable(v)
    if t.type.ndim != ndim or not t.type.dtype.startswith(("int", "uint")):
        what = "an integer scalar" if ndim == 0 else "an integer vector"
        raise TypeError(
            f"{where}: index parts must be {what}, got {v!r} of type {t.type}; "
            "cast it with T.cast(v, 'int64')"
        )
    return t


def _is_int_scalar(k: Any) -> bool:
    if isinstance(k, bool):
        return False
    if isinstance(k, (int, np.integer)):
        return True
    return (isinstance(k, Variable) and isinstance(k.type, TensorType)
            and k.type.ndim == 0)


def _parse(key: Any, where: str) -> tuple[Spec, list[Variable]]:
    """The ``spec`` and the index inputs of ``key`` (one or two parts)."""
    if not isinstance(key, tuple):
        key = (key, slice(None))
    if len(key) != 2:
        raise RankError(
            f"{where}: a sparse matrix takes 1 or 2 indices, got {len(key)}"
        )
    spec: list[Any] = []
    inputs: list[Variable] = []
    for k in key:
        if isinstance(k, slice):
            parts = (k.start, k.stop, k.step)
            spec.append(tuple(p is not None for p in parts))
            inputs += [_int_input(p, 0, where) for p in parts if p is not None]
        elif _is_int_scalar(k):
            spec.append("i")
            inputs.append(_int_input(k, 0, where))
        elif k is None or k is Ellipsis:
            raise TypeError(
                f"{where}: sparse matrices are always 2-d; None and ... are not "
                "indices, got {key!r}"
            )
        else:
            spec.append("l")
            inputs.append(_int_input(k, 1, where))
    if spec == ["l", "l"]:
        raise TypeError(
            f"{where}: at most one axis may take an index vector, got {key!r}; "
            "index rows and columns in two steps (x[rows][:, cols])"
        )
    return (spec[0], spec[1]), inputs


def _key(spec: Spec, values: Sequence[Any]) -> tuple[Any, ...]:
    """The NumPy/scipy index for ``spec`` and the index input values."""
    it = iter(values)
    key: list[Any] = []
    for s in spec:
        if s == "i":
            key.append(int(next(it)))
        elif s == "l":
            key.append(np.asarray(next(it), dtype=np.int64))
        else:
            key.append(slice(*[int(next(it)) if given else None for given in s]))
    return tuple(key)


def _axis_length(s: Any, n: Any, v: Sequence[Variable]) -> Any:
    """The symbolic length of one axis of the result."""
    from symarray.tensor.subtensor_advanced import SliceLength

    if s == "i":
        return 1
    if s == "l":
        vec: Any = v[0]
        return vec.shape[0]
    if not any(s):
        return n
    return SliceLength(*s)(as_tensor_variable(n), *v)


def _split_inputs(spec: Spec, inputs: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    n0 = 1 if spec[0] in ("i", "l") else sum(spec[0])
    return list(inputs[:n0]), list(inputs[n0:])


class _GetItem(Op):
    """Base of the indexing ops: ``x[key]`` with ``key`` from ``spec``."""

    __props__ = ("spec",)

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def out_type(self, x: Variable) -> Any:
        return sparse_type(x).clone()

    def make_node(self, x: Any, *index: Any) -> Apply:
        x = as_sparse_variable(x)
        index = tuple(as_tensor_variable(i) for i in index)
        return Apply(self, [x, *index], [self.out_type(x)()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x, *index = inputs
        got = x[_key(self.spec, index)]
        out: Any = node.outputs[0].type
        if isinstance(out, SparseType):
            output_storage[0][0] = as_result(got, out.format, out.dtype)
        else:
            output_storage[0][0] = np.asarray(got, dtype=out.dtype)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[tuple[Any, ...]]:
        x, *index = node.inputs
        rows, cols = _shape_of(x, input_shapes[0])
        v0, v1 = _split_inputs(self.spec, index)
        return [(_axis_length(self.spec[0], rows, v0),
                 _axis_length(self.spec[1], cols, v1))]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        x, *index = inputs
        none: list[Any] = [None] * len(index)
        if x.type.dtype[0] not in "fc":
            return [None, *none]
        g = GetItemGrad(self.spec)(x, output_grads[0], *index)
        return [grad_like(g, x), *none]

    def R_op(self, inputs: list[Any], eval_points: list[Any]  # noqa: N802
             ) -> list[Any]:
        ex = eval_points[0]
        return [None if ex is None else self(ex, *inputs[1:])]


class GetItem2d(_GetItem):
    """``x[a:b:c, d:e:f]`` (an integer on one axis keeps that axis, length
    1): a sparse matrix of ``x``'s format."""


class GetItemList(_GetItem):
    """``x[rows]`` or ``x[:, cols]`` with an integer vector: a sparse matrix
    of ``x``'s format."""


class GetItemScalar(_GetItem):
    """``x[i, j]``: the value at one position as a dense 0-d."""

    def out_type(self, x: Variable) -> Any:
        return TensorType(sparse_type(x).dtype, shape=())

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[tuple[Any, ...]]:
        return [()]


class GetItemGrad(Op):
    """A sparse matrix of ``x``'s shape and type holding ``gz`` (dense or
    sparse) at the positions ``x[key]`` took, sums where they repeat."""

    __props__ = ("spec",)

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def make_node(self, x: Any, gz: Any, *index: Any) -> Apply:
        x = as_sparse_variable(x)
        gz = as_sparse_or_tensor_variable(gz)
        index = tuple(as_tensor_variable(i) for i in index)
        return Apply(self, [x, gz, *index], [x.type()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x, gz, *index = inputs
        key = _key(self.spec, index)
        rows = np.atleast_1d(np.arange(x.shape[0])[key[0]])
        cols = np.atleast_1d(np.arange(x.shape[1])[key[1]])
        g = sp.coo_matrix(gz) if sp.issparse(gz) else sp.coo_matrix(
            np.reshape(np.asarray(gz), (len(rows), len(cols))))
        out: Any = node.outputs[0].type
        full = sp.coo_matrix((g.data, (rows[g.row], cols[g.col])), shape=x.shape)
        output_storage[0][0] = as_result(FORMATS[out.format](full), out.format,
                                         out.dtype)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[tuple[Any, ...]]:
        return [_shape_of(node.inputs[0], input_shapes[0])]


def getitem(x: Any, key: Any) -> Any:
    """``x[key]`` for a sparse ``x`` (see the module table).

    >>> import scipy.sparse as sp, symarray.sparse as S
    >>> x = S.csr_matrix("x", "float64")
    >>> x[1, 1].eval({x: sp.eye(3, format="csr")}).item()
    1.0
    """
    spec, inputs = _parse(key, "sparse indexing")
    if spec == ("i", "i"):
        return GetItemScalar(spec)(x, *inputs)
    if "l" in spec:
        return GetItemList(spec)(x, *inputs)
    return GetItem2d(spec)(x, *inputs)


def get_item_2d(x: Any, key: Any) -> Any:
    """``x[key]`` with slices (and at most one integer): a sparse matrix."""
    spec, inputs = _parse(key, "get_item_2d")
    if "l" in spec:
        raise TypeError(f"get_item_2d: takes slices and integers, got {key!r}")
    return GetItem2d(spec)(x, *inputs)


def get_item_scalar(x: Any, key: tuple[Any, Any]) -> Any:
    """``x[i, j]`` as a dense 0-d."""
    spec, inputs = _parse(key, "get_item_scalar")
    if spec != ("i", "i"):
        raise TypeError(f"get_item_scalar: takes two integers, got {key!r}")
    return GetItemScalar(spec)(x, *inputs)


def get_item_list(x: Any, rows: Any) -> Any:
    """The rows ``rows`` (an integer vector) of ``x``: a sparse matrix."""
    spec, inputs = _parse((rows, slice(None)), "get_item_list")
    return GetItemList(spec)(x, *inputs)
