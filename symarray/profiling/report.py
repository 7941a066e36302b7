"""The text report of a profile (Theano's ``ProfileStats.summary`` layout).

Sections, each sorted by time with percentage and cumulative-percentage
columns (percentages of the time spent in nodes):

1. totals: calls, time in Function calls, in the VM, in nodes, the VM's
   overhead (VM time minus node time) and the call overhead (Function time
   minus VM time) with its parts (the VM's entry and exit, freeing the
   values the calls replaced, the Function's Python); one row per function
   when there are several;
2. **Class**: per op class (``Elemwise``, ``Dot``...);
3. **Ops**: per op (``exp``, ``Sum{axis=(0,)...}``...);
4. **Apply nodes**: per node, with its backend (``c``, ``py``...); nodes
   that run programs of their own (scan) list the parts of their time
   (loop setup, inner program, between steps, finish) and the inner
   program's nodes nested below;
5. **Compile**: time per compile stage, rewrite phases, rewriters (with
   ``optimizer``) and kernel-cache counters;
6. **Memory** (with ``profile_memory``): GC / naive no-GC / planned no-GC
   peaks and the largest values with the user line that created them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from symarray.profiling.stats import FunctionStats, NodeStats

__all__ = ["text_report", "format_time", "format_bytes"]


def format_time(seconds: float) -> str:
    """``seconds`` with a unit: ``1.23s``, ``4.56ms``, ``7.89us``, ``12ns``."""
    s = abs(seconds)
    if s >= 1.0:
        return f"{seconds:.3f}s"
    if s >= 1e-3:
        return f"{seconds * 1e3:.3f}ms"
    if s >= 1e-6:
        return f"{seconds * 1e6:.2f}us"
    return f"{seconds * 1e9:.0f}ns"


def format_bytes(n: int | None) -> str:
    """``n`` bytes in B / KiB / MiB / GiB (``n/a`` for None)."""
    if n is None:
        return "n/a"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def _pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:5.1f}%" if whole > 0 else "    - "


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _rule(title: str) -> list[str]:
    return ["", title, "-" * len(title)]


# -- totals ----------------------------------------------------------------------------
def _totals(functions: Sequence[FunctionStats]) -> list[str]:
    calls = sum(f.calls for f in functions)
    runs = sum(f.vm_runs for f in functions)
    call_t = sum(f.call_time for f in functions)
    vm_t = sum(f.vm_time for f in functions)
    node_t = sum(f.node_time for f in functions)
    other_t = sum(f.other_time for f in functions)
    failed = sum(f.failed_runs for f in functions)

    def per(t: float, n: int) -> str:
        return f" ({format_time(t / n)} per call)" if n else ""

    lines = [
        f"  functions: {len(functions)}   calls: {calls}   VM runs: {runs}"
        + (f" ({failed} failed)" if failed else ""),
        f"  Time in Function calls:    {format_time(call_t):>10}{per(call_t, calls)}",
        f"  Time in the VM:            {format_time(vm_t):>10}{per(vm_t, runs)}"
        f"  {_pct(vm_t, call_t)} of call time",
        f"  Time in nodes (thunks):    {format_time(node_t):>10}{per(node_t, runs)}"
        f"  {_pct(node_t, call_t)} of call time",
        f"  VM overhead (VM - nodes):  {format_time(vm_t - node_t):>10}"
        f"{per(vm_t - node_t, runs)}  of which FREE/branch instructions "
        f"{format_time(other_t)}",
    ]
    if calls:
        lines.append(f"  Call overhead (call - VM): {format_time(call_t - vm_t):>10}"
                     f"{per(call_t - vm_t, calls)}  {_pct(call_t - vm_t, call_t)} "
                     "of call time" + (", of which:" if _call_parts(functions) else ""))
        for label, t, what in _call_parts(functions):
            lines.append(f"    {label:<24}{format_time(t):>10}{per(t, calls)}  {what}")
    reused = sum(f.pool_reused for f in functions)
    mapped = sum(f.pool_mapped for f in functions)
    if reused or mapped:
        lines.append(f"  Buffer pool:               {reused} large blocks reused, "
                     f"{mapped} newly mapped ({mapped / max(runs, 1):.2f} per VM run;"
                     " mapped blocks page-fault in, see docs/memory.md)")
    executed = sum(sum(n.calls for n in f.nodes) for f in functions)
    n_nodes = sum(len(f.nodes) for f in functions)
    if runs:
        lines.append(f"  Nodes: {n_nodes} in the programs, {executed / runs:.1f} "
                     f"executed per VM run; {format_time(node_t / max(executed, 1))}"
                     " per executed node")
    compile_t = sum(f.compile.total for f in functions)
    lines.append(f"  Compile time:              {format_time(compile_t):>10}")
    return lines


def _call_parts(functions: Sequence[FunctionStats]) -> list[tuple[str, float, str]]:
    """The parts of the call overhead (label, seconds, what it is), which add
    up to it; none when a called function did not measure them (a profile
    saved by an older symarray)."""
    called = [f for f in functions if f.calls]
    if not called or any(f.vm_entry_time is None or f.function_time is None
                         for f in called):
        return []
    return [
        ("VM entry and exit:", sum(f.vm_entry_time or 0.0 for f in called),
         "inputs into the cells, outputs out, cells cleared after the call"),
        ("freeing replaced values:", sum(f.release_time or 0.0 for f in called),
         "previous values of updated shared variables (the allocator may give "
         "memory back to the OS here)"),
        ("Function (Python):", sum(f.function_time or 0.0 for f in called),
         "argument checks and conversion, output guards, update writes"),
    ]


def _functions_table(functions: Sequence[FunctionStats]) -> list[str]:
    total = sum(f.call_time for f in functions) or sum(f.vm_time for f in functions)
    lines = _rule("Functions")
    lines.append(f"  {'<% time>':>8} {'<calls>':>8} {'<call time>':>12} "
                 f"{'<VM time>':>11} {'<nodes>':>11} {'<compile>':>10}  <linker> "
                 "<name>")
    order = sorted(range(len(functions)),
                   key=lambda i: -(functions[i].call_time or functions[i].vm_time))
    for i in order:
        f = functions[i]
        lines.append(
            f"  {_pct(f.call_time or f.vm_time, total):>8} {f.calls:8d} "
            f"{format_time(f.call_time):>12} {format_time(f.vm_time):>11} "
            f"{format_time(f.node_time):>11} {format_time(f.compile.total):>10}  "
            f"{f.linker:<8} #{i} {f.name}"
        )
    return lines


# -- per class / op / node -------------------------------------------------------------
def _group(functions: Sequence[FunctionStats], key: Any
           ) -> list[tuple[str, float, int, int, set[str]]]:
    """(label, time, calls, #apply, backends) per group, by time."""
    groups: dict[str, list[Any]] = {}
    for f in functions:
        for n in f.nodes:
            g = groups.setdefault(key(n), [0.0, 0, 0, set()])
            g[0] += n.time
            g[1] += n.calls
            g[2] += 1
            g[3].add(n.backend)
    rows = [(label, t, c, a, b) for label, (t, c, a, b) in groups.items()]
    rows.sort(key=lambda r: (-r[1], r[0]))
    return rows


def _group_table(title: str, rows: list[tuple[str, float, int, int, set[str]]],
                 total: float, limit: int, what: str) -> list[str]:
    lines = _rule(title)
    lines.append(f"  {'<% time>':>8} {'<sum %>':>8} {'<time>':>10} "
                 f"{'<per call>':>10} {'<calls>':>8} {'<#apply>':>8} "
                 f"{'<backend>':<9} <{what}>")
    cum = 0.0
    for label, t, calls, n_apply, backends in rows[:limit]:
        cum += t
        lines.append(
            f"  {_pct(t, total):>8} {_pct(cum, total):>8} {format_time(t):>10} "
            f"{format_time(t / calls if calls else 0.0):>10} {calls:8d} "
            f"{n_apply:8d} {','.join(sorted(backends)):<9} {_cut(label, 70)}"
        )
    if len(rows) > limit:
        rest = sum(r[1] for r in rows[limit:])
        plural = "classes" if what == "class" else f"{what}s"
        lines.append(f"  ... {len(rows) - limit} more {plural}, "
                     f"{_pct(rest, total).strip()} of the time (summary("
                     "n_ops_to_print=...) shows more)")
    return lines


def _apply_table(functions: Sequence[FunctionStats], total: float, limit: int,
                 depth: int = 0) -> list[str]:
    pad = "    " * depth
    items: list[tuple[int, NodeStats]] = [
        (i, n) for i, f in enumerate(functions) for n in f.nodes
    ]
    items.sort(key=lambda it: (-it[1].time, it[0], it[1].index))
    lines = []
    if depth == 0:
        lines += _rule("Apply nodes")
        lines.append(f"  {'<% time>':>8} {'<sum %>':>8} {'<time>':>10} "
                     f"{'<per call>':>10} {'<calls>':>8} {'<backend>':<9} "
                     "<fn>:<node> <apply>")
    cum = 0.0
    several = len(functions) > 1
    for i, n in items[:limit]:
        cum += n.time
        where = f"#{i}:{n.index}" if several or depth else f"{n.index}"
        lines.append(
            f"  {pad}{_pct(n.time, total):>8} {_pct(cum, total):>8} "
            f"{format_time(n.time):>10} {format_time(n.time_per_call):>10} "
            f"{n.calls:8d} {n.backend:<9} {where} {_cut(n.name, 80)}"
        )
        lines += _parts_table(n, pad)
        for child in n.children:
            lines.append(f"  {pad}    inner program {child.name!r}: "
                         f"{len(child.nodes)} nodes, {child.vm_runs} runs, "
                         f"{format_time(child.node_time)} in its nodes; "
                         f"{_python_calls(child)}")
            lines += _apply_table([child], n.time, limit, depth + 1)
    if len(items) > limit:
        rest = sum(n.time for _, n in items[limit:])
        lines.append(f"  {pad}... {len(items) - limit} more nodes, "
                     f"{_pct(rest, total).strip()} of the time (summary("
                     "n_apply_to_print=...) shows more)")
    return lines


#: backends whose thunks are Python calls (an op's perform)
PYTHON_BACKENDS = ("py", "numpy")


def _python_calls(f: FunctionStats) -> str:
    """How many node runs of ``f`` were Python calls, by backend."""
    calls = {b: sum(n.calls for n in f.nodes if n.backend == b)
             for b in PYTHON_BACKENDS}
    total = sum(calls.values())
    if not total:
        return "no Python-thunk calls"
    by = ", ".join(f"{b}: {c}" for b, c in calls.items() if c)
    return f"{total} Python-thunk calls ({by})"


def _parts_table(n: NodeStats, pad: str) -> list[str]:
    """The parts of ``n``'s time its thunk measured (scan's loop), as shares
    of the node's time."""
    if not n.parts:
        return []
    lines = [f"  {pad}    where its time went ({format_time(n.time)}; per part: "
             "share, time, per call, calls):"]
    for part in n.parts:
        if not part.calls and not part.time:
            continue
        lines.append(
            f"  {pad}    {_pct(part.time, n.time):>8} {format_time(part.time):>10} "
            f"{format_time(part.time / part.calls if part.calls else 0.0):>10} "
            f"{part.calls:8d}  {part.name}")
    rest = n.time - sum(p.time for p in n.parts)
    lines.append(f"  {pad}    {_pct(rest, n.time):>8} {format_time(rest):>10} "
                 f"{'':>10} {'':>8}  (rest: the VM's clock readings around it)")
    return lines


# -- compile ---------------------------------------------------------------------------
STAGES = ("graph", "rewrite", "schedule", "thunks", "assembly")


def _compile_table(functions: Sequence[FunctionStats], optimizer: bool) -> list[str]:
    lines = _rule("Compile")
    lines.append("  " + " ".join(f"{'<' + s + '>':>11}" for s in ("total", *STAGES))
                 + "  <graph cache> <fn>")
    for i, f in enumerate(functions):
        st = f.compile.stages
        if not st:
            continue
        hit = {True: "hit", False: "miss", None: "-"}[f.compile.graph_cache_hit]
        cells = [format_time(f.compile.total)] + [
            format_time(st[s]) if s in st else "-" for s in STAGES
        ]
        lines.append("  " + " ".join(f"{c:>11}" for c in cells)
                     + f"  {hit:<13} #{i} {_cut(f.name, 40)}")
    lines.append("  (thunks: making each node's thunk; assembly: cells, bytecode, VM)")
    phases: dict[str, list[float]] = {}
    for f in functions:
        for p in f.compile.rewrite_phases:
            acc = phases.setdefault(p["name"], [0.0, 0, 0, 0, 0])
            acc[0] += p["time"]
            acc[1] += p["applied"]
            acc[2] += p["merged"]
            acc[3] += p["nodes_before"]
            acc[4] += p["nodes_after"]
    if phases:
        lines.append("  Rewrite phases (all functions):")
        lines.append(f"    {'<phase>':<14} {'<time>':>10} {'<applied>':>9} "
                     f"{'<merged>':>8} <nodes before -> after>")
        for name, (t, applied, merged, before, after) in phases.items():
            lines.append(f"    {name:<14} {format_time(t):>10} {int(applied):9d} "
                         f"{int(merged):8d} {int(before)} -> {int(after)}")
    rewriters: dict[str, list[float]] = {}
    for f in functions:
        for r in f.compile.rewriters:
            acc = rewriters.setdefault(r["name"], [0.0, 0, 0, 0])
            acc[0] += r["time"]
            acc[1] += r["applied"]
            acc[2] += r["failed"]
            acc[3] += r["visits"]
    busy = sorted(((n, v) for n, v in rewriters.items() if v[3] or v[1]),
                  key=lambda it: -it[1][0])
    if busy and optimizer:
        lines.append("  Rewriters (time, applications, failures, nodes shown):")
        for name, (t, applied, failed, visits) in busy:
            lines.append(f"    {_cut(name, 40):<40} {format_time(t):>10} "
                         f"{int(applied):7d} {int(failed):5d} {int(visits):7d}")
    elif busy:
        used = [(n, v) for n, v in busy if v[1]]
        text = ", ".join(f"{n} x{int(v[1])}" for n, v in used[:8])
        lines.append(f"  Rewriters applied: {text or 'none'}"
                     + (" ..." if len(used) > 8 else "")
                     + "  (profile_optimizer=True for the per-rewriter table)")
    cache: dict[str, float] = {}
    for f in functions:
        for k, v in f.compile.kernel_cache.items():
            cache[k] = cache.get(k, 0.0) + v
    if cache:
        text = ", ".join(f"{k} {v:g}" for k, v in sorted(cache.items()))
        lines.append(f"  Kernel cache: {text}")
    return lines


# -- memory ----------------------------------------------------------------------------
def _memory_table(functions: Sequence[FunctionStats]) -> list[str]:
    with_mem = [(i, f) for i, f in enumerate(functions) if f.memory is not None]
    if not with_mem:
        return []
    lines = _rule("Memory (bytes of intermediates and outputs; arguments and "
                  "constants not counted)")
    lines.append(f"  {'<GC peak>':>12} {'<no-GC naive>':>14} {'<no-GC planned>':>16}"
                 "  <fn>")
    for i, f in with_mem:
        p = f.memory.peaks  # type: ignore[union-attr]
        lines.append(f"  {format_bytes(p.get('gc')):>12} "
                     f"{format_bytes(p.get('nogc_naive')):>14} "
                     f"{format_bytes(p.get('nogc_planned')):>16}  #{i} "
                     f"{_cut(f.name, 40)}")
    if any(f.memory.peaks.get("nogc_planned") is None  # type: ignore[union-attr]
           for _, f in with_mem):
        lines.append("  (no-GC planned: n/a where the memory planner is not available)")
    largest = [(v["nbytes"], i, v) for i, f in with_mem
               for v in f.memory.largest]  # type: ignore[union-attr]
    largest.sort(key=lambda t: -t[0])
    if largest:
        lines.append("  Largest values:")
        lines.append(f"    {'<bytes>':>10}  {'<fn>:<node>':<11} {'<op>':<24} "
                     "<created at>")
        for nbytes, i, v in largest[:10]:
            where = f"#{i}:{v['node']}"
            lines.append(f"    {format_bytes(nbytes):>10}  {where:<11} "
                         f"{_cut(str(v['op']), 24):<24} {v['site'] or '(unknown)'}")
    return lines


def text_report(functions: Iterable[FunctionStats], title: str | None = None,
                optimizer: bool = False, n_ops: int = 20, n_apply: int = 20) -> str:
    """The text report of ``functions`` (snapshots), as
    :meth:`ProfileStats.summary` prints it."""
    functions = list(functions)
    lines = [f"Profile: {title}" if title else "Profile",
             "=" * max(7, len(title or "") + 9)]
    if not functions:
        lines.append("  no profiled function")
        return "\n".join(lines)
    lines += _totals(functions)
    if len(functions) > 1:
        lines += _functions_table(functions)
    total = sum(f.node_time for f in functions)
    lines += _group_table("Class", _group(functions, lambda n: n.op_class), total,
                          n_ops, "class")
    lines += _group_table("Ops", _group(functions, lambda n: n.op), total, n_ops,
                          "op")
    lines += _apply_table(functions, total, n_apply)
    lines += _compile_table(functions, optimizer)
    lines += _memory_table(functions)
    return "\n".join(lines)
