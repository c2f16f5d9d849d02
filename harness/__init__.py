"""mi-harness: benchmark mutual-information estimators against known truth.

``harness.run(...)`` runs a grid and returns a DataFrame; the command line is
``python -m harness``. Heavy modules load only when used.
"""

from __future__ import annotations

import os
from typing import Any

__version__ = "0.1.0"

# KSG and KDE run on Numba's OpenMP threads, InfoNet and the neural estimators on
# torch's, often in one process. OpenMP threads that busy-wait after a parallel
# region starve the other runtime's threads on a small machine (InfoNet's batch
# forward ran 5x slower after a KSG call on 2 cores), so unless the user chose a
# policy, idle OpenMP threads sleep. Takes effect when set before torch or Numba
# loads their OpenMP runtime, which importing any mi-harness package does first.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def __getattr__(name: str) -> Any:
    if name == "run":
        from harness.runner import run

        return run
    raise AttributeError(f"module 'harness' has no attribute {name!r}")


__all__ = ["run", "__version__"]
