"""Tests of symarray.kernels_c.numpy_backed and the backend report.

Each node's thunk is labelled with the backend that runs it: ``c`` for C
kernels, ``numpy`` for the ops of ``NUMPY_BACKED`` (their ``perform``),
``py`` for any other ``perform``.  The labels are checked for a list of
ops, the NumPy-backed thunks give ``perform``'s results, C kernels keep
precedence whatever the registration order, and
``config.print_thunk_backends`` prints the table when a function is
compiled.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import config, kernels_c
from symarray.compile.linkers import backend_table, make_thunk
from symarray.kernels_c.numpy_backed import NUMPY_BACKED, NumpyThunk, is_numpy_backed
from symarray.tensor.join import Join
from symarray.tensor.shape_ops import Shape_i
from symarray.vm import CyPyThunk, CyStorage

x, y = T.dmatrix("x"), T.dmatrix("y")
v, i = T.dvector("v"), T.lvector("i")

#: (name, expression, backend its node gets)
LABELS = [
    ("concatenate", lambda: T.concatenate([x, y]), "numpy"),
    ("split", lambda: T.split(v, [1, 2], 2)[0], "numpy"),
    ("alloc", lambda: T.alloc(0.0, x.shape[0], 3), "c"),  # kernels_c/views.py
    ("zeros", lambda: T.zeros((3, 4)), "c"),  # kernels_c/views.py
    ("arange", lambda: T.arange(x.shape[0]), "c"),  # kernels_c/views.py
    ("arange_float16", lambda: T.arange(0, x.shape[0], dtype="float16"), "numpy"),
    ("eye", lambda: T.eye(x.shape[0]), "numpy"),
    ("repeat", lambda: T.repeat(v, 2), "numpy"),
    ("broadcast_to", lambda: T.broadcast_to(v, (3, v.shape[0])), "c"),
    ("reshape", lambda: T.reshape(x, (-1,)), "numpy"),
    ("dimshuffle", lambda: x.T, "c"),  # kernels_c/views.py
    ("shape", lambda: x.shape, "numpy"),
    ("shape_i", lambda: Shape_i(0)(x), "c"),  # kernels_c/views.py
    ("specify_shape", lambda: T.specify_shape(x, (2, 3)), "numpy"),
    ("tensor_copy", lambda: T.tensor_copy(x), "numpy"),
    ("sort", lambda: T.sort(x), "numpy"),
    ("argsort", lambda: T.argsort(x), "numpy"),
    ("cumsum", lambda: T.cumsum(v), "numpy"),
    ("diff", lambda: T.diff(v), "numpy"),
    ("searchsorted", lambda: T.searchsorted(v, v), "numpy"),
    ("mask_read", lambda: x[x > 0], "numpy"),
    ("two_index_arrays", lambda: x[i, i], "c"),  # kernels_c/indexing.py
    ("arrays_apart", lambda: T.dtensor3()[i, :, i], "numpy"),
    ("basic_inc", lambda: T.inc_subtensor(x[1:], y), "numpy"),
    ("subtensor", lambda: x[1:, 0], "c"),
    ("gather", lambda: x[i], "c"),
    ("inc_rows", lambda: T.inc_subtensor(x[i], 1.0), "c"),
    ("set_mask", lambda: T.set_subtensor(x[x > 0], 0.0), "c"),
    ("exp", lambda: T.exp(x), "c"),
    ("softmax", lambda: T.nnet.softmax(x), "c"),  # kernels_c/nnet.py
    ("crossentropy", lambda: T.nnet.crossentropy_categorical_1hot(x, i), "py"),
]


@pytest.mark.parametrize("name,build,backend", LABELS, ids=[c[0] for c in LABELS])
def test_backend_labels(name, build, backend):
    node = build().owner
    thunk = make_thunk(node)
    assert thunk.backend == backend, f"{name}: {node} runs on {thunk.backend}"
    if backend == "numpy":
        assert isinstance(thunk, NumpyThunk) and is_numpy_backed(node.op)


def test_py_linker_runs_perform_everywhere():
    assert make_thunk(T.concatenate([x, y]).owner, ()).backend == "py"


def test_numpy_thunk_runs_perform():
    node = T.concatenate([x, y], axis=1).owner
    thunk = NumpyThunk(node)
    assert isinstance(thunk, CyPyThunk) and "numpy" in repr(thunk)
    storage = CyStorage(3)
    thunk.bind(storage, [0, 1], [2])
    a, b = np.ones((2, 3)), np.zeros((2, 1))
    storage[0], storage[1] = a, b
    thunk()
    np.testing.assert_array_equal(storage[2], np.concatenate([a, b], axis=1))


def test_c_kernels_registered_later_still_win():
    node = T.concatenate([x, y]).owner
    sentinel = object()

    def late_kernel(node):
        return sentinel

    kernels_c.register(Join)(late_kernel)
    try:
        assert kernels_c.make_thunk(node) is sentinel
    finally:
        kernels_c.KERNELS[Join].remove(late_kernel)
    assert kernels_c.make_thunk(node).backend == "numpy"


@pytest.mark.parametrize("linker", ["py", "vm", "cvm", "cvm_nogc"])
def test_numpy_backed_functions_give_numpy_results(linker):
    f = sa.function([x, y], [T.concatenate([x, y]), T.sort(x, axis=0), x.T],
                    mode=sa.Mode(linker=linker))
    a, b = np.arange(6.0).reshape(2, 3)[::-1], np.ones((1, 3))
    got = f(a, b)
    for g, e in zip(got, [np.concatenate([a, b]), np.sort(a, axis=0), a.T],
                    strict=True):
        np.testing.assert_array_equal(g, e)
    assert not np.shares_memory(got[2], a)  # the alias guard still copies


def test_perform_thunks_do_not_claim_fresh_outputs():
    f = sa.function([x, y], T.concatenate([x, y]), mode=sa.Mode(linker="cvm"))
    assert not f.vm.program.outputs_fresh


def test_print_thunk_backends(capsys):
    with config.change_flags(print_thunk_backends=True):
        sa.function([x, i], [T.inc_subtensor(x[i], 1.0), T.concatenate([x, x])],
                    mode=sa.Mode(linker="cvm"))
    out = capsys.readouterr().out
    assert "thunk backends: 2 nodes (c: 1, numpy: 1)" in out
    assert any("c" in line.split() and "AdvancedIncSubtensor1" in line
               for line in out.splitlines())
    assert any("numpy" in line.split() and "Join" in line for line in out.splitlines())
    sa.function([x], T.exp(x))
    assert capsys.readouterr().out == ""  # off by default


def test_backend_table_lists_every_node():
    f = sa.function([x], [T.exp(x), T.sort(x), T.nnet.softmax(x)],
                    mode=sa.Mode(linker="cvm"))
    table = backend_table(f.vm.program).splitlines()
    assert len(table) == 2 + len(f.vm.program.nodes)
    assert {line.split()[1] for line in table[2:]} <= {"c", "numpy", "py"}


def test_docs_list_every_numpy_backed_op():
    docs = pathlib.Path(__file__).resolve().parents[2] / "docs" / "kernels.md"
    text = docs.read_text()
    missing = [c.__name__ for c in NUMPY_BACKED if f"`{c.__name__}`" not in text]
    assert not missing, f"docs/kernels.md does not list {missing}"
