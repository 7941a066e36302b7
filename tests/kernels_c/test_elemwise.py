"""Tests of symarray.kernels_c.elemwise: single-op nodes in the interpreter.

Every scalar-table op runs as a one-node program over every dtype its
``make_node`` accepts (bool, int8..uint64, float32, float64) and over
layouts (contiguous, broadcast, strided, negative strides, 0-d, empty, 3-d,
several blocks), and must give what the node's NumPy ``perform`` gives:
same dtype and shape, equal integers and bools, close floats with NaN and
infinities in the same places.  Casts, mixed dtypes, integer edge cases
(division by zero, wrap-around, negative powers), NaN/inf/signed zeros,
in-place and no-GC outputs and the inputs the kernel leaves to ``perform``
are tested here too.
"""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import kernels_c
from symarray.errors import ShapeMismatchError
from symarray.kernels_c._composite import BLOCK
from symarray.kernels_c.program import node_program
from symarray.scalar import get_scalar_op
from symarray.scalar.table import ROWS
from symarray.tensor.elemwise import Cast, Elemwise
from symarray.tensor.type import TensorType

from .kernel_checks import (
    DOMAIN,
    DTYPES,
    FLOATS,
    INTS,
    SPECIAL,
    assert_same,
    perform,
    run_thunk,
    values,
)


def layout(*shapers):
    """A layout: one function per input turning a value maker (``m(shape)``
    gives a fresh array of that input's dtype) into the argument."""
    return lambda mk: [f(m) for f, m in zip(shapers, mk, strict=False)]


def shape(*dims):
    return lambda m: m(dims)


#: argument layouts (the output broadcasts the inputs)
LAYOUTS = {
    "contiguous": layout(shape(3, 37), shape(3, 37), shape(3, 37)),
    "blocks": layout(shape(3, BLOCK + 5), shape(3, BLOCK + 5), shape(3, BLOCK + 5)),
    "broadcast": layout(shape(4, 1), shape(1, 70), shape(4, 70)),
    "scalar": layout(shape(1, 1), shape(5, 7), shape(5, 1)),
    "strided": layout(*[lambda m: m((8, 10))[::2, 1::3]] * 3),
    "negative": layout(lambda m: m((6, 9))[::-2, ::-3], shape(3, 3),
                       lambda m: m((3, 3)).T),
    "long rows": layout(lambda m: m((3, 300))[:, ::-1], shape(1, 300), shape(3, 1)),
    "empty": layout(shape(0, 3), shape(1, 3), shape(0, 1)),
}


def op_node(name: str, dtypes: list[str], ndim: int = 2):
    """``Elemwise(op)`` over inputs of ``dtypes``, or None if make_node refuses."""
    ins = [TensorType(d, shape=(None,) * ndim)() for d in dtypes]
    try:
        return Elemwise(get_scalar_op(name)).make_node(*ins)
    except (TypeError, ValueError):
        return None


def makers(node, rng, domain=None):
    return [lambda s, d=i.type.dtype: values(d, s, rng, domain) for i in node.inputs]


@pytest.mark.parametrize("name", [row.name for row in ROWS])
def test_every_op_and_dtype_matches_perform(name):
    row = get_scalar_op(name).row
    rng = np.random.default_rng(sum(map(ord, name)))
    ran = []
    for dtype in DTYPES:
        dtypes = ["bool", dtype, dtype] if row.rule == "switch" else [dtype] * row.nin
        node = op_node(name, dtypes)
        if node is None:
            continue
        thunk = storage = None
        for layout, make in LAYOUTS.items():
            args = make(makers(node, rng, DOMAIN.get(name)))
            if name == "pow" and args[1].dtype.kind in "iu":
                args[1] = np.abs(args[1]) % 6  # perform refuses x ** -n
            thunk, storage, got = run_thunk(node, args, storage=storage, thunk=thunk)
            assert_same(got[0], perform(node, args)[0], msg=f"{dtype} {layout}")
            assert got[0].flags.c_contiguous
        ran.append(dtype)
    assert ran, f"{name}: make_node accepted no dtype"


def test_zero_dimensional_operands():
    rng = np.random.default_rng(5)
    for name in ("add", "exp", "lt", "clip", "switch", "int_div"):
        row = get_scalar_op(name).row
        dtypes = ["bool", "float32", "float32"] if name == "switch" else (
            ["int16"] * row.nin if name == "int_div" else ["float32"] * row.nin)
        node = op_node(name, dtypes, ndim=0)
        args = [values(d, (), rng) for d in dtypes]
        _, _, got = run_thunk(node, args)
        assert got[0].shape == () and got[0].dtype == node.outputs[0].type.dtype
        assert_same(got[0], perform(node, args)[0], msg=name)


@pytest.mark.parametrize("dtype", FLOATS)
def test_nan_inf_and_signed_zeros_follow_numpy(dtype):
    special = np.array(SPECIAL, dtype=dtype)
    a = np.repeat(special, special.size * special.size)
    b = np.tile(np.repeat(special, special.size), special.size)
    c = np.tile(special, special.size * special.size)
    for row in ROWS:
        dtypes = ["bool", dtype, dtype] if row.rule == "switch" else [dtype] * row.nin
        node = op_node(row.name, dtypes, ndim=1)
        if node is None:
            continue
        args = [a.astype(d) for d in dtypes[:1]] + [b, c][:row.nin - 1]
        _, _, got = run_thunk(node, args)
        expected = perform(node, args)[0]
        assert_same(got[0], expected, msg=row.name)
        if row.name in ("maximum", "minimum", "clip") or expected.dtype.kind != "f":
            continue  # the sign of max(0.0, -0.0) is unspecified (IEEE 754)
        zero = expected == 0
        np.testing.assert_array_equal(np.signbit(got[0][zero]),
                                      np.signbit(expected[zero]), err_msg=row.name)


@pytest.mark.parametrize("dtype", INTS)
def test_integer_edge_cases_wrap_like_numpy(dtype):
    info = np.iinfo(dtype)
    edge = np.array(sorted(v for v in {info.min, info.min + 1, -7, -2, -1, 0, 1, 2,
                                       7, info.max - 1, info.max}
                           if info.min <= v <= info.max), dtype=dtype)
    a = np.repeat(edge, edge.size)
    b = np.tile(edge, edge.size)
    for name in ("add", "sub", "mul", "int_div", "mod", "neg", "abs", "sgn", "sqr",
                 "maximum", "minimum", "and_", "or_", "xor", "invert", "lt", "eq"):
        row = get_scalar_op(name).row
        node = op_node(name, [dtype] * row.nin, ndim=1)
        args = [a, b][:row.nin]
        _, _, got = run_thunk(node, args)
        assert_same(got[0], perform(node, args)[0], msg=name)
    node = op_node("pow", [dtype, dtype], ndim=1)
    exps = np.abs(b) % 9
    _, _, got = run_thunk(node, [a, exps.astype(dtype)])
    assert_same(got[0], perform(node, [a, exps.astype(dtype)])[0], msg="pow")


def test_integer_negative_powers_raise_perform_error():
    x, y = T.ivector("x"), T.ivector("y")
    node = (x ** y).owner
    assert node_program(node).checked
    with pytest.raises(ValueError, match="negative integer powers"):
        run_thunk(node, [np.arange(1, 5000, dtype="int32"),
                         np.full(4999, -1, dtype="int32")])
    inplace = Elemwise(get_scalar_op("pow"), {0: 0}).make_node(x, y)
    assert kernels_c.make_thunk(inplace) is None  # it could stop midway


@pytest.mark.parametrize("src", DTYPES)
def test_casts_match_astype(src):
    rng = np.random.default_rng(9)
    x = TensorType(src, shape=(None,))()
    v = values(src, 200, rng)
    if np.dtype(src).kind == "f":
        v[:4] = [0.0, -0.0, 0.75, -0.75]
    for dst in DTYPES:
        node = Elemwise(Cast(dst)).make_node(x)
        # floats out of an integer type's range convert as C does (undefined;
        # NumPy's results differ by CPU), so only values in range are tested
        w = np.abs(v) if np.dtype(dst).kind == "u" else v
        _, _, got = run_thunk(node, [w])
        assert_same(got[0], w.astype(dst), msg=f"{src} -> {dst}")
    # NaN and infinities become True; any nonzero byte reads as True
    node = Elemwise(Cast("bool")).make_node(TensorType("float64", shape=(None,))())
    _, _, got = run_thunk(node, [np.array([np.nan, np.inf, -0.0, 1e-300])])
    assert got[0].tolist() == [True, True, False, True]
    node = Elemwise(Cast("int8")).make_node(TensorType("bool", shape=(None,))())
    _, _, got = run_thunk(node, [np.array([0, 1, 2, 255], "uint8").view(bool)])
    assert got[0].tolist() == [0, 1, 1, 1]


MIXED = [
    ("add", ["int32", "float32"]), ("mul", ["uint8", "int8"]),
    ("sub", ["int64", "uint32"]), ("true_div", ["int16", "int16"]),
    ("true_div", ["float32", "int64"]), ("exp", ["int8"]), ("sqrt", ["uint64"]),
    ("lt", ["int32", "float32"]), ("eq", ["bool", "int8"]), ("sqr", ["bool"]),
    ("pow", ["bool", "bool"]), ("int_div", ["bool", "uint8"]),
    ("maximum", ["float32", "float64"]), ("add", ["bool", "bool"]),
    ("mul", ["bool", "bool"]), ("and_", ["bool", "int16"]), ("invert", ["bool"]),
    ("clip", ["int8", "int32", "int32"]), ("clip", ["float32", "float64", "int8"]),
    ("switch", ["int32", "float32", "int8"]), ("switch", ["float64", "bool", "bool"]),
    ("arctan2", ["uint8", "float32"]), ("isnan", ["int32"]), ("angle", ["int8"]),
    ("abs", ["bool"]), ("real", ["int16"]), ("sgn", ["float32"]),
]


@pytest.mark.parametrize("name, dtypes", MIXED)
def test_mixed_dtypes_compute_as_perform(name, dtypes):
    node = op_node(name, dtypes)
    assert node is not None
    rng = np.random.default_rng(11)
    args = [values(d, (6, 33), rng) for d in dtypes]
    if name == "clip":  # lo <= hi
        args[1], args[2] = np.minimum(args[1], args[2]), np.maximum(args[1], args[2])
    _, _, got = run_thunk(node, args)
    assert_same(got[0], perform(node, args)[0])


def test_uint64_against_signed_comparisons_run_perform():
    assert op_node("lt", ["uint64", "int64"]) is not None
    assert node_program(op_node("lt", ["uint64", "int64"])) is None
    assert node_program(op_node("add", ["uint64", "int64"])) is not None


def test_dtypes_without_loops_are_declined():
    for dtypes in (["complex128", "complex128"], ["float16", "float16"]):
        node = op_node("add", dtypes, ndim=1)
        assert kernels_c.make_thunk(node) is None, dtypes


def test_inputs_the_kernel_cannot_read_go_to_perform():
    node = op_node("add", ["float64", "float64"], ndim=1)
    for a in (np.arange(3, dtype="float32"), [0.0, 1.0, 2.0],
              np.arange(3.0).astype(">f8")):
        _, _, got = run_thunk(node, [a, np.ones(3)])
        np.testing.assert_array_equal(got[0], np.arange(3.0) + 1)
    with pytest.raises(ShapeMismatchError, match="cannot be broadcast"):
        run_thunk(node, [np.ones(2), np.ones(3)])


def test_no_gc_thunks_reuse_their_output_buffer():
    node = op_node("mul", ["float64", "float64"], ndim=1)
    thunk, storage, (first,) = run_thunk(node, [np.ones(5), np.ones(5)],
                                         keep_buffers=True)
    _, _, (second,) = run_thunk(node, [np.full(5, 2.0), np.ones(5)],
                                storage=storage, thunk=thunk)
    assert second is first and second.tolist() == [2.0] * 5
    # last call's output passed back as an input: a new buffer
    _, _, (third,) = run_thunk(node, [second, np.ones(5)], storage=storage,
                               thunk=thunk)
    assert third is not second and third.tolist() == [2.0] * 5
    _, _, (fourth,) = run_thunk(node, [np.ones(6), np.ones(6)], storage=storage,
                                thunk=thunk)
    assert fourth.shape == (6,)
    thunk, storage, (first,) = run_thunk(node, [np.ones(5), np.ones(5)])
    _, _, (second,) = run_thunk(node, [np.ones(5), np.ones(5)], storage=storage,
                                thunk=thunk)
    assert second is not first


def inplace_node(name, dtypes, ndim, target=0):
    ins = [TensorType(d, shape=(None,) * ndim)() for d in dtypes]
    return Elemwise(get_scalar_op(name), {0: target}).make_node(*ins)


def test_inplace_nodes_write_over_their_destroyed_input():
    node = inplace_node("sub", ["float64"] * 2, 2, target=1)
    a, b = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    expected = a - b
    _, _, (got,) = run_thunk(node, [a, b])
    assert got is b
    np.testing.assert_array_equal(got, expected)
    x = np.arange(4.0)  # x * x in place: read before written
    _, _, (got,) = run_thunk(inplace_node("mul", ["float64"] * 2, 1), [x, x])
    assert got is x and x.tolist() == [0.0, 1.0, 4.0, 9.0]
    base = np.arange(12.0)  # a strided target keeps its layout
    view = base[::3]
    _, _, (got,) = run_thunk(inplace_node("exp", ["float64"], 1), [view])
    assert got is view and base[1] == 1.0
    np.testing.assert_allclose(base[::3], np.exp([0.0, 3.0, 6.0, 9.0]))
    big = np.arange(3 * BLOCK + 7, dtype="int32")  # several blocks, in place
    _, _, (got,) = run_thunk(inplace_node("neg", ["int32"], 1), [big])
    assert got is big and big[-1] == -(3 * BLOCK + 6)


def test_inplace_nodes_fall_back_to_a_new_array_like_perform():
    node = inplace_node("add", ["float64"] * 2, 2)
    a = np.arange(6.0).reshape(2, 3)
    ro = np.ones((2, 3))
    ro.flags.writeable = False
    sq = np.arange(9.0).reshape(3, 3)
    cases = {"broadcast target": [np.ones((1, 3)), a], "read-only target": [ro, a],
             "overlapping input": [a, a[:, ::-1]], "transposed input": [sq, sq.T]}
    for name, args in cases.items():
        before = [np.array(x) for x in args]
        expected = before[0] + before[1]
        _, _, (got,) = run_thunk(node, args)
        np.testing.assert_array_equal(got, expected, err_msg=name)
        if name in ("broadcast target", "read-only target"):
            assert got is not args[0], name
            np.testing.assert_array_equal(args[0], before[0], err_msg=name)


@pytest.mark.parametrize("linker", ["cvm", "cvm_nogc", "vm"])
def test_functions_use_the_c_thunks(linker):
    x = T.fmatrix("x")
    i = T.bvector("i")
    out = T.switch(x * i + 1.5 > 0, T.tanh(x), T.sqrt(abs(x)))
    f = sa.function([x, i], out, mode=sa.Mode(linker=linker, optimizer=None))
    assert {t.backend for t in f.vm.program.thunks
            if isinstance(t.node.op, Elemwise)} == {"c"}
    rng = np.random.default_rng(3)
    xv = rng.standard_normal((4, 3)).astype("f4")
    iv = np.array([1, -2, 3], dtype="int8")
    expected = np.where(xv * iv + np.float32(1.5) > 0, np.tanh(xv),
                        np.sqrt(abs(xv)))
    for _ in range(2):
        got = f(xv, iv)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_registry():
    assert kernels_c.kernels_for(Elemwise)
    with pytest.raises(KeyError, match=r"no C kernel for Apply; known: \[.*Elemwise"):
        kernels_c.kernels_for(sa.graph.basic.Apply)
