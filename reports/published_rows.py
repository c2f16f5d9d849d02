"""The papers' published numbers as table rows: beside our matching rows, or as a whole table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reports import published as pub
from reports.tables import Cell, Row, Table, num_cell, slug

__all__ = ["add_published", "published_table"]


def add_published(
    table: Table,
    key: str,
    info: dict[str, tuple],
    colkey: Callable[[str], Any],
    kind: str,
) -> list[tuple[str, pub.PublishedRow]]:
    """Insert the matching published row, where the paper has one, under the first of
    our rows it matches: once per table, however many runs hold that estimator.

    Returns
    -------
    list of (str, PublishedRow)
        The label of the row each published row went under, and that row.
    """
    ptab = pub.table(key)
    out_rows: list[Row] = []
    matched: list[tuple[str, pub.PublishedRow]] = []
    notes: list[str] = []
    for row in table.rows:
        out_rows.append(row)
        est = info.get(row.head)
        prow = pub.match(key, est[0], est[1]) if est else None
        if prow is None or any(p is prow for _, p in matched):
            continue
        cells = []
        row_notes = []
        for col in table.columns:
            try:
                ckey = colkey(col)
                v = prow.values.get(ckey)
            except (TypeError, ValueError):
                ckey, v = None, None
            if v is None:
                cells.append(Cell("", cls="num"))
                continue
            cells.append(_published_cell(prow, ckey, v, kind))
            if prow.notes.get(ckey):
                row_notes.append(_footnote(prow, col, prow.notes[ckey]))
        if any(c.value is not None for c in cells):
            out_rows.append(
                Row(f"published: {prow.name}", cells, "published", head_title=ptab.caption)
            )
            matched.append((row.head, prow))
            notes += row_notes
    table.rows = out_rows
    if notes:
        table.note = " ".join([table.note, *notes]).strip()
    return matched


#: The sign beside a published value that carries a note.
MARK = "†"


def _published_cell(prow: pub.PublishedRow, ckey: Any, v: float | None, kind: str) -> Cell:
    """A published number; one with a note gets :data:`MARK` and the note as its tooltip."""
    cell = num_cell(v, kind, "published")
    note = prow.notes.get(ckey)
    if note:
        cell.mark = f" {MARK}"
        cell.text += cell.mark
        cell.title = note
    return cell


def _footnote(prow: pub.PublishedRow, col: str, note: str) -> str:
    """The footnote under a table for a marked value: ``† KDE at 0.3: as printed …``."""
    return f"{MARK} {prow.name} at {col}: {note}."


def published_table(key: str, section_id: str, kind: str) -> Table:
    """The paper's table ``key`` on its own, collapsed by default."""
    ptab = pub.table(key)
    cols = sorted({c for r in ptab.rows for c in r.values})
    rows = [
        Row(r.name, [_published_cell(r, c, r.values.get(c), kind) for c in cols], "published")
        for r in ptab.rows
    ]
    names = [_col(c) for c in cols]
    t = Table(slug(section_id, "published", key), ptab.caption, names, rows, head_label="row",
              format_groups=[tuple(names)])  # fmt: skip
    t.note = " ".join(_footnote(r, _col(c), note) for r in ptab.rows for c, note in r.notes.items())
    t.classes.append("collapsed")
    return t


def _col(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if value == round(value, 1) else f"{value:g}"
    return str(value)
