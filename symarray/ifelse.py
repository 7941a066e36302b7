"""Theano's ``theano.ifelse`` module: ``from symarray.ifelse import ifelse``.

``symarray.ifelse`` is this module (as ``theano.ifelse`` is), and the
module is also callable, so ``symarray.ifelse(cond, a, b)`` works too: a
package attribute cannot be both the submodule and the function.
"""

import sys
import types
from typing import Any

from symarray.control.ifelse import IfElse, ifelse

__all__ = ["IfElse", "ifelse"]


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return ifelse(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
