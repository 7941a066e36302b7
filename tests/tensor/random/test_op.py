"""RandomVariable: purity, no constant folding, merging, shapes, gradients."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T
from symarray.gradient import NullTypeGradError
from symarray.tensor.random import basic, mrg_op, random_state_type
from symarray.tensor.random.basic import NormalRV, UniformRV
from symarray.tensor.random.op import default_float_dtype, normalize_size


def test_props_and_str() -> None:
    assert UniformRV("float64") == UniformRV("float64") != UniformRV("float32")
    assert UniformRV("float64") != NormalRV("float64")
    op = UniformRV("float32", inplace=True)
    assert op.destroy_map == {0: [0]} and str(op) == "UniformRV{float32}{inplace}"
    assert UniformRV("float64").destroy_map == {}


def test_perform_is_pure() -> None:
    rng = sa.shared(np.random.RandomState(0))
    new, u = basic.uniform(rng, (3,))
    state = rng.get_value(borrow=True).get_state()[1].copy()
    out = [[None], [None]]
    u.owner.op.perform(u.owner, [rng.get_value(borrow=True), np.array([3]), 0.0, 1.0],
                       out)
    np.testing.assert_array_equal(rng.get_value(borrow=True).get_state()[1], state)
    assert out[0][0] is not rng.get_value(borrow=True)


def test_constant_generator_is_not_folded() -> None:
    r = random_state_type.make_constant(np.random.RandomState(3))
    _, u = basic.uniform(r, (2,))
    states = mrg_op.substream_states(mrg_op.seed_state(3), 2)
    _, v = mrg_op.mrg_uniform(T.as_tensor_variable(states), np.array([2]))
    f = sa.function([], [u, v])
    names = {type(n.op).__name__ for n in f.maker.fgraph.apply_nodes}
    assert {"UniformRV", "MRGUniform"} <= names  # still ops, run at every call
    a, b = f()
    np.testing.assert_array_equal(a, np.random.RandomState(3).uniform(size=2))
    np.testing.assert_array_equal(f()[0], a)  # a constant state: the same draws


def test_identical_nodes_merge_into_one_draw() -> None:
    # the same op on the same state is the same draw (the op is a function)
    rng = sa.shared(np.random.RandomState(4))
    _, a = basic.uniform(rng, (3,))
    _, b = basic.uniform(rng, (3,))
    _, c = basic.normal(rng, (3,))
    f = sa.function([], [a, b, c])
    x, y, z = f()
    np.testing.assert_array_equal(x, y)
    ops = [type(n.op).__name__ for n in f.maker.fgraph.apply_nodes]
    assert sorted(ops) == ["NormalRV", "UniformRV"]


def test_infer_shape_for_symbolic_size() -> None:
    x = T.dmatrix("x")
    rng = sa.shared(np.random.RandomState(4))
    _, m = basic.multinomial(rng, (x.shape[0],), 2, T.dvector("p"))
    f = sa.function([x, m.owner.inputs[3]], m.shape)
    assert f(np.zeros((5, 2)), np.array([0.5, 0.25, 0.25])).tolist() == [5, 3]


def test_gradients() -> None:
    rng = sa.shared(np.random.RandomState(4))
    lo = T.dscalar("lo")
    _, u = basic.uniform(rng, (3,), lo, 2.0)
    with pytest.raises(NullTypeGradError, match="No gradient is defined"):
        T.grad(u.sum(), lo)
    with pytest.raises(NullTypeGradError, match="Rop"):
        sa.gradient.Rop(u, lo, T.dscalar())
    n = T.lscalar("n")
    _, b = basic.binomial(rng, (3,), n, 0.5)
    assert u.owner.op.L_op(u.owner.inputs, u.owner.outputs, [None, None])[:2] == [
        None, None]
    assert b.owner.op.L_op(b.owner.inputs, b.owner.outputs, [None, None])[2] is None


def test_default_float_dtype_follows_floatx() -> None:
    with sa.config.change_flags(floatX="float32"):
        assert default_float_dtype(0.0, 1.0) == "float32"
        assert default_float_dtype(T.dscalar(), 1.0) == "float64"
        rng = sa.shared(np.random.RandomState(0))
        assert basic.uniform(rng, (2,))[1].dtype == "float32"
    assert default_float_dtype(np.float32(1.0)) == "float64"


def test_normalize_size() -> None:
    assert normalize_size("f", (2, 3), None) == [2, 3]
    assert normalize_size("f", 4, None) == [4]
    assert normalize_size("f", None, None, [np.zeros((2, 1)), np.zeros(3)]) == [2, 3]
    entries = normalize_size("f", T.dmatrix().shape, None)
    assert len(entries) == 2
