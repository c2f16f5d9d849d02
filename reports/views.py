"""Which tables and figures a report shows for each task, built from stored rows.

Every number comes from :mod:`harness.metrics` (error, level, order, AUC, rank
and latency tables) or from a short aggregation of the stored rows named where
it is made (per-instance and per-level means for the figures). A task
section has its task-specific views, then the per-estimator error table and an
accuracy-vs-speed scatter. Estimators from different runs that share a label
are told apart as ``label [run id]``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from harness import metrics
from reports import published as pub
from reports.data import RunData
from reports.diff import DiffRule, compare, summary
from reports.figures import Panel, Series, plot
from reports.tables import Cell, Row, Table, fmt, frame_table, num_cell, slug

__all__ = ["KINDS", "Figure", "Note", "Section", "diff_sections", "failures", "task_sections"]

#: task name -> view kind; other tasks are recognised by their meta columns.
KINDS = {
    "gmm_levels": "levels",
    "gmm_order": "order",
    "highdim_order": "order",
    "gaussian": "curves",
    "halfcube": "curves",
    "asinh": "curves",
    "additive_noise": "curves",
    "latency": "latency",
    "highdim_independence": "auc",
    "omniglot_smi": "rescaled",
    "mvn": "error_vs_truth",
}

#: Report view for a task outside :data:`KINDS`, from its metrics summary kind.
_VIEW_OF_SUMMARY = {
    "levels": "levels",
    "order": "order",
    "auc": "auc",
    "rank": "rescaled",
    "latency": "latency",
}

_INTEGER_META = ("K", "d", "triplet", "member", "dependent", "n_samples", "seed", "instance_index")

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


@dataclass
class Figure:
    """An inline figure (SVG data URI) with a caption."""

    id: str
    title: str
    uri: str
    caption: str = ""
    kind: ClassVar[str] = "figure"


@dataclass
class Note:
    """A paragraph of explanation (``cls``: ``""``, ``"warn"``)."""

    text: str
    cls: str = ""
    kind: ClassVar[str] = "note"


@dataclass
class Section:
    """A report section: a heading and blocks (tables, figures, notes) in order."""

    id: str
    title: str
    blocks: list[Any] = field(default_factory=list)
    subtitle: str = ""


# -- helpers -------------------------------------------------------------------


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["status"] == "ok"]


def _params(text: Any) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    try:
        return json.loads(text) if isinstance(text, str) and text else {}
    except ValueError:
        return {}


def task_frame(task: str, runs: Sequence[RunData]) -> tuple[pd.DataFrame, dict[str, tuple]]:
    """Rows of ``task`` from all runs, labels made unique across runs.

    Returns
    -------
    (DataFrame, dict)
        The rows, and ``label -> (estimator name, full params)`` for matching
        published rows.
    """
    parts = [(r.run_id, r.df[r.df["task"] == task]) for r in runs]
    parts = [(rid, p) for rid, p in parts if len(p)]
    owners: dict[str, set[str]] = {}
    for rid, p in parts:
        for lab in pd.unique(p["label"]):
            owners.setdefault(str(lab), set()).add(rid)
    frames = []
    for rid, p in parts:
        p = p.copy()
        p["label"] = [f"{lab} [{rid}]" if len(owners[str(lab)]) > 1 else lab for lab in p["label"]]
        frames.append(p)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    # meta columns of other tasks are all missing here; integer meta read back as float
    # (a frame mixing tasks) turns integral again so tables say K = 1, not 1.0
    from results.schema import RESULT_FIELDS

    empty = [c for c in df if c not in RESULT_FIELDS and df[c].isna().all()]
    df = df.drop(columns=empty)
    for col in _INTEGER_META:
        if col in df and df[col].dtype.kind == "f":
            vals = df[col].dropna()
            if (vals == vals.round()).all():
                df[col] = df[col].astype("Int64")
    info: dict[str, tuple] = {}
    for _, r in df.drop_duplicates("label").iterrows():
        info[str(r["label"])] = (str(r["estimator"]), _params(r.get("estimator_params")))
    return df, info


def _kind(task: str, df: pd.DataFrame) -> str:
    if task in KINDS:
        return KINDS[task]
    return _VIEW_OF_SUMMARY.get(metrics.summary_kind(df), "curves")


def _colours(labels: Sequence[str]) -> dict[str, int]:
    return {lab: i for i, lab in enumerate(labels)}


def _add_published(
    table: Table,
    key: str,
    info: dict[str, tuple],
    colkey: Callable[[str], Any],
    kind: str,
) -> list[tuple[str, pub.PublishedRow]]:
    """Insert under each of our rows the matching published row, where the paper has one."""
    ptab = pub.table(key)
    out_rows: list[Row] = []
    matched: list[tuple[str, pub.PublishedRow]] = []
    for row in table.rows:
        out_rows.append(row)
        est = info.get(row.head)
        prow = pub.match(key, est[0], est[1]) if est else None
        if prow is None:
            continue
        cells = []
        for col in table.columns:
            try:
                v = prow.values.get(colkey(col))
            except (TypeError, ValueError):
                v = None
            cells.append(num_cell(v, kind, "published") if v is not None else Cell("", cls="num"))
        if any(c.value is not None for c in cells):
            out_rows.append(
                Row(f"published: {prow.name}", cells, "published", head_title=ptab.caption)
            )
            matched.append((row.head, prow))
    table.rows = out_rows
    return matched


def _published_table(key: str, section_id: str, kind: str) -> Table:
    ptab = pub.table(key)
    cols = sorted({c for r in ptab.rows for c in r.values})
    rows = [
        Row(r.name, [num_cell(r.values.get(c), kind, "published") for c in cols], "published")
        for r in ptab.rows
    ]
    names = [_col(c) for c in cols]
    t = Table(slug(section_id, "published", key), ptab.caption, names, rows, head_label="row")
    t.classes.append("collapsed")
    return t


def _col(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if value == round(value, 1) else f"{value:g}"
    return str(value)


def _errors_table(df: pd.DataFrame, sid: str) -> Table:
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


def _speed_accuracy(df: pd.DataFrame, sid: str) -> Figure | None:
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


# -- task views ----------------------------------------------------------------


def _levels(df: pd.DataFrame, info: dict, sid: str) -> list[Any]:
    views = metrics.summarize(df, "levels")
    if "levels" not in views or views["levels"].empty:
        return [Note("no ok cells with an MI level", "warn")]
    tables = metrics.paper_tables(views)
    blocks: list[Any] = []
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
        _add_published(t, pkey, info, lambda c: round(float(c), 1), kind)
        blocks.append(t)
    counts = views["levels"]["count"]
    blocks.append(
        Note(
            f"Instances per estimator and level: {int(counts.min())}–{int(counts.max())} "
            "(the paper uses 1000 per level at n = 2000)."
        )
    )
    ok = _ok(df)
    g = ok.groupby(["label", "level"], sort=False)
    agg = pd.DataFrame(
        {"true": g["true_mi"].mean(), "est": g["estimate"].mean(), "sd": g["estimate"].std()}
    ).reset_index()
    labels = list(pd.unique(df["label"]))
    step = 0.008
    series = []
    for i, lab in enumerate(labels):
        part = agg[agg["label"] == lab]
        off = (i - (len(labels) - 1) / 2) * step
        series.append(Series(str(lab), part["true"] + off, part["est"], part["sd"], color=i))
    blocks.append(
        Figure(
            slug(sid, "estimate-vs-true"),
            "Estimate vs true MI per level",
            plot(
                [Panel("", series)],
                xlabel="true MI (nats)",
                ylabel="estimate (nats)",
                diagonal=True,
            ),
            "Mean estimate per MI level with ±1 standard deviation over the level's "
            "instances, against the level's mean true MI (series shifted slightly "
            "sideways to stay apart); the line is the truth.",
        )  # fmt: skip
    )
    blocks.append(_published_table("level_mean", sid, "nats"))
    blocks.append(_published_table("level_var", sid, "var"))
    return blocks


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
    matched = _add_published(t, pkey, info, lambda c: int(float(c)), "pct") if pkey else []
    blocks: list[Any] = [t]
    trip = ot["triplets"]
    blocks.append(
        Note(
            f"Triplets scored per cell: {int(trip.min())}–{int(trip.max())}; a triplet counts "
            "when both members are ok, and is correct when sign(est₀ − est₁) = sign(true₀ − "
            "true₁)."
        )
    )
    if by:
        labels = list(pd.unique(df["label"]))
        colour = _colours(labels)
        series = []
        for lab in labels:
            if lab not in ot.index.get_level_values("label"):
                continue
            part = ot.xs(lab, level="label")
            series.append(
                Series(
                    str(lab), part.index.astype(float), part["accuracy"] * 100, color=colour[lab]
                )
            )
        for lab, prow in matched:
            xs = sorted(prow.values)
            series.append(
                Series(
                    f"published {prow.name}",
                    xs,
                    [prow.values[x] for x in xs],
                    color=colour[lab],
                    style="published",
                )
            )
        blocks.append(
            Figure(
                slug(sid, "order-figure"),
                f"Order accuracy per {by}",
                plot([Panel("", series)], xlabel=by, ylabel="order accuracy (%)"),
                "Dashed: the paper's figures for the matching estimator.",
            )
        )
    if pkey:
        blocks.append(_published_table(pkey, sid, "pct"))
    return blocks


def _curves(df: pd.DataFrame, info: dict, sid: str) -> list[Any]:
    ok = _ok(df)
    if ok.empty or not np.isfinite(ok["true_mi"]).any():
        return [Note("no ok cells with a true MI", "warn")]
    et = metrics.error_table(df)
    g = ok.groupby(["label", "instance_index"], sort=False)
    agg = pd.DataFrame(
        {"true": g["true_mi"].mean(), "est": g["estimate"].mean(), "sd": g["estimate"].std()}
    ).reset_index()
    wide = agg.pivot_table(index="label", columns="true", values="est", sort=True)
    wide = wide.reindex([lab for lab in pd.unique(df["label"]) if lab in wide.index])
    cols = [f"{c:.3f}" for c in wide.columns]
    t = frame_table(
        wide, slug(sid, "estimates"), "Mean estimate per instance (columns: true MI, nats)",
        "nats", head_label="estimator \\ true MI", columns=cols,
    )  # fmt: skip
    series = []
    for i, lab in enumerate(pd.unique(df["label"])):
        part = agg[agg["label"] == lab].sort_values("true")
        if part.empty:
            continue
        r = et.loc[lab]
        short = lab if len(lab) <= 28 else lab[:27] + "…"
        name = f"{short} — MAE {fmt(r['mae'], 'nats')}, {fmt(r['median_seconds'], 's')} s"
        series.append(Series(name, part["true"], part["est"], part["sd"], color=i))
    fig = Figure(
        slug(sid, "estimate-vs-true"),
        "Estimate vs true MI",
        plot([Panel("", series)], xlabel="true MI (nats)", ylabel="estimate (nats)",
             diagonal=True),
        "Mean estimate over seeds (±1 sd) per instance; the line is the truth. The legend "
        "gives each estimator's mean absolute error and median seconds per estimate.",
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
    matched = _add_published(t, "latency", info, lambda c: int(c), "s")
    colour = _colours(list(med.index))
    series = [
        Series(
            str(lab), [float(c) for c in med.columns], med.loc[lab].to_numpy(), color=colour[lab]
        )
        for lab in med.index
    ]
    for lab, prow in matched:
        xs = sorted(prow.values)
        series.append(
            Series(f"published {prow.name}", xs, [prow.values[x] for x in xs],
                   color=colour[lab], style="published")
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
    return [t, fig, _published_table("latency", sid, "s")]


def _auc(df: pd.DataFrame, info: dict, sid: str) -> list[Any]:
    if "dependent" not in df:
        return [Note("no 'dependent' column; cannot score independence tests", "warn")]
    by = [c for c in ("dependence", "d", "n_samples") if c in df]
    trial = [c for c in metrics.TRIAL_COLUMNS if c in df]
    agg = metrics.auc_table(df, by=by, trials=trial)
    if agg.empty:
        return [Note("no ok cells to score", "warn")]
    agg = agg[["auc", "trials"]]
    blocks: list[Any] = []
    if "n_samples" in by:
        wide = agg["auc"].unstack("n_samples")
        cols = [str(int(c)) for c in wide.columns]
        t = frame_table(
            wide, slug(sid, "auc"), "ROC AUC vs n (mean over trials)", "nats",
            head_label="estimator · " + " · ".join(b for b in by if b != "n_samples"),
            columns=cols,
        )  # fmt: skip
    else:
        t = frame_table(agg, slug(sid, "auc"), "ROC AUC (mean over trials)",
                        {"auc": "nats", "trials": "int"})  # fmt: skip
    t.note = (
        "AUC of the estimate as a score for dependent vs independent pairs, per trial "
        f"({' and '.join(trial) or 'all rows'}), then averaged; the paper averages ten trials "
        "of 50 dependent + 50 independent pairs."
    )
    blocks.append(t)
    if "n_samples" in by:
        labels = list(pd.unique(df["label"]))
        colour = _colours(labels)
        groups = (
            list(pd.unique(agg.index.get_level_values("dependence")))
            if "dependence" in by
            else [None]
        )
        panels = []
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
                series.append(Series(name, ns, sub["auc"], color=colour.get(lab, 0)))
            panels.append(Panel(str(dep) if dep is not None else "", series))
        blocks.append(
            Figure(
                slug(sid, "auc-figure"),
                "ROC AUC vs n",
                plot(panels, xlabel="n (log)", ylabel="ROC AUC", logx=True),
                "One panel per dependence type, one line per estimator and dimension d.",
            )
        )
    return blocks


_RESCALED_COLUMNS = {
    "count": "cells",
    "scale": "constant c",
    "spearman": "Spearman ρ",
    "rescaled_rel_error": "mean |c·est − true| / true",
}


def _rescaled(df: pd.DataFrame, info: dict, sid: str) -> list[Any]:
    keys = ["d"] if "d" in df else []
    rank = metrics.rank_table(df, by=keys)
    if rank.empty:
        return [Note("no ok cells with a true MI", "warn")]
    ok = _ok(df)
    ok = ok[np.isfinite(ok["true_mi"]) & np.isfinite(ok["estimate"])]
    labels = list(pd.unique(df["label"]))
    panels: dict[Any, Panel] = {}
    for key, row in rank.iterrows():
        key = key if isinstance(key, tuple) else (key,)
        part = ok[ok["label"] == key[0]]
        d = key[1] if len(key) > 1 else ""
        if keys:
            part = part[part["d"] == d]
        panels.setdefault(d, Panel(f"d = {d}" if d != "" else "", []))
        panels[d].series.append(
            Series(str(key[0]), part["true_mi"], row["scale"] * part["estimate"],
                   color=labels.index(key[0]), style="points")
        )  # fmt: skip
    table = rank[list(_RESCALED_COLUMNS)].rename(columns=_RESCALED_COLUMNS)
    tab = frame_table(
        table, slug(sid, "rescaled"), "Sliced MI against the truth after one constant",
        {"cells": "int", "constant c": "num", "Spearman ρ": "num",
         "mean |c·est − true| / true": "num"},
        head_label=" · ".join(["estimator", *keys]),
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
    ok = _ok(df)
    if ok.empty or not np.isfinite(ok["true_mi"]).any():
        return [Note("no ok cells with a true MI", "warn")]
    facet = [c for c in ("d", "transform", "sparse") if c in ok and ok[c].nunique() > 1]
    labels = list(pd.unique(df["label"]))
    panels = []
    groups = ok.groupby(facet, sort=False) if facet else [((), ok)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        title = ", ".join(f"{k}={v}" for k, v in zip(facet, key, strict=True))
        g = part.groupby(["label", "instance_index"], sort=False)
        agg = pd.DataFrame(
            {"true": g["true_mi"].mean(), "err": g["error"].mean(), "sd": g["error"].std()}
        ).reset_index()
        series = [Series("zero error", [agg["true"].min(), agg["true"].max()], [0, 0],
                         style="truth")]  # fmt: skip
        for lab in labels:
            p = agg[agg["label"] == lab].sort_values("true")
            if len(p):
                series.append(Series(str(lab), p["true"], p["err"], p["sd"], labels.index(lab)))
        panels.append(Panel(title, series))
    fig = Figure(
        slug(sid, "error-vs-truth"),
        "Error vs true MI",
        plot(panels, xlabel="true MI (nats)", ylabel="estimate − truth (nats)"),
        "Mean error over seeds (±1 sd) per instance.",
    )
    return [fig]


_VIEWS = {
    "levels": _levels,
    "order": _order,
    "curves": _curves,
    "latency": _latency,
    "auc": _auc,
    "rescaled": _rescaled,
    "error_vs_truth": _error_vs_truth,
}


def _task_params(df: pd.DataFrame) -> str:
    vals = [str(v) for v in pd.unique(df["task_params"].dropna())] if "task_params" in df else []
    return " | ".join(vals)


def task_sections(runs: Sequence[RunData]) -> list[Section]:
    """One section per task present in ``runs``, in order of first appearance."""
    tasks = []
    for r in runs:
        if "task" in r.df:
            tasks += [t for t in pd.unique(r.df["task"]) if t not in tasks]
    out = []
    for task in tasks:
        df, info = task_frame(str(task), runs)
        sid = slug("task", task)
        kind = _kind(str(task), df)
        section = Section(sid, f"{task}", subtitle=_task_params(df))
        try:
            section.blocks += _VIEWS[kind](df, info, sid)
        except Exception as exc:  # a broken view must not lose the rest of the report
            section.blocks.append(Note(f"could not draw the {kind} view: {exc!r}", "warn"))
        section.blocks.append(_errors_table(df, sid))
        fig = _speed_accuracy(df, sid)
        if fig is not None:
            section.blocks.append(fig)
        out.append(section)
    return out


def failures(runs: Sequence[RunData]) -> Table:
    """Every cell whose status is not ``ok``, with its message (none left out)."""
    cols = ["run", "task", "estimator", "instance", "seed", "n", "status", "message"]
    rows = []
    for r in runs:
        bad = r.df[r.df["status"] != "ok"]
        for _, x in bad.iterrows():
            inst = x.get("instance_id")
            inst = inst if isinstance(inst, str) and inst else str(x.get("instance_index"))
            msg = x.get("message")
            cells = [
                Cell(str(r.run_id)),
                Cell(str(x.get("task"))),
                Cell(str(x.get("label"))),
                Cell(inst),
                num_cell(x.get("seed"), "int"),
                num_cell(x.get("n_samples"), "int"),
                Cell(str(x.get("status")), cls=f"status-{x.get('status')}"),
                Cell("" if msg is None or (isinstance(msg, float) and np.isnan(msg)) else str(msg),
                     cls="message"),
            ]  # fmt: skip
            rows.append(Row(str(len(rows) + 1), cells, f"status-{x.get('status')}"))
    t = Table("failures", "Failed, timed-out and skipped cells", cols, rows, head_label="#")
    t.classes.append("left")
    t.note = "Every cell whose latest attempt is not ok, with its stored message."
    return t


def diff_sections(runs: Sequence[RunData], rule: DiffRule) -> list[Section]:
    """A comparison for each run that shares cells with an earlier run given."""
    out = []
    for j, new in enumerate(runs):
        for base in runs[:j]:
            cells = compare(base.df, new.df, rule)
            if cells.empty:
                continue
            out.append(_diff_section(base, new, cells, rule))
            break
    return out


def _diff_section(base: RunData, new: RunData, cells: pd.DataFrame, rule: DiffRule) -> Section:
    sid = slug("diff", base.run_id, new.run_id)
    sec = Section(sid, f"{new.run_id} vs baseline {base.run_id}")
    n_reg = int(cells["regression"].sum())
    sec.blocks.append(
        Note(
            f"{len(cells)} shared cells; {n_reg} flagged as regressions. {rule.describe()}",
            "warn" if n_reg else "",
        )
    )
    summ = summary(cells)
    t = frame_table(
        summ, slug(sid, "summary"), "Per estimator",
        {"cells": "int", "mae_base": "nats", "mae_new": "nats", "median_s_base": "s",
         "median_s_new": "s", "median_ratio": "ratio", "status_regressions": "int",
         "accuracy_regressions": "int", "speed_regressions": "int", "improvements": "int"},
        head_label="estimator",
    )  # fmt: skip
    for row in t.rows:
        for col, cell in zip(t.columns, row.cells, strict=True):
            if col.endswith("regressions") and cell.value:
                cell.cls += " bad"
            if col == "improvements" and cell.value:
                cell.cls += " good"
    sec.blocks.append(t)
    sec.blocks.append(_cell_table(cells[cells["regression"]], slug(sid, "regressions"),
                                  "Regressed cells (all)"))  # fmt: skip
    limit = 500
    shown = cells if len(cells) <= limit else cells.head(limit)
    every = _cell_table(shown, slug(sid, "cells"), f"All shared cells ({len(cells)})")
    if len(cells) > limit:
        every.note = (
            f"First {limit} of {len(cells)} shared cells; every regression is listed above."
        )
    every.classes.append("collapsed")
    sec.blocks.append(every)
    return sec


def _cell_table(cells: pd.DataFrame, id: str, title: str) -> Table:
    cols = ["instance", "seed", "true MI", "est. base", "est. new", "Δ|error|", "s base",
            "s new", "ratio", "status", "flags"]  # fmt: skip
    rows = []
    for _, c in cells.iterrows():
        flags = [
            name
            for name, col in (("status", "status_regression"), ("accuracy", "accuracy_regression"),
                              ("speed", "speed_regression"))
            if c[col]
        ]  # fmt: skip
        better = [
            name
            for name, col in (("more accurate", "accuracy_improvement"),
                              ("faster", "speed_improvement"))
            if c[col]
        ]  # fmt: skip
        d_cls = "bad" if c["accuracy_regression"] else ("good" if c["accuracy_improvement"] else "")
        s_cls = "bad" if c["speed_regression"] else ("good" if c["speed_improvement"] else "")
        status = f"{c['status_base']} → {c['status_new']}"
        cells_ = [
            Cell(str(c["instance_index"])),
            num_cell(c["seed"], "int"),
            num_cell(c.get("true_mi"), "nats"),
            num_cell(c["estimate_base"], "nats"),
            num_cell(c["estimate_new"], "nats", d_cls),
            num_cell(c["d_abs_error"], "nats", d_cls),
            num_cell(c["seconds_base"], "s"),
            num_cell(c["seconds_new"], "s", s_cls),
            num_cell(c["ratio"], "ratio", s_cls),
            Cell(status, cls="bad" if c["status_regression"] else ""),
            Cell(", ".join(flags) or ", ".join(better)),
        ]
        rows.append(Row(str(c["label"]), cells_, "regression" if flags else ""))
    return Table(id, title, cols, rows, head_label="estimator")
