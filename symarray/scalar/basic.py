"""Scalar ops: the element-level operations behind every Elemwise.

A :class:`ScalarOp` is built from one row of :mod:`symarray.scalar.table`:
the row names the op, gives its NumPy implementation, its output-dtype rule,
its C and CUDA expressions (for the fused kernels) and its gradient.  This
module holds the machinery; the table holds the data.

Output dtype rules (``ScalarOp.output_dtypes``):

``upcast``      NumPy's result type of the inputs (``add``, ``mul``, ...)
``float``       like ``upcast`` but integers and bools become floats (``exp``):
                bool/int8/uint8/int16/uint16 -> float32, wider -> float64
                (Theano's ``upgrade_to_float``; float32 stays float32)
``bool``        always bool (comparisons, ``isnan``)
``abs``         like ``upcast``, complex -> the matching float (``abs``, ``real``)
``angle``       like ``float``, complex -> the matching float
``int``         integer/bool inputs only (bitwise ops), NumPy's result type
``switch``      output of ``switch(cond, a, b)``: result type of a and b
``clip``        dtype of the first input

Bool inputs (``ScalarRow.on_bool``): when the rule's result type is bool,
``"bool"`` keeps it (``add`` is logical or, as in NumPy), ``"int8"`` computes
in int8 (``pow``, ``sqr``, ``int_div``, ``mod``: NumPy's choice) and
``"error"`` refuses (``sub``, ``neg``, ``sgn``: NumPy refuses too).

Weak scalars (NumPy 2's rule, with Theano's floatX): an input made from a
Python scalar (``x + 1``, ``x * 0.5``) is *weak*: its dtype yields to the
other ("strong") inputs when its kind is not above theirs
(bool < int < float < complex):

* ``int32 + 1 -> int32``, ``int8 + 1 -> int8``, ``uint8 + 1 -> uint8``,
  ``float32 + 1 -> float32``, ``float32 + 0.5 -> float32``;
  ``bool + 1 -> int8`` (the constant's own dtype).
* A weak float with integer or bool inputs gives ``config.floatX``
  (``int32 + 1.5 -> floatX``).
* A weak complex gives the complex matching the strong float
  (``float32 + 1j -> complex64``), ``complex128`` over integers.
* Python ints that do not fit the strong integer dtype are not weak (the
  graph builder checks the value): ``int8 + 1000 -> int16``,
  ``uint8 + -1 -> int16``, as Theano and NumPy 1 did, instead of overflowing.
* NumPy scalars and arrays are never weak: ``float32 + np.float64(1) ->
  float64``, ``float64 + np.float32(1) -> float64``.
* With only weak inputs, their own dtypes decide (``T.constant(3)`` is int8,
  ``T.constant(3.5)`` floatX, as in Theano).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from symarray.errors import DtypeError

__all__ = ["ScalarOp", "ScalarRow", "upgrade_to_float", "result_dtype", "FLOAT_FOR_INT",
           "RULES"]

#: the output-dtype rules a row may name
RULES = ("upcast", "float", "bool", "abs", "angle", "int", "switch", "clip", "cast")

#: dtype an integer or bool input is computed in by float-valued ops
FLOAT_FOR_INT = {
    "bool": "float32",
    "int8": "float32",
    "uint8": "float32",
    "int16": "float32",
    "uint16": "float32",
    "int32": "float64",
    "uint32": "float64",
    "int64": "float64",
    "uint64": "float64",
}


def upgrade_to_float(dtype: str) -> str:
    """The float dtype a float-valued op computes an input of ``dtype`` in."""
    return FLOAT_FOR_INT.get(dtype, dtype)


@dataclass(frozen=True)
class ScalarRow:
    """One row of the scalar op table."""

    name: str
    nin: int
    numpy: str | Callable[..., Any]
    rule: str = "upcast"
    c: str | None = None
    cuda: str | None = None
    grad: Callable[..., Any] | None = None
    complex_ok: bool = True
    commutative: bool = False
    associative: bool = False
    identity: Any = None
    doc: str = ""
    aliases: tuple[str, ...] = field(default=())
    #: what an all-bool computation gives: "bool", "int8" or "error"
    on_bool: str = "bool"

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"scalar row {self.name}: unknown rule {self.rule!r}; "
                             f"known: {RULES}")
        if self.on_bool not in ("bool", "int8", "error"):
            raise ValueError(f"scalar row {self.name}: on_bool must be 'bool', "
                             f"'int8' or 'error', got {self.on_bool!r}")


def _resolve(fn: str | Callable[..., Any]) -> Callable[..., Any]:
    """``"module:attr"`` -> the attribute, imported on first use."""
    if callable(fn):
        return fn
    module, _, attr = fn.partition(":")
    return getattr(importlib.import_module(module), attr)


class ScalarOp:
    """An element-level operation defined by a table row.

    Scalar ops are not graph Ops themselves: ``Elemwise`` lifts them to
    tensors and ``Composite`` (fusion) chains them.  They compare by name.
    """

    def __init__(self, row: ScalarRow) -> None:
        self.row = row
        self.name = row.name
        self.nin = row.nin
        self._impl: Callable[..., Any] | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ScalarOp) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("ScalarOp", self.name))

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__

    @property
    def impl(self) -> Callable[..., Any]:
        """The NumPy implementation (resolved lazily: scipy loads on demand)."""
        if self._impl is None:
            self._impl = _resolve(self.row.numpy)
        return self._impl

    # -- typing --------------------------------------------------------
    def output_dtypes(
        self, dtypes: Sequence[str], weak: Sequence[bool] | None = None
    ) -> list[str]:
        """Output dtype for the given input dtypes.

        ``weak[i]`` marks input ``i`` as a Python scalar whose dtype yields to
        the other inputs (see the module docstring).  Raises
        :class:`~symarray.errors.DtypeError` for dtypes the op refuses.

        >>> from symarray.scalar import get_scalar_op
        >>> get_scalar_op("exp").output_dtypes(["int32"])
        ['float64']
        >>> get_scalar_op("add").output_dtypes(["float32", "float64"], [False, True])
        ['float32']
        """
        if len(dtypes) != self.nin:
            raise TypeError(f"{self.name} takes {self.nin} inputs, got {len(dtypes)}")
        rule = self.row.rule
        if rule == "bool":
            self._check_kinds(dtypes)
            return ["bool"]
        if rule == "clip":
            self._check_kinds(dtypes)
            return [dtypes[0]]
        operands = list(dtypes[1:]) if rule == "switch" else list(dtypes)
        w = list(weak[1:] if rule == "switch" else weak) if weak else None
        if rule == "int":
            for d in operands:
                if np.dtype(d).kind not in "biu":
                    raise DtypeError(
                        f"{self.name}: inputs must be integers or bools, got {d}; "
                        "cast first (x.astype('int64'))"
                    )
        self._check_kinds(operands)
        out = result_dtype(operands, w)
        if out == "bool" and rule in ("upcast", "float", "abs", "angle"):
            if self.row.on_bool == "error":
                raise DtypeError(
                    f"{self.name} is not defined for bool inputs (as in NumPy); "
                    "use ~x or T.xor for logic, or cast first (x.astype('int8'))"
                )
            if self.row.on_bool == "int8":
                out = "int8"
        if rule in ("float", "angle"):
            out = upgrade_to_float(out)
        if rule in ("abs", "angle") and np.dtype(out).kind == "c":
            out = "float32" if out == "complex64" else "float64"
        return [out]

    def _check_kinds(self, dtypes: Sequence[str]) -> None:
        if not self.row.complex_ok:
            for d in dtypes:
                if np.dtype(d).kind == "c":
                    raise DtypeError(
                        f"{self.name} is not defined for complex inputs, got {d}; "
                        "take T.real, T.imag or T.abs first"
                    )

    def compute(self, inputs: Sequence[Any], out_dtype: str) -> Any:
        """Apply the NumPy implementation and return a ``out_dtype`` array.

        The result never shares memory with an input (a view NumPy returns,
        as ``np.real`` does, is copied).
        """
        rule = self.row.rule
        if rule in ("float", "angle"):
            inputs = [
                np.asarray(i, dtype=out_dtype)
                if np.dtype(getattr(i, "dtype", out_dtype)).kind in "biu"
                else i
                for i in inputs
            ]
        elif out_dtype == "int8" and self.row.on_bool == "int8":
            inputs = [
                np.asarray(i, dtype="int8") if getattr(i, "dtype", None) == np.bool_
                else i
                for i in inputs
            ]
        result = np.asarray(self.impl(*inputs), dtype=out_dtype)
        for i in inputs:
            if isinstance(i, np.ndarray) and np.may_share_memory(result, i):
                return result.copy()
        return result


def result_dtype(dtypes: Sequence[str], weak: Sequence[bool] | None = None) -> str:
    """NumPy's result type of ``dtypes``, where weak (Python scalar) inputs yield.

    >>> result_dtype(["int32", "int8"], [False, True])
    'int32'
    >>> result_dtype(["float32", "complex128"], [False, True])
    'complex64'
    """
    from symarray import config

    if not weak or not any(weak) or all(weak):
        return str(np.result_type(*[np.dtype(d) for d in dtypes]))
    strong = [d for d, w in zip(dtypes, weak, strict=True) if not w]
    weak_dt = [d for d, w in zip(dtypes, weak, strict=True) if w]
    base = np.result_type(*[np.dtype(d) for d in strong])
    kinds = "biufc"
    top_weak = max(weak_dt, key=lambda d: kinds.index(np.dtype(d).kind))
    wk, bk = np.dtype(top_weak).kind, base.kind
    if kinds.index(wk) <= kinds.index(bk) or (wk in "iu" and bk in "iu"):
        return str(base)
    if wk == "f":
        return str(config.floatX) if bk in "biu" else str(base)
    if wk == "c":
        if bk == "f":
            return "complex128" if base.itemsize >= 8 else "complex64"
        return "complex64" if config.floatX == "float32" else "complex128"
    return str(np.result_type(base, np.dtype(top_weak)))
