"""The blocks closing every task section: the per-estimator error table and accuracy vs speed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness import metrics
from reports.blocks import Figure
from reports.figures import Panel, Series, plot
from reports.frames import ok_rows
from reports.tables import Table, frame_table, slug, with_errors

__all__ = ["errors_table", "mae_differences", "speed_accuracy"]

_ERROR_KINDS = {
    "cells": "int",
    "ok": "int",
    "failed": "int",
    "timeout": "int",
    "skipped": "int",
    "mae": "nats",
    "bias": "nats",
    "error_var": "var",
    "rmse": "nats",
    "median_seconds": "s",
}


def errors_table(df: pd.DataFrame, sid: str) -> Table:
    """Per-estimator error and time table, failed and timed-out counts marked."""
    errors = metrics.paper_tables({"errors": metrics.error_table(df)})
    title, et = next(iter(errors.items()))
    t = frame_table(
        et, slug(sid, "errors"), title.capitalize(), _ERROR_KINDS, head_label="estimator"
    )
    for row in t.rows:
        for col, cell in zip(t.columns, row.cells, strict=True):
            if col in ("failed", "timeout") and cell.value:
                cell.cls += " bad"
    t.note = (
        "mae, bias (mean error), error_var (ddof=1), rmse over ok cells; median seconds per "
        "estimate (a batched cell counts its batch's time divided by the batch size)."
    )
    return t


def mae_differences(df: pd.DataFrame, sid: str) -> Table | None:
    """Each other estimator's MAE minus the first one's on the instances both estimated,
    with the paired standard error; ``None`` when no two estimators share an instance."""
    labels = list(pd.unique(ok_rows(df)["label"]))
    rows = {}
    for other in labels[1:]:
        try:
            diff = metrics.mae_difference(df, other, labels[0])
        except ValueError:  # no shared instance with a known truth
            continue
        for key, rec in diff.iterrows():
            rows[other if isinstance(key, int) else f"{other} · {key}"] = rec
    if not rows:
        return None
    frame = pd.DataFrame(rows).T
    shown = frame[["pairs", "first", "second", "difference"]]
    columns = ["instances", "its MAE", f"MAE of {labels[0]}", "difference"]
    t = frame_table(
        shown, slug(sid, "mae-difference"),
        f"Mean absolute error minus that of {labels[0]}, same instances",
        dict(zip(columns, ("int", "nats", "nats", "nats"), strict=True)),
        head_label="estimator", columns=columns,
    )  # fmt: skip
    errors = pd.DataFrame(np.nan, index=shown.index, columns=shown.columns)
    with_errors(t, errors.assign(difference=frame["difference_se"]).to_numpy(), "nats")
    t.note = (
        "Over the instances both estimated: the standard error is that of the mean of the "
        "paired differences of |error|, so the instances' own difficulty cancels; a "
        "difference beyond two standard errors is unlikely to be chance."
    )
    return t


def speed_accuracy(df: pd.DataFrame, sid: str) -> Figure | None:
    """Mean absolute error against median seconds per estimator; ``None`` with no point to draw."""
    et = metrics.error_table(df)
    et = et[np.isfinite(et["mae"].astype(float)) & (et["median_seconds"].astype(float) > 0)]
    if et.empty:
        return None
    series = [
        Series(str(lab), [r["median_seconds"]], [r["mae"]], color=i, style="points")
        for i, (lab, r) in enumerate(et.iterrows())
    ]
    uri = plot(
        [Panel("", series)],
        xlabel="median seconds per estimate (log)",
        ylabel="mean absolute error (nats)",
        logx=True,
        height=3.2,
    )
    return Figure(
        slug(sid, "speed-accuracy"),
        "Accuracy vs speed",
        uri,
        "One point per estimator: median seconds per estimate against mean absolute error "
        "over ok cells; lower left is better.",
    )
