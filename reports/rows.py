"""Selections several views make from a task's rows: the rows that succeeded, their
sample sizes, the groups an AUC is taken over, the labels that report sliced MI."""

from __future__ import annotations

import pandas as pd

from harness import metrics
from harness.interface import SpecError

__all__ = ["auc_groups", "ok_rows", "sample_sizes", "sliced_labels"]


def ok_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows whose status is ``ok``."""
    return df[df["status"] == "ok"]


def sample_sizes(rows: pd.DataFrame) -> frozenset[float]:
    """The sample sizes among ``rows`` (none without an ``n_samples`` column)."""
    if "n_samples" not in rows:
        return frozenset()
    return frozenset(rows["n_samples"].dropna().astype(float))


def auc_groups(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The columns an independence test's AUC is taken per (dependence, d, recipe where
    several meet, n) and the columns telling its trials apart, those of each present in
    ``df``."""
    by = [c for c in ("dependence", "d", "recipe", "n_samples") if c in df]
    return by, [c for c in metrics.TRIAL_COLUMNS if c in df]


def sliced_labels(df: pd.DataFrame) -> list[str]:
    """Labels of ``df`` whose estimator reports sliced MI on these rows: an estimator with
    the ``sliced`` capability on multi-dimensional x or y (an estimator the registry
    cannot load counts as not sliced)."""
    import estimators

    if not {"estimator", "dim_x", "dim_y"} <= set(df):
        return []
    wide = df[(df["dim_x"] > 1) | (df["dim_y"] > 1)]
    out = []
    for label, name in wide[["label", "estimator"]].drop_duplicates().itertuples(index=False):
        try:
            cls = estimators.registry.get_class(str(name))
        except SpecError:  # a plugin not installed (or not loading) where the report is built
            continue
        if cls.capabilities.sliced:
            out.append(str(label))
    return out
