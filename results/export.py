"""Result rows to pandas, and Parquet/CSV files for people who live in pandas.

Instance ``meta`` (level, K, rho, triplet, member, ...) becomes one column per
key; a key that clashes with a standard column is renamed ``meta_<key>``.

A file also carries its run's record and sessions (command, commit, versions:
:mod:`results.provenance`) when the rows it is written from hold them in
``df.attrs``, as rows loaded from the store do.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from results import provenance
from results.schema import NON_FINITE_TEXT, RESULT_COLUMNS, RESULT_FIELDS, dumps

__all__ = [
    "FORMATS",
    "ExportFileError",
    "artifact_tag",
    "file_format",
    "is_export",
    "read",
    "to_frame",
    "write",
]

_FLOAT = ("true_mi", "true_mi_se", "estimate", "error", "seconds")
_INT = tuple(n for n, t in RESULT_COLUMNS if t.startswith("INTEGER"))
#: Columns :func:`to_frame` derives from the run record rather than the result rows.
DERIVED_TEXT = ("artifacts",)
_TEXT = tuple(n for n, t in RESULT_COLUMNS if t.startswith("TEXT") and n != "meta") + DERIVED_TEXT
#: Names a meta key may not take as its column (it becomes ``meta_<key>``).
_RESERVED = ("meta", provenance.COLUMN)
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".csv.gz": "csv"}
_PANDAS3 = int(pd.__version__.split(".")[0]) >= 3
#: Columns every file :func:`write` writes has; a file without them is not an export.
_REQUIRED = ("task", "estimator", "status", "estimate")


class ExportFileError(ValueError):
    """A file named as an export cannot be read as one (empty, corrupt, or other rows)."""


def _coerce(df: pd.DataFrame) -> pd.DataFrame:
    """Give the standard columns their dtypes: float64, nullable Int64, text."""
    for col in _FLOAT:
        if col in df:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    for col in _INT:
        if col in df:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    for col in _TEXT:
        if col in df:
            s = df[col]
            df[col] = s.astype("str") if _PANDAS3 else s.astype(object).where(s.notna(), None)
    return df


def artifact_tag(artifacts: Any) -> str:
    """A short name for the files a row's estimator used: ``@`` and the first 8
    characters of each hash in its ``artifacts`` JSON (an InfoNet checkpoint:
    ``@161570a6``), joined by ``+``; ``""`` if there are none."""
    if isinstance(artifacts, str):
        try:
            artifacts = json.loads(artifacts) if artifacts else None
        except ValueError:
            return ""
    if not isinstance(artifacts, Mapping) or not artifacts:
        return ""
    return "@" + "+".join(str(artifacts[key])[:8] for key in sorted(artifacts))


def to_frame(
    rows: Iterable[Mapping[str, Any]], estimators: Iterable[Mapping[str, Any]] | None = None
) -> pd.DataFrame:
    """A DataFrame of result rows with the JSON ``meta`` expanded into columns.

    Parameters
    ----------
    rows : iterable of mapping
        Rows with the fields of :data:`results.schema.RESULT_FIELDS`.
    estimators : iterable of mapping, optional
        The run record's ``estimators`` entries. Given, an ``artifacts`` column
        after ``host`` holds the files each row's estimator used (e.g.
        InfoNet's ``{"checkpoint_sha256": ...}``) as JSON, empty where none:
        the run record keeps them per label (a resume that would mix files is
        refused), and on the rows they survive export, where otherwise only
        the commit would say which model made a number.

    Returns
    -------
    pandas.DataFrame
        Standard columns first (without ``meta``), then one column per meta
        key in order of first appearance.
    """
    base = [f for f in RESULT_FIELDS if f != "meta"]
    files = None
    if estimators is not None:
        files = {e["label"]: dumps(e["artifacts"]) for e in estimators if e.get("artifacts")}
        at = base.index("host") + 1
        base = [*base[:at], "artifacts", *base[at:]]
    records: list[dict[str, Any]] = []
    meta_cols: dict[str, None] = {}
    for row in rows:
        rec = {k: row.get(k) for k in base}
        if files is not None:
            rec["artifacts"] = files.get(row.get("label"))
        meta = row.get("meta")
        if isinstance(meta, str):
            meta = json.loads(meta) if meta else {}
        for key, value in (meta or {}).items():
            col = f"meta_{key}" if key in rec or key in _RESERVED else key
            meta_cols.setdefault(col)
            # non-finite floats are stored as text (JSON has none): floats again here
            rec[col] = NON_FINITE_TEXT.get(value, value) if isinstance(value, str) else value
        records.append(rec)
    return _coerce(pd.DataFrame.from_records(records, columns=base + list(meta_cols)))


def _format_of(ref: str | os.PathLike[str]) -> str | None:
    name = Path(ref).name.lower()
    return next((fmt for suffix, fmt in FORMATS.items() if name.endswith(suffix)), None)


def is_export(ref: str | os.PathLike[str]) -> bool:
    """Whether ``ref`` names an export file (by suffix) rather than a stored run."""
    return _format_of(ref) is not None


def file_format(path: str | Path) -> str:
    """``"parquet"`` or ``"csv"`` (gzip-compressed for ``.csv.gz``) from the name of ``path``.

    Raises ValueError for any other suffix.
    """
    fmt = _format_of(path)
    if fmt is None:
        raise ValueError(
            f"cannot tell the format of {str(path)!r}; use a name ending in "
            f"{', '.join(sorted(FORMATS))}"
        )
    return fmt


def _with_provenance(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the provenance JSON of its attrs in the first row of column
    :data:`results.provenance.COLUMN` (other rows empty); ``df`` itself if it has
    none (or none for its rows' run ids), no rows, or the column already."""
    value = df.attrs.get(provenance.ATTR)
    if not len(df) or provenance.COLUMN in df or provenance.of(df)[0] is None:
        return df
    out = df.copy(deep=False)
    out.attrs = {k: v for k, v in df.attrs.items() if k != provenance.ATTR}  # no second copy
    out[provenance.COLUMN] = pd.Series([value] + [None] * (len(df) - 1), dtype=object).values
    return out


def _take_provenance(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` without the provenance column, its JSON moved into ``df.attrs``.

    A file of rows of several runs (one JSON per run) keeps none: its rows
    name their commits themselves.
    """
    if provenance.COLUMN not in df:
        return df
    values = pd.unique(df[provenance.COLUMN].dropna())
    df = df.drop(columns=provenance.COLUMN)
    df.attrs.pop(provenance.ATTR, None)
    if len(values) == 1:
        df.attrs[provenance.ATTR] = str(values[0])
        record, _ = provenance.of(df)
        if record is None:
            del df.attrs[provenance.ATTR]
        else:
            df.attrs.setdefault("run_id", record.get("run_id"))
    return df


def write(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` to Parquet or CSV, chosen by the file suffix.

    The run's provenance in ``df.attrs`` (see :mod:`results.provenance`) goes
    into the first row of the column ``run_provenance``.
    """
    path = Path(path)
    fmt = file_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df = _with_provenance(df)
    if fmt == "parquet":
        df.to_parquet(path, index=False)
    else:
        # mtime 0: the same rows give the same bytes (re-exports leave git clean)
        df.to_csv(path, index=False, compression={"method": "infer", "mtime": 0})
    return path


def read(path: str | Path) -> pd.DataFrame:
    """Read a file written by :func:`write`, standard columns with their dtypes.

    A run's provenance written with the rows is in ``df.attrs["provenance"]``
    (not a column); older files have none.
    """
    path = Path(path)
    fmt = file_format(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        if fmt == "parquet":
            df = pd.read_parquet(path)
        else:
            # everything is read as text; standard columns get their dtypes below
            df = pd.read_csv(path, dtype=object, keep_default_na=False, na_values=[""])
    except FileNotFoundError:
        raise
    # pandas' parser errors and pyarrow's ArrowInvalid are ValueErrors
    except (OSError, ValueError) as exc:
        what = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300]
        raise ExportFileError(f"{path} cannot be read as a {fmt} export ({what})") from None
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise ExportFileError(
            f"{path} is not a file written by 'python -m harness export': "
            f"it lacks the column(s) {', '.join(missing)}"
        )
    df = _take_provenance(df)
    if fmt == "csv":
        # a meta column becomes numbers or booleans only when every value is written
        # the way the writer writes one ("007" stays text, as does "1" as an instance id)
        for col in df.columns:
            if col not in _FLOAT + _INT + _TEXT:
                df[col] = _meta_column(df[col])
    return _coerce(df)


def _written_as_number(text: str) -> bool:
    """Whether ``text`` is how :func:`write` writes an int or a float."""
    try:
        return str(int(text)) == text
    except ValueError:
        pass
    try:
        return repr(float(text)) == text
    except ValueError:
        return False


def _meta_column(s: pd.Series) -> pd.Series:
    """A meta column read as text, as numbers or booleans if every value reads back
    as one exactly; otherwise text, so a code like "007" keeps its zeros."""
    values = set(s.dropna().unique())
    if not values:
        return s.astype("float64")
    if values <= {"True", "False"}:
        return s.map({"True": True, "False": False}) if s.isna().any() else s == "True"
    if all(_written_as_number(v) for v in values):
        return pd.to_numeric(s.mask(s == "nan"))  # "nan": a non-finite meta value as text
    return s.astype("str") if _PANDAS3 else s
