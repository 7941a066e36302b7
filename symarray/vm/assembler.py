"""The assembler: a scheduled graph -> a :class:`~symarray.vm.program.Program`.

Steps:

1. Number the cells: the graph inputs first, then every variable in
   schedule order (constants are filled once), then any output not seen.
2. Make one thunk per node with the given factory (``node -> CyThunk``;
   the linker decides which backend makes it) and bind it to its cells.
3. GC mode: a cell is freed after its last reader ran (a FREE instruction
   after that CALL) unless it is an input, an output or a constant; a node
   output nobody reads is freed right after the node.
4. Emit the bytecode (``CALL k`` per node, ``FREE`` where needed, ``HALT``)
   and the flat operand arrays.  A schedule with lazy ``ifelse`` nodes is
   first laid out in branch blocks (:func:`~symarray.control.branches.
   plan_branches`): ``JUMP_IF_FALSE``/``JUMP`` skip the untaken block, and
   a value read inside a block is freed after the ``ifelse`` that holds
   the block unless it was made in that block.
5. Work out ``after_call``: the cells emptied after every call, in both
   modes.  They are the inputs, the outputs and every cell whose value may
   share memory with them, following the ops' ``view_map``/``destroy_map``.
   So the VM never keeps an argument alive, and in no-GC mode no kernel
   writes into a buffer that a returned array views.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from symarray.control.branches import BranchPlan, plan_branches
from symarray.graph.basic import Apply, Constant, Variable
from symarray.vm._cvm import CyStorage
from symarray.vm.program import Opcode, Program

__all__ = ["build_program", "ThunkFactory"]

#: makes the (unbound) thunk of a node
ThunkFactory = Callable[[Apply], Any]


def build_program(
    inputs: Sequence[Variable],
    outputs: Sequence[Variable],
    schedule: Sequence[Apply],
    make_thunk: ThunkFactory,
    allow_gc: bool = True,
) -> Program:
    """Assemble ``schedule`` into a Program with one bound thunk per node.

    Parameters
    ----------
    inputs, outputs
        The graph's input and output variables (values are passed and
        returned in this order).
    schedule
        The Apply nodes in execution order.
    make_thunk
        ``node -> thunk`` (a :class:`~symarray.vm._cvm.CyThunk`, unbound).
    allow_gc
        Free intermediates after their last reader (else keep them for the
        next call, whose kernels write into them).
    """
    plan = plan_branches(schedule, outputs)
    if plan is not None:
        schedule = plan.order
    cell_of: dict[Variable, int] = {}
    constants: dict[int, Any] = {}

    def cell(var: Variable) -> int:
        idx = cell_of.get(var)
        if idx is None:
            idx = cell_of[var] = len(cell_of)
            if isinstance(var, Constant):
                constants[idx] = var.data
        return idx

    input_cells = tuple(cell(v) for v in inputs)
    node_inputs: list[tuple[int, ...]] = []
    node_outputs: list[tuple[int, ...]] = []
    for node in schedule:
        node_inputs.append(tuple(cell(v) for v in node.inputs))
        node_outputs.append(tuple(cell(v) for v in node.outputs))
    output_cells = tuple(cell(v) for v in outputs)

    storage = CyStorage(len(cell_of), constants)
    thunks = []
    for node, ins, outs in zip(schedule, node_inputs, node_outputs, strict=True):
        thunk = make_thunk(node)
        thunk.bind(storage, ins, outs, not allow_gc)
        thunks.append(thunk)

    keep = set(input_cells) | set(output_cells) | set(constants)
    free_after = _free_lists(node_inputs, node_outputs, keep, allow_gc,
                             _use_points(plan, schedule))
    code, free_lists = _emit(free_after, plan, cell_of)
    operands, node_operands = _operands(node_inputs, node_outputs)
    after = _after_call(schedule, cell_of, input_cells, output_cells, constants)
    return Program(
        nodes=list(schedule),
        cells=storage,
        cell_of=cell_of,
        thunks=thunks,
        node_inputs=node_inputs,
        node_outputs=node_outputs,
        free_after=free_after,
        input_cells=input_cells,
        output_cells=output_cells,
        allow_gc=allow_gc,
        constant_cells=tuple(sorted(constants)),
        inputs=list(inputs),
        outputs=list(outputs),
        code=code,
        free_lists=free_lists,
        operands=operands,
        node_operands=node_operands,
        after_call=after,
        outputs_fresh=_outputs_fresh(outputs, thunks, schedule),
    )


def _use_points(plan: BranchPlan | None, schedule: Sequence[Apply]
                ) -> list[tuple[int, ...]] | None:
    """Per node, per input: the node after which that read is over on every
    path (None: the node itself, as in a straight-line schedule)."""
    if plan is None:
        return None
    return [tuple(plan.free_point(k, v) for v in node.inputs)
            for k, node in enumerate(schedule)]


def _free_lists(node_inputs: list[tuple[int, ...]],
                node_outputs: list[tuple[int, ...]], keep: set[int],
                allow_gc: bool, use_points: list[tuple[int, ...]] | None = None
                ) -> list[tuple[int, ...]]:
    """Per node: the cells whose last reader it is (GC mode)."""
    free_after: list[list[int]] = [[] for _ in node_inputs]
    if not allow_gc:
        return [() for _ in node_inputs]
    last_use: dict[int, int] = {}
    for k, (ins, outs) in enumerate(zip(node_inputs, node_outputs, strict=True)):
        for j, i in enumerate(ins):
            at = k if use_points is None else use_points[k][j]
            last_use[i] = max(last_use.get(i, at), at)
        for o in outs:
            last_use.setdefault(o, k)  # an output nobody reads dies at once
    for c, k in last_use.items():
        if c not in keep:
            free_after[k].append(c)
    return [tuple(sorted(f)) for f in free_after]


def _emit(free_after: list[tuple[int, ...]], plan: BranchPlan | None = None,
          cell_of: dict[Variable, int] | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """The bytecode: CALL each node, FREE after it, HALT; with a branch
    plan, its JUMP_IF_FALSE/JUMP around the blocks."""
    code: list[tuple[int, int, int]] = []
    lists: list[int] = []
    items = (plan.items if plan is not None
             else [("call", k) for k in range(len(free_after))])
    at: dict[int, int] = {}  # label -> instruction
    fixups: list[tuple[int, int]] = []  # (instruction, label)
    for item in items:
        if item[0] == "label":
            at[item[1]] = len(code)
        elif item[0] == "jif":
            fixups.append((len(code), item[2]))
            code.append((Opcode.JUMP_IF_FALSE, (cell_of or {})[item[1]], -1))
        elif item[0] == "jump":
            fixups.append((len(code), item[1]))
            code.append((Opcode.JUMP, -1, 0))
        else:
            k = item[1]
            code.append((Opcode.CALL, k, 0))
            frees = free_after[k]
            if frees:
                code.append((Opcode.FREE, len(lists), 0))
                lists.append(len(frees))
                lists.extend(frees)
    for pc, label in fixups:
        op, a, b = code[pc]
        code[pc] = (op, at[label], b) if op == Opcode.JUMP else (op, a, at[label])
    code.append((Opcode.HALT, 0, 0))
    return (np.array(code, dtype=np.int32).reshape(-1, 3),
            np.array(lists, dtype=np.int32))


def _operands(node_inputs: list[tuple[int, ...]],
              node_outputs: list[tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray]:
    flat: list[int] = []
    offsets: list[int] = []
    for ins, outs in zip(node_inputs, node_outputs, strict=True):
        offsets.append(len(flat))
        flat += [len(ins), len(outs), *ins, *outs]
    return np.array(flat, dtype=np.int32), np.array(offsets, dtype=np.int32)


def _alias_roots(schedule: Sequence[Apply], cell_of: dict[Variable, int]
                 ) -> dict[int, frozenset[int]]:
    """Per cell: the cells whose memory its value may share (itself when it
    is not a view), following ``view_map`` and ``destroy_map``."""
    roots: dict[int, frozenset[int]] = {}
    for node in schedule:
        view_map = getattr(node.op, "view_map", None) or {}
        destroy_map = getattr(node.op, "destroy_map", None) or {}
        for j, out in enumerate(node.outputs):
            sources = list(view_map.get(j, ())) + list(destroy_map.get(j, ()))
            c = cell_of[out]
            if not sources:
                roots[c] = frozenset((c,))
                continue
            r: set[int] = set()
            for i in sources:
                src = cell_of[node.inputs[i]]
                r |= roots.get(src, frozenset((src,)))
            roots[c] = frozenset(r)
    return roots


def _after_call(schedule: Sequence[Apply], cell_of: dict[Variable, int],
                input_cells: tuple[int, ...], output_cells: tuple[int, ...],
                constants: dict[int, Any]) -> tuple[int, ...]:
    roots = _alias_roots(schedule, cell_of)
    touched = set(input_cells)
    for c in output_cells:
        touched |= roots.get(c, frozenset((c,)))
    after = set(input_cells) | set(output_cells)
    for c, r in roots.items():
        if r & touched:
            after.add(c)
    return tuple(sorted(after - set(constants)))


def _outputs_fresh(outputs: Sequence[Variable], thunks: list[Any],
                   schedule: Sequence[Apply]) -> bool:
    """True when every output is memory the VM's C thunks allocated: each
    node on the output's view/destroy chain has a C thunk, and the chain
    ends at a node output (not at a graph input or a constant)."""
    thunk_of = {node: t for node, t in zip(schedule, thunks, strict=True)}
    stack = list(outputs)
    seen: set[Variable] = set()
    while stack:  # no recursion: in-place chains can be 10,000s of nodes long
        var = stack.pop()
        if var in seen:
            continue
        seen.add(var)
        node = var.owner
        if node is None or node not in thunk_of:
            return False
        if getattr(thunk_of[node], "backend", "py") == "py":
            return False
        j = node.outputs.index(var)
        view_map = getattr(node.op, "view_map", None) or {}
        destroy_map = getattr(node.op, "destroy_map", None) or {}
        sources = list(view_map.get(j, ())) + list(destroy_map.get(j, ()))
        stack.extend(node.inputs[i] for i in sources)
    return True
