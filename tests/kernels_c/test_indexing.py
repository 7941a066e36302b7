"""Tests of symarray.kernels_c._indexing: each C thunk against ``perform``.

Gathers (``x[idx]``), accumulating scatters (``inc_subtensor``) and
``set_subtensor`` run through a thunk bound to a storage arena, over dtypes,
index shapes (repeated, negative, 0-d, 2-d, empty, masks), 0-size and
1-element operands, broadcast updates and memory layouts (contiguous,
Fortran, gapped, negative strides), in and out of place; the op's NumPy
``perform`` on copies of the same inputs is the reference.  Basic
``Subtensor`` views are compared with NumPy's views: values, shape, strides
and shared memory.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import kernels_c
from symarray.kernels_c._indexing import CyIndexThunk, CySubtensorThunk
from symarray.kernels_c.indexing import single_array_axis
from symarray.tensor.subtensor_inc import AdvancedIncSubtensor, AdvancedIncSubtensor1
from symarray.tensor.type import TensorType
from symarray.vm import CyStorage, make_py_thunk
from tests.op_checks import check_against_numpy

LAYOUTS = ("c", "fortran", "gapped", "negative")


def layout(arr, kind):
    """``arr``'s values in memory laid out as ``kind``."""
    arr = np.asarray(arr)
    if kind == "c" or arr.ndim == 0:
        return np.array(arr, order="C", copy=True)
    if kind == "fortran":
        return np.array(arr, order="F", copy=True)
    if kind == "gapped":
        big = np.zeros(tuple(2 * n for n in arr.shape), dtype=arr.dtype)
        view = big[(slice(None, None, 2),) * arr.ndim]
        view[...] = arr
        return view
    return np.flip(np.ascontiguousarray(np.flip(arr)))


def values(dtype, shape, rng):
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    if dt.kind in "iu":
        return rng.integers(0, 50, shape).astype(dt)
    if dt.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)
    return rng.standard_normal(shape).astype(dt)


def bind(thunk, args, keep_buffers=False):
    storage = CyStorage(len(args) + 1)
    thunk.bind(storage, range(len(args)), [len(args)], keep_buffers)
    for k, a in enumerate(args):
        storage[k] = a
    return storage


def run_c(node, args, keep_buffers=False):
    """Run the C thunk of ``node``; (thunk, storage, output)."""
    thunk = kernels_c.make_thunk(node)
    assert thunk is not None and thunk.backend == "c", node
    storage = bind(thunk, args, keep_buffers)
    thunk()
    return thunk, storage, storage[len(args)]


def run_perform(node, args):
    thunk = make_py_thunk(node)
    storage = bind(thunk, [np.array(a, copy=True) for a in args])
    thunk()
    return storage[len(args)]


def assert_same(got, expected):
    assert got.dtype == expected.dtype and got.shape == expected.shape
    if got.dtype.kind in "fc":
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_array_equal(got, expected)


def tvar(dtype, ndim):
    return TensorType(dtype, shape=(None,) * ndim)()


# -- scatters: inc_subtensor / set_subtensor -----------------------------------

# (name, x shape, index kind, axis, index value, y shape; None: x[idx]'s shape)
SCATTER_CASES = [
    ("rows_repeated", (10, 3), "int1", 0, [0, -1, 3, 0, 9, -10, 3], None),
    ("rows_y_row", (10, 3), "int1", 0, [1, 1, 2], (3,)),
    ("rows_y_scalar", (10, 3), "int1", 0, [1, 1, 2], ()),
    ("rows_y_column", (10, 3), "int1", 0, [1, 1, 2], (3, 1)),
    ("vector", (7,), "int1", 0, [6, -7, 0, 0], None),
    ("one_element", (1,), "int1", 0, [0, -1, 0], None),
    ("empty_index", (5, 3), "int1", 0, [], None),
    ("zero_rows", (0, 3), "int1", 0, [], None),
    ("zero_columns", (5, 0), "int1", 0, [1, 1, 4], None),
    ("int32_index", (6, 2), "int1", 0, np.array([5, -6, 5], np.int32), None),
    ("axis1", (4, 6, 2), "int", 1, [5, 0, 5, -1], None),
    ("axis2_y_bcast", (4, 3, 5), "int", 2, [4, 4, 0], (3,)),
    ("index_2d", (6, 3), "int", 0, [[0, 1], [1, -1]], None),
    ("index_2d_axis1", (2, 6, 3), "int", 1, [[0, 5], [5, 5], [1, 2]], None),
    ("mask_full", (4, 5), "mask", 0, "full", None),
    ("mask_full_scalar_y", (4, 5), "mask", 0, "full", ()),
    ("mask_rows", (4, 5), "mask", 0, "rows", (5,)),
    ("mask_axis1", (3, 4, 2), "mask", 1, "axis1", None),
]

MASKS = {"full": lambda rng: rng.random((4, 5)) > 0.5,
         "rows": lambda rng: np.array([True, False, True, True]),
         "axis1": lambda rng: np.array([False, True, True, False])}


def scatter_node(x_shape, kind, axis, idx, y_ndim, dtype, mode, inplace):
    x = tvar(dtype, len(x_shape))
    i = tvar(idx.dtype, idx.ndim)
    y = tvar(dtype, y_ndim)
    set_ = mode == "set"
    if kind == "int1":
        return AdvancedIncSubtensor1(inplace, set_)(x, y, i).owner
    key = (slice(None),) * axis + (i,)
    built = T.inc_subtensor(x[key], y, set_instead_of_inc=set_)
    op = built.owner.op
    assert isinstance(op, AdvancedIncSubtensor)
    return AdvancedIncSubtensor(op.idx_list, inplace, set_)(*built.owner.inputs).owner


def scatter_inputs(case, dtype, rng):
    name, x_shape, kind, axis, idx, y_shape = case
    idx = MASKS[idx](rng) if kind == "mask" else np.asarray(idx, dtype=getattr(
        idx, "dtype", np.int64))
    x = values(dtype, x_shape, rng)
    if y_shape is None:
        y_shape = np.zeros(x_shape, dtype=np.int8)[(slice(None),) * axis + (idx,)].shape
    return x, values(dtype, y_shape, rng), idx


@pytest.mark.parametrize("mode", ["inc", "set"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("case", SCATTER_CASES, ids=[c[0] for c in SCATTER_CASES])
def test_scatter_matches_perform(case, dtype, mode):
    rng = np.random.default_rng(len(case[0]))
    x0, y0, idx = scatter_inputs(case, dtype, rng)
    for inplace in (False, True):
        node = scatter_node(case[1], case[2], case[3], idx, y0.ndim, dtype, mode,
                            inplace)
        expected = run_perform(node, [x0, y0, idx])
        for lay in LAYOUTS:
            x, y, i = layout(x0, lay), layout(y0, lay), layout(idx, lay)
            thunk, storage, got = run_c(node, [x, y, i])
            assert isinstance(thunk, CyIndexThunk)
            assert_same(got, expected)
            if inplace:
                assert got is x  # written over x, as destroy_map allows
            else:
                assert not np.shares_memory(got, x)
                assert_same(x, x0)  # x is left alone


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "uint16", "float16",
                                   "bool", "complex64", "complex128"])
def test_set_other_dtypes(dtype):
    rng = np.random.default_rng(1)
    case = SCATTER_CASES[0]
    x0, y0, idx = scatter_inputs(case, dtype, rng)
    node = scatter_node(case[1], case[2], case[3], idx, y0.ndim, dtype, "set", False)
    _, _, got = run_c(node, [x0, y0, idx])
    assert_same(got, run_perform(node, [x0, y0, idx]))


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32", "uint32",
                                   "uint64"])
def test_inc_integers_wrap_like_numpy(dtype):
    info = np.iinfo(dtype)
    x0 = np.array([info.max, info.min, 0], dtype=dtype)
    y0 = np.array([1, 1, info.max], dtype=dtype)
    idx = np.array([0, 0, 2])
    node = scatter_node((3,), "int1", 0, idx, 1, dtype, "inc", False)
    _, _, got = run_c(node, [x0, y0, idx])
    assert_same(got, run_perform(node, [x0, y0, idx]))


def test_scatter_large_releases_gil_and_matches_add_at():
    rng = np.random.default_rng(2)
    x0 = rng.standard_normal((300, 8))
    idx = rng.integers(-300, 300, 20000)
    y0 = rng.standard_normal((20000, 8))
    node = scatter_node((300, 8), "int1", 0, idx, 2, "float64", "inc", False)
    _, _, got = run_c(node, [x0, y0, idx])
    expected = x0.copy()
    np.add.at(expected, idx, y0)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_scatter_no_gc_reuses_its_buffer():
    rng = np.random.default_rng(3)
    x0, y0, idx = scatter_inputs(SCATTER_CASES[0], "float64", rng)
    node = scatter_node((10, 3), "int1", 0, idx, 2, "float64", "inc", False)
    thunk, storage, first = run_c(node, [x0, y0, idx], keep_buffers=True)
    storage[1] = 2 * y0
    thunk()
    assert storage[3] is first  # last call's buffer, written again
    assert_same(storage[3], run_perform(node, [x0, 2 * y0, idx]))


def test_inplace_scatter_copies_when_y_overlaps_x():
    x0 = np.arange(12.0).reshape(4, 3)
    node = scatter_node((4, 3), "int1", 0, np.zeros(2, np.int64), 2, "float64", "inc",
                        True)
    idx = np.array([1, 1])
    expected = run_perform(node, [x0, x0[2:], idx])
    x = x0.copy()
    _, _, got = run_c(node, [x, x[2:], idx])  # y views x: written into a copy
    assert_same(got, expected)
    assert got is not x


# (case, bad index value, axis reported, size reported)
OUT_OF_RANGE = [
    (SCATTER_CASES[0], [0, 10, 2], 0, 10),
    (SCATTER_CASES[0], [-11], 0, 10),
    (SCATTER_CASES[10], [6], 1, 6),
    (SCATTER_CASES[9], [7], 0, 6),
]


@pytest.mark.parametrize("mode", ["gather", "inc", "set"])
@pytest.mark.parametrize("case,bad,axis,size", OUT_OF_RANGE)
def test_out_of_range_index_raises_index_error(case, bad, axis, size, mode):
    rng = np.random.default_rng(4)
    x0, _, good = scatter_inputs(case, "float64", rng)
    idx = np.asarray(bad, dtype=good.dtype)
    wrong = next(v for v in bad if not -size <= v < size)
    if mode == "gather":
        node = gather_node(case[1], case[2], case[3], idx, "float64")
        args = [x0, idx]
    else:
        y_shape = list(x0.shape)
        y_shape[case[3]] = len(bad)
        y0 = np.ones(y_shape)
        node = scatter_node(case[1], case[2], case[3], idx, y0.ndim, "float64", mode,
                            True)
        args = [x0.copy(), y0, idx]
    thunk = kernels_c.make_thunk(node)
    bind(thunk, args)
    message = f"index {wrong} is out of bounds for axis {axis} with size {size}"
    with pytest.raises(IndexError, match=re.escape(message)):
        thunk()
    if mode != "gather":
        assert_same(args[0], x0)  # nothing was written before the error


# -- gathers: advanced_subtensor1 / x[:, idx] ---------------------------------

GATHER_CASES = [c for c in SCATTER_CASES if c[2] != "mask"]


def gather_node(x_shape, kind, axis, idx, dtype):
    x = tvar(dtype, len(x_shape))
    i = tvar(idx.dtype, idx.ndim)
    if kind == "int1":
        return T.advanced_subtensor1(x, i).owner
    return x[(slice(None),) * axis + (i,)].owner


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int8", "bool",
                                   "float16", "complex128"])
@pytest.mark.parametrize("case", GATHER_CASES, ids=[c[0] for c in GATHER_CASES])
def test_gather_matches_perform(case, dtype):
    rng = np.random.default_rng(len(case[0]))
    x0, _, idx = scatter_inputs(case, dtype, rng)
    node = gather_node(case[1], case[2], case[3], idx, dtype)
    expected = run_perform(node, [x0, idx])
    for lay in LAYOUTS:
        thunk, _, got = run_c(node, [layout(x0, lay), layout(idx, lay)])
        assert isinstance(thunk, CyIndexThunk)
        assert_same(got, expected)
        assert got.flags.c_contiguous


def test_gather_no_gc_reuses_its_buffer():
    x0 = np.arange(12.0).reshape(4, 3)
    idx = np.array([3, 0, 3])
    node = gather_node((4, 3), "int1", 0, idx, "float64")
    thunk, storage, first = run_c(node, [x0, idx], keep_buffers=True)
    storage[0] = -x0
    thunk()
    assert storage[2] is first
    assert_same(storage[2], -x0[idx])


# -- which nodes get a C thunk ----------------------------------------------------


def _c_or_none(expr):
    thunk = kernels_c.make_thunk(expr.owner)
    return None if thunk is None else thunk.backend


def test_declined_keys_fall_back():
    x, i, j = T.dmatrix("x"), T.lvector("i"), T.lvector("j")
    m = T.bmatrix("m") > 0
    assert _c_or_none(x[i]) == "c"
    assert _c_or_none(x[:, i]) == "c"
    assert _c_or_none(T.inc_subtensor(x[m], 1.0)) == "c"
    assert _c_or_none(T.set_subtensor(x[:, i], 1.0)) == "c"
    assert _c_or_none(x[m]) == "numpy"  # NumPy's mask read is as fast
    assert _c_or_none(x[i, j]) == "c"  # coordinates (test_indexing_coords.py)
    assert _c_or_none(T.inc_subtensor(x[i, j], 1.0)) == "c"
    t = T.dtensor3("t")
    assert _c_or_none(t[i, :, j]) == "numpy"  # arrays apart: their dims go first
    assert _c_or_none(t[i, m]) == "numpy"  # an array with a mask
    assert _c_or_none(T.inc_subtensor(x[i, 1:], 1.0)) == "numpy"
    assert _c_or_none(T.inc_subtensor(x[1:3], 1.0)) == "numpy"  # basic IncSubtensor
    c = T.cmatrix("c")
    assert _c_or_none(T.inc_subtensor(c[i], c[i])) == "numpy"  # no complex adds


def test_single_array_axis():
    x, i = T.dtensor3("x"), T.lvector("i")
    assert single_array_axis(x[:, :, i].owner.op.idx_list) == 2
    assert single_array_axis(x[:, i].owner.op.idx_list) == 1
    assert single_array_axis(x[i, 1:].owner.op.idx_list) is None
    assert single_array_axis(x[i, i].owner.op.idx_list) is None


# -- basic indexing views -----------------------------------------------------

# (x shape, key: a function of symbolic scalars s, their values)
VIEW_CASES = [
    ((5, 4), lambda s: (slice(1, None), slice(None, None, -1)), []),
    ((5, 4), lambda s: (0,), []),
    ((5, 4), lambda s: (-1, 2), []),
    ((5, 4), lambda s: (slice(None, None, 2), None), []),
    ((5, 4), lambda s: (Ellipsis, 1), []),
    ((5, 4), lambda s: (None, Ellipsis, None), []),
    ((3, 4, 5), lambda s: (1, Ellipsis, slice(None, None, -2)), []),
    ((9,), lambda s: (slice(s[0], s[1], s[2]),), [1, 8, 2]),
    ((9,), lambda s: (slice(s[0], s[1], s[2]),), [8, 1, -3]),
    ((9,), lambda s: (slice(s[0], s[1], s[2]),), [-100, 100, 1]),
    ((9,), lambda s: (slice(s[0], s[1], s[2]),), [100, -100, -1]),
    ((9,), lambda s: (slice(s[0], s[1], s[2]),), [5, 5, 1]),
    ((9, 2), lambda s: (slice(s[0], None), s[1]), [-3, -2]),
    ((4, 3), lambda s: (s[0],), [-4]),
    ((0, 3), lambda s: (slice(1, None), 2), []),
    ((1,), lambda s: (s[0],), [0]),
]


@pytest.mark.parametrize("case", range(len(VIEW_CASES)))
def test_subtensor_views_match_numpy(case):
    shape, key_of, scalar_values = VIEW_CASES[case]
    x = tvar("float64", len(shape))
    scalars = [T.lscalar(f"s{k}") for k in range(len(scalar_values))]
    node = x[key_of(scalars)].owner
    x0 = np.arange(float(np.prod(shape))).reshape(shape)
    for lay in LAYOUTS:
        xv = layout(x0, lay)
        args = [xv] + [np.asarray(v, dtype=np.int64) for v in scalar_values]
        thunk, _, got = run_c(node, args)
        assert isinstance(thunk, CySubtensorThunk)
        key = key_of(scalar_values)
        expected = xv[key if Ellipsis in key else key + (Ellipsis,)]
        assert got.shape == expected.shape and got.strides == expected.strides
        np.testing.assert_array_equal(got, expected)
        if got.size:
            assert np.shares_memory(got, xv)
        assert got.flags.writeable == xv.flags.writeable


def test_subtensor_out_of_range_and_zero_step():
    x, s = T.dmatrix("x"), T.lscalar("s")
    node = x[1, s].owner
    thunk = kernels_c.make_thunk(node)
    bind(thunk, [np.zeros((3, 4)), np.asarray(4)])
    with pytest.raises(IndexError, match="index 4 is out of bounds for axis 1 with "
                                         "size 4"):
        thunk()
    node = x[::s].owner
    thunk = kernels_c.make_thunk(node)
    bind(thunk, [np.zeros((3, 4)), np.asarray(0)])
    with pytest.raises(ValueError, match="zero"):
        thunk()  # perform's error


def test_subtensor_of_read_only_array_is_read_only():
    x = T.dmatrix("x")
    x0 = np.zeros((3, 4))
    x0.flags.writeable = False
    _, _, got = run_c(x[1:].owner, [x0])
    assert not got.flags.writeable


# -- through compiled functions, every linker -----------------------------------


def test_functions_under_every_linker():
    x, y, i = T.dmatrix("x"), T.dmatrix("y"), T.lvector("i")
    rng = np.random.default_rng(5)
    xv, yv = rng.standard_normal((6, 3)), rng.standard_normal((4, 3))
    iv = np.array([5, 0, -1, 0])

    def reference(xv, yv, iv):
        inc = xv.copy()
        np.add.at(inc, iv, yv)
        put = xv.copy()
        put[iv] = yv
        return [inc, put, xv[iv], xv[:, [2, 0]], xv[1:, ::-1]]

    outs = [T.inc_subtensor(x[i], y), T.set_subtensor(x[i], y), x[i], x[:, [2, 0]],
            x[1:, ::-1]]
    check_against_numpy([x, y, i], outs, [xv, yv, iv], reference)


def test_gradient_of_gather_accumulates():
    x, i = T.dmatrix("x"), T.lvector("i")
    f = sa.function([x, i], T.grad(T.sum(x[i] ** 2), x))
    xv = np.arange(6.0).reshape(3, 2)
    iv = np.array([2, 2, 0])
    expected = np.zeros_like(xv)
    np.add.at(expected, iv, 2 * xv[iv])
    np.testing.assert_allclose(f(xv, iv), expected)
