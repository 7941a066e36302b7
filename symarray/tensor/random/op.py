"""The random op: ``(rng, size, *params) -> (new rng, draws)``.

:class:`RandomVariable` is the base class of every distribution drawn from
a NumPy generator (:mod:`symarray.tensor.random.basic` holds them).  Its
first input is the generator state (a variable of a
:class:`~symarray.tensor.random.type.RandomType`, usually a shared
variable), its second the ``size`` (an int64 vector of known length), then
the distribution's parameters.  Its outputs are the state after the draws
and the draws, of shape ``size + support``: ``support`` is what one draw
adds (``(k,)`` for a multinomial over ``k`` outcomes, ``()`` for most).

Key decisions:

* **Pure by default.**  ``perform`` draws from a copy of the state, so the
  op is a function of its inputs: the same state gives the same draws
  (merging two identical nodes is then correct, and DebugMode can run
  ``perform`` twice).  In a compiled function whose state is a shared
  variable updated by the draws (its ``default_update``), the in-place
  rewrite (:mod:`symarray.tensor.random.rewriting`) switches to the
  ``inplace`` variant, which draws from the state itself (``destroy_map``
  ``{0: [0]}``): no copy of a 2.5 KB Mersenne-Twister state per call.
* **Never folded.**  ``do_constant_folding`` is False: a random op whose
  inputs are constants still draws at run time.
* **Sizes** are checked where the graph is built: entries must be
  integers, their number known (a tuple, or a vector of known length, or
  ``ndim=``), constant entries non-negative, and parameters must not have
  more batch dimensions than ``size``.
* **Gradients** (as in Theano's ``raw_random``): none through the state or
  the size, and *undefined* for the parameters: ``grad`` of a cost that
  depends on a parameter through the draws raises, naming the fix
  (``avg + std * normal(0, 1)`` is differentiable in ``avg`` and ``std``;
  MRG streams build uniform and normal that way).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from symarray import config
from symarray.errors import DtypeError, RankError, ShapeMismatchError
from symarray.graph.basic import Apply, Constant, Op, Variable
from symarray.tensor.alloc import broadcast_dims
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.random.type import RandomType, copy_state
from symarray.tensor.shape_ops import (
    Entry,
    MakeVector,
    shape_entries,
    static_int,
    vector_entries,
)
from symarray.tensor.type import TensorType, dtype_of, tensor_type

__all__ = ["RandomVariable", "normalize_size", "default_float_dtype", "check_dtype",
           "static_size"]


def default_float_dtype(*params: Any) -> str:
    """``floatX`` upcast with the dtypes of the parameters that are arrays or
    variables (Python numbers do not widen it), as Theano does."""
    dtypes = [str(config.floatX)]
    for p in params:
        dt = getattr(p, "dtype", None)
        if isinstance(p, (Variable, np.ndarray)) and dt is not None and (
                np.dtype(dt).kind == "f"):
            dtypes.append(str(dt))
    return str(np.result_type(*dtypes))


def check_dtype(where: str, dtype: Any, kinds: str, default: str) -> str:
    """``dtype`` normalised (``default`` when None); its kind must be in
    ``kinds`` (``"f"`` floats, ``"iu"`` integers...)."""
    if dtype is None:
        return default
    name = dtype_of(dtype)
    if np.dtype(name).kind not in kinds:
        wanted = {"f": "a float dtype", "iu": "an integer dtype",
                  "iuf": "an integer or float dtype",
                  "biuf": "a bool, integer or float dtype"}.get(kinds, kinds)
        raise DtypeError(
            f"{where}: dtype must be {wanted}, got {name}; e.g. dtype='{default}'"
        )
    return name


def normalize_size(where: str, size: Any, ndim: int | None,
                   batch_params: Sequence[Any] = ()) -> list[Entry]:
    """The entries of a user's ``size`` argument (ints where static).

    ``size`` is a tuple/list of ints and 0-d integer variables, an int, a
    1-d integer variable (``x.shape``), or None: then the broadcast shape of
    ``batch_params`` (the parameters' batch parts).  ``ndim`` supplies the
    length of a vector whose length is not known when the graph is built,
    and must agree with the length otherwise.
    """
    if ndim is not None and (not isinstance(ndim, (int, np.integer)) or ndim < 0):
        raise TypeError(f"{where}: ndim must be a non-negative int or None, got "
                        f"{ndim!r}")
    if size is None:
        entries = broadcast_dims([as_tensor_variable(p) for p in batch_params])
    elif isinstance(size, Variable) and as_tensor_variable(size).ndim == 1:
        v = as_tensor_variable(size)
        if np.dtype(v.dtype).kind not in "iu":
            raise DtypeError(f"{where}: size must hold integers, got {v} of type "
                             f"{v.type}; cast it with .astype('int64')")
        known = v.type.shape[0]
        if known is None and not isinstance(v, Constant) and not (
                v.owner is not None and isinstance(v.owner.op, MakeVector)):
            if ndim is None and not _is_shape(v):
                raise ShapeMismatchError(
                    f"{where}: the length of size={v} is not known when the graph is "
                    "built; pass ndim=<its length>, a tuple of scalars, or "
                    "specify_shape it"
                )
        entries = vector_entries(v, n=ndim if known is None else None,
                                 what=f"{where}: size")
    else:
        try:
            entries = shape_entries(size, f"{where}: size")
        except (TypeError, DtypeError, RankError) as err:
            raise type(err)(
                f"{err}; size must be a tuple of ints or 0-d integer variables, "
                "or an integer vector such as x.shape"
            ) from None
    if ndim is not None and ndim != len(entries):
        raise RankError(
            f"{where}: ndim={ndim} but size {_fmt(entries)} has "
            f"{_entries(len(entries))}; drop ndim or make them agree"
        )
    negative = [e for e in entries if isinstance(e, int) and e < 0]
    if negative:
        raise ShapeMismatchError(
            f"{where}: size {_fmt(entries)} has a negative entry; sizes are "
            "lengths >= 0"
        )
    return entries


def _is_shape(v: Variable) -> bool:
    from symarray.tensor.shape_ops import Shape

    return v.owner is not None and isinstance(v.owner.op, Shape)


def _entries(n: int) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"


def _fmt(entries: Sequence[Entry]) -> str:
    return "(" + ", ".join(str(e) if isinstance(e, int) else "?" for e in entries) + (
        ",)" if len(entries) == 1 else ")")


def static_size(size: Variable) -> list[int | None]:
    """The lengths of a size vector that are known when the graph is built."""
    if isinstance(size, Constant):
        return [int(e) for e in np.asarray(size.data).reshape(-1)]
    owner = size.owner
    if owner is not None and isinstance(owner.op, MakeVector):
        return [static_int(i) for i in owner.inputs]
    n = tensor_type(size).shape[0]
    if n is None:
        raise ShapeMismatchError(f"the length of size={size} is not known when the "
                                 "graph is built; pass ndim= or a tuple")
    return [None] * n


class RandomVariable(Op):
    """Draws of one distribution from a NumPy generator (pure, or in place).

    Subclasses give ``name``, ``param_names``, ``params_ndim`` (the rank of
    each parameter for one draw), ``ndim_supp``, :meth:`draw` and, when
    ``ndim_supp > 0``, :meth:`support_shape`.
    """

    __props__: ClassVar[tuple[str, ...]] = ("dtype", "inplace")
    name: ClassVar[str] = "random"
    param_names: tuple[str, ...] = ()
    params_ndim: tuple[int, ...] = ()
    ndim_supp: ClassVar[int] = 0
    #: dtype kinds the output may have
    dtype_kinds: ClassVar[str] = "biuf"

    def __init__(self, dtype: Any, inplace: bool = False) -> None:
        self.dtype = dtype_of(dtype)
        self.inplace = bool(inplace)
        self.destroy_map = {0: [0]} if self.inplace else {}

    def __str__(self) -> str:
        suffix = "{inplace}" if self.inplace else ""
        return f"{type(self).__name__}{{{self.dtype}}}{suffix}"

    # -- graph building --------------------------------------------------------
    def make_node(self, rng: Any, size: Any, *params: Any) -> Apply:
        name = self.name
        if not isinstance(rng, Variable) or not isinstance(rng.type, RandomType):
            got = rng.type if isinstance(rng, Variable) else type(rng).__name__
            raise TypeError(
                f"{name}: the first input must be a random generator variable, got "
                f"{got}; use shared(np.random.RandomState(seed)) or RandomStreams"
            )
        size = as_tensor_variable(size)
        if size.ndim != 1 or np.dtype(size.dtype).kind not in "iu":
            raise DtypeError(f"{name}: size must be an integer vector, got {size} of "
                             f"type {size.type}")
        if size.type.shape[0] is None and not isinstance(size, Constant):
            raise ShapeMismatchError(
                f"{name}: the length of size={size} must be known when the graph is "
                "built; build it with normalize_size(..., ndim=)"
            )
        if len(params) != len(self.param_names):
            raise TypeError(
                f"{name}: expected {len(self.param_names)} parameters "
                f"({', '.join(self.param_names)}), got {len(params)}"
            )
        ps = [as_tensor_variable(p) for p in params]
        lengths = static_size(size)
        for pname, p, rank in zip(self.param_names, ps, self.params_ndim, strict=True):
            if p.ndim < rank:
                raise RankError(f"{name}: {pname} must have at least {rank} "
                                f"dimensions, got {p} of type {p.type}")
            if p.ndim - rank > len(lengths):
                raise RankError(
                    f"{name}: {pname} has {p.ndim - rank} batch dimensions (type "
                    f"{p.type}) but size has {_entries(len(lengths))}; each parameter "
                    "must broadcast to size: give a longer size, or size=None to "
                    "take the parameters' shape"
                )
        support = self.static_support(ps)
        out = TensorType(self.dtype, shape=lengths + support).make_variable()
        return Apply(self, [rng, size, *ps], [rng.type.make_variable(), out])

    def static_support(self, params: Sequence[Variable]) -> list[int | None]:
        """Static lengths of one draw's dimensions (``ndim_supp`` of them)."""
        return []

    def support_shape(self, params: Sequence[Any]) -> list[Entry]:
        """Symbolic lengths of one draw's dimensions."""
        return []

    # -- running ---------------------------------------------------------------
    def draw(self, rng: Any, size: tuple[int, ...], *params: Any) -> Any:
        """The draws: NumPy's ``rng.<method>(*params, size=size)``."""
        raise NotImplementedError(f"{type(self).__name__} must define draw")

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        rng, size, *params = inputs
        if not self.inplace:
            rng = copy_state(rng)
        shape = tuple(int(s) for s in size)
        if any(s < 0 for s in shape):
            raise ShapeMismatchError(
                f"{self.name}: size {shape} has a negative entry; sizes are lengths "
                ">= 0")
        try:
            draws = self.draw(rng, shape, *params)
        except ValueError as err:
            shapes = ", ".join(f"{n} of shape {np.shape(p)}"
                               for n, p in zip(self.param_names, params, strict=True))
            raise ValueError(
                f"{self.name}: cannot draw size {shape} with {shapes}: {err}; each "
                "parameter must broadcast to size and be in the distribution's domain"
            ) from None
        out = np.asarray(draws, dtype=self.dtype)
        output_storage[0][0] = rng
        output_storage[1][0] = out

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[Any]) -> list[Any]:
        size = node.inputs[1]
        n = len(static_size(size))
        entries = vector_entries(size, n=n) if n else []
        return [None, tuple(entries) + tuple(self.support_shape(node.inputs[2:]))]

    def do_constant_folding(self, fgraph: Any, node: Apply) -> bool:
        return False

    # -- gradients -------------------------------------------------------------
    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        from symarray.gradient import grad_undefined

        grads: list[Any] = [None, None]
        for k, p in enumerate(inputs[2:], 2):
            if np.dtype(p.dtype).kind in "fc":
                grads.append(grad_undefined(
                    self, k, p,
                    f"No gradient is defined through random draws ({self.name}'s "
                    f"{self.param_names[k - 2]}); to differentiate with respect to "
                    "a distribution's parameters reparameterise: avg + std * "
                    "srng.normal(size) or low + (high - low) * srng.uniform(size), "
                    "or use MRG_RandomStreams, whose uniform and normal are built "
                    "that way"))
            else:
                grads.append(None)
        return grads

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        if any(p is not None for p in eval_points[2:]):
            from symarray.gradient import NullTypeGradError

            raise NullTypeGradError(
                f"Rop: {self.name} draws have no derivative with respect to their "
                "parameters; reparameterise (avg + std * normal(0, 1))"
            )
        return [None, None]
