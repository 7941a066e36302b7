"""Tests of symarray.compile.graph_cache: compiling a graph twice rewrites once."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import symarray as sa
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import config
from symarray.compile import In, graph_cache
from symarray.compile.mode import Mode
from symarray.graph.basic import Constant
from symarray.graph.rewriting import REWRITES, engine, node_rewriter
from symarray.graph.rewriting.basic import PHASES

FAST_RUN = Mode(linker="py", optimizer="fast_run")


@pytest.fixture(autouse=True)
def _verify(monkeypatch):
    monkeypatch.setattr(engine, "VERIFY_REWRITES", True)
    monkeypatch.setattr(engine, "ON_ERROR", "raise")
    monkeypatch.setattr(config, "graph_cache", True)
    graph_cache.clear()


def _mlp(dtype="float64", shape=(None, None), const=1.0, op=T.tanh):
    x = T.tensor(dtype=dtype, shape=shape, name="x")
    w = T.tensor(dtype=dtype, shape=(None, None), name="w")
    h = op(T.dot(x, w) + np.asarray(const, dtype=dtype))
    return [x, w], [h.sum() * 2, T.exp(h) - 1]


def _leaves(f):
    """ids of the non-constant ownerless variables the rewritten graph reads."""
    fg = f.maker.fgraph
    read = [i for n in fg.apply_nodes for i in n.inputs] + list(fg.outputs)
    return {id(v) for v in read if v.owner is None and not isinstance(v, Constant)}


def _ops(f):
    return [str(n.op) for n in f.maker.fgraph.toposort()]


def test_second_compile_hits_and_gives_the_same_graph_and_results():
    ins1, outs1 = _mlp()
    f = sa.function(ins1, outs1, mode=FAST_RUN)
    ins2, outs2 = _mlp()
    g = sa.function(ins2, outs2, mode=FAST_RUN)
    s = graph_cache.stats()
    assert (s.misses, s.hits, s.entries) == (1, 1, 1)
    assert not f.maker.fgraph.graph_cache_hit and g.maker.fgraph.graph_cache_hit
    assert _ops(f) == _ops(g)
    # the hit reads the new function's own inputs, nothing of the first graph
    assert _leaves(g) == {id(v) for v in g.maker.fgraph.inputs}
    assert not _leaves(g) & _leaves(f)
    g.maker.fgraph.check_integrity()
    # the stats of the rewrite that filled the entry come along
    rs_f, rs_g = f.maker.fgraph.rewrite_stats, g.maker.fgraph.rewrite_stats
    assert rs_g.rewriters.keys() == rs_f.rewriters.keys()
    assert all(rs_g.applied(k) == rs_f.applied(k) for k in rs_f.rewriters)
    rng = np.random.default_rng(0)
    vals = [rng.standard_normal((3, 4)), rng.standard_normal((4, 5))]
    for a, b in zip(f(*vals), g(*vals), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_hit_equals_a_fresh_rewrite(monkeypatch):
    ins, outs = _mlp()
    sa.function(ins, outs, mode=FAST_RUN)
    ins, outs = _mlp()
    hit = sa.function(ins, outs, mode=FAST_RUN)
    monkeypatch.setattr(config, "graph_cache", False)
    ins, outs = _mlp()
    fresh = sa.function(ins, outs, mode=FAST_RUN)
    assert hit.maker.fgraph.graph_cache_hit
    assert _ops(hit) == _ops(fresh)
    types = [[str(o.type) for o in n.outputs] for n in hit.maker.fgraph.toposort()]
    assert types == [[str(o.type) for o in n.outputs]
                     for n in fresh.maker.fgraph.toposort()]


def test_repeated_compiles_of_one_graph_hit():
    x = T.dvector("x")
    y = T.log(1 + T.exp(x)) * 3
    fs = [sa.function([x], y, mode=FAST_RUN) for _ in range(4)]
    assert (graph_cache.stats().misses, graph_cache.stats().hits) == (1, 3)
    for f in fs:
        np.testing.assert_allclose(f([1000.0, -2.0]), fs[0]([1000.0, -2.0]))


@pytest.mark.parametrize("change", [
    {"const": 2.0}, {"dtype": "float32"}, {"shape": (3, None)}, {"op": T.sigmoid},
])
def test_different_constants_types_or_ops_miss(change):
    sa.function(*_mlp(), mode=FAST_RUN)
    sa.function(*_mlp(**change), mode=FAST_RUN)
    s = graph_cache.stats()
    assert (s.misses, s.hits) == (2, 0)


def test_other_queries_input_orders_and_protection_miss():
    x, y = T.dvectors("x", "y")
    sa.function([x, y], x - T.exp(y), mode=FAST_RUN)
    sa.function([x, y], x - T.exp(y), mode=Mode(linker="py", optimizer="fast_compile"))
    sa.function([x, y], x - T.exp(y), mode=FAST_RUN.excluding("fusion"))
    f = sa.function([y, x], x - T.exp(y), mode=FAST_RUN)
    g = sa.function([x, In(y, mutable=True)], x - T.exp(y), mode=FAST_RUN)
    s = graph_cache.stats()
    assert (s.misses, s.hits) == (5, 0)
    np.testing.assert_allclose(f([0.0], [1.0]), [1 - np.exp(0.0)])
    np.testing.assert_allclose(g([1.0], [0.0]), [1 - np.exp(0.0)])


def test_the_same_graph_in_another_mode_linker_hits():
    x = T.dvector("x")
    sa.function([x], T.exp(x) + 1, mode=Mode(linker="py", optimizer="fast_run"))
    g = sa.function([x], T.exp(x) + 1, mode=Mode(linker="vm", optimizer="fast_run"))
    assert graph_cache.stats().hits == 1
    np.testing.assert_allclose(g([0.0]), [2.0])


def test_shared_variables_are_the_new_functions():
    x = T.dvector("x")
    s1 = sa.shared(np.ones(2), name="s1")
    s2 = sa.shared(np.full(2, 10.0), name="s2")
    f = sa.function([x], x * s1, updates={s1: s1 + x}, mode=FAST_RUN)
    g = sa.function([x], x * s2, updates={s2: s2 + x}, mode=FAST_RUN)
    assert graph_cache.stats().hits == 1
    containers = [getattr(v, "container", None) for v in g.maker.fgraph.inputs]
    assert containers[1] is s2.container and s1.container not in containers
    assert _leaves(g) == {id(v) for v in g.maker.fgraph.inputs}
    np.testing.assert_allclose(g([1.0, 2.0]), [10.0, 20.0])
    np.testing.assert_allclose(s2.get_value(), [11.0, 12.0])
    np.testing.assert_allclose(s1.get_value(), [1.0, 1.0])  # untouched
    np.testing.assert_allclose(f([1.0, 1.0]), [1.0, 1.0])
    np.testing.assert_allclose(s1.get_value(), [2.0, 2.0])


def test_in_place_nodes_are_seen_by_the_destroy_handler():
    x, w = T.dmatrices("x", "w")

    def build():
        return sa.function([x, w], T.exp(T.dot(x, w)) + 1, mode=FAST_RUN)

    build()
    g = build()
    assert graph_cache.stats().hits == 1
    handler = g.maker.fgraph.destroy_handler
    assert handler.destroyed_inputs == {
        n: (0,) for n in g.maker.fgraph.apply_nodes if n.op.destroy_map
    }
    assert handler.destroyed_inputs  # the fused add runs in place on dot's output
    xv, wv = np.eye(2), np.ones((2, 2))
    np.testing.assert_allclose(g(xv, wv), np.exp(xv @ wv) + 1)
    np.testing.assert_array_equal(xv, np.eye(2))  # inputs never overwritten


def test_mutable_inputs_stay_mutable_only_where_asked():
    x = T.dvector("x")
    f = sa.function([In(x, mutable=True)], T.exp(x) * 2, mode=FAST_RUN)
    g = sa.function([x], T.exp(x) * 2, mode=FAST_RUN)
    assert any(n.op.destroy_map for n in f.maker.fgraph.apply_nodes)
    assert not any(n.op.destroy_map for n in g.maker.fgraph.apply_nodes)
    assert graph_cache.stats().hits == 0
    v = np.zeros(2)
    g(v)
    np.testing.assert_array_equal(v, 0.0)


def test_outputs_that_are_inputs_constants_or_repeated():
    x = T.dvector("x")
    c = T.constant(np.arange(2.0))
    for _ in range(2):
        f = sa.function([x], [x, c * 2, T.exp(x), T.exp(x)], mode=FAST_RUN)
    assert graph_cache.stats().hits == 1
    out = f([0.0, 1.0])
    np.testing.assert_allclose(out[1], [0.0, 2.0])
    np.testing.assert_allclose(out[2], out[3])
    assert out[0] is not out[2]


def test_creation_sites_follow_the_new_graph():
    def site_lines(f):
        return {n.outputs[0].tag.site[1] for n in f.maker.fgraph.apply_nodes
                if n.outputs[0].tag.site is not None}

    x = T.dmatrix("x")
    y1 = T.dot(x, x)  # line A
    f = sa.function([x], T.tanh(y1), mode=FAST_RUN)
    y2 = T.dot(x, x)  # line B
    g = sa.function([x], T.tanh(y2), mode=FAST_RUN)
    assert graph_cache.stats().hits == 1
    assert y1.tag.site[1] in site_lines(f) and y1.tag.site[1] not in site_lines(g)
    assert y2.tag.site[1] in site_lines(g)


def test_flag_off_disables_it(monkeypatch):
    monkeypatch.setattr(config, "graph_cache", False)
    x = T.dvector("x")
    sa.function([x], T.exp(x), mode=FAST_RUN)
    f = sa.function([x], T.exp(x), mode=FAST_RUN)
    s = graph_cache.stats()
    assert (s.misses, s.hits, s.entries) == (0, 0, 0)
    assert not getattr(f.maker.fgraph, "graph_cache_hit", False)


def test_registering_a_rewrite_changes_every_key():
    x = T.dvector("x")
    sa.function([x], T.floor(T.floor(x)), mode=FAST_RUN)

    @node_rewriter([T.floor])
    def local_test_cache_floor(fgraph, node):  # floor(floor(x)) -> floor(x)
        inner = node.inputs[0].owner
        return [inner.outputs[0]] if inner and inner.op == T.floor else None

    REWRITES.register(local_test_cache_floor, "canonicalize", "fast_run")
    try:
        f = sa.function([x], T.floor(T.floor(x)), mode=FAST_RUN)
        assert graph_cache.stats().hits == 0
        assert f.maker.fgraph.rewrite_stats.applied("local_test_cache_floor") == 1
    finally:
        REWRITES.unregister("local_test_cache_floor")


def test_a_rewrite_that_warns_is_not_cached_and_warns_each_time():
    @node_rewriter([T.ceil])
    def local_test_cache_warns(fgraph, node):
        warnings.warn("ceil seen", UserWarning, stacklevel=1)

    REWRITES.register(local_test_cache_warns, PHASES[1], "test_cache_warns")
    try:
        mode = FAST_RUN.including("test_cache_warns")
        x = T.dvector("x")
        for _ in range(2):
            with pytest.warns(UserWarning, match="ceil seen"):
                sa.function([x], T.ceil(x), mode=mode)
        s = graph_cache.stats()
        assert (s.hits, s.misses, s.uncacheable) == (0, 0, 2)
    finally:
        REWRITES.unregister("local_test_cache_warns")


def test_least_recently_used_entries_are_evicted(monkeypatch):
    monkeypatch.setattr(graph_cache, "MAX_ENTRIES", 2)
    x = T.dvector("x")
    for op in (T.exp, T.sin, T.exp, T.cos):  # exp is used again: sin goes first
        sa.function([x], op(x), mode=FAST_RUN)
    s = graph_cache.stats()
    assert (s.entries, s.evictions, s.hits) == (2, 1, 1)
    sa.function([x], T.exp(x), mode=FAST_RUN)
    sa.function([x], T.sin(x), mode=FAST_RUN)
    assert graph_cache.stats().hits == 2


def test_structural_key_ignores_names_and_identity():
    from symarray.compile.rewrite import query_for_mode
    from symarray.graph.fg import FunctionGraph

    q = query_for_mode(FAST_RUN)
    a, b = T.dvector("a"), T.dvector("b")
    fg1 = FunctionGraph([a], [T.exp(a) + 2])
    k1 = graph_cache.structural_key(fg1, q)
    k2 = graph_cache.structural_key(FunctionGraph([b], [T.exp(b) + 2]), q)
    k3 = graph_cache.structural_key(FunctionGraph([b], [T.exp(b) + 3]), q)
    assert k1 is not None and k2 is not None and k3 is not None
    assert k1[0] == k2[0] and hash(k1[0]) == hash(k2[0])
    assert k1[0] != k3[0]
    assert k1[1][0] is fg1.inputs[0]  # the inputs, then each node's outputs
    assert len(k1[1]) == 1 + len(fg1.apply_nodes)


# -- which config flags are in the key ---------------------------------------------
#: a valid value other than the current one, for flags whose kind alone does
#: not give one
_OTHER_TEXT = {"linker": "vm", "device": "cuda", "optimizer_including": "fusion",
               "optimizer_excluding": "fusion", "optimizer_requiring": "fusion",
               "c_compiler": "other-cc", "base_compiledir": "/tmp/symarray-other"}


def _other_value(flag):
    value = getattr(config, flag.name)
    param = flag.param
    if flag.name in _OTHER_TEXT:
        return _OTHER_TEXT[flag.name]
    if isinstance(param, config.BoolParam):
        return not value
    if isinstance(param, config.EnumParam):
        return next(c for c in param.choices if c != value)
    if isinstance(param, (config.IntParam, config.FloatParam)):
        return value + 1
    raise AssertionError(f"give flag {flag.name!r} a value in _OTHER_TEXT")


def test_every_flag_says_whether_it_changes_the_rewritten_graph():
    # a new flag must be classified (affects_graph=True or False in config.py)
    kinds = {f.name: f.affects_graph for f in config.flags()}
    assert [n for n, k in kinds.items() if k is not True and k is not False] == []
    keyed = set(graph_cache.key_flags())
    assert keyed == {f.name for f in config.flags() if f.affects_graph}
    # read while rewriting / by ops made while rewriting
    assert {"floatX", "check_rewrites", "compute_test_value"} <= keyed
    # the Mode (its query is in the key), linking, thunks, calls, reports
    assert not keyed & {"linker", "mode", "optimizer", "allow_gc", "memory_plan",
                        "kernel_threads", "c_codegen", "c_compiler",
                        "c_codegen_dump_source", "print_thunk_backends", "profile",
                        "profile_memory", "profile_optimizer", "graph_cache"}


@pytest.mark.parametrize("name", [f.name for f in config.flags()
                                  if f.name != "graph_cache"])
# device=cuda warns that the CPU runs (no GPU backend yet); the key is checked
@pytest.mark.filterwarnings("ignore:device=:UserWarning")
def test_a_flag_changes_the_key_exactly_when_it_changes_the_graph(name, monkeypatch):
    from symarray.profiling import stats as profile_stats

    monkeypatch.setattr(profile_stats, "_ATEXIT", [])  # config.profile: no summary
    flag = next(f for f in config.flags() if f.name == name)
    x = T.dvector("x")
    sa.function([x], T.exp(x) * 2.0, mode=FAST_RUN)
    with config.change_flags({name: _other_value(flag)}):
        g = sa.function([x], T.exp(x) * 2.0, mode=FAST_RUN)
    assert graph_cache.stats().hits == (0 if flag.affects_graph else 1)
    np.testing.assert_allclose(g(np.zeros(2)), [2.0, 2.0])


def test_link_time_flags_apply_to_a_hit(capsys):
    x = T.dvector("x")
    f = sa.function([x], T.exp(x) + 1.0, mode=Mode(linker="cvm"))
    with config.change_flags(allow_gc=False, print_thunk_backends=True):
        g = sa.function([x], T.exp(x) + 1.0, mode=Mode(linker="cvm"))
    assert g.maker.fgraph.graph_cache_hit
    assert f.vm.allow_gc and not g.vm.allow_gc
    assert "thunk backends:" in capsys.readouterr().out
