"""A small table model for the template: cells keep the exact value next to its text.

Every numeric cell carries its full-precision value (``data-value`` in the
HTML) so readers and tests can recover the stored number from the page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

__all__ = ["Cell", "Row", "Table", "fmt", "frame_table", "slug", "with_errors"]


@dataclass
class Cell:
    """One table cell: display ``text``, exact ``value`` (numbers only), CSS ``cls``."""

    text: str
    value: float | None = None
    cls: str = ""
    title: str = ""

    @property
    def data_value(self) -> str | None:
        if self.value is None:
            return None
        return repr(float(self.value))


@dataclass
class Row:
    """A row: its header text, cells, and a CSS class (``published``, ``regression``...)."""

    head: str
    cells: list[Cell]
    cls: str = ""
    head_title: str = ""


@dataclass
class Table:
    """A titled table with an HTML id, a header row and rows."""

    id: str
    title: str
    columns: list[str]
    rows: list[Row]
    head_label: str = ""
    note: str = ""
    classes: list[str] = field(default_factory=list)
    kind: ClassVar[str] = "table"

    @property
    def text_columns(self) -> set[int]:
        """Indices of the columns with no numeric cell: their headers align left."""
        numeric = {i for r in self.rows for i, c in enumerate(r.cells) if "num" in c.cls.split()}
        return set(range(len(self.columns))) - numeric


def slug(*parts: Any) -> str:
    """An HTML id from ``parts``: lower case letters, digits and dashes."""
    text = "-".join(str(p) for p in parts if p is not None and str(p) != "")
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _finite(v: Any) -> bool:
    try:
        return v is not None and not pd.isna(v) and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def fmt(v: Any, kind: str = "num") -> str:
    """Format a number for display.

    ``kind``: ``"int"``, ``"nats"`` (4 decimals), ``"var"`` (3 significant
    digits), ``"pct"`` (1 decimal), ``"s"`` (seconds, 3 significant digits),
    ``"ratio"`` (2 decimals and a ×), ``"auc"`` (3 decimals), ``"num"`` (general,
    4 significant digits); a leading ``"+"`` (``"+pct"``) also signs positive values,
    for differences.
    """
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "–"
    if isinstance(v, str):
        return v
    if not _finite(v):
        return str(v)
    v = float(v)
    if kind.startswith("+"):
        text = fmt(v, kind[1:])
        return "+" + text if v > 0 and text.strip("0.") else text
    if kind == "int":
        return f"{int(round(v)):,}"
    if kind == "nats":
        return f"{v:.4f}" if v == 0 or abs(v) >= 1e-4 else f"{v:.1e}"
    if kind == "pct":
        return f"{v:.1f}"
    if kind == "auc":
        return f"{v:.3f}"
    if kind == "ratio":
        return f"{v:.2f}×"
    if kind in ("var", "s"):
        if v == 0:
            return "0"
        return f"{v:.3g}" if 1e-3 <= abs(v) < 1e4 else f"{v:.2e}"
    return f"{v:.4g}"


def num_cell(v: Any, kind: str = "num", cls: str = "") -> Cell:
    """A right-aligned numeric cell keeping the exact value."""
    value = float(v) if _finite(v) else None
    return Cell(fmt(v, kind), value, ("num " + cls).strip())


def frame_table(
    df: pd.DataFrame,
    id: str,
    title: str,
    kinds: dict[str, str] | str = "num",
    *,
    head_label: str = "",
    note: str = "",
    row_class: Callable[[Any, pd.Series], str] | None = None,
    columns: Sequence[str] | None = None,
) -> Table:
    """A :class:`Table` from a DataFrame: index values head the rows.

    Parameters
    ----------
    kinds : dict or str
        Format kind per column (see :func:`fmt`), or one kind for all.
    row_class : callable, optional
        ``(index, row) -> css class`` for a row.
    """
    cols = list(columns) if columns is not None else [str(c) for c in df.columns]
    rows = []
    for idx, rec in df.iterrows():
        head = " · ".join(map(str, idx)) if isinstance(idx, tuple) else str(idx)
        cells = []
        for col, name in zip(df.columns, cols, strict=True):
            kind = kinds.get(name, "num") if isinstance(kinds, dict) else kinds
            v = rec[col]
            if isinstance(v, str) or kind == "text":
                cells.append(Cell("" if v is None or v is pd.NA else str(v)))
            else:
                cells.append(num_cell(v, kind))
        rows.append(Row(head, cells, row_class(idx, rec) if row_class else ""))
    if not head_label:
        names = [n for n in df.index.names if n]
        head_label = " · ".join(map(str, names))
    return Table(id, title, cols, rows, head_label=head_label, note=note)


def with_errors(table: Table, errors: Any, kind: str = "auc") -> None:
    """Append "± error" (formatted as ``kind``) to the text of each numeric cell of
    ``table`` whose error is finite, cell by cell from the 2-D ``errors`` (rows x
    the first columns); the cells' exact values stay as they are."""
    for row, errs in zip(table.rows, errors, strict=True):
        for cell, err in zip(row.cells, errs, strict=False):
            if cell.value is not None and _finite(err):
                cell.text = f"{cell.text} ± {fmt(err, kind)}"
                cell.title = f"{cell.value:.4g} ± {float(err):.4g} (one standard error)"
