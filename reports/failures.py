"""The report's table of failed, timed-out and skipped cells."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reports.data import RunData
from reports.tables import Cell, Row, Table, num_cell

__all__ = ["failures"]


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
    t.note = "Every cell whose latest attempt is not ok, with its stored message."
    return t
