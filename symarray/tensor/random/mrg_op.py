"""MRG31k3p: L'Ecuyer and Touzin's combined multiple recursive generator.

The state of one stream is six integers ``(x1[n-1], x1[n-2], x1[n-3],
x2[n-1], x2[n-2], x2[n-3])`` (newest first, as Theano keeps them); a step
computes

    x1[n] = (2**22 * x1[n-2] + (2**7 + 1) * x1[n-3])   mod M1,  M1 = 2**31 - 1
    x2[n] = (2**15 * x2[n-1] + (2**15 + 1) * x2[n-3])  mod M2,  M2 = 2**31 - 21069

and outputs ``z = (x1[n] - x2[n]) mod M1`` (``M1`` when that is 0), scaled
into ``(0, 1)``: ``z / 2**31`` in float64; in float32 ``float32(z)`` times
the float32 just below ``2**-31``, so that no draw rounds up to 1.

A recurrence is linear, so each component's step is a 3x3 matrix modulo
its M, and jumping ahead by ``2**k`` steps is that matrix squared ``k``
times (:func:`jump_matrix`, computed once with Python integers).  As in
Theano, a random variable gets ``n_streams`` streams spaced ``2**72`` steps
apart (:func:`substream_states`), and the next variable starts ``2**134``
steps further (:func:`jump`), so no two variables or streams overlap.

:class:`MRGUniform` draws ``prod(size)`` numbers from an ``(n_streams, 6)``
int32 state: element ``i`` (in C order) is the ``i // n_streams``-th
number of stream ``i % n_streams``.  Each stream is independent of the
others, so the C kernel (:mod:`symarray.kernels_c.mrg`) splits streams
over threads and the numbers are the same for every thread count.  Its
``perform`` (the reference) steps all streams at once with NumPy int64
arithmetic.  Gradients: none (the state and size are not differentiable).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from symarray.errors import DtypeError, RankError, ShapeMismatchError
from symarray.graph.basic import Apply, Op
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.random.op import static_size
from symarray.tensor.shape_ops import vector_entries
from symarray.tensor.type import TensorType, dtype_of

__all__ = ["M1", "M2", "A1", "A2", "MRGUniform", "mrg_uniform", "step_states",
           "uniform_from_states", "jump_matrix", "jump", "substream_states",
           "seed_state", "MultinomialFromUniform", "ChoiceFromUniform"]

M1 = 2147483647  # 2**31 - 1
M2 = 2147462579  # 2**31 - 21069
#: one step of component 1 on (x[n-1], x[n-2], x[n-3]) -> (x[n], x[n-1], x[n-2])
A1 = ((0, 1 << 22, (1 << 7) + 1), (1, 0, 0), (0, 1, 0))
#: one step of component 2
A2 = ((1 << 15, 0, (1 << 15) + 1), (1, 0, 0), (0, 1, 0))
#: float32 just below 2**-31: float32(z) * NORM32 < 1 for every z <= M1
NORM32 = np.float32(4.6566126e-10)
NORM64 = 1.0 / 2147483648.0

Matrix = tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]


def _matmul(a: Matrix, b: Matrix, m: int) -> Matrix:
    def row(i: int) -> tuple[int, int, int]:
        r0, r1, r2 = (sum(a[i][k] * b[k][j] for k in range(3)) % m for j in range(3))
        return (r0, r1, r2)

    return (row(0), row(1), row(2))


@cache
def jump_matrix(component: int, log2_steps: int) -> Matrix:
    """The matrix of ``2**log2_steps`` steps of component 1 or 2."""
    a, m = (A1, M1) if component == 1 else (A2, M2)
    for _ in range(log2_steps):
        a = _matmul(a, a, m)
    return a


def _matpow(a: Matrix, n: int, m: int) -> Matrix:
    result: Matrix = ((1, 0, 0), (0, 1, 0), (0, 0, 1))
    while n:
        if n & 1:
            result = _matmul(result, a, m)
        a = _matmul(a, a, m)
        n >>= 1
    return result


def _apply_rows(mat: Matrix, x: np.ndarray, m: int) -> np.ndarray:
    """``mat @ row mod m`` for each row of ``x`` (int64, entries < 2**31)."""
    out = np.zeros_like(x)
    for i in range(3):
        acc = np.zeros(x.shape[0], dtype=np.int64)
        for k in range(3):
            acc = (acc + (mat[i][k] * x[:, k]) % m) % m
        out[:, i] = acc
    return out


def jump(states: np.ndarray, log2_steps: int, times: int = 1) -> np.ndarray:
    """Stream states ``(n, 6)`` advanced by ``times * 2**log2_steps`` steps."""
    s = np.asarray(states, dtype=np.int64).reshape(-1, 6)
    a1 = _matpow(jump_matrix(1, log2_steps), times, M1)
    a2 = _matpow(jump_matrix(2, log2_steps), times, M2)
    out = np.concatenate([_apply_rows(a1, s[:, :3], M1), _apply_rows(a2, s[:, 3:], M2)],
                         axis=1)
    return out.astype(np.int32)


def seed_state(seed: Any) -> np.ndarray:
    """The 6-int state of a seed: an int (repeated six times) or six ints.

    The first three must be below M1 and not all 0, the last three below M2
    and not all 0 (Theano's rule).
    """
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed <= 0 or seed >= M2:
            raise ValueError(f"MRG seed must be in [1, {M2 - 1}] (an int is repeated "
                             f"for the six state words), got {seed}")
        return np.full(6, int(seed), dtype=np.int32)
    try:
        words = [int(w) for w in seed]
    except (TypeError, ValueError):
        raise TypeError(f"MRG seed must be an int or 6 ints, got {seed!r}") from None
    if len(words) != 6:
        raise ValueError(f"MRG seed must be an int or 6 ints, got {len(words)} ints")
    for k, w in enumerate(words):
        limit = M1 if k < 3 else M2
        if not 0 <= w < limit:
            raise ValueError(f"MRG seed word {k} must be in [0, {limit - 1}], got {w}")
    if not any(words[:3]) or not any(words[3:]):
        raise ValueError(f"MRG seed: words 0-2 and words 3-5 must not all be 0, got "
                         f"{words}")
    return np.asarray(words, dtype=np.int32)


def substream_states(state: np.ndarray, n_streams: int) -> np.ndarray:
    """``(n_streams, 6)``: ``state`` then each row ``2**72`` steps after the
    previous one (rows are filled by doubling: rows ``[k, 2k)`` are rows
    ``[0, k)`` jumped ``k * 2**72`` steps)."""
    if n_streams < 1:
        raise ValueError(f"n_streams must be >= 1, got {n_streams}")
    out = np.empty((n_streams, 6), dtype=np.int32)
    out[0] = state
    k = 1
    while k < n_streams:
        take = min(k, n_streams - k)
        out[k:k + take] = jump(out[:take], 72, times=k)
        k += take
    return out


def step_states(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One step of each stream of ``s`` (int64 ``(n, 6)``, updated in place);
    returns ``z`` in ``[1, M1]`` per stream."""
    x1 = ((1 << 22) * s[:, 1] + ((1 << 7) + 1) * s[:, 2]) % M1
    x2 = ((1 << 15) * s[:, 3] + ((1 << 15) + 1) * s[:, 5]) % M2
    s[:, 2], s[:, 1], s[:, 0] = s[:, 1], s[:, 0], x1
    s[:, 5], s[:, 4], s[:, 3] = s[:, 4], s[:, 3], x2
    z = x1 - x2
    z = np.where(z <= 0, z + M1, z)
    return s, z


def _scale(z: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "float32":
        return z.astype(np.float32) * NORM32
    return z.astype(np.float64) * NORM64


def uniform_from_states(states: np.ndarray, n: int, dtype: str,
                        ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` draws from the streams of ``states`` and the states after them
    (the NumPy reference of the kernel)."""
    s = np.array(states, dtype=np.int64).reshape(-1, 6)
    ns = s.shape[0]
    out = np.empty(n, dtype=dtype)
    for start in range(0, n, ns):
        count = min(ns, n - start)
        part, z = step_states(s[:count].copy())
        s[:count] = part
        out[start:start + count] = _scale(z, dtype)
    return out, s.astype(np.int32)


class MRGUniform(Op):
    """``(rstate, size) -> (new rstate, draws in (0, 1))`` of MRG31k3p.

    ``rstate`` is an ``(n_streams, 6)`` int32 matrix; ``size`` an int64
    vector of known length.  ``inplace`` writes the new state into
    ``rstate`` (the in-place phase turns it on when ``rstate`` is a shared
    variable these draws update).
    """

    __props__ = ("dtype", "inplace")

    def __init__(self, dtype: Any, inplace: bool = False) -> None:
        self.dtype = dtype_of(dtype)
        if self.dtype not in ("float32", "float64"):
            raise DtypeError(f"mrg_uniform: dtype must be float32 or float64, got "
                             f"{self.dtype}")
        self.inplace = bool(inplace)
        self.destroy_map = {0: [0]} if self.inplace else {}

    def __str__(self) -> str:
        return f"MRGUniform{{{self.dtype}{', inplace' if self.inplace else ''}}}"

    def make_node(self, rstate: Any, size: Any) -> Apply:
        r = as_tensor_variable(rstate)
        if r.ndim != 2 or r.dtype != "int32":
            raise DtypeError(f"mrg_uniform: rstate must be an int32 matrix (n_streams, "
                             f"6), got {r} of type {r.type}")
        size = as_tensor_variable(size)
        if size.ndim != 1 or np.dtype(size.dtype).kind not in "iu":
            raise DtypeError(f"mrg_uniform: size must be an integer vector, got {size} "
                             f"of type {size.type}")
        if size.type.shape[0] is None:
            raise ShapeMismatchError(
                f"mrg_uniform: the length of size={size} must be known when the graph "
                "is built; pass ndim= or a tuple")
        out = TensorType(self.dtype, shape=static_size(size)).make_variable()
        return Apply(self, [r, size], [r.type.make_variable(), out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        rstate, size = inputs
        shape = tuple(int(s) for s in size)
        if any(s < 0 for s in shape):
            raise ShapeMismatchError(f"mrg_uniform: size {shape} has a negative entry")
        if rstate.ndim != 2 or rstate.shape[1] != 6 or rstate.shape[0] < 1:
            raise ShapeMismatchError(
                f"mrg_uniform: rstate must have shape (n_streams >= 1, 6), got "
                f"{rstate.shape}; make it with MRG_RandomStreams")
        draws, new = uniform_from_states(rstate, int(np.prod(shape, dtype=np.int64)),
                                         self.dtype)
        if self.inplace:
            rstate[...] = new
            new = rstate
        output_storage[0][0] = new
        output_storage[1][0] = draws.reshape(shape)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[Any]:
        size = node.inputs[1]
        n = len(static_size(size))
        return [input_shapes[0], tuple(vector_entries(size, n=n)) if n else ()]

    def do_constant_folding(self, fgraph: Any, node: Apply) -> bool:
        return False

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        return [None, None]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        return [None, None]


def mrg_uniform(rstate: Any, size: Any, dtype: Any = "float64",
                ) -> list[Any]:
    """``(new_rstate, draws)`` of :class:`MRGUniform` (``size`` a size vector)."""
    return MRGUniform(dtype)(rstate, size)


# -- sampling from uniforms ---------------------------------------------------


def _check_pvals(where: str, pvals: Any, unis: Any, n: Any) -> list[Any]:
    p = as_tensor_variable(pvals)
    u = as_tensor_variable(unis)
    k = as_tensor_variable(n)
    if p.ndim != 2 or np.dtype(p.dtype).kind != "f":
        raise RankError(f"{where}: pvals must be a float matrix (batch, outcomes), "
                        f"got {p} of type {p.type}")
    if u.ndim != 1 or np.dtype(u.dtype).kind != "f":
        raise RankError(f"{where}: unis must be a float vector, got {u} of type "
                        f"{u.type}")
    if k.ndim != 0 or np.dtype(k.dtype).kind not in "iu":
        raise DtypeError(f"{where}: n must be a 0-d integer, got {k} of type {k.type}")
    return [p, u, k]


def _pick(cum: np.ndarray, u: np.ndarray) -> tuple[Any, Any]:
    """Per row: the first outcome whose cumulative probability exceeds ``u``
    (and whether there is one: ``pvals`` that sum below ``u`` pick none)."""
    hit = cum > u[:, None]
    return hit.argmax(axis=1), hit.any(axis=1)


class _SampleFromUniform(Op):
    """Base of the ops ``(pvals (b, k), unis (n*b,), n) -> integers`` that
    turn ``n`` uniforms per row into sampled outcomes: never folded (a draw
    is not a constant) and not differentiable."""

    #: the name errors use
    where = ""

    def _draws(self, inputs: Sequence[Any]) -> tuple[Any, Any, int, int, int]:
        """``(pvals, unis, b, k, n)`` from the values of the inputs, once
        ``unis`` is checked to hold ``n`` uniforms per row."""
        pvals, unis, n = inputs
        b, k = pvals.shape
        n = int(n)
        if unis.shape[0] != b * n:
            raise ShapeMismatchError(f"{self.where}: {b} rows x n={n} draws need "
                                     f"{b * n} uniforms, got {unis.shape[0]}")
        return pvals, unis, b, k, n

    def do_constant_folding(self, fgraph: Any, node: Apply) -> bool:
        return False

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        from symarray.gradient import grad_undefined

        return [grad_undefined(self, 0, inputs[0], "sampled outcomes are not "
                               "differentiable in their probabilities"), None, None]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        return [None]  # integer outputs: no tangent


class MultinomialFromUniform(_SampleFromUniform):
    """``(pvals (b, k), unis (n*b,), n) -> counts (b, k)``: row ``j`` counts
    ``n`` outcomes, draw ``c`` picked with ``unis[c * b + j]``."""

    __props__ = ("odtype",)
    where = "multinomial"

    def __init__(self, odtype: Any) -> None:
        self.odtype = dtype_of(odtype)

    def make_node(self, pvals: Any, unis: Any, n: Any = 1) -> Apply:
        p, u, k = _check_pvals(self.where, pvals, unis, n)
        out = TensorType(self.odtype, shape=p.type.shape).make_variable()
        return Apply(self, [p, u, k], [out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        pvals, unis, b, k, n = self._draws(inputs)
        cum = np.cumsum(pvals, axis=1)
        counts = np.zeros((b, k), dtype=self.odtype)
        rows = np.arange(b)
        for c in range(n):
            idx, ok = _pick(cum, unis[c * b:(c + 1) * b])
            np.add.at(counts, (rows[ok], idx[ok]), 1)
        output_storage[0][0] = counts

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[Any]:
        return [input_shapes[0]]


class ChoiceFromUniform(_SampleFromUniform):
    """``(pvals (b, k), unis (n*b,), n) -> indices (b, n)``: row ``j`` picks
    ``n`` outcomes (draw ``c`` with ``unis[c * b + j]``); without
    replacement a picked outcome's probability is removed and the rest
    renormalised."""

    __props__ = ("odtype", "replace")
    where = "choice"

    def __init__(self, odtype: Any, replace: bool = False) -> None:
        self.odtype = dtype_of(odtype)
        self.replace = bool(replace)

    def make_node(self, pvals: Any, unis: Any, n: Any = 1) -> Apply:
        p, u, k = _check_pvals(self.where, pvals, unis, n)
        out = TensorType(self.odtype, shape=(p.type.shape[0], None)).make_variable()
        return Apply(self, [p, u, k], [out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        pvals, unis, b, k, n = self._draws(inputs)
        if not self.replace and n > k:
            raise ValueError(f"choice: cannot take {n} samples without replacement "
                             f"from {k} outcomes; use replace=True or a smaller size")
        out = np.empty((b, n), dtype=self.odtype)
        p = np.array(pvals, dtype=np.float64)
        for c in range(n):
            idx, ok = _pick(np.cumsum(p, axis=1), unis[c * b:(c + 1) * b])
            idx = np.where(ok, idx, k - 1)
            out[:, c] = idx
            if not self.replace:
                rows = np.arange(b)
                picked = p[rows, idx].copy()
                p[rows, idx] = 0.0
                left = 1.0 - picked
                p /= np.where(left > 0, left, 1.0)[:, None]
        output_storage[0][0] = out

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[Any]:
        from symarray.tensor.elemwise import cast

        return [(input_shapes[0][0], cast(node.inputs[2], "int64"))]
