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
``config.allow_gc = False`` has the same effect on the plain names.
Returned arrays are never overwritten by a later call: the cells of the
outputs (and of anything they view) are emptied after every call, so
``Out(borrow=True)`` only skips the copy that ``Function`` makes of an
output aliasing an input or another output.

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

import difflib
from collections.abc import Callable, Sequence
from typing import Any

from symarray.errors import ConfigError
from symarray.graph.basic import Apply
from symarray.graph.fg import FunctionGraph
from symarray.vm import CyVM, PyVM, build_program, make_py_thunk

__all__ = ["register_linker", "check_linker", "make_vm", "make_thunk", "LINKERS",
           "BACKENDS"]

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


def _program(fgraph: FunctionGraph, schedule: Sequence[Apply], allow_gc: bool,
             backends: Sequence[str]) -> Any:
    return build_program(fgraph.inputs, fgraph.outputs, schedule,
                         lambda node: make_thunk(node, backends), allow_gc=allow_gc)


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
    return CyVM(_program(fgraph, schedule, allow_gc, ("c",)))
