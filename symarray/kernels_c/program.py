"""Scalar programs as block-interpreter programs (:mod:`._composite`).

Every ``Elemwise`` node, a fused ``Elemwise(Composite)`` (what fusion
produces, :mod:`.composite`) or a single scalar op (:mod:`.elemwise`), runs
in the same interpreter: :func:`build_program` turns its scalar program
into a :class:`Program` of typed block loops, one C loop per (scalar op,
dtype) from ``_loops.h``, which is generated from the scalar table.

Typing follows the op's NumPy ``perform`` (``ScalarOp.compute``) step by
step, so the C result has the dtype and the values NumPy gives:

* a ``float`` rule op (``exp``, ``true_div``...) casts integer and bool
  arguments to its output dtype first; an op whose bool result becomes
  int8 (``sqr``, ``pow``...) casts bools to int8;
* the loop computes in NumPy's result type of the (cast) arguments, and the
  result is cast to the dtype the step records (comparisons give bool);
* ``switch`` tests its condition as bool and computes in the result type
  of its two values; ``Cast`` steps are cast loops.

A program is declined (the node's ``perform`` runs) when it touches a dtype
without loops (complex, float16, datetime...) or an op without a C loop
(:func:`declined_ops` lists them), when it compares uint64 with signed
integers (NumPy compares those exactly), and when it could stop midway for
``perform`` to raise (integer powers) while writing over an input.

>>> import symarray.tensor as T
>>> x = T.bvector("x")
>>> p = node_program(T.exp(x).owner)   # int8 -> float32, then exp
>>> [LOOP_NAMES[k] for k in p.code[:, 0]]
['cast int8->float32', 'exp float32->float32']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from symarray import config
from symarray.graph.basic import Apply
from symarray.kernels_c._composite import loop_table
from symarray.kernels_c._threads import resolve_threads
from symarray.scalar.basic import ScalarOp
from symarray.scalar.composite import Composite
from symarray.scalar.table import ROWS
from symarray.tensor.elemwise import Cast

__all__ = ["build_program", "node_program", "scalar_program", "Program",
           "LOOPS", "LOOP_NAMES", "DTYPES", "declined_ops", "thread_count"]

#: dtypes the interpreter computes in
DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
          "uint64", "float32", "float64")


def _loops() -> dict[tuple[str, str, str], tuple[int, int]]:
    names: dict[int, str] = {np.dtype(d).num: d for d in DTYPES}
    return {(name, names[tin], names[tout]): (k, nin)
            for k, (name, _, tin, tout, nin) in enumerate(loop_table())}


#: (op name or "cast", input dtype, output dtype) -> (loop number, arity)
LOOPS: dict[tuple[str, str, str], tuple[int, int]] = _loops()


class Program(NamedTuple):
    """A scalar program in the interpreter's terms.

    Registers are numbered inputs first, then constants, then temporaries.
    """

    code: np.ndarray          # int32 (n, 5): loop number, dst, a, b, c
    reg_types: list[int]      # NumPy dtype number of each register
    slot_of: list[int]        # temporaries: their scratch block; else -1
    n_slots: int              # scratch blocks of the temporaries
    constants: list[Any]      # value of each constant register
    out_regs: list[int]       # the register each output reads
    in_types: list[int]       # dtype number of each input
    out_types: list[int]      # dtype number of each output
    checked: bool             # a loop may stop so that perform raises


def declined_ops() -> list[str]:
    """Scalar-table ops without a C loop for any dtype (perform runs them)."""
    have = {name for name, _, _ in LOOPS}
    return sorted(row.name for row in ROWS if row.name not in have)


def thread_count() -> int:
    """Threads a kernel compiled now may use: the ``kernel_threads`` flag, or
    (0) the cores this process may run on."""
    return int(resolve_threads(int(config.kernel_threads)))


class _DeclinedError(Exception):
    """The program cannot run in the interpreter."""


def _result_type(dtypes: Sequence[str]) -> str:
    return str(np.result_type(*[np.dtype(d) for d in dtypes]))


class _Builder:
    """Collects registers and instructions; registers are provisional
    ``(kind, k)`` pairs until :meth:`finish` numbers them."""

    def __init__(self, input_dtypes: Sequence[str]) -> None:
        self.dtype: dict[tuple[str, int], str] = {}
        self.inputs = [("i", k) for k in range(len(input_dtypes))]
        for reg, d in zip(self.inputs, input_dtypes, strict=True):
            self.dtype[reg] = self._check(d)
        self.consts: list[Any] = []
        self.instrs: list[tuple[int, tuple[str, int], list[tuple[str, int]]]] = []
        self.casts: dict[tuple[tuple[str, int], str], tuple[str, int]] = {}
        self.n_temps = 0
        self.checked = False

    @staticmethod
    def _check(dtype: str) -> str:
        if dtype not in DTYPES:
            raise _DeclinedError(dtype)
        return dtype

    def constant(self, value: Any, dtype: str) -> tuple[str, int]:
        reg = ("c", len(self.consts))
        self.consts.append(np.asarray(value, dtype=self._check(dtype)).reshape(()))
        self.dtype[reg] = dtype
        return reg

    def loop(self, name: str, tin: str, tout: str,
             args: Sequence[tuple[str, int]]) -> tuple[str, int]:
        found = LOOPS.get((name, tin, tout))
        if found is None or found[1] != len(args):
            raise _DeclinedError(name)
        dst = ("t", self.n_temps)
        self.n_temps += 1
        self.dtype[dst] = tout
        self.instrs.append((found[0], dst, list(args)))
        if name == "pow" and np.dtype(tin).kind in "iu":
            self.checked = True  # a negative exponent: perform raises
        return dst

    def cast(self, reg: tuple[str, int], dtype: str) -> tuple[str, int]:
        src = self.dtype[reg]
        if src == self._check(dtype):
            return reg
        got = self.casts.get((reg, dtype))
        if got is None:
            if reg[0] == "c":  # a constant: converted now, as astype does
                with np.errstate(all="ignore"):
                    got = self.constant(self.consts[reg[1]].astype(dtype), dtype)
            else:
                got = self.loop("cast", src, dtype, [reg])
            self.casts[(reg, dtype)] = got
        return got

    def step(self, op: ScalarOp, args: Sequence[tuple[str, int]],
             dtype: str) -> tuple[str, int]:
        """Instructions computing ``op(*args)`` as ``perform`` does, giving
        a register of ``dtype``."""
        self._check(dtype)
        if isinstance(op, Cast):
            return self.cast(self.cast(args[0], op.dtype), dtype)
        if type(op) is not ScalarOp:
            raise _DeclinedError(op.name)
        rule = op.row.rule
        types = [self.dtype[a] for a in args]
        if rule == "switch":
            ct = _result_type(types[1:])
            cond = self.cast(args[0], "bool")
            out = self.loop("switch", ct, ct,
                            [cond] + [self.cast(a, ct) for a in args[1:]])
            return self.cast(out, dtype)
        if rule in ("float", "angle"):
            types = [dtype if np.dtype(t).kind in "biu" else t for t in types]
        elif dtype == "int8" and op.row.on_bool == "int8":
            types = ["int8" if t == "bool" else t for t in types]
        ct = _result_type(types)
        if rule == "bool":
            kinds = {np.dtype(t).kind for t in types}
            if "uint64" in types and "i" in kinds:
                raise _DeclinedError(op.name)  # NumPy compares these exactly
        out = self.loop(op.name, ct, "bool" if rule == "bool" else ct,
                        [self.cast(a, ct) for a in args])
        return self.cast(out, dtype)

    def finish(self, outputs: Sequence[tuple[str, int]],
               out_dtypes: Sequence[str]) -> Program:
        outs = [self.cast(o, d) for o, d in zip(outputs, out_dtypes, strict=True)]
        nin, nconst = len(self.inputs), len(self.consts)
        number = {("i", k): k for k in range(nin)}
        number.update({("c", k): nin + k for k in range(nconst)})
        number.update({("t", k): nin + nconst + k for k in range(self.n_temps)})
        n_regs = nin + nconst + self.n_temps
        reg_types = [0] * n_regs
        for reg, dtype in self.dtype.items():
            reg_types[number[reg]] = np.dtype(dtype).num
        # scratch blocks: a temporary's block is reused once its last reader
        # ran; a loop never writes a block it reads (restrict pointers)
        last_read: dict[int, int] = {}
        for k, (_, _, args) in enumerate(self.instrs):
            for a in args:
                last_read[number[a]] = k
        keep = {number[o] for o in outs}
        slot_of = [-1] * n_regs
        free: list[int] = []
        n_slots = 0
        code = np.zeros((len(self.instrs), 5), dtype=np.int32)
        for k, (loop, dst, args) in enumerate(self.instrs):
            d = number[dst]
            if free:
                slot_of[d] = free.pop()
            else:
                slot_of[d] = n_slots
                n_slots += 1
            regs = [number[a] for a in args]
            code[k, 0], code[k, 1] = loop, d
            code[k, 2:] = (regs + [regs[0]] * 3)[:3]
            for r in set(regs):
                if slot_of[r] >= 0 and last_read[r] == k and r not in keep:
                    free.append(slot_of[r])
            if d not in last_read and d not in keep:
                free.append(slot_of[d])
        return Program(
            code, reg_types, slot_of, n_slots, list(self.consts),
            [number[o] for o in outs],
            [reg_types[k] for k in range(nin)],
            [np.dtype(d).num for d in out_dtypes], self.checked)


def build_program(input_dtypes: Sequence[str], constants: Sequence[tuple[str, Any]],
                  steps: Sequence[tuple[ScalarOp, Sequence[int], str]],
                  outputs: Sequence[int], out_dtypes: Sequence[str]) -> Program | None:
    """The interpreter's program for a scalar program, or None.

    Registers of the scalar program are numbered as in a
    :class:`~symarray.scalar.composite.Composite`: inputs, constants
    (``(dtype, value)``), then one per step ``(op, args, dtype)``;
    ``outputs`` name registers, ``out_dtypes`` the dtypes to return them in.

    >>> from symarray.scalar import get_scalar_op
    >>> p = build_program(["int32", "float32"], [], [(get_scalar_op("add"),
    ...                   (0, 1), "float64")], [2], ["float64"])
    >>> [LOOP_NAMES[k] for k in p.code[:, 0]]
    ['cast int32->float64', 'cast float32->float64', 'add float64->float64']
    """
    try:
        b = _Builder(input_dtypes)
        regs = list(b.inputs)
        regs += [b.constant(v, d) for d, v in constants]
        for op, args, dtype in steps:
            regs.append(b.step(op, [regs[a] for a in args], dtype))
        return b.finish([regs[o] for o in outputs], out_dtypes)
    except _DeclinedError:
        return None


#: loop number -> "name tin->tout" (for reading programs)
LOOP_NAMES = {k: f"{name} {tin}->{tout}" for (name, tin, tout), (k, _) in LOOPS.items()}


def scalar_program(sop: Any, in_dtypes: Sequence[str],
                   out_dtypes: Sequence[str]) -> Program | None:
    """The program of scalar op ``sop`` (a table op or a ``Composite``) on
    inputs of ``in_dtypes`` giving ``out_dtypes``, or None.  Elemwise nodes
    and the prologues of fused reductions (:mod:`.reduce`) both use it."""
    if isinstance(sop, Composite):
        if tuple(in_dtypes) != sop.input_dtypes:
            return None
        return build_program(in_dtypes, sop.constants,
                             [(s.op, s.args, s.dtype) for s in sop.steps],
                             sop.outputs, out_dtypes)
    if isinstance(sop, ScalarOp) and len(out_dtypes) == 1:
        return build_program(in_dtypes, [],
                             [(sop, tuple(range(len(in_dtypes))), out_dtypes[0])],
                             [len(in_dtypes)], out_dtypes)
    return None


def node_program(node: Apply) -> Program | None:
    """The program of an ``Elemwise`` node (fused or not), or None."""
    op = node.op
    in_dtypes = [getattr(i.type, "dtype", None) for i in node.inputs]
    out_dtypes = [getattr(o.type, "dtype", None) for o in node.outputs]
    ins = [d for d in in_dtypes if isinstance(d, str)]
    outs = [d for d in out_dtypes if isinstance(d, str)]
    if len(ins) != len(in_dtypes) or len(outs) != len(out_dtypes):
        return None
    program = scalar_program(getattr(op, "scalar_op", None), ins, outs)
    if program is None or (program.checked and getattr(op, "inplace_pattern", None)):
        return None
    return program
