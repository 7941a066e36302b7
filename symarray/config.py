"""The one registry of symarray's configuration flags.

This module *is* the configuration object::

    from symarray import config
    config.floatX                      # read a flag
    config.floatX = "float32"          # validate and set it
    with config.change_flags(mode="FAST_COMPILE"):
        ...                            # set flags for a block (or decorate a function)
    print(config.describe())           # every flag: value, default, allowed, doc

Design notes:

- Each flag is declared once below with ``_add(name, Param, doc,
  affects_graph=...)``, next to a bare annotation (``floatX: str``) that
  gives static type checkers its type.  ``affects_graph`` says whether the
  flag changes the rewritten graph (the in-process graph cache's key).
  Param kinds (``EnumParam``, ``BoolParam``, ``IntParam``, ``FloatParam``,
  ``StrParam``) validate values and turn strings (from the environment or an
  rc file) into typed values.
- Current values live in the module's ``__dict__``, so reading a flag is a
  plain attribute lookup. At the end of the module, the module's class is
  swapped for ``_ConfigModule``, whose ``__setattr__`` validates assignments
  and whose ``__getattr__`` computes lazy defaults and reports unknown names
  with close matches.
- At import, flags are read from the rc files named by ``$SYMARRAYRC``
  (default ``~/.symarrayrc``; ini format, section ``[global]``), then from
  ``$SYMARRAY_FLAGS`` (``name=value,name=value``), which wins.
- Stdlib only and cheap to import: it imports nothing of symarray except
  ``symarray.errors``; ``difflib`` and ``configparser`` load only when needed.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import types
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from symarray.errors import ConfigError, UnknownFlagError

__all__ = [
    "BoolParam",
    "EnumParam",
    "Flag",
    "FloatParam",
    "IntParam",
    "Param",
    "StrParam",
    "change_flags",
    "describe",
    "flags",
]

T = TypeVar("T")

ENV_FLAGS = "SYMARRAY_FLAGS"
ENV_RC = "SYMARRAYRC"
DEFAULT_RC = "~/.symarrayrc"
RC_SECTION = "global"


# --------------------------------------------------------------------------- params
class Param(Generic[T]):
    """How one flag's values are checked and parsed.

    ``convert(value)`` returns the typed value or raises ``ValueError`` whose
    message is a hint (possibly empty) appended to the error the registry
    builds. ``allowed`` describes the accepted values in words.
    """

    allowed: str = "any value"

    def __init__(
        self, default: T | None = None, *, lazy: Callable[[], T] | None = None
    ) -> None:
        if (default is None) == (lazy is None):
            raise TypeError(f"{type(self).__name__}: give exactly one of default, lazy")
        self._default = default
        self._lazy = lazy

    @property
    def is_lazy(self) -> bool:
        """True when the default is computed on first read."""
        return self._lazy is not None

    def default(self) -> T:
        """The default value, computed now if it is lazy."""
        if self._lazy is not None:
            return self.convert(self._lazy())
        assert self._default is not None  # guaranteed by __init__
        return self._default

    def convert(self, value: object) -> T:  # pragma: no cover - abstract
        raise NotImplementedError


def _did_you_mean(word: str, choices: list[str]) -> str:
    """'; did you mean 'x'?' for close matches (case-insensitive), else ''."""
    import difflib  # only on the error path

    lowered = {c.lower(): c for c in choices}
    hits = difflib.get_close_matches(word.lower(), list(lowered), n=3, cutoff=0.6)
    if not hits:
        return ""
    quoted = [repr(lowered[h]) for h in hits]
    options = (
        quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    )
    return f"; did you mean {options}?"


class EnumParam(Param[str]):
    """One of a fixed tuple of strings (case-sensitive; ``None`` -> ``"None"``)."""

    def __init__(self, default: str, choices: tuple[str, ...]) -> None:
        if default not in choices:
            raise TypeError(f"EnumParam: default {default!r} not in {choices}")
        self.choices = choices
        self.allowed = "one of " + ", ".join(choices)
        super().__init__(default)

    def convert(self, value: object) -> str:
        if value is None and "None" in self.choices:
            return "None"
        if isinstance(value, str):
            stripped = value.strip()
            if stripped in self.choices:
                return stripped
            raise ValueError(_did_you_mean(stripped, list(self.choices)))
        raise ValueError("")


class BoolParam(Param[bool]):
    """True or False; also the strings True/False/true/false/1/0 and ints 0, 1."""

    allowed = "True or False (also as strings: True, False, true, false, 1, 0)"
    _TRUE = frozenset({"True", "true", "1"})
    _FALSE = frozenset({"False", "false", "0"})

    def convert(self, value: object) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            stripped = value.strip()
            if stripped in self._TRUE:
                return True
            if stripped in self._FALSE:
                return False
        raise ValueError("")


class IntParam(Param[int]):
    """An integer (or a string of one), optionally bounded below."""

    def __init__(self, default: int, *, minimum: int | None = None) -> None:
        self.minimum = minimum
        self.allowed = "an integer" + ("" if minimum is None else f" >= {minimum}")
        if minimum is not None and default < minimum:
            raise TypeError(f"IntParam: default {default} is below minimum {minimum}")
        super().__init__(default)

    def _check(self, number: int) -> int:
        if self.minimum is not None and number < self.minimum:
            raise ValueError("")
        return number

    def convert(self, value: object) -> int:
        if isinstance(value, bool):
            raise ValueError("; a bool is not an integer here")
        if isinstance(value, int):
            return self._check(value)
        if isinstance(value, str):
            try:
                number = int(value.strip())
            except ValueError:
                raise ValueError("") from None
            return self._check(number)
        raise ValueError("")


class FloatParam(Param[float]):
    """A real number (int, float, or a string of one), optionally bounded below."""

    def __init__(self, default: float, *, minimum: float | None = None) -> None:
        self.minimum = minimum
        self.allowed = "a number" + ("" if minimum is None else f" >= {minimum}")
        if minimum is not None and default < minimum:
            raise TypeError(f"FloatParam: default {default} is below minimum {minimum}")
        super().__init__(float(default))

    def _check(self, number: float) -> float:
        if number != number:  # NaN
            raise ValueError("; NaN is not allowed")
        if self.minimum is not None and number < self.minimum:
            raise ValueError("")
        return number

    def convert(self, value: object) -> float:
        if isinstance(value, bool):
            raise ValueError("; a bool is not a number here")
        if isinstance(value, (int, float)):
            return self._check(float(value))
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise ValueError("") from None
            return self._check(number)
        raise ValueError("")


class StrParam(Param[str]):
    """A string, optionally checked by ``validator(value) -> bool``.

    ``transform`` (e.g. ``os.path.expanduser``) is applied before validation.
    """

    def __init__(
        self,
        default: str | None = None,
        *,
        lazy: Callable[[], str] | None = None,
        validator: Callable[[str], bool] | None = None,
        transform: Callable[[str], str] | None = None,
        allowed: str = "any string",
    ) -> None:
        self.validator = validator
        self.transform = transform
        self.allowed = allowed
        super().__init__(None if default is None else self.convert(default), lazy=lazy)

    def convert(self, value: object) -> str:
        if not isinstance(value, str):
            raise ValueError("")
        text = value.strip()
        if self.transform is not None:
            text = self.transform(text)
        if self.validator is not None and not self.validator(text):
            raise ValueError("")
        return text


# --------------------------------------------------------------------------- registry
class Flag:
    """Descriptor of one flag: name, param (kind and allowed values), doc.

    ``affects_graph``: whether the flag changes what rewriting makes of a
    graph under a given rewrite query (the graph cache keys on such flags;
    None: not classified, keyed on to be safe).
    """

    __slots__ = ("name", "param", "doc", "default_doc", "affects_graph")

    def __init__(
        self,
        name: str,
        param: Param[Any],
        doc: str,
        default_doc: str,
        affects_graph: bool | None = None,
    ) -> None:
        self.name = name
        self.param = param
        self.doc = doc
        self.default_doc = default_doc  # the default in words (lazy ones)
        self.affects_graph = affects_graph

    @property
    def default(self) -> Any:
        """The default value (a lazy default is computed now)."""
        return self.param.default()

    @property
    def allowed(self) -> str:
        """The accepted values, in words."""
        return self.param.allowed

    @property
    def kind(self) -> str:
        """The param kind's class name, e.g. ``"EnumParam"``."""
        return type(self.param).__name__

    def __repr__(self) -> str:
        return f"Flag({self.name!r}, {self.kind}, default={self.default_doc})"


_FLAGS: dict[str, Flag] = {}
_UNSET = object()  # marks a lazy default not yet computed


def _add(
    name: str,
    param: Param[Any],
    doc: str,
    *,
    default_doc: str = "",
    affects_graph: bool | None = None,
) -> None:
    """Declare a flag; a non-lazy default is stored as the current value.

    ``affects_graph``: True when the flag changes what rewriting makes of a
    graph under a given rewrite query (read by a rewrite or by an op built
    during rewriting), so that the graph cache must key on it; False when
    it acts only through the Mode (whose query is in the key), at link time
    (thunks are made for every compile, cache hit or not), at call time or
    in reports.

    Flag names are public (no leading underscore) and must not clash with the
    module's public names or ``ModuleType``'s attributes; everything defined
    after the declarations is private, so no flag can shadow it.
    """
    if (
        name in _FLAGS
        or name.startswith("_")
        or name in globals()
        or hasattr(types.ModuleType, name)
    ):
        raise TypeError(f"config flag {name!r} is declared twice or shadows a name")
    if not param.is_lazy:
        default_doc = default_doc or repr(param.default())
        globals()[name] = param.default()
    _FLAGS[name] = Flag(name, param, doc, default_doc, affects_graph)


def _unknown(name: str, source: str = "") -> UnknownFlagError:
    where = f" (from {source})" if source else ""
    return UnknownFlagError(
        f"unknown flag {name!r}{where}{_did_you_mean(name, list(_FLAGS))} "
        "(symarray.config.describe() lists every flag; see docs/config.md)"
    )


def _convert(name: str, value: object, source: str = "") -> Any:
    """Validate ``value`` for flag ``name``; ``source`` says where it came from."""
    flag = _FLAGS.get(name)
    if flag is None:
        raise _unknown(name, source)
    try:
        return flag.param.convert(value)
    except ValueError as exc:
        where = f" (from {source})" if source else ""
        raise ConfigError(
            f"invalid value for flag {name!r}{where}: got {value!r}, "
            f"expected {flag.allowed}{exc}"
        ) from None


def _get(name: str) -> Any:
    """Current value of a flag, computing and storing a lazy default."""
    namespace = globals()
    if name not in namespace:
        namespace[name] = _FLAGS[name].default
    return namespace[name]


def flags() -> tuple[Flag, ...]:
    """Every flag's descriptor, in declaration order (used by the docs)."""
    return tuple(_FLAGS.values())


def describe() -> str:
    """A text listing of every flag: value, default, allowed values, doc."""
    lines = []
    for flag in _FLAGS.values():
        lines.append(f"{flag.name} = {_get(flag.name)!r}")
        lines.append(f"    default: {flag.default_doc}; allowed: {flag.allowed}")
        lines.append(f"    {flag.doc}")
    return "\n".join(lines)


class change_flags(contextlib.ContextDecorator):  # noqa: N801 - Theano's name
    """Set flags for a ``with`` block or a decorated function, then restore them.

    Values are checked when ``change_flags`` is called, so a typo fails at
    once. Old values come back also when the block raises.

    >>> from symarray import config
    >>> with config.change_flags(floatX="float32"):
    ...     config.floatX
    'float32'
    """

    def __init__(self, *mappings: Mapping[str, object], **kwargs: object) -> None:
        requested: dict[str, object] = {}
        for mapping in mappings:
            requested.update(mapping)
        requested.update(kwargs)
        self._new = {name: _convert(name, value) for name, value in requested.items()}
        self._saved: list[dict[str, object]] = []  # a stack: re-entrant

    def __enter__(self) -> change_flags:
        namespace = globals()
        self._saved.append({n: namespace.get(n, _UNSET) for n in self._new})
        namespace.update(self._new)
        return self

    def __exit__(self, *exc_info: object) -> None:
        namespace = globals()
        for name, old in self._saved.pop().items():
            if old is _UNSET:
                namespace.pop(name, None)  # a lazy default not yet computed
            else:
                namespace[name] = old


# --------------------------------------------------------------------------- flags
def _default_compiledir() -> str:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return os.path.join(cache, "symarray")


def _is_device(text: str) -> bool:
    return re.fullmatch(r"cpu|gpu|cuda\d*", text) is not None


class _DeviceParam(StrParam):
    """``device``: Theano's values are accepted (old flag strings keep
    working), and a GPU value warns that computations stay on the CPU: the
    CuPy backend (``symarray/kernels_gpu``) is not built yet."""

    def convert(self, value: object) -> str:
        text = super().convert(value)
        if text != "cpu":
            warnings.warn(
                f"device={text!r}: symarray has no GPU backend yet; computations "
                "run on the CPU (set device=cpu to silence this)",
                UserWarning, stacklevel=4,
            )
        return text


LINKERS = ("py", "c|py", "c|py_nogc", "vm", "vm_nogc", "cvm", "cvm_nogc")

floatX: str  # noqa: N816 - Theano's name
_add(
    "floatX",
    EnumParam("float64", ("float64", "float32", "float16")),
    "dtype of Python floats and of `T.matrix()` etc. without a dtype prefix",
    affects_graph=True,
)
mode: str
_add(
    "mode",
    EnumParam(
        "FAST_RUN", ("FAST_RUN", "FAST_COMPILE", "Mode", "DebugMode", "DEBUG_MODE")
    ),
    "default compilation mode of `function()`",
    affects_graph=False,
)
linker: str
_add(
    "linker",
    StrParam(
        "cvm", validator=LINKERS.__contains__, allowed="one of " + ", ".join(LINKERS)
    ),
    "default linker (how the graph is run): `cvm` Cython VM with C kernels, `vm` "
    "its Python twin, `py` Python VM over `perform` only; `_nogc` keeps buffers "
    "between calls",
    affects_graph=False,
)
optimizer: str
_add(
    "optimizer",
    EnumParam(
        "fast_run",
        (
            "fast_run",
            "fast_compile",
            "merge",
            "canonicalize",
            "stabilize",
            "specialize",
            "None",
        ),
    ),
    "default rewrite query: which graph rewrites run before linking",
    affects_graph=False,
)
optimizer_including: str
_add(
    "optimizer_including",
    StrParam(""),
    "colon-separated rewrite tags to add to the optimizer's query",
    affects_graph=False,
)
optimizer_excluding: str
_add(
    "optimizer_excluding",
    StrParam(""),
    "colon-separated rewrite tags to remove from the optimizer's query",
    affects_graph=False,
)
optimizer_requiring: str
_add(
    "optimizer_requiring",
    StrParam(""),
    "colon-separated rewrite tags that every applied rewrite must carry",
    affects_graph=False,
)
graph_cache: bool
_add(
    "graph_cache",
    BoolParam(True),
    "compiling a graph already rewritten in this process reuses the rewritten "
    "graph (an in-process LRU cache keyed by a structural hash)",
    affects_graph=False,
)
check_rewrites: bool
_add(
    "check_rewrites",
    BoolParam(False),
    "re-run make_node on every node a rewrite creates and check its output types",
    affects_graph=True,
)
device: str
_add(
    "device",
    _DeviceParam(
        "cpu", validator=_is_device, allowed="cpu, gpu, cuda or cudaN (N a number)"
    ),
    "where computations run by default; only `cpu` exists so far (`gpu`/`cuda` "
    "values are accepted for Theano's flag strings and warn that the CPU runs)",
    affects_graph=True,
)
profile: bool
_add(
    "profile",
    BoolParam(False),
    "profile every compiled function (time per node)",
    affects_graph=False,
)
profile_memory: bool
_add(
    "profile_memory",
    BoolParam(False),
    "also record memory use per node when profiling",
    affects_graph=False,
)
profile_optimizer: bool
_add(
    "profile_optimizer",
    BoolParam(False),
    "also time each rewrite when profiling",
    affects_graph=False,
)
compute_test_value: str
_add(
    "compute_test_value",
    EnumParam("off", ("off", "ignore", "warn", "raise", "pdb")),
    "compute ops on test values while building the graph (shape errors at your line)",
    affects_graph=True,
)
allow_gc: bool
_add(
    "allow_gc",
    BoolParam(True),
    "free intermediate results after their last use in a call",
    affects_graph=False,
)
memory_plan: bool
_add(
    "memory_plan",
    BoolParam(True),
    "no-GC mode: intermediates with disjoint lifetimes and equal shapes share one "
    "kept buffer (the static memory planner; off: each keeps its own)",
    affects_graph=False,
)
buffer_pool_mb: int
_add(
    "buffer_pool_mb",
    IntParam(1024, minimum=0),
    "MiB of freed large buffers (128 KiB and up) that C-VM calls keep for their "
    "next allocations of about the same size, so a repeated call does not "
    "page-fault its intermediates in again (capped at an eighth of the physical "
    "memory; 0: off, NumPy's default allocator; see docs/memory.md); read when a "
    "function is compiled",
    affects_graph=False,
)
cast_policy: str
_add(
    "cast_policy",
    EnumParam("custom", ("custom", "numpy+floatX")),
    "how result dtypes of mixed-type operations are chosen",
    affects_graph=True,
)
base_compiledir: str
_add(
    "base_compiledir",
    StrParam(
        lazy=_default_compiledir,
        transform=os.path.expanduser,
        validator=bool,
        allowed="a non-empty directory path (~ is expanded)",
    ),
    "directory for cached compiled graphs and generated kernels",
    default_doc="$XDG_CACHE_HOME/symarray or ~/.cache/symarray",
    affects_graph=False,
)
c_codegen: str
_add(
    "c_codegen",
    EnumParam("off", ("off", "on")),
    "`on`: fused elementwise nodes run C generated for them and compiled with the "
    "system C compiler (cached under base_compiledir); `off`: the precompiled "
    "interpreter (no compiler needed)",
    affects_graph=False,
)
c_compiler: str
_add(
    "c_compiler",
    StrParam(""),
    "C compiler command for c_codegen (empty: $CC, else cc, gcc or clang on PATH)",
    affects_graph=False,
)
c_codegen_dump_source: bool
_add(
    "c_codegen_dump_source",
    BoolParam(False),
    "a failed c_codegen compile shows the numbered source, the command and the "
    "compiler's messages in its warning",
    affects_graph=False,
)
record_creation_site: bool
_add(
    "record_creation_site",
    BoolParam(True),
    "each Variable records the user's file and line that created it (for errors)",
    affects_graph=False,
)
exception_verbosity: str
_add(
    "exception_verbosity",
    EnumParam("low", ("low", "high")),
    "how much graph context a failing node prints (`high`: a debugprint of it)",
    affects_graph=False,
)
on_unused_input: str
_add(
    "on_unused_input",
    EnumParam("raise", ("raise", "warn", "ignore")),
    "what `function()` does with an input the outputs do not depend on",
    affects_graph=False,
)
warn_float64: str
_add(
    "warn_float64",
    EnumParam("ignore", ("ignore", "warn", "raise")),
    "what to do when a float64 variable is created (to keep float32 graphs clean)",
    affects_graph=True,
)
print_thunk_backends: bool
_add(
    "print_thunk_backends",
    BoolParam(False),
    "print which backend (C, GPU, Python) runs each node when a function is compiled",
    affects_graph=False,
)
traceback_limit: int
_add(
    "traceback_limit",
    IntParam(8, minimum=-1),
    "frames kept of the user stack where a Variable is created (-1: all)",
    affects_graph=False,
)
check_input: bool
_add(
    "check_input",
    BoolParam(True),
    "validate input types and shapes on each call",
    affects_graph=False,
)
deterministic: str
_add(
    "deterministic",
    EnumParam("default", ("default", "more")),
    "`more` avoids kernels whose results vary between runs (e.g. atomic adds)",
    affects_graph=True,
)

kernel_threads: int
_add(
    "kernel_threads",
    IntParam(0, minimum=0),
    "threads a C kernel (elementwise, reduction, BLAS: OpenBLAS's thread count "
    "is capped at it during each product) splits large work over (0: every core "
    "this process may use); read when a function is compiled",
    affects_graph=False,
)

# --------------------------------------------------------------------------- DebugMode
# the defaults of DebugMode(...) (symarray/compile/debugmode.py, docs/debugmode.md)
DebugMode__check_c: bool  # noqa: N816 - PyTensor's name
_add(
    "DebugMode__check_c",
    BoolParam(True),
    "DebugMode runs each node with the backend the normal linker picks (C kernels "
    "where there are some); False: every node runs only its perform",
    affects_graph=False,
)
DebugMode__check_py: bool  # noqa: N816 - PyTensor's name
_add(
    "DebugMode__check_py",
    BoolParam(True),
    "DebugMode also runs each node's perform on copies of its inputs and compares "
    "it with the C kernel's result (BadThunkOutput)",
    affects_graph=False,
)
DebugMode__check_finite: bool  # noqa: N816 - PyTensor's name
_add(
    "DebugMode__check_finite",
    BoolParam(True),
    "DebugMode raises InvalidValueError at the first node that makes NaN or inf "
    "from finite inputs",
    affects_graph=False,
)
DebugMode__check_strides: int  # noqa: N816 - PyTensor's name
_add(
    "DebugMode__check_strides",
    IntParam(0, minimum=0),
    "DebugMode compares output strides of the C kernel and perform: 0 no, 1 warn, "
    "2 raise BadThunkOutput",
    affects_graph=False,
)
DebugMode__check_each_rewrite: bool  # noqa: N816 - PyTensor's style
_add(
    "DebugMode__check_each_rewrite",
    BoolParam(False),
    "DebugMode compares every rewrite's replacement with the replaced variable on "
    "every call (default: only when the outputs differ from the graph as written)",
    affects_graph=False,
)


# --------------------------------------------------------------------------- loading
def _set_from_text(name: str, value: str, source: str) -> None:
    globals()[name] = _convert(name, value, source)


def _load_rc_files() -> None:
    """Apply ``[global]`` of every existing rc file in $SYMARRAYRC, in order."""
    paths = os.environ.get(ENV_RC, DEFAULT_RC).split(os.pathsep)
    for path in (os.path.expanduser(p) for p in paths if p.strip()):
        if not os.path.isfile(path):
            continue
        import configparser  # only when an rc file exists

        parser = configparser.ConfigParser(interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep case
        try:
            parser.read(path, encoding="utf-8")
        except configparser.Error as exc:
            raise ConfigError(f"cannot parse config file {path}: {exc}") from None
        for section in parser.sections():
            if section != RC_SECTION:
                raise ConfigError(
                    f"config file {path}: unknown section [{section}]; "
                    f"put flags under [{RC_SECTION}]"
                )
        if parser.has_section(RC_SECTION):
            for name, value in parser.items(RC_SECTION):
                _set_from_text(name, value, f"{path} [{RC_SECTION}]")


def _load_env() -> None:
    """Apply ``$SYMARRAY_FLAGS``: comma-separated ``name=value`` entries."""
    text = os.environ.get(ENV_FLAGS, "")
    for entry in text.split(","):
        if not entry.strip():
            continue
        name, sep, value = entry.partition("=")
        if not sep:
            raise ConfigError(
                f"{ENV_FLAGS}: entry {entry.strip()!r} has no '='; "
                f"write name=value, e.g. {ENV_FLAGS}='floatX=float32,mode=FAST_COMPILE'"
            )
        _set_from_text(name.strip(), value, ENV_FLAGS)


class _ConfigModule(types.ModuleType):
    """The module's class: validated flag assignment, helpful unknown names."""

    def __getattr__(self, name: str) -> Any:
        # Called only when normal lookup fails: a lazy default or a typo.
        if name in _FLAGS:
            return _get(name)
        if name.startswith("__"):
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        raise _unknown(name)

    def __setattr__(self, name: str, value: object) -> None:
        if name in _FLAGS:
            self.__dict__[name] = _convert(name, value)
        elif name in self.__dict__ or name.startswith("__"):
            super().__setattr__(name, value)
        else:
            raise _unknown(name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(_FLAGS))


_load_rc_files()
_load_env()
sys.modules[__name__].__class__ = _ConfigModule
