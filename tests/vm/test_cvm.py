"""Tests of symarray.vm._cvm: storage cells, thunks and the Cython VM.

Behaviour both VMs share is also tested under every linker in
test_pyvm.py; here: the arena, hand-assembled bytecode (jumps) run by both
VMs, the allocation-free no-GC call, threads, and Function's fast path.
"""

from __future__ import annotations

import sys
import threading
import tracemalloc

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.graph.basic import Apply, Op
from symarray.graph.fg import FunctionGraph
from symarray.vm import (
    CyStorage,
    CyVM,
    Opcode,
    PyVM,
    build_program,
    disassemble,
    make_py_thunk,
)

VMS = [CyVM, PyVM]


def mode(linker, optimizer=None):
    return theano.Mode(linker=linker, optimizer=optimizer)


# -- storage ---------------------------------------------------------------------------
def test_storage_cells_cache_array_fields():
    s = CyStorage(4, {3: np.float64(2.0)})
    assert len(s) == 4 and s.constants == (3,)
    a = np.arange(12.0).reshape(3, 4)
    s[0] = a
    assert s[0] is a
    assert s.cached(0) == (np.dtype("f8").num, 2, (3, 4), (32, 8))
    s[1] = a.T
    assert s.cached(1)[2:] == ((4, 3), (8, 32))
    for value in ([1.0], 3.0, a.astype(">f8"), np.ma.masked_array([1.0])):
        s[2] = value
        assert s.cached(2) == (-1, 0, (), ())  # C thunks send these to perform
    s.clear(0)
    assert s[0] is None and s.cached(0)[0] == -1
    with pytest.raises(ValueError, match="holds a constant"):
        s[3] = 1.0
    s.free()
    assert s.values() == [None, None, None, np.float64(2.0)]
    with pytest.raises(IndexError, match="out of range: the storage has 4 cells"):
        s[4]


def test_storage_drops_its_references():
    import weakref

    a = np.ones(3)
    ref = weakref.ref(a)
    s = CyStorage(1)
    s[0] = a
    del a
    assert ref() is not None
    del s
    assert ref() is None


# -- bytecode --------------------------------------------------------------------------
def branch_program():
    """cond ? exp(x) : log(x), assembled by hand with JUMP_IF_FALSE / JUMP."""
    cond, x = T.bscalar("cond"), T.dvector("x")
    a, b = T.exp(x), T.log(x)
    fg = FunctionGraph([cond, x], [a, b], clone=False)
    prog = build_program(fg.inputs, fg.outputs, [a.owner, b.owner], make_py_thunk,
                         allow_gc=False)
    then, other = prog.nodes.index(a.owner), prog.nodes.index(b.owner)
    prog.code = np.array([
        (Opcode.JUMP_IF_FALSE, prog.cell_of[cond], 3),
        (Opcode.CALL, then, 0),
        (Opcode.JUMP, 4, 0),
        (Opcode.CALL, other, 0),
        (Opcode.HALT, 0, 0),
    ], dtype=np.int32)
    return prog


@pytest.mark.parametrize("vm_class", VMS)
def test_jumps_run_only_the_taken_branch(vm_class):
    prog = branch_program()
    vm = vm_class(prog)
    x = np.array([1.0, 2.0])
    a, b = vm([np.array(1, dtype="int8"), x])
    np.testing.assert_allclose(a, np.exp(x))
    assert b is None
    a, b = vm([np.array(0, dtype="int8"), x])
    assert a is None
    np.testing.assert_allclose(b, np.log(x))
    text = disassemble(prog)
    assert "JUMP_IF_FALSE  %0 -> 3" in text and "JUMP  -> 4" in text


@pytest.mark.parametrize("vm_class", VMS)
def test_loop_opcode_is_reserved(vm_class):
    prog = branch_program()
    prog.code = np.array([(Opcode.LOOP, 0, 0), (Opcode.HALT, 0, 0)], dtype=np.int32)
    with pytest.raises(NotImplementedError, match="opcode 5 at instruction 0"):
        vm_class(prog)([np.array(1, dtype="int8"), np.ones(1)])


@pytest.mark.parametrize("vm_class", VMS)
def test_code_must_end_with_halt(vm_class):
    prog = branch_program()
    prog.code = np.array([(Opcode.CALL, 0, 0)], dtype=np.int32)
    with pytest.raises(ValueError, match="end with HALT"):
        vm_class(prog)


@pytest.mark.parametrize("row, message", [
    ((Opcode.CALL, 7, 0), "calls a thunk that does not exist"),
    ((Opcode.JUMP, 9, 0), "jumps to 9, outside the 2 instructions"),
    ((Opcode.JUMP_IF_FALSE, 99, 0), "tests cell 99, which does not exist"),
    ((Opcode.FREE, 5, 0), "FREE 5 is outside free_lists"),
])
def test_cvm_refuses_operands_outside_the_program(row, message):
    prog = branch_program()
    prog.code = np.array([row, (Opcode.HALT, 0, 0)], dtype=np.int32)
    with pytest.raises(ValueError, match=message):
        CyVM(prog)


# -- no allocation in no-GC mode ------------------------------------------------------
def chain100(linker):
    x, y = T.dvector("x"), T.dvector("y")
    z = x
    for _ in range(25):
        z = T.tanh(z * y + y) - y
    return theano.function([x, y], z, mode=mode(linker))


def test_nogc_chain_of_c_thunks_creates_no_python_objects():
    f = chain100("cvm_nogc")
    vm = f.vm
    assert [t.backend for t in vm.program.thunks] == ["c"] * 100
    vm.set_input(0, np.linspace(0.0, 1.0, 10))
    vm.set_input(1, np.full(10, 0.1))
    run = vm.run
    for _ in range(3):  # warm up: every cell gets its buffer
        run()
    buffers = [id(v) for v in vm.program.cells.values()]
    getblocks = sys.getallocatedblocks
    counts = [0, 0, 0, 0]
    counts[0] = getblocks()
    counts[1] = getblocks()
    counts[2] = getblocks()
    for _ in range(20):
        run()
    counts[3] = getblocks()
    assert counts[3] - counts[2] == counts[1] - counts[0]  # nothing but the ints
    tracemalloc.start()
    try:
        run()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (current, peak) == (0, 0)
    assert [id(v) for v in vm.program.cells.values()] == buffers
    expected = np.linspace(0.0, 1.0, 10)
    for _ in range(25):
        expected = np.tanh(expected * 0.1 + 0.1) - 0.1
    np.testing.assert_allclose(vm.outputs()[0], expected, rtol=1e-12)


def test_nogc_calls_reuse_intermediates_but_not_results():
    x = T.dmatrix("x")
    mid = T.exp(x)
    f = theano.function([x], [mid.T, mid * 2.0], mode=mode("cvm_nogc"))
    g = theano.function([x], T.tanh(x) * 2.0 + 1.0, mode=mode("cvm_nogc"))
    a, b = np.zeros((2, 3)), np.ones((2, 3))
    first = f(a)
    first_g = g(a)
    cells_before = g.vm.program.cells.values()
    second = f(b)
    second_g = g(b)
    np.testing.assert_allclose(first[0], np.exp(a).T)  # not overwritten
    np.testing.assert_allclose(first[1], 2 * np.exp(a))
    np.testing.assert_allclose(second[0], np.exp(b).T)
    np.testing.assert_allclose(first_g, 1.0)
    assert second_g is not first_g
    prog = g.vm.program
    c_cells = [prog.node_outputs[k][0] for k, t in enumerate(prog.thunks)
               if t.backend == "c" and prog.node_outputs[k][0] not in prog.after_call
               and type(t.node.op).__name__ != "DimShuffle"]  # views: new each call
    assert len(c_cells) == 2  # tanh, mul: kept, the same buffers as last call
    assert all(prog.cells[c] is cells_before[c] for c in c_cells)
    g.free()
    assert all(v is None for i, v in enumerate(g.vm.program.cells.values())
               if i not in g.vm.program.constant_cells)


# -- threads ---------------------------------------------------------------------------
@pytest.mark.parametrize("linker", ["cvm_nogc", "vm_nogc", "cvm"])
def test_calls_from_several_threads(linker):
    x = T.dvector("x")
    out = x
    for _ in range(6):
        out = T.tanh(out * 1.5 + 0.25) - 0.125
    f = theano.function([x], out, mode=mode(linker))
    n = 1 << 16  # big enough that the loops release the GIL

    def expected(v):
        for _ in range(6):
            v = np.tanh(v * 1.5 + 0.25) - 0.125
        return v

    errors: list[str] = []

    def worker(seed):
        v = np.random.default_rng(seed).standard_normal(n)
        want = expected(v)
        for _ in range(8):
            got = f(v)
            if not np.allclose(got, want, rtol=1e-12):
                errors.append(f"thread {seed}: wrong result")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    g = f.copy()
    assert g.vm is not f.vm and g.vm.program.cells is not f.vm.program.cells


class CallBack(Op):
    """Calls ``self.fn`` (the compiled function that runs this op)."""

    fn = None

    def make_node(self, x):
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = self.fn(inputs[0])


@pytest.mark.parametrize("linker", ["cvm", "vm"])
def test_a_reentrant_call_is_refused(linker):
    x = T.dvector("x")
    op = CallBack()
    f = theano.function([x], op(x), mode=mode(linker))
    op.fn = f
    with pytest.raises(RuntimeError, match="called again while it runs") as info:
        f(np.ones(2))
    assert "Apply node that caused the error: CallBack" in info.value.__notes__[0]
    op.fn = f.copy()  # own storage: fine
    op.fn.maker.fgraph  # noqa: B018
    inner = theano.function([x], x * 2.0, mode=mode(linker))
    op.fn = inner
    np.testing.assert_allclose(f(np.ones(2)), [2.0, 2.0])


# -- Function's fast path -------------------------------------------------------------
def test_fast_call_takes_exact_arrays_and_declines_the_rest():
    x, y = T.dmatrix("x"), T.TensorType("float64", shape=(None, 3))("y")
    f = theano.function([x, y], x + y, mode=mode("cvm"))
    vm = f.vm
    a, b = np.ones((2, 3)), np.ones((2, 3))
    np.testing.assert_allclose(vm.fast_call1((a, b), True), 2.0)
    assert vm.fast_call((a, b), True)[0].shape == (2, 3)
    declined = [
        (a,),  # too few
        (a.astype("f4"), b),  # dtype
        (a[0], b),  # rank
        (a, np.ones((2, 4))),  # static length
        (a.tolist(), b),  # not an ndarray
        (np.ma.masked_array(a), b),  # a subclass
    ]
    for args in declined:
        assert vm.fast_call1(args, True) is NotImplemented
    # Function converts what the fast path declines
    np.testing.assert_allclose(f(a.tolist(), b), 2.0)
    np.testing.assert_allclose(f(a.astype("f4"), b), 2.0)
    with pytest.raises(ValueError, match="expected length 3 in dimension 1"):
        f(a, np.ones((2, 4)))
    # trusted: no checks at all (the C thunk sends the float32 array to perform)
    np.testing.assert_allclose(vm.fast_call1((a.astype("f4"), b), False), 2.0)
    f.trust_input = True
    np.testing.assert_allclose(f(a, b), 2.0)


def test_fast_path_is_off_where_function_has_work_to_do():
    x = T.dvector("x")
    s = theano.shared(np.zeros(2), name="s")
    plain = theano.function([x], x * 2.0, mode=mode("cvm"))
    listed = theano.function([x], [x * 2.0], mode=mode("cvm"))
    assert plain._fast_call is not None and listed._fast_call is not None
    assert isinstance(listed(np.ones(2)), list)
    assert theano.function([x], x * s, mode=mode("cvm"))._fast_call is None
    assert theano.function([x], x, mode=mode("cvm"))._fast_call is None  # a copy
    assert theano.function([x], {"a": x * 2.0}, mode=mode("cvm"))._fast_call is None
    py = theano.function([x], x * 2.0, mode=mode("py"))
    assert py._fast_call is None
    # a perform output may alias an argument: checked calls decline
    view = theano.function([x], x.dimshuffle("x", 0), mode=mode("cvm"))
    assert view.vm.fast_call1((np.ones(2),), True) is NotImplemented
    arg = np.ones(2)
    assert not np.may_share_memory(view(arg), arg)
