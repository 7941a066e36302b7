"""Tests of symarray.graph.destroyhandler: views, overwrites, orderings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.errors import SymarrayError
from symarray.graph import destroyhandler
from symarray.graph.basic import Apply, Constant, Op, Variable
from symarray.graph.destroyhandler import DestroyHandler, get_destroy_handler
from symarray.graph.fg import FunctionGraph, InconsistencyError, Supervisor
from symarray.graph.traversal import io_toposort

VEC = T.dvector().type


class Toy(Op):
    """An op that only declares maps: the handler never runs it."""

    __props__ = ("name", "nin", "view", "destroy", "allowed")

    def __init__(self, name: str, nin: int, view: tuple[int, ...] = (),
                 destroy: tuple[int, ...] = (),
                 allowed: tuple[tuple[int, int], ...] = ()) -> None:
        self.name, self.nin = name, nin
        self.view, self.destroy, self.allowed = view, destroy, allowed
        self.view_map = {0: list(view)} if view else {}
        self.destroy_map = {0: list(destroy)} if destroy else {}
        if allowed:
            self.destroy_allowed_aliases = set(allowed)

    def make_node(self, *inputs: Variable) -> Apply:
        assert len(inputs) == self.nin
        return Apply(self, list(inputs), [VEC()])

    def __str__(self) -> str:
        return self.name


read1, read2 = Toy("read1", 1), Toy("read2", 2)
view = Toy("view", 1, view=(0,))
view_either = Toy("view_either", 2, view=(0, 1))
kill = Toy("kill", 1, destroy=(0,))
kill0 = Toy("kill0", 2, destroy=(0,))
kill1 = Toy("kill1", 2, destroy=(1,))
kill0_tolerant = Toy("kill0_tolerant", 2, destroy=(0,), allowed=((0, 1),))
kill0_loose = Toy("kill0_loose", 3, destroy=(0,), allowed=((0, 2),))


def _fg(inputs, outputs, mutable=()):
    return FunctionGraph(inputs, outputs, features=[DestroyHandler(mutable)],
                         clone=False)


def _vars(n=2):
    return [VEC(f"x{k}") for k in range(n)]


# -- what may be overwritten ---------------------------------------------------


def test_overwriting_a_temporary_read_once_is_fine():
    (x,) = _vars(1)
    out = kill(read1(x))
    fg = _fg([x], [out])
    fg.validate()
    assert fg.destroyers(out.owner.inputs[0]) == [out.owner]
    assert fg.destroy_handler.orderings(fg) == {}


def test_graph_inputs_are_protected_unless_mutable():
    (x,) = _vars(1)
    with pytest.raises(InconsistencyError, match="not mutable.*mutable=True"):
        _fg([x], [kill(x)]).validate()
    _fg([x], [kill(x)], mutable=[x]).validate()
    # through a view too
    with pytest.raises(InconsistencyError, match="not mutable"):
        _fg([x], [kill(view(x))]).validate()


def test_constants_and_their_views_are_never_overwritten():
    (x,) = _vars(1)
    c = Constant(VEC, np.zeros(3))
    for target in (c, view(c)):
        fg = _fg([x], [read2(x, kill(target))])
        with pytest.raises(InconsistencyError, match="constant"):
            fg.validate()


def test_values_that_are_outputs_are_not_overwritten():
    (x,) = _vars(1)
    t = read1(x)
    with pytest.raises(InconsistencyError, match="output of the graph"):
        _fg([x], [kill(t), t]).validate()
    with pytest.raises(InconsistencyError, match="output of the graph"):
        _fg([x], [kill(t), view(t)]).validate()  # a view of it is returned
    d = kill(t)
    _fg([x], [d, d]).validate()  # the overwritten result itself may be returned


def test_one_destroyer_per_value():
    (x,) = _vars(1)
    t = read1(x)
    with pytest.raises(InconsistencyError, match="both overwrite"):
        _fg([x], [read2(kill(t), kill(view(t)))]).validate()


def test_a_destroyer_may_not_read_the_value_elsewhere_unless_declared():
    (x,) = _vars(1)
    t = read1(x)
    declare = r"destroy_allowed_aliases = \{\(0, 1\)\}"
    with pytest.raises(InconsistencyError, match=declare):
        _fg([x], [kill0(t, view(t))]).validate()
    _fg([x], [kill0_tolerant(t, view(t))]).validate()
    # a declaration about other inputs does not cover input 1
    with pytest.raises(InconsistencyError, match="as input 1"):
        _fg([x], [kill0_loose(t, t, x)]).validate()
    _fg([x], [kill0_loose(t, x, t)]).validate()


# -- orderings and cycles ------------------------------------------------------


def test_other_readers_run_before_the_destroyer():
    x, y = _vars()
    t = read1(x)
    r = read1(t)        # reads t, unrelated to the destroyer
    d = kill0(t, y)     # overwrites t
    fg = _fg([x, y], [read2(r, d)])
    fg.validate()
    order = fg.toposort()
    assert fg.destroy_handler.orderings(fg) == {d.owner: [r.owner]}
    assert order.index(r.owner) < order.index(d.owner)


def test_readers_of_views_run_before_the_destroyer():
    (x,) = _vars(1)
    t = read1(x)
    v = view(t)
    r = read1(v)
    d = kill(t)
    fg = _fg([x], [read2(r, d)])
    fg.validate()
    order = fg.toposort()
    assert order.index(r.owner) < order.index(d.owner)
    assert fg.destroyers(v) == [d.owner]


def test_a_reader_that_needs_the_destroyers_result_is_a_cycle():
    (x,) = _vars(1)
    t = read1(x)
    d = kill(t)
    late = read2(t, d)  # reads t *after* d overwrote it
    with pytest.raises(InconsistencyError, match="run before"):
        _fg([x], [late]).validate()


def test_same_level_readers_are_reordered():
    x, y = _vars()
    t = read1(x)
    a = read1(t)            # level 1
    d = kill0(t, y)         # level 1 too: must move after a
    tail = read1(read1(d))
    fg = _fg([x, y], [read2(a, tail)])
    fg.validate()
    levels = fg.destroy_handler.levels
    assert levels[a.owner] < levels[d.owner] < levels[tail.owner.inputs[0].owner]
    order = fg.toposort()
    assert order.index(a.owner) < order.index(d.owner)


# -- incremental changes -------------------------------------------------------


def test_a_vetoed_replacement_is_rolled_back():
    x, y = _vars()
    t = read1(x)
    d = kill0(t, y)
    out = read1(d)
    fg = _fg([x, y], [out])
    fg.validate()
    # make the destroyer's other input read t's value after it is overwritten
    bad = read2(t, out)
    with pytest.raises(InconsistencyError):
        fg.replace_all_validate([(y, bad)])
    fg.check_integrity()
    assert d.owner.inputs[1] is y
    fg.validate()  # the old graph is still fine
    # a harmless replacement afterwards validates
    fg.replace_all_validate([(y, read1(x))])
    fg.check_integrity()


def test_a_new_reader_after_the_destroyer_is_refused():
    (x,) = _vars(1)
    t = read1(x)
    d = kill(t)
    u = read1(d)
    fg = _fg([x], [u])
    fg.validate()
    with pytest.raises(InconsistencyError):
        fg.replace_all_validate([(u, read2(u, t))])  # reads t at the end
    assert fg.outputs[0] is u


def test_moving_a_view_under_a_protected_input_is_refused():
    (x,) = _vars(1)
    t = read1(x)
    v = view(t)
    fg = _fg([x], [kill(v)])
    fg.validate()
    with pytest.raises(InconsistencyError, match="not mutable"):
        fg.replace_all_validate([(t, x)])  # the view now shows the input
    assert v.owner.inputs[0] is t


def test_supervisor_asks_the_handler():
    x, y = _vars()
    fg = FunctionGraph([x, y], [kill(x)], clone=False,
                       features=[DestroyHandler([x]), Supervisor([x])])
    with pytest.raises(InconsistencyError, match="must not modify"):
        fg.validate()
    assert fg.destroyers(x) == [fg.outputs[0].owner]
    assert fg.destroyers(y) == []


def test_supervisor_checks_only_what_a_change_touched(monkeypatch):
    xs = _vars(3000)
    t = read1(xs[0])
    outs = [read1(x) for x in xs[1:]] + [kill(view(t))]
    # the handler may overwrite every input; the supervisor protects them all
    fg = FunctionGraph(xs, outs, clone=False,
                       features=[DestroyHandler(xs), Supervisor(xs)])
    fg.validate()  # the first check looks at every destroyer
    asked = []
    real = DestroyHandler.overwritten_roots
    monkeypatch.setattr(DestroyHandler, "overwritten_roots",
                        lambda self, node: asked.append(node) or real(self, node))
    for k in range(1, 3000):  # no destroyer involved: nothing to ask
        fg.replace_all_validate([(outs[k - 1], read2(xs[k], xs[k - 1]))])
    assert asked == []
    with pytest.raises(InconsistencyError, match="kill.*would overwrite x0.*must "
                       "not modify.*mutable=True"):
        fg.replace_all_validate([(t, xs[0])])  # kill(view(x0))
    assert fg.outputs[-1].owner.inputs[0].owner.inputs[0] is t  # rolled back
    assert len(asked) == 1


def test_supervisor_follows_the_graph_into_clones():
    x, y = _vars()
    t = read1(x)
    fg = FunctionGraph([x, y], [kill(t)], clone=False,
                       features=[DestroyHandler([x]), Supervisor([x])])
    fg.validate()
    cp, equiv = fg.clone_get_equiv()
    (sup,) = [f for f in cp.features if isinstance(f, Supervisor)]
    assert sup.protected == [equiv[x]]
    with pytest.raises(InconsistencyError, match="must not modify"):
        cp.replace_all_validate([(equiv[t], equiv[x])])


def test_why_not_destroy():
    x, y = _vars()
    t = read1(x)
    a = read1(t)
    b = read2(t, a)      # a is on a lower level than b
    fg = _fg([x, y], [b, read1(t)])
    h = fg.destroy_handler
    assert h.why_not_destroy(b.owner, 0) is None
    assert "not mutable" in h.why_not_destroy(t.owner, 0)
    # b reads t after a: a may not overwrite it (b -> a would close a cycle)
    assert "depends on the result of" in h.why_not_destroy(a.owner, 0)


def _replace_with_destroyer(fg, node, i):
    """Replace ``node`` (read1 or read2) by the variant overwriting input i."""
    op = kill if node.op.nin == 1 else (kill0, kill1)[i]
    fg.replace_all_validate([(node.outputs[0], op(*node.inputs))])
    return fg.outputs  # (for chaining in tests)


def test_why_not_destroy_accepts_readers_on_any_level_that_can_run_first():
    x, y = _vars()
    t = read1(x)
    a = read2(t, y)          # reads t
    late = read2(read1(read1(t)), t)  # reads t too, levels above a
    fg = _fg([x, y], [read2(a, late)])
    h = fg.destroy_handler
    h._ensure_levels()
    assert h.levels[late.owner] > h.levels[a.owner]
    # t's other readers do not depend on a: it may overwrite t
    assert h.why_not_destroy(a.owner, 0) is None
    _replace_with_destroyer(fg, a.owner, 0)
    (d,) = fg.destroyers(t)
    order = fg.toposort()
    readers = [c for c, _ in fg.clients[t] if c is not d]
    assert readers and all(order.index(c) < order.index(d) for c in readers)
    assert all(h.levels[c] < h.levels[d] for c in readers)


def test_a_destroyer_whose_reader_needs_its_result_is_still_refused():
    x, y = _vars()
    t = read1(x)
    v = view(t)
    a = read2(t, y)
    after = read2(v, a)      # reads t (through a view) after a
    fg = _fg([x, y], [after])
    h = fg.destroy_handler
    why = h.why_not_destroy(a.owner, 0)
    assert why is not None and "depends on the result" in why
    with pytest.raises(InconsistencyError, match="run before"):
        _replace_with_destroyer(fg, a.owner, 0)
    fg.check_integrity()


def test_why_not_destroy_follows_ordering_edges():
    # a -> (ordering) k -> r: r reads t and depends on a only through the
    # ordering that runs a (a reader of u) before k, which overwrites u
    x, y = _vars()
    t, u = read1(x), read1(y)
    a = read2(t, u)
    k = kill(u)
    r = read2(t, k)
    fg = _fg([x, y], [read2(a, r)])
    fg.validate()
    h = fg.destroy_handler
    why = h.why_not_destroy(a.owner, 0)
    assert why is not None and "depends on the result" in why


def test_why_not_destroy_gives_up_past_its_search_budget(monkeypatch):
    x, y = _vars()
    t = read1(x)
    a = read2(t, y)
    tail = a
    for _ in range(30):
        tail = read1(tail)
    late = t
    for _ in range(40):
        late = read1(late)
    late = read2(late, t)    # reads t far above a, no path from a
    fg = _fg([x, y], [read2(tail, late)])
    h = fg.destroy_handler
    assert h.why_not_destroy(a.owner, 0) is None
    monkeypatch.setattr(destroyhandler, "SEARCH_BUDGET", 10)
    assert "search" in h.why_not_destroy(a.owner, 0)


def test_why_not_destroy_checks_an_unvalidated_rollback_first():
    x, y = _vars()
    t = read1(x)
    d = kill0(t, y)
    out = read1(d)
    u = read1(x)
    p, q = read1(u), read2(read1(u), u)
    fg = _fg([x, y], [out, p, q])
    fg.validate()
    with pytest.raises(InconsistencyError):  # rolled back, not validated again
        fg.replace_all_validate([(y, read2(t, out))])
    h = fg.destroy_handler
    assert h.pending or h.dirty
    assert h.why_not_destroy(p.owner, 0) is None  # q reads u, can run first
    assert not h.pending and not h.dirty


def test_one_handler_per_graph_and_clone():
    x, y = _vars()
    fg = _fg([x, y], [kill(x)], mutable=[x])
    assert get_destroy_handler(fg) is fg.destroy_handler
    with pytest.raises(ValueError, match="already has a destroy handler"):
        fg.attach_feature(DestroyHandler())
    clone = fg.clone()
    clone.validate()  # x is still mutable in the clone
    assert clone.destroy_handler is not fg.destroy_handler
    fg.remove_feature(fg.destroy_handler)
    assert not hasattr(fg, "destroyers")


# -- property test: incremental answers equal a from-scratch check -------------

KINDS = [read1, read2, view, view_either, kill, kill0, kill1, kill0_tolerant]
#: initial programs mostly read, so that changes start from a valid graph
START_KINDS = [read1, read2, read1, read2, view, view_either, kill, kill0]


def reference_ok(inputs, outputs, mutable):
    """Whether the graph is safe, checked from scratch (no handler)."""
    return reference_orderings(inputs, outputs, mutable) is not None


def reference_orderings(inputs, outputs, mutable):
    """Destroyer -> the readers that must run first; None if the graph is unsafe."""
    fg = FunctionGraph(inputs, outputs, clone=False)
    nodes = io_toposort(fg.inputs, fg.outputs)
    view_of = {}
    for n in nodes:
        for j, srcs in n.op.view_map.items():
            view_of[n.outputs[j]] = [n.inputs[i] for i in srcs]

    def roots(v):
        srcs = view_of.get(v)
        return {v} if not srcs else set().union(*(roots(s) for s in srcs))

    owner_of_root = {}
    orderings = {}
    for d in nodes:
        allowed = getattr(d.op, "destroy_allowed_aliases", set())
        for i in {i for lst in d.op.destroy_map.values() for i in lst}:
            for r in roots(d.inputs[i]):
                if isinstance(r, Constant) or (r.owner is None and r not in mutable):
                    return None
                if owner_of_root.setdefault(r, d) is not d:
                    return None
                for v in fg.variables:
                    if r not in roots(v):
                        continue
                    for c, k in fg.clients[v]:
                        if c == "output":
                            return None
                        if c is d:
                            if k != i and (i, k) not in allowed:
                                return None
                            continue
                        orderings.setdefault(d, []).append(c)
    try:
        io_toposort(fg.inputs, fg.outputs, orderings)
    except SymarrayError:
        return None
    return orderings


@st.composite
def scenarios(draw):
    n = draw(st.integers(2, 10))
    program = []
    for k in range(n):
        op = draw(st.sampled_from(START_KINDS))
        args = tuple(draw(st.integers(0, 2 + k)) for _ in range(op.nin))
        program.append((op, args))
    outputs = draw(st.lists(st.integers(0, 2 + n), min_size=1, max_size=3))
    changes = []
    for _ in range(draw(st.integers(1, 12))):
        k = draw(st.integers(0, n - 1))
        op = draw(st.sampled_from(KINDS))
        args = tuple(draw(st.integers(0, 2 + k)) for _ in range(op.nin))
        changes.append((k, op, args))
    return program, outputs, changes, draw(st.booleans())


def _build(leaves, program):
    pool = list(leaves)
    for op, args in program:
        pool.append(op(*[pool[a] for a in args]))
    return pool


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_incremental_validation_matches_a_full_check(scenario):
    program, outputs, changes, levels_now = scenario
    x, y = _vars()
    c = Constant(VEC, np.zeros(3))
    leaves = [x, y, c]  # x is mutable, y is not
    pool = _build(leaves, program)
    outs = [pool[k] for k in outputs]
    ok = reference_ok([x, y], outs, {x})
    fg = FunctionGraph([x, y], outs, clone=False, features=[DestroyHandler([x])])
    try:
        fg.validate()
        assert ok
    except InconsistencyError:
        assert not ok
        return
    if levels_now:  # exercise the incremental level repairs from the start
        fg.destroy_handler._ensure_levels()
    for k, op, args in changes:
        trial = list(program)
        trial[k] = (op, args)
        trial_pool = _build(leaves, trial)
        want = reference_ok([x, y], [trial_pool[j] for j in outputs], {x})
        old = pool[3 + k]
        new = op(*[pool[a] for a in args])
        if old in fg.variables:
            try:
                fg.replace_all_validate([(old, new)])
            except InconsistencyError:
                assert not want, f"refused a valid change {k} -> {op}{args}"
                fg.check_integrity()
                continue
        assert want, f"accepted an invalid change {k} -> {op}{args}"
        fg.check_integrity()
        program = trial
        pool[3 + k] = new
        # variables outside the graph still read the old one: build them anew
        for j in range(k + 1, len(program)):
            if pool[3 + j].owner not in fg.apply_nodes:
                op_j, args_j = program[j]
                pool[3 + j] = op_j(*[pool[a] for a in args_j])
        orderings = fg.destroy_handler.orderings(fg)
        where = {n: i for i, n in enumerate(fg.toposort())}
        for d, readers in orderings.items():
            assert all(where[r] < where[d] for r in readers)


def _check_schedule(fg, mutable):
    """The handler's schedule runs each reader before the destroyer (from scratch)."""
    orderings = reference_orderings(fg.inputs, fg.outputs, mutable)
    assert orderings is not None
    where = {n: k for k, n in enumerate(fg.toposort())}
    for d, readers in orderings.items():
        assert all(where[r] < where[d] for r in readers), d


def _replaced(fg, old, new):
    """fg's outputs with ``old`` replaced by ``new``; only nodes below it rebuilt."""
    memo = {old: new}
    for n in io_toposort(fg.inputs, fg.outputs):
        if any(i in memo for i in n.inputs):
            memo[n.outputs[0]] = n.op(*[memo.get(i, i) for i in n.inputs])
    return [memo.get(o, o) for o in fg.outputs]


@settings(max_examples=200, deadline=None)
@given(scenarios(), st.lists(st.tuples(st.integers(0, 40), st.integers(0, 1)),
                             min_size=1, max_size=8))
def test_why_not_destroy_is_exact(scenario, picks):
    # "may this reader overwrite input i?" equals a from-scratch check of the
    # graph with the replacement; a yes always validates
    program, outputs, _, levels_now = scenario
    x, y = _vars()
    leaves = [x, y, Constant(VEC, np.zeros(3))]
    pool = _build(leaves, program)
    outs = [pool[k] for k in outputs]
    if not reference_ok([x, y], outs, {x}):
        return
    fg = FunctionGraph([x, y], outs, clone=False, features=[DestroyHandler([x])])
    fg.validate()
    h = fg.destroy_handler
    if levels_now:
        h._ensure_levels()
    for k, i in picks:
        readers = [n for n in fg.toposort() if n.op in (read1, read2)]
        if not readers:
            break
        node = readers[k % len(readers)]
        i %= node.op.nin
        new = (kill if node.op.nin == 1 else (kill0, kill1)[i])(*node.inputs)
        trial = _replaced(fg, node.outputs[0], new)
        want = reference_ok([x, y], trial, {x})
        why = h.why_not_destroy(node, i)
        assert (why is None) == want, why
        if want:
            fg.replace_all_validate([(node.outputs[0], new)])
            fg.check_integrity()
            _check_schedule(fg, {x})
