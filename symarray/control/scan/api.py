"""``scan()``: build a :class:`~symarray.control.scan.op.Scan` from a step function.

``scan`` calls the user's step function once, on symbolic placeholders
(one per sequence tap and per output tap), with the non-sequences
themselves; it then reads what the step returned (outputs, an updates
dict, an ``until`` condition, in any of Theano's orders), finds the
variables the step uses without being given them (shared variables and
other outer variables: the implicit non-sequences), replaces the
non-sequences and shared variables by inner inputs, and builds one Scan
node whose outer inputs are laid out as :mod:`.op` describes.

Theano's conventions kept here:

* taps are given per sequence/output in any order; the step receives the
  values in the order given (``dict(input=x, taps=[-1, 0])`` passes
  ``x[t-1]`` then ``x[t]``); sequences come first, then the outputs' taps,
  then the non-sequences;
* a sequence is cut as if tap 0 were always used: ``taps=[-2]`` reads
  ``x[t]`` at step 0 and gives ``len(x) - 2`` steps;
* an output with taps ``[-1]`` has the state itself as initial value; with
  other taps ``initial`` has a leading dimension whose first ``-min(taps)``
  rows are the values at steps ``min(taps) .. -1``;
* a constant negative ``n_steps`` runs backwards (flips ``go_backwards``);
* a single output is returned unwrapped unless ``return_list``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from symarray.control.scan.info import ScanInfo
from symarray.control.scan.op import Scan, _fits
from symarray.errors import DtypeError
from symarray.graph.basic import Constant, Variable
from symarray.graph.traversal import (
    NotScalarConstantError,
    ancestors,
    clone_replace,
    get_scalar_constant_value,
)
from symarray.updates import OrderedUpdates

__all__ = ["scan", "until"]


def _tensor() -> Any:
    import symarray.tensor as T  # noqa: N812 - Theano's name

    return T


class until:  # noqa: N801 - Theano's name
    """Stop a scan loop after the step where ``condition`` is true.

    The step function returns it with its outputs:
    ``return outputs, until(cond)`` or ``return outputs, updates, until(cond)``.
    At least one step always runs; ``n_steps`` is then the maximum number of
    steps and the outputs hold only the steps that ran.

    Parameters
    ----------
    condition
        A scalar (0-d) boolean or integer.
    """

    def __init__(self, condition: Any) -> None:
        T = _tensor()  # noqa: N806
        cond = T.as_tensor_variable(condition)
        if cond.ndim != 0:
            raise TypeError(f"until: the condition must be a scalar (0-d), got "
                            f"{cond.type}; reduce it first, e.g. T.any(c) or "
                            "T.all(c)")
        if np.dtype(cond.dtype).kind not in "biu":
            raise TypeError(f"until: the condition must be boolean or integer, got "
                            f"dtype {cond.dtype}; compare it, e.g. T.gt(x, 0)")
        self.condition = cond

    def __repr__(self) -> str:
        return f"until({self.condition})"


class _Seq:
    """A sequence and its taps as given (the order the step receives them)."""

    __slots__ = ("var", "taps")

    def __init__(self, var: Any, taps: list[int]) -> None:
        self.var = var
        self.taps = taps


class _Out:
    """An output: its initial value (None: not fed back) and taps as given
    ([] when not fed back); ``state_type`` is the type one tap is read as."""

    __slots__ = ("initial", "taps", "state_type")

    def __init__(self, initial: Any, taps: list[int]) -> None:
        self.initial = initial
        self.taps = taps
        self.state_type: Any = None


def _where(name: str | None) -> str:
    return f"scan {name!r}" if name else "scan"


def _as_list(x: Any) -> list[Any]:
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _as_var(x: Any, where: str, what: str) -> Variable:
    if isinstance(x, Variable):
        return x
    try:
        return _tensor().as_tensor_variable(x)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{where}: {what} must be a variable or array-like, got "
                        f"{type(x).__name__}: {err}") from None


def _check_taps(taps: Any, where: str, what: str) -> list[int]:
    if isinstance(taps, (int, np.integer)):
        taps = [taps]
    try:
        taps = [int(t) for t in taps]
    except (TypeError, ValueError):
        raise TypeError(f"{where}: {what} taps must be a list of ints, got "
                        f"{taps!r}") from None
    if not taps:
        raise ValueError(f"{where}: {what} has an empty taps list")
    if len(set(taps)) != len(taps):
        raise ValueError(f"{where}: {what} lists a tap twice: {taps}")
    return taps


def _normalise_sequences(sequences: Any, where: str) -> list[_Seq]:
    seqs = []
    for i, s in enumerate(_as_list(sequences)):
        what = f"sequence {i}"
        if isinstance(s, dict):
            unknown = set(s) - {"input", "taps"}
            if unknown or "input" not in s:
                raise ValueError(f"{where}: {what} is a dict; it needs the key "
                                 f"'input' and may have 'taps', got keys {sorted(s)}")
            var = _as_var(s["input"], where, what)
            taps = s.get("taps")
            taps = [0] if taps is None else _check_taps(taps, where, what)
        else:
            var = _as_var(s, where, what)
            taps = [0]
        if getattr(var.type, "ndim", 0) < 1:
            raise TypeError(f"{where}: {what} ({var}) must have at least one "
                            f"dimension to loop over, got {var.type}; pass a "
                            "scalar as a non_sequence")
        seqs.append(_Seq(var, taps))
    return seqs


def _normalise_outputs_info(outputs_info: Any, where: str) -> list[_Out]:
    outs = []
    for i, o in enumerate(_as_list(outputs_info)):
        what = f"outputs_info[{i}]"
        if o is None:
            outs.append(_Out(None, []))
            continue
        if isinstance(o, dict):
            unknown = set(o) - {"initial", "taps", "return_steps"}
            if unknown:
                raise ValueError(f"{where}: {what} has unknown keys {sorted(unknown)}; "
                                 "use 'initial' and 'taps'")
            init = o.get("initial")
            if init is None:
                if o.get("taps"):
                    raise ValueError(f"{what}: taps {o['taps']} are given without "
                                     "an 'initial' value; give dict(initial=x, "
                                     "taps=...) or None for an output that is not "
                                     "fed back")
                outs.append(_Out(None, []))
                continue
            taps = o.get("taps")
            taps = [-1] if taps is None else _check_taps(taps, where, what)
            if any(t >= 0 for t in taps):
                raise ValueError(f"{where}: {what} taps {taps} must all be negative "
                                 "(an output can only read its earlier steps)")
            outs.append(_Out(_as_var(init, where, what), taps))
        else:
            outs.append(_Out(_as_var(o, where, what), [-1]))
    return outs


def _state_type(out: _Out, where: str, i: int) -> Any:
    """The type of one tap of output ``i`` (checks the initial's shape)."""
    init = out.initial
    assert init is not None
    t: Any = init.type
    if out.taps == [-1]:
        return t
    lag = -min(out.taps)
    if getattr(t, "ndim", 0) < 1:
        raise ValueError(
            f"{where}: output {i} has taps {out.taps}, so its initial value needs a "
            f"leading dimension of at least {lag} rows (the values at steps "
            f"{-lag}..-1), got {init} of type {t}")
    rows = t.shape[0]
    if rows is not None and rows < lag:
        raise ValueError(
            f"{where}: output {i} has taps {out.taps}, which read {lag} earlier "
            f"steps, but its initial value has {rows} rows; give at least {lag} "
            f"rows or change the taps")
    return t.clone(shape=t.shape[1:])


def _is_updates(x: Any) -> bool:
    from symarray.compile.sharedvalue import SharedVariable

    if isinstance(x, dict):
        return True
    return (isinstance(x, (list, tuple)) and len(x) > 0
            and all(isinstance(p, (list, tuple)) and len(p) == 2
                    and isinstance(p[0], SharedVariable) for p in x))


def _parse_step_result(result: Any, where: str) -> tuple[Any, list[Any], Any]:
    """(condition or None, outputs, updates) from what the step returned."""
    if result is None:
        return None, [], {}
    if isinstance(result, until):
        return result.condition, [], {}
    if _is_outputs_like(result):
        return None, _as_list(result), {}
    if _is_updates(result):
        return None, [], result
    if isinstance(result, (list, tuple)):
        conds = [p for p in result if isinstance(p, until)]
        if len(conds) > 1:
            raise TypeError(f"{where}: the step function returned {len(conds)} until "
                            "conditions; combine them into one, e.g. "
                            "until(T.or_(a, b))")
        cond = conds[0].condition if conds else None
        rest = [p for p in result if not isinstance(p, until)]
        if cond is not None and all(_is_output(p) for p in rest):
            return cond, rest, {}  # (out1, out2, until(c))
        outputs: list[Any] | None = None
        updates: Any = None
        ok = len(rest) <= 2
        for p in rest if ok else ():
            if updates is None and _is_updates(p):
                updates = p
            elif outputs is None and _is_outputs_like(p):
                outputs = _as_list(p)
            else:
                ok = False
        if ok:
            return cond, outputs or [], updates or {}
    raise TypeError(
        f"{where}: cannot understand what the step function returned: "
        f"{_describe(result)}; return an output, a list of outputs, an updates "
        "dict, or a tuple (outputs, updates), with until(condition) appended for a "
        "do-while loop")


def _is_output(x: Any) -> bool:
    """A variable, or a number or array (made a constant)."""
    return isinstance(x, (Variable, int, float, np.ndarray, np.generic))


def _is_outputs_like(x: Any) -> bool:
    """One output or a list of outputs."""
    if _is_output(x):
        return True
    return isinstance(x, (list, tuple)) and all(_is_output(v) for v in x)


def _describe(x: Any) -> str:
    if isinstance(x, (list, tuple)):
        inner = ", ".join(_describe(v) for v in x)
        return f"{type(x).__name__}({inner})"
    if isinstance(x, Variable):
        return f"{x} ({x.type})"
    if isinstance(x, dict):
        return f"dict of {len(x)} updates"
    return type(x).__name__


def _fit_state_output(out: Any, in_type: Any, where: str, i: int) -> Variable:
    """The step's new value of output ``i``, made to fit the type it is read as."""
    T = _tensor()  # noqa: N806
    if not isinstance(out, Variable):
        out = T.as_tensor_variable(out, dtype=getattr(in_type, "dtype", None))
    if _fits(in_type, out.type):
        return out
    ot = out.type
    if getattr(ot, "dtype", None) != getattr(in_type, "dtype", None):
        raise DtypeError(
            f"{where}: output {i} changes dtype between steps: its initial value "
            f"(outputs_info[{i}]) is {in_type.dtype} but the step function returns "
            f"{getattr(ot, 'dtype', ot)}; cast the step's result, e.g. "
            f"T.cast(new_value, {in_type.dtype!r}), or give an initial value of "
            f"dtype {getattr(ot, 'dtype', ot)!r}")
    if ot.ndim != in_type.ndim:
        raise TypeError(
            f"{where}: output {i} changes rank between steps: its initial value "
            f"(outputs_info[{i}], one tap) is {in_type} ({in_type.ndim}-d) but the "
            f"step function returns {ot} ({ot.ndim}-d); return a value shaped like "
            "the initial state")
    for d, (a, b) in enumerate(zip(in_type.shape, ot.shape, strict=True)):
        if a is not None and b is not None and a != b:
            raise TypeError(
                f"{where}: output {i} changes shape between steps: its initial value "
                f"has static shape {in_type.shape} but the step function returns "
                f"static shape {ot.shape} (dimension {d}); return a value shaped "
                "like the initial state")
    # the step's value is less specific: check it at run time
    return T.specify_shape(out, in_type.shape)


def _check_arity(fn: Callable[..., Any], args: list[Any], where: str,
                 n_non_seqs: int) -> None:
    """Refuse a step function that cannot take the arguments scan passes."""
    import inspect

    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin or C callable: just call it
        return
    try:
        sig.bind(*args)
    except TypeError:
        names = ", ".join(str(a) for a in args) or "nothing"
        raise TypeError(
            f"{where}: the step function {getattr(fn, '__name__', fn)}{sig} cannot "
            f"take the {len(args)} arguments scan passes: {names} (the sequences' "
            "taps, then the fed-back outputs' taps, then the "
            f"{n_non_seqs} non_sequences); change its parameters or the scan "
            "arguments") from None


def _copy_test_value(holder: Variable, source: Variable, backwards: bool,
                     row: int | None) -> None:
    """Give a placeholder a test value (``config.compute_test_value``): the
    source's test value, or its row ``row`` (counted from the end when
    ``backwards``)."""
    from symarray import config
    from symarray.graph.basic import NoTestValueError

    if config.compute_test_value == "off":
        return
    try:
        value = (source.data if isinstance(source, Constant)
                 else source.get_test_value())
    except NoTestValueError:
        return
    value = np.asarray(value)
    if row is not None:
        if value.ndim == 0 or not -value.shape[0] <= row < value.shape[0]:
            return
        value = value[-1 - row] if backwards else value[row]
    holder.tag.test_value = np.asarray(value, dtype=getattr(holder.type, "dtype",
                                                           None))


def _n_steps_constant(n_steps: Any) -> int | None:
    if n_steps is None:
        return None
    if isinstance(n_steps, (int, np.integer)):
        return int(n_steps)
    if isinstance(n_steps, (float, np.floating)):
        if float(n_steps) != int(n_steps):
            raise TypeError(f"scan: n_steps must be an integer, got {n_steps}")
        return int(n_steps)
    dtype = getattr(getattr(n_steps, "type", None), "dtype", None)
    if dtype is not None and np.dtype(dtype).kind not in "iu":
        raise TypeError(f"scan: n_steps must be a scalar integer, got {n_steps.type}; "
                        "cast it, e.g. T.cast(n, 'int64')")
    try:
        return int(get_scalar_constant_value(n_steps))
    except (NotScalarConstantError, TypeError, ValueError):
        return None


def _collect_default_updates(updates: OrderedUpdates, roots: list[Variable]) -> None:
    from symarray.compile.sharedvalue import SharedVariable

    while True:
        added = False
        for var in ancestors(roots + list(updates.values())):
            if (isinstance(var, SharedVariable) and var.default_update is not None
                    and var not in updates):
                updates[var] = var.default_update
                added = True
        if not added:
            return


def scan(fn: Callable[..., Any], sequences: Any = None, outputs_info: Any = None,
         non_sequences: Any = None, n_steps: Any = None, truncate_gradient: int = -1,
         go_backwards: bool = False, mode: Any = None, name: str | None = None,
         profile: Any = False, allow_gc: bool | None = None, strict: bool = False,
         return_list: bool = False) -> tuple[Any, OrderedUpdates]:
    """Loop ``fn`` over sequences and/or carried states (Theano's ``scan``).

    Parameters
    ----------
    fn
        The step function.  It receives, in order: for each sequence its
        values at the requested taps, for each output in ``outputs_info``
        that is fed back its earlier values at the requested taps, then the
        ``non_sequences``.  It returns the outputs of the step (a variable or
        a list), optionally with an updates dict of shared variables and an
        :class:`until` condition: ``outs``, ``(outs, updates)``,
        ``(outs, until(c))``, ``(outs, updates, until(c))`` or ``updates``.
    sequences
        Variables (or ``dict(input=x, taps=[...])``) looped over along their
        first dimension; tap ``k`` reads ``x[t + k]``.
    outputs_info
        One entry per output: None (not fed back), an initial state (the
        step receives the previous value), or ``dict(initial=x, taps=[...])``
        for several earlier values (``x``'s first ``-min(taps)`` rows are
        the values before step 0).  None for all: no output is fed back.
    non_sequences
        Variables given unchanged to every step.  Other variables the step
        uses (shared variables, outer variables) are added automatically.
    n_steps
        The number of steps (an int or a scalar integer variable; the
        maximum for a do-while loop).  By default the shortest sequence's
        length.  A constant negative value runs backwards.
    truncate_gradient
        Steps the gradient goes back through (-1: all).
    go_backwards
        Loop over the sequences from the end.
    mode
        The mode the step is compiled with (default: the default mode).
    name
        Shown when the loop is printed and in error messages.
    profile, allow_gc
        Accepted for compatibility (no effect).
    strict
        Refuse variables that the step uses without receiving them.
    return_list
        Always return a list of outputs, even a single one.

    Returns
    -------
    outputs
        The outputs' values at every step stacked along a new first
        dimension (one variable, or a list), without the initial states.
    updates
        An :class:`~symarray.updates.OrderedUpdates` giving each shared
        variable updated inside the loop its value after the last step;
        pass it to ``function(..., updates=updates)``.

    Examples
    --------
    >>> import numpy as np, symarray as theano, symarray.tensor as T
    >>> x = T.dvector("x")
    >>> partial_sums, _ = theano.scan(lambda v, acc: acc + v, sequences=x,
    ...                               outputs_info=T.constant(0.0, dtype="float64"))
    >>> theano.function([x], partial_sums)([1.0, 2.0, 3.0])
    array([1., 3., 6.])
    """
    T = _tensor()  # noqa: N806
    where = _where(name)
    if profile:
        warnings.warn(f"{where}: profile is not available yet and is ignored",
                      stacklevel=2)
    if not callable(fn):
        raise TypeError(f"{where}: fn must be callable, got {type(fn).__name__}")
    seqs = _normalise_sequences(sequences, where)
    outs = _normalise_outputs_info(outputs_info, where)
    explicit_non_seqs = [_as_var(v, where, f"non_sequences[{k}]")
                         for k, v in enumerate(_as_list(non_sequences))]

    fixed = _n_steps_constant(n_steps)
    if fixed is not None and fixed < 0:
        go_backwards = not go_backwards
        fixed = -fixed
        n_steps = fixed

    # -- placeholders and the call of the step function --------------------
    seq_holders: list[dict[int, Variable]] = []
    args: list[Any] = []
    for i, s in enumerate(seqs):
        row_type = s.var.type.clone(shape=s.var.type.shape[1:])
        holders = {}
        for k in s.taps:
            label = s.var.name or f"seq{i}"
            holders[k] = row_type(f"{label}[t{k:+d}]" if k else f"{label}[t]")
            _copy_test_value(holders[k], s.var, go_backwards,
                             k - min(min(s.taps), 0))
            args.append(holders[k])
        seq_holders.append(holders)
    state_holders: list[dict[int, Variable]] = []
    for i, o in enumerate(outs):
        if o.initial is None:
            state_holders.append({})
            continue
        o.state_type = _state_type(o, where, i)
        holders = {}
        label = o.initial.name or f"out{i}"
        for k in o.taps:
            holders[k] = o.state_type(f"{label}[t{k:+d}]")
            _copy_test_value(holders[k], o.initial, False,
                             None if o.taps == [-1] else k - min(o.taps))
            args.append(holders[k])
        state_holders.append(holders)
    args.extend(explicit_non_seqs)

    _check_arity(fn, args, where, len(explicit_non_seqs))
    cond, raw_outputs, raw_updates = _parse_step_result(fn(*args), where)

    # -- outputs --------------------------------------------------------------
    if not outs:
        outs = [_Out(None, []) for _ in raw_outputs]
        state_holders = [{} for _ in raw_outputs]
    if len(raw_outputs) != len(outs):
        raise ValueError(
            f"{where}: the step function returns {len(raw_outputs)} output(s) but "
            f"outputs_info has {len(outs)} entries; give one outputs_info entry per "
            "output (None for an output that is not fed back)")
    state_idx = [i for i, o in enumerate(outs) if o.initial is not None]
    nit_idx = [i for i, o in enumerate(outs) if o.initial is None]
    new_values: dict[int, Variable] = {}
    for i in state_idx:
        new_values[i] = _fit_state_output(raw_outputs[i], outs[i].state_type, where, i)
    for i in nit_idx:
        out = raw_outputs[i]
        if out is None:
            raise TypeError(f"{where}: output {i} of the step function is None; "
                            "return a variable")
        if not isinstance(out, Variable):
            out = _as_var(out, where, f"output {i} of the step function")
        if getattr(out.type, "ndim", None) is None:
            raise TypeError(f"{where}: output {i} of the step function must be a "
                            f"tensor, got {out} of type {out.type}")
        new_values[i] = out

    updates = OrderedUpdates(raw_updates if isinstance(raw_updates, dict)
                             else list(raw_updates))
    roots = [new_values[i] for i in state_idx + nit_idx]
    if cond is not None:
        roots.append(cond)
    _collect_default_updates(updates, roots)
    shared_keys = list(updates.keys())
    update_values = [updates[k] for k in shared_keys]

    # -- non-sequences: explicit, then those found in the step graph -----------
    holders_set = {v for h in seq_holders + state_holders for v in h.values()}
    shared_set = set(shared_keys)
    non_seqs: list[Variable] = []
    seen: set[Variable] = set()
    for v in explicit_non_seqs:
        if v not in seen and v not in shared_set:
            non_seqs.append(v)
            seen.add(v)
    blockers = holders_set | shared_set | seen
    implicit = []
    for v in ancestors(roots + update_values, blockers=blockers):
        if (v.owner is None and not isinstance(v, Constant) and v not in blockers
                and v not in seen):
            implicit.append(v)
            seen.add(v)
    if strict and implicit:
        names = ", ".join(str(v) for v in implicit)
        raise ValueError(
            f"{where}: strict=True but the step function uses {names} without "
            "receiving it; add it to non_sequences (or pass strict=False)")
    non_seqs += implicit

    # -- the inner graph ---------------------------------------------------------
    shared_holders = [k.type(f"{k.name or 'shared'}[t-1]") for k in shared_keys]
    non_seq_holders = [v.type(v.name) for v in non_seqs]
    pairs = list(zip(shared_keys, shared_holders, strict=True))
    pairs += list(zip(non_seqs, non_seq_holders, strict=True))
    inner_outs = roots + update_values
    if pairs:
        inner_outs = clone_replace(inner_outs, pairs)
    n_st, n_nit = len(state_idx), len(nit_idx)
    inner_outputs = (inner_outs[:n_st + n_nit] + inner_outs[len(roots):]
                     + inner_outs[n_st + n_nit:len(roots)])
    seq_taps = [tuple(sorted(s.taps)) for s in seqs]
    state_taps = [tuple(sorted(outs[i].taps)) for i in state_idx]
    inner_inputs: list[Variable] = []
    for h, taps in zip(seq_holders, seq_taps, strict=True):
        inner_inputs += [h[k] for k in taps]
    for i, taps in zip(state_idx, state_taps, strict=True):
        inner_inputs += [state_holders[i][k] for k in taps]
    inner_inputs += shared_holders + non_seq_holders
    info = ScanInfo(seq_taps=tuple(seq_taps), state_taps=tuple(state_taps),
                    n_nit_sot=n_nit, n_shared=len(shared_keys),
                    n_non_seqs=len(non_seqs), as_while=cond is not None,
                    go_backwards=bool(go_backwards),
                    truncate_gradient=int(truncate_gradient), name=name)
    op = Scan(info, inner_inputs, inner_outputs, mode=mode, allow_gc=allow_gc)

    # -- the outer inputs -------------------------------------------------------
    outer_seqs = []
    lengths = []
    for s in seqs:
        x = s.var[::-1] if go_backwards else s.var
        lo, hi = min(s.taps), max(s.taps)
        lo_p, hi_p = min(lo, 0), max(hi, 0)
        if lo - lo_p > 0:
            x = x[lo - lo_p:]
        outer_seqs.append(x)
        lengths.append(s.var.shape[0] - (hi_p - lo_p))
    if n_steps is None:
        if not lengths:
            raise ValueError(
                f"{where}: no sequence gives the number of steps; pass n_steps "
                "(an int or a scalar integer variable)")
        steps = lengths[0]
        for other in lengths[1:]:
            steps = T.minimum(steps, other)
    elif fixed is not None:
        steps = T.constant(fixed, dtype="int64")
    else:
        steps = T.as_tensor_variable(n_steps)
        if steps.ndim != 0 or np.dtype(steps.dtype).kind not in "iu":
            raise TypeError(f"{where}: n_steps must be a scalar integer, got "
                            f"{steps.type}; cast it, e.g. T.cast(n, 'int64')")
    steps = T.cast(steps, "int64") if steps.dtype != "int64" else steps
    inits = []
    for i in state_idx:
        o = outs[i]
        assert o.initial is not None
        if o.taps == [-1]:
            inits.append(T.shape_padleft(o.initial))
        else:
            inits.append(o.initial[:-min(o.taps)])
    outer = [steps, *outer_seqs, *inits, *shared_keys, *non_seqs]
    results = op(*outer)
    results = results if isinstance(results, list) else [results]

    traces: list[Any] = [None] * len(outs)
    for pos, i in enumerate(state_idx + nit_idx):
        traces[i] = results[pos]
    out_updates = OrderedUpdates()
    for j, key in enumerate(shared_keys):
        out_updates[key] = results[n_st + n_nit + j]
    if len(traces) == 1 and not return_list:
        return traces[0], out_updates
    return traces, out_updates
