"""Tests of symarray.graph.rewriting.basic: rewriters, the registry, queries."""

from __future__ import annotations

import pytest

import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.errors import UnknownRewriteError
from symarray.graph.rewriting import (
    PHASES,
    REWRITES,
    GraphRewriter,
    NodeRewriter,
    RewriteQuery,
    RewriteRegistry,
    graph_rewriter,
    node_rewriter,
    register_rewrite,
)
from symarray.tensor.elemwise import Elemwise


def _noop(fgraph, node):
    return None


def test_node_rewriter_decorator_keeps_name_tracks_and_doc():
    @node_rewriter([T.exp, Elemwise])
    def local_thing(fgraph, node):
        """x -> x"""
        return None

    assert isinstance(local_thing, NodeRewriter)
    assert local_thing.name == "local_thing" and local_thing.__doc__ == "x -> x"
    assert local_thing.tracks == (T.exp, Elemwise)
    assert node_rewriter(None)(_noop).tracks is None
    assert node_rewriter([T.exp], name="other")(_noop).name == "other"


@pytest.mark.parametrize("tracks, message", [
    ([3], "tracks must hold Op classes or Op instances, got 3"),
    ([int], "tracks must hold Op classes"),
    ([], "tracks is empty"),
])
def test_node_rewriter_rejects_bad_tracks(tracks, message):
    with pytest.raises((TypeError, ValueError), match=message):
        node_rewriter(tracks)(_noop)


def test_graph_rewriter_decorator_counts_changes():
    @graph_rewriter()
    def whole(fgraph):
        return 3

    @graph_rewriter("named")
    def nothing(fgraph):
        return None

    assert isinstance(whole, GraphRewriter) and whole.name == "whole"
    assert whole.apply(None) == 3 and nothing.apply(None) == 0
    assert nothing.name == "named"
    with pytest.raises(NotImplementedError, match="must define apply"):
        GraphRewriter().apply(None)


def test_register_infers_phases_and_keeps_order():
    reg = RewriteRegistry()
    a = node_rewriter([T.exp], name="a")(_noop)
    b = node_rewriter([T.exp], name="b")(_noop)
    c = node_rewriter([T.exp], name="c")(_noop)
    register_rewrite("canonicalize", "stabilize", "fast_run", registry=reg)(a)
    register_rewrite("canonicalize", "fast_run", position=0.5, registry=reg)(b)
    assert register_rewrite(c, "specialize", registry=reg) is c  # direct form
    assert reg["a"].phases == ("canonicalize", "stabilize")
    assert reg["c"].phases == ("specialize",)
    assert reg["a"].all_tags == {"a", "canonicalize", "stabilize", "fast_run"}
    chosen = reg.select(RewriteQuery(include=("canonicalize", "specialize")))
    assert [e.name for e in chosen["canonicalize"]] == ["b", "a"]  # by position
    assert [e.name for e in chosen["stabilize"]] == ["a"]
    assert [e.name for e in chosen["specialize"]] == ["c"]
    assert list(chosen) == list(PHASES)
    assert len(reg) == 3 and "a" in reg and {e.name for e in reg} == {"a", "b", "c"}


def test_explicit_phase_and_registration_errors():
    reg = RewriteRegistry()
    rw = node_rewriter([T.exp], name="x")(_noop)
    reg.register(rw, "fast_run", phase="stabilize")
    assert reg["x"].phases == ("stabilize",)
    assert "stabilize" in reg["x"].all_tags
    with pytest.raises(ValueError, match="'x' is already registered"):
        reg.register(rw, "canonicalize")
    with pytest.raises(ValueError, match="name a phase among the tags or pass phase="):
        reg.register(rw, "fast_run", name="y")
    with pytest.raises(ValueError, match=r"got \['canonicalise'\]"):
        reg.register(rw, name="z", phase="canonicalise")
    with pytest.raises(TypeError, match="decorate the function with @node_rewriter"):
        register_rewrite("canonicalize", registry=reg)(_noop)
    with pytest.raises(TypeError, match="tags must be strings"):
        reg.register(rw, "canonicalize", 3, name="w")


def test_query_include_exclude_require_and_last_phase():
    reg = RewriteRegistry()
    for name, tags in [
        ("fold", ("canonicalize", "fast_run", "fast_compile")),
        ("algebra", ("canonicalize", "fast_run")),
        ("stable", ("stabilize", "fast_run")),
        ("opt_in", ("specialize", "unsafe")),
    ]:
        reg.register(node_rewriter([T.exp], name=name)(_noop), *tags)

    def names(query):
        return sorted(e.name for es in reg.select(query).values() for e in es)

    assert names(RewriteQuery(include=("fast_run",))) == ["algebra", "fold", "stable"]
    assert names(RewriteQuery(include=("fast_compile",))) == ["fold"]
    assert names(RewriteQuery(include=("fast_run", "unsafe"))) == [
        "algebra", "fold", "opt_in", "stable"]
    assert names(RewriteQuery(include=("fast_run",), exclude=("fold",))) == [
        "algebra", "stable"]
    assert names(RewriteQuery(include=("fast_run",), require=("fast_compile",))) == [
        "fold"]
    assert names(RewriteQuery(include=("fast_run",), last_phase="canonicalize")) == [
        "algebra", "fold"]
    assert names(RewriteQuery()) == []
    q = RewriteQuery(include=("fast_run",)).excluding("stable").requiring("fast_run")
    assert q.include == ("fast_run",) and q.exclude == ("stable",)
    assert q.including("unsafe").include == ("fast_run", "unsafe")
    assert names(q) == ["algebra", "fold"]


def test_unknown_names_in_a_query_list_the_known_ones():
    reg = RewriteRegistry()
    reg.register(node_rewriter([T.exp], name="local_exp_log")(_noop), "canonicalize")
    with pytest.raises(UnknownRewriteError, match=(
            "exclude names 'local_exp_lg'.*did you mean 'local_exp_log'.*known: .*"
            "fast_run")):
        reg.select(RewriteQuery(include=("fast_run",), exclude=("local_exp_lg",)))
    with pytest.raises(UnknownRewriteError, match="include names 'nope'"):
        reg.select(RewriteQuery(include=("nope",)))
    with pytest.raises(UnknownRewriteError, match="unknown last phase 'stabilise'"):
        reg.select(RewriteQuery(include=("fast_run",), last_phase="stabilise"))
    with pytest.raises(UnknownRewriteError, match="no rewrite named 'local_exp'.*"
                       "did you mean 'local_exp_log'"):
        reg["local_exp"]
    # phases and the usual tags are known even with no rewrite carrying them
    reg.select(RewriteQuery(include=("fast_run",),
                            exclude=("fusion", "inplace", "gpu")))
    reg.declare_tags("later")
    reg.select(RewriteQuery(include=("later",)))


def test_unregister_and_version():
    reg = RewriteRegistry()
    v0 = reg.version
    reg.register(node_rewriter([T.exp], name="t")(_noop), "canonicalize")
    assert reg.version > v0
    entry = reg.unregister("t")
    assert entry.name == "t" and "t" not in reg
    with pytest.raises(UnknownRewriteError, match="no rewrite named 't'"):
        reg.unregister("t")


def test_global_registry_holds_merge():
    entry = REWRITES["merge"]
    assert entry.phases == ("merge",)
    assert {"fast_run", "fast_compile"} <= entry.tags
