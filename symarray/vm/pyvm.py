"""The Python twin of the Cython VM: runs a Program's bytecode in Python.

It executes the same instructions over the same storage arena and thunks
as :class:`~symarray.vm._cvm.CyVM` (linker ``vm``; linker ``py`` gives it
``perform`` thunks only), so the two can be compared instruction for
instruction.  In GC mode FREE instructions empty the cells whose last
reader has run.  When a thunk raises, the same exception type is re-raised
with a note that names the node, its inputs' shapes/dtypes/strides, the
user line that created it and a ``HINT:`` line (:func:`describe_failure`).

Threads: one call runs at a time per VM (a lock around the call); a call
from another thread waits, a re-entrant call from the same thread raises.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from symarray.graph.basic import Apply
from symarray.vm._cvm import CyPyThunk
from symarray.vm._cvm_profile import CyProfile
from symarray.vm.program import Opcode, Program

__all__ = ["PyVM", "ProfiledPyVM", "make_py_thunk", "describe_failure",
           "add_failure_note"]

_CALL, _FREE, _HALT = int(Opcode.CALL), int(Opcode.FREE), int(Opcode.HALT)
_JUMP, _JUMP_IF_FALSE = int(Opcode.JUMP), int(Opcode.JUMP_IF_FALSE)


def make_py_thunk(node: Apply) -> CyPyThunk:
    """The thunk that runs ``node.op.perform`` (backend ``"py"``), unbound."""
    return CyPyThunk(node)


class PyVM:
    """Runs a :class:`Program` in Python, freeing intermediates in GC mode."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self._code = [tuple(row) for row in program.code.tolist()]
        if not self._code or self._code[-1][0] != _HALT:
            raise ValueError("program.code must end with HALT")
        lists = program.free_lists.tolist()
        self._free = {off: tuple(lists[off + 1:off + 1 + lists[off]])
                      for op, off, _ in self._code if op == _FREE}
        self._lock = threading.Lock()
        self._owner: int | None = None

    @property
    def allow_gc(self) -> bool:
        return self.program.allow_gc

    def __call__(self, input_values: Sequence[Any]) -> list[Any]:
        prog = self.program
        if len(input_values) != len(prog.input_cells):
            raise TypeError(f"the program takes {len(prog.input_cells)} input "
                            f"values, got {len(input_values)}")
        self._acquire()
        try:
            cells = prog.cells
            for c, value in zip(prog.input_cells, input_values, strict=True):
                cells[c] = value
            self._run()
            results = [cells[c] for c in prog.output_cells]
            cells.clear_cells(prog.after_call)
        finally:
            self._release()
        return results

    def run(self) -> None:
        """Run on the values already in the input cells; cells stay as they are."""
        self._acquire()
        try:
            self._run()
        finally:
            self._release()

    def _run(self) -> None:
        self._loop(self.program.thunks)

    def _loop(self, calls: Sequence[Any]) -> None:
        """Run the bytecode; ``CALL k`` runs ``calls[k]()`` (the program's
        thunks, or a subclass's wrappers of them)."""
        prog = self.program
        cells, code, free = prog.cells, self._code, self._free
        pc = 0
        try:
            while True:
                op, a, b = code[pc]
                if op == _CALL:
                    calls[a]()
                    pc += 1
                elif op == _FREE:
                    for c in free[a]:
                        cells.clear(c)
                    pc += 1
                elif op == _HALT:
                    return
                elif op == _JUMP:
                    pc = a
                elif op == _JUMP_IF_FALSE:
                    if cells[a] is None:
                        raise RuntimeError("JUMP_IF_FALSE reads an empty cell")
                    pc = pc + 1 if cells[a] else b
                else:
                    raise NotImplementedError(
                        f"opcode {op} at instruction {pc} is not implemented")
        except BaseException as err:
            self._failed(err, pc)
            raise

    def _failed(self, err: BaseException, pc: int) -> None:
        """Add the failing node's note to ``err`` and empty the cells."""
        prog = self.program
        try:
            op, a, _ = self._code[pc]
            if isinstance(err, Exception) and op == _CALL:
                add_failure_note(err, prog, a)
        finally:
            self._empty_cells()

    def _empty_cells(self) -> None:
        """Empty the cells after a failed run (all but constants with GC on,
        else those a finished call would empty)."""
        prog = self.program
        if prog.allow_gc:
            prog.cells.free()
        else:
            prog.cells.clear_cells(prog.after_call)

    def _acquire(self) -> None:
        me = threading.get_ident()
        if not self._lock.acquire(blocking=False):
            if self._owner == me:
                raise RuntimeError(
                    "a compiled function was called again while it runs (from one "
                    "of its own ops); use Function.copy() for a function with its "
                    "own storage")
            self._lock.acquire()
        self._owner = me

    def _release(self) -> None:
        self._owner = None
        self._lock.release()

    def free(self) -> None:
        """Empty every cell except constants (no-GC mode's kept buffers)."""
        self._acquire()
        try:
            self.program.cells.free()
        finally:
            self._release()


class ProfiledPyVM(PyVM):
    """The Python twin of :class:`~symarray.vm._cvm_profile.CyProfiledVM`: records
    the same numbers in ``profile`` (a :class:`~symarray.vm._cvm_profile.CyProfile`
    with ``clock="ns"``, read with ``time.perf_counter_ns``)."""

    def __init__(self, program: Program, profile: CyProfile) -> None:
        super().__init__(program)
        if not profile.ticks_are_ns:
            raise ValueError("ProfiledPyVM needs a CyProfile(clock='ns')")
        if profile.n_nodes != len(program.nodes):
            raise ValueError(f"ProfiledPyVM: the profile has {profile.n_nodes} "
                             f"nodes, the program {len(program.nodes)}")
        self.profile = profile

    def _run(self) -> None:
        prof, now = self.profile, time.perf_counter_ns
        start = now()
        prof.record_begin(start)
        failed = True
        try:
            self._run_profiled(prof, now)
            failed = False
        finally:
            prof.record_run(start, now(), failed)

    def _run_profiled(self, prof: CyProfile, now: Any) -> None:
        prog = self.program
        cells, thunks, code, free = prog.cells, prog.thunks, self._code, self._free
        memory = prof.memory
        pc = 0
        prev = now()
        try:
            while True:
                op, a, b = code[pc]
                if op == _CALL:
                    thunks[a]()
                    t = now()
                    prof.record_node(a, prev, t)
                    if memory:
                        for c in prog.node_outputs[a]:
                            value = cells[c]
                            if value is not None:
                                prof.record_bytes(c, int(getattr(value, "nbytes", 0)))
                        t = now()
                    prev = t
                    pc += 1
                elif op == _FREE:
                    for c in free[a]:
                        cells.clear(c)
                    t = now()
                    prof.record_other(t - prev)
                    prev = t
                    pc += 1
                elif op == _HALT:
                    return
                elif op == _JUMP:
                    pc = a
                elif op == _JUMP_IF_FALSE:
                    if cells[a] is None:
                        raise RuntimeError("JUMP_IF_FALSE reads an empty cell")
                    pc = pc + 1 if cells[a] else b
                    t = now()
                    prof.record_other(t - prev)
                    prev = t
                else:
                    raise NotImplementedError(
                        f"opcode {op} at instruction {pc} is not implemented")
        except BaseException as err:
            self._failed(err, pc)
            raise


def add_failure_note(err: BaseException, prog: Program, k: int) -> None:
    """Add :func:`describe_failure`'s note for node ``k`` of ``prog`` to ``err``."""
    if k < 0 or k >= len(prog.nodes):
        return
    node = prog.nodes[k]
    values = [prog.cells[c] for c in prog.node_inputs[k]]
    note = describe_failure(node, values)
    if hasattr(err, "add_note"):
        err.add_note(note)
    else:  # Python 3.10: keep the note where 3.11's traceback looks for it
        err.__notes__ = [*getattr(err, "__notes__", []), note]  # type: ignore[attr-defined]


def describe_failure(node: Apply, values: Sequence[Any]) -> str:
    """The note added to an exception raised while running ``node``.

    Names the node, each input's type and run-time shape, dtype and strides,
    the user line that created the node and a ``HINT:`` line.  With
    ``config.exception_verbosity == "high"`` the graph feeding the node is
    listed too.
    """
    from symarray import config

    lines = [f"Apply node that caused the error: {node}"]
    for i, (var, val) in enumerate(zip(node.inputs, values, strict=False)):
        shape = getattr(val, "shape", None)
        dtype = getattr(val, "dtype", type(val).__name__)
        strides = getattr(val, "strides", None)
        lines.append(
            f"  input {i}: {var} type={var.type} shape={shape} dtype={dtype} "
            f"strides={strides}"
        )
    site = node.outputs[0].tag.site if node.outputs else None
    if site is not None:
        lines.append(f"The node was created at: {site}")
    else:
        lines.append(
            "The node's creation site was not recorded (config.record_creation_site "
            "is off, or a rewrite made the node)."
        )
    if config.exception_verbosity == "high":
        lines.append("The graph computing the node's inputs:")
        lines.extend(_graph_lines(node))
        lines.append(
            "HINT: set SYMARRAY_FLAGS=compute_test_value=raise (and give the inputs "
            "test values) to catch shape errors where the graph is built"
        )
    else:
        lines.append(
            "HINT: set SYMARRAY_FLAGS=exception_verbosity=high for the node's graph, "
            "or compute_test_value=raise to catch shape errors where the graph is built"
        )
    return "\n".join(lines)


def _graph_lines(node: Apply, limit: int = 40) -> list[str]:
    """An indented listing of the nodes feeding ``node`` (at most ``limit``)."""
    lines: list[str] = []
    seen: set[Apply] = set()
    stack: list[tuple[Any, int]] = [(node, 1)]
    while stack and len(lines) < limit:
        item, depth = stack.pop()
        pad = "  " * depth
        if isinstance(item, Apply):
            if item in seen:
                lines.append(f"{pad}{item.op} (shown above)")
                continue
            seen.add(item)
            lines.append(f"{pad}{item.op} -> {item.outputs[0].type}")
            stack.extend((i, depth + 1) for i in reversed(item.inputs))
        elif item.owner is not None:
            stack.append((item.owner, depth))
        else:
            lines.append(f"{pad}{item} {item.type}")
    if stack:
        lines.append("  ... (more nodes left out)")
    return lines
