"""``report RUN [RUN ...] -o PATH``: stored runs to one self-contained HTML page."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "report",
        parents=[common],
        help="write an HTML report of stored runs",
        description=(
            "Write one self-contained HTML page (no network needed) with the paper-style "
            "tables, figures, provenance, failed cells and, where runs share cells, a "
            "comparison with regressions highlighted."
        ),
    )
    p.add_argument(
        "runs",
        nargs="+",
        metavar="RUN",
        help="run id, unique prefix, 'latest', or an exported .parquet/.csv file; "
        "the first run sharing cells of its own with a later one is its baseline",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="PATH",
        help="the .html file to write (a missing folder is created)",
    )
    p.add_argument(
        "--store",
        metavar="PATH",
        action="append",
        help="results store (default: $MI_HARNESS_STORE or ./runs/mi-harness.sqlite); "
        "give it again for runs of several stores (each run id from the first holding it)",
    )
    p.add_argument("--title", help="page title (default: names the runs)")
    p.add_argument(
        "--tolerance",
        type=float,
        default=0.02,
        metavar="NATS",
        help="comparison: flag a cell whose |error| grows by more than this (default 0.02)",
    )
    p.add_argument(
        "--slowdown",
        type=float,
        default=1.5,
        metavar="X",
        help="comparison: flag a cell taking more than X times the baseline's seconds "
        "(and at least 0.01 s longer; default 1.5)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the HTML report of ``args.runs``; say where (and which folder was created)."""
    from harness.cli._paths import output_folder
    from harness.interface import SpecError
    from reports import build_report

    if not (args.tolerance >= 0 and args.slowdown >= 1):  # NaN fails too
        raise SpecError(
            "--tolerance must be >= 0 and --slowdown >= 1; "
            f"got {args.tolerance} and {args.slowdown}"
        )
    created = output_folder(args.output)
    build_report(
        args.runs,
        store=args.store,
        output=args.output,
        title=args.title,
        tolerance=args.tolerance,
        slowdown=args.slowdown,
    )
    note = f" (created folder {created})" if created is not None else ""
    print(f"report written to {args.output}{note}")
    return 0
