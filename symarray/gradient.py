"""Symbolic differentiation: grad, Lop, Rop, jacobian, hessian, verify_grad.

Gradients are graphs built from the same ops as the forward graph, so they
are rewritten, fused and run like any other graph.

Reverse mode (:func:`grad`, :func:`Lop`) visits every node between the
wrt variables and the cost once, in reverse topological order, asking each
op's ``L_op(inputs, outputs, output_grads)`` for its input gradients and
summing the contributions that reach a variable from several clients.  An op
answers per input with a variable, ``None`` (no dependence: a zero), or a
*null* gradient made by :func:`grad_undefined` / :func:`grad_not_implemented`
that raises only if a requested gradient depends on it.

An op whose ``L_op`` raises ``NotImplementedError`` gives null gradients
too, so a graph with such an op can still be differentiated with respect to
variables that do not pass through it.

Forward mode (:func:`Rop`) walks the graph in topological order and asks
each op's ``R_op(inputs, eval_points)``; ops without one fall back to the
double-Lop trick for that node (see ``ROP_FALLBACK_OPS``).

:func:`jacobian` and :func:`hessian` (in :mod:`symarray._jacobian`) are
unrolled into one reverse pass per element when the expression's size is
static, one forward pass per element of a static-size wrt, and otherwise
run a :class:`~symarray._jacobian.JacobianLoop` op that loops over the rows
at run time.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from symarray import config
from symarray.errors import SymarrayError
from symarray.graph.basic import Apply, Type, Variable
from symarray.graph.traversal import io_toposort

__all__ = [
    "grad", "Lop", "Rop", "jacobian", "hessian", "verify_grad", "zero_grad",
    "disconnected_grad", "grad_clip", "grad_scale", "consider_constant",
    "grad_undefined", "grad_not_implemented", "NullTypeGradError",
    "DisconnectedInputError", "GradientError", "DisconnectedType", "NullType",
    "ROP_FALLBACK_OPS",
]

#: what the functions here take and return: a symbolic (tensor) variable.
#: ``Any`` because ``TensorVariable`` lives above this module and the base
#: ``Variable`` does not declare ``dtype``/``ndim``/``shape``.
TensorLike = Any


class GradientError(SymarrayError, ValueError):
    """verify_grad found analytic and numeric gradients that disagree."""


class NullTypeGradError(SymarrayError, TypeError):
    """A requested gradient depends on one that is undefined/not implemented."""


class DisconnectedInputError(SymarrayError, ValueError):
    """A wrt variable does not influence the cost."""


# -- special gradient types ------------------------------------------------


class NullType(Type):
    """The type of an undefined gradient; compiling it is an error."""

    def __init__(self, why: str) -> None:
        self.why = why

    def filter(self, data: Any, strict: bool = False,
               allow_downcast: bool | None = None) -> Any:
        raise NullTypeGradError(f"cannot compute an undefined gradient: {self.why}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NullType) and other.why == self.why

    def __hash__(self) -> int:
        return hash(("NullType", self.why))

    def __str__(self) -> str:
        return "NullType"

    def make_variable(self, name: str | None = None) -> Variable:
        return Variable(self, None, None, name)


class DisconnectedType(Type):
    """The type of a gradient that does not depend on the variable at all."""

    def filter(self, data: Any, strict: bool = False,
               allow_downcast: bool | None = None) -> Any:
        raise SymarrayError("a disconnected gradient has no value")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DisconnectedType)

    def __hash__(self) -> int:
        return hash("DisconnectedType")

    def __str__(self) -> str:
        return "DisconnectedType"

    def make_variable(self, name: str | None = None) -> Variable:
        return Variable(self, None, None, name)


def _is_null(v: Any) -> bool:
    return isinstance(v, Variable) and isinstance(v.type, NullType)


def _is_disconnected(v: Any) -> bool:
    return v is None or (
        isinstance(v, Variable) and isinstance(v.type, DisconnectedType)
    )


def grad_undefined(op: Any, x_pos: int, x: TensorLike, comment: str = "") -> TensorLike:
    """A null gradient: the gradient of ``op`` wrt input ``x_pos`` is undefined."""
    why = f"{op}.grad is mathematically undefined for input {x_pos} ({x}). {comment}"
    return NullType(why.strip()).make_variable()


def grad_not_implemented(op: Any, x_pos: int, x: TensorLike,
                         comment: str = "") -> TensorLike:
    """A null gradient: the gradient of ``op`` wrt input ``x_pos`` is not written."""
    why = f"{op}.grad is not implemented for input {x_pos} ({x}). {comment}"
    return NullType(why.strip()).make_variable()


def _tensor() -> Any:
    """``symarray.tensor``, imported late (it imports this module)."""
    import symarray.tensor

    return symarray.tensor


def _zeros_like_float(var: TensorLike) -> TensorLike:
    T = _tensor()  # noqa: N806 - Theano's name
    if _other_type(var) and hasattr(var, "zeros_like"):  # sparse zeros are sparse
        return var.zeros_like()
    dtype = var.type.dtype
    if not dtype.startswith(("float", "complex")):
        dtype = config.floatX
    return T.zeros_like(var, dtype=dtype)


def _other_type(g: Any) -> bool:
    """A variable of a non-tensor type (sparse): its gradients keep the type
    the op's L_op gave them and are summed with their own ``+``."""
    return isinstance(g, Variable) and not isinstance(g.type, _tensor().TensorType)


def _as_list(x: TensorLike | Sequence[TensorLike]) -> list[TensorLike]:
    """A variable or a sequence of variables as a list."""
    return [x] if isinstance(x, Variable) else list(x)


def _dtype(var: TensorLike) -> str:
    return str(var.type.dtype)


def _ndim(var: TensorLike) -> int:
    return int(var.type.ndim)


def _is_discrete(var: TensorLike) -> bool:
    dtype = getattr(var.type, "dtype", None)
    return dtype is not None and not dtype.startswith(("float", "complex"))


# -- reverse mode -------------------------------------------------------------


def grad(
    cost: TensorLike | None,
    wrt: TensorLike | Sequence[TensorLike],
    consider_constant: Iterable[TensorLike] | None = None,
    disconnected_inputs: str = "raise",
    add_names: bool = True,
    known_grads: Mapping[TensorLike, TensorLike] | None = None,
    return_disconnected: str = "zero",
    null_gradients: str = "raise",
) -> Any:
    """Symbolic gradient of the scalar ``cost`` with respect to ``wrt``.

    Parameters
    ----------
    cost
        A 0-d variable (or None when ``known_grads`` seeds the graph).
    wrt
        A variable or a list of them; the result has the same structure.
    consider_constant
        Variables treated as constants (no gradient flows through them).
    disconnected_inputs
        ``"raise"``, ``"warn"`` or ``"ignore"`` when a wrt variable does not
        influence the cost.
    known_grads
        ``{variable: its gradient}`` to start from (with or without cost).
    return_disconnected
        ``"zero"`` (zeros like the variable), ``"None"`` or
        ``"Disconnected"`` for disconnected wrt variables.
    null_gradients
        ``"raise"`` if a requested gradient is undefined, or ``"return"``
        the null variable.

    Examples
    --------
    >>> import symarray as theano, symarray.tensor as T
    >>> x = T.dscalar("x")
    >>> gx = theano.grad(x ** 3, x)
    >>> float(gx.eval({x: 2.0}))
    12.0
    """
    if disconnected_inputs not in ("raise", "warn", "ignore"):
        raise ValueError(
            f"grad: disconnected_inputs must be 'raise', 'warn' or 'ignore', got "
            f"{disconnected_inputs!r}"
        )
    if return_disconnected not in ("zero", "None", "Disconnected"):
        raise ValueError(
            "grad: return_disconnected must be 'zero', 'None' or 'Disconnected', got "
            f"{return_disconnected!r}"
        )
    if null_gradients not in ("raise", "return"):
        raise ValueError(
            f"grad: null_gradients must be 'raise' or 'return', got {null_gradients!r}"
        )
    T = _tensor()  # noqa: N806 - Theano's name
    single = not isinstance(wrt, (list, tuple))
    wrt_list: list[TensorLike] = [wrt] if single else list(wrt)
    for k, w in enumerate(wrt_list):
        if not isinstance(w, Variable):
            raise TypeError(
                f"grad: wrt[{k}] must be a symbolic variable, got {type(w).__name__}"
            )
    seeds: dict[TensorLike, TensorLike] = {}
    if cost is not None:
        if not isinstance(cost, Variable):
            raise TypeError(f"grad: cost must be a symbolic variable, got {cost!r}")
        if getattr(cost.type, "ndim", 0) != 0:
            raise TypeError(
                f"grad: cost must be a scalar (0-d), got {cost} of type {cost.type}; "
                "reduce it first (e.g. cost.sum()) or use jacobian / Lop"
            )
        if _is_discrete(cost):
            raise TypeError(
                f"grad: cost {cost} has integer dtype {_dtype(cost)}; its gradient "
                "is zero everywhere. Cast it to float if that is intended."
            )
        seeds[cost] = T.ones_like(cost)
    for var, g in (known_grads or {}).items():
        if not isinstance(g, Variable):
            g = T.as_tensor_variable(g, dtype=getattr(var.type, "dtype", None))
        if g.type.ndim != var.type.ndim:
            raise ValueError(
                f"grad: known gradient of {var} has {g.type.ndim} dims, expected "
                f"{var.type.ndim}"
            )
        seeds[var] = g
    if not seeds:
        raise TypeError("grad: give a cost, known_grads, or both")

    blockers = set(consider_constant or ())
    grads = _backprop(list(seeds), seeds, wrt_list, blockers)

    results: list[Any] = []
    for w in wrt_list:
        g = grads.get(w)
        if _is_null(g):
            if null_gradients == "raise":
                raise NullTypeGradError(
                    f"grad: the gradient with respect to {w} is undefined: "
                    f"{g.type.why}"  # type: ignore[union-attr]
                )
            results.append(g)
            continue
        if g is None:
            message = (
                f"grad: {w} is not part of the computational graph of the cost, or "
                "it is only used by non-differentiable operations; pass "
                "disconnected_inputs='ignore' (or 'warn') if that is intended"
            )
            if disconnected_inputs == "raise" and not _is_discrete(w):
                raise DisconnectedInputError(message)
            if disconnected_inputs == "warn":
                warnings.warn(message, stacklevel=2)
            if return_disconnected == "None":
                results.append(None)
                continue
            if return_disconnected == "Disconnected":
                results.append(DisconnectedType().make_variable())
                continue
            g = _zeros_like_float(w)
        elif _is_discrete(w):
            g = _zeros_like_float(w)
        else:
            g = _fit(g, w)
        if add_names and g.name is None and w.name:
            cost_name = cost.name if cost is not None and cost.name else "cost"
            g.name = f"(d{cost_name}/d{w.name})"
        results.append(g)
    return results[0] if single else results


def _fit(g: TensorLike, w: TensorLike) -> TensorLike:
    """Make gradient ``g`` have exactly ``w``'s type (dtype, broadcastable)."""
    T = _tensor()  # noqa: N806 - Theano's name
    if _other_type(w) or _other_type(g):
        return g  # the op made it of w's type
    if g.type.dtype != w.type.dtype:
        g = T.cast(g, w.type.dtype)
    if g.type != w.type:
        if g.type.ndim != w.type.ndim:
            raise SymarrayError(
                f"grad: an op returned a gradient with {g.type.ndim} dims for {w} "
                f"({w.type.ndim} dims); this is a bug in that op's L_op"
            )
        if not w.type.is_super(g.type):
            g = T.specify_shape(g, w.type.shape)
    return g


def _backprop(
    seed_vars: list[TensorLike],
    seeds: Mapping[TensorLike, TensorLike],
    wrt: Sequence[TensorLike],
    blockers: set[TensorLike],
) -> dict[TensorLike, Any]:
    """Accumulate gradients from the seeds down to ``wrt`` (and everything between)."""
    T = _tensor()  # noqa: N806 - Theano's name
    wrt_set = set(wrt)
    # walk up to the blockers only: a wrt variable may be computed from
    # another wrt variable (grad(cost, [h, x]) with h = tanh(x))
    nodes = io_toposort(list(blockers), seed_vars)
    # only nodes that depend on some wrt variable carry gradient
    depends: set[TensorLike] = set(wrt_set)
    live: list[Apply] = []
    for node in nodes:
        if any(i in depends and i not in blockers for i in node.inputs):
            live.append(node)
            depends.update(node.outputs)
    contributions: dict[TensorLike, list[Any]] = {v: [g] for v, g in seeds.items()}
    total: dict[TensorLike, Any] = {}

    def collect(var: TensorLike) -> Any:
        if var in total:
            return total[var]
        parts = contributions.get(var, [])
        nulls = [p for p in parts if _is_null(p)]
        real = [p for p in parts if not _is_disconnected(p) and not _is_null(p)]
        if nulls:
            result: Any = nulls[0]
        elif not real:
            result = None
        elif len(real) == 1:
            result = real[0]
        elif any(_other_type(p) for p in real):
            result = real[0]
            for p in real[1:]:
                result = result + p  # sparse gradients add with their own op
        else:
            result = T.add(*real)
        total[var] = result
        return result

    for node in reversed(live):
        out_grads = [collect(o) for o in node.outputs]
        if all(g is None for g in out_grads):
            continue
        null_out = next((g for g in out_grads if _is_null(g)), None)
        if null_out is not None:
            for i in node.inputs:
                if i in depends and i not in blockers:
                    contributions.setdefault(i, []).append(null_out)
            continue
        # an output that is not a tensor (a random generator's new state)
        # has no zeros: it is passed as disconnected
        filled = [
            g if g is not None
            else _zeros_like_float(o) if hasattr(o.type, "dtype")
            else DisconnectedType().make_variable()
            for g, o in zip(out_grads, node.outputs, strict=True)
        ]
        in_grads = _node_lop(node, filled)
        for inp, g in zip(node.inputs, in_grads, strict=True):
            if inp not in depends or inp in blockers or _is_disconnected(g):
                continue
            if not _is_null(g) and not _other_type(g):
                g = T.as_tensor_variable(g)
                if g.type.ndim != getattr(inp.type, "ndim", g.type.ndim):
                    raise SymarrayError(
                        f"{node.op}.L_op returned a {g.type.ndim}-d gradient for its "
                        f"{_ndim(inp)}-d input {inp}; this is a bug in that op"
                    )
                in_dtype = getattr(inp.type, "dtype", "")
                is_float = in_dtype.startswith(("float", "complex"))
                if is_float and g.type.dtype != in_dtype:
                    g = T.cast(g, in_dtype)
            contributions.setdefault(inp, []).append(g)
    return {w: collect(w) for w in wrt}


def _node_lop(node: Apply, output_grads: list[TensorLike]) -> list[Any]:
    """``node.op.L_op`` with a check; an op without one gives null gradients."""
    try:
        in_grads = list(node.op.L_op(list(node.inputs), list(node.outputs),
                                     output_grads))
    except NotImplementedError as exc:
        # a null gradient per input: an error only if a requested gradient
        # depends on it (see grad_not_implemented)
        return [grad_not_implemented(node.op, k, inp, f"({exc})")
                for k, inp in enumerate(node.inputs)]
    if len(in_grads) != len(node.inputs):
        raise SymarrayError(
            f"{node.op}.L_op returned {len(in_grads)} gradients for "
            f"{len(node.inputs)} inputs; it must return one per input (None "
            "for an input without gradient)"
        )
    return in_grads


def Lop(  # noqa: N802 - Theano's name
    f: TensorLike | Sequence[TensorLike],
    wrt: TensorLike | Sequence[TensorLike],
    eval_points: TensorLike | Sequence[TensorLike],
    consider_constant: Iterable[TensorLike] | None = None,
    disconnected_inputs: str = "raise",
) -> Any:
    """Vector-Jacobian product: ``eval_points`` (shaped like f) times df/dwrt."""
    fs, eps = _as_list(f), _as_list(eval_points)
    if len(fs) != len(eps):
        raise ValueError(f"Lop: {len(fs)} outputs but {len(eps)} eval points")
    T = _tensor()  # noqa: N806 - Theano's name
    known = {fi: T.as_tensor_variable(e) for fi, e in zip(fs, eps, strict=True)}
    return grad(None, wrt, consider_constant=consider_constant,
                disconnected_inputs=disconnected_inputs, known_grads=known)


#: Names of the Op classes of ``symarray.tensor`` (and ``T.nnet``) that have
#: no native ``R_op``; empty: every tensor op has one.  :func:`Rop` handles
#: nodes of such ops, and of ops defined outside symarray without an R_op,
#: with the double-Lop trick (``J v = d/du <J^T u, v>``, see ``_node_rop``),
#: which costs two reverse passes over the node.  ``tests/test_gradient.py``
#: checks that this is exactly the set of tensor Op classes (base classes
#: such as ``CAReduce`` excluded) whose ``R_op`` is ``Op.R_op``: an op added
#: without an R_op must be named here, with the reason in a comment.
ROP_FALLBACK_OPS: frozenset[str] = frozenset()


def Rop(  # noqa: N802 - Theano's name
    f: TensorLike | Sequence[TensorLike],
    wrt: TensorLike | Sequence[TensorLike],
    eval_points: TensorLike | Sequence[TensorLike],
) -> Any:
    """Jacobian-vector product: df/dwrt times ``eval_points`` (forward mode)."""
    T = _tensor()  # noqa: N806 - Theano's name
    single = isinstance(f, Variable)
    fs, wrts, eps = _as_list(f), _as_list(wrt), _as_list(eval_points)
    if len(wrts) != len(eps):
        raise ValueError(f"Rop: {len(wrts)} wrt variables but {len(eps)} eval points")
    tangents: dict[TensorLike, TensorLike] = {}
    for w, e in zip(wrts, eps, strict=True):
        e = e if _other_type(e) else T.as_tensor_variable(e)  # sparse stays
        if e.type.ndim != w.type.ndim:
            raise ValueError(
                f"Rop: eval point for {w} has {e.type.ndim} dims, expected "
                f"{w.type.ndim}"
            )
        tangents[w] = e
    for node in io_toposort(wrts, fs):
        points = [tangents.get(i) for i in node.inputs]
        if all(p is None for p in points):
            continue
        outs = _node_rop(node, points)
        for o, t in zip(node.outputs, outs, strict=True):
            if t is not None and not _is_discrete(o):
                t = t if _other_type(t) else T.as_tensor_variable(t)
                tangents[o] = _fit(t, o)
    results = []
    for fi in fs:
        t = tangents.get(fi)
        if t is None:
            t = _zeros_like_float(fi)
        results.append(t)
    return results[0] if single else results


def _node_rop(node: Apply, points: list[TensorLike | None]) -> list[Any]:
    """The output tangents of one node: its R_op, or the double-Lop trick."""
    try:
        return list(node.op.R_op(list(node.inputs), points))
    except NotImplementedError:
        pass
    # J v = d/du <J^T u, v>: J^T u is linear in u, so its gradient wrt u does
    # not depend on u's value.  u is an identity of the output (not a fresh
    # input), so that shapes taken from u can still be computed.
    T = _tensor()  # noqa: N806 - Theano's name
    results: list[Any] = []
    for k, out in enumerate(node.outputs):
        if _is_discrete(out):
            results.append(None)
            continue
        u = disconnected_grad(out)
        filled = [u if j == k else _zeros_like_float(o)
                  for j, o in enumerate(node.outputs)]
        try:
            in_grads = node.op.L_op(list(node.inputs), list(node.outputs), filled)
        except NotImplementedError as exc:
            raise NotImplementedError(
                f"Rop: {node.op} has neither an R_op nor an L_op, so its "
                f"Jacobian-vector product cannot be formed ({exc})"
            ) from exc
        dot_terms = []
        for g, p in zip(in_grads, points, strict=True):
            if p is None or _is_disconnected(g):
                continue
            if _is_null(g):
                raise NullTypeGradError(
                    f"Rop: the tangent of {node.op} is undefined: {g.type.why}"
                )
            dot_terms.append(T.sum(g * p))
        if not dot_terms:
            results.append(None)
            continue
        total = dot_terms[0] if len(dot_terms) == 1 else T.add(*dot_terms)
        results.append(grad(total, u, disconnected_inputs="ignore"))
    return results


# -- Jacobians and Hessians ------------------------------------------------


# The rest of the public API lives in private modules that build on the above.
from symarray._grad_ops import (  # noqa: E402
    consider_constant,
    disconnected_grad,
    grad_clip,
    grad_scale,
    zero_grad,
)
from symarray._jacobian import hessian, jacobian  # noqa: E402
from symarray._verify_grad import verify_grad  # noqa: E402
