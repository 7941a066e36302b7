"""Tests of symarray.tensor.blas_stream: the StreamGemv op.

``perform`` must equal NumPy's two products and ``f`` (dtypes, broadcast
inputs of ``f``, ``y0`` broadcasting, scales of 0 with NaN), ``infer_shape``
the values' shapes, and ``make_node`` and ``perform`` must reject wrong
ranks, dtypes and lengths with errors that say what is wrong.
"""

from __future__ import annotations

import numpy as np
import pytest
from op_checks import LINKERS, check_against_numpy, check_infer_shape

import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.errors import DtypeError, RankError, ShapeMismatchError
from symarray.scalar import get_scalar_op
from symarray.scalar.composite import CompositeBuilder
from symarray.tensor.blas_stream import StreamGemv, stream_gemv


def _sigmoid_minus(dtype: str, other: str | None = None):
    """f(z, t) = sigmoid(z) - t (or sigmoid(z) with no t)."""
    b = CompositeBuilder([dtype] + ([other] if other else []))
    s = b.apply(get_scalar_op("sigmoid"), [b.inputs[0]])
    if other is None:
        return b.build([s])
    return b.build([b.apply(get_scalar_op("sub"), [s, b.inputs[1]], dtype)])


def _np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _vars(dtype: str, other_ndim: int = 1):
    X = T.matrix("X", dtype=dtype)  # noqa: N806
    w, y0 = T.vector("w", dtype=dtype), T.vector("y0", dtype=dtype)
    t = T.vector("t", dtype=dtype) if other_ndim else T.scalar("t", dtype=dtype)
    return X, w, t, y0


CASES = [  # (dtype, n, k, alpha, beta, length of t: "n" or 1 or 0 (0-d))
    ("float64", 7, 3, -0.1, 1.0, "n"),
    ("float32", 5, 4, 2.0, 0.5, "n"),
    ("float64", 6, 2, 1.0, 0.0, 1),
    ("float64", 4, 3, 0.0, 1.0, 0),
    ("float64", 0, 3, 1.0, 1.0, "n"),
    ("float64", 3, 1, 1.0, 1.0, "n"),
]


@pytest.mark.parametrize("dtype,n,k,alpha,beta,tlen", CASES)
def test_perform_against_numpy(dtype, n, k, alpha, beta, tlen):
    rng = np.random.default_rng(0)
    X, w, t, y0 = _vars(dtype, 0 if tlen == 0 else 1)  # noqa: N806
    f = _sigmoid_minus(dtype, dtype)
    z, y, g = stream_gemv(f, X, w, [t], y0, alpha, beta)
    Xv = rng.standard_normal((n, k)).astype(dtype)  # noqa: N806
    wv, y0v = rng.standard_normal(k).astype(dtype), rng.standard_normal(k).astype(dtype)
    tv = rng.standard_normal(() if tlen == 0 else (n if tlen == "n" else 1))
    tv = np.asarray(tv, dtype=dtype)

    def reference(Xv, wv, tv, y0v):  # noqa: N803
        zv = Xv @ wv
        gv = np.broadcast_to(_np_sigmoid(zv) - tv, zv.shape)
        yv = dtype_(beta) * y0v + dtype_(alpha) * (Xv.T @ gv)
        return [zv, yv.astype(dtype), gv]

    dtype_ = np.dtype(dtype).type
    check_against_numpy([X, w, t, y0], [z, y, g], [Xv, wv, tv, y0v], reference,
                        dtype=dtype, linkers=LINKERS)
    check_infer_shape([X, w, t, y0], [z, y, g], [Xv, wv, tv, y0v])


def test_y0_broadcasts_as_in_gemv():
    X, w, t, _ = _vars("float64")  # noqa: N806
    y0 = T.TensorType("float64", shape=(1,))("y0")
    z, y, _ = stream_gemv(_sigmoid_minus("float64", "float64"), X, w, [t], y0, 1.0,
                          2.0)
    assert y.type.shape == (None,)
    Xv = np.arange(6.0).reshape(3, 2)  # noqa: N806
    got = y.eval({X: Xv, w: np.ones(2), t: np.zeros(3), y0: np.array([1.0])})
    np.testing.assert_allclose(got, 2.0 + Xv.T @ _np_sigmoid(Xv @ np.ones(2)))


def test_zero_scales_keep_nan_as_the_graph_does():
    X, w, t, y0 = _vars("float64")  # noqa: N806
    _, y, _ = stream_gemv(_sigmoid_minus("float64", "float64"), X, w, [t], y0, 1.0, 0.0)
    got = y.eval({X: np.ones((2, 2)), w: np.ones(2), t: np.zeros(2),
                  y0: np.array([np.nan, 1.0])})
    assert np.isnan(got[0]) and np.isfinite(got[1])


def test_f_without_other_inputs():
    X, w, _, y0 = _vars("float64")  # noqa: N806
    z, y, _ = stream_gemv(_sigmoid_minus("float64"), X, w, [], y0, 1.0, 1.0)
    Xv = np.eye(3)  # noqa: N806
    got = y.eval({X: Xv, w: np.arange(3.0), y0: np.zeros(3)})
    np.testing.assert_allclose(got, _np_sigmoid(np.arange(3.0)))


def test_wrong_length_of_an_input_of_f_is_a_value_error():
    X, w, t, y0 = _vars("float64")  # noqa: N806
    _, y, _ = stream_gemv(_sigmoid_minus("float64", "float64"), X, w, [t], y0, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"input 1 of f \(t\) has length 4 but X has "
                                         r"3 rows"):
        y.eval({X: np.ones((3, 2)), w: np.ones(2), t: np.ones(4), y0: np.ones(2)})
    with pytest.raises(ShapeMismatchError, match="not aligned"):
        y.eval({X: np.ones((3, 2)), w: np.ones(5), t: np.ones(3), y0: np.ones(2)})


@pytest.mark.parametrize("bad,error,match", [
    ("X_vector", RankError, "X must have 2 dimension"),
    ("w_f32", DtypeError, "w has dtype float32 but X has float64"),
    ("X_int", DtypeError, "X must be float32 or float64"),
    ("t_matrix", RankError, "must be a vector aligned with the rows of X"),
    ("f_dtype", DtypeError, "f was built for inputs"),
    ("count", TypeError, r"takes X, w, 1 input\(s\) of f"),
])
def test_make_node_errors(bad, error, match):
    X, w, t, y0 = _vars("float64")  # noqa: N806
    f = _sigmoid_minus("float64", "float64")
    alpha, beta = T.constant(np.float64(1.0)), T.constant(np.float64(1.0))
    args = {"X": X, "w": w, "t": t, "y0": y0}
    if bad == "X_vector":
        args["X"] = T.dvector("X")
    elif bad == "w_f32":
        args["w"] = T.fvector("w")
    elif bad == "X_int":
        args["X"] = T.lmatrix("X")
    elif bad == "t_matrix":
        args["t"] = T.dmatrix("t")
    elif bad == "f_dtype":
        f = _sigmoid_minus("float64", "float32")
    with pytest.raises(error, match=match):
        if bad == "count":
            StreamGemv(f)(args["X"], args["w"], args["y0"], alpha, beta)
        else:
            StreamGemv(f)(args["X"], args["w"], args["t"], args["y0"], alpha, beta)


def test_f_must_be_a_one_output_composite():
    with pytest.raises(TypeError, match="one-output Composite"):
        StreamGemv(get_scalar_op("exp"))  # type: ignore[arg-type]


def test_props_and_str():
    f = _sigmoid_minus("float64", "float64")
    assert StreamGemv(f) == StreamGemv(_sigmoid_minus("float64", "float64"))
    assert hash(StreamGemv(f)) == hash(StreamGemv(_sigmoid_minus("float64", "float64")))
    assert StreamGemv(f) != StreamGemv(_sigmoid_minus("float64"))
    assert str(StreamGemv(f)) == "StreamGemv{Composite{sub(sigmoid(i0), i1)}}"


def test_no_gradient():
    import symarray as sa
    from symarray.gradient import NullTypeGradError

    X, w, t, y0 = _vars("float64")  # noqa: N806
    _, y, _ = stream_gemv(_sigmoid_minus("float64", "float64"), X, w, [t], y0, 1.0, 1.0)
    with pytest.raises(NullTypeGradError, match="local_gemv_stream_rows"):
        sa.grad(y.sum(), w)
    with pytest.raises(NotImplementedError, match="no R_op"):
        y.owner.op.R_op(y.owner.inputs, [None] * 6)
