"""A Scan node taken apart by role, edited, and rebuilt as a new Scan node.

Every scan rewrite does the same three things: take a node apart (each
sequence with its taps and inner inputs, each carried output with its
initial state, inner inputs, inner output and outer trace, ...), drop,
add or substitute some of the parts, and build the new node.
:class:`ScanParts` holds the parts; :meth:`ScanParts.build` makes the new
:class:`~symarray.control.scan.op.Scan` node and says which new outer output
replaces each old one.

Substitutions of inner variables (``parts.replace[old] = new``) are applied
to the inner outputs when building; sequences and non-sequences that no
inner output reads any more are then dropped (carried outputs and shared
variables are never dropped here: removing them is a decision, made by
:mod:`.unused`).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from symarray.control.scan.info import ScanInfo
from symarray.control.scan.op import Scan
from symarray.errors import SymarrayError
from symarray.graph.basic import Apply, Variable
from symarray.graph.rewriting import GraphRewriter
from symarray.graph.traversal import ancestors, clone_replace

__all__ = ["SeqPart", "StatePart", "NitPart", "SharedPart", "NonSeqPart", "ScanParts",
           "EachScan"]


@dataclass
class SeqPart:
    """A sequence: its outer value, taps and one inner input per tap."""

    outer: Variable
    taps: tuple[int, ...]
    inner: list[Variable]


@dataclass
class StatePart:
    """A carried output: initial-state buffer, taps, inner inputs and output,
    the old outer trace (None for a new part) and its ``keep_last`` rows."""

    init: Variable
    taps: tuple[int, ...]
    inner: list[Variable]
    out: Variable
    trace: Variable | None
    keep: int = 0


@dataclass
class NitPart:
    """An output that is not fed back: inner output, old trace, kept rows."""

    out: Variable
    trace: Variable | None
    keep: int = 0


@dataclass
class SharedPart:
    """An updated shared variable: outer value, inner input and output, and
    the old outer output (its final value)."""

    outer: Variable
    inner: Variable
    out: Variable
    final: Variable | None


@dataclass
class NonSeqPart:
    """A non-sequence: its outer value and inner input."""

    outer: Variable
    inner: Variable


@dataclass
class ScanParts:
    """A Scan node by role (see the module docstring).

    ``op`` is the node's op (the template for the mode, ``allow_gc`` and the
    informational fields of its :class:`ScanInfo`).
    """

    op: Scan
    n_steps: Variable
    seqs: list[SeqPart]
    states: list[StatePart]
    nits: list[NitPart]
    shared: list[SharedPart]
    non_seqs: list[NonSeqPart]
    cond: Variable | None
    replace: dict[Variable, Variable] = field(default_factory=dict)

    @classmethod
    def of(cls, node: Apply, inner: Any = None) -> ScanParts:
        """Take the Scan ``node`` apart; ``inner`` (a copy of the op's step
        graph, e.g. ``op.fgraph.clone()``) gives the inner variables instead."""
        parts = cls._of(node)
        if inner is not None:
            op: Any = node.op
            parts._rename(dict(zip(op.inner_inputs, inner.inputs, strict=True)),
                          list(inner.outputs))
        return parts

    def _rename(self, new: dict[Variable, Variable], outs: list[Variable]) -> None:
        """Inner inputs through ``new``; inner outputs by position."""
        for s in self.seqs:
            s.inner = [new[v] for v in s.inner]
        for st in self.states:
            st.inner = [new[v] for v in st.inner]
        for sh in self.shared:
            sh.inner = new[sh.inner]
        for p in self.non_seqs:
            p.inner = new[p.inner]
        it = iter(outs)
        for st in self.states:
            st.out = next(it)
        for n in self.nits:
            n.out = next(it)
        for sh in self.shared:
            sh.out = next(it)
        if self.cond is not None:
            self.cond = next(it)

    @classmethod
    def _of(cls, node: Apply) -> ScanParts:
        op: Any = node.op
        info: ScanInfo = op.info
        seqs = [SeqPart(outer, taps, list(inner)) for outer, taps, inner in zip(
            op.outer_seqs(node), info.seq_taps, op.inner_seqs(), strict=True)]
        states = [
            StatePart(init, taps, list(inner), out, trace, info.kept_rows(i))
            for i, (init, taps, inner, out, trace) in enumerate(zip(
                op.outer_inits(node), info.state_taps, op.inner_states(),
                op.inner_state_outputs(), op.outer_state_traces(node), strict=True))
        ]
        nits = [NitPart(out, trace, info.kept_rows(info.n_states + j))
                for j, (out, trace) in enumerate(zip(
                    op.inner_nit_sot_outputs(), op.outer_nit_sot_traces(node),
                    strict=True))]
        shared = [SharedPart(*p) for p in zip(
            op.outer_shared(node), op.inner_shared(), op.inner_shared_outputs(),
            op.outer_shared_outputs(node), strict=True)]
        non_seqs = [NonSeqPart(o, i) for o, i in zip(
            op.outer_non_seqs(node), op.inner_non_seqs(), strict=True)]
        return cls(op, node.inputs[0], seqs, states, nits, shared, non_seqs,
                   op.inner_condition())

    # -- building ------------------------------------------------------------
    def inner_outputs(self) -> list[Variable]:
        """The inner outputs in layout order (before substitutions)."""
        outs = ([s.out for s in self.states] + [n.out for n in self.nits]
                + [s.out for s in self.shared])
        return outs + ([self.cond] if self.cond is not None else [])

    def build(self, info_changes: dict[str, Any] | None = None
              ) -> tuple[Apply, dict[Variable, Variable]]:
        """The new Scan node, and ``{old outer output: new outer output}``.

        ``info_changes`` overrides fields of the new :class:`ScanInfo` (e.g.
        ``name``); the layout fields and ``keep_last`` come from the parts.
        """
        outs = self.inner_outputs()
        if self.replace:
            outs = clone_replace(outs, self.replace)
        read = set(ancestors(outs))
        sub = self.replace.get
        seqs = [s for s in self.seqs if any(sub(v, v) in read for v in s.inner)]
        non_seqs = [p for p in self.non_seqs if sub(p.inner, p.inner) in read]
        keep = tuple(s.keep for s in self.states) + tuple(n.keep for n in self.nits)
        info = replace(
            self.op.info, seq_taps=tuple(s.taps for s in seqs),
            state_taps=tuple(s.taps for s in self.states),
            n_nit_sot=len(self.nits), n_shared=len(self.shared),
            n_non_seqs=len(non_seqs), as_while=self.cond is not None,
            keep_last=keep if any(keep) else None, **(info_changes or {}))
        inner_in = ([sub(v, v) for s in seqs for v in s.inner]
                    + [sub(v, v) for s in self.states for v in s.inner]
                    + [sub(s.inner, s.inner) for s in self.shared]
                    + [sub(p.inner, p.inner) for p in non_seqs])
        op = Scan(info, inner_in, outs, mode=self.op.mode, allow_gc=self.op.allow_gc)
        node = op.make_node(self.n_steps, *[s.outer for s in seqs],
                            *[s.init for s in self.states],
                            *[s.outer for s in self.shared],
                            *[p.outer for p in non_seqs])
        olds = ([s.trace for s in self.states] + [n.trace for n in self.nits]
                + [s.final for s in self.shared])
        mapping = {o: n for o, n in zip(olds, node.outputs, strict=True)
                   if o is not None}
        return node, mapping


class EachScan(GraphRewriter):
    """A graph pass applying ``fn(fgraph, node) -> {old: new} or None`` to
    every Scan node, the last ones first.

    The rewrites that read a node's clients (what is unused, what reads
    only the last rows) run this way, at the end of a phase: a node
    rewriter sees a node once its inputs change, not when its clients do.
    Going from the outputs up lets a loop whose trace a later loop stopped
    reading lose it in the same pass.  A rewrite that fails on a node is
    skipped for it, with a warning naming the node.
    """

    def __init__(self, fn: Callable[[Any, Apply], dict[Variable, Variable] | None],
                 name: str) -> None:
        self.fn = fn
        self.name = name
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]

    def apply(self, fgraph: Any) -> int:
        changes = 0
        for node in reversed(fgraph.toposort()):
            if not isinstance(node.op, Scan) or node not in fgraph.apply_nodes:
                continue
            try:
                mapping = self.fn(fgraph, node)
                if mapping:
                    fgraph.replace_all_validate(list(mapping.items()), reason=self.name)
                    changes += 1
            except (TypeError, ValueError, SymarrayError) as err:
                warnings.warn(f"rewriter {self.name} failed on {node}: "
                              f"{type(err).__name__}: {err}; it is skipped for this "
                              "node", stacklevel=2)
        return changes
