"""Tests of symarray.scalar.composite: the scalar programs of fused nodes."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from op_checks import assert_allclose_typed, check_against_numpy, check_infer_shape

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.errors import DtypeError
from symarray.scalar import get_scalar_op
from symarray.scalar.composite import Composite, CompositeBuilder, Step
from symarray.tensor.elemwise import Cast, Elemwise

DTYPES = ["float32", "float64", "int32", "int64"]
NO_REWRITES = sa.Mode(linker="py", optimizer=None)

add, mul, sub = (get_scalar_op(n) for n in ("add", "mul", "sub"))
exp, neg, sqr = (get_scalar_op(n) for n in ("exp", "neg", "sqr"))


def _axpy(dtype: str) -> Composite:
    """a * 3 + b, in ``dtype``."""
    b = CompositeBuilder([dtype, dtype])
    x, y = b.inputs
    return b.build([b.apply(add, [b.apply(mul, [x, b.constant(3, dtype)]), y])])


# -- building and evaluating ---------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_compute_matches_numpy(dtype):
    comp = _axpy(dtype)
    a = np.arange(6).astype(dtype).reshape(2, 3)
    b = np.arange(3).astype(dtype)
    got = comp.compute([a, b], dtype)
    assert_allclose_typed(got, a * np.asarray(3, dtype) + b, dtype)


def test_steps_keep_the_dtypes_they_were_built_with():
    # int32 -> exp gives float64 (the "float" rule), then a cast to float32
    b = CompositeBuilder(["int32"])
    e = b.apply(exp, [b.inputs[0]])
    assert b.dtype(e) == "float64"
    c = b.apply(Cast("float32"), [e])
    comp = b.build([c])
    assert comp.output_dtypes(["int32"]) == ["float32"]
    got = comp.compute([np.array([0, 1], dtype="int32")], "float32")
    assert_allclose_typed(got, np.exp([0.0, 1.0]).astype("float32"), "float32")


def test_multiple_outputs_and_a_reused_intermediate():
    b = CompositeBuilder(["float64"])
    (x,) = b.inputs
    e = b.apply(exp, [x])
    s = b.apply(sqr, [e])       # e is read again below: must not be freed
    t = b.apply(add, [e, s])
    comp = b.build([t, e])
    assert comp.nout == 2 and comp.output_dtype_list == ["float64", "float64"]
    v = np.linspace(-1, 1, 5)
    got_t, got_e = comp.compute_all([v])
    np.testing.assert_allclose(got_e, np.exp(v))
    np.testing.assert_allclose(got_t, np.exp(v) + np.exp(v) ** 2)


def test_outputs_never_alias_inputs_or_each_other():
    b = CompositeBuilder(["float64"])
    (x,) = b.inputs
    c = b.constant(2.0, "float64")
    comp = b.build([x, x, c])
    v = np.ones(3)
    r = comp.compute_all([v])
    assert not np.shares_memory(r[0], v) and not np.shares_memory(r[0], r[1])
    r[2][...] = 5.0  # the embedded constant stays 2
    assert float(comp.compute_all([v])[2]) == 2.0


def test_unused_steps_and_constants_are_dropped():
    b = CompositeBuilder(["float64"])
    (x,) = b.inputs
    b.apply(neg, [b.apply(exp, [x])])  # dead
    out = b.apply(mul, [x, b.constant(2.0, "float64")])
    b.constant(7.0, "float64")  # never read
    comp = b.build([out])
    assert len(comp.steps) == 1 and len(comp.constants) == 1


def test_equal_constants_share_a_register():
    b = CompositeBuilder(["float64"])
    assert b.constant(1.5, "float64") == b.constant(np.float64(1.5), "float64")
    assert b.constant(1.5, "float64") != b.constant(1.5, "float32")
    with pytest.raises(ValueError, match="one element"):
        b.constant([1.0, 2.0], "float64")


def test_inlining_a_composite():
    inner = _axpy("float64")
    b = CompositeBuilder(["float64", "float64"])
    x, y = b.inputs
    out = b.apply(neg, [b.apply(inner, [x, y])])
    comp = b.build([out])
    assert all(not isinstance(s.op, Composite) for s in comp.steps)
    v, w = np.arange(3.0), np.ones(3)
    np.testing.assert_allclose(comp.compute([v, w], "float64"), -(v * 3 + w))


# -- identity and names --------------------------------------------------------


def test_equality_is_structural():
    assert _axpy("float64") == _axpy("float64")
    assert hash(_axpy("float64")) == hash(_axpy("float64"))
    assert _axpy("float64") != _axpy("float32")
    assert Elemwise(_axpy("float64")) == Elemwise(_axpy("float64"))
    b = CompositeBuilder(["float64"])
    other = b.build([b.apply(add, [b.inputs[0], b.constant(3.0, "float64")])])
    assert other != _axpy("float64") and other != add


def test_nan_constants_compare_equal():
    def build():
        b = CompositeBuilder(["float64"])
        return b.build([b.apply(add, [b.inputs[0], b.constant(np.nan, "float64")])])

    assert build() == build()


def test_readable_name():
    assert str(_axpy("float64")) == "Composite{add(mul(i0, 3.0), i1)}"
    b = CompositeBuilder(["float64"])
    r = b.inputs[0]
    for _ in range(100):
        r = b.apply(exp, [r])
    assert len(str(b.build([r]))) < 140  # long programs are shortened


def test_pickles():
    comp = _axpy("float64")
    comp.compute([np.ones(2), np.ones(2)], "float64")  # fills the caches
    back = pickle.loads(pickle.dumps(comp))
    assert back == comp
    np.testing.assert_allclose(back.compute([np.ones(2), np.ones(2)], "float64"),
                               [4.0, 4.0])


# -- errors --------------------------------------------------------------------


def test_refuses_other_input_dtypes():
    with pytest.raises(DtypeError, match=r"built for input dtypes \['float64'"):
        _axpy("float64").output_dtypes(["float32", "float64"])


@pytest.mark.parametrize(("steps", "outputs", "match"), [
    ([Step(add, (0, 5), "float64")], [1], "reads register 5"),
    ([Step(add, (0,), "float64")], [1], "takes 2 arguments"),
    ([], [3], "output register 3"),
    ([], [], "at least one output"),
])
def test_malformed_programs_are_refused(steps, outputs, match):
    with pytest.raises(ValueError, match=match):
        Composite(["float64"], [], steps, outputs)


def test_a_step_may_not_be_a_composite():
    with pytest.raises(TypeError, match="CompositeBuilder"):
        Composite(["float64", "float64"], [], [Step(_axpy("float64"), (0, 1),
                                                   "float64")], [2])


# -- C rendering ---------------------------------------------------------------


def test_c_code_renders_one_statement_per_step():
    code = _axpy("float32").c_code(["a", "b"], ["z"])
    assert code == (
        "float v3 = a * ((float)3.0);\n"
        "float v4 = v3 + b;\n"
        "z = v4;"
    )


def test_c_code_for_casts_and_special_constants():
    b = CompositeBuilder(["float64"])
    x = b.inputs[0]
    m = b.apply(get_scalar_op("maximum"), [x, b.constant(-np.inf, "float64")])
    comp = b.build([b.apply(Cast("int32"), [m])])
    code = comp.c_code(["x"], ["z"])
    assert "fmax_nan(x, ((double)-INFINITY))" in code
    assert "int32_t v3 = (int32_t)(v2);" in code


def test_c_code_is_none_for_complex():
    b = CompositeBuilder(["complex128"])
    comp = b.build([b.apply(neg, [b.inputs[0]])])
    assert comp.c_code(["x"], ["z"]) is None
    with pytest.raises(ValueError, match="1 inputs and 1 outputs"):
        comp.c_code(["x", "y"], ["z"])


# -- as an Elemwise op ---------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("xshape", "yshape"), [
    ((3, 4), (3, 4)), ((3, 1), (1, 4)), ((0, 4), (1, 4)), ((2, 3), (2, 3)),
])
def test_elemwise_composite_against_numpy(dtype, xshape, yshape):
    x = T.tensor(dtype, shape=(None, None), name="x")
    y = T.tensor(dtype, shape=(None, None), name="y")
    out = Elemwise(_axpy(dtype))(x, y)
    rng = np.random.default_rng(0)
    a = (rng.random(xshape) * 10).astype(dtype)
    b = (rng.random(yshape) * 10).astype(dtype)
    check_against_numpy([x, y], out, [a, b],
                        lambda a, b: a * np.asarray(3, dtype) + b, dtype)
    check_infer_shape([x, y], out, [a, b])


def test_elemwise_composite_with_two_outputs():
    b = CompositeBuilder(["float64"])
    e = b.apply(exp, [b.inputs[0]])
    comp = b.build([e, b.apply(neg, [e])])
    x = T.dvector("x")
    o1, o2 = Elemwise(comp)(x)
    f = sa.function([x], [o1, o2], mode=NO_REWRITES)
    v = np.array([0.0, 1.0])
    r1, r2 = f(v)
    np.testing.assert_allclose(r1, np.exp(v))
    np.testing.assert_allclose(r2, -np.exp(v))


def test_elemwise_composite_refuses_other_dtypes():
    with pytest.raises(DtypeError, match="built for input dtypes"):
        Elemwise(_axpy("float64"))(T.fvector(), T.dvector())


def test_gradient_of_a_fused_node_expands_the_program():
    x, y = T.dvector("x"), T.dvector("y")
    out = Elemwise(_axpy("float64"))(T.exp(x), y)
    gx, gy = sa.grad(out.sum(), [x, y])
    f = sa.function([x, y], [gx, gy], mode=NO_REWRITES)
    v = np.array([0.0, 1.0])
    rx, ry = f(v, np.ones(2))
    np.testing.assert_allclose(rx, 3 * np.exp(v))
    np.testing.assert_allclose(ry, [1.0, 1.0])
    jv = sa.Rop(out, x, T.ones_like(x))
    np.testing.assert_allclose(sa.function([x, y], jv, mode=NO_REWRITES)(v, v),
                               3 * np.exp(v))
