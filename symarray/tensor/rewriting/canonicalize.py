"""Algebraic canonicalization of elementwise arithmetic.

Identities (``x*1``, ``x+0``, ``x-0``, ``--x``), ``neg`` folded into
``sub``, constants merged in ``add``/``mul`` chains (``2*x*3 -> 6*x``),
division by a constant as a multiplication (``x/2 -> x*0.5``), and the
exp/log pairs.  Layout rewrites (dimshuffle, reshape, reductions) are in
:mod:`~symarray.tensor.rewriting.canonicalize_layout`, shape rewrites in
:mod:`~symarray.tensor.rewriting.shape`.

A replacement always has the old output's dtype and shape: an operand that
is dropped (the ``1`` of ``x*1``) may have been what broadcast ``x`` to
the output's shape; the result is then ``Alloc``-ed to that shape (the
alloc checks x's length where the node did), and cast where the dtype
changed.  When that would take symbolic lengths just to drop a constant,
the node stays.

Policy on values (a choice: Theano applied every one of these):

* ``x*1``, ``x+0``, ``x-0``, ``--x``, ``x+(-y)``, ``x-(-y)``: always
  (``fast_run``, ``fast_compile``); exact, up to the sign of a zero result.
* ``x op alloc(c, *shape(x)) -> x op c`` (op: ``+ - * /``): always; exact
  (the alloc only repeats ``c``).  Fires only where the alloc's lengths are
  provably x's: the gradient of a mean or of a squared error multiplies by
  ``alloc(1/n, *shape)``.
* ``2*x*3 -> 6*x``, ``x/c -> x*(1/c)``: ``fast_run``; exact up to rounding.
* ``log(exp(x)) -> x``: ``fast_run`` for real x; exact where the original
  is finite, and finite (x) where ``exp`` overflowed: a stability gain.
* ``exp(log(x)) -> x``: ``fast_run`` when x >= 0 is known (``exp``,
  ``sqr``, ``abs``, ``sqrt``... of something; unsigned, bool or complex
  dtypes); otherwise only ``unsafe`` (x < 0 gives NaN, the rewrite x).
* ``x-x``, ``x*0 -> zeros``: ``fast_run`` for integer and bool dtypes
  (exact); for floats only ``unsafe``: inf and NaN give NaN, the rewrite 0.
* ``x/x -> 1``, ``(x*y)/x -> y``: only ``unsafe``: x = 0, inf or NaN gives
  NaN.  No non-constant x is provably finite and non-zero (``exp(y)``
  underflows to 0 below y = -745 and overflows above 709).
* None of them drops a run-time broadcast check: where the operands'
  lengths are not known to agree, the node stays.

The ``unsafe`` rewrites run with ``mode.including("unsafe")`` (or by name,
``including("local_mul_zero_unsafe")``).  Constant subexpressions are left
to constant folding.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from symarray.graph.basic import Apply, Constant, Variable
from symarray.graph.rewriting import node_rewriter, register_rewrite
from symarray.tensor.alloc import Alloc, BroadcastTo
from symarray.tensor.elemwise import Cast, DimShuffle, Elemwise, cast
from symarray.tensor.math import ELEMWISE_OPS
from symarray.tensor.rewriting.shape import (
    get_shape_feature,
    length_variable,
    same_value,
)
from symarray.tensor.shape_ops import Shape_i, specify_shape
from symarray.tensor.type import TensorType
from symarray.tensor.variable import TensorConstant

__all__ = [
    "fill_value", "fit_type", "fit_dropped", "filled_like", "flatten_chain",
    "known_nonnegative",
    "local_mul_one", "local_add_zero", "local_sub_zero", "local_neg_neg",
    "local_add_neg_to_sub", "local_sub_neg_to_add", "local_mul_constants",
    "local_add_constants", "local_div_by_constant", "local_log_exp",
    "local_exp_log", "local_exp_log_unsafe", "local_sub_self",
    "local_sub_self_unsafe", "local_mul_zero", "local_mul_zero_unsafe",
    "local_div_self_unsafe", "local_arith_alloc_to_value",
]

_E = ELEMWISE_OPS
add, sub, mul, neg = _E["add"], _E["sub"], _E["mul"], _E["neg"]
true_div, exp, log = _E["true_div"], _E["exp"], _E["log"]

#: steps :func:`fill_value` looks through (dimshuffles, allocs, casts)
_FILL_DEPTH = 8


# -- helpers shared by the canonicalize modules ---------------------------------


def _kind(var: Variable) -> str:
    return np.dtype(var.type.dtype).kind  # type: ignore[attr-defined]


def fill_value(var: Variable) -> np.ndarray[Any, Any] | None:
    """The one value every element of ``var`` holds, when known (else None).

    Looks through constants, dimshuffles, ``Alloc``/``BroadcastTo`` and
    casts, a few steps deep (cheap: it never branches).

    >>> import numpy as np, symarray.tensor as T
    >>> fill_value(T.alloc(np.float32(2), 3)).tolist()
    2.0
    """
    casts: list[str] = []
    for _ in range(_FILL_DEPTH):
        if isinstance(var, Constant):
            data = np.asarray(var.data)
            if data.size == 0:
                return None
            first = data.reshape(-1)[0]
            if data.size > 1 and not np.array_equal(data, np.full_like(data, first),
                                                    equal_nan=data.dtype.kind in "fc"):
                return None
            value = np.asarray(first)
            with np.errstate(all="ignore"):
                for dtype in reversed(casts):
                    value = value.astype(dtype)
            return value
        node = var.owner
        if node is None:
            return None
        op = node.op
        if isinstance(op, (DimShuffle, Alloc, BroadcastTo)):
            var = node.inputs[0]
        elif isinstance(op, Elemwise) and isinstance(op.scalar_op, Cast):
            casts.append(op.scalar_op.dtype)
            var = node.inputs[0]
        else:
            return None
    return None


def _all_equal(var: Variable, value: float) -> bool:
    v = fill_value(var)
    return v is not None and bool(v == value)


def fit_type(new: Variable, old: Variable) -> Variable | None:
    """``new`` with ``old``'s dtype and static lengths, or None if it cannot.

    Casts when the dtypes differ and adds a ``specify_shape`` for static
    lengths ``old`` has and ``new`` lacks.  The caller guarantees the values
    (and run-time shape) are the same.
    """
    old_t: Any = old.type
    if not isinstance(new.type, TensorType) or new.type.ndim != old_t.ndim:
        return None
    if new.type.dtype != old_t.dtype:
        new = cast(new, old_t.dtype)
    if new.type == old_t or old_t.is_super(new.type):
        return new
    missing: list[int | None] = []
    for o, n in zip(old_t.shape, new.type.shape, strict=True):  # type: ignore[attr-defined]
        if o is not None and n is not None and o != n:
            return None
        missing.append(o if n is None else None)
    new = specify_shape(new, missing)
    return new if old_t.is_super(new.type) else None


def fit_dropped(fgraph: Any, out: Variable, kept: Variable,
                dropped: Sequence[Variable]) -> Variable | None:
    """``kept`` standing for ``out`` after the operands ``dropped`` were removed.

    ``out`` was the elementwise result of ``kept`` and ``dropped`` (all of
    one rank).  Where a dropped operand may have broadcast ``kept`` to a
    larger length, the result is ``Alloc``-ed to that length.  None when
    that would lose a run-time broadcast check (both lengths unknown and
    not known equal), or would need symbolic lengths just to drop a
    constant (no gain).
    """
    ndim = out.type.ndim  # type: ignore[attr-defined]
    k_static = kept.type.shape  # type: ignore[attr-defined]
    if len(k_static) != ndim:
        return None
    feature = None
    targets: list[Any] = [None] * ndim  # None: kept's own length
    for d in range(ndim):
        k = k_static[d]
        for op in dropped:
            s = op.type.shape[d]  # type: ignore[attr-defined]
            if s == 1 or (k is not None and k == s):
                continue
            if feature is None:
                feature = get_shape_feature(fgraph)
            own, length = feature.shape_of(kept)[d], feature.shape_of(op)[d]
            if same_value(length, own) or (
                targets[d] is not None and same_value(length, targets[d])
            ):
                continue
            if targets[d] is None and k == 1:
                targets[d] = length  # kept is stretched: nothing to check
            elif targets[d] is None and k is None and s is not None:
                targets[d] = s  # Alloc checks that kept has length 1 or s
            else:
                return None
    value = kept
    if value.type.dtype != out.type.dtype:  # type: ignore[attr-defined]
        value = cast(value, out.type.dtype)  # type: ignore[attr-defined]
    if any(t is not None for t in targets):
        entries = [
            t if t is not None else k if k is not None
            else get_shape_feature(fgraph).shape_of(kept)[d]
            for d, (t, k) in enumerate(zip(targets, k_static, strict=True))
        ]
        symbolic = any(not isinstance(e, int) for e in entries)
        if symbolic and all(isinstance(op, Constant) for op in dropped):
            return None
        value = Alloc()(value, *[length_variable(e) for e in entries])
    return fit_type(value, out)


def filled_like(fgraph: Any, node: Apply, value: float) -> Variable | None:
    """``value`` in the dtype and shape of ``node``'s (elementwise) output.

    The shape comes from the inputs' shapes, without reading the output.
    None when the inputs' lengths are not known to agree: the node would
    have checked them at run time, and the rewrite must not drop the check.
    """
    out = node.outputs[0]
    feature = get_shape_feature(fgraph)
    shapes = [feature.shape_of(i) for i in node.inputs]
    entries: list[Any] = []
    for d, s in enumerate(out.type.shape):  # type: ignore[attr-defined]
        cands: list[Any] = []
        for inp, shp in zip(node.inputs, shapes, strict=True):
            if inp.type.shape[d] != 1 and not any(  # type: ignore[attr-defined]
                same_value(shp[d], c) for c in cands
            ):
                cands.append(shp[d])
        if len(cands) > 1:
            return None
        entries.append(s if s is not None else cands[0] if cands else 1)
    dtype = out.type.dtype  # type: ignore[attr-defined]
    filled = Alloc()(np.full((), value, dtype=dtype),
                     *[length_variable(e) for e in entries])
    return fit_type(filled, out)


def flatten_chain(fgraph: Any, node: Apply, limit: int = 32) -> list[Variable]:
    """The operands of a chain of ``node.op`` nodes rooted at ``node``.

    Goes into an operand computed by the same op, with the same output
    dtype, read by nothing else (so no work is duplicated), through at most
    ``limit`` nodes (so a rewrite looking at every node of a long chain
    stays linear).  ``mul(mul(2, x), 3)`` gives ``[2, x, 3]``.
    """
    op, dtype = node.op, node.outputs[0].type.dtype  # type: ignore[attr-defined]
    clients = fgraph.clients
    leaves: list[Variable] = []
    stack = list(reversed(node.inputs))
    while stack:
        v = stack.pop()
        inner = v.owner
        if (limit > 0 and inner is not None and inner.op == op
                and v.type.dtype == dtype  # type: ignore[attr-defined]
                and len(clients.get(v, ())) == 1):
            limit -= 1
            stack.extend(reversed(inner.inputs))
        else:
            leaves.append(v)
    return leaves


#: ops whose results are >= 0 (or NaN) for every input
_NONNEGATIVE = frozenset(
    _E[n] for n in ("exp", "exp2", "sqr", "abs", "sqrt", "cosh", "sigmoid",
                    "softplus", "erfc", "erfcx")
)


def known_nonnegative(x: Variable) -> bool:
    """Is every value of ``x`` known to be >= 0, NaN, or complex?"""
    if _kind(x) in "buc":
        return True
    if isinstance(x, Constant):
        data = np.asarray(x.data)
        return bool(np.all((data >= 0) | np.isnan(data)))
    owner = x.owner
    return owner is not None and owner.op in _NONNEGATIVE


def _replace_one(fgraph: Any, node: Apply,
                 new: Variable | None) -> list[Variable] | None:
    if new is None:
        return None
    out = node.outputs[0]
    if new.type != out.type and not out.type.is_super(new.type):
        return None
    return [new]


# -- identities -----------------------------------------------------------------


def _drop_identity(fgraph: Any, node: Apply, value: float,
                   positions: Sequence[int]) -> list[Variable] | None:
    """``op(x, e)`` -> ``x`` where ``e`` (at one of ``positions``) is the identity."""
    for k in positions:
        if _all_equal(node.inputs[k], value):
            kept = node.inputs[1 - k]
            dropped = [node.inputs[k]]
            return _replace_one(fgraph, node,
                                fit_dropped(fgraph, node.outputs[0], kept, dropped))
    return None


@register_rewrite("canonicalize", "fast_run", "fast_compile")
@node_rewriter([mul])
def local_mul_one(fgraph: Any, node: Apply) -> list[Variable] | None:
    """x * 1 -> x, 1 * x -> x (cast and broadcast to the output as needed)."""
    return _drop_identity(fgraph, node, 1, (1, 0))


@register_rewrite("canonicalize", "fast_run", "fast_compile")
@node_rewriter([add])
def local_add_zero(fgraph: Any, node: Apply) -> list[Variable] | None:
    """x + 0 -> x, 0 + x -> x."""
    return _drop_identity(fgraph, node, 0, (1, 0))


@register_rewrite("canonicalize", "fast_run", "fast_compile")
@node_rewriter([sub])
def local_sub_zero(fgraph: Any, node: Apply) -> list[Variable] | None:
    """x - 0 -> x."""
    return _drop_identity(fgraph, node, 0, (1,))


@register_rewrite("canonicalize", "fast_run", "fast_compile")
@node_rewriter([neg])
def local_neg_neg(fgraph: Any, node: Apply) -> list[Variable] | None:
    """-(-x) -> x."""
    inner = node.inputs[0].owner
    if inner is None or inner.op != neg:
        return None
    return _replace_one(fgraph, node, fit_type(inner.inputs[0], node.outputs[0]))


def _negated(var: Variable) -> Variable | None:
    """``y`` when ``var`` is ``-y``."""
    owner = var.owner
    return owner.inputs[0] if owner is not None and owner.op == neg else None


@register_rewrite("canonicalize", "fast_run", "fast_compile")
@node_rewriter([add])
def local_add_neg_to_sub(fgraph: Any, node: Apply) -> list[Variable] | None:
    """x + (-y) -> x - y, (-y) + x -> x - y."""
    a, b = node.inputs
    for x, negated in ((a, b), (b, a)):
        y = _negated(negated)
        if y is not None:
            new = sub(x, y)
            if new.type.dtype == node.outputs[0].type.dtype:  # type: ignore[attr-defined]
                return _replace_one(fgraph, node, fit_type(new, node.outputs[0]))
    return None


@register_rewrite("canonicalize", "fast_run", "fast_compile")
@node_rewriter([sub])
def local_sub_neg_to_add(fgraph: Any, node: Apply) -> list[Variable] | None:
    """x - (-y) -> x + y."""
    x, negated = node.inputs
    y = _negated(negated)
    if y is None:
        return None
    new = add(x, y)
    if new.type.dtype != node.outputs[0].type.dtype:  # type: ignore[attr-defined]
        return None
    return _replace_one(fgraph, node, fit_type(new, node.outputs[0]))



# -- an alloc operand: its value is enough ------------------------------------------


def _resolved(feature: Any, entry: Any) -> Any:
    """A shape entry, with ``Shape_i(v, d)`` read as the feature's length of v."""
    owner = getattr(entry, "owner", None)
    if owner is not None and isinstance(owner.op, Shape_i):
        return feature.shape_of(owner.inputs[0])[owner.op.i]
    return entry


def _alloc_repeats_for(fgraph: Any, alloc_out: Variable, x: Variable) -> bool:
    """Is every length of ``alloc_out`` (an Alloc's output) 1 or provably x's?

    Then ``alloc_out op x`` has x's shape, as ``value op x`` has.  A length
    only known to agree at run time does not count: the node's broadcast
    (and the alloc's) would have checked it.
    """
    a_static = alloc_out.type.shape  # type: ignore[attr-defined]
    if len(a_static) != x.type.ndim:  # type: ignore[attr-defined]
        return False
    feature = get_shape_feature(fgraph)
    a_shape, x_shape = feature.shape_of(alloc_out), feature.shape_of(x)
    return all(
        s == 1 or same_value(_resolved(feature, a), _resolved(feature, b))
        for s, a, b in zip(a_static, a_shape, x_shape, strict=True)
    )


def _strong(value: Variable) -> Variable:
    """``value``, a weak (Python-scalar) constant made strong: the alloc had
    its dtype, and ``value op x`` must compute in the same one."""
    if isinstance(value, TensorConstant) and value.weak:
        return TensorConstant(value.type, value.data, value.name, weak=False)
    return value


@register_rewrite("canonicalize", "fast_run", "fast_compile")
@node_rewriter([add, sub, mul, true_div])
def local_arith_alloc_to_value(fgraph: Any, node: Apply) -> list[Variable] | None:
    """x op alloc(c, *shape(x)) -> x op c, alloc(c, *shape(x)) op x -> c op x
    (op: + - * /).

    Exact (the alloc only repeats
    ``c``: every element of the result is ``x[i] op c`` either way), so also
    for inf and NaN.  Only where each length of the alloc is 1 or provably
    x's (the shape feature's entries), so the result keeps its shape, and
    only where ``c op x`` has the output's dtype.  The grad of a mean, a
    scaled sum or a mean-squared error multiplies by such an alloc.
    """
    out = node.outputs[0]
    for k in (0, 1):
        a, x = node.inputs[k], node.inputs[1 - k]
        if a.owner is None or not isinstance(a.owner.op, Alloc) or (
                not _alloc_repeats_for(fgraph, a, x)):
            continue
        value = _strong(a.owner.inputs[0])
        new = node.op(value, x) if k == 0 else node.op(x, value)
        if new.type.dtype != out.type.dtype:  # type: ignore[attr-defined]
            return None
        return _replace_one(fgraph, node, fit_type(new, out))
    return None

# -- constants in add/mul chains, division by a constant ---------------------------


def _combined(consts: Sequence[Variable], combine: Callable[..., Any],
              dtype: str) -> TensorConstant:
    """One constant holding ``combine`` of ``consts``, computed in ``dtype``."""
    with np.errstate(all="ignore"):
        values = [np.asarray(c.data).astype(dtype) for c in consts]  # type: ignore[attr-defined]
        merged = functools.reduce(lambda a, b: combine(a, b, dtype=dtype), values)
    weak = all(getattr(c, "weak", False) for c in consts)
    return TensorConstant(TensorType(dtype, shape=merged.shape), merged, weak=weak)


def _path_to_constant(fgraph: Any, start: Variable, op: Any, dtype: str,
                      limit: int = 32) -> list[tuple[Apply, int]] | None:
    """Nodes from ``start`` down to the nearest constant operand of the chain.

    Breadth first through nodes of ``op`` with output ``dtype`` read only by
    the chain; the path's last ``(node, i)`` has the constant as input ``i``.
    """
    clients = fgraph.clients
    queue: list[tuple[Variable, list[tuple[Apply, int]]]] = [(start, [])]
    for var, path in queue:
        node = var.owner
        if (node is None or node.op != op or len(queue) > limit
                or var.type.dtype != dtype  # type: ignore[attr-defined]
                or len(clients.get(var, ())) != 1):
            continue
        for k, inp in enumerate(node.inputs):
            if isinstance(inp, Constant):
                return [*path, (node, k)]
        queue.extend((inp, [*path, (node, k)]) for k, inp in enumerate(node.inputs))
    return None


def _merge_constants(fgraph: Any, node: Apply, combine: Callable[..., Any],
                     identity: float) -> list[Variable] | None:
    """An ``op`` chain holding several constants -> one holding their combination.

    With a constant operand ``c`` at ``node``, it is combined into the
    nearest constant below (only the nodes between them are rebuilt, so
    merging along a long chain stays linear); the combination is dropped
    when it is a size-1 identity.  Without one, the chain's constants are
    gathered into one operand at the top.
    """
    out = node.outputs[0]
    dtype = out.type.dtype  # type: ignore[attr-defined]
    direct = [k for k, i in enumerate(node.inputs) if isinstance(i, Constant)]
    if len(direct) > 1:
        return None  # all constant: folding's job
    if not direct:
        return _gather_constants(fgraph, node, combine, identity)
    k = direct[0]
    path = _path_to_constant(fgraph, node.inputs[1 - k], node.op, dtype)
    if path is None:
        return None
    deep, i = path[-1]
    const = _combined([deep.inputs[i], node.inputs[k]], combine, dtype)
    new: Variable | None = None
    for depth, (pnode, pidx) in enumerate(reversed(path)):
        inputs = list(pnode.inputs)
        if depth > 0:
            inputs[pidx] = new  # type: ignore[assignment]
        elif const.data.size == 1 and bool(np.all(const.data == identity)):
            new = fit_dropped(fgraph, pnode.outputs[0], inputs[1 - pidx], [const])
            if new is None:
                return None
            continue
        else:
            inputs[pidx] = const
        new = pnode.op(*inputs)
    if new is None or new.type.dtype != dtype:  # type: ignore[attr-defined]
        return None
    return _replace_one(fgraph, node, fit_type(new, out))


def _gather_constants(fgraph: Any, node: Apply, combine: Callable[..., Any],
                      identity: float) -> list[Variable] | None:
    """``(c1 op x) op (c2 op y) -> (x op y) op (c1 op c2)`` (one level down)."""
    dtype = node.outputs[0].type.dtype  # type: ignore[attr-defined]
    leaves: list[Variable] = []
    for inp in node.inputs:
        inner = inp.owner
        if (inner is not None and inner.op == node.op and inp.type.dtype == dtype  # type: ignore[attr-defined]
                and len(fgraph.clients.get(inp, ())) == 1):
            leaves.extend(inner.inputs)
        else:
            leaves.append(inp)
    consts = [v for v in leaves if isinstance(v, Constant)]
    others = [v for v in leaves if not isinstance(v, Constant)]
    if len(consts) < 2 or not others:
        return None
    out = node.outputs[0]
    const = _combined(consts, combine, dtype)
    terms = [*others, const]
    if bool(np.all(const.data == identity)):
        if len(others) == 1:
            return _replace_one(fgraph, node, fit_dropped(fgraph, out, others[0],
                                                          [const]))
        if const.data.size == 1:  # it broadcasts nothing: drop it
            terms = others
    new = terms[0]
    for t in terms[1:]:
        new = node.op(new, t)
    if new.type.dtype != dtype:  # type: ignore[attr-defined]
        return None
    return _replace_one(fgraph, node, fit_type(new, out))


@register_rewrite("canonicalize", "fast_run")
@node_rewriter([mul])
def local_mul_constants(fgraph: Any, node: Apply) -> list[Variable] | None:
    """c1 * x * c2 -> (c1*c2) * x (``2*x*3 -> 6*x``), in the output's dtype."""
    return _merge_constants(fgraph, node, np.multiply, 1)


@register_rewrite("canonicalize", "fast_run")
@node_rewriter([add])
def local_add_constants(fgraph: Any, node: Apply) -> list[Variable] | None:
    """c1 + x + c2 -> (c1+c2) + x, in the output's dtype."""
    return _merge_constants(fgraph, node, np.add, 0)


@register_rewrite("canonicalize", "fast_run")
@node_rewriter([true_div])
def local_div_by_constant(fgraph: Any, node: Apply) -> list[Variable] | None:
    """x / c -> x * (1/c) for a constant c whose reciprocal is finite and non-zero."""
    x, c = node.inputs
    out = node.outputs[0]
    if not isinstance(c, Constant) or isinstance(x, Constant):
        return None
    dtype = out.type.dtype  # type: ignore[attr-defined]
    with np.errstate(all="ignore"):
        data = np.asarray(c.data).astype(dtype)
        recip = np.asarray(np.reciprocal(data), dtype=dtype)
    if not (np.all(np.isfinite(data)) and np.all(np.isfinite(recip))
            and np.all(recip != 0)):
        return None
    const = TensorConstant(TensorType(dtype, shape=recip.shape), recip)
    new = mul(x, const)
    if new.type.dtype != dtype:
        return None
    return _replace_one(fgraph, node, fit_type(new, out))


# -- exp and log ----------------------------------------------------------------


@register_rewrite("canonicalize", "fast_run")
@node_rewriter([log])
def local_log_exp(fgraph: Any, node: Apply) -> list[Variable] | None:
    """log(exp(x)) -> x for real x (also where exp(x) overflows)."""
    inner = node.inputs[0].owner
    if inner is None or inner.op != exp or _kind(inner.inputs[0]) == "c":
        return None
    return _replace_one(fgraph, node, fit_type(inner.inputs[0], node.outputs[0]))


def _exp_log(fgraph: Any, node: Apply, unsafe: bool) -> list[Variable] | None:
    inner = node.inputs[0].owner
    if inner is None or inner.op != log:
        return None
    x = inner.inputs[0]
    if not unsafe and not known_nonnegative(x):
        return None
    return _replace_one(fgraph, node, fit_type(x, node.outputs[0]))


@register_rewrite("canonicalize", "fast_run")
@node_rewriter([exp])
def local_exp_log(fgraph: Any, node: Apply) -> list[Variable] | None:
    """exp(log(x)) -> x where x >= 0 is known (exp, sqr, abs... unsigned, bool)."""
    return _exp_log(fgraph, node, unsafe=False)


@register_rewrite("canonicalize", "unsafe")
@node_rewriter([exp], name="local_exp_log_unsafe")
def local_exp_log_unsafe(fgraph: Any, node: Apply) -> list[Variable] | None:
    """exp(log(x)) -> x for any x (wrong for x < 0: NaN becomes x)."""
    return _exp_log(fgraph, node, unsafe=True)


# -- value-changing for inf/NaN: integers always, floats only if unsafe ------------


def _exact_kind(var: Variable) -> bool:
    return _kind(var) in "biu"


def _sub_self(fgraph: Any, node: Apply, unsafe: bool) -> list[Variable] | None:
    out = node.outputs[0]
    if not (unsafe or _exact_kind(out)):
        return None
    a, b = node.inputs
    if not same_value(a, b):
        return None
    return _replace_one(fgraph, node, filled_like(fgraph, node, 0))


@register_rewrite("canonicalize", "fast_run")
@node_rewriter([sub])
def local_sub_self(fgraph: Any, node: Apply) -> list[Variable] | None:
    """x - x -> zeros (integer dtypes: exact)."""
    return _sub_self(fgraph, node, unsafe=False)


@register_rewrite("canonicalize", "unsafe")
@node_rewriter([sub], name="local_sub_self_unsafe")
def local_sub_self_unsafe(fgraph: Any, node: Apply) -> list[Variable] | None:
    """x - x -> zeros for floats too (inf - inf and NaN give NaN, not 0)."""
    return _sub_self(fgraph, node, unsafe=True)


def _mul_zero(fgraph: Any, node: Apply, unsafe: bool) -> list[Variable] | None:
    out = node.outputs[0]
    if not (unsafe or _exact_kind(out)):
        return None
    if not any(_all_equal(i, 0) for i in node.inputs):
        return None
    return _replace_one(fgraph, node, filled_like(fgraph, node, 0))


@register_rewrite("canonicalize", "fast_run")
@node_rewriter([mul])
def local_mul_zero(fgraph: Any, node: Apply) -> list[Variable] | None:
    """x * 0 -> zeros of the broadcast shape (integer and bool dtypes: exact)."""
    return _mul_zero(fgraph, node, unsafe=False)


@register_rewrite("canonicalize", "unsafe")
@node_rewriter([mul], name="local_mul_zero_unsafe")
def local_mul_zero_unsafe(fgraph: Any, node: Apply) -> list[Variable] | None:
    """x * 0 -> zeros for floats too (inf * 0 and NaN * 0 give NaN, not 0)."""
    return _mul_zero(fgraph, node, unsafe=True)


@register_rewrite("canonicalize", "unsafe")
@node_rewriter([true_div], name="local_div_self_unsafe")
def local_div_self_unsafe(fgraph: Any, node: Apply) -> list[Variable] | None:
    """x / x -> ones, (x*y)/x -> y (wrong where x is 0, inf or NaN)."""
    num, den = node.inputs
    out = node.outputs[0]
    if same_value(num, den):
        return _replace_one(fgraph, node, filled_like(fgraph, node, 1))
    owner = num.owner
    if owner is None or owner.op != mul:
        return None
    factors = flatten_chain(fgraph, owner)
    for k, f in enumerate(factors):
        if same_value(f, den):
            rest = factors[:k] + factors[k + 1:]
            new = rest[0]
            for t in rest[1:]:
                new = mul(new, t)
            return _replace_one(fgraph, node, fit_dropped(fgraph, out, new, [f, den]))
    return None
