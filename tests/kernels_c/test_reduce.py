"""Tests of symarray.kernels_c._reduce: every reduction kernel against ``perform``.

Each (reduction, dtype) runs on C-ordered, F-ordered, transposed, strided,
negative-stride and broadcast (zero-stride) inputs of several shapes
(0-size, 1-element, 0-d...), over every combination of axes, through a
thunk bound to a storage arena, and must give what the op's NumPy
``perform`` gives: the same dtype and shape, equal values for integers and
bools, close values (NaN where NaN) for floats, and the same error for an
empty max.  Fused prologues (``ReduceElemwise``) are programs of the
elementwise interpreter: every op of the scalar table, on every dtype the
elementwise kernel runs, as the prologue of a sum and a max; random programs
with broadcasting inputs under every reduction; NaN, threads, float32
accuracy and the errors perform raises.
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
from symarray.kernels_c.program import declined_ops
from symarray.scalar import get_scalar_op
from symarray.scalar.composite import CompositeBuilder
from symarray.scalar.table import ROWS
from symarray.tensor.elemwise import Elemwise
from symarray.tensor.reduction import Sum
from symarray.tensor.reduction_fused import reduce_elemwise
from symarray.tensor.type import TensorType
from symarray.vm import CyStorage
from tests.kernels_c.kernel_checks import DOMAIN, tolerance
from tests.kernels_c.kernel_checks import values as kernel_values
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


def reduced_close(got, expected, elem, scale=4.0):
    """A reduction of elementwise values computed by C loops (libmvec: a few
    ulp) is close to perform's: same dtype and shape, equal ints and bools,
    floats within a few ulp of the sum of the magnitudes reduced."""
    assert got.dtype == expected.dtype and got.shape == expected.shape
    if got.dtype.kind != "f":
        np.testing.assert_array_equal(got, expected)
        return
    rtol = tolerance(got.dtype, scale)
    finite = np.abs(np.asarray(elem, dtype=np.float64))
    atol = rtol * max(1.0, float(np.sum(finite[np.isfinite(finite)])))
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


def check_prologue(node, args):
    """The fused node's C thunk gives what perform gives, or its error."""
    try:
        expected = run_perform(node, args)
    except (EmptyReductionError, ValueError) as exc:
        with pytest.raises(type(exc)):
            run_c(node, args)
        return
    with np.errstate(all="ignore"):
        elem = node.op.scalar_op.compute([np.array(a) for a in args],
                                         node.op.elem_dtype)
    reduced_close(run_c(node, args)[2], expected, elem)


def fused_node(reduction, sop, in_types, axis):
    """``reduction(sop(*in_types), axis)`` as one ReduceElemwise node."""
    elem = Elemwise(sop).make_node(*in_types).outputs[0]
    return reduce_elemwise(reduction(elem, axis=axis).owner.op, sop, *in_types).owner


@pytest.mark.parametrize("name", [row.name for row in ROWS])
def test_every_table_op_as_a_prologue_of_sum_and_max(name):
    """Every (op, dtype) the elementwise kernel runs, a prologue runs too
    (and only those), with perform's values: the same interpreter."""
    sop = get_scalar_op(name)
    rng = np.random.default_rng(sum(map(ord, name)))
    ran = []
    for k, dtype in enumerate(DTYPES):
        switch = sop.row.rule == "switch"
        dtypes = ["bool", dtype, dtype] if switch else [dtype] * sop.nin
        in_types = [TensorType(d, shape=(None, None))() for d in dtypes]
        try:
            elem = Elemwise(sop).make_node(*in_types)
        except (TypeError, ValueError):
            continue
        in_c = getattr(kernels_c.make_thunk(elem), "backend", None) == "c"
        args = [kernel_values(d, (6, 70), rng, DOMAIN.get(name)) for d in dtypes]
        if name == "pow" and args[1].dtype.kind in "iu":
            args[1] = np.abs(args[1]) % 6  # perform refuses x ** -n
        args = [layout(a, ["c", "f", "negative", "strided"][k % 4]) for a in args]
        for reduction in (T.sum, T.max):
            for axis in (0, 1):
                node = fused_node(reduction, sop, in_types, axis)
                thunk = kernels_c.make_thunk(node)
                assert (getattr(thunk, "backend", None) == "c") == in_c, (dtype, node)
                if in_c:
                    check_prologue(node, args)
        if in_c:
            ran.append(dtype)
    assert ran or name in declined_ops(), f"{name}: no dtype ran"


UNARY = {"f": ["neg", "abs", "sqr", "exp", "tanh", "sigmoid", "softplus", "sin"],
         "i": ["neg", "abs", "sqr", "sgn"]}
BINARY = {"f": ["add", "sub", "mul", "true_div", "maximum", "minimum"],
          "i": ["add", "sub", "mul", "maximum", "minimum", "int_div"]}


def random_composite(rng, dtype, nin):
    """A random scalar program over ``nin`` inputs (and a constant)."""
    kind = "f" if np.dtype(dtype).kind == "f" else "i"
    b = CompositeBuilder([dtype] * nin)
    regs = list(b.inputs) + [b.constant(3 if kind == "i" else 0.5, dtype)]
    for _ in range(int(rng.integers(1, 5))):
        if rng.random() < 0.5:
            op = str(rng.choice(UNARY[kind]))
            args = [regs[int(rng.integers(len(regs)))]]
        else:
            op = str(rng.choice(BINARY[kind]))
            args = [regs[int(rng.integers(len(regs)))] for _ in range(2)]
        regs.append(b.apply(get_scalar_op(op), args, dtype))
    return b.build([regs[-1]])


@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "int64"])
@pytest.mark.parametrize("name", ["sum", "prod", "max", "min", "all", "any"])
def test_prologue_matches_perform(name, dtype):
    """Random programs, inputs broadcasting along some dimensions, in any
    layout (negative strides too), 0-size shapes, every axis choice."""
    rng = np.random.default_rng(abs(hash((name, dtype, "p"))) % 2**32)
    red = {"sum": T.sum, "prod": T.prod, "max": T.max, "min": T.min,
           "all": T.all, "any": T.any}[name]
    for trial in range(10):
        nin = int(rng.integers(1, 4))
        comp = random_composite(rng, dtype, nin)
        shape = [(3, 4), (2, 3, 5), (5,), (200, 400), (0, 4), (3, 0)][trial % 6]
        ins_types, args = [], []
        for k in range(nin):  # some inputs broadcast along some dimensions
            s = tuple(1 if (k and rng.random() < 0.3) else n for n in shape)
            ins_types.append(TensorType(dtype, shape=tuple(
                1 if n == 1 else None for n in s))())
            a = (rng.uniform(0.2, 1.5, s) if dtype.startswith("float")
                 else rng.integers(-3, 4, s)).astype(dtype)
            args.append(layout(a, str(rng.choice(["c", "f", "negative", "strided"]))))
        for axes in [None, 0, len(shape) - 1]:
            node = fused_node(red, comp, ins_types, axes)
            assert kernels_c.make_thunk(node).backend == "c"
            check_prologue(node, args)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_prologue_nan_follows_numpy(dtype):
    """max/min of a prologue propagate NaN as NumPy does; sums give NaN."""
    x = TensorType(dtype, shape=(None, None))()
    v = np.arange(24, dtype=dtype).reshape(4, 6)
    v[1, 2], v[3, 0], v[2, 5] = np.nan, np.inf, -np.inf
    for red in (T.max, T.min, T.sum, T.any, T.all):
        for axis in (None, 0, 1):
            node = fused_node(red, get_scalar_op("neg"), [x], axis)
            for a in (v, np.asfortranarray(v), v[::-1, ::-1]):
                check_prologue(node, [a])


@pytest.mark.parametrize("name", ["sum", "max"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_threaded_prologue_does_not_depend_on_the_thread_count(name, axis):
    """Above THREAD_MIN the pool splits a kept or a reduced dimension; every
    thread runs the program on its own registers, and the results are the
    same for any number of threads."""
    from symarray.kernels_c._reduce import OPS
    from symarray.kernels_c.reduce import prologue_program

    rng = np.random.default_rng(13)
    x, y = TensorType("float32", shape=(None, None))(), T.fvector()
    comp = random_composite(np.random.default_rng(2), "float32", 2)
    node = fused_node({"sum": T.sum, "max": T.max}[name], comp,
                      [x, y.dimshuffle("x", 0)], axis)
    args = [rng.uniform(0.2, 1.5, (3, THREAD_MIN)).astype(np.float32),
            rng.uniform(0.2, 1.5, (1, THREAD_MIN)).astype(np.float32)[:, ::-1]]
    program = prologue_program(comp, ["float32"] * 2, "float32")
    got = []
    for nthreads in (1, 2, 3):
        thunk = CyReduceThunk(node, OPS[name], "float64" if name == "sum" else
                              "float32", node.op.reduce_op.axis, program, nthreads)
        storage = CyStorage(3)
        thunk.bind(storage, [0, 1], [2])
        storage[0], storage[1] = args
        thunk()
        got.append(storage[2])
    np.testing.assert_array_equal(got[0], got[1])
    np.testing.assert_array_equal(got[0], got[2])
    check_prologue(node, args)


def test_prologue_float32_sum_is_accurate():
    """Blocks of a prologue fold pairwise: a float32 sum of a million values
    stays near float32 rounding against a float64 reference, accumulated
    in float64 (the default) or float32."""
    rng = np.random.default_rng(7)
    v = (rng.random(1_000_000) + 0.5).astype(np.float32)
    x = T.fvector()
    exact = np.sum(np.abs(v).astype(np.float64) * 2)
    for acc, bound in [(None, 1e-7), ("float32", 1e-6)]:
        comp = CompositeBuilder(["float32"])
        two = comp.constant(2.0, "float32")
        out = comp.apply(get_scalar_op("mul"), [comp.apply(
            get_scalar_op("abs"), comp.inputs, "float32"), two], "float32")
        node = reduce_elemwise(Sum(None, acc_dtype=acc), comp.build([out]), x).owner
        for a in (v, layout(v, "strided")):
            got = run_c(node, [a])[2]
            assert got.dtype == np.float32
            assert abs(float(got) - exact) / exact < bound, (acc, float(got), exact)


@pytest.mark.parametrize("dtype, acc", [("float32", None), ("float32", "float32"),
                                        ("float64", None)])
def test_sum_of_products_folds_as_a_dot(dtype, acc):
    rng = np.random.default_rng(4)
    x = TensorType(dtype, shape=(None, None))()
    for op_name, nin in [("sqr", 1), ("mul", 2)]:
        node = reduce_elemwise(Sum(1, acc_dtype=acc), get_scalar_op(op_name),
                               *[x] * nin).owner
        assert kernels_c.make_thunk(node).folds_dot
        for shape in [(7, 3000), (300, 300)]:
            a = rng.standard_normal(shape).astype(dtype)
            check(node, [a] * nin)
            check(node, [np.asfortranarray(a)] * nin)


def test_only_float_sums_of_products_fold_as_dots():
    x, i = T.dmatrix(), T.lmatrix()
    for node in [fused_node(T.max, get_scalar_op("mul"), [x, x], 1),
                 fused_node(T.sum, get_scalar_op("add"), [x, x], 1),
                 fused_node(T.sum, get_scalar_op("sqr"), [i], 1)]:
        assert not kernels_c.make_thunk(node).folds_dot, node


def test_integer_negative_power_raises_perform_error():
    """A loop that flags a value perform rejects (x ** -1 for integers) lets
    perform raise, from any thread."""
    x = T.lmatrix("x")
    node = fused_node(T.sum, get_scalar_op("pow"), [x, x], 1)
    assert kernels_c.make_thunk(node).backend == "c"
    good = np.full((3, THREAD_MIN), 2, dtype=np.int64)
    check_prologue(node, [good, good])
    bad = good.copy()
    bad[2, -1] = -1
    check_prologue(node, [good, bad])
    with pytest.raises(ValueError):
        run_c(node, [good, bad])


def test_prologue_declines_what_the_interpreter_declines():
    from symarray.kernels_c.reduce import prologue_program

    assert prologue_program(get_scalar_op("eq"), ["float64"] * 2, "bool") is not None
    assert prologue_program(get_scalar_op("add"), ["int8"] * 2, "int8") is not None
    assert prologue_program(get_scalar_op("add"), ["complex128"] * 2,
                            "complex128") is None
    assert prologue_program(get_scalar_op("add"), ["float16"] * 2, "float16") is None
    assert prologue_program(get_scalar_op("lt"), ["uint64", "int64"], "bool") is None
    x = T.zmatrix("x")
    node = reduce_elemwise(Sum(0), get_scalar_op("sqr"), x).owner
    assert kernels_c.make_thunk(node) is None  # complex: perform runs


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
