"""Specialize rewrites: cheaper ops for the same values.

Phase ``specialize`` (tags ``fast_run``, ``specialize``):

===========================================  ===================================
``x ** 2``, ``x ** 0.5``, ``x ** 1``,        ``sqr(x)``, ``sqrt(x)``, ``x``,
``x ** -1``                                  ``reciprocal(x)`` (sqrt, reciprocal:
                                             real floats)
``alpha * dot(x, y) + beta * z``             ``Gemm(z, alpha, x, y, beta)``
``alpha * dot(a, v) + beta * z``             ``Gemv(z, alpha, a, v, beta)``
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

from symarray.graph.basic import Constant
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
    is_scalar_like,
    like,
    mul_factors,
    n_clients,
    owner_op,
    scalar_value,
)
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


@register_rewrite(*_TAGS)
@node_rewriter([OPS["add"], OPS["sub"]])
def local_dot_to_gemm(fgraph: Any, node: Any) -> list[Any] | None:
    """alpha * dot(x, y) + beta * z -> Gemm(z, alpha, x, y, beta) (Gemv for a
    matrix-vector dot)."""
    out = node.outputs[0]
    dtype = out.type.dtype
    if dtype not in _BLAS_DTYPES or out.ndim not in (1, 2):
        return None
    terms = add_terms(out, max_terms=2)
    if len(terms) != 2:
        return None
    for k in (0, 1):
        dot_part = _scaled(terms[k][1], terms[k][0], dtype)
        z_part = _scaled(terms[1 - k][1], terms[1 - k][0], dtype)
        if dot_part is None or z_part is None:
            continue
        alpha, d = dot_part
        beta, z = z_part
        if not isinstance(owner_op(d), Dot) or n_clients(fgraph, d) != 1:
            continue
        a, b = d.owner.inputs
        if {a.dtype, b.dtype, z.dtype, d.dtype} != {dtype} or z.ndim != out.ndim:
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
