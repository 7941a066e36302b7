"""What Python sees of the scan loop's part timer (symarray/vm/_loop_profile.pyx)."""

import numpy as np

from symarray.vm._cvm_profile import CyProfile

#: (name, what it covers) of each part of a profiled loop call: loop setup,
#: inner program, between steps, loop finish, perform fallback
LOOP_PARTS: tuple[tuple[str, str], ...]

class CyLoopProfile:
    """Times the parts of a loop thunk's calls; each step is one run of
    ``recorder`` (the inner VM's)."""

    #: the inner VM's recorder
    recorder: CyProfile
    #: per part of LOOP_PARTS: calls (steps for the inner program) and ticks
    part_calls: np.ndarray
    part_ticks: np.ndarray
    def __init__(self, recorder: CyProfile) -> None: ...
    def parts(self) -> list[tuple[str, int, int]]:
        """``(name, calls, ticks)`` per part of LOOP_PARTS."""
    def reset(self) -> None:
        """Forget the part timings recorded so far."""
