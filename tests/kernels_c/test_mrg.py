"""The MRG31k3p C kernel against ``MRGUniform.perform``: bit for bit, for
every dtype, stream count, thread count, in place or not."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T
from symarray import kernels_c
from symarray.kernels_c._mrg import PARALLEL_MIN, CyMRGThunk
from symarray.tensor.random.mrg_op import MRGUniform, seed_state, substream_states
from symarray.vm import CyStorage


def _node(dtype: str, ndim: int, inplace: bool = False) -> Any:
    r = T.imatrix("r")
    size = T.specify_shape(T.lvector("size"), (ndim,))
    return MRGUniform(dtype, inplace)(r, size)[0].owner


def _run(node: Any, state: np.ndarray, size: Any, nthreads: int = 1,
         keep_buffers: bool = False) -> tuple[Any, list[Any]]:
    thunk = CyMRGThunk(node, nthreads)
    storage = CyStorage(4)
    thunk.bind(storage, [0, 1], [2, 3], keep_buffers)
    storage[0] = state
    storage[1] = np.asarray(size, dtype="int64")
    thunk()
    return thunk, [storage[2], storage[3]]


def _perform(node: Any, state: np.ndarray, size: Any) -> list[Any]:
    out: list[list[Any]] = [[None], [None]]
    node.op.perform(node, [state.copy(), np.asarray(size, dtype="int64")], out)
    return [out[0][0], out[1][0]]


CASES = [  # (n_streams, size)
    (1, (7,)), (3, (2, 5)), (64, (64,)), (65, (10, 13)), (100, (3,)),
    (130, (0, 4)), (5, ()), (200, (PARALLEL_MIN + 77,)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ns, size", CASES)
@pytest.mark.parametrize("nthreads", [1, 3])
def test_kernel_matches_perform(dtype: str, ns: int, size: tuple[int, ...],
                                nthreads: int) -> None:
    node = _node(dtype, len(size))
    state = substream_states(seed_state(4321), ns)
    before = state.copy()
    thunk, (new, draws) = _run(node, state, size, nthreads)
    assert thunk.backend == "c"
    want_new, want = _perform(node, state, size)
    assert draws.dtype == dtype and draws.shape == size
    np.testing.assert_array_equal(draws, want)
    np.testing.assert_array_equal(new, want_new)
    np.testing.assert_array_equal(state, before)  # not in place: input kept


def test_inplace_writes_the_input_state() -> None:
    node = _node("float64", 1, inplace=True)
    state = substream_states(seed_state(5), 9)
    want_new, want = _perform(node, state, (20,))
    _, (new, draws) = _run(node, state, (20,))
    assert new is state
    np.testing.assert_array_equal(state, want_new)
    np.testing.assert_array_equal(draws, want)


def test_no_gc_reuses_the_draws_buffer() -> None:
    node = _node("float64", 1)
    state = substream_states(seed_state(5), 4)
    thunk, (_, first) = _run(node, state, (8,), keep_buffers=True)
    storage = thunk.storage
    storage[0] = state
    thunk()
    assert storage[3] is first  # written in place of the last call's buffer
    np.testing.assert_array_equal(first, _perform(node, state, (8,))[1])


@pytest.mark.parametrize("state, size", [
    (np.zeros((3, 6), dtype="int64"), (2,)),                           # dtype
    (np.asfortranarray(substream_states(seed_state(3), 4)), (2,)),     # layout
    (substream_states(seed_state(3), 4)[:, ::-1], (2,)),               # strides
])
def test_odd_inputs_go_to_perform(state: np.ndarray, size: tuple[int, ...]) -> None:
    node = _node("float64", 1)
    _, (new, draws) = _run(node, state, size)
    want_new, want = _perform(node, state, size)
    np.testing.assert_array_equal(draws, want)
    np.testing.assert_array_equal(new, want_new)


def test_registered_and_thread_flag_read_at_compile_time() -> None:
    from symarray.sandbox.rng_mrg import MRG_RandomStreams

    results = []
    for threads in (1, 2):
        with sa.config.change_flags(kernel_threads=threads):
            u = MRG_RandomStreams(77).uniform((PARALLEL_MIN * 2,), nstreams=1000)
            f = sa.function([], u)
        backends = {t.backend for t in f.vm.program.thunks
                    if "MRG" in str(t.node.op)}
        assert backends == {"c"}
        results.append((f(), f()))
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)  # the thread count changes nothing
    assert kernels_c.kernels_for(MRGUniform)
