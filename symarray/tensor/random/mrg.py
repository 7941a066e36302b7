"""``MRG_RandomStreams``: Theano's portable random streams (MRG31k3p).

Each random variable gets its own shared int32 state of ``n_streams``
MRG31k3p streams (see :mod:`symarray.tensor.random.mrg_op`): the numbers
depend only on the seed, the order in which variables were created, the
size and ``nstreams``, so they are the same on every platform and for
every thread count.  Uniform draws come from the :class:`MRGUniform` op;
the other distributions are built from them symbolically, so (as in
Theano) ``uniform`` and ``normal`` are differentiable in their parameters
(``low + (high - low) * u``, ``avg + std * z``): the reparameterised
gradient.

>>> import symarray as sa
>>> from symarray.tensor.random.mrg import MRG_RandomStreams
>>> srng = MRG_RandomStreams(seed=234)
>>> u = srng.uniform((2, 3))
>>> f = sa.function([], u)
>>> a, b = f(), f()
>>> bool((a != b).all() and (0 < a).all() and (a < 1).all())
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from symarray import config
from symarray.compile.sharedvalue import SharedVariable, shared
from symarray.errors import RankError
from symarray.graph.basic import Variable
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.random.mrg_op import (
    M2,
    ChoiceFromUniform,
    MRGUniform,
    MultinomialFromUniform,
    jump,
    seed_state,
    substream_states,
)
from symarray.tensor.random.op import check_dtype, default_float_dtype, normalize_size
from symarray.tensor.shape_ops import Entry, mul_entries, shape_vector

__all__ = ["MRG_RandomStreams", "guess_n_streams"]

#: the number of streams when the size is not known at build time (Theano's)
MAX_STREAMS = 60 * 256


def guess_n_streams(size: Any) -> int:
    """Theano's choice: about one stream per 6 numbers, at most 15360."""
    entries = list(size) if isinstance(size, (list, tuple)) else None
    if entries is None or not all(isinstance(e, (int, np.integer)) for e in entries):
        return MAX_STREAMS
    total = math.prod(int(e) for e in entries)
    if total > 6:
        total //= 6
    return max(1, min(total, MAX_STREAMS))


def _tensor() -> Any:
    """``symarray.tensor`` (its math functions are made at import time)."""
    import symarray.tensor

    return symarray.tensor


class MRG_RandomStreams:  # noqa: N801 - Theano's name
    """Random variables drawn from MRG31k3p streams.

    Parameters
    ----------
    seed
        An int in ``[1, 2147462578]`` (repeated for the six state words) or
        six ints (the first three below 2**31 - 1, the last three below
        2**31 - 21069, neither three all 0).

    Attributes
    ----------
    rstate
        The state the next random variable's streams start from.
    state_updates
        ``(shared state, new state)`` of every random variable made.
    """

    def __init__(self, seed: Any = 12345, use_cuda: Any = None) -> None:
        self.default_instance_seed = seed
        self.state_updates: list[tuple[SharedVariable, Variable]] = []
        self._made: list[tuple[SharedVariable, int]] = []
        self.rstate = seed_state(seed)

    # -- state -----------------------------------------------------------------
    def set_rstate(self, seed: Any) -> None:
        """Restart from ``seed`` (variables already made keep their state)."""
        self.rstate = seed_state(seed)

    def inc_rstate(self) -> None:
        """Move :attr:`rstate` ``2**134`` steps on: the next variable's start."""
        self.rstate = jump(self.rstate, 134)[0]

    def get_substream_rstates(self, n_streams: int, dtype: Any = None,
                              inc_rstate: bool = True) -> np.ndarray:
        """``(n_streams, 6)`` states spaced ``2**72`` steps apart, from
        :attr:`rstate` (then moved on, unless ``inc_rstate=False``)."""
        out = substream_states(self.rstate, int(n_streams))
        if inc_rstate:
            self.inc_rstate()
        return out

    def seed(self, seed: Any = None) -> None:
        """Restart from ``seed`` (the constructor's when None) and give every
        variable made so far the state it had when made with that seed."""
        self.set_rstate(self.default_instance_seed if seed is None else seed)
        for var, n_streams in self._made:
            var.set_value(self.get_substream_rstates(n_streams), borrow=True)

    def updates(self) -> list[tuple[SharedVariable, Variable]]:
        """The ``(state, new state)`` pairs of the variables made."""
        return list(self.state_updates)

    def n_streams(self, size: Any) -> int:
        return guess_n_streams(size)

    # -- distributions ---------------------------------------------------------
    def _draw(self, where: str, size: Any, ndim: Any, dtype: str,
              nstreams: Any) -> tuple[Any, list[Entry]]:
        if size is None:
            raise TypeError(f"{where}: size is required (a tuple of ints or 0-d "
                            "integer variables, or x.shape)")
        entries = normalize_size(where, size, ndim)
        if nstreams is None:
            n = guess_n_streams(entries)
        elif isinstance(nstreams, (int, np.integer)) and nstreams >= 1:
            n = int(nstreams)
        else:
            raise ValueError(f"{where}: nstreams must be an int >= 1 or None, got "
                             f"{nstreams!r}")
        state = shared(self.get_substream_rstates(n), borrow=True)
        new_state, u = MRGUniform(dtype)(state, shape_vector(entries))
        u.rstate = u.rng = state
        u.update = (state, new_state)
        state.default_update = new_state
        state.tag.is_rng = True
        self.state_updates.append((state, new_state))
        self._made.append((state, n))
        return u, entries

    @staticmethod
    def _tag(out: Any, u: Any) -> Any:
        for attr in ("rstate", "rng", "update"):
            setattr(out, attr, getattr(u, attr))
        return out

    def uniform(self, size: Any, low: Any = 0.0, high: Any = 1.0, ndim: Any = None,
                dtype: Any = None, nstreams: Any = None, **kwargs: Any) -> Any:
        """Uniform draws on ``[low, high)``: ``low + (high - low) * u``."""
        from symarray.tensor.elemwise import cast

        dt = check_dtype("uniform", dtype, "f", default_float_dtype(low, high))
        u, _ = self._draw("uniform", size, ndim, dt, nstreams)
        lo, hi = as_tensor_variable(low), as_tensor_variable(high)
        r = cast(u * cast(hi - lo, dt) + cast(lo, dt), dt)
        if r.ndim != u.ndim:
            raise RankError(f"uniform: low/high have more dimensions than size "
                            f"({r.ndim} > {u.ndim}); give a size with {r.ndim} entries")
        return self._tag(r, u)

    def normal(self, size: Any, avg: Any = 0.0, std: Any = 1.0, ndim: Any = None,
               dtype: Any = None, nstreams: Any = None, truncate: bool = False,
               **kwargs: Any) -> Any:
        """Normal draws ``avg + std * z`` (``z`` by Box-Muller from pairs of
        uniforms); ``truncate`` keeps ``|z| < 2`` (inverse CDF)."""
        T = _tensor()  # noqa: N806
        dt = check_dtype("normal", dtype, "f", default_float_dtype(avg, std))
        if size is None:
            raise TypeError("normal: size is required")
        entries = normalize_size("normal", size, ndim)
        total = mul_entries(entries)
        if truncate:
            u, _ = self._draw("normal", entries, None, dt, nstreams)
            lo = 0.5 * math.erfc(2.0 / math.sqrt(2.0))  # P(z < -2)
            z = math.sqrt(2.0) * T.erfinv(2.0 * (lo + (1.0 - 2.0 * lo) * u) - 1.0)
        else:
            even = (total + total % 2 if isinstance(total, int)
                    else total + T.mod(total, 2))
            u, _ = self._draw("normal", (even,), None, dt, nstreams)
            half = even // 2 if isinstance(even, int) else T.int_div(even, 2)
            u1, u2 = u[:half], u[half:]
            radius = T.sqrt(-2.0 * T.log(u1))
            angle = np.asarray(2.0 * np.pi, dtype=dt) * u2
            z = T.concatenate([radius * T.cos(angle), radius * T.sin(angle)])
            z = T.reshape(z[:total], shape_vector(entries), ndim=len(entries))
        r = T.cast(as_tensor_variable(avg) + as_tensor_variable(std) * z, dt)
        if r.ndim != len(entries):
            raise RankError(f"normal: avg/std have more dimensions than size "
                            f"({r.ndim} > {len(entries)}); give a longer size")
        return self._tag(r, u)

    def truncated_normal(self, size: Any, avg: Any = 0.0, std: Any = 1.0,
                         ndim: Any = None, dtype: Any = None,
                         nstreams: Any = None) -> Any:
        """Normal draws truncated to ``avg +- 2 std``."""
        return self.normal(size, avg, std, ndim, dtype, nstreams, truncate=True)

    def binomial(self, size: Any = None, p: Any = None, n: Any = 1, ndim: Any = None,
                 dtype: Any = "int64", nstreams: Any = None, **kwargs: Any) -> Any:
        """Successes in ``n`` trials of probability ``p`` (``u < p`` per trial).
        ``size=None`` takes ``p``'s shape."""
        T = _tensor()  # noqa: N806
        if p is None:
            p = kwargs.pop("prob", None)
        if p is None:
            raise TypeError("binomial: p is required")
        dt = check_dtype("binomial", dtype, "biuf", "int64")
        pv = as_tensor_variable(p)
        entries = normalize_size("binomial", size, ndim, [pv])
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"binomial: n must be an int >= 1, got {n!r}")
        uni_dt = pv.dtype if pv.dtype in ("float32", "float64") else str(config.floatX)
        if n == 1:
            u, _ = self._draw("binomial", entries, None, uni_dt, nstreams)
            return self._tag(T.cast(T.lt(u, pv), dt), u)
        u, _ = self._draw("binomial", list(entries) + [int(n)], None, uni_dt, nstreams)
        hits = T.sum(T.lt(u, T.shape_padright(pv)), axis=-1)
        return self._tag(T.cast(hits, dt), u)

    def multinomial(self, size: Any = None, n: Any = 1, pvals: Any = None,
                    ndim: Any = None, dtype: Any = "int64", nstreams: Any = None,
                    **kwargs: Any) -> Any:
        """Counts of ``n`` draws per row of ``pvals`` (a matrix, or a vector:
        one row): the result has ``pvals``' shape.  ``size`` and ``ndim`` are
        accepted for Theano's signature and must be None."""
        if pvals is None:
            raise TypeError("multinomial: pvals is required")
        if size is not None or ndim is not None:
            raise ValueError("multinomial: size and ndim are not supported (the "
                             "result has pvals' shape); leave them None")
        p, vector = self._pvals("multinomial", pvals)
        u = self._uniforms_for(p, n, nstreams)
        out = MultinomialFromUniform(dtype)(p, u, n)
        return self._tag(out[0] if vector else out, u)

    def choice(self, size: Any = 1, a: Any = None, replace: bool = True, p: Any = None,
               ndim: Any = None, dtype: Any = "int64", nstreams: Any = None,
               **kwargs: Any) -> Any:
        """``size`` indices per row of the matrix ``p`` (shape ``(rows, size)``),
        with or without replacement.  ``a`` must be None (outcomes are
        ``0 .. p.shape[1] - 1``)."""
        if a is not None:
            raise ValueError("choice: a must be None (the outcomes are the columns of "
                             "p); index an array with the result instead")
        if p is None:
            raise TypeError("choice: p is required (a matrix of probabilities)")
        if ndim is not None:
            raise ValueError("choice: ndim is not supported; leave it None")
        pm, vector = self._pvals("choice", p)
        u = self._uniforms_for(pm, size, nstreams)
        out = ChoiceFromUniform(dtype, replace=replace)(pm, u, size)
        return self._tag(out[0] if vector else out, u)

    def multinomial_wo_replacement(self, size: Any = None, n: Any = 1,
                                   pvals: Any = None, ndim: Any = None,
                                   dtype: Any = "int64", nstreams: Any = None,
                                   **kwargs: Any) -> Any:
        """Theano's old name of ``choice(size=n, p=pvals, replace=False)``."""
        return self.choice(size=n, p=pvals, replace=False, dtype=dtype,
                           nstreams=nstreams)

    def _pvals(self, where: str, pvals: Any) -> tuple[Any, bool]:
        p = as_tensor_variable(pvals)
        if p.ndim == 1:
            return p.dimshuffle("x", 0), True
        if p.ndim != 2:
            raise RankError(f"{where}: pvals must be a vector or a matrix, got {p} of "
                            f"type {p.type}")
        return p, False

    def _uniforms_for(self, p: Any, n: Any, nstreams: Any) -> Any:
        T = _tensor()  # noqa: N806
        if isinstance(n, (int, np.integer)) and n < 0:
            raise ValueError(f"the number of draws must be >= 0, got {n}")
        rows = p.type.shape[0] if p.type.shape[0] is not None else T.shape(p)[0]
        count = rows * n if isinstance(rows, int) and isinstance(n, int) else (
            T.cast(rows, "int64") * T.cast(as_tensor_variable(n), "int64"))
        dt = p.dtype if p.dtype in ("float32", "float64") else str(config.floatX)
        u, _ = self._draw("multinomial", (count,), None, dt, nstreams)
        return u


#: the upper bound Theano documents for an int seed
MAX_SEED = M2 - 1
