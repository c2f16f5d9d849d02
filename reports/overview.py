"""The report's opening table: every task's estimators side by side, score and speed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from harness import metrics
from reports.blocks import Section
from reports.estimator_views import headline
from reports.frames import TaskFrame
from reports.rows import sample_sizes
from reports.settings import label_settings
from reports.tables import Cell, Row, Table, num_cell

__all__ = ["overview_section"]


def _sizes(df: pd.DataFrame) -> pd.Series:
    """Each label's setting (:func:`~reports.settings.label_settings`) and set of sample
    sizes: estimators are ranked among those of the same setting and sizes."""
    settings = label_settings(df)
    return pd.Series(
        {
            lab: (settings[str(lab)][1], sample_sizes(rows))
            for lab, rows in df.groupby("label", sort=False)
        }
    )


def _best(score: pd.Series, sizes: pd.Series, higher: bool) -> pd.Series:
    """Whether each label has the best finite score among two or more labels of its sizes."""
    best = pd.Series(False, index=score.index)
    for _, labels in sizes.groupby(sizes, sort=False):
        part = score[labels.index]
        part = part[np.isfinite(part)]
        if len(part) > 1:
            best[part.index] = part == (part.max() if higher else part.min())
    return best


def overview_section(frames: Sequence[TaskFrame]) -> Section | None:
    """One row per task and estimator: the task's headline score (what its section plots
    against speed), cells ok and median seconds; the best score of each task (among
    estimators run at the same sample sizes) marked.

    ``None`` when no task has an ok cell.
    """
    rows = []
    for task, df, _, kind in frames:
        if df.empty or not (df["status"] == "ok").any():
            continue
        et = metrics.error_table(df)
        score, what, higher, score_kind = headline(df, kind, et)
        score = score.reindex(et.index).astype(float)
        best = _best(score, _sizes(df).reindex(et.index), higher)
        for lab in et.index:
            good = "good" if best[lab] else ""
            value = num_cell(score[lab], score_kind, good)
            rows.append(
                Row(
                    f"{task} · {lab}",
                    [
                        Cell(what),
                        value,
                        Cell(f"{int(et.at[lab, 'ok'])} / {int(et.at[lab, 'cells'])}", cls="num"),
                        num_cell(et.at[lab, "median_seconds"], "s"),
                    ],
                )
            )
    if not rows:
        return None
    table = Table(
        "overview-table",
        "Score and speed per task",
        ["metric", "score", "ok / cells", "median seconds"],
        rows,
        head_label="task · estimator",
        note="Each task's headline score, the one its section plots against speed (mean "
        "ROC AUC for independence tests, order accuracy, Spearman ρ, else mean absolute "
        "error in nats), over ok cells; the best of each task in green. Median seconds per "
        "estimate (a batched cell counts its batch's time divided by the batch size).",
    )
    return Section("overview", "Overview", [table])
