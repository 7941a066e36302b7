"""Function's general fast path: calls with shared values and updates.

Every input given positionally goes to ``vm.fast_call`` with the shared
values appended; the VM declines what Function must convert or separate,
and the slow path then gives the same results.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.errors import RankError
from symarray.vm._cvm import FAST_CHECK, FAST_GUARDED, FAST_SEPARATE

LINKERS = ["py", "cvm", "cvm_nogc"]


class Sub(np.ndarray):
    """An ndarray subclass (the fast path takes exact ndarrays only)."""


def spy(f: Any) -> list[bool]:
    """Record, per call, whether the VM's fast path took the arguments."""
    taken: list[bool] = []
    inner = f._vm_fast_call
    if inner is None:
        return taken

    def wrapper(args: tuple[Any, ...], check: int) -> Any:
        result = inner(args, check)
        taken.append(result is not NotImplemented)
        return result
    f._vm_fast_call = wrapper
    return taken


def step(linker: str) -> tuple[Any, Any, Any]:
    """A least-squares step: f(X, y) -> cost, updating shared w and b."""
    X, y = T.dmatrix("X"), T.dvector("y")
    w = theano.shared(np.array([0.5, -1.0, 2.0]), name="w")
    b = theano.shared(np.float64(0.25), name="b")
    err = T.dot(X, w) + b - y
    cost = (err ** 2).mean()
    gw, gb = theano.grad(cost, [w, b])
    f = theano.function([X, y], cost, updates=[(w, w - 0.1 * gw), (b, b - 0.1 * gb)],
                        mode=theano.Mode(linker=linker))
    return f, w, b


def numpy_step(xs: Any, y: Any, w: Any, b: Any) -> tuple[float, Any, Any]:
    X, y = np.asarray(xs, float), np.asarray(y, float)  # noqa: N806
    err = X @ w + b - y
    g = 2.0 * err / len(y)
    return float((err ** 2).mean()), w - 0.1 * (X.T @ g), b - 0.1 * g.sum()


wide = np.arange(24.0).reshape(4, 6) / 10
ARGS = [  # (label, X, y, fast path takes them)
    ("exact arrays", wide[:, :3].copy(), np.linspace(0, 1, 4), True),
    ("non-contiguous", wide[:, ::2], np.linspace(0, 1, 4), True),
    ("broadcast", np.broadcast_to(np.array([0.1, 0.2, 0.3]), (4, 3)),
     np.linspace(0, 1, 4), True),
    ("float32", wide[:, :3].astype("float32"), np.linspace(0, 1, 4), False),
    ("subclass", wide[:, :3].copy().view(Sub), np.linspace(0, 1, 4), False),
    ("lists", wide[:, :3].tolist(), [0.0, 0.5, 1.0, 1.5], False),
]


@pytest.mark.parametrize("linker", LINKERS)
@pytest.mark.parametrize(("label", "xs", "y", "fast"), ARGS,
                         ids=[a[0] for a in ARGS])
def test_step_matches_numpy_on_either_path(linker: str, label: str, xs: Any, y: Any,
                                           fast: bool) -> None:
    f, w, b = step(linker)
    taken = spy(f)
    w0, b0 = w.get_value(), b.get_value()
    for _ in range(2):
        cost = f(xs, y)
        want, w0, b0 = numpy_step(xs, y, w0, b0)
        np.testing.assert_allclose(cost, want, rtol=1e-6)
        np.testing.assert_allclose(w.get_value(), w0, rtol=1e-6)
        np.testing.assert_allclose(b.get_value(), b0, rtol=1e-6)
    if linker != "py":
        assert taken == [fast, fast]


def test_an_argument_overlapping_an_overwritten_shared_value_is_separated() -> None:
    x = T.dvector("x")
    w = theano.shared(np.array([1.0, 2.0, 3.0]), name="w")
    f = theano.function([x], x.sum(), updates=[(w, w * 2.0 + x[::-1])],
                        mode=theano.Mode(linker="cvm"))
    assert f.maker.destroyed_inputs  # w is updated in place
    taken = spy(f)
    arg = w.get_value(borrow=True)  # the argument is w's own array
    total = f(arg)
    assert total == 6.0 and arg.tolist() == [1.0, 2.0, 3.0]
    np.testing.assert_allclose(w.get_value(), [5.0, 6.0, 7.0])
    assert f(np.ones(3)) == 3.0  # no overlap: taken
    assert taken == [False, True]


def test_outputs_that_may_alias_an_argument_are_guarded() -> None:
    x = T.dvector("x")
    s = theano.shared(np.zeros(2), name="s")
    mode = theano.Mode(linker="cvm")
    view = theano.function([x], [x.dimshuffle("x", 0), T.exp(x)],
                           updates=[(s, s + 1.0)], mode=mode)
    assert view._guarded == (0,)
    taken = spy(view)
    arg = np.ones(2)
    shown, fresh = view(arg)
    assert taken == [True]
    assert not np.may_share_memory(shown, arg)
    assert not np.may_share_memory(fresh, arg)
    np.testing.assert_allclose(s.get_value(), [1.0, 1.0])
    assert theano.function([x], T.exp(x) + s, mode=mode)._guarded == ()


def test_output_subset_trust_input_and_input_updates_on_the_fast_path() -> None:
    x = T.dvector("x")
    acc = T.dvector("acc")
    s = theano.shared(np.zeros(2), name="s")
    f = theano.function([x, theano.In(acc, value=np.zeros(2), update=acc + x)],
                        [x * 2.0, x + s], updates=[(s, s + x)],
                        mode=theano.Mode(linker="cvm"))
    taken = spy(f)
    one = np.ones(2)
    (second,) = f(one, np.zeros(2), output_subset=[1])
    np.testing.assert_allclose(second, [1.0, 1.0])
    np.testing.assert_allclose(f["acc"], [1.0, 1.0])
    f.trust_input = True
    first, second = f(one, np.full(2, 5.0))
    np.testing.assert_allclose(first, [2.0, 2.0])
    np.testing.assert_allclose(second, [2.0, 2.0])
    np.testing.assert_allclose(f["acc"], [6.0, 6.0])
    f(one)  # the default fills acc: the slow path
    np.testing.assert_allclose(f["acc"], [7.0, 7.0])
    np.testing.assert_allclose(s.get_value(), [3.0, 3.0])
    assert taken == [True, True, False]


def test_errors_are_those_of_the_slow_path() -> None:
    f, _, _ = step("cvm")
    X, y = np.ones((4, 3)), np.ones(4)
    with pytest.raises(TypeError, match="takes 2 arguments, got 3"):
        f(X, y, y)
    with pytest.raises(RankError, match=r"bad input to the compiled function at "
                       r"index 0 \(0-based\), named 'X': expected a 2-d array"):
        f(y, y)


def test_fast_call_flags() -> None:
    x, y = T.dvector("x"), T.dvector("y")
    f = theano.function([x, y], x.dimshuffle("x", 0), mode=theano.Mode(linker="cvm"),
                        on_unused_input="ignore")
    vm = f.vm
    a = np.arange(4.0)
    assert not vm.outputs_fresh
    assert vm.fast_call((a, a), FAST_CHECK) is NotImplemented  # may alias: declined
    assert vm.fast_call((a, a), True) is NotImplemented
    assert vm.fast_call((a, a), FAST_CHECK | FAST_GUARDED) is not NotImplemented
    separate = FAST_CHECK | FAST_GUARDED | FAST_SEPARATE
    assert vm.fast_call((a, a[2:]), separate) is NotImplemented
    assert vm.fast_call((a[::-1], a[1:2]), separate) is NotImplemented
    assert vm.fast_call((a[:2], a[2:]), separate) is not NotImplemented
    assert vm.fast_call((a, a[:0]), separate) is not NotImplemented  # empty
    assert vm.fast_call((a, np.ones(4)), separate) is not NotImplemented
    assert vm.fast_call((a, a), 0) is not NotImplemented  # trusted
