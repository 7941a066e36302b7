"""Tests of symarray.vm.assembler: cells, bytecode, free lists, after_call."""

from __future__ import annotations

import numpy as np

import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.graph.fg import FunctionGraph
from symarray.vm import Opcode, build_program, make_py_thunk


def program_for(outputs, inputs, allow_gc=True):
    fg = FunctionGraph(inputs, outputs, clone=False)
    return fg, build_program(fg.inputs, fg.outputs, fg.toposort(), make_py_thunk,
                             allow_gc=allow_gc)


def instructions(prog):
    return [(Opcode(op).name, a, b) for op, a, b in prog.code.tolist()]


def test_cells_are_numbered_inputs_first():
    x, y = T.dvector("x"), T.dvector("y")
    a = T.exp(x)
    b = a * y
    fg, prog = program_for([b], [x, y])
    assert prog.input_cells == (0, 1)
    assert prog.cell_of[x] == 0 and prog.cell_of[y] == 1
    assert prog.nodes == [a.owner, b.owner]
    assert prog.node_inputs == [(0,), (2, 1)]
    assert prog.node_outputs == [(2,), (3,)]
    assert prog.output_cells == (3,)
    assert len(prog.cells) == len(prog.cell_of) == 4
    assert len(prog.thunks) == 2
    assert prog.inputs == [x, y] and prog.outputs == [b]
    # the flat operand arrays say the same
    assert prog.operands.dtype == np.int32
    k = prog.node_operands[1]
    assert prog.operands[k:k + 5].tolist() == [2, 1, 2, 1, 3]


def test_bytecode_calls_frees_and_halts():
    x = T.dvector("x")
    a = T.exp(x)
    b = T.log(a)
    c = a * b  # a and b are read last here
    d = T.sqr(c)
    fg, prog = program_for([d], [x])
    cell = prog.cell_of
    assert prog.code.dtype == np.int32 and prog.code.shape[1] == 3
    ins = instructions(prog)
    assert [i[0] for i in ins] == ["CALL", "CALL", "CALL", "FREE", "CALL", "FREE",
                                   "HALT"]
    assert [i[1] for i in ins if i[0] == "CALL"] == [0, 1, 2, 3]
    off = ins[3][1]
    n = prog.free_lists[off]
    assert set(prog.free_lists[off + 1:off + 1 + n].tolist()) == {cell[a], cell[b]}
    assert prog.free_after[2] == tuple(sorted((cell[a], cell[b])))
    assert prog.free_after[3] == (cell[c],)


def test_inputs_outputs_and_constants_are_never_freed():
    x = T.dvector("x")
    a = T.exp(x)
    out = a * 2.0
    fg, prog = program_for([out, a], [x])
    freed = {c for f in prog.free_after for c in f}
    assert prog.cell_of[x] not in freed and prog.cell_of[a] not in freed
    assert prog.cell_of[out] not in freed
    assert all(c not in freed for c in prog.constant_cells)
    const_cell = prog.constant_cells[0]
    assert prog.cells[const_cell] == np.float64(2.0)


def test_unread_outputs_of_a_node_die_at_once():
    x = T.dvector("x")
    fg, prog = program_for([T.exp(x) + 1.0], [x])
    # DimShuffle of the constant dies after the add reads it
    assert any(prog.free_after)


def test_no_frees_without_gc():
    x = T.dvector("x")
    fg, prog = program_for([T.sqr(T.exp(x))], [x], allow_gc=False)
    assert not prog.allow_gc and all(f == () for f in prog.free_after)
    assert [i[0] for i in instructions(prog)] == ["CALL", "CALL", "HALT"]
    assert all(t.keep_buffers for t in prog.thunks)


def test_after_call_covers_inputs_outputs_and_their_views():
    x = T.dmatrix("x")
    mid = T.exp(x)  # the output is a view (transpose) of it
    inner = T.log(x)
    x_view = x.T  # a view of the input
    out = mid.T + 0.0 * T.sum(inner) + 0.0 * T.sum(x_view)
    fg, prog = program_for([out, mid.T], [x])
    cell = prog.cell_of
    after = set(prog.after_call)
    assert {cell[x], cell[out], cell[mid], cell[x_view]} <= after
    assert cell[inner] not in after
    assert not set(prog.constant_cells) & after


def test_outputs_fresh_only_for_c_thunks():
    from symarray.compile.linkers import make_thunk

    x = T.dvector("x")
    fg = FunctionGraph([x], [T.exp(x)], clone=False)
    py = build_program(fg.inputs, fg.outputs, fg.toposort(), make_py_thunk)
    c = build_program(fg.inputs, fg.outputs, fg.toposort(), make_thunk)
    assert not py.outputs_fresh and c.outputs_fresh
    fg2 = FunctionGraph([x], [x], clone=False)
    assert not build_program(fg2.inputs, fg2.outputs, [], make_thunk).outputs_fresh


def test_a_memory_plan_shares_cells():
    from symarray.vm import CyVM, disassemble
    from symarray.vm.memplan import plan_memory

    x = T.TensorType("float64", shape=(100,))("x")
    a = T.exp(x)
    b = T.sin(a)
    c = T.cos(b)
    d = T.tanh(c)
    fg = FunctionGraph([x], [d], clone=False)
    plan = plan_memory(fg, fg.toposort())
    prog = build_program(fg.inputs, fg.outputs, fg.toposort(), make_py_thunk,
                         allow_gc=False, memory_plan=plan)
    cell = prog.cell_of
    assert cell[a] == cell[c] != cell[b]
    assert len(prog.cells) == 4  # x, a|c, b, d
    assert prog.memory_plan is plan
    assert "shared   %1=exp.out|cos.out" in disassemble(prog)
    v = np.linspace(0.0, 1.0, 100)
    np.testing.assert_allclose(CyVM(prog)([v])[0], np.tanh(np.cos(np.sin(np.exp(v)))))


def test_a_memory_plan_needs_no_gc_and_its_schedule():
    import pytest

    from symarray.vm.memplan import plan_memory

    x = T.dvector("x")
    a = T.exp(x)
    fg = FunctionGraph([x], [T.sin(a) + a], clone=False)
    order = fg.toposort()
    plan = plan_memory(fg, order)
    with pytest.raises(ValueError, match="no-GC mode"):
        build_program(fg.inputs, fg.outputs, order, make_py_thunk, memory_plan=plan)
    with pytest.raises(ValueError, match="another schedule"):
        build_program(fg.inputs, fg.outputs, order[::-1], make_py_thunk,
                      allow_gc=False, memory_plan=plan)


def test_kept_outputs_stay_in_their_cells():
    x = T.dmatrix("x")
    mid = T.exp(x)
    out0 = T.sin(mid)
    out1 = mid.T           # views mid
    out2 = x.T             # views an input: never kept
    fg = FunctionGraph([x], [out0, out1, out2], clone=False)

    def prog(keep, gc=False):
        return build_program(fg.inputs, fg.outputs, fg.toposort(), make_py_thunk,
                             allow_gc=gc, keep_outputs=keep)

    cell = prog(()).cell_of
    assert {cell[out0], cell[out1], cell[mid]} <= set(prog(()).after_call)
    kept = prog((0, 1, 2))
    assert kept.kept_outputs == (0, 1)
    assert not {cell[out0], cell[out1], cell[mid]} & set(kept.after_call)
    assert cell[out2] in kept.after_call and cell[x] in kept.after_call
    # out1 alone: out0 (which reads mid but does not view it) is emptied
    one = prog((1,))
    assert one.kept_outputs == (1,) and cell[out0] in one.after_call
    assert prog((0, 1), gc=True).kept_outputs == ()  # GC mode keeps nothing


def test_gc_mode_keeps_tiny_results_between_calls():
    from symarray.compile.linkers import make_thunk
    from symarray.vm import CyVM

    s = T.dscalar("s")
    x = T.dvector("x")
    big = T.exp(x)
    tiny = T.sqr(s)            # 8 bytes, static: kept, written in place
    first = big[0]             # 0-d, but a view of big: freed
    out = T.sum(big) * tiny + first
    fg = FunctionGraph([s, x], [out], clone=False)
    prog = build_program(fg.inputs, fg.outputs, fg.toposort(), make_thunk)
    freed = {c for f in prog.free_after for c in f}
    cell = prog.cell_of
    assert cell[big] in freed and cell[first] in freed
    assert cell[tiny] not in freed
    k = prog.nodes.index(tiny.owner)
    assert prog.thunks[k].keep_buffers and prog.thunks[k].backend == "c"
    vm = CyVM(prog)
    vm([np.array(2.0), np.ones(3)])
    kept = prog.cells[cell[tiny]]
    assert float(vm([np.array(3.0), np.ones(3)])[0]) == 9.0 * 3 * np.e + np.e
    assert prog.cells[cell[tiny]] is kept and float(kept) == 9.0
