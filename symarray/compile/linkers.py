"""Linkers: turn a rewritten, scheduled FunctionGraph into a callable VM.

One registry maps linker names to factories ``(fgraph, schedule, allow_gc)
-> vm`` where ``vm(input_values) -> output_values``.  Each factory picks
the thunks (which backend runs each node) and the VM that runs the
assembled Program:

==============  =================================  ============================
linker          thunks                             VM
==============  =================================  ============================
``py``          every node's ``perform``           Python twin (``PyVM``)
``vm``          C kernels where available, else    Python twin (``PyVM``)
                ``perform``
``cvm``,        C kernels where available, else    Cython VM (``CyVM``)
``c|py``        ``perform``
==============  =================================  ============================

Every name has a ``_nogc`` twin (``cvm_nogc``, ``c|py_nogc``...) that keeps
intermediates between calls, so kernels write into last call's buffers;
``config.allow_gc = False`` has the same effect on the plain names.  No-GC
linkers plan memory (:func:`memory_plan`, ``config.memory_plan``):
intermediates whose lifetimes do not overlap and whose shapes are equal
share one cell, so the kept buffers add up to about GC mode's peak.

Returned arrays are not overwritten by a later call: the cells of the
outputs (and of anything they view) are emptied after every call.  The
exception is ``Out(borrow=True)`` in no-GC mode: a borrowed output's array
stays in its cell (when no input, constant or other output shares its
memory), so the next call writes its result into the same array, without
allocating.  Keep a borrowed result only until the next call, or copy it.
In GC mode ``borrow=True`` only skips the copy that ``Function`` makes of
an output aliasing an input or another output.

Threads: a VM runs one call at a time (its storage is shared by the
calls).  A call from a second thread waits until the running one ends (the
GIL is released while it waits); a call from inside a running call (an op
calling its own function) raises RuntimeError.  ``Function.copy()`` makes a
function with its own VM and storage, which runs in parallel with the
original wherever the kernels release the GIL.

Backends are asked in order for a node's thunk (:data:`BACKENDS`); the
first that returns one wins, and the op's ``perform`` is the fallback.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from symarray.errors import ConfigError
from symarray.graph.basic import Apply, Variable
from symarray.graph.fg import FunctionGraph
from symarray.vm import CyVM, PyVM, build_program, make_py_thunk
from symarray.vm.memplan import MemoryPlan, ShapeClasses, layout, plan_memory

__all__ = ["register_linker", "check_linker", "make_vm", "make_thunk", "LINKERS",
           "BACKENDS", "backend_table", "memory_plan", "shape_keys"]

LinkerFactory = Callable[[FunctionGraph, Sequence[Apply], bool], Any]
LINKERS: dict[str, LinkerFactory] = {}


def _c_thunk(node: Apply) -> Any:
    from symarray import kernels_c

    return kernels_c.make_thunk(node)


#: backend name -> ``node -> thunk or None``, asked in this order
BACKENDS: dict[str, Callable[[Apply], Any]] = {"c": _c_thunk}


def register_linker(*names: str) -> Callable[[LinkerFactory], LinkerFactory]:
    """Register a linker factory under ``names`` (and their ``_nogc`` twins)."""

    def deco(factory: LinkerFactory) -> LinkerFactory:
        for name in names:
            LINKERS[name] = factory
            LINKERS[f"{name}_nogc"] = factory
        return factory

    return deco


def check_linker(name: str) -> str:
    """``name`` if it is a known linker, else a ConfigError listing them."""
    if name not in LINKERS:
        import difflib  # only on the error path

        close = difflib.get_close_matches(name, LINKERS, n=3)
        raise ConfigError(
            f"unknown linker {name!r}"
            + (f"; did you mean {close}?" if close else "")
            + f"; known: {sorted(LINKERS)}"
        )
    return name


def make_vm(name: str, fgraph: FunctionGraph, schedule: Sequence[Apply],
            allow_gc: bool) -> Any:
    """Build the VM the linker ``name`` makes for a scheduled graph."""
    check_linker(name)
    if name.endswith("_nogc"):
        allow_gc = False
    return LINKERS[name](fgraph, schedule, allow_gc)


def make_thunk(node: Apply, backends: Sequence[str] = ("c",)) -> Any:
    """The thunk of the first backend in ``backends`` that handles ``node``,
    else the op's ``perform`` thunk (unbound)."""
    for name in backends:
        thunk = BACKENDS[name](node)
        if thunk is not None:
            return thunk
    return make_py_thunk(node)


def shape_keys(fgraph: FunctionGraph, schedule: Sequence[Apply]
               ) -> dict[Variable, Any]:
    """Shape keys of the graph's node outputs for :func:`plan_memory`.

    A light shape inference, one pass over ``schedule``: an unknown length
    is a placeholder (a 0-d int64 variable); an elementwise output's length
    is each input's length along the dimensions the input's type does not
    mark broadcastable (static 1), so those lengths join one class (at run
    time an input could still have length 1 there and broadcast: the cells
    then just do not reuse each other's buffers); any other op's
    ``infer_shape`` gives its outputs' entries (a failure gives fresh
    placeholders, never shared).  Unlike the rewrites' ShapeFeature it
    builds no expression for elementwise shapes, so it stays linear in the
    graph's size.
    """
    import warnings

    from symarray import config
    from symarray.tensor.elemwise import Elemwise
    from symarray.tensor.type import TensorType

    length = TensorType("int64", shape=())
    shapes: dict[Variable, tuple[Any, ...]] = {}

    def fresh(var: Variable) -> tuple[Any, ...]:
        static = getattr(var.type, "shape", None)
        if static is None:
            raise TypeError(f"{var} is not an array")
        return tuple(int(s) if s is not None else length() for s in static)

    def shape_of(var: Variable) -> tuple[Any, ...]:
        got = shapes.get(var)
        if got is None:
            got = shapes[var] = fresh(var)
        return got

    def entries(out: Variable, got: Any) -> tuple[Any, ...]:
        result = list(fresh(out))
        if isinstance(got, (list, tuple)) and len(got) == len(result):
            for d, e in enumerate(got):
                if isinstance(result[d], int):
                    continue  # a static length wins
                if isinstance(e, (int, np.integer)) and not isinstance(e, bool):
                    result[d] = int(e)
                elif isinstance(e, Variable) and _is_length(e):
                    result[d] = e
        return tuple(result)

    classes = ShapeClasses(shape_of)
    with config.change_flags(compute_test_value="off"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for node in schedule:
            tensors = [getattr(v.type, "shape", None) is not None for v in node.inputs]
            if isinstance(node.op, Elemwise):
                for out in node.outputs:
                    o = shape_of(out)
                    for inp, is_tensor in zip(node.inputs, tensors, strict=True):
                        static = inp.type.shape if is_tensor else ()  # type: ignore
                        if len(static) != len(o):
                            continue
                        for d, e in enumerate(shape_of(inp)):
                            if static[d] != 1:
                                classes.union(e, o[d])
                continue
            in_shapes: list[Any] = [shape_of(v) if t else None
                                    for v, t in zip(node.inputs, tensors, strict=True)]
            try:
                got = node.op.infer_shape(fgraph, node, in_shapes)
            except Exception:  # noqa: BLE001 - unknown shapes are just not shared
                got = None
            for k, out in enumerate(node.outputs):
                if getattr(out.type, "shape", None) is not None and out not in shapes:
                    one = got[k] if isinstance(got, (list, tuple)) and len(got) == len(
                        node.outputs) else None
                    shapes[out] = entries(out, one)
    return {out: classes.key(out) for node in schedule for out in node.outputs}


def _is_length(var: Variable) -> bool:
    """A 0-d integer variable (what ``infer_shape`` gives for a length)."""
    dtype = str(getattr(var.type, "dtype", ""))
    return getattr(var.type, "ndim", None) == 0 and dtype.startswith(("int", "uint"))


def memory_plan(fgraph: FunctionGraph, schedule: Sequence[Apply],
                sizes: Any = None) -> MemoryPlan:
    """The memory plan the no-GC linkers use for ``schedule`` (symbolic
    shapes from :func:`shape_keys`); ``sizes`` as for :func:`plan_memory`.

    >>> import symarray as theano, symarray.tensor as T
    >>> x = T.dmatrix("x")
    >>> f = theano.function([x], T.tanh(T.exp(T.sin(x)) + 1.0).sum(),
    ...                     mode=theano.Mode(linker="cvm_nogc", optimizer=None))
    >>> plan = memory_plan(f.maker.fgraph, f.maker.schedule)
    >>> [[str(v.owner.op) for v in cell] for cell in plan.groups]
    [['sin', 'add'], ['exp', 'tanh']]
    """
    keys = shape_keys(fgraph, layout(schedule, fgraph.outputs))
    return plan_memory(fgraph, schedule, sizes, shape_key=keys.get)


def _program(fgraph: FunctionGraph, schedule: Sequence[Apply], allow_gc: bool,
             backends: Sequence[str]) -> Any:
    from symarray import config

    plan = memory_plan(fgraph, schedule) if (
        not allow_gc and config.memory_plan) else None
    spent = 0.0

    def thunk(node: Apply) -> Any:  # timed for the profiler's compile table
        nonlocal spent
        start = time.perf_counter()
        try:
            return make_thunk(node, backends)
        finally:
            spent += time.perf_counter() - start

    program = build_program(fgraph.inputs, fgraph.outputs, schedule, thunk,
                            allow_gc=allow_gc, memory_plan=plan,
                            keep_outputs=getattr(fgraph, "borrowed_outputs", ()))
    # seconds making thunks (read by symarray.profiling)
    program.thunk_time = spent  # type: ignore[attr-defined]
    if config.print_thunk_backends:
        print(backend_table(program))
    return program


def backend_table(program: Any) -> str:
    """Each node of ``program`` and the backend of its thunk (``c``: a C
    kernel, ``numpy``: an op that stays on NumPy, ``py``: another ``perform``);
    what ``config.print_thunk_backends`` prints at compile time."""
    backends = [str(getattr(t, "backend", "?")) for t in program.thunks]
    counts = {b: backends.count(b) for b in sorted(set(backends))}
    summary = ", ".join(f"{b}: {n}" for b, n in counts.items())
    lines = [f"thunk backends: {len(backends)} nodes ({summary})",
             f"{'#':>4}  {'backend':<8} node"]
    for k, (node, backend) in enumerate(zip(program.nodes, backends, strict=True)):
        text = str(node)
        text = text if len(text) <= 70 else text[:67] + "..."
        lines.append(f"{k:>4}  {backend:<8} {text}")
    return "\n".join(lines)


@register_linker("py")
def _python_vm_perform(fgraph: FunctionGraph, schedule: Sequence[Apply],
                       allow_gc: bool) -> PyVM:
    return PyVM(_program(fgraph, schedule, allow_gc, ()))


@register_linker("vm")
def _python_vm(fgraph: FunctionGraph, schedule: Sequence[Apply],
               allow_gc: bool) -> PyVM:
    return PyVM(_program(fgraph, schedule, allow_gc, ("c",)))


@register_linker("cvm", "c|py")
def _cython_vm(fgraph: FunctionGraph, schedule: Sequence[Apply],
               allow_gc: bool) -> CyVM:
    from symarray import config
    from symarray.vm._pool import set_limit_mb

    set_limit_mb(config.buffer_pool_mb)  # the pool is process-wide
    return CyVM(_program(fgraph, schedule, allow_gc, ("c",)))
