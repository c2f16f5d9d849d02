"""``export RUN -o PATH``: write a run's rows to Parquet or CSV."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "export",
        parents=[common],
        help="export a run to Parquet/CSV",
        description="Write the rows of a stored run to a .parquet, .csv or .csv.gz file.",
    )
    p.add_argument("run", metavar="RUN", help="run id, unique prefix, or 'latest'")
    p.add_argument(
        "-o", "--output", required=True, metavar="PATH", help="*.parquet, *.csv or *.csv.gz"
    )
    p.add_argument(
        "--store",
        metavar="PATH",
        help="results store (default: $MI_HARNESS_STORE or ./runs/mi-harness.sqlite)",
    )
    p.add_argument(
        "--all-attempts", action="store_true", help="every attempt, not only the latest per cell"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import results
    from harness.interface import SpecError
    from results.export import file_format

    try:
        file_format(args.output)  # a bad suffix fails before the store is read
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    df = results.load(args.run, args.store, all_attempts=args.all_attempts)
    path = results.write(df, args.output)
    print(f"wrote {len(df)} rows of run {df.attrs['run_id']} to {path}")
    return 0
