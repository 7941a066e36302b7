"""symarray: a compiler for NumPy-style array expressions.

``import symarray as theano; import symarray.tensor as T`` runs code written
against Theano's documented API: build a graph with ``T``, compile it with
``function``, keep state in ``shared`` variables and change it with
``updates``.
"""

from symarray import config, ifelse  # ifelse: a module you can call
from symarray.compile import (
    Function,
    In,
    Mode,
    Out,
    SharedVariable,
    function,
    get_default_mode,
    get_mode,
    shared,
)
from symarray.gradient import Lop, Rop, grad, hessian, jacobian, verify_grad
from symarray.graph import (
    Apply,
    Constant,
    FunctionGraph,
    Op,
    Type,
    Variable,
    clone_replace,
    graph_inputs,
)
from symarray.updates import OrderedUpdates

__version__ = "0.1.0"

__all__ = [
    "config", "Function", "In", "Mode", "Out", "SharedVariable", "function",
    "get_default_mode", "get_mode", "shared", "Apply", "Constant",
    "FunctionGraph", "Op", "Type", "Variable", "clone_replace", "graph_inputs",
    "OrderedUpdates", "grad", "Lop", "Rop", "jacobian", "hessian", "verify_grad",
    "ifelse", "scan", "scan_module", "map", "reduce", "foldl", "foldr",
    "printing", "pp",
]

#: loaded on first use (keeps ``import symarray`` fast): Theano's scan_module
_SCAN_NAMES = ("scan", "scan_module", "map", "reduce", "foldl", "foldr")
#: subpackages loaded on first attribute access: the profiler and the VM (the VM
#: loads with the first compiled function)
_LAZY_MODULES = ("profiling", "vm")


def __getattr__(name: str) -> object:
    if name in _SCAN_NAMES:
        import symarray.scan_module as scan_module

        return scan_module if name == "scan_module" else getattr(scan_module, name)
    if name in ("printing", "pp"):  # loaded on first use: theano.printing, theano.pp
        import symarray.printing as printing

        return printing if name == "printing" else printing.pp
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(f"symarray.{name}")
    raise AttributeError(f"module 'symarray' has no attribute {name!r}")
