"""The blocks closing every task section: the per-estimator error table and accuracy vs speed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness import metrics
from reports.blocks import Figure
from reports.figures import Panel, Series, plot
from reports.rows import auc_groups, sliced_labels
from reports.series_styles import series_styles
from reports.settings import versus_first
from reports.tables import Table, frame_table, slug, with_errors
from reports.view_kinds import SCORE_VIEWS

__all__ = [
    "error_components_table",
    "errors_table",
    "headline",
    "mae_differences",
    "speed_accuracy",
]

#: The error table's columns (:func:`harness.metrics.error_table`): header and format kind.
_ERROR_COLUMNS = {
    "cells": ("cells", "int"),
    "ok": ("ok", "int"),
    "failed": ("failed", "int"),
    "timeout": ("timeout", "int"),
    "skipped": ("skipped", "int"),
    "mae": ("MAE", "nats"),
    "bias": ("bias", "nats"),
    "error_var": ("error variance", "var"),
    "rmse": ("RMSE", "nats"),
    "median_seconds": ("median seconds", "s"),
}


def errors_table(df: pd.DataFrame, sid: str, kind: str = "") -> Table:
    """Per-estimator error and time table, failed and timed-out counts marked.

    For views in :data:`~reports.view_kinds.SCORE_VIEWS` the error columns are left out.
    """
    errors = metrics.paper_tables({"errors": metrics.error_table(df)})
    title, et = next(iter(errors.items()))
    if kind in SCORE_VIEWS:
        et = et[[c for c in et.columns if c in ("cells", "ok", "failed", "timeout", "skipped",
                                                "median_seconds")]]  # fmt: skip
        title = "cells and seconds per estimate"
    shown = [_ERROR_COLUMNS.get(c, (c, "num")) for c in et.columns]
    t = frame_table(
        et, slug(sid, "errors"), title[0].upper() + title[1:], dict(shown),
        head_label="estimator", columns=[head for head, _ in shown],
    )  # fmt: skip
    for row in t.rows:
        for col, cell in zip(t.columns, row.cells, strict=True):
            if col in ("failed", "timeout") and cell.value:
                cell.cls += " bad"
    t.note = (
        "MAE, bias (mean error), error variance (ddof=1) and RMSE over ok cells; median "
        "seconds per estimate (a batched cell counts its batch's time divided by the batch "
        "size)." + _sliced_note(df)
    )
    if kind in SCORE_VIEWS:
        t.note = (
            f"No error columns: {SCORE_VIEWS[kind]} (above). Median seconds per estimate "
            "(a batched cell counts its batch's time divided by the batch size)."
        )
    return t


def mae_differences(df: pd.DataFrame, sid: str) -> Table | None:
    """Each other estimator's MAE minus the first one's on the instances both estimated,
    with the paired standard error; ``None`` when no two estimators share an instance."""
    paired = versus_first(df, lambda a, b: metrics.mae_difference(df, a, b), (ValueError,))
    if paired is None:  # no shared instance with a known truth
        return None
    first, frame = paired
    # rows: the label, and the task where mae_difference groups by it
    frame.index = [
        lab if isinstance(key, (int, np.integer)) else f"{lab} · {key}" for lab, key in frame.index
    ]
    shown = frame[["pairs", "first", "second", "difference"]]
    columns = ["instances", "its MAE", f"MAE of {first}", "difference"]
    t = frame_table(
        shown, slug(sid, "mae-difference"),
        f"Mean absolute error minus that of {first}, same instances",
        dict(zip(columns, ("int", "nats", "nats", "+nats"), strict=True)),
        head_label="estimator", columns=columns,
    )  # fmt: skip
    errors = pd.DataFrame(np.nan, index=shown.index, columns=shown.columns)
    with_errors(t, errors.assign(difference=frame["difference_se"]).to_numpy(), "nats")
    t.note = (
        "Over the instances both estimated: the standard error is that of the mean of the "
        "paired differences of |error|, so the instances' own difficulty cancels; a "
        "difference beyond two standard errors is unlikely to be chance." + _sliced_note(df)
    )
    return t


def error_components_table(df: pd.DataFrame, sid: str) -> Table | None:
    """Each estimator's error variance split into sampling and systematic parts
    (:func:`harness.metrics.error_components`); ``None`` unless some instance was
    estimated under two seeds or more."""
    split = metrics.error_components(df)
    if split.empty:
        return None
    shown = split.assign(systematic_share=100 * split["systematic_share"])
    columns = ["instances", "seeds", "bias", "sampling var", "systematic var", "systematic %"]
    kinds = ("int", "num", "nats", "var", "var", "pct")
    t = frame_table(
        shown, slug(sid, "error-components"),
        "Error variance: sampling vs systematic (nats²)",
        dict(zip(columns, kinds, strict=True)), head_label="estimator", columns=columns,
    )  # fmt: skip
    t.note = (
        "Over the instances estimated under two seeds or more (fresh samples of one "
        "distribution): the sampling variance is the mean over instances of the variance "
        "over seeds, what more samples would shrink; the systematic variance is the "
        "spread of each instance's mean error beyond that, the estimator's own error on "
        "each distribution (random-effects analysis of variance; it can come out a little "
        "below zero by chance)." + _sliced_note(df)
    )
    return t


def _sliced_note(df: pd.DataFrame) -> str:
    labels = sliced_labels(df)
    if not labels:
        return ""
    return (
        f" The estimates of {', '.join(labels)} are sliced MI (the mean MI of random 1-D "
        "projections), at most the MI since a projection only loses information: their "
        "errors against the MI hold that gap as well as the estimator's own."
    )


def headline(
    df: pd.DataFrame, kind: str, errors: pd.DataFrame | None = None
) -> tuple[pd.Series, str, bool, str]:
    """Each estimator's accuracy on a task as its view ``kind`` scores it.

    Returns the values per label, what they are, whether higher is better and
    their format kind (:func:`reports.tables.fmt`):
    mean ROC AUC over cells (independence tests), order accuracy in % (order
    views), mean Spearman ρ with the truth (rescaled views), else the mean
    absolute error in nats over ok cells (from ``errors``, the task's
    :func:`harness.metrics.error_table`, when the caller has it).
    """
    if kind == "auc" and "dependent" in df:
        by, trial = auc_groups(df)
        agg = metrics.auc_table(df, by=by, trials=trial)
        if not agg.empty:
            score = agg["auc"].groupby(level=0, sort=False).mean()
            return score, "mean ROC AUC over cells", True, "auc"
    if kind == "order" and {"triplet", "member"} <= set(df):
        ot = metrics.order_table(df, by="K" if "K" in df else "d")
        if not ot.empty:
            total = ot.groupby(level=0, sort=False)[["correct", "triplets"]].sum()
            return 100 * total["correct"] / total["triplets"], "order accuracy (%)", True, "pct"
    if kind == "rescaled":
        rt = metrics.rank_table(df)
        if not rt.empty:
            score = rt["spearman"].groupby(level=0, sort=False).mean()
            return score, "Spearman ρ with truth", True, "auc"
    errors = metrics.error_table(df) if errors is None else errors
    return errors["mae"].astype(float), "mean absolute error (nats)", False, "nats"


def speed_accuracy(df: pd.DataFrame, sid: str, kind: str = "") -> Figure | None:
    """Accuracy (:func:`headline`) against median seconds per estimator; ``None`` with no
    point to draw."""
    et = metrics.error_table(df)
    seconds = et["median_seconds"].astype(float)
    score, ylabel, higher, _ = headline(df, kind, et)
    score = score.reindex(et.index).astype(float)
    keep = np.isfinite(score) & (seconds > 0)
    if not keep.any():
        return None
    styles = series_styles(df)
    series = [
        Series(str(lab), [seconds[lab]], [score[lab]], **styles[str(lab)], style="points")
        for lab in et.index[keep.to_numpy()]
    ]
    uri = plot(
        [Panel("", series)],
        xlabel="median seconds per estimate (log)",
        ylabel=ylabel,
        logx=True,
        height=3.2,
    )
    what = "mean absolute error over ok cells" if not higher else ylabel
    return Figure(
        slug(sid, "speed-accuracy"),
        "Accuracy vs speed",
        uri,
        f"One point per estimator: median seconds per estimate against {what}; "
        f"{'upper' if higher else 'lower'} left is better.",
    )
