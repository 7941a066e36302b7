"""Specialize rewrites: cheaper ops for the same values.

Phase ``specialize`` (tags ``fast_run``, ``specialize``):

===========================================  ===================================
``x ** 2``, ``x ** 0.5``, ``x ** 1``,        ``sqr(x)``, ``sqrt(x)``, ``x``,
``x ** -1``                                  ``reciprocal(x)`` (sqrt, reciprocal:
                                             real floats)
``alpha * dot(x, y) + beta * z``             ``Gemm(z, alpha, x, y, beta)``
``alpha * dot(a, v) + beta * z``             ``Gemv(z, alpha, a, v, beta)``
``z - c * (dot(a, v) + d * z)`` (any linear  ``Gemv(z, -c, a, v, 1 - c * d)``
combination; terms collected)                (``Gemm`` alike)
``z + alpha * outer(x, y)``                  ``Ger(z, alpha, x, y)``
``dot(zeros, x)``, ``dot(x, zeros)``         zeros (the alignment still checked)
``sum(alloc(v, *shape), axis)``              ``alloc(v * n, *kept)``, ``n`` the
                                             number of summed copies
``sum(x.dimshuffle(...), axis)``             ``sum(x, axis').dimshuffle(...)``
===========================================  ===================================

The BLAS rewrites fire for one float or complex dtype throughout and when
the ``dot`` has no other reader (otherwise it would be computed twice); a
plain ``dot`` stays a ``Dot``.  ``alpha``/``beta`` are products of scalar
factors (constants are multiplied out).  ``z`` may broadcast against the
product: the ops broadcast as the elementwise graph does.

Policy: ``dot(zeros, x)`` is zeros even where ``x`` holds ``inf`` or
``nan`` (NumPy would give ``nan``), as in Theano; the lengths are still
checked at run time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symarray.graph.basic import Constant, Variable
from symarray.graph.rewriting import node_rewriter, register_rewrite
from symarray.graph.traversal import NotScalarConstantError, get_scalar_constant_value
from symarray.tensor.alloc import Alloc, BroadcastTo, alloc
from symarray.tensor.basic import constant
from symarray.tensor.blas import Dot
from symarray.tensor.blas_ops import Gemm, Gemv, Ger
from symarray.tensor.elemwise import DimShuffle, cast
from symarray.tensor.reduction import Sum
from symarray.tensor.rewriting._patterns import (
    OPS,
    add_terms,
    elemwise_name,
    is_scalar_like,
    like,
    mul_factors,
    n_clients,
    owner_op,
    same,
    scalar_value,
)
from symarray.tensor.rewriting.shape import get_shape_feature, same_value
from symarray.tensor.shape_misc import assert_op
from symarray.tensor.shape_ops import shape_i

__all__ = [
    "local_pow_specialize", "local_dot_to_gemm", "local_outer_to_ger",
    "local_0_dot_x", "local_sum_alloc", "local_sum_dimshuffle",
]

_TAGS = ("specialize", "fast_run")
_BLAS_DTYPES = ("float32", "float64", "complex64", "complex128")


# -- powers --------------------------------------------------------------------


@register_rewrite(*_TAGS)
@node_rewriter([OPS["pow"]])
def local_pow_specialize(fgraph: Any, node: Any) -> list[Any] | None:
    """x**2 -> sqr(x); x**0.5 -> sqrt(x); x**1 -> x; x**-1 -> reciprocal(x).

    ``x`` is cast to the output dtype first, so ``fvector ** 2.0`` (float64
    exponent) squares in float64 as ``pow`` did.
    """
    x, p = node.inputs
    out = node.outputs[0]
    e = scalar_value(p)
    if e is None or isinstance(e, complex):
        return None
    dtype = out.type.dtype
    kind = np.dtype(dtype).kind
    xx = x if x.dtype == dtype else cast(x, dtype)
    if e == 2:
        new = OPS["sqr"](xx)
    elif e == 1:
        new = xx
    elif e == 0.5 and kind == "f":
        new = OPS["sqrt"](xx)
    elif e == -1 and kind == "f":
        new = OPS["reciprocal"](xx)
    else:
        return None
    return [like(new, out)]


# -- BLAS ---------------------------------------------------------------------


def _to_0d(v: Any, dtype: str) -> Any:
    """A scalar-like variable as a 0-d ``dtype`` variable."""
    op = owner_op(v)
    if isinstance(op, DimShuffle) and op.input_ndim == 0:
        v = v.owner.inputs[0]  # a 0-d value broadcast: take it back
    elif v.ndim:
        v = DimShuffle(v.ndim, ())(v)
    return v if v.dtype == dtype else cast(v, dtype)


def _scale_of(num: list[Any], den: list[Any], sign: int, dtype: str) -> Any:
    """``sign * prod(num) / prod(den)`` of scalar-like factors: a number when
    they are constants, else a 0-d ``dtype`` variable (None: divides by 0)."""
    const: Any = sign
    symbolic: Any = None
    for f, inverse in [(f, False) for f in num] + [(f, True) for f in den]:
        value = scalar_value(f)
        if value is not None:
            if inverse and value == 0:
                return None
            const = const / value if inverse else const * value
            continue
        f0 = _to_0d(f, dtype)
        if symbolic is None:
            symbolic = OPS["reciprocal"](f0) if inverse else f0
        else:
            symbolic = (OPS["true_div"] if inverse else OPS["mul"])(symbolic, f0)
    if symbolic is None:
        return const
    if const != 1:
        symbolic = OPS["mul"](symbolic, np.asarray(const, dtype=dtype))
    return _to_0d(symbolic, dtype)


def _scaled(term: Any, sign: int, dtype: str) -> tuple[Any, Any] | None:
    """``(scale, core)`` when ``term`` is a product of scalar-like factors and
    one other factor ``core`` (see :func:`_scale_of` for ``scale``)."""
    num, den = mul_factors(term)
    cores = [f for f in num if not is_scalar_like(f)]
    if len(cores) != 1 or any(not is_scalar_like(f) for f in den):
        return None
    rest = [f for f in num if f is not cores[0]]
    scale = _scale_of(rest, den, sign, dtype)
    return None if scale is None else (scale, cores[0])


def _scale_var(scale: Any, dtype: str) -> Any:
    if isinstance(scale, (int, float, complex, np.number)):
        return constant(np.asarray(scale, dtype=dtype))
    return scale


# A sum is opened into a linear combination ``sum_i c_i * t_i`` of "cores"
# ``t_i`` with scalar coefficients ``c_i`` (numbers, or 0-d variables):
#
#   w - 0.1 * (alloc(0.01, len(w)) * (2 * w) + dot(X.T, g))
#     = 1 * w + (-0.002) * w + (-0.1) * dot(X.T, g)      (opened)
#     = 0.998 * w + (-0.1) * dot(X.T, g)                  (collected)
#     -> Gemv(w, -0.1, X.T, g, 0.998)
#
# It opens add/sub/neg, and mul/true_div whose factors are scalar-like but
# one (c * (a + b) = c*a + c*b); an ``alloc(c, *lengths)`` factor whose
# lengths are the other factor's is the scalar c.  Terms with the same core
# are collected (a*t + c*t = (a + c)*t).  One Dot core becomes the BLAS
# product; the rest is ``beta * z`` (one core) or ``1 * (their sum)``.  Nodes
# below the root are opened only when the sum is their one reader, so no
# value (the dot above all) is computed twice.  A Gemv/Gemm below the root
# (made from an inner sum first) is opened the same way:
#   Gemv(z, alpha, A, v, beta) = beta * z + alpha * dot(A, v).

_MAX_TERMS = 16
#: most variables one collection looks at: every sum of a long chain
#: (y = y * a + b, 10k times) is a root, so an unbounded walk is quadratic
_MAX_VISITED = 64
Scale = Any  # a Python number or a 0-d variable


def _mul_scales(a: Scale, b: Scale, dtype: str) -> Scale:
    a_num, b_num = not isinstance(a, Variable), not isinstance(b, Variable)
    if a_num and b_num:
        return a * b
    if a_num or b_num:
        num, var = (a, b) if a_num else (b, a)
        return var if num == 1 else _to_0d(OPS["mul"](var, np.asarray(num, dtype)),
                                           dtype)
    return _to_0d(OPS["mul"](a, b), dtype)


def _add_scales(a: Scale, b: Scale, dtype: str) -> Scale:
    if not isinstance(a, Variable) and not isinstance(b, Variable):
        return a + b
    return _to_0d(OPS["add"](_scale_var(a, dtype), _scale_var(b, dtype)), dtype)


def _alloc_scalar(fgraph: Any, f: Any, core: Any) -> Any:
    """``c`` when the factor ``f`` is ``alloc(c, *lengths)`` of a scalar-like
    ``c`` and lengths equal to ``core``'s (it only broadcasts ``c``)."""
    if not isinstance(owner_op(f), Alloc) or fgraph is None:
        return None
    c, *lengths = f.owner.inputs
    if not is_scalar_like(c) or f.ndim > core.ndim or core.type.shape[
            core.ndim - f.ndim:] != f.type.shape:
        return None
    shape = get_shape_feature(fgraph).shape_of(core)[core.ndim - f.ndim:]
    if all(same_value(n, m) for n, m in zip(lengths, shape, strict=True)):
        return c
    return None


def _split_scale(fgraph: Any, v: Any, dtype: str) -> tuple[Scale, Any] | None:
    """``(scale, core)`` when ``v`` is a product of scalar-like factors (or
    allocs of scalars) and one other factor ``core``."""
    num, den = mul_factors(v, dtype)
    cores = [f for f in num if not is_scalar_like(f)]
    if any(not is_scalar_like(f) for f in den):
        return None
    if len(cores) > 1:
        real = [f for f in cores if not isinstance(owner_op(f), Alloc)]
        if len(real) != 1:
            return None
        scalars = [_alloc_scalar(fgraph, f, real[0]) for f in cores
                   if f is not real[0]]
        if any(c is None for c in scalars):
            return None
        num = [f for f in num if is_scalar_like(f)] + scalars
        cores = real
    else:
        num = [f for f in num if is_scalar_like(f)]
    if len(cores) != 1:
        return None
    scale = _scale_of(num, den, 1, dtype)
    return None if scale is None else (scale, cores[0])


def _linear_terms(fgraph: Any, out: Any, dtype: str,
                  fresh: set[Any]) -> list[list[Any]] | None:
    """``out`` as collected ``[scale, core]`` pairs (see the comment above);
    None when it has more than ``_MAX_TERMS`` terms.  A ``Gemv``/``Gemm``
    below the root is opened into its terms, its product a new ``Dot``
    added to ``fresh``."""
    terms: list[list[Any]] = []
    stack: list[tuple[Scale, Any]] = [(1, out)]
    visited = 0
    while stack:
        scale, v = stack.pop()
        visited += 1
        if visited > _MAX_VISITED:  # a long chain (each of its sums is a root)
            return None
        root = v is out
        opened = elemwise_name(v)
        if opened is not None and v.dtype == dtype and (
                root or n_clients(fgraph, v) == 1):
            ins = v.owner.inputs
            if opened in ("add", "sub"):
                sign = 1 if opened == "add" else -1
                stack += [(_mul_scales(scale, sign, dtype), ins[1]), (scale, ins[0])]
                continue
            if opened == "neg":
                stack.append((_mul_scales(scale, -1, dtype), ins[0]))
                continue
            if opened in ("mul", "true_div", "reciprocal"):
                split = _split_scale(fgraph, v, dtype)
                if split is not None and split[1] is not v:
                    stack.append((_mul_scales(scale, split[0], dtype), split[1]))
                    continue
        if (isinstance(owner_op(v), (Gemv, Gemm)) and not v.owner.op.destroy_map
                and not root and n_clients(fgraph, v) == 1):
            # Gemv(z, alpha, a, b, beta) = beta * z + alpha * dot(a, b)
            z, alpha, a, b, beta = v.owner.inputs
            product = Dot()(a, b)
            fresh.add(product)
            stack += [(_mul_scales(scale, _as_scale(beta), dtype), z),
                      (_mul_scales(scale, _as_scale(alpha), dtype), product)]
            continue
        for term in terms:
            if same(term[1], v):
                term[0] = _add_scales(term[0], scale, dtype)
                break
        else:
            terms.append([scale, v])
        if len(terms) + len(stack) > _MAX_TERMS:
            return None
    return terms


def _as_scale(v: Any) -> Scale:
    value = scalar_value(v)
    return v if value is None else value


def _is_zero(scale: Scale) -> bool:
    return not isinstance(scale, Variable) and scale == 0


@register_rewrite(*_TAGS)
@node_rewriter([OPS["add"], OPS["sub"]])
def local_dot_to_gemm(fgraph: Any, node: Any) -> list[Any] | None:
    """alpha * dot(x, y) + beta * z -> Gemm(z, alpha, x, y, beta) (Gemv for a
    matrix-vector dot); the sum may be any linear combination of the dot and
    other terms with scalar coefficients, collected first:
    z - 0.1 * (dot(a, v) + 0.02 * z) -> Gemv(z, -0.1, a, v, 0.998)."""
    out = node.outputs[0]
    dtype = out.type.dtype
    if dtype not in _BLAS_DTYPES or out.ndim not in (1, 2):
        return None
    fresh: set[Any] = set()
    terms = _linear_terms(fgraph, out, dtype, fresh)
    if terms is None or len(terms) < 2 or any(_is_zero(s) for s, _ in terms):
        return None  # a 0 coefficient: z * 0 would be nan for an inf z
    for k, (alpha, d) in enumerate(terms):
        if not isinstance(owner_op(d), Dot) or (
                d not in fresh and n_clients(fgraph, d) != 1):
            continue
        rest = terms[:k] + terms[k + 1:]
        if len(rest) == 1:
            beta, z = rest[0]
        else:
            beta, z = 1, None
            for s, t in rest:
                st = t if isinstance(s, (int, float)) and s == 1 else \
                    OPS["mul"](_scale_var(s, dtype), t)
                z = st if z is None else OPS["add"](z, st)
        a, b = d.owner.inputs
        if {a.dtype, b.dtype, z.dtype, d.dtype} != {dtype} or z.ndim != out.ndim:
            continue
        if is_scalar_like(z):  # dot + bias stays elementwise (fusion takes it)
            continue
        alpha, beta = _scale_var(alpha, dtype), _scale_var(beta, dtype)
        if a.ndim == 2 and b.ndim == 2:
            new = Gemm()(z, alpha, a, b, beta)
        elif a.ndim == 2 and b.ndim == 1:
            new = Gemv()(z, alpha, a, b, beta)
        elif a.ndim == 1 and b.ndim == 2:
            new = Gemv()(z, alpha, DimShuffle(2, (1, 0))(b), a, beta)
        else:
            continue
        return [like(new, out)]
    return None


def _vector_of(v: Any, pattern: tuple[Any, ...]) -> Any:
    """``u`` when ``v`` is ``u.dimshuffle(pattern)`` for a vector ``u``
    (``pattern`` is ``(0, "x")`` for a column, ``("x", 0)`` for a row), or a
    constant of that shape."""
    op = owner_op(v)
    if isinstance(op, DimShuffle) and op.new_order == pattern and op.input_ndim == 1:
        return v.owner.inputs[0]
    if isinstance(v, Constant) and v.type.ndim == 2:  # type: ignore[attr-defined]
        long_axis = pattern.index(0)
        shape = v.type.shape  # type: ignore[attr-defined]
        if shape[1 - long_axis] == 1 and shape[long_axis] != 1:
            data = np.asarray(v.data)
            return constant(data[:, 0] if long_axis == 0 else data[0])
    return None


@register_rewrite(*_TAGS)
@node_rewriter([OPS["add"], OPS["sub"]])
def local_outer_to_ger(fgraph: Any, node: Any) -> list[Any] | None:
    """z + alpha * outer(x, y) -> Ger(z, alpha, x, y)."""
    out = node.outputs[0]
    dtype = out.type.dtype
    if dtype not in _BLAS_DTYPES or out.ndim != 2:
        return None
    terms = add_terms(out, max_terms=2)
    if len(terms) != 2:
        return None
    for k in (0, 1):
        (zs, z), (sign, prod) = terms[1 - k], terms[k]
        if zs < 0 or is_scalar_like(z) or z.dtype != dtype:
            continue
        num, den = mul_factors(prod)
        cols = [f for f in num if _vector_of(f, (0, "x")) is not None]
        rows = [f for f in num if _vector_of(f, ("x", 0)) is not None]
        if len(cols) != 1 or len(rows) != 1:
            continue
        rest = [f for f in num if f is not cols[0] and f is not rows[0]]
        if any(not is_scalar_like(f) for f in rest + den):
            continue
        x, y = _vector_of(cols[0], (0, "x")), _vector_of(rows[0], ("x", 0))
        if x.dtype != dtype or y.dtype != dtype:
            continue
        scale = _scale_of(rest, den, sign, dtype)
        if scale is None:
            continue
        return [like(Ger()(z, _scale_var(scale, dtype), x, y), out)]
    return None


# -- dot of zeros -------------------------------------------------------------


def _is_zeros(v: Any) -> bool:
    """Is every element of ``v`` known to be 0?"""
    if not isinstance(v, Constant) and not isinstance(owner_op(v), (Alloc, DimShuffle)):
        return False
    try:
        return bool(get_scalar_constant_value(v) == 0)
    except NotScalarConstantError:
        return False
    except Exception:
        return False


def _length(v: Any, d: int) -> Any:
    n = v.type.shape[d]
    return int(n) if n is not None else shape_i(v, d)


@register_rewrite(*_TAGS)
@node_rewriter([Dot])
def local_0_dot_x(fgraph: Any, node: Any) -> list[Any] | None:
    """dot(zeros, x) -> zeros; dot(x, zeros) -> zeros (lengths still checked)."""
    a, b = node.inputs
    if not (_is_zeros(a) or _is_zeros(b)):
        return None
    out = node.outputs[0]
    lengths = ([_length(a, 0)] if a.ndim == 2 else []) + \
        ([_length(b, 1)] if b.ndim == 2 else [])
    zero = np.zeros((), dtype=out.type.dtype)
    new = alloc(zero, *lengths) if lengths else alloc(zero)
    ka, kb = _length(a, a.ndim - 1), _length(b, 0)
    if not (isinstance(ka, int) and isinstance(kb, int)):
        new = assert_op(new, OPS["eq"](ka, kb), msg=(
            "dot: shapes are not aligned (the last axis of the first input and "
            "the first axis of the second differ in length)"))
    return [like(new, out)]


# -- sums ---------------------------------------------------------------------


@register_rewrite(*_TAGS)
@node_rewriter([Sum])
def local_sum_alloc(fgraph: Any, node: Any) -> list[Any] | None:
    """sum(alloc(v, *shape), axis) -> alloc(v * n, *kept) (v a scalar, n the
    product of the summed lengths), in the sum's accumulator dtype; the same
    for ``broadcast_to``."""
    (x,) = node.inputs
    op = node.op
    if not isinstance(owner_op(x), (Alloc, BroadcastTo)) or not op.axis:
        return None
    v, *lengths = x.owner.inputs
    if not is_scalar_like(v):
        return None
    out = node.outputs[0]
    acc = op.acc_dtype
    static_n, symbolic = 1, []
    for d in op.axis:
        if x.type.shape[d] is not None:
            static_n *= x.type.shape[d]
        else:
            symbolic.append(lengths[d])
    value = scalar_value(v)
    if static_n == 0 or (value is not None and not symbolic):
        number = 0 if static_n == 0 else np.asarray(value, dtype=acc) * static_n
        total: Any = constant(np.asarray(number, dtype=acc))
    else:
        total = _to_0d(v, acc)
        if static_n != 1:
            total = OPS["mul"](total, np.asarray(static_n, dtype=acc))
        if symbolic:
            n = symbolic[0]
            for length in symbolic[1:]:
                n = OPS["mul"](n, length)
            total = OPS["mul"](total, cast(n, acc))
            if np.dtype(acc).kind in "fc" and not _finite_constant(v):
                # an empty sum is 0 even when v is inf or nan
                total = OPS["switch"](OPS["eq"](n, 0), np.zeros((), dtype=acc), total)
    kept = [lengths[d] for d in range(x.ndim) if d not in op.axis]
    if isinstance(total, Constant) and not kept:
        new: Any = constant(np.asarray(total.data, dtype=out.type.dtype))
    else:
        total = cast(total, out.type.dtype)
        new = alloc(total, *kept) if kept else total
    return [like(new, out)]


def _finite_constant(v: Any) -> bool:
    value = scalar_value(v)
    return value is not None and bool(np.isfinite(value))


@register_rewrite(*_TAGS)
@node_rewriter([Sum])
def local_sum_dimshuffle(fgraph: Any, node: Any) -> list[Any] | None:
    """sum(x.dimshuffle(order), axis) -> sum(x, axis').dimshuffle(order')."""
    (x,) = node.inputs
    ds = owner_op(x)
    if not isinstance(ds, DimShuffle) or not node.op.axis:
        return None
    inner = x.owner.inputs[0]
    order = ds.new_order
    axes = set(node.op.axis)
    in_axes = sorted({order[d] for d in axes if order[d] != "x"} | set(ds.dropped))
    if not in_axes:
        return None
    summed = node.op._with(axis=tuple(in_axes))(inner)
    remaining = [d for d in range(inner.ndim) if d not in in_axes]
    pattern = [("x" if order[d] == "x" else remaining.index(int(order[d])))
               for d in range(len(order)) if d not in axes]
    if pattern != list(range(summed.ndim)):
        summed = DimShuffle(summed.ndim, pattern)(summed)
    return [like(summed, node.outputs[0])]
