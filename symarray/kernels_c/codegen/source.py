"""C source for one fused ``Elemwise(Composite)`` node.

:func:`render` turns a :class:`~symarray.scalar.composite.Composite` with
known input and output dtypes into a small C file: an ``sa_elem`` function
computing one element of each output from one element of each input (one
typed local per step), and two exported loops over it:

``int sa_kernel_flat(begin, end, data)``
    every operand C-contiguous with the outputs' shape, or a statically
    one-element input (its value is read once); elements ``[begin, end)``.
``int sa_kernel_strided(nd, shape, strides, data, begin, end)``
    any strides (0 for a broadcast dimension, negative ones too) over the
    C-order elements ``[begin, end)`` of an ``nd``-dimensional iteration
    space; ``strides`` holds ``nd`` byte strides per operand, outputs last.
    A run whose operands are all contiguous takes a vectorizable inner loop.

``data`` holds one pointer per input, then one per output.  Both
return 0, or 1 when an element had no defined result in ``perform`` (an
integer raised to a negative power): the caller then runs ``perform``,
which raises the error.  The per-op C expressions come from the scalar
table through :mod:`symarray.kernels_c._gen_ops` and the helper functions
of ``_scalar_fns.h`` (NumPy's NaN, infinity and integer semantics), shared
with the precompiled interpreter.

Key decisions:

* Each step computes exactly what ``ScalarOp.compute`` computes: the
  arguments are converted as ``compute`` converts them, then to the dtype
  of the NumPy loop that the row's implementation picks (asked with
  ``ufunc.resolve_dtypes``, or found by calling the implementation on empty
  arrays), the C expression runs in that type, and the result is converted
  to the step's dtype.  A step whose loop has mixed input types, or a
  conversion C leaves undefined (float to integer), is declined.
* Constants are written as exact literals (hexadecimal floats).
* ``#pragma omp simd`` on the contiguous loops (compiled with
  ``-fopenmp-simd``) lets gcc call glibc's vector math (libmvec) through the
  ``omp declare simd`` declarations of ``_scalar_fns.h``; an in-place output
  is the same element of the same array, which the pragma allows.
* Several outputs (multi-output fusion): ``sa_elem`` stores each through a
  pointer to a local, which gcc keeps in registers once it inlines the
  call; each output may be in place over a different input, since every
  input element is read before any output element is written.  One output
  keeps ``sa_elem`` returning its value, so its text (and cache key) is the
  one-output file.

>>> from symarray.scalar.composite import CompositeBuilder
>>> from symarray.scalar import get_scalar_op
>>> b = CompositeBuilder(["float64"])
>>> comp = b.build([b.apply(get_scalar_op("exp"), b.inputs)])
>>> src = render(comp, "float64", (False,))
>>> "SC_exp(" in src.text, src.out_dtypes, src.uses_status
(True, ('float64',), False)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from symarray.scalar.basic import ScalarOp
from symarray.scalar.composite import C_TYPES, Composite

__all__ = ["KernelSource", "UnsupportedProgramError", "render", "explain", "HEADERS",
           "ABI"]

#: version of the calling convention of the exported functions (part of the key)
ABI = 1

#: headers (in symarray/kernels_c/) the generated file includes
HEADERS = ("_scalar_fns.h",)


class UnsupportedProgramError(Exception):
    """A program the code generator declines (the interpreter or perform runs it)."""


class KernelSource(NamedTuple):
    """The C text of one kernel and what the thunk needs to call it."""

    text: str                 # the C file
    in_dtypes: tuple[str, ...]
    out_dtypes: tuple[str, ...]  # one per output, in the Composite's order
    scalar_inputs: tuple[bool, ...]  # statically one-element inputs
    uses_status: bool         # an element may set sc_status (integer pow)

    @property
    def out_dtype(self) -> str:
        """The first output's dtype (the only one of a one-output kernel)."""
        return self.out_dtypes[0]


def render(comp: Composite, out_dtypes: str | Sequence[str],
           scalar_inputs: Sequence[bool]) -> KernelSource:
    """The C source computing every output of ``comp`` as ``out_dtypes``.

    Parameters
    ----------
    comp
        A composite with one or several outputs.
    out_dtypes
        The node's output dtypes, one per output of ``comp`` (``perform``
        converts to them); a string for a one-output composite.
    scalar_inputs
        Per input: whether its type has length 1 in every dimension (its
        one value is read once).

    Raises
    ------
    UnsupportedProgramError
        When a dtype, a step or a conversion has no exact C equivalent.
    """
    out_dtypes = ((out_dtypes,) if isinstance(out_dtypes, str)
                  else tuple(str(d) for d in out_dtypes))
    if len(out_dtypes) != len(comp.outputs):
        raise ValueError(f"render: {comp.nout} outputs, got {len(out_dtypes)} "
                         f"out_dtypes {out_dtypes}")
    in_dtypes = comp.input_dtypes
    scalar_inputs = tuple(bool(s) for s in scalar_inputs)
    if len(scalar_inputs) != len(in_dtypes):
        raise ValueError(f"render: {len(in_dtypes)} inputs, got "
                         f"{len(scalar_inputs)} scalar_inputs flags")
    dtypes = [*in_dtypes, *(d for d, _ in comp.constants),
              *(s.dtype for s in comp.steps), *out_dtypes]
    for d in dtypes:
        if d not in C_TYPES:
            raise UnsupportedProgramError(f"dtype {d} has no C type here")
    names = [f"i{k}" for k in range(len(in_dtypes))]
    reg_dtypes = list(in_dtypes)
    body: list[str] = []
    for k, (d, v) in enumerate(comp.constants):
        names.append(f"c{k}")
        reg_dtypes.append(d)
        body.append(f"    const {C_TYPES[d]} c{k} = {c_literal(v, d)};")
    uses_status = False
    for step in comp.steps:
        var = f"v{len(names)}"
        code, status = _step(step, [names[a] for a in step.args],
                             [reg_dtypes[a] for a in step.args], var)
        body.extend("    " + line for line in code)
        uses_status = uses_status or status
        names.append(var)
        reg_dtypes.append(step.dtype)
    results = [_convert(names[o], reg_dtypes[o], d)
               for o, d in zip(comp.outputs, out_dtypes, strict=True)]
    if len(results) == 1:
        body.append(f"    return {results[0]};")
    else:
        body.extend(f"    *r{k} = {r};" for k, r in enumerate(results))
    text = _file(comp, in_dtypes, out_dtypes, scalar_inputs, body, uses_status)
    return KernelSource(text, in_dtypes, out_dtypes, scalar_inputs, uses_status)


def explain(comp: Composite, out_dtypes: str | Sequence[str]) -> str | None:
    """Why :func:`render` declines ``comp`` (None when it renders it)."""
    try:
        render(comp, out_dtypes, (False,) * comp.nin)
    except UnsupportedProgramError as err:
        return str(err)
    return None


# -- steps -----------------------------------------------------------------

def _step(step: Any, args: list[str], arg_dtypes: list[str],
          var: str) -> tuple[list[str], bool]:
    """C lines defining ``var`` for one step; whether it may set sc_status."""
    from symarray.tensor.elemwise import Cast

    op, out = step.op, step.dtype
    ctype = C_TYPES[out]
    if type(op) is Cast:
        value = _convert(args[0], arg_dtypes[0], out)
        return [f"const {ctype} {var} = {value};"], False
    if type(op) is not ScalarOp:
        raise UnsupportedProgramError(f"step {op} is not a scalar-table row")
    row = op.row
    conv = _compute_conversions(op, arg_dtypes, out)
    loop = _loop_dtypes(op, tuple(conv))
    if loop is None:
        raise UnsupportedProgramError(f"{op.name}: no single NumPy loop for {conv}")
    loop_in, loop_out = loop
    family = _family(row.rule, loop_in)
    expr = _expressions().get(family, {}).get(row.name)
    if expr is None:
        raise UnsupportedProgramError(
            f"{op.name} has no C expression for {loop_in} ({family})")
    # arguments: as compute converts them, then to the loop's input types
    letters = "abc"
    lines = [f"{C_TYPES[loop_out]} t_{var};", "{"]
    for k, (a, d) in enumerate(zip(args, arg_dtypes, strict=True)):
        lt = loop_in[k]
        value = _convert(_convert(a, d, conv[k]), conv[k], lt)
        lines.append(f"    const {C_TYPES[lt]} {letters[k]} = {value};")
    lines += [f"    t_{var} = {expr};", "}"]
    lines.append(f"const {ctype} {var} = {_convert('t_' + var, loop_out, out)};")
    status = row.name == "pow" and np.dtype(loop_out).kind in "iu"
    return lines, status


def _compute_conversions(op: ScalarOp, arg_dtypes: list[str], out: str) -> list[str]:
    """Argument dtypes after ``ScalarOp.compute``'s own conversions."""
    rule = op.row.rule
    if rule in ("float", "angle"):
        return [out if np.dtype(d).kind in "biu" else d for d in arg_dtypes]
    if out == "int8" and op.row.on_bool == "int8":
        return ["int8" if d == "bool" else d for d in arg_dtypes]
    return list(arg_dtypes)


@lru_cache(maxsize=4096)
def _loop_dtypes(op: ScalarOp, conv: tuple[str, ...]
                 ) -> tuple[tuple[str, ...], str] | None:
    """(input dtypes, output dtype) of the NumPy loop ``op.impl`` runs, or None.

    Inputs of one dtype only (the condition of ``switch`` aside: it is only
    tested against zero); ``switch`` gets ``("bool", T, T)``.
    """
    impl = op.impl
    fn = getattr(impl, "fn", impl)
    rule = op.row.rule
    if isinstance(fn, np.ufunc) and fn.nout == 1 and fn.nin == len(conv):
        try:
            resolved = fn.resolve_dtypes(
                tuple(np.dtype(d) for d in conv) + (None,))
        except (TypeError, ValueError):
            return None
        ins = tuple(str(d) for d in resolved[:-1])
        out = str(resolved[-1])
    else:  # a Python function over ufuncs: the result dtype tells the loop
        try:
            with np.errstate(all="ignore"):
                result = np.asarray(impl(*[np.empty(0, dtype=d) for d in conv]))
        except Exception:  # any refusal means: no C loop
            return None
        out = str(result.dtype)
        operands = conv[1:] if rule == "switch" else conv
        if str(np.result_type(*operands)) != out and rule != "bool":
            return None
        ins = (out,) * len(operands)
        if rule == "switch":
            ins = (conv[0], *ins)
    if rule == "switch":
        if len(set(ins[1:])) != 1:
            return None
        return ins, out
    if len(set(ins)) != 1:
        return None
    return ins, out


def _family(rule: str, loop_in: tuple[str, ...]) -> str:
    """The ``_gen_ops`` list a row's C expression is taken from."""
    if rule == "switch":
        return "SWITCH"
    kind = np.dtype(loop_in[0]).kind
    fam = "F" if kind == "f" else "B" if kind == "b" else "I"
    return f"{'PRED' if rule == 'bool' else 'SAME'}_{fam}"


@lru_cache(maxsize=1)
def _expressions() -> dict[str, dict[str, str]]:
    """Family -> op name -> C expression over ``a``, ``b``, ``c``."""
    from symarray.kernels_c._gen_ops import c_expression, family_rows

    return {fam: {row.name: c_expression(row) for row in rows}
            for fam, rows in family_rows().items()}


# -- conversions and literals --------------------------------------------------

def _convert(value: str, src: str, dst: str) -> str:
    """C for ``value`` (of dtype ``src``) as ``dst``, as NumPy's astype gives it."""
    if src == dst:
        return value
    s, d = np.dtype(src).kind, np.dtype(dst).kind
    if s == "f" and d in "iu":
        raise UnsupportedProgramError(
            f"conversion {src} -> {dst} (C leaves NaN and out-of-range values "
            "undefined)")
    if s == "b":  # the same value; gcc vectorizes a select, not a _Bool cast
        return f"(({C_TYPES[dst]})(({value}) ? 1 : 0))"
    if d == "b":
        return f"(({value}) != 0)"
    return f"(({C_TYPES[dst]})({value}))"


def c_literal(value: Any, dtype: str) -> str:
    """An exact C literal of ``value`` as ``dtype``.

    >>> c_literal(0.1, "float64"), c_literal(-3, "int64"), c_literal(True, "bool")
    ('0x1.999999999999ap-4', '((int64_t)-3LL)', '1')
    """
    v = np.asarray(value, dtype=dtype).item()
    kind = np.dtype(dtype).kind
    if kind == "b":
        return "1" if v else "0"
    if kind == "f":
        if math.isnan(v):
            return f"(({C_TYPES[dtype]})NAN)"
        if math.isinf(v):
            return f"(({C_TYPES[dtype]}){'-' if v < 0 else ''}INFINITY)"
        text = float(v).hex()
        return text + "f" if dtype == "float32" else text
    if kind == "u":
        return f"(({C_TYPES[dtype]}){v}ULL)"
    if v == -(2**63):
        return "((int64_t)(-9223372036854775807LL - 1))"
    return f"(({C_TYPES[dtype]}){v}LL)"


# -- the file --------------------------------------------------------------------

_PROLOGUE = """\
/* Generated by symarray.kernels_c.codegen for
   {name}
   inputs {ins} -> {outs}.  Do not edit: the cache key is a hash of this text. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "_scalar_fns.h"

#define SA_EXPORT __attribute__((visibility("default")))
typedef ptrdiff_t sa_intp;

SA_EXPORT int sa_kernel_abi(void) {{ return {abi}; }}

static inline {rtype} sa_elem({params})
{{
"""

_FLAT = """\

SA_EXPORT int sa_kernel_flat(sa_intp begin, sa_intp end, char *const *data)
{{
{decls}\
{reset}\
#pragma omp simd
    for (sa_intp i = begin; i < end; i++) {{
{store}\
    }}
    return {ret};
}}
"""

_STRIDED = """\

SA_EXPORT int sa_kernel_strided(int nd, const sa_intp *shape,
                                const sa_intp *strides, char *const *data,
                                sa_intp begin, sa_intp end)
{{
    sa_intp idx[64];
    sa_intp rest = begin;
    const int last = nd - 1;
{reset}\
    for (int d = last; d >= 0; d--) {{
        idx[d] = rest % shape[d];
        rest /= shape[d];
    }}
    sa_intp pos = begin;
    while (pos < end) {{
        sa_intp m = shape[last] - idx[last];
        if (m > end - pos) m = end - pos;
{pointers}\
        for (int d = 0; d < last; d++) {{
{offsets}\
        }}
{offsets_last}\
        if ({contiguous}) {{
{typed}\
#pragma omp simd
            for (sa_intp j = 0; j < m; j++) {{
{run_store}\
            }}
        }} else {{
            for (sa_intp j = 0; j < m; j++) {{
{strided_store}\
            }}
        }}
        pos += m;
        /* next run: carry m through the index */
        sa_intp carry = m;
        for (int d = last; d >= 0 && carry; d--) {{
            carry += idx[d];
            idx[d] = carry % shape[d];
            carry /= shape[d];
        }}
    }}
    return {ret};
}}
"""


def _store(args: list[str], targets: list[str], otypes: list[str],
           indent: str) -> str:
    """C lines computing one element and storing each output at ``targets``."""
    if len(targets) == 1:
        return f"{indent}{targets[0]} = sa_elem({', '.join(args)});\n"
    lines = [f"{indent}{t} r{k};\n" for k, t in enumerate(otypes)]
    refs = ", ".join(f"&r{k}" for k in range(len(targets)))
    lines.append(f"{indent}sa_elem({', '.join(args)}, {refs});\n")
    lines += [f"{indent}{t} = r{k};\n" for k, t in enumerate(targets)]
    return "".join(lines)


def _file(comp: Composite, in_dtypes: tuple[str, ...], out_dtypes: tuple[str, ...],
          scalar_inputs: tuple[bool, ...], body: list[str],
          uses_status: bool) -> str:
    nin, nout = len(in_dtypes), len(out_dtypes)
    otypes = [C_TYPES[d] for d in out_dtypes]
    # one output keeps the names (and text) of the one-output kernel
    zs = ["z"] if nout == 1 else [f"z{k}" for k in range(nout)]
    params = [f"{C_TYPES[d]} i{k}" for k, d in enumerate(in_dtypes)]
    if nout > 1:
        params += [f"{t} *r{k}" for k, t in enumerate(otypes)]
    # bool inputs are read as bytes (nonzero: true): gcc vectorizes byte
    # loads, not _Bool ones
    ctypes_in = ["uint8_t" if d == "bool" else C_TYPES[d] for d in in_dtypes]
    reset = "    sc_status = 0;\n" if uses_status else ""
    ret = "sc_status" if uses_status else "0"
    name = comp.name.replace("*/", "* /")
    outs = ", ".join(out_dtypes)
    if nout > 1:  # which registers are outputs, in order
        outs += ("\n   (output registers " + ", ".join(map(str, comp.outputs))
                 + ")")
    parts = [_PROLOGUE.format(name=name, ins=", ".join(in_dtypes) or "none",
                              outs=outs, abi=ABI,
                              rtype=otypes[0] if nout == 1 else "void",
                              params=", ".join(params) or "void")]
    parts.append("\n".join(body) + "\n}\n")
    # flat loop
    decls, flat_args = [], []
    for k, t in enumerate(ctypes_in):
        if scalar_inputs[k]:
            decls.append(f"    const {t} x{k} = *(const {t} *)data[{k}];\n")
            flat_args.append(f"x{k}")
        else:
            decls.append(f"    const {t} *x{k} = (const {t} *)data[{k}];\n")
            flat_args.append(f"x{k}[i]")
    decls += [f"    {t} *{z} = ({t} *)data[{nin + k}];\n"
              for k, (z, t) in enumerate(zip(zs, otypes, strict=True))]
    parts.append(_FLAT.format(
        decls="".join(decls), reset=reset, ret=ret,
        store=_store(flat_args, [f"{z}[i]" for z in zs], otypes, " " * 8)))
    # strided loop: operand k's pointer p<k> and inner stride s<k>; output
    # z's pz and sz
    ops = [f"{k}" for k in range(nin)] + zs
    pointers = "".join(f"        char *p{o} = data[{k}];\n" for k, o in enumerate(ops))
    offsets = "".join(f"            p{o} += idx[d] * strides[{k} * nd + d];\n"
                      for k, o in enumerate(ops))
    offsets_last = "".join(
        f"        p{o} += idx[last] * strides[{k} * nd + last];\n"
        f"        const sa_intp s{o} = strides[{k} * nd + last];\n"
        for k, o in enumerate(ops))
    sizes = [f"s{k} == (sa_intp)sizeof({t})" for k, t in enumerate(ctypes_in)
             if not scalar_inputs[k]]
    sizes += [f"s{z} == (sa_intp)sizeof({t})" for z, t in zip(zs, otypes, strict=True)]
    typed, run_args, strided_args = [], [], []
    for k, t in enumerate(ctypes_in):
        if scalar_inputs[k]:
            typed.append(f"            const {t} x{k} = *(const {t} *)p{k};\n")
            run_args.append(f"x{k}")
            strided_args.append(f"*(const {t} *)p{k}")
        else:
            typed.append(f"            const {t} *x{k} = (const {t} *)p{k};\n")
            run_args.append(f"x{k}[j]")
            strided_args.append(f"*(const {t} *)(p{k} + j * s{k})")
    typed += [f"            {t} *{z} = ({t} *)p{z};\n"
              for z, t in zip(zs, otypes, strict=True)]
    parts.append(_STRIDED.format(
        reset=reset, pointers=pointers, offsets=offsets, offsets_last=offsets_last,
        contiguous=" && ".join(sizes), typed="".join(typed),
        run_store=_store(run_args, [f"{z}[j]" for z in zs], otypes, " " * 16),
        strided_store=_store(
            strided_args, [f"*({t} *)(p{z} + j * s{z})"
                           for z, t in zip(zs, otypes, strict=True)],
            otypes, " " * 16),
        ret=ret))
    return "".join(parts)
