"""The report's table of failed, timed-out and skipped cells.

Cells of one run, task, estimator label, status and message form a group.
Failed and timed-out cells (what users debug) are listed one per row while
their group holds at most :data:`LIST_LIMIT` cells; a larger group, and every
group of skipped cells (an estimator refusing a task's dimensions skips each of
its thousands of cells for one reason), is one row: its cell count, the
instances it covers (first and last id, every instance index in the cell's
tooltip), the seeds and sample sizes it spans, its dimensions where they vary,
and the task parameters in the task cell's tooltip.

A cell that a later file repeats with the same result and message (a run
exported twice, or an export and the stored run it came from:
:func:`reports.diff.repeated`, the rule by which the report's tables count such
a cell once) is listed once, under the first file that holds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from harness.spans import int_spans
from reports.data import RunData
from reports.diff import repeated
from reports.tables import Cell, Row, Table, num_cell

__all__ = ["LIST_LIMIT", "failures"]

#: Failed or timed-out cells of one group listed one per row up to this many.
LIST_LIMIT = 50

#: Ranges an exact tooltip lists before it says how many more there are.
_TITLE_SPANS = 60

_STATUS_ORDER = {"failed": 0, "timeout": 1}

COLUMNS = ["run", "task", "estimator", "instance", "seed", "n", "status", "cells", "message"]


def _text(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)


def _instance(x: pd.Series) -> str:
    inst = x.get("instance_id")
    return inst if isinstance(inst, str) and inst else str(x.get("instance_index"))


def _cell_row(r: RunData, x: pd.Series, head: str) -> Row:
    status = str(x.get("status"))
    cells = [
        Cell(str(r.run_id)),
        Cell(str(x.get("task"))),
        Cell(str(x.get("label"))),
        Cell(_instance(x)),
        num_cell(x.get("seed"), "int"),
        num_cell(x.get("n_samples"), "int"),
        Cell(status, cls=f"status-{status}"),
        num_cell(1, "int"),
        Cell(_text(x.get("message")), cls="message"),
    ]
    return Row(head, cells, f"status-{status}")


def _span_cell(values: pd.Series) -> Cell:
    """One number as a number; several as their ranges (right-aligned text)."""
    distinct = pd.unique(values.dropna())
    if len(distinct) == 1:
        return num_cell(distinct[0], "int")
    if len(distinct) == 0:
        return num_cell(None, "int")
    return Cell(int_spans(distinct, 6), cls="num", title=int_spans(distinct))


def _dims(part: pd.DataFrame) -> str:
    """``"d = 2–10"`` when the group's dimensions vary, else ``""``."""
    if not {"dim_x", "dim_y"} <= set(part):
        return ""
    dx, dy = part["dim_x"].dropna(), part["dim_y"].dropna()
    if dx.nunique() <= 1 and dy.nunique() <= 1:
        return ""
    if set(dx) == set(dy):
        return f"d = {int_spans(dx)}"
    return f"dim_x {int_spans(dx)}, dim_y {int_spans(dy)}"


def _group_row(r: RunData, key: tuple, part: pd.DataFrame, head: str) -> Row:
    task, label, status, message = key
    if "instance_index" not in part:  # rows handed over without it: count the rows
        part = part.assign(instance_index=range(len(part)))
    ordered = part.sort_values("instance_index", kind="stable")
    first, last = ordered.iloc[0], ordered.iloc[-1]
    n_inst = int(part["instance_index"].nunique())
    if n_inst == 1:
        inst = _instance(first)
    else:
        inst = f"{n_inst:,} instances: {_instance(first)} … {_instance(last)}"
    dims = _dims(part)
    if dims:
        inst = f"{dims}; {inst}"
    inst_title = f"instance_index {int_spans(part['instance_index'], _TITLE_SPANS)}"
    params = pd.unique(part["task_params"].dropna().astype(str)) if "task_params" in part else []
    task_title = "task parameters: " + " | ".join(params) if len(params) else ""
    cells = [
        Cell(str(r.run_id)),
        Cell(task, title=task_title),
        Cell(label),
        Cell(inst, title=inst_title),
        _span_cell(part["seed"]) if "seed" in part else num_cell(None, "int"),
        _span_cell(part["n_samples"]) if "n_samples" in part else num_cell(None, "int"),
        Cell(status, cls=f"status-{status}"),
        num_cell(len(part), "int"),
        Cell(message, cls="message"),
    ]
    return Row(head, cells, f"status-{status} grouped")


def failures(runs: Sequence[RunData]) -> Table:
    """Cells whose status is not ``ok``, with their messages, grouped where many share one."""
    rows: list[Row] = []
    n_bad = n_grouped = n_repeated = 0
    # a row's result includes its status: only rows not ok can repeat rows not ok
    bads = [r.df[r.df["status"] != "ok"] for r in runs]
    for r, bad, again in zip(runs, bads, repeated(bads, also=("message",)), strict=True):
        n_repeated += int(again.sum())
        bad = bad[~again]
        if bad.empty:
            continue
        n_bad += len(bad)
        key = pd.DataFrame(
            {
                "task": bad["task"].map(str),
                "label": bad["label"].map(str),
                "status": bad["status"].map(str),
                "message": bad["message"].map(_text) if "message" in bad else "",
            },
            index=bad.index,
        )
        groups = list(bad.groupby([key[c] for c in key.columns], sort=False))
        # failed first, then timed out, then skipped: what users debug comes first
        groups.sort(key=lambda g: _STATUS_ORDER.get(g[0][2], len(_STATUS_ORDER)))
        for k, part in groups:
            status = k[2]
            if status == "skipped" or len(part) > LIST_LIMIT:
                rows.append(_group_row(r, k, part, str(len(rows) + 1)))
                n_grouped += len(part)
            else:
                for _, x in part.iterrows():
                    rows.append(_cell_row(r, x, str(len(rows) + 1)))
    t = Table("failures", "Failed, timed-out and skipped cells", COLUMNS, rows, head_label="#")
    t.note = (
        "Every cell whose latest attempt is not ok, with its stored message. Failed and "
        f"timed-out cells are listed one per row, up to {LIST_LIMIT} of one run, task, "
        "estimator, status and message; beyond that, and always for skipped cells, such a "
        "group is one row with its cell count, the instances it covers (first … last; "
        "hover for every instance index), and the seeds and n it spans."
    )
    if n_grouped:
        t.note += f" {n_grouped:,} of the {n_bad:,} cells are shown in grouped rows."
    if n_repeated:
        t.note += (
            f" {n_repeated:,} cells that a later file repeats with the same result (status, "
            "estimate, seconds, host, device, finish time) and message are listed once, under "
            "the first file holding them."
        )
    return t
