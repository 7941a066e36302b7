"""Scalar ops: the element-level operations behind every Elemwise.

A :class:`ScalarOp` is built from one row of :mod:`symarray.scalar.table`:
the row names the op, gives its NumPy implementation, its output-dtype rule,
its C and CUDA expressions (for the fused kernels) and its gradient.  This
module holds the machinery; the table holds the data.

Output dtype rules (``ScalarOp.output_dtypes``):

``upcast``      NumPy's result type of the inputs (``add``, ``mul``, ...)
``float``       like ``upcast`` but integers and bools become floats (``exp``):
                bool/int8/uint8/int16/uint16 -> float32, wider -> float64
``bool``        always bool (comparisons, ``isnan``)
``abs``         like ``upcast``, complex -> the matching float
``int``         integer/bool inputs only (bitwise ops), NumPy's result type
``switch``      output of ``switch(cond, a, b)``: result type of a and b
``clip``        dtype of the first input
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from symarray.errors import DtypeError

__all__ = ["ScalarOp", "ScalarRow", "upgrade_to_float", "FLOAT_FOR_INT"]

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
    #: extra numpy keyword arguments (e.g. ``{"casting": ...}``)
    commutative: bool = False
    associative: bool = False
    identity: Any = None
    doc: str = ""
    aliases: tuple[str, ...] = field(default=())


def _resolve(fn: str | Callable[..., Any]) -> Callable[..., Any]:
    """``"module:attr"`` -> the attribute, imported on first use."""
    if callable(fn):
        return fn
    module, _, attr = fn.partition(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


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
        the other inputs (NumPy 2's rule; a Python float combined with
        integers gives ``config.floatX``).
        """
        rule = self.row.rule
        if rule == "bool":
            self._check_kinds(dtypes)
            return ["bool"]
        if rule == "clip":
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
        out = _result_dtype(operands, w)
        if rule == "float":
            out = upgrade_to_float(out)
        elif rule == "abs" and np.dtype(out).kind == "c":
            out = "float32" if out == "complex64" else "float64"
        return [out]

    def _check_kinds(self, dtypes: Sequence[str]) -> None:
        if not self.row.complex_ok:
            for d in dtypes:
                if np.dtype(d).kind == "c":
                    raise DtypeError(
                        f"{self.name} is not defined for complex inputs, got {d}"
                    )

    def compute(self, inputs: Sequence[Any], out_dtype: str) -> Any:
        """Apply the NumPy implementation and return a ``out_dtype`` array."""
        if self.row.rule == "float":
            inputs = [
                np.asarray(i, dtype=out_dtype)
                if np.dtype(getattr(i, "dtype", out_dtype)).kind in "biu"
                else i
                for i in inputs
            ]
        result = self.impl(*inputs)
        return np.asarray(result, dtype=out_dtype)


def _result_dtype(dtypes: Sequence[str], weak: Sequence[bool] | None) -> str:
    """NumPy result type where weak (Python scalar) inputs yield."""
    from symarray import config

    if not weak or not any(weak):
        return str(np.result_type(*[np.dtype(d) for d in dtypes]))
    strong = [d for d, w in zip(dtypes, weak) if not w]
    weak_dt = [d for d, w in zip(dtypes, weak) if w]
    if not strong:
        return str(np.result_type(*[np.dtype(d) for d in weak_dt]))
    base = np.result_type(*[np.dtype(d) for d in strong])
    kinds = "biufc"
    top_weak = max(weak_dt, key=lambda d: kinds.index(np.dtype(d).kind))
    wk, bk = np.dtype(top_weak).kind, base.kind
    if kinds.index(wk) <= kinds.index(bk) or (wk in "iu" and bk in "iu"):
        return str(base)
    if wk == "f":
        return str(config.floatX) if bk in "biu" else str(base)
    return str(np.result_type(base, np.dtype(top_weak)))
