"""Tests of T.nnet: softmax, log_softmax, crossentropies and activations."""

from __future__ import annotations

import numpy as np
import pytest
from op_checks import check_against_numpy, check_infer_shape
from scipy.special import expit
from scipy.special import log_softmax as np_log_softmax
from scipy.special import softmax as np_softmax

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray.errors import DtypeError, RankError, ShapeMismatchError
from symarray.tensor.nnet import (
    CrossentropyCategorical1Hot,
    LogSoftmax,
    Softmax,
)

nnet = T.nnet
FLOATS = ["float32", "float64"]
RNG = np.random.default_rng(1234)


def _sym(dtype: str, ndim: int, name: str = "x") -> T.TensorVariable:
    return T.tensor(dtype, shape=(None,) * ndim, name=name)


def _data(shape: tuple[int, ...], dtype: str, scale: float = 3.0) -> np.ndarray:
    return (RNG.standard_normal(shape) * scale).astype(dtype)


# -- softmax / log_softmax ---------------------------------------------------------

# (shape, axis)
SOFTMAX_CASES = [
    ((5,), -1),
    ((5,), 0),
    ((3, 4), -1),
    ((3, 4), 0),
    ((1, 7), 1),
    ((2, 3, 4), -1),
    ((2, 3, 4), 1),
    ((2, 3, 4), 0),
    ((0, 4), -1),
    ((3, 0), -1),
    ((2, 0, 3), 1),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize(("shape", "axis"), SOFTMAX_CASES)
@pytest.mark.parametrize(
    ("fn", "ref"),
    [(nnet.softmax, np_softmax), (nnet.log_softmax, np_log_softmax)],
    ids=["softmax", "log_softmax"],
)
def test_softmax_against_numpy(fn, ref, shape, axis, dtype):
    x = _sym(dtype, len(shape))
    value = _data(shape, dtype)

    def reference(v):
        if v.size == 0:
            return v.copy()
        return ref(v.astype("float64"), axis=axis).astype(dtype)

    out = fn(x, axis=axis)
    check_against_numpy([x], out, [value], reference, dtype=dtype)
    check_infer_shape([x], out, [value])


@pytest.mark.parametrize("fn", [nnet.softmax, nnet.log_softmax])
@pytest.mark.parametrize("dtype", ["int32", "int8", "bool"])
def test_softmax_integer_inputs_become_float(fn, dtype):
    x = _sym(dtype, 2)
    out = fn(x)
    expected = "float64" if dtype == "int32" else "float32"
    assert out.dtype == expected
    value = np.array([[1, 0, 1], [0, 0, 0]], dtype=dtype)
    got = sa.function([x], out)(value)
    ref = np_softmax if fn is nnet.softmax else np_log_softmax
    np.testing.assert_allclose(got, ref(value.astype("float64"), axis=-1), rtol=1e-6)


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_is_stable_for_large_inputs(dtype):
    x = _sym(dtype, 2)
    value = np.array([[1000, 0, -1000], [-1000, -1000, -1000], [1000, 1000, 1]],
                     dtype=dtype)
    sm, lsm = sa.function([x], [nnet.softmax(x), nnet.log_softmax(x)])(value)
    assert np.isfinite(sm).all() and np.isfinite(lsm).all()
    np.testing.assert_allclose(sm.sum(axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(sm[1], [1 / 3] * 3, rtol=1e-6)
    # log_softmax keeps precision where log(softmax) would give -inf
    np.testing.assert_allclose(lsm[0], [0.0, -1000.0, -2000.0], rtol=1e-6)
    np.testing.assert_allclose(lsm[2, :2], [-np.log(2.0)] * 2, rtol=1e-6)


@pytest.mark.parametrize("shape", [(4,), (6, 5), (2, 3, 7)])
def test_softmax_slices_sum_to_one(shape):
    x = _sym("float64", len(shape))
    for axis in range(len(shape)):
        value = _data(shape, "float64", scale=30.0)
        got = nnet.softmax(x, axis=axis).eval({x: value})
        np.testing.assert_allclose(got.sum(axis=axis), 1.0, rtol=1e-12)
        assert (got >= 0).all()


def test_softmax_static_shape_and_op_identity():
    x = T.tensor("float32", shape=(3, None))
    out = nnet.softmax(x)
    assert out.type.shape == (3, None)
    # axis is normalised, so equal computations have equal ops
    assert out.owner.op == Softmax(1) == nnet.softmax(x, axis=-1).owner.op
    assert nnet.log_softmax(x).owner.op == LogSoftmax(1)
    assert Softmax(1) != LogSoftmax(1)
    assert hash(Softmax(0)) == hash(Softmax(0))
    assert nnet.logsoftmax is nnet.log_softmax


@pytest.mark.parametrize("fn", [nnet.softmax, nnet.log_softmax])
def test_softmax_errors(fn):
    with pytest.raises(RankError, match="rank >= 1"):
        fn(T.dscalar("s"))
    with pytest.raises(RankError, match=r"axis 2 is out of range for a 2-d input"):
        fn(T.dmatrix("m"), axis=2)
    with pytest.raises(RankError, match=r"axis -3 is out of range"):
        fn(T.dmatrix("m"), axis=-3)
    with pytest.raises(TypeError, match="axis must be an int"):
        fn(T.dmatrix("m"), axis=None)
    with pytest.raises(DtypeError, match="complex"):
        fn(T.zmatrix("z"))
    with pytest.raises(RankError, match="axis 1 is out of range"):
        Softmax(1)(T.dvector("v"))


# -- categorical crossentropy -------------------------------------------------------


def _xent_int_ref(p, y):
    return -np.log(p[np.arange(len(y)), y])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("label_dtype", ["int64", "int32", "uint8"])
@pytest.mark.parametrize("shape", [(5, 3), (1, 4), (0, 3), (4, 1)])
def test_crossentropy_integer_targets(dtype, label_dtype, shape):
    p = _sym(dtype, 2, "p")
    y = _sym(label_dtype, 1, "y")
    probs = np_softmax(_data(shape, "float64"), axis=-1).astype(dtype)
    labels = RNG.integers(0, shape[1], shape[0]).astype(label_dtype)
    out = nnet.categorical_crossentropy(p, y)
    assert isinstance(out.owner.op, CrossentropyCategorical1Hot)
    assert out.dtype == dtype and out.ndim == 1
    check_against_numpy([p, y], out, [probs, labels], _xent_int_ref, dtype=dtype)
    check_infer_shape([p, y], out, [probs, labels])


def test_crossentropy_integer_targets_zero_probability_is_inf():
    p, y = T.dmatrix("p"), T.lvector("y")
    got = nnet.categorical_crossentropy(p, y).eval(
        {p: np.array([[1.0, 0.0]]), y: np.array([1])})
    assert got[0] == np.inf


def test_crossentropy_integer_targets_static_shape():
    p = T.tensor("float64", shape=(4, 3))
    out = nnet.crossentropy_categorical_1hot(p, T.lvector("y"))
    assert out.type.shape == (4,)
    out = nnet.crossentropy_categorical_1hot(T.dmatrix(), T.lvector(shape=(6,)))
    assert out.type.shape == (6,)


def test_crossentropy_integer_target_errors():
    p, y = T.dmatrix("p"), T.lvector("y")
    with pytest.raises(DtypeError, match="integer class indices, got float64"):
        nnet.crossentropy_categorical_1hot(p, T.dvector())
    with pytest.raises(DtypeError, match="float32 or float64, got int64"):
        nnet.crossentropy_categorical_1hot(T.lmatrix(), y)
    with pytest.raises(RankError, match="coding_dist must be a matrix"):
        nnet.crossentropy_categorical_1hot(T.dtensor3(), y)
    with pytest.raises(RankError, match="true_one_of_n must be a vector"):
        nnet.crossentropy_categorical_1hot(p, T.lmatrix())
    with pytest.raises(RankError, match="need a matrix coding_dist"):
        nnet.categorical_crossentropy(T.dtensor3(), T.lmatrix())
    with pytest.raises(RankError, match="rank of coding_dist"):
        nnet.categorical_crossentropy(p, T.lscalar())
    with pytest.raises(ShapeMismatchError, match="4 rows but true_one_of_n has 5"):
        nnet.crossentropy_categorical_1hot(
            T.tensor("float64", shape=(4, 3)), T.lvector(shape=(5,)))

    f = sa.function([p, y], nnet.categorical_crossentropy(p, y))
    probs = np.full((2, 3), 1 / 3)
    with pytest.raises(IndexError, match="class index 3 is out of range .* 3 columns"):
        f(probs, np.array([0, 3]))
    with pytest.raises(IndexError, match="class index -1"):
        f(probs, np.array([-1, 0]))
    with pytest.raises(ShapeMismatchError, match="2 rows but true_one_of_n has 3"):
        f(probs, np.array([0, 1, 2]))


_needs_sum = pytest.mark.skipif(not hasattr(T, "sum"), reason="T.sum not there yet")


@_needs_sum
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(5, 3), (4,), (2, 3, 4), (0, 3)])
def test_crossentropy_probability_targets(dtype, shape):
    p = _sym(dtype, len(shape), "p")
    t = _sym(dtype, len(shape), "t")
    probs = np_softmax(_data(shape, "float64"), axis=-1).astype(dtype)
    targets = np_softmax(_data(shape, "float64"), axis=-1).astype(dtype)
    out = nnet.categorical_crossentropy(p, t)
    assert out.ndim == len(shape) - 1
    check_against_numpy([p, t], out, [probs, targets],
                        lambda a, b: -(b * np.log(a)).sum(axis=-1), dtype=dtype)


@_needs_sum
def test_crossentropy_one_hot_matches_integer_targets():
    p, y, t = T.dmatrix("p"), T.lvector("y"), T.dmatrix("t")
    probs = np_softmax(_data((6, 4), "float64"), axis=-1)
    labels = RNG.integers(0, 4, 6)
    one_hot = np.eye(4)[labels]
    f = sa.function([p, y, t], [nnet.categorical_crossentropy(p, y),
                                nnet.categorical_crossentropy(p, t)])
    a, b = f(probs, labels, one_hot)
    np.testing.assert_allclose(a, b, rtol=1e-12)


# -- binary crossentropy and activations --------------------------------------------


def _relu_ref(alpha):
    return lambda x: np.where(x > 0, x, alpha * x)


def _ultra_fast_ref(x):
    u = np.abs(x) * 0.5
    z = np.where(u < 1.7, 1.5 * u / (1 + u),
                 np.where(u < 3, 0.935409070603099 + 0.0458812946797165 * (u - 1.7),
                          0.99505475368673))
    return 0.5 * np.sign(x) * z + 0.5


# (name, symbolic function, NumPy reference)
ACTIVATIONS = [
    ("sigmoid", nnet.sigmoid, expit),
    ("softplus", nnet.softplus, lambda x: np.logaddexp(0, x)),
    ("relu", nnet.relu, _relu_ref(0.0)),
    ("relu_leaky", lambda x: nnet.relu(x, alpha=0.1), _relu_ref(0.1)),
    ("relu_alpha1", lambda x: nnet.relu(x, alpha=1), lambda x: x),
    ("elu", nnet.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))),
    ("elu_alpha", lambda x: nnet.elu(x, alpha=0.5),
     lambda x: np.where(x > 0, x, 0.5 * np.expm1(np.minimum(x, 0)))),
    ("hard_sigmoid", nnet.hard_sigmoid, lambda x: np.clip(0.2 * x + 0.5, 0, 1)),
    ("ultra_fast_sigmoid", nnet.ultra_fast_sigmoid, _ultra_fast_ref),
    ("softsign", nnet.softsign, lambda x: x / (1 + np.abs(x))),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(), (7,), (3, 4), (0, 2)])
@pytest.mark.parametrize(("name", "fn", "ref"), ACTIVATIONS,
                         ids=[a[0] for a in ACTIVATIONS])
def test_activations_against_numpy(name, fn, ref, shape, dtype):
    x = _sym(dtype, len(shape))
    value = _data(shape, dtype)
    if value.size:
        value.flat[0] = 0.0  # the kink of relu/elu and sign(0) of ultra_fast
    out = fn(x)
    check_against_numpy([x], out, [value], lambda v: ref(v.astype("float64")),
                        dtype=dtype)


@pytest.mark.parametrize(("name", "fn", "ref"), ACTIVATIONS,
                         ids=[a[0] for a in ACTIVATIONS])
def test_activations_are_finite_at_extremes(name, fn, ref):
    x = T.dvector("x")
    value = np.array([-1000.0, -30.0, 30.0, 1000.0])
    got = fn(x).eval({x: value})
    assert np.isfinite(got).all(), got
    np.testing.assert_allclose(got, ref(value), rtol=1e-12)


def test_activation_dtypes_follow_theano():
    for dtype in ("float32", "float64"):
        x = _sym(dtype, 1)
        for _, fn, _ in ACTIVATIONS:
            assert fn(x).dtype == dtype
    # integer inputs give floats, like Theano's formulas
    assert nnet.relu(T.ivector()).dtype == "float64"
    assert nnet.sigmoid(T.bvector()).dtype == "float32"


def test_relu_with_symbolic_alpha():
    x, a = T.dvector("x"), T.dscalar("a")
    f = sa.function([x, a], nnet.relu(x, a))
    value = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(f(value, 0.25), [-0.5, 0.0, 3.0])
    np.testing.assert_allclose(f(value, 0.0), [0.0, 0.0, 3.0])


def test_ultra_fast_sigmoid_accuracy_bound():
    x = T.dvector("x")
    value = np.linspace(-20, 20, 40001)
    got = nnet.ultra_fast_sigmoid(x).eval({x: value})
    err = np.abs(got - expit(value))
    assert err.max() < 0.03  # Theano's formula: 0.0276 near x = 0.54
    assert got.min() > 0 and got.max() < 1
    mirrored = nnet.ultra_fast_sigmoid(x).eval({x: -value})
    np.testing.assert_allclose(got + mirrored, 1.0, rtol=1e-12)  # odd about 1/2


def test_hard_sigmoid_accuracy_bound():
    x = T.dvector("x")
    value = np.linspace(-20, 20, 4001)
    got = nnet.hard_sigmoid(x).eval({x: value})
    assert np.abs(got - expit(value)).max() < 0.1


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(6,), (3, 4), (0,)])
def test_binary_crossentropy(dtype, shape):
    o = _sym(dtype, len(shape), "o")
    t = _sym(dtype, len(shape), "t")
    out_v = expit(_data(shape, "float64")).astype(dtype)
    tgt_v = (RNG.random(shape) > 0.5).astype(dtype)
    out = nnet.binary_crossentropy(o, t)
    check_against_numpy(
        [o, t], out, [out_v, tgt_v],
        lambda a, b: -(b * np.log(a) + (1 - b) * np.log(1 - a)), dtype=dtype)


def test_binary_crossentropy_broadcasts_scalar_target():
    o = T.dvector("o")
    got = nnet.binary_crossentropy(o, 1.0).eval({o: np.array([0.5, 0.25])})
    np.testing.assert_allclose(got, -np.log([0.5, 0.25]))


def test_nnet_names_are_reexported():
    import symarray.tensor.nnet as nnet_pkg

    for name in ("sigmoid", "softplus", "softmax", "log_softmax", "relu", "elu",
                 "hard_sigmoid", "ultra_fast_sigmoid", "softsign",
                 "categorical_crossentropy", "binary_crossentropy",
                 "crossentropy_categorical_1hot"):
        assert getattr(T.nnet, name) is getattr(nnet_pkg, name)
    assert T.nnet.sigmoid is T.sigmoid
    assert T.nnet.softplus is T.softplus


# -- gradients (L_op checked against central differences) ---------------------------


def _numeric_vjp(f, x, g, eps=1e-6):
    """``sum(g * df/dx)`` for every entry of ``x``, by central differences."""
    out = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        out[idx] = np.sum(g * (f(xp) - f(xm))) / (2 * eps)
    return out


def _lop_value(out, wrt_index, values, g_value):
    node = out.owner
    g = out.type()
    grads = node.op.L_op(node.inputs, node.outputs, [g])
    fn = sa.function(list(node.inputs) + [g], grads[wrt_index],
                     on_unused_input="ignore")
    return fn(*values, g_value), grads, g


@pytest.mark.parametrize(("shape", "axis"), [((5,), 0), ((3, 4), -1), ((3, 4), 0),
                                             ((2, 3, 4), 1)])
@pytest.mark.parametrize(("fn", "ref"), [(nnet.softmax, np_softmax),
                                         (nnet.log_softmax, np_log_softmax)],
                         ids=["softmax", "log_softmax"])
def test_softmax_gradients(fn, ref, shape, axis):
    x = _sym("float64", len(shape))
    value = _data(shape, "float64")
    g_value = _data(shape, "float64")
    got, _, _ = _lop_value(fn(x, axis=axis), 0, [value], g_value)
    expected = _numeric_vjp(lambda v: ref(v, axis=axis), value, g_value)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_crossentropy_integer_targets_gradient():
    p, y = T.dmatrix("p"), T.lvector("y")
    probs = RNG.uniform(0.2, 0.8, (4, 3))
    labels = np.array([0, 2, 2, 1])
    g_value = _data((4,), "float64")
    out = nnet.categorical_crossentropy(p, y)
    got, grads, g = _lop_value(out, 0, [probs, labels], g_value)
    expected = _numeric_vjp(lambda v: _xent_int_ref(v, labels), probs, g_value)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)
    assert grads[1] is None  # integer labels: no gradient
    check_infer_shape([g, p, y], grads[0], [g_value, probs, labels])
    with pytest.raises(DtypeError, match="class indices must be integers"):
        nnet.crossentropy_categorical_1hot_grad(T.dvector(), p, T.dvector())
    with pytest.raises(RankError, match="expected \\(vector, matrix, vector\\)"):
        nnet.crossentropy_categorical_1hot_grad(T.dvector(), T.dvector(), y)


@pytest.mark.skipif(not hasattr(T, "grad"), reason="T.grad not there yet")
def test_softmax_crossentropy_through_t_grad():
    x, y = T.dmatrix("x"), T.lvector("y")
    cost = nnet.categorical_crossentropy(nnet.softmax(x), y).sum()
    gx = sa.function([x, y], T.grad(cost, x))
    value = _data((5, 4), "float64")
    labels = np.array([0, 1, 3, 3, 2])
    # d/dx sum(-log softmax(x)[y]) = softmax(x) - one_hot(y)
    np.testing.assert_allclose(gx(value, labels),
                               np_softmax(value, axis=-1) - np.eye(4)[labels],
                               rtol=1e-10, atol=1e-12)
