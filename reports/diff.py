"""Cell-by-cell comparison of two runs over the cells they share.

Cells are matched on a key of estimator, its parameters, task, task
parameters including ``n``, instance index and seed, so only the same
estimator configuration on the same samples is compared; parameters at their
current default are left out of the key (:mod:`harness.matching`), so runs
from before a parameter existed still line up. A cell of the new
run is flagged

* ``status_regression``: it was ``ok`` in the baseline and is not ``ok`` now;
* ``less_accurate``: ``|error_new| - |error_base| > tolerance`` (nats), except for
  rows whose estimate is a score (independence tests, Omniglot);
* ``slower``: ``seconds_new > slowdown * seconds_base`` and the cell takes at
  least ``min_seconds`` longer (timer noise on millisecond cells is ignored).

Whether a flagged cell is a regression is the verdict of ``python -m harness
compare`` (:func:`harness.compare.compare`) on the two runs: a lost cell always
is, a less accurate or slower one where the gate failed a check of its task
and estimator (:func:`gate_regressions`). Latency fails that gate only as the
ratio of an estimator's median seconds to KSG's in the same run, so a slower
cell is otherwise information, not a regression.

A report pairs runs on the rows they do not repeat from an earlier file
(:func:`repeated`: the same cell of the same estimator configuration with the same
result, the rule by which the report's tables count such a cell once), so a run
and its exact copy, or an export and the stored run it came from, are not compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.matching import matching_keys
from reports import row_keys
from reports.copies import without_copies
from reports.view_kinds import SCORE_VIEWS, view_kind

__all__ = [
    "DiffRule",
    "baselines",
    "compare",
    "gate_regressions",
    "repeated",
    "summary",
]


@dataclass(frozen=True)
class DiffRule:
    """Thresholds for flagging a cell as less accurate or slower."""

    tolerance: float = 0.02
    slowdown: float = 1.5
    min_seconds: float = 0.01

    def describe(self) -> str:
        """The rules in words, for the report."""
        return (
            f"A cell is flagged lost when it was ok in the baseline and is not now; less "
            f"accurate when its |error| grows by more than {self.tolerance:g} nats (not for "
            f"estimates that are test scores, whose AUC the checks compare); slower when it "
            f"takes more than {self.slowdown:g}× the baseline's seconds and at least "
            f"{self.min_seconds:g} s longer. A lost cell is a regression; a less accurate or "
            f"slower one only where harness compare failed a check of its estimator, else it "
            f"is informational. Improvements use the mirror rules."
        )


def repeated(frames: Sequence[pd.DataFrame], also: Sequence[str] = ()) -> list[np.ndarray]:
    """For each frame, which of its rows repeat a row of an earlier frame.

    A row repeats another when both hold the same cell of the same estimator
    configuration with the same result (status, estimate, seconds, host, device and
    finish time):
    the rule by which the report's tables count a cell repeated by several files once
    (:func:`reports.copies.without_copies`), so a file and its copy, or an export and the
    stored run it came from, hold the same rows twice. Rows whose results differ do
    not repeat each other; rows without a seed, instance or estimate repeat none.

    Parameters
    ----------
    frames : sequence of pandas.DataFrame
        Result rows of each run, in the report's order.
    also : sequence of str
        Further columns whose values (as text; missing as ``""``) must agree too,
        e.g. ``("message",)`` for a table that shows the message.

    Returns
    -------
    list of numpy.ndarray of bool
        Aligned with each frame's rows by position: True where an earlier frame holds
        the row already (the first of repeated rows is never marked).
    """
    out = [np.zeros(len(df), dtype=bool) for df in frames]
    by_task: dict[str, list[tuple[str, pd.DataFrame]]] = {}  # task -> (position, rows)
    for j, df in enumerate(frames if len(frames) > 1 else ()):
        if not len(df) or not {"task", "label"} <= set(df):
            continue
        df = df.reset_index(drop=True)  # index: positions, not the frame's own
        for task, part in df.groupby(df["task"].astype(str), sort=False):
            by_task.setdefault(str(task), []).append((str(j), part))
    for task, parts in by_task.items():
        if len(parts) < 2:
            continue
        keys = [row_keys.estimator_keys(p) for _, p in parts]
        if also:
            keys = [
                row_keys.joined([k, *(_column_text(p, c) for c in also)])
                for k, (_, p) in zip(keys, parts, strict=True)
            ]
        cells = [row_keys.cell_keys(p, task) for _, p in parts]
        kept = {j: p.index for j, p in without_copies(parts, keys, cells)[0]}
        for j, p in parts:
            copies = p.index.difference(kept.get(j, p.index[:0]))
            out[int(j)][copies.to_numpy()] = True
    return out


def _column_text(rows: pd.DataFrame, col: str) -> pd.Series:
    """Column ``col`` of ``rows`` as text, a missing value or column as ``""``."""
    if col not in rows:
        return pd.Series("", index=rows.index, dtype=object)
    return rows[col].map(lambda v: "" if pd.isna(v) else str(v))


def baselines(keys: Sequence[Iterable[str]]) -> list[int | None]:
    """For each run, the index of the first earlier run that shares a cell with it.

    Parameters
    ----------
    keys : sequence of iterables of str
        The cell keys (:func:`harness.matching.matching_keys`) of each run, in the runs' order.

    Returns
    -------
    list of int or None
        ``out[j]`` is the smallest ``i < j`` whose keys meet those of run ``j``
        (``None`` when no earlier run does): the runs are indexed by key once,
        so runs sharing no cell are never paired.
    """
    first: dict[str, int] = {}  # key -> the first run holding it
    out: list[int | None] = []
    for j, run_keys in enumerate(keys):
        held = set(run_keys)
        out.append(min((first[k] for k in held if k in first), default=None))
        for k in held:
            first.setdefault(k, j)
    return out


def compare(
    base: pd.DataFrame,
    new: pd.DataFrame,
    rule: DiffRule | None = None,
    *,
    keys: tuple[pd.Series, pd.Series] | None = None,
) -> pd.DataFrame:
    """One row per cell present in both runs, with differences and flags.

    Parameters
    ----------
    base, new : pandas.DataFrame
        Result rows of the baseline and the new run.
    rule : DiffRule, optional
        Thresholds of the flags; default :class:`DiffRule`.
    keys : tuple of two pandas.Series, optional
        :func:`harness.matching.matching_keys` of ``base`` and ``new``, when already computed.

    Returns
    -------
    pandas.DataFrame
        Columns: ``task``, ``label`` (the new run's), ``label_base``,
        ``instance_index``, ``seed``, ``n_samples``, ``true_mi``, ``status_base``,
        ``status_new``, ``estimate_base``, ``estimate_new``, ``abs_error_base``,
        ``abs_error_new``, ``d_abs_error``, ``seconds_base``, ``seconds_new``,
        ``ratio``, boolean ``status_regression``, ``less_accurate``, ``slower``,
        ``more_accurate``, ``faster`` and ``regression``: lost or less accurate
        (:func:`gate_regressions` narrows it to the gate's verdict). Empty when
        no cell is shared.
    """
    rule = rule or DiffRule()
    cols = ["status", "estimate", "error", "seconds"]
    base_keys, new_keys = keys if keys is not None else (matching_keys(base), matching_keys(new))
    b = base.assign(_key=base_keys.to_numpy()).drop_duplicates("_key", keep="last")
    n = new.assign(_key=new_keys.to_numpy()).drop_duplicates("_key", keep="last")
    keep = ["_key", "task", "label", "instance_index", "seed", "n_samples", "true_mi"]
    keep = [c for c in keep if c in n]
    n = n.assign(_score=_is_score(n))
    b = b.rename(columns={"label": "label_base"})
    m = n[[*keep, "_score", *cols]].merge(
        b[["_key", "label_base", *cols]], on="_key", suffixes=("_new", "_base")
    )
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
    m["less_accurate"] = both_ok & (m["d_abs_error"] > rule.tolerance)
    m["slower"] = both_ok & longer & (m["seconds_new"] > rule.slowdown * m["seconds_base"])
    m["more_accurate"] = both_ok & (m["d_abs_error"] < -rule.tolerance)
    m["faster"] = both_ok & longer & (m["seconds_base"] > rule.slowdown * m["seconds_new"])
    m["regression"] = m["status_regression"] | m["less_accurate"]
    return m.drop(columns=["_key", "_score", "error_base", "error_new"])


def gate_regressions(cells: pd.DataFrame, checks: pd.DataFrame) -> pd.Series:
    """Which cells of :func:`compare` the gate's verdict counts as regressions.

    Parameters
    ----------
    cells : pandas.DataFrame
        :func:`compare` output.
    checks : pandas.DataFrame
        :attr:`harness.compare.Comparison.checks` of the same two runs.

    Returns
    -------
    pandas.Series of bool
        Lost cells; less accurate cells whose task and estimator failed an
        accuracy check; slower cells whose task and estimator failed a speed
        check (the ratio to the reference's seconds, or the reference's own
        slow-down), aligned with ``cells``.
    """
    failed = checks[checks["regressed"].astype(bool)]
    speed = failed["metric"].astype(str).str.startswith("seconds")

    def failed_for(rows: pd.DataFrame) -> pd.Series:
        keys = set(zip(rows["task"].astype(str), rows["estimator"].astype(str), strict=True))
        owner = zip(cells["task"].astype(str), cells["label_base"].astype(str), strict=True)
        return pd.Series([k in keys for k in owner], index=cells.index, dtype=bool)

    return (
        cells["status_regression"]
        | (cells["less_accurate"] & failed_for(failed[~speed]))
        | (cells["slower"] & failed_for(failed[speed]))
    )


def _is_score(df: pd.DataFrame) -> pd.Series:
    """Rows of tasks whose view scores the estimates otherwise than against ``true_mi``
    (:data:`reports.view_kinds.SCORE_VIEWS`: independence tests, Omniglot): their |error|
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
        ``median_s_base``, ``median_s_new``, ``median_ratio``, counts of cells
        ``lost`` (``status_regression``), ``less_accurate``, ``slower``,
        ``improved`` (more accurate or faster) and ``regressions`` (``regression``).
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
            "lost": g["status_regression"].sum(),
            "less_accurate": g["less_accurate"].sum(),
            "slower": g["slower"].sum(),
            "improved": (cells["more_accurate"] | cells["faster"])
            .groupby(cells["label"], sort=False)
            .sum(),
            "regressions": g["regression"].sum(),
        }
    )
    out.index.name = "estimator"
    return out
