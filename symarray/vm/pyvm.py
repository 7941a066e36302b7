"""The Python reference VM: runs a Program's thunks in order.

Each node's thunk is called in schedule order; in GC mode the cells whose
last reader has run are emptied so intermediates are freed as early as
possible.  When a thunk raises, the same exception type is re-raised with a
note that names the node, its inputs' shapes/dtypes/strides, the user line
that created it and a ``HINT:`` line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from symarray.graph.basic import Apply
from symarray.vm.program import Cell, Program, Thunk

__all__ = ["PyVM", "make_py_thunk", "describe_failure"]


def make_py_thunk(node: Apply, in_cells: list[Cell], out_cells: list[Cell]) -> Thunk:
    """A thunk running ``node.op.perform`` over the given cells."""
    perform = node.op.perform

    def thunk() -> None:
        perform(node, [c[0] for c in in_cells], out_cells)

    thunk.backend = "py"  # type: ignore[attr-defined]
    return thunk


class PyVM:
    """Runs a :class:`Program` in Python, freeing intermediates in GC mode."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self._constants = frozenset(program.constant_cells)

    def __call__(self, input_values: Sequence[Any]) -> list[Any]:
        prog = self.program
        cells = prog.cells
        for c, value in zip(prog.input_cells, input_values, strict=False):
            cells[c][0] = value
        free_after = prog.free_after
        k = -1
        try:
            for k, thunk in enumerate(prog.thunks):
                thunk()
                for c in free_after[k]:
                    cells[c][0] = None
        except Exception as err:
            _add_failure_note(err, prog, k)
            self._clear(everything=prog.allow_gc)
            raise
        results = [cells[c][0] for c in prog.output_cells]
        self._clear()
        return results

    def _clear(self, everything: bool = False) -> None:
        """Drop the references to inputs and outputs (all cells if
        ``everything``), so the VM holds no arrays that the caller owns.

        Intermediates stay in no-GC mode (kernels may reuse them); outputs are
        always dropped so a later call never writes into a returned array.
        """
        prog = self.program
        cells = prog.cells
        constants = self._constants
        which: Any = (
            range(len(cells)) if everything else prog.input_cells + prog.output_cells
        )
        for c in which:
            if c not in constants:
                cells[c][0] = None

    def free(self) -> None:
        """Empty every cell except constants (no-GC mode's kept buffers)."""
        self._clear(everything=True)


def _add_failure_note(err: BaseException, prog: Program, k: int) -> None:
    if k < 0 or k >= len(prog.nodes):
        return
    node = prog.nodes[k]
    values = [prog.cells[c][0] for c in prog.node_inputs[k]]
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
