"""C kernels: thunks the Cython VM runs without a Python-level call.

A backend registry maps an Op class to factories ``node -> thunk | None``
(a :class:`~symarray.vm._cvm.CyThunk` subclass, unbound, or None when the
factory cannot handle this node: the next factory, and finally the op's
``perform``, is used).  Factories for an op's base classes are asked too.

>>> from symarray import kernels_c
>>> import symarray.tensor as T
>>> x = T.dvector("x")
>>> kernels_c.make_thunk(T.exp(x).owner).backend
'c'

Kernel modules are imported on the first lookup (:data:`KERNEL_MODULES`),
so ``import symarray`` stays cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from symarray.graph.basic import Apply

__all__ = ["register", "make_thunk", "KERNELS", "KERNEL_MODULES"]

KernelFactory = Callable[[Apply], Any]

#: Op class -> factories, asked in registration order
KERNELS: dict[type, list[KernelFactory]] = {}

#: modules whose import registers kernels (loaded on the first lookup)
KERNEL_MODULES = ["symarray.kernels_c.elemwise", "symarray.kernels_c.composite",
                  "symarray.kernels_c.ifelse",
                  "symarray.kernels_c.indexing", "symarray.kernels_c.numpy_backed"]
KERNEL_MODULES.append("symarray.kernels_c.blas")
KERNEL_MODULES.append("symarray.kernels_c.reduce")
KERNEL_MODULES.append("symarray.kernels_c.scan")
KERNEL_MODULES.append("symarray.kernels_c.blas_stream")
KERNEL_MODULES.append("symarray.kernels_c.mrg")
KERNEL_MODULES.append("symarray.kernels_c.views")
KERNEL_MODULES.append("symarray.kernels_c.nnet")
# run-time codegen (config.c_codegen): asked before the interpreter's factory
KERNEL_MODULES.insert(KERNEL_MODULES.index("symarray.kernels_c.composite"),
                      "symarray.kernels_c.codegen.thunk")

_loaded = False


def register(op_class: type) -> Callable[[KernelFactory], KernelFactory]:
    """Register a factory ``node -> thunk | None`` for nodes of ``op_class``.

    >>> @register(MyOp)                      # doctest: +SKIP
    ... def my_op_thunk(node):
    ...     return CyMyOpThunk(node) if node.inputs[0].dtype == "float64" else None
    """

    def deco(factory: KernelFactory) -> KernelFactory:
        KERNELS.setdefault(op_class, []).append(factory)
        return factory

    return deco


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for name in KERNEL_MODULES:
            importlib.import_module(name)


def make_thunk(node: Apply) -> Any:
    """A C thunk for ``node`` (unbound), or None when no kernel handles it."""
    _load()
    for cls in type(node.op).__mro__:
        for factory in KERNELS.get(cls, ()):
            thunk = factory(node)
            if thunk is not None:
                return thunk
    return None


def kernels_for(op_class: type) -> list[KernelFactory]:
    """The factories registered for ``op_class``; a miss lists the known classes."""
    _load()
    if op_class not in KERNELS:
        known = sorted(c.__name__ for c in KERNELS)
        raise KeyError(f"no C kernel for {op_class.__name__}; known: {known}")
    return list(KERNELS[op_class])
