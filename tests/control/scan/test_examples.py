"""Theano's classic scan examples (its tutorial's "Loop" page), unchanged but
for the import, against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T
from symarray.scan_module import until
from tests.control.scan._helpers import check

RNG = np.random.default_rng(1)


def test_power_by_repeated_multiplication():
    k = T.iscalar("k")
    A = T.dvector("A")
    result, updates = theano.scan(fn=lambda prior_result, A: prior_result * A,  # noqa: N803
                                  outputs_info=T.ones_like(A), non_sequences=A,
                                  n_steps=k)
    final_result = result[-1]
    av = np.arange(10.0)
    check([A, k], final_result, [av, 2], av ** 2, linkers=("py", "cvm", "cvm_nogc"),
          updates=updates)
    check([A, k], result, [av, 3], [av, av ** 2, av ** 3])


def test_polynomial_from_coefficients():
    coefficients = T.dvector("coefficients")
    x = T.dscalar("x")
    full_range = T.arange(10000)
    components, _ = theano.scan(
        fn=lambda coefficient, power, free_variable:
            coefficient * (free_variable ** power),
        outputs_info=None, sequences=[coefficients, full_range], non_sequences=x)
    polynomial = components.sum()
    check([coefficients, x], polynomial, [np.array([1.0, 0.0, 2.0]), 3.0], 19.0,
          linkers=("py", "cvm", "cvm_nogc"))


def test_sum_of_a_sequence_with_reduce():
    x = T.dvector("x")
    total, _ = theano.reduce(lambda v, acc: acc + v, sequences=x,
                             outputs_info=T.constant(0.0, dtype="float64"))
    xv = RNG.normal(size=7)
    check([x], total, [xv], xv.sum())


def test_fibonacci_with_two_taps():
    n = T.iscalar("n")
    f_init = T.dvector("f_init")
    fib, _ = theano.scan(lambda f_m2, f_m1: f_m2 + f_m1,
                         outputs_info=dict(initial=f_init, taps=[-2, -1]), n_steps=n)
    ref = [1.0, 1.0]
    for _ in range(10):
        ref.append(ref[-1] + ref[-2])
    check([f_init, n], fib, [np.array([1.0, 1.0]), 10], ref[2:],
          linkers=("py", "cvm", "cvm_nogc"))


def test_do_while_power_of_two():
    def power_of_2(previous_power, max_value):
        return previous_power * 2, until(previous_power * 2 > max_value)

    max_value = T.dscalar()
    values, _ = theano.scan(power_of_2, outputs_info=T.constant(1.0, dtype="float64"),
                            non_sequences=max_value, n_steps=1024)
    check([max_value], values, [45.0], [2.0, 4.0, 8.0, 16.0, 32.0, 64.0],
          linkers=("py", "cvm", "cvm_nogc"))


def test_shared_counter_updated_inside_scan():
    a = theano.shared(1)
    values, updates = theano.scan(lambda: {a: a + 1}, n_steps=10)
    b = a + 1
    c = updates[a] + 1
    for linker in ("py", "cvm"):
        a.set_value(1)
        f = theano.function([], [b, c], updates=updates,
                            mode=theano.Mode(linker=linker))
        got_b, got_c = f()
        assert (int(got_b), int(got_c), int(a.get_value())) == (2, 12, 11)


def test_rnn_with_shared_weights():
    W = theano.shared(RNG.normal(size=(3, 3)) * 0.5, name="W")
    U = theano.shared(RNG.normal(size=(2, 3)), name="U")
    b = theano.shared(np.zeros(3), name="b")
    X = T.dmatrix("X")
    h0 = T.dvector("h0")
    hs, updates = theano.scan(lambda x_t, h: T.tanh(T.dot(h, W) + T.dot(x_t, U) + b),
                              sequences=X, outputs_info=h0)
    assert not updates
    xv, hv = RNG.normal(size=(5, 2)), RNG.normal(size=3)
    ref, h = [], hv
    for x_t in xv:
        h = np.tanh(h @ W.get_value() + x_t @ U.get_value() + b.get_value())
        ref.append(h)
    check([X, h0], hs, [xv, hv], np.array(ref), linkers=("py", "cvm", "cvm_nogc"))


def test_elementwise_tanh_of_rows():
    X = T.dmatrix("X")
    W = T.dmatrix("W")
    b_sym = T.dvector("b_sym")
    results, _ = theano.scan(lambda v: T.tanh(T.dot(v, W) + b_sym), sequences=X)
    xv, wv, bv = RNG.normal(size=(4, 2)), RNG.normal(size=(2, 3)), RNG.normal(size=3)
    check([X, W, b_sym], results, [xv, wv, bv], np.tanh(xv @ wv + bv))


def test_two_taps_state_and_reversed_sequence_index():
    # x(t) = tanh(x(t-1).dot(W) + y(t).dot(U) + p(T-t).dot(V))
    X, W, Y, U, P, V = (T.dvector("X"), T.dmatrix("W"), T.dmatrix("Y"), T.dmatrix("U"),
                        T.dmatrix("P"), T.dmatrix("V"))
    results, _ = theano.scan(
        lambda y, p, x_tm1: T.tanh(T.dot(x_tm1, W) + T.dot(y, U) + T.dot(p, V)),
        sequences=[Y, P[::-1]], outputs_info=[X])
    xv = np.zeros(2)
    wv, uv, vv = (RNG.normal(size=(2, 2)) for _ in range(3))
    yv, pv = RNG.normal(size=(5, 2)), RNG.normal(size=(5, 2))
    ref, x = [], xv
    for i in range(5):
        x = np.tanh(x @ wv + yv[i] @ uv + pv[4 - i] @ vv)
        ref.append(x)
    check([X, W, Y, U, P, V], results, [xv, wv, yv, uv, pv, vv], np.array(ref))


@pytest.mark.parametrize("linker", ["py", "cvm"])
def test_nested_scan(linker):
    # outer loop over rows, inner loop: running product of the row, scaled by k
    M = T.dmatrix("M")
    k = T.dscalar("k")

    def row_step(row, acc):
        prods, _ = theano.scan(lambda v, p: p * v, sequences=row,
                               outputs_info=T.constant(1.0, dtype="float64"))
        return acc + prods[-1] * k

    totals, _ = theano.scan(row_step, sequences=M,
                            outputs_info=T.constant(0.0, dtype="float64"))
    mv = RNG.normal(size=(3, 4))
    check([M, k], totals, [mv, 2.0], np.cumsum(mv.prod(axis=1) * 2.0),
          linkers=(linker,))


def test_norms_of_rows_with_map():
    X = T.dmatrix("X")
    results, _ = theano.map(lambda x_i: T.sqrt((x_i ** 2).sum()), sequences=[X])
    xv = RNG.normal(size=(4, 3))
    check([X], results, [xv], np.sqrt((xv ** 2).sum(axis=1)))


def test_docs_examples_run():
    """The code blocks of docs/scan.md run (one namespace, in order)."""
    import re
    from pathlib import Path

    text = (Path(__file__).parents[3] / "docs" / "scan.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 6
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/scan.md", "exec"), namespace)  # noqa: S102
