"""Tests of symarray.kernels_c._composite: the block interpreter against perform.

Every scalar op with an interpreter loop runs inside a Composite over
float32 and float64 operands (contiguous, strided, negative strides,
broadcast, 0-size, 0-d, several blocks, GIL-releasing sizes), through a
thunk bound to a storage arena, and must give what the node's NumPy
``perform`` gives.  Random programs come from hypothesis; declined programs
must run ``perform``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import kernels_c
from symarray.errors import ShapeMismatchError
from symarray.kernels_c._composite import BLOCK, NOGIL_MIN, CyCompositeThunk
from symarray.kernels_c.composite import OPCODES, translate
from symarray.scalar import get_scalar_op
from symarray.scalar.composite import Composite, CompositeBuilder, Step
from symarray.tensor.elemwise import Elemwise
from symarray.tensor.type import TensorType
from symarray.vm import CyStorage

FLOATS = ["float32", "float64"]
ARITY = {name: nin for name, (_, nin) in OPCODES.items()}

#: inputs in each op's domain (so results are not all NaN)
DOMAIN = {"log": "pos", "log2": "pos", "log10": "pos", "sqrt": "pos",
          "log1p": "pos", "arccosh": "ge1", "arcsin": "unit", "arccos": "unit",
          "arctanh": "unit", "pow": "pos"}

LAYOUTS = {
    "0-d": lambda mk: [mk(()) for _ in range(3)],
    "contiguous": lambda mk: [mk((37,)) for _ in range(3)],
    "blocks": lambda mk: [mk((2 * BLOCK + 5,)) for _ in range(3)],
    "strided": lambda mk: [mk((8, 10))[::2, 1::3] for _ in range(3)],
    "negative": lambda mk: [mk((8, 10))[::-2, ::-2], mk((4, 5)), mk((5, 4)).T],
    "broadcast": lambda mk: [mk((4, 1)), mk((1, 6)), mk((4, 6))],
    "scalar": lambda mk: [mk((1, 1)), mk((3, 700)), mk((1, 700))],
    "empty": lambda mk: [mk((0, 3)), mk((1, 3)), mk((0, 1))],
    "3-d": lambda mk: [mk((2, 3, 40)), mk((2, 1, 40)), mk((2, 3, 40))[:, ::-1]],
}


def values(dtype, shape, rng, domain=None):
    if domain == "pos":
        v = rng.uniform(0.1, 3.0, shape)
    elif domain == "ge1":
        v = rng.uniform(1.0, 4.0, shape)
    elif domain == "unit":
        v = rng.uniform(-0.9, 0.9, shape)
    else:
        v = rng.uniform(-3.0, 3.0, shape)
    return v.astype(dtype)


def composite_node(build, dtype, ndim, nin, inplace=None):
    """An Elemwise(Composite) node; ``build(b, regs)`` returns the output."""
    b = CompositeBuilder([dtype] * nin)
    comp = b.build([build(b, b.inputs)])
    ins = [TensorType(dtype, shape=(None,) * ndim)() for _ in range(nin)]
    return Elemwise(comp, inplace).make_node(*ins)


def op_node(name, dtype, ndim):
    nin = ARITY[name]
    return composite_node(
        lambda b, r: b.apply(get_scalar_op(name), r[:nin]), dtype, ndim, nin)


def run_thunk(node, args, keep_buffers=False, storage=None, thunk=None):
    """Run the C thunk of ``node`` on ``args``; return (thunk, storage, output)."""
    if thunk is None:
        thunk = kernels_c.make_thunk(node)
        assert isinstance(thunk, CyCompositeThunk) and thunk.backend == "c"
        storage = CyStorage(len(args) + 1)
        thunk.bind(storage, range(len(args)), [len(args)], keep_buffers)
    for i, a in enumerate(args):
        storage[i] = a
    thunk()
    return thunk, storage, storage[len(args)]


def perform(node, args):
    out = [[None]]
    node.op.perform(node, [np.array(a) for a in args], out)
    return out[0][0]


def assert_same(got, expected, scale=1.0):
    assert isinstance(got, np.ndarray)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    assert got.shape == expected.shape
    rtol = (2e-6 if got.dtype == np.float32 else 1e-13) * scale
    # absolute slack for cancellation: a few ulps of the operands' magnitude
    finite = np.abs(expected[np.isfinite(expected)])
    atol = rtol * max(1.0, float(finite.max(initial=0.0)))
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(OPCODES))
def test_every_op_matches_perform(name, dtype):
    rng = np.random.default_rng(abs(hash((name, dtype))) % 2**32)
    nin = ARITY[name]
    for layout, make in LAYOUTS.items():
        args = make(lambda s: values(dtype, s, rng, DOMAIN.get(name)))[:nin]
        node = op_node(name, dtype, args[0].ndim)
        _, _, got = run_thunk(node, args)
        assert_same(got, perform(node, args))
        assert got.flags.c_contiguous, layout


@pytest.mark.parametrize("dtype", FLOATS)
def test_nan_and_inf_follow_numpy(dtype):
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -2.5], dtype=dtype)
    a = np.repeat(special, special.size)
    b = np.tile(special, special.size)
    c = np.roll(b, 3)
    for name in sorted(OPCODES):
        nin = ARITY[name]
        node = op_node(name, dtype, 1)
        args = [a, b, c][:nin]
        with np.errstate(all="ignore"):
            _, _, got = run_thunk(node, args)
        expected = perform(node, args)
        np.testing.assert_allclose(got, expected, rtol=2e-6, err_msg=name)
        if name in ("maximum", "minimum", "clip"):
            continue  # the sign of max(0.0, -0.0) is unspecified (IEEE 754)
        np.testing.assert_array_equal(np.signbit(got[got == 0]),
                                      np.signbit(expected[got == 0]), err_msg=name)


@pytest.mark.parametrize("dtype", FLOATS)
def test_long_chains_with_constants_and_shared_registers(dtype):
    def build(b, r):
        x, y = r
        out = x
        for k in range(60):
            op = ["sin", "mul", "add", "tanh", "sub"][k % 5]
            if ARITY[op] == 1:
                out = b.apply(get_scalar_op(op), [out])
            else:
                other = y if k % 2 else b.constant(0.5 + k / 100, dtype)
                out = b.apply(get_scalar_op(op), [out, other])
        z = b.apply(get_scalar_op("mul"), [out, x])
        return b.apply(get_scalar_op("add"), [z, out])  # out read twice

    rng = np.random.default_rng(7)
    node = composite_node(build, dtype, 2, 2)
    t = translate(node.op.scalar_op)
    n_const = len(node.op.scalar_op.constants)
    assert t is not None and t.n_slots - n_const < 5  # step blocks are reused
    for shape_x, shape_y in [((3, 5), (3, 5)), ((700, 3), (1, 3)), ((0, 2), (1, 2))]:
        args = [values(dtype, shape_x, rng), values(dtype, shape_y, rng)]
        _, _, got = run_thunk(node, args)
        assert_same(got, perform(node, args), scale=10)
        args = [args[0][::-1], args[1]]
        _, _, got = run_thunk(node, args)
        assert_same(got, perform(node, args), scale=10)


@pytest.mark.parametrize("dtype", FLOATS)
def test_large_arrays_release_the_gil_and_match(dtype):
    rng = np.random.default_rng(1)
    n = NOGIL_MIN + 17

    def build(b, r):
        x, y = r
        e = b.apply(get_scalar_op("exp"), [b.apply(get_scalar_op("neg"), [x])])
        return b.apply(get_scalar_op("add"), [b.apply(get_scalar_op("mul"), [e, y]),
                                               b.constant(0.25, dtype)])

    node = composite_node(build, dtype, 2, 2)
    args = [values(dtype, (n, 2), rng), values(dtype, (1, 2), rng)]
    _, _, got = run_thunk(node, args)
    assert_same(got, perform(node, args))
    args = [a[::-1].T.copy().T[::-1] for a in args]  # Fortran order: the n-d walk
    _, _, got = run_thunk(node, args)
    assert_same(got, perform(node, args))


OPS_FOR_PROGRAMS = ["add", "sub", "mul", "neg", "abs", "sqr", "sin", "cos",
                    "tanh", "arctan", "sigmoid", "maximum", "minimum", "clip",
                    "logaddexp", "floor", "deg2rad", "sgn"]


@st.composite
def programs(draw):
    nin = draw(st.integers(1, 3))
    n_steps = draw(st.integers(1, 12))
    plan = []
    for k in range(n_steps):
        op = draw(st.sampled_from(OPS_FOR_PROGRAMS))
        args = [draw(st.integers(-2, nin + k - 1)) for _ in range(ARITY[op])]
        plan.append((op, args))  # negative argument: a constant
    return nin, plan


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(prog=programs(), dtype=st.sampled_from(FLOATS),
       layout=st.sampled_from(sorted(LAYOUTS)), seed=st.integers(0, 2**16))
def test_random_programs_match_perform(prog, dtype, layout, seed):
    nin, plan = prog

    def build(b, r):
        regs = list(r)
        for op, args in plan:
            operands = [regs[a] if a >= 0 else b.constant(0.75 * a, dtype)
                        for a in args]
            regs.append(b.apply(get_scalar_op(op), operands))
        # read every input at the end: perform's result takes the shape of
        # the inputs the program reads (fusion never leaves one unread)
        out = regs[-1]
        for k in range(nin):
            out = b.apply(get_scalar_op("add"), [out, regs[k]])
        return out

    rng = np.random.default_rng(seed)
    args = LAYOUTS[layout](lambda s: values(dtype, s, rng))[:nin]
    node = composite_node(build, dtype, args[0].ndim, nin)
    _, _, got = run_thunk(node, args)
    assert_same(got, perform(node, args), scale=50)


def fused_thunks(f):
    """The thunks of a compiled function's Elemwise(Composite) nodes."""
    return [t for t in f.vm.program.thunks
            if getattr(getattr(t.node.op, "scalar_op", None), "is_composite", False)]


def test_declined_programs_run_perform():
    x, y = T.dvector("x"), T.fvector("y")
    i = T.ivector("i")
    mode = sa.Mode(linker="cvm")
    cases = {
        "mixed dtypes": T.exp(x) + T.exp(y),
        "integers": i * 2 + i,
        "comparison": T.switch(x > 0, T.exp(x), T.sin(x)),
        "no loop": T.erf(x) + T.sin(x),
    }
    rng = np.random.default_rng(2)
    vals = {x: rng.standard_normal(5), y: rng.standard_normal(5).astype("f4"),
            i: np.arange(5, dtype="int32")}
    for name, out in cases.items():
        ins = [v for v in (x, y, i) if v in set(sa.graph.traversal.graph_inputs([out]))]
        f = sa.function(ins, out, mode=mode)
        fused = fused_thunks(f)
        assert fused, name
        assert all(t.backend == "py" for t in fused), name
        ref = sa.function(ins, out, mode=sa.Mode(linker="py"))
        np.testing.assert_allclose(f(*[vals[v] for v in ins]),
                                   ref(*[vals[v] for v in ins]), err_msg=name)
    # multi-output composites are declined too
    b = CompositeBuilder(["float64"])
    e = b.apply(get_scalar_op("exp"), b.inputs)
    comp = b.build([e, b.apply(get_scalar_op("sin"), [e])])
    assert translate(comp) is None
    assert kernels_c.make_thunk(Elemwise(comp).make_node(x)) is None


def test_inputs_the_interpreter_cannot_read_go_to_perform():
    node = op_node("add", "float64", 1)
    for a in (np.arange(3, dtype="float32"), [0.0, 1.0, 2.0],
              np.arange(3.0).astype(">f8")):
        _, _, got = run_thunk(node, [a, np.ones(3)])
        np.testing.assert_array_equal(got, np.arange(3.0) + 1)
    with pytest.raises(ShapeMismatchError, match="cannot be broadcast"):
        run_thunk(node, [np.ones(2), np.ones(3)])


def test_no_gc_thunks_reuse_their_output_buffer():
    node = op_node("mul", "float64", 1)
    thunk, storage, first = run_thunk(node, [np.ones(5), np.ones(5)],
                                      keep_buffers=True)
    _, _, second = run_thunk(node, [np.full(5, 2.0), np.ones(5)], storage=storage,
                             thunk=thunk)
    assert second is first and second.tolist() == [2.0] * 5
    # last call's output passed back as an input: a new buffer
    _, _, third = run_thunk(node, [second, np.ones(5)], storage=storage, thunk=thunk)
    assert third is not second and third.tolist() == [2.0] * 5
    _, _, fourth = run_thunk(node, [np.ones(6), np.ones(6)], storage=storage,
                             thunk=thunk)
    assert fourth is not third and fourth.shape == (6,)
    thunk, storage, first = run_thunk(node, [np.ones(5), np.ones(5)])
    _, _, second = run_thunk(node, [np.ones(5), np.ones(5)], storage=storage,
                             thunk=thunk)
    assert second is not first


def test_inplace_nodes_write_over_their_destroyed_input():
    def build(b, r):
        s = b.apply(get_scalar_op("sub"), r)
        return b.apply(get_scalar_op("exp"), [s])

    node = composite_node(build, "float64", 2, 2, inplace={0: 1})
    a, b = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    expected = np.exp(a - b)
    _, _, got = run_thunk(node, [a, b])
    assert got is b
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    # a strided target keeps its layout; x op x reads before it writes
    base = np.arange(12.0)
    view = base[::3]
    node = composite_node(build, "float64", 1, 2, inplace={0: 0})
    _, _, got = run_thunk(node, [view, view])
    assert got is view and base[1] == 1.0
    np.testing.assert_array_equal(base[::3], np.ones(4))
    # the output is not the last step: its block is copied out afterwards
    sub, exp, neg = (get_scalar_op(n) for n in ("sub", "exp", "neg"))
    comp = Composite(["float64"] * 2, [], [Step(sub, (0, 1), "float64"),
                                           Step(exp, (2,), "float64"),
                                           Step(neg, (3,), "float64")], [3])
    ins = [TensorType("float64", shape=(None, None))() for _ in range(2)]
    node = Elemwise(comp, {0: 0}).make_node(*ins)
    assert not translate(comp).code[-1, 1] == 3
    big = np.linspace(0, 1, 3 * BLOCK + 1).reshape(-1, 1)
    other = big[::-1].copy()
    expected = np.exp(big - other)
    _, _, got = run_thunk(node, [big, other])
    assert got is big
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    _, _, got = run_thunk(node, [np.ones((2, 2)), np.zeros((2, 2))])
    np.testing.assert_allclose(got, np.full((2, 2), np.e), rtol=1e-13)


def test_inplace_falls_back_to_a_new_array_like_perform():
    node = composite_node(lambda b, r: b.apply(get_scalar_op("add"), r),
                          "float64", 2, 2, inplace={0: 0})
    a = np.arange(6.0).reshape(2, 3)
    ro = np.ones((2, 3))
    ro.flags.writeable = False
    sq = np.arange(9.0).reshape(3, 3)
    cases = {"broadcast target": [np.ones((1, 3)), a], "read-only target": [ro, a],
             "overlapping input": [a, a[:, ::-1]], "transposed input": [sq, sq.T]}
    for name, args in cases.items():
        before = [np.array(x) for x in args]
        expected = before[0] + before[1]
        _, _, got = run_thunk(node, args)
        np.testing.assert_array_equal(got, expected, err_msg=name)
        if name in ("broadcast target", "read-only target"):
            assert got is not args[0], name
            np.testing.assert_array_equal(args[0], before[0], err_msg=name)


@pytest.mark.parametrize("linker", ["cvm", "cvm_nogc"])
def test_fused_functions_use_the_interpreter(linker):
    x = T.fmatrix("x")
    y = T.fvector("y")
    out = T.exp(-x ** 2) * T.sin(x) + 0.5 * T.log(1 + abs(x)) * y
    f = sa.function([x, y], out, mode=sa.Mode(linker=linker, optimizer="fast_run"))
    fused = fused_thunks(f)
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
