"""Profiling a compiled function: the profiled VM twin and ``ProfiledFunction``.

``function(..., profile=...)`` (or ``config.profile``) resolves the argument
with :func:`resolve_profile`; the Function it returns is a
:class:`ProfiledFunction`, which

* swaps its VM for the profiled twin over the same Program and cells
  (:func:`profiled_vm`: ``CyVM`` -> :class:`CallTimedCyVM`, a
  ``CyProfiledVM``; ``PyVM`` -> :class:`CallTimedPyVM`, a
  ``ProfiledPyVM``), so an unprofiled Function runs the plain VM and pays
  nothing;
* times each call and its parts, which add up to the call: the VM's entry
  points (:class:`CallTimedCyVM`, :class:`CallTimedPyVM`: the profiled twins
  plus a clock around ``__call__`` / ``fast_call``; inside them the VM's own
  recorder times the dispatch loop), the release of the values the call
  replaced (the previous values of updated shared variables and input
  defaults: the profiled Function holds them through the call and frees them
  on a clock of their own, instead of as ``Function.__call__`` returns,
  where their cost would count as the Function's Python; freeing them is
  where the allocator may give memory back to the OS, hundreds of us for a
  training step), and the rest, the Function's own Python (argument checks,
  output guards, update writes);
* registers a :class:`~symarray.profiling.stats.FunctionProfile` with its
  :class:`~symarray.profiling.stats.ProfileStats`, holding the compile
  times the FunctionMaker measured.

Nested programs: a thunk that runs a program of its own (scan's loop thunk)
defines ``profile_inner(make_vm)``: it calls ``make_vm(vm)`` for each inner
VM it runs, uses the returned profiled twin from then on, and returns the
list of twins.  :func:`profile_inner_programs` calls it for every thunk of
a profiled program; the inner profiles are shown under the node.  An inner
recorder keeps a trace ring of ``ProfileStats.trace_inner_events`` events
(one run per step), so a trace shows the last steps.  A thunk that also
defines ``profile_parts()`` (and ``reset_profile_parts()``) times the parts
of its own calls (:func:`part_thunks`).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from symarray.compile.function import Function, FunctionMaker
from symarray.profiling.stats import CompileStats, FunctionProfile, ProfileStats
from symarray.vm._cvm import CyVM
from symarray.vm._cvm_profile import CyProfile, CyProfiledVM
from symarray.vm.pyvm import ProfiledPyVM, PyVM

__all__ = ["resolve_profile", "ProfiledFunction", "profiled_vm",
           "profile_inner_programs", "part_thunks", "kernel_cache_counters",
           "compile_stats", "CallTimedCyVM", "CallTimedPyVM"]

#: modules whose kernel-cache counters (cumulative: hits, misses, compile
#: seconds...) the compile table reports per function: a ``cache_stats()``
#: function or a ``CACHE_STATS`` dict (the C code generator's)
KERNEL_CACHE_MODULES = ("symarray.kernels_c.codegen", "symarray.kernels_c",
                        "symarray.kernels_gpu")


def resolve_profile(profile: Any, name: str | None = None) -> ProfileStats | None:
    """The ProfileStats that ``function(..., profile=profile)`` uses.

    None follows ``config.profile``; False turns profiling off; True (or a
    name) makes a new ProfileStats; a ProfileStats is used as it is (several
    functions may share one).
    """
    from symarray import config

    if profile is None:
        profile = config.profile
    if isinstance(profile, ProfileStats):
        return profile
    if profile is False or profile is None:
        return None
    if profile is True:
        return ProfileStats(name=name)
    if isinstance(profile, str):
        return ProfileStats(name=profile)
    raise TypeError(
        f"function: profile must be True, False, None, a name or a ProfileStats, got "
        f"{type(profile).__name__}; e.g. profile=True"
    )


def kernel_cache_counters() -> dict[str, float]:
    """Sum of the kernel-cache counters of the loaded kernel backends."""
    out: dict[str, float] = {}
    for name in KERNEL_CACHE_MODULES:
        module = sys.modules.get(name)
        stats = getattr(module, "cache_stats", None)
        counters = stats() if callable(stats) else getattr(module, "CACHE_STATS", None)
        if not counters:
            continue
        for key, value in dict(counters).items():
            if isinstance(value, (int, float)):
                out[key] = out.get(key, 0.0) + value
    return out


def compile_stats(maker: FunctionMaker, vm: Any) -> CompileStats:
    """Compile times ``maker`` measured, the rewrite stats of its graph and
    the kernel-cache counters over the compile."""
    stages = dict(getattr(maker, "compile_times", {}))
    thunks = getattr(vm.program, "thunk_time", None)
    if "link" in stages:
        link = stages.pop("link")
        stages["assembly"] = link - (thunks or 0.0)
    if thunks is not None:
        stages["thunks"] = thunks
    out = CompileStats(stages=stages)
    rstats = getattr(maker.fgraph, "rewrite_stats", None)
    if rstats is not None:
        out.rewrite_phases = [
            {"name": p.name, "time": p.time, "applied": p.applied, "merged": p.merged,
             "nodes_before": p.nodes_before, "nodes_after": p.nodes_after}
            for p in rstats.phases.values()
        ]
        out.rewriters = [
            {"name": r.name, "time": r.time, "applied": r.applied, "failed": r.failed,
             "visits": r.visits}
            for r in rstats.rewriters.values()
        ]
    out.graph_cache_hit = getattr(maker.fgraph, "graph_cache_hit", None)
    before = getattr(maker, "kernel_cache_before", None)
    if before is not None:
        after = kernel_cache_counters()
        out.kernel_cache = {k: v - before.get(k, 0.0) for k, v in after.items()}
    return out


class CallTimedCyVM(CyProfiledVM):
    """The profiled VM a profiled Function calls: :class:`CyProfiledVM` plus
    ``call_ns``, the nanoseconds spent in its entry points (inputs into the
    cells, the run, outputs out, cells cleared after the call)."""

    call_ns = 0

    def __call__(self, input_values: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            return CyProfiledVM.__call__(self, input_values)
        finally:
            self.call_ns += time.perf_counter_ns() - start

    def fast_call(self, args: tuple[Any, ...], check: int) -> Any:
        start = time.perf_counter_ns()
        try:
            return CyProfiledVM.fast_call(self, args, check)
        finally:
            self.call_ns += time.perf_counter_ns() - start

    def fast_call1(self, args: tuple[Any, ...], check: int) -> Any:
        start = time.perf_counter_ns()
        try:
            return CyProfiledVM.fast_call1(self, args, check)
        finally:
            self.call_ns += time.perf_counter_ns() - start


class CallTimedPyVM(ProfiledPyVM):
    """:class:`CallTimedCyVM`'s twin for the Python VM."""

    call_ns = 0

    def __call__(self, input_values: Any) -> list[Any]:
        start = time.perf_counter_ns()
        try:
            return ProfiledPyVM.__call__(self, input_values)
        finally:
            self.call_ns += time.perf_counter_ns() - start


def profiled_vm(vm: Any, stats: ProfileStats, inner: bool = False) -> Any:
    """The profiled twin of ``vm`` (same Program and cells).

    A Function's VM (``inner`` false) becomes a call-timed twin
    (:class:`CallTimedCyVM`, :class:`CallTimedPyVM`); ``vm`` itself when it
    is one already.  ``inner``: ``vm`` runs inside a node (one run per step,
    entered through the dispatch loop, not ``__call__``), so it becomes a
    plain profiled twin whose trace ring holds ``stats.trace_inner_events``
    events (when ``stats.trace_calls`` is set) instead of ``trace_calls``
    runs; ``vm`` itself when it is profiled already.
    """
    if isinstance(vm, (CallTimedCyVM, CallTimedPyVM)):
        return vm
    if isinstance(vm, (CyProfiledVM, ProfiledPyVM)):
        if inner:
            return vm
        # profiled, but not timed at its entry points: a timed twin that
        # keeps recording into the same recorder
        timed = CallTimedCyVM if isinstance(vm, CyProfiledVM) else CallTimedPyVM
        return timed(vm.program, vm.profile)
    cls: Any
    if isinstance(vm, CyVM):
        clock, cls = "ticks", CyProfiledVM if inner else CallTimedCyVM
    elif isinstance(vm, PyVM):
        clock, cls = "ns", ProfiledPyVM if inner else CallTimedPyVM
    else:
        raise TypeError(
            f"cannot profile a {type(vm).__name__}: the profiler runs CyVM and PyVM "
            "programs; use one of the linkers py, vm, cvm, c|py (or their _nogc twins)"
        )
    prog = vm.program
    runs, events = stats.trace_calls, -1  # events: trace_calls runs of nodes
    if inner:
        events = stats.trace_inner_events if stats.trace_calls else 0
        runs = max(events // max(len(prog.nodes), 1), 1) if events else 0
    recorder = CyProfile(len(prog.nodes), len(prog.cells), memory=stats.memory,
                         trace_calls=runs, trace_events=events, clock=clock)
    return cls(prog, recorder)


def profile_inner_programs(program: Any, stats: ProfileStats, name: str
                           ) -> dict[int, list[FunctionProfile]]:
    """Profile the programs that thunks of ``program`` run inside one node
    (the ``profile_inner`` hook); node index -> their live profiles."""
    inner: dict[int, list[FunctionProfile]] = {}
    for k, thunk in enumerate(program.thunks):
        hook = getattr(thunk, "profile_inner", None)
        if hook is None:
            continue
        twins = list(hook(lambda vm: profiled_vm(vm, stats, inner=True)))
        kids = []
        for i, twin in enumerate(twins):
            label = f"{name} / node {k} inner program {i}"
            kids.append(FunctionProfile(
                name=label, program=twin.program, recorder=twin.profile,
                linker=type(twin).__name__, compile=CompileStats(),
                inner=profile_inner_programs(twin.program, stats, label),
                parts=part_thunks(twin.program),
            ))
        inner[k] = kids
    return inner


def part_thunks(program: Any) -> dict[int, Any]:
    """The thunks of ``program`` that time the parts of their calls (scan's
    loop thunk, once :func:`profile_inner_programs` profiled it), by node."""
    out = {}
    for k, thunk in enumerate(program.thunks):
        parts = getattr(thunk, "profile_parts", None)
        if parts is not None and parts():
            out[k] = thunk
    return out


def _function_name(maker: FunctionMaker) -> str:
    if maker.name:
        return maker.name
    from symarray.graph.basic import creation_site

    site = creation_site()
    return f"{site[0]}:{site[1]}" if site is not None else "<function>"


class ProfiledFunction(Function):
    """A :class:`~symarray.compile.function.Function` that runs the profiled
    VM and times its calls; ``profile`` is its :class:`ProfileStats`.

    ``compiled``: the compile times of ``maker`` belong to this function
    (False for copies); ``name`` labels it in reports (default: the
    function's name, else the user line that compiled it).
    """

    def __init__(self, maker: FunctionMaker, trust_input: bool = False,
                 vm: Any = None, profile: ProfileStats | None = None,
                 compiled: bool = True, name: str | None = None) -> None:
        super().__init__(maker, trust_input=trust_input, vm=vm)
        stats = profile if profile is not None else ProfileStats()
        plain = self.vm
        self.vm = profiled_vm(plain, stats)
        self._fast_call = self._fast_path()
        self.profile = stats
        name = name or _function_name(maker)
        # compile times belong to the first function of a maker, not its copies
        comp = compile_stats(maker, plain) if compiled else CompileStats()
        self._fprof = stats.add(FunctionProfile(
            name=name, program=self.vm.program, recorder=self.vm.profile,
            linker=str(maker.mode.linker), compile=comp,
            inner=profile_inner_programs(self.vm.program, stats, name),
            parts=part_thunks(self.vm.program),
            fgraph=maker.fgraph, schedule=maker.schedule,
        ))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        fp, vm = self._fprof, self.vm
        # the values this call replaces, held so that freeing them is timed on
        # its own (see the module docstring)
        replaced = [c.value for c in self._update_containers]
        replaced += [self._defaults[k] for k in self.maker.input_update_index]
        vm_before = vm.call_ns
        start = time.perf_counter_ns()
        try:
            return Function.__call__(self, *args, **kwargs)
        finally:
            returned = time.perf_counter_ns()
            del replaced
            end = time.perf_counter_ns()
            fp.calls += 1
            fp.call_ns += end - start
            fp.vm_call_ns += vm.call_ns - vm_before
            fp.release_ns += end - returned
