"""The comparison sections: each run against the earlier run it shares cells with.

The verdict of a section is that of ``python -m harness compare`` on the same
two runs (:func:`harness.compare.compare`, default tolerances); the cells
flagged by :class:`~reports.diff.DiffRule` show where the runs differ, and
count as regressions only as far as that verdict does
(:func:`~reports.diff.gate_regressions`). A run is paired on its own rows, not on
those it repeats from an earlier file with the same result
(:func:`~reports.diff.repeated`), as the tables count those once: a run and its
exact copy, or an export and the stored run it came from, are not compared.

Of two runs the earlier is the baseline: runs are taken in the order of their
start (:func:`run_started`: the run record's ``created``, else its first cell's
``finished_at``, else its first session's start), those without one keeping
their place in the report's arguments. A section lists every flagged cell and the
first :data:`SHARED_SHOWN` others; for tasks whose estimates are scores
(:data:`~reports.view_kinds.SCORE_VIEWS`) it shows no errors.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from harness.compare import Comparison, Tolerances
from harness.compare import compare as gate
from harness.interface import InputError
from harness.matching import matching_keys
from reports.blocks import Note, Section
from reports.data import RunData, timestamp
from reports.diff import (
    DiffRule,
    baselines,
    compare,
    gate_regressions,
    repeated,
    summary,
)
from reports.tables import Cell, Row, Table, frame_table, num_cell, slug
from reports.view_kinds import SCORE_VIEWS, view_kind

__all__ = ["SHARED_SHOWN", "diff_sections", "gate_verdict", "run_order", "run_started"]

#: Unflagged shared cells a comparison lists (every flagged cell is listed).
SHARED_SHOWN = 20

#: Columns of the per-estimator table that are errors against the true MI.
_ERROR_COLUMNS = ("mae_base", "mae_new")

#: Columns of :func:`reports.diff.summary`: header and format kind.
_SUMMARY_COLUMNS = {
    "cells": ("cells", "int"),
    "mae_base": ("MAE base", "nats"),
    "mae_new": ("MAE new", "nats"),
    "median_s_base": ("median s base", "s"),
    "median_s_new": ("median s new", "s"),
    "median_ratio": ("median ratio", "ratio"),
    "lost": ("lost", "int"),
    "less_accurate": ("less accurate", "int"),
    "slower": ("slower", "int"),
    "improved": ("improved", "int"),
    "regressions": ("regressions", "int"),
}

#: Format kind of each metric of the gate's checks (else a ratio of seconds).
_METRIC_KINDS = {
    "mae": "nats",
    "|mean error|": "nats",
    "order accuracy": "pct",
    "roc auc": "auc",
    "spearman": "auc",
    "median seconds": "s",
}


def _metric_kind(metric: str) -> str:
    """The format kind of a gate metric: speed ratios (``seconds / ksg seconds``) as ratios."""
    return _METRIC_KINDS.get(metric) or ("ratio" if metric.startswith("seconds / ") else "num")


def diff_sections(runs: Sequence[RunData], rule: DiffRule) -> list[Section]:
    """A comparison for each run that shares cells with an earlier run: the first such
    run is its baseline, runs taken in the order they started (:func:`run_order`).

    Each run's cell keys are computed once and indexed (:func:`reports.diff.baselines`),
    so only runs that share cells are compared. A run is paired on its own cells: its
    rows that repeat an earlier file's with the same result
    (:func:`reports.diff.repeated`, in the report's order, as the tables count them)
    count once, there, so a run whose every row repeats earlier files' gets no section
    and is no baseline. Paired runs are compared whole, as ``python -m harness
    compare`` compares them.
    """
    if len(runs) < 2:
        return []
    keys = [matching_keys(run.df) for run in runs]
    own = [run_keys[fresh] for run_keys, fresh in zip(keys, _own_rows(runs, keys), strict=True)]
    starts = [run_started(run) for run in runs]
    order = run_order(starts)
    out = []
    for j, i in enumerate(baselines([own[k] for k in order])):
        if i is None:
            continue
        b, n = order[i], order[j]
        cells = compare(runs[b].df, runs[n].df, rule, keys=(keys[b], keys[n]))
        out.append(_diff_section(runs[b], runs[n], cells, rule, (starts[b], starts[n])))
    return out


def run_started(run: RunData) -> pd.Timestamp | None:
    """When ``run`` started: its record's ``created``, else the earliest ``finished_at``
    of its rows, else its first session's ``started``; None when nothing says."""
    candidates = [(run.record or {}).get("created")]
    if "finished_at" in run.df:
        candidates.append(_earliest(run.df["finished_at"]))
    candidates.append(_earliest(pd.Series([s.get("started") for s in run.sessions], dtype=object)))
    for value in candidates:
        when = timestamp(value)
        if when is not None:
            return when
    return None


def _earliest(values: pd.Series) -> str | None:
    """The earliest of stored times (ISO 8601 text in UTC, which sorts as it reads)."""
    texts = values.dropna().astype(str)
    texts = texts[texts != ""]
    return None if texts.empty else str(texts.min())


def run_order(starts: Sequence[pd.Timestamp | None]) -> list[int]:
    """Positions of runs in the order they started: the runs with a start (``starts``)
    fill the places such runs hold in the report's order, earliest first (ties keep
    that order); a run without one stays where it is."""
    known = [i for i, when in enumerate(starts) if when is not None]
    by_time = sorted(known, key=lambda i: (starts[i], i))
    order = list(range(len(starts)))
    for place, i in zip(known, by_time, strict=True):
        order[place] = i
    return order


def _own_rows(runs: Sequence[RunData], keys: Sequence[pd.Series]) -> list[np.ndarray]:
    """For each run, its rows that repeat no earlier file's (:func:`reports.diff.repeated`).

    A repeated row holds a cell that an earlier run holds too, so only the rows whose
    cell key (``keys``: :func:`harness.matching.matching_keys`) several runs hold are looked at.
    """
    holders = Counter(k for run_keys in keys for k in set(run_keys))
    several = [run_keys.map(holders).to_numpy() > 1 for run_keys in keys]
    own = [np.ones(len(run.df), dtype=bool) for run in runs]
    if not any(s.any() for s in several):
        return own
    marks = repeated([run.df[s] for run, s in zip(runs, several, strict=True)])
    for o, s, m in zip(own, several, marks, strict=True):
        o[np.flatnonzero(s)[m]] = False
    return own


def _diff_section(
    base: RunData,
    new: RunData,
    cells: pd.DataFrame,
    rule: DiffRule,
    starts: tuple[pd.Timestamp | None, pd.Timestamp | None] = (None, None),
) -> Section:
    sid = slug("diff", base.run_id, new.run_id)
    sec = Section(sid, f"{new.run_id} vs baseline {base.run_id}")
    scores = _score_tasks(new, cells)
    # a report compares what both runs hold: an estimator run in only one of them is
    # not "lost" (the CI gate, given two runs of one grid, counts it as lost)
    shared = set(base.df["label"]) & set(new.df["label"])
    try:
        result: Comparison | str = gate(
            base.df[base.df["label"].isin(shared)], new.df[new.df["label"].isin(shared)]
        )
    except InputError as exc:
        result = str(exc)
    if isinstance(result, Comparison):
        cells = cells.assign(regression=gate_regressions(cells, result.checks))
    sec.blocks.append(_verdict(base, new, cells, rule, result, starts))
    sec.blocks.append(_gate_table(base, new, sid, result))
    sec.blocks.append(_summary_table(cells, sid, scores))
    is_flagged = cells["status_regression"] | cells["less_accurate"] | cells["slower"]
    flagged = cells[is_flagged]
    title = f"Flagged cells (all {len(flagged)})"
    sec.blocks.append(_cell_table(flagged, slug(sid, "flagged"), title, scores))
    others = cells[~is_flagged]
    shown = others.head(SHARED_SHOWN)
    title = (
        f"Other shared cells ({len(others)})"
        if len(others) <= SHARED_SHOWN
        else f"Other shared cells: the first {len(shown)} of {len(others)}"
    )
    every = _cell_table(shown, slug(sid, "cells"), title, scores)
    if len(others) > len(shown):
        every.note = (
            f"{len(others) - len(shown)} unflagged cells left out; every flagged cell is "
            f"listed above. `python -m harness compare {base.run_id} {new.run_id}` checks "
            "them all."
        )
    every.classes.append("collapsed")
    sec.blocks.append(every)
    # nothing to look at: the heading and the verdict until opened
    regressed = result.regressed if isinstance(result, Comparison) else True
    if not regressed and flagged.empty:
        improved = int((cells["more_accurate"] | cells["faster"]).sum())
        sec.collapsed = True
        sec.summary = f"ok: no regression; none of {len(cells)} shared cells flagged" + (
            f", {improved} improved" if improved else ""
        )
    return sec


def _score_tasks(new: RunData, cells: pd.DataFrame) -> set[str]:
    """The tasks of ``cells`` whose estimates are scores (:data:`SCORE_VIEWS`), not
    estimates of the true MI: their errors mean nothing."""
    if cells.empty or "task" not in cells:
        return set()
    tasks = set(cells["task"].astype(str))
    rows = new.df[new.df["task"].astype(str).isin(tasks)]
    return {
        str(task)
        for task, part in rows.groupby(rows["task"].astype(str), sort=False)
        if view_kind(str(task), part) in SCORE_VIEWS
    }


def _when(start: pd.Timestamp | None) -> str:
    return "no start recorded" if start is None else f"started {start:%Y-%m-%d %H:%M} UTC"


def gate_verdict(result: Comparison) -> str:
    """The verdict line ``python -m harness compare`` prints for ``result`` (its last)."""
    return result.format(only_regressions=True).rsplit("\n\n", 1)[-1]


def _verdict(
    base: RunData,
    new: RunData,
    cells: pd.DataFrame,
    rule: DiffRule,
    result: Comparison | str,
    starts: tuple[pd.Timestamp | None, pd.Timestamp | None] = (None, None),
) -> Note:
    """The section's verdict (harness compare's), then what the cell rules flagged and
    why ``base`` is the baseline."""
    if isinstance(result, Comparison):
        head = f"harness compare {base.run_id} {new.run_id}: {gate_verdict(result)}."
        bad = result.regressed
        by = "by this verdict"
    else:
        head = f"harness compare could not check these runs ({result})."
        bad = bool(cells["regression"].any())
        by = "(lost or less accurate)"
    counts = ", ".join(
        f"{int(cells[col].sum())} {name}"
        for col, name in (("status_regression", "lost"), ("less_accurate", "less accurate"),
                          ("slower", "slower"))
    )  # fmt: skip
    n_reg = int(cells["regression"].sum())
    if all(s is not None for s in starts):
        why = f"the earlier run ({_when(starts[0])}; {new.run_id} {_when(starts[1])})"
    else:
        why = "the earlier in the report's arguments (no start recorded for both runs)"
    text = (
        f"{head} Of the {len(cells)} shared cells: {counts}; {n_reg} of them "
        f"regression{'' if n_reg == 1 else 's'} {by}, the rest informational "
        f"(rules above, at {rule.tolerance:g} nats, {rule.slowdown:g}× and "
        f"{rule.min_seconds:g} s). The baseline {base.run_id} is {why}."
    )
    return Note(text, "warn" if bad else "")


def _summary_table(cells: pd.DataFrame, sid: str, scores: set[str] = frozenset()) -> Table:
    """Per-estimator totals (:func:`reports.diff.summary`) under human headers; the MAE
    over the cells of tasks that estimate the MI only, none where every task's
    estimates are scores (``scores``)."""
    if "task" in cells:
        score = cells["task"].astype(str).isin(scores)
    else:
        score = pd.Series(False, index=cells.index)
    errors = ("abs_error_base", "abs_error_new")
    summ = summary(cells.assign(**{c: cells[c].where(~score) for c in errors}))
    if score.all():
        summ = summ.drop(columns=list(_ERROR_COLUMNS))
    heads = [_SUMMARY_COLUMNS[c] for c in summ.columns]
    t = frame_table(
        summ, slug(sid, "summary"), "Per estimator", dict(heads), head_label="estimator",
        columns=[head for head, _ in heads],
    )  # fmt: skip
    t.format_groups = [("median s base", "median s new")]
    for row in t.rows:
        for col, cell in zip(t.columns, row.cells, strict=True):
            if col in ("lost", "regressions") and cell.value:
                cell.cls += " bad"
            if col == "improved" and cell.value:
                cell.cls += " good"
    mae = "Median seconds" if score.all() else "MAE and median seconds"
    scored = (
        f"; the MAE leaves out {', '.join(sorted(scores))}, whose estimates are scores"
        if scores and not score.all()
        else ""
    )
    t.note = (
        f"{mae} per estimate over the cells ok in both runs{scored}; counts of cells "
        "flagged by the rules below, and of those that are regressions by the verdict."
    )
    return t


def _gate_table(base: RunData, new: RunData, sid: str, result: Comparison | str) -> Table | Note:
    """The metric checks ``python -m harness compare`` runs on the two runs, and its verdict."""
    if not isinstance(result, Comparison):
        return Note(f"harness compare could not check these runs: {result}", "warn")
    cols = ["task", "metric", "scope", "baseline", "new", "change", "allowed", "verdict"]
    rows = []
    for _, c in result.checks.iterrows():
        verdict = "REGRESSED" if c["regressed"] else ("ok" if c["gated"] else "reported")
        cls = "bad" if c["regressed"] else ""
        metric, kind, base_v, new_v, change, allowed = _shown(c, result.tolerances)
        cells = [
            Cell(str(c["task"])),
            Cell(metric),
            Cell(str(c["scope"])),
            num_cell(base_v, kind),
            num_cell(new_v, kind),
            num_cell(change, "+" + kind, cls),
            Cell(allowed),
            Cell(verdict, cls=cls),
        ]
        rows.append(Row(str(c["estimator"]), cells, "regression" if c["regressed"] else ""))
    n_bad, lost = len(result.regressions), len(result.cells)
    verdict = (
        f"{n_bad} metric(s) and {lost} cell(s) worse than the baseline beyond the tolerances"
        if result.regressed
        else "no regression beyond the tolerances"
    )
    t = Table(
        slug(sid, "gate"), "Metric checks (harness compare)", cols, rows, head_label="estimator"
    )
    t.format_groups = [("baseline", "new", "change")]
    t.note = (
        f"What `python -m harness compare {base.run_id} {new.run_id}` checks, with its default "
        f"tolerances, over the {result.matched} cells both runs hold: {verdict}. Metrics are "
        "computed on the cells ok in both runs; latency is gated only as a ratio to KSG's in "
        "the same run."
    )
    if (result.checks["metric"] == "order accuracy").any():
        t.note += " Order accuracy is shown in percent (compare prints it as a fraction)."
    return t


def _shown(c: Mapping[str, Any], tol: Tolerances) -> tuple[str, str, Any, Any, Any, str]:
    """Metric name, format kind, baseline, new value, change and allowed change of
    one of ``compare``'s checks as the gate table shows them: order accuracy, a
    fraction in ``compare``, in percent and points, as the report's other tables
    show accuracy."""
    metric = str(c["metric"])
    kind = _metric_kind(metric)
    if kind != "pct":
        return metric, kind, c["baseline"], c["candidate"], c["change"], str(c["allowed"])
    base, new = 100 * c["baseline"], 100 * c["candidate"]
    allowed = f">= -{100 * tol.order_accuracy:g} points"
    return f"{metric} (%)", kind, base, new, new - base, allowed


def _flags(c: Mapping[str, Any]) -> str:
    """What the rules flagged in cell ``c`` (else what improved); "(informational)" after
    flags the verdict does not count as a regression."""
    flags = [
        name
        for name, col in (("lost", "status_regression"), ("less accurate", "less_accurate"),
                          ("slower", "slower"))
        if c[col]
    ]  # fmt: skip
    if flags:
        return ", ".join(flags) + ("" if c["regression"] else " (informational)")
    better = [name for name, col in (("more accurate", "more_accurate"), ("faster", "faster"))
              if c[col]]  # fmt: skip
    return ", ".join(better)


def _cell_table(cells: pd.DataFrame, id: str, title: str, scores: set[str] = frozenset()) -> Table:
    """Cells of a comparison, one row each; no "true MI" and "Δ|error|" columns where
    every cell's task estimates scores (``scores``)."""
    cols = ["instance", "seed", "true MI", "est. base", "est. new", "Δ|error|", "s base",
            "s new", "ratio", "status", "flags"]  # fmt: skip
    only_scores = bool(scores) and bool(len(cells)) and cells["task"].astype(str).isin(scores).all()
    rows = []
    for c in cells.to_dict("records"):  # plain dicts: far cheaper than iterrows' Series
        shown = "bad" if c["regression"] else "info"
        d_cls = shown if c["less_accurate"] else ("good" if c["more_accurate"] else "")
        s_cls = shown if c["slower"] else ("good" if c["faster"] else "")
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
            Cell(_flags(c)),
        ]
        rows.append(Row(str(c["label"]), cells_, "regression" if c["regression"] else ""))
    if only_scores:
        drop = {cols.index("true MI"), cols.index("Δ|error|")}
        cols = [c for i, c in enumerate(cols) if i not in drop]
        for row in rows:
            row.cells = [c for i, c in enumerate(row.cells) if i not in drop]
        cols[cols.index("est. base")] = "score base"
        cols[cols.index("est. new")] = "score new"
    t = Table(id, title, cols, rows, head_label="estimator")
    t.format_groups = [("s base", "s new")]
    return t
