"""``tasks build NAME`` / ``tasks list``: stored task sets with Monte Carlo ground truth."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "tasks",
        parents=[common],
        help="build and list stored task sets",
        description="Work with task sets whose ground truth is costly to compute "
        "(gmm_levels, gmm_order).",
    )
    verbs = p.add_subparsers(dest="tasks_verb", metavar="ACTION")
    verbs.required = True
    b = verbs.add_parser(
        "build",
        parents=[common],
        help="generate a task set and its ground truth",
        description="Generate a task set (gmm_levels or gmm_order) with Monte Carlo truth "
        "(standard error < 0.003 nats) and save it, by default in the cache directory "
        "that tasks search before the sets shipped with the package.",
    )
    b.add_argument("name", help="gmm_levels or gmm_order")
    size = b.add_mutually_exclusive_group()
    size.add_argument(
        "--per-level", type=int, metavar="N", help="mixtures per MI level (gmm_levels; default 100)"
    )
    size.add_argument(
        "--per-k",
        type=int,
        metavar="N",
        help="triplets per number of components (gmm_order; default 200)",
    )
    b.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="build seed (default 0; tasks select it with set_seed=S)",
    )
    b.add_argument(
        "--min-gap",
        type=float,
        metavar="G",
        help="gmm_order: smallest |MI(x;y) - MI(x;y')| kept (default 0.02)",
    )
    b.add_argument("--out", metavar="DIR", help="output directory (default: the cache directory)")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=run_build)
    ls = verbs.add_parser(
        "list",
        parents=[common],
        help="list stored task sets",
        description="List the stored gmm_levels / gmm_order sets in the cache directory "
        "and the package.",
    )
    ls.set_defaults(func=run_list)


def run_build(args: argparse.Namespace) -> int:
    from ground_truth.cache import read_record
    from tasks.build import build_task_set, describe

    path = build_task_set(
        args.name,
        per_level=args.per_level,
        per_k=args.per_k,
        seed=args.seed,
        min_gap=args.min_gap,
        out_dir=args.out,
        progress=not args.quiet,
    )
    print(describe(read_record(path)))
    print(f"saved {path}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from ground_truth.cache import find_sets
    from tasks.build import BUILDABLE, describe
    from tasks.gmm import set_dirs

    found = [
        (path, rec)
        for name in BUILDABLE
        for path, rec in find_sets(set_dirs(), f"{name}_*.npz")
        if rec.get("task") == name
    ]
    if not found:
        print(f"no stored task sets in {', '.join(map(str, set_dirs()))}")
    for path, rec in found:
        try:
            print(f"{path}\n  {describe(rec)}")
        except (KeyError, TypeError):
            print(f"{path}\n  (unreadable record)")
    return 0
