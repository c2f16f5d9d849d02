"""Cell-by-cell comparison of two runs over the cells they share.

Cells are matched on a key of estimator, its parameters, task, task
parameters including ``n``, instance index and seed, so only the same
estimator configuration on the same samples is compared; parameters at their
current default are left out of the key (:mod:`harness.matching`), so runs
from before a parameter existed still line up. A cell of the new
run is flagged when

* ``status``: it was ``ok`` in the baseline and is not ``ok`` now;
* ``accuracy``: ``|error_new| - |error_base| > tolerance`` (nats), except for
  rows whose estimate is a score (independence tests, Omniglot);
* ``speed``: ``seconds_new > slowdown * seconds_base`` and the cell takes at
  least ``min_seconds`` longer (timer noise on millisecond cells is ignored).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from reports.frames import SCORE_VIEWS, view_kind

__all__ = ["DiffRule", "compare", "summary"]


@dataclass(frozen=True)
class DiffRule:
    """Thresholds for flagging a cell as a regression."""

    tolerance: float = 0.02
    slowdown: float = 1.5
    min_seconds: float = 0.01

    def describe(self) -> str:
        return (
            f"A cell regresses when it was ok in the baseline and is not now; when "
            f"|error| grows by more than {self.tolerance:g} nats (not for estimates that are "
            f"test scores, whose AUC the checks above compare); or when it takes more than "
            f"{self.slowdown:g}× the baseline's seconds and at least {self.min_seconds:g} s "
            f"longer. Improvements use the mirror rules."
        )


def _keys(df: pd.DataFrame) -> pd.Series:
    from harness.matching import matching_keys

    return matching_keys(df)


def compare(base: pd.DataFrame, new: pd.DataFrame, rule: DiffRule | None = None) -> pd.DataFrame:
    """One row per cell present in both runs, with differences and flags.

    Returns
    -------
    pandas.DataFrame
        Columns: ``label`` (the new run's), ``instance_index``, ``seed``,
        ``n_samples``, ``true_mi``, ``status_base``, ``status_new``,
        ``estimate_base``, ``estimate_new``, ``abs_error_base``,
        ``abs_error_new``, ``d_abs_error``, ``seconds_base``, ``seconds_new``,
        ``ratio``, boolean ``status_regression``, ``accuracy_regression``,
        ``speed_regression``, ``accuracy_improvement``, ``speed_improvement``
        and ``regression`` (any of the three). Empty when no cell is shared.
    """
    rule = rule or DiffRule()
    cols = ["status", "estimate", "error", "seconds"]
    b = base.assign(_key=_keys(base).to_numpy()).drop_duplicates("_key", keep="last")
    n = new.assign(_key=_keys(new).to_numpy()).drop_duplicates("_key", keep="last")
    keep = ["_key", "label", "instance_index", "seed", "n_samples", "true_mi"]
    keep = [c for c in keep if c in n]
    n = n.assign(_score=_is_score(n))
    m = n[[*keep, "_score", *cols]].merge(b[["_key", *cols]], on="_key", suffixes=("_new", "_base"))
    if m.empty:
        return m.drop(columns="_score")
    m["abs_error_base"] = m["error_base"].abs()
    m["abs_error_new"] = m["error_new"].abs()
    m["d_abs_error"] = (m["abs_error_new"] - m["abs_error_base"]).where(~m["_score"])
    with np.errstate(divide="ignore", invalid="ignore"):
        m["ratio"] = m["seconds_new"] / m["seconds_base"]
    both_ok = (m["status_base"] == "ok") & (m["status_new"] == "ok")
    longer = (m["seconds_new"] - m["seconds_base"]).abs() >= rule.min_seconds
    m["status_regression"] = (m["status_base"] == "ok") & (m["status_new"] != "ok")
    m["accuracy_regression"] = both_ok & (m["d_abs_error"] > rule.tolerance)
    m["speed_regression"] = (
        both_ok & longer & (m["seconds_new"] > rule.slowdown * m["seconds_base"])
    )
    m["accuracy_improvement"] = both_ok & (m["d_abs_error"] < -rule.tolerance)
    m["speed_improvement"] = (
        both_ok & longer & (m["seconds_base"] > rule.slowdown * m["seconds_new"])
    )
    m["regression"] = m["status_regression"] | m["accuracy_regression"] | m["speed_regression"]
    return m.drop(columns=["_key", "_score", "error_base", "error_new"])


def _is_score(df: pd.DataFrame) -> pd.Series:
    """Rows of tasks whose view scores the estimates otherwise than against ``true_mi``
    (:data:`reports.frames.SCORE_VIEWS`: independence tests, Omniglot): their |error|
    means nothing, so they get no accuracy flag (``harness compare`` checks their AUC
    or Spearman)."""
    if "task" not in df:
        return pd.Series(False, index=df.index)
    kinds = {task: view_kind(str(task), rows) for task, rows in df.groupby("task", sort=False)}
    return df["task"].map(kinds).isin(list(SCORE_VIEWS))


def summary(cells: pd.DataFrame) -> pd.DataFrame:
    """Per-estimator totals of :func:`compare` output.

    Returns
    -------
    pandas.DataFrame
        Indexed by label: ``cells``, ``mae_base``, ``mae_new``,
        ``median_s_base``, ``median_s_new``, ``median_ratio``, counts of
        ``status_regressions``, ``accuracy_regressions``, ``speed_regressions``
        and ``improvements``.
    """
    g = cells.groupby("label", sort=False)
    ok = cells[(cells["status_base"] == "ok") & (cells["status_new"] == "ok")]
    go = ok.groupby("label", sort=False)
    out = pd.DataFrame(
        {
            "cells": g.size(),
            "mae_base": go["abs_error_base"].mean(),
            "mae_new": go["abs_error_new"].mean(),
            "median_s_base": go["seconds_base"].median(),
            "median_s_new": go["seconds_new"].median(),
            "median_ratio": go["ratio"].median(),
            "status_regressions": g["status_regression"].sum(),
            "accuracy_regressions": g["accuracy_regression"].sum(),
            "speed_regressions": g["speed_regression"].sum(),
            "improvements": (cells["accuracy_improvement"] | cells["speed_improvement"])
            .groupby(cells["label"], sort=False)
            .sum(),
        }
    )
    out.index.name = "estimator"
    return out
