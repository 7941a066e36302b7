"""Tests of symarray.kernels_c.codegen.compiler: finding and running cc."""

from __future__ import annotations

import pathlib
import re
import shutil

import pytest

from symarray import config
from symarray.errors import CodegenError, KernelCompileError
from symarray.kernels_c.codegen import compiler

needs_cc = pytest.mark.skipif(
    not any(shutil.which(c) for c in ("cc", "gcc", "clang")),
    reason="no C compiler on PATH")


@needs_cc
def test_the_flag_wins_over_cc_and_cc_over_path(monkeypatch):
    monkeypatch.setenv("CC", "/nonexistent/cc")
    with config.change_flags(c_compiler="cc -DSA_TEST=1"):
        cc = compiler.find_compiler()
    assert pathlib.Path(cc.argv[0]).is_absolute() and cc.argv[1] == "-DSA_TEST=1"
    assert cc.version and cc.version in cc.identity
    with pytest.raises(CodegenError, match=r"/nonexistent/cc.*\$CC"):
        compiler.find_compiler()
    monkeypatch.delenv("CC")
    assert pathlib.Path(compiler.find_compiler().argv[0]).name in ("cc", "gcc",
                                                                   "clang")


def test_no_compiler_anywhere_is_an_error(monkeypatch, tmp_path):
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with config.change_flags(c_compiler=""), \
            pytest.raises(CodegenError, match="no C compiler found"):
        compiler.find_compiler()


def test_a_compiler_that_does_not_run_is_an_error(tmp_path):
    fake = tmp_path / "fakecc"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    with config.change_flags(c_compiler=str(fake)), \
            pytest.raises(CodegenError, match="--version` failed"):
        compiler.find_compiler()


@needs_cc
def test_compile_errors_carry_a_numbered_dump(tmp_path, monkeypatch):
    monkeypatch.delenv("CC", raising=False)
    src = tmp_path / "bad.c"
    src.write_text("int f(void) {\n    return nope;\n}\n")
    with pytest.raises(KernelCompileError) as info:
        compiler.compile_library(compiler.find_compiler(), src, tmp_path / "bad.so")
    err = info.value
    assert "bad.c failed" in str(err) and "nope" in err.stderr
    dump = err.dump()
    assert re.search(r"^2 \|     return nope;$", dump, re.M)
    assert "-ffp-contract=off" in dump and str(src) in dump
    assert not (tmp_path / "bad.so").exists()


def test_flags_keep_ieee_semantics():
    assert "-ffp-contract=off" in compiler.FLAGS
    assert not any("fast-math" in f for f in compiler.FLAGS)
    assert compiler.machine_tag() == compiler.machine_tag()
