"""Compilation: function(), Function, In/Out, shared variables, modes, linkers."""

from symarray.compile.function import Function, FunctionMaker, _eval, function
from symarray.compile.io import In, Out
from symarray.compile.mode import Mode, get_default_mode, get_mode, register_mode
from symarray.compile.sharedvalue import (
    SharedVariable,
    TensorSharedVariable,
    shared,
    shared_constructor,
)
from symarray.graph.basic import set_eval_hook

set_eval_hook(_eval)

__all__ = ["Function", "FunctionMaker", "function", "In", "Out", "Mode",
           "get_default_mode", "get_mode", "register_mode", "SharedVariable",
           "TensorSharedVariable", "shared", "shared_constructor", "ProfileStats",
           "DebugMode"]


#: submodules loaded on first attribute access (keeps ``import symarray`` fast)
_LAZY_MODULES = ("profiling", "debugmode", "linkers", "rewrite", "graph_cache")


def __getattr__(name: str) -> object:
    """Names loaded on first use: ``symarray.compile.DebugMode`` and
    ``ProfileStats`` (Theano's ``theano.compile`` names) and the submodules
    in ``_LAZY_MODULES`` (``symarray.compile.profiling``...)."""
    if name == "DebugMode":
        from symarray.compile.debugmode import DebugMode

        return DebugMode
    if name == "ProfileStats":  # the profiler loads only when asked for
        from symarray.profiling.stats import ProfileStats

        return ProfileStats
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
