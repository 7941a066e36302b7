"""One pass over ``X`` for a linear model's gradient step.

``local_gemv_stream_rows`` (phase ``fusion``, after elementwise and
reduction fusion, before ``inplace``; tags ``fast_run``, ``blas_stream``)::

    gemv(y0, alpha, X.T, f(X @ w, ...), beta)
        -> StreamGemv(f)(X, w, ..., y0, alpha, beta)

where ``f`` is elementwise.  The two products of the step (``X @ w`` and
``X.T @ g``) each stream all of ``X``; row ``i`` of the second needs only
``g[i]``, which needs only ``z[i] = X[i] @ w``, so
:class:`~symarray.tensor.blas_stream.StreamGemv` does both in one pass
over blocks of rows (its C kernel: :mod:`symarray.kernels_c.blas_stream`).
``Dot(X, w)``'s other readers read the new node's ``z``, and the other
readers of ``f``'s value (``sum(g)``, a bias gradient) its ``g``.

How ``f`` is found: from the ``Gemv``'s vector, walk up through
``Elemwise`` nodes (single ops or fused composites, several outputs
included) to the one product of ``X``, the matrix the ``Gemv`` reads
transposed: ``Dot(X, w)``, or ``Gemv(t, a, X, w, b)`` (least squares'
``X @ w - y`` becomes one), whose ``b * t + a * z`` then opens ``f``.  A
value *depends* on the product when its value does: a ``SumToShape``
reads only its template's shape, an output of a multi-output composite
only the inputs its program reads.  Everything the walk reaches that does
not depend on the product is an input of ``f``: a vector with one entry
per row of ``X`` (checked at run time), a 0-d or length-1 (broadcast)
value, or a one-element constant (embedded in ``f``).  Such an input whose
graph still reads the product (a ``SumToShape`` template, a sibling output
of a fused node) is rebuilt without it (a stand-in of the template's
shape from the shape feature; the output as a node of its own), or the
new node would read its own output.  The path's values become one
:class:`~symarray.scalar.composite.Composite`; path nodes that other nodes
read stay as they are (duplicated work on n-vectors, not on ``X``).

It does not apply when:

* a value on the path reads ``z`` through anything but elementwise ops (a
  reduction over ``z``: softmax, mean-centering), or the path reads two
  different products ``X @ w1`` and ``X @ w2``;
* the ``Gemv``'s matrix is not the transpose of the product's ``X``;
* any of ``X``, ``w``, ``y0``, ``alpha``, ``beta``, the product and the
  result is not float32/float64 of one dtype, or ``X`` is not a matrix
  and ``w`` not a vector;
* the C kernel cannot run ``f`` (an op without a C loop, complex values)
  or the compiled kernels are not built: the separate nodes are then at
  least as fast as ``StreamGemv.perform``.

Exclude it with ``mode.excluding('local_gemv_stream_rows')``.
"""

from __future__ import annotations

from typing import Any

from symarray.graph.basic import Apply, Constant, Variable
from symarray.graph.rewriting import REWRITES, node_rewriter, register_rewrite
from symarray.scalar import get_scalar_op
from symarray.scalar.composite import Composite, CompositeBuilder
from symarray.tensor.blas import Dot
from symarray.tensor.blas_ops import Gemv
from symarray.tensor.blas_stream import FLOAT_DTYPES, StreamGemv
from symarray.tensor.elemwise import DimShuffle, Elemwise
from symarray.tensor.elemwise_grad import SumToShape
from symarray.tensor.rewriting import fuse_reduce
from symarray.tensor.type import TensorType, tensor_type

__all__ = ["local_gemv_stream_rows", "MAX_F_INPUTS"]

#: most inputs of ``f`` besides ``z`` (the kernel's limit is 63)
MAX_F_INPUTS = 32


class _DeclinedError(Exception):
    """The rewrite does not apply."""


def _transposed(a: Variable) -> Variable | None:
    """``X`` when ``a`` is ``X.T`` for a matrix ``X``, else None."""
    node = a.owner
    if node is None or not isinstance(node.op, DimShuffle):
        return None
    if node.op.new_order != (1, 0):
        return None
    return node.inputs[0]


_USED: dict[tuple[Composite, int], tuple[int, ...]] = {}


def _used_inputs(node: Apply, o: int) -> tuple[int, ...]:
    """The inputs output ``o`` of an ``Elemwise`` node reads: all of them,
    or for a composite with several outputs those its program reads."""
    sop = getattr(node.op, "scalar_op", None)
    if not isinstance(sop, Composite) or sop.nout == 1:
        return tuple(range(len(node.inputs)))
    key = (sop, o)
    used = _USED.get(key)
    if used is None:
        nin, base = sop.nin, sop.nin + len(sop.constants)
        seen, stack = set(), [sop.outputs[o]]
        while stack:
            r = stack.pop()
            if r in seen:
                continue
            seen.add(r)
            if r >= base:
                stack.extend(sop.steps[r - base].args)
        used = _USED[key] = tuple(sorted(r for r in seen if r < nin))
    return used


def _value_reads(v: Variable) -> list[Variable]:
    """The inputs whose values ``v`` reads: not ``SumToShape``'s template
    (only its shape), only the used inputs of a multi-output composite."""
    node = v.owner
    assert node is not None
    if isinstance(node.op, SumToShape):
        return node.inputs[:1]
    if isinstance(node.op, Elemwise) and len(node.outputs) > 1:
        used = _used_inputs(node, node.outputs.index(v))
        return [node.inputs[i] for i in used]
    return node.inputs


def _depends(var: Any, target: Variable, memo: dict[Any, bool],
             values_only: bool) -> bool:
    """Whether ``var`` (a variable or a shape entry) reads ``target``; with
    ``values_only``, whether its value does (see :func:`_value_reads`)."""
    if not isinstance(var, Variable):
        return False
    stack: list[tuple[Variable, bool]] = [(var, False)]
    while stack:
        v, expanded = stack.pop()
        if v in memo:
            continue
        if v is target:
            memo[v] = True
            continue
        if v.owner is None:
            memo[v] = False
            continue
        reads = _value_reads(v) if values_only else v.owner.inputs
        if expanded:
            memo[v] = any(memo[i] for i in reads)
        else:
            stack.append((v, True))
            stack.extend((i, False) for i in reads if i not in memo)
    return memo[var]


def _embeddable(var: Variable) -> bool:
    """A one-element constant: embedded in ``f``, not an input."""
    return isinstance(var, Constant) and getattr(var.data, "size", 2) == 1


def _on_path(var: Variable) -> bool:
    """Can the walk pass through the node that made ``var``?"""
    node = var.owner
    if node is None:
        return False
    if isinstance(node.op, Elemwise):
        return all(isinstance(o.type, TensorType) and o.type.ndim == 1
                   for o in node.outputs)
    return isinstance(node.op, SumToShape) and tensor_type(var).ndim == 1


def _product_of(u: Variable, X: Variable) -> Variable | None:  # noqa: N803
    """``w`` when ``u`` is ``Dot(X, w)`` or ``Gemv(t, a, X, w, b)`` for a
    vector ``w`` (the product ``X @ w``, maybe scaled and shifted)."""
    node = u.owner
    if node is None:
        return None
    if isinstance(node.op, Dot) and node.inputs[0] is X:
        w = node.inputs[1]
    elif isinstance(node.op, Gemv) and node.inputs[2] is X:
        w = node.inputs[3]
    else:
        return None
    return w if tensor_type(w).ndim == 1 else None


def _find_product(v: Variable, X: Variable) -> Variable:  # noqa: N803
    """The one product of ``X`` (see :func:`_product_of`) that the
    elementwise region above ``v`` reads."""
    found: dict[Variable, None] = {}
    seen: set[Variable] = set()
    stack = [v]
    while stack:
        u = stack.pop()
        if u in seen:
            continue
        seen.add(u)
        if _product_of(u, X) is not None:
            found[u] = None
        elif _on_path(u):
            stack.extend(_value_reads(u))
    if len(found) != 1:
        raise _DeclinedError("no product of X, or several")
    return next(iter(found))


def _inline(bld: CompositeBuilder, node: Apply, args: list[Any]) -> list[Any]:
    """The output registers of ``node`` (Elemwise) applied to ``args``;
    ``None`` args (inputs no needed output reads) become dummy constants."""
    args = [bld.constant(0, tensor_type(i).dtype) if a is None else a
            for a, i in zip(args, node.inputs, strict=True)]
    assert isinstance(node.op, Elemwise)
    sop = node.op.scalar_op
    if isinstance(sop, Composite):
        return bld.inline(sop, args)
    return [bld.apply(sop, args, tensor_type(node.outputs[0]).dtype)]


class _PathBuilder:
    """Collects the path from the product ``p`` (``X @ w``, or a ``Gemv``
    of it) to the gemv's vector, and builds ``f``.

    A variable *depends* on ``p`` when its value does (a ``SumToShape``
    reads only its template's shape; an output of a multi-output composite
    only the inputs its program reads).  One that does not is an input of
    ``f``, *detached* first: rebuilt so that its graph does not read ``p``
    even for a shape (:meth:`detach`), else the new node would read its
    own output.
    """

    def __init__(self, fgraph: Any, p: Variable, n_static: int | None) -> None:
        self.fgraph = fgraph
        self.p = p
        self.n_static = n_static
        self.values: dict[Any, bool] = {}
        self.reads: dict[Any, bool] = {}
        self.detached: dict[Variable, Variable] = {}
        self.needed: dict[Apply, set[int]] = {}     # path node -> outputs read
        self.leaves: dict[Variable, None] = {}      # inputs of f (detached)
        self.leaf_of: dict[Variable, Variable] = {}  # read by the path -> leaf

    def depends(self, var: Any) -> bool:
        """Does the value of ``var`` read ``p``?"""
        return _depends(var, self.p, self.values, True)

    def reads_p(self, var: Any) -> bool:
        """Does ``var``'s graph read ``p`` at all (a shape included)?"""
        return _depends(var, self.p, self.reads, False)

    # -- inputs of f --------------------------------------------------------

    def detach(self, var: Variable) -> Variable:
        """``var`` (whose value does not depend on ``p``) as a graph that does
        not read ``p``: ``SumToShape`` templates that do become stand-ins of
        their shape (the shape feature's lengths), and an output of a
        multi-output composite a node of its own."""
        if not self.reads_p(var):
            return var
        if var in self.detached:
            return self.detached[var]
        node = var.owner
        if node is None or self.depends(var) or getattr(node.op, "destroy_map", None):
            raise _DeclinedError(f"{var} reads the product")
        if isinstance(node.op, SumToShape):
            new = self._sum_to_shape(node)
        elif isinstance(node.op, Elemwise) and len(node.outputs) > 1:
            new = self._one_output(node, node.outputs.index(var))
        else:
            rebuilt = node.clone_with_new_inputs(
                [self.detach(i) for i in node.inputs], strict=False)
            new = rebuilt.outputs[node.outputs.index(var)]
        if not (new.type == var.type or var.type.is_super(new.type)):
            raise _DeclinedError(f"{var} detached has type {new.type}")
        self.detached[var] = new
        return new

    def _sum_to_shape(self, node: Apply) -> Variable:
        """``SumToShape(g, t)`` on ``g`` detached, with a stand-in of ``t``'s
        shape when ``t`` reads the product."""
        from symarray.tensor.rewriting.shape import get_shape_feature
        from symarray.tensor.rewriting.sum_to_shape import shape_stand_in

        g, t = node.inputs
        new_g = self.detach(g)
        if self.reads_p(t):
            entries = get_shape_feature(self.fgraph).shape_of(t)
            if any(self.reads_p(e) for e in entries):
                raise _DeclinedError(f"the shape of {t} is known only from the "
                                     "product")
            with_stand_in = shape_stand_in(node, entries)
            if with_stand_in is None:
                raise _DeclinedError(f"no stand-in for {node}")
            assert with_stand_in.owner is not None
            t = with_stand_in.owner.inputs[1]
        assert isinstance(node.op, SumToShape)
        return SumToShape(node.op.axes)(new_g, t)

    def _one_output(self, node: Apply, o: int) -> Variable:
        """Output ``o`` of a multi-output composite node as a node of its own
        that does not read the inputs that read ``p`` (inputs it does not
        use, and only when they cannot change the broadcast shape)."""
        used = set(_used_inputs(node, o))
        keep = [i for i, x in enumerate(node.inputs)
                if i in used or not self.reads_p(x)]
        for i, x in enumerate(node.inputs):
            if i not in keep and any(s != 1 for s in tensor_type(x).shape):
                raise _DeclinedError(f"{x} may set the shape of {node.outputs[o]}")
        bld = CompositeBuilder([tensor_type(node.inputs[i]).dtype for i in keep])
        args: list[Any] = [None] * len(node.inputs)
        for i, r in zip(keep, bld.inputs, strict=True):
            args[i] = r
        comp = bld.build([_inline(bld, node, args)[o]])
        return Elemwise(comp)(*[self.detach(node.inputs[i]) for i in keep])

    def _leaf(self, u: Variable) -> None:
        if u in self.leaf_of or _embeddable(u):
            return
        t = u.type
        if not isinstance(t, TensorType) or t.ndim > 1:
            raise _DeclinedError(f"input {u} of f is not a vector or a scalar")
        if (t.ndim == 1 and t.shape[0] not in (None, 1) and self.n_static is not None
                and t.shape[0] != self.n_static):
            raise _DeclinedError(f"input {u} of f has {t.shape[0]} entries, X "
                                 f"has {self.n_static} rows")
        leaf = self.detach(u)
        self.leaf_of[u] = leaf
        self.leaves[leaf] = None
        if len(self.leaves) > MAX_F_INPUTS:
            raise _DeclinedError("too many inputs of f")

    # -- the path -------------------------------------------------------------

    def collect(self, v: Variable) -> None:
        """Walk from ``v``: the path's nodes and the outputs of each that the
        path reads (:attr:`needed`), the inputs of ``f`` (:attr:`leaves`)."""
        seen: set[Variable] = set()
        stack = [v]
        while stack:
            u = stack.pop()
            if u in seen or u is self.p:
                continue
            seen.add(u)
            if not self.depends(u):
                self._leaf(u)
                continue
            node = u.owner
            if node is None or not _on_path(u) or not isinstance(node.op, Elemwise):
                raise _DeclinedError(f"{node} reads the product but is not "
                                     "elementwise")
            self.needed.setdefault(node, set()).add(node.outputs.index(u))
            stack.extend(_value_reads(u))
        product = self.p.owner
        assert product is not None
        if isinstance(product.op, Gemv):  # p = b * t + a * z: t, a, b are inputs
            t, a, _, _, b = product.inputs
            for x in (t, a, b):
                self._leaf(x)

    def _order(self) -> list[Apply]:
        """The path's nodes, each after the path nodes it reads."""
        order: list[Apply] = []
        placed: set[Apply] = set()
        for root in self.needed:
            stack: list[tuple[Apply, bool]] = [(root, False)]
            while stack:
                node, expanded = stack.pop()
                if node in placed:
                    continue
                if expanded:
                    placed.add(node)
                    order.append(node)
                    continue
                stack.append((node, True))
                for o in self.needed[node]:
                    for i in _used_inputs(node, o):
                        owner = node.inputs[i].owner
                        if owner in self.needed and owner not in placed:
                            stack.append((owner, False))
        return order

    def build(self, v: Variable) -> tuple[Composite, list[Variable]]:
        """``f`` (inputs: ``z = X @ w``, then the leaves) computing ``v``, and
        the leaves."""
        leaves = list(self.leaves)
        dtypes = [tensor_type(self.p).dtype] + [tensor_type(u).dtype for u in leaves]
        bld = CompositeBuilder(dtypes)
        reg: dict[Variable, Any] = dict(zip(leaves, bld.inputs[1:], strict=True))
        for u, leaf in self.leaf_of.items():
            reg[u] = reg[leaf]

        def read(u: Variable) -> Any:
            r = reg.get(u)
            if r is None:  # an embedded constant
                assert isinstance(u, Constant)
                data: Any = u.data
                r = reg[u] = bld.constant(data.reshape(()), str(data.dtype))
            return r

        z = bld.inputs[0]
        product = self.p.owner
        assert product is not None
        if isinstance(product.op, Gemv):
            t, a, _, _, b = product.inputs
            dtype = tensor_type(self.p).dtype
            mul, add = get_scalar_op("mul"), get_scalar_op("add")
            z = bld.apply(add, [bld.apply(mul, [read(b), read(t)], dtype),
                                bld.apply(mul, [read(a), z], dtype)], dtype)
        reg[self.p] = z
        for node in self._order():
            used = {i for o in self.needed[node] for i in _used_inputs(node, o)}
            args = [read(x) if i in used else None for i, x in enumerate(node.inputs)]
            for o, r in zip(node.outputs, _inline(bld, node, args), strict=True):
                reg[o] = r
        return bld.build([read(v)]), leaves


def _product_value(p: Variable, z: Variable) -> Variable:
    """``p`` computed from the new ``z = X @ w``: ``z`` itself for a ``Dot``,
    ``b * t + a * z`` (one fused node) for ``Gemv(t, a, X, w, b)``."""
    node = p.owner
    assert node is not None
    if isinstance(node.op, Dot):
        return z
    t, a, _, _, b = node.inputs
    dtype = tensor_type(p).dtype
    bld = CompositeBuilder([dtype] + [tensor_type(x).dtype for x in (t, a, b)])
    zr, tr, ar, br = bld.inputs
    mul, add = get_scalar_op("mul"), get_scalar_op("add")
    out = bld.apply(add, [bld.apply(mul, [br, tr], dtype),
                          bld.apply(mul, [ar, zr], dtype)], dtype)
    return Elemwise(bld.build([out]))(z, t, a, b)


def _kernel_runs(op: StreamGemv, dtype: str) -> bool:
    """Whether the C kernel can run ``op`` (the compiled kernels are built
    and ``f`` is a block-interpreter program)."""
    try:
        from symarray.kernels_c.blas_stream import stream_program
    except ImportError:
        return False
    return stream_program(op, dtype) is not None


@node_rewriter([Gemv])
def local_gemv_stream_rows(fgraph: Any, node: Apply) -> dict[Variable, Variable] | None:
    """gemv(y0, a, X.T, f(X @ w), b) -> one pass over X (StreamGemv)."""
    y0, alpha, a, v, beta = node.inputs
    out = node.outputs[0]
    dtype = getattr(out.type, "dtype", None)
    if dtype not in FLOAT_DTYPES or any(
            getattr(x.type, "dtype", None) != dtype for x in node.inputs):
        return None
    X = _transposed(a)  # noqa: N806
    if X is None or tensor_type(X).ndim != 2:
        return None
    try:
        p = _find_product(v, X)
        w = _product_of(p, X)
        assert w is not None
        if tensor_type(w).dtype != dtype or tensor_type(p).dtype != dtype:
            return None
        path = _PathBuilder(fgraph, p, tensor_type(X).shape[0])
        if not path.depends(v) or any(path.reads_p(x) for x in (y0, alpha, beta)):
            return None
        path.collect(v)
        f, leaves = path.build(v)
    except _DeclinedError:
        return None
    op = StreamGemv(f)
    if not _kernel_runs(op, dtype):
        return None
    new_z, new_y, new_g = op(X, w, *leaves, y0, alpha, beta)
    new_p = _product_value(p, new_z)
    new_p.name, new_y.name, new_g.name = p.name, out.name, v.name
    replacements = {p: new_p, out: new_y}
    if v.type == new_g.type or v.type.is_super(new_g.type):
        replacements[v] = new_g  # its other readers (the bias gradient)
    return replacements


register_rewrite(
    local_gemv_stream_rows, "fusion", "fast_run", "blas_stream",
    name="local_gemv_stream_rows",
    position=REWRITES[fuse_reduce.local_reduce_elemwise_fusion.name].position + 0.25,
)
