"""Compilation: function(), Function, In/Out, shared variables, modes, linkers."""

from symarray.compile.function import Function, FunctionMaker, _eval, function
from symarray.compile.io import In, Out
from symarray.compile.mode import Mode, get_default_mode, get_mode, register_mode
from symarray.compile.profiling import ProfileStats  # theano.compile.ProfileStats
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


def __getattr__(name: str) -> object:
    """``symarray.compile.DebugMode`` (Theano's name), loaded on first use."""
    if name == "DebugMode":
        from symarray.compile.debugmode import DebugMode

        return DebugMode
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
