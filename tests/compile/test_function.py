"""Tests of symarray.compile.function: function() and Function objects."""

from __future__ import annotations

import sys
import tracemalloc
from collections import OrderedDict

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import config
from symarray.compile.function import Function
from symarray.compile.io import In, Out
from symarray.errors import (
    DtypeError,
    MissingInputError,
    RankError,
    SymarrayError,
    UnusedInputError,
)
from symarray.scalar.table import SCALAR_OPS
from symarray.tensor.elemwise import Elemwise
from symarray.updates import UpdateError

NO_REWRITES = theano.Mode(optimizer=None)


# -- signature and outputs ---------------------------------------------------------
def test_theano_positional_order_inputs_outputs_mode_updates_givens():
    x = T.dvector("x")
    s = theano.shared(np.zeros(2), name="s")
    y = T.dvector("y")
    f = theano.function([x], x + s, "FAST_COMPILE", [(s, s + 1)], {y: x})
    np.testing.assert_allclose(f([1.0, 2.0]), [1.0, 2.0])
    np.testing.assert_allclose(s.get_value(), [1.0, 1.0])
    assert f.maker.mode.optimizer == "fast_compile"


@pytest.mark.parametrize("outputs, expect", [
    ("one", np.array([2.0])),
    ("list", [np.array([2.0]), np.array([1.0])]),
    ("tuple", [np.array([2.0]), np.array([1.0])]),
    ("dict", {"double": np.array([2.0]), "same": np.array([1.0])}),
    ("none", []),
    ("empty", []),
])
def test_output_forms(outputs, expect):
    x = T.dvector("x")
    forms = {
        "one": x * 2.0, "list": [x * 2.0, x + 0.0], "tuple": (x * 2.0, x + 0.0),
        "dict": {"double": x * 2.0, "same": x + 0.0}, "none": None, "empty": [],
    }
    f = theano.function([x], forms[outputs], on_unused_input="ignore")
    got = f([1.0])
    if isinstance(expect, dict):
        assert list(got) == list(expect)
        for key in expect:
            np.testing.assert_allclose(got[key], expect[key])
    elif isinstance(expect, list):
        assert isinstance(got, list) and len(got) == len(expect)
        for g, e in zip(got, expect, strict=False):
            np.testing.assert_allclose(g, e)
    else:
        np.testing.assert_allclose(got, expect)


def test_constant_and_python_outputs():
    f = theano.function([], [T.constant(np.arange(3)), 2.5])
    a, b = f()
    np.testing.assert_array_equal(a, np.arange(3))
    assert float(b) == 2.5
    a[0] = 100  # a copy: the constant is not changed
    np.testing.assert_array_equal(f()[0], np.arange(3))


def test_output_subset():
    x = T.dscalar("x")
    f = theano.function([x], [x + 1, x + 2, x + 3])
    assert [float(v) for v in f(0.0, output_subset=[2, 0])] == [3.0, 1.0]


def test_repr_and_name():
    x = T.dscalar("x")
    f = theano.function([x], x + 1, name="plus_one")
    assert repr(f) == "<symarray.Function plus_one(x)>"
    assert f.name == "plus_one"
    assert isinstance(f, Function) and f.fgraph is f.maker.fgraph


# -- calling: positional, keyword, defaults, errors ------------------------------------
def test_positional_keyword_and_default_calls():
    x, y, w = T.dscalar("x"), T.dscalar("y"), T.dscalar("w")
    f = theano.function([x, In(y, value=1.0), In(w, value=2.0, name="w_by_name")],
                        x + y * w)
    assert float(f(3.0)) == 5.0
    assert float(f(3.0, 2.0)) == 7.0
    assert float(f(3.0, w_by_name=4.0)) == 7.0
    assert float(f(x=3.0, y=0.0)) == 3.0
    assert float(f(3.0, 2.0, 0.5)) == 4.0


def test_call_errors_are_clear():
    x, y = T.dscalar("x"), T.dscalar("y")
    f = theano.function([x, y], x + y, name="f")
    with pytest.raises(TypeError, match="function 'f' takes 2 arguments, got 3"):
        f(1.0, 2.0, 3.0)
    with pytest.raises(TypeError, match=r"missing input 1 \(y\); it has no default"):
        f(1.0)
    with pytest.raises(TypeError, match="'z' is unknown; input names: \\['x', 'y'\\]"):
        f(1.0, z=2.0)
    with pytest.raises(TypeError, match="got input 'x' twice"):
        f(1.0, x=2.0)


def test_ambiguous_keyword_names():
    a, b = T.dscalar("v"), T.dscalar("v")
    f = theano.function([a, b], a - b)
    assert float(f(3.0, 1.0)) == 2.0
    with pytest.raises(TypeError, match="ambiguous"):
        f(1.0, v=2.0)


def test_wrong_dtype_or_rank_is_refused_with_index_and_name():
    x = T.fvector("x")
    f = theano.function([x], x * 2)
    with pytest.raises(DtypeError, match=r"at index 0 \(0-based\), named 'x'.*float64"
                       ".*lose precision.*allow_input_downcast"):
        f(np.ones(2))
    with pytest.raises(RankError, match="expected a 1-d array.*got a 2-d"):
        f(np.ones((2, 2), dtype="float32"))
    assert f([1, 2]).dtype == np.float32  # lossless conversion is fine
    assert f([1.5]).dtype == np.float32  # Python floats become floatX-like


def test_allow_input_downcast():
    x = T.fvector("x")
    f = theano.function([x], x * 2, allow_input_downcast=True)
    out = f(np.array([1.0, 2.0]))
    assert out.dtype == np.float32
    g = theano.function([In(x, allow_downcast=True)], x * 2)
    assert g(np.array([1.0])).dtype == np.float32
    i = T.ivector("i")
    h = theano.function([i], i + 1)
    with pytest.raises(DtypeError):
        h([1.5])
    with pytest.raises(DtypeError):
        h(np.array([1], dtype="int64"))


def test_strict_input():
    x = T.dvector("x")
    f = theano.function([In(x, strict=True)], x * 2)
    f(np.ones(2))
    with pytest.raises(DtypeError, match="float64"):
        f([1.0, 2.0])


def test_trust_input_skips_checks():
    x = T.dvector("x")
    f = theano.function([x], x * 2, trust_input=True)
    np.testing.assert_allclose(f(np.ones(2)), [2.0, 2.0])
    # nothing checks the argument: a matrix goes through unnoticed
    assert f(np.ones((2, 2))).shape == (2, 2)
    f.trust_input = False
    with pytest.raises(RankError):
        f(np.ones((2, 2)))


# -- compile-time checks ---------------------------------------------------------------
def test_on_unused_input_policies():
    x, y = T.dscalar("x"), T.dscalar("y")
    with pytest.raises(UnusedInputError, match=r"input 1 \(y\) is not used"):
        theano.function([x, y], x * 2)
    with pytest.warns(UserWarning, match=r"input 1 \(y\) is not used") as record:
        f = theano.function([x, y], x * 2, on_unused_input="warn")
    assert record[0].filename == __file__  # points at the caller
    assert float(f(1.0, 5.0)) == 2.0
    f = theano.function([x, y], x * 2, on_unused_input="ignore")
    assert float(f(1.0, 5.0)) == 2.0
    with pytest.raises(ValueError, match="on_unused_input must be"):
        theano.function([x], x, on_unused_input="sometimes")


def test_on_unused_input_from_config(monkeypatch):
    x, y = T.dscalar("x"), T.dscalar("y")
    monkeypatch.setattr(config, "on_unused_input", "ignore")
    theano.function([x, y], x * 2)


def test_missing_input_names_variable_and_site():
    x, y = T.dscalar("x"), T.dscalar("y")
    line = sys._getframe().f_lineno - 1
    with pytest.raises(MissingInputError) as info:
        theano.function([x], x + y)
    msg = str(info.value)
    assert "y" in msg and "read by add" in msg
    assert f'"{__file__}", line {line}' in msg
    assert "givens" in msg


def test_bad_inputs_are_refused():
    x = T.dscalar("x")
    s = theano.shared(1.0, name="s")
    with pytest.raises(TypeError, match="shared variable.*givens"):
        theano.function([s], s * 2)
    with pytest.raises(TypeError, match="constant"):
        theano.function([T.constant(1.0)], x)
    with pytest.raises(TypeError, match="computed by"):
        theano.function([x * 2], x)
    with pytest.raises(ValueError, match="listed twice"):
        theano.function([x, x], x)
    with pytest.raises(TypeError, match="list of variables"):
        theano.function(x, x)


def test_profile_argument():  # the profiler's own tests: tests/profiling/
    x = T.dscalar("x")
    f = theano.function([x], x * 2, profile=True)
    assert f(1.0) == 2.0 and f.profile.functions[0].calls == 1
    assert theano.function([x], x * 2).profile is None


def test_inplace_graphs_need_accept_inplace():
    x = T.dvector("x")
    add_inplace = Elemwise(SCALAR_OPS["add"], {0: 0})
    y = add_inplace(x * 1.0, x)
    with pytest.raises(TypeError, match="accept_inplace=True"):
        theano.function([x], y)
    f = theano.function([x], y, accept_inplace=True)
    np.testing.assert_allclose(f([1.0, 2.0]), [2.0, 4.0])


# -- aliasing --------------------------------------------------------------------------
def test_outputs_that_alias_inputs_are_copies():
    x = T.dvector("x")
    a = np.arange(3.0)
    out = theano.function([x], x)(a)
    assert not np.shares_memory(out, a)
    np.testing.assert_array_equal(out, a)
    out = theano.function([x], Out(x, borrow=True))(a)
    assert out is a
    m = T.dmatrix("m")
    b = np.ones((2, 3))
    assert not np.shares_memory(theano.function([m], m.T)(b), b)  # a view op


def test_outputs_that_alias_shared_values_or_each_other_are_copies():
    s = theano.shared(np.zeros(3), name="s")
    f = theano.function([], [s, s])
    first, second = f()
    assert not np.shares_memory(first, s.get_value(borrow=True))
    assert not np.shares_memory(first, second)
    first[:] = 5
    np.testing.assert_array_equal(s.get_value(), np.zeros(3))
    x = T.dvector("x")
    y = x * 2
    one, two = theano.function([x], [y, y])([1.0])
    assert not np.shares_memory(one, two)


def test_output_that_is_also_an_update_is_a_copy():
    s = theano.shared(np.zeros(2), name="s")
    new = s + 1
    f = theano.function([], new, updates=[(s, new)])
    out = f()
    out[:] = 100
    np.testing.assert_array_equal(s.get_value(), [1.0, 1.0])


# -- updates ---------------------------------------------------------------------------
@pytest.mark.parametrize("form", ["dict", "ordered", "list", "ordered_updates"])
def test_update_forms(form):
    s = theano.shared(np.float64(0.0), name="s")
    x = T.dscalar("x")
    pairs = [(s, s + x)]
    updates = {
        "dict": dict(pairs), "ordered": OrderedDict(pairs), "list": pairs,
        "ordered_updates": theano.OrderedUpdates(pairs),
    }[form]
    f = theano.function([x], s * 1.0, updates=updates)
    assert float(f(2.0)) == 0.0  # outputs see the old value
    assert float(f(3.0)) == 2.0
    assert float(s.get_value()) == 5.0


def test_updates_see_old_values_swap():
    a = theano.shared(np.array([1.0]), name="a")
    b = theano.shared(np.array([2.0]), name="b")
    swap = theano.function([], [], updates=[(a, b), (b, a)])
    swap()
    assert a.get_value()[0] == 2.0 and b.get_value()[0] == 1.0
    swap()
    assert a.get_value()[0] == 1.0 and b.get_value()[0] == 2.0
    assert not np.shares_memory(a.get_value(borrow=True), b.get_value(borrow=True))


def test_update_aliasing_another_shared_value_is_copied():
    a = theano.shared(np.zeros(2), name="a")
    b = theano.shared(np.ones(2), name="b")
    theano.function([], [], updates=[(a, b)])()
    assert not np.shares_memory(a.get_value(borrow=True), b.get_value(borrow=True))
    theano.function([], [], updates=[(a, b.T)])()
    assert not np.shares_memory(a.get_value(borrow=True), b.get_value(borrow=True))


def test_update_from_an_input_copies_unless_borrowed():
    s = theano.shared(np.zeros(2), name="s")
    x = T.dvector("x")
    arr = np.ones(2)
    theano.function([x], [], updates=[(s, x)])(arr)
    assert not np.shares_memory(s.get_value(borrow=True), arr)
    theano.function([In(x, borrow=True)], [], updates=[(s, x)])(arr)
    assert s.get_value(borrow=True) is arr


def test_update_errors_name_the_variable():
    s = theano.shared(np.zeros(2), name="weights")
    x = T.dvector("x")
    with pytest.raises(UpdateError, match="two different updates of shared variable "
                       "'weights'"):
        theano.function([x], x, updates=[(s, s + 1), (s, s + 2)])
    with pytest.raises(UpdateError, match="'weights' has type Tensor{float32"):
        theano.function([x], x, updates=[(s, T.cast(s, "float32"))])
    with pytest.raises(UpdateError, match="must target shared variables"):
        theano.function([x], x, updates=[(x, x + 1)])
    with pytest.raises(TypeError, match="no order"):
        theano.function([x], x, updates={(s, s + 1)})
    with pytest.raises(TypeError, match="pairs"):
        theano.function([x], x, updates=[(s, s + 1, 3)])
    clone = s.clone()
    with pytest.raises(UpdateError, match="share a container"):
        theano.function([x], x, updates=[(s, s + 1), (clone, clone * 2)])


def test_fgraph_update_mapping():
    x = T.dscalar("x")
    s = theano.shared(np.zeros(2), name="s")
    t = theano.shared(np.zeros(2), name="t")
    f = theano.function([x], x, updates=[(t, s), (s, s + 1)])
    fg = f.maker.fgraph
    assert fg.inputs[1].name == "s" and fg.inputs[2].name == "t"
    assert fg.update_mapping == {1: 2, 2: 1}


def test_update_of_unread_shared_variable_and_python_value():
    s = theano.shared(np.zeros(2), name="s")
    f = theano.function([], [], updates=[(s, np.ones(2))])
    f()
    np.testing.assert_array_equal(s.get_value(), [1.0, 1.0])
    s.get_value(borrow=True)[:] = 5.0  # must not write into the constant
    f()
    np.testing.assert_array_equal(s.get_value(), [1.0, 1.0])


def test_update_values_with_broadcastable_shape():
    s = theano.shared(np.zeros(1), name="s")
    f = theano.function([], [], updates=[(s, T.constant(np.array([3.0])))])
    f()
    assert s.get_value()[0] == 3.0


def test_default_updates_and_no_default_updates():
    counter = theano.shared(np.int64(0), name="counter")
    counter.default_update = counter + 1
    x = T.lscalar("x")
    f = theano.function([x], x + counter)
    assert int(f(10)) == 10 and int(f(10)) == 11
    assert int(counter.get_value()) == 2
    g = theano.function([x], x + counter, no_default_updates=True)
    g(0)
    h = theano.function([x], x + counter, no_default_updates=[counter])
    h(0)
    assert int(counter.get_value()) == 2
    # an explicit update wins over the default one
    k = theano.function([x], x + counter, updates=[(counter, counter + 10)])
    k(0)
    assert int(counter.get_value()) == 12


def test_default_update_reading_another_shared_variable():
    step = theano.shared(np.float64(2.0), name="step")
    step.default_update = step * 1.0
    pos = theano.shared(np.float64(0.0), name="pos")
    pos.default_update = pos + step
    f = theano.function([], pos)
    f()
    assert float(pos.get_value()) == 2.0


# -- givens ----------------------------------------------------------------------------
def test_givens_replace_an_input_by_a_shared_expression():
    s = theano.shared(np.array([1.0, 2.0]), name="s")
    x = T.dvector("x")
    f = theano.function([], x + 1, givens={x: s * 2})
    np.testing.assert_allclose(f(), [3.0, 5.0])
    s.set_value(np.array([10.0, 0.0]))
    np.testing.assert_allclose(f(), [21.0, 1.0])


def test_givens_forms_and_errors():
    x, y = T.dscalar("x"), T.dscalar("y")
    f = theano.function([y], x * y, givens=[(x, y + 1)])
    assert float(f(2.0)) == 6.0
    g = theano.function([], x * 2, givens={x: 1.5})  # a value becomes a constant
    assert float(g()) == 3.0
    with pytest.raises(TypeError, match="givens: x has type.*cast or reshape"):
        theano.function([], x * 2, givens={x: T.dvector()})
    with pytest.raises(TypeError, match="keys must be symbolic"):
        theano.function([], x * 2, givens={1.0: x})
    v = T.dvector("v")
    h = theano.function([], T.exp(v), givens={v: T.constant(np.array([0.0]))})
    np.testing.assert_allclose(h(), [1.0])


def test_givens_apply_to_updates():
    s = theano.shared(np.float64(1.0), name="s")
    x = T.dscalar("x")
    y = T.dscalar("y")
    f = theano.function([y], [], updates=[(s, s + x)], givens={x: y * 10})
    f(1.0)
    assert float(s.get_value()) == 11.0


# -- stateful inputs -------------------------------------------------------------------
def test_in_with_update_keeps_state():
    x, acc = T.dscalar("x"), T.dscalar("acc")
    f = theano.function([x, In(acc, value=0.0, update=acc + x)], acc + x)
    assert float(f(1.0)) == 1.0
    assert float(f(2.0)) == 3.0
    assert float(f["acc"]) == 3.0
    f["acc"] = 10.0
    assert float(f(1.0)) == 11.0
    assert float(f(1.0, 0.0)) == 1.0  # an explicit value is used once
    with pytest.raises(TypeError, match="needs a starting value"):
        theano.function([x, In(acc, update=acc + x)], acc)


def test_implicit_input():
    x, k = T.dscalar("x"), T.dscalar("k")
    f = theano.function([x, In(k, value=2.0, implicit=True)], x * k)
    assert float(f(3.0)) == 6.0
    with pytest.raises(TypeError, match="takes 1 argument, got 2"):
        f(3.0, 1.0)
    f[k] = 3.0
    assert float(f(3.0)) == 9.0
    assert float(f[1]) == 3.0
    with pytest.raises(KeyError, match="no input named 'nope'"):
        f["nope"]


# -- copy ------------------------------------------------------------------------------
def test_copy_has_independent_storage():
    x = T.dvector("x")
    f = theano.function([x], T.exp(x) * 2, mode=NO_REWRITES)
    g = f.copy()
    assert g.vm is not f.vm
    assert g.vm.program.cells is not f.vm.program.cells
    np.testing.assert_allclose(g([0.0]), [2.0])
    assert f.copy(share_memory=True).vm is f.vm
    assert f.copy(name="g").name == "g"


def test_copy_swap_and_delete_updates():
    a = theano.shared(np.float64(1.0), name="a")
    b = theano.shared(np.float64(100.0), name="b")
    f = theano.function([], a * 1.0, updates=[(a, a + 1)])
    g = f.copy(swap={a: b})
    assert float(g()) == 100.0
    assert float(b.get_value()) == 101.0 and float(a.get_value()) == 1.0
    h = f.copy(delete_updates=True)
    h()
    assert float(a.get_value()) == 1.0
    with pytest.raises(TypeError, match="has type"):
        f.copy(swap={a: theano.shared(np.zeros(2))})
    with pytest.raises(ValueError, match="not used"):
        f.copy(swap={b: a})


def test_copy_of_a_copy_keeps_swaps_and_deleted_updates():
    a = theano.shared(np.float64(1.0), name="a")
    b = theano.shared(np.float64(100.0), name="b")
    f = theano.function([], a * 1.0, updates=[(a, a + 1)])
    g = f.copy(swap={a: b}).copy()
    assert float(g()) == 100.0 and float(b.get_value()) == 101.0
    h = f.copy(delete_updates=True).copy()
    h()
    assert float(a.get_value()) == 1.0


# -- Variable.eval, modes --------------------------------------------------------------
@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE", None,
                                  theano.Mode(linker="c|py_nogc",
                                              optimizer="stabilize")])
def test_modes(mode):
    x = T.dvector("x")
    f = theano.function([x], T.exp(x) + 1, mode=mode)
    np.testing.assert_allclose(f([0.0, 1.0]), [2.0, np.e + 1])


def test_runtime_error_has_a_note_with_the_user_line():
    x, y = T.dvector("x"), T.dvector("y")
    line = sys._getframe().f_lineno + 1
    z = x + y
    f = theano.function([x, y], z)
    with pytest.raises(ValueError) as info:
        f(np.ones(2), np.ones(3))
    note = "\n".join(info.value.__notes__)
    assert "Apply node that caused the error: add(x, y)" in note
    assert "shape=(2,)" in note and "shape=(3,)" in note
    assert f'"{__file__}", line {line}' in note
    assert "HINT:" in note


def test_failed_call_applies_no_update():
    s = theano.shared(np.zeros(2), name="s")
    x = T.dvector("x")
    f = theano.function([x], [], updates=[(s, s + x)])
    with pytest.raises(ValueError):
        f(np.ones(3))
    np.testing.assert_array_equal(s.get_value(), [0.0, 0.0])


def test_10k_node_chain_builds_compiles_and_runs():
    # how long it takes is benchmarks' business (timings are noisy here)
    x = T.dvector("x")
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.5
    # without fusion every node stays a node: the VM runs 20,000 of them
    f = theano.function([x], y, mode=theano.Mode().excluding("fusion"))
    arg = np.zeros(1000)
    out = f(arg)
    expected = 0.0
    for _ in range(10_000):
        expected = expected * 1.0001 + 0.5
    np.testing.assert_allclose(out, expected, rtol=1e-9)
    assert len(f.vm.program.nodes) >= 20_000
    # GC mode: a few intermediates live at once, not 20,000 (160 MB)
    tracemalloc.start()
    try:
        f(arg)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * arg.nbytes, f"peak {peak / 1e3:.0f} kB"


def test_10k_node_chain_fuses_into_one_node_by_default():
    x = T.dvector("x")
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.5
    f = theano.function([x], y)
    assert len(f.maker.fgraph.apply_nodes) == 1
    expected = 0.0
    for _ in range(10_000):
        expected = expected * 1.0001 + 0.5
    np.testing.assert_allclose(f(np.zeros(10)), expected, rtol=1e-9)


def test_symarray_errors_share_a_base_class():
    assert issubclass(MissingInputError, SymarrayError)
    assert issubclass(UpdateError, SymarrayError)
