"""The task-specific views of a report section, one builder per view kind.

Every number comes from :mod:`harness.metrics` (level, order, AUC, rank and
latency tables) or from a short aggregation of the stored rows named where it
is made (per-instance and per-level means for the figures). Each builder takes
a task's rows, ``label -> (estimator, params)`` and the section id, and
returns the section's blocks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from harness import metrics
from reports import published as pub
from reports.blocks import Figure, Note
from reports.figures import Panel, Series, plot
from reports.published_rows import add_published, published_table
from reports.rows import auc_groups, ok_rows
from reports.series_styles import series_styles
from reports.settings import label_settings, row_settings, versus_first
from reports.tables import Row, Table, fmt, frame_table, num_cell, slug, with_errors

__all__ = ["VIEWS"]


def _span(counts: pd.Series) -> str:
    """``"100"`` when every count is 100, else ``"80–100"``."""
    low, high = int(counts.min()), int(counts.max())
    return str(low) if low == high else f"{low}–{high}"


def _levels(df: pd.DataFrame, info: dict, sid: str) -> list[Any]:
    views = metrics.summarize(df, "levels")
    if "levels" not in views or views["levels"].empty:
        return [Note("no ok cells with an MI level", "warn")]
    tables = metrics.paper_tables(views)
    blocks: list[Any] = []
    matched: dict[str, list[tuple[str, pub.PublishedRow]]] = {}
    for key, (title, kind, pkey) in {
        "mean error per MI level (nats)": ("Mean error per MI level (nats)", "nats", "level_mean"),
        "error variance per MI level": ("Error variance per MI level (nats²)", "var", "level_var"),
    }.items():
        if key not in tables:
            continue
        t = frame_table(
            tables[key], slug(sid, pkey), f"{title} — InfoNet Table 2 layout", kind,
            head_label="estimator \\ MI level",
        )  # fmt: skip
        matched[pkey] = add_published(t, pkey, info, lambda c: round(float(c), 1), kind)
        blocks.append(t)
    counts = views["levels"]["count"]
    blocks.append(
        Note(
            f"Instances per estimator and level: {_span(counts)} "
            "(the paper uses 1000 per level at n = 2000)."
        )
    )
    blocks.append(_level_errors(df, views["levels"], matched.get("level_mean", []), sid))
    blocks.append(published_table("level_mean", sid, "nats"))
    blocks.append(published_table("level_var", sid, "var"))
    return blocks


#: Sideways shift between the series of a per-level figure (MI levels are 0.1 apart).
_LEVEL_STEP = 0.008


def _level_errors(
    df: pd.DataFrame,
    levels: pd.DataFrame,
    published: list[tuple[str, pub.PublishedRow]],
    sid: str,
) -> Figure:
    """Mean error against MI level (the Table 2 means as a figure): ours ± one standard
    error, the paper's rows ``published`` dashed in the colour of the row they went
    under; with a close-up around zero beside it where the least biased estimators would
    otherwise sit in a band too thin to tell them apart."""
    ok = ok_rows(df)
    ok = ok[np.isfinite(ok["error"].astype(float))]
    se = metrics.mean_se(ok, "error", ["label", "level"])
    labels = [lab for lab in pd.unique(df["label"]) if lab in levels.index.get_level_values(0)]
    styles = series_styles(df)
    series = []
    for i, lab in enumerate(labels):
        part = levels.xs(lab, level=0)
        off = (i - (len(labels) - 1) / 2) * _LEVEL_STEP
        x = part.index.astype(float)
        bars = se.reindex(pd.MultiIndex.from_product([[lab], part.index])).to_numpy()
        series.append(Series(str(lab), x + off, part["mean_error"], bars, **styles[str(lab)]))
    for lab, prow in published:
        xs = sorted(prow.values)
        series.append(
            Series(f"published {prow.name}", xs, [prow.values[x] for x in xs],
                   color=styles[str(lab)]["color"], style="published")
        )  # fmt: skip
    panels = [Panel("", series)]
    close = _close_up(series[: len(labels)], series)
    if close is not None:
        near = [t for t in (_within(s, *close) for s in series) if t is not None]
        panels = [Panel("all estimators", series),
                  Panel("close-up around zero", near, ylim=close)]  # fmt: skip
    doubts = "".join(
        f" The paper's {prow.name} at {key:g}: {note}."
        for _, prow in published
        for key, note in getattr(prow, "notes", {}).items()
    )
    return Figure(
        slug(sid, "error-vs-level"),
        "Mean error per MI level",
        plot(panels, xlabel="MI level (nats)", ylabel="mean error: estimate − truth (nats)",
             zero=True, panel_width=5.4, width=7.5, height=4.2),
        "Each estimator's mean error (estimate − true MI) over the level's instances, ± one "
        "standard error of that mean (the seeds of one distribution counted as one draw, "
        "since their errors share it); series shifted slightly sideways to stay apart; the "
        "black line is zero error. Dashed: the paper's Table 2 as printed, for the matching "
        "estimator (1000 GMMs per level at n = 2000)"
        f"{'. Right: the same, close up around zero' if close is not None else ''}.{doubts}",
    )  # fmt: skip


def _within(s: Series, low: float, high: float) -> Series | None:
    """``s`` without the points a close-up from ``low`` to ``high`` would not show: those
    outside it, but for the neighbours of those inside (the lines to them leave the
    frame where they should); ``None`` where none is inside."""
    y = np.asarray(s.y, dtype=float)
    inside = (y >= low) & (y <= high)
    if not inside.any():
        return None
    keep = inside | np.roll(inside, 1) & (np.arange(len(y)) > 0)
    keep |= np.roll(inside, -1) & (np.arange(len(y)) < len(y) - 1)
    err = None if s.yerr is None else np.asarray(s.yerr, dtype=float)[..., keep]
    x = np.asarray(s.x, dtype=float)[keep]
    return dataclasses.replace(s, x=x, y=y[keep], yerr=err)


def _close_up(
    ours: list[Series], drawn: list[Series], spread: float = 4.0
) -> tuple[float, float] | None:
    """Y limits of a close-up around zero that holds the better half of ``ours`` (by
    their largest |y| ± bar), where all ``drawn`` span more than ``spread`` times its
    height; ``None`` where the full plot shows them well enough."""

    def bounds(s: Series) -> tuple[float, float]:
        y = np.asarray(s.y, dtype=float)
        bar = np.nan_to_num(np.asarray(s.yerr, dtype=float)) if s.yerr is not None else 0.0
        return float(np.nanmin(y - bar)), float(np.nanmax(y + bar))

    spans = [bounds(s) for s in ours if np.isfinite(np.asarray(s.y, dtype=float)).any()]
    if len(spans) < 2:
        return None
    spans.sort(key=lambda b: max(-b[0], b[1]))
    better = spans[: (len(spans) + 1) // 2]
    low, high = min(0.0, *(b[0] for b in better)), max(0.0, *(b[1] for b in better))
    pad = 0.1 * max(high - low, 1e-3)
    low, high = low - pad, high + pad
    every = [bounds(s) for s in drawn if np.isfinite(np.asarray(s.y, dtype=float)).any()]
    full = max(0.0, *(b[1] for b in every)) - min(0.0, *(b[0] for b in every))
    return (low, high) if full > spread * (high - low) else None


def _order(df: pd.DataFrame, info: dict, sid: str) -> list[Any]:
    by = "K" if "K" in df else ("d" if "d" in df else None)
    ot = metrics.order_table(df, by=by or "K")
    if ot.empty:
        return [Note("no complete ok triplets to score", "warn")]
    tables = metrics.paper_tables({"order": ot})
    title, wide = next((k, v) for k, v in tables.items() if k.startswith("order accuracy"))
    pkey = {"K": "order_K", "d": "order_d"}.get(by or "")
    t = frame_table(
        wide, slug(sid, "order"), title[0].upper() + title[1:], "pct",
        head_label=f"estimator \\ {by}" if by else "estimator",
    )  # fmt: skip
    if by:
        errors = (ot["accuracy_se"] * 100.0).unstack(level=-1).reindex(wide.index)
        with_errors(t, errors.where(errors > 0).to_numpy(), "pct")  # none at 0 % or 100 %
    matched = add_published(t, pkey, info, lambda c: int(float(c)), "pct") if pkey else []
    blocks: list[Any] = [t]
    trip = ot["triplets"]
    blocks.append(
        Note(
            f"Triplets scored per estimator{f' and {by}' if by else ''}: {_span(trip)}; a "
            "triplet counts when both members are ok, and is correct when sign(est₀ − est₁) "
            "= sign(true₀ − true₁). ± one binomial standard error (none shown at 0 or 100 %)."
        )
    )
    if by:
        blocks.extend(_order_differences(df, by, sid))
        labels = list(pd.unique(df["label"]))
        styles = series_styles(df)
        series = []
        for i, lab in enumerate(labels):
            if lab not in ot.index.get_level_values("label"):
                continue
            part = ot.xs(lab, level="label")
            acc = part["accuracy"] * 100
            bars = [acc - part["accuracy_low"] * 100, part["accuracy_high"] * 100 - acc]
            off = (i - (len(labels) - 1) / 2) * 0.06  # apart, so the bars do not overlap
            x = part.index.astype(float) + off
            series.append(Series(str(lab), x, acc, bars, **styles[str(lab)]))
        for lab, prow in matched:
            xs = sorted(prow.values)
            series.append(
                Series(
                    f"published {prow.name}",
                    xs,
                    [prow.values[x] for x in xs],
                    color=styles[str(lab)]["color"],
                    style="published",
                )
            )
        blocks.append(
            Figure(
                slug(sid, "order-figure"),
                f"Order accuracy per {by}",
                plot([Panel("", series)], xlabel=by, ylabel="order accuracy (%)"),
                "Bars: 95 % Wilson intervals of each accuracy (they keep their width at "
                "100 %); series shifted slightly sideways to stay apart. Dashed: the "
                "paper's figures for the matching estimator.",
            )
        )
    if pkey:
        blocks.append(published_table(pkey, sid, "pct"))
    return blocks


def _order_differences(df: pd.DataFrame, by: str, sid: str) -> list[Any]:
    """Each other estimator's order accuracy minus the first one's, on the triplets
    both scored."""
    paired = versus_first(
        df, lambda a, b: metrics.order_difference(df, a, b, by=by), (KeyError, ValueError)
    )
    if paired is None:  # no complete triplets, or none in common
        return []
    first, diff = paired
    wide = (diff["difference"] * 100.0).unstack(by).dropna(how="all")
    errors = (diff["difference_se"] * 100.0).unstack(by).reindex_like(wide)
    t = frame_table(
        wide, slug(sid, "order-difference"),
        f"Order accuracy minus that of {first}, same triplets (points)", "+pct",
        columns=[str(c) for c in wide.columns], head_label=f"estimator \\ {by}",
    )  # fmt: skip
    with_errors(t, errors.where(errors > 0).to_numpy(), "pct")
    t.note = (
        "Paired on the triplets both estimators scored on the same samples: triplets "
        "both get right (or wrong) cancel, so the standard error, sd(c₁ − c₂)/√triplets, "
        "is usually well below either accuracy's; harness.metrics.order_difference."
    ) + paired.note("triplets")
    return [t]


def _instance(ok: pd.DataFrame) -> list[str]:
    """Columns naming one instance across pooled runs: runs of other task parameters
    (another rho, n or set) reuse the same instance indices."""
    return [c for c in ("task_params", "instance_index") if c in ok]


def _variant(variants: dict[int, dict[str, int]], colour: int, name: str) -> int:
    """The variant (marker and line style) of the series ``name`` in ``colour``: the next
    one of its colour the first time ``variants`` sees the name, the same one after, so
    that a name keeps its look in every panel."""
    marks = variants.setdefault(colour, {})
    return marks.setdefault(name, len(marks))


def _setting_panels(
    ok: pd.DataFrame,
    value: str,
    labels: list[str],
    styles: dict[str, dict[str, int]],
    name: Callable[[str, str], str] | None = None,
    bars: str = "sd",
) -> list[Panel]:
    """One panel per setting of ``ok`` (:func:`~reports.settings.row_settings`, titled by
    it; one untitled panel where the task has one): per label the mean of ``value`` over
    seeds per instance against its true MI, ± one standard deviation over the seeds
    (``bars="sd"``) or one standard error of their mean (``"se"``), named by the label
    without its setting (or by ``name(label, name without setting)``), in its colour
    and with one marker per name of that colour in every panel (``ksg [a]``,
    ``ksg [b]``)."""
    names = label_settings(ok)
    setting = row_settings(ok)
    variants: dict[int, dict[str, int]] = {}
    panels = []
    for title in pd.unique(setting):
        part = ok[(setting == title).to_numpy()]
        g = part.groupby(["label", *_instance(part)], sort=False)
        spread = g[value].std()
        if bars == "se":
            spread = spread / np.sqrt(g[value].count())
        agg = pd.DataFrame(
            {"true": g["true_mi"].mean(), "y": g[value].mean(), "bar": spread}
        ).reset_index()
        series = []
        for lab in labels:
            p = agg[agg["label"] == lab].sort_values("true")
            if len(p):
                short = names.get(lab, (lab, ""))[0]
                shown = short if name is None else name(lab, short)
                colour = styles[str(lab)]["color"]
                series.append(Series(shown, p["true"], p["y"], p["bar"], color=colour,
                                     variant=_variant(variants, colour, short)))  # fmt: skip
        panels.append(Panel(str(title), series))
    return panels


def _curves(df: pd.DataFrame, info: dict, sid: str) -> list[Any]:
    ok = ok_rows(df)
    if ok.empty or not np.isfinite(ok["true_mi"]).any():
        return [Note("no ok cells with a true MI", "warn")]
    et = metrics.error_table(df)
    g = ok.groupby(["label", *_instance(ok)], sort=False)
    agg = pd.DataFrame({"true": g["true_mi"].mean(), "est": g["estimate"].mean()}).reset_index()
    wide = agg.pivot_table(index="label", columns="true", values="est", sort=True)
    wide = wide.reindex([lab for lab in pd.unique(df["label"]) if lab in wide.index])
    cols = [f"{c:.3f}" for c in wide.columns]
    t = frame_table(
        wide, slug(sid, "estimates"), "Mean estimate per instance (columns: true MI, nats)",
        "nats", head_label="estimator \\ true MI", columns=cols,
    )  # fmt: skip

    def legend(lab: str, short: str) -> str:
        short = short if len(short) <= 28 else short[:27] + "…"
        r = et.loc[lab]
        seconds = fmt(r["median_seconds"], "s")
        seconds += "" if seconds[-1:].isalpha() else " s"  # "1.34 ms" names its unit
        return f"{short} — MAE {fmt(r['mae'], 'nats')}, {seconds}"

    labels = list(pd.unique(df["label"]))
    panels = _setting_panels(ok, "error", labels, series_styles(df), legend, bars="se")
    fig = Figure(
        slug(sid, "error-vs-truth"),
        "Error vs true MI",
        plot(panels, xlabel="true MI (nats)", ylabel="mean error: estimate − truth (nats)",
             zero=True),
        "Mean error (estimate − true MI) over seeds per instance, ± one standard error of "
        "that mean; the black line is zero error. The legend gives each estimator's mean "
        "absolute error and median seconds per estimate"
        f"{'; one panel per setting' if len(panels) > 1 else ''}. The estimates themselves "
        "are in the table below.",
    )  # fmt: skip
    return [fig, t]


def _latency(df: pd.DataFrame, info: dict, sid: str) -> list[Any]:
    lt = metrics.latency_table(df)
    if lt.empty:
        return [Note("no ok cells to time", "warn")]
    med = lt["median_seconds"].unstack("n_samples")
    med = med.reindex(pd.unique(lt.index.get_level_values("label")))
    cols = [str(int(c)) for c in med.columns]
    t = frame_table(
        med, slug(sid, "latency"), "Median seconds per estimate vs n — InfoNet Table 1 layout",
        "s", head_label="estimator \\ n", columns=cols,
    )  # fmt: skip
    matched = add_published(t, "latency", info, lambda c: int(c), "s")
    styles = series_styles(df)
    series = [
        Series(str(lab), [float(c) for c in med.columns], med.loc[lab].to_numpy(),
               **styles[str(lab)])
        for lab in med.index
    ]  # fmt: skip
    for lab, prow in matched:
        xs = sorted(prow.values)
        series.append(
            Series(f"published {prow.name}", xs, [prow.values[x] for x in xs],
                   color=styles[str(lab)]["color"], style="published")
        )  # fmt: skip
    fig = Figure(
        slug(sid, "latency-figure"),
        "Seconds per estimate vs n",
        plot([Panel("", series)], xlabel="n (log)", ylabel="seconds per estimate (log)",
             logx=True, logy=True),
        "Single and batched estimators as their labels say (batch size is part of the "
        "label); a batched cell's time is its batch's time divided by the batch size. "
        "Dashed: the paper's Table 1 (RTX 4090 + Threadripper PRO 5975WX).",
    )  # fmt: skip
    return [t, fig, published_table("latency", sid, "s")]


def _mark_reversed(table: Table) -> int:
    """Mark the AUC cells of ``table`` below 0.5 by more than two standard errors (an
    estimator whose score ranks independent pairs above dependent ones) as ``bad``;
    return how many."""
    count = 0
    for row in table.rows:
        for cell in row.cells:
            if cell.value is None or cell.error is None:
                continue
            if float(cell.value) < 0.5 - 2 * float(cell.error):
                cell.cls = "bad"
                cell.title += " — ranked the wrong way round: independent pairs scored higher"
                count += 1
    return count


def _auc(df: pd.DataFrame, info: dict, sid: str) -> list[Any]:
    if "dependent" not in df:
        return [Note("no 'dependent' column; cannot score independence tests", "warn")]
    by, trial = auc_groups(df)
    agg = metrics.auc_table(df, by=by, trials=trial)
    if agg.empty:
        return [Note("no ok cells to score", "warn")]
    agg = agg[["auc", "auc_se", "trials"]]
    blocks: list[Any] = []
    if "n_samples" in by:
        # unstack sorts the rows: keep the estimators in the order they were run
        wide = agg["auc"].unstack("n_samples").reindex(agg.index.droplevel("n_samples").unique())
        cols = [str(int(c)) for c in wide.columns]
        t = frame_table(
            wide, slug(sid, "auc"), "ROC AUC vs n (mean over trials)", "auc",
            head_label="estimator · " + " · ".join(b for b in by if b != "n_samples"),
            columns=cols,
        )  # fmt: skip
        with_errors(t, agg["auc_se"].unstack("n_samples").reindex_like(wide).to_numpy())
    else:
        t = frame_table(agg[["auc", "trials"]], slug(sid, "auc"), "ROC AUC (mean over trials)",
                        {"auc": "auc", "trials": "int"})  # fmt: skip
        with_errors(t, agg[["auc_se"]].to_numpy())
    t.note = (
        "AUC of the estimate as a score for dependent vs independent pairs, per trial "
        f"({' and '.join(trial) or 'all rows'}), then averaged; the paper averages ten trials "
        "of 50 dependent + 50 independent pairs. ± one standard error (DeLong's, from the "
        "spread of the pairs' placements; of the mean over independent trials). Estimators "
        "scored on the same samples are compared more sharply by the paired "
        "difference, harness.metrics.auc_difference."
    )
    if _mark_reversed(t):
        t.note += (
            " Red: below 0.5 by more than two standard errors, the estimator ranked the "
            "pairs the wrong way round (it scored the independent pairs higher)."
        )
    blocks.append(t)
    blocks.extend(_auc_differences(df, by, trial, sid))
    # a curve needs two sizes; with one the table says it all
    if "n_samples" in by and agg.index.get_level_values("n_samples").nunique() > 1:
        styles = series_styles(df)
        groups = (
            list(pd.unique(agg.index.get_level_values("dependence")))
            if "dependence" in by
            else [None]
        )
        panels = []
        variants: dict[int, dict[str, int]] = {}
        for dep in groups:
            part = agg.xs(dep, level="dependence") if dep is not None else agg
            series = []
            keys = [k for k in part.index.names if k not in ("n_samples",)]
            for key, sub in part.groupby(level=keys, sort=False):
                key = key if isinstance(key, tuple) else (key,)
                lab = key[0]
                name = " · ".join(f"{k}={v}" if k != "label" else str(v)
                                  for k, v in zip(keys, key, strict=True))  # fmt: skip
                ns = sub.index.get_level_values("n_samples").astype(float)
                colour = styles[str(lab)]["color"]
                series.append(Series(name, ns, sub["auc"], yerr=sub["auc_se"], color=colour,
                                     variant=_variant(variants, colour, name)))  # fmt: skip
            panels.append(Panel(str(dep) if dep is not None else "", series))
        blocks.append(
            Figure(
                slug(sid, "auc-figure"),
                "ROC AUC vs n",
                plot(panels, xlabel="n (log)", ylabel="ROC AUC", logx=True),
                "One panel per dependence type, one line per estimator and dimension d; "
                "bars: ± one standard error.",
            )
        )
    return blocks


def _auc_differences(df: pd.DataFrame, by: list[str], trial: list[str], sid: str) -> list[Any]:
    """Each other estimator's AUC minus the first one's, on the samples both scored."""
    paired = versus_first(
        df, lambda a, b: metrics.auc_difference(df, a, b, by=by, trials=trial), (ValueError,)
    )
    if paired is None:  # no sample scored by both
        return []
    first, diff = paired
    rest = [b for b in by if b != "n_samples"]
    if "n_samples" in by:
        wide = diff["difference"].unstack("n_samples")
        errors = diff["difference_se"].unstack("n_samples").reindex_like(wide)
        cols = [str(int(c)) for c in wide.columns]
    else:
        wide, errors, cols = diff[["difference"]], diff[["difference_se"]], None
    t = frame_table(
        wide, slug(sid, "auc-difference"), f"ROC AUC minus that of {first}, same samples",
        "+auc", columns=cols, head_label=" · ".join(["estimator", *rest]),
    )  # fmt: skip
    with_errors(t, errors.to_numpy())
    t.note = (
        "Paired on the samples both estimators scored: the standard error of the "
        "difference (DeLong) counts that the two AUCs share their samples, so it is "
        "usually well below either AUC's own; a difference beyond two standard errors "
        "is unlikely to be chance."
    ) + paired.note("samples")
    return [t]


_RESCALED_COLUMNS = {
    "count": "cells",
    "scale": "constant c",
    "spearman": "Spearman ρ",
    "rescaled_rel_error": "mean |c·est − true| / true",
}


def _rescaled(df: pd.DataFrame, info: dict, sid: str) -> list[Any]:
    # runs of several sample sizes pool into one label here: one constant per n
    keys = [c for c in ("d", "n_samples") if c in df and (c == "d" or df[c].nunique() > 1)]
    rank = metrics.rank_table(df, by=keys)
    if rank.empty:
        return [Note("no ok cells with a true MI", "warn")]
    ok = ok_rows(df)
    ok = ok[np.isfinite(ok["true_mi"]) & np.isfinite(ok["estimate"])]
    styles = series_styles(df)
    names = {"d": "d", "n_samples": "n"}
    panels: dict[Any, Panel] = {}
    for key, row in rank.iterrows():
        key = key if isinstance(key, tuple) else (key,)
        part = ok[ok["label"] == key[0]]
        for col, value in zip(keys, key[1:], strict=True):
            part = part[part[col] == value]
        title = ", ".join(f"{names[c]} = {v}" for c, v in zip(keys, key[1:], strict=True))
        panels.setdefault(key[1:], Panel(title, []))
        panels[key[1:]].series.append(
            Series(str(key[0]), part["true_mi"], row["scale"] * part["estimate"],
                   **styles[str(key[0])], style="points")
        )  # fmt: skip
    table = rank[list(_RESCALED_COLUMNS)].rename(columns=_RESCALED_COLUMNS)
    tab = frame_table(
        table, slug(sid, "rescaled"), "Sliced MI against the truth after one constant",
        {"cells": "int", "constant c": "num", "Spearman ρ": "num",
         "mean |c·est − true| / true": "num"},
        head_label=" · ".join(["estimator", *(names[k] for k in keys)]),
    )  # fmt: skip
    for d, vals in pub.OMNIGLOT.items():
        r = metrics.rank_agreement(vals["smi"], vals["truth"])
        tab.rows.append(
            Row(
                f"published: InfoNet · d={d}",
                [num_cell(r[k], "int" if k == "count" else "num", "published")
                 for k in _RESCALED_COLUMNS],
                "published",
                head_title=pub.OMNIGLOT_CAPTION,
            )
        )  # fmt: skip
    tab.note = (
        "c = 1 / b, where b fits est ≈ b·true by least squares through the origin "
        "(harness.metrics.rank_agreement); Spearman ρ between estimate and truth. Published "
        "rows recompute both from the seven columns of the paper's Table 5."
    )
    fig = Figure(
        slug(sid, "rescaled-figure"),
        "Rescaled estimate vs true MI",
        plot(list(panels.values()), xlabel="true MI (nats)", ylabel="c × estimate (nats)",
             diagonal=True),
        "Each estimator's estimates times its own constant c.",
    )  # fmt: skip
    return [tab, fig]


def _error_vs_truth(df: pd.DataFrame, info: dict, sid: str) -> list[Any]:
    ok = ok_rows(df)
    if ok.empty or not np.isfinite(ok["true_mi"]).any():
        return [Note("no ok cells with a true MI", "warn")]
    panels = _setting_panels(ok, "error", list(pd.unique(df["label"])), series_styles(df))
    fig = Figure(
        slug(sid, "error-vs-truth"),
        "Error vs true MI",
        plot(panels, xlabel="true MI (nats)", ylabel="estimate − truth (nats)", zero=True),
        "Mean error over seeds (±1 sd) per instance; the black line is zero error.",
    )
    return [fig]


#: view kind -> builder ``(rows, label -> (estimator, params), section id) -> blocks``.
VIEWS = {
    "levels": _levels,
    "order": _order,
    "curves": _curves,
    "latency": _latency,
    "auc": _auc,
    "rescaled": _rescaled,
    "error_vs_truth": _error_vs_truth,
}
