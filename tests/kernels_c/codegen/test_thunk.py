"""Tests of symarray.kernels_c.codegen.thunk and ._thunk: generated kernels
against the Composite's ``perform``, and the fallbacks.

Each program of :data:`PROGRAMS` (floats, mixed dtypes, integers with
wrapping and division by zero, comparisons, bools, casts, NaN through
max/min/clip) runs through its generated kernel over every layout of
:data:`LAYOUTS` (contiguous, strided, negative strides, Fortran order,
broadcast, 0-size, 0-d, one element, outputs large enough to be split
between threads) and must give what ``perform`` gives: the same dtype,
shape, NaNs and integer values, floats to a few ulps.  Then: statically
one-element inputs, in-place outputs, kept buffers, inputs the kernel
cannot read, integer powers that ``perform`` refuses, whole functions under
each linker, the flag off, no compiler and a compile error.
"""

from __future__ import annotations

import os
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import config, kernels_c
from symarray.errors import CodegenWarning, ShapeMismatchError
from symarray.kernels_c._composite import CyCompositeThunk
from symarray.kernels_c.codegen import CACHE_STATS, source
from symarray.kernels_c.codegen._thunk import PARALLEL_MIN, CyCodegenThunk
from symarray.kernels_c.codegen.thunk import clear_loaded, codegen_thunk
from symarray.scalar import get_scalar_op
from symarray.scalar.composite import CompositeBuilder
from symarray.tensor.elemwise import Cast, Elemwise
from symarray.tensor.type import TensorType
from symarray.vm import CyStorage


def ap(b, name, *args):
    return b.apply(get_scalar_op(name), list(args))


def _fused(b, x, y):  # exp(-x*x) * sin(x) + 0.5 * log1p(|y|)
    dt = b.dtype(x)
    left = ap(b, "mul", ap(b, "exp", ap(b, "neg", ap(b, "sqr", x))), ap(b, "sin", x))
    right = ap(b, "mul", b.constant(0.5, dt), ap(b, "log1p", ap(b, "abs", y)))
    return ap(b, "add", left, right)


def _int_arith(b, x, y):  # ((x * 3 + y) // y) % 5 - |x|
    s = ap(b, "add", ap(b, "mul", x, b.constant(3, "int32")), y)
    q = ap(b, "mod", ap(b, "int_div", s, y), b.constant(5, "int32"))
    return ap(b, "sub", q, ap(b, "abs", ap(b, "neg", x)))


def _compare_switch(b, x, y):  # switch(x > y, x, 2y) + isnan(x)
    twice = ap(b, "mul", y, b.constant(2.0, "float64"))
    sw = ap(b, "switch", ap(b, "gt", x, y), x, twice)
    return ap(b, "add", sw, ap(b, "isnan", x))


def _bool_logic(b, p, q, i):  # (p & ~q) | (i > 0)
    return ap(b, "or_", ap(b, "and_", p, ap(b, "invert", q)),
              ap(b, "gt", i, b.constant(0, "int8")))


def _casts(b, x, i):  # float32(x) * float32(i) + float32(bool(x))
    fx = b.apply(Cast("float32"), [x])
    fi = b.apply(Cast("float32"), [i])
    fb = b.apply(Cast("float32"), [b.apply(Cast("bool"), [x])])
    return ap(b, "add", ap(b, "mul", fx, fi), fb)


def _nan_clip(b, x, y, z):  # clip(max(x, y), min(y, z), 1.5)
    return ap(b, "clip", ap(b, "maximum", x, y), ap(b, "minimum", y, z),
              b.constant(1.5, "float32"))


#: name -> (input dtypes, builder(b, *input registers) -> output register)
PROGRAMS = {
    "fused_f64": (["float64", "float64"], _fused),
    "fused_f32": (["float32", "float32"], _fused),
    "mixed_floats": (["float32", "float64"],
                     lambda b, x, y: ap(b, "add", ap(b, "mul", x, y), ap(b, "exp", x))),
    "int_arith": (["int32", "int32"], _int_arith),
    "int16_to_float": (["int16", "float32"],
                       lambda b, i, x: ap(b, "add", ap(b, "exp", i), x)),
    "compare_switch": (["float64", "float64"], _compare_switch),
    "bool_logic": (["bool", "bool", "int8"], _bool_logic),
    "casts": (["float64", "int32"], _casts),
    "uint8_wraps": (["uint8", "uint8"],
                    lambda b, x, y: ap(b, "add", x, ap(b, "mul", y,
                                                       b.constant(200, "uint8")))),
    "nan_clip": (["float32"] * 3, _nan_clip),
}

#: name -> shapes of the inputs (a view is taken where the name says so)
LAYOUTS = {
    "contiguous": [(5, 7)] * 3,
    "strided": [(10, 14)] * 3,
    "negative": [(5, 7)] * 3,
    "fortran": [(7, 5)] * 3,
    "broadcast": [(5, 1), (1, 7), (5, 7)],
    "empty": [(0, 7), (1, 7), (0, 1)],
    "one": [(1, 1)] * 3,
    "large": [(PARALLEL_MIN // 100 + 3, 101)] * 3,
    "large_strided": [(2 * (PARALLEL_MIN // 100 + 3), 101), (1, 101), (1, 1)],
}


def values(dtype, shape, rng):
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.startswith("float"):
        v = rng.uniform(-3.0, 3.0, shape)
        flat = v.reshape(-1)
        flat[: min(3, flat.size)] = [np.nan, np.inf, -np.inf][: min(3, flat.size)]
        return v.astype(dtype)
    info = np.iinfo(dtype)
    v = rng.integers(max(info.min, -60), min(info.max, 60), shape, endpoint=True)
    v = v.astype(dtype)
    if v.size > 2:
        v.reshape(-1)[:2] = [info.min, info.max]
    return v


def view(a, layout):
    if layout in ("strided", "large_strided") and a.shape[0] > 1:
        return a[::2, ::2] if layout == "strided" else a[::2]
    if layout == "negative":
        return a[::-1, ::-1]
    if layout == "fortran":
        return a.T
    return a


def make_node(name, shapes=None, inplace=None):
    dtypes, build = PROGRAMS[name]
    b = CompositeBuilder(dtypes)
    comp = b.build([build(b, *b.inputs)])
    shapes = shapes or [(None, None)] * len(dtypes)
    ins = [TensorType(d, shape=s)() for d, s in zip(dtypes, shapes, strict=True)]
    return Elemwise(comp, inplace).make_node(*ins)


def run_thunk(node, args, keep_buffers=False, storage=None, thunk=None):
    """Run the codegen thunk of ``node``; returns (thunk, storage, output)."""
    if thunk is None:
        thunk = codegen_thunk(node)
        assert isinstance(thunk, CyCodegenThunk) and thunk.backend == "codegen"
        storage = CyStorage(len(args) + 1)
        thunk.bind(storage, range(len(args)), [len(args)], keep_buffers)
    for i, a in enumerate(args):
        storage[i] = a
    with np.errstate(all="ignore"):
        thunk()
    return thunk, storage, storage[len(args)]


def perform(node, args):
    out = [[None]]
    node.op.perform(node, [np.array(a) for a in args], out)
    return out[0][0]


def assert_same(got, expected, what="", node=None):
    """Equal dtype, shape and values; floats to a few ulps of the narrowest
    float the program computes in (float32 steps round like float32)."""
    assert isinstance(got, np.ndarray), what
    assert got.dtype == expected.dtype, (what, got.dtype, expected.dtype)
    assert got.shape == expected.shape, (what, got.shape, expected.shape)
    if expected.dtype.kind != "f":
        np.testing.assert_array_equal(got, expected, err_msg=what)
        return
    narrow = got.dtype == np.float32 or (node is not None and "float32" in {
        *node.op.scalar_op.input_dtypes, *(s.dtype for s in node.op.scalar_op.steps)})
    rtol = 4e-6 if narrow else 1e-13
    finite = np.abs(expected[np.isfinite(expected)])
    atol = rtol * max(1.0, float(finite.max(initial=0.0)))
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=what)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_kernels_match_perform_over_layouts(name, codegen):
    rng = np.random.default_rng(len(name))
    node = make_node(name)
    nin = len(node.inputs)
    thunk = None
    for layout, shapes in LAYOUTS.items():
        args = [view(values(d, s, rng), layout) for d, s in
                zip(PROGRAMS[name][0], shapes[:nin], strict=True)]
        thunk, _, got = run_thunk(node, args)
        assert_same(got, perform(node, args), f"{name} {layout}", node)
    assert thunk is not None and thunk.parts >= 1


@pytest.mark.parametrize("name", ["fused_f32", "int_arith"])
def test_static_one_element_inputs_are_read_once(name, codegen):
    dtypes = PROGRAMS[name][0]
    node = make_node(name, [(None, None), (1, 1)])
    src = source.render(node.op.scalar_op, node.outputs[0].dtype, [False, True])
    assert "const" in src.text and "*(const" in src.text  # the value, read once
    rng = np.random.default_rng(5)
    for shape in [(6, 9), (PARALLEL_MIN // 50, 51), (0, 3)]:
        x = values(dtypes[0], shape, rng)
        y = values(dtypes[1], (1, 1), rng)
        for args in ([x, y], [x[::-1], y], [x.T.copy().T, y]):
            _, _, got = run_thunk(node, args)
            assert_same(got, perform(node, args), f"{name} {shape}", node)


def test_zero_d_operands(codegen):
    node = make_node("fused_f64", [(), ()])
    args = [np.array(0.3), np.array(-2.0)]
    _, _, got = run_thunk(node, args)
    assert got.shape == () and got.dtype == np.float64
    assert_same(got, perform(node, args))


def test_inplace_output_writes_over_its_input(codegen):
    node = make_node("fused_f64", inplace={0: 1})
    rng = np.random.default_rng(3)
    a, b = values("float64", (4, 6), rng), values("float64", (4, 6), rng)
    expected = perform(node, [a, b])
    _, _, got = run_thunk(node, [a, b])
    assert got is b
    assert_same(got, expected)
    # same array twice: every element is read before it is written
    big = values("float64", (PARALLEL_MIN // 64 + 1, 64), rng)
    expected = perform(node, [big, big])
    _, _, got = run_thunk(node, [big, big])
    assert got is big
    assert_same(got, expected)
    # a broadcast or read-only target gets a fresh output, as in perform
    ro = values("float64", (4, 6), rng)
    ro.flags.writeable = False
    for args in ([a, np.ones((1, 6))], [a, ro]):
        before = args[1].copy()
        _, _, got = run_thunk(node, args)
        assert got is not args[1]
        np.testing.assert_array_equal(args[1], before)


def test_no_gc_thunks_reuse_their_output_buffer(codegen):
    node = make_node("fused_f32")
    x = np.ones((3, 4), dtype="float32")
    thunk, storage, first = run_thunk(node, [x, x], keep_buffers=True)
    _, _, second = run_thunk(node, [x * 2, x], storage=storage, thunk=thunk)
    assert second is first
    assert_same(second, perform(node, [x * 2, x]))
    _, _, third = run_thunk(node, [second, x], storage=storage, thunk=thunk)
    assert third is not second  # the input was last call's output


def test_inputs_the_kernel_cannot_read_run_perform(codegen):
    node = make_node("fused_f64")
    good = np.linspace(-1, 1, 6).reshape(2, 3)
    for bad in (good.astype("float32"), good.tolist(), good.astype(">f8")):
        _, _, got = run_thunk(node, [bad, good])
        np.testing.assert_array_equal(got, perform(node, [bad, good]))
    with pytest.raises(ShapeMismatchError, match="cannot be broadcast"):
        run_thunk(node, [np.ones((2, 3)), np.ones((3, 2))])


def test_integer_power_refused_by_perform_raises_the_same_error(codegen):
    b = CompositeBuilder(["int64", "int64"])
    x, y = b.inputs
    comp = b.build([ap(b, "add", ap(b, "pow", x, y), x)])
    ins = [TensorType("int64", shape=(None,))() for _ in range(2)]
    node = Elemwise(comp, {0: 0}).make_node(*ins)
    base, exps = np.arange(6), np.array([0, 1, 2, 3, 4, 5])
    thunk, storage, got = run_thunk(node, [base, exps])
    np.testing.assert_array_equal(got, base ** exps + base)
    assert got is not base  # in place is off: perform may need the input
    with pytest.raises(ValueError, match="negative integer powers"):
        run_thunk(node, [base, -exps], storage=storage, thunk=thunk)
    np.testing.assert_array_equal(base, np.arange(6))


@pytest.mark.parametrize("linker", ["cvm", "cvm_nogc", "vm"])
def test_functions_run_generated_kernels_under_each_linker(linker, codegen):
    x, y = T.fmatrix("x"), T.fvector("y")
    out = T.exp(-x ** 2) * T.sin(x) + 0.5 * T.log(1 + abs(x)) * y
    f = sa.function([x, y], out, mode=sa.Mode(linker=linker, optimizer="fast_run"))
    ref = sa.function([x, y], out, mode=sa.Mode(linker="py", optimizer="fast_run"))
    backends = [t.backend for t in f.vm.program.thunks]
    assert "codegen" in backends, backends
    rng = np.random.default_rng(4)
    for shape in [(40, 3), (0, 3), (PARALLEL_MIN // 3 + 1, 3)]:
        xv = rng.standard_normal(shape).astype("float32")
        yv = rng.standard_normal(3).astype("float32")
        for _ in range(2):
            assert_same(f(xv, yv), ref(xv, yv))


def test_flag_off_leaves_fused_nodes_to_the_interpreter(codegen):
    node = make_node("fused_f64")
    with config.change_flags(c_codegen="off"):
        assert codegen_thunk(node) is None
        assert isinstance(kernels_c.make_thunk(node), CyCompositeThunk)
    assert isinstance(kernels_c.make_thunk(node), CyCodegenThunk)


def test_declined_programs_go_to_the_interpreter(codegen):
    b = CompositeBuilder(["float64"])
    comp = b.build([b.apply(Cast("int32"), b.inputs)])  # float -> int: declined
    node = Elemwise(comp).make_node(T.dvector())
    before = CACHE_STATS["declined"]
    assert codegen_thunk(node) is None
    assert CACHE_STATS["declined"] == before + 1
    assert source.explain(comp, "int32") is not None


def test_no_compiler_warns_once_and_the_interpreter_runs(codegen, monkeypatch):
    monkeypatch.setenv("CC", "/nonexistent/bin/cc")
    clear_loaded()
    node = make_node("fused_f64")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert codegen_thunk(node) is None
        thunk = kernels_c.make_thunk(make_node("fused_f32"))
    assert isinstance(thunk, CyCompositeThunk)
    msgs = [str(w.message) for w in caught if issubclass(w.category, CodegenWarning)]
    assert len(msgs) == 1 and "/nonexistent/bin/cc" in msgs[0] and "$CC" in msgs[0]
    x, y = T.dvector("x"), T.dvector("y")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CodegenWarning)
        f = sa.function([x, y], T.exp(x) * y + 1.0)
    assert "codegen" not in [t.backend for t in f.vm.program.thunks]
    np.testing.assert_allclose(f(np.ones(3), np.ones(3)), np.full(3, np.e + 1))


@pytest.mark.parametrize("dump", [False, True])
def test_compile_error_falls_back_and_dumps_the_source_on_request(
        dump, fresh_cache, monkeypatch):
    real = source.render

    def broken(*args, **kwargs):
        src = real(*args, **kwargs)
        return src._replace(text=src.text + "\nthis is not C;\n")

    monkeypatch.setattr("symarray.kernels_c.codegen.thunk.render", broken)
    node = make_node("fused_f64")
    with config.change_flags(c_codegen_dump_source=dump), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert codegen_thunk(node) is None
        assert codegen_thunk(node) is None  # not compiled again, not warned again
        assert isinstance(kernels_c.make_thunk(node), CyCompositeThunk)
    msgs = [str(w.message) for w in caught if issubclass(w.category, CodegenWarning)]
    assert len(msgs) == 1, msgs
    assert "compiling kernel.c failed" in msgs[0]
    text = broken(node.op.scalar_op, "float64", [False, False]).text
    n_lines = len(text.splitlines())
    if dump:
        assert re.search(r"^ *1 \| /\* Generated by symarray", msgs[0], re.M)
        assert re.search(rf"^{n_lines} \| this is not C;", msgs[0], re.M)
        assert "--- command:" in msgs[0] and "-ffp-contract=off" in msgs[0]
        assert "error" in msgs[0].split("--- compiler output:")[1]
    else:
        assert "c_codegen_dump_source" in msgs[0] and " | " not in msgs[0]
    assert CACHE_STATS["failures"] == 1
    assert [p for p in os.listdir(fresh_cache) if p.startswith("tmp-")] == []


# Correctly rounded ops only: an ulp of difference in exp/sin (vector math vs
# NumPy's libm) turns into any difference at all once mod, floor or a
# comparison reads it (the test_thunk float tests cover those ops with a
# tolerance).
RANDOM_OPS = ["add", "sub", "mul", "true_div", "int_div", "mod", "neg", "abs",
              "maximum", "minimum", "lt", "eq", "switch",
              "and_", "invert", "sqr", "floor"]
RANDOM_DTYPES = ["bool", "int8", "uint8", "int32", "int64", "float32", "float64"]


@st.composite
def mixed_programs(draw):
    dtypes = draw(st.lists(st.sampled_from(RANDOM_DTYPES), min_size=1, max_size=3))
    plan = []
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(RANDOM_OPS))
        plan.append((op, [draw(st.integers(0, 50)) for _ in range(3)]))
    return dtypes, plan


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow,
                                 HealthCheck.function_scoped_fixture])
@given(prog=mixed_programs(), seed=st.integers(0, 2**16))
def test_random_mixed_dtype_programs_match_perform(prog, seed, codegen):
    dtypes, plan = prog
    b = CompositeBuilder(dtypes)
    regs = list(b.inputs)
    for name, picks in plan:
        op = get_scalar_op(name)
        args = [regs[p % len(regs)] for p in picks[:op.nin]]
        try:
            regs.append(b.apply(op, args))
        except (TypeError, ValueError):  # e.g. sub of bools: NumPy refuses too
            continue
    out = regs[-1]
    for r in regs[:len(dtypes)]:  # read every input (perform's shape)
        try:
            out = b.apply(get_scalar_op("maximum"), [out, r])
        except (TypeError, ValueError):
            pass
    if out in b.inputs:
        return
    comp = b.build([out])
    ins = [TensorType(d, shape=(None, None))() for d in dtypes]
    node = Elemwise(comp).make_node(*ins)
    thunk = codegen_thunk(node)
    if thunk is None:  # declined: say why, and check it is a documented case
        assert source.explain(comp, node.outputs[0].dtype)
        return
    rng = np.random.default_rng(seed)
    for layout in ("contiguous", "broadcast", "negative"):
        shapes = LAYOUTS[layout]
        args = [view(values(d, s, rng), layout) for d, s in
                zip(dtypes, shapes[:len(dtypes)], strict=True)]
        _, _, got = run_thunk(node, args)
        assert_same(got, perform(node, args), f"{comp} {layout}", node)


def test_a_cache_folder_that_cannot_be_made_warns_once(codegen, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    clear_loaded()
    with config.change_flags(base_compiledir=str(blocker / "cache")), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in ("fused_f64", "fused_f32", "fused_f64"):
            assert isinstance(kernels_c.make_thunk(make_node(name)), CyCompositeThunk)
    msgs = [str(w.message) for w in caught if issubclass(w.category, CodegenWarning)]
    assert len(msgs) == 1 and "base_compiledir" in msgs[0]
