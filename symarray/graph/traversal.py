"""Walking, ordering, cloning and replacing in graphs.

Every walk here is iterative (explicit stacks), so graphs of hundreds of
thousands of nodes need no recursion limit.  ``io_toposort`` is the one
ordering used by FunctionGraph and the schedulers.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from symarray.errors import SymarrayError
from symarray.graph.basic import Apply, Constant, Variable

__all__ = [
    "ancestors",
    "graph_inputs",
    "applys_between",
    "vars_between",
    "io_toposort",
    "clone_get_equiv",
    "clone",
    "clone_replace",
    "graph_replace",
    "get_scalar_constant_value",
    "NotScalarConstantError",
    "gc_paused",
]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a block.

    Building or copying a big graph allocates many long-lived objects; the
    collections they trigger would scan the whole graph again and again
    (3x the work on a 100k-node graph).  Graph code makes no garbage cycles
    worth collecting meanwhile.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class NotScalarConstantError(SymarrayError, ValueError):
    """The variable is not provably a scalar constant."""


def ancestors(
    variables: Iterable[Variable], blockers: Iterable[Variable] | None = None
) -> list[Variable]:
    """Every variable the given ones depend on (including themselves).

    The walk stops at ``blockers``.  Order: depth-first, outputs before inputs.
    """
    blocked = set(blockers or ())
    seen: set[Variable] = set()
    result: list[Variable] = []
    stack = list(reversed(list(variables)))
    while stack:
        var = stack.pop()
        if var in seen:
            continue
        seen.add(var)
        result.append(var)
        if var.owner is not None and var not in blocked:
            stack.extend(reversed(var.owner.inputs))
    return result


def graph_inputs(
    variables: Iterable[Variable], blockers: Iterable[Variable] | None = None
) -> list[Variable]:
    """The inputs (ownerless variables, or blockers) the given ones depend on."""
    blocked = set(blockers or ())
    return [v for v in ancestors(variables, blocked) if v.owner is None or v in blocked]


def applys_between(
    inputs: Iterable[Variable], outputs: Iterable[Variable]
) -> list[Apply]:
    """Apply nodes on some path from ``inputs`` to ``outputs`` (unordered)."""
    return io_toposort(inputs, outputs)


def vars_between(
    inputs: Iterable[Variable], outputs: Iterable[Variable]
) -> list[Variable]:
    """Variables reachable from ``outputs`` without going past ``inputs``."""
    return ancestors(outputs, inputs)


def io_toposort(
    inputs: Iterable[Variable],
    outputs: Iterable[Variable],
    orderings: Mapping[Apply, Iterable[Apply]] | None = None,
) -> list[Apply]:
    """Apply nodes between inputs and outputs, each after its dependencies.

    ``orderings[node]`` lists extra nodes that must run before ``node`` (the
    destroy handler's constraints).  Iterative post-order DFS: O(V + E).
    """
    stop = set(inputs)
    extra = orderings or {}
    order: list[Apply] = []
    done: set[Apply] = set()
    visiting: set[Apply] = set()
    # stack items: (node, expanded?)
    stack: list[tuple[Apply, bool]] = []
    for out in reversed(list(outputs)):
        if out.owner is not None and out not in stop:
            stack.append((out.owner, False))
    while stack:
        node, expanded = stack.pop()
        if expanded:
            visiting.discard(node)
            if node not in done:
                done.add(node)
                order.append(node)
            continue
        if node in done:
            continue
        if node in visiting:
            raise SymarrayError(f"the graph has a cycle through {node}")
        visiting.add(node)
        stack.append((node, True))
        deps: list[Apply] = [
            i.owner for i in node.inputs if i.owner is not None and i not in stop
        ]
        deps.extend(extra.get(node, ()))
        for dep in reversed(deps):
            if dep not in done:
                if dep in visiting:
                    raise SymarrayError(f"the graph has a cycle through {dep}")
                stack.append((dep, False))
    return order


def clone_get_equiv(
    inputs: Sequence[Variable],
    outputs: Sequence[Variable],
    copy_inputs: bool = True,
    copy_orphans: bool = True,
    memo: dict[Variable | Apply, Any] | None = None,
) -> dict[Any, Any]:
    """Clone the graph between inputs and outputs; return old -> new map.

    Inputs are cloned when ``copy_inputs``; constants and other orphans when
    ``copy_orphans`` (otherwise they are shared).  Entries already in
    ``memo`` are reused, which is how replacements are injected.
    """
    with gc_paused():
        return _clone_get_equiv(inputs, outputs, copy_inputs, copy_orphans, memo)


def _clone_get_equiv(
    inputs: Sequence[Variable],
    outputs: Sequence[Variable],
    copy_inputs: bool,
    copy_orphans: bool,
    memo: dict[Variable | Apply, Any] | None,
) -> dict[Any, Any]:
    equiv: dict[Any, Any] = {} if memo is None else memo
    for inp in inputs:
        if inp not in equiv:
            equiv[inp] = inp.clone() if copy_inputs else inp
    for node in io_toposort(inputs, outputs):
        if node in equiv:
            continue
        new_inputs = []
        for i in node.inputs:
            if i not in equiv:
                # an orphan: a constant or an input not listed
                copy = copy_orphans and isinstance(i, Constant)
                equiv[i] = i.clone() if copy else i
            new_inputs.append(equiv[i])
        new_node = node.clone_with_new_inputs(new_inputs, strict=False)
        equiv[node] = new_node
        for old, new in zip(node.outputs, new_node.outputs, strict=False):
            equiv.setdefault(old, new)
    for out in outputs:
        if out not in equiv:
            copy = copy_orphans and isinstance(out, Constant)
            equiv[out] = out.clone() if copy else out
    return equiv


def clone(
    inputs: Sequence[Variable],
    outputs: Sequence[Variable],
    copy_inputs: bool = True,
    copy_orphans: bool = True,
) -> tuple[list[Variable], list[Variable]]:
    """Copies of ``inputs`` and ``outputs`` with all nodes between them cloned."""
    equiv = clone_get_equiv(inputs, outputs, copy_inputs, copy_orphans)
    return [equiv[i] for i in inputs], [equiv[o] for o in outputs]


def clone_replace(
    output: Any,
    replace: Mapping[Variable, Variable]
    | Iterable[tuple[Variable, Variable]]
    | None = None,
    rebuild_strict: bool = True,
) -> Any:
    """Clone ``output`` (a variable or a list) with some variables replaced.

    Nodes that do not depend on a replaced variable are copied too, so the
    result shares nothing mutable with the original graph.
    """
    pairs = list(replace.items() if isinstance(replace, Mapping) else replace or [])
    outputs = [output] if isinstance(output, Variable) else list(output)
    memo: dict[Any, Any] = {}
    for old, new in pairs:
        if not isinstance(old, Variable) or not isinstance(new, Variable):
            raise TypeError(
                f"clone_replace: replacements must map Variables to Variables, got "
                f"{type(old).__name__} -> {type(new).__name__}"
            )
        if rebuild_strict and old.type != new.type:
            new = _convert(old, new)
        memo[old] = new
    inputs = graph_inputs(outputs, blockers=[o for o, _ in pairs])
    for node in io_toposort(inputs, outputs):
        if node in memo:
            continue
        new_inputs = [memo.get(i, i) for i in node.inputs]
        new_node = node.clone_with_new_inputs(new_inputs, strict=rebuild_strict)
        memo[node] = new_node
        for old_out, new_out in zip(node.outputs, new_node.outputs, strict=False):
            memo.setdefault(old_out, new_out)
    result = [memo.get(o, o) for o in outputs]
    return result[0] if isinstance(output, Variable) else result


def _convert(old: Variable, new: Variable) -> Variable:
    converted = old.type.convert_variable(new)
    if converted is None:
        raise TypeError(
            f"cannot replace {old} of type {old.type} by {new} of type {new.type}; "
            "cast or reshape the replacement first"
        )
    return converted


def graph_replace(
    outputs: Any,
    replace: Mapping[Variable, Variable] | Iterable[tuple[Variable, Variable]],
    strict: bool = True,
) -> Any:
    """Replace variables inside a graph; every replaced variable must be used.

    Unlike :func:`clone_replace`, a replacement of a variable the outputs do
    not depend on is an error (usually a mistake in the caller).
    """
    pairs = list(replace.items() if isinstance(replace, Mapping) else replace)
    outs = [outputs] if isinstance(outputs, Variable) else list(outputs)
    reachable = set(ancestors(outs))
    for old, _ in pairs:
        if old not in reachable:
            raise ValueError(f"graph_replace: {old} is not part of the graph")
    return clone_replace(outputs, pairs, rebuild_strict=strict)


def get_scalar_constant_value(v: Any, max_recur: int = 10) -> Any:
    """The constant value of a 0-d (or all-equal broadcastable) variable.

    Looks through constants and through ops that implement
    ``scalar_constant_value(node, recur)`` (casts, dimshuffles, shape
    lookups, elementwise ops of constants...).  Raises
    :class:`NotScalarConstantError` when the value is not known at compile
    time.
    """
    import numpy as np

    if not isinstance(v, Variable):
        arr = np.asarray(v)
        if arr.size == 1:
            return arr.reshape(())
        raise NotScalarConstantError(f"{v!r} is not a scalar")
    if isinstance(v, Constant):
        data = np.asarray(v.data)
        if data.size == 1:
            return data.reshape(())
        if data.size > 1 and (data == data.flat[0]).all():
            return np.asarray(data.flat[0])
        raise NotScalarConstantError(f"{v} holds {data.size} values, not one")
    if v.owner is not None and max_recur > 0:
        hook = getattr(v.owner.op, "scalar_constant_value", None)
        if hook is not None:
            return hook(v, lambda x: get_scalar_constant_value(x, max_recur - 1))
    raise NotScalarConstantError(f"{v} is not a constant")
