"""Writing into an indexed part of a tensor: ``set_subtensor``, ``inc_subtensor``.

Theano's API: the first argument is the *indexed variable* ``x[idx]``; its
owner gives back ``x`` and the index, and the matching op builds a new
tensor equal to ``x`` with ``x[idx]`` replaced by (``set_subtensor``) or
incremented by (``inc_subtensor``) ``y``:

=========================  ==========================
``x[idx]`` built by         writing op
=========================  ==========================
``Subtensor``               :class:`IncSubtensor`
``AdvancedSubtensor1``      :class:`AdvancedIncSubtensor1`
``AdvancedSubtensor``       :class:`AdvancedIncSubtensor`
=========================  ==========================

``y`` broadcasts against ``x[idx]`` as in NumPy and is cast to ``x``'s
dtype when that is safe (or when ``y`` is a Python number that fits).
Incrementing with repeated indices accumulates like ``np.add.at``; setting
with repeated indices keeps the last value, as NumPy does.  Each op has
``set_instead_of_inc`` and ``inplace`` props: out of place (the default)
``perform`` copies ``x`` first; in place it overwrites ``x``
(``destroy_map = {0: [0]}``), which the inplace rewrites arrange.

Gradients: ``inc`` passes ``gz`` to ``x`` and ``gz[idx]`` (summed over the
dimensions ``y`` was broadcast along) to ``y``; ``set`` zeroes ``gz`` at the
index for ``x``, and when an advanced index may repeat an element only the
value written last gets a gradient (a mask computed from the index, skipped
for constant indices without repeats).  :func:`index_grad` is the gradient
of the reading ops: ``gz`` added into zeros at the index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.errors import DtypeError, IndexingError, RankError, ShapeMismatchError
from symarray.graph.basic import Apply, Constant, Op, Variable
from symarray.tensor.basic import as_tensor_variable, constant
from symarray.tensor.subtensor import (
    Idx,
    Subtensor,
    build_key,
    check_index_inputs,
    check_index_rank,
    check_static_index,
    fill_static,
    idx_list_str,
    index_layout,
    static_out_shape,
    static_shape_of,
)
from symarray.tensor.subtensor_advanced import (
    AdvancedSubtensor,
    AdvancedSubtensor1,
    _as_index_vector,
)
from symarray.tensor.variable import TensorConstant

__all__ = ["IncSubtensor", "AdvancedIncSubtensor1", "AdvancedIncSubtensor",
           "inc_subtensor", "set_subtensor", "advanced_inc_subtensor1",
           "advanced_set_subtensor1", "advanced_inc_subtensor",
           "advanced_set_subtensor"]


def _value_for(what: str, x: Any, y_in: Any,
               sub_shape: tuple[int | None, ...]) -> Variable:
    """``y`` checked against ``x[idx]`` (static shape ``sub_shape``) and cast to
    x's dtype."""
    from symarray.tensor.elemwise import cast

    y: Any = as_tensor_variable(y_in)
    if y.dtype != x.dtype:
        if isinstance(y, TensorConstant) and y.weak and _fits(y.data, x.dtype):
            y = constant(np.asarray(y.data).astype(x.dtype))
        elif np.can_cast(y.dtype, x.dtype, "safe"):
            y = cast(y, x.dtype)
        else:
            raise DtypeError(
                f"{what}: cannot write values of dtype {y.dtype} into a tensor of "
                f"dtype {x.dtype} without losing precision; cast them first: "
                f"T.cast(y, '{x.dtype}')"
            )
    if y.type.ndim > len(sub_shape):
        raise RankError(
            f"{what}: y has {y.type.ndim} dimensions ({y.type}) but x[idx] has "
            f"only {len(sub_shape)} (static shape {sub_shape}); y must broadcast "
            "to x[idx]: drop y's extra dimensions"
        )
    y_shape = static_shape_of(y)
    for d in range(1, y.type.ndim + 1):
        ys, ss = y_shape[-d], sub_shape[-d]
        if ys is not None and ys != 1 and ss is not None and ys != ss:
            raise ShapeMismatchError(
                f"{what}: y of static shape {y_shape} cannot be broadcast to the "
                f"shape of x[idx], {sub_shape}"
            )
    return y


def _fits(data: Any, dtype: str) -> bool:
    """Does a Python number keep its value (up to float rounding) in ``dtype``?"""
    arr = np.asarray(data)
    target = np.dtype(dtype)
    if target.kind in "fc":
        return arr.dtype.kind in "biuf" or target.kind == "c"
    if target.kind in "iu" and arr.dtype.kind in "biu":
        info = np.iinfo(target)
        return bool(info.min <= arr.min() and arr.max() <= info.max)
    return target.kind == "b" and arr.dtype.kind == "b"


class _WriteOp(Op):
    """Shared parts of the three writing ops."""

    inplace: bool
    set_instead_of_inc: bool

    def _setup(self, inplace: bool, set_instead_of_inc: bool) -> None:
        self.inplace = bool(inplace)
        self.set_instead_of_inc = bool(set_instead_of_inc)
        self.destroy_map = {0: [0]} if self.inplace else {}

    def _name(self, base: str, index: str) -> str:
        verb = "Set" if self.set_instead_of_inc else "Inc"
        suffix = "_inplace" if self.inplace else ""
        return f"{base.replace('Inc', verb)}{{{index}}}{suffix}"

    def _target(self, x: Any) -> np.ndarray[Any, Any]:
        return x if self.inplace else x.copy()

    def _write(self, out: np.ndarray[Any, Any], key: Any, y: Any) -> None:
        try:
            if self.set_instead_of_inc:
                out[key] = y
            else:
                self._increment(out, key, y)
        except IndexError as err:
            raise IndexingError(
                f"{self}: {err} (writing into an array of shape {out.shape})"
            ) from None
        except ValueError as err:
            raise ShapeMismatchError(
                f"{self}: cannot broadcast y of shape {np.shape(y)} to x[idx] "
                f"({err}); x has shape {out.shape}"
            ) from None

    def _increment(self, out: np.ndarray[Any, Any], key: Any, y: Any) -> None:
        np.add.at(out, key, y)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        static = static_shape_of(node.outputs[0])
        return [fill_static(static, input_shapes[0])]

    # -- gradients --------------------------------------------------------
    # Subclasses say how to read x[idx] (``_reader``) and how to build the
    # same write with other flags (``_variant``).

    def _reader(self) -> Op:
        raise NotImplementedError

    def _variant(self, set_instead_of_inc: bool) -> _WriteOp:
        raise NotImplementedError

    def _may_repeat(self, x: Any, idx: Sequence[Any]) -> bool:
        """Can two elements of x[idx] be the same element of x?"""
        return False

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # inc: out = x + scatter(y), so gx = gz and gy = gz[idx].
        # set: x's values at idx are overwritten (gx = gz with idx zeroed) and
        # a y value overwritten by a later repeat of its index gets nothing.
        from symarray.tensor.alloc import sum_to
        from symarray.tensor.elemwise import cast
        from symarray.tensor.shape_ops import grad_like, is_float

        x, y, *idx = inputs
        rest: list[Any] = [None] * len(idx)
        if not is_float(x):
            return [None, None, *rest]
        gz = output_grads[0]
        if gz.dtype != x.dtype:
            gz = cast(gz, x.dtype)
        gy = self._reader()(gz, *idx)
        if self.set_instead_of_inc:
            zero = constant(np.zeros((), dtype=x.dtype))
            gx = self._variant(True)(gz, zero, *idx)
            if self._may_repeat(x, idx):
                gy = gy * self._winners(x, idx, gy)
        else:
            gx = gz
        return [grad_like(gx, x), sum_to(gy, y), *rest]

    def _winners(self, x: Any, idx: Sequence[Any], sub: Any) -> Any:
        """Mask shaped like ``sub`` (an ``x[idx]``): True where the value
        written there is the one kept.  Each position writes its own number
        into a buffer shaped like x; a position wins if it reads it back."""
        from symarray.tensor.alloc import alloc, arange
        from symarray.tensor.math import ELEMWISE_OPS
        from symarray.tensor.shape_ops import as_variable, dims, mul_entries, reshape

        sub_dims = dims(sub)
        ids = reshape(arange(as_variable(mul_entries(sub_dims))), sub_dims)
        unset = alloc(np.int64(-1), *[as_variable(n) for n in dims(x)])
        written = self._variant(True)(unset, ids, *idx)
        return ELEMWISE_OPS["eq"](self._reader()(written, *idx), ids)

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        # linear in (x, y): write the y tangent into the x tangent
        from symarray.tensor.alloc import zeros_like
        from symarray.tensor.elemwise import cast
        from symarray.tensor.shape_ops import is_float

        x, y, *idx = inputs
        ex, ey = eval_points[:2]
        if (ex is None and ey is None) or not is_float(x):
            return [None]
        ex = zeros_like(x) if ex is None else cast(ex, x.dtype)
        ey = zeros_like(y) if ey is None else cast(ey, y.dtype)
        return [self._variant(self.set_instead_of_inc)(ex, ey, *idx)]


class IncSubtensor(_WriteOp):
    """``x`` with ``x[idx]`` set to / incremented by ``y`` (basic indices).

    Inputs: ``x``, ``y`` and the index inputs of ``idx_list`` (as for
    :class:`~symarray.tensor.subtensor.Subtensor`).
    """

    __props__ = ("idx_list", "inplace", "set_instead_of_inc")

    def __init__(self, idx_list: Sequence[Any], inplace: bool = False,
                 set_instead_of_inc: bool = False) -> None:
        self.idx_list = tuple(idx_list)
        if Idx.ARRAY in self.idx_list:
            raise TypeError("IncSubtensor: array indices need AdvancedIncSubtensor")
        self._setup(inplace, set_instead_of_inc)

    def __str__(self) -> str:
        return self._name("IncSubtensor", idx_list_str(self.idx_list))

    def make_node(self, x: Any, y: Any, *index_inputs: Any) -> Apply:
        x = as_tensor_variable(x)
        inputs = [as_tensor_variable(i) for i in index_inputs]
        check_index_inputs(self, self.idx_list, inputs, allow_arrays=False)
        check_index_rank(self.idx_list, inputs, x.ndim, x.type)
        layout = index_layout(self.idx_list, x.ndim, [i.type for i in inputs])
        check_static_index(layout, x.type.shape, inputs, str(self))
        sub_shape = static_out_shape(layout, x.type.shape, inputs, str(self))
        y = _value_for(str(self), x, y, sub_shape)
        return Apply(self, [x, y, *inputs], [x.type()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x, y = inputs[:2]
        out = self._target(x)
        key = build_key(self.idx_list, inputs[2:])
        if Ellipsis not in self.idx_list:
            key = key + (Ellipsis,)  # x[key] is an array view even for ints
        self._write(out, key, y)
        output_storage[0][0] = out

    def _increment(self, out: np.ndarray[Any, Any], key: Any, y: Any) -> None:
        view = out[key]  # basic indices never repeat an element
        view += y

    def _reader(self) -> Op:
        return Subtensor(self.idx_list)

    def _variant(self, set_instead_of_inc: bool) -> _WriteOp:
        return IncSubtensor(self.idx_list, set_instead_of_inc=set_instead_of_inc)


class AdvancedIncSubtensor1(_WriteOp):
    """``x`` with ``x[ilist]`` set to / incremented by ``y``; ``ilist`` an int vector.

    Repeated indices accumulate when incrementing (``np.add.at``).
    """

    __props__ = ("inplace", "set_instead_of_inc")

    def __init__(self, inplace: bool = False, set_instead_of_inc: bool = False) -> None:
        self._setup(inplace, set_instead_of_inc)

    def __str__(self) -> str:
        return self._name("AdvancedIncSubtensor1", "")

    def make_node(self, x: Any, y: Any, ilist: Any) -> Apply:
        x = as_tensor_variable(x)
        ilist = _as_index_vector(ilist, str(self))
        sub = AdvancedSubtensor1().make_node(x, ilist).outputs[0]
        y = _value_for(str(self), x, y, static_shape_of(sub))
        return Apply(self, [x, y, ilist], [x.type()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x, y, ilist = inputs
        out = self._target(x)
        self._write(out, ilist, y)
        output_storage[0][0] = out

    def _reader(self) -> Op:
        return AdvancedSubtensor1()

    def _variant(self, set_instead_of_inc: bool) -> _WriteOp:
        return AdvancedIncSubtensor1(set_instead_of_inc=set_instead_of_inc)

    def _may_repeat(self, x: Any, idx: Sequence[Any]) -> bool:
        return not _unique_constant(idx[0])


class AdvancedIncSubtensor(_WriteOp):
    """``x`` with ``x[key]`` set to / incremented by ``y``, any NumPy key.

    Inputs: ``x``, ``y`` and the index inputs of ``idx_list`` (as for
    :class:`~symarray.tensor.subtensor_advanced.AdvancedSubtensor`).
    """

    __props__ = ("idx_list", "inplace", "set_instead_of_inc")

    def __init__(self, idx_list: Sequence[Any], inplace: bool = False,
                 set_instead_of_inc: bool = False) -> None:
        self.idx_list = tuple(idx_list)
        self._setup(inplace, set_instead_of_inc)

    def __str__(self) -> str:
        return self._name("AdvancedIncSubtensor", idx_list_str(self.idx_list))

    def make_node(self, x: Any, y: Any, *index_inputs: Any) -> Apply:
        x = as_tensor_variable(x)
        sub = AdvancedSubtensor(self.idx_list).make_node(x, *index_inputs)
        y = _value_for(str(self), x, y, static_shape_of(sub.outputs[0]))
        return Apply(self, [x, y, *sub.inputs[1:]], [x.type()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x, y = inputs[:2]
        out = self._target(x)
        self._write(out, build_key(self.idx_list, inputs[2:]), y)
        output_storage[0][0] = out

    def _reader(self) -> Op:
        return AdvancedSubtensor(self.idx_list)

    def _variant(self, set_instead_of_inc: bool) -> _WriteOp:
        return AdvancedIncSubtensor(self.idx_list,
                                    set_instead_of_inc=set_instead_of_inc)

    def _may_repeat(self, x: Any, idx: Sequence[Any]) -> bool:
        # one mask, or one constant int array without repeats, writes each
        # element once; scalar indices do not change that
        layout = index_layout(self.idx_list, x.type.ndim, [i.type for i in idx])
        parts = [p for p in layout.fancy if p[0] != "scalar"]
        if len(parts) != 1:
            return True
        kind, _, pos = parts[0]
        return kind == "array" and not _unique_constant(idx[pos])


def _unique_constant(index: Any) -> bool:
    """Is ``index`` a constant int array whose entries are distinct elements?

    Entries of one sign are compared as they are (-1 and n-1 would be the
    same element, so mixed signs count as possibly repeated).
    """
    if not isinstance(index, Constant):
        return False
    data = np.asarray(index.data).reshape(-1)
    if data.dtype.kind == "b":
        return True
    same_sign = bool(np.all(data >= 0) or np.all(data < 0))
    return same_sign and np.unique(data).size == data.size


_INDEXING_OPS = (Subtensor, AdvancedSubtensor1, AdvancedSubtensor)


def index_grad(inc_op: Op, inputs: Sequence[Any],
               output_grads: Sequence[Any]) -> list[Any]:
    """L_op of an indexing op ``x[idx]``: ``inc_op(zeros_like(x), gz, *idx)``.

    ``inc_op`` is the matching increment op, so repeated advanced indices
    accumulate; the index inputs get no gradient.
    """
    from symarray.tensor.alloc import zeros_like
    from symarray.tensor.shape_ops import grad_like, is_float

    x, *idx = inputs
    rest: list[Any] = [None] * len(idx)
    if not is_float(x):
        return [None, *rest]
    gz = output_grads[0]
    if gz.dtype != x.dtype:
        from symarray.tensor.elemwise import cast

        gz = cast(gz, x.dtype)
    return [grad_like(inc_op(zeros_like(x), gz, *idx), x), *rest]


def index_rop(op: Op, inputs: Sequence[Any], eval_points: Sequence[Any]) -> list[Any]:
    """R_op of an indexing op: the tangent indexed the same way (it is linear)."""
    from symarray.tensor.elemwise import cast
    from symarray.tensor.shape_ops import is_float

    x, *idx = inputs
    if eval_points[0] is None or not is_float(x):
        return [None]
    return [op(cast(eval_points[0], x.dtype), *idx)]


def inc_subtensor(x: Any, y: Any, inplace: bool = False,
                  set_instead_of_inc: bool = False,
                  tolerate_inplace_aliasing: bool = False) -> Any:
    """A tensor equal to the indexed tensor, with ``y`` added at the index.

    Parameters
    ----------
    x
        An indexed variable ``a[idx]`` (basic or advanced indexing); the
        result has the shape of ``a``.
    y
        Broadcasts to ``a[idx]``; cast to ``a``'s dtype when that is safe.
    inplace
        Overwrite ``a`` instead of copying it (normally left to the inplace
        rewrites).
    set_instead_of_inc
        Replace the values instead of adding (what ``set_subtensor`` does).

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> a = T.dvector("a")
    >>> T.inc_subtensor(a[[0, 0, 2]], 1.0).eval({a: np.zeros(3)})
    array([2., 0., 1.])
    """
    what = "set_subtensor" if set_instead_of_inc else "inc_subtensor"
    owner = getattr(x, "owner", None)
    if not isinstance(x, Variable) or owner is None or not isinstance(
            owner.op, _INDEXING_OPS):
        made = f"{x} (made by {owner.op})" if owner is not None else repr(x)
        raise TypeError(
            f"{what}: the first argument must be an indexed tensor such as "
            f"a[1:3] or a[idx] (the result of indexing a), got {made}; to write "
            f"into all of a, index it with a[:] or use a + y"
        )
    a, index_inputs = owner.inputs[0], owner.inputs[1:]
    op: Op
    if isinstance(owner.op, Subtensor):
        op = IncSubtensor(owner.op.idx_list, inplace, set_instead_of_inc)
    elif isinstance(owner.op, AdvancedSubtensor1):
        op = AdvancedIncSubtensor1(inplace, set_instead_of_inc)
    else:
        op = AdvancedIncSubtensor(owner.op.idx_list, inplace, set_instead_of_inc)
    return op(a, y, *index_inputs)


def set_subtensor(x: Any, y: Any, inplace: bool = False,
                  tolerate_inplace_aliasing: bool = False) -> Any:
    """A tensor equal to the indexed tensor, with ``y`` written at the index.

    With repeated advanced indices the last value wins, as in NumPy.

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> a = T.dmatrix("a")
    >>> T.set_subtensor(a[:, 1], [7.0, 8.0]).eval({a: np.zeros((2, 2))})
    array([[0., 7.],
           [0., 8.]])
    """
    return inc_subtensor(x, y, inplace, set_instead_of_inc=True,
                         tolerate_inplace_aliasing=tolerate_inplace_aliasing)


def advanced_inc_subtensor1(x: Any, y: Any, ilist: Any) -> Any:
    """``x`` with ``y`` added at rows ``ilist`` (repeats accumulate)."""
    return AdvancedIncSubtensor1()(x, y, ilist)


def advanced_set_subtensor1(x: Any, y: Any, ilist: Any) -> Any:
    """``x`` with rows ``ilist`` set to ``y``."""
    return AdvancedIncSubtensor1(set_instead_of_inc=True)(x, y, ilist)


def advanced_inc_subtensor(x: Any, y: Any, *key: Any) -> Any:
    """``x`` with ``y`` added at ``x[key]`` (any NumPy key)."""
    from symarray.tensor.subtensor import getitem

    return inc_subtensor(getitem(x, tuple(key)), y)


def advanced_set_subtensor(x: Any, y: Any, *key: Any) -> Any:
    """``x`` with ``x[key]`` set to ``y`` (any NumPy key)."""
    from symarray.tensor.subtensor import getitem

    return set_subtensor(getitem(x, tuple(key)), y)
