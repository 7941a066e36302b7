"""Run-time C code generation for fused elementwise nodes (optional).

The Theano tradition, as a tier above the precompiled kernels: with
``config.c_codegen = "on"``, each fused ``Elemwise(Composite)`` node gets C
written for its program, dtypes and layout, compiled once with the system C
compiler and cached on disk for every later process.  Off (the default),
nothing here runs and no compiler is needed.

Stages, one module each:

* :mod:`.source` renders the C (or declines the program);
* :mod:`.compiler` finds the compiler and runs it;
* :mod:`.cache` keys, locks and stores compiled kernels (safe under many
  processes) and counts what happened in :data:`CACHE_STATS`;
* :mod:`.thunk` is the factory registered for ``Elemwise``: it loads the
  kernel and wraps it in a :class:`._thunk.CyCodegenThunk`, or falls back
  to the interpreter with one warning when there is no compiler or a
  compile fails.

See docs/codegen.md.
"""

from symarray.kernels_c.codegen.cache import CACHE_STATS, cache_root, reset_stats

__all__ = ["CACHE_STATS", "cache_root", "reset_stats"]
