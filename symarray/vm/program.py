"""Program: a scheduled graph as bytecode, thunks and storage cells.

The assembler (:mod:`symarray.vm.assembler`) numbers every variable the
schedule touches (a storage *cell* in a :class:`~symarray.vm._cvm.CyStorage`
arena), makes and binds one thunk per node and emits the bytecode: flat
int32 arrays that the Cython VM (:class:`~symarray.vm._cvm.CyVM`) and its
Python twin (:class:`~symarray.vm.pyvm.PyVM`) both run, with the same
semantics.

Bytecode: ``code`` is an ``(n, 3)`` int32 array, one instruction per row,
``(opcode, a, b)``:

================  ============================================================
``HALT``          stop; the outputs are in their cells
``CALL k``        run thunk ``k`` (node ``k`` of the schedule)
``FREE off``      empty the cells listed at ``free_lists[off]`` (a count,
                  then the cell numbers): GC mode, after a cell's last reader
``JUMP t``        continue at instruction ``t``
``JUMP_IF_FALSE`` ``c t``: continue at ``t`` when cell ``c`` holds a false
                  value (lazy ``ifelse``)
``LOOP``          reserved for scan's inner loop
================  ============================================================

``operands`` lists each node's cells (``node_operands[k]`` is the offset of
node ``k``'s entry: the number of inputs, of outputs, then the input cells
and the output cells); the same numbers are kept as Python tuples in
``node_inputs``/``node_outputs`` for tools.  :func:`disassemble` prints a
Program readably.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

from symarray.graph.basic import Apply, Variable

__all__ = ["Program", "Opcode", "disassemble"]


class Opcode(IntEnum):
    """Bytecode operations (the numbers compiled into the Cython VM)."""

    HALT = 0
    CALL = 1
    FREE = 2
    JUMP = 3
    JUMP_IF_FALSE = 4
    LOOP = 5


@dataclass(eq=False)
class Program:
    """Everything a VM needs to run a scheduled graph."""

    nodes: list[Apply]
    #: the storage arena (``cells[i]`` is cell ``i``'s value, None if empty)
    cells: Any
    #: cell number of each variable
    cell_of: dict[Variable, int]
    #: one bound thunk per node (``CyThunk`` objects; ``.backend`` names it)
    thunks: list[Any]
    #: per node: cell numbers of its inputs / outputs
    node_inputs: list[tuple[int, ...]]
    node_outputs: list[tuple[int, ...]]
    #: per node: cells freed after it ran (GC mode); empty tuples without GC
    free_after: list[tuple[int, ...]]
    input_cells: tuple[int, ...]
    output_cells: tuple[int, ...]
    allow_gc: bool = True
    #: cells that hold constants (filled once, never emptied)
    constant_cells: tuple[int, ...] = field(default=())
    #: the graph's input and output variables
    inputs: list[Variable] = field(default_factory=list)
    outputs: list[Variable] = field(default_factory=list)
    #: bytecode: (n, 3) int32 rows ``(opcode, a, b)``
    code: np.ndarray = field(default_factory=lambda: np.zeros((1, 3), np.int32))
    #: FREE operands: at each offset a count, then that many cell numbers
    free_lists: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    #: per node ``[n_in, n_out, in cells..., out cells...]``, flat
    operands: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    #: offset of each node's entry in ``operands``
    node_operands: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    #: cells emptied after every call: inputs, outputs and the cells whose
    #: memory they may share, so that the VM keeps no argument alive and
    #: never writes into a returned array
    after_call: tuple[int, ...] = field(default=())
    #: every output is written by a C thunk into memory the VM owns, so no
    #: output can alias an argument (lets Function skip its alias guard)
    outputs_fresh: bool = False
    #: no-GC mode: the plan of which intermediates share a cell (None: every
    #: variable has its own cell); see :mod:`symarray.vm.memplan`
    memory_plan: Any = None
    #: no-GC mode: outputs whose cells keep their arrays between calls
    #: (``Out(borrow=True)``): the next call may write into a returned array
    kept_outputs: tuple[int, ...] = field(default=())

    @property
    def n_instructions(self) -> int:
        return int(self.code.shape[0])


def disassemble(program: Program) -> str:
    """A readable listing of ``program``: one line per instruction.

    ``%N`` is cell N.  CALL lines show the node's output cells, op, input
    cells and, in one column, the thunk's backend (``c``: a C kernel,
    ``numpy``/``py``: the op's ``perform``); FREE lines the cells they
    empty.  Constants are listed with their values; with a memory plan
    (no-GC mode), the cells that several variables share.

    Examples
    --------
    >>> import symarray as theano, symarray.tensor as T
    >>> x = T.dvector("x")
    >>> f = theano.function([x], T.exp(x) * x,
    ...                     mode=theano.Mode(linker="cvm", optimizer=None))
    >>> print(disassemble(f.vm.program))  # doctest: +NORMALIZE_WHITESPACE
    program: 2 nodes, 3 cells, 4 instructions, gc on
    inputs   %0=x
       0  CALL  %1 = exp(%0)      [c]
       1  CALL  %2 = mul(%1, %0)  [c]
       2  FREE  %1
       3  HALT
    outputs  %2
    """
    names: dict[int, list[str]] = {}
    for var, idx in program.cell_of.items():
        names.setdefault(idx, []).append(str(var))
    gc = "on" if program.allow_gc else "off"
    lines = [
        f"program: {len(program.nodes)} nodes, {len(program.cells)} cells, "
        f"{program.n_instructions} instructions, gc {gc}",
        "inputs   " + ", ".join(f"%{c}={names[c][0]}" for c in program.input_cells),
    ]
    if program.constant_cells:
        consts = ", ".join(
            f"%{c}={_short(program.cells[c])}" for c in program.constant_cells
        )
        lines.append(f"constants {consts}")
    shared = [(c, n) for c, n in sorted(names.items()) if len(n) > 1]
    if shared:
        lines.append("shared   " + "; ".join(
            f"%{c}={'|'.join(n)}" for c, n in shared))
    rows: list[tuple[int, str, str, str]] = []  # pc, opcode, operands, backend
    free_lists = program.free_lists
    for pc, (op, a, b) in enumerate(program.code.tolist()):
        name = Opcode(op).name if op in Opcode._value2member_map_ else f"?{op}"
        backend = ""
        if op == Opcode.CALL:
            ins = ", ".join(f"%{c}" for c in program.node_inputs[a])
            outs = ", ".join(f"%{c}" for c in program.node_outputs[a])
            body = f"{outs} = {program.nodes[a].op}({ins})"
            backend = f"[{getattr(program.thunks[a], 'backend', '?')}]"
        elif op == Opcode.FREE:
            n = int(free_lists[a])
            body = ", ".join(f"%{c}" for c in free_lists[a + 1:a + 1 + n].tolist())
        elif op == Opcode.JUMP:
            body = f"-> {a}"
        elif op == Opcode.JUMP_IF_FALSE:
            body = f"%{a} -> {b}"
        else:
            body = ""
        rows.append((pc, name, body, backend))
    # the backend column starts after the widest CALL (up to a limit: a
    # longer one, e.g. a big fused Composite, just pushes its own tag right)
    width = max((len(body) for _, _, body, backend in rows
                 if backend and len(body) <= _BACKEND_COLUMN), default=0)
    pc_width = max(4, len(str(len(rows) - 1)))
    for pc, name, body, backend in rows:
        text = f"{body:<{width}}  {backend}" if backend else body
        lines.append(f"{pc:>{pc_width}}  {name:<4}  {text}".rstrip())
    lines.append(f"outputs  {', '.join(f'%{c}' for c in program.output_cells)}")
    return "\n".join(lines)


#: widest CALL text that the backend column is aligned after
_BACKEND_COLUMN = 56


def _short(value: Any, limit: int = 40) -> str:
    """A one-line rendering of a constant, cut at ``limit`` characters."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        text = repr(value.item())
    elif isinstance(value, np.ndarray):
        text = np.array2string(value, threshold=6, separator=", ")
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
