"""The report's opening table: every task's estimators side by side, score and speed, and
one verdict line per group of estimators run on the same settings.

An estimator is marked best only where it is ahead of every other estimator of its
settings by more than two standard errors of the difference: the paired one on the
cells both scored where they share cells, else that of the two scores' own errors.
Otherwise the estimators within two standard errors of the top score are marked as
tied for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from harness import metrics
from harness.params import value_text
from reports.blocks import Note, Section
from reports.estimator_views import headline
from reports.frames import TaskFrame
from reports.rows import auc_groups, ok_rows
from reports.settings import SETTING_NAMES, label_settings, setting_columns, setting_texts
from reports.tables import Cell, Row, Table, fmt, num_cell, si_seconds

__all__ = ["Gap", "Standing", "overview_section", "score_gap", "standings"]

#: Columns each view draws apart itself besides the sample size and dimensions (AUC
#: per dependence, recipe and d, order accuracy per K or d): estimators are ranked
#: only among those that ran the same values of these too, besides the settings that
#: split their labels. (A level view's K, the components of each mixture, is drawn
#: per instance, not per setting.)
_DRAWN = {"auc": ("dependence", "recipe", "d"), "order": ("recipe", "d", "K"), "rescaled": ("d",)}

#: Standard errors a lead must exceed to count as one.
_Z = 2.0

#: Short name of each headline score, by view kind, for the verdict lines.
_SHORT = {"auc": "AUC", "order": "accuracy", "rescaled": "ρ"}

#: What a paired difference is over, by metric (:func:`_metric`; MAE: samples).
_PAIRED_ON = {"auc": "samples", "order": "triplets", "rescaled": "cells"}


class Gap(NamedTuple):
    """An estimator's score minus the leader's: ``difference`` ± ``se``, paired on
    ``pairs`` shared cells (triplets for order accuracy, samples for AUC and MAE);
    ``pairs`` is 0 where the two share none and ``se`` combines their own errors."""

    difference: float
    se: float
    pairs: int


def _metric(kind: str, higher: bool) -> str:
    """The headline's metric: ``"auc"``, ``"order"``, ``"rescaled"`` or ``"mae"``
    (:func:`~reports.estimator_views.headline` scores lower-is-better by MAE only)."""
    return kind if higher and kind in _SHORT else "mae"


def _mean_of_groups(values: pd.Series, errors: pd.Series) -> tuple[float, float]:
    """Mean of the finite ``values`` of independent groups and its standard error."""
    keep = np.isfinite(values.astype(float))
    if not keep.any():
        return math.nan, math.nan
    kept = values[keep].astype(float)
    return float(kept.mean()), metrics.se_of_mean(kept, errors[keep].astype(float))


def _paired(df: pd.DataFrame, metric: str, other: str, leader: str) -> Gap | None:
    """``other``'s score minus ``leader``'s on the cells both scored, with the paired
    standard error; ``None`` where they share no cell."""
    try:
        if metric == "mae":
            d = metrics.mae_difference(df, other, leader).iloc[0]
            return Gap(float(d["difference"]), float(d["difference_se"]), int(d["pairs"]))
        if metric == "order":
            by = "K" if "K" in df else "d"
            d = metrics.order_difference(df, other, leader, by=by, pooled=True).iloc[0]
            diff, se = 100 * float(d["difference"]), 100 * float(d["difference_se"])
            return Gap(diff, se, int(d["triplets"]))
        if metric == "auc":
            by, trial = auc_groups(df)
            diff = metrics.auc_difference(df, other, leader, by=by, trials=trial)
            d, se = _mean_of_groups(diff["difference"], diff["difference_se"])
            return Gap(d, se, int(diff["pairs"].sum())) if math.isfinite(d) else None
    except (KeyError, ValueError):  # no cell in common
        return None
    return None  # Spearman ρ: no paired error


def _own_error(df: pd.DataFrame, metric: str, label: str) -> float:
    """The standard error of ``label``'s headline score on its own.

    MAE: that of a mean of |error|, the seeds of one distribution one draw. Order
    accuracy: binomial, with two successes and two failures added (Agresti–Coull),
    so that 100 % of 100 triplets is not taken as certain. AUC: DeLong's, of the
    mean over cells. Spearman ρ: Fieller's approximation, (1 − ρ²)·sqrt(1.06 /
    (n − 3)), of the mean over cells.
    """
    rows = df[df["label"] == label]
    if metric == "mae":
        ok = ok_rows(rows)
        ok = ok.assign(abs_error=ok["error"].astype(float).abs())
        se = metrics.mean_se(ok[np.isfinite(ok["abs_error"])], "abs_error")
        return float(se.iloc[0]) if len(se) else math.nan
    if metric == "order":
        by = "K" if "K" in df else "d"
        ot = metrics.order_table(rows, by=by)
        k, n = float(ot["correct"].sum()), float(ot["triplets"].sum())
        p = (k + 2) / (n + 4)
        return 100 * math.sqrt(p * (1 - p) / (n + 4))
    if metric == "auc":
        by, trial = auc_groups(df)
        at = metrics.auc_table(rows, by=by, trials=trial)
        return _mean_of_groups(at["auc"], at["auc_se"])[1]
    rt = metrics.rank_table(rows)
    rho, n = rt["spearman"].astype(float), rt["count"].astype(float)
    se = ((1 - rho**2) * np.sqrt(1.06 / (n - 3))).where(n > 3)
    return _mean_of_groups(rho, se)[1]


def score_gap(
    df: pd.DataFrame, kind: str, higher: bool, other: str, leader: str, score: pd.Series
) -> Gap:
    """``other``'s headline score minus ``leader``'s (:func:`~reports.estimator_views.
    headline` of view ``kind``), paired on the cells both scored where they share
    some, else the two scores' difference with their own errors combined."""
    metric = _metric(kind, higher)
    pair = df[df["label"].isin([other, leader])]
    paired = _paired(pair, metric, other, leader)
    if paired is not None:
        return paired
    se = math.hypot(_own_error(pair, metric, other), _own_error(pair, metric, leader))
    return Gap(float(score[other] - score[leader]), se, 0)


class Standing(NamedTuple):
    """A label's place among the labels run on the same settings: ``mark`` is
    ``"best"``, ``"tied"`` (within two standard errors of the top score, which
    ``leader`` holds) or ``""``; ``gap`` its score minus the leader's (``None`` for
    the leader itself); ``group`` the labels ranked together."""

    mark: str
    leader: str
    gap: Gap | None
    group: tuple[str, ...]


def _setting_columns(df: pd.DataFrame, task: str, kind: str) -> list[str]:
    """The columns whose values tell the settings of ``task``'s ok rows apart: those
    view ``kind`` draws apart itself (:data:`_DRAWN`) and
    :func:`~reports.settings.setting_columns`, each where it sets rows apart further
    than the columns before it."""
    return setting_columns(task, "", ok_rows(df), first=_DRAWN.get(kind, ()))


def _groups(df: pd.DataFrame, task: str, kind: str) -> dict[str, tuple]:
    """``label -> key``: labels ranked together share a key, their setting
    (:func:`~reports.settings.label_settings`) and the set of every setting their
    ok rows ran (:func:`_setting_columns`)."""
    named = label_settings(df)
    ok = ok_rows(df)
    texts = setting_texts(ok, _setting_columns(df, task, kind))
    return {
        str(lab): (named[str(lab)][1], frozenset(texts[rows.index]))
        for lab, rows in ok.groupby("label", sort=False)
    }


def _values_text(values: pd.Series) -> str:
    """A column's values in a group: ``isotropic``, ``2/6/10``, ``2…10`` (more than
    three numbers)."""
    vals = sorted(pd.unique(values.dropna()), key=lambda v: (isinstance(v, str), v))
    if len(vals) > 3 and all(isinstance(v, (int, float, np.number)) for v in vals):
        return f"{value_text(vals[0])}…{value_text(vals[-1])}"
    return "/".join(value_text(v) for v in vals)


def _group_names(
    df: pd.DataFrame, task: str, kind: str, groups: Sequence[tuple[str, ...]]
) -> list[str]:
    """What sets each group of labels apart from the other groups of their label
    setting: ``recipe=isotropic, d=2…10`` (``""`` for a group alone in its setting;
    ``among ksg, kde`` where no one column's values set it apart)."""
    named = label_settings(df)
    ok = ok_rows(df)
    columns = _setting_columns(df, task, kind)
    texts = [{c: _values_text(ok.loc[ok["label"].isin(g), c]) for c in columns} for g in groups]
    out = []
    for g, text in zip(groups, texts, strict=True):
        same = [h != g and named[h[0]][1] == named[g[0]][1] for h in groups]
        rivals = [t for t, rival in zip(texts, same, strict=True) if rival]
        differ = [c for c in columns if any(t[c] != text[c] for t in rivals)]
        words = ", ".join(f"{SETTING_NAMES.get(c, c)}={text[c]}" for c in differ)
        out.append((words or f"among {', '.join(g)}") if rivals else "")
    return out


def standings(
    df: pd.DataFrame, task: str, kind: str, score: pd.Series, higher: bool
) -> dict[str, Standing]:
    """Each ranked label's :class:`Standing` among the labels of its settings
    (:func:`_groups`) with a finite ``score``; labels alone in theirs are left out.

    The top score leads; it is ``"best"`` where it is ahead of every other label
    of the group by more than two standard errors of :func:`score_gap`, else it and
    every label not behind it by that much are ``"tied"``.
    """
    keys = _groups(df, task, kind)
    finite = [lab for lab in map(str, score.index) if lab in keys and np.isfinite(score[lab])]
    by_key: dict[tuple, list[str]] = {}
    for lab in finite:
        by_key.setdefault(keys[lab], []).append(lab)
    out = {}
    for labels in by_key.values():
        if len(labels) < 2:
            continue
        ordered = sorted(labels, key=lambda lab: -score[lab] if higher else score[lab])
        leader, group = ordered[0], tuple(labels)
        gaps = {lab: score_gap(df, kind, higher, lab, leader, score) for lab in ordered[1:]}
        behind = {
            lab: math.isfinite(g.se) and (-g.difference if higher else g.difference) > _Z * g.se
            for lab, g in gaps.items()
        }
        top = "best" if all(behind.values()) else "tied"
        out[leader] = Standing(top, leader, None, group)
        for lab, g in gaps.items():
            out[lab] = Standing("" if behind[lab] else "tied", leader, g, group)
    return out


class _Scores(NamedTuple):
    """A task's headline scores and speeds, as the overview words them."""

    score: pd.Series  # per label
    seconds: pd.Series  # median seconds per label
    kind: str  # format kind (:func:`~reports.tables.fmt`)
    metric: str  # :func:`_metric`
    higher: bool  # whether higher scores are better

    @property
    def short(self) -> str:
        """``MAE``, ``accuracy``, ``AUC``, ``ρ``."""
        return _SHORT.get(self.metric, "MAE")

    def value(self, label: str) -> str:
        """``MAE 0.0191 nats``, ``accuracy 98.6 %``, ``AUC 0.749``."""
        unit = {"mae": " nats", "order": " %"}.get(self.metric, "")
        return f"{self.short} {fmt(self.score[label], self.kind)}{unit}"

    def gap(self, gap: Gap) -> str:
        """``+0.0037 ± 0.0026`` in the score's format."""
        return f"{fmt(gap.difference, '+' + self.kind)} ± {fmt(gap.se, self.kind)}"


def _gap_title(lab: str, s: Standing, scores: _Scores) -> str:
    """The tooltip of a gap: what it is over and what it means."""
    assert s.gap is not None
    over = (
        f"on the {s.gap.pairs} {_PAIRED_ON.get(scores.metric, 'samples')} both scored, ± the "
        "paired standard error"
        if s.gap.pairs
        else "± the two scores' own standard errors combined (no cell in common)"
    )
    verdict = (
        "within two standard errors: tied for the top score"
        if s.mark == "tied"
        else "behind by more than two standard errors"
    )
    return f"{lab}'s {scores.short} minus {s.leader}'s, {over}: {verdict}."


def _score_title(lab: str, marks: dict[str, Standing]) -> str:
    """The tooltip of a marked score: best, or tied with whom."""
    s = marks[lab]
    others = [o for o in s.group if o != lab]
    if s.mark == "best":
        return (
            f"best: ahead of {', '.join(others)} by more than two standard errors of the difference"
        )
    tied = [o for o in others if marks[o].mark == "tied"]
    return (
        f"tied for the top score with {', '.join(tied)}: no difference beyond two standard errors"
    )


def _verdict(
    where: str,
    labels: Sequence[str],
    marks: dict[str, Standing],
    scores: _Scores,
    names: dict[str, str],
) -> str:
    """One line: the most accurate of ``labels`` (or those tied for it, with their
    gaps to it) and the fastest, each label shown as ``names`` has it."""
    leader = marks[labels[0]].leader
    top = f"{names[leader]} ({scores.value(leader)})"
    tied = [lab for lab in labels if lab != leader and marks[lab].mark == "tied"]
    if tied:
        rest = ", ".join(f"{names[lab]} {scores.gap(marks[lab].gap)}" for lab in tied)
        accurate = f"tied: {top}, {rest} (within two standard errors)"
    else:
        sign = -1.0 if scores.higher else 1.0
        nxt = min(
            (lab for lab in labels if lab != leader), key=lambda lab: sign * scores.score[lab]
        )
        accurate = f"{top}; next {names[nxt]} {scores.gap(marks[nxt].gap)}"
    timed = scores.seconds[list(labels)].astype(float)
    timed = timed[np.isfinite(timed) & (timed > 0)].sort_values(kind="stable")
    fastest = ""
    if len(timed):
        first, *rest_ = timed.index
        fastest = f" · fastest: {names[first]} {si_seconds(timed[first])}"
        if rest_:
            fastest += f" (next {names[rest_[0]]} {si_seconds(timed[rest_[0]])})"
    return f"{where} — most accurate: {accurate}{fastest}"


def overview_section(frames: Sequence[TaskFrame]) -> Section | None:
    """One row per task and estimator: the task's headline score (what its section
    plots against speed, its direction marked ↑ or ↓), its gap to the top score of
    the estimators run on the same settings (:func:`standings`), cells ok and median
    seconds; the best score, or those tied for it, marked; then one verdict line per
    group of estimators run on the same settings.

    ``None`` when no task has an ok cell.
    """
    rows: list[Row] = []
    verdicts: list[Note] = []
    for task, df, _, kind in frames:
        if df.empty or not (df["status"] == "ok").any():
            continue
        et = metrics.error_table(df)
        et.index = et.index.map(str)
        score, what, higher, score_kind = headline(df, kind, et)
        score = score.reindex(et.index).astype(float)
        scores = _Scores(
            score, et["median_seconds"].astype(float), score_kind, _metric(kind, higher), higher
        )
        marks = standings(df, task, kind, score, higher)
        for lab in et.index:
            rows.append(_row(task, lab, et, marks, scores, f"{what} {'↑' if higher else '↓'}"))
        verdicts += _verdicts(task, kind, df, marks, scores)
    if not rows:
        return None
    table = Table(
        "overview-table",
        "Score and speed per task",
        ["metric", "score", "vs top", "ok / cells", "median seconds"],
        rows,
        head_label="task · estimator",
        note="Each task's headline score, the one its section plots against speed (mean "
        "ROC AUC for independence tests, order accuracy, Spearman ρ, else mean absolute "
        "error in nats; ↑: higher is better, ↓: lower), over ok cells. Estimators are "
        "ranked among those run on the same settings (sample sizes, dimensions, "
        "dependence types, …): vs top is each one's score minus the top one's, paired on "
        "the cells both scored where they share some (± the paired standard error), else "
        "± the two scores' own standard errors combined. Green: the best, ahead of every "
        "other by more than two standard errors; where none is, the top score and those "
        "within two standard errors of it, tied. Median seconds per estimate (a batched "
        "cell counts its batch's time divided by the batch size).",
    )
    return Section("overview", "Overview", [table, *verdicts])


def _row(
    task: str, lab: str, et: pd.DataFrame, marks: dict[str, Standing], scores: _Scores, what: str
) -> Row:
    """The overview row of label ``lab`` of ``task``."""
    s = marks.get(lab)
    value = num_cell(scores.score[lab], scores.kind)
    gap = Cell("")
    if s is not None and s.mark:
        value.cls += " good"
        value.title = _score_title(lab, marks)
    if s is not None and s.gap is not None:
        gap = num_cell(s.gap.difference, "+" + scores.kind, "good" if s.mark else "")
        gap.error = s.gap.se
        gap.text = scores.gap(s.gap)
        gap.title = _gap_title(lab, s, scores)
    elif s is not None:
        gap = Cell(s.mark, cls="num good", title=_score_title(lab, marks))
    return Row(
        f"{task} · {lab}",
        [
            Cell(what),
            value,
            gap,
            Cell(f"{int(et.at[lab, 'ok'])} / {int(et.at[lab, 'cells'])}", cls="num"),
            num_cell(et.at[lab, "median_seconds"], "s"),
        ],
    )


def _verdicts(
    task: str, kind: str, df: pd.DataFrame, marks: dict[str, Standing], scores: _Scores
) -> list[Note]:
    """One verdict line per group of labels ranked together, named by its setting and
    by what sets it apart from the other groups of that setting; then the labels that
    no other ran the settings of, where there are others."""
    named = label_settings(df)
    groups = list(dict.fromkeys(s.group for s in marks.values()))
    out = []
    for group, apart in zip(groups, _group_names(df, task, kind, groups), strict=True):
        setting = ", ".join(t for t in (named[group[0]][1], apart) if t)
        # labels without the setting the line already names (``ksg`` for ``ksg · n=50``)
        names = {lab: named[lab][0] if named[lab][1] else lab for lab in group}
        where = f"{task} · {setting}" if setting else task
        out.append(Note(_verdict(where, group, marks, scores, names), "verdict"))
    finite = [lab for lab in scores.score.index if np.isfinite(scores.score[lab])]
    alone = [lab for lab in finite if lab not in marks]
    if alone and len(finite) > 1:
        out.append(
            Note(
                f"{task} — not ranked: {', '.join(alone)} (no other estimator ran the same "
                "settings: sample sizes, dimensions, dependence types, …)",
                "verdict",
            )
        )
    return out
