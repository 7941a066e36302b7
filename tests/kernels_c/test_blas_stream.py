"""Tests of symarray.kernels_c.blas_stream: the one-pass StreamGemv kernel.

The C thunk must give what ``perform`` gives (up to the rounding of other
summation orders) for float32 and float64, empty and one-row ``X``, row
counts that are not a multiple of the block, one column, C- and F-ordered
and row-sliced ``X``, broadcast, 0-d, strided and integer inputs of ``f``,
any scales, on one thread and on two; its results must not depend on how
the pool schedules the parts, and operands it cannot read in place must
run ``perform`` (which raises the errors).
"""

from __future__ import annotations

import numpy as np
import pytest

import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import kernels_c
from symarray.kernels_c import _blas_stream
from symarray.kernels_c._blas_stream import CyStreamGemvThunk
from symarray.kernels_c.blas_stream import stream_program
from symarray.scalar import get_scalar_op
from symarray.scalar.composite import CompositeBuilder
from symarray.tensor.blas_stream import stream_gemv
from symarray.vm import CyStorage


def _node(dtype: str, t_dtype: str = "", t_ndim: int = 1):
    """StreamGemv for f(z, t) = (sigmoid(z) - t) * 0.5 (f(z) = tanh(z) without t)."""
    X = T.matrix("X", dtype=dtype)  # noqa: N806
    w, y0 = T.vector("w", dtype=dtype), T.vector("y0", dtype=dtype)
    alpha, beta = T.scalar("a", dtype=dtype), T.scalar("b", dtype=dtype)
    if not t_dtype:
        b = CompositeBuilder([dtype])
        f = b.build([b.apply(get_scalar_op("tanh"), b.inputs)])
        return stream_gemv(f, X, w, [], y0, alpha, beta)[1].owner
    t = T.TensorType(t_dtype, shape=(None,) * t_ndim)("t")
    b = CompositeBuilder([dtype, t_dtype])
    s = b.apply(get_scalar_op("sigmoid"), [b.inputs[0]])
    d = b.apply(get_scalar_op("sub"), [s, b.inputs[1]], dtype)
    f = b.build([b.apply(get_scalar_op("mul"), [d, b.constant(0.5, dtype)], dtype)])
    return stream_gemv(f, X, w, [t], y0, alpha, beta)[1].owner


def _run(node, args, nthreads=1, keep_buffers=False, thunk=None, storage=None):
    if thunk is None:
        program = stream_program(node.op, node.outputs[0].type.dtype)
        thunk = CyStreamGemvThunk(node, program, nthreads)
        storage = CyStorage(len(node.inputs) + 3)
        n = len(node.inputs)
        thunk.bind(storage, range(n), range(n, n + 3), keep_buffers)
    for i, a in enumerate(args):
        storage[i] = a
    thunk()
    n = len(node.inputs)
    return thunk, storage, [storage[n + o] for o in range(3)]


def _perform(node, args):
    out = [[None], [None], [None]]
    node.op.perform(node, [np.array(a) for a in args], out)
    return [o[0] for o in out]


def _close(got, want, dtype, scale=1.0):
    tol = (2e-4 if np.dtype(dtype) == np.float32 else 1e-11) * scale
    for g, e in zip(got, want, strict=True):
        assert g.dtype == e.dtype and g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=tol, atol=tol, equal_nan=True)


@pytest.fixture
def small_blocks():
    """Blocks and chunks of a few rows, and threads for small X, so that
    tests cross blocks and chunks."""
    old = (_blas_stream.block_bytes(64), _blas_stream.chunk_bytes(512),
           _blas_stream.parallel_min(1))
    yield
    _blas_stream.block_bytes(old[0])
    _blas_stream.chunk_bytes(old[1])
    _blas_stream.parallel_min(old[2])


def _args(dtype, n, k, order, rng, t=None, alpha=-0.1, beta=1.0):
    X = np.asarray(rng.standard_normal((n, k)), dtype=dtype, order=order)  # noqa: N806
    w = rng.standard_normal(k).astype(dtype)
    y0 = rng.standard_normal(k).astype(dtype)
    scales = [np.asarray(alpha, dtype=dtype), np.asarray(beta, dtype=dtype)]
    return [X, w] + ([] if t is None else [t]) + [y0] + scales


SHAPES = [(0, 3), (1, 4), (37, 5), (64, 1), (300, 17), (5, 0)]


@pytest.mark.parametrize("nthreads", [1, 2])
@pytest.mark.parametrize("order", ["C", "F", "C, BLAS"])
@pytest.mark.parametrize("n,k", SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_against_perform(dtype, n, k, order, nthreads, small_blocks):
    """C-ordered X runs the row kernels (or BLAS per block with use_blas),
    F-ordered X two whole-matrix BLAS calls."""
    rng = np.random.default_rng(n * 100 + k)
    node = _node(dtype, dtype)
    args = _args(dtype, n, k, order[0], rng, rng.standard_normal(n).astype(dtype))
    old = _blas_stream.use_blas(order.endswith("BLAS"))
    try:
        _, _, got = _run(node, args, nthreads)
    finally:
        _blas_stream.use_blas(old)
    _close(got, _perform(node, args), dtype, scale=max(k, 1))


@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (0.0, 1.0), (2.5, -1.5)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_scales(dtype, alpha, beta, small_blocks):
    rng = np.random.default_rng(1)
    node = _node(dtype)
    args = _args(dtype, 40, 6, "C", rng, alpha=alpha, beta=beta)
    _, _, got = _run(node, args, 2)
    _close(got, _perform(node, args), dtype, scale=6)


def test_zero_scale_keeps_nan(small_blocks):
    node = _node("float64")
    args = _args("float64", 10, 3, "C", np.random.default_rng(2), alpha=1.0, beta=0.0)
    args[2][1] = np.nan  # y0
    _, _, (_, y, _) = _run(node, args)
    assert np.isnan(y[1]) and np.isfinite(y[0]) and np.isfinite(y[2])


@pytest.mark.parametrize("kind", ["broadcast", "scalar", "strided", "int64", "bool"])
def test_inputs_of_f(kind, small_blocks):
    rng = np.random.default_rng(3)
    n = 45
    t_dtype, t_ndim = "float64", 1
    if kind == "broadcast":
        t = np.array([0.25])
    elif kind == "scalar":
        t, t_ndim = np.array(0.25), 0
    elif kind == "strided":
        t = rng.standard_normal(2 * n)[::2]
    elif kind == "int64":
        t, t_dtype = rng.integers(0, 3, n), "int64"
    else:
        t, t_dtype = rng.integers(0, 2, n).astype(bool), "bool"
    node = _node("float64", t_dtype, t_ndim)
    args = _args("float64", n, 7, "C", rng, t)
    for nthreads in (1, 2):
        _, _, got = _run(node, args, nthreads)
        _close(got, _perform(node, args), "float64", scale=7)


@pytest.mark.parametrize("layout", ["row_slice", "col_slice", "negative_w",
                                    "y0_strided"])
def test_layouts(layout, small_blocks):
    """Row slices (C-like, row stride above k) and negative or strided
    vectors are read in place; a column slice (neither C- nor F-like) runs
    perform.  The results are the same."""
    rng = np.random.default_rng(4)
    node = _node("float64", "float64")
    args = _args("float64", 30, 8, "C", rng, rng.standard_normal(30))
    if layout == "row_slice":
        args[0] = rng.standard_normal((60, 8))[::2]
    elif layout == "col_slice":
        args[0] = rng.standard_normal((30, 16))[:, ::2]
    elif layout == "negative_w":
        args[1] = rng.standard_normal(8)[::-1]
    else:
        args[3] = rng.standard_normal(16)[::2]
    _, _, got = _run(node, args, 2)
    _close(got, _perform(node, args), "float64", scale=8)


@pytest.mark.parametrize("order", ["C", "F"])
def test_results_do_not_depend_on_the_threads(order, small_blocks):
    """Chunks (each with its own accumulator, summed in order) depend only
    on n and k: one thread, two or three give the same bits.  (F-ordered X
    runs two whole-matrix BLAS calls: one chunk.)"""
    rng = np.random.default_rng(5)
    node = _node("float64", "float64")
    args = _args("float64", 513, 33, order, rng, rng.standard_normal(513))
    first = _run(node, args, 1)[2]
    assert _blas_stream.last_run()[0] == (33 if order == "C" else 1)  # 16 rows
    for nthreads in (2, 3, 2):
        got = _run(node, args, nthreads)[2]
        for a, b in zip(first, got, strict=True):
            np.testing.assert_array_equal(a, b)
    _close(first, _perform(node, args), "float64", scale=33)


def test_wrong_lengths_run_perform_which_raises(small_blocks):
    node = _node("float64", "float64")
    rng = np.random.default_rng(6)
    args = _args("float64", 10, 3, "C", rng, rng.standard_normal(4))
    with pytest.raises(ValueError, match="has length 4 but X has 10 rows"):
        _run(node, args)
    args = _args("float64", 10, 3, "C", rng, rng.standard_normal(10))
    args[1] = rng.standard_normal(5)
    with pytest.raises(ValueError, match="not aligned"):
        _run(node, args)


def test_no_gc_mode_reuses_its_outputs(small_blocks):
    rng = np.random.default_rng(7)
    node = _node("float64", "float64")
    args = _args("float64", 50, 4, "C", rng, rng.standard_normal(50))
    thunk, storage, first = _run(node, args, 2, keep_buffers=True)
    ids = [id(a) for a in first]
    args2 = _args("float64", 50, 4, "C", rng, rng.standard_normal(50))
    _, _, second = _run(node, args2, thunk=thunk, storage=storage)
    assert [id(a) for a in second] == ids
    _close(second, _perform(node, args2), "float64", scale=4)


def test_the_factory():
    assert kernels_c.make_thunk(_node("float64", "float64")).backend == "c"
    # a dtype without loops (float16), an integer power that may raise: perform
    X, w, y0 = T.dmatrix("X"), T.dvector("w"), T.dvector("y0")  # noqa: N806
    for other, op in (("float16", "add"), ("int64", "pow")):
        b = CompositeBuilder(["float64", other])
        t = b.apply(get_scalar_op(op), [b.inputs[1], b.inputs[1]], other)
        f = b.build([b.apply(get_scalar_op("mul"), [b.inputs[0], t], "float64")])
        node = stream_gemv(f, X, w, [T.vector("t", dtype=other)], y0, 1.0,
                           1.0)[1].owner
        assert stream_program(node.op, "float64") is None
        assert kernels_c.make_thunk(node) is None


TUNABLES = [("block_bytes", _blas_stream.BLOCK_BYTES),
            ("chunk_bytes", _blas_stream.CHUNK_BYTES),
            ("parallel_min", _blas_stream.PARALLEL_MIN)]


@pytest.mark.parametrize("name, default", TUNABLES, ids=[t[0] for t in TUNABLES])
def test_tunable_sets_and_returns_the_old_value(name, default):
    tune = getattr(_blas_stream, name)
    assert tune() == default
    try:
        assert tune(np.int64(5)) == default  # any integer (operator.index)
        assert tune() == 5 and type(tune()) is int
        assert tune(7) == 5
        others = {n: getattr(_blas_stream, n)() for n, _ in TUNABLES if n != name}
        assert others == {n: d for n, d in TUNABLES if n != name}  # own slot only
    finally:
        tune(default)
    assert tune() == default


# (bad value, error, what the message says)
BAD_TUNABLE_VALUES = [
    (0, ValueError, r"must be >= 1 and <= \d+ \(.*\), got 0; pass a positive int"),
    (-3, ValueError, r"got -3"),
    (2**70, ValueError, r"<= 9223372036854775807"),
    (1.5, TypeError, r"expected an int >= 1 .* got float 1\.5; pass an int"),
    (True, TypeError, r"got bool True"),
    ("4096", TypeError, r"got str '4096'"),
]


@pytest.mark.parametrize("name, default", TUNABLES, ids=[t[0] for t in TUNABLES])
@pytest.mark.parametrize("value, error, message", BAD_TUNABLE_VALUES,
                         ids=[repr(b[0]) for b in BAD_TUNABLE_VALUES])
def test_tunable_rejects_bad_values(name, default, value, error, message):
    tune = getattr(_blas_stream, name)
    with pytest.raises(error, match=message) as info:
        tune(value)
    assert str(info.value).startswith(name) and f"default {default}" in str(info.value)
    assert tune() == default  # unchanged
