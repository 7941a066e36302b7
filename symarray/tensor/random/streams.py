"""``RandomStreams``: Theano's friendly random variables over NumPy generators.

Each call (``srng.uniform((2, 2))``...) makes a shared variable holding a
fresh ``numpy.random.RandomState`` seeded from the streams' own seed
generator, applies a distribution of :mod:`symarray.tensor.random.basic`
to it, and sets the shared variable's ``default_update`` to the state after
the draws.  ``function`` then applies that update after each call (unless
``no_default_updates=True``), so each call draws new numbers; within one
call a random variable is drawn once, however many times the graph uses it.

The returned variable carries ``.rng`` (the shared generator) and
``.update`` (the ``(rng, new_rng)`` pair), as Theano's ``RandomVariable``.

Shared variables of generators: ``shared(np.random.RandomState(seed))``
and ``shared(np.random.default_rng(seed))`` make a
:class:`RandomStateSharedVariable`.

>>> import symarray as sa
>>> from symarray.tensor.random.streams import RandomStreams
>>> srng = RandomStreams(seed=234)
>>> u = srng.uniform((2, 2))
>>> f = sa.function([], u)
>>> bool((f() != f()).all())
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from symarray.compile.sharedvalue import SharedVariable, shared
from symarray.graph.basic import Variable
from symarray.tensor.random import basic
from symarray.tensor.random.type import random_type_of

__all__ = ["RandomStreams", "RandomStateSharedVariable", "randomstate_constructor"]


class RandomStateSharedVariable(SharedVariable):
    """A shared variable holding a NumPy ``RandomState`` or ``Generator``."""


def randomstate_constructor(value: Any, name: str | None = None, strict: bool = False,
                            allow_downcast: bool | None = None, borrow: bool = False,
                            **kwargs: Any) -> RandomStateSharedVariable | None:
    """Shared generators: ``shared(np.random.RandomState(1))`` (``shared``
    hands generators to this constructor)."""
    rtype = random_type_of(value)
    if rtype is None:
        return None
    if kwargs:
        raise TypeError(f"shared: a random generator takes no {sorted(kwargs)}")
    return RandomStateSharedVariable(rtype, value, name, strict, allow_downcast,
                                     borrow)


class RandomStreams:
    """A symbolic stand-in for ``numpy.random.RandomState`` (Theano's).

    Parameters
    ----------
    seed
        Seeds the generator that seeds each random variable's own
        ``RandomState`` (None: from the OS).

    Attributes
    ----------
    state_updates
        ``(rng, new_rng)`` of every random variable made, in order.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.state_updates: list[tuple[SharedVariable, Variable]] = []
        self.default_instance_seed = seed
        self.gen_seedgen = np.random.RandomState(seed)

    def updates(self) -> list[tuple[SharedVariable, Variable]]:
        """The ``(rng, new_rng)`` pairs of the random variables made (for a
        function's ``updates`` when default updates are off)."""
        return list(self.state_updates)

    def seed(self, seed: int | None = None) -> None:
        """Reseed the seed generator with ``seed`` (the constructor's when
        None) and give every random variable made a new ``RandomState``
        seeded from it, in the order they were made."""
        self.gen_seedgen.seed(self.default_instance_seed if seed is None else seed)
        for rng, _ in self.state_updates:
            sub = int(self.gen_seedgen.randint(2 ** 30))
            rng.set_value(np.random.RandomState(sub), borrow=True)

    def __getitem__(self, item: SharedVariable) -> Any:
        """The ``RandomState`` held by ``item`` (a random variable's ``.rng``)."""
        return item.get_value(borrow=True)

    def __setitem__(self, item: SharedVariable, value: Any) -> None:
        """Give ``item`` (a random variable's ``.rng``) the generator ``value``."""
        item.set_value(value, borrow=True)

    def gen(self, op: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``op(rng, *args, **kwargs)`` on a new shared ``RandomState``,
        with ``.rng``/``.update`` installed and the update made default."""
        sub = int(self.gen_seedgen.randint(2 ** 30))
        rng = shared(np.random.RandomState(sub), borrow=True)
        rng.tag.is_rng = True
        new_rng, out = op(rng, *args, **kwargs)
        out.rng = rng
        out.update = (rng, new_rng)
        self.state_updates.append(out.update)
        rng.default_update = new_rng
        return out

    # -- distributions (raw_random.RandomStreamsBase) --------------------------
    def uniform(self, size: Any = None, low: Any = 0.0, high: Any = 1.0,
                ndim: int | None = None, dtype: Any = None) -> Any:
        """Uniform draws on ``[low, high)`` of shape ``size``."""
        return self.gen(basic.uniform, size, low, high, ndim=ndim, dtype=dtype)

    def normal(self, size: Any = None, avg: Any = 0.0, std: Any = 1.0,
               ndim: int | None = None, dtype: Any = None) -> Any:
        """Normal draws of mean ``avg`` and standard deviation ``std``."""
        return self.gen(basic.normal, size, avg, std, ndim=ndim, dtype=dtype)

    def binomial(self, size: Any = None, n: Any = 1, p: Any = 0.5,
                 ndim: int | None = None, dtype: Any = "int64",
                 prob: Any = None) -> Any:
        """Successes in ``n`` trials of probability ``p``."""
        return self.gen(basic.binomial, size, n, p, ndim=ndim, dtype=dtype, prob=prob)

    def random_integers(self, size: Any = None, low: Any = 0, high: Any = 1,
                        ndim: int | None = None, dtype: Any = "int64") -> Any:
        """Integers in ``[low, high]``."""
        return self.gen(basic.random_integers, size, low, high, ndim=ndim, dtype=dtype)

    def integers(self, size: Any = None, low: Any = 0, high: Any = 2,
                 ndim: int | None = None, dtype: Any = "int64") -> Any:
        """Integers in ``[low, high)``."""
        return self.gen(basic.integers, size, low, high, ndim=ndim, dtype=dtype)

    def poisson(self, size: Any = None, lam: Any = 1.0, ndim: int | None = None,
                dtype: Any = "int64") -> Any:
        """Poisson draws of rate ``lam``."""
        return self.gen(basic.poisson, size, lam, ndim=ndim, dtype=dtype)

    def choice(self, size: Any = None, a: Any = 2, replace: bool = True, p: Any = None,
               ndim: int | None = None, dtype: Any = "int64") -> Any:
        """Samples of ``a`` (``arange(a)`` for an int), weighted by ``p``."""
        return self.gen(basic.choice, size, a, replace, p, ndim=ndim, dtype=dtype)

    def permutation(self, size: Any = None, n: Any = 1, ndim: int | None = None,
                    dtype: Any = "int64") -> Any:
        """Permutations of ``0 .. n-1``: shape ``size + (n,)``."""
        return self.gen(basic.permutation, size, n, ndim=ndim, dtype=dtype)

    def multinomial(self, size: Any = None, n: Any = 1, pvals: Any = (0.5, 0.5),
                    ndim: int | None = None, dtype: Any = "int64") -> Any:
        """Counts of ``n`` draws over ``pvals``' outcomes: ``size + (k,)``."""
        return self.gen(basic.multinomial, size, n, pvals, ndim=ndim, dtype=dtype)

    def shuffle_row_elements(self, input: Any) -> Any:
        """``input`` with each row's (last axis') elements shuffled."""
        return self.gen(basic.shuffle_row_elements, input)
