"""Printing graphs and values: Theano's ``theano.printing``.

* :func:`debugprint` -- a graph as an indented tree with ids, types and
  inner graphs (scan steps, fused composites, lazy ifelse blocks);
* :func:`pp` / :data:`pprint` -- one line of math: ``((x + y) * exp(z))``;
* :func:`pydotprint` -- a picture of the graph (Graphviz ``dot`` text,
  rendered by ``dot`` or by networkx + matplotlib);
* :class:`Print` -- an identity op that prints its input's value when it runs;
* :func:`min_informative_str`, :func:`var_descriptor` -- compact labels.

Key decisions: every printer accepts the same objects (a Variable, a list
of them, an Apply, a FunctionGraph, a compiled Function) through one
adapter (:mod:`symarray.printing._graph`); the package is imported on first
use (``symarray.printing`` and ``symarray.pp`` load it lazily), so
``import symarray`` does not pay for it, and networkx/matplotlib are only
imported when a picture is rendered without Graphviz.
"""

from symarray.printing._graph import char_from_number
from symarray.printing.debug import debugprint
from symarray.printing.dot import RendererNotFoundError, pydotprint
from symarray.printing.labels import min_informative_str, var_descriptor
from symarray.printing.pretty import PPrinter, pp, pprint
from symarray.printing.print_op import Print

__all__ = ["debugprint", "pp", "pprint", "PPrinter", "pydotprint", "Print",
           "RendererNotFoundError", "min_informative_str", "var_descriptor",
           "char_from_number"]
