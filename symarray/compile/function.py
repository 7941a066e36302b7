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

import copy as _copy
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from symarray import config
from symarray.compile.function_args import (
    _add_default_updates,
    _check_update_targets,
    _givens_pairs,
    _input_update,
    _normalise_outputs,
    _refuse_inplace,
    _update_pairs,
)
from symarray.compile.inplace_updates import (
    alias_copies,
    destroyed_inputs,
    mutable_shared,
    separate_destroyed,
)
from symarray.compile.io import In
from symarray.compile.mode import REWRITE_PIPELINES, Mode, get_mode
from symarray.compile.sharedvalue import SharedVariable
from symarray.control.branches import is_lazy, track_branches
from symarray.errors import UnusedInputError
from symarray.graph.basic import Constant, Variable
from symarray.graph.destroyhandler import DestroyHandler
from symarray.graph.fg import FunctionGraph, Supervisor
from symarray.graph.traversal import ancestors, clone_replace, gc_paused
from symarray.updates import OrderedUpdates

__all__ = ["function", "Function", "FunctionMaker", "REWRITE_PIPELINES"]


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
        list), a dict (it returns a dict with the same keys), or None.
        :class:`Out` marks per-output options.
    mode
        A :class:`Mode` or its name (``"FAST_RUN"``, ``"FAST_COMPILE"``).
    updates
        ``{shared_var: new_value_expr}`` (dict, OrderedUpdates or list of
        pairs), applied after the outputs are computed: every update sees
        the values from before the call.  An updated variable's old array
        may be overwritten in place by the update's computation (as in
        Theano; ``Mode().excluding("inplace")`` turns that off), so an
        array the user gave with ``shared(v, borrow=True)`` or got with
        ``get_value(borrow=True)`` may change; see
        :mod:`symarray.compile.inplace_updates`.  If a call raises after
        such a node ran, that variable may hold its new value.
    givens
        ``{var: replacement}`` substituted at compile time.
    no_default_updates
        True to skip every ``shared.default_update``, or a list of shared
        variables whose default update is skipped.
    accept_inplace
        Allow a graph that already contains ops overwriting their inputs.
    name
        Shown in errors and reprs.
    rebuild_strict
        ``givens`` must keep the types of the nodes they feed.
    allow_input_downcast
        Accept arguments that lose precision when converted to the input
        type (e.g. float64 data for a float32 input).
    profile
        True (or a name) to profile the function's calls: ``f.profile`` is
        then a :class:`~symarray.profiling.ProfileStats` (``f.profile.
        summary()`` prints the report); a ProfileStats to collect into it
        (several functions may share one); False for no profile.  None
        follows ``config.profile``.  See docs/profiling.md.
    on_unused_input
        ``"raise"`` (default from config), ``"warn"`` or ``"ignore"`` for an
        input no output depends on.
    trust_input
        Skip argument checks and conversions on each call, and the copy of
        an array the function overwrites that shares memory with another
        input (fastest; wrong or aliased arguments then give wrong results
        or obscure errors).

    Examples
    --------
    >>> import numpy as np, symarray as theano, symarray.tensor as T
    >>> x = T.dvector("x")
    >>> f = theano.function([x], x * 2 + 1)
    >>> f([1.0, 2.0])
    array([3., 5.])
    """
    with gc_paused():
        maker = FunctionMaker(
            inputs, outputs, mode, updates, givens, no_default_updates,
            accept_inplace, name, rebuild_strict, allow_input_downcast, profile,
            on_unused_input,
        )
        if maker.profile is not None:  # the profiler stage, imported on demand
            from symarray.profiling.attach import ProfiledFunction

            return ProfiledFunction(maker, trust_input=trust_input,
                                    profile=maker.profile)
        return Function(maker, trust_input=trust_input)


class FunctionMaker:
    """Builds, rewrites and schedules the FunctionGraph of one ``function``.

    Attributes used by :class:`Function` (and by the profiler and debug
    tools): ``inputs`` (the :class:`In` list), ``fgraph`` (its inputs are the
    explicit inputs then ``shared``; its outputs the user's outputs, then the
    shared updates, then the updates of stateful ``In`` inputs), ``schedule``,
    ``mode``, ``copy_outputs`` / ``copy_updates`` (which results must be
    copied so that no returned or stored array aliases another).
    """

    def __init__(self, inputs: Sequence[Variable | In], outputs: Any, mode: Any,
                 updates: Any, givens: Any, no_default_updates: Any,
                 accept_inplace: bool, name: str | None, rebuild_strict: bool,
                 allow_input_downcast: bool | None, profile: Any,
                 on_unused_input: str | None) -> None:
        start = time.perf_counter()
        #: the ProfileStats of ``profile=`` / ``config.profile`` (None: off)
        self.profile: Any = None
        if profile or (profile is None and config.profile):
            from symarray.profiling.attach import kernel_cache_counters, resolve_profile

            self.profile = resolve_profile(profile, name)
            self.kernel_cache_before = kernel_cache_counters()
        policy = on_unused_input or config.on_unused_input
        if policy not in ("raise", "warn", "ignore"):
            raise ValueError(
                f"function: on_unused_input must be 'raise', 'warn' or 'ignore', got "
                f"{on_unused_input!r}"
            )
        self.name = name
        self.mode: Mode = get_mode(mode)
        self.allow_input_downcast = allow_input_downcast
        if isinstance(inputs, (Variable, In)) or not isinstance(inputs, (list, tuple)):
            raise TypeError(
                "function: inputs must be a list of variables, got "
                f"{type(inputs).__name__}; write function([x], ...)"
            )
        self.inputs = [i if isinstance(i, In) else In(i) for i in inputs]
        self._check_inputs()
        self.output_keys, outs = _normalise_outputs(outputs)
        self.single_output = self.output_keys == "single"
        self.out_borrow = [o.borrow for o in outs]
        out_vars = [o.variable for o in outs]
        ups = OrderedUpdates(_update_pairs(updates))
        in_ups = [(k, _input_update(inp)) for k, inp in enumerate(self.inputs)
                  if inp.update is not None]
        # givens are substituted everywhere the graph reads them
        pairs = _givens_pairs(givens)
        if pairs:
            replaced = clone_replace(
                out_vars + list(ups.values()) + [u for _, u in in_ups], pairs,
                rebuild_strict=rebuild_strict,
            )
            n_out, n_up = len(out_vars), len(ups)
            ups = OrderedUpdates(
                zip(ups.keys(), replaced[n_out:n_out + n_up], strict=True)
            )
            in_ups = [
                (k, u)
                for (k, _), u in zip(in_ups, replaced[n_out + n_up:], strict=True)
            ]
            out_vars = replaced[:n_out]
        _add_default_updates(ups, out_vars + [u for _, u in in_ups], no_default_updates)
        _check_update_targets(ups)
        explicit = [i.variable for i in self.inputs]
        roots = out_vars + list(ups.values()) + [u for _, u in in_ups]
        needed = ancestors(roots, blockers=explicit)
        self._check_unused(needed, policy)
        explicit_set = set(explicit)
        #: shared variables read by the graph (implicit inputs), graph order
        self.shared: list[SharedVariable] = [
            var for var in needed
            if isinstance(var, SharedVariable) and var not in explicit_set
        ]
        read = set(self.shared)
        # updated but never read: still an input of the graph
        self.shared += [var for var in ups if var not in read]
        self.updates = ups
        self.input_update_index = [k for k, _ in in_ups]
        self.fgraph = FunctionGraph([*explicit, *self.shared], roots)
        self.n_outputs = len(out_vars)
        self.n_updates = len(ups)
        self.update_containers = [key.container for key in ups]
        position = {var: k for k, var in enumerate(self.shared, len(explicit))}
        self.fgraph.update_mapping = {
            self.n_outputs + j: position[key] for j, key in enumerate(ups)
        }
        #: Out(borrow=True) outputs: no-GC linkers let the next call write
        #: into their arrays (symarray.compile.linkers)
        self.fgraph.borrowed_outputs = tuple(  # type: ignore[attr-defined]
            k for k, borrow in enumerate(self.out_borrow) if borrow)
        if not accept_inplace:
            _refuse_inplace(self.fgraph)
        # In(x, mutable=True) arguments and updated shared values may be
        # overwritten (symarray.compile.inplace_updates); the rest is protected
        fg_inputs = self.fgraph.inputs
        shared_inputs = fg_inputs[len(explicit):]
        writable = mutable_shared(self.shared, {key.container for key in ups})
        mutable = [v for v, i in zip(fg_inputs, self.inputs, strict=False)
                   if i.mutable]
        mutable += [v for v, w in zip(shared_inputs, writable, strict=True) if w]
        protected = [v for v, i in zip(fg_inputs, self.inputs, strict=False)
                     if not i.mutable]
        protected += [v for v, w in zip(shared_inputs, writable, strict=True)
                      if not w]
        self.fgraph.attach_feature(DestroyHandler(mutable))
        self.fgraph.attach_feature(Supervisor(protected))
        if accept_inplace:
            self.fgraph.validate()  # the caller's in-place ops must be safe too
        if any(is_lazy(n) for n in self.fgraph.apply_nodes):
            track_branches(self.fgraph)  # fgraph.branch_of, read by fusion
        built = time.perf_counter()
        self._rewrite()
        rewritten = time.perf_counter()
        self.schedule = self.fgraph.toposort()
        self.copy_outputs, self.copy_updates = alias_copies(self)
        #: graph input positions some node overwrites (their arrays are
        #: copied before a call when they alias another input)
        self.destroyed_inputs = destroyed_inputs(self.fgraph)
        #: the graph overwrites a shared value (only its update may do that)
        self.destroys_shared = any(k >= len(explicit) for k in self.destroyed_inputs)
        self._recipe = (outputs, givens, accept_inplace, rebuild_strict)
        self._without_updates: FunctionMaker | None = None
        #: seconds per compile stage (the profiler's compile table)
        self.compile_times: dict[str, float] = {
            "graph": built - start, "rewrite": rewritten - built,
            "schedule": time.perf_counter() - rewritten,
        }

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
                    "replace it by a symbolic variable)"
                )
            if var.owner is not None:
                raise TypeError(
                    f"function: input {k} ({var}) is computed by {var.owner.op}; "
                    "inputs must be variables without an owner, use givens to "
                    "substitute an intermediate"
                )
            if var in seen:
                raise ValueError(f"function: input {var} is listed twice")
            if inp.implicit and not inp.has_default:
                raise TypeError(
                    f"function: input {k} ({var}) is implicit but has no value; "
                    "give In(..., value=...)"
                )
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
                warnings.warn(msg, stacklevel=4)  # the caller of function()
            else:
                raise UnusedInputError(msg)

    def _rewrite(self) -> None:
        import symarray.compile.rewrite  # noqa: F401  (registers the pipelines)

        pipeline = REWRITE_PIPELINES.get(str(self.mode.optimizer))
        # a mode may run the rewriting itself (DebugMode records each rewrite)
        watch = getattr(self.mode, "watch_rewrite", None)
        if watch is not None:
            watch(self.fgraph, pipeline)
        elif pipeline is not None:
            pipeline(self.fgraph, self.mode)

    def without_updates(self) -> FunctionMaker:
        """A maker of the same outputs that may not change shared values.

        ``self`` when its graph overwrites no shared value (a function can
        then just drop the update results); else the function compiled
        again without updates (once; cached), since here the updates'
        in-place nodes overwrite the shared arrays.  Stateful ``In``
        inputs keep their updates.
        """
        if not self.destroys_shared:
            return self
        if self._without_updates is None:
            outputs, givens, accept_inplace, rebuild_strict = self._recipe
            with gc_paused():
                self._without_updates = FunctionMaker(
                    self.inputs, outputs, self.mode, None, givens, True,
                    accept_inplace, self.name, rebuild_strict,
                    self.allow_input_downcast, False, "ignore",
                )
        return self._without_updates

    def make_vm(self) -> Any:
        """A fresh VM (own storage) for the scheduled graph."""
        from symarray.compile.linkers import make_vm

        start = time.perf_counter()
        vm = make_vm(self.mode.linker, self.fgraph, self.schedule, config.allow_gc)
        self.compile_times["link"] = time.perf_counter() - start
        return vm


def _copy_value(value: Any) -> Any:
    copy_method = getattr(value, "copy", None)
    return copy_method() if copy_method is not None else _copy.deepcopy(value)


class Function:
    """A compiled function; call it with values for its inputs.

    Attributes: ``maker`` (with ``fgraph``, ``mode``, ``inputs``), ``name``,
    ``trust_input`` (settable), ``vm``, ``profile`` (the ProfileStats of a
    profiled function, else None).  ``f[name]`` reads and ``f[name] = v``
    sets an input's default value (by name, variable or index).
    """

    #: the ProfileStats of a profiled function (symarray.profiling), else None
    profile: Any = None

    def __init__(self, maker: FunctionMaker, trust_input: bool = False,
                 vm: Any = None) -> None:
        self.maker = maker
        self.name = maker.name
        self.trust_input = trust_input
        self.vm = maker.make_vm() if vm is None else vm
        self._shared = list(maker.shared)
        self._update_containers = list(maker.update_containers)
        #: per input: its current default value (None: required)
        self._defaults: list[Any] = [
            i.value if i.has_default else _MISSING for i in maker.inputs
        ]
        self._positional = [k for k, i in enumerate(maker.inputs) if not i.implicit]
        self._all_positional = len(self._positional) == len(maker.inputs)
        names: dict[str, int] = {}
        self._ambiguous: set[str] = set()
        for k, inp in enumerate(maker.inputs):
            if inp.name is None:
                continue
            if inp.name in names:
                self._ambiguous.add(inp.name)
            names[inp.name] = k
        self._input_names = names
        self._fast_call = self._fast_path()

    def _fast_path(self) -> Any:
        """The VM's ``fast_call`` when a plain positional call needs nothing
        else from this class (no shared values, updates, defaults to fill or
        outputs to copy), else None.  ``fast_call(args, check)`` returns
        ``NotImplemented`` for arguments it does not take as they are.

        Also sets what the general fast path needs (from ``self.vm``, so a
        subclass that swaps the VM calls this again): ``_vm_fast_call``, the
        VM's ``fast_call`` for a call that gives every input positionally
        (the shared values are appended; :meth:`_finish` does the rest),
        ``_fast_flags``, its checks, and ``_guarded``, the outputs that may
        alias an argument.
        """
        # the VM package loads with the first compiled function, not at import
        from symarray.vm._cvm import FAST_CHECK, FAST_GUARDED, FAST_SEPARATE

        maker = self.maker
        self._guarded = _guarded_outputs(self.vm, maker.n_outputs)
        self._vm_fast_call = (getattr(self.vm, "fast_call", None)
                              if self._all_positional else None)
        self._fast_flags = FAST_CHECK | FAST_GUARDED | (
            FAST_SEPARATE if maker.destroyed_inputs else 0)
        if (maker.shared or maker.n_updates or maker.input_update_index
                or maker.copy_outputs or not self._all_positional
                or maker.output_keys not in ("single", "list")):
            return None
        name = "fast_call1" if maker.single_output else "fast_call"
        return getattr(self.vm, name, None)

    @property
    def fgraph(self) -> FunctionGraph:
        return self.maker.fgraph

    def __repr__(self) -> str:
        ins = ", ".join(str(i.variable) for i in self.maker.inputs)
        return f"<symarray.Function {self.name or ''}({ins})>"

    # -- defaults ----------------------------------------------------------
    def _index(self, key: Any) -> int:
        if isinstance(key, int) and not isinstance(key, bool):
            if not 0 <= key < len(self.maker.inputs):
                raise IndexError(f"{self._label()} has no input {key}")
            return key
        if isinstance(key, str):
            if key in self._ambiguous:
                raise KeyError(f"{self._label()}: several inputs are named {key!r}")
            if key not in self._input_names:
                raise KeyError(
                    f"{self._label()} has no input named {key!r}; input names: "
                    f"{sorted(self._input_names)}"
                )
            return self._input_names[key]
        for k, inp in enumerate(self.maker.inputs):
            if inp.variable is key:
                return k
        raise KeyError(f"{self._label()} has no input {key!r}")

    def __getitem__(self, key: Any) -> Any:
        value = self._defaults[self._index(key)]
        if value is _MISSING:
            raise KeyError(f"{self._label()}: input {key!r} has no default value")
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        k = self._index(key)
        self._defaults[k] = self._filter(k, self.maker.inputs[k], value)

    # -- calling -----------------------------------------------------------
    def _bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
        maker = self.maker
        n_pos = len(self._positional)
        if len(args) > n_pos:
            raise TypeError(
                f"{self._label()} takes {n_pos} argument{'s' if n_pos != 1 else ''}, "
                f"got {len(args)}"
            )
        values: list[Any] = [_MISSING] * len(maker.inputs)
        for k, arg in zip(self._positional, args, strict=False):
            values[k] = arg
        for key, val in kwargs.items():
            k = self._input_names.get(key, -1)
            if k < 0 or key in self._ambiguous or maker.inputs[k].implicit:
                why = ("is ambiguous (several inputs have that name)"
                       if key in self._ambiguous else "is unknown")
                names = sorted(set(self._input_names) - self._ambiguous)
                raise TypeError(
                    f"{self._label()}: keyword argument {key!r} {why}; input names: "
                    f"{names}"
                )
            if values[k] is not _MISSING:
                raise TypeError(f"{self._label()} got input {key!r} twice")
            values[k] = val
        for k, inp in enumerate(maker.inputs):
            if values[k] is _MISSING:
                if self._defaults[k] is _MISSING:
                    raise TypeError(
                        f"{self._label()}: missing input {k} ({inp.variable}); it has "
                        "no default value"
                    )
                values[k] = self._defaults[k]
            if not self.trust_input:
                values[k] = self._filter(k, inp, values[k])
        return values

    def _filter(self, k: int, inp: In, value: Any) -> Any:
        allow = inp.allow_downcast
        if allow is None:
            allow = self.maker.allow_input_downcast
        try:
            return inp.variable.type.filter(
                value, strict=inp.strict, allow_downcast=allow
            )
        except (TypeError, ValueError) as err:
            named = f", named {inp.name!r}" if inp.name else ""
            raise type(err)(
                f"bad input to {self._label()} at index {k} (0-based){named}: {err}"
            ) from None

    def _label(self) -> str:
        return f"function {self.name!r}" if self.name else "the compiled function"

    def __call__(self, *args: Any, output_subset: Sequence[int] | None = None,
                 **kwargs: Any) -> Any:
        fast = self._fast_call
        if fast is not None and output_subset is None and not kwargs:
            result = fast(args, not self.trust_input)
            if result is not NotImplemented:
                return result
        vm_fast = self._vm_fast_call
        if vm_fast is not None and not kwargs:
            # every input given positionally: the VM checks the arguments and
            # the shared values in C (exact ndarrays of the right dtype, rank
            # and static lengths, no overlap where the graph overwrites one)
            # and declines anything that needs converting or separating
            shared = self._shared
            vm_args = (args + tuple([s.container.value for s in shared])
                       if shared else args)
            results = vm_fast(vm_args, 0 if self.trust_input else self._fast_flags)
            if results is not NotImplemented:
                return self._finish(results, args, output_subset)
        maker = self.maker
        if (self.trust_input and not kwargs and self._all_positional
                and len(args) == len(maker.inputs)):
            values = list(args)
        else:
            values = self._bind(args, kwargs)
        input_values = values + [s.container.value for s in self._shared]
        if maker.destroyed_inputs and not self.trust_input:
            separate_destroyed(input_values, maker.destroyed_inputs)
        return self._finish(self.vm(input_values), values, output_subset)

    def _finish(self, results: list[Any], values: Sequence[Any],
                output_subset: Sequence[int] | None) -> Any:
        """Copy and guard the VM's ``results`` (``values``: the explicit
        inputs' values), write the updates, and shape the outputs."""
        maker = self.maker
        n_out, n_up = maker.n_outputs, maker.n_updates
        outputs = results[:n_out]
        for k in maker.copy_outputs:
            outputs[k] = _copy_value(outputs[k])
        if self._guarded and not self.trust_input:
            self._protect(outputs, values)
        for j in maker.copy_updates:
            results[n_out + j] = _copy_value(results[n_out + j])
        for container, value in zip(self._update_containers,
                                    results[n_out:n_out + n_up], strict=False):
            container.value = value
        for k, value in zip(maker.input_update_index, results[n_out + n_up:],
                            strict=True):
            self._defaults[k] = value
        if output_subset is not None:
            return [outputs[k] for k in output_subset]
        if maker.single_output:
            return outputs[0]
        if isinstance(maker.output_keys, list):
            return dict(zip(maker.output_keys, outputs, strict=False))
        return outputs

    def _protect(self, outputs: list[Any], inputs: Sequence[Any]) -> None:
        """Copy outputs that share memory with an argument although no op
        declared a view (a guard against ops with a wrong ``view_map``); only
        the ``_guarded`` outputs can."""
        arrays = [v for v in inputs if isinstance(v, np.ndarray)]
        if not arrays:
            return
        borrow = self.maker.out_borrow
        for k in self._guarded:
            out = outputs[k]
            if borrow[k] or not isinstance(out, np.ndarray):
                continue
            if any(np.may_share_memory(out, a) for a in arrays):
                outputs[k] = out.copy()

    def free(self) -> None:
        """Release the buffers kept between calls (no-GC linkers).

        Every cell but the constants is emptied; the function keeps
        working, and its next call allocates its buffers again.  A borrowed
        output (``Out(borrow=True)``) returned earlier is not overwritten
        by later calls after ``free()``.
        """
        free = getattr(self.vm, "free", None)
        if free is not None:
            free()

    def copy(self, share_memory: bool = False,
             swap: Mapping[SharedVariable, SharedVariable] | None = None,
             delete_updates: bool = False, name: str | None = None,
             profile: Any = None) -> Function:
        """An independent Function over the same compiled graph.

        Parameters
        ----------
        share_memory
            Share the VM's storage with this function (default: own storage;
            always own storage when ``delete_updates`` recompiles).
        swap
            ``{old_shared: new_shared}``: the copy reads and updates
            ``new_shared`` (same type) wherever this function uses
            ``old_shared``.
        delete_updates
            The copy computes its outputs but changes no shared value.  When
            this function's updates overwrite shared arrays in place, the
            copy is compiled again without them (once per function).
        name
            The copy's name (default: this function's).
        profile
            None: profiled like this function (into the same ProfileStats);
            True, a name or a ProfileStats: profiled there; False: not
            profiled.

        Notes
        -----
        Copies that update the same shared variable write into its array in
        place; calling them from several threads at once races on that
        array (give each thread its own variables with ``swap``).
        """
        maker = self.maker.without_updates() if delete_updates else self.maker
        vm = self.vm if share_memory and maker is self.maker else None
        name = name if name is not None else self.name
        profile = (self.profile or False) if profile is None else profile
        fn: Function = Function(maker, self.trust_input, vm) if not profile else (
            _profiled_copy(maker, self.trust_input, profile, vm, name))
        fn.name = name
        fn._defaults = list(self._defaults)
        if maker is self.maker:  # keep this function's swaps and deletions
            fn._shared = list(self._shared)
            fn._update_containers = list(self._update_containers)
        else:  # recompiled without updates: map its shared inputs like ours
            ours = {s.container: cur for s, cur in zip(self.maker.shared,
                                                       self._shared, strict=True)}
            fn._shared = [ours.get(s.container, s) for s in maker.shared]
            fn._update_containers = []
        if swap:
            by_container = self._swap_map(swap)
            fn._shared = [by_container.get(s.container, s) for s in fn._shared]
            fn._update_containers = [
                by_container[c].container if c in by_container else c
                for c in fn._update_containers
            ]
        if delete_updates:
            fn._update_containers = []
        return fn

    def _swap_map(self, swap: Mapping[SharedVariable, SharedVariable]
                  ) -> dict[Any, SharedVariable]:
        """``copy(swap=...)`` checked: old container -> the new variable."""
        known = {s.container for s in self._shared}
        by_container: dict[Any, SharedVariable] = {}
        for old, new in swap.items():
            if not isinstance(old, SharedVariable) or not isinstance(
                new, SharedVariable
            ):
                raise TypeError("copy(swap=...) maps shared variables to shared "
                                f"variables, got {old!r} -> {new!r}")
            if old.type != new.type:
                raise TypeError(
                    f"copy(swap=...): {new} has type {new.type}, but {old} has "
                    f"type {old.type}"
                )
            if old.container not in known:
                raise ValueError(
                    f"copy(swap=...): {old} is not used by {self._label()}"
                )
            by_container[old.container] = new
        return by_container


_MISSING = object()

#: thunk backends that write their outputs into memory the VM owns (unless
#: the op declares a view or destroy map)
_FRESH_BACKENDS = frozenset({"c", "codegen"})


def _guarded_outputs(vm: Any, n_out: int) -> tuple[int, ...]:
    """Which of the first ``n_out`` outputs of ``vm``'s program may share
    memory with an argument (:func:`symarray.vm.assembler.aliasing_outputs`,
    trusting only ``_FRESH_BACKENDS``).  All of them when ``vm`` has no
    Program."""
    from symarray.vm.assembler import aliasing_outputs

    program = getattr(vm, "program", None)
    outputs = getattr(program, "outputs", None) or []
    if program is None or len(outputs) < n_out:
        return tuple(range(n_out))
    thunk_of = dict(zip(program.nodes, program.thunks, strict=True))
    return tuple(aliasing_outputs(outputs[:n_out], thunk_of,
                                  _FRESH_BACKENDS.__contains__))


def _profiled_copy(maker: FunctionMaker, trust_input: bool, profile: Any, vm: Any,
                   name: str | None) -> Function:
    """A profiled function of ``maker`` for ``Function.copy`` (the profiler
    stage, imported on demand)."""
    from symarray.profiling.attach import ProfiledFunction, resolve_profile

    return ProfiledFunction(maker, trust_input=trust_input, vm=vm,
                            profile=resolve_profile(profile, name), compiled=False,
                            name=name)


def _eval(var: Variable, inputs_to_values: Mapping[Any, Any]) -> Any:
    """Compile (once per input set) and evaluate ``var`` (Variable.eval).

    Keys are variables or the names of the graph's input variables.
    """
    if any(isinstance(k, str) for k in inputs_to_values):
        by_name: dict[str, Variable] = {}
        for v in ancestors([var]):
            if v.owner is None and v.name is not None:
                by_name.setdefault(v.name, v)
        resolved = {}
        for k, val in inputs_to_values.items():
            if isinstance(k, str):
                if k not in by_name:
                    raise KeyError(
                        f"eval: no input named {k!r} in the graph of {var}; names: "
                        f"{sorted(by_name)}"
                    )
                k = by_name[k]
            resolved[k] = val
        inputs_to_values = resolved
    key = tuple(inputs_to_values)
    cache = getattr(var.tag, "eval_cache", None)
    if cache is None:
        cache = var.tag.eval_cache = {}
    fn = cache.get(key)
    if fn is None:
        fn = cache[key] = function(list(key), var, on_unused_input="ignore")
    return fn(*[inputs_to_values[k] for k in key])
