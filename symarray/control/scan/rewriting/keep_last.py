"""Keep only the last ``k`` rows of a trace that nothing reads more of.

When every client of a trace output reads only its last rows --
``trace[-j]``, ``trace[-j:]``, ``trace[-j:-i]`` (constant ``j``; any index
in the other dimensions) -- or nothing at all, the loop need
not keep the whole ``(n_steps, ...)`` trace: the Scan's
:class:`~symarray.control.scan.info.ScanInfo` gets ``keep_last[i] = k``
(the largest ``j`` read, 1 when nothing reads it) and the loop keeps a
circular buffer of ``k`` rows (with at least the rows its taps read, for a
carried output).  The clients are unchanged: the last ``k`` rows of the
trace, indexed from the end, give the same values, also when the loop ran
fewer than ``k`` steps.  This is what ``reduce``/``foldl``/``foldr`` and
the running sums of the gradient scans need: memory ``O(k)`` instead of
``O(n_steps)``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from symarray.control.scan.op import Scan
from symarray.control.scan.rewriting._parts import EachScan
from symarray.graph.basic import Apply, Variable
from symarray.graph.rewriting import register_rewrite
from symarray.tensor.shape_ops import static_int
from symarray.tensor.subtensor import Idx, IndexSlice, Subtensor, entry_n_inputs

__all__ = ["scan_keep_last", "keep_last_rows", "rows_from_end"]


def _part(part: Any, inputs: list[Variable]) -> Any:
    """A slice part or index as an int (None: absent), or ``...`` when it
    is not a constant; consumes the node input of a symbolic part."""
    if part is Idx.SCALAR:
        value = static_int(inputs.pop(0))
        return Ellipsis if value is None else value
    return part


def rows_from_end(node: Apply) -> int | None:
    """How many rows from the end of its input the Subtensor ``node`` reads
    in its first dimension, or None when it may read others (or is not a
    Subtensor of that form)."""
    if not isinstance(node.op, Subtensor) or not node.op.idx_list:
        return None
    entry = node.op.idx_list[0]
    inputs = list(node.inputs[1:1 + entry_n_inputs(entry)])
    if isinstance(entry, bool):
        return None
    if isinstance(entry, int) or entry is Idx.SCALAR:
        index = _part(entry, inputs)
        return -index if isinstance(index, int) and index < 0 else None
    if not isinstance(entry, IndexSlice):
        return None  # np.newaxis, ..., an array
    start, stop, step = (_part(p, inputs) for p in entry.parts)
    if not isinstance(start, int) or start >= 0:
        return None
    if step is not None and (not isinstance(step, int) or step < 1):
        return None
    if stop is not None and not (isinstance(stop, int) and stop < 0):
        return None
    return -start


def _rows_needed(fgraph: Any, trace: Variable) -> int | None:
    """The rows from the end that the clients of ``trace`` read (None: all)."""
    need = 1
    for client, slot in fgraph.clients.get(trace, ()):
        if client == "output" or slot != 0:
            return None
        rows = rows_from_end(client)
        if rows is None:
            return None
        need = max(need, rows)
    return need


def keep_last_rows(fgraph: Any, node: Apply) -> dict[Variable, Variable] | None:
    """scan trace read only as trace[-j], trace[-j:] -> keep its last k rows.

    The Scan's ``keep_last`` is set to the largest ``j`` its clients read
    (1 when none reads it); the loop then keeps a ``k``-row circular buffer
    instead of the whole trace.
    """
    op: Any = node.op
    info = op.info
    traces = op.outer_state_traces(node) + op.outer_nit_sot_traces(node)
    keep = [info.kept_rows(i) for i in range(len(traces))]
    changed = False
    for i, trace in enumerate(traces):
        need = _rows_needed(fgraph, trace)
        if need is not None and (keep[i] == 0 or need < keep[i]):
            keep[i] = need
            changed = True
    if not changed:
        return None
    new_op = Scan(replace(info, keep_last=tuple(keep)), op.inner_inputs,
                  op.inner_outputs, mode=op.mode, allow_gc=op.allow_gc)
    return dict(zip(node.outputs, new_op.make_node(*node.inputs).outputs, strict=True))


#: at the end of specialize (after the subtensor lifts), once the clients are final
scan_keep_last = register_rewrite(
    EachScan(keep_last_rows, "scan_keep_last"), "specialize", "fast_run", "scan",
    position=1e8 + 1)
