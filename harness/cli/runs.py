"""``runs``: list the runs in a results store."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "runs",
        parents=[common],
        help="list stored runs",
        description="List the runs in the results store, oldest first.",
    )
    p.add_argument(
        "--store",
        metavar="PATH",
        help="results store (default: $MI_HARNESS_STORE or ./runs/mi-harness.sqlite)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print one line per stored run, oldest first."""
    import results

    df = results.runs(args.store)
    if df.empty:
        print("no runs stored")
        return 0
    view = df.drop(columns=["host"])  # every column of results.runs but the host
    view["created"] = view["created"].str.slice(0, 19).str.replace("T", " ")
    view["git_commit"] = view["git_commit"].fillna("").astype(str).str.slice(0, 10)
    print(view.to_string(index=False))
    return 0
