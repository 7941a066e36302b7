"""``function()``: compile symbolic inputs/outputs/updates into a callable.

Steps (DESIGN.md, "Data flow"): normalise inputs and outputs, apply
``givens``, collect shared variables as implicit inputs and updates (plus
their default updates) as extra outputs, build a FunctionGraph, rewrite it
with the mode's rewrites, schedule it and let the mode's linker make a VM.
A :class:`Function` then checks each call's arguments against the input
types, runs the VM, protects returned arrays from aliasing, and writes the
updates to the shared variables after all outputs are computed.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from symarray import config
from symarray.compile.io import In, Out
from symarray.compile.mode import Mode, get_mode
from symarray.compile.sharedvalue import SharedVariable
from symarray.errors import UnusedInputError
from symarray.graph.basic import Constant, Variable
from symarray.graph.fg import FunctionGraph
from symarray.graph.traversal import ancestors, clone_replace
from symarray.updates import OrderedUpdates

__all__ = ["function", "Function", "FunctionMaker", "REWRITE_PIPELINES"]

_log = logging.getLogger(__name__)

#: optimizer name -> callable(fgraph, mode) that rewrites in place; filled by
#: the rewrite stage (an absent name rewrites nothing)
REWRITE_PIPELINES: dict[str, Any] = {}


def function(
    inputs: Sequence[Variable | In] = (),
    outputs: Any = None,
    mode: Any = None,
    updates: Any = None,
    givens: Any = None,
    no_default_updates: bool | Sequence[Variable] = False,
    accept_inplace: bool = False,
    name: str | None = None,
    rebuild_strict: bool = True,
    allow_input_downcast: bool | None = None,
    profile: Any = None,
    on_unused_input: str | None = None,
    trust_input: bool = False,
) -> Function:
    """Compile a callable computing ``outputs`` from ``inputs``.

    Parameters
    ----------
    inputs
        Symbolic variables (or :class:`In`) given positionally or by name.
    outputs
        A variable (the call returns one value), a list (it returns a
        list), or None.  :class:`Out` marks per-output options.
    mode
        A :class:`Mode` or its name (``"FAST_RUN"``, ``"FAST_COMPILE"``).
    updates
        ``{shared_var: new_value_expr}`` (dict, OrderedUpdates or list of
        pairs), applied after the outputs are computed.
    givens
        ``{var: replacement}`` substituted at compile time.
    allow_input_downcast
        Accept arguments that lose precision when converted to the input
        type (e.g. float64 data for a float32 input).
    on_unused_input
        ``"raise"`` (default from config), ``"warn"`` or ``"ignore"`` for an
        input no output depends on.

    Examples
    --------
    >>> import numpy as np, symarray as theano, symarray.tensor as T
    >>> x = T.dvector("x")
    >>> f = theano.function([x], (x ** 2).sum())
    >>> float(f(np.array([1.0, 2.0])))
    5.0
    """
    maker = FunctionMaker(inputs, outputs, mode, updates, givens, no_default_updates,
                          name, rebuild_strict, allow_input_downcast, profile,
                          on_unused_input)
    return Function(maker, trust_input=trust_input)


class FunctionMaker:
    """Builds and rewrites the FunctionGraph of one ``function`` call."""

    def __init__(self, inputs: Sequence[Variable | In], outputs: Any, mode: Any,
                 updates: Any, givens: Any, no_default_updates: Any, name: str | None,
                 rebuild_strict: bool, allow_input_downcast: bool | None,
                 profile: Any, on_unused_input: str | None) -> None:
        if profile or (profile is None and config.profile):
            raise NotImplementedError(
                "function(profile=...): the profiler is not built yet; call "
                "without profile (or set SYMARRAY_FLAGS=profile=False)"
            )
        self.name = name
        self.mode: Mode = get_mode(mode)
        self.allow_input_downcast = allow_input_downcast
        if isinstance(inputs, (Variable, In)):
            raise TypeError(
                "function: inputs must be a list of variables, got a single "
                f"{type(inputs).__name__}; write function([x], ...)"
            )
        self.inputs = [i if isinstance(i, In) else In(i) for i in inputs]
        self._check_inputs()
        self.single_output, outs = _normalise_outputs(outputs)
        self.out_borrow = [o.borrow for o in outs]
        out_vars = [o.variable for o in outs]
        ups = OrderedUpdates(_update_pairs(updates))
        # givens are substituted everywhere the graph reads them
        pairs = _givens_pairs(givens)
        if pairs:
            replaced = clone_replace(out_vars + list(ups.values()), pairs,
                                     rebuild_strict=rebuild_strict)
            out_vars = replaced[: len(out_vars)]
            ups = OrderedUpdates(zip(ups.keys(), replaced[len(out_vars):]))
        _add_default_updates(ups, out_vars, no_default_updates)
        explicit = [i.variable for i in self.inputs]
        needed = ancestors(out_vars + list(ups.values()), blockers=explicit)
        self._check_unused(needed, on_unused_input or config.on_unused_input)
        explicit_set = set(explicit)
        self.shared: list[SharedVariable] = []
        seen: set[Any] = set()
        for var in needed:
            if isinstance(var, SharedVariable) and var not in explicit_set:
                if var.container not in seen:
                    seen.add(var.container)
                    self.shared.append(var)
        self.updates = ups
        # shared variables updated but not read still need a graph input
        graph_inputs = explicit + self.shared
        self.fgraph = FunctionGraph(graph_inputs, out_vars + list(ups.values()))
        self.n_outputs = len(out_vars)
        self.update_containers = [key.container for key in ups]
        self._rewrite()
        self.schedule = self.fgraph.toposort()

    def _check_inputs(self) -> None:
        seen: set[Variable] = set()
        for k, inp in enumerate(self.inputs):
            var = inp.variable
            if isinstance(var, Constant):
                raise TypeError(
                    f"function: input {k} ({var}) is a constant; constants cannot be "
                    "inputs, use a symbolic variable"
                )
            if isinstance(var, SharedVariable):
                raise TypeError(
                    f"function: input {k} ({var}) is a shared variable; shared "
                    "variables are implicit inputs, leave it out (or use givens to "
                    "replace it)"
                )
            if var.owner is not None:
                raise TypeError(
                    f"function: input {k} ({var}) is computed by {var.owner.op}; "
                    "inputs must be variables without an owner, use givens to "
                    "substitute an intermediate"
                )
            if var in seen:
                raise ValueError(f"function: input {var} is listed twice")
            seen.add(var)

    def _check_unused(self, needed: list[Variable], policy: str) -> None:
        needed_set = set(needed)
        for k, inp in enumerate(self.inputs):
            if inp.variable in needed_set or policy == "ignore":
                continue
            msg = (
                f"function: input {k} ({inp.variable}) is not used to compute any "
                "output or update; remove it, or pass on_unused_input='warn' or "
                "'ignore'"
            )
            if policy == "warn":
                warnings.warn(msg, stacklevel=4)
            else:
                raise UnusedInputError(msg)

    def _rewrite(self) -> None:
        pipeline = REWRITE_PIPELINES.get(str(self.mode.optimizer))
        if pipeline is not None:
            pipeline(self.fgraph, self.mode)

    def make_vm(self) -> Any:
        from symarray.compile.linkers import make_vm

        return make_vm(self.mode.linker, self.fgraph, self.schedule, config.allow_gc)


def _normalise_outputs(outputs: Any) -> tuple[bool, list[Out]]:
    from symarray.tensor.basic import as_tensor_variable

    def one(o: Any) -> Out:
        if isinstance(o, Out):
            return o
        if not isinstance(o, Variable):
            o = as_tensor_variable(o)
        return Out(o)

    if outputs is None:
        return False, []
    if isinstance(outputs, (Variable, Out)):
        return True, [one(outputs)]
    if isinstance(outputs, (list, tuple)):
        return False, [one(o) for o in outputs]
    if isinstance(outputs, dict):
        raise TypeError("function: outputs as a dict are not supported; use a list")
    return True, [one(outputs)]


def _update_pairs(updates: Any) -> list[tuple[Any, Any]]:
    if updates is None:
        return []
    if isinstance(updates, Mapping):
        return list(updates.items())
    pairs = list(updates)
    for p in pairs:
        if not (isinstance(p, (tuple, list)) and len(p) == 2):
            raise TypeError(
                "function: updates must be a dict or a list of (shared, new_value) "
                f"pairs, got an element {p!r}"
            )
    return [tuple(p) for p in pairs]  # type: ignore[misc]


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
                new = cast(new, old.type.dtype)
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


class Function:
    """A compiled function; call it with values for its inputs.

    Attributes: ``maker`` (with ``fgraph``, ``mode``, ``inputs``), ``name``.
    """

    def __init__(self, maker: FunctionMaker, trust_input: bool = False) -> None:
        self.maker = maker
        self.name = maker.name
        self.trust_input = trust_input
        self.vm = maker.make_vm()
        self._input_names = {
            i.name: k for k, i in enumerate(maker.inputs) if i.name is not None
        }
        self._n_in = len(maker.inputs)

    @property
    def fgraph(self) -> FunctionGraph:
        return self.maker.fgraph

    def __repr__(self) -> str:
        ins = ", ".join(str(i.variable) for i in self.maker.inputs)
        return f"<symarray.Function {self.name or ''}({ins})>"

    # -- calling ---------------------------------------------------------
    def _bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
        maker = self.maker
        n = self._n_in
        if len(args) > n:
            raise TypeError(
                f"{self._label()} takes {n} argument{'s' if n != 1 else ''}, "
                f"got {len(args)}"
            )
        values: list[Any] = list(args) + [_MISSING] * (n - len(args))
        for key, val in kwargs.items():
            k = self._input_names.get(key)
            if k is None:
                raise TypeError(
                    f"{self._label()} got an unknown keyword argument {key!r}; "
                    f"input names: {sorted(self._input_names)}"
                )
            if values[k] is not _MISSING:
                raise TypeError(f"{self._label()} got input {key!r} twice")
            values[k] = val
        for k, inp in enumerate(maker.inputs):
            if values[k] is _MISSING:
                if not inp.has_default:
                    raise TypeError(
                        f"{self._label()}: missing input {k} ({inp.variable}); it has "
                        "no default value"
                    )
                values[k] = inp.value
            if not self.trust_input:
                values[k] = self._filter(k, inp, values[k])
        return values

    def _filter(self, k: int, inp: In, value: Any) -> Any:
        allow = inp.allow_downcast
        if allow is None:
            allow = self.maker.allow_input_downcast
        try:
            return inp.variable.type.filter(value, strict=inp.strict, allow_downcast=allow)
        except (TypeError, ValueError) as err:
            named = f", named {inp.name!r}" if inp.name else ""
            raise type(err)(
                f"bad input to {self._label()} at index {k} (0-based){named}: {err}"
            ) from None

    def _label(self) -> str:
        return f"function {self.name!r}" if self.name else "the compiled function"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        maker = self.maker
        if self.trust_input and not kwargs and len(args) == self._n_in:
            values = list(args)
        else:
            values = self._bind(args, kwargs)
        input_values = values + [s.container.value for s in maker.shared]
        results = self.vm(input_values)
        outputs = results[: maker.n_outputs]
        self._protect(outputs, input_values, results[maker.n_outputs:])
        for container, value in zip(maker.update_containers, results[maker.n_outputs:]):
            container.value = value
        if maker.single_output:
            return outputs[0]
        return outputs

    def _protect(self, outputs: list[Any], inputs: list[Any], updates: list[Any]) -> None:
        """Copy returned arrays that alias inputs, shared values or each other."""
        import numpy as np

        guard = [v for v in inputs if isinstance(v, np.ndarray)]
        guard += [v for v in updates if isinstance(v, np.ndarray)]
        for k, out in enumerate(outputs):
            if self.maker.out_borrow[k] or not isinstance(out, np.ndarray):
                continue
            if any(np.may_share_memory(out, g) for g in guard) or any(
                out is o for o in outputs[:k]
            ):
                outputs[k] = out.copy()

    def copy(self, share_memory: bool = False,
             swap: Mapping[SharedVariable, SharedVariable] | None = None) -> Function:
        """An independent Function over the same graph (own storage).

        ``swap`` maps shared variables of this function to others of the same
        type that the copy uses instead.
        """
        import copy as _copy

        maker = _copy.copy(self.maker)
        if swap:
            for old, new in swap.items():
                if old.type != new.type:
                    raise TypeError(
                        f"copy(swap=...): {new} has type {new.type}, expected {old.type}"
                    )
            by_container = {old.container: new for old, new in swap.items()}
            maker.shared = [by_container.get(s.container, s) for s in maker.shared]
            maker.update_containers = [
                by_container[c].container if c in by_container else c
                for c in maker.update_containers
            ]
        return Function(maker, trust_input=self.trust_input)


_MISSING = object()


def _eval(var: Variable, inputs_to_values: dict[Variable, Any]) -> Any:
    """Compile (once per input set) and evaluate ``var`` (Variable.eval)."""
    key = tuple(inputs_to_values)
    cache = getattr(var.tag, "eval_cache", None)
    if cache is None:
        cache = var.tag.eval_cache = {}
    fn = cache.get(key)
    if fn is None:
        fn = cache[key] = function(list(key), var, on_unused_input="ignore")
    return fn(*[inputs_to_values[k] for k in key])
