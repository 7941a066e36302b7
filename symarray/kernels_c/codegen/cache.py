"""The on-disk cache of compiled kernels, safe under many processes at once.

Layout under ``<config.base_compiledir>/codegen/``:

``<key>/kernel.so``, ``<key>/kernel.c``, ``<key>/meta.json``
    one compiled kernel; the folder appears complete or not at all.
``<key>.lock``
    held while one process compiles ``<key>``; holds ``pid host time token``.
``tmp-*``
    a compile in progress (renamed to ``<key>`` when done).
``compile.log``
    one line per compile: ``key seconds pid host time`` (appended).

The key (:func:`kernel_key`) is a SHA-256 of everything that decides the
binary: the generated source, the headers it includes, the compiler's path
and version, the flags, the machine's CPU features, the calling convention
and symarray's version.

Protocol of :func:`get_or_build`:

1. A hit (``<key>/kernel.so`` exists) takes no lock.
2. Otherwise take ``<key>.lock`` (``O_CREAT | O_EXCL``).  Only the compile
   is locked, per key, so different kernels compile in parallel.  While
   another process holds it, poll until the kernel appears or the lock is
   stale: its process is dead (same host) or it is older than
   :data:`LOCK_TIMEOUT_S`.  A stale lock is moved aside (an atomic rename)
   and the moved file is checked to be the one judged stale; a fresh lock
   moved by mistake is put back with ``os.link``, which never overwrites.
3. With the lock, look again (another process may have just finished),
   compile into a ``tmp-*`` folder and ``os.rename`` it to ``<key>``:
   readers never see a partial kernel.  A failure removes the folder.

:data:`CACHE_STATS` counts what happened in this process (the profiler
shows it).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import pathlib
import re
import secrets
import shutil
import socket
import tempfile
import time
from typing import Any

from symarray import config
from symarray.kernels_c.codegen.compiler import (
    COMPILE_TIMEOUT_S,
    FLAGS,
    INCLUDE_DIR,
    LIBS,
    Compiler,
    compile_library,
    machine_tag,
)
from symarray.kernels_c.codegen.source import ABI, HEADERS

__all__ = ["CACHE_STATS", "cache_root", "kernel_key", "get_or_build", "evict",
           "reset_stats", "LOCK_TIMEOUT_S", "LIB_NAME", "LOG_NAME"]

logger = logging.getLogger(__name__)

#: a lock older than this is stale whoever holds it (seconds)
LOCK_TIMEOUT_S = COMPILE_TIMEOUT_S + 60
#: file name of a compiled kernel inside its folder
LIB_NAME = "kernel.so"
#: the compile log in the cache root
LOG_NAME = "compile.log"

#: counters of this process: kernels found compiled (``hits``: in memory or
#: on disk; ``memory_hits``, ``disk_hits``), compiled here (``misses``),
#: compiled by another process while this one waited (``waited``), seconds
#: compiling (``compile_s``) and loading (``load_s``), failed compiles
#: (``failures``), programs the generator declines (``declined``) and stale
#: locks broken (``locks_broken``)
CACHE_STATS: dict[str, Any] = {}

_HOST = socket.gethostname()


def reset_stats() -> None:
    """Zero :data:`CACHE_STATS`."""
    CACHE_STATS.update(hits=0, memory_hits=0, disk_hits=0, misses=0, waited=0,
                       compile_s=0.0, load_s=0.0, failures=0, declined=0,
                       locks_broken=0)


reset_stats()


def cache_root() -> pathlib.Path:
    """The cache folder: ``<config.base_compiledir>/codegen``."""
    return pathlib.Path(config.base_compiledir) / "codegen"


def kernel_key(source: str, compiler: Compiler) -> str:
    """The cache key of ``source`` compiled by ``compiler`` (40 hex digits)."""
    from symarray import __version__

    material = {
        "abi": ABI, "symarray": __version__, "source": source,
        "headers": _headers_digest(_header_stamps()),
        "compiler": compiler.identity, "flags": [*FLAGS, *LIBS],
        "machine": machine_tag(),
    }
    text = json.dumps(material, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def _header_files() -> list[pathlib.Path]:
    """HEADERS and every quoted header they include, transitively."""
    seen: list[pathlib.Path] = []
    todo = [INCLUDE_DIR / h for h in HEADERS]
    while todo:
        path = todo.pop()
        if path in seen or not path.exists():
            continue
        seen.append(path)
        todo += [INCLUDE_DIR / m for m in
                 _INCLUDE.findall(path.read_text(encoding="utf-8"))]
    return sorted(seen)


def _header_stamps() -> tuple[tuple[str, int, int], ...]:
    stamps = []
    for path in _header_files():
        st = path.stat()
        stamps.append((path.name, st.st_mtime_ns, st.st_size))
    return tuple(stamps)


@functools.lru_cache(maxsize=8)
def _headers_digest(stamps: tuple[tuple[str, int, int], ...]) -> str:
    """SHA-256 of the headers' text (recomputed when one changes)."""
    h = hashlib.sha256()
    for name, _, _ in stamps:
        h.update(name.encode())
        h.update((INCLUDE_DIR / name).read_bytes())
    return h.hexdigest()


# -- the protocol ----------------------------------------------------------------

def get_or_build(key: str, source: str, compiler: Compiler) -> pathlib.Path:
    """The compiled kernel ``key`` (compiling ``source`` if no process has).

    Raises
    ------
    KernelCompileError
        When the compiler fails (nothing is left in the cache).
    """
    root = cache_root()
    lib = root / key / LIB_NAME
    if lib.exists():
        CACHE_STATS["hits"] += 1
        CACHE_STATS["disk_hits"] += 1
        return lib
    root.mkdir(parents=True, exist_ok=True)
    lock = root / f"{key}.lock"
    token, waited = _acquire(lock, lib)
    try:
        if lib.exists():  # another process compiled it meanwhile
            CACHE_STATS["hits"] += 1
            CACHE_STATS["disk_hits"] += 1
            CACHE_STATS["waited"] += waited
            return lib
        _build(root, key, source, compiler)
    finally:
        if token is not None:
            _release(lock, token)
    return lib


def _build(root: pathlib.Path, key: str, source: str, compiler: Compiler) -> None:
    """Compile into a temporary folder and rename it to ``root/key`` (lock held)."""
    final = root / key
    if final.exists():  # a folder without its library: damaged by hand
        _remove_aside(final)
    _sweep(root)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f"tmp-{key[:12]}-", dir=root))
    renamed = False
    try:
        src = tmp / "kernel.c"
        src.write_text(source, encoding="utf-8")
        try:
            seconds = compile_library(compiler, src, tmp / LIB_NAME)
        except Exception:
            CACHE_STATS["failures"] += 1
            raise
        meta = {"key": key, "compiler": compiler.identity, "flags": [*FLAGS, *LIBS],
                "seconds": round(seconds, 4), "pid": os.getpid(), "host": _HOST,
                "time": time.time()}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        os.rename(tmp, final)
        renamed = True
    finally:
        if not renamed:
            shutil.rmtree(tmp, ignore_errors=True)
    CACHE_STATS["misses"] += 1
    CACHE_STATS["compile_s"] += seconds
    _log(root, f"{key} {seconds:.3f} {os.getpid()} {_HOST} {time.time():.3f}\n")
    logger.debug("compiled kernel %s in %.3f s", key, seconds)


def evict(key: str) -> None:
    """Remove kernel ``key`` from the cache (a damaged library)."""
    final = cache_root() / key
    if final.exists():
        _remove_aside(final)


def _remove_aside(path: pathlib.Path) -> None:
    """Delete a folder without readers ever seeing it half deleted."""
    aside = path.with_name(f"tmp-evict-{path.name[:12]}-{secrets.token_hex(4)}")
    try:
        os.rename(path, aside)
    except OSError:
        return
    shutil.rmtree(aside, ignore_errors=True)


def _sweep(root: pathlib.Path) -> None:
    """Remove ``tmp-*`` folders left by processes that died compiling."""
    now = time.time()
    for entry in root.glob("tmp-*"):
        try:
            if now - entry.stat().st_mtime > LOCK_TIMEOUT_S:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            pass


def _log(root: pathlib.Path, line: str) -> None:
    """Append one line to the compile log (one ``write`` on an O_APPEND file)."""
    try:
        fd = os.open(root / LOG_NAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        return
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


# -- the lock --------------------------------------------------------------------

def _acquire(lock: pathlib.Path, lib: pathlib.Path) -> tuple[str | None, bool]:
    """Take ``lock``: (its token, or None when ``lib`` appeared first; whether
    another process held it meanwhile)."""
    token = f"{os.getpid()} {_HOST} {time.time():.3f} {secrets.token_hex(8)}"
    delay = 0.005
    waited = False
    while True:
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            waited = True
            if lib.exists():
                return None, waited
            if not _break_if_stale(lock):
                time.sleep(delay)
                delay = min(delay * 1.5, 0.2)
            continue
        try:
            os.write(fd, (token + "\n").encode("utf-8"))
        finally:
            os.close(fd)
        return token, waited


def _release(lock: pathlib.Path, token: str) -> None:
    """Remove ``lock`` if it is still ours (not broken and retaken meanwhile)."""
    try:
        if lock.read_text(encoding="utf-8").strip() == token:
            lock.unlink()
    except OSError:
        pass


def lock_is_stale(text: str, mtime: float, now: float | None = None) -> bool:
    """Whether a lock with contents ``text`` (modified at ``mtime``) is stale.

    >>> lock_is_stale("1 elsewhere 0.0 ab", mtime=0.0, now=LOCK_TIMEOUT_S + 1.0)
    True
    >>> lock_is_stale("", mtime=100.0, now=101.0)  # being written: fresh
    False
    """
    now = time.time() if now is None else now
    parts = text.split()
    stamp = mtime
    if len(parts) >= 3:
        try:
            stamp = float(parts[2])
        except ValueError:
            pass
    if now - stamp > LOCK_TIMEOUT_S:
        return True
    if len(parts) >= 2 and parts[1] == _HOST and parts[0].isdigit():
        return not _alive(int(parts[0]))
    return False


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host."""
    if os.name == "nt":  # os.kill would terminate it; rely on the timeout
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


def _break_if_stale(lock: pathlib.Path) -> bool:
    """Move a stale ``lock`` away; True when the caller should retry at once."""
    try:
        text = lock.read_text(encoding="utf-8")
        mtime = lock.stat().st_mtime
    except FileNotFoundError:
        return True  # released meanwhile
    except OSError:
        return False
    if not lock_is_stale(text, mtime):
        return False
    aside = lock.with_name(f"{lock.name}.broken-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        os.rename(lock, aside)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        moved = aside.read_text(encoding="utf-8")
    except OSError:
        moved = text
    if moved != text:  # a live lock taken after our look: put it back
        try:
            os.link(aside, lock)
        except OSError:
            pass
    else:
        CACHE_STATS["locks_broken"] += 1
        logger.warning("c_codegen: broke the stale lock %s (%s)", lock, text.strip())
    try:
        aside.unlink()
    except OSError:
        pass
    return True
