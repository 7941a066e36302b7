"""Tests for symarray.control.ifelse: lazy ifelse under every linker."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T
from symarray.control.branches import BranchTracker, branch_regions
from symarray.control.ifelse import IfElse
from symarray.graph.basic import Apply, Op
from symarray.graph.fg import FunctionGraph
from symarray.ifelse import ifelse
from symarray.vm.program import disassemble
from tests.op_checks import check_against_numpy, check_infer_shape

#: every linker runs the branches lazily: the assembler lays out the jumps,
#: and ``py`` runs the same program with ``perform`` thunks
LAZY_LINKERS = ("py", "vm", "cvm", "vm_nogc", "cvm_nogc")


class Count(Op):
    """Identity (a copy) that counts its runs per ``label``."""

    __props__ = ("label",)
    runs: ClassVar[dict[str, int]] = {}

    def __init__(self, label: str) -> None:
        self.label = label

    def make_node(self, x: Any) -> Apply:
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node: Apply, inputs: Any, out: Any) -> None:
        Count.runs[self.label] = Count.runs.get(self.label, 0) + 1
        out[0][0] = np.array(inputs[0], copy=True)


@pytest.fixture(autouse=True)
def _reset_counts() -> None:
    Count.runs.clear()


def _mode(linker: str, optimizer: Any = None) -> sa.Mode:
    return sa.Mode(linker=linker, optimizer=optimizer)


@pytest.mark.parametrize("optimizer", [None, "fast_run"])
@pytest.mark.parametrize("linker", LAZY_LINKERS)
def test_untaken_branch_does_not_run(linker: str, optimizer: Any) -> None:
    c = T.bscalar("c")
    x, y = T.dvectors("x", "y")
    then = T.exp(Count("then")(x * 2.0)) + y
    other = T.log(Count("else")(y + 1.0)) * x
    f = sa.function([c, x, y], ifelse(c, then, other),
                    mode=_mode(linker, optimizer))
    xv, yv = np.array([0.5, 1.0]), np.array([2.0, 3.0])
    np.testing.assert_allclose(f(1, xv, yv), np.exp(xv * 2) + yv)
    assert Count.runs == {"then": 1}
    np.testing.assert_allclose(f(0, xv, yv), np.log(yv + 1) * xv)
    assert Count.runs == {"then": 1, "else": 1}
    np.testing.assert_allclose(f(0, xv, yv), np.log(yv + 1) * xv)
    assert Count.runs == {"then": 1, "else": 2}


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "bool"])
@pytest.mark.parametrize("shape", [(), (3,), (0,), (2, 3)])
def test_matches_switch(dtype: str, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    c = T.iscalar("c")
    t = T.TensorType(dtype, shape=(None,) * len(shape))("t")
    e = T.TensorType(dtype, shape=(None,) * len(shape))("e")
    tv = (rng.standard_normal(shape) * 5).astype(dtype)
    ev = (rng.standard_normal(shape) * 5).astype(dtype)
    for cv in (0, 1, 7):
        check_against_numpy([c, t, e], ifelse(c, t, e), [np.int32(cv), tv, ev],
                            lambda c_, t_, e_: np.where(c_, t_, e_), dtype=dtype)
        check_against_numpy([c, t, e], T.switch(c, t, e), [np.int32(cv), tv, ev],
                            lambda c_, t_, e_: t_ if c_ else e_, dtype=dtype)


def test_list_branches_and_different_shapes() -> None:
    c = T.bscalar("c")
    x = T.dmatrix("x")
    v = T.dvector("v")
    outs = ifelse(c, [x.sum(axis=0), x * 2], [v, x[:1]])
    assert isinstance(outs, list) and len(outs) == 2
    xv, vv = np.arange(6.0).reshape(2, 3), np.array([1.0, 2.0, 3.0, 4.0])
    check_against_numpy([c, x, v], outs, [np.int8(1), xv, vv],
                        lambda c_, x_, v_: [x_.sum(axis=0), x_ * 2])
    check_against_numpy([c, x, v], outs, [np.int8(0), xv, vv],
                        lambda c_, x_, v_: [v_, x_[:1]])
    for cv in (0, 1):
        check_infer_shape([c, x, v], outs, [np.int8(cv), xv, vv])


def test_static_shapes_merge() -> None:
    c = T.bscalar("c")
    a = T.TensorType("float64", shape=(3, 4))("a")
    b = T.TensorType("float64", shape=(3, 5))("b")
    assert ifelse(c, a, b).type.shape == (3, None)
    assert ifelse(c, a, a).type.shape == (3, 4)


@pytest.mark.parametrize("linker", LAZY_LINKERS)
def test_nested(linker: str) -> None:
    c1, c2 = T.bscalar("c1"), T.bscalar("c2")
    x = T.dscalar("x")
    inner = ifelse(c2, Count("a")(x + 1), Count("b")(x + 2))
    out = ifelse(c1, inner * 10, Count("c")(x + 3))
    f = sa.function([c1, c2, x], out, mode=_mode(linker))
    assert f(1, 1, 1.0) == 20.0 and Count.runs == {"a": 1}
    assert f(1, 0, 1.0) == 30.0 and Count.runs == {"a": 1, "b": 1}
    assert f(0, 1, 1.0) == 4.0 and Count.runs == {"a": 1, "b": 1, "c": 1}


@pytest.mark.parametrize("linker", LAZY_LINKERS)
def test_shared_subexpression_runs_once(linker: str) -> None:
    c = T.bscalar("c")
    x = T.dscalar("x")
    s = Count("shared")(x * 3)
    then_only = Count("then")(s + 1)
    out = ifelse(c, then_only, s - 1) + s
    f = sa.function([c, x], out, mode=_mode(linker))
    assert f(1, 1.0) == 7.0
    assert Count.runs == {"shared": 1, "then": 1}
    assert f(0, 1.0) == 5.0
    assert Count.runs == {"shared": 2, "then": 1}


def test_condition_computed_in_a_branch_context() -> None:
    # the condition of an inner ifelse uses a value that only the outer
    # then-branch needs
    c = T.bscalar("c")
    x = T.dscalar("x")
    y = Count("y")(x * 2)
    out = ifelse(c, ifelse(T.gt(y, 1.0), y, -y), x)
    f = sa.function([c, x], out, mode=_mode("cvm"))
    assert f(1, 1.0) == 2.0 and f(1, 0.25) == -0.5 and f(0, 5.0) == 5.0
    assert Count.runs == {"y": 2}


def test_disassemble_shows_jumps() -> None:
    c = T.bscalar("c")
    x = T.dvector("x")
    f = sa.function([c, x], ifelse(c, T.exp(x), T.log(x)), mode=_mode("cvm"))
    text = disassemble(f.vm.program)
    assert "JUMP_IF_FALSE" in text and "JUMP  ->" in text
    lines = text.splitlines()
    jif = next(i for i, ln in enumerate(lines) if "JUMP_IF_FALSE" in ln)
    assert "exp" in lines[jif + 1]


@pytest.mark.parametrize("cond", [0, 1])
def test_gc_frees_every_intermediate(cond: int) -> None:
    c = T.bscalar("c")
    x = T.dvector("x")
    out = ifelse(c, T.exp(Count("t")(x)) * 2, T.log(Count("e")(x)) + 1)
    f = sa.function([c, x], out, mode=_mode("cvm"))
    f(cond, np.ones(3))
    prog = f.vm.program
    kept = set(prog.input_cells) | set(prog.output_cells) | set(prog.constant_cells)
    assert [k for k in range(len(prog.cells))
            if k not in kept and prog.cells[k] is not None] == []


def test_output_never_aliases_an_input() -> None:
    c = T.bscalar("c")
    x, y = T.dvectors("x", "y")
    f = sa.function([c, x, y], ifelse(c, x, y))
    xv, yv = np.ones(3), np.zeros(3)
    got = f(1, xv, yv)
    assert not np.shares_memory(got, xv)
    g = sa.function([c, x, y], ifelse(c, x, y) + 1.0)  # may be made in place
    g(1, xv, yv)
    np.testing.assert_array_equal(xv, np.ones(3))


def test_gradients() -> None:
    rng = np.random.default_rng(1)
    pt = [rng.standard_normal(3), rng.standard_normal(3)]
    for cv in (True, False):
        def fun(a: Any, b: Any, cv: bool = cv) -> Any:
            return ifelse(T.constant(np.int8(cv)), a * b + T.exp(a), T.sin(b) * a)

        sa.verify_grad(fun, pt)
    c = T.bscalar("c")
    a, b = T.dvectors("a", "b")
    ga, gb = sa.grad(ifelse(c, (a ** 2).sum(), (b * 3).sum()), [a, b])
    f = sa.function([c, a, b], [ga, gb])
    av, bv = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    for got, exp in zip(f(1, av, bv), [2 * av, np.zeros(2)], strict=True):
        np.testing.assert_allclose(got, exp)
    for got, exp in zip(f(0, av, bv), [np.zeros(2), 3 * np.ones(2)], strict=True):
        np.testing.assert_allclose(got, exp)


def test_r_op() -> None:
    c = T.bscalar("c")
    a, b, va = T.dvectors("a", "b", "va")
    out = ifelse(c, a * a, T.sin(b))
    f = sa.function([c, a, b, va], T.Rop(out, a, va) if hasattr(T, "Rop")
                    else sa.Rop(out, a, va))
    av, bv, vv = np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([1.0, -1.0])
    np.testing.assert_allclose(f(1, av, bv, vv), 2 * av * vv)
    np.testing.assert_allclose(f(0, av, bv, vv), np.zeros(2))


def test_branch_of_and_fusion() -> None:
    c = T.bscalar("c")
    x, y = T.dvectors("x", "y")
    shared_ = T.exp(x)  # read by both branches: outside them
    then = T.tanh(shared_ * 2.0 + y) - 1.0
    other = T.cosh(shared_ - y) / 3.0
    f = sa.function([c, x, y], ifelse(c, then, other))
    fg = f.fgraph
    assert any(isinstance(ft, BranchTracker) for ft in fg.features)
    node = next(n for n in fg.apply_nodes if isinstance(n.op, IfElse))
    # fusion made one node per branch and left the shared exp outside
    then_node, else_node = node.inputs[1].owner, node.inputs[2].owner
    assert fg.branch_of(then_node) == (node, "then")
    assert fg.branch_of(else_node) == (node, "else")
    shared_nodes = {n for n in fg.apply_nodes if fg.branch_of(n) is None}
    assert shared_nodes == {node, then_node.inputs[0].owner}
    assert then_node.inputs[0] is else_node.inputs[0]
    xv, yv = np.array([0.1, 0.2]), np.array([0.3, 0.4])
    np.testing.assert_allclose(f(1, xv, yv), np.tanh(np.exp(xv) * 2 + yv) - 1)
    np.testing.assert_allclose(f(0, xv, yv), np.cosh(np.exp(xv) - yv) / 3)


def test_branch_regions_direct() -> None:
    c = T.bscalar("c")
    x = T.dscalar("x")
    t = T.exp(x)
    e = T.log(x)
    out = ifelse(c, t, e)
    fg = FunctionGraph([c, x], [out], clone=False)
    regions = branch_regions(fg.toposort(), fg.outputs)
    assert regions[t.owner] == (out.owner, "then")
    assert regions[e.owner] == (out.owner, "else")
    assert regions[out.owner] is None


def test_errors() -> None:
    c = T.bscalar("c")
    v = T.dvector("v")
    m = T.dmatrix("m")
    with pytest.raises(TypeError, match="condition must be a scalar"):
        ifelse(v, v, v)
    with pytest.raises(TypeError, match="then-branch gives .*float64.*else-branch"):
        ifelse(c, v, m)
    with pytest.raises(TypeError, match="same dtype"):
        ifelse(c, v, T.fvector())
    with pytest.raises(ValueError, match="then_branch has 2 values but else_branch "
                       "has 1"):
        ifelse(c, [v, v], [v])
    with pytest.raises(TypeError, match="both be lists"):
        ifelse(c, [v], v)
    with pytest.raises(ValueError, match="n_outs must be >= 1"):
        IfElse(0)


def test_public_names() -> None:
    import symarray.ifelse as mod

    assert sa.ifelse is mod and mod.ifelse is ifelse and mod.IfElse is IfElse
    c = T.bscalar("c")
    x = T.dscalar("x")
    out = sa.ifelse(c, x * 2, x)  # the module is callable too
    assert isinstance(out.owner.op, IfElse)
    assert str(IfElse(1, name="pick")) == "if{pick}"
