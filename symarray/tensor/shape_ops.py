"""Shape ops: reading, asserting and changing the shape of a tensor.

``shape(x)`` / ``shape_i(x, i)`` read lengths at run time; ``specify_shape``
checks facts at run time and passes its input through (a view);
``reshape`` and ``flatten`` change the layout.  (``broadcast_to`` lives with
``alloc``; ``squeeze``, ``shape_padleft``..., ``unbroadcast``... and
``Assert`` with :mod:`symarray.tensor.shape_misc`, re-exported here.)

Key decisions:

* A shape argument is a list of *entries*: Python ints where the length is
  known when the graph is built, 0-d int64 variables otherwise.  The helpers
  :func:`shape_entries`, :func:`shape_vector` and :func:`vector_entries`
  convert between entries, tuples the user wrote and int64 shape vectors, so
  static lengths survive every op that takes a shape.
* ``MakeVector`` (a vector from 0-d scalars) lives here because it is how
  symbolic shapes are built; ``stack`` uses it for scalars.
* Ops whose output is their input (``SpecifyShape``; ``Unbroadcast`` and
  ``Assert`` in ``shape_misc``) declare ``view_map``; so does ``Reshape``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.errors import (
    AxisError,
    DtypeError,
    RankError,
    ShapeMismatchError,
)
from symarray.graph.basic import Apply, Constant, Op, Variable
from symarray.graph.traversal import NotScalarConstantError, get_scalar_constant_value
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.elemwise import cast, dimshuffle
from symarray.tensor.type import TensorType, tensor_type

__all__ = [
    "Shape", "Shape_i", "SpecifyShape", "Reshape", "MakeVector", "shape", "shape_i",
    "specify_shape", "reshape", "flatten", "make_vector", "get_vector_length",
]

Entry = Any  # an int, or a 0-d int64 TensorVariable


# -- entries: ints where static, 0-d int64 variables otherwise -------------


def int64_constant(value: Any) -> Any:
    """A 0-d int64 constant."""
    return TensorType("int64", shape=()).make_constant(np.int64(value))


def static_int(v: Any) -> int | None:
    """The value of an int or 0-d variable when known at build time, else None."""
    if isinstance(v, (int, np.integer)):
        return int(v)
    try:
        return int(get_scalar_constant_value(v))
    except NotScalarConstantError:
        return None


def as_int_scalar(v: Any, what: str) -> Any:
    """``v`` as a 0-d int64 variable; clear errors for other ranks and dtypes."""
    if isinstance(v, (bool, np.bool_)):
        raise DtypeError(f"{what}: expected an integer, got {v!r}")
    if isinstance(v, (int, np.integer)):
        return int64_constant(v)
    t = as_tensor_variable(v)
    if t.ndim != 0:
        raise RankError(f"{what}: expected a 0-d integer, got {t} of type {t.type}")
    if np.dtype(t.dtype).kind not in "iu":
        raise DtypeError(
            f"{what}: expected an integer, got {t} of dtype {t.dtype}; cast it "
            "with .astype('int64')"
        )
    return cast(t, "int64")


def _entry(v: Any, what: str) -> Entry:
    """One shape entry: an int when static, else a 0-d int64 variable."""
    if isinstance(v, np.ndarray) and v.ndim == 0:
        v = v.item()
    if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
        return int(v)
    var = as_int_scalar(v, what)
    known = static_int(var)
    return var if known is None else known


def shape_entries(shape: Any, what: str, allow_none: bool = False) -> list[Entry]:
    """Normalise a user's shape argument to a list of entries.

    ``shape`` is an int, a tuple/list of ints, ``None`` (with ``allow_none``)
    and 0-d integer variables, or a 1-d integer variable of known length
    (``y.shape`` is one).
    """
    if isinstance(shape, Variable):
        t = as_tensor_variable(shape)
        if t.ndim == 0:
            return [_entry(t, what)]
        if t.ndim != 1:
            raise RankError(
                f"{what}: a shape must be a vector, got {t} of type {t.type}"
            )
        return vector_entries(t, what=what)
    if isinstance(shape, np.ndarray):
        shape = shape.tolist()
    if not isinstance(shape, (list, tuple)):
        return [_entry(shape, what)]
    out: list[Entry] = []
    for s in shape:
        if s is None and allow_none:
            out.append(None)
        elif s is None:
            raise TypeError(f"{what}: shape entries must be ints, got None in {shape}")
        else:
            out.append(_entry(s, what))
    return out


def vector_entries(v: Any, n: int | None = None, what: str = "shape") -> list[Entry]:
    """The entries of a 1-d integer variable of length ``n``.

    Looks through constants, ``MakeVector`` and ``Shape``; otherwise each
    entry is indexed out of ``v`` (the vector's length must then be known:
    ``n`` or its static length).
    """
    v = as_tensor_variable(v)
    if np.dtype(v.dtype).kind not in "iu" or v.ndim != 1:
        raise DtypeError(
            f"{what}: expected an integer vector, got {v} of type {v.type}"
        )
    if isinstance(v, Constant):
        return [int(e) for e in np.asarray(v.data)]
    owner = v.owner
    if owner is not None and isinstance(owner.op, MakeVector):
        return [_entry(i, what) for i in owner.inputs]
    if owner is not None and isinstance(owner.op, Shape):
        return dims(owner.inputs[0])
    length = n if n is not None else v.type.shape[0]
    if length is None:
        raise ShapeMismatchError(
            f"{what}: the length of the shape vector {v} is not known when the graph "
            "is built; pass a tuple of scalars, give ndim=, or specify_shape it"
        )
    return _index_entries(v, length)


def _index_entries(v: Any, length: int) -> list[Entry]:
    """``[v[0], ..., v[length-1]]`` as 0-d int64 variables."""
    from symarray.tensor import subtensor

    getitem = getattr(subtensor, "getitem", None)
    if getitem is not None:
        return [cast(getitem(v, i), "int64") for i in range(length)]
    return split_entries(v, length)


def split_entries(v: Any, length: int) -> list[Entry]:
    """The entries of ``v`` taken apart with ``Split`` (no indexing needed)."""
    from symarray.tensor.join import split

    if length == 0:
        return []
    ones = TensorType("int64", shape=(length,)).make_constant(np.ones(length, "int64"))
    parts = split(v, ones, length, axis=0)
    return [cast(dimshuffle(p, ()), "int64") for p in parts]


def shape_vector(entries: Sequence[Entry]) -> Any:
    """An int64 vector holding ``entries`` (a constant when all are static)."""
    if all(isinstance(e, int) for e in entries):
        data = np.asarray(entries, dtype="int64").reshape(len(entries))
        return TensorType("int64", shape=(len(entries),)).make_constant(data)
    return MakeVector("int64")(*[as_int_scalar(e, "shape") for e in entries])


def get_vector_length(v: Any) -> int:
    """The length of the vector ``v`` when it is known at build time.

    Raises ``ValueError`` when it is not (Theano's ``get_vector_length``).
    """
    v = as_tensor_variable(v)
    if v.ndim != 1:
        raise RankError(
            f"get_vector_length: expected a vector, got {v} of type {v.type}"
        )
    if v.type.shape[0] is not None:
        return int(v.type.shape[0])
    if isinstance(v, Constant):
        return int(np.asarray(v.data).shape[0])
    raise ValueError(
        f"get_vector_length: the length of {v} is not known when the graph is built; "
        "specify_shape it"
    )


def dims(x: Any) -> list[Entry]:
    """The lengths of ``x``: static ints where known, ``shape_i`` otherwise."""
    x = as_tensor_variable(x)
    return [s if s is not None else shape_i(x, k) for k, s in enumerate(x.type.shape)]


def mul_entries(entries: Sequence[Entry]) -> Entry:
    """The product of entries (an int when all are ints)."""
    from symarray.tensor.math import ELEMWISE_OPS as OPS

    static = 1
    symbolic = []
    for e in entries:
        if isinstance(e, int):
            static *= e
        else:
            symbolic.append(e)
    if not symbolic:
        return static
    out = symbolic[0]
    for e in symbolic[1:]:
        out = OPS["mul"](out, e)
    return out if static == 1 else OPS["mul"](out, int64_constant(static))


def as_variable(e: Entry) -> Any:
    """An entry as a 0-d int64 variable."""
    return int64_constant(e) if isinstance(e, int) else e


def is_float(x: Any) -> bool:
    """Does ``x`` (a tensor variable) hold floating-point or complex values?"""
    return np.dtype(x.dtype).kind in "fc"


def grad_like(g: Any, x: Any) -> Any:
    """``g`` as a gradient for ``x``: ``x``'s dtype and its static lengths."""
    if g.dtype != x.dtype:
        g = cast(g, x.dtype)
    missing = [s if s is not None and gs is None else None
               for s, gs in zip(x.type.shape, g.type.shape, strict=True)]
    if any(m is not None for m in missing):
        g = specify_shape(g, missing)
    return g


class IdentityLikeOp(Op):
    """Base of the ops whose output is input 0's value (a copy, a view or the
    same array, maybe with other static lengths): the output has input 0's
    shape, its gradient is the output's (cast and given back input 0's
    static lengths) and its tangent is the op applied to input 0's tangent
    (the other inputs, e.g. conditions, pass through and get no gradient).
    """

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [tuple(input_shapes[0])]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        x = inputs[0]
        gx = grad_like(output_grads[0], x) if is_float(x) else None
        return [gx] + [None] * (len(inputs) - 1)

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        x, *rest = inputs
        if eval_points[0] is None or not is_float(x):
            return [None]
        return [self(cast(eval_points[0], x.dtype), *rest)]


def _fmt(shape: Sequence[Any]) -> str:
    text = ", ".join("?" if s is None else str(s) for s in shape)
    return f"({text},)" if len(shape) == 1 else f"({text})"


def _check_axis(axis: Any, ndim: int, what: str) -> int:
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{what}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise AxisError(
            f"{what}: axis {axis} is out of range for a {ndim}-d tensor "
            f"(valid: {-ndim}..{ndim - 1})"
        )
    return int(axis) % ndim


# -- MakeVector -------------------------------------------------------------


class MakeVector(Op):
    """A vector from 0-d tensors: ``MakeVector("int64")(a, b, c)``."""

    __props__ = ("dtype",)

    def __init__(self, dtype: str = "int64") -> None:
        self.dtype = str(np.dtype(dtype))

    def make_node(self, *inputs: Any) -> Apply:
        items = []
        for k, i in enumerate(inputs):
            t = as_tensor_variable(i)
            if t.ndim != 0:
                raise RankError(
                    f"{self}: input {k} must be 0-d, got {t} of type {t.type}; "
                    "use stack or join for arrays"
                )
            items.append(cast(t, self.dtype))
        out = TensorType(self.dtype, shape=(len(items),)).make_variable()
        return Apply(self, items, [out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        output_storage[0][0] = np.array(
            [np.asarray(i).item() for i in inputs], dtype=self.dtype
        ).reshape(len(inputs))

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [(len(node.inputs),)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # element i of the output is input i: its gradient is gz[i]
        from symarray.tensor.subtensor import getitem

        (gz,) = output_grads
        if not is_float(outputs[0]):
            return [None] * len(inputs)
        return [grad_like(getitem(gz, k), i) if is_float(i) else None
                for k, i in enumerate(inputs)]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        from symarray.tensor.alloc import zeros_like

        if np.dtype(self.dtype).kind not in "fc":
            return [None]
        return [self(*[zeros_like(i) if e is None else e
                       for i, e in zip(inputs, eval_points, strict=True)])]


def make_vector(*items: Any, dtype: Any = None) -> Any:
    """A vector from 0-d values; ``dtype`` defaults to their NumPy upcast."""
    ts = [as_tensor_variable(i) for i in items]
    if dtype is None:
        dtype = upcast_dtype(ts) if ts else "int64"
    return MakeVector(str(np.dtype(dtype)))(*ts)


def upcast_dtype(tensors: Sequence[Any]) -> str:
    """NumPy's result dtype of ``tensors``; Python-scalar constants yield."""
    from symarray.scalar.table import SCALAR_OPS

    add = SCALAR_OPS["add"]
    dtype, weak = tensors[0].dtype, bool(getattr(tensors[0], "weak", False))
    for t in tensors[1:]:
        t_weak = bool(getattr(t, "weak", False))
        dtype = add.output_dtypes([dtype, t.dtype], [weak, t_weak])[0]
        weak = weak and t_weak
    return str(dtype)


# -- Shape, Shape_i ---------------------------------------------------------


class Shape(Op):
    """The shape of a tensor as an int64 vector of length ``ndim``."""

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        out = TensorType("int64", shape=(x.ndim,)).make_variable()
        return Apply(self, [x], [out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        output_storage[0][0] = np.asarray(np.shape(inputs[0]), dtype="int64").reshape(
            tensor_type(node.inputs[0]).ndim
        )

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [(tensor_type(node.inputs[0]).ndim,)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        return [None]  # the lengths do not depend on the values

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        return [None]


_shape = Shape()


def shape(x: Any) -> Any:
    """The shape of ``x`` as a symbolic int64 vector (``x.shape``).

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> x = T.dmatrix("x")
    >>> T.shape(x).eval({x: np.zeros((2, 3))}).tolist()
    [2, 3]
    """
    return _shape(x)


class Shape_i(Op):  # noqa: N801 (Theano's name)
    """The length of dimension ``i`` as a 0-d int64."""

    __props__ = ("i",)

    def __init__(self, i: int) -> None:
        if not isinstance(i, (int, np.integer)) or i < 0:
            raise ValueError(f"Shape_i: i must be a non-negative int, got {i!r}")
        self.i = int(i)

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim <= self.i:
            raise RankError(
                f"{self}: {x} of type {x.type} has no dimension {self.i}"
            )
        return Apply(self, [x], [TensorType("int64", shape=()).make_variable()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        output_storage[0][0] = np.asarray(np.shape(inputs[0])[self.i], dtype="int64")

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [()]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        return [None]  # the length does not depend on the values

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        return [None]

    def scalar_constant_value(self, var: Variable, get: Any) -> Any:
        length = var.owner.inputs[0].type.shape[self.i]  # type: ignore[union-attr]
        if length is None:
            raise NotScalarConstantError(f"{var}: the length is not static")
        return np.asarray(length, dtype="int64")


def shape_i(x: Any, i: int, fgraph: Any = None) -> Any:
    """The length of dimension ``i`` of ``x`` as a 0-d int64 variable.

    Negative ``i`` counts from the end.  Static lengths are visible to
    ``get_scalar_constant_value``.
    """
    x = as_tensor_variable(x)
    i = _check_axis(i, x.ndim, "shape_i")
    return Shape_i(i)(x)


# -- SpecifyShape -------------------------------------------------------------


class SpecifyShape(Op):
    """Pass ``x`` through, checking some lengths at run time.

    ``given[d]`` says whether dimension ``d`` has an input holding its
    expected length; the output's static shape records every constant one.
    """

    __props__ = ("given",)
    view_map = {0: [0]}

    def __init__(self, given: Sequence[bool]) -> None:
        self.given = tuple(bool(g) for g in given)

    def make_node(self, x: Any, *lengths: Any) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim != len(self.given):
            raise RankError(
                f"specify_shape: got {len(self.given)} lengths for {x} of type "
                f"{x.type}, which has {x.ndim} dimensions"
            )
        if len(lengths) != sum(self.given):
            raise TypeError(
                f"{self}: expected {sum(self.given)} lengths, got {len(lengths)}"
            )
        lens = [as_int_scalar(s, "specify_shape") for s in lengths]
        static = list(x.type.shape)
        it = iter(lens)
        for d, g in enumerate(self.given):
            if not g:
                continue
            known = static_int(next(it))
            if known is None:
                continue
            if known < 0:
                raise ShapeMismatchError(f"specify_shape: length {known} is negative")
            if static[d] is not None and static[d] != known:
                raise ShapeMismatchError(
                    f"specify_shape: dimension {d} of {x} has static length "
                    f"{static[d]}, but {known} was specified ({x.type})"
                )
            static[d] = known
        out = TensorType(x.dtype, shape=static).make_variable()
        return Apply(self, [x, *lens], [out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x = inputs[0]
        it = iter(inputs[1:])
        expected = [int(next(it)) if g else None for g in self.given]
        got = np.shape(x)
        if any(e is not None and e != n for e, n in zip(expected, got, strict=True)):
            raise ShapeMismatchError(
                f"specify_shape: expected shape {_fmt(expected)}, got {got}"
            )
        output_storage[0][0] = x

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        static = tensor_type(node.outputs[0]).shape
        it = iter(node.inputs[1:])
        out: list[Entry] = []
        for d, g in enumerate(self.given):
            given = next(it) if g else None
            if static[d] is not None:
                out.append(static[d])
            else:
                out.append(given if given is not None else input_shapes[0][d])
        return [tuple(out)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # identity: the gradient passes through, with the same shape check
        x, *lengths = inputs
        if not is_float(x):
            return [None] * len(inputs)
        return [self(grad_like(output_grads[0], x), *lengths)] + [None] * len(lengths)

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        x, *lengths = inputs
        if eval_points[0] is None or not is_float(x):
            return [None]
        return [self(cast(eval_points[0], x.dtype), *lengths)]


def specify_shape(x: Any, shape: Any) -> Any:
    """``x``, with its shape checked at run time and recorded statically.

    ``shape`` has one entry per dimension: an int, a 0-d integer variable, or
    None (not checked).

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x = T.dmatrix("x")
    >>> T.specify_shape(x, (None, 3)).type.shape
    (None, 3)
    """
    x = as_tensor_variable(x)
    if isinstance(shape, (int, np.integer)) or (
        isinstance(shape, Variable) and tensor_type(shape).ndim == 0
    ):
        shape = (shape,)
    entries = shape_entries(shape, "specify_shape", allow_none=True)
    if len(entries) != x.ndim:
        raise RankError(
            f"specify_shape: got {len(entries)} lengths {_fmt(entries)} for {x} of "
            f"type {x.type}, which has {x.ndim} dimensions"
        )
    for d, (e, s) in enumerate(zip(entries, x.type.shape, strict=True)):
        if isinstance(e, int) and s is not None and e != s:
            raise ShapeMismatchError(
                f"specify_shape: dimension {d} of {x} has static length {s}, but "
                f"{e} was specified ({x.type})"
            )
    given = [e is not None and not (isinstance(e, int) and s == e)
             for e, s in zip(entries, x.type.shape, strict=True)]
    if not any(given):
        return x
    lengths = [as_variable(e) for e, g in zip(entries, given, strict=True) if g]
    return SpecifyShape(given)(x, *lengths)


# -- Reshape --------------------------------------------------------------


class Reshape(Op):
    """``x`` reshaped to an int64 shape vector of length ``ndim`` (one -1 ok)."""

    __props__ = ("ndim",)
    view_map = {0: [0]}

    def __init__(self, ndim: int) -> None:
        self.ndim = int(ndim)

    def make_node(self, x: Any, shp: Any) -> Apply:
        x = as_tensor_variable(x)
        shp = as_tensor_variable(shp)
        if shp.ndim != 1 or np.dtype(shp.dtype).kind not in "iu":
            raise DtypeError(
                f"reshape: the shape must be an integer vector, got {shp} of type "
                f"{shp.type}"
            )
        if shp.type.shape[0] not in (None, self.ndim):
            raise ShapeMismatchError(
                f"reshape: the shape vector has {shp.type.shape[0]} entries but "
                f"ndim={self.ndim}"
            )
        entries: list[int | None] = [None] * self.ndim
        if isinstance(shp, Constant) or (
            shp.owner is not None and isinstance(shp.owner.op, MakeVector)
        ):
            entries = [e if isinstance(e, int) else None for e in vector_entries(shp)]
            if len(entries) != self.ndim:
                raise ShapeMismatchError(
                    f"reshape: the shape {entries} has {len(entries)} entries but "
                    f"ndim={self.ndim}"
                )
        static = _reshape_static(x.type.shape, entries)
        out = TensorType(x.dtype, shape=static).make_variable()
        return Apply(self, [x, shp], [out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        x, shp = inputs
        new = tuple(int(s) for s in np.asarray(shp).reshape(-1))
        if len(new) != self.ndim:
            raise ShapeMismatchError(
                f"reshape: the shape {new} has {len(new)} entries, expected {self.ndim}"
            )
        try:
            output_storage[0][0] = np.reshape(x, new)
        except ValueError:
            raise ShapeMismatchError(
                f"reshape: cannot reshape an array of shape {np.shape(x)} "
                f"({np.size(x)} elements) into shape {new}; the number of elements "
                "must stay the same (one entry may be -1)"
            ) from None

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        from symarray.tensor.math import ELEMWISE_OPS as OPS

        static = tensor_type(node.outputs[0]).shape
        if all(s is not None for s in static):
            return [tuple(static)]
        entries = vector_entries(node.inputs[1], self.ndim, "reshape")
        total = mul_entries(list(input_shapes[0]))
        out: list[Entry] = []
        for d, e in enumerate(entries):
            if static[d] is not None:
                out.append(static[d])
            elif isinstance(e, int) and e != -1:
                out.append(e)
            elif isinstance(e, int):  # the one -1: total / product of the others
                rest = mul_entries([o for k, o in enumerate(entries) if k != d])
                out.append(OPS["int_div"](as_variable(total),
                                          OPS["maximum"](as_variable(rest), 1)))
            else:  # symbolic: it may be -1 at run time
                missing = OPS["int_div"](
                    as_variable(total),
                    OPS["maximum"](OPS["neg"](as_variable(mul_entries(entries))), 1))
                out.append(OPS["switch"](OPS["eq"](e, -1), missing, e))
        return [tuple(out)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        # the same elements in x's layout: reshape the gradient back
        x, _ = inputs
        if not is_float(x):
            return [None, None]
        g = Reshape(x.ndim)(output_grads[0], shape_vector(dims(x)))
        return [grad_like(g, x), None]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        x, shp = inputs
        if eval_points[0] is None or not is_float(x):
            return [None]
        return [self(cast(eval_points[0], x.dtype), shp)]


def _reshape_static(
    x_shape: tuple[int | None, ...], entries: Sequence[int | None]
) -> tuple[int | None, ...]:
    """Static output shape of a reshape; errors for shapes that cannot work."""
    bad = [e for e in entries if e is not None and e < -1]
    if bad or list(entries).count(-1) > 1:
        raise ShapeMismatchError(
            f"reshape: invalid shape {_fmt(entries)}; entries must be >= 0, with at "
            "most one -1"
        )
    total = None if None in x_shape else math.prod(x_shape)  # type: ignore[arg-type]
    unknown = [d for d, e in enumerate(entries) if e is None or e == -1]
    if total is not None and len(unknown) == 1:
        # one free entry (symbolic, or -1): its length is what the others leave
        rest = math.prod(e for e in entries if e is not None and e != -1)
        if rest and total % rest == 0:
            entries = [total // rest if e is None else e for e in entries]
    if total is None or None in entries:
        return tuple(None if e == -1 else e for e in entries)
    rest = math.prod(e for e in entries if e != -1)  # type: ignore[misc]
    if -1 in entries:
        if rest == 0 or total % rest:
            raise ShapeMismatchError(
                f"reshape: cannot reshape {_fmt(x_shape)} ({total} elements) into "
                f"{_fmt(entries)}: {total} is not a multiple of {rest}"
            )
        return tuple(total // rest if e == -1 else e for e in entries)
    if rest != total:
        raise ShapeMismatchError(
            f"reshape: cannot reshape {_fmt(x_shape)} ({total} elements) into "
            f"{_fmt(entries)} ({rest} elements)"
        )
    return tuple(entries)


def reshape(x: Any, newshape: Any, ndim: int | None = None) -> Any:
    """``x`` with a new shape holding the same elements (NumPy's ``reshape``).

    ``newshape`` is an int, a tuple/list of ints and 0-d integer variables,
    or a 1-d integer variable (give ``ndim`` when its length is not static).
    One entry may be -1: it is inferred from the others.

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> x = T.dvector("x")
    >>> T.reshape(x, (2, -1)).eval({x: np.arange(6.0)}).shape
    (2, 3)
    """
    x = as_tensor_variable(x)
    if isinstance(newshape, Variable) and as_tensor_variable(newshape).ndim == 1:
        shp = as_tensor_variable(newshape)
        if not isinstance(shp, Constant) and (
            shp.owner is None or not isinstance(shp.owner.op, (MakeVector, Shape))
        ):
            n = ndim if ndim is not None else shp.type.shape[0]
            if n is None:
                raise ValueError(
                    f"reshape: the length of the shape vector {shp} is not known; "
                    "pass ndim="
                )
            if np.dtype(shp.dtype).kind not in "iu":
                raise DtypeError(f"reshape: the shape must be integers, got {shp.type}")
            return Reshape(n)(x, cast(shp, "int64"))
    entries = shape_entries(newshape, "reshape")
    if ndim is not None and ndim != len(entries):
        raise ValueError(
            f"reshape: ndim={ndim} but the shape {_fmt(entries)} has {len(entries)} "
            "entries"
        )
    return Reshape(len(entries))(x, shape_vector(entries))


def flatten(x: Any, ndim: int = 1, outdim: int | None = None) -> Any:
    """Keep the first ``ndim - 1`` dimensions and collapse the rest into one.

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> x = T.tensor3("x")
    >>> T.flatten(x, 2).eval({x: np.zeros((2, 3, 4))}).shape
    (2, 12)
    """
    x = as_tensor_variable(x)
    if outdim is not None:
        ndim = outdim
    if not 1 <= ndim <= max(x.ndim, 1):
        raise ValueError(
            f"flatten: ndim={ndim} is out of range for {x} of type {x.type} "
            f"(valid: 1..{max(x.ndim, 1)})"
        )
    if ndim == x.ndim:
        return x
    lengths = dims(x)
    new = lengths[: ndim - 1] + [mul_entries(lengths[ndim - 1:])]
    return Reshape(ndim)(x, shape_vector(new))


_MOVED = ("squeeze", "shape_padleft", "shape_padright", "shape_padaxis", "Unbroadcast",
          "unbroadcast", "addbroadcast", "patternbroadcast", "Assert", "assert_op")


def __getattr__(name: str) -> Any:
    """The broadcastable-dimension ops and ``Assert`` moved to
    :mod:`symarray.tensor.shape_misc`; they stay importable from here."""
    if name in _MOVED:
        from symarray.tensor import shape_misc

        return getattr(shape_misc, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
