"""``tasks build NAME``: pre-compute a task set's Monte Carlo ground truth."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "tasks",
        parents=[common],
        help="build task sets",
        description="Work with task sets whose ground truth is costly to compute.",
    )
    verbs = p.add_subparsers(dest="tasks_verb", metavar="ACTION")
    verbs.required = True
    b = verbs.add_parser(
        "build",
        parents=[common],
        help="generate a task set and its ground truth",
        description="Generate a task set (e.g. gmm_levels, gmm_order) and cache it on disk.",
    )
    b.add_argument("name", help="task name, e.g. gmm_levels")
    size = b.add_mutually_exclusive_group()
    size.add_argument("--per-level", type=int, metavar="N", help="instances per MI level")
    size.add_argument("--per-k", type=int, metavar="N", help="triplets per number of components")
    b.add_argument("--seed", type=int, metavar="S", help="seed of the generated set")
    b.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tasks.build import build_task_set

    kwargs = {
        k: v
        for k, v in (("per_level", args.per_level), ("per_k", args.per_k), ("seed", args.seed))
        if v is not None
    }
    result = build_task_set(args.name, **kwargs)
    if result is not None:
        print(result)
    return 0
