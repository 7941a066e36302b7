"""Compact texts of a variable: Theano's ``min_informative_str`` and
``var_descriptor``.

Both stop at named variables and constants: a graph is described only as
far as needed to say what it computes from things the user can name.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

import numpy as np

from symarray.graph.basic import Apply, Constant, Variable
from symarray.graph.traversal import io_toposort
from symarray.printing._graph import char_from_number, short_value

__all__ = ["min_informative_str", "var_descriptor"]


def _as_variable(obj: Any, who: str) -> Variable:
    if isinstance(obj, Apply):
        return obj.out
    if not isinstance(obj, Variable):
        raise TypeError(f"{who}: takes a Variable or an Apply, got "
                        f"{type(obj).__name__}")
    return obj


def min_informative_str(obj: Any, indent_level: int = 0,
                        _prev_obs: dict[Any, str] | None = None,
                        _tag_generator: Any = None) -> str:
    """One labelled line per variable, expanded down to named variables
    and constants; a variable met again prints only its label.

    ``indent_level`` indents every line by that many spaces (Theano's
    argument); the other two are shared state for nested calls.

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x, y = T.dvectors("x", "y")
    >>> h = T.exp(x)
    >>> h.name = "h"
    >>> print(min_informative_str(h * y + h))
    A. add
     B. mul
      C. h
      D. y
     C
    """
    var = _as_variable(obj, "min_informative_str")
    prev = {} if _prev_obs is None else _prev_obs
    counter = _tag_generator if _tag_generator is not None else [len(prev)]
    lines = []
    stack = [(var, indent_level)]
    while stack:
        v, indent = stack.pop()
        pad = " " * indent
        if v in prev:
            lines.append(pad + prev[v])
            continue
        tag = char_from_number(counter[0])
        counter[0] += 1
        prev[v] = tag
        if v.name is not None:
            text = v.name
        elif v.owner is None:
            text = short_value(v.data) if isinstance(v, Constant) else str(v)
        else:
            node = v.owner
            text = str(node.op) if node.nout == 1 else f"{node.op}.{v.index}"
        lines.append(f"{pad}{tag}. {text}")
        if v.owner is not None and v.name is None:
            stack.extend((i, indent + 1) for i in reversed(v.owner.inputs))
    return "\n".join(lines)


def _constant_text(const: Constant) -> str:
    text = short_value(const.data)
    if "..." not in text:
        return f"Constant{{{text}}}"
    data = np.ascontiguousarray(const.data)
    digest = hashlib.sha1(data.tobytes()).hexdigest()[:12]
    return f"Constant{{{data.dtype}{list(data.shape)} sha1:{digest}}}"


def var_descriptor(obj: Any, _prev_obs: dict[Any, str] | None = None,
                   _tag_generator: Any = None) -> str:
    """One line saying how ``obj`` is computed, from named variables and
    constants, without anything that depends on memory addresses (so equal
    graphs built twice give the same text).  A subexpression used more
    than once is tagged the first time (``<A>=add(x, y)``) and referred to
    by its tag afterwards (``<A>``).

    Examples
    --------
    >>> import symarray.tensor as T
    >>> x, y = T.dvectors("x", "y")
    >>> s = x + y
    >>> var_descriptor(s * s)
    'mul(<A>=add(x, y), <A>)'
    """
    var = _as_variable(obj, "var_descriptor")
    prev = {} if _prev_obs is None else _prev_obs
    counter = _tag_generator if _tag_generator is not None else [len(prev)]
    uses: Counter[Variable] = Counter()
    for node in io_toposort([], [var]):
        uses.update(i for i in node.inputs if i.owner is not None and i.name is None)
    out: list[str] = []
    # pre-order, left to right: a shared subexpression is defined where it
    # first appears in the text
    stack: list[tuple[bool, Any]] = [(True, var)]
    while stack:
        is_var, item = stack.pop()
        if not is_var:
            out.append(item)
            continue
        v: Variable = item
        if v in prev:
            out.append(f"<{prev[v]}>")
        elif v.name is not None and v is not var:
            out.append(v.name)
        elif v.owner is None:
            out.append(v.name or (_constant_text(v) if isinstance(v, Constant)
                                  else str(v.type)))
        else:
            node = v.owner
            head = ""
            if uses[v] > 1:
                tag = char_from_number(counter[0])
                counter[0] += 1
                prev[v] = tag
                head = f"<{tag}>="
            out.append(f"{head}{node.op}(")
            stack.append((False, ")" if node.nout == 1 else f")[{v.index}]"))
            for k in reversed(range(node.nin)):
                stack.append((True, node.inputs[k]))
                if k:
                    stack.append((False, ", "))
    return "".join(out)
