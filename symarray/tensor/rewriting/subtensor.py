"""Subtensor rewrites: drop writes that change nothing, index less data.

Tags ``fast_run`` and the phase in the table:

=================================  ===================================  ============
``inc_subtensor(x[idx], zeros)``   ``x``                                canonicalize
``set_subtensor(x[idx], x[idx])``  ``x``                                canonicalize
``alloc(v, *shape)[idx]``          ``alloc(v, *shape of x[idx])``       canonicalize
``x[idx1][idx2]``                  ``x[idx]`` (one Subtensor)           canonicalize
``elemwise(x, ...)[idx]``          ``elemwise(x[idx], ...)``            specialize
=================================  ===================================  ============

Integer indices raise when out of range; a rewrite that removes the
indexing keeps that check as an ``Assert`` on dimensions of unknown static
length (static ones were checked when the graph was built).

Merging ``x[idx1][idx2]`` composes slices exactly as NumPy applies them,
negative steps and symbolic starts and stops included (the composed parts
are small integer expressions of ``x``'s lengths, computed where they are
not constants).  A symbolic *step* is not merged, nor an index holding
``None`` or ``...``.

Lifting an index above an elementwise op indexes its inputs instead: it
fires when the elementwise result has no other reader and its inputs
cannot be stretched at run time in a way the index would expose (one input
that is not a broadcast scalar, or inputs of fully known equal shapes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.errors import IndexingError
from symarray.graph.basic import Constant, Variable
from symarray.graph.rewriting import node_rewriter, register_rewrite
from symarray.tensor.alloc import Alloc, alloc
from symarray.tensor.elemwise import DimShuffle, Elemwise, cast
from symarray.tensor.rewriting._patterns import (
    OPS,
    is_scalar_like,
    like,
    n_clients,
    owner_op,
    scalar_value,
)
from symarray.tensor.shape_misc import assert_op
from symarray.tensor.shape_ops import shape_i
from symarray.tensor.subtensor import Idx, IndexSlice, Subtensor
from symarray.tensor.subtensor_inc import IncSubtensor
from symarray.tensor.type import TensorType
from symarray.tensor.variable import TensorConstant

__all__ = [
    "local_incsubtensor_of_zeros", "local_setsubtensor_of_own_subtensor",
    "local_subtensor_of_alloc", "local_subtensor_merge", "local_subtensor_lift",
]

Int = Any  # an index part: a Python int or a 0-d int64 variable


# -- reading an idx_list ---------------------------------------------------------


def _entries(idx_list: Sequence[Any], inputs: Sequence[Any]) -> list[Any] | None:
    """The entries with their symbolic parts filled in (None: has None/...).

    Each entry is an ``int``/0-d variable (an index) or a ``slice`` whose
    parts are ints, None or 0-d variables.
    """
    it = iter(inputs)
    out: list[Any] = []
    for e in idx_list:
        if e is None or e is Ellipsis or e is Idx.ARRAY:
            return None
        if e is Idx.SCALAR:
            out.append(next(it))
        elif isinstance(e, IndexSlice):
            out.append(slice(*(next(it) if p is Idx.SCALAR else p for p in e.parts)))
        else:
            out.append(int(e))
    return out


def _subtensor(x: Any, entries: Sequence[Any]) -> Any:
    """``x[entries]`` as one Subtensor (trailing full slices dropped)."""
    entries = list(entries)
    while entries and isinstance(entries[-1], slice) and _is_full(entries[-1]):
        entries.pop()
    idx_list: list[Any] = []
    inputs: list[Any] = []

    def part(p: Any) -> Any:
        if isinstance(p, Variable):
            inputs.append(p)
            return Idx.SCALAR
        return None if p is None else int(p)

    for e in entries:
        if isinstance(e, slice):
            idx_list.append(IndexSlice(part(e.start), part(e.stop), part(e.step)))
        else:
            idx_list.append(part(e))
    if not idx_list:
        return x
    return Subtensor(idx_list)(x, *inputs)


def _is_full(s: slice) -> bool:
    return s.start is None and s.stop is None and s.step in (None, 1)


def _int_checks(x: Any, entries: Sequence[Any]) -> list[Any]:
    """Conditions ``-n <= i < n`` for the integer entries on dimensions of
    ``x`` of unknown static length."""
    conds = []
    for d, e in enumerate(entries):
        if isinstance(e, slice) or x.type.shape[d] is not None:
            continue
        n = shape_i(x, d)
        i = _as_int64(e)
        conds.append(OPS["and_"](OPS["ge"](i, OPS["neg"](n)), OPS["lt"](i, n)))
    return conds


def _checked(value: Any, conds: list[Any]) -> Any:
    if not conds:
        return value
    return assert_op(value, *conds, msg="index out of bounds")


def _as_int64(v: Any) -> Any:
    """A symbolic index as a 0-d int64 variable (ints unchanged)."""
    if isinstance(v, Variable):
        return v if v.type.dtype == "int64" else cast(v, "int64")  # type: ignore[attr-defined]
    return v


# -- writes that change nothing ---------------------------------------------------


@register_rewrite("canonicalize", "fast_run")
@node_rewriter([IncSubtensor])
def local_incsubtensor_of_zeros(fgraph: Any, node: Any) -> list[Any] | None:
    """inc_subtensor(x[idx], 0) -> x (integer indices still checked)."""
    op = node.op
    if op.set_instead_of_inc or op.inplace:
        return None
    x, y, *idx = node.inputs
    if scalar_value(y) != 0:
        return None
    entries = _entries(op.idx_list, idx)
    if entries is None:
        return None
    return [_checked(x, _int_checks(x, entries))]


@register_rewrite("canonicalize", "fast_run")
@node_rewriter([IncSubtensor])
def local_setsubtensor_of_own_subtensor(fgraph: Any, node: Any) -> list[Any] | None:
    """set_subtensor(x[idx], x[idx]) -> x (integer indices still checked)."""
    op = node.op
    if not op.set_instead_of_inc or op.inplace:
        return None
    x, y, *idx = node.inputs
    sub = owner_op(y)
    if not isinstance(sub, Subtensor) or sub.idx_list != op.idx_list:
        return None
    if y.owner.inputs[0] is not x or list(y.owner.inputs[1:]) != list(idx):
        return None
    entries = _entries(op.idx_list, idx)
    if entries is None:
        return None
    return [_checked(x, _int_checks(x, entries))]


# -- indexing an alloc ------------------------------------------------------------


@register_rewrite("canonicalize", "fast_run")
@node_rewriter([Subtensor])
def local_subtensor_of_alloc(fgraph: Any, node: Any) -> list[Any] | None:
    """alloc(v, *shape)[idx] -> alloc(v, *shape of the result) (v a scalar)."""
    x, *idx = node.inputs
    if not isinstance(owner_op(x), Alloc):
        return None
    v, *lengths = x.owner.inputs
    if not is_scalar_like(v):
        return None
    entries = _entries(node.op.idx_list, idx)
    if entries is None:
        return None
    out = node.outputs[0]
    in_shapes = [tuple(lengths)] + [() for _ in idx]
    shape = node.op.infer_shape(fgraph, node, in_shapes)[0]
    shape = [s if s is not None else shape[d]
             for d, s in enumerate(out.type.shape)]
    value = DimShuffle(v.ndim, ())(v) if v.ndim else v
    new = alloc(value, *shape)
    conds = []
    for d, e in enumerate(entries):
        if isinstance(e, slice) or x.type.shape[d] is not None:
            continue
        n, i = _as_int64(lengths[d]), _as_int64(e)
        conds.append(OPS["and_"](OPS["ge"](i, OPS["neg"](n)), OPS["lt"](i, n)))
    return [like(_checked(new, conds), out)]


# -- merging two basic indexings -------------------------------------------------


def _is_const(v: Any) -> bool:
    return isinstance(v, (int, np.integer))


def _binary(name: str, fold: Any) -> Any:
    def fn(a: Int, b: Int) -> Int:
        if _is_const(a) and _is_const(b):
            return int(fold(int(a), int(b)))
        return OPS[name](_var(a), _var(b))
    return fn


_add = _binary("add", lambda a, b: a + b)
_sub = _binary("sub", lambda a, b: a - b)
_mul = _binary("mul", lambda a, b: a * b)
_floordiv = _binary("int_div", lambda a, b: a // b)
_min = _binary("minimum", min)
_max = _binary("maximum", max)


def _select_negative(s: Int, if_neg: Any, if_pos: Any) -> Int:
    """``if_neg(s)`` when ``s < 0`` else ``if_pos(s)`` (constants decide now)."""
    if _is_const(s):
        return if_neg(s) if s < 0 else if_pos(s)
    return OPS["switch"](OPS["lt"](s, 0), _var(if_neg(s)), _var(if_pos(s)))


def _normalize(s: slice, n: Int) -> tuple[Int, int, Int]:
    """``(first, step, count)`` of ``range(n)[s]`` for a constant step."""
    k = 1 if s.step is None else int(s.step)
    if k > 0:
        lo, hi, start_default, stop_default = 0, n, 0, n
    else:
        lo, hi, start_default, stop_default = -1, _sub(n, 1), _sub(n, 1), -1

    def clamp(p: Any, default: Int) -> Int:
        if p is None:
            return default
        return _select_negative(p, lambda v: _max(_add(v, n), lo),
                                lambda v: _min(v, hi))

    start, stop = clamp(s.start, start_default), clamp(s.stop, stop_default)
    if k > 0:
        count = _max(_floordiv(_add(_sub(stop, start), k - 1), k), 0)
    else:
        count = _max(_floordiv(_add(_sub(start, stop), -k - 1), -k), 0)
    return start, k, count


def _nonneg_const(p: Any) -> bool:
    return p is None or (_is_const(p) and p >= 0)


def _compose_simple(s1: slice, s2: slice) -> slice | None:
    """``s1`` then ``s2`` without the length, for positive steps and
    non-negative constant parts (None when another case)."""
    k1, k2 = s1.step or 1, s2.step or 1
    if not (_is_const(k1) and _is_const(k2) and k1 > 0 and k2 > 0):
        return None
    if not all(_nonneg_const(p) for p in (s1.start, s1.stop, s2.start, s2.stop)):
        return None
    a1, a2 = s1.start or 0, s2.start or 0
    stops = [p for p in (s1.stop, None if s2.stop is None else a1 + k1 * s2.stop)
             if p is not None]
    stop = min(stops) if stops else None
    start = a1 + k1 * a2
    step = k1 * k2
    return slice(start or None, stop, None if step == 1 else step)


def _compose(s1: slice, e2: Any, n: Int) -> tuple[Any, list[Any]]:
    """``range(n)[s1][e2]`` as one entry on the length-``n`` dimension, with
    the conditions that keep an integer ``e2`` in range."""
    if isinstance(e2, slice) and _is_full(e2):
        return s1, []
    if _is_full(s1):  # an integer e2 is then checked by the new op itself
        return e2, []
    if isinstance(e2, slice):
        simple = _compose_simple(s1, e2)
        if simple is not None:
            return simple, []
    b1, k1, count1 = _normalize(s1, n)
    if not isinstance(e2, slice):
        i = _select_negative(e2, lambda v: _add(v, count1), lambda v: v)
        if _is_const(i) and _is_const(count1):
            if not 0 <= i < count1:
                raise _OutOfRangeError
            return _add(b1, _mul(i, k1)), []
        cond = OPS["and_"](OPS["ge"](_var(i), 0), OPS["lt"](_var(i), _var(count1)))
        return _add(b1, _mul(i, k1)), [cond]
    b2, k2, count2 = _normalize(e2, count1)
    first, step = _add(b1, _mul(b2, k1)), k1 * k2
    end = _add(first, _mul(count2, step))
    if step < 0:  # as offsets from the end, so that "before 0" stays below -n
        first, end = _sub(first, n), _sub(end, n)
    return slice(first, end, step), []


class _OutOfRangeError(Exception):
    """A constant index is out of range: leave the graph as it is (it raises)."""


def _var(v: Int) -> Any:
    """``v`` as a 0-d int64 variable (constants included)."""
    return np.int64(v) if _is_const(v) else _as_int64(v)


def _symbolic_step(entries: Sequence[Any]) -> bool:
    return any(isinstance(e, slice) and isinstance(e.step, Variable) for e in entries)


@register_rewrite("canonicalize", "fast_run")
@node_rewriter([Subtensor])
def local_subtensor_merge(fgraph: Any, node: Any) -> list[Any] | None:
    """x[idx1][idx2] -> x[idx] (one Subtensor; NumPy's slice composition)."""
    inner, *idx2 = node.inputs
    if not isinstance(owner_op(inner), Subtensor):
        return None
    x, *idx1 = inner.owner.inputs
    e1 = _entries(inner.owner.op.idx_list, idx1)
    e2 = _entries(node.op.idx_list, idx2)
    if e1 is None or e2 is None or _symbolic_step(e1) or _symbolic_step(e2):
        return None
    e1 = e1 + [slice(None)] * (x.ndim - len(e1))
    outer = iter(e2)
    merged: list[Any] = []
    conds: list[Any] = []
    for d, e in enumerate(e1):
        if not isinstance(e, slice):
            merged.append(e)
            continue
        second = next(outer, slice(None))
        n = x.type.shape[d] if x.type.shape[d] is not None else shape_i(x, d)
        try:
            entry, more = _compose(e, second, n)
        except _OutOfRangeError:
            return None
        merged.append(entry)
        conds += more
    try:
        out = _subtensor(x, merged)
    except IndexingError:  # a constant index out of static range: it raises
        return None
    return [like(_checked(out, conds), node.outputs[0])]


# -- lifting an index above an elementwise op ---------------------------------------


def _index_scalar(c: Any, entries: list[Any]) -> Any:
    """``c[entries]`` for a broadcast scalar; a constant when ``c`` is one."""
    if isinstance(c, Constant) and not any(
            isinstance(e, Variable) or (isinstance(e, slice) and any(
                isinstance(p, Variable) for p in (e.start, e.stop, e.step)))
            for e in entries):
        data = np.asarray(c.data)[tuple(entries) + (Ellipsis,)]
        ctype: Any = c.type
        return TensorConstant(TensorType(ctype.dtype, shape=data.shape), data,
                              weak=getattr(c, "weak", False))
    return _subtensor(c, entries)


def _liftable(node: Any) -> bool:
    """Can an index of ``node``'s output be applied to its inputs instead?"""
    out = node.outputs[0]
    full = [i for i in node.inputs if not is_scalar_like(i)]
    if len(full) <= 1:
        return True
    shape = out.type.shape
    return None not in shape and all(i.type.shape == shape for i in full)


@register_rewrite("specialize", "fast_run")
@node_rewriter([Subtensor])
def local_subtensor_lift(fgraph: Any, node: Any) -> list[Any] | None:
    """elemwise(x, c)[idx] -> elemwise(x[idx], c') when the elemwise result
    has no other reader (``c`` broadcast scalars, indexed at 0 where needed)."""
    ew, *idx = node.inputs
    op = owner_op(ew)
    if not isinstance(op, Elemwise) or op.inplace_pattern or len(ew.owner.outputs) != 1:
        return None
    if n_clients(fgraph, ew) != 1 or not _liftable(ew.owner):
        return None
    entries = _entries(node.op.idx_list, idx)
    if entries is None:
        return None
    out_shape = ew.type.shape
    new_inputs = []
    for inp in ew.owner.inputs:
        if not is_scalar_like(inp) or all(s == 1 for s in out_shape):
            new_inputs.append(_subtensor(inp, entries))
            continue
        # a broadcast scalar: index 0 where the entry removes a dimension
        own = [e if out_shape[d] == 1 else (slice(None) if isinstance(e, slice) else 0)
               for d, e in enumerate(entries)]
        new_inputs.append(_index_scalar(inp, own))
    return [like(op(*new_inputs), node.outputs[0])]
