"""Which memory a compiled function may overwrite, and which results it copies.

``function()`` decides, once per compiled graph, where arrays may be shared
or overwritten; :class:`~symarray.compile.function.Function` then pays at
most a few memory checks per call.

* **Updated shared values are mutable** (Theano's rule).  A shared variable
  with an update gets a new value after every call, so the update's
  computation may overwrite its old array: ``W - lr * g`` becomes a
  ``Gemm{inplace}`` or an in-place elementwise node writing into ``W``'s
  array, and the call allocates no new ``W`` (in no-GC mode this is what
  keeps the peak near GC mode's).  The graph's
  :class:`~symarray.graph.destroyhandler.DestroyHandler` keeps it correct:
  every other reader of the old value runs before the node that overwrites
  it, and nothing returned (an output or another update) may share the
  overwritten memory.  Not mutable: shared variables without an update, and
  any whose value the graph reads through two inputs (a clone of the
  updated variable, or ``givens`` replacing it by another variable
  holding the same value), since the handler cannot see that the two
  alias.  :func:`mutable_shared` decides.
* **Only while the updates are applied.**  A function that runs the graph
  but drops the updates (``Function.copy(delete_updates=True)``) would
  leave the overwritten value in the shared variable, so it is recompiled
  without updates (``FunctionMaker.without_updates``) whenever
  :func:`destroyed_inputs` says the graph overwrites a shared value.
* **Aliases the graph cannot see.**  Two inputs of one call may hold arrays
  that share memory: an argument that is ``s.get_value(borrow=True)``,
  two ``shared(v, borrow=True)`` of one array, a ``copy(swap=...)`` onto a
  variable the function also reads, or the same array passed twice for
  ``In(x, mutable=True)``.  Before each call (unless ``trust_input``),
  :func:`separate_destroyed` copies every array the graph will overwrite
  that may share memory with another input, as Theano does; this costs
  one ``np.may_share_memory`` per (overwritten, other) pair of inputs, and
  nothing for functions that overwrite no input.
* **Results never alias what the user holds** (:func:`alias_copies`): an
  output that may share memory with an input, a shared value, a constant,
  an update or an earlier output is copied (unless ``Out(borrow=True)``),
  and so is an update that would alias a value that stays in place.

What ``borrow=True`` then means for shared variables (as in Theano): the
function may overwrite the array given to ``shared(v, borrow=True)`` or
``set_value(v, borrow=True)``, or returned by ``get_value(borrow=True)``,
when it updates that variable.  With ``borrow=False`` (the default) the
variable holds its own copy and the user's arrays are never written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from symarray.graph.basic import Variable
from symarray.graph.fg import FunctionGraph

if TYPE_CHECKING:
    from symarray.compile.function import FunctionMaker
    from symarray.compile.sharedvalue import SharedVariable

__all__ = ["mutable_shared", "destroyed_inputs", "separate_destroyed", "view_roots",
           "alias_copies"]


def mutable_shared(shared: Sequence[SharedVariable],
                   updated: set[Any]) -> list[bool]:
    """Per shared input: may the graph overwrite its value?

    ``updated`` holds the containers the function updates.  A value is
    mutable when its container is updated and no other input of the graph
    reads the same container.

    Examples
    --------
    >>> import numpy as np, symarray as theano
    >>> w, b = theano.shared(np.zeros(2)), theano.shared(np.zeros(2))
    >>> mutable_shared([w, b, w.clone()], {w.container, b.container})
    [False, True, False]
    """
    readers = Counter(s.container for s in shared)
    return [s.container in updated and readers[s.container] == 1 for s in shared]


def destroyed_inputs(fgraph: FunctionGraph) -> tuple[int, ...]:
    """Positions of the graph inputs whose memory some node overwrites.

    Follows ``view_map`` and ``destroy_map`` up from every destroyed input
    of every node (an in-place op overwriting a view of an input overwrites
    the input).

    Examples
    --------
    >>> import symarray as theano, symarray.tensor as T
    >>> x = T.dvector("x")
    >>> f = theano.function([theano.In(x, mutable=True)], T.exp(x[::-1]) + 1)
    >>> destroyed_inputs(f.maker.fgraph)
    (0,)
    """
    position = {v: k for k, v in enumerate(fgraph.inputs)}
    found: set[int] = set()
    memo: dict[Variable, frozenset[Variable]] = {}
    for node in fgraph.toposort():  # sources first: each root set built once
        for idx in (node.op.destroy_map or {}).values():
            for i in idx:
                for root in view_roots(node.inputs[i], memo):
                    k = position.get(root)
                    if k is not None:
                        found.add(k)
    return tuple(sorted(found))


def separate_destroyed(values: list[Any], positions: Sequence[int]) -> None:
    """Copy (in ``values``) each array at ``positions`` that may share memory
    with another input value, so that overwriting it changes nothing else.

    ``values`` are the graph's input values of one call; ``positions``
    those the graph overwrites (:func:`destroyed_inputs`).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.ones(4)
    >>> values = [a, a[1:], np.zeros(2)]
    >>> separate_destroyed(values, [0, 2])
    >>> values[0] is a, np.shares_memory(values[0], values[1]), values[2] is not a
    (False, False, True)
    """
    for p in positions:
        v = values[p]
        if not isinstance(v, np.ndarray):
            continue
        for q, w in enumerate(values):
            if q != p and isinstance(w, np.ndarray) and np.may_share_memory(v, w):
                values[p] = v.copy()
                break


def view_roots(var: Variable,
               memo: dict[Variable, frozenset[Variable]] | None = None,
               ) -> frozenset[Variable]:
    """The variables whose memory ``var`` may share, following view/destroy maps.

    ``memo`` (variable -> roots) is read and filled, so that asking for every
    variable of a long chain of in-place ops costs linear time, not quadratic.
    """
    memo = {} if memo is None else memo
    stack = [var]
    while stack:
        v = stack[-1]
        if v in memo:
            stack.pop()
            continue
        node = v.owner
        src: list[int] = []
        if node is not None and v.index is not None:
            src = list((node.op.view_map or {}).get(v.index, ()))
            src += (node.op.destroy_map or {}).get(v.index, ())
        if node is None or not src:
            memo[v] = frozenset((v,))
            stack.pop()
            continue
        missing = [node.inputs[i] for i in src if node.inputs[i] not in memo]
        if missing:
            stack.extend(missing)
            continue
        memo[v] = frozenset().union(*(memo[node.inputs[i]] for i in src))
        stack.pop()
    return memo[var]


def alias_copies(maker: FunctionMaker) -> tuple[list[int], list[int]]:
    """Which outputs and shared updates must be copied after each call.

    An output is copied (unless ``Out(borrow=True)``) when it may share memory
    with an input, a shared value, a constant, an update or an earlier
    output.  An update is copied when its value may share memory with an
    explicit input (not ``In(borrow=True)``), a constant, a shared value that
    stays in place, or an earlier update.  An update computed in place in
    its own variable's old array, or in the array of another updated
    variable, is not copied (that array gets a new value anyway).  Decided
    once from the ops' ``view_map``/``destroy_map``: no per-call cost.
    """
    fg = maker.fgraph
    n_in, n_out, n_up = len(maker.inputs), maker.n_outputs, maker.n_updates
    roots = [view_roots(o) for o in fg.outputs]
    explicit = {v: inp for v, inp in zip(fg.inputs, maker.inputs, strict=False)}
    shared_in = dict(zip(fg.inputs[n_in:], maker.shared, strict=False))
    update_roots: set[Variable] = set()
    for r in roots[n_out:n_out + n_up]:
        update_roots |= r
    copy_outputs: list[int] = []
    earlier: set[Variable] = set()
    for k in range(n_out):
        r = roots[k]
        if not maker.out_borrow[k] and (
            any(v.owner is None for v in r) or r & update_roots or r & earlier
        ):
            copy_outputs.append(k)
        earlier |= r
    updated = {c: j for j, c in enumerate(maker.update_containers)}
    copy_updates: list[int] = []
    earlier = set()
    for j in range(n_up):
        r = roots[n_out + j]
        own = maker.update_containers[j]
        clash = bool(r & earlier)
        for v in r:
            if v in explicit:
                clash |= not explicit[v].borrow
            elif v in shared_in:
                clash |= shared_in[v].container is not own and (
                    shared_in[v].container not in updated
                )
            elif v.owner is None:  # a constant
                clash = True
        if clash:
            copy_updates.append(j)
        earlier |= r
    return copy_outputs, copy_updates
