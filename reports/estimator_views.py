"""The blocks closing every task section: the per-estimator error table and accuracy vs speed."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from harness import metrics
from reports.blocks import Figure
from reports.figures import Panel, Series, plot, shorten
from reports.rows import auc_groups, ok_rows, sliced_labels
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
        "paired differences of |error| (the seeds of one distribution counted as one draw), "
        "so the instances' own difficulty cancels; a difference beyond two standard errors "
        "is unlikely to be chance." + _sliced_note(df) + paired.note("instances")
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
    t.format_groups.append(("sampling var", "systematic var"))  # two parts of one variance
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
    score, what, higher, score_kind, _ = _headline(df, kind, errors)
    return score, what, higher, score_kind


def _headline(
    df: pd.DataFrame, kind: str, errors: pd.DataFrame | None = None
) -> tuple[pd.Series, str, bool, str, tuple[pd.Series, pd.Series] | None]:
    """:func:`headline`, and each value's error bar below and above it: ± one standard
    error of the mean AUC over cells (DeLong's, of independent cells) or of the MAE
    (:func:`harness.metrics.mean_se`), the 95 % Wilson interval of the order accuracy; ``None`` for
    Spearman ρ."""
    if kind == "auc" and "dependent" in df:
        by, trial = auc_groups(df)
        agg = metrics.auc_table(df, by=by, trials=trial)
        if not agg.empty:
            g = agg.groupby(level=0, sort=False)
            score = g["auc"].mean()
            # a mean of independent cells, as over trials
            se = g[["auc", "auc_se"]].apply(lambda t: metrics.se_of_mean(t["auc"], t["auc_se"]))
            return score, "mean ROC AUC over cells", True, "auc", (se, se)
    if kind == "order" and {"triplet", "member"} <= set(df):
        ot = metrics.order_table(df, by="K" if "K" in df else "d")
        if not ot.empty:
            total = ot.groupby(level=0, sort=False)[["correct", "triplets"]].sum()
            score = 100 * total["correct"] / total["triplets"]
            low, high = metrics.wilson_interval(total["correct"], total["triplets"])
            bars = (score - 100 * low, 100 * high - score)
            return score, "order accuracy (%)", True, "pct", bars
    if kind == "rescaled":
        rt = metrics.rank_table(df)
        if not rt.empty:
            score = rt["spearman"].groupby(level=0, sort=False).mean()
            return score, "Spearman ρ with truth", True, "auc", None
    errors = metrics.error_table(df) if errors is None else errors
    ok = ok_rows(df).assign(abs_error=lambda d: d["error"].astype(float).abs())
    se = metrics.mean_se(ok[np.isfinite(ok["abs_error"])], "abs_error", ["label"])
    return errors["mae"].astype(float), "mean absolute error (nats)", False, "nats", (se, se)


#: A parameter value naming a file (``checkpoint=runs/s24/best.pt``).
_PATH = re.compile(r"(?<==)[^,·\[\]\s]*/[^,·\[\]\s]*")


def point_texts(labels: Sequence[str], width: int = 44) -> dict[str, str]:
    """A short text per label, to write beside its point (the legend keeps the whole
    label): each file a parameter names cut to the fewest last path parts no other
    label's file ends with (``infonet:checkpoint=s24t/best.pt``), the whole at most
    ``width`` characters (cut in the middle)."""
    files = {f for lab in labels for f in _PATH.findall(lab)}

    def tail(path: str) -> str:
        parts = path.split("/")
        for k in range(1, len(parts)):
            end = "/".join(parts[-k:])
            if not any(f != path and (f == end or f.endswith("/" + end)) for f in files):
                return end
        return path

    out = {}
    for lab in labels:
        text = _PATH.sub(lambda m: tail(m.group(0)), lab)
        out[lab] = text if len(text) <= width else shorten(text, width)
    return out


def _y_limits(
    low: np.ndarray, high: np.ndarray, *, floor: float | None, span: float, top: float | None
) -> tuple[float | None, float | None]:
    """Y limits for values (with their bars) from ``low`` to ``high``: from ``floor``
    where given, and at least ``span`` tall (not past ``top``), so that a gap well
    within the noise does not fill the plot."""
    lo, hi = float(np.nanmin(low)), float(np.nanmax(high))
    if floor is not None:
        lo = floor
    if hi - lo >= span:
        return (floor, None)
    mid = (lo + hi) / 2
    lo, hi = (lo, lo + span) if floor is not None else (mid - span / 2, mid + span / 2)
    if top is not None and hi > top:
        lo, hi = lo - (hi - top), top
    pad = 0.06 * span
    return (lo if floor is not None else lo - pad, hi + pad)


#: Least height of the accuracy axis per score kind (one tenth of the AUC or Spearman
#: range, ten points of accuracy) and its highest value.
_SCORE_SPAN = {"auc": (0.1, 1.0), "pct": (10.0, 100.0)}


def speed_accuracy(df: pd.DataFrame, sid: str, kind: str = "") -> Figure | None:
    """Accuracy (:func:`headline`) against median seconds per estimator, each point
    named beside it, with its error bar; ``None`` with no point to draw."""
    et = metrics.error_table(df)
    seconds = et["median_seconds"].astype(float)
    score, ylabel, higher, score_kind, bars = _headline(df, kind, et)
    score = score.reindex(et.index).astype(float)
    keep = np.isfinite(score) & (seconds > 0)
    if not keep.any():
        return None
    shown = et.index[keep.to_numpy()]
    below, above = (
        (b.reindex(shown).astype(float).to_numpy() for b in bars)
        if bars is not None
        else (np.full(len(shown), np.nan),) * 2
    )
    styles = series_styles(df)
    texts = point_texts([str(lab) for lab in shown])
    series = [
        Series(str(lab), [seconds[lab]], [score[lab]],
               None if np.isnan(lo) and np.isnan(hi) else [[lo], [hi]],
               **styles[str(lab)], style="points", text=texts[str(lab)])
        for lab, lo, hi in zip(shown, below, above, strict=True)
    ]  # fmt: skip
    y = score[shown].to_numpy()
    low, high = y - np.nan_to_num(below), y + np.nan_to_num(above)
    span, top = _SCORE_SPAN.get(score_kind, (0.1, 1.0))
    ylim = (
        _y_limits(low, high, floor=0.0, span=0.0, top=None)
        if not higher
        else _y_limits(low, high, floor=None, span=span, top=top)
    )
    uri = plot(
        [Panel("", series, ylim=None if ylim == (None, None) else ylim)],
        xlabel="median seconds per estimate (log)",
        ylabel=ylabel,
        logx=True,
        height=3.6,
    )
    what = "mean absolute error over ok cells" if not higher else ylabel
    bar = {
        "pct": "the 95 % Wilson interval of the accuracy",
        "auc": "± one standard error (DeLong's, of the mean over cells)",
        "nats": "± one standard error of the mean absolute error (the seeds of one "
        "distribution counted as one draw)",
    }
    least = f"{span:g} points" if score_kind == "pct" else f"{span:g}"
    why = ", from 0" if not higher else f"; the axis spans at least {least}"
    return Figure(
        slug(sid, "speed-accuracy"),
        "Accuracy vs speed",
        uri,
        f"One point per estimator: median seconds per estimate against {what}; "
        f"{'upper' if higher else 'lower'} left is better"
        + (f". Bars: {bar[score_kind]}" if bars is not None else "")
        + f"{why}, so that a gap within the noise does not fill the plot"
        + (
            ". Two estimators' gap is judged more sharply by their paired difference on "
            "the same samples (above)."
            if kind != "rescaled"
            else "."
        ),
    )
