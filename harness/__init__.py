"""mi-harness: benchmark mutual-information estimators against known truth.

``harness.run(...)`` runs a grid and returns a DataFrame; the command line is
``python -m harness``. Heavy modules load only when used.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "run":
        from harness.runner import run

        return run
    raise AttributeError(f"module 'harness' has no attribute {name!r}")


__all__ = ["run", "__version__"]
