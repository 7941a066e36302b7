"""The Scan op built directly: layout, perform semantics, types, shapes, folding."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T
from symarray.control.scan import Scan, ScanInfo
from symarray.errors import DtypeError
from tests.op_checks import check_infer_shape

LINKERS = ("py", "cvm", "cvm_nogc")


def _run(inputs, outputs, values, linker):
    return sa.function(inputs, outputs, mode=sa.Mode(linker=linker),
                       on_unused_input="ignore")(*values)


def _op_taps():
    """y[t] = x[t-1] + x[t+1] + 10 * y[t-2] - y[t-1];  z[t] = y[t] * w  (nit_sot)."""
    xm1, xp1 = T.dscalar("x[t-1]"), T.dscalar("x[t+1]")
    ym2, ym1 = T.dscalar("y[t-2]"), T.dscalar("y[t-1]")
    w = T.dscalar("w")
    y = xm1 + xp1 + 10 * ym2 - ym1
    info = ScanInfo(seq_taps=((-1, 1),), state_taps=((-2, -1),), n_nit_sot=1,
                    n_shared=0, n_non_seqs=1, as_while=False, name="taps")
    return Scan(info, [xm1, xp1, ym2, ym1, w], [y, y * w])


def _reference_taps(n, x, init, w):
    y = list(init)
    zs = []
    for t in range(n):
        new = x[t] + x[t + 2] + 10 * y[-2] - y[-1]
        y.append(new)
        zs.append(new * w)
    return np.array(y[2:]), np.array(zs)


@pytest.mark.parametrize("linker", LINKERS)
@pytest.mark.parametrize("n", [0, 1, 5])
def test_perform_taps_layout(linker, n):
    op = _op_taps()
    ns, x, init, w = T.lscalar("n"), T.dvector("x"), T.dvector("init"), T.dscalar("w")
    ys, zs = op(ns, x, init, w)
    xv, initv = np.arange(1.0, 9.0), np.array([0.5, -1.0])
    got = _run([ns, x, init, w], [ys, zs], [n, xv, initv, 3.0], linker)
    expected = _reference_taps(n, xv, initv, 3.0)
    for g, e in zip(got, expected, strict=True):
        assert g.shape == (n,)
        np.testing.assert_allclose(g, e)


@pytest.mark.parametrize("linker", LINKERS)
def test_perform_until_and_shared(linker):
    # s[t] = s[t-1] * 2 until s > limit; counter (shared slot) += 1 each step
    sm1, cnt, lim = T.dscalar("s"), T.lscalar("cnt"), T.dscalar("lim")
    new = sm1 * 2
    info = ScanInfo(seq_taps=(), state_taps=((-1,),), n_nit_sot=0, n_shared=1,
                    n_non_seqs=1, as_while=True)
    op = Scan(info, [sm1, cnt, lim], [new, cnt + 1, T.gt(new, lim)])
    s0, c0, limit = T.dvector("s0"), T.lscalar("c0"), T.dscalar("limit")
    trace, final = op(100, s0, c0, limit)
    got_trace, got_final = _run([s0, c0, limit], [trace, final],
                                [np.array([1.0]), 5, 20.0], linker)
    np.testing.assert_allclose(got_trace, [2.0, 4.0, 8.0, 16.0, 32.0])
    assert int(got_final) == 10


@pytest.mark.parametrize("linker", LINKERS)
def test_zero_steps(linker):
    h = T.dvector("h")
    info = ScanInfo(seq_taps=(), state_taps=((-1,),), n_nit_sot=1, n_shared=0,
                    n_non_seqs=0, as_while=False)
    op = Scan(info, [h], [h + 1, h.sum()])
    init = T.dmatrix("init")
    tr, nit = op(0, init)
    got_tr, got_nit = _run([init], [tr, nit], [np.ones((1, 3))], linker)
    assert got_tr.shape == (0, 3) and got_nit.shape == (0,)


@pytest.mark.parametrize("step, match", [
    (lambda x: T.cast(x, "float32"), "changes dtype.*T.cast"),
    (lambda x: T.stack([x, x]), "changes rank"),
])
def test_inner_type_errors(step, match):
    x = T.dscalar()
    info = ScanInfo(seq_taps=(), state_taps=((-1,),), n_nit_sot=0, n_shared=0,
                    n_non_seqs=0, as_while=False)
    with pytest.raises(TypeError, match=match):
        Scan(info, [x], [step(x)])


def test_dtype_error_class():
    x = T.dscalar()
    info = ScanInfo(seq_taps=(), state_taps=((-1,),), n_nit_sot=0, n_shared=0,
                    n_non_seqs=0, as_while=False)
    with pytest.raises(DtypeError, match="float32"):
        Scan(info, [x], [T.cast(x, "float32")])


def test_condition_must_be_scalar():
    x = T.dvector()
    info = ScanInfo(seq_taps=(), state_taps=((-1,),), n_nit_sot=0, n_shared=0,
                    n_non_seqs=0, as_while=True)
    with pytest.raises(TypeError, match="scalar"):
        Scan(info, [x], [x, T.gt(x, 0)])


@pytest.mark.parametrize("kwargs, match", [
    (dict(seq_taps=((0, -1),)), "sorted"),
    (dict(state_taps=((0,),)), "negative"),
    (dict(n_nit_sot=-1), "n_nit_sot"),
])
def test_info_validation(kwargs, match):
    base = dict(seq_taps=(), state_taps=(), n_nit_sot=0, n_shared=0, n_non_seqs=0,
                as_while=False)
    base.update(kwargs)
    with pytest.raises(ValueError, match=match):
        ScanInfo(**base)


def test_info_counts_and_hash():
    info = ScanInfo(seq_taps=((0,), (-2, 0, 1)), state_taps=((-1,), (-3, -1)),
                    n_nit_sot=2, n_shared=1, n_non_seqs=3, as_while=True)
    counts = (info.n_seqs, info.n_states, info.mintap(1), info.seq_span(1))
    assert counts == (2, 2, 3, 3)
    assert info.n_inner_inputs == 4 + 3 + 1 + 3
    assert info.n_inner_outputs == 2 + 2 + 1 + 1
    assert info.n_outer_inputs == 1 + 2 + 2 + 1 + 3
    assert info.n_outer_outputs == 2 + 2 + 1
    same = ScanInfo(**info.__dict__)
    assert hash(info) == hash(same) and info == same


def test_make_node_checks():
    x = T.dscalar("x")
    info = ScanInfo(seq_taps=((0,),), state_taps=(), n_nit_sot=1, n_shared=0,
                    n_non_seqs=0, as_while=False)
    op = Scan(info, [x], [x * 2])
    with pytest.raises(TypeError, match="expected 2 inputs"):
        op(3)
    with pytest.raises(TypeError, match="one more dimension"):
        op(3, T.dmatrix())
    with pytest.raises(DtypeError, match="T.cast"):
        op(3, T.fvector())
    with pytest.raises(TypeError, match="n_steps must be a scalar integer"):
        op(T.dscalar(), T.dvector())
    out = op(T.iscalar(), T.dvector())
    assert out.owner.inputs[0].dtype == "int64"
    assert str(op) == "scan" and out.type == T.TensorType("float64", shape=(None,))


@pytest.mark.parametrize("linker", LINKERS)
def test_runtime_errors(linker):
    x = T.dscalar("x")
    info = ScanInfo(seq_taps=((-1, 1),), state_taps=(), n_nit_sot=1, n_shared=0,
                    n_non_seqs=0, as_while=False, name="short")
    y = T.dscalar()
    op = Scan(info, [x, y], [x + y])
    n, seq = T.lscalar("n"), T.dvector("seq")
    f = sa.function([n, seq], op(n, seq), mode=sa.Mode(linker=linker))
    np.testing.assert_allclose(f(2, np.arange(4.0)), [2.0, 4.0])
    with pytest.raises(ValueError, match=r"sequence 0 has 4 rows but 3 steps .*need 5"):
        f(3, np.arange(4.0))
    with pytest.raises(ValueError, match="n_steps is -1"):
        f(-1, np.arange(4.0))


@pytest.mark.parametrize("linker", LINKERS)
def test_state_shape_change_is_an_error(linker):
    h, k = T.dvector("h"), T.lscalar("k")
    info = ScanInfo(seq_taps=(), state_taps=((-1,),), n_nit_sot=0, n_shared=0,
                    n_non_seqs=1, as_while=False)
    op = Scan(info, [h, k], [T.ones((k,), dtype="float64") + h.sum()])
    init, kk = T.dmatrix("init"), T.lscalar("kk")
    f = sa.function([init, kk], op(3, init, kk), mode=sa.Mode(linker=linker))
    assert f(np.zeros((1, 2)), 2).shape == (3, 2)
    with pytest.raises(ValueError, match="must keep its shape"):
        f(np.zeros((1, 2)), 3)


def test_no_constant_folding_of_a_huge_loop():
    # all inputs constant: folding must not run 10**9 steps at compile time
    h = T.dscalar("h")
    info = ScanInfo(seq_taps=(), state_taps=((-1,),), n_nit_sot=0, n_shared=0,
                    n_non_seqs=0, as_while=False)
    op = Scan(info, [h], [h + 1])
    out = op(T.constant(10**9, dtype="int64"), T.constant(np.zeros(1)))
    sa.function([], out)  # compiles at once; running it is not needed
    assert not op.do_constant_folding(None, out.owner)


def test_infer_shape():
    ns, x, init, w = T.lscalar("n"), T.dvector("x"), T.dvector("init"), T.dscalar("w")
    ys, zs = _op_taps()(ns, x, init, w)
    check_infer_shape([ns, x, init, w], [ys, zs],
                      [np.int64(4), np.arange(1.0, 9.0), np.zeros(2), 2.0])


def test_infer_shape_nit_sot_from_inner_shapes():
    # nit_sot rows shaped like a non-sequence: the shape needs no loop value
    row, m = T.dvector("row"), T.dmatrix("m")
    info = ScanInfo(seq_taps=((0,),), state_taps=(), n_nit_sot=1, n_shared=0,
                    n_non_seqs=1, as_while=False)
    op = Scan(info, [row, m], [T.dot(m, row)])
    X, M = T.dmatrix("X"), T.dmatrix("M")
    out = op(X.shape[0], X, M)
    check_infer_shape([X, M], out, [np.ones((5, 3)), np.ones((2, 3))])
    f = sa.function([X, M], out.shape)
    np.testing.assert_array_equal(f(np.ones((5, 3)), np.ones((2, 3))), [5, 2])
    assert not any(isinstance(n.op, Scan) for n in f.maker.fgraph.apply_nodes)


def test_infer_shape_while_leaves_length_unknown():
    s, lim = T.dscalar("s"), T.dscalar("lim")
    info = ScanInfo(seq_taps=(), state_taps=((-1,),), n_nit_sot=0, n_shared=0,
                    n_non_seqs=1, as_while=True)
    op = Scan(info, [s, lim], [s * 2, T.gt(s * 2, lim)])
    init, limit = T.dvector("init"), T.dscalar("limit")
    tr = op(50, init, limit)
    f = sa.function([init, limit], tr.shape)
    np.testing.assert_array_equal(f(np.ones(1), 20.0), [5])


def test_inner_function_is_cached_and_op_is_printable():
    x = T.dscalar("x")
    info = ScanInfo(seq_taps=((0,),), state_taps=(), n_nit_sot=1, n_shared=0,
                    n_non_seqs=0, as_while=False, name="double")
    op = Scan(info, [x], [x * 2])
    assert op.inner_function() is op.inner_function()
    assert str(op) == "scan{double}"
    v = T.dvector("v")
    out = op(v.shape[0], v)
    assert "scan{double}" in str(out.owner)
