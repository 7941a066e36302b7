"""The codegen factory for fused Elemwise nodes: source -> cache -> thunk.

Registered for ``Elemwise`` ahead of the precompiled interpreter
(:mod:`symarray.kernels_c.composite`).  With ``config.c_codegen == "off"``
(the default) it declines every node at once, so nothing changes.  With
``"on"``, an ``Elemwise(Composite)`` node (one output or several, each
possibly in place over its own input) gets C generated for its program and
dtypes (:mod:`.source`), compiled once per machine
(:mod:`.cache`), loaded with ctypes and run by a
:class:`~symarray.kernels_c.codegen._thunk.CyCodegenThunk` (backend label
``codegen``).

When the generator declines a program, the node goes on to the
interpreter silently.  When there is no compiler or a compile fails, the
node goes on to the interpreter too, and :class:`~symarray.errors.
CodegenWarning` says why, once per process and reason;
``config.c_codegen_dump_source`` adds the numbered source, the compiler
command and its messages to the warning (and logs every failure).
"""

from __future__ import annotations

import ctypes
import logging
import pathlib
import time
import warnings
from typing import Any, NamedTuple

import numpy as np

from symarray import config
from symarray.errors import CodegenError, CodegenWarning, KernelCompileError
from symarray.graph.basic import Apply
from symarray.kernels_c import register
from symarray.kernels_c.codegen import cache, compiler
from symarray.kernels_c.codegen._thunk import CyCodegenThunk
from symarray.kernels_c.codegen.cache import CACHE_STATS
from symarray.kernels_c.codegen.source import (
    ABI,
    KernelSource,
    UnsupportedProgramError,
    render,
)
from symarray.scalar.composite import Composite
from symarray.tensor.elemwise import Elemwise

__all__ = ["codegen_thunk", "compile_kernel", "Kernel", "clear_loaded"]

logger = logging.getLogger(__name__)


class Kernel(NamedTuple):
    """A loaded kernel library and its two entry points."""

    key: str
    path: pathlib.Path
    library: Any          # the ctypes.CDLL (keeps the library mapped)
    flat_addr: int
    strided_addr: int
    source: KernelSource


#: (source text, compiler identity) -> the loaded kernel, in this process
_LOADED: dict[tuple[str, str], Kernel] = {}
#: (source text, compiler identity, cache folder) that failed: the error
_FAILED: dict[tuple[str, str, str], CodegenError] = {}
#: warning reasons already shown in this process
_WARNED: set[str] = set()


def clear_loaded() -> None:
    """Forget the kernels loaded and the failures seen (the disk cache stays)."""
    _LOADED.clear()
    _FAILED.clear()
    _WARNED.clear()


def compile_kernel(source: KernelSource) -> Kernel:
    """The loaded kernel for ``source``, compiling it if no process has.

    Raises
    ------
    CodegenError
        No usable compiler (:func:`.compiler.find_compiler`), or the cache
        folder cannot be written.
    KernelCompileError
        The compiler rejected the source (also on a later call in this
        process: a failure is not retried).
    """
    cc = compiler.find_compiler()
    memo = (source.text, cc.identity)
    kernel = _LOADED.get(memo)
    if kernel is not None:
        CACHE_STATS["hits"] += 1
        CACHE_STATS["memory_hits"] += 1
        return kernel
    failed_memo = (*memo, str(cache.cache_root()))
    failed = _FAILED.get(failed_memo)
    if failed is not None:
        raise failed
    key = cache.kernel_key(source.text, cc)
    try:
        path = _get_or_build(key, source, cc)
        try:
            kernel = _load(key, path, source)
        except OSError as err:  # a damaged library: compile it again, once
            logger.warning("c_codegen: rebuilding damaged kernel %s (%s)", key, err)
            cache.evict(key)
            path = _get_or_build(key, source, cc)
            try:
                kernel = _load(key, path, source)
            except OSError as again:
                raise CodegenError(f"c_codegen: kernel {path} does not load "
                                   f"({again})") from None
    except CodegenError as err:
        _FAILED[failed_memo] = err
        raise
    _LOADED[memo] = kernel
    return kernel


def _get_or_build(key: str, source: KernelSource, cc: compiler.Compiler
                  ) -> pathlib.Path:
    try:
        return cache.get_or_build(key, source.text, cc)
    except OSError as err:
        raise CodegenError(
            f"c_codegen: cannot use the kernel cache {cache.cache_root()} ({err}); "
            "set config.base_compiledir to a writable folder"
        ) from None


def _load(key: str, path: pathlib.Path, source: KernelSource) -> Kernel:
    start = time.perf_counter()
    lib = ctypes.CDLL(str(path))
    abi = lib.sa_kernel_abi
    abi.restype = ctypes.c_int
    if abi() != ABI:
        raise OSError(f"kernel {path} has calling convention {abi()}, want {ABI}")
    flat = ctypes.cast(lib.sa_kernel_flat, ctypes.c_void_p).value
    strided = ctypes.cast(lib.sa_kernel_strided, ctypes.c_void_p).value
    if not flat or not strided:
        raise OSError(f"kernel {path} lacks its entry points")
    CACHE_STATS["load_s"] += time.perf_counter() - start
    return Kernel(key, path, lib, flat, strided, source)


def _warn_once(reason: str, message: str) -> None:
    if reason in _WARNED:
        return
    _WARNED.add(reason)
    warnings.warn(message, CodegenWarning, stacklevel=2)


def _threads() -> int:
    from symarray.kernels_c._threads import resolve_threads

    try:
        return int(resolve_threads(int(getattr(config, "kernel_threads", 0))))
    except ValueError:
        return 1


@register(Elemwise)
def codegen_thunk(node: Apply) -> Any:
    """A :class:`CyCodegenThunk` for a fused ``node`` when ``c_codegen`` is on."""
    if config.c_codegen != "on":
        return None
    op = node.op
    comp = getattr(op, "scalar_op", None)
    if (not isinstance(comp, Composite) or not node.inputs
            or len(node.outputs) != comp.nout):
        return None
    in_dtypes = [getattr(i.type, "dtype", None) for i in node.inputs]
    if tuple(in_dtypes) != comp.input_dtypes:
        return None
    out_types: list[Any] = [o.type for o in node.outputs]
    ndim = getattr(out_types[0], "ndim", None)
    if ndim is None or any(getattr(v.type, "ndim", None) != ndim
                           for v in [*node.inputs, *node.outputs]):
        return None
    out_dtypes = [t.dtype for t in out_types]
    scalar_inputs = [all(s == 1 for s in getattr(i.type, "shape", (None,)))
                     for i in node.inputs]
    try:
        source = render(comp, out_dtypes, scalar_inputs)
    except UnsupportedProgramError as err:
        CACHE_STATS["declined"] += 1
        logger.debug("c_codegen declines %s: %s", comp, err)
        return None
    try:
        kernel = compile_kernel(source)
    except KernelCompileError as err:
        _report(err)
        return None
    except CodegenError as err:  # no compiler, no cache folder
        _warn_once(str(err), f"{err}; the precompiled kernels run instead")
        return None
    pattern = dict(getattr(op, "inplace_pattern", ()))
    inplace = [pattern.get(o, -1) for o in range(len(out_dtypes))]
    if source.uses_status:  # perform must see the inputs unchanged if it runs
        inplace = [-1] * len(out_dtypes)
    return CyCodegenThunk(
        node, kernel.library, kernel.flat_addr, kernel.strided_addr,
        [np.dtype(d).num for d in in_dtypes], [np.dtype(d).num for d in out_dtypes],
        scalar_inputs, inplace, _threads(), kernel.key)


def _report(err: KernelCompileError) -> None:
    """Warn (once) about a failed compile; dump the source when asked."""
    dump = config.c_codegen_dump_source
    if dump and f"log {id(err)}" not in _WARNED:  # each failed source once
        _WARNED.add(f"log {id(err)}")
        logger.error("%s\n%s", err, err.dump())
    detail = (f"\n{err.dump()}" if dump else
              "; set config.c_codegen_dump_source = True (or SYMARRAY_FLAGS="
              "c_codegen_dump_source=True) to see the numbered source, the "
              "compiler command and its messages")
    _warn_once("compile+dump" if dump else "compile",
               f"{err}; the precompiled kernels run instead{detail}")
