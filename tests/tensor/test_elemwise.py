"""Elemwise (broadcasting, static and run-time shape checks, in-place),
DimShuffle, transpose and cast.  Per-op values are in test_math.py."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from op_checks import check_against_numpy, check_infer_shape

import symarray as sa
import symarray.tensor as T  # noqa: N812 - Theano's convention
from symarray.errors import DtypeError, RankError, ShapeMismatchError
from symarray.scalar import get_scalar_op
from symarray.tensor.elemwise import (
    Cast,
    DimShuffle,
    Elemwise,
    broadcast_static_shape,
)

# -- broadcasting ---------------------------------------------------------


def test_lower_rank_inputs_are_padded_on_the_left() -> None:
    m, v = T.dmatrix(), T.dvector()
    out = m + v
    assert out.type.shape == (None, None)
    padded = out.owner.inputs[1]
    assert isinstance(padded.owner.op, DimShuffle)
    assert padded.owner.op.new_order == ("x", 0)
    assert padded.broadcastable == (True, False)


@pytest.mark.parametrize(("shapes", "expected"), [
    ([(3,), (3,)], (3,)),
    ([(1,), (4,)], (4,)),
    ([(None,), (4,)], (4,)),
    ([(None,), (1,)], (None,)),
    ([(1, None), (None, 1)], (None, None)),
    ([(1, 1), (1, 1)], (1, 1)),
    ([(0, 3), (1, 3)], (0, 3)),
    ([(0,), (None,)], (0,)),
    ([(), ()], ()),
])
def test_broadcast_static_shape(shapes: list[tuple[Any, ...]],
                                expected: tuple[Any, ...]) -> None:
    assert broadcast_static_shape(shapes) == expected


def test_static_shape_mismatch_is_caught_when_the_graph_is_built() -> None:
    a = T.tensor("float64", shape=(3,))
    b = T.tensor("float64", shape=(4,))
    with pytest.raises(ShapeMismatchError, match=r"add: static lengths \[3, 4\] in "
                       r"dimension 0 cannot be broadcast together \(input shapes "
                       r"\[\(3,\), \(4,\)\]\)"):
        T.add(a, b)
    c = T.tensor("float64", shape=(2, 3))
    with pytest.raises(ShapeMismatchError, match=r"mul: static lengths \[3, 4\] in "
                       "dimension 1"):
        T.mul(c, T.tensor("float64", shape=(None, 4)))


def test_run_time_shape_mismatch_names_the_node_and_the_user_line() -> None:
    x, y = T.dvector("x"), T.dmatrix("y")
    line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
    z = x * y
    f = sa.function([x, y], z)
    with pytest.raises(ValueError) as info:
        f(np.ones(3), np.ones((2, 4)))
    err = info.value
    assert isinstance(err, ShapeMismatchError)
    assert "mul: input shapes (1, 3), (2, 4) cannot be broadcast together" in str(err)
    note = "\n".join(getattr(err, "__notes__", []))
    assert "Apply node that caused the error: mul(" in note
    assert "shape=(2, 4)" in note and "dtype=float64" in note
    assert f'File "{__file__}", line {line}, in ' in note
    assert "HINT:" in note


def test_run_time_broadcasting_of_length_one() -> None:
    """Lengths of 1 broadcast at run time even where the type does not say so."""
    x, y = T.dmatrix("x"), T.dmatrix("y")
    pairs = [((1, 4), (3, 4)), ((3, 1), (1, 4)), ((1, 3), (0, 3)), ((1, 1), (0, 0))]
    for a, b in pairs:
        vals = [np.ones(a), np.full(b, 2.0)]
        check_against_numpy([x, y], x + y, vals, np.add)
        check_infer_shape([x, y], x + y, vals)


def test_infer_shape_with_three_inputs_and_zero_lengths() -> None:
    a, b, c = T.dvector(), T.dvector(), T.dvector()
    out = T.clip(a, b, c)
    for shapes in [(1, 0, 1), (0, 1, 1), (1, 1, 5), (4, 4, 1)]:
        vals = [np.zeros(n) for n in shapes]
        check_infer_shape([a, b, c], out, vals)


def test_infer_shape_uses_static_lengths() -> None:
    a = T.tensor("float64", shape=(None, 3))
    b = T.tensor("float64", shape=(2, 1))
    out = a + b
    assert out.type.shape == (2, 3)
    node = out.owner
    shapes = node.op.infer_shape(None, node, [(T.lscalar(), T.lscalar()),
                                              (T.lscalar(), T.lscalar())])
    assert shapes == [(2, 3)]


# -- Elemwise the op -----------------------------------------------------


def test_elemwise_equality_and_str() -> None:
    assert Elemwise(get_scalar_op("add")) == T.add
    assert hash(Elemwise(get_scalar_op("add"))) == hash(T.add)
    assert Elemwise(get_scalar_op("add")) != T.mul
    assert str(T.exp) == "exp"
    assert Elemwise(get_scalar_op("exp"), {0: 0}) != T.exp
    assert str(Elemwise(get_scalar_op("exp"), {0: 0})) == "exp_inplace"


def test_inplace_elemwise_overwrites_its_input() -> None:
    op = Elemwise(get_scalar_op("exp"), {0: 0})
    assert op.destroy_map == {0: [0]}
    x = T.dvector()
    node = op.make_node(x)
    data = np.zeros(3)
    storage: list[list[Any]] = [[None]]
    op.perform(node, [data], storage)
    assert storage[0][0] is data
    np.testing.assert_array_equal(data, np.ones(3))


def test_inplace_elemwise_needs_matching_dtype() -> None:
    op = Elemwise(get_scalar_op("exp"), {0: 0})
    with pytest.raises(TypeError, match=r"input 0 \(Tensor\{int32, \(\?,\)\}\) cannot "
                       r"hold output 0 \(dtype float64"):
        op.make_node(T.ivector())



def _sum_and_difference(pattern: dict[int, int]) -> Elemwise:
    """A two-output Composite ``(x + y, x - y)`` overwriting ``pattern``."""
    from symarray.scalar.composite import CompositeBuilder

    b = CompositeBuilder(["float64", "float64"])
    add = b.apply(get_scalar_op("add"), b.inputs, "float64")
    sub = b.apply(get_scalar_op("sub"), b.inputs, "float64")
    return Elemwise(b.build([add, sub]), pattern)


def _same(a: np.ndarray) -> list[np.ndarray]:
    return [a, a]


def _overlapping(a: np.ndarray) -> list[np.ndarray]:
    return [a[:3], a[1:4]]


def _distinct(a: np.ndarray) -> list[np.ndarray]:
    return [a[:3], a[3:]]


# (id, inplace pattern, inputs made from one buffer of 6, outputs written in place)
ALIASED_INPLACE = [
    ("same array twice", {0: 0, 1: 1}, lambda a: _same(a[:3]), [0]),
    ("overlapping views", {0: 0, 1: 1}, _overlapping, [0]),
    ("two outputs, one input", {0: 0, 1: 0}, _distinct, [0]),
    ("distinct arrays", {0: 0, 1: 1}, _distinct, [0, 1]),
]


@pytest.mark.parametrize("pattern, make, in_place", [r[1:] for r in ALIASED_INPLACE],
                         ids=[r[0] for r in ALIASED_INPLACE])
def test_inplace_outputs_get_their_own_buffers(pattern: dict[int, int], make: Any,
                                               in_place: list[int]) -> None:
    # the destroy handler never builds this (a node may not overwrite an input
    # it also reads through another); aliased arguments can reach perform
    op = _sum_and_difference(pattern)
    node = op.make_node(T.dvector("x"), T.dvector("y"))
    buffer = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
    inputs = make(buffer)
    x, y = (np.array(v) for v in inputs)  # their values before the call
    storage: list[list[Any]] = [[None], [None]]
    op.perform(node, inputs, storage)
    got = [s[0] for s in storage]
    np.testing.assert_array_equal(got[0], x + y)
    np.testing.assert_array_equal(got[1], x - y)
    assert not np.shares_memory(got[0], got[1])
    for o in range(2):
        assert (got[o] is inputs[pattern[o]]) == (o in in_place)

@pytest.mark.parametrize("name", ["real", "conj", "abs", "add", "maximum"])
def test_outputs_never_alias_inputs(name: str) -> None:
    op = getattr(T, name)
    nin = op.scalar_op.nin
    xs = [T.dvector() for _ in range(nin)]
    node = op(*xs).owner
    data = [np.arange(3.0) for _ in range(nin)]
    storage: list[list[Any]] = [[None]]
    op.perform(node, data, storage)
    assert not any(np.shares_memory(storage[0][0], d) for d in data)
    assert storage[0][0].dtype == node.outputs[0].dtype


def test_scalar_constant_value_folds_elemwise() -> None:
    out = T.constant(2) * 3 + T.constant(1.5)
    assert T.get_scalar_constant_value(out) == 7.5


def test_elemwise_rejects_non_tensors() -> None:
    with pytest.raises(TypeError, match="cannot make a tensor constant from strings"):
        T.add(T.dvector(), "a")


# -- hypothesis: random broadcasting against NumPy ------------------------

_BINARY_FLOAT = ["add", "sub", "mul", "true_div", "maximum", "minimum", "arctan2",
                 "logaddexp", "lt", "ge", "eq", "neq"]
_UNARY_FLOAT = ["exp", "sin", "tanh", "abs", "neg", "sqr", "floor", "sigmoid"]
_REFS = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "true_div": np.true_divide,
    "maximum": np.maximum, "minimum": np.minimum, "arctan2": np.arctan2,
    "logaddexp": np.logaddexp, "lt": np.less, "ge": np.greater_equal,
    "eq": np.equal, "neq": np.not_equal, "exp": np.exp, "sin": np.sin,
    "tanh": np.tanh, "abs": np.abs, "neg": np.negative, "sqr": np.square,
    "floor": np.floor, "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
}


@st.composite
def _broadcastable_shapes(draw: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    ndim = draw(st.integers(0, 3))
    full = draw(st.lists(st.integers(0, 3), min_size=ndim, max_size=ndim))
    a = tuple(d if draw(st.booleans()) else 1 for d in full)
    b = tuple(d if draw(st.booleans()) else 1 for d in full)
    drop = draw(st.integers(0, ndim))
    return a[drop:], b  # the first input may have a lower rank


@given(
    shapes=_broadcastable_shapes(),
    op=st.sampled_from(_BINARY_FLOAT),
    dtype=st.sampled_from(["float32", "float64"]),
    static=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_binary_broadcasting_matches_numpy(shapes: Any, op: str, dtype: str,
                                           static: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a_shape, b_shape = shapes
    pattern = (lambda s: s) if static else (lambda s: tuple(
        1 if (d == 1 and rng.integers(2)) else None for d in s))
    x = T.tensor(dtype, shape=pattern(a_shape))
    y = T.tensor(dtype, shape=pattern(b_shape))
    vals = [rng.normal(size=a_shape).astype(dtype),
            rng.normal(size=b_shape).astype(dtype) + 3]
    out = getattr(T, op)(x, y)
    expected = np.broadcast_shapes(a_shape, b_shape)
    assert out.ndim == len(expected)
    for s, n in zip(out.type.shape, expected, strict=True):
        assert s is None or s == n
    check_against_numpy([x, y], out, vals, _REFS[op])
    check_infer_shape([x, y], out, vals)


@given(
    shapes=_broadcastable_shapes(),
    ops=st.lists(st.sampled_from(_UNARY_FLOAT), min_size=1, max_size=3),
    dtype=st.sampled_from(["float32", "float64", "int32"]),
    seed=st.integers(0, 2**16),
)
def test_chained_ops_match_numpy(shapes: Any, ops: list[str], dtype: str,
                                 seed: int) -> None:
    rng = np.random.default_rng(seed)
    a_shape, b_shape = shapes
    x, y = T.tensor(dtype, shape=(None,) * len(a_shape)), T.tensor(
        dtype, shape=(None,) * len(b_shape))
    a = (rng.normal(size=a_shape) * 2).astype(dtype)
    b = (rng.normal(size=b_shape) * 2).astype(dtype)
    out = x * y
    for name in ops:
        out = getattr(T, name)(out)

    def ref(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        r = u * v
        for name in ops:
            if r.dtype.kind in "iu" and name not in ("abs", "neg", "sqr"):
                r = r.astype("float64")
            r = _REFS[name](r)
        return r

    check_against_numpy([x, y], out, [a, b], ref)


# -- DimShuffle -----------------------------------------------------------


def test_dimshuffle_inserts_broadcastable_dims() -> None:
    v = T.dvector()
    out = v.dimshuffle("x", 0, "x")
    assert out.type.shape == (1, None, 1)
    check_against_numpy([v], out, [np.arange(3.0)], lambda a: a[None, :, None])
    check_infer_shape([v], out, [np.arange(3.0)])


def test_dimshuffle_permutes_and_drops() -> None:
    x = T.tensor("float32", shape=(None, 1, None))
    out = x.dimshuffle(2, 0)
    assert out.type.shape == (None, None)
    val = np.arange(6, dtype="float32").reshape(2, 1, 3)
    check_against_numpy([x], out, [val], lambda a: a[:, 0, :].T, "float32")
    check_infer_shape([x], out, [val])
    assert T.dimshuffle(x, [2, "x", 1, 0]).type.shape == (None, 1, 1, None)


def test_dimshuffle_output_is_a_view() -> None:
    assert DimShuffle(2, (1, 0)).view_map == {0: [0]}
    x = T.tensor("float64", shape=(None, 1, None))
    for pattern in [(2, 0), ("x", 0, 2), (2, 1, 0, "x"), (0, 2)]:
        node = x.dimshuffle(*pattern).owner
        data = np.arange(12.0).reshape(3, 1, 4)[:, :, ::2]  # not contiguous
        storage: list[list[Any]] = [[None]]
        node.op.perform(node, [data], storage)
        assert np.shares_memory(storage[0][0], data), pattern


def test_dimshuffle_identity_adds_no_node() -> None:
    m = T.dmatrix()
    assert m.dimshuffle(0, 1) is m
    assert T.dimshuffle(m, (0, 1)) is m


def test_dimshuffle_method_forms() -> None:
    m = T.dmatrix()
    assert m.dimshuffle((1, 0)).owner.op == m.dimshuffle(1, 0).owner.op
    assert m.dimshuffle([1, "x", 0]).broadcastable == (False, True, False)


def test_dimshuffle_accepts_theano_broadcastable_argument() -> None:
    assert DimShuffle((False, True), (0,)) == DimShuffle(2, (0,))


@pytest.mark.parametrize(("var", "pattern", "error", "message"), [
    (T.dmatrix, (0,), ValueError,
     r"cannot drop dimension 1 of Tensor\{float64, \(\?, \?\)\}, its length is not "
     r"known to be 1"),
    (T.dmatrix, (0, 2), ValueError, r"pattern entry 2 is not 'x' or a dimension of "
     r"a 2-d input"),
    (T.dmatrix, (0, "y"), ValueError, r"pattern entry 'y'"),
    (T.dmatrix, (0, 0), ValueError, r"repeats a dimension"),
])
def test_dimshuffle_errors(var: Any, pattern: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        var().dimshuffle(*pattern)


def test_dimshuffle_checks_the_input_rank() -> None:
    with pytest.raises(RankError, match=r"expected a 2-d input, got .* "
                       r"Tensor\{float64, \(\?,\)\}"):
        DimShuffle(2, (1, 0))(T.dvector())


# -- transpose ------------------------------------------------------------


def test_transpose_forms() -> None:
    t = T.tensor3()
    val = np.arange(24.0).reshape(2, 3, 4)
    check_against_numpy([t], t.T, [val], np.transpose)
    check_against_numpy([t], T.transpose(t), [val], np.transpose)
    check_against_numpy([t], T.transpose(t, (1, 2, 0)), [val],
                        lambda a: a.transpose(1, 2, 0))
    check_against_numpy([t], t.transpose(2, 0, 1), [val],
                        lambda a: a.transpose(2, 0, 1))
    check_against_numpy([t], t.transpose([-1, 0, 1]), [val],
                        lambda a: a.transpose(2, 0, 1))
    check_infer_shape([t], t.T, [val])
    assert str(t.T.owner.op) == "Transpose"
    s = T.dscalar()
    assert T.transpose(s) is s
    v = T.dvector()
    assert v.T is v


@pytest.mark.parametrize(("axes", "message"), [
    ((0, 1), r"axes \(0, 1\) are not a permutation of the 3 dimensions"),
    ((0, 1, 3), r"axes \(0, 1, 3\) are not a permutation"),
    ((0, 1, 1), r"axes \(0, 1, 1\) repeat a dimension"),
    ((0, 1, -4), r"not a permutation"),
])
def test_transpose_errors(axes: tuple[int, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        T.transpose(T.tensor3(), axes)


def test_transpose_keeps_static_shape() -> None:
    x = T.tensor("float32", shape=(2, None, 1))
    assert x.T.type.shape == (1, None, 2)
    assert x.T.dtype == "float32"


# -- cast ---------------------------------------------------------------

CAST_DTYPES = ["bool", "int8", "uint8", "int32", "int64", "float32", "float64",
               "complex64", "complex128"]


CAST_PAIRS = [
    (src, dst)
    for src in CAST_DTYPES
    for dst in ["bool", "uint8", "int32", "int64", "float32", "float64", "complex128"]
    if not (np.dtype(src).kind == "c" and np.dtype(dst).kind != "c")  # refused
]


@pytest.mark.parametrize(("src", "dst"), CAST_PAIRS)
def test_cast_like_numpy_astype(src: str, dst: str) -> None:
    x = T.tensor(src, shape=(None, None))
    val = np.array([[0, 1, 2], [-1, 3, 0]]).astype(src)
    out = T.cast(x, dst)
    assert out.dtype == dst
    if src == dst:
        assert out is x
    else:
        assert isinstance(out.owner.op.scalar_op, Cast)
    check_against_numpy([x], out, [val], lambda a: a.astype(dst), dst)
    check_against_numpy([x], x.astype(dst), [val], lambda a: a.astype(dst), dst)


def test_cast_truncates_floats_like_numpy() -> None:
    x = T.dvector()
    val = np.array([-1.7, -0.5, 0.5, 2.9])
    check_against_numpy([x], T.cast(x, "int32"), [val], lambda a: a.astype("int32"))
    check_infer_shape([x], T.cast(x, "int32"), [val])


def test_cast_accepts_dtype_spellings() -> None:
    x = T.dvector()
    assert T.cast(x, np.float32).dtype == "float32"
    assert T.cast(x, "f4").dtype == "float32"
    assert T.cast(x, np.dtype("int16")).dtype == "int16"
    with sa.config.change_flags(floatX="float32"):
        assert T.cast(x, "floatX").dtype == "float32"


def test_cast_ops_are_shared_and_compare_by_dtype() -> None:
    x, y = T.dvector(), T.dmatrix()
    assert T.cast(x, "int32").owner.op is T.cast(y, "int32").owner.op
    assert Elemwise(Cast("int32")) == T.cast(x, "int32").owner.op
    assert Elemwise(Cast("int32")) != T.cast(x, "int64").owner.op


@pytest.mark.parametrize("dst", ["float64", "int32", "bool"])
def test_cast_complex_to_real_is_refused(dst: str) -> None:
    with pytest.raises(DtypeError, match=rf"cast: cannot cast complex128 to {dst}; "
                       "take T.real or T.abs first"):
        T.cast(T.zvector(), dst)


def test_cast_unknown_dtype() -> None:
    with pytest.raises(DtypeError, match="unknown dtype 'float33'"):
        T.cast(T.dvector(), "float33")
    with pytest.raises(DtypeError, match="dtype object is not supported"):
        T.cast(T.dvector(), object)


def test_cast_of_python_data() -> None:
    out = T.cast([1.7, 2.2], "int32")
    assert out.dtype == "int32"
    np.testing.assert_array_equal(out.eval(), [1, 2])


def test_composite_that_ignores_an_input_still_broadcasts_to_all_of_them() -> None:
    # a fused program may read only some inputs; the node's shape comes from all
    from symarray.scalar.composite import CompositeBuilder
    from symarray.scalar.table import SCALAR_OPS

    b = CompositeBuilder(["float64", "float64"])
    x, _unread = b.inputs
    comp = b.build([b.apply(SCALAR_OPS["exp"], [x])])
    op = T.Elemwise(comp)
    xs, ys = T.dvector("x"), T.dmatrix("y")
    out = op(xs, ys)
    fn = sa.function([xs, ys], out, mode=sa.Mode(linker="py", optimizer=None),
                     on_unused_input="ignore")
    got = fn(np.zeros(3), np.ones((2, 3)))
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got, np.ones((2, 3)))
