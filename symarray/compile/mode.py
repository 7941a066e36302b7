"""Modes: which rewrites run and which linker executes the result.

A :class:`Mode` pairs a linker name with a rewrite query (an optimizer name
plus tags to include, exclude or require).  Theano's names work:
``Mode(linker="c|py", optimizer="fast_run")``, ``"FAST_RUN"``,
``"FAST_COMPILE"``, ``mode.including("fast_run").excluding("fusion")``.
"""

from __future__ import annotations

from typing import Any

from symarray import config
from symarray.errors import ConfigError

__all__ = ["Mode", "get_mode", "get_default_mode", "register_mode", "OPTIMIZERS",
           "PREDEFINED_MODES", "REWRITE_PIPELINES"]

#: optimizer names a Mode accepts (the rewrite databases of the rewrite stage)
OPTIMIZERS = ("fast_run", "fast_compile", "merge", "canonicalize", "stabilize",
              "specialize", "None", None)

#: optimizer name -> callable(fgraph, mode) that rewrites in place; filled by
#: the rewrite stage (a name without a pipeline rewrites nothing).  A name
#: registered here is also accepted by ``Mode(optimizer=name)``.
REWRITE_PIPELINES: dict[str, Any] = {}


def _known_optimizers() -> list[str]:
    names = [str(o) for o in OPTIMIZERS if o is not None]
    return names + sorted(n for n in REWRITE_PIPELINES if n not in names)


def _tags(value: str) -> tuple[str, ...]:
    return tuple(t for t in value.split(":") if t)


class Mode:
    """A linker plus a rewrite query.

    Parameters
    ----------
    linker
        A linker name (``py``, ``c|py``, ``vm``, ``cvm`` and ``*_nogc``
        twins); ``None`` takes ``config.linker``.
    optimizer
        ``fast_run``, ``fast_compile``, ``merge``, ``stabilize``... or
        ``None`` for no rewriting; ``"default"`` takes ``config.optimizer``.
    """

    def __init__(self, linker: str | None = None, optimizer: Any = "default",
                 including: tuple[str, ...] = (), excluding: tuple[str, ...] = (),
                 requiring: tuple[str, ...] = ()) -> None:
        from symarray.compile.linkers import check_linker

        self.linker = check_linker(config.linker if linker is None else linker)
        if optimizer == "default":
            optimizer = config.optimizer
        if optimizer not in OPTIMIZERS and optimizer not in REWRITE_PIPELINES:
            known = _known_optimizers()
            import difflib  # only on the error path

            close = difflib.get_close_matches(str(optimizer), known)
            raise ConfigError(
                f"unknown optimizer {optimizer!r}"
                + (f"; did you mean {close[0]!r}?" if close else "")
                + f"; known: {known}"
            )
        self.optimizer = None if optimizer == "None" else optimizer
        self._including = tuple(including) + _tags(config.optimizer_including)
        self._excluding = tuple(excluding) + _tags(config.optimizer_excluding)
        self._requiring = tuple(requiring) + _tags(config.optimizer_requiring)

    def _clone(self, **changes: Any) -> Mode:
        new = Mode.__new__(Mode)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def including(self, *tags: str) -> Mode:
        """A copy that also runs the rewrites tagged ``tags``."""
        return self._clone(_including=self._including + tags)

    def excluding(self, *tags: str) -> Mode:
        """A copy that skips the rewrites tagged ``tags``."""
        return self._clone(_excluding=self._excluding + tags)

    def requiring(self, *tags: str) -> Mode:
        """A copy that runs only rewrites carrying all of ``tags``."""
        return self._clone(_requiring=self._requiring + tags)

    @property
    def included(self) -> tuple[str, ...]:
        return self._including

    @property
    def excluded(self) -> tuple[str, ...]:
        return self._excluding

    @property
    def required(self) -> tuple[str, ...]:
        return self._requiring

    def __repr__(self) -> str:
        parts = [f"linker={self.linker!r}", f"optimizer={self.optimizer!r}"]
        for key in ("including", "excluding", "requiring"):
            if self.__dict__["_" + key]:
                parts.append(f"{key}={self.__dict__['_' + key]}")
        return f"Mode({', '.join(parts)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mode) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, str(v)) for k, v in self.__dict__.items())))


PREDEFINED_MODES: dict[str, Any] = {
    "FAST_RUN": lambda: Mode(optimizer="fast_run"),
    "FAST_COMPILE": lambda: Mode(linker="py", optimizer="fast_compile"),
    "Mode": lambda: Mode(),
}


def _debug_mode() -> Mode:
    """``mode="DebugMode"`` (Theano's self-checking mode, loaded on first use)."""
    from symarray.compile.debugmode import DebugMode

    return DebugMode()


PREDEFINED_MODES["DebugMode"] = PREDEFINED_MODES["DEBUG_MODE"] = _debug_mode


def register_mode(name: str, factory: Any) -> None:
    """Make ``name`` usable as ``mode=name`` (factory: () -> Mode)."""
    if name in PREDEFINED_MODES:
        raise ValueError(f"mode {name!r} is already registered")
    PREDEFINED_MODES[name] = factory


def get_mode(mode: Any) -> Mode:
    """A Mode from a Mode, a name, or None (``config.mode``)."""
    if isinstance(mode, Mode):
        return mode
    if mode is None:
        mode = config.mode
    if isinstance(mode, str):
        factory = PREDEFINED_MODES.get(mode)
        if factory is None:
            import difflib  # only on the error path

            close = difflib.get_close_matches(mode, PREDEFINED_MODES)
            raise ConfigError(
                f"unknown mode {mode!r}"
                + (f"; did you mean {close[0]!r}?" if close else "")
                + f"; known: {sorted(PREDEFINED_MODES)}"
            )
        return factory()
    raise TypeError(f"mode must be a Mode or a mode name, got {type(mode).__name__}")


def get_default_mode() -> Mode:
    """The Mode that ``config.mode`` names."""
    return get_mode(None)


def __getattr__(name: str) -> Mode:
    """``mode.FAST_RUN`` / ``mode.FAST_COMPILE`` (Theano's module constants),
    made on access so that they follow the current config."""
    if name in ("FAST_RUN", "FAST_COMPILE"):
        return get_mode(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
