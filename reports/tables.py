"""A small table model for the template: cells keep the exact value next to its text.

Every numeric cell carries its full-precision value (``data-value`` in the
HTML) so readers and tests can recover the stored number from the page. Its
text is rounded for display only, in one format per column
(:meth:`Table.harmonize`, :func:`column_spec`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from harness.metrics import column_format

__all__ = [
    "Cell",
    "Row",
    "Table",
    "column_spec",
    "fmt",
    "frame_table",
    "si_seconds",
    "slug",
    "with_errors",
]


@dataclass
class Cell:
    """One table cell: display ``text``, exact ``value`` (numbers only), CSS ``cls``.

    A numeric cell also has its format ``kind`` (:func:`fmt`) and, where it shows
    "value ± error", the ``error``: :meth:`Table.harmonize` rewrites its text in
    its column's format, then appends ``mark`` (a footnote sign such as ``" †"``).
    """

    text: str
    value: float | None = None
    cls: str = ""
    title: str = ""
    kind: str = ""
    error: float | None = None
    mark: str = ""

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
    format_groups: list[tuple[str, ...]] = field(default_factory=list)
    kind: ClassVar[str] = "table"

    @property
    def text_columns(self) -> set[int]:
        """Indices of the columns with no numeric cell: their headers align left."""
        numeric = {i for r in self.rows for i, c in enumerate(r.cells) if "num" in c.cls.split()}
        return set(range(len(self.columns))) - numeric

    def harmonize(self) -> None:
        """Write every numeric cell's text in one format per column and format kind.

        The columns named together in one of :attr:`format_groups` (a table of one
        quantity, "s base" and "s new") share it; published rows added under ours
        count as the column's too. Exact values are left as they are.
        """
        group = {c: ("group", i) for i, cols in enumerate(self.format_groups) for c in cols}
        cells: dict[tuple, list[Cell]] = {}
        for row in self.rows:
            for col, cell in zip(self.columns, row.cells, strict=False):
                if cell.kind and cell.value is not None:
                    key = (group.get(col, ("column", col)), cell.kind.lstrip("+"))
                    cells.setdefault(key, []).append(cell)
        for (_, kind), part in cells.items():
            spec = column_spec([c.value for c in part], kind)
            for c in part:
                c.text = fmt(c.value, c.kind, spec)
                if c.error is not None:
                    c.text += f" ± {fmt(c.error, kind, spec)}"
                c.text += c.mark


def slug(*parts: Any) -> str:
    """An HTML id from ``parts``: lower case letters, digits and dashes."""
    text = "-".join(str(p) for p in parts if p is not None and str(p) != "")
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _finite(v: Any) -> bool:
    try:
        return v is not None and not pd.isna(v) and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


#: Kinds shown with a fixed number of decimals, whatever the column holds.
_FIXED = {"int": ",.0f", "nats": ".4f", "pct": ".1f", "auc": ".3f", "ratio": ".2f"}

#: Significant digits of the kinds whose decimals depend on the column, and whether
#: they keep them for the smallest magnitude (variances: ``True``) or for the largest
#: (general numbers).
_SIGNIFICANT = {"var": (3, True), "num": (4, False)}

#: The spec :func:`column_spec` gives seconds: each cell in its own SI unit
#: (:func:`si_seconds`), as a column of seconds spans orders of magnitude.
SI = "si"

#: SI units of seconds, largest first.
_SECOND_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))


def si_seconds(v: float) -> str:
    """Seconds in the unit that leaves 1 to 999 of it, three significant digits:
    ``"845 µs"``, ``"21.7 ms"``, ``"3.70 s"``, ``"237 s"``; from 1000 s on whole
    seconds (``"1,234 s"``); zero is ``"0 s"``."""
    a = abs(float(v))
    sign = "-" if v < 0 else ""
    if a == 0:
        return "0 s"
    if a >= 999.5:
        return f"{sign}{a:,.0f} s"
    rounded = float(f"{a:.3g}")  # 999.7 µs is 1.00 ms
    scale, unit = next(((f, u) for f, u in _SECOND_UNITS if rounded >= f), _SECOND_UNITS[-1])
    x = rounded / scale
    decimals = 0 if x >= 100 else 1 if x >= 10 else 2
    text = f"{x:.{decimals}f}" if x >= 1 else f"{a / scale:.3g}"  # below 1 ns
    return f"{sign}{text} {unit}"


def column_spec(values: Iterable[Any], kind: str = "num") -> str:
    """The one format spec (``".4f"``, ``".2e"``...) for a column of ``values`` of ``kind``.

    ``"int"``, ``"nats"``, ``"pct"``, ``"auc"`` and ``"ratio"`` have fixed decimals
    (:func:`fmt`). Seconds (``"s"``) get :data:`SI`: each cell in its own SI unit
    with three significant digits (:func:`si_seconds`: ``845 µs``, ``21.7 ms``,
    ``3.70 s``), since a column of seconds often spans several orders of magnitude.
    The others are chosen from the column: whole numbers show no decimals; ``"var"``
    (which spans orders of magnitude) gets decimals for three significant digits of
    the smallest non-zero magnitude, at most five and at most five significant
    digits of the largest, and turns scientific when that leaves the smallest
    fewer than two; ``"num"`` gets four significant digits of the largest
    magnitude, at most four decimals, and is scientific when the largest is below
    1e-3. A column that is not all whole numbers is scientific from magnitudes of a
    million up.
    """
    kind = kind.lstrip("+")
    if kind in _FIXED:
        return _FIXED[kind]
    if kind == "s":
        return SI
    significant, relative = _SIGNIFICANT.get(kind, _SIGNIFICANT["num"])
    return column_format([float(v) for v in values if _finite(v)], significant, relative)


def fmt(v: Any, kind: str = "num", spec: str | None = None) -> str:
    """Format a number for display.

    ``kind``: ``"int"``, ``"nats"`` (4 decimals), ``"pct"`` (1 decimal), ``"auc"``
    (3 decimals), ``"ratio"`` (2 decimals and a ×), ``"s"`` (seconds, with their SI
    unit: ``"21.7 ms"``), ``"var"`` or ``"num"`` (general), whose decimals
    :func:`column_spec` chooses; a leading
    ``"+"`` (``"+pct"``) also signs positive values, for differences. ``spec``: the
    format of the value's column (:func:`column_spec`); default the value's own.
    """
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "–"
    if isinstance(v, str):
        return v
    if not _finite(v):
        return str(v)
    v = float(v)
    if kind.startswith("+"):
        text = fmt(v, kind[1:], spec)
        return "+" + text if v > 0 and text.strip("0.") else text
    spec = spec or column_spec([v], kind)
    text = si_seconds(v) if spec == SI else format(v, spec)
    if text.startswith("-") and not text.strip("-0.,"):
        text = text[1:]  # rounds to zero: "0.0000", not "-0.0000"
    return text + "×" if kind == "ratio" else text


def num_cell(v: Any, kind: str = "num", cls: str = "") -> Cell:
    """A right-aligned numeric cell keeping the exact value (seconds also say it in
    their tooltip, as their text is rounded to three digits in a unit)."""
    value = float(v) if _finite(v) else None
    title = f"{value:.6g} s" if value is not None and kind.lstrip("+") == "s" else ""
    return Cell(fmt(v, kind), value, ("num " + cls).strip(), title=title, kind=kind)


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
        Format kind per column (see :func:`fmt`), or one kind for all: the
        columns are then one quantity (MI levels, n...), shown in one format.
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
    groups = [tuple(cols)] if isinstance(kinds, str) else []
    return Table(id, title, cols, rows, head_label=head_label, note=note, format_groups=groups)


def with_errors(table: Table, errors: Any, kind: str = "auc") -> None:
    """Append "± error" (formatted as ``kind``) to the text of each numeric cell of
    ``table`` whose error is finite, cell by cell from the 2-D ``errors`` (rows x
    the first columns); the cells' exact values stay as they are, and
    :meth:`Table.harmonize` writes the error in its value's format."""
    for row, errs in zip(table.rows, errors, strict=True):
        for cell, err in zip(row.cells, errs, strict=False):
            if cell.value is not None and _finite(err):
                cell.error = float(err)
                cell.text = f"{cell.text} ± {fmt(err, kind)}"
                cell.title = f"{cell.value:.4g} ± {float(err):.4g} (one standard error)"
