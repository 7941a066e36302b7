"""Tests of generated kernels for multi-output ``Elemwise(Composite)`` nodes
(symarray.kernels_c.codegen.source, .thunk and ._thunk).

Each program of :data:`MULTI` (floats, float32, integers, mixed dtypes,
outputs that are an input or repeat a register) runs through its generated
kernel over the layouts of ``test_thunk`` (contiguous, strided, negative
strides, Fortran order, broadcast, 0-size, one element, split between
threads) and every output must equal ``perform``'s.  Then: outputs in place
over different inputs, kept buffers, a multi-output node of a real fused
graph running on the codegen backend, and the cache key of programs that
differ only in their outputs.
"""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import config
from symarray.kernels_c.codegen import cache, compiler, source
from symarray.kernels_c.codegen._thunk import PARALLEL_MIN, CyCodegenThunk
from symarray.kernels_c.codegen.thunk import codegen_thunk
from symarray.scalar import get_scalar_op
from symarray.scalar.composite import CompositeBuilder
from symarray.tensor.elemwise import Elemwise
from symarray.tensor.type import TensorType
from symarray.vm import CyStorage
from tests.kernels_c.codegen.test_thunk import LAYOUTS, assert_same, values, view


def ap(b, name, *args):
    return b.apply(get_scalar_op(name), list(args))


def _float_pair(b, x, y):  # z = x + y; (exp(z), z * 2)
    z = ap(b, "add", x, y)
    return [ap(b, "exp", z), ap(b, "mul", z, b.constant(2.0, b.dtype(z)))]


def _int_triple(b, x, y):  # (x * y, x - y, (x * y) % 7 > 3)
    p = ap(b, "mul", x, y)
    return [p, ap(b, "sub", x, y), ap(b, "gt", ap(b, "mod", p, b.constant(7, "int32")),
                                         b.constant(3, "int32"))]


def _mixed(b, x, i):  # (exp(x) * i, i + 1, x > 0): float32, int16 -> 3 dtypes
    return [ap(b, "mul", ap(b, "exp", x), i),
            ap(b, "add", i, b.constant(1, "int16")),
            ap(b, "gt", x, b.constant(0.0, "float32"))]


def _passthrough(b, x, y):  # (sin(x) + y, x, sin(x) + y): an input, a repeat
    s = ap(b, "add", ap(b, "sin", x), y)
    return [s, x, s]


#: name -> (input dtypes, builder(b, *inputs) -> output registers)
MULTI = {
    "float64_pair": (["float64", "float64"], _float_pair),
    "float32_pair": (["float32", "float32"], _float_pair),
    "int_triple": (["int32", "int32"], _int_triple),
    "mixed": (["float32", "int16"], _mixed),
    "passthrough": (["float64", "float64"], _passthrough),
}


def make_node(name, inplace=None):
    dtypes, build = MULTI[name]
    b = CompositeBuilder(dtypes)
    comp = b.build(build(b, *b.inputs))
    ins = [TensorType(d, shape=(None, None))() for d in dtypes]
    return Elemwise(comp, inplace).make_node(*ins)


def run_thunk(node, args, keep_buffers=False, storage=None, thunk=None):
    """Run the codegen thunk of ``node``; returns (thunk, storage, outputs)."""
    nin, nout = len(node.inputs), len(node.outputs)
    if thunk is None:
        thunk = codegen_thunk(node)
        assert isinstance(thunk, CyCodegenThunk) and thunk.backend == "codegen"
        storage = CyStorage(nin + nout)
        thunk.bind(storage, range(nin), range(nin, nin + nout), keep_buffers)
    for i, a in enumerate(args):
        storage[i] = a
    with np.errstate(all="ignore"):
        thunk()
    return thunk, storage, [storage[nin + k] for k in range(nout)]


def perform(node, args):
    out = [[None] for _ in node.outputs]
    node.op.perform(node, [np.array(a) for a in args], out)
    return [o[0] for o in out]


@pytest.mark.parametrize("name", sorted(MULTI))
def test_multi_output_kernels_match_perform_over_layouts(name, codegen):
    rng = np.random.default_rng(len(name))
    node = make_node(name)
    assert len(node.outputs) >= 2
    for layout, shapes in LAYOUTS.items():
        args = [view(values(d, s, rng), layout) for d, s in
                zip(MULTI[name][0], shapes[:2], strict=True)]
        _, _, got = run_thunk(node, args)
        for k, (g, e) in enumerate(zip(got, perform(node, args), strict=True)):
            assert_same(g, e, f"{name} {layout} output {k}", node)
        # outputs never share memory with each other or with the inputs
        for k, g in enumerate(got):
            others = [*args, *got[:k]]
            assert not any(np.shares_memory(g, o) for o in others), (name, layout)


@pytest.mark.parametrize("pattern", [{0: 0, 1: 1}, {0: 1, 1: 0}, {1: 0}])
def test_outputs_in_place_over_different_inputs(pattern, codegen):
    node = make_node("float64_pair", inplace=pattern)
    rng = np.random.default_rng(7)
    for shape in [(4, 6), (PARALLEL_MIN // 64 + 1, 64)]:
        x, y = values("float64", shape, rng), values("float64", shape, rng)
        expected = perform(node, [x, y])
        args = [x, y]
        _, _, got = run_thunk(node, args)
        for o, i in pattern.items():
            assert got[o] is args[i], (pattern, o)
        for g, e in zip(got, expected, strict=True):
            assert_same(g, e, str(pattern))
    # one array as both inputs: only the first output may take it
    x = values("float64", (5, 3), rng)
    expected = perform(make_node("float64_pair"), [x, x])
    _, _, got = run_thunk(node, [x, x])
    taken = [o for o in pattern if got[o] is x]
    assert len(taken) == 1
    for g, e in zip(got, expected, strict=True):
        assert_same(g, e, f"{pattern} aliased")
    # a broadcast target gets a fresh output, as in perform
    x, y = values("float64", (4, 6), rng), values("float64", (1, 6), rng)
    before = y.copy()
    _, _, got = run_thunk(node, [x, y])
    assert all(g is not y for g in got)
    np.testing.assert_array_equal(y, before)


def test_in_place_on_mixed_dtypes_writes_only_matching_outputs(codegen):
    node = make_node("mixed", inplace={0: 0, 1: 1})  # float32 -> x, int16 -> i
    rng = np.random.default_rng(2)
    x, i = values("float32", (6, 5), rng), values("int16", (6, 5), rng)
    expected = perform(node, [x, i])
    _, _, got = run_thunk(node, [x, i])
    assert got[0] is x and got[1] is i and got[2].dtype == np.bool_
    for g, e in zip(got, expected, strict=True):
        assert_same(g, e, "mixed in place", node)


def test_no_gc_thunks_reuse_each_output_buffer(codegen):
    node = make_node("float32_pair")
    x = np.ones((3, 4), dtype="float32")
    thunk, storage, first = run_thunk(node, [x, x], keep_buffers=True)
    _, _, second = run_thunk(node, [x * 2, x], storage=storage, thunk=thunk)
    assert all(s is f for s, f in zip(second, first, strict=True))
    for g, e in zip(second, perform(node, [x * 2, x]), strict=True):
        assert_same(g, e)
    _, _, third = run_thunk(node, [second[1], x], storage=storage, thunk=thunk)
    assert third[1] is not second[1]  # that input was last call's output


@pytest.mark.parametrize("linker", ["cvm", "cvm_nogc", "vm"])
def test_a_fused_multi_output_node_runs_on_codegen(linker, codegen):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    z = x + y
    outs = [T.exp(z), z * 2]
    mode = sa.Mode(linker=linker, optimizer="fast_run")
    f = sa.function([x, y], outs, mode=mode)
    ref = sa.function([x, y], outs, mode=sa.Mode(linker="py", optimizer="fast_run"))
    multi = [t for t in f.vm.program.thunks if len(t.node.outputs) > 1]
    assert multi and all(t.backend == "codegen" for t in multi), multi
    rng = np.random.default_rng(1)
    for shape in [(7, 3), (0, 3), (PARALLEL_MIN // 3 + 1, 3)]:
        xv, yv = rng.standard_normal(shape), rng.standard_normal(shape)
        for _ in range(2):
            for g, e in zip(f(xv, yv), ref(xv, yv), strict=True):
                assert_same(g, e)
    with config.change_flags(c_codegen="off"):
        g = sa.function([x, y], outs, mode=mode)
    assert "codegen" not in [t.backend for t in g.vm.program.thunks]


def _outputs_variant(order):
    b = CompositeBuilder(["float64", "float64"])
    regs = _float_pair(b, *b.inputs)
    return b.build([regs[k] for k in order])


def test_the_cache_key_covers_the_outputs(codegen):
    cc = compiler.find_compiler()
    keys = {}
    for order, dtypes in [((0, 1), ("float64", "float64")),
                          ((1, 0), ("float64", "float64")),
                          ((0,), ("float64",)),
                          ((0, 1, 1), ("float64",) * 3),
                          ((0, 1), ("float64", "float32"))]:
        try:
            text = source.render(_outputs_variant(order), dtypes, (False, False)).text
        except source.UnsupportedProgramError:  # float64 -> float32 may be fine
            continue
        again = source.render(_outputs_variant(order), dtypes, (False, False)).text
        assert again == text  # deterministic
        keys[order, dtypes] = cache.kernel_key(text, cc)
    assert len(set(keys.values())) == len(keys) >= 4


def test_render_checks_the_number_of_output_dtypes():
    comp = _outputs_variant((0, 1))
    with pytest.raises(ValueError, match="2 outputs, got 1"):
        source.render(comp, "float64", (False, False))
    src = source.render(comp, ["float64", "float64"], (False, False))
    assert src.out_dtypes == ("float64", "float64") and src.out_dtype == "float64"
    assert "sa_elem(x0[i], x1[i], &r0, &r1);" in src.text
    assert "(output registers" in src.text
