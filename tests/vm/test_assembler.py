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
