"""BLAS updates: ``Gemm``, ``Gemv`` and ``Ger``, which the specialize rewrites use.

======================================  =====================================
``Gemm(z, alpha, x, y, beta)``          ``beta * z + alpha * dot(x, y)``
                                        (x, y, z matrices)
``Gemv(z, alpha, a, x, beta)``          ``beta * z + alpha * dot(a, x)``
                                        (a a matrix, x and z vectors)
``Ger(z, alpha, x, y)``                 ``z + alpha * outer(x, y)``
                                        (x, y vectors, z a matrix)
======================================  =====================================

``alpha`` and ``beta`` are 0-d tensors.  Users rarely build these ops
themselves: ``alpha * T.dot(x, y) + beta * z`` becomes a ``Gemm`` in
FAST_RUN (:mod:`symarray.tensor.rewriting.specialize`).  They are not in
``symarray.tensor``; import them from here.

Key decisions:

* Inputs and output share one float or complex dtype (``alpha``/``beta``
  are cast to it when that is safe); the rewrites only build them then.
* ``z`` broadcasts against the product as the elementwise expression
  does, so replacing the expression never changes a result's shape.
* ``perform`` computes the expression with NumPy (``np.dot``, the BLAS
  ``Dot.perform`` uses too), so ``0 * nan`` is ``nan`` exactly as in the
  elementwise graph (BLAS skips a term whose scale is 0); with
  :data:`USE_SCIPY_BLAS` it calls ``scipy.linalg.blas`` instead for
  float32/float64 when ``z`` already has the result's shape and neither
  scale is 0, writing into ``z``'s buffer in place (``inplace=True``,
  ``destroy_map = {0: [0]}``) or into a copy.  The C thunks
  (:mod:`symarray.kernels_c.blas`) follow the same rules through
  ``scipy.linalg.cython_blas``.
* Gradients and R_op are written with ``dot``, ``outer`` and elementwise ops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symarray.errors import DtypeError, RankError, ShapeMismatchError
from symarray.graph.basic import Apply, Constant, Op, Variable
from symarray.tensor.basic import as_tensor_variable
from symarray.tensor.elemwise import broadcast_static_shape, cast
from symarray.tensor.math import ELEMWISE_OPS
from symarray.tensor.type import TensorType

__all__ = ["Gemm", "Gemv", "Ger", "gemm", "gemv", "ger"]

_FLOATS = ("float32", "float64", "complex64", "complex128")

#: ``perform`` calls scipy's BLAS (``scipy.linalg.blas``) instead of NumPy.
#: Off: ``perform`` is the py/vm linkers' path, where ``Dot`` runs ``np.dot``
#: (NumPy's OpenBLAS); NumPy and SciPy each bundle an OpenBLAS with its own
#: thread pool, and a graph that calls both keeps two pools spinning on the
#: same cores (a logistic-regression step, 5000 x 784 on 2 cores: 1.3 ms
#: with NumPy for both products, 8.2 ms with scipy's gemv next to NumPy's
#: dot).  The C thunks (symarray.kernels_c.blas, the cvm linkers) call
#: SciPy's OpenBLAS for every product (Dot, Gemm, Gemv, Ger) instead, with
#: its jobs on the kernels' thread pool: one BLAS and one pool either way.
USE_SCIPY_BLAS = False


def _scalar(value: Any, dtype: str, what: str, name: str) -> Variable:
    """A 0-d ``dtype`` tensor for the scale ``name`` (alpha or beta)."""
    v = as_tensor_variable(value)
    if v.ndim != 0:
        raise RankError(
            f"{what}: {name} must be a 0-d tensor, got {v} of type {v.type}")
    if v.dtype == dtype:
        return v
    weak = isinstance(v, Constant) and getattr(v, "weak", False)
    if weak or np.can_cast(v.dtype, dtype, "safe"):
        return cast(v, dtype)
    raise DtypeError(
        f"{what}: {name} of dtype {v.dtype} cannot be used with {dtype} arrays; "
        f"cast it first: T.cast({name}, '{dtype}')"
    )


def _check_rank(what: str, name: str, v: Variable, ndim: int) -> None:
    if v.type.ndim != ndim:  # type: ignore[attr-defined]
        kind = {1: "a vector", 2: "a matrix"}[ndim]
        raise RankError(f"{what}: {name} must be {kind}, got {v} of type {v.type}")


def _common_dtype(what: str, arrays: dict[str, Any]) -> str:
    dtypes = {v.dtype for v in arrays.values()}
    if len(dtypes) != 1:
        shown = ", ".join(f"{k}: {v.dtype}" for k, v in arrays.items())
        raise DtypeError(
            f"{what}: the arrays must share one dtype, got {shown}; cast them "
            "to one float dtype first"
        )
    dtype = dtypes.pop()
    if dtype not in _FLOATS:
        raise DtypeError(
            f"{what}: needs float or complex arrays, got {dtype}; use T.dot for "
            "integers"
        )
    return str(dtype)


def _check_len(what: str, la: int | None, lb: int | None, desc: str) -> None:
    if la is not None and lb is not None and la != lb:
        raise ShapeMismatchError(f"{what}: {desc}: {la} != {lb}")


def _bcast(z_len: Any, z_static: int | None, p_len: Any) -> Any:
    """The length of a dimension where ``z`` broadcasts against the product."""
    if z_static == 1:
        return p_len
    if isinstance(p_len, (int, np.integer)) and p_len == 1:
        return z_len
    ops = ELEMWISE_OPS
    return ops["switch"](ops["eq"](z_len, 1), p_len, z_len)


def _sum_to(g: Any, z: Any) -> Any:
    from symarray.tensor.alloc import sum_to

    return sum_to(g, z)


def _total(x: Any) -> Any:
    from symarray.tensor.reduction import sum as tsum

    return tsum(x)


def _blas(name: str, *arrays: np.ndarray[Any, Any]) -> Any:
    from scipy.linalg import blas

    return blas.get_blas_funcs(name, arrays)


class _Update(Op):
    """Shared parts of ``z <- [beta *] z + alpha * product(x, y)``: the
    ``inplace`` prop, node building, perform, infer_shape, L_op and R_op.

    A subclass names its product (``_product`` symbolic, ``_np_product``
    NumPy), its product's shape (``_product_dims``), the gradients of the
    product's factors (``_factor_grads``) and whether it has ``beta``.
    """

    __props__ = ("inplace",)

    #: The inputs are ``(z, alpha, x, y, beta)``; False: ``(z, alpha, x, y)``.
    _has_beta = True

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = bool(inplace)
        self.destroy_map = {0: [0]} if self.inplace else {}

    def __str__(self) -> str:
        return f"{type(self).__name__}{'{inplace}' if self.inplace else '{no_inplace}'}"

    # -- what a subclass defines ------------------------------------------
    # (factors are positional-only: Gemv names them a, x; np.dot a, b)

    def _product(self, x: Any, y: Any) -> Any:
        raise NotImplementedError

    def _np_product(self, x: Any, y: Any, /) -> Any:
        raise NotImplementedError

    def _product_dims(self, shapes: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
        """The product's shape from the inputs' shapes (ints or symbolic)."""
        raise NotImplementedError

    def _factor_grads(self, gp: Any, x: Any, y: Any, /) -> tuple[Any, Any]:
        """The gradients of x and y (before the alpha factor), given the
        product's gradient ``gp``."""
        raise NotImplementedError

    def _blas_into(self, out: np.ndarray[Any, Any], inputs: Sequence[Any]) -> bool:
        """Write the result into ``out`` (a copy of z or z) with BLAS; False:
        BLAS cannot do it."""
        raise NotImplementedError

    def _check(self, inputs: Sequence[Any]) -> None:
        raise NotImplementedError

    # -- shared ------------------------------------------------------------

    def _tensors(self, what: str, arrays: dict[str, Any],
                 ranks: Sequence[int]) -> tuple[list[Any], str]:
        """The array inputs as tensors of the given ranks, and their dtype."""
        vs = {name: as_tensor_variable(v) for name, v in arrays.items()}
        for (name, v), ndim in zip(vs.items(), ranks, strict=True):
            _check_rank(what, name, v, ndim)
        return list(vs.values()), _common_dtype(what, vs)

    def _apply(self, what: str, inputs: list[Any], prod: tuple[int | None, ...],
               dtype: str) -> Apply:
        """The node, its output ``z`` broadcast against the product's static
        shape ``prod``."""
        z = inputs[0]
        shape = broadcast_static_shape([z.type.shape, prod], what)
        if self.inplace and shape != z.type.shape:
            raise TypeError(f"{what}: z of type {z.type} cannot hold the result "
                            f"(static shape {shape}) in place")
        return Apply(self, inputs, [TensorType(dtype, shape=shape)()])

    def _check_aligned(self, names: tuple[str, str], a: Any, b: Any) -> None:
        """Raise unless ``dot(a, b)`` is defined for the values ``a``, ``b``."""
        if a.shape[1] != b.shape[0]:
            na, nb = names
            raise ShapeMismatchError(
                f"{self}: {na} of shape {a.shape} and {nb} of shape {b.shape} are "
                f"not aligned for dot({na}, {nb})"
            )

    def _numpy(self, inputs: Sequence[Any]) -> Any:
        z, a, x, y = inputs[:4]
        zpart = inputs[4] * z if self._has_beta else z
        return zpart + a * self._np_product(x, y)

    def _product_shape(self, inputs: Sequence[Any]) -> tuple[int, ...]:
        return self._product_dims([np.shape(v) for v in inputs])

    def perform(self, node: Apply, inputs: Sequence[Any],
                output_storage: list[list[Any]]) -> None:
        self._check(inputs)
        z = inputs[0]
        dtype = node.outputs[0].type.dtype  # type: ignore[attr-defined]
        positions = (1, 4) if self._has_beta else (1,)
        scales = [np.asarray(inputs[i]) for i in positions]
        if (USE_SCIPY_BLAS and dtype in ("float32", "float64")
                and z.shape == self._product_shape(inputs)
                and all(s != 0 for s in scales)):
            out = z if self.inplace else np.array(z, order="K", copy=True)
            if self._blas_into(out, inputs):
                output_storage[0][0] = out
                return
        with np.errstate(all="ignore"):
            result = np.asarray(self._numpy(inputs), dtype=dtype)
        if self.inplace and z.shape == result.shape and z.flags.writeable:
            z[...] = result
            result = z
        output_storage[0][0] = result

    def infer_shape(self, fgraph: Any, node: Apply,
                    input_shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        static = node.inputs[0].type.shape  # type: ignore[attr-defined]
        prod = self._product_dims(input_shapes)
        return [tuple(_bcast(zl, st, pl)
                      for zl, st, pl in zip(input_shapes[0], static, prod,
                                            strict=True))]

    def L_op(self, inputs: list[Any], outputs: list[Any],  # noqa: N802
             output_grads: list[Any]) -> list[Any]:
        z, a, x, y = inputs[:4]
        (g,) = output_grads
        mul = ELEMWISE_OPS["mul"]
        p = self._product(x, y)
        gp = _sum_to(g, p)  # z may have broadcast the product
        gx, gy = self._factor_grads(gp, x, y)
        gz = mul(inputs[4], g) if self._has_beta else g
        grads = [_sum_to(gz, z), _total(mul(g, p)), mul(a, gx), mul(a, gy)]
        if self._has_beta:
            grads.append(_total(mul(g, z)))
        return grads

    def R_op(self, inputs: list[Any], eval_points: list[Any]) -> list[Any]:  # noqa: N802
        z, a, x, y = inputs[:4]
        dz, da, dx, dy = eval_points[:4]
        mul = ELEMWISE_OPS["mul"]
        terms = []
        if self._has_beta:
            b, db = inputs[4], eval_points[4]
            if db is not None:
                terms.append(mul(db, z))
            if dz is not None:
                terms.append(mul(b, dz))
        elif dz is not None:
            terms.append(dz)
        if da is not None:
            terms.append(mul(da, self._product(x, y)))
        if dx is not None:
            terms.append(mul(a, self._product(dx, y)))
        if dy is not None:
            terms.append(mul(a, self._product(x, dy)))
        return [_tangent(terms, outputs_like=self(*inputs))]


def _store(res: Any, out: np.ndarray[Any, Any]) -> bool:
    """Copy a BLAS result into ``out`` unless BLAS wrote it there already."""
    if not np.may_share_memory(res, out):
        out[...] = res
    return True


def _dot(x: Any, y: Any) -> Any:
    from symarray.tensor.blas import dot

    return dot(x, y)


def _outer(x: Any, y: Any) -> Any:
    from symarray.tensor.blas import outer

    return outer(x, y)


class Gemm(_Update):
    """``beta * z + alpha * dot(x, y)`` for matrices ``x``, ``y`` and ``z``.

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> from symarray.tensor.blas_ops import gemm
    >>> z, x, y = T.dmatrix("z"), T.dmatrix("x"), T.dmatrix("y")
    >>> out = gemm(z, 2.0, x, y, 0.5)
    >>> out.eval({z: np.ones((1, 1)), x: np.ones((1, 2)), y: np.ones((2, 1))})
    array([[4.5]])
    """

    _product = staticmethod(_dot)
    _np_product = staticmethod(np.dot)

    def make_node(self, z: Any, alpha: Any, x: Any, y: Any, beta: Any) -> Apply:
        what = str(self)
        (z, x, y), dtype = self._tensors(what, {"z": z, "x": x, "y": y}, (2, 2, 2))
        alpha = _scalar(alpha, dtype, what, "alpha")
        beta = _scalar(beta, dtype, what, "beta")
        _check_len(what, x.type.shape[1], y.type.shape[0],
                   "columns of x and rows of y differ")
        return self._apply(what, [z, alpha, x, y, beta],
                           (x.type.shape[0], y.type.shape[1]), dtype)

    def _check(self, inputs: Sequence[Any]) -> None:
        self._check_aligned(("x", "y"), inputs[2], inputs[3])

    def _product_dims(self, shapes: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
        return (shapes[2][0], shapes[3][1])

    def _factor_grads(self, gp: Any, x: Any, y: Any) -> tuple[Any, Any]:
        return _dot(gp, y.T), _dot(x.T, gp)

    def _blas_into(self, out: np.ndarray[Any, Any], inputs: Sequence[Any]) -> bool:
        _, a, x, y, b = inputs
        if out.size == 0 or x.shape[1] == 0:
            return False
        if out.flags.f_contiguous:
            fn = _blas("gemm", x, y, out)
            return _store(fn(a, x, y, b, out, overwrite_c=True), out)
        if out.flags.c_contiguous:  # out.T = alpha * y.T x.T + beta * out.T
            fn = _blas("gemm", y.T, x.T, out.T)
            return _store(fn(a, y.T, x.T, b, out.T, overwrite_c=True).T, out)
        return False


class Gemv(_Update):
    """``beta * z + alpha * dot(a, x)`` for a matrix ``a`` and vectors ``x``, ``z``.

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> from symarray.tensor.blas_ops import gemv
    >>> z, a, x = T.dvector("z"), T.dmatrix("a"), T.dvector("x")
    >>> gemv(z, 1.0, a, x, 1.0).eval(
    ...     {z: np.ones(2), a: np.eye(2), x: np.array([3.0, 4.0])})
    array([4., 5.])
    """

    _product = staticmethod(_dot)
    _np_product = staticmethod(np.dot)

    def make_node(self, z: Any, alpha: Any, a: Any, x: Any, beta: Any) -> Apply:
        what = str(self)
        (z, a, x), dtype = self._tensors(what, {"z": z, "a": a, "x": x}, (1, 2, 1))
        alpha = _scalar(alpha, dtype, what, "alpha")
        beta = _scalar(beta, dtype, what, "beta")
        _check_len(what, a.type.shape[1], x.type.shape[0],
                   "columns of a and the length of x differ")
        return self._apply(what, [z, alpha, a, x, beta], (a.type.shape[0],), dtype)

    def _check(self, inputs: Sequence[Any]) -> None:
        self._check_aligned(("a", "x"), inputs[2], inputs[3])

    def _product_dims(self, shapes: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
        return (shapes[2][0],)

    def _factor_grads(self, gp: Any, a: Any, x: Any) -> tuple[Any, Any]:
        return _outer(gp, x), _dot(a.T, gp)

    def _blas_into(self, out: np.ndarray[Any, Any], inputs: Sequence[Any]) -> bool:
        _, al, a, x, b = inputs
        if out.size == 0 or a.shape[1] == 0 or not out.flags.c_contiguous:
            return False
        if a.flags.f_contiguous:
            fn = _blas("gemv", a, x, out)
            return _store(fn(al, a, x, b, out, overwrite_y=True), out)
        if a.flags.c_contiguous:
            fn = _blas("gemv", a.T, x, out)
            return _store(fn(al, a.T, x, b, out, trans=1, overwrite_y=True), out)
        return False


class Ger(_Update):
    """``z + alpha * outer(x, y)`` for a matrix ``z`` and vectors ``x``, ``y``.

    Examples
    --------
    >>> import numpy as np, symarray.tensor as T
    >>> from symarray.tensor.blas_ops import ger
    >>> z, x, y = T.dmatrix("z"), T.dvector("x"), T.dvector("y")
    >>> ger(z, 2.0, x, y).eval(
    ...     {z: np.zeros((2, 2)), x: np.array([1.0, 2.0]), y: np.array([1.0, 3.0])})
    array([[ 2.,  6.],
           [ 4., 12.]])
    """

    _has_beta = False
    _product = staticmethod(_outer)
    _np_product = staticmethod(np.outer)

    def make_node(self, z: Any, alpha: Any, x: Any, y: Any) -> Apply:
        what = str(self)
        (z, x, y), dtype = self._tensors(what, {"z": z, "x": x, "y": y}, (2, 1, 1))
        alpha = _scalar(alpha, dtype, what, "alpha")
        return self._apply(what, [z, alpha, x, y],
                           (x.type.shape[0], y.type.shape[0]), dtype)

    def _check(self, inputs: Sequence[Any]) -> None:
        z, _, x, y = inputs
        try:
            np.broadcast_shapes(z.shape, (x.shape[0], y.shape[0]))
        except ValueError:
            raise ShapeMismatchError(
                f"{self}: z of shape {z.shape} does not broadcast with "
                f"outer(x, y) of shape {(x.shape[0], y.shape[0])}"
            ) from None

    def _product_dims(self, shapes: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
        return (shapes[2][0], shapes[3][0])

    def _factor_grads(self, gp: Any, x: Any, y: Any) -> tuple[Any, Any]:
        return _dot(gp, y), _dot(gp.T, x)

    def _blas_into(self, out: np.ndarray[Any, Any], inputs: Sequence[Any]) -> bool:
        _, a, x, y = inputs
        if out.size == 0:
            return False
        if out.flags.f_contiguous:
            fn = _blas("ger", x, y, out)
            return _store(fn(a, x, y, a=out, overwrite_a=True), out)
        if out.flags.c_contiguous:  # out.T += alpha * outer(y, x)
            fn = _blas("ger", y, x, out.T)
            return _store(fn(a, y, x, a=out.T, overwrite_a=True).T, out)
        return False


def _tangent(terms: list[Any], outputs_like: Any) -> Any:
    """The sum of the tangent terms, broadcast and cast like the output."""
    if not terms:
        return None
    total = terms[0]
    for t in terms[1:]:
        total = ELEMWISE_OPS["add"](total, t)
    from symarray.tensor.alloc import alloc
    from symarray.tensor.shape_ops import shape_i

    # a missing term may have carried the output's (broadcast) shape
    total = alloc(total, *[shape_i(outputs_like, d) for d in range(outputs_like.ndim)])
    return cast(total, outputs_like.dtype)


_gemm = Gemm()
_gemv = Gemv()
_ger = Ger()


def gemm(z: Any, alpha: Any, x: Any, y: Any, beta: Any) -> Any:
    """``beta * z + alpha * dot(x, y)`` as one :class:`Gemm` node."""
    return _gemm(z, alpha, x, y, beta)


def gemv(z: Any, alpha: Any, a: Any, x: Any, beta: Any) -> Any:
    """``beta * z + alpha * dot(a, x)`` as one :class:`Gemv` node."""
    return _gemv(z, alpha, a, x, beta)


def ger(z: Any, alpha: Any, x: Any, y: Any) -> Any:
    """``z + alpha * outer(x, y)`` as one :class:`Ger` node."""
    return _ger(z, alpha, x, y)
