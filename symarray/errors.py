"""Named error classes of symarray.

Every error that symarray raises on purpose derives from ``SymarrayError``, so
callers can catch all of them at once, and also from the built-in class that
best describes it (``ValueError``, ``TypeError``, ...), so existing ``except``
clauses keep working. This module imports nothing, so any package may use it.
"""

from __future__ import annotations


class SymarrayError(Exception):
    """Base class of every error that symarray raises on purpose."""


class ConfigError(SymarrayError, ValueError):
    """A configuration flag got a bad value, or a flag name is unknown."""


class UnknownFlagError(ConfigError, AttributeError):
    """A configuration flag name is unknown.

    Also an ``AttributeError``, so ``hasattr(config, "nope")`` and
    ``getattr(config, "nope", default)`` work as for any module.
    """


class MissingInputError(SymarrayError, ValueError):
    """A graph needs a variable that was not given as an input."""


class UnusedInputError(SymarrayError, ValueError):
    """An input given to ``function`` is not used by any output."""


class ShapeMismatchError(SymarrayError, ValueError):
    """Static or run-time shapes disagree (broadcasting, dot, reshape...)."""


class DtypeError(SymarrayError, TypeError):
    """A value or variable has a dtype the operation does not accept."""


class RankError(SymarrayError, TypeError):
    """A value or variable has the wrong number of dimensions."""


class AssertionFailedError(SymarrayError, AssertionError):
    """A run-time ``Assert`` node found a false condition."""


class AxisError(SymarrayError, ValueError, IndexError):
    """An ``axis`` argument is out of range, repeated or not a constant int."""


class EmptyReductionError(SymarrayError, ValueError):
    """A reduction without an identity (max, argmax...) got no elements."""


class IndexingError(SymarrayError, IndexError):
    """An index does not fit the indexed tensor (too many indices, out of range,
    a boolean mask of the wrong shape...)."""


class IndexDtypeError(DtypeError, IndexError):
    """An index has a dtype that cannot index (a float, a string...).

    Also an ``IndexError`` as in NumPy, and a ``TypeError`` as in Theano.
    """


class UnknownRewriteError(ConfigError):
    """A rewrite query names a rewrite or tag that no registered rewrite has."""


class RewriteVerificationError(SymarrayError, TypeError):
    """After rewriting, a node's output types no longer match its op's make_node."""


class RewriteLimitWarning(UserWarning):
    """A rewriter reached its application cap in one phase and was stopped."""


class CodegenError(SymarrayError, RuntimeError):
    """The run-time C code generator could not build a kernel (no compiler,
    or the compiler failed); the precompiled kernels run instead."""


class KernelCompileError(CodegenError):
    """The C compiler rejected a generated kernel.

    ``source``, ``command`` and ``stderr`` hold what was compiled, how, and
    what the compiler said; :meth:`dump` numbers the source lines.
    """

    def __init__(self, message: str, source: str = "", command: str = "",
                 stderr: str = "") -> None:
        super().__init__(message)
        self.source = source
        self.command = command
        self.stderr = stderr

    def dump(self) -> str:
        """The numbered source, the command and the compiler's messages."""
        lines = self.source.splitlines()
        width = len(str(len(lines)))
        numbered = "\n".join(f"{k:>{width}} | {line}"
                             for k, line in enumerate(lines, 1))
        return (f"{numbered}\n--- command:\n{self.command}\n"
                f"--- compiler output:\n{self.stderr.rstrip()}")


class CodegenWarning(UserWarning):
    """A generated C kernel could not be used; the precompiled one runs."""


# -- DebugMode's findings (symarray/compile/debugmode.py) -------------------------


class DebugModeError(SymarrayError, RuntimeError):
    """Base of what DebugMode finds wrong while it runs a function.

    ``node`` is the Apply node at fault (None when no single node is), and
    ``details`` a dict of what was compared (values, indices, names).
    """

    def __init__(self, message: str, node: object = None, **details: object) -> None:
        super().__init__(message)
        self.node = node
        self.details = details


class BadThunkOutput(DebugModeError):  # noqa: N818 - Theano's name
    """A node's fast backend (a C kernel) and its ``perform`` disagree."""


class BadViewMap(DebugModeError):  # noqa: N818 - Theano's name
    """A node's output shares memory with an input its ``view_map`` (and
    ``destroy_map``) do not declare, or with another output."""


class BadDestroyMap(DebugModeError):  # noqa: N818 - Theano's name
    """A node changed an input its ``destroy_map`` does not declare."""


class BadOptimization(DebugModeError):  # noqa: N818 - Theano's name
    """A rewrite replaced a variable by one with another value.

    ``details["rewrite"]`` names the rewrite (None when the difference
    could not be pinned on one replacement).
    """


class InvalidValueError(DebugModeError, ValueError):
    """A node made NaN or infinity from finite inputs (``check_isfinite``)."""


class SparseFormatError(SymarrayError, TypeError):
    """A value or variable is not a sparse matrix of the expected format
    (a dense array where a scipy.sparse matrix is expected, or csc for csr)."""
