"""Neural-network ops: softmax, log-softmax, crossentropies and activations.

``T.nnet`` holds what Theano's ``theano.tensor.nnet`` offers for building
classifiers.  Three ops are their own :class:`~symarray.graph.basic.Op`
classes because they need a whole axis at once or an integer gather:

* :class:`Softmax` and :class:`LogSoftmax` normalise along one axis.  Both
  subtract the axis maximum before exponentiating, so large inputs
  (``x = 1000``) give finite results; ``log_softmax`` never takes the log of
  a softmax, so tiny probabilities keep their full precision.
* :class:`CrossentropyCategorical1Hot` is ``-log(coding[i, y[i]])`` for a
  matrix of probabilities and an integer vector of class indices; its
  gradient is the op :class:`CrossentropyCategorical1HotGrad`.

The four ops define ``L_op`` and ``R_op`` (their derivatives are short and
standard, written with the same ops); the rest get theirs from the
elementwise ops they are built from.  ``log_softmax``'s gradient uses only
its (finite) output, so it stays finite for huge inputs.

Everything else (``relu``, ``elu``, ``hard_sigmoid``, ``ultra_fast_sigmoid``,
``softsign``, ``binary_crossentropy`` and the probability-matrix form of
``categorical_crossentropy``) is a short composition of elementwise ops and
reductions, written with the same formulas as Theano so results match it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.errors import DtypeError, RankError, ShapeMismatchError
from symarray.graph.basic import Apply, Op
from symarray.scalar.basic import upgrade_to_float
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.math import ELEMWISE_OPS
from symarray.tensor.type import TensorType

__all__ = [
    "Softmax",
    "LogSoftmax",
    "CrossentropyCategorical1Hot",
    "CrossentropyCategorical1HotGrad",
    "sigmoid",
    "softplus",
    "softmax",
    "log_softmax",
    "logsoftmax",
    "categorical_crossentropy",
    "crossentropy_categorical_1hot",
    "crossentropy_categorical_1hot_grad",
    "binary_crossentropy",
    "relu",
    "elu",
    "hard_sigmoid",
    "ultra_fast_sigmoid",
    "softsign",
]

#: the elementwise logistic function, ``1 / (1 + exp(-x))`` (same op as T.sigmoid)
sigmoid = ELEMWISE_OPS["sigmoid"]
#: ``log(1 + exp(x))`` without overflow (same op as T.softplus)
softplus = ELEMWISE_OPS["softplus"]

_abs = ELEMWISE_OPS["abs"]
_log = ELEMWISE_OPS["log"]
_expm1 = ELEMWISE_OPS["expm1"]
_switch = ELEMWISE_OPS["switch"]
_gt = ELEMWISE_OPS["gt"]
_lt = ELEMWISE_OPS["lt"]
_sgn = ELEMWISE_OPS["sgn"]


# -- softmax and log-softmax ------------------------------------------------


def _out_dtype(node: Apply) -> str:
    """The dtype of ``node``'s (tensor) output."""
    return str(node.outputs[0].type.dtype)  # type: ignore[attr-defined]


def _float_input(x: Any, what: str) -> Any:
    """``x`` as a tensor of rank >= 1 with a real dtype (ints -> float)."""
    x = as_tensor_variable(x)
    kind = np.dtype(x.dtype).kind
    if kind == "c":
        raise DtypeError(
            f"{what}: complex inputs are not supported, got {x} of type {x.type}; "
            "take T.real or T.abs first"
        )
    if x.ndim == 0:
        raise RankError(
            f"{what}: needs an input of rank >= 1 to normalise along an axis, got "
            f"the 0-d {x} of type {x.type}; use T.shape_padleft(x) for a vector"
        )
    if kind in "biu":
        from symarray.tensor.elemwise import cast

        x = cast(x, upgrade_to_float(x.dtype))
    return x


def _check_axis(axis: int, ndim: int, what: str) -> int:
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{what}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise RankError(
            f"{what}: axis {axis} is out of range for a {ndim}-d input "
            f"(valid: {-ndim}..{ndim - 1})"
        )
    return int(axis) % ndim


class _AxisNormalizer(Op):
    """Shared part of Softmax and LogSoftmax: one axis, same-shape output."""

    __props__ = ("axis",)

    def __init__(self, axis: int = -1) -> None:
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise TypeError(f"{type(self).__name__}: axis must be an int, got {axis!r}")
        self.axis = int(axis)

    def make_node(self, x: Any) -> Apply:
        what = type(self).__name__
        x = _float_input(x, what)
        _check_axis(self.axis, x.ndim, what)
        out = TensorType(x.dtype, shape=x.type.shape).make_variable()
        return Apply(self, [x], [out])

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [tuple(input_shapes[0])]

    def _shifted(self, node: Apply, x: Any) -> tuple[Any, int]:
        """``x - max(x, axis)`` in the output dtype (a fresh array)."""
        dtype = _out_dtype(node)
        x = np.asarray(x, dtype=dtype)
        axis = self.axis % x.ndim
        if x.size == 0:
            return np.empty(x.shape, dtype=dtype), axis
        with np.errstate(invalid="ignore"):
            shifted = x - np.max(x, axis=axis, keepdims=True)
        return shifted, axis


class Softmax(_AxisNormalizer):
    """``exp(x) / sum(exp(x), axis)``, computed as ``exp(x - max)``.

    Subtracting the maximum along ``axis`` first keeps every exponent <= 0,
    so no input overflows; each slice along ``axis`` sums to 1.
    """

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        e, axis = self._shifted(node, inputs[0])
        if e.size:
            np.exp(e, out=e)
            e /= e.sum(axis=axis, keepdims=True)
        output_storage[0][0] = e

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802 - Theano's name
             output_grads: list[Any]) -> list[Any]:
        # d softmax: sm * (g - sum(g * sm, axis, keepdims))
        from symarray.tensor.reduction import sum as _sum

        (sm,), (g,) = outputs, output_grads
        return [sm * (g - _sum(g * sm, axis=self.axis, keepdims=True))]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        # forward mode: d sm = sm * (dx - sum(sm * dx, axis, keepdims))
        from symarray.tensor.reduction import sum as _sum

        (x,), (dx,) = inputs, eval_points
        if dx is None:
            return [None]
        sm = self(x)
        return [sm * (dx - _sum(sm * dx, axis=self.axis, keepdims=True))]


class LogSoftmax(_AxisNormalizer):
    """``x - logsumexp(x, axis)``, computed from ``x - max``.

    Never takes the log of a softmax, so very small probabilities keep their
    precision (``log_softmax([0, -1000])`` is ``[0, -1000]``, not
    ``[0, -inf]``).
    """

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        shifted, axis = self._shifted(node, inputs[0])
        if shifted.size:
            with np.errstate(divide="ignore", invalid="ignore"):
                lse = np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
            shifted -= lse
        output_storage[0][0] = shifted

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802 - Theano's name
             output_grads: list[Any]) -> list[Any]:
        # d log_softmax: g - softmax * sum(g, axis, keepdims)
        from symarray.tensor.reduction import sum as _sum

        (out,), (g,) = outputs, output_grads
        return [g - ELEMWISE_OPS["exp"](out) * _sum(g, axis=self.axis, keepdims=True)]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        # forward mode: d log_softmax = dx - sum(softmax * dx, axis, keepdims)
        from symarray.tensor.reduction import sum as _sum

        (x,), (dx,) = inputs, eval_points
        if dx is None:
            return [None]
        sm = Softmax(self.axis)(x)
        return [dx - _sum(sm * dx, axis=self.axis, keepdims=True)]


def softmax(x: Any, axis: int = -1) -> Any:
    """Softmax along ``axis``: ``exp(x) / exp(x).sum(axis, keepdims=True)``.

    Numerically stable (the maximum along ``axis`` is subtracted first).
    Integer inputs are computed in floating point.

    Parameters
    ----------
    x : tensor-like
        Input of rank >= 1.
    axis : int
        The axis to normalise along (default: the last one).

    Returns
    -------
    TensorVariable
        Same shape as ``x``; every slice along ``axis`` sums to 1.

    Examples
    --------
    >>> import numpy as np
    >>> import symarray.tensor as T
    >>> x = T.dmatrix("x")
    >>> T.nnet.softmax(x).eval({x: np.array([[0.0, 0.0], [1000.0, 1000.0]])})
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    x = _float_input(x, "softmax")
    return Softmax(_check_axis(axis, x.ndim, "softmax"))(x)


def log_softmax(x: Any, axis: int = -1) -> Any:
    """Log of the softmax along ``axis``, computed stably.

    Parameters
    ----------
    x : tensor-like
        Input of rank >= 1.
    axis : int
        The axis to normalise along (default: the last one).

    Returns
    -------
    TensorVariable
        ``x - log(sum(exp(x), axis))``, same shape as ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> import symarray.tensor as T
    >>> x = T.dvector("x")
    >>> T.nnet.log_softmax(x).eval({x: np.array([0.0, -1000.0])})
    array([    0., -1000.])
    """
    x = _float_input(x, "log_softmax")
    return LogSoftmax(_check_axis(axis, x.ndim, "log_softmax"))(x)


#: Theano's older spelling of :func:`log_softmax`
logsoftmax = log_softmax


# -- crossentropies ------------------------------------------------------------


class CrossentropyCategorical1Hot(Op):
    """``-log(coding_dist[i, true_one_of_n[i]])`` for every row ``i``.

    Inputs: a float matrix of class probabilities (one row per example) and
    an integer vector of class indices, one per row.  Output: a vector of
    per-example losses, in the matrix's dtype.
    """

    __props__ = ()

    def make_node(self, coding_dist: Any, true_one_of_n: Any) -> Apply:
        coding = as_tensor_variable(coding_dist)
        labels = as_tensor_variable(true_one_of_n)
        what = "crossentropy_categorical_1hot"
        if coding.ndim != 2:
            raise RankError(
                f"{what}: coding_dist must be a matrix (one row of class "
                f"probabilities per example), got {coding} of type {coding.type}"
            )
        if np.dtype(coding.dtype).kind != "f":
            raise DtypeError(
                f"{what}: coding_dist must be float32 or float64, got "
                f"{coding.dtype}; cast it (x.astype(config.floatX))"
            )
        if labels.ndim != 1:
            raise RankError(
                f"{what}: true_one_of_n must be a vector of class indices, got "
                f"{labels} of type {labels.type}; for one-hot or probability "
                "targets pass a matrix to categorical_crossentropy"
            )
        if np.dtype(labels.dtype).kind not in "iu":
            raise DtypeError(
                f"{what}: true_one_of_n must hold integer class indices, got "
                f"{labels.dtype}; cast it (y.astype('int64'))"
            )
        rows, n = coding.type.shape[0], labels.type.shape[0]
        if rows is not None and n is not None and rows != n:
            raise ShapeMismatchError(
                f"{what}: coding_dist has {rows} rows but true_one_of_n has {n} "
                "entries; give one class index per row"
            )
        length = rows if rows is not None else n
        out = TensorType(coding.dtype, shape=(length,)).make_variable()
        return Apply(self, [coding, labels], [out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        coding, labels = (np.asarray(v) for v in inputs)
        what = "crossentropy_categorical_1hot"
        if coding.shape[0] != labels.shape[0]:
            raise ShapeMismatchError(
                f"{what}: coding_dist has {coding.shape[0]} rows but true_one_of_n "
                f"has {labels.shape[0]} entries; give one class index per row"
            )
        n_classes = coding.shape[1]
        if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
            bad = labels[(labels < 0) | (labels >= n_classes)][0]
            raise IndexError(
                f"{what}: class index {bad} is out of range for coding_dist with "
                f"{n_classes} columns (valid: 0..{n_classes - 1})"
            )
        picked = coding[np.arange(labels.shape[0]), labels]
        with np.errstate(divide="ignore", invalid="ignore"):
            out = -np.log(picked)
        output_storage[0][0] = np.asarray(out, dtype=_out_dtype(node))

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [(input_shapes[0][0],)]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802 - Theano's name
             output_grads: list[Any]) -> list[Any]:
        # integer class indices have no gradient (None: a zero, like Theano)
        coding, labels = inputs
        return [crossentropy_categorical_1hot_grad(output_grads[0], coding, labels),
                None]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        # d out[i] = -d coding[i, y[i]] / coding[i, y[i]] = sum_j A[i, j] d coding[i, j]
        # with A = the gradient op applied to ones (-1/coding at the labels, else 0)
        from symarray.tensor.reduction import sum as _sum

        (coding, labels), d_coding = inputs, eval_points[0]
        if d_coding is None:
            return [None]
        a = _label_mask(coding, labels)
        return [_sum(a * d_coding, axis=1)]


def _label_mask(coding: Any, labels: Any) -> Any:
    """``A[i, j] = -1 / coding[i, y[i]]`` where ``j == y[i]``, else 0."""
    from symarray.tensor.alloc import ones

    n = coding.shape[0]
    return crossentropy_categorical_1hot_grad(ones((n,), dtype=coding.dtype), coding,
                                              labels)


class CrossentropyCategorical1HotGrad(Op):
    """Gradient of :class:`CrossentropyCategorical1Hot` wrt ``coding_dist``.

    ``out[i, y[i]] = -g[i] / coding[i, y[i]]``; every other entry is 0.
    Inputs: ``g`` (vector), ``coding_dist`` (matrix), ``y`` (int vector).
    """

    __props__ = ()

    def make_node(self, g: Any, coding_dist: Any, true_one_of_n: Any) -> Apply:
        g = as_tensor_variable(g)
        coding = as_tensor_variable(coding_dist)
        labels = as_tensor_variable(true_one_of_n)
        if g.ndim != 1 or coding.ndim != 2 or labels.ndim != 1:
            raise RankError(
                "crossentropy_categorical_1hot_grad: expected (vector, matrix, "
                f"vector), got ({g.type}, {coding.type}, {labels.type})"
            )
        if np.dtype(labels.dtype).kind not in "iu":
            raise DtypeError(
                "crossentropy_categorical_1hot_grad: class indices must be "
                f"integers, got {labels.dtype}"
            )
        out = TensorType(coding.dtype, shape=coding.type.shape).make_variable()
        return Apply(self, [g, coding, labels], [out])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        g, coding, labels = (np.asarray(v) for v in inputs)
        out = np.zeros(coding.shape, dtype=_out_dtype(node))
        rows = np.arange(labels.shape[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            out[rows, labels] = -g / coding[rows, labels]
        output_storage[0][0] = out

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [tuple(input_shapes[1])]

    # With A = _label_mask(coding, y) (-1/c at the labels, 0 elsewhere) the
    # output is g[:, None] * A, and d A / d c = A ** 2 at the labels, so
    #   d out / d g  -> sum(G * A, axis=1)
    #   d out / d c  -> G * A ** 2 * g[:, None]
    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802 - Theano's name
             output_grads: list[Any]) -> list[Any]:
        from symarray.tensor.reduction import sum as _sum

        g, coding, labels = inputs
        (gz,) = output_grads
        a = _label_mask(coding, labels)
        g_col = g.dimshuffle(0, "x")
        return [_sum(gz * a, axis=1), gz * a * a * g_col, None]

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        g, coding, labels = inputs
        dg, d_coding = eval_points[0], eval_points[1]
        if dg is None and d_coding is None:
            return [None]
        a = _label_mask(coding, labels)
        terms = []
        if dg is not None:
            terms.append(dg.dimshuffle(0, "x") * a)
        if d_coding is not None:
            terms.append(g.dimshuffle(0, "x") * a * a * d_coding)
        return [terms[0] if len(terms) == 1 else terms[0] + terms[1]]


crossentropy_categorical_1hot = CrossentropyCategorical1Hot()
crossentropy_categorical_1hot_grad = CrossentropyCategorical1HotGrad()


def categorical_crossentropy(coding_dist: Any, true_dist: Any) -> Any:
    """Crossentropy between predicted class probabilities and targets.

    Parameters
    ----------
    coding_dist : tensor-like
        Predicted probabilities, one row per example (e.g. a softmax output).
    true_dist : tensor-like
        Either a tensor of the same rank (one-hot rows or probability rows):
        the result is ``-sum(true_dist * log(coding_dist), axis=-1)``; or, for
        a matrix ``coding_dist``, an integer vector of class indices: the
        result is ``-log(coding_dist[arange(n), true_dist])``.

    Returns
    -------
    TensorVariable
        One loss per example (rank of ``coding_dist`` minus one).

    Examples
    --------
    >>> import numpy as np
    >>> import symarray.tensor as T
    >>> p, y = T.dmatrix("p"), T.lvector("y")
    >>> loss = T.nnet.categorical_crossentropy(p, y)
    >>> loss.eval({p: np.array([[0.5, 0.5], [0.25, 0.75]]), y: np.array([0, 1])})
    array([0.69314718, 0.28768207])
    """
    coding = as_tensor_variable(coding_dist)
    true = as_tensor_variable(true_dist)
    if true.ndim == coding.ndim:
        if coding.ndim == 0:
            raise RankError(
                "categorical_crossentropy: coding_dist must have rank >= 1 (one "
                f"probability per class), got the 0-d {coding}"
            )
        from symarray.tensor.reduction import sum as _sum

        return -_sum(true * _log(coding), axis=coding.ndim - 1)
    if true.ndim == coding.ndim - 1:
        if coding.ndim != 2:
            raise RankError(
                "categorical_crossentropy: integer class targets need a matrix "
                f"coding_dist, got {coding} of type {coding.type}"
            )
        return crossentropy_categorical_1hot(coding, true)
    raise RankError(
        "categorical_crossentropy: true_dist must have the rank of coding_dist "
        "(one-hot or probability rows) or one less (integer class indices); got "
        f"coding_dist of type {coding.type} and true_dist of type {true.type}"
    )


def binary_crossentropy(output: Any, target: Any) -> Any:
    """Elementwise ``-(target * log(output) + (1 - target) * log(1 - output))``.

    Examples
    --------
    >>> import numpy as np
    >>> import symarray.tensor as T
    >>> p, t = T.dvector("p"), T.dvector("t")
    >>> T.nnet.binary_crossentropy(p, t).eval({p: np.array([0.5, 0.9]),
    ...                                         t: np.array([1.0, 0.0])})
    array([0.69314718, 2.30258509])
    """
    output = as_tensor_variable(output)
    target = as_tensor_variable(target)
    return -(target * _log(output) + (1.0 - target) * _log(1.0 - output))


# -- activations ---------------------------------------------------------------


def relu(x: Any, alpha: Any = 0) -> Any:
    """Rectified linear unit; leaky when ``alpha != 0``.

    ``alpha == 0``: ``0.5 * (x + abs(x))`` (that is ``max(x, 0)``); otherwise
    ``0.5 * (1 + alpha) * x + 0.5 * (1 - alpha) * abs(x)``, which is ``x`` for
    positive and ``alpha * x`` for negative inputs.  ``alpha`` may be a
    number or a symbolic scalar.  These are Theano's formulas: integer inputs
    give floats.

    Examples
    --------
    >>> import numpy as np
    >>> import symarray.tensor as T
    >>> x = T.dvector("x")
    >>> T.nnet.relu(x, alpha=0.1).eval({x: np.array([-2.0, 3.0])})
    array([-0.2,  3. ])
    """
    x = as_tensor_variable(x)
    if isinstance(alpha, (int, float, np.number)) and alpha == 0:
        return 0.5 * (x + _abs(x))
    if not isinstance(alpha, (int, float)):
        alpha = as_tensor_variable(alpha)
    f1 = 0.5 * (1 + alpha)
    f2 = 0.5 * (1 - alpha)
    return f1 * x + f2 * _abs(x)


def elu(x: Any, alpha: Any = 1) -> Any:
    """Exponential linear unit: ``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> import symarray.tensor as T
    >>> x = T.dvector("x")
    >>> T.nnet.elu(x).eval({x: np.array([-1000.0, 2.0])})
    array([-1.,  2.])
    """
    x = as_tensor_variable(x)
    return _switch(_gt(x, 0), x, alpha * _expm1(x))


def hard_sigmoid(x: Any) -> Any:
    """Piecewise-linear sigmoid: ``clip(0.2 * x + 0.5, 0, 1)`` (Theano's).

    Examples
    --------
    >>> import numpy as np
    >>> import symarray.tensor as T
    >>> x = T.dvector("x")
    >>> T.nnet.hard_sigmoid(x).eval({x: np.array([-5.0, 0.0, 1.0, 5.0])})
    array([0. , 0.5, 0.7, 1. ])
    """
    from symarray.tensor.math import clip

    x = as_tensor_variable(x)
    return clip(x * 0.2 + 0.5, 0, 1)


def ultra_fast_sigmoid(x: Any) -> Any:
    """Theano's piecewise approximation of the sigmoid (error below 0.03).

    With ``u = |x| / 2``: ``z = 1.5 u / (1 + u)`` for ``u < 1.7``,
    ``0.935409070603099 + 0.0458812946797165 (u - 1.7)`` for ``u < 3``,
    ``0.99505475368673`` beyond; the result is ``0.5 + 0.5 sign(x) z``.
    The largest error, 0.028, is near ``|x| = 0.54``; the pieces do not
    join continuously, exactly as in Theano.

    Examples
    --------
    >>> import numpy as np
    >>> import symarray.tensor as T
    >>> x = T.dvector("x")
    >>> T.nnet.ultra_fast_sigmoid(x).eval({x: np.array([0.0, 100.0])})
    array([0.5       , 0.99752738])
    """
    x = as_tensor_variable(x)
    u = _abs(x * 0.5)
    z = _switch(
        _lt(u, 1.7),
        1.5 * u / (1.0 + u),
        _switch(_lt(u, 3.0),
                0.935409070603099 + 0.0458812946797165 * (u - 1.7),
                0.99505475368673),
    )
    return 0.5 * _sgn(x) * z + 0.5


def softsign(x: Any) -> Any:
    """``x / (1 + abs(x))``, a sigmoid-shaped function into ``(-1, 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> import symarray.tensor as T
    >>> x = T.dvector("x")
    >>> T.nnet.softsign(x).eval({x: np.array([-1.0, 3.0])})
    array([-0.5 ,  0.75])
    """
    x = as_tensor_variable(x)
    return x / (1.0 + _abs(x))
