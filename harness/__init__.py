"""mi-harness: benchmark mutual-information estimators against known truth.

``harness.run(...)`` runs a grid and returns a DataFrame; the command line is
``python -m harness``. Heavy modules load only when used.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__version__ = "0.1.0"

#: the project's other top-level packages, found beside this one
SIBLINGS = ("estimators", "tasks", "ground_truth", "results", "reports")


def check_siblings(names: Iterable[str] = SIBLINGS) -> None:
    """Fail with one clear message when a module or folder named like one of the
    project's packages (say ``tasks.py`` or ``results/`` in the current directory,
    which ``python -m`` and scripts search first) would be imported in its place.

    Called where the packages are needed (``harness.run``, the command line),
    not on ``import harness``, so a ``tasks.py`` beside a script that only builds
    estimators is no obstacle.

    Raises
    ------
    ImportError
        Naming the module file or folder that would be imported instead.
    """
    root = Path(__file__).resolve().parent.parent
    for name in names:
        module = sys.modules.get(name)
        try:
            spec = module.__spec__ if module is not None else importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue  # not installed: the import itself will say so
        locations = list(spec.submodule_search_locations or [])
        if not locations:  # a module file: never ours, which are all packages
            if spec.origin in (None, "built-in", "frozen"):
                continue
            where, kind = Path(spec.origin), "module"
        else:
            has_file = spec.origin not in (None, "namespace")
            where = Path(spec.origin).parent if has_file else Path(locations[0])
            if where.resolve().parent == root:
                continue
            kind = "folder"
        raise ImportError(
            f"the {kind} {where} would be imported as mi-harness's {name!r} package "
            f"(which is in {root}); run from another directory or rename that {kind}"
        )


def __getattr__(name: str) -> Any:
    if name == "run":
        check_siblings()
        from harness.runner import run

        return run
    raise AttributeError(f"module 'harness' has no attribute {name!r}")


__all__ = ["run", "check_siblings", "__version__"]
