"""The assembler: a scheduled graph -> a :class:`~symarray.vm.program.Program`.

Steps:

1. Number the cells: the graph inputs first, then every variable in
   schedule order (constants are filled once), then any output not seen.
2. Make one thunk per node with the given factory (``node -> CyThunk``;
   the linker decides which backend makes it) and bind it to its cells.
3. GC mode: a cell is freed after its last reader ran (a FREE instruction
   after that CALL) unless it is an input, an output or a constant; a node
   output nobody reads is freed right after the node.  Tiny results (a
   static size of at most :data:`SMALL_BYTES`, not views: the scalars of a
   condition or a loss) are kept between calls as in no-GC mode, so their
   kernels write into last call's array instead of allocating one.
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
   writes into a buffer that a returned array views.  ``keep_outputs``
   (no-GC mode, ``Out(borrow=True)``) leaves the cells of those outputs
   filled when nothing else aliases them: the next call's kernels write
   into the returned arrays.

No-GC mode with a memory plan (:mod:`symarray.vm.memplan`): every variable
of a planned group gets the cell of the group's first member, so
intermediates with disjoint lifetimes reuse one buffer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from symarray.control.branches import BranchPlan, plan_branches
from symarray.graph.basic import Apply, Constant, Variable
from symarray.vm._cvm import CyStorage
from symarray.vm.memplan import MemoryPlan, static_nbytes
from symarray.vm.program import Opcode, Program

__all__ = ["build_program", "ThunkFactory", "SMALL_BYTES"]

#: GC mode keeps node results of at most this many bytes (static shapes)
SMALL_BYTES = 64

#: makes the (unbound) thunk of a node
ThunkFactory = Callable[[Apply], Any]


def build_program(
    inputs: Sequence[Variable],
    outputs: Sequence[Variable],
    schedule: Sequence[Apply],
    make_thunk: ThunkFactory,
    allow_gc: bool = True,
    memory_plan: MemoryPlan | None = None,
    keep_outputs: Sequence[int] = (),
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
    memory_plan
        No-GC mode: the planned variables share cells as the plan says
        (made by :func:`~symarray.vm.memplan.plan_memory` for this schedule).
    keep_outputs
        No-GC mode: indices of outputs whose buffers the next call may
        write into (``Out(borrow=True)``).
    """
    plan = plan_branches(schedule, outputs)
    if plan is not None:
        schedule = plan.order
    if memory_plan is not None:
        if allow_gc:
            raise ValueError("build_program: a memory plan is for no-GC mode; pass "
                             "allow_gc=False or no memory_plan")
        if list(memory_plan.order) != list(schedule):
            raise ValueError("build_program: the memory plan was made for another "
                             "schedule; plan_memory(fgraph, schedule) again")
    cell_of: dict[Variable, int] = {}
    constants: dict[int, Any] = {}
    n_cells = 0

    def cell(var: Variable) -> int:
        nonlocal n_cells
        idx = cell_of.get(var)
        if idx is None:
            rep = var if memory_plan is None else memory_plan.representative(var)
            idx = cell_of.get(rep)
            if idx is None:
                idx = cell_of[rep] = n_cells
                n_cells += 1
                if isinstance(rep, Constant):
                    constants[idx] = rep.data
            cell_of[var] = idx
        return idx

    input_cells = tuple(cell(v) for v in inputs)
    node_inputs: list[tuple[int, ...]] = []
    node_outputs: list[tuple[int, ...]] = []
    for node in schedule:
        node_inputs.append(tuple(cell(v) for v in node.inputs))
        node_outputs.append(tuple(cell(v) for v in node.outputs))
    output_cells = tuple(cell(v) for v in outputs)

    storage = CyStorage(n_cells, constants)
    small = _small_nodes(schedule) if allow_gc else set()
    thunks = []
    for node, ins, outs in zip(schedule, node_inputs, node_outputs, strict=True):
        thunk = make_thunk(node)
        thunk.bind(storage, ins, outs, not allow_gc or node in small)
        thunks.append(thunk)

    keep = set(input_cells) | set(output_cells) | set(constants)
    keep.update(cell_of[v] for node in small for v in node.outputs)
    free_after = _free_lists(node_inputs, node_outputs, keep, allow_gc,
                             _use_points(plan, schedule))
    code, free_lists = _emit(free_after, plan, cell_of)
    operands, node_operands = _operands(node_inputs, node_outputs)
    kept = () if allow_gc else tuple(keep_outputs)
    after = _after_call(schedule, cell_of, input_cells, output_cells, constants,
                        kept)
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
        memory_plan=memory_plan,
        kept_outputs=tuple(k for k in kept if output_cells[k] not in after),
    )


def _small_nodes(schedule: Sequence[Apply]) -> set[Apply]:
    """The nodes whose results GC mode keeps between calls: every output of
    a static size of at most SMALL_BYTES and owning its memory (a small
    view could keep a big base alive)."""
    small: set[Apply] = set()
    for node in schedule:
        if getattr(node.op, "view_map", None) or getattr(node.op, "destroy_map", None):
            continue
        sizes = [static_nbytes(v) for v in node.outputs]
        if sizes and all(n is not None and n <= SMALL_BYTES for n in sizes):
            small.add(node)
    return small


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
                constants: dict[int, Any], keep_outputs: Sequence[int] = ()
                ) -> tuple[int, ...]:
    """The cells emptied after every call: inputs, outputs and every cell
    whose memory they may share.  An output in ``keep_outputs`` stays
    filled when its memory is the VM's alone (no input, constant or other
    output shares it)."""
    roots = _alias_roots(schedule, cell_of)

    def root(c: int) -> frozenset[int]:
        return roots.get(c, frozenset((c,)))

    wanted = {k for k in keep_outputs if 0 <= k < len(output_cells)}
    others: set[int] = set(input_cells) | set(constants)
    for k, c in enumerate(output_cells):
        if k not in wanted:
            others |= root(c) | {c}
    kept: set[int] = set()
    for k in sorted(wanted):
        c = output_cells[k]
        if not (root(c) | {c}) & others:
            kept |= root(c) | {c}
    touched = set(input_cells)
    for c in output_cells:
        if c not in kept:
            touched |= root(c)
    after = set(input_cells) | (set(output_cells) - kept)
    for c, r in roots.items():
        if r & touched:
            after.add(c)
    return tuple(sorted(after - set(constants)))


def _outputs_fresh(outputs: Sequence[Variable], thunks: list[Any],
                   schedule: Sequence[Apply]) -> bool:
    """True when every output is memory the VM's C thunks allocated (see
    :func:`aliasing_outputs`; ``py`` and ``numpy`` thunks run ``perform``)."""
    thunk_of = {node: t for node, t in zip(schedule, thunks, strict=True)}
    return not aliasing_outputs(outputs, thunk_of,
                                lambda backend: backend not in (None, "py", "numpy"))


def aliasing_outputs(outputs: Sequence[Variable], thunk_of: Mapping[Apply, Any],
                     fresh: Callable[[str | None], bool]) -> list[int]:
    """Positions of the ``outputs`` that may share memory with an argument
    or a constant: those whose view/destroy chain reaches a graph input or
    a constant, or passes a node whose thunk's backend is not ``fresh``
    (``perform`` may return an input although the op declares no view)."""
    aliasing = []
    for k, out in enumerate(outputs):
        stack, seen = [out], {out}
        while stack:  # no recursion: in-place chains can be 10,000s of nodes long
            var = stack.pop()
            node = var.owner
            if node is None or not fresh(getattr(thunk_of.get(node), "backend", None)):
                aliasing.append(k)
                break
            j = node.outputs.index(var)
            sources = list((getattr(node.op, "view_map", None) or {}).get(j, ()))
            sources += (getattr(node.op, "destroy_map", None) or {}).get(j, ())
            for i in sources:
                if node.inputs[i] not in seen:
                    seen.add(node.inputs[i])
                    stack.append(node.inputs[i])
    return aliasing
