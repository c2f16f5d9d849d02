"""Accuracy of KSG, KDE and InfoNet on small fixed-seed task sets (asv ``track_*``).

Each value comes from the harness's own metrics (:mod:`harness.metrics`) over
every instance of a small stored set, one sample per instance (seed 0), so it
changes only when the code does:

* ``gmm_levels`` (3 mixtures per MI level 0.0 ... 0.9, n = 2000): mean absolute
  error and the largest |mean error| of any level, nats;
* ``gmm_order`` (5 triplets per K = 1 ... 10, n = 2000): order accuracy, the
  fraction of triplets whose MI order the estimates get right.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import estimators
import tasks
from harness.metrics import error_table, level_table, order_table

from ._common import DEVICES, one_thread, require_device

LEVELS_SPEC = "gmm_levels:per_level=3,n=2000"
ORDER_SPEC = "gmm_order:per_k=5,n=2000"
SEED = 0
ACCURACY_SPECS = {"ksg": "ksg", "kde": "kde", "infonet": "infonet"}


def estimate_task(spec: str, task_spec: str, device: str, seed: int = SEED) -> pd.DataFrame:
    """One row per instance: estimate, truth, error and the instance meta (status ``ok``)."""
    require_device(device)
    name = spec.partition(":")[0]
    if device != "cpu" and "device" not in estimators.registry.defaults(name):
        raise NotImplementedError(f"{name} has no {device} path")
    kwargs = {"device": device} if "device" in estimators.registry.defaults(name) else {}
    est = estimators.make(spec, **kwargs)
    task = tasks.make(task_spec)
    insts = [task.instance(i, seed) for i in range(task.n_instances())]
    values = est.estimate_batch([i.x for i in insts], [i.y for i in insts])
    truth = np.array([i.true_mi for i in insts])
    rows = pd.DataFrame(
        {
            "label": spec,
            "seed": seed,
            "status": "ok",
            "estimate": values,
            "true_mi": truth,
            "error": values - truth,
            "seconds": np.nan,
        }
    )
    meta = pd.DataFrame([i.meta for i in insts])
    return pd.concat([rows, meta], axis=1)


class _TrackTask:
    """Estimates of every instance of ``task_spec`` per (estimator, device), made in setup."""

    task_spec = ""
    params = [list(ACCURACY_SPECS), DEVICES]
    param_names = ["estimator", "device"]
    timeout = 300

    def setup(self, name: str, device: str) -> None:
        one_thread()
        self.rows = estimate_task(ACCURACY_SPECS[name], self.task_spec, device)


class TrackLevels(_TrackTask):
    """MAE and worst per-level bias on ``gmm_levels`` (InfoNet paper, Table 2)."""

    task_spec = LEVELS_SPEC

    def track_mae(self, name: str, device: str) -> float:
        return float(error_table(self.rows)["mae"].iloc[0])

    track_mae.unit = "nats"

    def track_worst_level_bias(self, name: str, device: str) -> float:
        return float(level_table(self.rows)["mean_error"].abs().max())

    track_worst_level_bias.unit = "nats"


class TrackOrder(_TrackTask):
    """Order accuracy on ``gmm_order`` triplets (InfoNet paper, Table 3)."""

    task_spec = ORDER_SPEC

    def track_order_accuracy(self, name: str, device: str) -> float:
        table = order_table(self.rows)
        return float(table["correct"].sum() / table["triplets"].sum())

    track_order_accuracy.unit = "fraction"
