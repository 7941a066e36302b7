"""The graph IR: Type, Variable, Constant, Apply and Op.

A computation is a bipartite DAG.  A :class:`Variable` is a typed value that
is either a graph input (``owner is None``) or the ``index``-th output of an
:class:`Apply` node; an ``Apply`` records that an :class:`Op` maps some input
variables to some output variables.  Ops are immutable descriptions: their
``__props__`` define equality and hashing, so two nodes with equal ops and
equal inputs compute the same thing (the merge rewrite and kernel caches rely
on this).

Key decisions:

* Variables hash by identity; Constants additionally carry a ``signature()``
  (type plus data) used to merge equal constants.
* Each Variable records the user's file and line that created it (a cheap
  frame walk that skips symarray's own frames), so run-time errors can point
  at the user's code.  ``config.record_creation_site`` turns this off.
* ``Variable.eval`` compiles through a hook that :mod:`symarray.compile`
  installs, so this package imports nothing above it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any, ClassVar

from symarray import config
from symarray.errors import SymarrayError

__all__ = [
    "Type",
    "Variable",
    "Constant",
    "Apply",
    "Op",
    "CreationSite",
    "creation_site",
    "NoTestValueError",
]

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

#: tag entries that belong to one variable and must not follow it into clones
_PRIVATE_TAG_KEYS = frozenset({"eval_cache"})


def _copy_tag(tag: SimpleNamespace) -> SimpleNamespace:
    """A shallow copy of ``tag`` without per-variable caches."""
    return SimpleNamespace(
        **{k: v for k, v in vars(tag).items() if k not in _PRIVATE_TAG_KEYS}
    )


class NoTestValueError(SymarrayError, AttributeError):
    """A test value was requested for a variable that has none."""


class CreationSite(tuple):
    """``(filename, lineno, function)`` of the user code that built a variable."""

    __slots__ = ()

    def __str__(self) -> str:
        return f'File "{self[0]}", line {self[1]}, in {self[2]}'


def creation_site() -> CreationSite | None:
    """Return the first frame outside symarray's own source tree."""
    if not config.record_creation_site:
        return None
    frame = sys._getframe(1)
    prefix = _PACKAGE_DIR
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(prefix):
            return CreationSite((filename, frame.f_lineno, frame.f_code.co_name))
        frame = frame.f_back  # type: ignore[assignment]
    return None


class Type:
    """The set of values a Variable may hold, and how to check/convert them."""

    variable_type: ClassVar[type[Variable]]
    constant_type: ClassVar[type[Constant]]

    def filter(
        self, data: Any, strict: bool = False, allow_downcast: bool | None = None
    ) -> Any:
        """Return ``data`` converted to a valid value of this type, or raise."""
        raise NotImplementedError

    def is_valid_value(self, data: Any) -> bool:
        try:
            self.filter(data, strict=True)
            return True
        except (TypeError, ValueError):
            return False

    def values_eq(self, a: Any, b: Any) -> bool:
        return bool(a == b)

    def values_eq_approx(self, a: Any, b: Any) -> bool:
        return self.values_eq(a, b)

    def make_variable(self, name: str | None = None) -> Variable:
        return self.variable_type(self, None, None, name)

    def make_constant(self, data: Any, name: str | None = None) -> Constant:
        return self.constant_type(self, data, name)

    def __call__(self, name: str | None = None) -> Variable:
        return self.make_variable(name)

    def convert_variable(self, var: Variable) -> Variable | None:
        """Return ``var`` viewed as this type if that is legal, else None."""
        if var.type == self:
            return var
        return None

    def is_super(self, other: Type) -> bool:
        """True when every value of ``other`` is a value of ``self``."""
        return self == other


class Variable:
    """A typed value in the graph: a graph input or an output of an Apply."""

    __slots__ = ("type", "owner", "index", "name", "tag", "auto_name")
    _next_id: ClassVar[int] = 0

    def __init__(
        self,
        type: Type,
        owner: Apply | None = None,
        index: int | None = None,
        name: str | None = None,
    ) -> None:
        self.type = type
        self.owner = owner
        self.index = index
        self.name = name
        self.tag = SimpleNamespace(site=creation_site())
        Variable._next_id += 1
        self.auto_name = f"auto_{Variable._next_id}"

    # -- introspection -------------------------------------------------
    @property
    def site(self) -> CreationSite | None:
        """Where the user created this variable (or its node)."""
        return self.tag.site

    def __str__(self) -> str:
        if self.name is not None:
            return self.name
        if self.owner is not None:
            op = self.owner.op
            if self.owner.nout == 1:
                return f"{op}.0" if self.index else f"{op}.out"
            return f"{op}.{self.index}"
        return f"<{self.type}>"

    def __repr__(self) -> str:
        return str(self)

    def get_parents(self) -> list[Apply]:
        return [self.owner] if self.owner is not None else []

    def clone(self, name: str | None = None) -> Variable:
        """A new input variable of the same type (owner is not copied)."""
        cp = type(self).__new__(type(self))
        cp.type = self.type
        cp.owner = None
        cp.index = None
        cp.name = name or self.name
        cp.tag = _copy_tag(self.tag)  # keeps the creation site
        Variable._next_id += 1
        cp.auto_name = f"auto_{Variable._next_id}"
        return cp

    # -- test values ---------------------------------------------------
    def get_test_value(self) -> Any:
        if not hasattr(self.tag, "test_value"):
            raise NoTestValueError(
                f"{self} has no test value; set it with "
                "`var.tag.test_value = value` or turn compute_test_value off"
            )
        return self.tag.test_value

    # -- evaluation ----------------------------------------------------
    def eval(self, inputs_to_values: dict[Variable, Any] | None = None) -> Any:
        """Compile and evaluate this variable given values for its inputs.

        Examples
        --------
        >>> import symarray.tensor as T
        >>> x = T.dscalar("x")
        >>> float((x + 1).eval({x: 2.0}))
        3.0
        """
        if _EVAL_HOOK is None:
            raise SymarrayError(
                "Variable.eval needs symarray.compile; `import symarray` first"
            )
        return _EVAL_HOOK(self, inputs_to_values or {})


_EVAL_HOOK: Callable[[Variable, dict[Variable, Any]], Any] | None = None


def set_eval_hook(hook: Callable[[Variable, dict[Variable, Any]], Any]) -> None:
    """Install the compiler used by :meth:`Variable.eval` (done by compile)."""
    global _EVAL_HOOK
    _EVAL_HOOK = hook


class Constant(Variable):
    """A Variable with a fixed value; equal constants are merged."""

    __slots__ = ("data", "_signature")

    def __init__(self, type: Type, data: Any, name: str | None = None) -> None:
        super().__init__(type, None, None, name)
        self.data = type.filter(data)
        self._signature: Any = None

    def signature(self) -> Any:
        """A hashable key: equal signatures mean interchangeable constants."""
        if self._signature is None:
            self._signature = (self.type, _data_key(self.data))
        return self._signature

    def __str__(self) -> str:
        if self.name is not None:
            return self.name
        text = str(self.data)
        return text if len(text) <= 20 else text[:17] + "..."

    def clone(self, name: str | None = None) -> Constant:
        cp = type(self)(self.type, self.data, name or self.name)
        cp.tag = _copy_tag(self.tag)
        return cp


def _data_key(data: Any) -> Any:
    tobytes = getattr(data, "tobytes", None)
    if tobytes is not None:
        return (str(getattr(data, "dtype", "")), getattr(data, "shape", ()), tobytes())
    return data


class Apply:
    """One application of an Op to input variables, producing outputs."""

    __slots__ = ("op", "inputs", "outputs", "tag")

    def __init__(
        self, op: Op, inputs: Sequence[Variable], outputs: Sequence[Variable]
    ) -> None:
        self.op = op
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.tag = SimpleNamespace()
        for i, inp in enumerate(self.inputs):
            if not isinstance(inp, Variable):
                raise TypeError(
                    f"{op}: input {i} must be a Variable, got {type(inp).__name__}"
                )
        for i, out in enumerate(self.outputs):
            if out.owner is not None and (out.owner is not self or out.index != i):
                raise ValueError(f"{op}: output {i} already belongs to another node")
            out.owner = self
            out.index = i

    @property
    def nin(self) -> int:
        return len(self.inputs)

    @property
    def nout(self) -> int:
        return len(self.outputs)

    @property
    def out(self) -> Variable:
        """The default output (for single-output ops, the output)."""
        idx = self.op.default_output
        if idx is None:
            if self.nout != 1:
                raise AttributeError(f"{self.op} has {self.nout} outputs, no default")
            idx = 0
        return self.outputs[idx]

    @property
    def default_output(self) -> Variable:
        return self.out

    def __str__(self) -> str:
        args = ", ".join(str(i) for i in self.inputs)
        return f"{self.op}({args})"

    def __repr__(self) -> str:
        return str(self)

    def get_parents(self) -> list[Variable]:
        return list(self.inputs)

    def clone(self) -> Apply:
        """A node with the same inputs and fresh outputs."""
        node = Apply(self.op, self.inputs, [o.clone() for o in self.outputs])
        node.tag = _copy_tag(self.tag)
        return node

    def clone_with_new_inputs(
        self, inputs: Sequence[Variable], strict: bool = True
    ) -> Apply:
        """Copy this node onto ``inputs``; types must match unless not strict.

        When not strict and a type differs, the op's ``make_node`` is asked to
        build a node for the new inputs (the output types may change).
        """
        if len(inputs) != self.nin:
            raise ValueError(
                f"{self.op}: clone_with_new_inputs got {len(inputs)} inputs, "
                f"expected {self.nin}"
            )
        same = all(a.type == b.type for a, b in zip(inputs, self.inputs, strict=False))
        if same or strict:
            if not same:
                pairs = zip(inputs, self.inputs, strict=True)
                inputs = [
                    _strict_input(self, k, new, old)
                    for k, (new, old) in enumerate(pairs)
                ]
            node = self.clone()
            node.inputs = list(inputs)
            return node
        node = self.op.make_node(*inputs)
        node.tag = _copy_tag(self.tag)
        for new, old in zip(node.outputs, self.outputs, strict=False):
            new.tag.site = old.tag.site
        return node


def _strict_input(node: Apply, k: int, new: Variable, old: Variable) -> Variable:
    """``new`` as input ``k`` of a strict clone of ``node`` (types must agree).

    A variable whose type is more specific than the old input's (a static
    length where the old type has none) is accepted: the node's output types
    stay valid.
    """
    if new.type == old.type:
        return new
    converted = old.type.convert_variable(new)
    if converted is None:
        raise TypeError(
            f"{node.op}: cannot replace input {k} of type {old.type} by {new} of "
            f"type {new.type} (strict clone: the output types must not change); "
            "cast or reshape the replacement, or rebuild non-strictly"
        )
    return converted


class Op:
    """An operation: builds Apply nodes and says how to compute them.

    Subclasses define ``make_node`` (type checking), ``perform`` (the NumPy
    reference), ``infer_shape``, ``grad``/``L_op`` and ``R_op``.  ``__props__``
    names the attributes that define equality and hashing.
    """

    __props__: ClassVar[tuple[str, ...]] = ()
    #: output index -> input indices the output may be a view of
    view_map: dict[int, list[int]] = {}
    #: output index -> input indices the op overwrites
    destroy_map: dict[int, list[int]] = {}
    #: which output ``op(x)`` returns when the op has several (None: all)
    default_output: int | None = None

    def _props(self) -> tuple[Any, ...]:
        return tuple(getattr(self, p) for p in self.__props__)

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if type(self) is not type(other):
            return False
        return self._props() == other._props()

    def __hash__(self) -> int:
        # ops are immutable, so the hash is computed once (merging and kernel
        # caches hash every node's op many times)
        try:
            return self.__dict__["_cached_hash"]
        except KeyError:
            h = self.__dict__["_cached_hash"] = hash((type(self), self._props()))
            return h

    def __getstate__(self) -> dict[str, Any]:
        # hashes of types differ between processes: never pickle the cache
        state = dict(self.__dict__)
        state.pop("_cached_hash", None)
        return state

    def __str__(self) -> str:
        if not self.__props__:
            return type(self).__name__
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in self.__props__)
        return f"{type(self).__name__}{{{args}}}"

    def __repr__(self) -> str:
        return str(self)

    # -- graph building ------------------------------------------------
    def make_node(self, *inputs: Any) -> Apply:
        raise NotImplementedError(f"{type(self).__name__} must define make_node")

    def __call__(self, *inputs: Any, **kwargs: Any) -> Any:
        node = self.make_node(*inputs, **kwargs)
        if config.compute_test_value != "off":
            _compute_test_value(node)
        if self.default_output is not None:
            return node.outputs[self.default_output]
        if len(node.outputs) == 1:
            return node.outputs[0]
        return node.outputs

    # -- semantics -----------------------------------------------------
    def perform(
        self, node: Apply, inputs: Sequence[Any], output_storage: list[list[Any]]
    ) -> None:
        """Compute the outputs with NumPy: ``output_storage[i][0] = value``."""
        raise NotImplementedError(f"{type(self).__name__} has no perform")

    def infer_shape(
        self, fgraph: Any, node: Apply, input_shapes: list[tuple[Any, ...]]
    ) -> list[tuple[Any, ...]]:
        """Symbolic output shapes from the inputs' symbolic shapes."""
        raise NotImplementedError(f"{type(self).__name__} has no infer_shape")

    def grad(self, inputs: list[Variable], output_grads: list[Variable]) -> list[Any]:
        raise NotImplementedError(f"{type(self).__name__} has no gradient")

    def L_op(  # noqa: N802 - Theano's name
        self,
        inputs: list[Variable],
        outputs: list[Variable],
        output_grads: list[Variable],
    ) -> list[Any]:
        return self.grad(inputs, output_grads)

    def R_op(  # noqa: N802 - Theano's name
        self, inputs: list[Variable], eval_points: list[Any]
    ) -> list[Any]:
        raise NotImplementedError(f"{type(self).__name__} has no R_op")

    def do_constant_folding(self, fgraph: Any, node: Apply) -> bool:
        return True


def _compute_test_value(node: Apply) -> None:
    """Run ``perform`` on the inputs' test values (config.compute_test_value)."""
    mode = config.compute_test_value
    try:
        values = [
            i.data if isinstance(i, Constant) else i.get_test_value()
            for i in node.inputs
        ]
    except NoTestValueError:
        if mode == "raise":
            raise
        if mode == "warn":
            import warnings

            warnings.warn(f"{node.op}: an input has no test value", stacklevel=3)
        return
    storage: list[list[Any]] = [[None] for _ in node.outputs]
    node.op.perform(node, values, storage)
    for out, cell in zip(node.outputs, storage, strict=False):
        out.tag.test_value = cell[0]
