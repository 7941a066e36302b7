"""Linkers: turn a rewritten FunctionGraph into a callable VM.

One registry maps linker names to factories ``(fgraph, schedule, allow_gc)
-> vm`` where ``vm(input_values) -> output_values``.  Until the Cython VM and
the C kernels land, every name runs the Python VM over ``perform`` thunks
(``c|py``, ``vm`` and ``cvm`` are accepted so Theano code runs unchanged);
``*_nogc`` twins keep intermediates between calls.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Any

from symarray.errors import ConfigError
from symarray.graph.basic import Apply
from symarray.graph.fg import FunctionGraph
from symarray.vm import PyVM, build_program, make_py_thunk

__all__ = ["register_linker", "check_linker", "make_vm", "LINKERS"]

LinkerFactory = Callable[[FunctionGraph, Sequence[Apply], bool], Any]
LINKERS: dict[str, LinkerFactory] = {}


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


@register_linker("py", "c|py", "vm", "cvm")
def _python_vm(
    fgraph: FunctionGraph, schedule: Sequence[Apply], allow_gc: bool
) -> PyVM:
    program = build_program(fgraph.inputs, fgraph.outputs, schedule, make_py_thunk,
                            allow_gc=allow_gc)
    return PyVM(program)
