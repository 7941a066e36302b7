"""Tests of :class:`CyCoordIndexThunk` (kernels_c/_indexing.pyx): coordinate
indexing ``x[i, j]``, ``inc_subtensor(x[i, j], y)``, ``set_subtensor``.

Each C thunk runs against the op's ``perform`` on copies of the same
inputs over value dtypes, index dtypes, broadcast index shapes, negative
and repeated coordinates, empty indices, leading and trailing full slices,
memory layouts of every operand, in and out of place.  Nodes built with
:func:`c_only` have a ``perform`` that raises, which shows that the C path
ran (not its fallback).
"""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import kernels_c
from symarray.errors import IndexingError
from symarray.kernels_c._indexing import CyCoordIndexThunk, CyIndexThunk
from symarray.kernels_c.indexing import coord_axes
from symarray.tensor.subtensor import Idx, IndexSlice
from symarray.tensor.subtensor_advanced import AdvancedSubtensor
from symarray.tensor.subtensor_inc import AdvancedIncSubtensor
from symarray.vm import make_py_thunk
from tests.kernels_c.test_indexing import (
    LAYOUTS,
    assert_same,
    bind,
    layout,
    run_c,
    run_perform,
    tvar,
    values,
)
from tests.op_checks import check_against_numpy
from tests.tensor.grad_numeric import check_grad

# (name, x shape, axis of the first array, index values, y shape or None for
# x[idx]'s shape); negative values are taken modulo the axis for unsigned
# index dtypes
CASES = [
    ("rows_cols", (6, 4), 0, [[0, 5, -1, 2, 0], [3, 0, -4, 1, 3]], None),
    ("mlp_loss", (7, 3), 0, [[0, 1, 2, 3, 4, 5, 6], [2, 0, 1, 1, 2, 0, 0]], None),
    ("broadcast_2d", (5, 6), 0, [[[0], [4], [-1]], [1, 5, 1, 0]], None),
    ("broadcast_y", (5, 6), 0, [[[0], [4], [-1]], [1, 5, 1, 0]], (4,)),
    ("scalar_y", (6, 4), 0, [[0, 5, 0], [3, 0, 3]], ()),
    ("index_0d_and_1d", (5, 6), 0, [3, [0, 1, 5, -6]], None),
    ("all_0d", (5, 6), 0, [2, -1], None),
    ("all_0d_rest", (5, 6, 2), 0, [-1, 3], None),
    ("three_arrays", (4, 5, 6), 0, [[0, 3, -1, 0], [4, 0, 2, 4], [5, -6, 0, 5]], None),
    ("trailing_dims", (5, 4, 3), 0, [[0, 4, 4], [1, -1, 1]], None),
    ("trailing_y_bcast", (5, 4, 3), 0, [[0, 4, 4], [1, -1, 1]], (3, 1)),
    ("leading_slice", (3, 5, 4), 1, [[0, 4, 4, 2], [3, 3, 0, -4]], None),
    ("both_sides", (2, 5, 4, 3), 1, [[0, 4, 4], [3, 3, -4]], None),
    ("index_2d", (4, 5), 0, [[[0, 1], [3, 3]], [[4, 4], [0, -5]]], None),
    ("empty", (5, 4), 0, [[], []], None),
    ("empty_broadcast", (5, 4), 0, [np.zeros((0, 1), int), [1, 2]], None),
    ("zero_trailing", (5, 4, 0), 0, [[1, 2], [0, 3]], None),
    ("one_array_uint", (6, 2), 0, [[5, 0, 5, -1]], None),
]

INDEX_DTYPES = ["int64", "int32", "int8", "uint8", "uint16", "uint64"]


def make_indices(case, index_dtype):
    _, x_shape, axis, idx, _ = case
    out = []
    for j, v in enumerate(idx):
        v = np.asarray(v)
        if np.dtype(index_dtype).kind == "u":
            v = v % x_shape[axis + j]
        out.append(np.asarray(v, dtype=index_dtype))
    return out


def key_of(axis, index_vars):
    return (slice(None),) * axis + tuple(index_vars)


def idx_list_of(axis, k):
    return (IndexSlice(),) * axis + (Idx.ARRAY,) * k


def gather_node(case, dtype, idx):
    _, x_shape, axis, _, _ = case
    x = tvar(dtype, len(x_shape))
    op = AdvancedSubtensor(idx_list_of(axis, len(idx)))
    return op(x, *[tvar(i.dtype, i.ndim) for i in idx]).owner


def scatter_node(case, dtype, idx, y_ndim, mode, inplace):
    _, x_shape, axis, _, _ = case
    x, y = tvar(dtype, len(x_shape)), tvar(dtype, y_ndim)
    op = AdvancedIncSubtensor(idx_list_of(axis, len(idx)), inplace, mode == "set")
    return op(x, y, *[tvar(i.dtype, i.ndim) for i in idx]).owner


def _refuse(self, node, inputs, output_storage):
    raise AssertionError(f"{self}: perform ran instead of the C thunk")


def c_only(node):
    """``node`` rebuilt with an op whose ``perform`` raises."""
    op = node.op
    cls = type(f"COnly{type(op).__name__}", (type(op),), {"perform": _refuse})
    new = object.__new__(cls)
    new.__dict__.update(op.__dict__)
    return new(*node.inputs).owner


def perform_on(node, args):
    """``perform`` on a copy of ``x`` and the other arguments themselves
    (run_perform's copies change their layout)."""
    thunk = make_py_thunk(node)
    storage = bind(thunk, [args[0].copy(), *args[1:]])
    thunk()
    return storage[len(args)]


def expected_class(idx):
    """One array of a dtype other than uint64 runs in the older thunk."""
    if len(idx) == 1 and idx[0].dtype != np.uint64:
        return CyIndexThunk
    return CyCoordIndexThunk


def sub_shape(x, case, idx):
    return np.zeros(x.shape, np.int8)[key_of(case[2], idx)].shape


# -- gathers ----------------------------------------------------------------------


@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gather_matches_perform(case, index_dtype):
    rng = np.random.default_rng(len(case[0]))
    idx = make_indices(case, index_dtype)
    x0 = values("float64", case[1], rng)
    node = gather_node(case, "float64", idx)
    expected = run_perform(node, [x0, *idx])
    np.testing.assert_array_equal(expected, x0[key_of(case[2], idx)])
    fast = c_only(node)
    for lay in LAYOUTS:
        thunk, _, got = run_c(fast, [layout(x0, lay)] + [layout(i, lay) for i in idx])
        assert isinstance(thunk, expected_class(idx))
        assert_same(got, expected)
        assert got.flags.c_contiguous


@pytest.mark.parametrize("dtype", ["float32", "int64", "int8", "uint16", "bool",
                                   "float16", "complex128"])
def test_gather_value_dtypes(dtype):
    rng = np.random.default_rng(1)
    for case in (CASES[0], CASES[2], CASES[8]):
        idx = make_indices(case, "int64")
        x0 = values(dtype, case[1], rng)
        node = gather_node(case, dtype, idx)
        _, _, got = run_c(c_only(node), [layout(x0, "negative"), *idx])
        assert_same(got, run_perform(node, [x0, *idx]))


def test_gather_no_gc_reuses_its_buffer():
    case = CASES[0]
    idx = make_indices(case, "int64")
    x0 = np.arange(24.0).reshape(6, 4)
    node = gather_node(case, "float64", idx)
    thunk, storage, first = run_c(node, [x0, *idx], keep_buffers=True)
    storage[0] = -x0
    thunk()
    assert storage[3] is first
    assert_same(storage[3], -x0[tuple(idx)])


# -- scatters ---------------------------------------------------------------------


def scatter_args(case, dtype, index_dtype, rng):
    idx = make_indices(case, index_dtype)
    x0 = values(dtype, case[1], rng)
    y_shape = case[4] if case[4] is not None else sub_shape(x0, case, idx)
    return x0, values(dtype, y_shape, rng), idx


@pytest.mark.parametrize("mode", ["inc", "set"])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_scatter_matches_perform(case, dtype, mode):
    rng = np.random.default_rng(len(case[0]))
    x0, y0, idx = scatter_args(case, dtype, "int64", rng)
    for inplace in (False, True):
        node = scatter_node(case, dtype, idx, y0.ndim, mode, inplace)
        for lay in LAYOUTS:
            x, y = layout(x0, lay), layout(y0, lay)
            laid = [layout(i, lay) for i in idx]
            # NumPy sets repeated elements in an order that follows the
            # operands' layout: perform runs on these very arrays
            expected = perform_on(node, [x0, y, *laid])
            thunk, _, got = run_c(node, [x, y, *laid])
            assert isinstance(thunk, expected_class(idx))
            assert_same(got, expected)
            if inplace:
                assert got is x
            else:
                assert not np.shares_memory(got, x)
                assert_same(x, x0)


@pytest.mark.parametrize("mode", ["inc", "set"])
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_scatter_index_dtypes_run_in_c(index_dtype, mode):
    rng = np.random.default_rng(2)
    for case in CASES:
        x0, y0, idx = scatter_args(case, "float64", index_dtype, rng)
        node = scatter_node(case, "float64", idx, y0.ndim, mode, False)
        _, _, got = run_c(c_only(node), [layout(x0, "gapped"), y0, *idx])
        assert_same(got, run_perform(node, [x0, y0, *idx]))


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "uint32", "float16",
                                   "bool", "complex64"])
def test_set_other_value_dtypes(dtype):
    rng = np.random.default_rng(3)
    x0, y0, idx = scatter_args(CASES[0], dtype, "int32", rng)
    node = scatter_node(CASES[0], dtype, idx, y0.ndim, "set", False)
    _, _, got = run_c(c_only(node), [x0, y0, *idx])
    assert_same(got, run_perform(node, [x0, y0, *idx]))


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "uint64"])
def test_inc_integers_wrap_like_add_at(dtype):
    info = np.iinfo(dtype)
    x0 = np.array([[info.max, info.min], [0, 1]], dtype=dtype)
    y0 = np.array([1, 1, info.max], dtype=dtype)
    idx = [np.array([0, 0, 1]), np.array([0, 0, 1])]
    node = scatter_node(CASES[0], dtype, idx, 1, "inc", False)
    _, _, got = run_c(c_only(node), [x0, y0, *idx])
    expected = x0.copy()
    np.add.at(expected, tuple(idx), y0)
    assert_same(got, expected)


def test_repeated_coordinates_accumulate_like_add_at():
    rng = np.random.default_rng(4)
    x0 = rng.standard_normal((30, 7))
    idx = [rng.integers(-30, 30, 70000), rng.integers(-7, 7, 70000)]
    y0 = rng.standard_normal(70000)
    node = scatter_node(CASES[0], "float64", idx, 1, "inc", False)
    # releases the GIL; a scratch this large is not kept between calls
    _, _, got = run_c(c_only(node), [x0, y0, *idx])
    expected = x0.copy()
    np.add.at(expected, tuple(idx), y0)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def order_layout(arr, kind):
    if kind == "gapped_c":
        return layout(arr, "gapped")
    if kind == "rows_reversed":
        return np.ascontiguousarray(arr[::-1])[::-1]
    return layout(arr, kind)


ORDERS = ["c", "fortran", "rows_reversed", "gapped_c"]


@pytest.mark.parametrize("y_order", ORDERS)
@pytest.mark.parametrize("j_order", ORDERS)
@pytest.mark.parametrize("i_order", ORDERS)
def test_set_keeps_the_value_numpy_writes_last(i_order, j_order, y_order):
    # positions (0, 1) and (1, 0) write the same element: C order keeps
    # y[1, 0], NumPy keeps y[0, 1] when every operand lies in F order
    i0, j0 = np.array([[0, 0], [0, 1]]), np.array([[0, 2], [2, 1]])
    y0 = np.array([[1.0, 2.0], [3.0, 4.0]])
    idx = [order_layout(i0, i_order), order_layout(j0, j_order)]
    x0 = np.zeros((3, 3))
    node = scatter_node(CASES[0], "float64", idx, 2, "set", False)
    expected = perform_on(node, [x0, order_layout(y0, y_order), *idx])
    _, _, got = run_c(node, [x0, order_layout(y0, y_order), *idx])
    assert_same(got, expected)
    if "c" in (i_order, j_order) or "gapped_c" in (i_order, j_order):
        _, _, fast = run_c(c_only(node), [x0, order_layout(y0, y_order), *idx])
        assert_same(fast, expected)  # a C-ordered index array: run in C


def test_inplace_scatter_copies_when_y_or_index_overlaps_x():
    x0 = np.arange(12).reshape(4, 3).astype(np.int64)
    idx = [np.array([1, 1]), np.array([0, 2])]
    node = scatter_node(CASES[0], "int64", idx, 1, "inc", True)
    expected = run_perform(node, [x0, x0[3, :2], *idx])
    x = x0.copy()
    _, _, got = run_c(node, [x, x[3, :2], *idx])
    assert_same(got, expected)
    assert got is not x
    x = np.zeros((4, 3), np.int64)
    x[0, :2] = [1, 1]
    ix = x[0, :2]  # the index is part of x
    expected = run_perform(node, [x, np.ones(2, np.int64), ix, idx[1]])
    _, _, got = run_c(node, [x, np.ones(2, np.int64), ix, idx[1]])
    assert_same(got, expected)
    assert got is not x


def test_symbolic_integers_among_the_arrays():
    # a symbolic integer next to an array is a 0-d index array (NumPy's rule)
    x, y, i, s = T.dtensor3("x"), T.dvector("y"), T.lvector("i"), T.iscalar("s")
    rng = np.random.default_rng(8)
    x0, y0 = rng.standard_normal((4, 5, 3)), rng.standard_normal(3)
    i0 = np.array([4, -1, 0])
    for s0 in (np.asarray(2, np.int32), np.asarray(-3, np.int32)):
        cases = [(x[:, i, s], [x0, i0, s0], x0[:, i0, s0]),
                 (x[s, i], [x0, s0, i0], x0[s0, i0]),
                 (T.inc_subtensor(x[s, i, :], y), [x0, y0, s0, i0], None)]
        for expr, args, ref in cases:
            node = expr.owner
            if ref is None:
                ref = run_perform(node, args)
            _, _, got = run_c(c_only(node), args)
            assert_same(got, ref)


# -- errors: perform's, from the same call -------------------------------------------

# (index values, y shape) that are wrong for x of shape (6, 4)
BAD = [
    ([[0, 6], [0, 1]], (2,)),         # 6 out of range on axis 0
    ([[0, -7], [0, 1]], (2,)),
    ([[0, 1], [4, 0]], (2,)),         # on axis 1
    ([[0, 1, 2], [0, 1]], (2,)),      # the index arrays do not broadcast
    ([[0, 1], [0, 1]], (3,)),         # y does not fit x[idx]
]


@pytest.mark.parametrize("mode", ["gather", "inc", "set"])
@pytest.mark.parametrize("bad", range(len(BAD)))
def test_errors_are_performs(bad, mode):
    values_, y_shape = BAD[bad]
    if mode == "gather" and bad == len(BAD) - 1:
        return  # no y
    idx = [np.asarray(v) for v in values_]
    x0 = np.arange(24.0).reshape(6, 4)
    if mode == "gather":
        node, args = gather_node(CASES[0], "float64", idx), [x0, *idx]
    else:
        node = scatter_node(CASES[0], "float64", idx, 1, mode, True)
        args = [x0.copy(), np.ones(y_shape), *idx]
    with pytest.raises(Exception) as expected:
        run_perform(node, args)
    thunk = kernels_c.make_thunk(node)
    bind(thunk, args)
    with pytest.raises(type(expected.value)) as got:
        thunk()
    assert str(got.value) == str(expected.value)
    if bad < 3:
        assert isinstance(got.value, IndexingError)
        assert isinstance(got.value, IndexError)
    if mode != "gather":
        assert_same(args[0], x0)  # nothing was written in place


# -- which nodes get a C thunk ------------------------------------------------------


def test_coord_axes_and_declined_keys():
    x, i, j = T.dtensor3("x"), T.lvector("i"), T.bvector("j")
    m = T.bvector("m") > 0
    assert coord_axes(x[i, j].owner.op.idx_list) == (0, 2)
    assert coord_axes(x[:, i, j].owner.op.idx_list) == (1, 2)
    assert coord_axes(x[i, j, i].owner.op.idx_list) == (0, 3)
    assert coord_axes(x[i, :, j].owner.op.idx_list) is None
    assert coord_axes(x[i, 1].owner.op.idx_list) is None
    assert coord_axes(x[:, i, T.lscalar()].owner.op.idx_list) == (1, 2)
    backend = {"c": [x[i, j], x[:, i, j], T.set_subtensor(x[i, j], 1.0),
                     x[T.cast(i, "uint64")]],
               "numpy": [x[i, :, j], x[i, 1], x[i, m], x[i, j, None]]}
    for label, exprs in backend.items():
        for e in exprs:
            assert kernels_c.make_thunk(e.owner).backend == label, e


def test_constructed_op_with_trailing_full_slice():
    x, i, j = T.dtensor3("x"), T.lvector("i"), T.lvector("j")
    node = AdvancedSubtensor((Idx.ARRAY, Idx.ARRAY, IndexSlice()))(x, i, j).owner
    x0 = np.arange(60.0).reshape(3, 4, 5)
    idx = [np.array([2, 0]), np.array([-1, 3])]
    _, _, got = run_c(c_only(node), [x0, *idx])
    assert_same(got, x0[idx[0], idx[1], :])


# -- through compiled functions and gradients ---------------------------------------


def test_functions_under_every_linker():
    x, y, i, j = T.dmatrix("x"), T.dvector("y"), T.lvector("i"), T.ivector("j")
    rng = np.random.default_rng(5)
    xv, yv = rng.standard_normal((6, 3)), rng.standard_normal(4)
    iv, jv = np.array([5, 0, -1, 5]), np.array([2, 0, 1, -1], np.int32)

    def reference(xv, yv, iv, jv):
        inc = xv.copy()
        np.add.at(inc, (iv, jv), yv)
        put = xv.copy()
        put[iv, jv] = yv
        return [xv[iv, jv], inc, put, np.arange(len(iv))]

    outs = [x[i, j], T.inc_subtensor(x[i, j], y), T.set_subtensor(x[i, j], y),
            T.arange(i.shape[0])]
    check_against_numpy([x, y, i, j], outs, [xv, yv, iv, jv], reference)


def test_classifier_loss_and_gradient():
    x, y = T.dmatrix("x"), T.lvector("y")
    logp = T.log(T.nnet.softmax(x))
    cost = -T.mean(logp[T.arange(y.shape[0]), y])
    f = sa.function([x, y], [cost, T.grad(cost, x)])
    rng = np.random.default_rng(6)
    xv, yv = rng.standard_normal((8, 3)), rng.integers(0, 3, 8)
    z = xv - xv.max(1, keepdims=True)
    lp = z - np.log(np.exp(z).sum(1, keepdims=True))
    got_cost, got_grad = f(xv, yv)
    np.testing.assert_allclose(got_cost, -lp[np.arange(8), yv].mean(), rtol=1e-12)
    onehot = np.eye(3)[yv]
    np.testing.assert_allclose(got_grad, (np.exp(lp) - onehot) / 8, atol=1e-12)


def test_gradient_of_gather_matches_numeric():
    rng = np.random.default_rng(7)
    iv, jv = np.array([0, 2, 2, 4, 0]), np.array([1, 0, 0, 2, 1])
    xv = rng.standard_normal((5, 3))

    def fun(x):
        return T.sum(x[iv, jv] ** 2 * np.arange(1.0, 6.0))

    check_grad(fun, [xv])
    x = T.dmatrix("x")
    g = sa.function([x], T.grad(fun(x), x))(xv)
    expected = np.zeros_like(xv)
    np.add.at(expected, (iv, jv), 2 * xv[iv, jv] * np.arange(1.0, 6.0))
    np.testing.assert_allclose(g, expected)


def test_compiled_nodes_run_in_c():
    x, y = T.dmatrix("x"), T.lvector("y")
    cost = -T.mean(T.log(T.nnet.softmax(x))[T.arange(y.shape[0]), y])
    f = sa.function([x, y], [cost, T.grad(cost, x)])
    labels = {}
    for thunk in f.vm.program.thunks:
        name = type(thunk.node.op).__name__
        if name in ("ARange", "AdvancedSubtensor", "AdvancedIncSubtensor"):
            labels[name] = thunk.backend
    assert labels and set(labels.values()) == {"c"}, labels
