"""Elementwise fusion: connected elementwise subgraphs become one node.

``local_elemwise_fusion`` (phase ``fusion``, tags ``fast_run``, ``fusion``,
``elemwise_fusion``; excludable by name as Theano users do with
``mode.excluding('local_elemwise_fusion')``) replaces each group of
``Elemwise`` nodes by one ``Elemwise(Composite)`` node, whose scalar program
(:class:`~symarray.scalar.composite.Composite`) the fused kernel runs in one
pass over the data: ``exp(x) * y + 1`` then makes no temporaries.  A value
of the group that is also read outside it becomes an extra output of the
fused node (Composites have several outputs), so ``z = dot(X, w) + b`` read
by ``softplus(z)``, ``softplus(-z)`` and ``sigmoid(z)`` is computed with
them in one pass instead of as a node of its own.

Growing a group
---------------
Nodes are visited from the outputs towards the inputs; each one not yet in
a group becomes the *root* of a new group, which grows by taking in
neighbours: producers of what its members read, readers of what they
compute, and *siblings* (other readers of the group's inputs, ``exp(x)``
next to ``sin(x)``).  A neighbour joins when:

* it is an ``Elemwise`` whose scalar op has a C expression (or is itself a
  composite, which is inlined), overwrites nothing, and is in no group yet;
* it is in the same control-flow branch as the root: when the graph has a
  ``branch_of(node)`` feature (the ``ifelse`` issue provides it; the
  scheduler uses the same feature), nodes of different branches are never
  fused, so a lazy branch never computes the other's work;
* the fused node would read at most :data:`MAX_FUSION_INPUTS` distinct
  variables and return at most :data:`MAX_FUSION_OUTPUTS` values;
* every output it would add (a value read outside the group, or a graph
  output) has provably the shape of the root's output (Shapes, below), and
* no output would wait for a value it does not need: the fused node runs
  once all its inputs are there, so every output must depend on every
  input that is not *free* (a graph input, a constant or a ``DimShuffle``
  of one).  ``1 / n`` (read by the gradient) is not fused with
  ``loss / n``: the gradient would wait for the loss, and rewrites that
  look at what depends on what (``local_gemv_stream_rows``) would see the
  gradient depend on the forward pass's product.  This also keeps the
  graph acyclic (Cycles, below).

A neighbour all of whose results are read inside the group (a producer with
no other reader) always passes the shape test; that is the only kind of
node a group takes when extra outputs are off
(``multi_output=False``) or when its root is read by nothing but a
reduction: that group stays one output, so ``local_reduce_elemwise_fusion``
(phase ``fusion``, next) can still fuse it into the reduction, which stores
nothing.  For the same reason a value read only by a reduction is never
made an extra output, and a member whose results are read by one outside
node only, an elementwise one that may still fuse it with nothing stored
(the head of a chain the group grew into, a sibling that feeds a
reduction's group), is given back when the group is complete.

Shapes
------
The fused node computes every output over one shape, the broadcast of all
its inputs.  ``Elemwise`` stretches a length-1 dimension at run time even
where the static type does not say 1 (NumPy broadcasting), so values with
the same static type may differ in shape: ``exp(x) + y`` over vectors ``x``
of length 1 and ``y`` of length 3 has length 3, ``exp(x)`` has 1.  An extra
output ``o`` is therefore taken only when, dimension by dimension, its
length equals the root's for every run that the unfused graph survives:

* ``o`` and the root have the same number of dimensions and the same
  broadcastable pattern (static length 1 in the same places), and
* in each dimension either both static lengths are known and equal, or
  the two lengths are broadcasts of the same values.  A value's length is
  the broadcast of the lengths of the group inputs it is computed from
  (those not statically 1; an ``Elemwise`` node gives all its results the
  broadcast shape of all its inputs): the same inputs give the same
  length, and an input only one of the two reads must have a length that
  one of the other's inputs has, as static lengths or as the graph's
  :class:`~symarray.tensor.rewriting.shape.ShapeFeature` proves with
  :func:`~symarray.tensor.rewriting.shape.same_value` (``x`` and
  ``sort(x)`` both have ``Shape_i(x, 0)``; ``x`` and ``y`` do not, so
  ``exp(x)`` is not an output of the ``exp(x) + y`` group).

Then the fused node's broadcast shape is the root's shape: every input of
the group feeds some output (the root or an extra one), whose length in
each dimension is that of the root, so no input can stretch it further; a
value that only feeds other members may be smaller (a ``(1, n)`` row
inside an ``(m, n)`` group) and is broadcast as before.  With the
broadcastable patterns equal, each output also keeps its static type.  The
shape feature is attached only when two inputs' lengths must be compared
(rare: outputs must not wait for inputs they do not need, above, so they
differ at most in graph inputs), and detached again if fusion attached it.

Cycles
------
A value of the group read by an outside node that (through other nodes)
feeds the group again would make the fused node its own ancestor:
``a = exp(x)`` read by ``sum(a)`` and ``sin(a) + sum(a)`` cannot fuse
``a`` into the ``sin`` group.  The waiting rule above rules this out at no
extra cost: every output is computed from every input that is not free, so
a path from an output through outside nodes back to such an input would
be a cycle in the graph before fusion; free inputs have no producers at
all.  (``sum(a)`` is not computed from ``exp``'s input alone, so ``a`` may
not wait for it.)

The group's inputs are the variables it reads from outside: graph inputs,
other nodes' results and the ``DimShuffle`` nodes that broadcast an input
(those stay, as the boundaries of the fused node).  Scalar constants (one
element) are embedded in the program instead.  Each output keeps its dtype
(the program's steps record the dtypes of the nodes they came from).

Gradients are taken before rewriting, so a fused node rarely needs one;
:func:`composite_L_op` and :func:`composite_R_op` give them by expanding the
program back into elementwise nodes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from symarray.graph.basic import Apply, Constant, Variable
from symarray.graph.fg import FunctionGraph, InconsistencyError
from symarray.graph.rewriting import GraphRewriter, register_rewrite
from symarray.scalar.composite import Composite, CompositeBuilder
from symarray.tensor.elemwise import DimShuffle, Elemwise, cast
from symarray.tensor.reduction import CAReduce
from symarray.tensor.rewriting.shape import ShapeFeature, get_shape_feature, same_value
from symarray.tensor.type import TensorType, tensor_type

__all__ = ["ElemwiseFusion", "local_elemwise_fusion", "MAX_FUSION_INPUTS",
           "MAX_FUSION_OUTPUTS", "expand_composite", "composite_L_op",
           "composite_R_op"]

_log = logging.getLogger(__name__)

#: most distinct inputs one fused node may read (C kernels take a fixed
#: argument list; Theano's limit was of this order too)
MAX_FUSION_INPUTS = 32
#: most outputs one fused node may return (the block interpreter takes 64
#: operands in all)
MAX_FUSION_OUTPUTS = 16

#: readers of an input tried as siblings (an input read by thousands of
#: nodes would otherwise cost each of their groups thousands of tries)
_SIBLING_SCAN = 64
#: a group this big with extra outputs takes no more values that would
#: need its dependencies worked out again (that costs the group's size)
_MAX_TRACKED = 512


def _fusable(node: Apply) -> bool:
    op = node.op
    if not isinstance(op, Elemwise) or op.inplace_pattern:
        return False
    sop = op.scalar_op
    if not isinstance(sop, Composite) and sop.row.c is None:
        return False
    return all(isinstance(o.type, TensorType) for o in node.outputs)


def _embeddable(var: Variable) -> bool:
    """A constant with one element: it goes into the program, not the inputs."""
    return isinstance(var, Constant) and getattr(var.data, "size", 2) == 1


def _read_by_a_reduction_only(fgraph: FunctionGraph, var: Variable) -> bool:
    """Whether ``var``'s one reader is a reduction (which fuse_reduce may
    fuse with ``var``'s node, if that node has one output)."""
    clients = fgraph.clients.get(var, ())
    if len(clients) != 1:
        return False
    node = clients[0][0]
    return isinstance(node, Apply) and isinstance(node.op, CAReduce)


def _free(var: Variable) -> bool:
    """A value there from the start: a graph input, a constant, or a
    ``DimShuffle`` of one (any output of a fused node may wait for it)."""
    node = var.owner
    return node is None or (isinstance(node.op, DimShuffle)
                            and node.inputs[0].owner is None)


def _needs(members: set[Apply], inputs: Sequence[Variable],
           position: dict[Apply, int]) -> dict[Variable, int]:
    """For each result of ``members``, the inputs it is computed from (a
    bit mask over ``inputs``; a node's results share one: ``Elemwise``
    gives them all the broadcast shape of all its inputs)."""
    bit = {v: 1 << k for k, v in enumerate(inputs)}
    needs: dict[Variable, int] = {}
    for m in sorted(members, key=position.__getitem__):
        got = 0
        for v in m.inputs:
            got |= needs.get(v, 0) if v.owner in members else bit.get(v, 0)
        for o in m.outputs:
            needs[o] = got
    return needs


def _spreads(var: Variable) -> bool:
    """Whether readers of ``var`` are worth trying as siblings: not a
    constant, not a broadcast scalar (``DimShuffle{x}(lr)`` is read by
    unrelated updates of every shape)."""
    shape = getattr(var.type, "shape", ())
    return not isinstance(var, Constant) and any(s != 1 for s in shape)


class _ShapeProver:
    """Proves two tensors have equal shapes (the graph's ShapeFeature,
    attached on first need and detached by :meth:`close` if it was not
    there before)."""

    def __init__(self, fgraph: FunctionGraph) -> None:
        self.fgraph = fgraph
        self.feature: ShapeFeature | None = None
        self.attached = False

    def same_shape(self, a: Variable, b: Variable, a_needs: int, b_needs: int,
                   inputs: Sequence[Variable]) -> bool:
        """Whether ``a`` and ``b``, results of one group computed from the
        ``inputs`` in the masks ``a_needs`` and ``b_needs``, have equal
        shapes in every run (see Shapes)."""
        sa, sb = tensor_type(a).shape, tensor_type(b).shape
        if len(sa) != len(sb):
            return False
        for d, (la, lb) in enumerate(zip(sa, sb, strict=True)):
            if (la == 1) != (lb == 1):
                return False  # the broadcastable patterns differ
            if la is not None and lb is not None:
                if la != lb:
                    return False
                continue
            # the length is the broadcast of the inputs' lengths that are
            # not statically 1: the same inputs give the same length, and
            # an input only one side reads must have a length the other
            # side's inputs have
            ins_a = {v for k, v in enumerate(inputs)
                     if a_needs >> k & 1 and tensor_type(v).shape[d] != 1}
            ins_b = {v for k, v in enumerate(inputs)
                     if b_needs >> k & 1 and tensor_type(v).shape[d] != 1}
            for only, other in ((ins_a - ins_b, ins_b), (ins_b - ins_a, ins_a)):
                for v in only:
                    if not any(self._same_length(v, u, d) for u in other):
                        return False
        return True

    def _same_length(self, v: Variable, u: Variable, d: int) -> bool:
        lv, lu = tensor_type(v).shape[d], tensor_type(u).shape[d]
        if lv is not None and lu is not None:
            return bool(lv == lu)
        if self.feature is None:
            self.attached = not isinstance(getattr(self.fgraph, "shape_feature", None),
                                           ShapeFeature)
            self.feature = get_shape_feature(self.fgraph)
        try:
            ev, eu = self.feature.shape_of(v)[d], self.feature.shape_of(u)[d]
        except (TypeError, ValueError) as err:  # not a tensor graph after all
            _log.debug("no shapes for %s, %s: %s", v, u, err)
            return False
        return same_value(ev, eu)

    def close(self) -> None:
        if self.attached and self.feature is not None:
            self.fgraph.remove_feature(self.feature)
        self.feature = None


@dataclass
class _Group:
    """A group being grown: its members, what it reads and what it returns."""

    root: Apply
    multi: bool  # may it return values other than the root's?
    members: set[Apply] = field(default_factory=set)
    #: variables read from outside (no embedded constants), in first-read order
    inputs: dict[Variable, None] = field(default_factory=dict)
    #: members' results (not the root's) read outside: the extra outputs
    extra: dict[Variable, None] = field(default_factory=dict)


class ElemwiseFusion(GraphRewriter):
    """Fuse maximal elementwise groups into ``Elemwise(Composite)`` nodes.

    Parameters
    ----------
    max_inputs
        Most distinct inputs of a fused node (default
        :data:`MAX_FUSION_INPUTS`).
    multi_output
        Whether a group may take in values read outside it, as extra
        outputs of the fused node (default True; False fuses only values
        read by the group alone, as before extra outputs existed).

    Examples
    --------
    >>> import symarray.tensor as T
    >>> from symarray.graph import FunctionGraph
    >>> x, y = T.dvectors("x", "y")
    >>> fg = FunctionGraph([x, y], [T.exp(x) * y + 1])
    >>> ElemwiseFusion().apply(fg)
    1
    >>> [str(n.op) for n in fg.toposort()]  # the 1 is broadcast by a DimShuffle
    ['DimShuffle{x}', 'Composite{add(mul(exp(i0), i1), i2)}']

    ``t`` is read by both outputs: it becomes the fused node's second output.

    >>> t = T.exp(x)
    >>> fg = FunctionGraph([x], [t * 2, t])
    >>> ElemwiseFusion().apply(fg)
    1
    >>> [str(n.op) for n in fg.toposort()]
    ['DimShuffle{x}', 'Composite{mul(exp(i0), i1), exp(i0)}']
    """

    name = "local_elemwise_fusion"

    def __init__(self, max_inputs: int | None = None,
                 multi_output: bool = True) -> None:
        self.max_inputs = MAX_FUSION_INPUTS if max_inputs is None else max_inputs
        if self.max_inputs < 1:
            raise ValueError(f"ElemwiseFusion: max_inputs must be >= 1, got "
                             f"{self.max_inputs}")
        self.multi_output = bool(multi_output)

    def apply(self, fgraph: Any) -> int:
        order = fgraph.toposort()
        # execution order: a group's program follows it; nodes fusion makes
        # have none and join no group
        position: dict[Apply, int] = {n: k for k, n in enumerate(order)}
        branch_of = getattr(fgraph, "branch_of", None)
        prover = _ShapeProver(fgraph)
        taken: set[Apply] = set()
        changes = 0
        try:
            for root in reversed(order):
                if (root in taken or root not in fgraph.apply_nodes
                        or not _fusable(root)):
                    continue
                group = self._grow(fgraph, root, taken, branch_of, position, prover)
                taken |= group.members
                if len(group.members) < 2 or not group.inputs:
                    continue
                new = self._fuse(fgraph, group, position)
                if new is not None:
                    taken.add(new)
                    changes += 1
        finally:
            prover.close()
        return changes

    # -- growing a group -----------------------------------------------------------

    def _grow(self, fgraph: FunctionGraph, root: Apply, taken: set[Apply],
              branch_of: Any, position: dict[Apply, int],
              prover: _ShapeProver) -> _Group:
        """The group rooted at ``root``."""
        multi = self.multi_output and not any(
            _read_by_a_reduction_only(fgraph, o) for o in root.outputs)
        group = _Group(root, multi, members={root})
        branch = branch_of(root) if branch_of is not None else None

        def free(n: Apply) -> bool:  # may n join a group at all?
            return (n not in taken and n in position and n in fgraph.apply_nodes
                    and _fusable(n)
                    and (branch_of is None or branch_of(n) == branch))

        candidates: list[Apply] = []
        fresh = [v for v in root.inputs if not _embeddable(v)]
        group.inputs = dict.fromkeys(fresh)
        self._push_neighbours(fgraph, group, root, fresh, candidates)
        while candidates:
            c = candidates.pop()
            if c in group.members or not free(c):
                continue
            added = self._join(fgraph, group, c, position, prover)
            if added is not None:
                self._push_neighbours(fgraph, group, c, added, candidates)
        if group.extra:
            self._prune(fgraph, group, free, position, prover)
        return group

    @staticmethod
    def _push_neighbours(fgraph: FunctionGraph, group: _Group, node: Apply,
                         new_inputs: list[Variable], out: list[Apply]) -> None:
        """Queue the nodes next to a new member: producers of what it reads,
        and (extra outputs allowed) readers of what it computes and the
        other readers of its new inputs (siblings)."""
        members = group.members
        for v in node.inputs:
            p = v.owner
            if p is not None and p not in members:
                out.append(p)
        if not group.multi:
            return
        clients = fgraph.clients
        for o in node.outputs:
            for n, _ in clients.get(o, ()):
                if n != "output" and n not in members:
                    out.append(n)
        for v in new_inputs:
            if _spreads(v):
                for n, _ in clients.get(v, ())[:_SIBLING_SCAN]:
                    if n != "output" and n not in members:
                        out.append(n)

    def _join(self, fgraph: FunctionGraph, group: _Group, c: Apply,
              position: dict[Apply, int],
              prover: _ShapeProver) -> list[Variable] | None:
        """Add ``c`` to ``group`` if it may join; returns the inputs it adds
        (None: it does not join)."""
        clients = fgraph.clients
        members = group.members

        def outside(n: Any) -> bool:
            return n == "output" or (n is not c and n not in members)

        # c's results read outside the group (with c in it)
        new_extra = [o for o in c.outputs
                     if any(outside(n) for n, _ in clients.get(o, ()))]
        new_inputs: list[Variable] = []
        for v in c.inputs:
            if (not _embeddable(v) and v not in group.inputs
                    and (v.owner is None or v.owner not in members)
                    and v not in new_inputs):
                new_inputs.append(v)
        n_in = (len(group.inputs) + len(new_inputs)
                - sum(1 for o in c.outputs if o in group.inputs))
        if n_in > self.max_inputs:
            return None
        # the extra outputs c reads may now be read inside only
        dropped = {v for v in c.inputs if v in group.extra and not any(
            outside(n) for n, _ in clients.get(v, ()))}
        extra = [o for o in group.extra if o not in dropped] + new_extra
        inputs = [v for v in group.inputs if v.owner is not c] + new_inputs
        # (a node all of whose results members read was the producer of an
        # input that every output needed, so each now needs the node's own
        # inputs: the waiting rule still holds, and the shapes are as before)
        if new_extra:
            if (not group.multi or len(members) >= _MAX_TRACKED
                    or len(group.root.outputs) + len(extra) > MAX_FUSION_OUTPUTS):
                return None
            if not any(v.owner in members for v in c.inputs):
                # c's results would need only what c reads: a quick refusal
                own = set(c.inputs)
                if any(v not in own and not _free(v) for v in inputs):
                    return None
            if not _outputs_ok(fgraph, members | {c}, group.root, inputs,
                               [*group.root.outputs, *extra], new_extra, position,
                               prover):
                return None
        members.add(c)
        for o in c.outputs:
            group.inputs.pop(o, None)
        for v in new_inputs:
            group.inputs[v] = None
        for v in dropped:
            del group.extra[v]
        for o in new_extra:
            group.extra[o] = None
        return new_inputs

    def _prune(self, fgraph: FunctionGraph, group: _Group, free: Any,
               position: dict[Apply, int], prover: _ShapeProver) -> None:
        """Give back members that only feed one node outside, which could
        take them in with nothing stored (a sibling taken from the group of
        a reduction, the head of a chain the group grew into)."""
        root, clients = group.root, fgraph.clients

        def dangling(m: Apply) -> bool:
            for o in m.outputs:
                readers = clients.get(o, ())
                if len(readers) != 1 or readers[0][0] == "output":
                    return False
                n = readers[0][0]
                if n in group.members or not free(n):
                    return False
            return True

        pruned = True
        while pruned:
            pruned = False
            for m in sorted(group.members, key=position.__getitem__, reverse=True):
                if m is root or not dangling(m):
                    continue
                members = group.members - {m}
                inputs, extra = _inputs_and_extra(fgraph, members, root, position)
                fresh = [o for o in extra if o not in group.extra]
                if (len(root.outputs) + len(extra) <= MAX_FUSION_OUTPUTS
                        and _outputs_ok(fgraph, members, root, inputs,
                                        [*root.outputs, *extra], fresh, position,
                                        prover)):
                    group.members, group.inputs = members, dict.fromkeys(inputs)
                    group.extra = dict.fromkeys(extra)
                    pruned = True
                    break

    # -- building the fused node -----------------------------------------------------

    def _fuse(self, fgraph: FunctionGraph, group: _Group,
              position: dict[Apply, int]) -> Apply | None:
        """Replace the group by one node; returns it (None: not fused)."""
        root = group.root
        ordered = sorted(group.members, key=position.__getitem__)
        inputs, extra = _inputs_and_extra(fgraph, group.members, root, position)
        builder = CompositeBuilder([v.type.dtype for v in inputs])  # type: ignore[attr-defined]
        reg: dict[Variable, Any] = dict(zip(inputs, builder.inputs, strict=True))
        for m in ordered:
            args = []
            for v in m.inputs:
                r = reg.get(v)
                if r is None:  # an embedded constant
                    data: Any = v.data  # type: ignore[attr-defined]
                    r = reg[v] = builder.constant(data.reshape(()), str(data.dtype))
                args.append(r)
            sop = m.op.scalar_op  # type: ignore[attr-defined]
            if isinstance(sop, Composite):
                outs = builder.inline(sop, args)
            else:
                outs = [builder.apply(sop, args, m.outputs[0].type.dtype)]  # type: ignore[attr-defined]
            for o, r in zip(m.outputs, outs, strict=True):
                reg[o] = r
        olds = [*root.outputs, *extra]
        comp = builder.build([reg[o] for o in olds])
        new = Elemwise(comp).make_node(*inputs)
        for old, fresh in zip(olds, new.outputs, strict=True):
            if not (old.type == fresh.type or old.type.is_super(fresh.type)):
                _log.debug("not fusing at %s: %s has type %s, the fused node gives "
                           "%s", root, old, old.type, fresh.type)
                return None
            fresh.name = old.name
            fresh.tag.site = old.tag.site
        try:
            fgraph.replace_all_validate(list(zip(olds, new.outputs, strict=True)),
                                        reason=self.name)
        except (InconsistencyError, TypeError) as err:
            _log.debug("not fusing at %s: %s", root, err)
            return None
        return new


def _inputs_and_extra(fgraph: FunctionGraph, members: set[Apply], root: Apply,
                      position: dict[Apply, int]
                      ) -> tuple[list[Variable], list[Variable]]:
    """What ``members`` read from outside (in the order they first read it)
    and their results other than the root's that are read outside (in
    execution order)."""
    clients = fgraph.clients
    inputs: dict[Variable, None] = {}
    extra: list[Variable] = []
    for m in sorted(members, key=position.__getitem__):
        for v in m.inputs:
            if not _embeddable(v) and (v.owner is None or v.owner not in members):
                inputs.setdefault(v, None)
        if m is not root:
            extra += [o for o in m.outputs if any(
                n == "output" or n not in members for n, _ in clients.get(o, ()))]
    return list(inputs), extra


def _outputs_ok(fgraph: FunctionGraph, members: set[Apply], root: Apply,
                inputs: Sequence[Variable], outputs: Sequence[Variable],
                fresh: Sequence[Variable], position: dict[Apply, int],
                prover: _ShapeProver) -> bool:
    """Whether ``members`` fused may return ``outputs`` (the root's last
    ones; ``fresh`` among them not checked before): no output waits for an
    input it does not need, each fresh one has the root's shape, and none
    is read by a reduction only (fusing its node there stores nothing)."""
    for o in fresh:
        if not isinstance(o.type, TensorType) or _read_by_a_reduction_only(fgraph, o):
            return False
    needs = _needs(members, inputs, position)
    waited = sum(1 << k for k, v in enumerate(inputs) if not _free(v))
    if any(needs[o] & waited != waited for o in outputs):
        return False
    root_out = root.outputs[0]
    return all(prover.same_shape(o, root_out, needs[o], needs[root_out], inputs)
               for o in fresh)


local_elemwise_fusion = register_rewrite(
    ElemwiseFusion(), "fusion", "fast_run", "elemwise_fusion",
    "composite_elemwise_fusion", name="local_elemwise_fusion",
)


# -- gradients of fused nodes (rarely needed: fusion runs after grad) ------------


def expand_composite(op: Elemwise, inputs: Sequence[Variable]) -> list[Variable]:
    """The outputs of ``op`` (an ``Elemwise(Composite)``) as separate nodes."""
    comp = op.scalar_op
    if not isinstance(comp, Composite):
        raise TypeError(f"expand_composite: {op} does not hold a Composite")
    from symarray.tensor.basic import constant

    regs: list[Variable] = list(inputs)
    regs += [constant(v) for _, v in comp.constants]
    for step in comp.steps:
        out = Elemwise(step.op)(*[regs[a] for a in step.args])
        if out.dtype != step.dtype:
            out = cast(out, step.dtype)
        regs.append(out)
    return [regs[o] for o in comp.outputs]


def composite_L_op(  # noqa: N802 - Theano's name
    op: Elemwise, inputs: list[Variable], outputs: list[Variable],
    output_grads: list[Variable],
) -> list[Any]:
    """Input gradients of a fused node, through its expanded program."""
    from symarray.gradient import grad

    expanded = expand_composite(op, inputs)
    known = {e: g for e, g in zip(expanded, output_grads, strict=True)
             if g is not None and isinstance(g.type, TensorType)}
    if not known:
        from symarray.tensor.alloc import zeros_like

        return [zeros_like(i) for i in inputs]
    return list(grad(None, list(inputs), known_grads=known,
                     disconnected_inputs="ignore"))


def composite_R_op(  # noqa: N802 - Theano's name
    op: Elemwise, inputs: list[Variable], eval_points: list[Any],
) -> list[Any]:
    """Output tangents of a fused node, through its expanded program."""
    from symarray.gradient import Rop

    wrt = [i for i, e in zip(inputs, eval_points, strict=True) if e is not None]
    if not wrt:
        return [None] * op.scalar_op.nout  # type: ignore[attr-defined]
    points = [e for e in eval_points if e is not None]
    return list(Rop(expand_composite(op, inputs), wrt, points))
