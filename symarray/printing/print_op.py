"""``Print``: an identity op that prints its input's value when it runs.

``Print("x")(x)`` returns a variable equal to ``x`` (a view of it); each
time a compiled function computes it, ``x __str__ = [1. 2. 3.]`` goes to
standard output.  Gradients and tangents pass through unchanged.

Key decisions:

* The op never constant-folds (folding would print once, while compiling,
  and never again) and nothing rewrites it away.
* Ops compare by ``(message, attrs, global_fn)``: two prints of the same
  variable with the same message are merged like any equal nodes (one line
  per run, as in Theano); prints with different messages stay apart.
* Its thunk is the Python ``perform`` under every linker (no C kernel is
  registered): printing is a Python call anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from symarray.graph.basic import Apply, Op, Variable

__all__ = ["Print"]


def _print_fn(op: Print, value: Any) -> None:
    """Theano's default ``global_fn``: one line per attribute."""
    for attr in op.attrs:
        try:
            got = getattr(value, attr)
        except AttributeError:
            raise AttributeError(
                f"Print({op.message!r}): the value ({type(value).__name__}) has no "
                f"attribute {attr!r}; attrs names attributes of the run-time value, "
                "e.g. ('shape', '__str__')") from None
        print(op.message, attr, "=", got() if callable(got) else got)


class Print(Op):
    """Print a value when it is computed; return it unchanged.

    Parameters
    ----------
    message
        Text printed before each attribute.
    attrs
        Names of attributes of the run-time value to print (callables are
        called): ``("__str__",)`` prints the value, ``("shape",)`` its shape.
    global_fn
        Called as ``global_fn(op, value)`` instead of the default printing.

    Examples
    --------
    >>> import symarray as theano, symarray.tensor as T
    >>> x = T.dvector("x")
    >>> f = theano.function([x], Print("x is", attrs=("__str__", "shape"))(x) * 2)
    >>> f([1.0, 2.0])
    x is __str__ = [1. 2.]
    x is shape = (2,)
    array([2., 4.])
    """

    __props__ = ("message", "attrs", "global_fn")
    view_map = {0: [0]}

    def __init__(self, message: str = "", attrs: Sequence[str] = ("__str__",),
                 global_fn: Callable[[Print, Any], Any] | None = None) -> None:
        if not isinstance(message, str):
            raise TypeError(f"Print: message must be a str, got "
                            f"{type(message).__name__}")
        if isinstance(attrs, str):
            raise TypeError(f"Print: attrs must be a sequence of attribute names, "
                            f"got the string {attrs!r}; write attrs=({attrs!r},)")
        attrs = tuple(attrs)
        bad = [a for a in attrs if not isinstance(a, str)]
        if bad or not attrs:
            raise TypeError(f"Print: attrs must be a non-empty sequence of attribute "
                            f"names (str), got {attrs!r}")
        if global_fn is not None and not callable(global_fn):
            raise TypeError(f"Print: global_fn must be callable (op, value), got "
                            f"{type(global_fn).__name__}")
        self.message = message
        self.attrs = attrs
        self.global_fn = global_fn

    def __str__(self) -> str:
        return f"Print{{{self.message}}}"

    def make_node(self, x: Any) -> Apply:
        if not isinstance(x, Variable):
            from symarray.tensor import as_tensor_variable

            x = as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        value = inputs[0]
        output_storage[0][0] = value
        (self.global_fn or _print_fn)(self, value)

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [tuple(input_shapes[0])]

    def L_op(self, inputs: list[Variable], outputs: list[Variable],  # noqa: N802
             output_grads: list[Variable]) -> list[Any]:
        return list(output_grads)

    def R_op(self, inputs: list[Variable],  # noqa: N802 - Theano's name
             eval_points: list[Any]) -> list[Any]:
        return list(eval_points)

    def do_constant_folding(self, fgraph: Any, node: Apply) -> bool:
        return False
