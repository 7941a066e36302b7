"""Build symarray's compiled extensions; the metadata lives in pyproject.toml.

- Every ``symarray/**/*.pyx`` file becomes an extension module named after its
  path (``symarray/vm/_cvm.pyx`` -> ``symarray.vm._cvm``), cythonized into
  ``build/cython/`` so no generated C lands in the source tree.
- Plain C extensions are listed in ``C_EXTENSIONS`` as
  ``(module name, [source files])``.
- ``EXTENSION_ARGS`` adds compile/link flags to one module (OpenMP, math
  libraries).
- ``SYMARRAY_BUILD_ONLY=path.pyx[,path2.pyx]`` (an environment variable)
  builds only those modules: a quick rebuild while working on one kernel.

NumPy and Cython are imported only when there is something to build.
"""

from __future__ import annotations

import os
import pathlib

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext as _build_ext

ROOT = pathlib.Path(__file__).resolve().parent

# (dotted module name, [C sources relative to the repository root])
C_EXTENSIONS: list[tuple[str, list[str]]] = []

EXTRA_COMPILE_ARGS = [] if os.name == "nt" else ["-O3"]

# dotted module name -> {"compile": [...], "link": [...]} extra flags
EXTENSION_ARGS: dict[str, dict[str, list[str]]] = {}

# BLAS (its threads callback starts helper threads)
EXTENSION_ARGS["symarray.kernels_c._blas"] = {"compile": ["-pthread"],
                                              "link": ["-pthread"]}

# the kernels' shared thread pool (pthreads; cimported by other kernels)
EXTENSION_ARGS["symarray.kernels_c._threads"] = {
    "compile": ["-pthread", f"-I{ROOT / 'symarray' / 'kernels_c'}"],
    "link": ["-pthread"],
}
# the elementwise block interpreter (includes _interp.h and the headers it
# includes): libmvec through "omp declare simd", wrapping integer arithmetic
# as NumPy's; its threads come from _threads
_GLIBC_X86_64 = os.name == "posix" and os.uname()[0::4] == ("Linux", "x86_64")
EXTENSION_ARGS["symarray.kernels_c._composite"] = {
    "compile": ["-fopenmp-simd", "-fno-math-errno", "-fwrapv",
                "-Wno-int-in-bool-context", f"-I{ROOT / 'symarray' / 'kernels_c'}"],
    "link": ["-lm"] + (["-lmvec"] if _GLIBC_X86_64 else []),
}
# reductions (include _reduce_core.h: "omp simd" folds, threads from _threads,
# fused prologues run by the elementwise interpreter's loops from _interp.h)
EXTENSION_ARGS["symarray.kernels_c._reduce"] = EXTENSION_ARGS[
    "symarray.kernels_c._composite"]

# one pass over X for gemv(y0, a, X.T, f(X @ w), b): row loops (or BLAS) per
# block and the elementwise block interpreter (_interp.h, as _composite is built)
EXTENSION_ARGS["symarray.kernels_c._blas_stream"] = EXTENSION_ARGS[
    "symarray.kernels_c._composite"]

# softmax / log-softmax (include _nnet_core.h: "omp simd" rows calling
# libmvec's exp, as _composite is built)
EXTENSION_ARGS["symarray.kernels_c._nnet"] = {
    "compile": ["-fopenmp-simd", "-fno-math-errno",
                f"-I{ROOT / 'symarray' / 'kernels_c'}"],
    "link": ["-lm"] + (["-lmvec"] if _GLIBC_X86_64 else []),
}

# indexing kernels (include _indexing.h)
EXTENSION_ARGS["symarray.kernels_c._indexing"] = {
    "compile": [f"-I{ROOT / 'symarray' / 'kernels_c'}"],
}

# the VM, its profiled twin and the scan loop thunk (the twin and the loop's
# part timer include _ticks.h, the profiling clock)
EXTENSION_ARGS["symarray.vm._cvm"] = {"compile": [f"-I{ROOT / 'symarray' / 'vm'}"]}
EXTENSION_ARGS["symarray.vm._cvm_profile"] = EXTENSION_ARGS["symarray.vm._cvm"]
EXTENSION_ARGS["symarray.vm._loop"] = {"compile": [f"-I{ROOT / 'symarray' / 'vm'}"]}
EXTENSION_ARGS["symarray.vm._loop_profile"] = EXTENSION_ARGS["symarray.vm._loop"]
# the buffer pool (NumPy's allocator while a VM runs; includes _pool.h)
EXTENSION_ARGS["symarray.vm._pool"] = {
    "compile": ["-pthread", f"-I{ROOT / 'symarray' / 'vm'}"],
    "link": ["-pthread"],
}


def _pyx_files() -> list[str]:
    files = sorted(
        p.relative_to(ROOT).as_posix() for p in ROOT.glob("symarray/**/*.pyx")
    )
    only = os.environ.get("SYMARRAY_BUILD_ONLY")
    if only:
        wanted = {w.strip() for w in only.split(",") if w.strip()}
        files = [f for f in files if f in wanted]
    return files


def _extensions() -> list[Extension]:
    pyx_files = _pyx_files()
    if not pyx_files and not C_EXTENSIONS:
        return []
    import numpy

    def make(name: str, sources: list[str]) -> Extension:
        extra = EXTENSION_ARGS.get(name, {})
        return Extension(
            name,
            sources,
            include_dirs=[numpy.get_include()],
            extra_compile_args=EXTRA_COMPILE_ARGS + extra.get("compile", []),
            extra_link_args=extra.get("link", []),
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        )

    extensions = [make(name, sources) for name, sources in C_EXTENSIONS]
    if pyx_files:
        from Cython.Build import cythonize

        cython_extensions = [
            make(f[: -len(".pyx")].replace("/", "."), [f]) for f in pyx_files
        ]
        extensions += cythonize(
            cython_extensions,
            build_dir="build/cython",
            compiler_directives={"language_level": 3},
        )
    return extensions


class build_ext(_build_ext):
    """Builds the extensions; when it builds them in place (an editable
    install, or ``build_ext --inplace``), also byte-compiles the package, as
    pip does for a wheel: a fresh process then imports symarray's ~170
    modules from ``__pycache__`` instead of compiling their source (about
    80 ms, paid again in every process where ``PYTHONDONTWRITEBYTECODE`` is
    set)."""

    def run(self) -> None:
        super().run()
        if self.inplace:
            import compileall

            compileall.compile_dir(str(ROOT / "symarray"), quiet=1)


setup(ext_modules=_extensions(), cmdclass={"build_ext": build_ext})
