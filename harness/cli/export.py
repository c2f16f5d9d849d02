"""``export RUN -o PATH``: write a run's rows to Parquet or CSV."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "export",
        parents=[common],
        help="export a run to Parquet/CSV",
        description=(
            "Write the rows of a stored run to a .parquet, .csv or .csv.gz file, with the "
            "run record and sessions (command, git commit, dirty flag, package versions) "
            "as JSON in the first row of the column run_provenance."
        ),
    )
    p.add_argument("run", metavar="RUN", help="run id, unique prefix, or 'latest'")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="PATH",
        help="*.parquet, *.csv or *.csv.gz (a missing folder is created)",
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
    """Write the run's rows to ``args.output``; say where (and which folder was created)."""
    import results
    from harness.cli._paths import output_folder
    from harness.interface import SpecError
    from results.export import file_format

    try:
        file_format(args.output)  # a bad suffix fails before the store is read
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    created = output_folder(args.output)
    df = results.load(args.run, args.store, all_attempts=args.all_attempts)
    path = results.write(df, args.output)
    note = f" (created folder {created})" if created is not None else ""
    print(f"wrote {len(df)} rows of run {df.attrs['run_id']} to {path}{note}")
    return 0
