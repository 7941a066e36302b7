"""Property tests of the canonicalize and shape rewrites (hypothesis).

Random small programs built from the patterns these rewrites target
(``x*1``, ``--x``, ``x+(-y)``, ``2*x*3``, ``x/c``, ``log(exp(x))``,
transposes, sums of sums, reshapes...) mixed with ordinary elementwise ops,
over a vector and a matrix that broadcast against each other:

* FAST_RUN results equal the unrewritten ones within tolerance wherever the
  unrewritten result is finite (where it is not, a rewrite may give a
  finite value: ``log(exp(x))`` is ``x`` even where ``exp`` overflows);
* rewriting terminates without a rewriter hitting its application cap;
* the function computing ``out.shape`` computes no array values (only
  integers and the booleans of broadcast tests).

and random ``x op alloc(c, *shape(x))`` (``+ - * /``, either side, constant,
weak, scalar or row ``c`` of any dtype, x of rank 1-3 whose lengths may be
1, values with zeros, inf and NaN): no ``+ - * /`` node reads an alloc after
canonicalize, and the results are those of the graph as written, bit for bit.
"""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.mode import Mode
from symarray.errors import RewriteLimitWarning

FAST_RUN = Mode(linker="py", optimizer="fast_run")
NO_REWRITES = Mode(linker="py", optimizer=None)


def _unary(name, v, c):
    dt = v.dtype
    one, zero = np.asarray(1, dt), np.asarray(0, dt)
    return {
        "mul1": lambda: v * one, "one_mul": lambda: 1 * v, "add0": lambda: v + zero,
        "sub0": lambda: v - 0, "negneg": lambda: T.neg(-v), "neg": lambda: -v,
        "log_exp": lambda: T.log(T.exp(v)), "exp_log_abs": lambda: T.exp(T.log(abs(v))),
        "tanh": lambda: T.tanh(v), "sin": lambda: T.sin(v),
        "scale": lambda: c * v * (c + 1), "div": lambda: v / (c + 4),
        "TT": lambda: v.T.T, "ones3": lambda: v * np.ones(3, dt),
        "sum_sum": lambda: T.sum(T.sum(v, axis=-1)) if v.ndim else v + 1,
        "reflat": lambda: T.flatten(v).reshape(v.shape) if v.ndim else -v,
    }[name]()


def _binary(name, a, b):
    return {
        "add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
        "add_neg": lambda: a + (-b), "sub_neg": lambda: a - (-b),
        "neg_add": lambda: (-a) + b, "div": lambda: a / (abs(b) + 1),
        "sub_self": lambda: a - a,
    }[name]()


UNARY = ["mul1", "one_mul", "add0", "sub0", "negneg", "neg", "log_exp",
         "exp_log_abs", "tanh", "sin", "scale", "div", "TT", "ones3", "sum_sum",
         "reflat"]
BINARY = ["add", "sub", "mul", "add_neg", "sub_neg", "neg_add", "div", "sub_self"]

_row = st.lists(st.floats(-2.0, 2.0, width=32), min_size=3, max_size=3)


@st.composite
def programs(draw):
    dtype = draw(st.sampled_from(["float32", "float64"]))
    steps = []
    for k in range(draw(st.integers(1, 10))):
        pool = 2 + k
        if draw(st.booleans()):
            steps.append((draw(st.sampled_from(UNARY)),
                          (draw(st.integers(0, pool - 1)),),
                          draw(st.sampled_from([-2.0, 0.5, 1.0, 3.0]))))
        else:
            steps.append((draw(st.sampled_from(BINARY)),
                          (draw(st.integers(0, pool - 1)),
                           draw(st.integers(0, pool - 1))), None))
    outputs = draw(st.lists(st.integers(2, 1 + len(steps)), min_size=1, max_size=2))
    return dtype, steps, outputs


def _build(dtype, steps, outputs):
    x = T.vector("x", dtype=dtype)
    y = T.matrix("y", dtype=dtype)
    pool = [x, y]
    for name, args, c in steps:
        if len(args) == 1:
            pool.append(_unary(name, pool[args[0]], c))
        else:
            pool.append(_binary(name, pool[args[0]], pool[args[1]]))
    return [x, y], [pool[k] for k in outputs]


def _compile(inputs, outs, mode):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RewriteLimitWarning)
        return sa.function(inputs, outs, mode=mode, on_unused_input="ignore")


@given(programs(), _row, st.lists(_row, min_size=2, max_size=2))
def test_fast_run_keeps_finite_results(program, x_value, y_value):
    dtype = program[0]
    inputs, outs = _build(*program)
    xv, yv = np.asarray(x_value, dtype), np.asarray(y_value, dtype)
    with np.errstate(all="ignore"):
        got = _compile(inputs, outs, FAST_RUN)(xv, yv)
        want = _compile(inputs, outs, NO_REWRITES)(xv, yv)
    rtol = 2e-3 if dtype == "float32" else 1e-9
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        finite = np.isfinite(w)
        scale = max(1.0, float(np.max(np.abs(w[finite]), initial=0.0)))
        np.testing.assert_allclose(g[finite], w[finite], rtol=rtol, atol=rtol * scale)
        # a non-finite result stays what it was, or becomes finite (stability)
        same = (g == w) | (np.isnan(g) & np.isnan(w)) | np.isfinite(g)
        assert same[~finite].all()


@given(programs())
def test_shapes_are_computed_without_values(program):
    dtype = program[0]
    inputs, outs = _build(*program)
    shapes = [o.shape for o in outs]
    f = _compile(inputs, shapes, FAST_RUN)
    for node in f.maker.fgraph.apply_nodes:
        for out in node.outputs:
            assert np.dtype(out.dtype).kind in "biu", (
                f"{node} computes {out.dtype} values for a shape"
            )
    xv, yv = np.ones(3, dtype), np.ones((2, 3), dtype)
    values = _compile(inputs, outs, NO_REWRITES)(xv, yv)
    with np.errstate(all="ignore"):
        got = f(xv, yv)
    for shape, value in zip(got, values, strict=True):
        assert tuple(shape) == np.shape(value)


# -- local_arith_alloc_to_value: x op alloc(c, *shape(x)) -> x op c -----------------

CANONICALIZE = Mode(linker="py", optimizer="canonicalize")
ALLOC = "local_arith_alloc_to_value"
#: canonicalize without the rewrites that change rounding
EXACT = CANONICALIZE.excluding("local_div_by_constant", "local_mul_constants",
                               "local_add_constants")
_ARITH = {"add": T.add, "sub": T.sub, "mul": T.mul, "true_div": T.true_div}
#: values with the cases an exact rewrite must keep: zeros, inf, NaN
_SPECIAL = np.array([0.0, 1.0, -2.5, 3.0, np.inf, -np.inf, np.nan])


@st.composite
def alloc_programs(draw):
    x_dtype = draw(st.sampled_from(["float32", "float64", "int32"]))
    c_kind = draw(st.sampled_from(["const", "weak", "scalar", "row"]))
    c_dtype = draw(st.sampled_from([x_dtype, "float64", "float32", "int32"]))
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    # the alloc's lengths: x's, those of an elementwise result of x (the
    # same, provably), or 1 where the alloc broadcasts like its value
    lengths = [draw(st.sampled_from(["x", "x2", "one"])) for _ in range(ndim)]
    if c_kind == "row":
        lengths[-1] = "x"
    return (x_dtype, c_kind, c_dtype, shape, lengths,
            draw(st.sampled_from(sorted(_ARITH))), draw(st.booleans()),
            draw(st.integers(0, 2**16)))


def _alloc_graph(x_dtype, c_kind, c_dtype, shape, lengths, op, alloc_left):
    x = T.TensorType(x_dtype, shape=(None,) * len(shape))("x")
    inputs = [x]
    if c_kind == "const":
        c = T.constant(np.asarray(2.5 if c_dtype[0] == "f" else 3, dtype=c_dtype))
    elif c_kind == "weak":
        c = T.as_tensor_variable(2.5)
    elif c_kind == "scalar":
        c = T.scalar("c", dtype=c_dtype)
        inputs.append(c)
    else:
        c = T.vector("c", dtype=c_dtype)
        inputs.append(c)
    ref = {"x": x.shape, "x2": (x * 2).shape}
    dims = [1 if how == "one" else ref[how][d] for d, how in enumerate(lengths)]
    a = T.alloc(c, *dims)
    out = _ARITH[op](a, x) if alloc_left else _ARITH[op](x, a)
    return inputs, out


def _arith_reads_alloc(f) -> bool:
    return any(
        getattr(getattr(n.op, "scalar_op", None), "name", None) in _ARITH
        and any(i.owner is not None and type(i.owner.op).__name__ == "Alloc"
                for i in n.inputs)
        for n in f.maker.fgraph.apply_nodes)


@settings(max_examples=100, deadline=None)
@given(alloc_programs())
# a weak Python float: the alloc made it float64, and so must the rewrite
@example(("float32", "weak", "float64", (3,), ["x"], "mul", True, 0))
# x / alloc(2.5): then x / 2.5 -> x * 0.4 rounds differently (CANONICALIZE)
@example(("float64", "const", "float64", (2, 3), ["x2", "one"], "true_div", False, 1))
def test_alloc_operand_to_value_is_exact(program):
    *graph, seed = program
    inputs, out = _alloc_graph(*graph)
    rng = np.random.default_rng(seed)
    values = []
    for v, n in zip(inputs, [graph[3], graph[3][-1:]], strict=False):
        shape = n if v.ndim else ()
        pick = rng.choice(_SPECIAL, size=shape)
        if np.dtype(v.dtype).kind == "i":
            pick = np.nan_to_num(pick, nan=0.0, posinf=7, neginf=-7)
        values.append(np.asarray(pick, dtype=v.dtype))
    for mode in (CANONICALIZE, EXACT):
        f = _compile(inputs, [out], mode)
        assert not _arith_reads_alloc(f), [str(n.op) for n in f.maker.fgraph.toposort()]
        assert f.maker.fgraph.outputs[0].type == out.type
    with np.errstate(all="ignore"):
        want = _compile(inputs, [out], NO_REWRITES)(*values)[0]
        exact = f(*values)[0]
        got = _compile(inputs, [out], CANONICALIZE)(*values)[0]
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(exact, want)  # bit for bit, inf and NaN too
    # the other canonicalize rewrites may round differently (x/c -> x*(1/c))
    rtol = 1e-6 if want.dtype == np.float32 else 1e-15
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0, equal_nan=True)
