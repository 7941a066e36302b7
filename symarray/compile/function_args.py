"""What ``function()`` makes of its arguments: the outputs (with their
``Out`` options), the update pairs (checked: shared targets, each once,
matching types), ``In`` inputs' own updates, ``givens`` pairs and the
shared variables' default updates; and the check that refuses in-place
rewrites a graph must not have.  :mod:`symarray.compile.function` builds
the FunctionGraph from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from symarray.compile.io import In, Out
from symarray.compile.sharedvalue import SharedVariable
from symarray.graph.basic import Variable
from symarray.graph.fg import FunctionGraph
from symarray.graph.traversal import ancestors
from symarray.updates import OrderedUpdates, UpdateError


def _normalise_outputs(outputs: Any) -> tuple[Any, list[Out]]:
    """``("single" | "list" | list of dict keys, [Out, ...])``."""
    from symarray.tensor.basic import as_tensor_variable

    def one(o: Any) -> Out:
        if isinstance(o, Out):
            return o
        if not isinstance(o, Variable):
            o = as_tensor_variable(o)
        return Out(o)

    if outputs is None:
        return "list", []
    if isinstance(outputs, (Variable, Out)):
        return "single", [one(outputs)]
    if isinstance(outputs, (list, tuple)):
        return "list", [one(o) for o in outputs]
    if isinstance(outputs, Mapping):
        keys = list(outputs)
        return keys, [one(outputs[k]) for k in keys]
    return "single", [one(outputs)]


def _update_pairs(updates: Any) -> list[tuple[Any, Any]]:
    if updates is None:
        return []
    if isinstance(updates, Mapping):
        return list(updates.items())
    if isinstance(updates, (set, frozenset)):
        raise TypeError(
            "function: updates given as a set have no order; use a list of "
            "(shared, new_value) pairs or a dict"
        )
    pairs = list(updates)
    for p in pairs:
        if not (isinstance(p, (tuple, list)) and len(p) == 2):
            raise TypeError(
                "function: updates must be a dict or a list of (shared, new_value) "
                f"pairs, got an element {p!r}"
            )
    return [(p[0], p[1]) for p in pairs]


def _check_update_targets(ups: OrderedUpdates) -> None:
    """Two updates of one value (through clones sharing a container) clash."""
    seen: dict[Any, SharedVariable] = {}
    for var in ups:
        other = seen.setdefault(var.container, var)
        if other is not var:
            raise UpdateError(
                f"two updates of the same shared value: {other} and {var} share a "
                "container (one is a clone of the other); keep one update"
            )


def _input_update(inp: In) -> Variable:
    """``inp.update`` as a variable of the input's type."""
    from symarray.tensor.basic import as_tensor_variable

    var = inp.variable
    up = inp.update
    if not isinstance(up, Variable):
        up = as_tensor_variable(up, dtype=getattr(var.type, "dtype", None))
    if up.type != var.type and not var.type.is_super(up.type):
        raise TypeError(
            f"In({var}, update=...): the update has type {up.type}, expected "
            f"{var.type}; cast or reshape it"
        )
    if not inp.has_default:
        raise TypeError(f"In({var}, update=...) needs a starting value (value=...)")
    return up


def _givens_pairs(givens: Any) -> list[tuple[Variable, Variable]]:
    from symarray.tensor.basic import as_tensor_variable
    from symarray.tensor.elemwise import cast

    if not givens:
        return []
    items = givens.items() if isinstance(givens, Mapping) else givens
    pairs = []
    for old, new in items:
        if not isinstance(old, Variable):
            raise TypeError(f"givens: keys must be symbolic variables, got {old!r}")
        if not isinstance(new, Variable):
            new = as_tensor_variable(new)
            if getattr(new, "dtype", None) != getattr(old.type, "dtype", None):
                new = cast(new, old.type.dtype)  # type: ignore
        if new.type != old.type and not old.type.is_super(new.type):
            raise TypeError(
                f"givens: {old} has type {old.type} but its replacement {new} has type "
                f"{new.type}; cast or reshape the replacement"
            )
        pairs.append((old, new))
    return pairs


def _add_default_updates(ups: OrderedUpdates, outputs: list[Variable],
                         no_default_updates: Any) -> None:
    """Add ``shared.default_update`` of every shared variable the graph reads."""
    if no_default_updates is True:
        return
    skip = set(no_default_updates or ())
    while True:
        added = False
        for var in ancestors(outputs + list(ups.values())):
            if (isinstance(var, SharedVariable) and var.default_update is not None
                    and var not in ups and var not in skip):
                ups[var] = var.default_update
                added = True
        if not added:
            return


def _refuse_inplace(fgraph: FunctionGraph) -> None:
    for node in fgraph.apply_nodes:
        if node.op.destroy_map:
            raise TypeError(
                f"function: the graph contains {node}, which overwrites its input; "
                "pass accept_inplace=True if that is intended (in-place rewrites "
                "are added by the optimizer otherwise)"
            )
