"""The profiler: where a compiled function's time and memory go.

Turn it on per function (``function(..., profile=True)``) or for every
function (``SYMARRAY_FLAGS=profile=True``, with ``profile_memory`` and
``profile_optimizer``), then read ``f.profile``:

* ``f.profile.summary()``: the text report (per op class, op and node,
  compile stages, memory);
* ``f.profile.save("profile.json")`` / ``ProfileStats.load``: JSON, which
  ``python -m symarray.profiling report profile.json`` renders as text,
  JSON, a Chrome trace or a picture;
* ``f.profile.write_trace("trace.json")``: a Chrome / Perfetto trace of the
  last calls (``ProfileStats(trace_calls=N)``);
* ``f.profile.picture("graph.svg")``: the graph, nodes coloured by time.

The VM records raw timings (:class:`~symarray.vm._cvm_profile.CyProfile`); this
package formats them.  See docs/profiling.md.
"""

from symarray.profiling.stats import (
    CompileStats,
    FunctionStats,
    MemoryStats,
    NodeStats,
    OutputStats,
    PartStats,
    ProfileStats,
    TracedCall,
)

__all__ = ["ProfileStats", "FunctionStats", "NodeStats", "OutputStats",
           "PartStats", "CompileStats", "MemoryStats", "TracedCall"]
