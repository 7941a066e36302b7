"""Registers the BLAS thunks of :mod:`._blas` and shares BLAS's threads.

``Dot`` nodes of two float32 or two float64 vectors/matrices, and
``Gemm``/``Gemv``/``Ger`` nodes of float32/float64, get a C thunk that
calls SciPy's OpenBLAS through ``scipy.linalg.cython_blas``; anything else
(integers, mixed or complex dtypes) runs ``perform``.

One BLAS, one thread pool
-------------------------
NumPy and SciPy each bundle an OpenBLAS with its own thread pool.  After a
call, an OpenBLAS pool's threads keep spinning for a while (up to ~0.1 s),
so a graph that calls both libraries, or one BLAS and the threaded
kernels, keeps two pools busy on the same cores: a logistic-regression
step went from 2.15 ms to 18.4 ms that way.  Three measures prevent it:

1. every product of a compiled graph (``Dot``, ``Gemm``, ``Gemv``,
   ``Ger``) goes through SciPy's OpenBLAS, so NumPy's is not called on the
   hot path;
2. :func:`share_blas_threads` hands SciPy's OpenBLAS a threads callback
   (``openblas_set_threads_callback_function``, OpenBLAS >= 0.3.27) that
   runs its jobs on the kernels' thread pool
   (:mod:`symarray.kernels_c._threads`), all of one call at once, so the
   process has one set of worker threads, which sleep shortly after a
   call;
3. the ``kernel_threads`` flag a thunk was compiled with caps OpenBLAS's
   thread count for its calls (``kernel_threads=1``: BLAS runs on the
   calling thread), through ``openblas_set_num_threads``.

The callback is installed when this module is imported (the first compiled
function with C kernels), as the environment variable
``SYMARRAY_BLAS_THREADS`` says: ``scipy`` (default), ``all`` (NumPy's
OpenBLAS too: for programs that also call NumPy's BLAS between compiled
calls) or ``native`` (none: OpenBLAS's own pool, still capped by
``kernel_threads``).  SciPy's own linear algebra (``scipy.linalg``) then
runs on the pool too, with the same results.  A forked child starts its
own workers.

>>> import symarray.tensor as T
>>> from symarray import kernels_c
>>> x, y = T.dmatrix("x"), T.dmatrix("y")
>>> kernels_c.make_thunk(T.dot(x, y).owner).backend
'c'
"""

from __future__ import annotations

import ctypes
import glob
import os
from typing import Any

from symarray.graph.basic import Apply
from symarray.kernels_c import register
from symarray.kernels_c._blas import (
    CyDotThunk,
    CyGemmThunk,
    CyGemvThunk,
    CyGerThunk,
    bind_thread_count,
    threads_callback_address,
)
from symarray.tensor.blas import Dot
from symarray.tensor.blas_ops import Gemm, Gemv, Ger

__all__ = ["dot_thunk", "update_thunk", "share_blas_threads", "SHARE_BLAS_THREADS",
           "BLAS_THREADS", "shared_libraries", "bind_blas_thread_count"]

#: whose OpenBLAS gets the threads callback on import: ``scipy`` (the
#: default: the BLAS the kernels call), ``all`` (NumPy's too) or ``native``
#: (none); from the environment variable ``SYMARRAY_BLAS_THREADS``
BLAS_THREADS = os.environ.get("SYMARRAY_BLAS_THREADS", "scipy").strip().lower()
if BLAS_THREADS not in ("scipy", "all", "native"):
    import warnings

    warnings.warn(f"SYMARRAY_BLAS_THREADS={BLAS_THREADS!r} is not one of 'scipy', "
                  "'all', 'native'; using 'scipy'", stacklevel=1)
    BLAS_THREADS = "scipy"
SHARE_BLAS_THREADS = BLAS_THREADS != "native"

_FLOATS = ("float32", "float64")

#: the OpenBLAS libraries given the callback (paths), filled by share_blas_threads
shared_libraries: list[str] = []


def _threads_flag() -> int:
    """The ``kernel_threads`` flag (0: no cap on BLAS), read at compile time."""
    from symarray import config

    return int(getattr(config, "kernel_threads", 0))


@register(Dot)
def dot_thunk(node: Apply) -> Any:
    """A :class:`CyDotThunk` for a float32/float64 ``Dot`` node, or None."""
    dtypes = {getattr(v.type, "dtype", None) for v in [*node.inputs, *node.outputs]}
    if len(dtypes) != 1 or dtypes.pop() not in _FLOATS:
        return None
    return CyDotThunk(node, _threads_flag())


def update_thunk(node: Apply) -> Any:
    """The BLAS thunk of a float32/float64 ``Gemm``/``Gemv``/``Ger`` node, or None."""
    if node.outputs[0].type.dtype not in _FLOATS:  # type: ignore[attr-defined]
        return None
    classes: dict[type, type] = {Gemm: CyGemmThunk, Gemv: CyGemvThunk,
                                 Ger: CyGerThunk}
    return classes[type(node.op)](node, _threads_flag())


for _op in (Gemm, Gemv, Ger):
    register(_op)(update_thunk)


#: the bundled OpenBLAS of each package: (package, library folders, setter names)
_OPENBLAS = {
    "scipy": (("scipy.libs", os.path.join("scipy", ".dylibs")),
              ("openblas_set_threads_callback_function",
               "scipy_openblas_set_threads_callback_function")),
    "numpy": (("numpy.libs", os.path.join("numpy", ".dylibs")),
              ("scipy_openblas_set_threads_callback_function64_",
               "openblas_set_threads_callback_function64_",
               "openblas_set_threads_callback_function")),
}

#: (setter, getter) names of the thread count in SciPy's OpenBLAS
_THREAD_COUNT = (("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
                 ("openblas_set_num_threads", "openblas_get_num_threads"))


def _openblas_paths(package: str) -> list[str]:
    """Paths of the OpenBLAS libraries bundled with ``package`` (imported,
    so its library is loaded already)."""
    import importlib

    root = os.path.dirname(os.path.dirname(importlib.import_module(package).__file__
                                           or ""))
    found = []
    for sub in _OPENBLAS[package][0]:
        found += sorted(glob.glob(os.path.join(root, sub, "*openblas*")))
    return found


def share_blas_threads(enable: bool = True, packages: tuple[str, ...] = ("scipy",)
                       ) -> list[str]:
    """Run the jobs of the OpenBLAS bundled with ``packages`` (SciPy's, which
    the kernels call; ``("scipy", "numpy")`` adds NumPy's) on the process's
    thread pool, or with ``enable=False`` on OpenBLAS's own pools again.

    Returns the paths of the libraries changed; an OpenBLAS without the
    callback entry point, or another BLAS, is left alone.
    """
    changed = []
    address = threads_callback_address() if enable else 0
    for package in packages:
        for path in _openblas_paths(package):
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for name in _OPENBLAS[package][1]:
                setter = getattr(lib, name, None)
                if setter is not None:
                    setter.argtypes = [ctypes.c_void_p]
                    setter.restype = None
                    setter(address or None)
                    changed.append(path)
                    break
    if enable:
        shared_libraries[:] = sorted(set(shared_libraries) | set(changed))
    else:
        shared_libraries[:] = [p for p in shared_libraries if p not in changed]
    return changed


def bind_blas_thread_count() -> str | None:
    """Let the ``kernel_threads`` flag cap the thread count of SciPy's
    OpenBLAS (the one the thunks call); returns the library's path, or None
    when no OpenBLAS with ``openblas_set_num_threads`` was found."""
    for path in _openblas_paths("scipy"):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in _THREAD_COUNT:
            setter, getter = getattr(lib, set_name, None), getattr(lib, get_name, None)
            if setter is not None and getter is not None:
                bind_thread_count(ctypes.cast(setter, ctypes.c_void_p).value or 0,
                                  ctypes.cast(getter, ctypes.c_void_p).value or 0)
                return path
    return None


bind_blas_thread_count()
if SHARE_BLAS_THREADS:
    share_blas_threads(True, ("scipy", "numpy") if BLAS_THREADS == "all"
                       else ("scipy",))
