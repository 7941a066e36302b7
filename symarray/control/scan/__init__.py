"""``scan``: loops whose body is a graph (Theano's ``scan``).

* :mod:`.info` -- :class:`ScanInfo`, the layout of a loop;
* :mod:`.op` -- the :class:`Scan` op and its reference ``perform``;
* :mod:`.api` -- ``scan()`` and ``until``, which build Scan nodes from a
  step function; :mod:`.helpers` -- ``map``, ``reduce``, ``foldl``, ``foldr``;
* :mod:`.grad` -- its gradients (``L_op``/``R_op``);
* the Cython loop lives with the kernels (:mod:`symarray.kernels_c.scan`).

See ``docs/scan.md``.
"""

from symarray.control.scan.api import scan, until
from symarray.control.scan.helpers import foldl, foldr, map, reduce  # noqa: A004
from symarray.control.scan.info import ScanInfo
from symarray.control.scan.op import Scan, ScanRuntimeError

__all__ = ["Scan", "ScanInfo", "ScanRuntimeError", "scan", "until", "map", "reduce",
           "foldl", "foldr"]
