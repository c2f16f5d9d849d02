"""The comparison sections: each run against the earlier run it shares cells with."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from harness.compare import compare as gate
from harness.interface import InputError
from reports.blocks import Note, Section
from reports.data import RunData
from reports.diff import DiffRule, compare, summary
from reports.tables import Cell, Row, Table, frame_table, num_cell, slug

__all__ = ["diff_sections"]


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
    sec.blocks.append(_gate_table(base, new, sid))
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


def _gate_table(base: RunData, new: RunData, sid: str) -> Table | Note:
    """The metric checks ``python -m harness compare`` runs on the two runs, and its verdict."""
    try:
        result = gate(base.df, new.df)
    except InputError as exc:
        return Note(f"harness compare could not check these runs: {exc}", "warn")
    cols = ["task", "metric", "scope", "baseline", "new", "change", "allowed", "verdict"]
    rows = []
    for _, c in result.checks.iterrows():
        verdict = "REGRESSED" if c["regressed"] else ("ok" if c["gated"] else "reported")
        cls = "bad" if c["regressed"] else ""
        cells = [
            Cell(str(c["task"])),
            Cell(str(c["metric"])),
            Cell(str(c["scope"])),
            num_cell(c["baseline"]),
            num_cell(c["candidate"]),
            num_cell(c["change"], "num", cls),
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
    t.note = (
        f"What `python -m harness compare {base.run_id} {new.run_id}` checks, with its default "
        f"tolerances, over the {result.matched} cells both runs hold: {verdict}. Metrics are "
        "computed on the cells ok in both runs; latency is gated only as a ratio to KSG's in "
        "the same run."
    )
    return t


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
