"""Command line: render saved profiles.

::

    python -m symarray.profiling report profile.json            # text report
    python -m symarray.profiling report a.json b.json           # merged
    python -m symarray.profiling report profile.json --format json
    python -m symarray.profiling report profile.json --format svg -o graph.svg
    python -m symarray.profiling report profile.json --format trace -o trace.json

A profile is saved with ``f.profile.save("profile.json")``.
``python -m symarray.profiler`` is the same command.
"""

from __future__ import annotations

import argparse
import os
import sys

from symarray.profiling.stats import ProfileStats

__all__ = ["main"]

FORMATS = ("text", "json", "svg", "png", "pdf", "dot", "trace")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m symarray.profiling",
        description="Render profiles saved with ProfileStats.save().")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="render one or more saved profiles (merged)")
    rep.add_argument("profiles", nargs="+", help="JSON files from ProfileStats.save()")
    rep.add_argument("--format", "-f", choices=FORMATS, default="text",
                     help="text (default), json, a picture (svg, png, pdf, dot) or a "
                          "Chrome/Perfetto trace")
    rep.add_argument("--output", "-o", default=None,
                     help="output file (text and json default to stdout; pictures "
                          "and traces to the first profile's name with a new "
                          "extension)")
    rep.add_argument("--function", type=int, default=0,
                     help="which function to draw (pictures; #N in the text report)")
    rep.add_argument("--n-ops", type=int, default=20, help="rows in the op tables")
    rep.add_argument("--n-apply", type=int, default=20,
                     help="rows in the apply-node table")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        loaded = [ProfileStats.load(p) for p in args.profiles]
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    stats = loaded[0] if len(loaded) == 1 else ProfileStats.merge(
        *loaded, name=" + ".join(args.profiles))
    fmt = args.format
    try:
        if fmt in ("text", "json"):
            text = (stats.report(args.n_ops, args.n_apply) if fmt == "text"
                    else stats.to_json())
            if args.output:
                with open(args.output, "w", encoding="utf-8") as fh:
                    fh.write(text + "\n")
            else:
                print(text)
            return 0
        base = os.path.splitext(args.profiles[0])[0]
        if fmt == "trace":
            out = args.output or base + ".trace.json"
            n = stats.write_trace(out)
            print(f"wrote {out} ({n} node events; open it in chrome://tracing or "
                  "https://ui.perfetto.dev)")
        else:
            out = stats.picture(args.output or f"{base}.{fmt}", format=fmt,
                                function=args.function)
            print(f"wrote {out}")
    except (ValueError, IndexError, RuntimeError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
