"""Tests of symarray.tensor.rewriting.subtensor: writes, allocs, merges, lifts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.mode import Mode
from symarray.tensor.subtensor import Subtensor

FAST_RUN = Mode(linker="py", optimizer="fast_run")
NO_REWRITES = Mode(linker="py", optimizer=None)
RNG = np.random.default_rng(9)


def _compile(inputs: list[Any], out: Any) -> Any:
    return sa.function(inputs, out, mode=FAST_RUN, on_unused_input="ignore")


def _applied(f: Any, name: str) -> int:
    return int(f.maker.fgraph.rewrite_stats.applied(name))


def _n_ops(f: Any, op_class: type) -> int:
    return sum(isinstance(n.op, op_class) for n in f.maker.fgraph.apply_nodes)


def _same(inputs: list[Any], out: Any, values: list[Any]) -> Any:
    f = _compile(inputs, out)
    got = f(*values)
    want = sa.function(inputs, out, mode=NO_REWRITES,
                       on_unused_input="ignore")(*values)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12)
    return f


# -- writes that change nothing ------------------------------------------------------


@pytest.mark.parametrize("key", ["slice", "int", "symbolic"])
def test_inc_subtensor_of_zeros(key: str) -> None:
    X, i = T.dmatrix("X"), T.lscalar("i")
    sub = {"slice": X[1:3], "int": X[1], "symbolic": X[i, :2]}[key]
    out = T.inc_subtensor(sub, 0.0)
    f = _same([X, i], out, [RNG.normal(size=(4, 3)), 2])
    assert _applied(f, "local_incsubtensor_of_zeros") == 1
    assert not any("IncSubtensor" in type(n.op).__name__
                   for n in f.maker.fgraph.apply_nodes)


def test_inc_subtensor_of_zeros_still_checks_the_index() -> None:
    X, i = T.dmatrix("X"), T.lscalar("i")
    f = _compile([X, i], T.inc_subtensor(X[i], 0.0))
    assert _applied(f, "local_incsubtensor_of_zeros") == 1
    with pytest.raises(Exception, match="out of bounds"):
        f(np.zeros((2, 2)), 5)
    np.testing.assert_array_equal(f(np.ones((2, 2)), -2), np.ones((2, 2)))


def test_inc_subtensor_of_nonzero_or_set_is_kept() -> None:
    X = T.dmatrix("X")
    f = _same([X], T.inc_subtensor(X[1:], 1.0), [np.zeros((3, 2))])
    assert _applied(f, "local_incsubtensor_of_zeros") == 0
    f = _same([X], T.set_subtensor(X[1:], 0.0), [np.ones((3, 2))])
    assert _applied(f, "local_incsubtensor_of_zeros") == 0


def test_set_subtensor_of_own_subtensor() -> None:
    X, i = T.dmatrix("X"), T.lscalar("i")
    out = T.set_subtensor(X[i:, 1], X[i:, 1])
    f = _same([X, i], out, [RNG.normal(size=(4, 3)), 1])
    assert _applied(f, "local_setsubtensor_of_own_subtensor") == 1
    assert f.maker.fgraph.outputs[0] in f.maker.fgraph.inputs or \
        not f.maker.fgraph.apply_nodes or _n_ops(f, Subtensor) == 0


def test_set_subtensor_of_another_index_is_kept() -> None:
    X = T.dmatrix("X")
    f = _same([X], T.set_subtensor(X[1:], X[:-1]), [RNG.normal(size=(4, 3))])
    assert _applied(f, "local_setsubtensor_of_own_subtensor") == 0
    Y = T.dmatrix("Y")
    f = _same([X, Y], T.set_subtensor(X[1:], Y[1:]),
              [RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))])
    assert _applied(f, "local_setsubtensor_of_own_subtensor") == 0


# -- indexing an alloc ---------------------------------------------------------------


@pytest.mark.parametrize("key", [
    lambda a: a[1:], lambda a: a[2], lambda a: a[::-2, 1], lambda a: a[-1, :2],
])
def test_subtensor_of_alloc(key: Any) -> None:
    v, n = T.dscalar("v"), T.lscalar("n")
    out = key(T.alloc(v, n, 4))
    f = _same([v, n], out, [1.5, 5])
    assert _applied(f, "local_subtensor_of_alloc") == 1
    assert _n_ops(f, Subtensor) == 0


def test_subtensor_of_alloc_still_checks_integer_indices() -> None:
    v, n = T.dscalar("v"), T.lscalar("n")
    f = _compile([v, n], T.alloc(v, n, 4)[3])
    assert _applied(f, "local_subtensor_of_alloc") == 1
    with pytest.raises(Exception, match="out of bounds"):
        f(1.0, 2)


def test_subtensor_of_alloc_of_a_vector_is_kept() -> None:
    v, n = T.dvector("v"), T.lscalar("n")
    f = _same([v, n], T.alloc(v, n, 3)[1:], [np.arange(3.0), 4])
    assert _applied(f, "local_subtensor_of_alloc") == 0


# -- merging consecutive indexings ---------------------------------------------------


def test_merge_simple_slices_needs_no_length() -> None:
    x = T.dvector("x")
    f = _same([x], x[1:][::2], [np.arange(7.0)])
    assert _applied(f, "local_subtensor_merge") == 1
    assert len(f.maker.fgraph.apply_nodes) == 1  # one Subtensor, no arithmetic
    (node,) = f.maker.fgraph.apply_nodes
    assert str(node.op) == "Subtensor{1::2}"


def test_merge_with_a_symbolic_step_is_left_alone() -> None:
    x, k = T.dvector("x"), T.lscalar("k")
    f = _same([x, k], x[1:][::k], [np.arange(7.0), -2])
    assert _applied(f, "local_subtensor_merge") == 0


def test_merge_keeps_out_of_range_errors() -> None:
    x, i = T.dvector("x"), T.lscalar("i")
    f = _compile([x, i], x[2:][i])
    assert _applied(f, "local_subtensor_merge") == 1
    assert f(np.arange(5.0), -1) == 4.0
    with pytest.raises(Exception, match="out of bounds"):
        f(np.arange(5.0), 3)  # x[2:] has 3 elements; x[5] would also fail
    with pytest.raises(Exception, match="out of bounds"):
        f(np.arange(7.0), -6)  # x[2:][-6] is out of range, x[1] is not


def test_merge_with_static_lengths_gives_constant_indices() -> None:
    x = T.tensor("float64", shape=(7,))
    f = _same([x], x[1:][::-2][1], [np.arange(7.0)])
    assert _applied(f, "local_subtensor_merge") == 2
    (node,) = f.maker.fgraph.apply_nodes
    assert str(node.op) == "Subtensor{4}"


def _part(draw: Any, lo: int, hi: int, allow_none: bool,
          symbols: list[tuple[Any, int]]) -> Any:
    """A slice part or index: None, a constant, or a symbolic int64."""
    kind = draw(st.sampled_from(["none", "const", "sym"] if allow_none
                                else ["const", "sym"]))
    if kind == "none":
        return None, None
    value = draw(st.integers(lo, hi))
    if kind == "const":
        return value, value
    var = T.lscalar(f"s{len(symbols)}")
    symbols.append((var, value))
    return var, value


@st.composite
def _entry(draw: Any, symbols: list[tuple[Any, int]], allow_int: bool) -> Any:
    """(symbolic entry, NumPy entry): an index or a slice with a constant step."""
    if allow_int and draw(st.integers(0, 3)) == 0:
        return _part(draw, -8, 8, False, symbols)
    start, start_v = _part(draw, -9, 9, True, symbols)
    stop, stop_v = _part(draw, -9, 9, True, symbols)
    step = draw(st.sampled_from([None, 1, 2, 3, -1, -2, -3]))
    return slice(start, stop, step), slice(start_v, stop_v, step)


@st.composite
def _slice_pairs(draw: Any) -> tuple[Any, ...]:
    symbols: list[tuple[Any, int]] = []
    ndim = draw(st.integers(1, 2))
    shape = tuple(draw(st.integers(0, 7)) for _ in range(ndim))
    static = draw(st.booleans())
    inner = [draw(_entry(symbols, ndim > 1 and d == 0)) for d in range(ndim)]
    n_out = sum(isinstance(s, slice) for s, _ in inner)
    outer = [draw(_entry(symbols, True)) for _ in range(n_out)]
    return shape, static, inner, outer, symbols


@given(_slice_pairs())
def test_merged_subtensors_match_numpy(case: tuple[Any, ...]) -> None:
    shape, static, inner, outer, symbols = case
    x = T.tensor("float64", shape=shape if static else (None,) * len(shape))
    data = np.arange(float(np.prod(shape))).reshape(shape)
    key1 = tuple(s for s, _ in inner)
    key2 = tuple(s for s, _ in outer)
    np_key1 = tuple(v for _, v in inner)
    np_key2 = tuple(v for _, v in outer)
    try:
        want = data[np_key1][np_key2]
    except IndexError:
        want = None
    try:
        out = x[key1][key2]
    except IndexError:  # a constant index that the static shape refuses
        assert want is None
        return
    inputs = [x] + [v for v, _ in symbols]
    values = [data] + [np.int64(k) for _, k in symbols]
    f = _compile(inputs, out)
    if want is None:
        with pytest.raises(Exception, match="out of bounds|out of range|index"):
            f(*values)
        return
    got = f(*values)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    if _applied(f, "local_subtensor_merge"):
        assert _n_ops(f, Subtensor) <= 1


# -- lifting an index above an elementwise op -----------------------------------------


@pytest.mark.parametrize("build", [
    lambda m, y: T.exp(m)[0],
    lambda m, y: (2 * T.exp(m) + 1)[1:, 2],
    lambda m, y: T.log1p(T.abs(m))[::-1, 1:3],
    lambda m, y: T.exp(m + y.dimshuffle("x", "x"))[1],
])
def test_subtensor_lift(build: Any) -> None:
    X, y = T.dmatrix("X"), T.dscalar("y")
    out = build(X, y)
    f = _same([X, y], out, [RNG.normal(size=(4, 5)), 0.5])
    assert _applied(f, "local_subtensor_lift") >= 1
    # the index is applied to X itself, first
    x_in = f.maker.fgraph.inputs[0]
    first = [n for n in f.maker.fgraph.toposort() if x_in in n.inputs]
    assert first and all(isinstance(n.op, Subtensor) for n in first)


def test_no_lift_when_the_elemwise_result_is_read_elsewhere() -> None:
    X = T.dmatrix("X")
    e = T.exp(X)
    f = _same([X], e[0] + e.sum(), [RNG.normal(size=(3, 2))])
    assert _applied(f, "local_subtensor_lift") == 0


def test_no_lift_when_inputs_may_stretch_at_run_time() -> None:
    # x and y both (?,): y may have length 1 at run time and broadcast; y[2]
    # would then fail where (x + y)[2] does not
    x, y = T.dvector("x"), T.dvector("y")
    f = _same([x, y], (x + y)[2], [np.arange(4.0), np.array([1.0])])
    assert _applied(f, "local_subtensor_lift") == 0


def test_lift_with_fully_known_equal_shapes() -> None:
    x = T.tensor("float64", shape=(4,))
    y = T.tensor("float64", shape=(4,))
    f = _same([x, y], (x * y)[1:], [np.arange(4.0), np.arange(4.0) + 1])
    assert _applied(f, "local_subtensor_lift") == 1
