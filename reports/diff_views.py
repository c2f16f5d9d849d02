"""The comparison sections: each run against the earlier run it shares cells with.

The verdict of a section is that of ``python -m harness compare`` on the same
two runs (:func:`harness.compare.compare`, default tolerances); the cells
flagged by :class:`~reports.diff.DiffRule` show where the runs differ, and
count as regressions only as far as that verdict does
(:func:`~reports.diff.gate_regressions`). A run is paired on its own rows, not on
those it repeats from an earlier file with the same result
(:func:`~reports.diff.repeated`), as the tables count those once: a run and its
exact copy, or an export and the stored run it came from, are not compared.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from harness.compare import Comparison
from harness.compare import compare as gate
from harness.interface import InputError
from reports.blocks import Note, Section
from reports.data import RunData
from reports.diff import (
    DiffRule,
    baselines,
    cell_keys,
    compare,
    gate_regressions,
    repeated,
    summary,
)
from reports.tables import Cell, Row, Table, frame_table, num_cell, slug

__all__ = ["diff_sections", "gate_verdict"]

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
    "order accuracy": "auc",
    "roc auc": "auc",
    "spearman": "auc",
    "median seconds": "s",
}


def _metric_kind(metric: str) -> str:
    """The format kind of a gate metric: speed ratios (``seconds / ksg seconds``) as ratios."""
    return _METRIC_KINDS.get(metric) or ("ratio" if metric.startswith("seconds / ") else "num")


def diff_sections(runs: Sequence[RunData], rule: DiffRule) -> list[Section]:
    """A comparison for each run that shares cells with an earlier run given: the first
    such run is its baseline.

    Each run's cell keys are computed once and indexed (:func:`reports.diff.baselines`),
    so only runs that share cells are compared. A run is paired on its own cells: its
    rows that repeat an earlier file's with the same result
    (:func:`reports.diff.repeated`) count once, there, as in the tables, so a run whose
    every row repeats earlier files' gets no section and is no baseline. Paired runs
    are compared whole, as ``python -m harness compare`` compares them.
    """
    if len(runs) < 2:
        return []
    keys = [cell_keys(run.df) for run in runs]
    own = [run_keys[fresh] for run_keys, fresh in zip(keys, _own_rows(runs, keys), strict=True)]
    out = []
    for j, i in enumerate(baselines(own)):
        if i is None:
            continue
        base, new = runs[i], runs[j]
        cells = compare(base.df, new.df, rule, keys=(keys[i], keys[j]))
        out.append(_diff_section(base, new, cells, rule))
    return out


def _own_rows(runs: Sequence[RunData], keys: Sequence[pd.Series]) -> list[np.ndarray]:
    """For each run, its rows that repeat no earlier file's (:func:`reports.diff.repeated`).

    A repeated row holds a cell that an earlier run holds too, so only the rows whose
    cell key (``keys``: :func:`reports.diff.cell_keys`) several runs hold are looked at.
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


def _diff_section(base: RunData, new: RunData, cells: pd.DataFrame, rule: DiffRule) -> Section:
    sid = slug("diff", base.run_id, new.run_id)
    sec = Section(sid, f"{new.run_id} vs baseline {base.run_id}")
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
    sec.blocks.append(_verdict(base, new, cells, rule, result))
    sec.blocks.append(_gate_table(base, new, sid, result))
    sec.blocks.append(_summary_table(cells, sid))
    flagged = cells[cells["status_regression"] | cells["less_accurate"] | cells["slower"]]
    sec.blocks.append(_cell_table(flagged, slug(sid, "flagged"), "Flagged cells (all)"))
    limit = 500
    shown = cells if len(cells) <= limit else cells.head(limit)
    every = _cell_table(shown, slug(sid, "cells"), f"All shared cells ({len(cells)})")
    if len(cells) > limit:
        every.note = f"First {limit} of {len(cells)} shared cells; every flagged cell is above."
    every.classes.append("collapsed")
    sec.blocks.append(every)
    return sec


def gate_verdict(result: Comparison) -> str:
    """The verdict line ``python -m harness compare`` prints for ``result`` (its last)."""
    return result.format(only_regressions=True).rsplit("\n\n", 1)[-1]


def _verdict(
    base: RunData, new: RunData, cells: pd.DataFrame, rule: DiffRule, result: Comparison | str
) -> Note:
    """The section's verdict (harness compare's), then what the cell rules flagged."""
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
    text = (
        f"{head} Of the {len(cells)} shared cells: {counts}; {n_reg} of them "
        f"regression{'' if n_reg == 1 else 's'} {by}, the rest informational. "
        f"{rule.describe()}"
    )
    return Note(text, "warn" if bad else "")


def _summary_table(cells: pd.DataFrame, sid: str) -> Table:
    """Per-estimator totals (:func:`reports.diff.summary`) under human headers."""
    summ = summary(cells)
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
    t.note = (
        "MAE and median seconds per estimate over the cells ok in both runs; counts of "
        "cells flagged by the rules below, and of those that are regressions by the verdict."
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
        kind = _metric_kind(str(c["metric"]))
        cells = [
            Cell(str(c["task"])),
            Cell(str(c["metric"])),
            Cell(str(c["scope"])),
            num_cell(c["baseline"], kind),
            num_cell(c["candidate"], kind),
            num_cell(c["change"], "+" + kind, cls),
            Cell(str(c["allowed"])),
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
    return t


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


def _cell_table(cells: pd.DataFrame, id: str, title: str) -> Table:
    cols = ["instance", "seed", "true MI", "est. base", "est. new", "Δ|error|", "s base",
            "s new", "ratio", "status", "flags"]  # fmt: skip
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
    t = Table(id, title, cols, rows, head_label="estimator")
    t.format_groups = [("s base", "s new")]
    return t
