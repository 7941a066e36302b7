"""The C thunks of the shape and view ops (kernels_c/_views.pyx) against
their ``perform``: values, dtype, shape, strides, flags and aliasing."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import symarray
import symarray.tensor as T
from symarray import kernels_c
from symarray.errors import ShapeMismatchError
from symarray.tensor.alloc import Alloc, BroadcastTo
from symarray.tensor.elemwise import DimShuffle
from symarray.tensor.elemwise_grad import SumToShape
from symarray.tensor.shape_ops import Shape_i
from symarray.tensor.type import TensorType
from symarray.vm import CyStorage, make_py_thunk

DTYPES = ["bool", "int8", "uint16", "int64", "float32", "float64", "complex128"]
LAYOUTS = ["contiguous", "strided", "negative"]


def make_value(shape, dtype, layout, seed=0):
    """An array of ``shape``: C-contiguous, every other element, or reversed."""
    rng = np.random.default_rng(seed)
    big = tuple(2 * s for s in shape) if layout == "strided" else shape
    arr = (rng.standard_normal(big) * 5).astype(dtype)
    if layout == "strided":
        arr = arr[tuple(slice(None, None, 2) for _ in shape)]
    elif layout == "negative":
        arr = arr[tuple(slice(None, None, -1) for _ in shape)]
    assert arr.shape == tuple(shape)
    return arr


def var(dtype, static):
    return TensorType(dtype, shape=static).make_variable()


def bind(thunk, args, keep_buffers=False):
    storage = CyStorage(len(args) + 1)
    thunk.bind(storage, range(len(args)), [len(args)], keep_buffers)
    for k, a in enumerate(args):
        storage[k] = a
    return storage


def run_c(node, args, keep_buffers=False):
    thunk = kernels_c.make_thunk(node)
    assert thunk is not None and thunk.backend == "c", node
    storage = bind(thunk, args, keep_buffers)
    thunk()
    return thunk, storage, storage[len(args)]


def run_perform(node, args):
    thunk = make_py_thunk(node)
    storage = bind(thunk, args)
    thunk()
    return storage[len(args)]


def assert_same(got, expected, args):
    """Same values, dtype, shape, strides, writeability and aliasing."""
    assert type(got) is np.ndarray
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    assert got.strides == expected.strides
    assert got.flags.writeable == expected.flags.writeable
    for a in args:
        if isinstance(a, np.ndarray):
            assert np.shares_memory(got, a) == np.shares_memory(expected, a)


def lengths(shape, dtype="int64"):
    return [np.asarray(s, dtype=dtype) for s in shape]


# -- DimShuffle ---------------------------------------------------------------------

# (input shape, static shape, pattern)
DIMSHUFFLE_CASES = [
    ((), (), ("x",)),
    ((), (), ("x", "x")),
    ((1,), (1,), ()),
    ((4,), (None,), ("x", 0)),
    ((4,), (None,), (0, "x")),
    ((3, 4), (None, None), (1, 0)),
    ((3, 4), (None, None), (0, "x", 1)),
    ((3, 1), (None, 1), (0,)),
    ((1, 4), (1, None), ("x", 1, "x")),
    ((2, 3, 4), (None, None, None), (2, 0, 1)),
    ((2, 1, 4), (None, 1, None), (2, "x", 0)),
    ((2, 3, 4, 5), (None,) * 4, (3, 1, "x", 0, 2)),
    ((2, 1, 4, 1), (None, 1, None, 1), ("x", 2, 0)),
    ((0, 3), (None, None), (1, "x", 0)),
    ((3, 0, 1), (None, None, 1), (1, 0)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape,static,pattern", DIMSHUFFLE_CASES)
def test_dimshuffle_matches_perform(shape, static, pattern, layout, dtype):
    node = DimShuffle(len(shape), pattern).make_node(var(dtype, static))
    x = make_value(shape, dtype, layout)
    _, _, got = run_c(node, [x])
    assert_same(got, run_perform(node, [x]), [x])
    assert got is not x


def test_dimshuffle_readonly_input_gives_readonly_view():
    x = np.arange(6.0).reshape(2, 3)
    x.flags.writeable = False
    node = DimShuffle(2, (1, "x", 0)).make_node(var("float64", (None, None)))
    _, _, got = run_c(node, [x])
    assert_same(got, run_perform(node, [x]), [x])


def test_dimshuffle_non_array_input_falls_back():
    node = DimShuffle(0, ("x",)).make_node(var("float64", ()))
    _, _, got = run_c(node, [2.5])
    np.testing.assert_array_equal(got, [2.5])


@pytest.mark.parametrize("op,args", [
    (DimShuffle(2, (1, "x", 0)), lambda x: [x]),
    (BroadcastTo(), lambda x: [x, *lengths((2, 3, 4))]),
])
def test_view_keeps_its_owner_alive(op, args):
    x = make_value((3, 4), "float64", "negative")
    expected = x.copy()
    node = op.make_node(var("float64", (None, None)), *args(x)[1:])
    thunk, storage, got = run_c(node, args(x))
    del x, thunk, storage
    gc.collect()
    want = expected.T[:, None, :] if isinstance(op, DimShuffle) else expected
    np.testing.assert_array_equal(got, np.broadcast_to(want, got.shape))


# -- Shape_i -------------------------------------------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", [(5,), (0, 3), (2, 3, 4), (2, 1, 4, 3)])
def test_shape_i_matches_perform(shape, layout):
    for i in range(len(shape)):
        node = Shape_i(i).make_node(var("float32", (None,) * len(shape)))
        x = make_value(shape, "float32", layout)
        _, _, got = run_c(node, [x])
        expected = run_perform(node, [x])
        assert got.dtype == expected.dtype == np.int64
        assert got.shape == () and got == expected


def test_shape_i_reuses_its_buffer_only_in_no_gc_mode():
    node = Shape_i(1).make_node(var("float64", (None, None)))
    for keep in (False, True):
        thunk, storage, first = run_c(node, [np.zeros((2, 3))], keep_buffers=keep)
        storage[0] = np.zeros((2, 7))
        thunk()
        second = storage[1]
        assert second == 7 and (second is first) == keep


# -- BroadcastTo ---------------------------------------------------------------------

BROADCAST_CASES = [
    ((), (3,)), ((), ()), ((1,), (4,)), ((1,), (1,)), ((3,), (2, 3)),
    ((2, 1), (2, 5)), ((2, 1), (2, 1)), ((1, 3, 1), (2, 3, 4)), ((2, 3), (2, 3)),
    ((0,), (2, 0)), ((2, 1), (2, 0)), ((3,), (0, 3)), ((1, 2, 3, 1), (5, 1, 2, 3, 2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape,new", BROADCAST_CASES)
def test_broadcast_to_matches_perform(shape, new, layout, dtype):
    x = make_value(shape, dtype, layout)
    lens = lengths(new, "int32" if layout == "strided" else "int64")
    node = BroadcastTo().make_node(var(dtype, (None,) * len(shape)), *lens)
    _, _, got = run_c(node, [x, *lens])
    assert_same(got, run_perform(node, [x, *lens]), [x])
    assert not got.flags.writeable


def test_broadcast_to_mismatch_raises_like_perform():
    lens = lengths((2, 4))
    node = BroadcastTo().make_node(var("float64", (None,)), *lens)
    with pytest.raises(ShapeMismatchError, match="broadcast_to"):
        run_c(node, [np.zeros(3), *lens])


# -- SumToShape ----------------------------------------------------------------------

@pytest.mark.parametrize("gshape,xshape,axes", [
    ((3, 4), (3, 4), (0,)), ((3, 4), (3, 4), (0, 1)), ((3, 4), (1, 4), (0,)),
    ((2, 3, 4), (2, 1, 1), (1, 2)), ((0, 3), (0, 3), (1,)), ((0, 3), (1, 3), (0,)),
])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_sum_to_shape_matches_perform(gshape, xshape, axes, dtype):
    g = make_value(gshape, dtype, "negative")
    x = make_value(xshape, dtype, "contiguous")
    nd = len(gshape)
    static = (None,) * nd
    node = SumToShape(axes).make_node(var(dtype, static), var(dtype, static))
    _, _, got = run_c(node, [g, x])
    expected = run_perform(node, [g, x])
    assert_same(got, expected, [g])
    assert (got is g) == (expected is g)


def test_sum_to_shape_mismatch_raises_like_perform():
    node = SumToShape((0,)).make_node(var("float64", (None,)), var("float64", (None,)))
    with pytest.raises(ShapeMismatchError, match="SumToShape"):
        run_c(node, [np.zeros(3), np.zeros(2)])


# -- Alloc ---------------------------------------------------------------------------

ALLOC_CASES = [((), ()), ((), (4,)), ((3,), (2, 3)), ((1,), (5,)), ((2, 1), (2, 3)),
               ((), (0, 3)), ((1, 3, 1), (2, 2, 3, 4))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("vshape,new", ALLOC_CASES)
def test_alloc_matches_perform(vshape, new, layout, dtype):
    v = make_value(vshape, dtype, layout)
    lens = lengths(new)
    node = Alloc().make_node(var(dtype, (None,) * len(vshape)), *lens)
    _, _, got = run_c(node, [v, *lens])
    expected = run_perform(node, [v, *lens])
    assert_same(got, expected, [v])
    assert got.flags.c_contiguous and got.flags.writeable


def test_alloc_reuses_its_buffer_in_no_gc_mode_with_new_values():
    lens = lengths((2, 3))
    node = Alloc().make_node(var("float64", ()), *lens)
    thunk, storage, first = run_c(node, [np.asarray(1.0), *lens], keep_buffers=True)
    storage[0] = np.asarray(7.0)
    thunk()
    assert storage[3] is first
    np.testing.assert_array_equal(storage[3], np.full((2, 3), 7.0))


def test_alloc_mismatch_raises_like_perform():
    lens = lengths((2, 4))
    node = Alloc().make_node(var("float64", (None,)), *lens)
    with pytest.raises(ShapeMismatchError, match="alloc"):
        run_c(node, [np.zeros(3), *lens])


# -- in compiled functions -------------------------------------------------------------

@pytest.mark.parametrize("linker", ["cvm", "cvm_nogc"])
def test_compiled_graph_runs_the_c_thunks(linker):
    x = T.dmatrix("x")
    b = T.dvector("b")
    out = [x.T, b.dimshuffle("x", 0) + x, T.alloc(b[0], x.shape[0], 2),
           T.broadcast_to(b, (x.shape[0], b.shape[0]))]
    f = symarray.function([x, b], out, mode=symarray.Mode(linker=linker))
    for n in (3, 5):
        xv, bv = np.arange(n * 4.0).reshape(n, 4), np.arange(4.0) - 1
        got = f(xv, bv)
        for g, e in zip(got, [xv.T, bv[None] + xv, np.full((n, 2), bv[0]),
                              np.broadcast_to(bv, (n, 4))], strict=True):
            np.testing.assert_array_equal(g, e)
    for node in f.maker.fgraph.toposort():
        if isinstance(node.op, (DimShuffle, Shape_i, Alloc, BroadcastTo)):
            assert kernels_c.make_thunk(node).backend == "c"


# -- ARange --------------------------------------------------------------------------

# (start, stop, step, their dtypes): what perform turns into Python numbers
ARANGE_ARGS = [
    (0, 10, 1), (0, 600, 1), (3, 20, 4), (20, 3, -4), (5, 5, 1), (5, 0, 1),
    (-7, 7, 3), (0, 1, 1), (0, 2, 1), (0, 3, 1), (True, 5, True),
    (0.5, 4.0, 0.7), (0.1, 1.0, 0.1), (1.0, 0.0, -0.1), (-3.3, 9.9, 1.7),
    (0, 1, 0.1), (2, 9, 0.25), (0.0, 5.0, 3.0), (1e17, 1e17 + 1e3, 100.0),
    (-1e-8, 1e-8, 3e-10), (2.5, 2.5, 0.1), (3, -1.5, -0.75),
]
ARANGE_OUT_DTYPES = ["int8", "uint8", "int16", "int32", "uint32", "int64", "uint64",
                     "float32", "float64"]
ARG_DTYPES = {int: ["int64", "int8", "uint16", "int32"], bool: ["bool"],
              float: ["float64", "float32"]}


def arange_node(dtype, arg_dtypes):
    return T.ARange(dtype).make_node(*[var(d, ()) for d in arg_dtypes])


def arange_args(args, k):
    """The arguments as 0-d arrays: the k-th dtype each kind allows."""
    out = []
    for a in args:
        kinds = ARG_DTYPES[type(a)]
        dtype = kinds[k % len(kinds)]
        if np.dtype(dtype).kind == "u" and a < 0:
            dtype = "int64"
        fits = np.can_cast(np.min_scalar_type(a), dtype)
        if np.dtype(dtype).kind in "iu" and not fits:
            dtype = "int64"
        out.append(np.asarray(a, dtype=dtype))
    return out


def run_both(node, args):
    """(C result or exception, perform result or exception)."""
    results = []
    for run in (run_c, lambda n, a: (None, None, run_perform(n, a))):
        try:
            results.append(run(node, args)[2])
        except Exception as err:  # noqa: BLE001 (compared below)
            results.append(err)
    return results


@pytest.mark.parametrize("dtype", ARANGE_OUT_DTYPES)
@pytest.mark.parametrize("args", ARANGE_ARGS)
def test_arange_matches_perform(args, dtype):
    for k in range(3):
        values = arange_args(args, k)
        node = arange_node(dtype, [v.dtype for v in values])
        got, expected = run_both(node, values)
        if isinstance(expected, Exception):
            assert type(got) is type(expected) and str(got) == str(expected)
            continue
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)  # bit for bit: NumPy's steps
        assert got.flags.c_contiguous and got.flags.writeable


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int64", "float32"])
@pytest.mark.parametrize("args", [(0, 300, 1), (5, -3, -1), (-1, 3, 1), (250, 260, 1),
                                  (100, 2000, 7), (2**62, 2**63 - 1, 2**61),
                                  (2**53 + 1, 2**53 + 9, 3), (0, 2**62 + 1, 2**62),
                                  (0.0, float("inf"), 1.0), (0.0, float("nan"), 1.0),
                                  (0, 10, 0), (0.0, 1.0, -0.0)])
def test_arange_wraps_overflows_and_errors_like_perform(args, dtype):
    values = [np.asarray(a) for a in args]
    node = arange_node(dtype, [v.dtype for v in values])
    got, expected = run_both(node, values)
    if isinstance(expected, Exception):
        assert type(got) is type(expected) and str(got) == str(expected)
    else:
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_arange_thunk_for_dtypes():
    for dtype in ARANGE_OUT_DTYPES:
        assert kernels_c.make_thunk(arange_node(dtype, ["int64"] * 3)).backend == "c"
    for dtype in ["float16", "bool", "complex128"]:
        thunk = kernels_c.make_thunk(arange_node(dtype, ["int64"] * 3))
        assert thunk.backend == "numpy"


def test_arange_reuses_its_buffer_in_no_gc_mode():
    node = arange_node("int64", ["int64"] * 3)
    args = [np.asarray(v) for v in (0, 5, 1)]
    thunk, storage, first = run_c(node, args, keep_buffers=True)
    storage[0] = np.asarray(-3)
    storage[1] = np.asarray(2)
    thunk()
    assert storage[3] is first
    np.testing.assert_array_equal(storage[3], np.arange(-3, 2))
    storage[1] = np.asarray(9)
    thunk()
    np.testing.assert_array_equal(storage[3], np.arange(-3, 9))


def test_arange_in_a_function_under_every_linker():
    n, s = T.lscalar("n"), T.dscalar("s")
    outs = [T.arange(n), T.arange(1, n, 2, dtype="int32"), T.arange(0.0, s, 0.3),
            T.arange(s, 0.0, -0.5, dtype="float32")]
    for linker in ["py", "vm", "cvm", "cvm_nogc"]:
        f = symarray.function([n, s], outs, mode=symarray.Mode(linker=linker))
        for nv, sv in [(7, 2.0), (0, 0.0), (3, 5.5)]:
            got = f(nv, sv)
            for g, e in zip(got, [np.arange(nv), np.arange(1, nv, 2, dtype="int32"),
                                  np.arange(0.0, sv, 0.3),
                                  np.arange(sv, 0.0, -0.5, dtype="float32")],
                            strict=True):
                assert g.dtype == e.dtype
                np.testing.assert_array_equal(g, e)
