# cython: language_level=3
"""The base class of the C thunks that fall back to the op's ``perform``.

A kernel takes the common case (dtypes, layouts, sizes it has loops for)
and hands anything else to ``perform``, the living spec, which also raises
the user-facing errors.  :class:`CyFallbackThunk` holds that ``perform``
thunk, made with the node and bound to the same cells, so a subclass's
``run`` ends with ``return self.fallback.run()`` wherever it declines.
"""

from symarray.vm._cvm cimport CyStorage


cdef class CyFallbackThunk(CyThunk):
    """A C thunk with a ``perform`` thunk on the same cells (``fallback``).

    Parameters
    ----------
    node
        The Apply node.
    """

    def __init__(self, node):
        CyThunk.__init__(self, node)
        self.fallback = CyPyThunk(node)

    def bind(self, CyStorage storage not None, in_cells, out_cells,
             bint keep_buffers=False):
        """Bind this thunk and its fallback to the same cells."""
        CyThunk.bind(self, storage, in_cells, out_cells, keep_buffers)
        self.fallback.bind(storage, in_cells, out_cells, keep_buffers)
