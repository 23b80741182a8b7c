"""``python -m bench [--smoke] [NAME ...]``: measure the figures (all, or those named or prefixed), print a table
and then one JSON line per figure: ``{"name", "value", "baseline", "ratio", "unit"}``."""

from __future__ import annotations

import argparse
import math
import sys

from .figures import FIGURES
from .registry import Figure, Result, Run, selected


def _table(rows: list[tuple[Figure, Result]]) -> str:
    header = ("figure", "value", "baseline", "ratio", "unit", "target")
    lines = [
        (found.name, f"{result.value:.4g}", f"{result.baseline:.4g}", _ratio(result), result.unit, found.target)
        for found, result in rows
    ]
    widths = [max(len(str(row[column])) for row in [header, *lines]) for column in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *lines]
    )


def _ratio(result: Result) -> str:
    return f"{result.ratio:.2f}" if math.isfinite(result.ratio) else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="every figure at a tiny size, in seconds (for CI)")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"figures or prefixes; of: {', '.join(FIGURES)}")
    args = parser.parse_args(argv)
    figures = list(selected(args.names))
    if not figures:
        parser.error(f"no figure matches {' '.join(args.names)}")
    run = Run(smoke=args.smoke)
    rows: list[tuple[Figure, Result]] = []
    try:
        for found in figures:
            print(f"bench: {found.name} ...", file=sys.stderr, flush=True)
            rows.append((found, found.measure(run)))
    finally:
        run.close()
    print(_table(rows))
    for _, result in rows:
        print(result.as_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
