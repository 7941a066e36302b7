"""Shape rewrites: ``x.shape`` from the inputs' shapes, without computing ``x``.

The :class:`ShapeFeature` knows the symbolic shape of the tensor variables
of a graph, worked out with each op's ``infer_shape``: the shape of
``dot(exp(x), y)`` is ``(Shape_i(x, 0), Shape_i(y, 1))``.  The rewrites
below use it to replace ``Shape(x)``, ``Shape_i(x)`` and ``x.shape[i]`` by
such expressions, so the function that computes a shape does not compute
the array, and a static length becomes a constant.

Key decisions:

* **Lazy and incremental.**  Attaching costs nothing; ``shape_of(v)``
  computes the shapes of ``v`` and of those of its ancestors not yet known
  (iteratively, so deep graphs do not hit the recursion limit), once, and
  caches them.  A change is handled locally: the node whose input changed
  forgets its outputs' shapes, and a variable that leaves the graph makes
  the cached shapes that mention it forgotten (using them would import the
  pruned computation again).  Nothing walks the whole graph on a change.
* **Entries** are Python ints where the length is static (a type's static
  length wins over what ``infer_shape`` says) and 0-d int64 variables
  otherwise.  Graph inputs' unknown lengths are ``Shape_i(input, d)``.
* An op whose ``infer_shape`` is missing or fails gives
  ``Shape_i(output, d)`` for its unknown lengths: correct, just not
  simplified.  ``infer_shape`` is called with ints for static lengths, and
  again with int64 constants if that raises.
* The rewrites attach the feature when they first need it
  (:func:`get_shape_feature`); a graph rewriter at the end of every phase
  detaches it, so a compiled function's graph does not keep the cache.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.graph.basic import Apply, Constant, Variable
from symarray.graph.fg import Feature, FunctionGraph
from symarray.graph.rewriting import (
    PHASES,
    graph_rewriter,
    node_rewriter,
    register_rewrite,
)
from symarray.tensor.elemwise import Elemwise
from symarray.tensor.shape_ops import (
    MakeVector,
    Shape,
    Shape_i,
    SpecifyShape,
    int64_constant,
    static_int,
)
from symarray.tensor.subtensor import Idx, Subtensor
from symarray.tensor.type import TensorType

__all__ = [
    "ShapeFeature",
    "get_shape_feature",
    "same_value",
    "length_variable",
    "local_shape_i",
    "local_shape_to_entries",
    "local_shape_index",
    "local_useless_specify_shape",
    "entries_vector",
]

_log = logging.getLogger(__name__)

Entry = Any  # an int, or a 0-d int64 variable


def _is_tensor(var: Variable) -> bool:
    return isinstance(var.type, TensorType)


def length_variable(entry: Entry) -> Variable:
    """A shape entry as a 0-d int64 variable (a constant for an int)."""
    return int64_constant(entry) if isinstance(entry, int) else entry


def same_value(a: Any, b: Any, depth: int = 6) -> bool:
    """True when ``a`` and ``b`` are known to hold the same value.

    Ints and constants compare by value; variables are the same when they
    are one object, or the outputs of equal ops on inputs that are the same
    (up to ``depth`` levels: ``Shape_i(x, 0)`` built twice is the same).
    """
    if isinstance(a, (int, np.integer)) or isinstance(b, (int, np.integer)):
        ia = int(a) if isinstance(a, (int, np.integer)) else static_int(a)
        ib = int(b) if isinstance(b, (int, np.integer)) else static_int(b)
        return ia is not None and ia == ib
    if a is b:
        return True
    if not isinstance(a, Variable) or not isinstance(b, Variable):
        return False
    if isinstance(a, Constant) and isinstance(b, Constant):
        return bool(a.type == b.type and a.signature() == b.signature())
    na, nb = a.owner, b.owner
    if depth <= 0 or na is None or nb is None or a.index != b.index:
        return False
    if na.op != nb.op or len(na.inputs) != len(nb.inputs):
        return False
    return all(same_value(i, j, depth - 1)
               for i, j in zip(na.inputs, nb.inputs, strict=True))


class ShapeFeature(Feature):
    """Symbolic shapes of a graph's tensor variables, computed when asked.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> from symarray.graph import FunctionGraph
    >>> x, y = T.dmatrix("x"), T.dmatrix("y")
    >>> fg = FunctionGraph([x, y], [T.dot(T.exp(x), y)], clone=False)
    >>> sf = ShapeFeature()
    >>> fg.attach_feature(sf)
    >>> [str(e.owner.op) for e in sf.shape_of(fg.outputs[0])]
    ['Shape_i{i=0}', 'Shape_i{i=1}']
    """

    def __init__(self) -> None:
        self.fgraph: FunctionGraph | None = None
        self._shapes: dict[Variable, tuple[Entry, ...]] = {}
        #: graph variable -> variables whose cached shapes mention it
        self._dependents: dict[Variable, set[Variable]] = {}
        #: variable outside the graph -> the graph variables its value reads
        self._refs: dict[Variable, frozenset[Variable]] = {}
        #: how many nodes' ``infer_shape`` ran (tests check the laziness)
        self.inferred = 0

    # -- feature callbacks -------------------------------------------------
    def on_attach(self, fgraph: FunctionGraph) -> None:
        if self.fgraph is not None and self.fgraph is not fgraph:
            raise ValueError("ShapeFeature: already attached to another graph")
        other = getattr(fgraph, "shape_feature", None)
        if other is not None and other is not self:
            raise ValueError(
                "ShapeFeature: the graph already has one; use get_shape_feature(fg)"
            )
        self.fgraph = fgraph
        fgraph.shape_feature = self  # type: ignore[attr-defined]

    def on_detach(self, fgraph: FunctionGraph) -> None:
        self._shapes.clear()
        self._dependents.clear()
        self._refs.clear()
        if getattr(fgraph, "shape_feature", None) is self:
            del fgraph.shape_feature  # type: ignore[attr-defined]
        self.fgraph = None

    def on_change_input(self, fgraph: FunctionGraph, node: Any, i: int,
                        old: Variable, new: Variable, reason: str) -> None:
        if isinstance(node, Apply):  # its input may now know more
            for out in node.outputs:
                self._shapes.pop(out, None)

    def on_prune(self, fgraph: FunctionGraph, node: Apply, reason: str) -> None:
        shapes = self._shapes
        for out in node.outputs:
            shapes.pop(out, None)
            self._refs.pop(out, None)
            for dep in self._dependents.pop(out, ()):
                shapes.pop(dep, None)

    # -- queries -------------------------------------------------------------
    def shape_of(self, var: Variable) -> tuple[Entry, ...]:
        """The shape of ``var``: one entry (int or 0-d int64) per dimension."""
        shapes = self._shapes
        hit = shapes.get(var)
        if hit is not None:
            return hit
        if not _is_tensor(var):
            raise TypeError(f"ShapeFeature: {var} of type {var.type} is not a tensor")
        stack = [var]
        while stack:
            v = stack[-1]
            if v in shapes:
                stack.pop()
                continue
            node = v.owner
            if node is None:
                self._store(v, self._input_shape(v))
                stack.pop()
                continue
            pending = [i for i in node.inputs if _is_tensor(i) and i not in shapes]
            if pending:
                stack.extend(pending)
                continue
            self._infer(node)
            stack.pop()
        return shapes[var]

    def length(self, var: Variable, d: int) -> Variable:
        """Dimension ``d`` of ``var`` as a 0-d int64 variable."""
        return length_variable(self.shape_of(var)[d])

    # -- computing shapes ------------------------------------------------------
    @staticmethod
    def _input_shape(var: Variable) -> tuple[Entry, ...]:
        if isinstance(var, Constant):
            return tuple(int(s) for s in np.shape(var.data))
        static = var.type.shape  # type: ignore[attr-defined]
        return tuple(s if s is not None else Shape_i(d)(var)
                     for d, s in enumerate(static))

    def _infer(self, node: Apply) -> None:
        self.inferred += 1
        in_shapes = [self._shapes[i] if _is_tensor(i) else None for i in node.inputs]
        if isinstance(node.op, Elemwise):
            result: list[Any] | None = _elemwise_shape(node, in_shapes)
        else:
            result = self._call_infer(node, in_shapes)
        for k, out in enumerate(node.outputs):
            if not _is_tensor(out):
                continue
            got = result[k] if result is not None else None
            self._store(out, self._entries(out, got))

    def _call_infer(self, node: Apply, in_shapes: list[Any]) -> list[Any] | None:
        attempts = [in_shapes]
        if any(isinstance(e, int) for s in in_shapes if s for e in s):
            attempts.append([
                None if s is None else tuple(length_variable(e) for e in s)
                for s in in_shapes
            ])
        for shapes in attempts:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = node.op.infer_shape(self.fgraph, node, shapes)
            except Exception as err:  # no infer_shape, or it fails: fall back
                _log.debug("infer_shape of %s failed: %s: %s", node,
                           type(err).__name__, err)
                continue
            if isinstance(result, (list, tuple)) and len(result) == node.nout:
                return list(result)
            _log.debug("infer_shape of %s gave %r, not one shape per output",
                       node, result)
        return None

    @staticmethod
    def _entries(out: Variable, got: Any) -> tuple[Entry, ...]:
        static = out.type.shape  # type: ignore[attr-defined]
        ok = isinstance(got, (list, tuple)) and len(got) == len(static)
        entries: list[Entry] = []
        for d, s in enumerate(static):
            entry = _normalize(got[d]) if ok and s is None else None
            if s is not None:
                entries.append(s)
            elif entry is not None:
                entries.append(entry)
            else:
                entries.append(Shape_i(d)(out))
        return tuple(entries)

    def _store(self, var: Variable, entries: tuple[Entry, ...]) -> None:
        self._shapes[var] = entries
        for e in entries:
            if isinstance(e, Variable):
                for ref in self._refs_of(e):
                    self._dependents.setdefault(ref, set()).add(var)

    def _refs_of(self, var: Variable) -> frozenset[Variable]:
        """The graph variables (with owners) that ``var``'s value is built from."""
        fg = self.fgraph
        in_graph = fg.variables if fg is not None else set()
        memo = self._refs
        stack = [var]
        while stack:
            v = stack[-1]
            if v in memo:
                stack.pop()
                continue
            if v in in_graph or v.owner is None:
                memo[v] = frozenset([v]) if v.owner is not None else frozenset()
                stack.pop()
                continue
            pending = [i for i in v.owner.inputs if i not in memo]
            if pending:
                stack.extend(pending)
                continue
            refs: set[Variable] = set()
            for i in v.owner.inputs:
                refs |= memo[i]
            memo[v] = frozenset(refs)
            stack.pop()
        return memo[var]


def _elemwise_shape(node: Apply, in_shapes: list[Any]) -> list[Any]:
    """Elemwise's broadcast shape, with equal candidate lengths counted once.

    (``Elemwise.infer_shape`` builds ``switch(eq(n, 1), n, n)`` for ``x - x``.)
    """
    from symarray.tensor.math import ELEMWISE_OPS

    eq, switch = ELEMWISE_OPS["eq"], ELEMWISE_OPS["switch"]
    out_static = node.outputs[0].type.shape  # type: ignore[attr-defined]
    shape: list[Entry] = []
    for d, s in enumerate(out_static):
        if s is not None:
            shape.append(s)
            continue
        cands: list[Entry] = []
        for inp, shp in zip(node.inputs, in_shapes, strict=True):
            if inp.type.shape[d] == 1:  # type: ignore[attr-defined]
                continue
            if not any(same_value(shp[d], c) for c in cands):
                cands.append(shp[d])
        if not cands:
            shape.append(1)
            continue
        length = cands[-1]
        for c in reversed(cands[:-1]):
            if isinstance(c, int):  # a static length that is not 1 wins
                length = c if c != 1 else length
            else:
                length = switch(eq(c, 1), length_variable(length), c)
        shape.append(length)
    return [tuple(shape)] * node.nout


def _normalize(e: Any) -> Entry | None:
    """An ``infer_shape`` entry as an int or a 0-d int64 variable (None: bad)."""
    if isinstance(e, (bool, np.bool_)):
        return None
    if isinstance(e, (int, np.integer)):
        return int(e) if e >= 0 else None
    if isinstance(e, np.ndarray) and e.ndim == 0 and e.dtype.kind in "iu":
        return int(e) if e >= 0 else None
    if not isinstance(e, Variable) or not _is_tensor(e):
        return None
    t: Any = e.type
    if t.ndim != 0 or np.dtype(t.dtype).kind not in "iu":
        return None
    known = static_int(e)
    if known is not None:
        return known if known >= 0 else None
    if t.dtype != "int64":
        from symarray.tensor.elemwise import cast

        return cast(e, "int64")
    return e


def get_shape_feature(fgraph: FunctionGraph) -> ShapeFeature:
    """The graph's :class:`ShapeFeature`, attached now if it has none."""
    feature = getattr(fgraph, "shape_feature", None)
    if isinstance(feature, ShapeFeature):
        return feature
    feature = ShapeFeature()
    fgraph.attach_feature(feature)
    return feature


@register_rewrite("fast_run", "fast_compile", name="shape_feature_detach",
                  position=1e9, phase=PHASES[1:])
@graph_rewriter("shape_feature_detach")
def _detach_shape_feature(fgraph: FunctionGraph) -> int:
    """End of a phase: drop the shape cache (the next phase starts afresh)."""
    feature = getattr(fgraph, "shape_feature", None)
    if isinstance(feature, ShapeFeature):
        fgraph.remove_feature(feature)
    return 0


# -- the rewrites ---------------------------------------------------------------


def _is_own_length(entry: Entry, x: Variable, d: int) -> bool:
    """Is ``entry`` just ``Shape_i(x, d)`` (nothing simpler is known)?"""
    if not isinstance(entry, Variable) or entry.owner is None:
        return False
    op = entry.owner.op
    return isinstance(op, Shape_i) and op.i == d and entry.owner.inputs[0] is x


@register_rewrite("canonicalize", "fast_run", "shape")
@node_rewriter([Shape_i])
def local_shape_i(fgraph: Any, node: Apply) -> list[Variable] | None:
    """Shape_i(x, i) -> the i-th length of x (a constant when static)."""
    x, i = node.inputs[0], node.op.i  # type: ignore[attr-defined]
    entry = get_shape_feature(fgraph).shape_of(x)[i]
    if _is_own_length(entry, x, i) or entry is node.outputs[0]:
        return None
    return [length_variable(entry)]


@register_rewrite("canonicalize", "fast_run", "shape")
@node_rewriter([Shape])
def local_shape_to_entries(fgraph: Any, node: Apply) -> list[Variable] | None:
    """Shape(x) -> MakeVector(lengths of x), or a constant when all are static.

    ``Shape`` of a graph input stays (one cheap node), and so does a shape
    of which nothing more is known than ``Shape_i(x, d)``.
    """
    x = node.inputs[0]
    entries = get_shape_feature(fgraph).shape_of(x)
    if not all(isinstance(e, int) for e in entries) and (x.owner is None or all(
        isinstance(e, int) or _is_own_length(e, x, d) for d, e in enumerate(entries)
    )):
        return None
    return [entries_vector(entries)]


def _constant_index(node: Apply) -> int | None:
    """The index of ``v[i]`` when it is one constant integer, else None."""
    idx_list = node.op.idx_list  # type: ignore[attr-defined]
    if len(idx_list) != 1 or node.outputs[0].type.ndim != 0:  # type: ignore[attr-defined]
        return None
    entry = idx_list[0]
    if isinstance(entry, int) and not isinstance(entry, bool):
        return entry
    if entry is Idx.SCALAR and len(node.inputs) == 2:
        return static_int(node.inputs[1])
    return None


@register_rewrite("canonicalize", "fast_run", "shape")
@node_rewriter([Subtensor])
def local_shape_index(fgraph: Any, node: Apply) -> list[Variable] | None:
    """x.shape[i] -> the i-th length of x; MakeVector(a, b, ...)[i] -> its input."""
    i = _constant_index(node)
    source = node.inputs[0].owner
    if i is None or source is None:
        return None
    out = node.outputs[0]
    if isinstance(source.op, Shape):
        x = source.inputs[0]
        ndim = x.type.ndim  # type: ignore[attr-defined]
        if not -ndim <= i < ndim:
            return None  # it fails at run time, where the user indexed
        i %= ndim
        entry = get_shape_feature(fgraph).shape_of(x)[i]
        if _is_own_length(entry, x, i):
            return [Shape_i(i)(x)]
        return [length_variable(entry)]
    if isinstance(source.op, MakeVector):
        n = len(source.inputs)
        if not -n <= i < n:
            return None
        item = source.inputs[i % n]
        return [item] if item.type == out.type else None
    return None


def _redundant_lengths(fgraph: Any, node: Apply) -> list[bool]:
    """For each length input of a SpecifyShape: does x already have it?"""
    x = node.inputs[0]
    static = x.type.shape  # type: ignore[attr-defined]
    given = [d for d, g in enumerate(node.op.given) if g]  # type: ignore[attr-defined]
    out: list[bool] = []
    shape = None
    for d, length in zip(given, node.inputs[1:], strict=True):
        if static[d] is not None:
            out.append(static_int(length) == static[d])
            continue
        if shape is None:
            shape = get_shape_feature(fgraph).shape_of(x)
        out.append(same_value(shape[d], length))
    return out


@register_rewrite("canonicalize", "fast_run", "shape")
@node_rewriter([SpecifyShape])
def local_useless_specify_shape(fgraph: Any, node: Apply) -> list[Variable] | None:
    """specify_shape(x, s) -> x where x's type (or shape) already says s."""
    redundant = _redundant_lengths(fgraph, node)
    if not any(redundant):
        return None
    x, out = node.inputs[0], node.outputs[0]
    if all(redundant):
        return [x] if out.type == x.type or out.type.is_super(x.type) else None
    given = list(node.op.given)  # type: ignore[attr-defined]
    keep: list[Variable] = []
    k = 0
    for d, g in enumerate(given):
        if not g:
            continue
        if redundant[k]:
            given[d] = False
        else:
            keep.append(node.inputs[1 + k])
        k += 1
    new = SpecifyShape(given)(x, *keep)
    return [new] if out.type == new.type or out.type.is_super(new.type) else None


def entries_vector(entries: Sequence[Entry]) -> Variable:
    """An int64 vector of shape entries (a constant when all are ints)."""
    if all(isinstance(e, int) for e in entries):
        data = np.asarray(entries, dtype="int64").reshape(len(entries))
        return TensorType("int64", shape=(len(entries),)).make_constant(data)
    return MakeVector("int64")(*[length_variable(e) for e in entries])
