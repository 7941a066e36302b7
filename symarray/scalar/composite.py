"""Composite: a small scalar program, the op of a fused elementwise node.

Fusion (:mod:`symarray.tensor.rewriting.fusion`) turns a connected subgraph
of elementwise nodes into one ``Elemwise(Composite(...))`` node.  The
composite is a straight-line program over numbered *registers*:

* registers ``0 .. nin-1`` hold the inputs;
* the next ones hold embedded constants (scalars: a fused ``x * 2`` needs
  no input for the ``2``);
* then one register per *step*, each step one row of the scalar table
  applied to earlier registers, with the output dtype the original node had;
* ``outputs`` names the registers the composite returns.

Key decisions:

* Each step records its output dtype, taken from the graph it came from, so
  the composite computes exactly what the separate nodes computed (weak
  constants, casts and integer promotion were already decided there).  The
  composite therefore accepts only the input dtypes it was built for.
* ``compute`` evaluates the steps with each row's NumPy implementation, in
  order, on whole arrays (NumPy broadcasts, as the separate nodes did): the
  living spec.  ``c_code`` renders the same program from the rows' ``c``
  fields, one statement per step, for the fused C kernel.
* Equality and hashing are structural (input dtypes, constants, steps,
  outputs), so merging treats equal fused nodes as one.
* Composites inside a program are inlined when it is built: a program only
  holds table rows and casts.

Example
-------
>>> import numpy as np
>>> from symarray.scalar import get_scalar_op
>>> b = CompositeBuilder(["float64", "float64"])
>>> x, y = b.inputs
>>> e = b.apply(get_scalar_op("exp"), [x])
>>> out = b.apply(get_scalar_op("mul"), [e, b.constant(2.0, "float64")])
>>> comp = b.build([b.apply(get_scalar_op("add"), [out, y])])
>>> str(comp)
'Composite{add(mul(exp(i0), 2.0), i1)}'
>>> comp.compute([np.zeros(2), np.ones(2)], "float64")
array([3., 3.])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from symarray.errors import DtypeError
from symarray.scalar.basic import ScalarOp, ScalarRow

__all__ = ["Composite", "CompositeBuilder", "Step", "C_TYPES"]

#: C type of each dtype in rendered code (complex dtypes have none)
C_TYPES: dict[str, str] = {
    "bool": "bool", "int8": "int8_t", "int16": "int16_t", "int32": "int32_t",
    "int64": "int64_t", "uint8": "uint8_t", "uint16": "uint16_t",
    "uint32": "uint32_t", "uint64": "uint64_t", "float32": "float",
    "float64": "double",
}

#: names longer than this are shortened with "..."
NAME_LIMIT = 120


class Step(NamedTuple):
    """One instruction: ``register[nin + nconst + k] = op(*registers[args])``."""

    op: ScalarOp
    args: tuple[int, ...]
    dtype: str


def _no_direct_call(*args: Any) -> Any:
    raise TypeError("a Composite is evaluated with Composite.compute, not row.numpy")


class Composite(ScalarOp):
    """A straight-line program of scalar ops, lifted by ``Elemwise`` as one op.

    Build one with :class:`CompositeBuilder` (fusion does).

    Parameters
    ----------
    input_dtypes
        Dtype of each input register.
    constants
        ``(dtype, value)`` of each embedded constant.
    steps
        The instructions, in order (see :class:`Step`).
    outputs
        Registers returned, in order (at least one).
    """

    is_composite = True

    def __init__(self, input_dtypes: Sequence[str],
                 constants: Sequence[tuple[str, Any]],
                 steps: Sequence[Step], outputs: Sequence[int]) -> None:
        self.input_dtypes = tuple(str(d) for d in input_dtypes)
        self.constants = tuple(
            (str(d), np.asarray(v, dtype=d).reshape(())) for d, v in constants
        )
        self.steps = tuple(Step(s.op, tuple(s.args), str(s.dtype)) for s in steps)
        self.outputs = tuple(int(o) for o in outputs)
        nin = len(self.input_dtypes)
        if not self.outputs:
            raise ValueError("Composite: needs at least one output")
        base = nin + len(self.constants)
        for k, step in enumerate(self.steps):
            if isinstance(step.op, Composite):
                raise TypeError(
                    "Composite: a step may not be another Composite; build with "
                    "CompositeBuilder, which inlines it"
                )
            if len(step.args) != step.op.nin:
                raise ValueError(
                    f"Composite: step {k} ({step.op}) takes {step.op.nin} arguments, "
                    f"got {len(step.args)}"
                )
            for a in step.args:
                if not 0 <= a < base + k:
                    raise ValueError(
                        f"Composite: step {k} ({step.op}) reads register {a}, which "
                        f"is not defined before it (registers 0..{base + k - 1})"
                    )
        total = base + len(self.steps)
        for o in self.outputs:
            if not 0 <= o < total:
                raise ValueError(f"Composite: output register {o} is not defined")
        self.nout = len(self.outputs)
        self._dtypes = [*self.input_dtypes, *(d for d, _ in self.constants),
                        *(s.dtype for s in self.steps)]
        self._key = (
            self.input_dtypes,
            tuple((d, v.tobytes()) for d, v in self.constants),
            tuple((s.op, s.args, s.dtype) for s in self.steps),
            self.outputs,
        )
        # registers a step reads for the last time: freed after it (a long
        # fused chain then holds a few temporaries, not one per step)
        last_use: dict[int, int] = {}
        for k, step in enumerate(self.steps):
            for a in step.args:
                if a >= base:
                    last_use[a] = k
        keep = set(self.outputs)
        free: list[list[int]] = [[] for _ in self.steps]
        for reg, k in last_use.items():
            if reg not in keep:
                free[k].append(reg)
        self._free_after = tuple(tuple(f) for f in free)
        name = _render_name(self)
        # the row makes Elemwise treat the composite like a cast: fixed output
        # dtypes, no weak-constant recasting, no associativity
        super().__init__(ScalarRow(name, nin, _no_direct_call, "cast"))

    # -- identity ----------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Composite) and other._key == self._key

    def __hash__(self) -> int:
        try:
            return self.__dict__["_hash"]
        except KeyError:
            h = self.__dict__["_hash"] = hash(("Composite", self._key))
            return h

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_hash", None)  # hashes of str differ between processes
        state.pop("_fast", None)  # ufuncs are found again after unpickling
        return state

    @property
    def output_dtype_list(self) -> list[str]:
        """The dtype of each output."""
        return [self._dtypes[o] for o in self.outputs]

    # -- typing --------------------------------------------------------------
    def output_dtypes(self, dtypes: Sequence[str],
                      weak: Sequence[bool] | None = None) -> list[str]:
        """The recorded output dtypes; the inputs must have the recorded dtypes."""
        got = tuple(str(d) for d in dtypes)
        if got != self.input_dtypes:
            raise DtypeError(
                f"{self.name}: built for input dtypes {list(self.input_dtypes)}, got "
                f"{list(got)}; cast the inputs or build a new composite"
            )
        return self.output_dtype_list

    # -- evaluation ----------------------------------------------------------
    def compute_all(self, inputs: Sequence[Any],
                    out_dtypes: Sequence[str] | None = None) -> list[Any]:
        """Every output, as arrays that share no memory with the inputs."""
        if len(inputs) != self.nin:
            raise TypeError(f"{self.name} takes {self.nin} inputs, got {len(inputs)}")
        regs: list[Any] = list(inputs)
        regs += [v for _, v in self.constants]
        fast = self._fast_steps()
        with np.errstate(all="ignore"):
            for step, fn, free in zip(self.steps, fast, self._free_after,
                                      strict=True):
                args = [regs[a] for a in step.args]
                regs.append(step.op.compute(args, step.dtype) if fn is None
                            else fn(*args))
                for r in free:
                    regs[r] = None
        n_fixed = self.nin + len(self.constants)
        results = []
        seen: set[int] = set()
        for k, o in enumerate(self.outputs):
            value = regs[o]
            if o < n_fixed or o in seen:  # an input, a constant or a repeat
                value = np.array(value, dtype=self._dtypes[o], copy=True)
            elif not isinstance(value, np.ndarray) or value.dtype != self._dtypes[o]:
                value = np.asarray(value, dtype=self._dtypes[o])
            seen.add(o)
            if out_dtypes is not None and value.dtype != out_dtypes[k]:
                value = value.astype(out_dtypes[k])
            results.append(value)
        return results

    def _fast_steps(self) -> tuple[Any, ...]:
        """Per step, a NumPy ufunc to call directly, or None.

        A plain table row whose implementation is a ufunc, applied to
        arguments of the step's own dtype, needs none of ``compute``'s
        conversions: calling the ufunc gives the same values (a long fused
        chain runs several times faster).  Worked out on first use (it may
        import scipy).
        """
        cached = self.__dict__.get("_fast")
        if cached is not None:
            return cached
        fast: list[Any] = []
        for step in self.steps:
            fn = None
            if type(step.op) is ScalarOp and all(
                self._dtypes[a] == step.dtype for a in step.args
            ):
                impl = step.op.impl
                fn = getattr(impl, "fn", impl)
                if not (isinstance(fn, np.ufunc) and fn.nin == step.op.nin
                        and fn.nout == 1):
                    fn = None
            fast.append(fn)
        self.__dict__["_fast"] = result = tuple(fast)
        return result

    def compute(self, inputs: Sequence[Any], out_dtype: str) -> Any:
        """The first output (the whole result of a one-output composite)."""
        return self.compute_all(inputs, [out_dtype] + self.output_dtype_list[1:])[0]

    # -- rendering -------------------------------------------------------------
    def c_code(self, inputs: Sequence[str], outputs: Sequence[str]) -> str | None:
        """C statements computing ``outputs`` from ``inputs`` (variable names).

        One typed temporary per step, from the rows' ``c`` fields; None when a
        row has no C expression or a dtype has no C type (complex).

        >>> from symarray.scalar import get_scalar_op
        >>> b = CompositeBuilder(["float64"])
        >>> e = b.apply(get_scalar_op("exp"), [b.inputs[0]])
        >>> print(b.build([b.apply(get_scalar_op("neg"), [e])]).c_code(["x"], ["z"]))
        double v1 = exp(x);
        double v2 = -v1;
        z = v2;
        """
        if len(inputs) != self.nin or len(outputs) != self.nout:
            raise ValueError(
                f"c_code: {self.name} has {self.nin} inputs and {self.nout} outputs, "
                f"got {len(inputs)} input and {len(outputs)} output names"
            )
        if any(d not in C_TYPES for d in self._dtypes):
            return None
        names = list(inputs)
        for d, v in self.constants:
            names.append(f"(({C_TYPES[d]}){_c_literal(v)})")
        lines = []
        base = len(names)
        for k, step in enumerate(self.steps):
            template = step.op.row.c
            if template is None:
                return None
            var = f"v{base + k}"
            expr = template.format(*[names[a] for a in step.args])
            lines.append(f"{C_TYPES[step.dtype]} {var} = {expr};")
            names.append(var)
        for out_name, o in zip(outputs, self.outputs, strict=True):
            lines.append(f"{out_name} = {names[o]};")
        return "\n".join(lines)


def _c_literal(value: np.ndarray) -> str:
    v = value.item()
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        if np.isnan(v):
            return "NAN"
        if np.isinf(v):
            return "INFINITY" if v > 0 else "-INFINITY"
        return repr(v)
    return str(v)


def _render_name(comp: Composite) -> str:
    """``Composite{add(exp(i0), i1)}``: nested calls, shortened when long."""
    texts = [f"i{k}" for k in range(len(comp.input_dtypes))]
    texts += [_short_const(v) for _, v in comp.constants]
    for step in comp.steps:
        args = ", ".join(texts[a] for a in step.args)
        text = f"{step.op.name}({args})"
        if len(text) > NAME_LIMIT:
            text = f"{step.op.name}(...)"
        texts.append(text)
    body = ", ".join(texts[o] for o in comp.outputs)
    if len(body) > NAME_LIMIT:
        body = body[: NAME_LIMIT - 3] + "..."
    return f"Composite{{{body}}}"


def _short_const(value: np.ndarray) -> str:
    text = repr(value.item())
    return text if len(text) <= 12 else text[:9] + "..."


class CompositeBuilder:
    """Builds a :class:`Composite` one step at a time.

    Registers are plain ints: :attr:`inputs` for the inputs, the result of
    :meth:`constant` and :meth:`apply` for the others.

    Parameters
    ----------
    input_dtypes
        Dtype of each input of the composite.
    """

    def __init__(self, input_dtypes: Sequence[str]) -> None:
        self.input_dtypes = [str(d) for d in input_dtypes]
        self._constants: list[tuple[str, Any]] = []
        self._constant_regs: dict[tuple[str, bytes], Any] = {}
        self._steps: list[tuple[ScalarOp, tuple[int, ...], str]] = []
        # register numbers here are provisional: ("i", k), ("c", k), ("s", k)
        self._dtypes: dict[tuple[str, int], str] = {
            ("i", k): d for k, d in enumerate(self.input_dtypes)
        }

    @property
    def inputs(self) -> list[Any]:
        """The input registers."""
        return [("i", k) for k in range(len(self.input_dtypes))]

    def constant(self, value: Any, dtype: str) -> Any:
        """A register holding the scalar ``value`` as ``dtype``."""
        arr = np.asarray(value, dtype=dtype)
        if arr.size != 1:
            raise ValueError(
                f"CompositeBuilder.constant: a constant must hold one element, got "
                f"shape {arr.shape}; pass bigger constants as inputs"
            )
        key = (str(arr.dtype), arr.reshape(()).tobytes())
        reg = self._constant_regs.get(key)
        if reg is None:
            reg = self._constant_regs[key] = ("c", len(self._constants))
            self._constants.append((key[0], arr.reshape(())))
            self._dtypes[reg] = key[0]
        return reg

    def dtype(self, reg: Any) -> str:
        """The dtype of register ``reg``."""
        return self._dtypes[reg]

    def apply(self, op: ScalarOp, args: Sequence[Any],
              dtype: str | None = None) -> Any:
        """A register holding ``op(*args)`` (a Composite op is inlined).

        ``dtype`` defaults to what ``op`` gives for the arguments' dtypes.
        For a multi-output composite, returns the list of its output
        registers.
        """
        args = list(args)
        if len(args) != op.nin:
            raise TypeError(f"{op} takes {op.nin} arguments, got {len(args)}")
        if isinstance(op, Composite):
            outs = self.inline(op, args)
            return outs[0] if op.nout == 1 else outs
        if dtype is None:
            dtype = op.output_dtypes([self._dtypes[a] for a in args])[0]
        reg = ("s", len(self._steps))
        self._steps.append((op, tuple(args), str(dtype)))
        self._dtypes[reg] = str(dtype)
        return reg

    def inline(self, comp: Composite, args: Sequence[Any]) -> list[Any]:
        """Copy ``comp``'s program onto ``args``; returns its output registers."""
        regs: list[Any] = list(args)
        regs += [self.constant(v, d) for d, v in comp.constants]
        for step in comp.steps:
            regs.append(self.apply(step.op, [regs[a] for a in step.args], step.dtype))
        return [regs[o] for o in comp.outputs]

    def build(self, outputs: Sequence[Any]) -> Composite:
        """The composite returning ``outputs``; unused steps are dropped."""
        used_steps: set[int] = set()
        used_consts: set[int] = set()
        stack = list(outputs)
        while stack:
            kind, k = stack.pop()
            if kind == "s" and k not in used_steps:
                used_steps.add(k)
                stack.extend(self._steps[k][1])
            elif kind == "c":
                used_consts.add(k)
        nin = len(self.input_dtypes)
        number: dict[Any, int] = {("i", k): k for k in range(nin)}
        constants: list[tuple[str, Any]] = []
        for k in sorted(used_consts):
            number[("c", k)] = nin + len(constants)
            constants.append(self._constants[k])
        base = nin + len(constants)
        steps: list[Step] = []
        for k in sorted(used_steps):
            op, args, dtype = self._steps[k]
            number[("s", k)] = base + len(steps)
            steps.append(Step(op, tuple(number[a] for a in args), dtype))
        return Composite(self.input_dtypes, constants, steps,
                         [number[o] for o in outputs])
