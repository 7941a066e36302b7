"""Tests of symarray.kernels_c._reduce: every reduction kernel against ``perform``.

Each (reduction, dtype) runs on C-ordered, F-ordered, transposed, strided,
negative-stride and broadcast (zero-stride) inputs of several shapes
(0-size, 1-element, 0-d...), over every combination of axes, through a
thunk bound to a storage arena, and must give what the op's NumPy
``perform`` gives: the same dtype and shape, equal values for integers and
bools, close values (NaN where NaN) for floats, and the same error for an
empty max.  Fused prologues (``ReduceElemwise``) are compared the same way
on random scalar programs with broadcasting inputs.
"""

from __future__ import annotations

import itertools
import os
import time

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import kernels_c
from symarray.errors import EmptyReductionError
from symarray.kernels_c._reduce import THREAD_MIN, CyArgReduceThunk, CyReduceThunk
from symarray.kernels_c.reduce import PROLOGUE_OPS, prologue_program
from symarray.scalar import get_scalar_op
from symarray.scalar.composite import CompositeBuilder
from symarray.tensor.reduction import Sum
from symarray.tensor.reduction_fused import ReduceElemwise, reduce_elemwise
from symarray.tensor.type import TensorType
from symarray.vm import CyStorage
from tests.op_checks import assert_allclose_typed, check_against_numpy

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
          "uint64", "float32", "float64"]
REDUCTIONS = {"sum": T.sum, "prod": T.prod, "max": T.max, "min": T.min,
              "all": T.all, "any": T.any, "argmax": T.argmax, "argmin": T.argmin}
SHAPES = [(), (0,), (1,), (7,), (3, 4), (0, 4), (3, 0), (1, 1), (2, 3, 4)]
LAYOUTS = ["c", "f", "transposed", "strided", "negative", "broadcast"]


def values(dtype, shape, rng, special=False):
    """Random values of ``dtype``; floats get NaN and infinities when ``special``."""
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return rng.random(shape) < 0.6
    if dt.kind == "f":
        v = rng.uniform(-2.0, 2.0, shape).astype(dt)
        if special and v.size:
            flat = v.reshape(-1)
            picks = rng.integers(0, flat.size, 3)
            flat[picks[0]] = np.nan
            flat[picks[1]] = np.inf
            flat[picks[2]] = -np.inf
        return v
    info = np.iinfo(dt)
    lo, hi = max(info.min, -50), min(info.max, 50)
    return rng.integers(lo, hi, shape, dtype=dt, endpoint=True)


def layout(a, how):
    """``a``'s values in another memory layout (same shape)."""
    if how == "c" or a.ndim == 0:
        return a
    if how == "f":
        return np.asfortranarray(a)
    if how == "transposed":
        return np.ascontiguousarray(a.T).T
    if how == "strided":
        big = np.empty(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        big[..., ::2] = a
        return big[..., ::2]
    if how == "negative":
        rev = np.ascontiguousarray(a[::-1])
        return rev[::-1]
    if how == "broadcast":  # the first axis repeats one row (zero stride)
        if a.shape[0] == 0:
            return a
        return np.broadcast_to(a[:1], a.shape)
    raise ValueError(how)


def reduce_node(name, dtype, ndim, axes, **kwargs):
    x = TensorType(dtype, shape=(None,) * ndim)()
    return REDUCTIONS[name](x, axis=axes, **kwargs).owner


def run_c(node, args, keep_buffers=False, storage=None, thunk=None):
    """Run the C thunk of ``node``; return (thunk, storage, output)."""
    if thunk is None:
        thunk = kernels_c.make_thunk(node)
        assert isinstance(thunk, (CyReduceThunk, CyArgReduceThunk)), thunk
        assert thunk.backend == "c"
        storage = CyStorage(len(args) + 1)
        thunk.bind(storage, range(len(args)), [len(args)], keep_buffers)
    for i, a in enumerate(args):
        storage[i] = a
    thunk()
    return thunk, storage, storage[len(args)]


def run_perform(node, args):
    out = [[None]]
    with np.errstate(all="ignore"):  # inf - inf, overflow: as the kernel
        node.op.perform(node, list(args), out)
    return out[0][0]


def check(node, args):
    """The C thunk gives what perform gives (or raises the same error)."""
    try:
        expected = run_perform(node, args)
    except EmptyReductionError:
        with pytest.raises(EmptyReductionError):
            run_c(node, args)
        return
    got = run_c(node, args)[2]
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    assert_allclose_typed(got, expected)


def axis_choices(ndim):
    out = [None]
    for r in range(ndim + 1):
        out += list(itertools.combinations(range(ndim), r))
    return out


CASES = [(name, dt) for name in REDUCTIONS for dt in DTYPES]


@pytest.mark.parametrize("name, dtype", CASES)
def test_reduction_matches_perform(name, dtype):
    rng = np.random.default_rng(abs(hash((name, dtype))) % 2**32)
    for shape in SHAPES:
        for axes in axis_choices(len(shape)):
            node = reduce_node(name, dtype, len(shape), axes)
            base = values(dtype, shape, rng, special=True)
            for how in LAYOUTS:
                check(node, [layout(base, how)])


@pytest.mark.parametrize("name", list(REDUCTIONS))
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_large_threaded(name, dtype):
    """Above THREAD_MIN the threads split a kept dimension, or a reduced one
    (private accumulators) when the kept ones are short."""
    rng = np.random.default_rng(3)
    shapes = [(257, 256), (3, THREAD_MIN // 3 + 1), (THREAD_MIN + 5,), (41, 40, 40)]
    for shape in shapes:
        base = values(dtype, shape, rng, special=True)
        for axes in axis_choices(len(shape)):
            node = reduce_node(name, dtype, len(shape), axes)
            for how in ("c", "f", "negative"):
                check(node, [layout(base, how)])


@pytest.mark.parametrize("axes", [None, 0, 1])
def test_results_do_not_depend_on_the_thread_count(axes):
    """The pool gets the same chunks whatever its size: bit-equal sums."""
    from symarray.kernels_c._reduce import OPS

    rng = np.random.default_rng(12)
    x = rng.standard_normal((3, THREAD_MIN)) * 1e3
    node = reduce_node("sum", "float64", 2, axes)
    got = []
    for nthreads in (1, 2, 3):
        thunk = CyReduceThunk(node, OPS["sum"], "float64", node.op.axis, None,
                              nthreads)
        storage = CyStorage(2)
        thunk.bind(storage, [0], [1])
        storage[0] = x
        thunk()
        got.append(storage[1])
    np.testing.assert_array_equal(got[0], got[1])
    np.testing.assert_array_equal(got[0], got[2])
    np.testing.assert_allclose(got[0], np.sum(x, axis=axes), rtol=1e-12)


def test_nan_first_and_ties():
    x = np.array([1.0, 3.0, 3.0, np.nan, np.nan, 0.0])
    for name, want in [("argmax", 3), ("argmin", 3), ("max", np.nan)]:
        got = run_c(reduce_node(name, "float64", 1, None), [x])[2]
        np.testing.assert_equal(got, want)
    ties = np.array([[2, 5, 5], [7, 7, 1]], dtype=np.int32)
    got = run_c(reduce_node("argmax", "int32", 2, 1), [ties])[2]
    assert got.tolist() == [1, 0]


def test_argmax_of_several_axes_indexes_the_flattened_block():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 5))
    for axes in [(0, 2), (1, 2), (0, 1, 2)]:
        node = reduce_node("argmax", "float64", 3, axes)
        check(node, [x])
        check(node, [np.asfortranarray(x)])


def test_float32_sum_is_accurate():
    """A long float32 sum accumulates in float64; with acc_dtype float32 the
    pairwise summation keeps the error near the float32 rounding."""
    rng = np.random.default_rng(7)
    x = (rng.random(1_000_000) + 0.5).astype(np.float32)
    exact = np.sum(x.astype(np.float64))
    got = run_c(reduce_node("sum", "float32", 1, None), [x])[2]
    assert got.dtype == np.float32
    assert abs(float(got) - exact) / exact < 1e-7
    node = reduce_node("sum", "float32", 1, None, acc_dtype="float32")
    got32 = run_c(node, [x])[2]
    assert abs(float(got32) - exact) / exact < 1e-6
    naive = np.float32(0)
    for chunk in np.split(x, 100):  # a sequential float32 sum drifts further
        naive = np.float32(naive + np.float32(np.sum(chunk, dtype=np.float32)))
    assert abs(float(got32) - exact) <= abs(float(naive) - exact) + 1.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_sum_of_one_million(dtype):
    rng = np.random.default_rng(11)
    x = rng.standard_normal(1_000_000).astype(dtype)
    exact = np.sum(x.astype(np.float64))
    got = run_c(reduce_node("sum", dtype, 1, None), [x])[2]
    assert abs(float(got) - exact) <= 1e-6 * np.sum(np.abs(x.astype(np.float64)))


def test_no_gc_reuses_the_output_buffer():
    node = reduce_node("sum", "float64", 2, 1)
    rng = np.random.default_rng(1)
    a, b = rng.random((5, 6)), rng.random((5, 6))
    thunk, storage, first = run_c(node, [a], keep_buffers=True)
    np.testing.assert_allclose(first, a.sum(1))
    _, _, second = run_c(node, [b], thunk=thunk, storage=storage)
    assert second is first
    np.testing.assert_allclose(second, b.sum(1))


def test_other_dtypes_run_perform():
    x = T.cvector("x")
    assert kernels_c.make_thunk(T.sum(x).owner) is None or \
        kernels_c.make_thunk(T.sum(x).owner).backend != "c"
    node = reduce_node("sum", "float64", 1, None)
    got = run_c(node, [np.arange(5, dtype=np.int64)])[2]  # a wrong dtype: perform
    assert float(got) == 10.0


@pytest.mark.parametrize("keepdims", [False, True])
def test_through_function_and_keepdims(keepdims):
    x = T.ftensor3("x")
    rng = np.random.default_rng(2)
    v = rng.standard_normal((3, 4, 5)).astype(np.float32)
    for fn, ref in [(T.sum, np.sum), (T.max, np.max), (T.argmin, np.argmin)]:
        for axis in [None, 1, (0, 2)]:
            if fn is T.argmin and isinstance(axis, tuple):
                continue
            out = fn(x, axis=axis, keepdims=keepdims)

            def reference(a, fn_ref=ref, axis=axis):
                return np.asarray(fn_ref(a, axis=axis, keepdims=keepdims))

            check_against_numpy([x], out, [v], reference)
    check_against_numpy([x], T.mean(x, axis=1, keepdims=keepdims), [v],
                        lambda a: np.mean(a, axis=1, keepdims=keepdims))


# -- fused prologues ----------------------------------------------------------

UNARY = ["neg", "abs", "sqr", "exp", "tanh", "sigmoid", "softplus", "sin"]
BINARY = ["add", "sub", "mul", "true_div", "maximum", "minimum"]


def random_composite(rng, dtype, nin):
    """A random scalar program over ``nin`` inputs (and a constant)."""
    b = CompositeBuilder([dtype] * nin)
    regs = list(b.inputs) + [b.constant(0.5, dtype)]
    for _ in range(int(rng.integers(1, 5))):
        if rng.random() < 0.5:
            op = str(rng.choice(UNARY))
            args = [regs[int(rng.integers(len(regs)))]]
        else:
            op = str(rng.choice(BINARY))
            args = [regs[int(rng.integers(len(regs)))] for _ in range(2)]
        regs.append(b.apply(get_scalar_op(op), args, dtype))
    return b.build([regs[-1]])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["sum", "prod", "max", "min", "all", "any"])
def test_prologue_matches_perform(name, dtype):
    rng = np.random.default_rng(abs(hash((name, dtype, "p"))) % 2**32)
    red = {"sum": T.sum, "prod": T.prod, "max": T.max, "min": T.min,
           "all": T.all, "any": T.any}[name]
    for trial in range(12):
        nin = int(rng.integers(1, 4))
        comp = random_composite(rng, dtype, nin)
        if prologue_program(comp, [dtype] * nin, dtype) is None:
            continue
        shape = [(3, 4), (2, 3, 5), (5,), (200, 400)][trial % 4]
        ins_types, args = [], []
        for k in range(nin):  # some inputs broadcast along some dimensions
            s = tuple(1 if (k and rng.random() < 0.3) else n for n in shape)
            ins_types.append(TensorType(dtype, shape=tuple(
                1 if n == 1 else None for n in s))())
            a = rng.uniform(0.2, 1.5, s).astype(dtype)
            args.append(layout(a, str(rng.choice(["c", "f", "negative", "strided"]))))
        for axes in [None, 0, len(shape) - 1]:
            proto = red(TensorType(dtype, shape=(None,) * len(shape))(), axis=axes)
            node = reduce_elemwise(proto.owner.op, comp, *ins_types).owner
            assert isinstance(node.op, ReduceElemwise)
            check(node, args)


@pytest.mark.parametrize("dtype, acc", [("float32", None), ("float32", "float32"),
                                        ("float64", None)])
def test_sum_of_products_folds_as_a_dot(dtype, acc):
    rng = np.random.default_rng(4)
    x = TensorType(dtype, shape=(None, None))()
    for op_name, nin in [("sqr", 1), ("mul", 2)]:
        node = reduce_elemwise(Sum(1, acc_dtype=acc), get_scalar_op(op_name),
                               *[x] * nin).owner
        for shape in [(7, 3000), (300, 300)]:
            a = rng.standard_normal(shape).astype(dtype)
            check(node, [a] * nin)
            check(node, [np.asfortranarray(a)] * nin)


def test_prologue_declines_what_it_cannot_run():
    assert "sqr" in PROLOGUE_OPS and "eq" not in PROLOGUE_OPS
    assert prologue_program(get_scalar_op("eq"), ["float64"] * 2, "bool") is None
    assert prologue_program(get_scalar_op("add"), ["int64"] * 2, "int64") is None
    x = T.lmatrix("x")
    node = reduce_elemwise(Sum(0), get_scalar_op("sqr"), x).owner
    assert kernels_c.make_thunk(node) is None  # integers: perform runs


def test_fork_child_runs_reductions():
    """After the pool ran in the parent, a forked child's reductions must run
    (GNU OpenMP's team would hang there; the kernels' pool restarts)."""
    x = np.random.default_rng(0).random((400, 400))
    node = reduce_node("sum", "float64", 2, 1)
    run_c(node, [x])  # the team has run in the parent
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            out = run_c(node, [x])[2]
            os._exit(0 if np.allclose(out, x.sum(1)) else 3)
        finally:
            os._exit(4)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.02)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung in a reduction")


def test_linkers_agree():
    x = T.dmatrix("x")
    v = np.random.default_rng(8).standard_normal((6, 7))
    check_against_numpy([x], [T.sum(x ** 2, axis=1), T.argmax(x, axis=0),
                              T.any(T.gt(x, 1.0), axis=1)], [v],
                        lambda a: [np.sum(a ** 2, axis=1), np.argmax(a, axis=0),
                                   np.any(a > 1.0, axis=1)])
    assert sa.function([x], T.sum(x)).vm is not None
