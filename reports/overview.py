"""The report's opening table: every task's estimators side by side, score and speed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness import metrics
from reports.blocks import Section
from reports.data import RunData
from reports.estimator_views import headline
from reports.frames import report_tasks, task_frame, view_kind
from reports.tables import Cell, Row, Table, num_cell

__all__ = ["overview_section"]


def overview_section(runs: Sequence[RunData]) -> Section | None:
    """One row per task and estimator: the task's headline score (what its section plots
    against speed), cells ok and median seconds; the best score of each task marked.

    ``None`` when no task has an ok cell.
    """
    rows = []
    for task in report_tasks(runs):
        df, _ = task_frame(task, runs)
        if df.empty or not (df["status"] == "ok").any():
            continue
        score, what, higher = headline(df, view_kind(task, df))
        et = metrics.error_table(df)
        score = score.reindex(et.index).astype(float)
        finite = score[np.isfinite(score)]
        best = (finite.max() if higher else finite.min()) if len(finite) > 1 else np.nan
        for lab in et.index:
            good = "good" if score[lab] == best else ""
            value = num_cell(score[lab], "num" if higher else "nats", good)
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
