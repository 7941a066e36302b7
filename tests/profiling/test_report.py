"""Tests of symarray.profiling.report: the text report renders every section."""

from __future__ import annotations

import io
import re

import pytest

from symarray.profiling import ProfileStats
from symarray.profiling.report import format_bytes, format_time, text_report
from symarray.profiling.stats import FunctionStats, NodeStats, PartStats


def test_report_has_every_section(profile):
    text = profile.report()
    for title in ("Profile: test profile", "Functions", "Class", "Ops", "Apply nodes",
                  "Compile", "Rewrite phases", "Memory", "Largest values"):
        assert title in text, title
    assert "Time in Function calls" in text and "VM overhead (VM - nodes)" in text
    assert re.search(r"\d+\.\d%\s+100\.0%", text)  # a cumulative column reaches 100%
    assert "Elemwise" in text and "#0:" in text and "#1:" in text
    assert "conftest.py" in text  # the user line of the largest values


def test_summary_prints_to_a_file(profile):
    out = io.StringIO()
    profile.summary(file=out, n_ops_to_print=1, n_apply_to_print=2)
    text = out.getvalue()
    assert "more classs" not in text and "more ops" in text and "more nodes" in text


def test_optimizer_flag_shows_each_rewriter(profile):
    merged = ProfileStats.merge(profile)
    assert "profile_optimizer=True" in merged.report()
    merged.optimizer = True
    assert "Rewriters (time, applications" in merged.report()


def test_empty_and_nested_reports():
    assert "no profiled function" in text_report([])
    child = FunctionStats("inner", nodes=[NodeStats(0, "exp(y)", "exp", "Elemwise",
                                                    "c", calls=10, time=1e-5)])
    outer = FunctionStats("outer", calls=1, call_time=3e-5, vm_runs=1, vm_time=2e-5,
                          nodes=[NodeStats(0, "scan(x)", "scan", "Scan", "c",
                                           calls=1, time=1.5e-5, children=[child])])
    text = text_report([outer])
    assert "inner program 'inner'" in text
    assert re.search(r"^\s+66\.7%.*exp\(y\)$", text, re.M)  # share of its node
    assert "no Python-thunk calls" in text


def test_call_overhead_lists_parts_that_add_up():
    fs = FunctionStats("f", calls=2, call_time=10e-3, vm_runs=2, vm_time=6e-3,
                       vm_call_time=7e-3, release_time=2e-3)
    assert fs.call_overhead == pytest.approx(4e-3)
    assert (fs.vm_entry_time, fs.function_time) == pytest.approx((1e-3, 1e-3))
    text = text_report([fs])
    assert re.search(r"Call overhead \(call - VM\):\s+4\.000ms \(2\.000ms per call\)"
                     r"\s+40\.0% of call time, of which:", text)
    parts = re.findall(r"^    (VM entry and exit|freeing replaced values|Function "
                       r"\(Python\)):\s+(\S+)ms ", text, re.M)
    assert [(p, float(t)) for p, t in parts] == [
        ("VM entry and exit", 1.0), ("freeing replaced values", 2.0),
        ("Function (Python)", 1.0)]
    # a profile saved before the parts were measured: the total alone
    old = FunctionStats("f", calls=2, call_time=10e-3, vm_runs=2, vm_time=6e-3)
    assert old.vm_entry_time is None and old.function_time is None
    text = text_report([old])
    assert "of call time\n" in text and "freeing replaced values" not in text


def test_parts_of_a_node_are_shares_of_its_time():
    node = NodeStats(0, "scan(x)", "scan", "Scan", "c", calls=2, time=1e-4,
                     parts=[PartStats("loop setup", 2, 1e-5),
                            PartStats("inner program", 20, 8e-5),
                            PartStats("perform fallback", 0, 0.0)])
    text = text_report([FunctionStats("f", calls=2, nodes=[node])])
    assert re.search(r"^\s+10\.0%\s+10\.00us\s+5\.00us\s+2\s+loop setup$", text, re.M)
    assert re.search(r"^\s+80\.0%.*\s20\s+inner program$", text, re.M)
    assert "perform fallback" not in text  # parts never used are left out
    assert re.search(r"^\s+10\.0%.*\(rest: ", text, re.M)


@pytest.mark.parametrize("seconds, text", [
    (2.5, "2.500s"), (0.0123, "12.300ms"), (4.5e-6, "4.50us"), (3e-8, "30ns"),
])
def test_format_time(seconds, text):
    assert format_time(seconds) == text


@pytest.mark.parametrize("n, text", [
    (None, "n/a"), (12, "12 B"), (2048, "2.0 KiB"), (3 * 2**20, "3.0 MiB"),
    (5 * 2**30, "5.0 GiB"),
])
def test_format_bytes(n, text):
    assert format_bytes(n) == text
