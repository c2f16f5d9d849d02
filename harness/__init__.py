"""mi-harness: benchmark mutual-information estimators against known truth.

``harness.run(...)`` runs a grid and returns a DataFrame; the command line is
``python -m harness``. Heavy modules load only when used.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

__version__ = "0.1.0"

#: the project's other top-level packages, found beside this one
SIBLINGS = ("estimators", "tasks", "ground_truth", "results", "reports")


def _check_siblings() -> None:
    """Fail with one clear message when a folder named like one of :data:`SIBLINGS`
    (say ``results/`` in the current directory, which ``python -m`` and scripts
    search first) would be imported in place of the project's package."""
    root = Path(__file__).resolve().parent.parent
    for name in SIBLINGS:
        module = sys.modules.get(name)
        try:
            spec = module.__spec__ if module is not None else importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue  # not installed: the import itself will say so
        if spec.origin and spec.origin != "namespace":
            where = Path(spec.origin).parent
        else:
            where = Path(next(iter(spec.submodule_search_locations or []), ""))
        if where.resolve().parent != root:
            raise ImportError(
                f"the folder {where} would be imported as mi-harness's {name!r} package "
                f"(which is in {root}); run from another directory or rename that folder"
            )


_check_siblings()


def __getattr__(name: str) -> Any:
    if name == "run":
        from harness.runner import run

        return run
    raise AttributeError(f"module 'harness' has no attribute {name!r}")


__all__ = ["run", "__version__"]
