"""Small pattern helpers shared by the stabilize, specialize and subtensor rewrites.

A rewrite looks one or two nodes up from the node it is shown; these
helpers name what it looks for (``elemwise_name(v) == "exp"``), read
scalar constants that broadcast harmlessly, flatten sums and products into
terms and factors, and rebuild them.  Flattening only goes through nodes of
the same dtype as the root, so rebuilding cannot change where an integer
overflows or a float rounds differently in kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.graph.basic import Constant, Variable
from symarray.graph.traversal import NotScalarConstantError, get_scalar_constant_value
from symarray.tensor.elemwise import Elemwise, cast
from symarray.tensor.math import ELEMWISE_OPS
from symarray.tensor.type import TensorType

__all__ = [
    "elemwise_name", "owner_op", "is_scalar_like", "scalar_value", "is_float",
    "neg", "add_terms", "build_sum", "mul_factors", "build_product", "like",
    "n_clients",
]

OPS = ELEMWISE_OPS


def owner_op(var: Any) -> Any:
    """The op that computes ``var`` (None for inputs and constants)."""
    owner = getattr(var, "owner", None)
    return None if owner is None else owner.op


def elemwise_name(var: Any) -> str | None:
    """The scalar op name when ``var`` is computed by an out-of-place Elemwise."""
    op = owner_op(var)
    if isinstance(op, Elemwise) and not op.inplace_pattern:
        return str(op.scalar_op.name)
    return None


def is_float(var: Any) -> bool:
    """Real floating-point dtype (float16/32/64)."""
    return isinstance(var.type, TensorType) and var.type.numpy_dtype.kind == "f"


def is_scalar_like(var: Any) -> bool:
    """Every static length is 1: ``var`` broadcasts without changing a shape."""
    return isinstance(var.type, TensorType) and all(s == 1 for s in var.type.shape)


def scalar_value(var: Any) -> float | int | complex | None:
    """The constant value of a scalar-like ``var`` (None: not constant).

    Only variables whose every static length is 1 qualify, so replacing an
    operation on them never changes the shape of a result.
    """
    if not is_scalar_like(var):
        return None
    try:
        value = get_scalar_constant_value(var)
    except NotScalarConstantError:
        return None
    except Exception:  # a hook that could not evaluate: not a constant
        return None
    arr = np.asarray(value)
    if arr.size != 1:
        return None
    return arr.reshape(()).item()


def n_clients(fgraph: Any, var: Variable) -> int:
    """How many nodes (and outputs) read ``var`` in ``fgraph``."""
    return len(fgraph.clients.get(var, ())) if fgraph is not None else 0


def neg(x: Any) -> Any:
    """``-x``, without building ``-(-y)``."""
    if elemwise_name(x) == "neg":
        return x.owner.inputs[0]
    return OPS["neg"](x)


def like(new: Any, old: Variable) -> Any:
    """``new`` with ``old``'s dtype, or None when its static shape could be wrong.

    The replacement must have the same rank; where ``old`` has a static
    length, ``new`` must have the same or none (made specific by the engine's
    check), and where ``old`` has none, ``new`` must not claim a length of 1
    (it would have lost a broadcast).
    """
    otype = old.type
    if not isinstance(otype, TensorType) or new.type.ndim != otype.ndim:
        return None
    if new.dtype != otype.dtype:
        new = cast(new, otype.dtype)
    for o, n in zip(otype.shape, new.type.shape, strict=True):
        if o is not None and n is not None and o != n:
            return None
        if o is None and n is not None:
            return None
        if o is not None and n is None:
            return None
    return new


# -- sums -------------------------------------------------------------------


def add_terms(var: Any, dtype: str | None = None,
              max_terms: int = 8) -> list[tuple[int, Any]]:
    """``var`` as signed terms ``[(+1, a), (-1, b), ...]`` (through add/sub/neg).

    Only nodes whose output dtype is ``dtype`` (default: ``var``'s) are
    opened; the result is ``[(1, var)]`` when ``var`` is not a sum.
    """
    dtype = dtype or var.type.dtype
    out: list[tuple[int, Any]] = []
    stack: list[tuple[int, Any]] = [(1, var)]
    while stack:
        sign, v = stack.pop()
        name = elemwise_name(v)
        if (name in ("add", "sub", "neg") and v.type.dtype == dtype
                and len(out) + len(stack) < max_terms):
            ins = v.owner.inputs
            if name == "add":
                stack += [(sign, ins[1]), (sign, ins[0])]
            elif name == "sub":
                stack += [(-sign, ins[1]), (sign, ins[0])]
            else:
                stack.append((-sign, ins[0]))
            continue
        out.append((sign, v))
    return out


def build_sum(terms: Sequence[tuple[int, Any]], dtype: str) -> Any:
    """Rebuild signed terms as one expression of ``dtype`` (None when empty)."""
    acc: Any = None
    for sign, t in terms:
        if t.dtype != dtype:
            t = cast(t, dtype)
        if acc is None:
            acc = t if sign > 0 else neg(t)
        else:
            acc = OPS["add"](acc, t) if sign > 0 else OPS["sub"](acc, t)
    return acc


def split_constant(terms: Sequence[tuple[int, Any]]
                   ) -> tuple[Any, list[tuple[int, Any]]]:
    """(sum of the scalar-like constant terms, the other terms)."""
    total: Any = 0
    rest = []
    for sign, t in terms:
        value = scalar_value(t)
        if value is None:
            rest.append((sign, t))
        else:
            total = total + sign * value
    return total, rest


# -- products ---------------------------------------------------------------


def mul_factors(var: Any, dtype: str | None = None,
                max_factors: int = 16) -> tuple[list[Any], list[Any]]:
    """``var`` as ``(numerator, denominator)`` factor lists.

    Opens ``mul``, ``true_div`` and ``reciprocal`` nodes of ``dtype``
    (default: ``var``'s); a plain variable is ``([var], [])``.
    """
    dtype = dtype or var.type.dtype
    num: list[Any] = []
    den: list[Any] = []
    stack: list[tuple[bool, Any]] = [(False, var)]
    while stack:
        inverted, v = stack.pop()
        name = elemwise_name(v)
        size = len(num) + len(den) + len(stack)
        if (name in ("mul", "true_div", "reciprocal")
                and v.type.dtype == dtype and size < max_factors):
            ins = v.owner.inputs
            if name == "mul":
                stack += [(inverted, ins[1]), (inverted, ins[0])]
            elif name == "true_div":
                stack += [(not inverted, ins[1]), (inverted, ins[0])]
            else:
                stack.append((not inverted, ins[0]))
            continue
        (den if inverted else num).append(v)
    return num, den


def build_product(num: Sequence[Any], den: Sequence[Any], dtype: str) -> Any:
    """Rebuild ``prod(num) / prod(den)`` in ``dtype``."""
    kept = [f for f in num if scalar_value(f) != 1] or list(num[:1])
    top: Any = None
    for f in kept:
        top = f if top is None else OPS["mul"](top, f)
    bottom: Any = None
    for f in den:
        bottom = f if bottom is None else OPS["mul"](bottom, f)
    if top is None:
        top = np.asarray(1, dtype=dtype)
    out = top if bottom is None else OPS["true_div"](top, bottom)
    if isinstance(out, np.ndarray):
        from symarray.tensor.basic import constant

        out = constant(out)
    return out if out.dtype == dtype else cast(out, dtype)


def same(a: Any, b: Any) -> bool:
    """The same variable, or equal constants."""
    if a is b:
        return True
    if isinstance(a, Constant) and isinstance(b, Constant):
        return bool(a.signature() == b.signature())
    return False
