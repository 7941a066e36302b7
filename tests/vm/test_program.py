"""Tests of symarray.vm.program: building Programs and disassembling them."""

from __future__ import annotations

import numpy as np

import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.graph.fg import FunctionGraph
from symarray.vm import build_program, disassemble, make_py_thunk


def program_for(outputs, inputs, allow_gc=True):
    fg = FunctionGraph(inputs, outputs, clone=False)
    return fg, build_program(fg.inputs, fg.outputs, fg.toposort(), make_py_thunk,
                             allow_gc=allow_gc)


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


def test_free_lists_follow_last_use():
    x = T.dvector("x")
    a = T.exp(x)
    b = T.log(a)
    c = a * b  # a is read last here
    d = T.sqr(c)
    fg, prog = program_for([d], [x])
    cell = prog.cell_of
    frees = {prog.nodes[k]: set(f) for k, f in enumerate(prog.free_after)}
    assert frees[a.owner] == set() and frees[b.owner] == set()
    assert frees[c.owner] == {cell[a], cell[b]}
    assert frees[d.owner] == {cell[c]}


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
    assert prog.cells[const_cell][0] == np.float64(2.0)


def test_unread_outputs_of_a_node_die_at_once():
    x = T.dvector("x")
    fg, prog = program_for([T.exp(x) + 1.0], [x])
    # DimShuffle of the constant dies after the add reads it
    assert any(prog.free_after)


def test_no_frees_without_gc():
    x = T.dvector("x")
    fg, prog = program_for([T.sqr(T.exp(x))], [x], allow_gc=False)
    assert not prog.allow_gc and all(f == () for f in prog.free_after)


def test_disassemble_is_readable():
    x = T.dvector("x")
    a = T.exp(x)
    out = T.log(a) * 2.0
    fg, prog = program_for([out], [x])
    text = disassemble(prog)
    lines = text.splitlines()
    n_nodes, n_cells = len(prog.nodes), len(prog.cells)
    assert lines[0] == f"program: {n_nodes} nodes, {n_cells} cells, gc on"
    assert lines[1] == "inputs   %0=x"
    assert lines[2].startswith("constants %") and "=2.0" in lines[2]
    assert "   0  %1 = exp(%0)" in lines
    assert any("= log(%1)" in ln and "free %1" in ln for ln in lines)
    assert lines[-1] == f"outputs  %{prog.cell_of[out]}"
    _, nogc = program_for([T.exp(x)], [x], allow_gc=False)
    assert disassemble(nogc).splitlines()[0].endswith("gc off")
