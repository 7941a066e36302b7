"""Finding and running the system C compiler for generated kernels.

The compiler is ``config.c_compiler`` when set, else ``$CC``, else the first
of ``cc``, ``gcc``, ``clang`` on ``PATH``; a command with arguments
(``"ccache gcc"``) is split like a shell would.  A compiler named
explicitly (flag or ``$CC``) that cannot be found is an error: it is not
silently replaced by another one.

Its identity (resolved path and the first line of ``--version``) and the
flags are part of every kernel's cache key, so changing the compiler or the
flags never reuses an old kernel.  ``-march=native`` makes the kernel use
this machine's vector units; the key therefore also holds the CPU's
feature flags.

Key decisions:

* ``-ffp-contract=off`` (no fused multiply-add that NumPy would not do) and
  no ``-ffast-math``: results keep IEEE semantics (NaN, signed zeros) and
  match the op's ``perform``.
* ``-fopenmp-simd`` only honours ``omp simd`` pragmas (no OpenMP runtime);
  ``-fwrapv`` makes integer overflow wrap as in NumPy.
* The compiler runs with a timeout (:data:`COMPILE_TIMEOUT_S`); a timeout
  is a failed compile.
"""

from __future__ import annotations

import functools
import os
import pathlib
import platform
import shlex
import shutil
import subprocess
import time
from typing import NamedTuple

from symarray import config
from symarray.errors import CodegenError, KernelCompileError

__all__ = ["Compiler", "find_compiler", "compile_library", "FLAGS", "INCLUDE_DIR",
           "COMPILE_TIMEOUT_S", "machine_tag"]

#: flags of every compile (part of the cache key)
FLAGS = ("-O3", "-std=gnu11", "-fPIC", "-shared", "-fvisibility=hidden",
         "-fwrapv", "-ffp-contract=off", "-fno-math-errno", "-fopenmp-simd",
         "-march=native")

#: libraries linked after the source (libm also brings glibc's libmvec)
LIBS = ("-lm",)

#: directory of the shared headers (_scalar_fns.h...)
INCLUDE_DIR = pathlib.Path(__file__).resolve().parent.parent

#: seconds one compile may take
COMPILE_TIMEOUT_S = 300


class Compiler(NamedTuple):
    """A usable C compiler."""

    argv: tuple[str, ...]   # the command (first word resolved to a path)
    version: str            # first line of ``--version``

    @property
    def identity(self) -> str:
        """What the cache key records of the compiler."""
        return f"{' '.join(self.argv)} | {self.version}"


def _spec() -> tuple[str, str]:
    """(command text, where it came from)."""
    if config.c_compiler:
        return config.c_compiler, "config.c_compiler"
    cc = os.environ.get("CC", "").strip()
    if cc:
        return cc, "$CC"
    for name in ("cc", "gcc", "clang"):
        if shutil.which(name):
            return name, "PATH"
    return "", "PATH"


def find_compiler() -> Compiler:
    """The C compiler to use.

    Raises
    ------
    CodegenError
        When none is configured or found, or it does not run.
    """
    text, origin = _spec()
    if not text:
        raise CodegenError(
            "c_codegen: no C compiler found (looked for cc, gcc and clang on PATH); "
            "install one, set $CC or config.c_compiler, or set c_codegen=off"
        )
    argv = shlex.split(text)
    path = shutil.which(argv[0])
    if path is None:
        raise CodegenError(
            f"c_codegen: C compiler {argv[0]!r} (from {origin}) not found; fix "
            f"{origin}, install it, or set c_codegen=off"
        )
    argv[0] = path
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        mtime = 0
    return Compiler(tuple(argv), _version(tuple(argv), mtime))


@functools.lru_cache(maxsize=16)
def _version(argv: tuple[str, ...], mtime: int) -> str:
    """First line of ``argv --version`` (cached per compiler file version)."""
    try:
        done = subprocess.run([*argv, "--version"], capture_output=True,
                              text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError) as err:
        raise CodegenError(
            f"c_codegen: C compiler {argv[0]!r} does not run ({err}); fix it, "
            "choose another with $CC or config.c_compiler, or set c_codegen=off"
        ) from None
    lines = (done.stdout or done.stderr).strip().splitlines()
    if done.returncode != 0 or not lines:
        raise CodegenError(
            f"c_codegen: `{' '.join(argv)} --version` failed (exit "
            f"{done.returncode}); choose another compiler with $CC or "
            "config.c_compiler, or set c_codegen=off"
        )
    return lines[0].strip()


@functools.lru_cache(maxsize=1)
def machine_tag() -> str:
    """The machine and its CPU's feature flags (``-march=native`` depends on them)."""
    flags = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    flags = " ".join(sorted(line.split(":", 1)[1].split()))
                    break
    except OSError:
        flags = platform.processor()
    return f"{platform.system()}-{platform.machine()} {flags}"


def command(compiler: Compiler, source: pathlib.Path,
            target: pathlib.Path) -> list[str]:
    """The compile command for ``source`` -> shared library ``target``."""
    return [*compiler.argv, *FLAGS, f"-I{INCLUDE_DIR}", "-o", str(target),
            str(source), *LIBS]


def compile_library(compiler: Compiler, source: pathlib.Path,
                    target: pathlib.Path) -> float:
    """Compile the C file ``source`` into ``target``; returns the seconds taken.

    Raises
    ------
    KernelCompileError
        When the compiler fails or times out (the error holds the source,
        the command and the compiler's output; see its ``dump``).
    """
    argv = command(compiler, source, target)
    start = time.perf_counter()
    try:
        done = subprocess.run(argv, capture_output=True, text=True,
                              timeout=COMPILE_TIMEOUT_S, check=False,
                              cwd=source.parent)
        failed, output = done.returncode != 0, done.stderr + done.stdout
        why = f"exit status {done.returncode}"
    except subprocess.TimeoutExpired as err:
        failed, output = True, str(err.stderr or "")
        why = f"timed out after {COMPILE_TIMEOUT_S} s"
    except OSError as err:
        failed, output, why = True, str(err), "could not start"
    seconds = time.perf_counter() - start
    if failed or not target.exists():
        first = next((ln for ln in output.splitlines() if "error" in ln),
                     output.strip().splitlines()[0] if output.strip() else "")
        raise KernelCompileError(
            f"c_codegen: compiling {source.name} failed ({why}): {first}",
            source.read_text(encoding="utf-8"), shlex.join(argv), output)
    return seconds
