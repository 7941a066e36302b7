"""``Scan.infer_shape``: output shapes of a Scan node from its inputs' shapes.

Traces are ``(n_steps, *row_shape)`` (the leading length unknown, ``None``,
for a do-while loop, which may stop early).  A carried output's rows have
its initial state's row shape; a nit_sot's row shape is worked out on the
inner graph with a :class:`ShapeFeature` and kept only where it is a
function of the inner inputs' *shapes* (then each ``Shape_i`` of an inner
input is replaced by the matching outer length); other lengths are left
``None`` so that the shape feature falls back to the output's own shape.
Final shared values have the shape of the shared inputs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from symarray.graph.basic import Apply, Variable
from symarray.graph.traversal import ancestors, clone_replace

if TYPE_CHECKING:
    from symarray.control.scan.op import Scan

__all__ = ["scan_infer_shape"]


def scan_infer_shape(op: Scan, node: Apply,
                     input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    info = op.info
    n_steps = None if info.as_while else node.inputs[0]
    a = 1 + info.n_seqs
    init_shapes = input_shapes[a:a + info.n_states]
    shared_shapes = input_shapes[a + info.n_states:a + info.n_states + info.n_shared]
    shapes: list[tuple[Any, ...]] = []
    for i, s in enumerate(init_shapes):
        shapes.append((_kept_length(info, i, n_steps), *s[1:]))
    rows = _nit_sot_rows(op, node, input_shapes)
    for j, row in enumerate(rows):
        shapes.append((_kept_length(info, info.n_states + j, n_steps), *row))
    shapes.extend(tuple(s) for s in shared_shapes)
    return shapes


def _kept_length(info: Any, i: int, n_steps: Any) -> Any:
    """Trace ``i``'s length: ``n_steps``, or ``minimum(k, n_steps)`` when it
    keeps its last ``k`` rows (REWRITES: last-k buffers)."""
    keep = info.kept_rows(i)
    if keep == 0 or n_steps is None:
        return n_steps
    from symarray.tensor.basic import constant
    from symarray.tensor.math import ELEMWISE_OPS

    return ELEMWISE_OPS["minimum"](constant(keep, dtype="int64"), n_steps)


def _inner_to_outer_lengths(op: Scan, input_shapes: list[tuple[Any, ...]]
                            ) -> dict[Variable, tuple[Any, ...]]:
    """Inner input -> the outer lengths of its dimensions."""
    lengths: dict[Variable, tuple[Any, ...]] = {}
    k = 1
    for ins in op.inner_seqs():
        for inp in ins:
            lengths[inp] = tuple(input_shapes[k][1:])
        k += 1
    for ins in op.inner_states():
        for inp in ins:
            lengths[inp] = tuple(input_shapes[k][1:])
        k += 1
    for inp in op.inner_shared() + op.inner_non_seqs():
        lengths[inp] = tuple(input_shapes[k])
        k += 1
    return lengths


def _nit_sot_rows(op: Scan, node: Apply,
                  input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    outs = op.inner_nit_sot_outputs()
    if not outs:
        return []
    from symarray.tensor.basic import constant
    from symarray.tensor.rewriting.shape import ShapeFeature
    from symarray.tensor.shape_ops import Shape_i

    fg = op.fgraph.clone()
    feature = ShapeFeature()
    fg.attach_feature(feature)
    lengths = _inner_to_outer_lengths(op, input_shapes)
    equiv = dict(zip(fg.inputs, op.inner_inputs, strict=True))
    inner_inputs = set(fg.inputs)
    n = op.info.n_states
    rows: list[tuple[Any, ...]] = []
    for j in range(len(outs)):
        out = fg.outputs[n + j]
        row: list[Any] = []
        for entry in feature.shape_of(out):
            if isinstance(entry, int):
                row.append(entry)
                continue
            pairs = []
            for var in ancestors([entry]):
                owner = var.owner
                if (owner is not None and isinstance(owner.op, Shape_i)
                        and owner.inputs[0] in inner_inputs):
                    outer = lengths[equiv[owner.inputs[0]]][owner.op.i]
                    if not isinstance(outer, Variable):
                        outer = constant(int(outer), dtype="int64")
                    pairs.append((var, outer))
            cut = [v for v, _ in pairs]
            ok = not any(v in inner_inputs for v in ancestors([entry], blockers=cut))
            row.append(clone_replace(entry, pairs) if ok else None)
        rows.append(tuple(row))
    fg.remove_feature(feature)
    return rows
