"""Program: a scheduled graph flattened into cells, thunks and free lists.

The compile step hands the VM a *schedule* (Apply nodes in execution order).
:func:`build_program` numbers every variable the schedule touches (a
storage *cell*: a one-element list holding the current value), makes one
thunk per node, and computes, for GC mode, which cells can be freed after
each node (those whose last reader just ran and that are neither inputs nor
outputs nor constants).

The Python VM (:mod:`symarray.vm.pyvm`) runs a Program; the Cython VM of the
VM issue will run the same Program from its integer arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from symarray.graph.basic import Apply, Constant, Variable

__all__ = ["Program", "build_program", "disassemble", "ThunkFactory"]

Cell = list  # a one-element list: [value or None]
Thunk = Callable[[], None]
ThunkFactory = Callable[[Apply, list[Cell], list[Cell]], Thunk]


@dataclass
class Program:
    """Everything a VM needs to run a scheduled graph."""

    nodes: list[Apply]
    #: one cell per variable; ``cell_of[var]`` is its index
    cells: list[Cell]
    cell_of: dict[Variable, int]
    thunks: list[Thunk]
    #: per node: cell indices of its inputs / outputs
    node_inputs: list[tuple[int, ...]]
    node_outputs: list[tuple[int, ...]]
    #: per node: cells to free after it ran (GC mode); empty lists without GC
    free_after: list[tuple[int, ...]]
    input_cells: tuple[int, ...]
    output_cells: tuple[int, ...]
    allow_gc: bool = True
    #: cells that hold constants (filled once, never freed)
    constant_cells: tuple[int, ...] = field(default=())


def build_program(
    inputs: Sequence[Variable],
    outputs: Sequence[Variable],
    schedule: Sequence[Apply],
    make_thunk: ThunkFactory,
    allow_gc: bool = True,
) -> Program:
    """Number the variables of ``schedule`` and make one thunk per node."""
    cells: list[Cell] = []
    cell_of: dict[Variable, int] = {}
    constants: list[int] = []

    def cell(var: Variable) -> int:
        idx = cell_of.get(var)
        if idx is None:
            idx = cell_of[var] = len(cells)
            cells.append([var.data if isinstance(var, Constant) else None])
            if isinstance(var, Constant):
                constants.append(idx)
        return idx

    input_cells = tuple(cell(v) for v in inputs)
    node_inputs: list[tuple[int, ...]] = []
    node_outputs: list[tuple[int, ...]] = []
    thunks: list[Thunk] = []
    for node in schedule:
        ins = tuple(cell(v) for v in node.inputs)
        outs = tuple(cell(v) for v in node.outputs)
        node_inputs.append(ins)
        node_outputs.append(outs)
        thunks.append(
            make_thunk(node, [cells[i] for i in ins], [cells[i] for i in outs])
        )
    output_cells = tuple(cell(v) for v in outputs)

    keep = set(input_cells) | set(output_cells) | set(constants)
    last_use: dict[int, int] = {}
    for k, (ins, outs) in enumerate(zip(node_inputs, node_outputs, strict=False)):
        for i in ins:
            last_use[i] = k
        for o in outs:
            last_use.setdefault(o, k)  # an output nobody reads dies at once
    free_after: list[list[int]] = [[] for _ in schedule]
    if allow_gc:
        for c, k in last_use.items():
            if c not in keep:
                free_after[k].append(c)
    return Program(
        nodes=list(schedule),
        cells=cells,
        cell_of=cell_of,
        thunks=thunks,
        node_inputs=node_inputs,
        node_outputs=node_outputs,
        free_after=[tuple(sorted(f)) for f in free_after],
        input_cells=input_cells,
        output_cells=output_cells,
        allow_gc=allow_gc,
        constant_cells=tuple(constants),
    )


def disassemble(program: Program) -> str:
    """A readable listing of ``program``: one line per node.

    ``%N`` is cell N; each node line shows its output cells, op and input
    cells, and (GC mode) the cells freed after it.  Constants are listed
    with their values.

    Examples
    --------
    >>> import symarray as theano, symarray.tensor as T
    >>> x = T.dvector("x")
    >>> f = theano.function([x], T.exp(x) * x, mode=theano.Mode(optimizer=None))
    >>> print(disassemble(f.vm.program))  # doctest: +NORMALIZE_WHITESPACE
    program: 2 nodes, 3 cells, gc on
    inputs   %0=x
       0  %1 = exp(%0)
       1  %2 = mul(%1, %0)    free %1
    outputs  %2
    """
    names = {idx: str(var) for var, idx in program.cell_of.items()}
    gc = "on" if program.allow_gc else "off"
    lines = [
        f"program: {len(program.nodes)} nodes, {len(program.cells)} cells, gc {gc}",
        f"inputs   {', '.join(f'%{c}={names[c]}' for c in program.input_cells)}",
    ]
    if program.constant_cells:
        consts = ", ".join(f"%{c}={names[c]}" for c in program.constant_cells)
        lines.append(f"constants {consts}")
    for k, node in enumerate(program.nodes):
        ins = ", ".join(f"%{c}" for c in program.node_inputs[k])
        outs = ", ".join(f"%{c}" for c in program.node_outputs[k])
        free = program.free_after[k]
        tail = f"    free {', '.join(f'%{c}' for c in free)}" if free else ""
        lines.append(f"{k:4d}  {outs} = {node.op}({ins}){tail}")
    lines.append(f"outputs  {', '.join(f'%{c}' for c in program.output_cells)}")
    return "\n".join(lines)
