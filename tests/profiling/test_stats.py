"""Tests of symarray.profiling.stats: snapshots, JSON, merging, exit printing."""

from __future__ import annotations

import io
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import symarray
import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.profiling import FunctionStats, PartStats, ProfileStats
from symarray.profiling.stats import JSON_VERSION
from tests.profiling.conftest import make_profile


def test_snapshots_hold_plain_numbers(profile):
    f, g = profile.functions
    assert (f.name, g.name) == ("f", "g") and (f.calls, g.calls) == (4, 4)
    assert f.linker == "cvm" and g.linker == "py"
    for fs in (f, g):
        assert all(isinstance(n.time, float) and n.calls == 4 for n in fs.nodes)
        assert fs.node_time <= fs.vm_time <= fs.call_time
        assert fs.memory is not None and fs.memory.peaks["gc"] > 0
        assert len(fs.trace) == 3
    exp = next(n for n in f.nodes if n.op == "exp")
    assert exp.outputs[0].nbytes == 50 * 8 and not exp.outputs[0].view
    assert "test_stats" in exp.outputs[0].site or "conftest" in exp.outputs[0].site
    assert exp.inputs == ["x"]
    mul = next(n for n in f.nodes if n.op.startswith("mul"))
    assert exp.index in mul.inputs


def test_json_round_trip(profile, tmp_path):
    text = profile.to_json()
    back = ProfileStats.from_json(text)
    assert json.loads(back.to_json()) == json.loads(text)
    assert back.report() == ProfileStats.from_json(back.to_json()).report()
    assert back.functions[0].trace[0].events[0] == tuple(
        json.loads(text)["functions"][0]["trace"][0]["events"][0])
    assert back.name == "test profile" and back.memory
    path = tmp_path / "p.json"
    profile.save(path)
    again = ProfileStats.load(path)
    assert again.to_dict() == back.to_dict()
    assert isinstance(again.functions[0], FunctionStats)
    assert again.functions[0].nodes[0].outputs[0].site is not None


def test_json_round_trip_keeps_scan_parts_and_inner_programs():
    st = ProfileStats(trace_calls=1, atexit_print=False)
    x = T.dvector("x")
    r, _ = theano.scan(lambda h: h * 2.0, outputs_info=[x], n_steps=3)
    theano.function([x], r[-1], profile=st)(np.ones(2))
    back = ProfileStats.from_json(st.to_json())
    (scan,) = [n for n in back.functions[0].nodes if n.op_class == "Scan"]
    assert isinstance(scan.parts[0], PartStats) and scan.parts[0].name == "loop setup"
    assert scan.children[0].vm_runs == 3 and len(scan.children[0].trace) == 3
    assert back.report() == st.report()


def test_print_summary_is_theanos_name_of_summary(profile):
    out = io.StringIO()
    profile.print_summary(file=out)
    assert out.getvalue().strip() == profile.report().strip()


@pytest.mark.parametrize("text, match", [
    ('{"functions": []}', "not a symarray profile"),
    (json.dumps({"format": "symarray-profile", "version": JSON_VERSION + 1}),
     "newer symarray"),
])
def test_from_json_refuses_other_files(text, match):
    with pytest.raises(ValueError, match=match):
        ProfileStats.from_json(text)


def test_load_refuses_non_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("not json")
    with pytest.raises(ValueError, match="is not JSON"):
        ProfileStats.load(path)


def test_merge_and_reset():
    a, b = make_profile(calls=2), make_profile(calls=3, memory=False)
    merged = ProfileStats.merge(a, b, name="both")
    assert [fs.calls for fs in merged.functions] == [2, 2, 3, 3]
    assert merged.fct_callcount == 10 and merged.memory
    assert merged.fct_call_time >= merged.vm_call_time > 0
    assert merged.optimizer_time > 0 and merged.linker_time > 0
    assert repr(merged) == "<ProfileStats 'both': 4 functions>"
    a.reset()
    assert all(fs.calls == 0 and fs.vm_runs == 0 for fs in a.functions)
    assert all(n.calls == 0 and n.time == 0 for fs in a.functions for n in fs.nodes)
    assert merged.fct_callcount == 10  # snapshots do not change


def test_trace_calls_must_not_be_negative():
    with pytest.raises(ValueError, match="trace_calls must be >= 0"):
        ProfileStats(trace_calls=-1)


def test_config_profile_prints_one_merged_summary_at_exit():
    root = pathlib.Path(symarray.__file__).resolve().parent.parent
    code = (
        "import numpy as np, symarray as theano, symarray.tensor as T\n"
        "x = T.dvector('x')\n"
        "f = theano.function([x], T.exp(x), name='first')\n"
        "g = theano.function([x], T.sin(x) * 2.0, name='second')\n"
        "f(np.ones(3)); g(np.ones(3)); g(np.ones(3))\n"
        "print('done')\n"
    )
    env = dict(os.environ, SYMARRAY_FLAGS="profile=True",
               PYTHONPATH=os.pathsep.join([str(root),
                                           os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    assert out.stdout.strip() == "done"
    err = out.stderr
    assert err.count("Profile: all profiled functions (config.profile)") == 1
    assert "#0 first" in err and "#1 second" in err and "calls: 3" in err
