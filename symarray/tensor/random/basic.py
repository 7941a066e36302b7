"""Distributions drawn from a NumPy generator, and Theano's ``raw_random`` API.

One :class:`~symarray.tensor.random.op.RandomVariable` subclass per
distribution (``UniformRV``, ``NormalRV``, ``BinomialRV``...), each a few
lines naming NumPy's method, the parameters and what one draw adds to the
shape.  Their ``draw`` works with a ``RandomState`` and with a
``Generator``.

The functions below follow ``theano.tensor.raw_random``: the first argument
is the generator variable, then ``size``, the parameters, ``ndim`` and
``dtype``; each returns ``(new_rng, draws)``.  ``RandomStreams``
(:mod:`symarray.tensor.random.streams`) calls them with a shared generator
and installs the update.

>>> import numpy as np, symarray as sa
>>> from symarray.tensor.random import basic
>>> rng = sa.shared(np.random.RandomState(1))
>>> new_rng, u = basic.uniform(rng, (2,))
>>> f = sa.function([], u, updates=[(rng, new_rng)])
>>> np.allclose(f(), np.random.RandomState(1).uniform(size=2))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.errors import RankError
from symarray.graph.basic import Variable
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.random.op import (
    RandomVariable,
    check_dtype,
    default_float_dtype,
    normalize_size,
)
from symarray.tensor.shape_ops import Entry, shape_i, shape_vector, static_int
from symarray.tensor.type import tensor_type

__all__ = [
    "UniformRV", "NormalRV", "BinomialRV", "IntegersRV", "PoissonRV", "ChoiceRV",
    "PermutationRV", "MultinomialRV",
    "uniform", "normal", "binomial", "random_integers", "integers", "poisson",
    "choice", "permutation", "multinomial", "shuffle_row_elements",
]


def _batch(p: Any, rank: int) -> Any:
    """A stand-in with the batch dimensions of parameter ``p`` (for size=None)."""
    t = as_tensor_variable(p)
    return t if rank == 0 else t[(Ellipsis,) + (0,) * rank]


class UniformRV(RandomVariable):
    """Uniform on ``[low, high)``."""

    name = "uniform"
    param_names = ("low", "high")
    params_ndim = (0, 0)
    dtype_kinds = "f"

    def draw(self, rng: Any, size: tuple[int, ...], *params: Any) -> Any:
        low, high = params
        return rng.uniform(low, high, size)


class NormalRV(RandomVariable):
    """Normal with mean ``avg`` and standard deviation ``std``."""

    name = "normal"
    param_names = ("avg", "std")
    params_ndim = (0, 0)
    dtype_kinds = "f"

    def draw(self, rng: Any, size: tuple[int, ...], *params: Any) -> Any:
        avg, std = params
        return rng.normal(avg, std, size)


class BinomialRV(RandomVariable):
    """Successes in ``n`` trials of probability ``p``."""

    name = "binomial"
    param_names = ("n", "p")
    params_ndim = (0, 0)

    def draw(self, rng: Any, size: tuple[int, ...], *params: Any) -> Any:
        n, p = params
        return rng.binomial(n, p, size)


class IntegersRV(RandomVariable):
    """Integers in ``[low, high)`` (``[low, high]`` with ``endpoint``)."""

    __props__ = ("dtype", "inplace", "endpoint")
    name = "integers"
    param_names = ("low", "high")
    params_ndim = (0, 0)
    dtype_kinds = "iu"

    def __init__(self, dtype: Any, inplace: bool = False,
                 endpoint: bool = False) -> None:
        super().__init__(dtype, inplace)
        self.endpoint = bool(endpoint)

    def draw(self, rng: Any, size: tuple[int, ...], *params: Any) -> Any:
        low, high = params
        if isinstance(rng, np.random.Generator):
            return rng.integers(low, high, size, endpoint=self.endpoint)
        return rng.randint(low, np.asarray(high) + 1 if self.endpoint else high,
                           size, dtype="int64")


class PoissonRV(RandomVariable):
    """Poisson with rate ``lam``."""

    name = "poisson"
    param_names = ("lam",)
    params_ndim = (0,)
    dtype_kinds = "iuf"

    def draw(self, rng: Any, size: tuple[int, ...], *params: Any) -> Any:
        return rng.poisson(params[0], size)


class ChoiceRV(RandomVariable):
    """Samples of ``a`` (``arange(a)`` for a 0-d ``a``), optionally weighted
    by ``p``, with or without replacement (one population per op)."""

    __props__ = ("dtype", "inplace", "replace", "weighted", "a_ndim")
    name = "choice"

    def __init__(self, dtype: Any, inplace: bool = False, replace: bool = True,
                 weighted: bool = False, a_ndim: int = 0) -> None:
        super().__init__(dtype, inplace)
        self.replace = bool(replace)
        self.weighted = bool(weighted)
        self.a_ndim = int(a_ndim)
        # the population is one draw's parameter: it has no batch dimensions
        self.param_names = ("a", "p") if weighted else ("a",)
        self.params_ndim = (self.a_ndim, 1) if weighted else (self.a_ndim,)

    def make_node(self, rng: Any, size: Any, *params: Any) -> Any:
        a = as_tensor_variable(params[0])
        if a.ndim != self.a_ndim:
            raise RankError(f"choice: this op samples a {self.a_ndim}-d a, got {a} of "
                            f"type {a.type}; build it with choice()")
        return super().make_node(rng, size, *params)

    def draw(self, rng: Any, size: tuple[int, ...], *params: Any) -> Any:
        a = params[0]
        p = params[1] if self.weighted else None
        return rng.choice(a.item() if np.ndim(a) == 0 else a, size,
                          replace=self.replace, p=p)


class PermutationRV(RandomVariable):
    """Permutations of ``arange(n)``: shape ``size + (n,)``."""

    name = "permutation"
    param_names = ("n",)
    params_ndim = (0,)
    ndim_supp = 1
    dtype_kinds = "iu"

    def static_support(self, params: Sequence[Variable]) -> list[int | None]:
        return [static_int(params[0])]

    def support_shape(self, params: Sequence[Any]) -> list[Entry]:
        from symarray.tensor.elemwise import cast

        n = static_int(params[0])
        return [n if n is not None else cast(params[0], "int64")]

    def draw(self, rng: Any, size: tuple[int, ...], *params: Any) -> Any:
        n = int(params[0])
        if np.ndim(params[0]) != 0:
            raise ValueError(f"n must be one number, got shape {np.shape(params[0])}")
        out = np.empty(size + (n,), dtype="int64")
        for idx in np.ndindex(*size):
            out[idx] = rng.permutation(n)
        return out


class MultinomialRV(RandomVariable):
    """Counts of ``n`` draws over the outcomes of ``pvals``: shape
    ``size + (len(pvals),)``; ``n`` and ``pvals``' leading dimensions may
    vary per draw (broadcast to ``size``)."""

    name = "multinomial"
    param_names = ("n", "pvals")
    params_ndim = (0, 1)
    ndim_supp = 1
    dtype_kinds = "iuf"

    def static_support(self, params: Sequence[Variable]) -> list[int | None]:
        return [tensor_type(params[1]).shape[-1]]

    def support_shape(self, params: Sequence[Any]) -> list[Entry]:
        k = params[1].type.shape[-1]
        return [k if k is not None else shape_i(params[1], params[1].ndim - 1)]

    def draw(self, rng: Any, size: tuple[int, ...], *params: Any) -> Any:
        n, pvals = np.asarray(params[0]), np.asarray(params[1], dtype="float64")
        if n.ndim == 0 and pvals.ndim == 1:
            return rng.multinomial(int(n), pvals, size)
        k = pvals.shape[-1]
        n_b = np.broadcast_to(n, size)
        p_b = np.broadcast_to(pvals, size + (k,))
        out = np.empty(size + (k,), dtype="int64")
        for idx in np.ndindex(*size):
            out[idx] = rng.multinomial(int(n_b[idx]), p_b[idx])
        return out


# -- raw_random functions: (rng, size, params..., ndim, dtype) -> (new rng, draws) --


def _apply(op: RandomVariable, rng: Any, size: Any, ndim: Any, params: Sequence[Any],
           batch: Sequence[Any]) -> list[Any]:
    entries = normalize_size(op.name, size, ndim, batch)
    return op(rng, shape_vector(entries), *params)


def uniform(random_state: Any, size: Any = None, low: Any = 0.0, high: Any = 1.0,
            ndim: int | None = None, dtype: Any = None) -> list[Any]:
    """Uniform draws on ``[low, high)``; returns ``(new_rng, draws)``.

    ``size=None`` takes the broadcast shape of ``low`` and ``high``; the
    dtype defaults to ``floatX`` upcast with the parameters' dtypes.
    """
    dt = check_dtype("uniform", dtype, "f", default_float_dtype(low, high))
    return _apply(UniformRV(dt), random_state, size, ndim, [low, high], [low, high])


def normal(random_state: Any, size: Any = None, avg: Any = 0.0, std: Any = 1.0,
           ndim: int | None = None, dtype: Any = None) -> list[Any]:
    """Normal draws of mean ``avg`` and standard deviation ``std``."""
    dt = check_dtype("normal", dtype, "f", default_float_dtype(avg, std))
    return _apply(NormalRV(dt), random_state, size, ndim, [avg, std], [avg, std])


def binomial(random_state: Any, size: Any = None, n: Any = 1, p: Any = 0.5,
             ndim: int | None = None, dtype: Any = "int64",
             prob: Any = None) -> list[Any]:
    """Number of successes in ``n`` trials of probability ``p`` (``prob`` is
    Theano's old name of ``p``)."""
    if prob is not None:
        p = prob
    dt = check_dtype("binomial", dtype, "biuf", "int64")
    return _apply(BinomialRV(dt), random_state, size, ndim, [n, p], [n, p])


def random_integers(random_state: Any, size: Any = None, low: Any = 0, high: Any = 1,
                    ndim: int | None = None, dtype: Any = "int64") -> list[Any]:
    """Integers in ``[low, high]``, both ends included (Theano's)."""
    dt = check_dtype("random_integers", dtype, "iu", "int64")
    return _apply(IntegersRV(dt, endpoint=True), random_state, size, ndim,
                  [low, high], [low, high])


def integers(random_state: Any, size: Any = None, low: Any = 0, high: Any = 2,
             ndim: int | None = None, dtype: Any = "int64") -> list[Any]:
    """Integers in ``[low, high)`` (NumPy's ``Generator.integers``)."""
    dt = check_dtype("integers", dtype, "iu", "int64")
    return _apply(IntegersRV(dt), random_state, size, ndim, [low, high], [low, high])


def poisson(random_state: Any, size: Any = None, lam: Any = 1.0,
            ndim: int | None = None, dtype: Any = "int64") -> list[Any]:
    """Poisson draws of rate ``lam``."""
    dt = check_dtype("poisson", dtype, "iuf", "int64")
    return _apply(PoissonRV(dt), random_state, size, ndim, [lam], [lam])


def choice(random_state: Any, size: Any = None, a: Any = 2, replace: bool = True,
           p: Any = None, ndim: int | None = None, dtype: Any = "int64") -> list[Any]:
    """Samples of ``a`` (``arange(a)`` when ``a`` is an int), weighted by
    ``p`` when given; ``size=None`` draws one."""
    dt = check_dtype("choice", dtype, "biuf", "int64")
    a = as_tensor_variable(a)
    if a.ndim > 1:
        raise RankError(f"choice: a must be an int or a vector, got {a} of type "
                        f"{a.type}")
    op = ChoiceRV(dt, replace=replace, weighted=p is not None, a_ndim=a.ndim)
    params = [a] if p is None else [a, p]
    if size is None:
        size = ()
    return _apply(op, random_state, size, ndim, params, [])


def permutation(random_state: Any, size: Any = None, n: Any = 1,
                ndim: int | None = None, dtype: Any = "int64") -> list[Any]:
    """Permutations of ``0 .. n-1``, one per element of ``size``: the draws
    have shape ``size + (n,)``."""
    dt = check_dtype("permutation", dtype, "iu", "int64")
    if size is None:
        size = ()
    return _apply(PermutationRV(dt), random_state, size, ndim, [n], [])


def multinomial(random_state: Any, size: Any = None, n: Any = 1,
                pvals: Any = (0.5, 0.5), ndim: int | None = None,
                dtype: Any = "int64") -> list[Any]:
    """Counts of ``n`` draws over the outcomes whose probabilities are the
    last axis of ``pvals``: shape ``size + (pvals.shape[-1],)``."""
    dt = check_dtype("multinomial", dtype, "iuf", "int64")
    pv = as_tensor_variable(np.asarray(pvals, dtype="float64")
                            if isinstance(pvals, (list, tuple)) else pvals)
    return _apply(MultinomialRV(dt), random_state, size, ndim, [n, pv],
                  [n, _batch(pv, 1)])


def shuffle_row_elements(random_state: Any, input: Any) -> list[Any]:
    """``input`` with the elements of each row (last axis) shuffled; returns
    ``(new_rng, shuffled)``."""
    from symarray.tensor.alloc import arange
    from symarray.tensor.shape_ops import dims

    x = as_tensor_variable(input)
    if x.ndim == 0:
        raise RankError(f"shuffle_row_elements: input must have at least one "
                        f"dimension, got {x} of type {x.type}")
    lengths = dims(x)
    new_rng, perm = permutation(random_state, size=tuple(lengths[:-1]), n=lengths[-1])
    keys: list[Any] = []
    for k, length in enumerate(lengths[:-1]):
        pattern: list[Any] = ["x"] * x.ndim
        pattern[k] = 0
        keys.append(arange(length).dimshuffle(*pattern))
    return [new_rng, x[tuple(keys) + (perm,)] if keys else x[perm]]
