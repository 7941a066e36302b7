"""``pp``: a graph as one line of math, ``((x + y) * exp(z))``.

Each variable becomes an expression with a precedence (Python's operator
precedence); an operand is parenthesised only where Python would need it,
and the outermost binary operation is wrapped as Theano's ``pp`` does.
Fused ``Composite`` nodes are expanded back into the scalar operations
they compute, the broadcasting ``DimShuffle`` an elementwise op puts on a
lower-rank input (``x + 1`` adds one) is left out, and ops without a rule
print as ``op(args)``.

:class:`PPrinter` is the extensible printer behind :func:`pp`:
``pprint.assign(condition, printer)`` adds a rule ahead of the built-in
ones.  Expressions are built bottom-up over a topological order, so deep
graphs print without recursion; a long subexpression that is read several
times is printed once, as ``<A> = ...`` below the expression, so a graph
that reuses values cannot blow the text up exponentially.
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from symarray.graph.basic import Apply, Constant, Op, Variable
from symarray.graph.traversal import io_toposort
from symarray.printing._graph import char_from_number, graph_view, short_value
from symarray.printing.inner import composite_of, is_ifelse

__all__ = ["PPrinter", "pprint", "pp"]

# Python's precedence levels (higher binds tighter)
CMP, OR, XOR, AND, ADD, MUL, UNARY, POW, POSTFIX, ATOM = 1, 2, 3, 4, 6, 7, 8, 9, 10, 11

#: scalar op name -> (infix symbol, precedence)
BINARY: dict[str, tuple[str, int]] = {
    "add": ("+", ADD), "sub": ("-", ADD), "mul": ("*", MUL), "true_div": ("/", MUL),
    "int_div": ("//", MUL), "mod": ("%", MUL), "pow": ("**", POW),
    "lt": ("<", CMP), "gt": (">", CMP), "le": ("<=", CMP), "ge": (">=", CMP),
    "eq": ("==", CMP), "neq": ("!=", CMP), "and_": ("&", AND), "or_": ("|", OR),
    "xor": ("^", XOR),
}
#: scalar op name -> prefix symbol
UNARY_OPS: dict[str, str] = {"neg": "-", "invert": "~"}

Expr = tuple[str, int]


def _wrap(e: Expr, need: int) -> str:
    """``e``'s text, parenthesised when it binds looser than ``need``."""
    return f"({e[0]})" if e[1] < need else e[0]


def _binary(name: str, left: Expr, right: Expr) -> Expr:
    sym, prec = BINARY[name]
    if prec == POW:  # right-associative
        lt, rt = _wrap(left, POW + 1), _wrap(right, POW)
    elif prec == CMP:  # a < b < c would chain: parenthesise both sides
        lt, rt = _wrap(left, CMP + 1), _wrap(right, CMP + 1)
    else:  # left-associative; x - (y - z) keeps its parentheses
        lt, rt = _wrap(left, prec), _wrap(right, prec + 1)
    return f"{lt} {sym} {rt}", prec


def _call(name: str, args: list[Expr], *extra: str) -> Expr:
    return f"{name}({', '.join([a[0] for a in args] + list(extra))})", ATOM


def scalar_expr(op: Any, args: list[Expr]) -> Expr:
    """The expression of one scalar op (a table row or a cast) on ``args``."""
    name = str(getattr(op, "name", op))
    if name in BINARY and len(args) == 2:
        return _binary(name, args[0], args[1])
    if name in UNARY_OPS and len(args) == 1:
        return f"{UNARY_OPS[name]}{_wrap(args[0], POSTFIX)}", UNARY
    dtype = getattr(op, "dtype", None)
    if name.startswith("cast_") and dtype is not None:
        return _call("cast", args, repr(str(dtype)))
    return _call(name, args)


def constant_expr(data: Any) -> Expr:
    """``2.0``, ``-1``, ``[1. 2.]`` or ``full((2, 3), 0.0)``."""
    arr = np.asarray(data)
    if arr.ndim > 0 and arr.size > 1 and arr.dtype.kind in "biufc" and bool(
            np.all(arr == arr.flat[0])):
        return f"full({arr.shape}, {arr.flat[0].item()!r})", ATOM
    text = short_value(data)
    return text, UNARY if text.startswith("-") else ATOM


def is_broadcast(var: Variable) -> bool:
    """True for ``DimShuffle{x,...,x,0,1,..}(v)``: leading broadcastable
    dimensions, what an elementwise op adds to a lower-rank input."""
    from symarray.tensor.elemwise import DimShuffle

    node = var.owner
    if node is None or not isinstance(node.op, DimShuffle):
        return False
    order, n = node.op.new_order, node.op.input_ndim
    lead = len(order) - n
    return lead > 0 and tuple(order[lead:]) == tuple(range(n)) and all(
        d == "x" for d in order[:lead])


def _composite_expr(comp: Any, args: list[Expr], index: int) -> Expr:
    regs = list(args[: len(comp.input_dtypes)])
    regs += [constant_expr(v) for _, v in comp.constants]
    for step in comp.steps:
        regs.append(scalar_expr(step.op, [regs[a] for a in step.args]))
    return regs[comp.outputs[index]]


def _axis_kw(axis: Any, ndim: int) -> list[str]:
    """``["axis=1"]``, ``["axis=(0, 2)"]``, or ``[]`` for all axes."""
    if axis is None or len(axis) == ndim:
        return []
    if len(axis) == 1:
        return [f"axis={axis[0]}"]
    return [f"axis={tuple(axis)}"]


def _ndim(var: Variable) -> int:
    return int(getattr(var.type, "ndim", 0))


def _index_text(idx_list: Any, args: list[Expr]) -> str:
    from symarray.tensor.subtensor import Idx, IndexSlice

    it = iter(args)

    def part(p: Any) -> str:
        if p is None:
            return ""
        return next(it)[0] if isinstance(p, Idx) else str(p)

    words = []
    for e in idx_list:
        if e is None:
            words.append("None")
        elif e is Ellipsis:
            words.append("...")
        elif isinstance(e, Idx):
            words.append(next(it)[0])
        elif isinstance(e, IndexSlice):
            text = f"{part(e.start)}:{part(e.stop)}"
            words.append(text if e.step is None else f"{text}:{part(e.step)}")
        else:
            words.append(str(e))
    return ", ".join(words)


def _tensor_expr(node: Apply, var: Variable, args: list[Expr]) -> Expr | None:
    """The built-in rules for tensor ops; None when no rule applies."""
    import symarray.tensor.blas as blas
    import symarray.tensor.elemwise as elemwise
    import symarray.tensor.reduction as reduction
    import symarray.tensor.shape_ops as shape_ops
    import symarray.tensor.subtensor as subtensor
    import symarray.tensor.subtensor_advanced as adv
    import symarray.tensor.subtensor_inc as inc
    from symarray.tensor.join import Join
    from symarray.tensor.reduction_fused import ReduceElemwise

    op: Any = node.op
    if isinstance(op, elemwise.Elemwise):
        comp = composite_of(node)
        if comp is not None:
            return _composite_expr(comp, args, var.index or 0)
        return scalar_expr(op.scalar_op, args)
    if isinstance(op, elemwise.DimShuffle):
        order, n = op.new_order, op.input_ndim
        if op.is_transpose and op.kept == tuple(reversed(range(n))):
            return f"{_wrap(args[0], POSTFIX)}.T", POSTFIX
        pattern = ", ".join(repr(d) for d in order)
        return f"{_wrap(args[0], POSTFIX)}.dimshuffle({pattern})", POSTFIX
    if isinstance(op, ReduceElemwise):
        ndim = max(_ndim(i) for i in node.inputs)
        inner = composite_of(node)
        elem = (_composite_expr(inner, args, 0) if inner is not None
                else scalar_expr(op.scalar_op, args))
        return _call(op.reduce_op.name, [elem], *_axis_kw(op.reduce_op.axis, ndim))
    if isinstance(op, (reduction.CAReduce, reduction.ArgReduce)):
        return _call(op.name, args[:1], *_axis_kw(op.axis, _ndim(node.inputs[0])))
    if isinstance(op, (subtensor.Subtensor, adv.AdvancedSubtensor)):
        key = _index_text(op.idx_list, args[1:])
        return f"{_wrap(args[0], POSTFIX)}[{key}]", POSTFIX
    if isinstance(op, adv.AdvancedSubtensor1):
        return f"{_wrap(args[0], POSTFIX)}[{args[1][0]}]", POSTFIX
    if isinstance(op, (inc.IncSubtensor, inc.AdvancedIncSubtensor,
                       inc.AdvancedIncSubtensor1)):
        verb = "set_subtensor" if op.set_instead_of_inc else "inc_subtensor"
        key = (args[2][0] if isinstance(op, inc.AdvancedIncSubtensor1)
               else _index_text(op.idx_list, args[2:]))
        return f"{verb}({_wrap(args[0], POSTFIX)}[{key}], {args[1][0]})", ATOM
    if isinstance(op, shape_ops.Shape):
        return f"{_wrap(args[0], POSTFIX)}.shape", POSTFIX
    if isinstance(op, shape_ops.Shape_i):
        return f"{_wrap(args[0], POSTFIX)}.shape[{op.i}]", POSTFIX
    if isinstance(op, shape_ops.Reshape):
        return f"{_wrap(args[0], POSTFIX)}.reshape({args[1][0]})", POSTFIX
    if isinstance(op, blas.Matmul):
        return _binary_sym("@", MUL, args)
    if isinstance(op, blas.Dot):
        return _call("dot", args)
    if isinstance(op, blas.BatchedDot):
        return _call("batched_dot", args)
    if isinstance(op, blas.TensorDot):
        return _call("tensordot", args, f"axes={op.axes!r}")
    if isinstance(op, Join):
        items = ", ".join(a[0] for a in args)
        return f"concatenate([{items}], axis={op.axis})", ATOM
    return None


def _binary_sym(sym: str, prec: int, args: list[Expr]) -> Expr:
    return f"{_wrap(args[0], prec)} {sym} {_wrap(args[1], prec + 1)}", prec


def _ifelse_expr(node: Apply, var: Variable, args: list[Expr]) -> Expr:
    n = int(getattr(node.op, "n_outs"))  # noqa: B009 - an IfElse
    if n == 1:
        return _call("ifelse", args)
    thens = ", ".join(a[0] for a in args[1:1 + n])
    elses = ", ".join(a[0] for a in args[1 + n:])
    return f"ifelse({args[0][0]}, ({thens}), ({elses}))[{var.index}]", POSTFIX


class _PState:
    """What a Theano-style printer's ``process(var, pstate)`` is given."""

    def __init__(self, pprinter: PPrinter, memo: dict[Variable, Expr]) -> None:
        self.pprinter = pprinter
        self.memo = memo

    def clone(self, **kwargs: Any) -> _PState:
        for k, v in kwargs.items():
            setattr(self, k, v)
        return self


Condition = Op | type | Callable[..., Any]


class PPrinter:
    """An infix pretty printer with user rules (Theano's ``PPrinter``).

    ``assign(condition, printer)`` adds a rule tried before the built-in
    ones (later rules first).  ``condition`` is an Op (nodes whose op
    equals it), an Op class (its instances) or a function of the variable
    (Theano's ``(pstate, var)`` functions work too).  ``printer`` is a
    function ``(var, pstate) -> str`` or an object with Theano's
    ``process(var, pstate)``; it can print an input with
    ``pstate.pprinter.process(input, pstate)``.  A printer's text is used
    as an atom (never parenthesised).

    Examples
    --------
    >>> import symarray.tensor as T
    >>> from symarray.tensor.blas import Dot
    >>> x, W = T.dmatrices("x", "W")
    >>> printer = PPrinter()
    >>> printer.assign(Dot, lambda var, pstate: "{} \\\\dot {}".format(
    ...     *(pstate.pprinter.process(i, pstate) for i in var.owner.inputs)))
    >>> printer.process(T.dot(x, W) + 1)
    '(x \\\\dot W + 1.0)'
    """

    #: a subexpression read more than once and longer than this is printed
    #: once, as ``<A> = ...`` on a line of its own, and referred to as ``<A>``
    share_limit = 200

    def __init__(self) -> None:
        self.printers: list[tuple[Condition, Any]] = []
        self._memo: dict[Variable, Expr] | None = None

    def assign(self, condition: Condition, printer: Any) -> None:
        """Add a rule (see the class docstring)."""
        if not (isinstance(condition, (Op, type)) or callable(condition)):
            raise TypeError(f"PPrinter.assign: condition must be an Op, an Op class "
                            f"or a function, got {type(condition).__name__}")
        if not (callable(printer) or callable(getattr(printer, "process", None))):
            raise TypeError(f"PPrinter.assign: printer must be a function "
                            f"(var, pstate) -> str or have a process(var, pstate) "
                            f"method, got {type(printer).__name__}")
        self.printers.insert(0, (condition, printer))

    def clone(self) -> PPrinter:
        """A printer with the same rules (assign to it without changing this one)."""
        new = PPrinter()
        new.printers = list(self.printers)
        new.share_limit = self.share_limit
        return new

    # -- rules ----------------------------------------------------------------------
    @staticmethod
    def _matches(condition: Condition, var: Variable) -> bool:
        if isinstance(condition, Op):
            return var.owner is not None and var.owner.op == condition
        if isinstance(condition, type):
            return var.owner is not None and isinstance(var.owner.op, condition)
        try:
            n_params = len(inspect.signature(condition).parameters)
        except (TypeError, ValueError):
            n_params = 1
        return bool(condition(None, var) if n_params >= 2 else condition(var))

    def _user_rule(self, var: Variable, memo: dict[Variable, Expr]) -> str | None:
        for condition, printer in self.printers:
            if self._matches(condition, var):
                pstate = _PState(self, memo)
                if callable(getattr(printer, "process", None)):
                    return str(printer.process(var, pstate))
                return str(printer(var, pstate))
        return None

    def _leaf(self, var: Variable) -> Expr:
        if var.name is not None:
            return var.name, ATOM
        if isinstance(var, Constant):
            return constant_expr(var.data)
        return str(var), ATOM

    def _broadcast_leaf(self, var: Variable, memo: dict[Variable, Expr]) -> Expr:
        """An elementwise input: a one-element constant reads as its scalar."""
        if isinstance(var, Constant) and var.name is None and np.size(var.data) == 1:
            return constant_expr(np.asarray(var.data).reshape(()))
        return memo[var] if var in memo else self._leaf(var)

    def _expr(self, var: Variable, memo: dict[Variable, Expr]) -> Expr:
        if self.printers:
            got = self._user_rule(var, memo)
            if got is not None:
                return got, ATOM
        node = var.owner
        if node is None:
            return self._leaf(var)
        inputs = node.inputs
        if hasattr(node.op, "scalar_op"):  # elementwise: broadcasting is implicit
            inputs = [i.owner.inputs[0] if i.owner is not None and is_broadcast(i)
                      else i for i in inputs]
            args = [self._broadcast_leaf(i, memo) for i in inputs]
        else:
            args = [memo[i] if i in memo else self._leaf(i) for i in inputs]
        if is_ifelse(node):
            return _ifelse_expr(node, var, args)
        rule = _tensor_expr(node, var, args)
        if rule is not None:
            return rule
        text, prec = _call(str(node.op), args)
        if node.nout > 1:
            return f"{text}[{var.index}]", POSTFIX
        return text, prec

    def _exprs(self, outputs: list[Variable],
               defs: list[tuple[str, str]] | None = None) -> dict[Variable, Expr]:
        """Every variable's expression, bottom-up.  With ``defs``, a
        subexpression read more than once whose text is longer than
        :attr:`share_limit` is printed once, as a definition appended to
        ``defs``, and referred to by its tag (``<A>``) elsewhere: a graph
        that reuses values stays linear in size instead of doubling."""
        memo: dict[Variable, Expr] = {}
        order = io_toposort([], outputs)
        uses = Counter(i for node in order for i in node.inputs)
        for node in order:
            for i in node.inputs:
                if i.owner is None and i not in memo:
                    memo[i] = self._expr(i, memo)
            for out in node.outputs:
                e = self._expr(out, memo)
                if (defs is not None and uses[out] > 1
                        and len(e[0]) > self.share_limit):
                    tag = f"<{char_from_number(len(defs))}>"
                    defs.append((tag, e[0]))
                    e = (tag, ATOM)
                memo[out] = e
        for out in outputs:
            if out not in memo:
                memo[out] = self._expr(out, memo)
        return memo

    # -- entry points ---------------------------------------------------------------
    def process(self, var: Variable, pstate: Any = None) -> str:
        """The text of ``var``: inside a rule (``pstate`` given) an input's
        text as it is, at the top level wrapped like Theano's ``pp``."""
        if pstate is not None and isinstance(pstate, _PState):
            memo = pstate.memo
            if var not in memo:
                memo.update(self._exprs([var]))
            return memo[var][0]
        if not isinstance(var, Variable):
            raise TypeError(f"pp: process takes a Variable, got {type(var).__name__}; "
                            "call pp(obj) for lists, graphs and functions")
        defs: list[tuple[str, str]] = []
        text, prec = self._exprs([var], defs)[var]
        if prec < POSTFIX and prec != UNARY:
            text = f"({text})"
        return text + "".join(f"\n  {tag} = {body}" for tag, body in reversed(defs))

    def __call__(self, obj: Any) -> str:
        """The text of each output of ``obj`` (any object debugprint takes),
        one per line."""
        if isinstance(obj, Variable):
            return self.process(obj)
        view = graph_view(obj, "pp")
        return "\n".join(self.process(v) for v in view.outputs)


#: the default printer (Theano's ``theano.printing.pprint``)
pprint = PPrinter()


def pp(obj: Any) -> str:
    """One line of math per output of ``obj`` (Theano's ``theano.pp``).

    ``obj`` is a Variable, a list of them, an Apply, a FunctionGraph or a
    compiled Function (its rewritten outputs; fused nodes are expanded).

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x, y, z = T.dmatrices("x", "y", "z")
    >>> pp((x + y) * T.exp(z))
    '((x + y) * exp(z))'
    >>> pp(T.sum(x[1:3], axis=1) - x.T[0])
    '(sum(x[1:3], axis=1) - x.T[0])'
    """
    return pprint(obj)
