"""``info``: versions, commit, host, CPU, the packaged model, devices and thread settings."""

from __future__ import annotations

import argparse
import importlib.util
from typing import Any


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "info",
        parents=[common],
        help="show versions, devices and threads",
        description="Show what a run here would record: versions, commit, host, devices, threads.",
    )
    p.add_argument(
        "--store",
        metavar="PATH",
        help="results store to report on (default: $MI_HARNESS_STORE or ./runs/mi-harness.sqlite)",
    )
    p.set_defaults(func=run)


def _threads() -> list[str]:
    lines = []
    try:
        import numba

        lines.append(
            f"numba: {numba.config.NUMBA_NUM_THREADS} threads "
            f"(layer {numba.config.THREADING_LAYER})"
        )
    except ImportError:
        lines.append("numba: not installed")
    try:
        import numpy  # noqa: F401 - loads the BLAS that threadpoolctl reports
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            lines.append(
                f"{pool.get('user_api')} ({pool.get('internal_api')}): "
                f"{pool.get('num_threads')} threads"
            )
    except ImportError:
        pass
    return lines


def _devices() -> list[str]:
    lines = ["cpu"]
    if importlib.util.find_spec("torch") is None:
        lines.append("torch: not installed (torch estimators unavailable)")
        return lines
    import torch

    lines.append(f"torch {torch.__version__}: {torch.get_num_threads()} intra-op threads")
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            prop = torch.cuda.get_device_properties(i)
            lines.append(f"cuda:{i} {prop.name}, {prop.total_memory / 2**30:.1f} GiB")
    else:
        lines.append("cuda: not available")
    return lines


def _models() -> list[str]:
    """The packaged InfoNet model, from its card (no weights loaded)."""
    from estimators.infonet.card import DEFAULT_CHECKPOINT, load_card

    try:
        card = load_card(DEFAULT_CHECKPOINT)
    except (FileNotFoundError, ValueError) as err:
        return [f"infonet: no packaged model ({err})"]
    grid = card.get("config", {}).get("grid")
    return [
        f"infonet: step {card.get('steps', '?'):,}, sha256 {str(card.get('sha256'))[:8]}, "
        f"L = {grid}, {card.get('parameters', 0):,} parameters ({DEFAULT_CHECKPOINT})"
    ]


def _plugins() -> list[str]:
    """Installed entry-point plugins with their distribution (none is imported)."""
    import estimators
    import tasks
    from harness.cli.listing import plugins

    lines = []
    for reg in (estimators.registry, tasks.registry):
        for p in plugins(reg):
            dist = p.dist or "unknown distribution"
            line = f"{reg.kind} {p.entry.name}: {dist} ({p.entry.target})"
            lines.append(f"{line} ignored: the built-in wins" if p.ignored else line)
    return lines


def run(args: argparse.Namespace) -> int:
    """Print the environment a run here would record, and the state of the store."""
    from harness import environment
    from harness.cli._paths import describe_store

    env = environment.collect()
    git = env["git_commit"] or "unknown"
    if env["git_dirty"]:
        git += " (uncommitted changes)"
    cpu = env["cpu"]
    sections = {
        "mi-harness": [
            f"version {env['versions']['mi-harness']}, git commit {git}",
            f"store {describe_store(args.store)}",
        ],
        "host": [
            f"{env['host']}: {env['platform']}, python {env['python']}",
            f"cpu {cpu['model']} ({cpu['logical_cores']} logical cores, "
            f"{cpu['usable_cores']} usable)",
            *[f"gpu {g['name']} ({g['memory']}, driver {g['driver']})" for g in env["gpu"]],
        ],
        "packages": [
            f"{name} {ver or '(not installed)'}"
            for name, ver in env["versions"].items()
            if name != "plugins"
        ],
        "models": _models(),
        "plugins": _plugins() or ["(none installed)"],
        "threads": [
            *[f"{k}={v}" for k, v in env["threads"].items() if v is not None],
            *_threads(),
        ],
        "devices": _devices(),
    }
    for title, lines in sections.items():
        print(title)
        for line in lines:
            print(f"  {line}")
    return 0
