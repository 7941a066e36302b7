"""Tests of symarray.profiling.attach: profiled functions and the VM twins.

The numbers must add up under every linker: node times sum to at most the
VM time, the VM time to at most the call time, and each node runs once per
call (fewer for the untaken branch of a lazy ifelse).  Profiling off leaves
no trace: no ProfileStats and the plain VM class.
"""

from __future__ import annotations

import re
import sys
import time
import types

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray import config, kernels_c
from symarray.compile.function import Function
from symarray.graph.basic import Apply, Op
from symarray.ifelse import ifelse
from symarray.profiling import ProfileStats, attach
from symarray.profiling import stats as stats_module
from symarray.profiling.attach import (
    CallTimedCyVM,
    CallTimedPyVM,
    ProfiledFunction,
    profiled_vm,
    resolve_profile,
)
from symarray.vm import CyPyThunk, CyVM, PyVM
from symarray.vm._cvm_profile import CyProfile, CyProfiledVM
from symarray.vm.pyvm import ProfiledPyVM

LINKERS = ["py", "vm", "cvm", "cvm_nogc"]
PROFILED_VM = {"py": CallTimedPyVM, "vm": CallTimedPyVM, "cvm": CallTimedCyVM,
               "cvm_nogc": CallTimedCyVM}


def chain(linker, profile=True):
    x = T.dvector("x")
    out = T.tanh(T.exp(T.sin(x)) * 2.0 + x).sum()
    mode = theano.Mode(linker=linker).excluding("fusion")
    return theano.function([x], out, mode=mode, profile=profile), x


@pytest.mark.parametrize("linker", LINKERS)
def test_numbers_add_up(linker):
    f, _ = chain(linker)
    v = np.linspace(0.0, 1.0, 7)
    for _ in range(5):
        np.testing.assert_allclose(f(v), np.tanh(np.exp(np.sin(v)) * 2 + v).sum())
    assert isinstance(f, ProfiledFunction) and type(f.vm) is PROFILED_VM[linker]
    (fs,) = f.profile.functions
    assert fs.calls == 5 and fs.vm_runs == 5 and fs.failed_runs == 0
    assert len(fs.nodes) == len(f.vm.program.nodes) >= 4
    assert all(n.calls == 5 for n in fs.nodes)
    assert all(n.time > 0 for n in fs.nodes)
    assert 0 < fs.node_time <= fs.vm_time <= fs.call_time
    assert fs.vm_overhead >= 0 and fs.call_overhead >= 0
    assert fs.linker == linker and fs.allow_gc == (linker != "cvm_nogc")
    assert {n.backend for n in fs.nodes} <= {"c", "py", "numpy"}
    if linker == "py":
        assert {n.backend for n in fs.nodes} == {"py"}


class _Sleep(Op):
    """x + 1 after sleeping ``seconds``: a node with a known, large share."""

    __props__ = ("seconds",)

    def __init__(self, seconds):
        self.seconds = seconds

    def make_node(self, x):
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        time.sleep(self.seconds)
        output_storage[0][0] = inputs[0] + 1.0


class _SlowToFree(np.ndarray):
    """An array whose release takes ``SECONDS`` (what a large array's free
    costs when the allocator hands memory back to the OS)."""

    SECONDS = 0.02

    def __del__(self):
        time.sleep(self.SECONDS)


def _call_parts(fs):
    return fs.vm_time, fs.vm_entry_time, fs.release_time, fs.function_time


@pytest.mark.parametrize("linker", LINKERS)
def test_call_time_is_the_vm_run_plus_parts_that_add_up(linker):
    # a function whose node sleeps: the call time is nearly all VM time, and
    # the rest is split into parts that add up to it
    x = T.dvector("x")
    s = theano.shared(np.zeros(3), name="s")
    f = theano.function([x], _Sleep(0.01)(x).sum(), updates=[(s, s + x)],
                        mode=theano.Mode(linker=linker), profile=True)
    for _ in range(3):
        f(np.ones(3))
    (fs,) = f.profile.functions
    run, entry, release, python = _call_parts(fs)
    assert fs.calls == 3 and fs.node_time >= 0.03
    assert fs.vm_time <= fs.vm_call_time <= fs.call_time
    assert min(entry, release, python) >= 0.0
    assert run + entry + release + python == pytest.approx(fs.call_time, rel=1e-9)
    assert fs.call_overhead == pytest.approx(entry + release + python, rel=1e-9)
    assert fs.call_overhead < 0.5 * fs.call_time  # 3 x 10 ms of sleep vs us


@pytest.mark.parametrize("linker", ["py", "cvm", "cvm_nogc"])
def test_freeing_replaced_shared_values_is_its_own_part(linker):
    # freeing the old value of an updated shared variable happens after the
    # VM returns; it is reported as such, not as the Function's Python
    x = T.dvector("x")
    s = theano.shared(np.zeros(3), name="s")
    f = theano.function([x], x.sum(), updates=[(s, x + s.sum())],
                        mode=theano.Mode(linker=linker), profile=True)
    for _ in range(3):
        s.set_value(np.zeros(3).view(_SlowToFree), borrow=True)
        f(np.ones(3))
        assert type(s.get_value(borrow=True)) is np.ndarray  # the old one is gone
    (fs,) = f.profile.functions
    run, entry, release, python = _call_parts(fs)
    assert release >= 3 * _SlowToFree.SECONDS
    assert python < release and entry < release and run < release
    text = f.profile.report()
    assert re.search(r"^\s+freeing replaced values:.*per call", text, re.M)
    assert "Function (Python):" in text and "VM entry and exit:" in text


def test_call_time_parts_count_the_fast_path_and_copies():
    f, _ = chain("cvm")
    shared = f.copy(share_memory=True)
    assert f._fast_call is not None and shared.vm is f.vm
    for fn in (f, shared):
        fn(np.ones(3))
    (fs,) = f.profile.functions
    assert fs.calls == 2 and fs.vm_time <= fs.vm_call_time <= fs.call_time
    assert fs.release_time >= 0.0 and fs.function_time >= 0.0


def test_an_untimed_profiled_vm_gets_a_timed_twin():
    f, _ = chain("cvm", profile=False)
    st = ProfileStats(atexit_print=False)
    inner = profiled_vm(f.vm, st, inner=True)  # what a loop thunk runs
    assert type(inner) is CyProfiledVM and profiled_vm(inner, st, inner=True) is inner
    outer = profiled_vm(inner, st)
    assert type(outer) is CallTimedCyVM and outer.profile is inner.profile
    assert profiled_vm(outer, st) is outer
    py = profiled_vm(PyVM(f.vm.program), st, inner=True)
    assert type(py) is ProfiledPyVM and type(profiled_vm(py, st)) is CallTimedPyVM


@pytest.mark.parametrize("linker", LINKERS)
def test_untaken_branch_nodes_run_less(linker):
    c, x = T.dscalar("c"), T.dvector("x")
    out = ifelse(T.gt(c, 0), T.exp(x).sum(), (T.sin(x) * 3.0).sum())
    mode = theano.Mode(linker=linker).excluding("fusion")
    f = theano.function([c, x], out, mode=mode, profile=True)
    v = np.ones(4)
    for cond in (1.0, 1.0, 1.0, -1.0):
        f(cond, v)
    (fs,) = f.profile.functions
    calls = {n.op: n.calls for n in fs.nodes if n.op in ("exp", "sin", "gt")}
    assert calls == {"gt": 4, "exp": 3, "sin": 1}
    assert sum(n.calls for n in fs.nodes) < 4 * len(fs.nodes)
    assert fs.node_time <= fs.vm_time


@pytest.mark.parametrize("linker", ["py", "cvm"])
def test_profile_off_uses_the_plain_vm(linker):
    f, _ = chain(linker, profile=False)
    assert f.profile is None and type(f) is Function
    assert type(f.vm) is {"py": PyVM, "cvm": CyVM}[linker]
    g, _ = chain(linker, profile=None)  # config.profile is off
    assert g.profile is None


def test_resolve_profile():
    st = ProfileStats(atexit_print=False)
    assert resolve_profile(st) is st
    assert resolve_profile(False) is None
    assert resolve_profile(True).name is None
    assert resolve_profile("mine").name == "mine"
    with pytest.raises(TypeError, match="profile must be True, False"):
        resolve_profile(3)


def test_functions_share_one_profile():
    st = ProfileStats(atexit_print=False)
    x = T.dvector("x")
    f = theano.function([x], T.exp(x), profile=st, name="f")
    g = theano.function([x], T.sin(x) + 1.0, profile=st, name="g")
    f(np.ones(2))
    g(np.ones(2))
    g(np.ones(2))
    assert [(fs.name, fs.calls) for fs in st.functions] == [("f", 1), ("g", 2)]
    assert st.fct_callcount == 3 and st.compile_time > 0


def test_copy_inherits_or_drops_the_profile():
    f, _ = chain("cvm")
    v = np.ones(3)
    g = f.copy(name="copy")
    h = f.copy(profile=False)
    other = ProfileStats(atexit_print=False)
    k = f.copy(profile=other)
    shared = f.copy(share_memory=True)
    for fn in (f, g, h, k, shared):
        fn(v)
    assert g.profile is f.profile and h.profile is None and type(h.vm) is CyVM
    names = [(fs.name, fs.calls) for fs in f.profile.functions]
    # the copy sharing f's VM shares its recorder: its calls count as f's
    assert names[0][1] == 2 and names[1] == ("copy", 1) and len(names) == 2
    assert other.functions[0].calls == 1
    assert other.functions[0].compile.stages == {}  # compiled once, by f


def test_failed_calls_are_counted_and_times_stay_consistent():
    x = T.dvector("x")
    y = T.dvector("y")
    f = theano.function([x, y], T.exp(x) + y, profile=True,
                        mode=theano.Mode(linker="cvm").excluding("fusion"))
    f(np.ones(3), np.ones(3))
    with pytest.raises(ValueError):
        f(np.ones(3), np.ones(4))
    (fs,) = f.profile.functions
    assert fs.calls == 2 and fs.vm_runs == 2 and fs.failed_runs == 1
    assert fs.node_time <= fs.vm_time <= fs.call_time


def test_compile_stages_are_recorded():
    f, _ = chain("cvm")
    comp = f.profile.functions[0].compile
    assert set(comp.stages) == {"graph", "rewrite", "schedule", "thunks", "assembly"}
    assert all(t >= 0 for t in comp.stages.values())
    assert comp.total == pytest.approx(sum(comp.stages.values()))
    assert [p["name"] for p in comp.rewrite_phases][:2] == ["merge", "canonicalize"]
    assert any(r["applied"] for r in comp.rewriters)
    assert comp.graph_cache_hit in (True, False)


def test_kernel_cache_hook(monkeypatch):
    reads = iter([{"hits": 3, "misses": 1}, {"hits": 5, "misses": 1, "compile_s": 0.5}])
    fake = types.SimpleNamespace(cache_stats=lambda: next(reads))
    monkeypatch.setitem(sys.modules, "fake_backend", fake)
    monkeypatch.setattr(attach, "KERNEL_CACHE_MODULES", ("fake_backend",))
    x = T.dvector("x")
    f = theano.function([x], T.exp(x), profile=True)
    assert f.profile.functions[0].compile.kernel_cache == {
        "hits": 2, "misses": 0, "compile_s": 0.5}
    assert "Kernel cache: compile_s 0.5, hits 2, misses 0" in f.profile.report()


def test_codegen_counters_are_read():
    from symarray.kernels_c import codegen

    counters = attach.kernel_cache_counters()
    assert counters["misses"] >= codegen.CACHE_STATS["misses"]


def test_global_config_profile_registers_for_exit():
    before = list(stats_module._ATEXIT)
    try:
        with config.change_flags(profile=True, profile_memory=True):
            f, _ = chain("cvm", profile=None)
            g, _ = chain("vm", profile=None)
        f(np.ones(3))
        g(np.ones(3))
        assert f.profile is not g.profile and f.profile.memory
        assert f.profile in stats_module._ATEXIT and g.profile in stats_module._ATEXIT
        merged = ProfileStats.merge(f.profile, g.profile)
        assert [fs.calls for fs in merged.functions] == [1, 1]
    finally:
        stats_module._ATEXIT[:] = before


# -- the VM twins ---------------------------------------------------------------------
def test_profiled_vm_twins_record_the_same_counts():
    f, _ = chain("cvm", profile=False)
    st = ProfileStats(memory=True, atexit_print=False)
    cy = profiled_vm(f.vm, st)
    py = profiled_vm(PyVM(f.vm.program), st)
    assert profiled_vm(cy, st) is cy
    v = np.ones(5)
    assert cy([v])[0] == py([v])[0]
    assert cy.profile.calls.tolist() == py.profile.calls.tolist()
    assert cy.profile.out_bytes.tolist() == py.profile.out_bytes.tolist()
    assert not cy.profile.ticks_are_ns or cy.profile.ns_per_tick() == 1.0
    assert py.profile.ticks_are_ns and py.profile.ns_per_tick() == 1.0
    with pytest.raises(TypeError, match="cannot profile"):
        profiled_vm(object(), st)


def test_recorder_checks_its_sizes():
    f, _ = chain("cvm", profile=False)
    prog = f.vm.program
    with pytest.raises(ValueError, match="nodes"):
        CyProfiledVM(prog, CyProfile(len(prog.nodes) + 1, len(prog.cells)))
    with pytest.raises(ValueError, match="clock"):
        CyProfile(1, 1, clock="wall")
    with pytest.raises(IndexError):
        CyProfile(1, 1, clock="ns").record_node(3, 0, 1)


# -- nested programs (the hook scan's loop thunk implements) ---------------------------
class _Inner(Op):
    """Runs an inner compiled program once per call (a stand-in for scan)."""

    __props__ = ()

    def make_node(self, x):
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] * 2.0


class _InnerThunk(CyPyThunk):
    """A Python thunk (perform) that owns an inner VM, with the hook."""

    def __init__(self, node):
        super().__init__(node)
        y = T.dvector("y")
        self.inner_vm = theano.function([y], T.exp(y) * 2.0).vm
        self.runs = 0

    def profile_inner(self, make_vm):
        self.inner_vm = make_vm(self.inner_vm)
        return [self.inner_vm]


@kernels_c.register(_Inner)
def _inner_thunk(node):
    return _InnerThunk(node)


def test_inner_programs_are_nested_under_their_node():
    x = T.dvector("x")
    f = theano.function([x], _Inner()(x) + 1.0, profile=True,
                        mode=theano.Mode(linker="cvm").excluding("fusion"))
    (k,) = [i for i, t in enumerate(f.vm.program.thunks) if isinstance(t, _InnerThunk)]
    thunk = f.vm.program.thunks[k]
    assert isinstance(thunk.inner_vm, CyProfiledVM)
    for _ in range(3):
        f(np.ones(2))
        thunk.inner_vm([np.ones(2)])  # what the real op would run per step
    node = f.profile.functions[0].nodes[k]
    (child,) = node.children
    assert child.vm_runs == 3 and all(n.calls == 3 for n in child.nodes)
    assert "inner program" in child.name
    assert "inner program" in f.profile.report()


def test_scan_inner_counts_equal_steps():
    x = T.dvector("x")
    r, _ = theano.scan(lambda a: a * 2.0 + 1.0, outputs_info=[x], n_steps=5)
    f = theano.function([x], r[-1], profile=True)
    f(np.ones(3))
    f(np.ones(3))
    (node,) = [n for n in f.profile.functions[0].nodes if n.op_class == "Scan"]
    (child,) = node.children
    assert node.calls == 2 and all(n.calls == 10 for n in child.nodes)
