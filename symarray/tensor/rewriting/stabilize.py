"""Stability rewrites: forms that do not overflow, underflow or lose digits.

Phase ``stabilize`` (tags ``fast_run``, ``stabilize``).  Each rewrite
replaces an expression by an equal one that stays finite and accurate
where the naive form does not (``x = 1000`` or ``-1000``):

========================================  ====================================
``log(1 + x)``, ``log(1 - x)``            ``log1p(x)``, ``log1p(-x)``
``exp(x) - 1``                            ``expm1(x)``
``log(1 + exp(x))``, ``log1p(exp(x))``    ``softplus(x)``
``log(sigmoid(x))``                       ``-softplus(-x)``
``log(1 - sigmoid(x))``                   ``-softplus(x)``
``1 - sigmoid(x)``                        ``sigmoid(-x)``
``log(exp(x) + exp(y))``                  ``logaddexp(x, y)``
``log(softmax(x))``                       ``log_softmax(x)``
``log(sum(exp(x), axis))``                ``m + log(sum(exp(x - m), axis))``,
                                          ``m = max(x, axis)``
``crossentropy_1hot(softmax(x), y)``      ``-log_softmax(x)[arange(n), y]``
========================================  ====================================

Gradients are built before rewriting, so their graphs hold the naive forms
too; four more rewrites keep them finite:

* ``local_exp_over_1_plus_exp``: in a product, ``exp(t) / (1 + exp(t))``
  becomes ``sigmoid(t)`` and a lone ``1 / (1 + exp(t))`` becomes
  ``sigmoid(-t)`` (the gradient of ``softplus``).
* ``local_div_cancel_exp_sigmoid``: in a product, a factor ``exp(t)`` or
  ``sigmoid(t)`` that also divides cancels.  These are never 0 or infinite
  in exact arithmetic, so the quotient is 1 even where the float under- or
  overflows (the gradients of ``log(sigmoid(x))`` and
  ``log(1 - sigmoid(x))``).  Policy: only these ops cancel, never ``x / x``
  in general.
* ``local_exp_over_sum_exp``: ``exp(x) / sum(exp(x), axis)`` (broadcast
  back) becomes ``softmax(x, axis)`` (the gradient of ``log(sum(exp(x)))``).
* ``local_softmax_grad_stable``: softmax's gradient
  ``sm * (G - sum(G * sm, axis))`` with ``G = P / sm`` becomes
  ``P - sm * sum(P, axis)``, and with ``G`` the gradient of a one-hot
  crossentropy it becomes ``g * (sm - onehot(y))`` (the gradients of
  ``log_softmax`` and of crossentropies of a softmax).

Limits: a stable ``log(sum(exp(x)))`` uses ``max``, so an empty reduction
raises (as ``T.logsumexp`` does) instead of giving ``-inf``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symarray.graph.basic import Apply
from symarray.graph.rewriting import node_rewriter, register_rewrite
from symarray.tensor.elemwise import DimShuffle, cast
from symarray.tensor.nnet.basic import (
    CrossentropyCategorical1Hot,
    CrossentropyCategorical1HotGrad,
    LogSoftmax,
    Softmax,
)
from symarray.tensor.reduction import Sum
from symarray.tensor.rewriting._patterns import (
    OPS,
    add_terms,
    build_product,
    build_sum,
    elemwise_name,
    is_float,
    like,
    mul_factors,
    neg,
    owner_op,
    same,
    split_constant,
)

__all__ = [
    "local_log1p", "local_expm1", "local_log1p_exp", "local_log_sigmoid",
    "local_log1m_sigmoid", "local_one_minus_sigmoid", "local_logaddexp",
    "local_log_softmax", "local_log_sum_exp", "local_crossentropy_softmax",
    "local_exp_over_1_plus_exp", "local_div_cancel_exp_sigmoid",
    "local_exp_over_sum_exp", "local_softmax_grad_stable",
]

_TAGS = ("stabilize", "fast_run")


def _arg(var: Any, name: str) -> Any:
    """The input of ``var = name(input)`` (None when ``var`` is not that)."""
    return var.owner.inputs[0] if elemwise_name(var) == name else None


def _one_plus(var: Any) -> Any:
    """``t`` when ``var`` is ``1 + t`` (any order, one level), else None."""
    if not is_float(var):
        return None
    terms = add_terms(var)
    const, rest = split_constant(terms)
    if const == 1 and len(rest) == 1 and rest[0][0] > 0 and len(terms) == 2:
        return rest[0][1]
    return None


def _one_minus(var: Any) -> Any:
    """``t`` when ``var`` is ``1 - t`` (any order, one level), else None."""
    if not is_float(var):
        return None
    terms = add_terms(var)
    const, rest = split_constant(terms)
    if const == 1 and len(rest) == 1 and rest[0][0] < 0 and len(terms) == 2:
        return rest[0][1]
    return None


def _log_input(node: Any) -> Any:
    """The argument of a float ``log`` node (None for other dtypes)."""
    x = node.inputs[0]
    return x if is_float(x) and x.dtype == node.outputs[0].type.dtype else None


# -- log(1 + x), exp(x) - 1 ---------------------------------------------------


@register_rewrite(*_TAGS)
@node_rewriter([OPS["log"], OPS["log1p"]])
def local_log1p_exp(fgraph: Any, node: Any) -> list[Any] | None:
    """log(1 + exp(x)) -> softplus(x); log1p(exp(x)) -> softplus(x)."""
    arg = node.inputs[0]
    if not is_float(node.outputs[0]):
        return None
    if node.op == OPS["log"]:
        arg = _one_plus(arg)
        if arg is None:
            return None
    x = _arg(arg, "exp")
    if x is None:
        return None
    return [like(OPS["softplus"](x), node.outputs[0])]


@register_rewrite(*_TAGS)
@node_rewriter([OPS["log"]])
def local_log1p(fgraph: Any, node: Any) -> list[Any] | None:
    """log(1 + x) -> log1p(x); log(1 - x) -> log1p(-x) (x floats, 1 a constant)."""
    arg = _log_input(node)
    if arg is None:
        return None
    dtype = arg.type.dtype
    const, rest = split_constant(add_terms(arg))
    if const != 1 or not rest:
        return None
    inner = build_sum(rest, dtype)
    return [like(OPS["log1p"](inner), node.outputs[0])]


@register_rewrite(*_TAGS)
@node_rewriter([OPS["add"], OPS["sub"]])
def local_expm1(fgraph: Any, node: Any) -> list[Any] | None:
    """exp(x) - 1 -> expm1(x); 1 - exp(x) -> -expm1(x) (other terms kept)."""
    out = node.outputs[0]
    if not is_float(out):
        return None
    const, rest = split_constant(add_terms(out))
    if const not in (1, -1):
        return None
    want = -1 if const == 1 else 1  # the sign exp(x) must have
    for k, (sign, t) in enumerate(rest):
        x = _arg(t, "exp")
        if sign == want and x is not None:
            others = rest[:k] + rest[k + 1:]
            terms = [(sign, OPS["expm1"](x)), *others]
            return [like(build_sum(terms, out.type.dtype), out)]
    return None


# -- sigmoid and softplus ------------------------------------------------------


@register_rewrite(*_TAGS)
@node_rewriter([OPS["add"], OPS["sub"]])
def local_one_minus_sigmoid(fgraph: Any, node: Any) -> list[Any] | None:
    """1 - sigmoid(x) -> sigmoid(-x)."""
    out = node.outputs[0]
    x = _arg(_one_minus(out), "sigmoid")
    if x is None:
        return None
    return [like(OPS["sigmoid"](neg(x)), out)]


@register_rewrite(*_TAGS)
@node_rewriter([OPS["log"]])
def local_log_sigmoid(fgraph: Any, node: Any) -> list[Any] | None:
    """log(sigmoid(x)) -> -softplus(-x)."""
    x = _arg(_log_input(node), "sigmoid")
    if x is None:
        return None
    return [like(neg(OPS["softplus"](neg(x))), node.outputs[0])]


@register_rewrite(*_TAGS)
@node_rewriter([OPS["log"], OPS["log1p"]])
def local_log1m_sigmoid(fgraph: Any, node: Any) -> list[Any] | None:
    """log(1 - sigmoid(x)) -> -softplus(x); log1p(-sigmoid(x)) -> -softplus(x)."""
    if not is_float(node.outputs[0]):
        return None
    arg = node.inputs[0]
    if node.op == OPS["log"]:
        s = _one_minus(arg)
    else:
        s = _arg(arg, "neg")
    x = _arg(s, "sigmoid")
    if x is None:
        return None
    return [like(neg(OPS["softplus"](x)), node.outputs[0])]


@register_rewrite(*_TAGS)
@node_rewriter([OPS["log"]])
def local_logaddexp(fgraph: Any, node: Any) -> list[Any] | None:
    """log(exp(x) + exp(y)) -> logaddexp(x, y)."""
    arg = _log_input(node)
    if arg is None:
        return None
    terms = add_terms(arg)
    if len(terms) != 2 or any(sign < 0 for sign, _ in terms):
        return None
    a, b = (_arg(t, "exp") for _, t in terms)
    if a is None or b is None:
        return None
    return [like(OPS["logaddexp"](a, b), node.outputs[0])]


# -- softmax, log-sum-exp, crossentropy ---------------------------------------


@register_rewrite(*_TAGS)
@node_rewriter([OPS["log"]])
def local_log_softmax(fgraph: Any, node: Any) -> list[Any] | None:
    """log(softmax(x, axis)) -> log_softmax(x, axis)."""
    sm = node.inputs[0]
    op = owner_op(sm)
    if not isinstance(op, Softmax):
        return None
    return [like(LogSoftmax(op.axis)(sm.owner.inputs[0]), node.outputs[0])]


def _keepdims_of(var: Any) -> tuple[Any, tuple[int | str, ...] | None]:
    """``(inner, pattern)`` when ``var`` is a DimShuffle that only adds
    broadcastable dimensions (keeping the order), else ``(var, None)``."""
    op = owner_op(var)
    if isinstance(op, DimShuffle) and not op.dropped:
        kept = [d for d in op.new_order if d != "x"]
        if kept == sorted(kept):
            return var.owner.inputs[0], op.new_order
    return var, None


def _max_shifted(x: Any) -> bool:
    """Is ``x`` already ``a - m`` with ``m`` a maximum of ``a`` (our own output)?"""
    from symarray.tensor.reduction import Max

    if elemwise_name(x) != "sub":
        return False
    a, m = x.owner.inputs
    if elemwise_name(m) == "switch":
        m = m.owner.inputs[2]
    m, _ = _keepdims_of(m)
    return isinstance(owner_op(m), Max) and m.owner.inputs[0] is a


@register_rewrite(*_TAGS)
@node_rewriter([OPS["log"]])
def local_log_sum_exp(fgraph: Any, node: Any) -> list[Any] | None:
    """log(sum(exp(x), axis)) -> m + log(sum(exp(x - m), axis)), m = max(x, axis).

    ``m`` is replaced by 0 where it is infinite, so rows of ``-inf`` give
    ``-inf`` and rows holding ``inf`` give ``inf``, as before.
    """
    from symarray.tensor.reduction import max as tmax

    arg = _log_input(node)
    if arg is None:
        return None
    summed, pattern = _keepdims_of(arg)
    sum_op = owner_op(summed)
    if not isinstance(sum_op, Sum):
        return None
    x = _arg(summed.owner.inputs[0], "exp")
    if x is None or not is_float(x) or summed.dtype != x.dtype or _max_shifted(x):
        return None
    axes = sum_op.axis
    m = tmax(x, axes, keepdims=True)
    m = OPS["switch"](OPS["isinf"](m), np.asarray(0, dtype=x.dtype), m)
    shifted = OPS["sub"](x, m)
    lse = OPS["log"](sum_op(OPS["exp"](shifted)))
    drop = [i for i in range(x.ndim) if i not in (axes or ())]
    out = OPS["add"](lse, DimShuffle(x.ndim, drop)(m))
    if pattern is not None:
        out = DimShuffle(out.ndim, pattern)(out)
    return [like(out, node.outputs[0])]


@register_rewrite(*_TAGS)
@node_rewriter([CrossentropyCategorical1Hot])
def local_crossentropy_softmax(fgraph: Any, node: Any) -> list[Any] | None:
    """crossentropy_1hot(softmax(x), y) -> -log_softmax(x)[arange(n), y].

    The labels are checked as the op checks them (``0 <= y < n_classes``).
    One-hot and probability targets need no rewrite of their own: their
    crossentropy is ``-sum(t * log(softmax(x)))`` and ``log(softmax)``
    becomes ``log_softmax``.
    """
    from symarray.tensor.alloc import arange
    from symarray.tensor.reduction import all as tall
    from symarray.tensor.shape_ops import assert_op, shape_i
    from symarray.tensor.subtensor import Idx
    from symarray.tensor.subtensor_advanced import AdvancedSubtensor

    coding, labels = node.inputs
    op = owner_op(coding)
    if not isinstance(op, Softmax) or op.axis not in (1, -1):
        return None
    x = coding.owner.inputs[0]
    logp = LogSoftmax(op.axis)(x)
    n_classes = shape_i(x, 1)
    ok = OPS["and_"](OPS["ge"](labels, 0), OPS["lt"](labels, n_classes))
    checked = assert_op(labels, tall(ok), msg=(
        "crossentropy_categorical_1hot: a class index is out of range for "
        "coding_dist"))
    rows = arange(shape_i(x, 0))
    picked = AdvancedSubtensor((Idx.ARRAY, Idx.ARRAY))(logp, rows, checked)
    return [like(neg(picked), node.outputs[0])]


# -- gradients -------------------------------------------------------------------


def _product_root(node: Any) -> Any:
    """The float output of a product node, or None."""
    out = node.outputs[0]
    return out if is_float(out) else None


_PRODUCT_OPS = [OPS["mul"], OPS["true_div"], OPS["reciprocal"]]


def _negates(a: Any, b: Any) -> bool:
    """Is ``b`` the expression ``-a`` (or ``a`` the expression ``-b``)?"""
    if a is None or b is None:
        return False
    return _arg(b, "neg") is a or _arg(a, "neg") is b


@register_rewrite(*_TAGS)
@node_rewriter(_PRODUCT_OPS)
def local_exp_over_1_plus_exp(fgraph: Any, node: Any) -> list[Any] | None:
    """exp(t) / (1 + exp(t)) -> sigmoid(t); 1 / (1 + exp(t)) -> sigmoid(-t);
    exp(t) * sigmoid(-t) -> sigmoid(t)."""
    out = _product_root(node)
    if out is None:
        return None
    num, den = mul_factors(out)
    changed = False
    for d in list(den):
        t = _arg(_one_plus(d), "exp")
        if t is None:
            continue
        den.remove(d)
        num.append(OPS["sigmoid"](neg(t)))
        changed = True
    for e in list(num):
        t = _arg(e, "exp")
        if t is None or e not in num:
            continue
        hit = next((f for f in num if _negates(t, _arg(f, "sigmoid"))), None)
        if hit is not None:
            num = _without(_without(num, e), hit)
            num.append(OPS["sigmoid"](t))
            changed = True
    if not changed:
        return None
    return [like(build_product(num, den, out.type.dtype), out)]


_NEVER_ZERO = ("exp", "sigmoid")


@register_rewrite(*_TAGS)
@node_rewriter(_PRODUCT_OPS)
def local_div_cancel_exp_sigmoid(fgraph: Any, node: Any) -> list[Any] | None:
    """a * e / e -> a for e = exp(t) or sigmoid(t) (never 0 in exact arithmetic)."""
    out = _product_root(node)
    if out is None:
        return None
    num, den = mul_factors(out)
    changed = False
    for d in list(den):
        if elemwise_name(d) not in _NEVER_ZERO:
            continue
        hit = next((f for f in num if f is d), None)
        if hit is not None:
            num.remove(hit)
            den.remove(d)
            changed = True
    if not changed:
        return None
    return [like(build_product(num, den, out.type.dtype), out)]


def _without(items: list[Any], item: Any) -> list[Any]:
    """``items`` less the first entry that is ``item``."""
    out = list(items)
    for k, v in enumerate(out):
        if v is item:
            del out[k]
            break
    return out


def _unwrap_broadcasts(var: Any) -> tuple[Any, list[Apply]]:
    """``(inner, wrappers)``: ``var`` is ``inner`` under Alloc/DimShuffle
    nodes; ``wrappers`` lists them innermost first."""
    from symarray.tensor.alloc import Alloc

    wrappers: list[Apply] = []
    while isinstance(owner_op(var), (DimShuffle, Alloc)):
        wrappers.append(var.owner)
        var = var.owner.inputs[0]
    wrappers.reverse()
    return var, wrappers


def _track_dims(dims: list[Any], wrappers: list[Apply]) -> list[Any]:
    """Which dimension of x each dimension comes from after ``wrappers``
    (``"new"``: a broadcast one)."""
    for w in wrappers:
        if isinstance(w.op, DimShuffle):
            order: Any = w.op.new_order
            dims = ["new" if d == "x" else dims[d] for d in order]
        else:  # Alloc: the value is aligned to the right
            dims = ["new"] * (len(w.inputs) - 1 - len(dims)) + dims
    return dims


def _sum_exp_dims(s: Any, x: Any) -> tuple[int, list[Any]] | None:
    """``(axis, dims)`` when ``s`` is ``sum(exp(x), axis)`` over one axis
    (possibly with the axis kept); ``dims`` says which dimension of x each
    dimension of ``s`` is."""
    inner, pattern = _keepdims_of(s)
    op = owner_op(inner)
    if not isinstance(op, Sum):
        return None
    axes: tuple[int, ...] = op.axis or ()
    if len(axes) != 1 or inner.dtype != x.dtype:
        return None
    if _arg(inner.owner.inputs[0], "exp") is not x:
        return None
    axis = axes[0]
    base: list[Any] = [d for d in range(x.ndim) if d != axis]
    if pattern is None:
        return axis, base
    return axis, ["new" if p == "x" else base[p] for p in pattern]  # type: ignore[index]


def _rewrap(inner: Any, wrappers: list[Apply]) -> Any:
    """Apply the Alloc/DimShuffle ``wrappers`` to a new ``inner`` (None: cannot)."""
    var = inner
    for w in wrappers:
        if isinstance(w.op, DimShuffle):
            if var.ndim != w.op.input_ndim:
                return None
            try:
                var = w.op(var)
            except ValueError:  # a dropped dimension is no longer length 1
                return None
        else:
            value: Any = w.inputs[0]
            var = w.op(cast(var, value.dtype), *w.inputs[1:])
    return var


@register_rewrite(*_TAGS)
@node_rewriter([OPS["mul"], OPS["true_div"]])
def local_exp_over_sum_exp(fgraph: Any, node: Any) -> list[Any] | None:
    """exp(x) / sum(exp(x), axis) -> softmax(x, axis) (the sum broadcast back).

    The sum may sit in the denominator of another factor under broadcasts,
    as in the gradient of ``log(sum(exp(x)))``:
    ``exp(x) * alloc(g / sum(exp(x)))`` -> ``softmax(x) * alloc(g)``.
    """
    out = _product_root(node)
    if out is None:
        return None
    num, den = mul_factors(out)
    for e in num:
        x = _arg(e, "exp")
        if x is None or x.ndim != out.ndim:
            continue
        factors = [(f, False) for f in num if f is not e] + [(f, True) for f in den]
        for f, inverted in factors:
            inner, wrappers = _unwrap_broadcasts(f)
            fnum, fden = ([], [inner]) if inverted else mul_factors(inner)
            for s in fden:
                found = _sum_exp_dims(s, x)
                if found is None:
                    continue
                axis, dims = found
                want = ["new" if d == axis else d for d in range(x.ndim)]
                if _track_dims(dims, wrappers) != want:
                    continue
                new_num = _without(_without(num, e), None if inverted else f)
                new_den = _without(den, f) if inverted else list(den)
                if not inverted:
                    rest = list(fden)
                    rest.remove(s)
                    new_f = _rewrap(build_product(fnum, rest, inner.dtype), wrappers)
                    if new_f is None:
                        continue
                    new_num.append(new_f)
                new_num.append(Softmax(axis)(x))
                return [like(build_product(new_num, new_den, out.type.dtype), out)]
    return None


def _softmax_grad_parts(node: Any) -> tuple[Any, Any, Any, Any] | None:
    """``(sm, G, axis, sum_op)`` when ``node`` is
    ``sm * (G - sum(G * sm, axis, keepdims))`` with ``sm = softmax(x, axis)``."""
    for i in (0, 1):
        sm, diff = node.inputs[i], node.inputs[1 - i]
        sm_op = owner_op(sm)
        if not isinstance(sm_op, Softmax) or elemwise_name(diff) != "sub":
            continue
        g, kept = diff.owner.inputs
        summed, pattern = _keepdims_of(kept)
        sum_op = owner_op(summed)
        axis = sm_op.axis
        if not isinstance(sum_op, Sum) or sum_op.axis != (axis,) or pattern is None:
            continue
        if [d for d in pattern if d != "x"] != list(range(sm.ndim - 1)) \
                or pattern[axis] != "x":
            continue
        prod = summed.owner.inputs[0]
        pn, pd = mul_factors(prod)
        gn, gd = mul_factors(g)
        if not _same_factors(pn, pd, [*gn, sm], gd):
            continue
        return sm, g, axis, sum_op
    return None


def _same_factors(an: list[Any], ad: list[Any], bn: list[Any], bd: list[Any]) -> bool:
    """Do ``prod(an) / prod(ad)`` and ``prod(bn) / prod(bd)`` have the same
    factors (after cancelling equal factors of each)?"""

    def reduced(num: list[Any], den: list[Any]) -> tuple[list[Any], list[Any]]:
        num, den = list(num), list(den)
        for d in list(den):
            hit = next((f for f in num if same(f, d)), None)
            if hit is not None:
                num.remove(hit)
                den.remove(d)
        return num, den

    an, ad = reduced(an, ad)
    bn, bd = reduced(bn, bd)

    def equal(a: list[Any], b: list[Any]) -> bool:
        b = list(b)
        for f in a:
            hit = next((g for g in b if same(f, g)), None)
            if hit is None:
                return False
            b.remove(hit)
        return not b

    return equal(an, bn) and equal(ad, bd)


@register_rewrite(*_TAGS)
@node_rewriter([OPS["mul"]])
def local_softmax_grad_stable(fgraph: Any, node: Any) -> list[Any] | None:
    """sm * (P/sm - sum(P, axis)) -> P - sm * sum(P, axis), sm = softmax(x, axis);
    with G the one-hot crossentropy gradient: sm * (G - ...) -> g * (sm - onehot(y))."""
    out = _product_root(node)
    if out is None:
        return None
    parts = _softmax_grad_parts(node)
    if parts is None:
        return None
    sm, g, axis, sum_op = parts
    g_op = owner_op(g)
    if isinstance(g_op, CrossentropyCategorical1HotGrad) and g.owner.inputs[1] is sm:
        from symarray.tensor.alloc import ones_like

        gv, _, labels = g.owner.inputs
        # -g at the labels, 0 elsewhere; the result is that + g * sm
        picked = g_op(gv, ones_like(sm), labels)
        new = OPS["add"](picked, OPS["mul"](DimShuffle(1, (0, "x"))(gv), sm))
        return [like(new, out)]
    num, den = mul_factors(g)
    if not any(f is sm for f in den):
        return None
    den = list(den)
    den.remove(sm)
    p = build_product(num, den, g.type.dtype)
    if p.type.shape[axis] == 1 and sm.type.shape[axis] != 1:
        # p was broadcast along the axis: its sum is p times the length
        from symarray.tensor.shape_ops import shape_i

        total = OPS["mul"](p, cast(shape_i(sm, axis), p.dtype))
    else:
        pattern = tuple("x" if d == axis else d - (d > axis) for d in range(sm.ndim))
        total = DimShuffle(sm.ndim - 1, pattern)(sum_op(p))
    new = OPS["sub"](p, OPS["mul"](sm, total))
    return [like(new, out)]

