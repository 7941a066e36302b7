"""``ScanInfo``: the static description of a :class:`~.op.Scan` loop.

A frozen, hashable dataclass that says how the outer inputs and outputs of
a Scan node and the inputs and outputs of its inner (step) graph are laid
out: how many sequences and with which taps, which outputs are carried from
step to step (and which earlier steps they read), how many outputs are not
fed back, how many shared variables are updated inside the loop, how many
non-sequences there are and whether the step ends with an ``until``
condition.  See ``/docs/scan.md`` ("How it executes") for the layout.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ScanInfo"]


@dataclass(frozen=True)
class ScanInfo:
    """How a Scan's inputs and outputs are laid out.

    Attributes
    ----------
    seq_taps
        Per outer sequence, its taps, sorted ascending, e.g. ``((0,), (-2, 0, 1))``.
    state_taps
        Per carried output, its taps, sorted ascending, all negative; a plain
        carried state (``sit_sot``) has ``(-1,)``.
    n_nit_sot
        Outputs that are not fed back (``outputs_info`` None).
    n_shared
        Shared variables updated inside the step (their new value is carried).
    n_non_seqs
        Explicit and implicit non-sequences (the same value at every step).
    as_while
        The step's last inner output is an ``until`` condition.
    go_backwards
        Informational: the API already reversed the sequences.
    truncate_gradient
        Steps the gradient goes back through (-1: all).
    name
        A label shown when the op is printed.
    keep_last
        None (every trace whole), or one int per trace output (the carried
        outputs, then the nit_sot outputs): 0 keeps the whole trace, ``k >= 1``
        makes the outer output only the last ``min(k, n_run)`` rows (set by
        the rewrite ``scan_keep_last`` when nothing reads more).
    """

    seq_taps: tuple[tuple[int, ...], ...]
    state_taps: tuple[tuple[int, ...], ...]
    n_nit_sot: int
    n_shared: int
    n_non_seqs: int
    as_while: bool
    go_backwards: bool = False
    truncate_gradient: int = -1
    name: str | None = None
    keep_last: tuple[int, ...] | None = None  # REWRITES: last-k buffers

    def __post_init__(self) -> None:
        for i, taps in enumerate(self.seq_taps):
            if not taps or list(taps) != sorted(set(taps)):
                raise ValueError(f"ScanInfo: sequence {i} taps must be non-empty, "
                                 f"distinct and sorted ascending, got {taps}")
        for i, taps in enumerate(self.state_taps):
            if not taps or list(taps) != sorted(set(taps)) or taps[-1] >= 0:
                raise ValueError(f"ScanInfo: state {i} taps must be non-empty, "
                                 f"distinct, sorted ascending and negative, got "
                                 f"{taps}")
        for field in ("n_nit_sot", "n_shared", "n_non_seqs"):
            if getattr(self, field) < 0:
                raise ValueError(f"ScanInfo: {field} must be >= 0, got "
                                 f"{getattr(self, field)}")
        if self.keep_last is not None and (
                len(self.keep_last) != len(self.state_taps) + self.n_nit_sot
                or any(k < 0 for k in self.keep_last)):
            raise ValueError(f"ScanInfo: keep_last must hold one int >= 0 per trace "
                             f"output ({len(self.state_taps) + self.n_nit_sot}), got "
                             f"{self.keep_last}")

    # -- counts ----------------------------------------------------------
    @property
    def n_seqs(self) -> int:
        """Number of outer sequences."""
        return len(self.seq_taps)

    @property
    def n_states(self) -> int:
        """Number of carried (recurrent) outputs."""
        return len(self.state_taps)

    def mintap(self, i: int) -> int:
        """The lag of state ``i``'s buffer: ``-min(state_taps[i])`` (>= 1)."""
        return -self.state_taps[i][0]

    def kept_rows(self, i: int) -> int:
        """Rows trace output ``i`` keeps: 0 for all, ``k`` for the last k."""
        return 0 if self.keep_last is None else self.keep_last[i]

    def seq_span(self, i: int) -> int:
        """Extra rows sequence ``i`` needs: ``max(taps) - min(taps)``."""
        taps = self.seq_taps[i]
        return taps[-1] - taps[0]

    # -- inner layout ----------------------------------------------------
    @property
    def n_inner_seq_inputs(self) -> int:
        return sum(len(t) for t in self.seq_taps)

    @property
    def n_inner_state_inputs(self) -> int:
        return sum(len(t) for t in self.state_taps)

    @property
    def n_inner_inputs(self) -> int:
        """Inputs of the step graph: seq taps, state taps, shared, non-seqs."""
        return (self.n_inner_seq_inputs + self.n_inner_state_inputs
                + self.n_shared + self.n_non_seqs)

    @property
    def n_inner_outputs(self) -> int:
        """Outputs of the step graph: states, nit_sots, shared, condition."""
        return self.n_states + self.n_nit_sot + self.n_shared + int(self.as_while)

    # -- outer layout ----------------------------------------------------
    @property
    def n_outer_inputs(self) -> int:
        """``n_steps``, sequences, initial states, shared, non-seqs."""
        return 1 + self.n_seqs + self.n_states + self.n_shared + self.n_non_seqs

    @property
    def n_outer_outputs(self) -> int:
        """State traces, nit_sot traces, final shared values."""
        return self.n_states + self.n_nit_sot + self.n_shared
