"""Theano's ``theano.compile.profiling`` module name for the profiler.

Code written for Theano imports ``ProfileStats`` from here::

    from theano.compile.profiling import ProfileStats

    profile = ProfileStats(atexit_print=False)
    f = theano.function([x], y, profile=profile)
    f(value)
    profile.summary()

The profiler itself is :mod:`symarray.profiling` (see docs/profiling.md);
this module only re-exports its public names.

>>> from symarray.compile.profiling import ProfileStats
>>> import symarray.profiling
>>> ProfileStats is symarray.profiling.ProfileStats
True
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
    print_atexit_profiles,
)

__all__ = ["ProfileStats", "FunctionStats", "NodeStats", "OutputStats", "PartStats",
           "CompileStats", "MemoryStats", "TracedCall", "print_atexit_profiles"]
