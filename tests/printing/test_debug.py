"""Tests of symarray.printing.debug: debugprint's tree, ids, options, errors."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.graph import FunctionGraph
from symarray.printing import debugprint
from symarray.tensor.subtensor_inc import IncSubtensor


def _dp(obj, **kw) -> list[str]:
    return debugprint(obj, file="str", **kw).rstrip("\n").split("\n")


@pytest.fixture
def xy():
    return T.dvector("x"), T.dvector("y")


def test_tree_layout_matches_theano_style(xy):
    x, y = xy
    assert _dp((x + y) * T.exp(x)) == [
        "mul [id A]",
        " |add [id B]",
        " | |x [id C]",
        " | |y [id D]",
        " |exp [id E]",
        "   |x [id C]",
    ]


def test_shared_subexpression_is_expanded_once(xy):
    x, y = xy
    s = T.exp(x + y)
    lines = _dp(s * s + s)
    assert sum("exp [id" in ln for ln in lines) == 3
    # the first exp line is followed by its input, the later ones are not
    exp_rows = [k for k, ln in enumerate(lines) if "exp [id" in ln]
    assert "add [id" in lines[exp_rows[0] + 1]
    for k in exp_rows[1:]:
        assert k + 1 == len(lines) or "add [id" not in lines[k + 1] or (
            lines[k + 1].index("|") <= lines[k].index("|"))
    ids = {re.search(r"\[id (\w+)\]", ln).group(1) for ln in lines if "exp" in ln}
    assert len(ids) == 1


@pytest.mark.parametrize("obj_kind", ["variable", "list", "tuple", "apply", "fgraph"])
def test_every_object_kind(xy, obj_kind):
    x, y = xy
    out = T.exp(x) * y
    obj = {"variable": out, "list": [out, x + 1], "tuple": (out,), "apply": out.owner,
           "fgraph": FunctionGraph([x, y], [out])}[obj_kind]
    lines = _dp(obj)
    assert lines[0].startswith("mul [id A]")
    assert any("exp" in ln for ln in lines)
    if obj_kind == "fgraph":  # schedule positions
        assert lines[0].endswith("   1") and lines[1].endswith("   0")
    if obj_kind == "list":
        assert any(ln.startswith("add [id") for ln in lines)


@pytest.mark.parametrize("linker, backend", [("py", "py"), ("cvm", "c"), ("vm", "c")])
def test_compiled_function_shows_schedule_and_backend(xy, linker, backend):
    x, y = xy
    f = theano.function([x, y], T.dot(x, y) + 1.0, mode=theano.Mode(linker=linker))
    lines = _dp(f)
    n = len(f.maker.fgraph.apply_nodes)
    positions = [int(m.group(1)) for ln in lines
                 if (m := re.search(r"\]   (\d+) \[", ln))]
    assert sorted(positions) == list(range(n))
    tags = {m.group(1) for ln in lines if (m := re.search(r"   \d+ \[(\w+)\]$", ln))}
    assert backend in tags
    if linker == "py":
        assert tags == {"py"}


def test_print_type_and_shape(xy):
    x, _ = xy
    m = T.dmatrix("m")
    line = _dp(T.exp(m), print_type=True, print_shape=True)[0]
    assert line == f"exp [id A] <{m.type}> shape=(?, ?)"
    assert _dp(x, print_shape=True) == ["x [id A] shape=(?,)"]


def test_view_and_destroy_maps(xy):
    x, y = xy
    inplace = IncSubtensor(x[0:1].owner.op.idx_list, inplace=True,
                           set_instead_of_inc=True)(x, y[:1])
    lines = _dp(inplace, print_view_map=True, print_destroy_map=True)
    assert "d={0: [0]}" in lines[0]
    assert any("Subtensor" in ln and "v={0: [0]}" in ln for ln in lines)
    assert not any("d=" in ln or "v=" in ln for ln in _dp(inplace))


def test_names_and_constants(xy):
    x, _ = xy
    h = T.exp(x)
    h.name = "h"
    lines = _dp(h + np.arange(3.0))
    assert lines[1] == " |exp [id B] 'h'"
    assert any("TensorConstant{[0.0, 1.0, 2.0]}" in ln for ln in lines)
    big = _dp(x + np.ones(1000))
    assert any("TensorConstant{(1000,) of 1.0}" in ln for ln in big)


@pytest.mark.parametrize("ids, pattern", [
    ("CHAR", r"\[id [A-Z]+\]"), ("int", r"\[id \d+\]"), ("id", r"\[id \d+\]"),
    ("auto", r"\[id auto_\d+\]")])
def test_id_kinds(xy, ids, pattern):
    x, y = xy
    out = x * y
    lines = _dp(out, ids=ids)
    assert all(re.search(pattern, ln) for ln in lines)
    assert _dp(out, id_type=ids) == lines


def test_no_ids(xy):
    x, y = xy
    assert _dp(x * y, ids="") == ["mul", " |x", " |y"]


def test_depth(xy):
    x, y = xy
    out = T.exp(T.log(x) + y)
    assert len(_dp(out, depth=1)) == 1
    assert _dp(out, depth=2) == ["exp [id A]", " |add [id B]"]
    assert debugprint(out, depth=0, file="str") == "\n"


def test_stop_on_name_keeps_the_root_expanded(xy):
    x, y = xy
    h = T.exp(x)
    h.name = "h"
    out = h * y
    out.name = "out"
    lines = _dp(out, stop_on_name=True)
    assert lines == ["mul [id A] 'out'", " |exp [id B] 'h'", " |y [id C]"]


def test_done_and_used_ids_are_shared_between_calls(xy):
    x, y = xy
    e = T.exp(x)
    used: dict = {}
    done: dict = {}
    first = _dp(e * y, used_ids=used, done=done)
    second = _dp(e + 1, used_ids=used, done=done)
    e_id = re.search(r"exp (\[id \w+\])", first[1]).group(1)
    assert e_id in second[1]
    assert not any(ln.strip("| ").startswith("x [id") for ln in second)  # not expanded
    assert second[0].startswith("add [id") and "[id A]" not in second[0]


def test_file_targets(xy, capsys):
    x, y = xy
    assert debugprint(x + y) is None
    assert capsys.readouterr().out.startswith("add [id A]")
    buf = io.StringIO()
    assert debugprint(x + y, file=buf) is buf
    assert buf.getvalue().startswith("add [id A]")


def test_print_storage_in_no_gc_mode(xy):
    x, y = xy
    f = theano.function([x, y], T.sin(x) * y + T.cos(x),
                        mode=theano.Mode(linker="cvm_nogc", optimizer=None))
    f([1.0, 2.0], [3.0, 4.0])
    lines = _dp(f, print_storage=True)
    mul = next(ln for ln in lines if ln.lstrip(" |").startswith("mul"))
    np.testing.assert_allclose(
        eval(mul.split("storage=")[1]), np.sin([1.0, 2.0]) * [3.0, 4.0])
    # cells shared by the memory plan say so instead of showing another value
    assert all("storage=" not in ln or "[" in ln.split("storage=")[1]
               or "reused" in ln for ln in lines)


def test_print_clients_and_fgraph_inputs(xy):
    x, y = xy
    e = T.exp(x)
    lines = _dp(FunctionGraph([x, y], [e * y, e], clone=False), print_clients=True,
                print_fgraph_inputs=True)
    assert lines[:2] == ["-> x [id A]", "-> y [id B]"]
    assert any(re.search(r"exp \[id \w+\].*clients:\[id \w+\],output", ln)
               for ln in lines)


def test_deep_chain_does_not_recurse():
    x = T.dscalar("x")
    out = x
    for _ in range(1500):
        out = T.exp(out)
    lines = _dp(out)
    assert len(lines) == 1501 and lines[-1].lstrip(" |").startswith("x [id")


@pytest.mark.parametrize("kwargs, error, words", [
    ({"ids": "CHARS"}, ValueError, "ids must be one of"),
    ({"depth": -2}, ValueError, "depth must be"),
    ({"depth": 1.5}, ValueError, "depth must be"),
    ({"file": "out.txt"}, ValueError, "file must be None, 'str'"),
    ({"file": 3}, TypeError, "write method"),
    ({"done": []}, TypeError, "done must be a dict"),
    ({"used_ids": []}, TypeError, "used_ids must be a dict"),
    ({"ids": "int", "id_type": "CHAR"}, ValueError, "disagree"),
    ({"scan_ops": []}, TypeError, "not supported by symarray"),
    ({"colour": True}, TypeError, "unknown argument 'colour'"),
])
def test_bad_arguments(xy, kwargs, error, words):
    x, y = xy
    with pytest.raises(error, match=re.escape(words)):
        debugprint(x + y, **kwargs)


@pytest.mark.parametrize("obj", [3, "x", [], None])
def test_bad_objects(obj):
    with pytest.raises((TypeError, ValueError), match="pass a Variable"):
        debugprint(obj)
