"""Control flow: lazy ``ifelse`` and the branch regions the VM lays out."""

from symarray.control.branches import BranchTracker, branch_regions, track_branches
from symarray.control.ifelse import IfElse, ifelse

__all__ = ["IfElse", "ifelse", "BranchTracker", "branch_regions", "track_branches"]
