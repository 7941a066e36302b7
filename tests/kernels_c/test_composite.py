"""Tests of the fused-elementwise interpreter (symarray.kernels_c.composite,
program, _composite and the generated op lists) against ``perform``.

Every float op runs inside a fused program with constants over float32 and
float64 operands in every layout (contiguous, broadcast, strided, negative
strides, long and short rows, several blocks, 0-size, 0-d); programs mixing
dtypes (casts, comparisons, switch, integers), with several outputs, in
place, on several threads and in a forked child must give what the node's
NumPy ``perform`` gives.  Random programs come from hypothesis: exactly
rounded ops over mixed dtypes must match bit for bit, float programs with
transcendental ops within a few ulp.  A large run allocates nothing but its
output.
"""

from __future__ import annotations

import os
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import kernels_c
from symarray.errors import DtypeError
from symarray.kernels_c import _gen_ops
from symarray.kernels_c._composite import (
    BLOCK,
    NOGIL_MIN,
    CyCompositeThunk,
    parallel_min_work,
)
from symarray.kernels_c.program import LOOPS, declined_ops, node_program
from symarray.scalar import get_scalar_op
from symarray.scalar.composite import Composite, CompositeBuilder, Step
from symarray.scalar.table import ROWS
from symarray.tensor.elemwise import Cast, Elemwise
from symarray.tensor.type import TensorType
from symarray.vm import CyStorage

from .kernel_checks import (
    DOMAIN,
    FLOATS,
    assert_same,
    perform,
    run_thunk,
    values,
)

FLOAT_OPS = [row.name for row in ROWS if row.rule not in ("int", "switch")]

LAYOUTS = {
    "0-d": lambda mk: [mk(()) for _ in range(3)],
    "contiguous": lambda mk: [mk((37,)) for _ in range(3)],
    "blocks": lambda mk: [mk((2 * BLOCK + 5,)) for _ in range(3)],
    "strided": lambda mk: [mk((8, 10))[::2, 1::3] for _ in range(3)],
    "negative": lambda mk: [mk((8, 10))[::-2, ::-2], mk((4, 5)), mk((5, 4)).T],
    "broadcast": lambda mk: [mk((4, 1)), mk((1, 6)), mk((4, 6))],
    "long rows": lambda mk: [mk((3, 1)), mk((1, 700)), mk((3, 700))[:, ::-1]],
    "scalar": lambda mk: [mk((1, 1)), mk((3, 700)), mk((1, 700))],
    "empty": lambda mk: [mk((0, 3)), mk((1, 3)), mk((0, 1))],
    "3-d": lambda mk: [mk((2, 3, 40)), mk((2, 1, 40)), mk((2, 3, 40))[:, ::-1]],
}


def composite_node(build, dtypes, ndim, inplace=None):
    """An Elemwise(Composite) node; ``build(b, regs)`` returns its outputs."""
    b = CompositeBuilder(dtypes)
    outs = build(b, b.inputs)
    comp = b.build(outs if isinstance(outs, list) else [outs])
    ins = [TensorType(d, shape=(None,) * ndim)() for d in dtypes]
    return Elemwise(comp, inplace).make_node(*ins)


def apply(b, name, *args):
    return b.apply(get_scalar_op(name), list(args))


def test_generated_op_lists_are_current():
    text = _gen_ops.HEADER.read_text(encoding="utf-8")
    assert text == _gen_ops.render(), (
        "symarray/kernels_c/_ops_table.h is out of date: run "
        "python -m symarray.kernels_c._gen_ops and rebuild _composite")


def test_every_table_op_has_loops():
    # the ops the kernels leave to perform (for every dtype): none
    assert declined_ops() == []
    have = {(name, tin) for name, tin, _ in LOOPS}
    for row in ROWS:
        if row.rule not in ("int", "switch"):
            assert {(row.name, "float32"), (row.name, "float64")} <= have, row.name
        if row.rule in ("upcast", "abs", "clip", "int", "bool"):
            assert (row.name, "int16") in have and (row.name, "uint64") in have


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", FLOAT_OPS)
def test_every_float_op_in_a_program_matches_perform(name, dtype):
    nin = get_scalar_op(name).nin
    rng = np.random.default_rng(sum(map(ord, name + dtype)))

    def build(b, r):  # op(x0, x1, ...) * 1 + x0: a constant, every input read
        out = apply(b, name, *r[:nin])
        if np.dtype(b.dtype(out)).kind != "f":  # comparisons, isnan...
            out = b.apply(Cast(dtype), [out])
        out = apply(b, "mul", out, b.constant(1.0, dtype))
        return apply(b, "add", out, apply(b, "mul", r[0], b.constant(0.0, dtype)))

    for layout, make in LAYOUTS.items():
        args = make(lambda s: values(dtype, s, rng, DOMAIN.get(name)))[:nin]
        node = composite_node(build, [dtype] * nin, args[0].ndim)
        _, _, (got,) = run_thunk(node, args)
        assert_same(got, perform(node, args)[0], scale=2, msg=layout)
        assert got.flags.c_contiguous, layout


@pytest.mark.parametrize("dtype", FLOATS)
def test_long_chains_reuse_a_few_blocks(dtype):
    def build(b, r):
        x, y = r
        out = x
        for k in range(60):
            op = ["sin", "mul", "add", "tanh", "sub"][k % 5]
            other = y if k % 2 else b.constant(0.5 + k / 100, dtype)
            out = apply(b, op, out) if op in ("sin", "tanh") else apply(b, op, out,
                                                                         other)
        return apply(b, "add", apply(b, "mul", out, x), out)  # out read twice

    rng = np.random.default_rng(7)
    node = composite_node(build, [dtype] * 2, 2)
    assert node_program(node).n_slots < 5
    for shape_x, shape_y in [((3, 5), (3, 5)), ((700, 3), (1, 3)), ((0, 2), (1, 2)),
                             ((3, 900), (3, 1))]:
        args = [values(dtype, shape_x, rng), values(dtype, shape_y, rng)]
        _, _, (got,) = run_thunk(node, args)
        assert_same(got, perform(node, args)[0], scale=10)
        args = [args[0][::-1], args[1]]
        _, _, (got,) = run_thunk(node, args)
        assert_same(got, perform(node, args)[0], scale=10)


def test_mixed_dtype_graphs_fuse_and_match_numpy():
    x, y = T.fvector("x"), T.dvector("y")
    i, u, m = T.ivector("i"), T.vector("u", dtype="uint8"), T.vector("m", dtype="bool")
    outs = [
        T.switch(x > 0, T.exp(x), i * 2),               # float64 from int32 * float32
        (i // 3 + i % 3 - abs(i)) * (u + 1) ** 2,        # integer arithmetic
        T.cast(T.floor(x * 10), "int16") + u,            # casts
        (m & (x < 0.5)) | T.isnan(y) ^ (i > 0),          # logic
        T.clip(y, -0.5, i).astype("float32") + x,         # clip across dtypes
        T.maximum(u, m) * T.sgn(y),
    ]
    rng = np.random.default_rng(4)
    vals = {x: rng.uniform(-3, 3, 3000).astype("f4"),
            y: np.where(rng.random(3000) < 0.1, np.nan, rng.standard_normal(3000)),
            i: rng.integers(-50, 50, 3000).astype("int32"),
            u: rng.integers(0, 200, 3000).astype("uint8"),
            m: rng.random(3000) < 0.5}
    for k, out in enumerate(outs):
        ins = [v for v in (x, y, i, u, m)
               if v in set(sa.graph.traversal.graph_inputs([out]))]
        f = sa.function(ins, out, mode=sa.Mode(linker="cvm"))
        fused = [t for t in f.vm.program.thunks
                 if isinstance(getattr(t.node.op, "scalar_op", None), Composite)]
        assert fused and {t.backend for t in fused} == {"c"}, k
        ref = sa.function(ins, out, mode=sa.Mode(linker="py"))
        args = [vals[v] for v in ins]
        got, expected = f(*args), ref(*args)
        # float32 steps inside: float32's tolerance, whatever the output
        scale = 2e7 if got.dtype == np.float64 and k in (0, 4) else 1
        assert_same(got, expected, msg=str(k), scale=scale)


def test_multi_output_programs():
    def build(b, r):
        x, y = r
        e = apply(b, "exp", x)
        s = apply(b, "add", e, y)
        return [s, apply(b, "lt", e, y), e, s, x]  # repeats and an input too

    rng = np.random.default_rng(8)
    node = composite_node(build, ["float64", "float64"], 2)
    assert len(node.outputs) == 5
    for layout in ("contiguous", "negative", "long rows", "scalar", "blocks"):
        args = LAYOUTS[layout](lambda s: values("float64", s, rng))[:2]
        if args[0].ndim != 2:
            args = [a.reshape(1, -1) for a in args]
        _, _, got = run_thunk(node, args)
        for g, e in zip(got, perform(node, args), strict=True):
            assert_same(g, e, msg=layout)
        assert got[0] is not got[3] and got[4] is not args[0]


def test_inplace_outputs_write_over_their_destroyed_inputs():
    def build(b, r):
        return apply(b, "exp", apply(b, "sub", *r))

    node = composite_node(build, ["float64"] * 2, 2, inplace={0: 1})
    a, b = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    expected = np.exp(a - b)
    _, _, (got,) = run_thunk(node, [a, b])
    assert got is b
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    base = np.arange(12.0)  # a strided target keeps its layout
    view = base[::3]
    node = composite_node(build, ["float64"] * 2, 1, inplace={0: 0})
    _, _, (got,) = run_thunk(node, [view, view])
    assert got is view and base[1] == 1.0
    np.testing.assert_array_equal(base[::3], np.ones(4))
    # the output is not the last step: its block is copied out after the
    # program; several blocks, and a second output written over input 1
    sub, exp, neg = (get_scalar_op(n) for n in ("sub", "exp", "neg"))
    comp = Composite(["float64"] * 2, [], [Step(sub, (0, 1), "float64"),
                                           Step(exp, (2,), "float64"),
                                           Step(neg, (3,), "float64")], [3, 4])
    ins = [TensorType("float64", shape=(None, None))() for _ in range(2)]
    node = Elemwise(comp, {0: 0, 1: 1}).make_node(*ins)
    big = np.linspace(0, 1, 3 * BLOCK + 1).reshape(-1, 1)
    other = big[::-1].copy()
    expected = np.exp(big - other)
    _, _, got = run_thunk(node, [big, other])
    assert got[0] is big and got[1] is other
    np.testing.assert_allclose(big, expected, rtol=1e-13)
    np.testing.assert_allclose(other, -expected, rtol=1e-13)


def test_inplace_falls_back_to_a_new_array_like_perform():
    node = composite_node(lambda b, r: apply(b, "add", *r), ["float64"] * 2, 2,
                          inplace={0: 0})
    a = np.arange(6.0).reshape(2, 3)
    ro = np.ones((2, 3))
    ro.flags.writeable = False
    sq = np.arange(9.0).reshape(3, 3)
    cases = {"broadcast target": [np.ones((1, 3)), a], "read-only target": [ro, a],
             "overlapping input": [a, a[:, ::-1]], "transposed input": [sq, sq.T]}
    for name, args in cases.items():
        before = [np.array(x) for x in args]
        _, _, (got,) = run_thunk(node, args)
        np.testing.assert_array_equal(got, before[0] + before[1], err_msg=name)
        if name in ("broadcast target", "read-only target"):
            assert got is not args[0], name
            np.testing.assert_array_equal(args[0], before[0], err_msg=name)


def expr_program(b, r):
    """``exp(-x**2) * sin(x) + 0.5 * log1p(|x|) * y``, the benchmark's."""
    x, y = r
    d = b.dtype(x)
    e = apply(b, "exp", apply(b, "neg", apply(b, "sqr", x)))
    left = apply(b, "mul", e, apply(b, "sin", x))
    right = apply(b, "mul", apply(b, "log1p", apply(b, "abs", x)), b.constant(0.5, d))
    return apply(b, "add", left, apply(b, "mul", right, y))


@pytest.mark.parametrize("dtype", FLOATS)
def test_threads_split_large_arrays_and_agree(dtype):
    rng = np.random.default_rng(1)
    node = composite_node(expr_program, [dtype] * 2, 2)
    args = [values(dtype, (NOGIL_MIN // 7 + 3, 7), rng), values(dtype, (1, 7), rng)]
    expected = perform(node, args)[0]
    old = parallel_min_work(1)
    try:
        results = []
        for nthreads in (1, 2, 3):
            thunk = CyCompositeThunk(node, node_program(node), nthreads)
            storage = CyStorage(3)
            thunk.bind(storage, [0, 1], [2])
            for layout in (args, [args[0][::-1], args[1]]):
                _, _, (got,) = run_thunk(node, layout, storage=storage, thunk=thunk)
                results.append(got.copy())
        assert_same(results[0], expected)
        for r in results[2::2]:  # every thread count: the same bits
            np.testing.assert_array_equal(r, results[0])
        assert_same(results[1], perform(node, [args[0][::-1], args[1]])[0])
    finally:
        parallel_min_work(old)


def test_kernel_threads_flag_is_read_at_compile_time():
    x = T.dvector("x")
    with sa.config.change_flags(kernel_threads=1):
        f1 = sa.function([x], T.exp(x) * 2 + 1)
    with sa.config.change_flags(kernel_threads=2):
        f2 = sa.function([x], T.exp(x) * 2 + 1)
    v = np.linspace(-1, 1, 300_000)
    np.testing.assert_array_equal(f1(v), f2(v))
    with pytest.raises(sa.errors.ConfigError, match="kernel_threads"):
        sa.config.kernel_threads = -1


def test_a_forked_child_computes_on_one_thread():
    node = composite_node(expr_program, ["float64"] * 2, 1)
    rng = np.random.default_rng(2)
    args = [values("float64", 200_000, rng), values("float64", 200_000, rng)]
    _, _, (parent,) = run_thunk(node, args)  # the parent's threads ran
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            _, _, (child,) = run_thunk(node, args)
            os.write(write, b"ok" if np.array_equal(child, parent) else b"no")
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.read(read, 2) == b"ok" and status == 0
    os.close(read)


def test_a_large_run_allocates_only_its_output():
    node = composite_node(expr_program, ["float32"] * 2, 1)
    rng = np.random.default_rng(3)
    x = rng.standard_normal(10**7).astype("float32")
    y = rng.standard_normal(1).astype("float32")
    thunk, storage, _ = run_thunk(node, [x[:10], y])
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        _, _, (got,) = run_thunk(node, [x, y], storage=storage, thunk=thunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got.shape == x.shape
    assert peak - base <= got.nbytes + 64 * 1024, (peak - base, got.nbytes)


OPS_BY_ARITY = {}
for _row in ROWS:
    OPS_BY_ARITY.setdefault(_row.nin, []).append(_row.name)

#: exactly rounded ops (results bit for bit equal to NumPy's)
EXACT_OPS = ["add", "sub", "mul", "true_div", "int_div", "mod", "neg", "abs", "sgn",
             "sqr", "reciprocal", "maximum", "minimum", "clip", "sqrt", "floor",
             "ceil", "trunc", "round_half_to_even", "round_half_away_from_zero",
             "lt", "gt", "le", "ge", "eq", "neq", "isnan", "isinf", "switch",
             "and_", "or_", "xor", "invert", "pow"]
MIXED_DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
                "float32", "float64"]


@st.composite
def mixed_programs(draw):
    """(input dtypes, plan): ops over registers; a negative argument is a
    constant; a Cast step is ("cast", dtype)."""
    dtypes = draw(st.lists(st.sampled_from(MIXED_DTYPES), min_size=1, max_size=3))
    plan = []
    for k in range(draw(st.integers(1, 10))):
        if draw(st.integers(0, 5)) == 0:
            plan.append((("cast", draw(st.sampled_from(MIXED_DTYPES))),
                         [draw(st.integers(0, len(dtypes) + k - 1))]))
            continue
        op = draw(st.sampled_from(EXACT_OPS))
        nin = get_scalar_op(op).nin
        plan.append((op, [draw(st.integers(-3, len(dtypes) + k - 1))
                          for _ in range(nin)]))
    return dtypes, plan


def build_plan(b, dtypes, plan, constant, exact=False):
    """Apply ``plan``; steps make_node refuses (bool - bool...) are skipped."""
    regs = list(b.inputs)
    for op, args in plan:
        operands = [regs[a] if a >= 0 else constant(b, a) for a in args]
        try:
            kinds = {np.dtype(b.dtype(o)).kind for o in operands}
            if isinstance(op, tuple):
                if "f" in kinds and np.dtype(op[1]).kind in "iub":
                    raise ValueError  # out-of-range float -> int: undefined in C
                regs.append(b.apply(Cast(op[1]), operands))
            elif op == "pow" and "f" in kinds and exact:
                raise ValueError  # float powers are not exactly rounded
            else:
                regs.append(b.apply(get_scalar_op(op), operands))
        except (TypeError, ValueError, DtypeError):
            regs.append(operands[0])  # a skipped step passes its argument on
    return regs


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(prog=mixed_programs(), layout=st.sampled_from(sorted(LAYOUTS)),
       seed=st.integers(0, 2**16))
def test_random_mixed_dtype_programs_match_perform_exactly(prog, layout, seed):
    dtypes, plan = prog
    rng = np.random.default_rng(seed)
    b = CompositeBuilder(dtypes)

    def constant(b, a):
        return b.constant(-0.75 * a if a % 2 else -a, "float32" if a == -3 else "int8")

    regs = build_plan(b, dtypes, plan, constant, exact=True)
    # every input read at the end: perform's result has the broadcast shape
    # of the inputs the program reads
    outs = [regs[-1], *[apply(b, "eq", regs[k], regs[k]) for k in range(len(dtypes))]]
    comp = b.build(outs)
    makers = iter([lambda s, d=d: values(d, s, rng) for d in dtypes * 3])
    args = LAYOUTS[layout](lambda s: next(makers)(s))[:len(dtypes)]
    node = Elemwise(comp).make_node(
        *[TensorType(d, shape=(None,) * args[0].ndim)() for d in dtypes])
    try:
        expected = perform(node, args)
    except ValueError as err:  # integer ** negative: the kernel raises it too
        with pytest.raises(ValueError, match=str(err)[:30]):
            run_thunk(node, args)
        return
    _, _, got = run_thunk(node, args)
    for g, e in zip(got, expected, strict=True):
        assert g.dtype == e.dtype and g.shape == e.shape
        np.testing.assert_array_equal(g, e)


SMOOTH_OPS = ["add", "sub", "mul", "neg", "abs", "sqr", "sin", "cos", "tanh",
              "arctan", "sigmoid", "softplus", "maximum", "minimum", "clip",
              "logaddexp", "exp", "log1p", "erf", "arcsinh", "deg2rad"]


@st.composite
def float_programs(draw):
    nin = draw(st.integers(1, 3))
    plan = []
    for k in range(draw(st.integers(1, 12))):
        op = draw(st.sampled_from(SMOOTH_OPS))
        nargs = get_scalar_op(op).nin
        plan.append((op, [draw(st.integers(-2, nin + k - 1)) for _ in range(nargs)]))
    return nin, plan


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(prog=float_programs(), dtype=st.sampled_from(FLOATS),
       layout=st.sampled_from(sorted(LAYOUTS)), seed=st.integers(0, 2**16))
def test_random_float_programs_match_perform(prog, dtype, layout, seed):
    nin, plan = prog
    rng = np.random.default_rng(seed)
    b = CompositeBuilder([dtype] * nin)
    regs = build_plan(b, [dtype] * nin, plan,
                      lambda b, a: b.constant(0.75 * a, dtype))
    out = regs[-1]
    for k in range(nin):
        out = apply(b, "add", out, regs[k])
    args = LAYOUTS[layout](lambda s: values(dtype, s, rng))[:nin]
    node = Elemwise(b.build([out])).make_node(
        *[TensorType(dtype, shape=(None,) * args[0].ndim)() for _ in range(nin)])
    _, _, (got,) = run_thunk(node, args)
    # 12 steps of 4-ulp functions, and exp amplifies: 50 epsilons
    assert_same(got, perform(node, args)[0], scale=50)


def test_declined_nodes_run_perform():
    x = T.dvector("x")
    c = T.vector("c", dtype="complex128")
    f = sa.function([x, c], T.exp(x) * 2 + T.real(c * 2), mode=sa.Mode(linker="cvm"))
    fused = [t for t in f.vm.program.thunks
             if isinstance(getattr(t.node.op, "scalar_op", None), Composite)]
    assert fused and all(t.backend == "py" for t in fused)
    v = np.linspace(0, 1, 5)
    np.testing.assert_allclose(f(v, v + 1j), np.exp(v) * 2 + 2 * v)
    h = T.vector("h", dtype="float16")
    assert kernels_c.make_thunk((T.exp(h) * h).owner) is None


def test_bad_programs_are_refused():
    node = composite_node(lambda b, r: apply(b, "exp", r[0]), ["float64"], 1)
    program = node_program(node)
    with pytest.raises(ValueError, match="out of range"):
        CyCompositeThunk(node, program._replace(code=program.code + 10**6))
    with pytest.raises(ValueError, match="out_regs"):
        CyCompositeThunk(node, program._replace(out_regs=[99]))
    with pytest.raises(ValueError, match="nthreads"):
        CyCompositeThunk(node, program, 0)


@pytest.mark.parametrize("linker", ["cvm", "cvm_nogc"])
def test_fused_functions_use_the_interpreter(linker):
    x = T.fmatrix("x")
    y = T.fvector("y")
    out = T.exp(-x ** 2) * T.sin(x) + 0.5 * T.log(1 + abs(x)) * y
    f = sa.function([x, y], out, mode=sa.Mode(linker=linker, optimizer="fast_run"))
    fused = [t for t in f.vm.program.thunks
             if isinstance(getattr(t.node.op, "scalar_op", None), Composite)]
    assert fused and all(isinstance(t, CyCompositeThunk) for t in fused)
    rng = np.random.default_rng(3)
    xv = rng.standard_normal((40, 3)).astype("f4")
    yv = rng.standard_normal(3).astype("f4")
    expected = (np.exp(-xv ** 2) * np.sin(xv)
                + np.float32(0.5) * np.log(1 + abs(xv)) * yv)
    for _ in range(2):
        got = f(xv, yv)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
