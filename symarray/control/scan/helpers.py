"""``map``, ``reduce``, ``foldl``, ``foldr``: common loops written with ``scan``.

Theano's signatures and return conventions: each returns ``(outputs,
updates)``; ``reduce``/``foldl``/``foldr`` return only the last step of
each output (one variable, or a list when the step has several outputs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from symarray.control.scan.api import scan
from symarray.updates import OrderedUpdates

__all__ = ["map", "reduce", "foldl", "foldr"]


def map(fn: Callable[..., Any], sequences: Any, non_sequences: Any = None,  # noqa: A001
        truncate_gradient: int = -1, go_backwards: bool = False, mode: Any = None,
        name: str | None = None) -> tuple[Any, OrderedUpdates]:
    """Apply ``fn`` to each element of ``sequences``: ``scan`` with no state.

    Examples
    --------
    >>> import symarray as theano, symarray.tensor as T
    >>> x = T.dvector("x")
    >>> squares, _ = theano.map(lambda v: v ** 2, sequences=x)
    >>> theano.function([x], squares)([1.0, 2.0, 3.0])
    array([1., 4., 9.])
    """
    return scan(fn, sequences=sequences, outputs_info=None,
                non_sequences=non_sequences, truncate_gradient=truncate_gradient,
                go_backwards=go_backwards, mode=mode, name=name)


def reduce(fn: Callable[..., Any], sequences: Any, outputs_info: Any,  # noqa: A001
           non_sequences: Any = None, go_backwards: bool = False, mode: Any = None,
           name: str | None = None) -> tuple[Any, OrderedUpdates]:
    """Fold ``fn`` over ``sequences``; only the last step's outputs are returned.

    Examples
    --------
    >>> import symarray as theano, symarray.tensor as T
    >>> x = T.dvector("x")
    >>> total, _ = theano.reduce(lambda v, acc: acc + v, sequences=x,
    ...                          outputs_info=T.constant(0.0, dtype="float64"))
    >>> float(theano.function([x], total)([1.0, 2.0, 3.0]))
    6.0
    """
    outputs, updates = scan(fn, sequences=sequences, outputs_info=outputs_info,
                            non_sequences=non_sequences, go_backwards=go_backwards,
                            mode=mode, name=name)
    if isinstance(outputs, list):
        return [o[-1] for o in outputs], updates
    return outputs[-1], updates


def foldl(fn: Callable[..., Any], sequences: Any, outputs_info: Any,
          non_sequences: Any = None, mode: Any = None,
          name: str | None = None) -> tuple[Any, OrderedUpdates]:
    """``reduce`` from the first element to the last."""
    return reduce(fn, sequences, outputs_info, non_sequences, go_backwards=False,
                  mode=mode, name=name)


def foldr(fn: Callable[..., Any], sequences: Any, outputs_info: Any,
          non_sequences: Any = None, mode: Any = None,
          name: str | None = None) -> tuple[Any, OrderedUpdates]:
    """``reduce`` from the last element to the first."""
    return reduce(fn, sequences, outputs_info, non_sequences, go_backwards=True,
                  mode=mode, name=name)
