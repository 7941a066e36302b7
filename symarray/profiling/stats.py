"""ProfileStats: what the profiler knows about one or more compiled functions.

Design:

* The VM records raw numbers (:class:`~symarray.vm._cvm_profile.CyProfile`: per node
  calls and clock ticks, run totals, output bytes, a trace ring); it never
  imports this package.  A profiled :class:`~symarray.compile.function.
  Function` (:mod:`symarray.profiling.attach`) runs the profiled twin of its
  VM and registers a :class:`FunctionProfile` (the live link: recorder,
  program, call counters, compile times) with its :class:`ProfileStats`.
* Reading turns each live profile into a :class:`FunctionStats` snapshot
  (:mod:`symarray.profiling.collect`): plain dataclasses of numbers and
  strings (seconds, bytes).  The reports format snapshots, JSON stores them
  and merging concatenates them; a ProfileStats loaded from JSON or made by
  :meth:`ProfileStats.merge` holds snapshots only.
* Nested programs (scan's inner program runs inside one node): a node's
  :attr:`NodeStats.children` holds the inner programs' FunctionStats.  A
  thunk opts in with a ``profile_inner(make_vm)`` method (see
  :func:`symarray.profiling.attach.profile_inner_programs`).  Such a
  thunk may also time the parts of its own calls (``profile_parts()``:
  scan's loop setup, inner program, work between steps, finish):
  :attr:`NodeStats.parts`, which add up to the node's time.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from typing import IO, Any

__all__ = [
    "ProfileStats",
    "FunctionStats",
    "NodeStats",
    "OutputStats",
    "CompileStats",
    "MemoryStats",
    "TracedCall",
    "PartStats",
    "FunctionProfile",
]

#: version of the JSON layout written by :meth:`ProfileStats.to_json`
#: (2: FunctionStats.vm_call_time and release_time; version 1 files load
#: with them unknown)
JSON_VERSION = 2


# -- snapshots -------------------------------------------------------------------------
@dataclass
class OutputStats:
    """One output of a node: its size after the node ran and where it was built."""

    name: str
    type: str
    #: largest nbytes seen (-1: never measured: memory profiling off, or the
    #: node never ran)
    nbytes: int = -1
    #: the output views or overwrites an input (it allocates nothing)
    view: bool = False
    #: the user line that created the variable (``File "...", line N, in f``)
    site: str | None = None


@dataclass
class PartStats:
    """One part of a node's calls that its thunk timed itself (scan's loop:
    setup, inner program, between steps, finish, perform fallback)."""

    name: str
    #: calls that went through this part (steps for the inner program)
    calls: int = 0
    #: seconds, over all calls
    time: float = 0.0


@dataclass
class NodeStats:
    """One Apply node of a program: calls, time, backend, outputs."""

    index: int
    name: str
    op: str
    op_class: str
    #: which thunk ran it: "c" (kernels_c), "py" (perform), "gpu", ...
    backend: str
    calls: int = 0
    #: seconds in the node's thunk, over all calls
    time: float = 0.0
    #: per input: the index of the node computing it, or the input's label
    inputs: list[int | str] = field(default_factory=list)
    outputs: list[OutputStats] = field(default_factory=list)
    #: profiles of programs that run inside this node (scan's inner program)
    children: list[FunctionStats] = field(default_factory=list)
    #: where the node's time went, as its thunk measured it (empty: not
    #: measured); the parts add up to :attr:`time` but for the VM's clock
    #: readings around the thunk
    parts: list[PartStats] = field(default_factory=list)

    @property
    def time_per_call(self) -> float:
        return self.time / self.calls if self.calls else 0.0


@dataclass
class CompileStats:
    """Where compile time went (seconds)."""

    #: stage -> seconds, in order: graph (build and clone), rewrite, schedule,
    #: thunks (making each node's thunk), assembly (the rest of linking:
    #: cells, bytecode, the VM)
    stages: dict[str, float] = field(default_factory=dict)
    #: one dict per rewrite phase: name, time, applied, merged, nodes_before,
    #: nodes_after
    rewrite_phases: list[dict[str, Any]] = field(default_factory=list)
    #: one dict per rewriter that ran: name, time, applied, failed, visits
    rewriters: list[dict[str, Any]] = field(default_factory=list)
    #: the rewritten graph came from the in-process graph cache (None: unknown)
    graph_cache_hit: bool | None = None
    #: run-time kernel cache counters over this compile (hits, misses,
    #: compile_time...): filled from a backend's ``cache_stats()`` when it has
    #: one (the C code generator's hook)
    kernel_cache: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.stages.values())


@dataclass
class MemoryStats:
    """Memory of one program, from the output sizes its nodes produced."""

    #: "gc", "nogc_naive", "nogc_planned" -> peak bytes of intermediates and
    #: outputs (None: not available)
    peaks: dict[str, int | None] = field(default_factory=dict)
    #: the largest values nodes produced: dicts with node, output, nbytes,
    #: op, site (largest first)
    largest: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TracedCall:
    """One call's node timeline (seconds since the profile started)."""

    start: float
    end: float
    #: (node index, start, end) per executed node, in order
    events: list[tuple[int, float, float]] = field(default_factory=list)


@dataclass
class FunctionStats:
    """A snapshot of one compiled function's profile."""

    name: str
    linker: str = "?"
    allow_gc: bool = True
    #: Function-level calls and seconds, as the caller sees them: the parts
    #: :attr:`vm_call_time`, :attr:`release_time` and :attr:`function_time`
    #: add up to it
    calls: int = 0
    call_time: float = 0.0
    #: VM runs and seconds from the first to the last instruction
    vm_runs: int = 0
    vm_time: float = 0.0
    failed_runs: int = 0
    #: seconds in FREE / JUMP_IF_FALSE instructions (a part of VM overhead)
    other_time: float = 0.0
    #: large blocks (128 KiB and up) the buffer pool gave the runs: reused
    #: from freed ones, and newly mapped (page-faulted in); see docs/memory.md
    pool_reused: int = 0
    pool_mapped: int = 0
    #: seconds the calls spent in the VM's entry points: the run
    #: (:attr:`vm_time`) plus :attr:`vm_entry_time` (None: not measured: an
    #: inner program, or a profile written before symarray measured it)
    vm_call_time: float | None = None
    #: seconds the calls spent freeing the values they replaced (previous
    #: values of updated shared variables and input defaults); where the
    #: allocator gives memory back to the OS (None: not measured)
    release_time: float | None = None
    nodes: list[NodeStats] = field(default_factory=list)
    compile: CompileStats = field(default_factory=CompileStats)
    memory: MemoryStats | None = None
    trace: list[TracedCall] = field(default_factory=list)

    @property
    def node_time(self) -> float:
        """Seconds in the nodes' thunks."""
        return sum(n.time for n in self.nodes)

    @property
    def vm_overhead(self) -> float:
        """VM time not spent in thunks (dispatch, FREE, clock readings)."""
        return self.vm_time - self.node_time

    @property
    def call_overhead(self) -> float:
        """Function-call time outside the VM's run: :attr:`vm_entry_time` +
        :attr:`release_time` + :attr:`function_time`."""
        return self.call_time - self.vm_time if self.calls else 0.0

    @property
    def vm_entry_time(self) -> float | None:
        """Seconds in the VM's entry points around the run: inputs into the
        cells, outputs out of them, cells cleared after the call (None: not
        measured)."""
        if self.vm_call_time is None:
            return None
        return self.vm_call_time - self.vm_time

    @property
    def function_time(self) -> float | None:
        """Seconds in the Function's own Python: argument checks and
        conversion, output copies and aliasing guards, update writes (None:
        not measured)."""
        if self.vm_call_time is None or self.release_time is None:
            return None
        return self.call_time - self.vm_call_time - self.release_time

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FunctionStats:
        d = dict(d)
        d["nodes"] = [_node_from_dict(n) for n in d.get("nodes", [])]
        d["compile"] = CompileStats(**d.get("compile", {}))
        mem = d.get("memory")
        d["memory"] = MemoryStats(**mem) if mem is not None else None
        d["trace"] = [
            TracedCall(t["start"], t["end"], [tuple(e) for e in t["events"]])
            for t in d.get("trace", [])
        ]
        return cls(**d)


def _node_from_dict(d: dict[str, Any]) -> NodeStats:
    d = dict(d)
    d["outputs"] = [OutputStats(**o) for o in d.get("outputs", [])]
    d["children"] = [FunctionStats.from_dict(c) for c in d.get("children", [])]
    d["parts"] = [PartStats(**p) for p in d.get("parts", [])]
    return NodeStats(**d)


# -- the live link to a profiled function ----------------------------------------------
@dataclass(eq=False)
class FunctionProfile:
    """The live profile of one compiled function (see module docstring).

    ``recorder`` is the VM's :class:`~symarray.vm._cvm_profile.CyProfile`, ``program``
    the VM's Program; ``calls``/``call_ns`` (and its parts ``vm_call_ns``,
    ``release_ns``) are counted by the profiled Function; ``inner`` maps a
    node index to the live profiles of the programs run inside that node;
    ``parts`` maps a node index to its thunk when the thunk times the parts
    of its calls (``profile_parts()``).
    """

    name: str
    program: Any
    recorder: Any
    linker: str
    compile: CompileStats
    calls: int = 0
    call_ns: int = 0
    #: of ``call_ns``: in the VM's entry points; freeing the replaced values
    vm_call_ns: int = 0
    release_ns: int = 0
    inner: dict[int, list[FunctionProfile]] = field(default_factory=dict)
    parts: dict[int, Any] = field(default_factory=dict)
    #: the compiled FunctionGraph and its schedule (for the memory planner)
    fgraph: Any = None
    schedule: Any = None

    def snapshot(self, clock: Any = None) -> FunctionStats:
        """The FunctionStats now; ``clock`` (set for inner programs) is the
        outer profile's tick conversion, so that nested times line up."""
        from symarray.profiling.collect import snapshot

        return snapshot(self, clock)

    def reset(self) -> None:
        self.calls = self.call_ns = self.vm_call_ns = self.release_ns = 0
        self.recorder.reset()
        for kids in self.inner.values():
            for kid in kids:
                kid.reset()
        for thunk in self.parts.values():
            thunk.reset_profile_parts()


# -- ProfileStats ----------------------------------------------------------------------
_ATEXIT: list[ProfileStats] = []
_atexit_registered = False


class ProfileStats:
    """Profile of one or more compiled functions (Theano's ``ProfileStats``).

    Parameters
    ----------
    name
        A title for the reports (Theano's ``message``).
    memory
        Record each node's output bytes and report memory peaks (default:
        ``config.profile_memory``).
    optimizer
        Show each rewriter's time in the compile table (default:
        ``config.profile_optimizer``).  Phases are always shown.
    trace_calls
        Keep the node timeline of the last ``trace_calls`` calls for
        :meth:`write_trace` (0: none).
    trace_inner_events
        With ``trace_calls``: the node events kept per inner program (scan's
        step program), the latest ones, so the trace nests the last steps
        under their scan node (0: none).
    atexit_print
        Print the summary when the process exits (default: ``config.profile``;
        all such profiles are merged into one summary).

    Examples
    --------
    >>> import numpy as np, symarray as theano, symarray.tensor as T
    >>> x = T.dvector("x")
    >>> f = theano.function([x], T.exp(x) * 2, profile=True)
    >>> _ = f(np.ones(3)); _ = f(np.ones(3))
    >>> f.profile.functions[0].calls
    2
    >>> "Apply nodes" in f.profile.report()
    True
    """

    def __init__(self, name: str | None = None, memory: bool | None = None,
                 optimizer: bool | None = None, trace_calls: int = 0,
                 atexit_print: bool | None = None,
                 trace_inner_events: int = 10_000) -> None:
        from symarray import config

        for what, value in (("trace_calls", trace_calls),
                            ("trace_inner_events", trace_inner_events)):
            if value < 0:
                raise ValueError(f"ProfileStats: {what} must be >= 0, got {value}")
        self.name = name
        self.memory = config.profile_memory if memory is None else bool(memory)
        self.optimizer = (config.profile_optimizer if optimizer is None
                          else bool(optimizer))
        self.trace_calls = int(trace_calls)
        self.trace_inner_events = int(trace_inner_events)
        self._live: list[FunctionProfile] = []
        self._frozen: list[FunctionStats] = []
        if atexit_print is None:
            atexit_print = config.profile
        self.atexit_print = bool(atexit_print)
        if self.atexit_print:
            _register_atexit(self)

    # -- functions ---------------------------------------------------------------
    def add(self, profile: FunctionProfile) -> FunctionProfile:
        """Register a live function profile (done by the profiled Function);
        return it, or the registered one with the same recorder."""
        for p in self._live:
            if p.recorder is profile.recorder:  # a copy sharing the VM
                return p
        self._live.append(profile)
        return profile

    @property
    def functions(self) -> list[FunctionStats]:
        """A snapshot of every function's profile, in registration order."""
        return [p.snapshot() for p in self._live] + list(self._frozen)

    def reset(self) -> None:
        """Forget the calls recorded so far (compile times stay)."""
        for p in self._live:
            p.reset()
        self._frozen = []

    @classmethod
    def merge(cls, *profiles: ProfileStats, name: str | None = None) -> ProfileStats:
        """One ProfileStats holding snapshots of all functions of ``profiles``."""
        out = cls(name=name, memory=any(p.memory for p in profiles),
                  optimizer=any(p.optimizer for p in profiles), atexit_print=False)
        for p in profiles:
            out._frozen.extend(p.functions)
        return out

    # -- Theano's attribute names ------------------------------------------------
    @property
    def message(self) -> str:
        return self.name or ""

    @property
    def fct_callcount(self) -> int:
        return sum(f.calls for f in self.functions)

    @property
    def fct_call_time(self) -> float:
        return sum(f.call_time for f in self.functions)

    @property
    def vm_call_time(self) -> float:
        return sum(f.vm_time for f in self.functions)

    @property
    def compile_time(self) -> float:
        return sum(f.compile.total for f in self.functions)

    @property
    def optimizer_time(self) -> float:
        return sum(f.compile.stages.get("rewrite", 0.0) for f in self.functions)

    @property
    def linker_time(self) -> float:
        return sum(f.compile.stages.get("assembly", 0.0) for f in self.functions)

    # -- reports -----------------------------------------------------------------
    def report(self, n_ops_to_print: int = 20, n_apply_to_print: int = 20) -> str:
        """The text report (see :func:`symarray.profiling.report.text_report`)."""
        from symarray.profiling.report import text_report

        return text_report(self.functions, title=self.name, optimizer=self.optimizer,
                           n_ops=n_ops_to_print, n_apply=n_apply_to_print)

    def summary(self, file: IO[str] | None = None, n_ops_to_print: int = 20,
                n_apply_to_print: int = 20) -> None:
        """Print the text report to ``file`` (default ``sys.stderr``, as Theano)."""
        out = sys.stderr if file is None else file
        print(self.report(n_ops_to_print, n_apply_to_print), file=out)

    #: Theano's older name of :meth:`summary`
    print_summary = summary

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "symarray-profile",
            "version": JSON_VERSION,
            "name": self.name,
            "memory": self.memory,
            "optimizer": self.optimizer,
            "functions": [f.to_dict() for f in self.functions],
        }

    def to_json(self, indent: int | None = 1) -> str:
        """The profile as JSON text (:meth:`from_json` reads it back)."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProfileStats:
        if d.get("format") != "symarray-profile":
            raise ValueError(
                "not a symarray profile: the JSON has no \"format\": "
                "\"symarray-profile\" entry; write it with ProfileStats.save()"
            )
        if d.get("version", 0) > JSON_VERSION:
            raise ValueError(
                f"the profile was written by a newer symarray (JSON version "
                f"{d['version']}, this one reads up to {JSON_VERSION}); upgrade "
                "symarray"
            )
        out = cls(name=d.get("name"), memory=d.get("memory", False),
                  optimizer=d.get("optimizer", False), atexit_print=False)
        out._frozen = [FunctionStats.from_dict(f) for f in d.get("functions", [])]
        return out

    @classmethod
    def from_json(cls, text: str) -> ProfileStats:
        """A ProfileStats (snapshots only) from :meth:`to_json`'s text."""
        return cls.from_dict(json.loads(text))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_json` to ``path`` (``python -m symarray.profiling
        report path`` renders it)."""
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ProfileStats:
        """Read a profile written by :meth:`save`."""
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        try:
            return cls.from_json(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{os.fspath(path)} is not JSON ({err}); expected a file "
                             "written by ProfileStats.save()") from None

    def write_trace(self, path: str | os.PathLike[str]) -> int:
        """Write the traced calls as a Chrome / Perfetto trace; return the
        number of node events (see :mod:`symarray.profiling.trace`)."""
        from symarray.profiling.trace import write_trace

        return write_trace(self.functions, path)

    def picture(self, path: str | os.PathLike[str], format: str | None = None,
                function: int = 0) -> str:
        """Draw function ``function``'s graph, nodes coloured by time share
        (see :func:`symarray.profiling.picture.render`); return the path."""
        from symarray.profiling.picture import render

        return render(self.functions, path, format=format, function=function)

    def __repr__(self) -> str:
        n = len(self._live) + len(self._frozen)
        title = f" {self.name!r}" if self.name else ""
        return f"<ProfileStats{title}: {n} function{'s' if n != 1 else ''}>"


def _register_atexit(stats: ProfileStats) -> None:
    global _atexit_registered
    _ATEXIT.append(stats)
    if not _atexit_registered:
        import atexit

        atexit.register(print_atexit_profiles)
        _atexit_registered = True


def print_atexit_profiles(file: IO[str] | None = None) -> None:
    """Print one merged summary of every profile made with ``atexit_print``
    (what ``config.profile`` prints when the process exits)."""
    stats = [s for s in _ATEXIT if s._live or s._frozen]
    if not stats:
        return
    merged = ProfileStats.merge(*stats, name="all profiled functions (config.profile)")
    merged.summary(file=file)
