"""Symbolic tensors with Theano's names: ``import symarray.tensor as T``.

Types and constructors (``T.matrix``, ``T.fvector``...), elementwise math
(``T.exp``...), reductions, linear algebra, shape and array ops, indexing
and ``T.nnet``.  Each submodule holds one family of ops; this package
re-exports them all.
"""

from symarray.gradient import (  # noqa: E402
    Lop,
    Rop,
    grad,
    hessian,
    jacobian,
    verify_grad,
)
from symarray.graph.traversal import NotScalarConstantError, get_scalar_constant_value
from symarray.tensor import nnet  # noqa: E402
from symarray.tensor.alloc import *  # noqa: F403
from symarray.tensor.basic import *  # noqa: F403
from symarray.tensor.blas import *  # noqa: F403
from symarray.tensor.elemwise import *  # noqa: F403
from symarray.tensor.extra_ops import *  # noqa: F403
from symarray.tensor.join import *  # noqa: F403
from symarray.tensor.math import *  # noqa: F403
from symarray.tensor.nnet import *  # noqa: F403
from symarray.tensor.reduction import *  # noqa: F403
from symarray.tensor.shape_misc import *  # noqa: F403
from symarray.tensor.shape_ops import *  # noqa: F403
from symarray.tensor.sort import *  # noqa: F403
from symarray.tensor.subtensor import *  # noqa: F403
from symarray.tensor.subtensor_advanced import *  # noqa: F403
from symarray.tensor.subtensor_inc import *  # noqa: F403
from symarray.tensor.type import TensorType, dtype_of
from symarray.tensor.variable import TensorConstant, TensorVariable

# -- random numbers: Theano's T.shared_randomstreams / T.raw_random, loaded on
# first use (symarray.tensor.random; the streams make shared variables)
_RANDOM_MODULES = ("random", "raw_random", "shared_randomstreams")


def __getattr__(name: str) -> object:
    if name in _RANDOM_MODULES:
        import importlib

        return importlib.import_module(f"symarray.tensor.{name}")
    raise AttributeError(f"module 'symarray.tensor' has no attribute {name!r}")
