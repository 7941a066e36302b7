"""Helpers shared by the scan tests: compile under several linkers, compare."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import symarray as sa

#: linkers every scan test runs under (cvm_nogc for the tests that ask for it)
LINKERS = ("py", "cvm")


def check(inputs: Sequence[Any], outputs: Any, values: Sequence[Any], expected: Any,
          linkers: Sequence[str] = LINKERS, updates: Any = None,
          reset: Callable[[], None] | None = None,
          after: Callable[[], None] | None = None) -> None:
    """Compile ``outputs`` under each linker and compare with ``expected``.

    ``reset`` restores shared values before each run; ``after`` checks
    them after it.
    """
    single = not isinstance(outputs, (list, tuple))
    for linker in linkers:
        if reset is not None:
            reset()
        f = sa.function(list(inputs), outputs, updates=updates,
                        mode=sa.Mode(linker=linker), on_unused_input="ignore")
        got = f(*values)
        got_list = [got] if single else list(got)
        exp_list = [expected] if single else list(expected)
        assert len(got_list) == len(exp_list)
        for g, e in zip(got_list, exp_list, strict=True):
            e = np.asarray(e)
            assert np.shape(g) == e.shape, f"{linker}: shape {np.shape(g)} != {e.shape}"
            np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12,
                                       err_msg=f"linker {linker}")
        if after is not None:
            after()
