"""Tests of symarray.compile.rewrite: optimizer names and mode tags -> rewrites."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import config
from symarray.compile.mode import REWRITE_PIPELINES, Mode
from symarray.compile.rewrite import (
    BASE_QUERIES,
    pipeline_for_mode,
    query_for_mode,
    rewrite_for_mode,
)
from symarray.errors import UnknownRewriteError
from symarray.graph.rewriting import REWRITES, RewriteQuery, engine, node_rewriter
from symarray.scalar.composite import Composite


@pytest.fixture(autouse=True)
def _verify(monkeypatch):
    monkeypatch.setattr(engine, "VERIFY_REWRITES", True)
    monkeypatch.setattr(engine, "ON_ERROR", "raise")


@node_rewriter([T.floor])
def local_test_floor_floor(fgraph, node):  # floor(floor(x)) -> floor(x)
    # a pattern no real rewrite handles, so no earlier phase pre-empts it
    inner = node.inputs[0].owner
    if inner is not None and inner.op == T.floor:
        return [inner.outputs[0]]
    return None


@pytest.fixture
def stabilize_rewrite():
    REWRITES.register(local_test_floor_floor, "stabilize", "fast_run")
    try:
        yield local_test_floor_floor
    finally:
        REWRITES.unregister("local_test_floor_floor")


def _graph():
    x = T.dvector("x")
    c = T.constant(np.ones(2))
    return x, T.exp(x) + T.exp(x) + T.exp(c)


def _summary(f):
    """The sorted op names of the rewritten graph, fused programs expanded.

    FAST_RUN fuses elementwise nodes into one ``Elemwise(Composite)``; its
    steps are the ops the separate nodes were, so merging and folding show
    in the summary whether or not fusion ran.
    """
    ops = []
    for node in f.maker.fgraph.apply_nodes:
        program = getattr(node.op, "scalar_op", None)
        if isinstance(program, Composite):
            ops.extend(str(step.op) for step in program.steps)
        else:
            ops.append(str(node.op))
    return sorted(ops)


@pytest.mark.parametrize("optimizer, ops", [
    (None, ["add", "add", "exp", "exp", "exp"]),
    ("merge", ["add", "add", "exp", "exp"]),
    ("fast_compile", ["add", "add", "exp"]),
    ("fast_run", ["add", "add", "exp"]),
    ("canonicalize", ["add", "add", "exp"]),
    ("stabilize", ["add", "add", "exp"]),
    ("specialize", ["add", "add", "exp"]),
])
def test_optimizer_names(optimizer, ops):
    x, out = _graph()
    f = sa.function([x], out, mode=Mode(linker="py", optimizer=optimizer))
    assert _summary(f) == ops
    np.testing.assert_allclose(f(np.zeros(2)), 2 + np.e)
    assert hasattr(f.maker.fgraph, "rewrite_stats") == (optimizer is not None)


def test_every_base_query_is_registered():
    for name in BASE_QUERIES:
        assert REWRITE_PIPELINES[name] is rewrite_for_mode
        Mode(optimizer=name)  # accepted
    assert "None" not in REWRITE_PIPELINES


def test_queries_follow_the_mode_tags():
    mode = Mode(optimizer="fast_compile").including("fast_run").excluding(
        "constant_folding").requiring("canonicalize")
    q = query_for_mode(mode)
    assert q == RewriteQuery(include=("fast_compile", "fast_run"),
                             exclude=("constant_folding",), require=("canonicalize",))
    assert query_for_mode(Mode(optimizer="stabilize")).last_phase == "stabilize"
    with pytest.raises(KeyError, match="no rewrite query for optimizer 'None'"):
        query_for_mode(Mode(optimizer=None))


def test_excluding_merge_keeps_duplicates():
    x, out = _graph()
    f = sa.function([x], out, mode=Mode(linker="py").excluding("merge"))
    assert _summary(f) == ["add", "add", "exp", "exp"]


def test_requiring_restricts_the_query():
    x, out = _graph()
    mode = Mode(linker="py", optimizer="fast_run").requiring("canonicalize")
    f = sa.function([x], out, mode=mode)  # folding, but no merge phase
    assert _summary(f) == ["add", "add", "exp", "exp"]


def test_unknown_tags_list_the_known_ones():
    x, out = _graph()
    with pytest.raises(UnknownRewriteError, match="exclude names 'constant_foldng'.*"
                       "did you mean 'constant_folding'.*known:"):
        sa.function([x], out, mode=Mode(linker="py").excluding("constant_foldng"))


def test_config_flags_reach_the_query(monkeypatch):
    monkeypatch.setattr(config, "optimizer_excluding", "merge:constant_folding")
    x, out = _graph()
    f = sa.function([x], out, mode=Mode(linker="py"))
    assert _summary(f) == ["add", "add", "exp", "exp", "exp"]


def test_phases_cut_off_at_the_optimizer_name(stabilize_rewrite):
    x = T.dvector("x")
    out = T.floor(T.floor(x)) * 2
    by_name = {}
    for name in ("canonicalize", "stabilize", "specialize", "fast_run"):
        f = sa.function([x], out, mode=Mode(linker="py", optimizer=name))
        by_name[name] = f.maker.fgraph.rewrite_stats.applied("local_test_floor_floor")
        np.testing.assert_allclose(f(np.full(2, 1.5)), [2.0, 2.0])
    assert by_name == {"canonicalize": 0, "stabilize": 1, "specialize": 1,
                       "fast_run": 1}
    excluded = Mode(linker="py").excluding("local_test_floor_floor")
    f = sa.function([x], out, mode=excluded)
    assert f.maker.fgraph.rewrite_stats.applied("local_test_floor_floor") == 0


def test_pipelines_are_cached_until_the_registry_changes(stabilize_rewrite):
    mode = Mode(optimizer="fast_run")
    first = pipeline_for_mode(mode)
    assert pipeline_for_mode(mode) is first
    assert "local_test_floor_floor" in repr(first)
    REWRITES.unregister("local_test_floor_floor")
    try:
        assert "local_test_floor_floor" not in repr(pipeline_for_mode(mode))
    finally:
        REWRITES.register(local_test_floor_floor, "stabilize", "fast_run")


def test_rewriting_many_protected_inputs_merges_them_all():
    # every input is protected from in-place ops; each of the 3000 merges is
    # validated (test_destroyhandler checks that validation asks only about
    # in-place nodes a change touched, so it costs nothing per protected input)
    xs = [T.dscalar(f"x{k}") for k in range(3000)]
    out = xs[0]
    for x in xs:
        out = out + (T.exp(x) + T.exp(x))
    f = sa.function(xs, out, mode=Mode(linker="py", optimizer="merge"))
    stats = f.maker.fgraph.rewrite_stats
    assert stats.phases["merge"].merged == 3000


def _load_docs_generator():
    root = pathlib.Path(__file__).resolve().parents[2]
    path = root / "docs" / "_gen_rewrite_table.py"
    spec = importlib.util.spec_from_file_location("_gen_rewrite_table", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_table_lists_every_rewrite_and_is_current():
    generator = _load_docs_generator()
    document = generator.DOC.read_text(encoding="utf-8")
    for entry in REWRITES:
        if generator._ours(entry.rewriter):
            assert f"| `{entry.name}` |" in document, f"{entry.name} missing"
    assert generator.splice(document, generator.render_table()) == document, (
        "docs/rewrites.md is out of date: run python docs/_gen_rewrite_table.py"
    )
