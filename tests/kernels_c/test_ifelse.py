"""Tests of symarray.kernels_c.ifelse: the C select of a lazy ``ifelse``."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.graph.fg import FunctionGraph
from symarray.ifelse import ifelse
from symarray.kernels_c.ifelse import ifelse_thunk
from symarray.vm import CyStorage, CyVM, Opcode, Program

#: (condition value, which branch it selects): C-read bools and others
CONDITIONS = [
    (np.array(True), "then"), (np.array(False), "else"),
    (np.array(3, dtype="int8"), "then"), (np.array(0, dtype="int8"), "else"),
    (np.array(-0.5), "then"), (np.array(0.0), "else"),
]


@pytest.mark.parametrize("cond, taken", CONDITIONS)
def test_select_takes_the_branch_the_condition_picks(cond, taken):
    c = T.TensorType(cond.dtype, shape=())("c")
    x, y = T.dvector("x"), T.lvector("y")
    outs = ifelse(c, [x, y], [x * 2.0, y + 1])
    node = outs[0].owner
    thunk = ifelse_thunk(node)
    assert thunk.backend == "c"
    storage = CyStorage(7)
    thunk.bind(storage, range(5), range(5, 7))
    a, b = np.arange(3.0), np.arange(2)
    values = [cond, a, b, a * 2.0, b + 1]
    for i, v in enumerate(values):
        storage[i] = v
    thunk()
    want = values[1:3] if taken == "then" else values[3:5]
    assert storage[5] is want[0] and storage[6] is want[1]  # no copy


def test_an_uncomputed_branch_raises():
    c = T.bscalar("c")
    x = T.dvector("x")
    node = ifelse(c, x, x * 2.0).owner
    thunk = ifelse_thunk(node)
    storage = CyStorage(4)
    thunk.bind(storage, range(3), (3,))
    storage[0] = np.array(0, dtype="int8")
    storage[1] = np.ones(2)
    with pytest.raises(RuntimeError, match="was not computed"):
        thunk()
    storage[0] = None
    with pytest.raises(RuntimeError, match="condition was not computed"):
        thunk()


def test_compiled_ifelse_uses_the_c_select_and_the_fast_path():
    s, x = T.dscalar("s"), T.dvector("x")
    f = theano.function([s, x], ifelse(T.gt(s, 0), T.exp(x), T.log(x)))
    prog = f.vm.program
    k = next(k for k, n in enumerate(prog.nodes) if str(n.op) == "if")
    assert prog.thunks[k].backend == "c"
    assert f.vm.outputs_fresh  # returned arrays are the VM's own
    v = np.array([1.0, 2.0])
    np.testing.assert_allclose(f(np.array(1.0), v), np.exp(v))
    np.testing.assert_allclose(f(np.array(-1.0), v), np.log(v))


def test_a_lazy_call_creates_no_python_object_in_the_select():
    c = T.bscalar("c")
    x = T.dvector("x")
    fg = FunctionGraph([c, x], ifelse(c, [x], [x]), clone=False)
    (node,) = fg.toposort()
    thunk = ifelse_thunk(node)
    storage = CyStorage(4)
    thunk.bind(storage, (0, 1, 2), (3,))
    prog = Program(nodes=[node], cells=storage, cell_of={}, thunks=[thunk],
                   node_inputs=[(0, 1, 2)], node_outputs=[(3,)], free_after=[()],
                   input_cells=(0, 1, 2), output_cells=(3,), allow_gc=False,
                   code=np.array([(Opcode.CALL, 0, 0), (Opcode.HALT, 0, 0)],
                                 dtype=np.int32))
    vm = CyVM(prog)
    for i, v in enumerate([np.array(1, dtype="int8"), np.ones(3), np.zeros(3)]):
        vm.set_input(i, v)
    vm.run()
    before = sys.getallocatedblocks()
    for _ in range(100):
        vm.run()
    assert sys.getallocatedblocks() - before <= 2
