"""Gradients of :class:`~symarray.control.scan.op.Scan`: ``L_op`` and ``R_op``.

Reverse mode (:func:`scan_lop`) builds a *backward scan*: a new Scan that
walks the forward steps in reverse order.  Its step recomputes the forward
step from saved values (the forward traces, reversed and fed in as
sequences) and takes the inner vector-Jacobian product with
:func:`symarray.gradient.grad` (``known_grads``), given

* the gradient of this step's outputs from the cost (the reversed
  output-gradient traces, fed in as sequences), and
* the gradient carried back from later steps: for a state with lag ``L``
  (taps ``>= -L``) a *window* of shape ``(L, *state_shape)`` holding the
  pending gradient of the last ``L`` values (row ``L - 1`` belongs to the
  value this step produced); a plain state (``L = 1``) carries the gradient
  itself.

Each backward step shifts the window by one row and adds the gradients of
the tap inputs at their rows.  After the last backward step the window is
the gradient of the initial-state buffer.  Non-sequence gradients are
carried sums; sequence gradients are per-step outputs (one per tap),
reversed and added at the tap's offset.  A shared variable updated inside
the loop is carried like a plain state whose initial gradient is that of
its final value; its per-step values, which the forward node does not
keep, come from an *augmented* forward scan that traces them (and records
the tensors drawn from non-tensor shared state such as random generators,
so that the backward step reuses the forward step's draws).

``truncate_gradient = k > 0`` runs only ``min(n, k)`` backward steps over
the last forward steps: earlier steps are treated as constants, so their
inputs (sequence rows, initial states read only by them) get zero.

Forward mode (:func:`scan_rop`) builds a forward scan that carries the
tangents next to the states; its step is the inner graph with its
:func:`~symarray.gradient.Rop`.

Key decisions:

* The backward step recomputes the forward step (no intermediate values
  are saved): memory stays at one trace per state.
* Which states need a carried gradient is found structurally: outputs
  whose gradient is a constant zero (the ``zeros`` that ``grad`` fills in
  for unused outputs) are left out, and so is everything only they need.
* Integer, boolean and non-tensor inputs get no gradient (``None``);
  ``n_steps`` is not differentiable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from symarray.control.scan.info import ScanInfo
from symarray.control.scan.op import _fits
from symarray.graph.traversal import (
    NotScalarConstantError,
    ancestors,
    clone_replace,
    get_scalar_constant_value,
)

if TYPE_CHECKING:
    from symarray.control.scan.op import Scan

__all__ = ["scan_lop", "scan_rop"]


def _tensor() -> Any:
    import symarray.tensor as T  # noqa: N812 - Theano's name

    return T


# -- small helpers ---------------------------------------------------------


def _is_tensor(var: Any) -> bool:
    from symarray.tensor.type import TensorType

    return isinstance(getattr(var, "type", None), TensorType)


def _is_float(var: Any) -> bool:
    return _is_tensor(var) and str(var.type.dtype).startswith(("float", "complex"))


def _is_zero(g: Any) -> bool:
    """No gradient: None, a disconnected gradient, or a constant zero."""
    from symarray.gradient import DisconnectedType

    if g is None or isinstance(getattr(g, "type", None), DisconnectedType):
        return True
    try:
        return bool(get_scalar_constant_value(g) == 0)
    except (NotScalarConstantError, TypeError, ValueError):
        return False


def _is_null(g: Any) -> bool:
    from symarray.gradient import NullType

    return isinstance(getattr(g, "type", None), NullType)


def _fit_to(x: Any, ttype: Any) -> Any:
    """``x`` cast to ``ttype``'s dtype and made to fit its static shape."""
    T = _tensor()  # noqa: N806
    x = T.as_tensor_variable(x)
    if x.type.dtype != ttype.dtype:
        x = T.cast(x, ttype.dtype)
    if _fits(ttype, x.type):
        return x
    return T.specify_shape(x, ttype.shape)


def _add(terms: list[Any]) -> Any:
    T = _tensor()  # noqa: N806
    return terms[0] if len(terms) == 1 else T.add(*terms)


def _last(trace: Any, init_row: Any) -> Any:
    """``trace[-1]``, or ``init_row`` when the trace is empty (zero steps)."""
    T = _tensor()  # noqa: N806
    init_row = _fit_to(init_row, T.TensorType(trace.type.dtype,
                                              shape=(None,) * (trace.type.ndim - 1)))
    return T.concatenate([T.shape_padleft(init_row), trace[-1:]], axis=0)[-1]


def _reversed_taps(buf: Any, n: Any, offsets: list[int]
                   ) -> tuple[Any, tuple[int, ...], list[int]]:
    """A sequence for a backward scan that reads ``buf[t + d]`` (``d`` in
    ``offsets``, all >= 0) at forward step ``t = n - 1 - s``.

    Returns the reversed buffer, the backward taps (ascending) and, per
    backward tap, the offset ``d`` it reads.
    """
    span = max(offsets)
    rev = buf[:n + span][::-1]
    taps = sorted(span - d for d in offsets)
    return rev, tuple(taps), [span - b for b in taps]


class _Layout:
    """A Scan node's outer inputs/outputs and inner inputs/outputs by role."""

    def __init__(self, op: Scan, inputs: list[Any],
                 outputs: list[Any] | None = None) -> None:
        info = op.info
        self.op, self.info = op, info
        self.inputs, self.outputs = list(inputs), outputs
        a = 1
        self.seqs = self.inputs[a:a + info.n_seqs]
        a += info.n_seqs
        self.inits = self.inputs[a:a + info.n_states]
        a += info.n_states
        self.shared = self.inputs[a:a + info.n_shared]
        self.non_seqs = self.inputs[a + info.n_shared:]
        self.in_seqs = op.inner_seqs()
        self.in_states = op.inner_states()
        self.in_shared = op.inner_shared()
        self.in_non_seqs = op.inner_non_seqs()
        self.out_states = op.inner_state_outputs()
        self.out_nits = op.inner_nit_sot_outputs()
        self.out_shared = op.inner_shared_outputs()
        self.cond = op.inner_condition()
        ns, nn = info.n_states, info.n_nit_sot
        if outputs is not None:
            self.traces = list(outputs[:ns])
            self.nit_traces = list(outputs[ns:ns + nn])
            self.shared_finals = list(outputs[ns + nn:])

    def input_slots(self) -> list[int]:
        """The outer input slot each inner input reads."""
        info = self.info
        slots: list[int] = []
        for i, taps in enumerate(info.seq_taps):
            slots += [1 + i] * len(taps)
        for j, taps in enumerate(info.state_taps):
            slots += [1 + info.n_seqs + j] * len(taps)
        base = 1 + info.n_seqs + info.n_states
        slots += [base + k for k in range(info.n_shared + info.n_non_seqs)]
        return slots

    def carried(self) -> dict[int, int]:
        """Outer output slot of each carried value -> its outer input slot."""
        info = self.info
        pairs = {j: 1 + info.n_seqs + j for j in range(info.n_states)}
        base_out = info.n_states + info.n_nit_sot
        base_in = 1 + info.n_seqs + info.n_states
        pairs.update({base_out + k: base_in + k for k in range(info.n_shared)})
        return pairs

    def reach(self) -> list[set[int]]:
        """Per outer output, the outer input slots it depends on (through
        the recurrence too)."""
        op = self.op
        slot_of = dict(zip(op.inner_inputs, self.input_slots(), strict=True))
        n_out = self.info.n_outer_outputs
        reach = []
        for out in op.inner_outputs[:n_out]:
            deps = ancestors([out], blockers=op.inner_inputs)
            reach.append({slot_of[v] for v in deps if v in slot_of})
        carried = self.carried()
        changed = True
        while changed:
            changed = False
            for o in range(n_out):
                for c, init_slot in carried.items():
                    if init_slot in reach[o] and not reach[c] <= reach[o]:
                        reach[o] |= reach[c]
                        changed = True
        return reach


def _n_run(lay: _Layout) -> Any:
    """The number of steps the forward node ran (symbolic)."""
    T = _tensor()  # noqa: N806
    if not lay.info.as_while:
        return lay.inputs[0]
    traces = lay.traces + lay.nit_traces
    if traces:
        return T.shape(traces[0])[0]
    return None


def _new_scan(info: ScanInfo, inner_in: list[Any], inner_out: list[Any],
              outer_in: list[Any], mode: Any) -> list[Any]:
    from symarray.control.scan.op import Scan

    op = Scan(info, inner_in, inner_out, mode=mode)
    node = op.make_node(*outer_in)
    return list(node.outputs)


# -- the augmented forward scan ------------------------------------------------


def _augmented(lay: _Layout) -> tuple[list[Any], dict[Any, Any]]:
    """Trace the tensor shared values and record non-tensor-shared draws.

    Runs the forward loop again as a Scan whose tensor shared variables are
    carried states (so their values at every step are kept) and whose
    draws from non-tensor shared state are extra per-step outputs.  The
    loop is dead code (removed when compiled) if the backward step reads
    none of it.

    Returns, per shared variable, its trace (None for a non-tensor one) and
    ``{inner variable of the forward graph: its trace}`` for the draws.
    """
    T = _tensor()  # noqa: N806
    info, op = lay.info, lay.op
    tensor_sh = [k for k, v in enumerate(lay.in_shared) if _is_tensor(v)]
    other_sh = [k for k in range(info.n_shared) if k not in tensor_sh]
    frontier = _frontier(op, [lay.in_shared[k] for k in other_sh])
    if not tensor_sh and not frontier:
        return [None] * info.n_shared, {}
    flat_seq = [v for group in lay.in_seqs for v in group]
    flat_state = [v for group in lay.in_states for v in group]
    a_in = (flat_seq + flat_state + [lay.in_shared[k] for k in tensor_sh]
            + [lay.in_shared[k] for k in other_sh] + lay.in_non_seqs)
    a_out = (lay.out_states + [lay.out_shared[k] for k in tensor_sh]
             + lay.out_nits + frontier + [lay.out_shared[k] for k in other_sh]
             + ([lay.cond] if lay.cond is not None else []))
    a_info = ScanInfo(
        seq_taps=info.seq_taps,
        state_taps=info.state_taps + ((-1,),) * len(tensor_sh),
        n_nit_sot=info.n_nit_sot + len(frontier),
        n_shared=len(other_sh), n_non_seqs=info.n_non_seqs,
        as_while=info.as_while, name=f"trace_of_{info.name or 'scan'}")
    outer = ([lay.inputs[0], *lay.seqs, *lay.inits]
             + [T.shape_padleft(lay.shared[k]) for k in tensor_sh]
             + [lay.shared[k] for k in other_sh] + lay.non_seqs)
    outs = _new_scan(a_info, a_in, a_out, outer, op.mode)
    ns = info.n_states
    sh_traces: list[Any] = [None] * info.n_shared
    for pos, k in enumerate(tensor_sh):
        sh_traces[k] = outs[ns + pos]
    base = ns + len(tensor_sh) + info.n_nit_sot
    draws = {v: outs[base + pos] for pos, v in enumerate(frontier)}
    return sh_traces, draws


def _frontier(op: Scan, sources: list[Any]) -> list[Any]:
    """Tensors the step computes directly from non-tensor shared state (the
    draws of a random generator): outputs of nodes reading such state."""
    if not sources:
        return []
    tainted = set(sources)
    found: list[Any] = []
    for node in op.fgraph.toposort():
        hit = [i for i in node.inputs if i in tainted]
        if not hit:
            continue
        tainted.update(node.outputs)
        if any(not _is_tensor(i) for i in hit):
            found += [o for o in node.outputs if _is_tensor(o) and o not in found]
    return found


# -- reverse mode ---------------------------------------------------------------


def scan_lop(op: Scan, inputs: list[Any], outputs: list[Any],
             output_grads: list[Any]) -> list[Any]:
    """Gradients of a Scan node's inputs given its outputs' gradients.

    Builds the backward scan described in the module docstring and returns
    one gradient per outer input (None where there is none).
    """
    T = _tensor()  # noqa: N806
    info = op.info
    lay = _Layout(op, inputs, outputs)
    ns, nn, nsh = info.n_states, info.n_nit_sot, info.n_shared
    out_g: list[Any] = []
    for o, g in zip(outputs, output_grads, strict=True):
        if not _is_float(o) or _is_zero(g):
            out_g.append(None)
        else:
            out_g.append(_fit_to(g, o.type) if g.type.dtype != o.type.dtype else g)
    no_grad: list[Any] = [None] * len(inputs)
    if all(g is None for g in out_g):
        return no_grad
    reach = lay.reach()
    wanted = [o for o, g in enumerate(out_g) if g is not None]
    carried = lay.carried()
    live: set[int] = set()
    for c, init_slot in carried.items():
        if not _is_float(outputs[c]):
            continue
        if out_g[c] is not None or any(init_slot in reach[o] for o in wanted):
            live.add(c)
    live_states = [j for j in range(ns) if j in live]
    live_shared = [k for k in range(nsh) if ns + nn + k in live]
    live_nits = [j for j in range(nn) if out_g[ns + j] is not None]

    n = _n_run(lay)
    sh_traces: list[Any] = [None] * nsh
    draws: dict[Any, Any] = {}
    if nsh:
        sh_traces, draws = _augmented(lay)
        if n is None:
            n = T.shape(next(t for t in sh_traces if t is not None))[0]
    if n is None:  # nothing but non-tensor shared outputs
        return no_grad
    k_trunc = info.truncate_gradient
    m = n if k_trunc < 0 else T.minimum(n, k_trunc)

    # -- the backward step's inputs ----------------------------------------
    replace: dict[Any, Any] = {}
    b_seqs: list[tuple[Any, tuple[int, ...], list[Any]]] = []  # outer, taps, vars

    def fresh(var: Any, name: str) -> Any:
        new = var.type()
        new.name = name
        replace[var] = new
        return new

    for i, group in enumerate(lay.in_seqs):
        taps = info.seq_taps[i]
        offsets = [k - taps[0] for k in taps]
        rev, btaps, ds = _reversed_taps(lay.seqs[i], n, offsets)
        new_vars = [fresh(group[offsets.index(d)], f"seq{i}[t{d + taps[0]:+d}]")
                    for d in ds]
        b_seqs.append((rev, btaps, new_vars))
    # the values the forward step produced are in its traces: the backward
    # step reads them instead of recomputing them (row L of a state buffer)
    known_outs: dict[int, Any] = {}
    for j, group in enumerate(lay.in_states):
        lag = info.mintap(j)
        offsets = [lag + k for k in info.state_taps[j]]
        if lay.out_states[j].owner is not None:
            known_outs[j] = lay.out_states[j].type(f"state{j}[t]")
            offsets.append(lag)
        buf = T.concatenate([lay.inits[j], lay.traces[j]], axis=0)
        rev, btaps, ds = _reversed_taps(buf, n, offsets)
        new_vars = [known_outs[j] if d == lag else
                    fresh(group[offsets.index(d)], f"state{j}[t{d - lag:+d}]")
                    for d in ds]
        b_seqs.append((rev, btaps, new_vars))
    for j, out in enumerate(lay.out_nits):
        if out.owner is not None:
            known_outs[ns + j] = out.type(f"out{ns + j}[t]")
            b_seqs.append((lay.nit_traces[j][::-1], (0,), [known_outs[ns + j]]))
    for k, var in enumerate(lay.in_shared):
        if sh_traces[k] is not None:
            buf = T.concatenate([T.shape_padleft(lay.shared[k]), sh_traces[k]], axis=0)
            b_seqs.append((buf[:n][::-1], (0,), [fresh(var, f"shared{k}")]))
    for v, trace in draws.items():
        new = v.type()
        new.name = "draw"
        replace[v] = new
        b_seqs.append((trace[::-1], (0,), [new]))
    step_grads: dict[int, Any] = {}  # outer output slot -> its gradient this step
    for o in [*live_states, *[ns + j for j in live_nits]]:
        if out_g[o] is None:
            continue
        g = out_g[o]
        row = T.TensorType(g.type.dtype, shape=g.type.shape[1:])(f"grad_out{o}[t]")
        b_seqs.append((g[::-1], (0,), [row]))
        step_grads[o] = row
    b_non_seq_outer: list[Any] = []
    b_non_seq_vars: list[Any] = []
    for k, var in enumerate(lay.in_shared):
        if sh_traces[k] is None:
            b_non_seq_outer.append(lay.shared[k])
            b_non_seq_vars.append(fresh(var, f"shared{k}"))
    for k, var in enumerate(lay.in_non_seqs):
        b_non_seq_outer.append(lay.non_seqs[k])
        b_non_seq_vars.append(fresh(var, f"non_seq{k}"))

    # carried gradients: windows of the live states, shared gradients
    windows: dict[int, Any] = {}
    for j in live_states:
        row_t: Any = lay.in_states[j][0].type
        lag = info.mintap(j)
        w_type = row_t if lag == 1 else T.TensorType(row_t.dtype,
                                                     shape=(lag, *row_t.shape))
        windows[j] = w_type(f"grad_state{j}")
    sh_carry = {k: lay.in_shared[k].type(f"grad_shared{k}") for k in live_shared}
    accs = {k: v.type(f"grad_non_seq{k}")
            for k, v in enumerate(lay.in_non_seqs) if _is_float(v)}

    # -- the step's vector-Jacobian product ----------------------------------
    cloned = clone_replace(op.inner_outputs, replace)
    seeds: dict[Any, Any] = {}

    def seed(var: Any, g: Any) -> None:
        g = _fit_to(g, var.type) if g.type.dtype != var.type.dtype else g
        seeds[var] = seeds[var] + g if var in seeds else g

    for j in live_states:
        lag = info.mintap(j)
        terms = [windows[j] if lag == 1 else windows[j][lag - 1]]
        if j in step_grads:
            terms.append(step_grads[j])
        seed(cloned[j], _add(terms))
    for j in live_nits:
        seed(cloned[ns + j], step_grads[ns + j])
    for k in live_shared:
        seed(cloned[ns + nn + k], sh_carry[k])
    wrt_keys: list[tuple[str, int, int]] = []
    wrt: list[Any] = []
    for i, group in enumerate(lay.in_seqs):
        for t, var in enumerate(group):
            if _is_float(var):
                wrt_keys.append(("seq", i, t))
                wrt.append(replace[var])
    for j in live_states:
        for t, var in enumerate(lay.in_states[j]):
            wrt_keys.append(("state", j, t))
            wrt.append(replace[var])
    for k in live_shared:
        wrt_keys.append(("shared", k, 0))
        wrt.append(replace[lay.in_shared[k]])
    for k in accs:
        wrt_keys.append(("non_seq", k, 0))
        wrt.append(replace[lay.in_non_seqs[k]])
    from symarray.gradient import grad, grad_not_implemented

    got = grad(None, wrt, known_grads=seeds, disconnected_inputs="ignore",
               return_disconnected="None", null_gradients="return") if wrt else []
    inner_g = dict(zip(wrt_keys, got, strict=True))
    nulls = {key: g for key, g in inner_g.items() if _is_null(g)}
    if any(key[0] in ("state", "shared") for key in nulls):
        # an undefined gradient inside the recurrence spoils every input
        why = next(iter(nulls.values())).type.why
        return [None if s == 0 else grad_not_implemented(op, s, x, why)
                for s, x in enumerate(inputs)]
    for key in nulls:
        inner_g[key] = None

    # -- the backward scan's outputs --------------------------------------------
    b_state_outs: list[Any] = []
    b_state_inits: list[Any] = []
    b_state_vars: list[Any] = []
    for j in live_states:
        lag, taps = info.mintap(j), info.state_taps[j]
        contrib = {taps[t]: inner_g[("state", j, t)] for t in range(len(taps))}
        w = windows[j]
        if lag == 1:
            new_w = contrib[-1] if contrib[-1] is not None else T.zeros_like(w)
            init = T.zeros_like(lay.inits[j])
        else:
            rows = []
            for r in range(lag):
                row_terms: list[Any] = [w[r - 1]] if r >= 1 else []
                c_tap = contrib.get(r - lag)
                if c_tap is not None:
                    row_terms.append(c_tap)
                rows.append(_add(row_terms) if row_terms else T.zeros_like(w[0]))
            new_w = T.stack(rows)
            init = T.shape_padleft(T.zeros_like(lay.inits[j]))
        b_state_vars.append(w)
        b_state_outs.append(_fit_to(new_w, w.type))
        b_state_inits.append(init)
    for k in live_shared:
        c = inner_g[("shared", k, 0)]
        carry = sh_carry[k]
        b_state_vars.append(carry)
        b_state_outs.append(_fit_to(c if c is not None else T.zeros_like(carry),
                                    carry.type))
        g_final = out_g[ns + nn + k]
        b_state_inits.append(T.shape_padleft(
            g_final if g_final is not None else T.zeros_like(lay.shared[k])))
    acc_used = [k for k in accs if inner_g[("non_seq", k, 0)] is not None]
    for k in acc_used:
        b_state_vars.append(accs[k])
        b_state_outs.append(_fit_to(accs[k] + inner_g[("non_seq", k, 0)],
                                    accs[k].type))
        b_state_inits.append(T.shape_padleft(T.zeros_like(lay.non_seqs[k])))
    nit_keys = [key for key in wrt_keys
                if key[0] == "seq" and inner_g[key] is not None]
    b_nit_outs = [inner_g[key] for key in nit_keys]
    if not b_state_outs and not b_nit_outs:
        return no_grad
    known = {cloned[o]: v for o, v in known_outs.items() if cloned[o].owner is not None}
    if known:
        replaced = clone_replace(b_state_outs + b_nit_outs, known)
        b_state_outs = replaced[:len(b_state_outs)]
        b_nit_outs = replaced[len(b_state_outs):]

    # drop the inputs the backward step does not read
    used = set(ancestors(b_state_outs + b_nit_outs))
    b_seqs = [s for s in b_seqs if any(v in used for v in s[2])]
    keep = [p for p, v in enumerate(b_non_seq_vars) if v in used]
    b_info = ScanInfo(
        seq_taps=tuple(s[1] for s in b_seqs),
        state_taps=((-1,),) * len(b_state_outs),
        n_nit_sot=len(b_nit_outs), n_shared=0, n_non_seqs=len(keep),
        as_while=False, name=f"grad_of_{info.name or 'scan'}")
    b_in = ([v for s in b_seqs for v in s[2]] + b_state_vars
            + [b_non_seq_vars[p] for p in keep])
    b_outer = ([m] + [s[0] for s in b_seqs] + b_state_inits
               + [b_non_seq_outer[p] for p in keep])
    b_outs = _new_scan(b_info, b_in, b_state_outs + b_nit_outs, b_outer, op.mode)

    # -- the gradients of the outer inputs ----------------------------------------
    result: list[Any] = list(no_grad)
    skipped = None if k_trunc < 0 else n - m  # forward steps left out
    pos = 0
    for j in live_states:
        lag = info.mintap(j)
        final = _last(b_outs[pos], b_state_inits[pos][0])
        pos += 1
        if lag == 1:
            if skipped is not None:
                final = T.switch(T.eq(skipped, 0), final, T.zeros_like(final))
            final = T.shape_padleft(final)
        elif skipped is not None:
            padded = T.concatenate([T.zeros_like(final), final], axis=0)
            d = T.minimum(skipped, lag)
            final = padded[lag - d:2 * lag - d]
        result[1 + info.n_seqs + j] = final
    for k in live_shared:
        final = _last(b_outs[pos], b_state_inits[pos][0])
        pos += 1
        if skipped is not None:
            final = T.switch(T.eq(skipped, 0), final, T.zeros_like(final))
        result[1 + info.n_seqs + ns + k] = final
    for k in acc_used:
        final = _last(b_outs[pos], b_state_inits[pos][0])
        pos += 1
        result[1 + info.n_seqs + ns + nsh + k] = final
    seq_grads: dict[int, Any] = {}
    for key, trace in zip(nit_keys, b_outs[pos:], strict=True):
        _, i, t = key
        taps = info.seq_taps[i]
        d = taps[t] - taps[0]
        g = seq_grads.get(i)
        if g is None:
            g = T.zeros_like(lay.seqs[i])
        seq_grads[i] = T.inc_subtensor(g[n - m + d:n + d], trace[::-1])
    for i, g in seq_grads.items():
        result[1 + i] = g
    return result


# -- forward mode -----------------------------------------------------------------


def scan_rop(op: Scan, inputs: list[Any], eval_points: list[Any]) -> list[Any]:
    """Tangents of a Scan node's outputs given its inputs' tangents.

    Builds a forward scan that computes the states and their tangents side
    by side (the step's :func:`~symarray.gradient.Rop`).
    """
    T = _tensor()  # noqa: N806
    from symarray.gradient import Rop

    info = op.info
    lay = _Layout(op, inputs)
    ns, nn, nsh = info.n_states, info.n_nit_sot, info.n_shared
    points: dict[int, Any] = {}
    for s, (x, p) in enumerate(zip(inputs, eval_points, strict=True)):
        if s > 0 and p is not None and _is_float(x):
            points[s] = _fit_to(p, x.type)
    n_out = info.n_outer_outputs
    reach = lay.reach()
    carried = lay.carried()
    out_vars = op.inner_outputs[:n_out]
    has_t = [_is_float(out_vars[o]) and bool(reach[o] & points.keys())
             for o in range(n_out)]
    for c, init_slot in carried.items():
        if init_slot in points and _is_float(out_vars[c]):
            has_t[c] = True
    if not any(has_t):
        return [None] * n_out

    replace: dict[Any, Any] = {}
    tangent_of: dict[Any, Any] = {}  # new primal inner var -> its tangent var

    def fresh(var: Any) -> Any:
        new = var.type()
        new.name = var.name
        replace[var] = new
        return new

    def fresh_tangent(new: Any) -> Any:
        t = new.type()
        t.name = f"d_{new.name}" if new.name else "tangent"
        tangent_of[new] = t
        return t

    r_seq_taps: list[tuple[int, ...]] = []
    r_seq_vars: list[Any] = []
    r_seq_outer: list[Any] = []
    t_seq_vars: list[Any] = []
    t_seq_taps: list[tuple[int, ...]] = []
    t_seq_outer: list[Any] = []
    for i, group in enumerate(lay.in_seqs):
        new = [fresh(v) for v in group]
        r_seq_vars += new
        r_seq_taps.append(info.seq_taps[i])
        r_seq_outer.append(lay.seqs[i])
        if 1 + i in points:
            t_seq_vars += [fresh_tangent(v) for v in new]
            t_seq_taps.append(info.seq_taps[i])
            t_seq_outer.append(points[1 + i])
    st_vars = [fresh(v) for group in lay.in_states for v in group]
    t_st_vars: list[Any] = []
    t_st_taps: list[tuple[int, ...]] = []
    t_st_init: list[Any] = []
    t_states = [j for j in range(ns) if has_t[j]]
    for j in t_states:
        t_st_vars += [fresh_tangent(replace[v]) for v in lay.in_states[j]]
        t_st_taps.append(info.state_taps[j])
        slot = 1 + info.n_seqs + j
        t_st_init.append(points.get(slot, T.zeros_like(lay.inits[j])))
    sh_vars = [fresh(v) for v in lay.in_shared]
    t_shared = [k for k in range(nsh) if has_t[ns + nn + k]]
    for k in t_shared:
        t_st_vars.append(fresh_tangent(sh_vars[k]))
        t_st_taps.append((-1,))
        slot = 1 + info.n_seqs + ns + k
        t_st_init.append(T.shape_padleft(points.get(slot,
                                                    T.zeros_like(lay.shared[k]))))
    nsq_vars = [fresh(v) for v in lay.in_non_seqs]
    t_nsq_vars: list[Any] = []
    t_nsq_outer: list[Any] = []
    for k, new in enumerate(nsq_vars):
        slot = 1 + info.n_seqs + ns + nsh + k
        if slot in points:
            t_nsq_vars.append(fresh_tangent(new))
            t_nsq_outer.append(points[slot])

    cloned = clone_replace(op.inner_outputs, replace)
    t_nits = [j for j in range(nn) if has_t[ns + j]]
    want = ([cloned[j] for j in t_states]
            + [cloned[ns + nn + k] for k in t_shared]
            + [cloned[ns + j] for j in t_nits])
    wrt = list(tangent_of)
    tangents = Rop(want, wrt, [tangent_of[v] for v in wrt])
    tangents = [_fit_to(t, w.type) for t, w in zip(tangents, want, strict=True)]
    nts = len(t_states) + len(t_shared)

    r_info = ScanInfo(
        seq_taps=tuple(r_seq_taps + t_seq_taps),
        state_taps=info.state_taps + tuple(t_st_taps),
        n_nit_sot=nn + len(t_nits), n_shared=nsh,
        n_non_seqs=info.n_non_seqs + len(t_nsq_vars), as_while=info.as_while,
        name=f"rop_of_{info.name or 'scan'}")
    r_in = (r_seq_vars + t_seq_vars + st_vars + t_st_vars + sh_vars
            + nsq_vars + t_nsq_vars)
    r_out = (cloned[:ns] + tangents[:nts] + cloned[ns:ns + nn] + tangents[nts:]
             + cloned[ns + nn:])
    r_outer = ([inputs[0], *r_seq_outer, *t_seq_outer, *lay.inits, *t_st_init,
                *lay.shared, *lay.non_seqs, *t_nsq_outer])
    outs = _new_scan(r_info, r_in, r_out, r_outer, op.mode)
    result: list[Any] = [None] * n_out
    for pos, j in enumerate(t_states):
        result[j] = outs[ns + pos]
    for pos, k in enumerate(t_shared):
        trace = outs[ns + len(t_states) + pos]
        result[ns + nn + k] = _last(trace, t_st_init[len(t_states) + pos][0])
    base = ns + nts + nn
    for pos, j in enumerate(t_nits):
        result[ns + j] = outs[base + pos]
    return result
