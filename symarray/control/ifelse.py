"""Lazy ``ifelse``: run only the branch that the condition picks.

:class:`IfElse` takes a scalar condition, ``n_outs`` then-values and
``n_outs`` else-values and returns the taken group.  Its ``perform`` is
eager (it selects among values already computed: the ``py`` linker and
constant folding use it).  Laziness comes from the assembler: through
``lazy_branches``/``lazy_condition`` it lays out the nodes needed only by
one branch inside that branch's block, behind ``JUMP_IF_FALSE``/``JUMP``
(:mod:`symarray.control.branches`).  The node itself then only selects:
its outputs are the taken branch's values (declared in ``view_map``), and
the untaken inputs' cells may be empty.

Unlike ``T.switch``, which is elementwise and computes both sides,
``ifelse`` decides once for whole values and skips the other side.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.graph.basic import Apply, Op, Variable

__all__ = ["IfElse", "ifelse"]


def _tensor() -> Any:
    import symarray.tensor as T  # noqa: N812 - Theano's name

    return T


class IfElse(Op):
    """Select ``n_outs`` values: ``inputs[1:1+n]`` if ``inputs[0]`` else the rest.

    Parameters
    ----------
    n_outs
        Number of outputs (and of values per branch).
    name
        A label shown when the op is printed.
    """

    __props__ = ("n_outs",)

    def __init__(self, n_outs: int, name: str | None = None) -> None:
        if n_outs < 1:
            raise ValueError(f"IfElse: n_outs must be >= 1, got {n_outs}")
        self.n_outs = n_outs
        self.name = name
        self.view_map = {i: [1 + i, 1 + n_outs + i] for i in range(n_outs)}

    def __str__(self) -> str:
        return f"if{{{self.name}}}" if self.name else "if"

    # -- laziness hooks (read by symarray.control.branches) -------------
    def lazy_branches(self, node: Apply) -> list[str | None]:
        """Per input: ``"then"``, ``"else"`` or None (the condition)."""
        n = self.n_outs
        return [None] + ["then"] * n + ["else"] * n

    def lazy_condition(self, node: Apply) -> Variable:
        return node.inputs[0]

    # -- the op ----------------------------------------------------------
    def make_node(self, cond: Any, *values: Any) -> Apply:
        T = _tensor()  # noqa: N806
        n = self.n_outs
        if len(values) != 2 * n:
            raise TypeError(f"{self}: expected {n} then-values and {n} else-values "
                            f"({2 * n} after the condition), got {len(values)}")
        cond = T.as_tensor_variable(cond)
        if cond.ndim != 0:
            raise TypeError(f"ifelse: the condition must be a scalar (0-d), got "
                            f"{cond.type}; reduce it first, e.g. T.any(c) or c[0]")
        thens = [T.as_tensor_variable(v) for v in values[:n]]
        elses = [T.as_tensor_variable(v) for v in values[n:]]
        out_types = []
        for i, (t, e) in enumerate(zip(thens, elses, strict=True)):
            if t.dtype != e.dtype or t.ndim != e.ndim:
                raise TypeError(
                    f"ifelse: output {i}: the then-branch gives {t.type} but the "
                    f"else-branch gives {e.type}; both must have the same dtype and "
                    "number of dimensions (cast one, e.g. T.cast(e, t.dtype))")
            shape = tuple(a if a == b else None
                          for a, b in zip(t.type.shape, e.type.shape, strict=True))
            out_types.append(T.TensorType(t.dtype, shape=shape))
        return Apply(self, [cond, *thens, *elses], [ty() for ty in out_types])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        n = self.n_outs
        taken = inputs[1:1 + n] if inputs[0] else inputs[1 + n:]
        for i, value in enumerate(taken):
            if value is None:
                raise RuntimeError(f"{self}: the taken branch's value {i} was not "
                                   "computed (a scheduling bug)")
            output_storage[i][0] = value

    def do_constant_folding(self, fgraph: Any, node: Apply) -> bool:
        return False  # folding would alias a constant's buffer

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        T = _tensor()  # noqa: N806
        n = self.n_outs
        cond = node.inputs[0]
        shapes = []
        for ts, es in zip(input_shapes[1:1 + n], input_shapes[1 + n:], strict=True):
            dims: list[Any] = []
            for a, b in zip(ts, es, strict=True):
                if a is b or (isinstance(a, (int, np.integer))
                              and isinstance(b, (int, np.integer)) and a == b):
                    dims.append(a)
                else:
                    a_ = T.cast(T.as_tensor_variable(a), "int64")
                    b_ = T.cast(T.as_tensor_variable(b), "int64")
                    dims.append(IfElse(1)(cond, a_, b_))
            shapes.append(tuple(dims))
        return shapes

    def L_op(self, inputs: list[Variable], outputs: list[Variable],  # noqa: N802
             output_grads: list[Variable]) -> list[Any]:
        T = _tensor()  # noqa: N806
        n = self.n_outs
        cond = inputs[0]
        grads = [g if g is not None else T.zeros_like(o)
                 for g, o in zip(output_grads, outputs, strict=True)]
        zeros = [T.zeros_like(g) for g in grads]
        then_g = IfElse(n)(cond, *grads, *zeros)
        else_g = IfElse(n)(cond, *zeros, *grads)
        then_g = then_g if isinstance(then_g, list) else [then_g]
        else_g = else_g if isinstance(else_g, list) else [else_g]
        fixed = []
        values: list[Any] = inputs[1:]
        for g, x in zip([*then_g, *else_g], values, strict=True):
            fixed.append(g if g.dtype == x.dtype else T.cast(g, x.dtype))
        return [None, *fixed]

    def R_op(self, inputs: list[Variable],  # noqa: N802
             eval_points: list[Any]) -> list[Any]:
        T = _tensor()  # noqa: N806
        n = self.n_outs
        points = [p if p is not None else T.zeros_like(x)
                  for p, x in zip(eval_points[1:], inputs[1:], strict=True)]
        if all(p is None for p in eval_points[1:]):
            return [None] * n
        out = IfElse(n)(inputs[0], *points)
        return out if isinstance(out, list) else [out]


def ifelse(cond: Any, then_branch: Any, else_branch: Any,
           name: str | None = None) -> Any:
    """``then_branch`` if the scalar ``cond`` is true, else ``else_branch``,
    computing only the branch taken (with the ``vm`` and ``cvm`` linkers).

    Parameters
    ----------
    cond
        A scalar (0-d) condition.
    then_branch, else_branch
        A variable each, or equal-length lists of variables of matching
        dtype and rank.
    name
        A label for the op.

    Returns
    -------
    A variable, or a list of variables when the branches are lists.

    Examples
    --------
    >>> import symarray as theano, symarray.tensor as T
    >>> from symarray.ifelse import ifelse
    >>> a, b = T.dscalars("a", "b")
    >>> f = theano.function([a, b], ifelse(T.lt(a, b), a * 2, b * 3))
    >>> float(f(1.0, 2.0)), float(f(3.0, 2.0))
    (2.0, 6.0)
    """
    as_list = isinstance(then_branch, (list, tuple))
    if as_list != isinstance(else_branch, (list, tuple)):
        raise TypeError("ifelse: then_branch and else_branch must both be lists "
                        "or both be single variables, got "
                        f"{type(then_branch).__name__} and "
                        f"{type(else_branch).__name__}")
    thens = list(then_branch) if as_list else [then_branch]
    elses = list(else_branch) if as_list else [else_branch]
    if len(thens) != len(elses):
        raise ValueError(f"ifelse: then_branch has {len(thens)} values but "
                         f"else_branch has {len(elses)}; give both the same number")
    if not thens:
        raise ValueError("ifelse: the branches are empty lists")
    out = IfElse(len(thens), name=name)(cond, *thens, *elses)
    if as_list:
        return out if isinstance(out, list) else [out]
    return out
