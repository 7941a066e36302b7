"""Tests of symarray.kernels_c._elemwise: every C loop against ``perform``.

Each (op, dtype) loop runs on contiguous, broadcast, strided, transposed,
0-d, empty and large (GIL-releasing) operands, through a thunk bound to a
storage arena, and must give what the op's NumPy ``perform`` gives: the same
dtype and shape, equal values for integers and bools, close values (NaN
where NaN) for floats.
"""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import kernels_c
from symarray.errors import ShapeMismatchError
from symarray.kernels_c._elemwise import NOGIL_MIN, CyElemwiseThunk, has_loop, n_loops
from symarray.tensor.type import TensorType
from symarray.vm import CyStorage

FLOAT_UNARY = ["neg", "abs", "sqr", "reciprocal", "exp", "exp2", "expm1", "log",
               "log2", "log10", "log1p", "sqrt", "sin", "cos", "tan", "arcsin",
               "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
               "arctanh", "floor", "ceil", "trunc", "round_half_to_even", "sigmoid",
               "softplus"]
FLOAT_BINARY = ["add", "sub", "mul", "true_div", "pow", "arctan2", "maximum",
                "minimum"]
INT_UNARY = ["neg", "sqr"]
INT_BINARY = ["add", "sub", "mul", "maximum", "minimum"]
COMPARE = ["lt", "gt", "le", "ge", "eq", "neq"]
FLOATS = ["float32", "float64"]
INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]

#: inputs in each op's domain (so results are not all NaN)
DOMAIN = {"log": "pos", "log2": "pos", "log10": "pos", "sqrt": "pos",
          "log1p": "pos", "arccosh": "ge1", "arcsin": "unit", "arccos": "unit",
          "arctanh": "unit", "pow": "pos"}

CASES = [(op, dt) for dt in FLOATS for op in FLOAT_UNARY + FLOAT_BINARY + COMPARE]
CASES += [(op, dt) for dt in INTS for op in INT_UNARY + INT_BINARY + COMPARE]


def values(op, dtype, shape, rng, offset=0.0):
    dt = np.dtype(dtype)
    if dt.kind == "f":
        domain = DOMAIN.get(op)
        if domain == "pos":
            v = rng.uniform(0.1, 3.0, shape)
        elif domain == "ge1":
            v = rng.uniform(1.0, 4.0, shape)
        elif domain == "unit":
            v = rng.uniform(-0.9, 0.9, shape)
        else:
            v = rng.uniform(-3.0, 3.0, shape) + offset
        return v.astype(dt)
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, shape, dtype=dt, endpoint=True)


def node_for(op, dtype, ndim, nin):
    """A single Elemwise node of ``op`` over ``nin`` inputs of this type."""
    from symarray.tensor.math import ELEMWISE_OPS

    ins = [TensorType(dtype, shape=(None,) * ndim)() for _ in range(nin)]
    return ELEMWISE_OPS[op](*ins).owner


def nin_of(op):
    return 1 if op in FLOAT_UNARY or op in INT_UNARY else 2


def run_thunk(node, args, keep_buffers=False, storage=None, thunk=None):
    """Run the C thunk of ``node`` on ``args``; return (thunk, storage, output)."""
    if thunk is None:
        thunk = kernels_c.make_thunk(node)
        assert isinstance(thunk, CyElemwiseThunk) and thunk.backend == "c"
        storage = CyStorage(len(args) + 1)
        thunk.bind(storage, range(len(args)), [len(args)], keep_buffers)
    for i, a in enumerate(args):
        storage[i] = a
    thunk()
    return thunk, storage, storage[len(args)]


def perform(node, args):
    out = [[None]]
    node.op.perform(node, list(args), out)
    return out[0][0]


def assert_same(got, expected):
    assert isinstance(got, np.ndarray)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    assert got.shape == expected.shape
    if got.dtype.kind == "f":
        rtol = 2e-6 if got.dtype == np.float32 else 1e-13
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * 1e-3)
    else:
        np.testing.assert_array_equal(got, expected)


LAYOUTS = {
    # name: per-input shapes (the output broadcasts them)
    "0-d": [(), ()],
    "contiguous": [(37,), (37,)],
    "scalar-right": [(3, 5), (1, 1)],
    "scalar-left": [(1, 1), (3, 5)],
    "row-col": [(4, 1), (1, 6)],
    "empty": [(0, 3), (1, 3)],
    "3-d": [(2, 3, 4), (2, 1, 4)],
}


@pytest.mark.parametrize("op, dtype", CASES)
def test_loop_matches_perform(op, dtype):
    rng = np.random.default_rng(abs(hash((op, dtype))) % 2**32)
    nin = nin_of(op)
    for shapes in LAYOUTS.values():
        shapes = shapes[:nin]
        node = node_for(op, dtype, len(shapes[0]), nin)
        args = [values(op, dtype, s, rng, offset=0.5 * k) for k, s in enumerate(shapes)]
        if op in ("eq", "neq") and nin == 2 and args[0].size and args[1].size:
            args[1].flat[0] = args[0].flat[0]  # some equal elements
        _, _, got = run_thunk(node, args)
        assert_same(got, perform(node, args))


@pytest.mark.parametrize("op, dtype", [("add", "float64"), ("maximum", "float32"),
                                       ("exp", "float64"), ("sub", "int32"),
                                       ("lt", "int64")])
def test_strided_and_transposed_operands(op, dtype):
    rng = np.random.default_rng(0)
    nin = nin_of(op)
    node = node_for(op, dtype, 2, nin)
    base = [values(op, dtype, (8, 10), rng) for _ in range(nin)]
    for view in (lambda a: a[::2, 1::3], lambda a: a.T[2:7, :4],
                 lambda a: a[::-1, ::-2][:4, :5]):
        args = [view(b) for b in base]
        if nin == 2:  # mix layouts: one transposed copy, one strided view
            args[1] = np.ascontiguousarray(args[1].T).T
        _, _, got = run_thunk(node, args)
        assert_same(got, perform(node, args))
        assert got.flags.c_contiguous


@pytest.mark.parametrize("dtype", FLOATS)
def test_large_arrays_release_the_gil_and_match(dtype):
    rng = np.random.default_rng(1)
    n = NOGIL_MIN + 17
    node = node_for("mul", dtype, 1, 2)
    args = [values("mul", dtype, (n,), rng) for _ in range(2)]
    _, _, got = run_thunk(node, args)
    assert_same(got, perform(node, args))
    node = node_for("tanh", dtype, 2, 1)
    arg = values("tanh", dtype, (n, 2), rng)[::2].T  # strided: the n-d walk
    _, _, got = run_thunk(node, [arg])
    assert_same(got, perform(node, [arg]))


def test_nan_and_inf_follow_numpy():
    node = node_for("maximum", "float64", 1, 2)
    a = np.array([np.nan, 1.0, -np.inf, np.nan, 0.0])
    b = np.array([1.0, np.nan, 2.0, np.nan, np.inf])
    _, _, got = run_thunk(node, [a, b])
    np.testing.assert_array_equal(got, np.maximum(a, b))
    node = node_for("minimum", "float32", 1, 2)
    _, _, got = run_thunk(node, [a.astype("f4"), b.astype("f4")])
    np.testing.assert_array_equal(got, np.minimum(a, b).astype("f4"))
    for op, arg in [("log", [0.0, -1.0, np.inf]), ("sqrt", [-1.0, np.inf, 0.0]),
                    ("true_div", None), ("exp", [1000.0, -1000.0, np.nan])]:
        if arg is None:
            node = node_for(op, "float64", 1, 2)
            args = [np.array([1.0, 0.0, -1.0]), np.array([0.0, 0.0, 0.0])]
        else:
            node = node_for(op, "float64", 1, 1)
            args = [np.array(arg)]
        _, _, got = run_thunk(node, args)
        np.testing.assert_array_equal(got, perform(node, args))


def test_integer_overflow_wraps_like_numpy():
    for dtype in ("int8", "int32", "int64", "uint8", "uint64"):
        info = np.iinfo(dtype)
        a = np.array([info.max, info.min, info.max], dtype=dtype)
        b = np.array([1, -1 if info.min < 0 else 1, info.max], dtype=dtype)
        for op in ("add", "sub", "mul"):
            node = node_for(op, dtype, 1, 2)
            _, _, got = run_thunk(node, [a, b])
            np.testing.assert_array_equal(got, perform(node, [a, b]))
        node = node_for("neg", dtype, 1, 1)
        _, _, got = run_thunk(node, [a])
        np.testing.assert_array_equal(got, perform(node, [a]))


def test_inputs_the_loop_cannot_read_go_to_perform():
    node = node_for("add", "float64", 1, 2)
    # another dtype, a Python list, a byte-swapped array: perform converts
    for a in (np.arange(3, dtype="float32"), [0.0, 1.0, 2.0],
              np.arange(3.0).astype(">f8")):
        _, storage, got = run_thunk(node, [a, np.ones(3)])
        np.testing.assert_array_equal(got, np.arange(3.0) + 1)
        assert storage.cached(0)[0] == -1 or storage.cached(0)[0] != np.dtype("f8").num
    # shapes that do not broadcast: perform's error
    with pytest.raises(ShapeMismatchError, match="cannot be broadcast"):
        run_thunk(node, [np.ones(2), np.ones(3)])


def test_no_gc_thunks_reuse_their_output_buffer():
    node = node_for("mul", "float64", 1, 2)
    thunk, storage, first = run_thunk(node, [np.ones(5), np.ones(5)],
                                      keep_buffers=True)
    _, _, second = run_thunk(node, [np.full(5, 2.0), np.ones(5)], storage=storage,
                             thunk=thunk)
    assert second is first and second.tolist() == [2.0] * 5
    _, _, third = run_thunk(node, [np.ones(6), np.ones(6)], storage=storage,
                            thunk=thunk)
    assert third is not first and third.shape == (6,)
    # GC mode: always a new buffer
    thunk, storage, first = run_thunk(node, [np.ones(5), np.ones(5)])
    _, _, second = run_thunk(node, [np.ones(5), np.ones(5)], storage=storage,
                             thunk=thunk)
    assert second is not first


def test_factory_declines_what_it_cannot_run():
    x, y = T.dvector("x"), T.fvector("y")
    i = T.ivector("i")
    assert kernels_c.make_thunk((x + y).owner) is None  # mixed dtypes
    assert kernels_c.make_thunk(T.erf(x).owner) is None  # no loop
    assert kernels_c.make_thunk((i / i).owner) is None  # int -> float
    assert kernels_c.make_thunk(T.exp(i).owner) is None
    assert kernels_c.make_thunk(T.switch(x > 0, x, y).owner) is None  # 3 inputs
    assert kernels_c.make_thunk(x.dimshuffle("x", 0).owner) is None  # no kernel
    assert has_loop("add", "float64", 2) == np.dtype("float64").num
    assert has_loop("lt", "int16", 2) == np.dtype("bool").num
    assert has_loop("add", "complex128", 2) is None
    assert n_loops() == len(CASES)


def test_registry():
    from symarray.tensor.elemwise import Elemwise

    assert kernels_c.kernels_for(Elemwise)
    with pytest.raises(KeyError, match=r"no C kernel for Apply; known: \[.*Elemwise"):
        kernels_c.kernels_for(sa.graph.basic.Apply)


@pytest.mark.parametrize("linker", ["cvm", "cvm_nogc", "vm"])
def test_functions_use_the_c_thunks(linker):
    x = T.fmatrix("x")
    y = T.fvector("y")
    out = T.tanh(x * y + 1.5) - T.sqrt(abs(x))
    f = sa.function([x, y], out, mode=sa.Mode(linker=linker, optimizer=None))
    assert {t.backend for t in f.vm.program.thunks} >= {"c"}
    rng = np.random.default_rng(3)
    xv = rng.standard_normal((4, 3)).astype("f4")
    yv = rng.standard_normal(3).astype("f4")
    for _ in range(2):
        got = f(xv, yv)
        expected = np.tanh(xv * yv + np.float32(1.5)) - np.sqrt(abs(xv))
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=1e-5)


def inplace_node(op, dtype, ndim, nin, target=0):
    from symarray.tensor.elemwise import Elemwise

    node = node_for(op, dtype, ndim, nin)
    return Elemwise(node.op.scalar_op, {0: target}).make_node(*node.inputs)


def test_inplace_nodes_write_over_their_destroyed_input():
    node = inplace_node("sub", "float64", 2, 2, target=1)
    a, b = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    expected = a - b
    _, _, got = run_thunk(node, [a, b])
    assert got is b
    np.testing.assert_array_equal(got, expected)
    # x - x in place: each element is read before it is written
    x = np.arange(4.0)
    node = inplace_node("mul", "float64", 1, 2)
    _, _, got = run_thunk(node, [x, x])
    assert got is x and x.tolist() == [0.0, 1.0, 4.0, 9.0]
    # a strided target keeps its layout
    base = np.arange(12.0)
    view = base[::3]
    node = inplace_node("exp", "float64", 1, 1)
    _, _, got = run_thunk(node, [view])
    assert got is view
    np.testing.assert_allclose(base[::3], np.exp([0.0, 3.0, 6.0, 9.0]))
    assert base[1] == 1.0


def test_inplace_nodes_fall_back_to_a_new_array_like_perform():
    node = inplace_node("add", "float64", 2, 2)
    a = np.arange(6.0).reshape(2, 3)
    cases = {
        "broadcast target": [np.ones((1, 3)), a],
        "read-only target": [np.ones((2, 3)), a],
        "overlapping input": [a, a[:, ::-1]],
        "transposed input": [np.zeros((3, 3)), None],
    }
    cases["read-only target"][0].flags.writeable = False
    sq = cases["transposed input"][0]
    sq[:] = np.arange(9.0).reshape(3, 3)
    cases["transposed input"][1] = sq.T
    for name, args in cases.items():
        before = [np.array(x) for x in args]
        expected = perform(node_for("add", "float64", 2, 2), before)
        _, _, got = run_thunk(node, args)
        np.testing.assert_array_equal(got, expected, err_msg=name)
        if name != "overlapping input" and name != "transposed input":
            assert got is not args[0], name
            np.testing.assert_array_equal(args[0], before[0], err_msg=name)
