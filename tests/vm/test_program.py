"""Tests of symarray.vm.program: opcodes and disassembly."""

from __future__ import annotations

import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.graph.fg import FunctionGraph
from symarray.vm import Opcode, build_program, disassemble, make_py_thunk
from symarray.vm._cvm import OPCODES


def program_for(outputs, inputs, allow_gc=True):
    fg = FunctionGraph(inputs, outputs, clone=False)
    return fg, build_program(fg.inputs, fg.outputs, fg.toposort(), make_py_thunk,
                             allow_gc=allow_gc)


def test_opcodes_match_the_compiled_vm():
    assert {op.name: int(op) for op in Opcode} == OPCODES


def test_disassemble_is_readable():
    x = T.dvector("x")
    a = T.exp(x)
    out = T.log(a) * 2.0
    fg, prog = program_for([out], [x])
    text = disassemble(prog)
    lines = text.splitlines()
    n_nodes, n_cells = len(prog.nodes), len(prog.cells)
    assert lines[0] == (f"program: {n_nodes} nodes, {n_cells} cells, "
                        f"{prog.n_instructions} instructions, gc on")
    assert lines[1] == "inputs   %0=x"
    assert lines[2].startswith("constants %") and "2.0" in lines[2]
    assert any(ln.startswith("   0  CALL  %1 = exp(%0)") and ln.endswith("[py]")
               for ln in lines)
    log_line = next(k for k, ln in enumerate(lines) if "= log(%1)" in ln)
    assert lines[log_line + 1].split() == [str(log_line - 2), "FREE", "%1"]
    assert lines[-2].split() == [str(prog.n_instructions - 1), "HALT"]
    assert lines[-1] == f"outputs  %{prog.cell_of[out]}"
    _, nogc = program_for([T.exp(x)], [x], allow_gc=False)
    assert disassemble(nogc).splitlines()[0].endswith("gc off")
