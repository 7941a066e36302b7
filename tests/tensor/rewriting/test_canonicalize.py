"""Tests of symarray.tensor.rewriting.canonicalize: elementwise algebra.

Each rewrite: a row that shows it fires (and what remains), results equal
to the unrewritten graph's, and tests where it must not fire.
"""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.mode import Mode
from symarray.errors import ShapeMismatchError
from symarray.graph import Constant
from symarray.tensor.rewriting.canonicalize import fill_value, known_nonnegative

FAST_RUN = Mode(linker="py", optimizer="fast_run")
CANONICALIZE = Mode(linker="py", optimizer="canonicalize")
UNSAFE = CANONICALIZE.including("unsafe")
NO_REWRITES = Mode(linker="py", optimizer=None)
RNG = np.random.default_rng(0)


def _ops(f):
    return [str(n.op) for n in f.maker.fgraph.toposort()]


def _value(var, shape=None):
    shape = shape or tuple(3 if s is None else s for s in var.type.shape)
    if np.dtype(var.dtype).kind in "iu":
        return RNG.integers(1, 5, size=shape).astype(var.dtype)
    return RNG.uniform(0.5, 2.0, size=shape).astype(var.dtype)


def _check(inputs, out, rewrite, unsafe=False, values=None, fires=True):
    """Check that ``rewrite`` fires (or not) and that results are unchanged.

    Returns the function rewritten up to the canonicalize phase (what later
    phases do, fusion for one, is not this module's business); the full
    FAST_RUN pipeline's results are compared too.
    """
    canon, fast = CANONICALIZE, FAST_RUN
    if unsafe:
        canon, fast = canon.including("unsafe"), fast.including("unsafe")
    f = sa.function(inputs, out, mode=canon)
    applied = f.maker.fgraph.rewrite_stats.applied(rewrite)
    assert (applied > 0) == fires, (rewrite, applied, _ops(f))
    values = values if values is not None else [_value(i) for i in inputs]
    want = sa.function(inputs, out, mode=NO_REWRITES)(*values)
    for got in (f(*values), sa.function(inputs, out, mode=fast)(*values)):
        assert got.dtype == want.dtype and got.shape == want.shape
        rtol = 1e-5 if got.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=rtol)
    return f


x64, y64 = T.dvector("x"), T.dvector("y")
x32, y32 = T.fvector("x"), T.fvector("y")
i32, j32 = T.ivector("i"), T.ivector("j")
i64 = T.lvector("i")
u8 = T.vector("u", dtype="uint8")

# (id, inputs, output, rewrite, ops left after rewriting)
ROWS = [
    ("x*1", [x64], x64 * 1, "local_mul_one", []),
    ("1*x f32", [x32], 1 * x32, "local_mul_one", []),
    ("x*1.0 int", [i32], i32 * np.float64(1), "local_mul_one", ["cast_float64"]),
    ("x+0", [x64], x64 + 0, "local_add_zero", []),
    ("0+x int64", [i64], 0 + i64, "local_add_zero", []),
    ("x-0", [x32], x32 - 0, "local_sub_zero", []),
    ("--x", [x64], T.neg(-x64), "local_neg_neg", []),
    ("--x int", [i32], T.neg(-i32), "local_neg_neg", []),
    ("x+(-y)", [x64, y64], x64 + (-y64), "local_add_neg_to_sub", ["sub"]),
    ("(-y)+x", [x32, y32], (-y32) + x32, "local_add_neg_to_sub", ["sub"]),
    ("x-(-y) int", [i32, j32], i32 - (-j32), "local_sub_neg_to_add", ["add"]),
    ("2*x*3", [x64], 2 * x64 * 3, "local_mul_constants", ["mul"]),
    ("2*x*3 f32", [x32], 2 * x32 * 3, "local_mul_constants", ["mul"]),
    ("2*(x*y)*3 int", [i32, j32], 2 * (i32 * j32) * 3, "local_mul_constants",
     ["mul", "mul"]),
    ("0.5*x*2", [x64], 0.5 * x64 * 2, "local_mul_constants", []),
    ("x+1+2", [x64], x64 + 1 + 2, "local_add_constants", ["add"]),
    ("x+1-1", [i64], (i64 + 1) + (-1), "local_add_constants", []),
    ("x/2", [x64], x64 / 2, "local_div_by_constant", ["mul"]),
    ("x/4 f32", [x32], x32 / 4, "local_div_by_constant", ["mul"]),
    ("int/2", [i32], i32 / 2, "local_div_by_constant", ["mul"]),
    ("(x*3)/3", [x64], (x64 * 3) / 3, "local_div_by_constant", []),
    ("log(exp(x))", [x64], T.log(T.exp(x64)), "local_log_exp", []),
    ("log(exp(int))", [i32], T.log(T.exp(i32)), "local_log_exp", ["cast_float64"]),
    ("exp(log(abs))", [x32], T.exp(T.log(abs(x32))), "local_exp_log", ["abs"]),
    ("exp(log(sqr))", [x64], T.exp(T.log(T.sqr(x64))), "local_exp_log", ["sqr"]),
    ("exp(log(uint))", [u8], T.exp(T.log(u8)), "local_exp_log", ["cast_float32"]),
    ("i-i", [i32], i32 - i32, "local_sub_self", ["Shape_i{i=0}", "Alloc"]),
    ("i*0", [i64], i64 * 0, "local_mul_zero", ["Shape_i{i=0}", "Alloc"]),
    ("0*i*j", [i32, j32], 0 * (i32 * j32), "local_mul_zero", None),
]


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_rewrite_fires_and_keeps_results(row):
    _, inputs, out, rewrite, left = row
    f = _check(inputs, out, rewrite)
    if left is not None:
        assert _ops(f) == left


def test_merged_constant_is_the_product():
    f = _check([x64], 2 * x64 * 3, "local_mul_constants")
    [node] = f.maker.fgraph.toposort()
    consts = [i for i in node.inputs if isinstance(i, Constant)]
    assert [c.data.item() for c in consts] == [6.0]


def test_integer_constants_wrap_like_the_chain():
    b = T.vector("b", dtype="int8")
    out = b * 100 * 100  # wraps in int8 either way: 10000 = 16 (mod 256)
    f = _check([b], out, "local_mul_constants",
               values=[np.array([1, 3, -7], dtype="int8")])
    assert f.maker.fgraph.outputs[0].dtype == "int8"


def test_dropped_operand_that_broadcasts_gives_an_alloc():
    z = T.dvector("z", shape=(1,))
    out = z * np.ones(3)  # z is broadcast from (1,) to (3,) by the ones
    f = _check([z], out, "local_mul_one", values=[np.array([2.0])])
    assert _ops(f) == ["Alloc"] and f(np.array([2.0])).shape == (3,)
    # a length that is not static: the alloc still checks it
    g = _check([x64], x64 + np.zeros(3), "local_add_zero")
    assert _ops(g) == ["Alloc"]
    with pytest.raises(ShapeMismatchError):
        g(np.ones(2))


def test_dropping_a_computed_identity_saves_the_work():
    m = T.dmatrix("m")
    s = T.dscalar("s")
    f = _check([s, m], s * T.ones_like(m), "local_mul_one",
               values=[np.float64(2.0), np.ones((2, 3))])
    assert sorted(_ops(f)) == ["Alloc", "DimShuffle{x,x}", "Shape_i{i=0}",
                               "Shape_i{i=1}"]
    r = T.row("r", dtype="float64")
    g = sa.function([r, m], r * T.ones_like(m), mode=CANONICALIZE)
    # both lengths of dimension 1 are unknown: the mul's check must stay
    assert "mul" in _ops(g)
    with pytest.raises(ShapeMismatchError):
        g(np.ones((1, 2)), np.ones((2, 3)))


def test_a_broadcasting_constant_of_unknown_effect_stays():
    m = T.dmatrix("m")
    out = m * np.ones((1, 3))  # m's rows unknown: needs Shape_i just to drop it
    f = _check([m], out, "local_mul_one", fires=False, values=[np.ones((2, 3))])
    assert _ops(f) == ["mul"]


def test_flattening_stops_at_shared_subexpressions():
    inner = x64 * 2
    out = [inner * 3, inner + 1]  # inner is read twice: not multiplied out
    f = sa.function([x64], out, mode=CANONICALIZE)
    assert f.maker.fgraph.rewrite_stats.applied("local_mul_constants") == 0
    assert _ops(f).count("mul") == 2


def test_chain_of_other_dtype_is_not_flattened():
    b = T.vector("b", dtype="int8")
    out = (b * np.int8(2)) * np.int64(3)  # the inner mul is int8, the outer int64
    f = _check([b], out, "local_mul_constants", fires=False,
               values=[np.array([100, 1, -3], dtype="int8")])
    assert f.maker.fgraph.outputs[0].dtype == "int64"


@pytest.mark.parametrize("divisor", [0.0, np.inf, 1e-320])
def test_division_by_a_constant_without_finite_reciprocal_stays(divisor):
    out = x64 / divisor
    with np.errstate(all="ignore"):
        f = _check([x64], out, "local_div_by_constant", fires=False,
                   values=[np.array([1.0, 2.0, 3.0])])
    assert _ops(f) == ["true_div"]


def test_log_exp_is_more_accurate_where_exp_overflows():
    f = sa.function([x64], T.log(T.exp(x64)), mode=FAST_RUN)
    np.testing.assert_array_equal(f(np.array([1000.0, -1000.0])), [1000.0, -1000.0])


def test_log_exp_of_complex_is_not_rewritten():
    z = T.zvector("z")
    _check([z], T.log(T.exp(z)), "local_log_exp", fires=False,
           values=[np.array([1 + 4j, 0.5 - 3.5j])])


# -- the policy for rewrites that change inf/NaN results ------------------------------


@pytest.mark.parametrize("build, rewrite", [
    (lambda x: x - x, "local_sub_self"),
    (lambda x: x * 0, "local_mul_zero"),
    (lambda x: x / x, "local_div_self_unsafe"),
    (lambda x: T.exp(T.log(x)), "local_exp_log"),
], ids=["x-x", "x*0", "x/x", "exp(log(x))"])
def test_float_rewrites_that_change_nan_are_off_by_default(build, rewrite):
    out = build(x64)
    values = [np.array([np.inf, -1.0, 0.0, np.nan, 2.0])]
    with np.errstate(all="ignore"):
        f = _check([x64], out, rewrite, values=values, fires=False)
        want = f(*values)
        unsafe = sa.function([x64], out, mode=UNSAFE)
        got = unsafe(*values)
    fired = [n for n in unsafe.maker.fgraph.rewrite_stats.rewriters
             if n.endswith("_unsafe")
             and unsafe.maker.fgraph.rewrite_stats.applied(n)]
    assert fired, "the unsafe variant must fire when included"
    assert np.isnan(want).any() and not np.isnan(got).all()
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite])


def test_unsafe_rewrites_by_name():
    mode = FAST_RUN.including("local_mul_zero_unsafe")
    f = sa.function([x64], x64 * 0, mode=mode)
    assert f.maker.fgraph.rewrite_stats.applied("local_mul_zero_unsafe") == 1
    np.testing.assert_array_equal(f(np.array([np.inf, 1.0])), [0.0, 0.0])


def test_unsafe_cancels_common_factors():
    f = _check([x64, y64], (x64 * y64) / x64, "local_div_self_unsafe", unsafe=True,
               fires=False)
    assert _ops(f) == ["mul", "true_div"]  # x, y lengths unknown: the check stays
    e = T.exp(x64)
    g = _check([x64], (e * T.sin(x64)) / e, "local_div_self_unsafe", unsafe=True)
    assert "exp" not in _ops(g) and "true_div" not in _ops(g)


def test_zeros_keep_dtype_and_broadcast_shape():
    m = T.imatrix("m")
    c = T.icol("c")
    out = (m * c) * 0  # shape of the broadcast, int32
    f = _check([m, c], out, "local_mul_zero",
               values=[np.ones((2, 3), "int32"), np.ones((2, 1), "int32")])
    result = f(np.ones((4, 3), "int32"), np.ones((4, 1), "int32"))
    assert result.shape == (4, 3) and result.dtype == np.int32


def test_zeros_do_not_drop_a_broadcast_check():
    m = T.imatrix("m")
    out = m * np.zeros((1, 3), dtype="int32")  # m must have 3 (or 1) columns
    f = _check([m], out, "local_mul_zero", fires=False,
               values=[np.ones((2, 3), "int32")])
    with pytest.raises(ShapeMismatchError):
        f(np.ones((2, 2), "int32"))
    g = _check([i32, j32], i32 - j32, "local_sub_self", fires=False)
    assert _ops(g) == ["sub"]


def test_bool_mul_by_false_gives_false():
    b = T.vector("b", dtype="bool")
    f = _check([b], b * np.bool_(False), "local_mul_zero",
               values=[np.array([True, False])])
    assert f(np.array([True, True])).dtype == np.bool_


def test_exp_log_stays_for_possibly_negative_inputs():
    for x in (x64, T.sin(x64), x64 - 1):
        f = sa.function([x64], T.exp(T.log(x)), mode=FAST_RUN)
        assert f.maker.fgraph.rewrite_stats.applied("local_exp_log") == 0



# -- an alloc operand of + - * / becomes its value ---------------------------------

m64 = T.dmatrix("m")
s64 = T.dscalar("s")
ALLOC = "local_arith_alloc_to_value"

# (id, inputs, output, ops left after canonicalize)
ALLOC_ROWS = [
    ("alloc(s)*x", [s64, x64], T.alloc(s64, x64.shape[0]) * x64,
     ["DimShuffle{x}", "mul"]),
    ("x*alloc(3)", [x64], x64 * T.alloc(np.float64(3), x64.shape[0]), ["mul"]),
    ("alloc(s)+m", [s64, m64], T.alloc(s64, *m64.shape) + m64,
     ["DimShuffle{x,x}", "add"]),
    ("m-alloc(s)", [s64, m64], m64 - T.alloc(s64, *m64.shape),
     ["DimShuffle{x,x}", "sub"]),
    ("alloc(s)-m", [s64, m64], T.alloc(s64, *m64.shape) - m64,
     ["DimShuffle{x,x}", "sub"]),
    ("m/alloc(s)", [s64, m64], m64 / T.alloc(s64, *m64.shape),
     ["DimShuffle{x,x}", "true_div"]),
    ("alloc(s)/m", [s64, m64], T.alloc(s64, *m64.shape) / m64,
     ["DimShuffle{x,x}", "true_div"]),
    # a length-1 alloc dimension broadcasts like the value does
    ("m*alloc(s,1,n)", [s64, m64], m64 * T.alloc(s64, 1, m64.shape[1]),
     ["DimShuffle{x,x}", "mul"]),
    # the shape of an elementwise result: the same lengths, provably
    ("alloc(s, shape(m*2))*m", [s64, m64], T.alloc(s64, *(m64 * 2).shape) * m64,
     ["DimShuffle{x,x}", "mul"]),
    # dtypes: the alloc's (a Python float is float64 there) is kept
    ("alloc(2.0)*f32", [x32], T.alloc(2.0, x32.shape[0]) * x32, ["mul"]),
    ("alloc(f32)*f64", [x64], T.alloc(np.float32(0.5), x64.shape[0]) * x64,
     ["mul"]),
    ("int/alloc(int)", [i32], i32 / T.alloc(np.int32(3), i32.shape[0]),
     None),
]


@pytest.mark.parametrize("row", ALLOC_ROWS, ids=[r[0] for r in ALLOC_ROWS])
def test_alloc_operand_becomes_its_value(row):
    _, inputs, out, left = row
    f = _check(inputs, out, ALLOC)
    assert "Alloc" not in _ops(f)
    if left is not None:
        assert _ops(f) == left
    assert f.maker.fgraph.outputs[0].type == out.type


# (id, inputs, output, values) where the alloc's lengths are not provably x's
ALLOC_STAYS = [
    # another vector's length: x could be broadcast (length 1) at run time
    ("other length", [s64, x64, y64], T.alloc(s64, y64.shape[0]) * x64,
     [np.float64(2.0), np.ones(1), np.ones(3)]),
    # a static length the operand does not know (it could have 1 column)
    ("static length", [m64], T.alloc(np.arange(3.0), *m64.shape) + m64,
     [np.ones((2, 3))]),
    # the operand broadcasts against the alloc
    ("operand broadcast", [s64, x64], T.alloc(s64, 4, x64.shape[0]) * x64,
     [np.float64(2.0), np.ones(3)]),
]


@pytest.mark.parametrize("row", ALLOC_STAYS, ids=[r[0] for r in ALLOC_STAYS])
def test_alloc_operand_stays_when_lengths_are_not_provably_equal(row):
    _, inputs, out, values = row
    f = _check(inputs, out, ALLOC, fires=False, values=values)
    assert "Alloc" in _ops(f)


def test_alloc_of_an_identity_disappears():
    # x + alloc(0, *shape(x)) -> x: local_add_zero / local_mul_one see
    # through the alloc, before this rewrite and without it
    for out in (x64 + T.alloc(np.float64(0), x64.shape[0]),
                x64 * T.alloc(np.float64(1), x64.shape[0])):
        for mode in (CANONICALIZE, CANONICALIZE.excluding(ALLOC)):
            f = sa.function([x64], out, mode=mode)
            assert _ops(f) == [], _ops(f)


def test_alloc_operand_keeps_the_run_time_length_check():
    n = T.lscalar("n")
    out = T.alloc(s64, n) * x64  # n unrelated to x's length: the node checks
    f = sa.function([s64, n, x64], out, mode=CANONICALIZE)
    assert f.maker.fgraph.rewrite_stats.applied(ALLOC) == 0
    with pytest.raises(ShapeMismatchError):
        f(2.0, 4, np.ones(3))


def test_alloc_operand_is_exact_for_inf_and_nan():
    values = [np.float64(np.inf), np.array([0.0, np.inf, -np.inf, np.nan, 2.0])]
    for out in (T.alloc(s64, x64.shape[0]) * x64, x64 - T.alloc(s64, x64.shape[0]),
                T.alloc(s64, x64.shape[0]) / x64):
        with np.errstate(all="ignore"):
            f = _check([s64, x64], out, ALLOC, values=values)
            want = sa.function([s64, x64], out, mode=NO_REWRITES)(*values)
            np.testing.assert_array_equal(f(*values), want)


w64 = T.dmatrix("w")

# (id, inputs, their shapes, gradient, modes where this rewrite removes its
# alloc: in FAST_RUN an alloc of 1 goes by local_mul_one first) of common losses
LOSS_GRADS = [
    ("mean((m-w)**2)", [m64, w64], [(5, 4), (5, 4)],
     lambda: T.grad(T.mean((m64 - w64) ** 2), m64), {"fast_run", "fast_compile"}),
    ("sum((m-w)**2)", [m64, w64], [(5, 4), (5, 4)],
     lambda: T.grad(T.sum((m64 - w64) ** 2), m64), {"fast_compile"}),
    ("0.5*sum(w**2)", [w64], [(5, 4)],
     lambda: T.grad(0.5 * T.sum(w64 ** 2), w64), {"fast_run", "fast_compile"}),
    ("sum(tanh(w)*w)", [w64], [(5, 4)],
     lambda: T.grad(T.sum(T.tanh(w64) * w64), w64), {"fast_compile"}),
    ("mean((X@x-y)**2)", [m64, x64, y64], [(5, 4), (4,), (5,)],
     lambda: T.grad(T.mean((T.dot(m64, x64) - y64) ** 2), x64),
     {"fast_run", "fast_compile"}),
]


@pytest.mark.parametrize("mode_name", ["fast_run", "fast_compile"])
@pytest.mark.parametrize("row", LOSS_GRADS, ids=[r[0] for r in LOSS_GRADS])
def test_loss_gradients_lose_their_alloc(row, mode_name):
    _, inputs, shapes, build, ours = row
    grad = build()
    mode = Mode(linker="py", optimizer=mode_name)
    f = sa.function(inputs, grad, mode=mode)
    without = sa.function(inputs, grad, mode=mode.excluding(ALLOC))
    assert "Alloc" not in _ops(f)
    n = len(f.maker.fgraph.apply_nodes)
    n_without = len(without.maker.fgraph.apply_nodes)
    if mode_name in ours:
        assert f.maker.fgraph.rewrite_stats.applied(ALLOC) >= 1
        assert "Alloc" in _ops(without) and n < n_without
    else:
        assert n == n_without
    values = [_value(i, shape) for i, shape in zip(inputs, shapes, strict=True)]
    np.testing.assert_allclose(f(*values), without(*values), rtol=1e-12)


def test_gradient_of_a_product_of_two_inputs_keeps_its_alloc():
    # sum(m * w) w.r.t. w: the alloc has the shape of m * w, which is not
    # provably m's (m may have one row at run time, broadcast against w)
    grad = T.grad(T.sum(m64 * w64), w64)
    f = sa.function([m64, w64], grad, mode=FAST_RUN)
    assert f.maker.fgraph.rewrite_stats.applied(ALLOC) == 0
    got = f(np.full((1, 3), 2.0), np.ones((4, 3)))
    np.testing.assert_array_equal(got, np.full((4, 3), 2.0))

def test_helpers():
    assert float(fill_value(T.alloc(np.float32(2), 3))) == 2.0
    assert float(fill_value(T.constant(np.full((2, 2), 7.0)))) == 7.0
    assert fill_value(T.constant(np.arange(3.0))) is None
    assert fill_value(x64) is None
    assert int(fill_value(T.cast(T.constant(np.full(3, 2.7)), "int32"))) == 2
    assert known_nonnegative(T.exp(x64)) and known_nonnegative(abs(x64))
    assert known_nonnegative(T.vector("u", dtype="uint16"))
    assert not known_nonnegative(x64) and not known_nonnegative(T.sin(x64))


def test_fast_compile_runs_the_cheap_identities_only():
    fc = Mode(linker="py", optimizer="fast_compile")
    f = sa.function([x64], [T.neg(-x64) * 1, 2 * x64 * 3], mode=fc)
    stats = f.maker.fgraph.rewrite_stats
    assert stats.applied("local_neg_neg") == 1 and stats.applied("local_mul_one") == 1
    assert stats.applied("local_mul_constants") == 0
