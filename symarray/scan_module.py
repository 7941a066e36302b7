"""Theano's ``theano.scan_module``: ``scan``, ``until`` and the scan helpers.

``from theano.scan_module import until`` becomes
``from symarray.scan_module import until``.  The implementation lives in
:mod:`symarray.control.scan`.
"""

from symarray.control.scan.api import scan, until
from symarray.control.scan.helpers import foldl, foldr, map, reduce  # noqa: A004

__all__ = ["scan", "until", "map", "reduce", "foldl", "foldr"]
