"""Tests of symarray.compile.debugmode (and its value checks in _debugcheck).

DebugMode must catch a wrong kernel, a wrong view_map/destroy_map, a wrong
rewrite and NaN/inf at the node that makes them, naming the node and the
line that built it, and must pass ordinary graphs (an MLP training step,
ifelse, scan) with FAST_RUN's results.
"""

from __future__ import annotations

import doctest
import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 - Theano's convention
from symarray import config, kernels_c
from symarray.compile import debugmode
from symarray.compile._debugcheck import (
    REWRITE_TOLERANCES,
    THUNK_TOLERANCES,
    ReferenceEvaluator,
    compare_values,
    copy_value,
    node_precision,
    undeclared_aliases,
    undeclared_writes,
)
from symarray.compile.debugmode import DebugMode, DebugVM
from symarray.compile.mode import get_mode
from symarray.errors import (
    BadDestroyMap,
    BadOptimization,
    BadThunkOutput,
    BadViewMap,
    ConfigError,
    DebugModeError,
    InvalidValueError,
    SymarrayError,
)
from symarray.graph.basic import Apply, Op
from symarray.graph.rewriting import REWRITES, node_rewriter
from symarray.ifelse import ifelse
from symarray.vm import CyPyThunk

THIS_FILE = "test_debugmode.py"


# -- test ops --------------------------------------------------------------------------
class Double(Op):
    """``2 * x``, with a correct perform."""

    __props__ = ()

    def make_node(self, x: Any) -> Apply:
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node: Apply, inputs: Any, out: Any) -> None:
        out[0][0] = inputs[0] * 2


class OffByOne(Double):
    """What a wrong kernel for Double computes: the last element is off by 1."""

    def perform(self, node: Apply, inputs: Any, out: Any) -> None:
        r = inputs[0] * 2
        r[..., -1] += 1
        out[0][0] = r


class FortranDouble(Double):
    """A kernel for Double that returns a Fortran-ordered result."""

    def perform(self, node: Apply, inputs: Any, out: Any) -> None:
        out[0][0] = np.asfortranarray(inputs[0] * 2)


class FakeKernel(CyPyThunk):
    """A thunk labelled as a C kernel (it runs another op's perform)."""

    backend = "c"


class ViewNoMap(Double):
    """Returns a view of its input without declaring view_map."""

    def perform(self, node: Apply, inputs: Any, out: Any) -> None:
        out[0][0] = inputs[0][::1]


class ViewWithMap(ViewNoMap):
    """The same, declared."""

    view_map = {0: [0]}  # noqa: RUF012 - Op convention


class WritesInput(Double):
    """Overwrites its input without declaring destroy_map."""

    def perform(self, node: Apply, inputs: Any, out: Any) -> None:
        inputs[0][0] = 7.0
        out[0][0] = inputs[0] * 2


class SameArrayTwice(Op):
    """Two outputs that are one array, neither declared a view."""

    __props__ = ()

    def make_node(self, x: Any) -> Apply:
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type(), x.type()])

    def perform(self, node: Apply, inputs: Any, out: Any) -> None:
        r = inputs[0] * 2
        out[0][0] = r
        out[1][0] = r


@pytest.fixture
def fake_kernel(monkeypatch: pytest.MonkeyPatch) -> Callable[[type[Op]], None]:
    """Register (for one test) a "C kernel" for Double that runs ``op_class``."""
    kernels_c.make_thunk(T.exp(T.dvector()).owner)  # load the real kernels first

    def install(op_class: type[Op]) -> None:
        monkeypatch.setitem(kernels_c.KERNELS, Double, [
            lambda node: FakeKernel(op_class().make_node(*node.inputs))])

    return install


@pytest.fixture
def bad_rewrite() -> Iterator[str]:
    """A registered rewrite ``exp(x) -> expm1(x)`` (wrong on purpose), under a
    tag no normal mode includes; yields the tag."""

    @node_rewriter([T.exp])
    def local_test_bad_exp(fgraph: Any, node: Apply) -> Any:  # exp(x) -> expm1(x)
        return [T.expm1(node.inputs[0])]

    REWRITES.register(local_test_bad_exp, "canonicalize", "test_debugmode_bad")
    try:
        yield "test_debugmode_bad"
    finally:
        REWRITES.unregister("local_test_bad_exp")


# -- the mode and its names ------------------------------------------------------------
@pytest.mark.parametrize("mode", ["DebugMode", "DEBUG_MODE", "object", "config"])
def test_every_way_to_ask_for_debug_mode(mode: str) -> None:
    x = T.dvector("x")
    if mode == "config":
        with config.change_flags(mode="DebugMode"):
            assert isinstance(get_mode(None), DebugMode)
            f = theano.function([x], T.exp(x) + 1)
    else:
        f = theano.function([x], T.exp(x) + 1,
                            mode=DebugMode() if mode == "object" else mode)
    assert isinstance(f.maker.mode, DebugMode)
    assert isinstance(f.vm, DebugVM)
    np.testing.assert_allclose(f([0.0, 1.0]), np.exp([0.0, 1.0]) + 1)


def test_flags_give_defaults_and_clones_keep_the_class() -> None:
    with config.change_flags(DebugMode__check_c=False, DebugMode__check_finite=False,
                             DebugMode__check_strides=1,
                             DebugMode__check_each_rewrite=True):
        mode = DebugMode()
    assert (mode.check_c_code, mode.check_py_code, mode.check_isfinite,
            mode.require_matching_strides, mode.check_each_rewrite) == (
        False, True, False, 1, True)
    clone = mode.excluding("fusion")
    assert isinstance(clone, DebugMode) and clone.check_c_code is False
    assert clone.excluded == ("fusion",) and "excluding=('fusion',)" in repr(clone)


@pytest.mark.parametrize("kwargs, match", [
    ({"linker": "cvm"}, "DebugMode runs its own linker"),
    ({"check_c_code": False, "check_py_code": False}, "both False"),
    ({"require_matching_strides": 3}, "0 \\(ignore\\), 1 \\(warn\\) or 2"),
    ({"optimizer": "fast_runn"}, "unknown optimizer 'fast_runn'"),
])
def test_bad_arguments_are_config_errors(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        DebugMode(**kwargs)


def test_exported_lazily_and_refused_by_the_profiler() -> None:
    import symarray.compile

    assert symarray.compile.DebugMode is DebugMode
    x = T.dvector("x")
    with pytest.raises(TypeError, match="cannot profile a DebugVM"):
        theano.function([x], x * 2, mode="DebugMode", profile=True)


def test_errors_are_named_symarray_errors() -> None:
    for cls in (BadThunkOutput, BadViewMap, BadDestroyMap, BadOptimization,
                InvalidValueError):
        assert issubclass(cls, DebugModeError) and issubclass(cls, SymarrayError)
    assert issubclass(InvalidValueError, ValueError)


def test_doctests() -> None:
    result = doctest.testmod(debugmode, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


# -- ordinary graphs pass with FAST_RUN's results --------------------------------------
def _graphs() -> dict[str, Callable[[], tuple[list[Any], Any, list[Any]]]]:
    rng = np.random.default_rng(3)
    m, v = rng.standard_normal((4, 5)), rng.standard_normal(5)

    def elemwise() -> Any:
        x, y = T.dmatrix("x"), T.dvector("y")
        return [x, y], T.tanh(x * y + 1) / (1 + T.exp(-x)), [m, v]

    def reductions() -> Any:
        x = T.dmatrix("x")
        return [x], [x.sum(axis=0), x.max(axis=1), (x ** 2).mean(), T.argmax(x, 1)], [m]

    def blas() -> Any:
        x, y = T.dmatrix("x"), T.dvector("y")
        return [x, y], [T.dot(x, y), T.dot(x.T, x) + T.outer(y, y)], [m, v]

    def views_and_indexing() -> Any:
        x = T.dmatrix("x")
        i = T.ivector("i")
        r = T.inc_subtensor(x[1:3, ::2], 1.0)[i] + x.T.reshape((4, 5))
        rows = np.array([0, 3, 1, 2], "int32")
        return [x, i], [r, T.concatenate([x, x[::-1]])], [m, rows]

    def integers_and_float32() -> Any:
        a, b = T.ivector("a"), T.fvector("b")
        return [a, b], [a * 3 - a // 2, T.sqrt(T.abs(b)) * b], [
            np.arange(5, dtype="int32"), v.astype("float32")]

    def ifelse_both_branches() -> Any:
        c, x = T.dscalar("c"), T.dvector("x")
        out = ifelse(T.gt(c, 0), T.exp(x).sum() * c, T.log1p(x ** 2).sum())
        return [c, x], out, [1.0, v]

    def scan_with_grad() -> Any:
        x, h0 = T.dmatrix("x"), T.dvector("h0")
        w = theano.shared(np.eye(5) * 0.5, name="w")
        hs, _ = theano.scan(lambda xt, h: T.tanh(T.dot(h, w) + xt), sequences=[x],
                            outputs_info=[h0])
        return [x, h0], [hs, T.grad(hs[-1].sum(), w)], [m, v]

    return {f.__name__: f for f in (elemwise, reductions, blas, views_and_indexing,
                                    integers_and_float32, ifelse_both_branches,
                                    scan_with_grad)}


@pytest.mark.parametrize("name", list(_graphs()))
def test_ordinary_graphs_pass_with_fast_run_results(name: str) -> None:
    inputs, outputs, values = _graphs()[name]()
    debug = theano.function(inputs, outputs, mode="DebugMode")
    fast = theano.function(inputs, outputs, mode="FAST_RUN")
    calls = [values]
    if name == "ifelse_both_branches":
        calls.append([-1.0, values[1]])
    for args in calls:
        got, want = debug(*args), fast(*args)
        for g, w in zip(got if isinstance(got, list) else [got],
                        want if isinstance(want, list) else [want], strict=True):
            assert compare_values(np.asarray(w), np.asarray(g)) is None


def _mlp(mode: Any) -> tuple[Any, list[Any]]:
    rng = np.random.RandomState(0)
    x, y = T.dmatrix("x"), T.ivector("y")
    w1 = theano.shared(rng.randn(4, 8) * 0.3, name="w1")
    b1 = theano.shared(np.zeros(8), name="b1")
    w2 = theano.shared(rng.randn(8, 3) * 0.3, name="w2")
    b2 = theano.shared(np.zeros(3), name="b2")
    h = T.tanh(T.dot(x, w1) + b1)
    p = T.nnet.softmax(T.dot(h, w2) + b2)
    loss = -T.mean(T.log(p)[T.arange(y.shape[0]), y]) + 1e-3 * (w1 ** 2).sum()
    params = [w1, b1, w2, b2]
    grads = T.grad(loss, params)
    step = theano.function([x, y], loss, mode=mode,
                           updates=[(q, q - 0.1 * g) for q, g in zip(params, grads,
                                                                     strict=True)])
    return step, params


@pytest.mark.parametrize("mode", [DebugMode(), DebugMode(check_each_rewrite=True),
                                  DebugMode(linker="debug_nogc")])
def test_mlp_step_with_grad_and_updates(mode: DebugMode) -> None:
    rng = np.random.default_rng(1)
    xv, yv = rng.standard_normal((16, 4)), rng.integers(0, 3, 16).astype("int32")
    debug_step, debug_params = _mlp(mode)
    fast_step, fast_params = _mlp("FAST_RUN")
    for _ in range(3):
        np.testing.assert_allclose(debug_step(xv, yv), fast_step(xv, yv), rtol=1e-12)
    for a, b in zip(debug_params, fast_params, strict=True):
        np.testing.assert_allclose(a.get_value(), b.get_value(), rtol=1e-12)
    assert debug_step.fgraph.debug_record.replacements  # the rewrites were seen


def test_ifelse_runs_and_checks_only_the_taken_branch() -> None:
    c, x = T.dscalar("c"), T.dvector("x")
    f = theano.function([c, x], ifelse(T.gt(c, 0), T.exp(x).sum(), T.log(x).sum()),
                        mode="DebugMode")
    zeros = np.zeros(3)
    assert f(1.0, zeros) == 3.0  # log(0) is in the branch not taken
    with pytest.raises(InvalidValueError, match="log"):
        f(-1.0, zeros)


def test_scan_inner_step_is_checked_under_config_mode() -> None:
    x = T.dmatrix("x")
    with config.change_flags(mode="DebugMode"):
        hs, _ = theano.scan(lambda xt: T.log(xt), sequences=[x])
        f = theano.function([x], hs)
    step = next(n for n in f.maker.fgraph.apply_nodes if str(n.op) == "scan")
    assert isinstance(step.op.inner_function().vm, DebugVM)
    np.testing.assert_allclose(f(np.ones((2, 3))), np.zeros((2, 3)))
    with pytest.raises(InvalidValueError, match="log"):  # inside the step
        f(np.zeros((2, 3)))


# -- what DebugMode catches ------------------------------------------------------------
def test_wrong_kernel_is_caught_with_its_node(fake_kernel: Any) -> None:
    fake_kernel(OffByOne)
    x = T.dvector("x")
    y = Double()(x) + 1  # the node DebugMode must name; built on this line
    assert theano.function([x], y)(np.arange(3.0))[-1] == 6.0  # FAST_RUN: wrong
    f = theano.function([x], y, mode="DebugMode")
    with pytest.raises(BadThunkOutput) as info:
        f(np.arange(3.0))
    text = str(info.value)
    for part in ("output 0 of Double(x)", "C kernel", "index (2,): got 5.0, "
                 "expected 4.0", "max abs difference 1", "shape=(3,) dtype=float64",
                 THIS_FILE):
        assert part in text, part
    assert info.value.node.op == Double() and info.value.details["output"] == 0
    # only perform: nothing to compare, the right result
    g = theano.function([x], y, mode=DebugMode(check_c_code=False))
    np.testing.assert_allclose(g(np.arange(3.0)), [1.0, 3.0, 5.0])


def test_strides_are_compared_on_request(fake_kernel: Any) -> None:
    fake_kernel(FortranDouble)
    x = T.dmatrix("x")
    value = np.ones((2, 3))
    theano.function([x], Double()(x), mode="DebugMode")(value)  # ignored by default
    with pytest.warns(UserWarning, match="strides"):
        theano.function([x], Double()(x),
                        mode=DebugMode(require_matching_strides=1))(value)
    with pytest.raises(BadThunkOutput, match="strides"):
        theano.function([x], Double()(x),
                        mode=DebugMode(require_matching_strides=2))(value)


@pytest.mark.parametrize("op, error, match", [
    (ViewNoMap(), BadViewMap, "output 0 of ViewNoMap.* shares memory with input 0"),
    (WritesInput(), BadDestroyMap, "changed its input 0 .*got 7.0, expected 2.0"),
    (SameArrayTwice(), BadViewMap, "outputs 0 and 1 of SameArrayTwice.*share memory"),
])
def test_wrong_view_or_destroy_map_is_caught(op: Op, error: type, match: str) -> None:
    x = T.dvector("x")
    out = op(x * 2)
    outs = [o * 1.5 for o in out] if isinstance(out, list) else out * 1.5
    f = theano.function([x], outs, mode="DebugMode")
    with pytest.raises(error, match=match) as info:
        f(np.ones(3))
    assert THIS_FILE in str(info.value) and "HINT: " in str(info.value)


def test_declared_view_passes() -> None:
    x = T.dvector("x")
    f = theano.function([x], ViewWithMap()(x * 2) * 1.5, mode="DebugMode")
    np.testing.assert_allclose(f(np.ones(3)), 3.0)


@pytest.mark.parametrize("each", [False, True])
def test_wrong_rewrite_is_named(bad_rewrite: str, each: bool) -> None:
    x = T.dvector("x")
    y = (T.exp(x) * 3).sum()
    ok = theano.function([x], y, mode="DebugMode")  # the tag is not included
    np.testing.assert_allclose(ok(np.zeros(3)), 9.0)
    f = theano.function([x], y, mode=DebugMode(check_each_rewrite=each).including(
        bad_rewrite))
    with pytest.raises(BadOptimization, match="the rewrite 'local_test_bad_exp' "
                       "changed a value: it replaced exp.out = exp\\(x\\)") as info:
        f(np.zeros(3))
    assert info.value.details["rewrite"] == "local_test_bad_exp"
    assert "excluding('local_test_bad_exp')" in str(info.value)
    assert THIS_FILE in str(info.value)


def test_nan_and_inf_are_reported_where_they_appear() -> None:
    x = T.dvector("x")
    y = T.exp(T.log(x) * 2)
    f = theano.function([x], y, mode=DebugMode(optimizer=None))
    with pytest.raises(InvalidValueError, match="output 0 of log\\(x\\).* 0 NaN and 1 "
                       "infinite.*index \\(1,\\)") as info:
        f(np.array([1.0, 0.0]))
    assert info.value.details["index"] == (1,)
    # NaN given as input is not the graph's fault
    assert np.isnan(f(np.array([np.nan, 1.0]))[0])
    off = theano.function([x], y, mode=DebugMode(check_isfinite=False))
    np.testing.assert_allclose(off(np.array([1.0, 0.0])), [1.0, 0.0])


# -- the value checks ------------------------------------------------------------------
@pytest.mark.parametrize("expected, got, match", [
    (np.ones(3), np.ones(3) + 1e-12, None),
    (np.ones(3), np.ones(3, "float32"), "dtype float32, expected float64"),
    (np.ones(3), np.ones(4), "shape \\(4,\\), expected \\(3,\\)"),
    (np.array([1.0, np.nan]), np.array([1.0, np.nan]), None),
    (np.array([1.0, np.nan]), np.array([1.0, 2.0]), "1 of 2 elements differ; first at "
     "index \\(1,\\): got 2.0, expected nan"),
    (np.array([np.inf, 1.0]), np.array([-np.inf, 1.0]), "index \\(0,\\)"),
    (np.array([1e6, 1.0]), np.array([1e6 + 1e-5, 1.0]), None),  # atol scales
    (np.array([1.0, 2.0], "float32"), np.array([1.0, 2.0001], "float32"), None),
    (np.array([[1, 2], [3, 4]]), np.array([[1, 2], [3, 5]]), "index \\(1, 1\\): got 5, "
     "expected 4; max abs difference 1"),
    (np.float64(2.0), np.float64(2.5), "index \\(\\): got 2.5, expected 2.0"),
    ((1, 2), (1, 2), None),
    (np.random.default_rng(5), np.random.default_rng(5), None),
    (np.random.default_rng(5), np.random.default_rng(6), "another state"),
    ((1, 2), (1, 3), "got \\(1, 3\\), expected \\(1, 2\\)"),
])
def test_compare_values(expected: Any, got: Any, match: str | None) -> None:
    diff = compare_values(expected, got)
    if match is None:
        assert diff is None
    else:
        assert diff is not None
        assert re.search(match, diff), diff


def test_compare_values_may_ignore_nonfinite_expected() -> None:
    expected, got = np.array([np.inf, 1.0]), np.array([700.0, 1.0])
    assert compare_values(expected, got) is not None
    assert compare_values(expected, got, ignore_nonfinite_expected=True) is None
    assert compare_values(got, expected, ignore_nonfinite_expected=True) is not None


def test_float64_made_from_float32_gets_float32_tolerance() -> None:
    # switch(x > 0, exp(x), i * 2) is float64 but exp runs in float32: the
    # C kernel and NumPy's exp may differ by a few float32 ulps
    x, i = T.fvector("x"), T.ivector("i")
    out = T.switch(x > 0, T.exp(x), i * 2)
    assert out.dtype == "float64"
    assert node_precision(out.owner) == "float32"
    assert node_precision((T.dvector("y") * 2).owner) == "float64"
    assert node_precision(T.ivector("j").sum().owner) is None
    want = np.array([6.119051456451416])
    got = np.array([6.119052886962891])  # 3 float32 ulps away
    assert compare_values(want, got) is not None
    assert compare_values(want, got, precision="float32") is None
    rng = np.random.default_rng(4)
    xv = rng.uniform(-3, 3, 3000).astype("f4")
    iv = rng.integers(-50, 50, 3000).astype("int32")
    f = theano.function([x, i], out, mode=DebugMode(check_isfinite=False))
    np.testing.assert_allclose(f(xv, iv), np.where(xv > 0, np.exp(xv), iv * 2),
                               rtol=1e-6)


def _tol_text(dtype: str, tol: tuple[float, float]) -> str:
    """How docs/debugmode.md writes a tolerance: float32 `1e-4, 1e-5`."""
    def num(v: float) -> str:
        return re.sub(r"e([+-])0*(\d)", r"e\1\2", f"{v:.0e}")
    return f"{dtype} `{num(tol[0])}, {num(tol[1])}`"


def test_docs_state_the_tolerances_and_the_mixed_precision_rule() -> None:
    import pathlib

    docs = pathlib.Path(__file__).resolve().parents[2] / "docs" / "debugmode.md"
    text = " ".join(docs.read_text().split())
    for table in (THUNK_TOLERANCES, REWRITE_TOLERANCES):
        for dtype, tol in table.items():
            assert _tol_text(dtype, tol) in text, _tol_text(dtype, tol)
    # a float64 output from float32 inputs: float32's tolerance, as the docs say
    x = T.fvector("x")
    node = (T.cast(x, "float64") * 2).owner.inputs[0].owner  # cast: f32 -> f64
    assert node_precision(node) == "float32"
    f32 = _tol_text("float32's", THUNK_TOLERANCES["float32"])
    rule = re.search(r"a float64 output computed from float32 inputs (.*?) is "
                     r"compared with (\S+ `[^`]+`)", text)
    assert rule is not None and rule.group(2) == f32 and "node_precision" in text
    diff = compare_values(np.array([1.0]), np.array([2.0]), precision="float32")
    quoted = re.search(r"says `(for float64 computed from float32)`", text)
    assert quoted is not None and diff is not None and quoted.group(1) in diff
    assert "uses the output dtype's `REWRITE_TOLERANCES` only" in text

def test_copies_keep_layout_and_aliases_are_found() -> None:
    a = np.asfortranarray(np.ones((2, 3)))
    c = copy_value(a)
    assert c.flags.f_contiguous and not np.shares_memory(a, c)
    x = T.dvector("x")
    node = ViewNoMap()(x).owner
    v = np.ones(3)
    assert list(undeclared_aliases(node, [v], [v[::1]])) == [(0, 0, None)]
    assert list(undeclared_aliases(ViewWithMap()(x).owner, [v], [v[::1]])) == []
    assert undeclared_writes(node, [v], [np.zeros(3)]) == [0]


def test_reference_evaluator_is_lazy_and_copies_destroyed_inputs() -> None:
    c, x = T.dscalar("c"), T.dvector("x")
    bad = T.log(x)
    out = ifelse(T.gt(c, 0), T.exp(x), bad)
    value = np.zeros(2)
    ev = ReferenceEvaluator({c: np.array(1.0), x: value})
    np.testing.assert_allclose(ev.value(out), [1.0, 1.0])
    assert bad not in ev.values  # the other branch never ran
    np.testing.assert_array_equal(value, [0.0, 0.0])
