"""Control flow: lazy ``ifelse``, the branch regions the VM lays out, and loops
(the :mod:`symarray.control.scan` package; ``symarray.scan`` builds them)."""

from symarray.control.branches import BranchTracker, branch_regions, track_branches
from symarray.control.ifelse import IfElse, ifelse

__all__ = ["IfElse", "ifelse", "BranchTracker", "branch_regions", "track_branches",
           "Scan", "ScanInfo"]

_SCAN_NAMES = ("Scan", "ScanInfo")


def __getattr__(name: str) -> object:
    """``Scan`` and ``ScanInfo``, loaded on first use (``import symarray`` stays
    fast)."""
    if name in _SCAN_NAMES:
        import symarray.control.scan as scan_package

        return getattr(scan_package, name)
    raise AttributeError(f"module 'symarray.control' has no attribute {name!r}")
