"""What Python sees of the scan loop's row helpers (symarray/vm/_loop_rows.pyx)."""

from typing import Any

import numpy as np

def rebind_view(base: np.ndarray, row: int) -> tuple[np.ndarray, tuple[Any, ...]]:
    """Test helper: a view of ``base[0]`` rebound to ``base[row]``, and the
    cell cache (typenum, ndim, shape, strides) after rebinding."""
    ...
