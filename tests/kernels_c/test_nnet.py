"""The C thunks of Softmax and LogSoftmax (kernels_c/_nnet.pyx) against
their ``perform``: every axis of 1- to 3-d inputs, float32 and float64,
layouts (strided, negative, transposed, broadcast), empty and one-element
axes, NaN and infinities, threads, buffer reuse and the fallbacks."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T
from symarray import kernels_c
from symarray.kernels_c._nnet import THREAD_MIN, CyNnetThunk
from symarray.tensor.nnet.basic import LogSoftmax, Softmax
from symarray.tensor.type import TensorType
from symarray.vm import CyStorage, make_py_thunk
from tests.op_checks import check_against_numpy

OPS = {"softmax": Softmax, "log_softmax": LogSoftmax}
RTOL = {"float64": 1e-12, "float32": 1e-5}
SHAPES = [(7,), (1,), (0,), (1, 9), (9, 1), (6, 10), (0, 5), (5, 0), (3, 4, 5),
          (2, 1, 6), (4, 3, 0)]
LAYOUTS = ["c", "f", "strided", "negative", "broadcast"]


def make_value(shape, dtype, layout, seed=0):
    """Values of ``shape`` in ``layout``: C or F order, every other element,
    reversed axes, or broadcast along the first axis (stride 0)."""
    rng = np.random.default_rng(seed)
    if layout == "strided":
        big = rng.standard_normal(tuple(2 * s for s in shape)) * 4
        arr = big[tuple(slice(None, None, 2) for _ in shape)]
    elif layout == "broadcast" and shape and shape[0] > 0:
        row = rng.standard_normal((1, *shape[1:])) * 4
        arr = np.broadcast_to(row, shape)
    else:
        arr = rng.standard_normal(shape) * 4
        if layout == "f":
            arr = np.asfortranarray(arr)
        elif layout == "negative":
            arr = np.ascontiguousarray(arr)[tuple(slice(None, None, -1)
                                                  for _ in shape)]
    arr = arr.astype(dtype, copy=False) if layout != "f" else np.asfortranarray(
        arr.astype(dtype))
    assert arr.shape == tuple(shape) and arr.dtype == dtype
    return arr


def node_of(op_name, dtype, ndim, axis):
    x = TensorType(dtype, shape=(None,) * ndim)("x")
    return OPS[op_name](axis)(x).owner


def run_c(node, arg, keep_buffers=False, thunk=None, storage=None):
    if thunk is None:
        thunk = kernels_c.make_thunk(node)
        assert isinstance(thunk, CyNnetThunk) and thunk.backend == "c", node
        storage = CyStorage(2)
        thunk.bind(storage, [0], [1], keep_buffers)
    storage[0] = arg
    thunk()
    return thunk, storage, storage[1]


def run_perform(node, arg):
    thunk = make_py_thunk(node)
    storage = CyStorage(2)
    thunk.bind(storage, [0], [1])
    storage[0] = arg
    with np.errstate(all="ignore"):
        thunk()
    return storage[1]


def assert_matches(got, expected, dtype):
    """Same dtype and shape, values within RTOL; log-softmax values near 0
    are a difference of larger terms (``x - max - lse``), so an absolute
    slack of a few epsilons of the largest value is allowed too."""
    assert type(got) is np.ndarray
    assert got.dtype == expected.dtype == np.dtype(dtype)
    assert got.shape == expected.shape
    finite = np.abs(expected[np.isfinite(expected)])
    scale = max(1.0, float(finite.max())) if finite.size else 1.0
    atol = 8 * float(np.finfo(dtype).eps) * scale
    np.testing.assert_allclose(got, expected, rtol=RTOL[dtype], atol=atol,
                               equal_nan=True)


CASES = [(op, dtype, shape, axis, layout)
         for op in OPS for dtype in RTOL for shape in SHAPES
         for axis in range(-len(shape), len(shape)) for layout in LAYOUTS]


@pytest.mark.parametrize("op,dtype,shape,axis,layout", CASES)
def test_kernel_matches_perform(op, dtype, shape, axis, layout):
    node = node_of(op, dtype, len(shape), axis)
    x = make_value(shape, dtype, layout, seed=abs(axis))
    _, _, got = run_c(node, x)
    expected = run_perform(node, x)
    assert_matches(got, expected, dtype)
    assert got.flags.writeable and not np.shares_memory(got, x)
    if x.flags.c_contiguous or x.flags.f_contiguous:  # perform's memory order
        long_axes = [d for d, n in enumerate(shape) if n > 1]
        assert [got.strides[d] for d in long_axes] == [
            expected.strides[d] for d in long_axes]


def random_views(count, seed, dtype):
    """Views of random 2- to 4-d arrays: axes permuted, sliced with steps of
    -3..3 (any stride, negative ones, rows closer than the axis steps or
    farther)."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        ndim = int(rng.integers(2, 5))
        base = (rng.standard_normal(tuple(rng.integers(1, 9, ndim))) * 3).astype(dtype)
        steps = [int(rng.choice([-3, -2, -1, 1, 2, 3])) for _ in range(ndim)]
        view = base[tuple(slice(None, None, s) for s in steps)]
        yield view.transpose(rng.permutation(ndim))


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("dtype", sorted(RTOL))
def test_random_layouts_every_axis(op, dtype):
    for x in random_views(25, 11, dtype):
        for axis in range(x.ndim):
            node = node_of(op, dtype, x.ndim, axis)
            _, _, got = run_c(node, x)
            assert_matches(got, run_perform(node, x), dtype)


SPECIAL_ROWS = [
    [0.5, np.nan, 1.0, -2.0],
    [np.inf, 1.0, -3.0, 0.0],
    [np.inf, np.inf, 2.0, 1.0],
    [-np.inf, 1.0, -3.0, 0.0],
    [-np.inf, -np.inf, -np.inf, -np.inf],
    [np.inf, -np.inf, 0.0, 0.0],
    [np.nan, np.inf, -np.inf, 1.0],
    [1000.0, -1000.0, 999.0, 0.0],
    [-0.0, 0.0, -0.0, 0.0],
    [-1e300, -1e300, -1e300, -1e300],
    [3.0, 3.0, 3.0, 3.0],
]


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("dtype", sorted(RTOL))
@pytest.mark.parametrize("axis", [0, 1])
def test_nan_and_infinities(op, dtype, axis):
    with np.errstate(over="ignore"):  # -1e300 is -inf in float32, on purpose
        rows = np.array(SPECIAL_ROWS, dtype=dtype)
    x = rows if axis == 1 else np.ascontiguousarray(rows.T)
    node = node_of(op, dtype, 2, axis)
    _, _, got = run_c(node, x)
    expected = run_perform(node, x)
    assert_matches(got, expected, dtype)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(expected))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(expected))


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("dtype", sorted(RTOL))
@pytest.mark.parametrize("axis,layout", [(1, "c"), (0, "c"), (1, "strided"),
                                         (0, "negative"), (0, "3d")])
def test_threads_give_identical_results(op, dtype, axis, layout):
    """Above THREAD_MIN rows are split over the pool in whole blocks, so 1,
    2 or 3 threads give the same bits (``3d``: blocks across rows that end
    where the inner axis wraps)."""
    if layout == "3d":
        x = make_value((20, 30, 130), dtype, "c", seed=3)[:, :, :117]
    else:
        x = make_value((300, 2 * THREAD_MIN // 300), dtype, layout, seed=3)
    assert x.size >= THREAD_MIN
    node = node_of(op, dtype, x.ndim, axis)
    results = []
    for nthreads in (1, 2, 3):
        thunk = CyNnetThunk(node, op == "log_softmax", nthreads)
        storage = CyStorage(2)
        thunk.bind(storage, [0], [1])
        results.append(run_c(node, x, thunk=thunk, storage=storage)[2])
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])
    assert_matches(results[0], run_perform(node, x), dtype)


@pytest.mark.parametrize("op", sorted(OPS))
def test_no_gc_mode_reuses_the_output(op):
    node = node_of(op, "float64", 2, 1)
    x = make_value((5, 6), "float64", "c")
    thunk, storage, first = run_c(node, x, keep_buffers=True)
    ptr = first.ctypes.data
    del first
    y = make_value((5, 6), "float64", "c", seed=1)
    _, _, second = run_c(node, y, thunk=thunk, storage=storage)
    assert second.ctypes.data == ptr
    assert_matches(second, run_perform(node, y), "float64")
    _, _, third = run_c(node, make_value((4, 6), "float64", "c"), thunk=thunk,
                        storage=storage)
    assert third.shape == (4, 6)
    # the output never overlaps the input: giving it back as input reallocates
    out = storage[1]
    expected = run_perform(node, out.copy())
    _, _, fourth = run_c(node, out, thunk=thunk, storage=storage)
    assert not np.shares_memory(fourth, out)
    assert_matches(fourth, expected, "float64")


@pytest.mark.parametrize("op", sorted(OPS))
def test_unreadable_inputs_run_perform(op):
    """A byte-swapped array, another dtype or a list goes to ``perform``."""
    node = node_of(op, "float64", 2, 1)
    x = make_value((3, 4), "float64", "c")
    for arg in (x.astype(">f8"), x.astype("float32"), x.tolist()):
        _, _, got = run_c(node, arg)
        assert_matches(got, run_perform(node, arg), "float64")


def test_declined_dtypes_run_perform():
    """float16 has no kernel (the factory declines); integer inputs are cast
    to float by make_node, so their Softmax node gets the kernel."""
    for op in OPS.values():
        half = op(1)(TensorType("float16", shape=(None, None))("h")).owner
        assert kernels_c.make_thunk(half) is None
        ints = op(1)(T.imatrix("i")).owner
        assert ints.inputs[0].dtype == "float64"
        assert kernels_c.make_thunk(ints).backend == "c"


def test_compiled_function_runs_the_kernels():
    x = T.dmatrix("x")
    h = TensorType("float16", shape=(None, None))("h")
    f = sa.function([x, h], [T.nnet.softmax(x, axis=0),
                             T.nnet.log_softmax(x * 2, axis=1),
                             T.nnet.softmax(h)])
    backends = {str(n.op): t.backend
                for n, t in zip(f.vm.program.nodes, f.vm.program.thunks,
                                strict=True)}
    assert backends["Softmax{axis=0}"] == "c"
    assert backends["LogSoftmax{axis=1}"] == "c"
    assert backends["Softmax{axis=1}"] == "py"  # float16


@pytest.mark.parametrize("dtype", sorted(RTOL))
def test_against_numpy_under_every_linker(dtype):
    x = T.TensorType(dtype, shape=(None, None, None))("x")
    v = make_value((3, 5, 4), dtype, "c", seed=7)

    def softmax(a, axis):
        e = np.exp(a - a.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    def log_softmax(a, axis):
        s = a - a.max(axis=axis, keepdims=True)
        return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))

    check_against_numpy([x], [T.nnet.softmax(x, axis=1),
                              T.nnet.log_softmax(x, axis=-1)], [v],
                        lambda a: [softmax(a, 1), log_softmax(a, -1)])
