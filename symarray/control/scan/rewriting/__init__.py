"""Rewrites of the outer graph on Scan nodes (registered on import).

``symarray.compile.rewrite`` imports this package, so every ``function``
runs them (all tagged ``fast_run`` and ``scan``; exclude them all with
``mode.excluding("scan")`` or one by its name).  One module per rewrite:

``hoist``
    ``local_scan_hoist_invariants`` (canonicalize): step-graph nodes that
    depend only on non-sequences run once, before the loop.
``unused``
    ``scan_remove_unused_outputs`` (canonicalize, specialize, late): traces
    nothing reads go, with the step graph only they need.
``merge``
    ``scan_merge`` (canonicalize, a graph rewriter): independent loops of the
    same length become one loop.
``keep_last``
    ``scan_keep_last`` (specialize, last): a trace read only at its
    last ``k`` rows keeps a ``k``-row buffer (``ScanInfo.keep_last``).

:mod:`._parts` takes a Scan node apart and rebuilds it; every rewrite uses
it.  The step graph itself gets the usual rewrites (these included) when it
is compiled (``Scan.inner_function``).
"""

from symarray.control.scan.rewriting import (  # noqa: F401  (importing registers)
    hoist,
    keep_last,
    merge,
    unused,
)

__all__: list[str] = []
