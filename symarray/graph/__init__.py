"""The graph IR: variables, nodes, ops, FunctionGraph and graph utilities."""

from symarray.graph.basic import (
    Apply,
    Constant,
    CreationSite,
    NoTestValueError,
    Op,
    Type,
    Variable,
)
from symarray.graph.fg import Feature, FunctionGraph, InconsistencyError, Validator
from symarray.graph.nx import to_networkx
from symarray.graph.traversal import (
    NotScalarConstantError,
    ancestors,
    applys_between,
    clone,
    clone_get_equiv,
    clone_replace,
    get_scalar_constant_value,
    graph_inputs,
    graph_replace,
    io_toposort,
    vars_between,
)

__all__ = [
    "Apply", "Constant", "CreationSite", "NoTestValueError", "Op", "Type",
    "Variable", "Feature", "FunctionGraph", "InconsistencyError", "Validator",
    "to_networkx", "NotScalarConstantError", "ancestors", "applys_between",
    "clone", "clone_get_equiv", "clone_replace", "get_scalar_constant_value",
    "graph_inputs", "graph_replace", "io_toposort", "vars_between",
]
