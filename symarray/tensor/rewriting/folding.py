"""Constant folding: a node whose inputs are all constants becomes a constant.

The node's ``perform`` computes the value once, at compile time; the
constant has the output's dtype and its full static shape (more specific
than, or equal to, the output's type).

A node is left alone when:

* its op says no (``op.do_constant_folding(fgraph, node)`` is False: random
  draws, ``empty``...), or it overwrites an input (``destroy_map``);
* it has no inputs (a nullary op may be a source of fresh values);
* its result would be large, more than ``max(FOLD_SIZE_LIMIT, elements of
  its inputs)`` elements: an ``alloc``/``broadcast_to``/``eye``... of
  constants stays an op, so the compiled program holds a few numbers, not
  megabytes.  The size is worked out from the output's static shape or the
  op's ``infer_shape`` before anything is computed;
* ``perform`` raises (the error then surfaces when the function runs, at
  the user's node) or returns a value of the wrong dtype or rank.

Shared variables are inputs, not constants: they are never folded.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from typing import Any, cast

import numpy as np

from symarray.graph.basic import Apply, Constant, Variable
from symarray.graph.rewriting import node_rewriter, register_rewrite
from symarray.graph.traversal import get_scalar_constant_value
from symarray.tensor.basic import constant
from symarray.tensor.type import TensorType

__all__ = ["local_constant_folding", "FOLD_SIZE_LIMIT"]

_log = logging.getLogger(__name__)

#: results up to this many elements may be folded even when bigger than the
#: inputs (beyond it, a result may not have more elements than its inputs)
FOLD_SIZE_LIMIT = 1 << 16


# position 0: first in its phase, whatever the import order, so a node of
# constants is folded before an algebraic rewrite (x * 1 -> alloc(x, ...))
# turns it into something that no longer folds
@register_rewrite("canonicalize", "fast_run", "fast_compile", "constant_folding",
                  position=0)
@node_rewriter(None)
def local_constant_folding(fgraph: Any, node: Apply) -> list[Constant] | None:
    """op(c1, c2, ...) -> the constant op's perform computes from them."""
    inputs = node.inputs
    if not inputs:
        return None
    for inp in inputs:
        if not isinstance(inp, Constant):
            return None
    op = node.op
    if op.destroy_map or not op.do_constant_folding(fgraph, node):
        return None
    data = [cast(Constant, i).data for i in inputs]
    limit = max(FOLD_SIZE_LIMIT, sum(_size(d) for d in data))
    estimate = _result_size(fgraph, node)
    if estimate is not None and estimate > limit:
        _log.debug("not folding %s: %d elements (limit %d)", node, estimate, limit)
        return None
    storage: list[list[Any]] = [[None] for _ in node.outputs]
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            op.perform(node, data, storage)
    except Exception as err:  # it fails again at run time, at the user's node
        _log.debug("not folding %s: perform raised %s: %s", node,
                   type(err).__name__, err)
        return None
    copy = bool(op.view_map)  # a view of a constant's data gets its own copy
    folded = []
    for var, (value,) in zip(node.outputs, storage, strict=True):
        const = _as_constant(var, value, copy)
        if const is None or _size(const.data) > limit:
            return None
        folded.append(const)
    return folded


def _size(data: Any) -> int:
    return int(getattr(data, "size", 1))


def _lengths_product(shape: Iterable[Any]) -> int | None:
    total = 1
    for s in shape:
        if not isinstance(s, (int, np.integer)):
            try:
                s = int(get_scalar_constant_value(s))
            except Exception:
                return None
        total *= int(s)
    return total


def _result_size(fgraph: Any, node: Apply) -> int | None:
    """Elements of all outputs, known before computing them (None: unknown)."""
    total = 0
    static = True
    for out in node.outputs:
        shape = getattr(out.type, "shape", None)
        if shape is None or any(s is None for s in shape):
            static = False
            break
        total += _lengths_product(shape) or 0
    if static:
        return total
    if not all(isinstance(i.type, TensorType) for i in node.inputs):
        return None
    in_shapes = [tuple(np.shape(cast(Constant, i).data)) for i in node.inputs]
    try:
        shapes = node.op.infer_shape(fgraph, node, in_shapes)
    except Exception:
        return None
    total = 0
    for shape in shapes:
        n = _lengths_product(shape)
        if n is None:
            return None
        total += n
    return total


def _as_constant(var: Variable, value: Any, copy: bool) -> Constant | None:
    """``value`` as a constant that may replace ``var`` (None: it cannot)."""
    vtype = var.type
    if isinstance(vtype, TensorType):
        arr = np.array(value, copy=True) if copy else np.asarray(value)
        if arr.dtype.name != vtype.dtype or arr.ndim != vtype.ndim:
            _log.debug(
                "not folding %s: perform gave a %d-d %s array for %s", var.owner,
                arr.ndim, arr.dtype, vtype,
            )
            return None
        const: Constant = constant(arr, dtype=vtype.dtype)
    else:
        try:
            const = vtype.make_constant(vtype.filter(value, strict=True))
        except Exception as err:
            _log.debug("not folding %s: %s", var.owner, err)
            return None
    if not (vtype == const.type or vtype.is_super(const.type)):
        _log.debug("not folding %s: %s does not fit %s", var.owner, const.type, vtype)
        return None
    return const
