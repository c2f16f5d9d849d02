"""Runs for a report: rows, run record and sessions, and their provenance lines.

A run comes from the results store (with its run record and sessions), from
an exported Parquet/CSV file, or as a DataFrame. A file or DataFrame carries
the run record and sessions in ``df.attrs["provenance"]`` when it was
exported or loaded by this version (:mod:`results.provenance`), and then
gets the same provenance card as the stored run; an older file has its
provenance only in the row columns (commit, dirty flag, version, host, device).

A report shows the cards of all its runs at once (:func:`provenance_overview`):
what every run shares once, then one row per run with what differs, and the
sessions likewise.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.environment import plugin_lines
from harness.params import stored_params
from harness.spans import int_spans
from reports.headings import params_words
from reports.tables import Cell, Row, Table
from results import provenance as carried
from results.provenance import is_secret_key, redact

__all__ = ["RunData", "load_run", "provenance", "provenance_overview", "redact", "timestamp"]


@dataclass
class RunData:
    """One run: its rows and, when it came from a store, its record and sessions."""

    run_id: str
    df: pd.DataFrame
    source: str
    record: dict[str, Any] | None = None
    sessions: list[dict[str, Any]] = field(default_factory=list)


def load_run(
    ref: Any, store: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None
) -> RunData:
    """Load one run for a report.

    Parameters
    ----------
    ref : str, path or DataFrame
        Run id (or unique prefix, or ``"latest"``), an exported ``.parquet`` /
        ``.csv`` file, or rows already loaded (``df.attrs["run_id"]`` names it).
    store : str, path or a sequence of them, optional
        The results store for run ids; default ``$MI_HARNESS_STORE`` or
        ``./runs/mi-harness.sqlite``. Of several, the first holding the run.
    """

    import results
    from results import Store
    from results.export import is_export
    from results.store import StoreError

    if isinstance(ref, pd.DataFrame):
        run_id = ref.attrs.get("run_id") or _first(ref, "run_id") or "rows"
        return _carried(ref, str(run_id), "DataFrame")
    if is_export(ref):
        df = results.load(ref)
        return _carried(df, str(_first(df, "run_id") or os.fspath(ref)), os.fspath(ref))
    if store is not None and not isinstance(store, (str, os.PathLike)):
        stores = list(store) or [None]
        if len(stores) == 1:
            return load_run(ref, stores[0])
        missing = []
        for one in stores:
            try:
                return load_run(ref, one)
            except StoreError as exc:
                if "ambiguous" in str(exc):
                    raise
                missing.append(str(exc))
        raise StoreError(f"run {ref!r} is in none of the stores: " + "; ".join(missing))
    with Store(store, create=False) as st:
        run_id = st.resolve(str(ref))
        record = st.get_run(run_id)
        sessions = st.sessions(run_id)
        path = str(st.path)
    df = results.load(run_id, path)
    return RunData(run_id, df, path, record, sessions)


def _carried(df: pd.DataFrame, run_id: str, source: str) -> RunData:
    """A run from rows alone, with the record and sessions their attrs carry (if any)."""
    record, sessions = carried.of(df)
    if record is not None and record.get("run_id"):
        run_id = str(record["run_id"])
    return RunData(run_id, df, source, record, sessions)


def _first(df: pd.DataFrame, col: str) -> Any:
    if col not in df or not len(df):
        return None
    vals = df[col].dropna()
    return vals.iloc[0] if len(vals) else None


def _compact(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, dict):
        items = [
            f"{k} {'***' if is_secret_key(k) else _compact(v)}"
            for k, v in value.items()
            if v is not None
        ]
        return ", ".join(items) or "–"
    if isinstance(value, (list, tuple)):
        return "; ".join(_compact(v) for v in value) or "–"
    return redact(value)


def seeds_text(seeds: Any) -> str:
    """``[0, 1, 2, 5]`` as ``"0..2, 5"`` (the CLI's seed syntax)."""
    try:
        return int_spans(seeds, dash="..") or "–"
    except (TypeError, ValueError):
        return _compact(seeds)


def timestamp(value: Any) -> pd.Timestamp | None:
    """A stored time as a UTC timestamp; None for a missing or unreadable one."""
    if value is None or (not isinstance(value, pd.Timestamp) and pd.isna(value)):
        return None
    when = pd.to_datetime(value, utc=True, errors="coerce")
    return None if pd.isna(when) else when


def time_text(value: Any) -> str:
    """A stored time (ISO 8601) to the second, in UTC: ``2026-12-04 12:28:55 UTC``; the
    text as it is when it is not a time, ``–`` when missing."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return "–"
    when = timestamp(value)
    return str(value) if when is None else when.strftime("%Y-%m-%d %H:%M:%S UTC")


def _dirty(flag: Any) -> str:
    if flag is None or (isinstance(flag, float) and pd.isna(flag)):
        return "unknown"
    return "dirty (uncommitted changes)" if bool(flag) else "clean"


def _artifact_text(artifacts: dict[str, str]) -> str:
    """``key value`` pairs of an estimator's recorded files, sha256 digests cut to 16 digits."""
    return ", ".join(f"{k} {str(v)[:16]}" for k, v in sorted(artifacts.items()))


def _unique(df: pd.DataFrame, col: str) -> str:
    if col not in df:
        return "–"
    vals = [str(v) for v in pd.unique(df[col].dropna())]
    return ", ".join(vals) if vals else "–"


def provenance(run: RunData) -> dict[str, Any]:
    """Provenance of a run for the report header.

    Returns
    -------
    dict
        ``run_id``, ``source``, ``summary`` (list of (key, value) pairs) and
        ``sessions`` (one list of (key, value) pairs per invocation).
    """
    df, rec = run.df, run.record
    summary: list[tuple[str, str]] = []
    if rec is not None:
        summary += [
            ("task", str(rec.get("task"))),
            ("task parameters", params_words(str(rec.get("task")), rec.get("task_params")) or "–"),
            ("estimators", ", ".join(e.get("label", "?") for e in rec.get("estimators") or [])),
            *(
                (f"{e.get('label', '?')} files", _artifact_text(e["artifacts"]))
                for e in rec.get("estimators") or []
                if e.get("artifacts")
            ),
            *(("plugins", "; ".join(plugin_lines(rec.get("versions")))),) * _has_plugins(rec),
            ("seeds", seeds_text(rec.get("seeds") or [])),
            ("git commit", str(rec.get("git_commit") or "–")),
            ("tree", _dirty(rec.get("git_dirty"))),
            ("harness version", str((rec.get("versions") or {}).get("mi-harness") or "–")),
            ("host", str(rec.get("host") or "–")),
            ("n", str(rec.get("n") if rec.get("n") is not None else "task default")),
            ("created", time_text(rec.get("created"))),
            ("status", str(rec.get("status") or "–")),
            ("device requested", str(rec.get("device") or "–")),
        ]
    else:
        summary += [
            ("task", _unique(df, "task")),
            ("task parameters", _rows_params(df)),
            ("estimators", _unique(df, "label")),
            ("seeds", seeds_text(df["seed"].dropna()) if "seed" in df else "–"),
            ("git commit", _unique(df, "git_commit")),
            ("tree", _dirty(_first(df, "git_dirty"))),
            ("harness version", _unique(df, "harness_version")),
            ("host", _unique(df, "host")),
        ]
    summary += [
        ("devices used", _unique(df, "device")),
        ("cells", f"{len(df)} ({_counts(df)})"),
    ]
    if "finished_at" in df and df["finished_at"].notna().any():
        summary.append(("last cell finished", time_text(df["finished_at"].dropna().max())))
    sessions = []
    for s in run.sessions:
        sessions.append(
            [
                ("session", str(s.get("session"))),
                ("command", redact(s.get("command") or "–")),
                ("git commit", str(s.get("git_commit") or "–")),
                ("tree", _dirty(s.get("git_dirty"))),
                ("started", time_text(s.get("started"))),
                ("finished", time_text(s.get("finished"))),
                ("status", str(s.get("status") or "–")),
                ("host", str(s.get("host") or "–")),
                ("platform", str(s.get("platform") or "–")),
                ("executor", f"{s.get('executor') or '–'} (workers {s.get('workers') or 1})"),
                ("timeout", _timeout_text(s)),
                ("versions", _compact(_without_plugins(s.get("versions")))),
                *(("plugins", "; ".join(plugin_lines(s.get("versions")))),) * _has_plugins(s),
                ("cpu", _compact(s.get("cpu"))),
                ("gpu", _compact(s.get("gpu")) if s.get("gpu") else "none"),
                ("threads", _compact(s.get("threads"))),
            ]
        )
    return {"run_id": run.run_id, "source": run.source, "summary": summary, "sessions": sessions}


def _timeout_text(session: dict[str, Any]) -> str:
    """A session's per-cell timeout and the least its estimators' prepare() got."""
    timeout, floor = session.get("timeout"), session.get("prepare_timeout")
    if timeout is None:
        return "none"
    if floor is None:
        return f"{timeout:g} s"
    return f"{timeout:g} s (prepare() at least {max(float(timeout), float(floor)):g} s)"


#: Parameter sets of a run's rows that its card lists one by one.
_LISTED_SETS = 3


def _rows_params(df: pd.DataFrame) -> str:
    """The task parameters of a run's rows in words: each set (of each task), up to
    :data:`_LISTED_SETS`, then how many more."""
    if "task_params" not in df or "task" not in df:
        return "–"
    pairs = df[["task", "task_params"]].dropna().drop_duplicates()
    texts = [
        params_words(str(task), stored_params(params)) or "–"
        for task, params in pairs.itertuples(index=False)
    ]
    texts = list(dict.fromkeys(texts))
    more = len(texts) - _LISTED_SETS
    shown = " | ".join(texts[:_LISTED_SETS]) or "–"
    return shown + (f" | … ({more} more sets)" if more > 0 else "")


#: Provenance fields shown in a monospace font.
CODE_FIELDS = frozenset({"source", "command", "git commit", "versions", "plugins"})


def _shared_and_varying(
    items: Sequence[tuple[str, Sequence[tuple[str, str]]]],
) -> tuple[list[tuple[str, str]], list[str], list[tuple[str, list[str]]]]:
    """What every item says alike, and what differs.

    Parameters
    ----------
    items : sequence of (name, pairs)
        Each item's name and its (field, value) pairs.

    Returns
    -------
    tuple
        The (field, value) pairs every item holds with one value, in order of first
        appearance; the fields that differ (or that some item lacks); and per item its
        name and its values of those fields ("–" where it has none).
    """
    order = list(dict.fromkeys(k for _, pairs in items for k, _ in pairs))
    values = [dict(pairs) for _, pairs in items]
    shared, varying = [], []
    for key in order:
        seen = {v.get(key) for v in values}
        if len(items) > 1 and (len(seen) > 1 or None in seen):
            varying.append(key)
        elif None not in seen:
            shared.append((key, values[0][key]))
    rows = [
        (name, [v.get(k, "–") for k in varying]) for (name, _), v in zip(items, values, strict=True)
    ]
    return shared, varying, rows


def _varying_table(id: str, title: str, head: str, varying: list[str], rows) -> Table | None:
    """A table of the fields that differ, one row per item; None when none differ."""
    if not varying:
        return None
    cells = [
        Row(name, [Cell(v, cls="text code" if k in CODE_FIELDS else "text")
                   for k, v in zip(varying, vals, strict=True)])
        for name, vals in rows
    ]  # fmt: skip
    return Table(id, title, list(varying), cells, head_label=head)


def _files_merged(summary: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """A card's summary with its estimators' files (``LABEL files`` fields) in one
    ``estimator files`` field, where the first of them stood."""
    files = [(k[: -len(" files")], v) for k, v in summary if k.endswith(" files")]
    out: list[tuple[str, str]] = []
    for k, v in summary:
        if not k.endswith(" files"):
            out.append((k, v))
        elif not any(key == "estimator files" for key, _ in out):
            out.append(("estimator files", "; ".join(f"{lab}: {text}" for lab, text in files)))
    return out


def provenance_overview(cards: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The provenance of several runs (:func:`provenance` cards) at a glance.

    Returns
    -------
    dict
        ``count``: runs; ``shared``: (field, value) pairs every run holds alike
        (``source`` among them); ``runs``: a :class:`~reports.tables.Table` of the
        fields that differ, one row per run, or None (one run, or runs alike);
        ``sessions``: the same for all runs' sessions together (``count``,
        ``shared``, ``table``, each row named ``run id · session``).
    """
    items = [(c["run_id"], [("source", c["source"]), *_files_merged(c["summary"])]) for c in cards]
    shared, varying, rows = _shared_and_varying(items)
    runs = _varying_table("provenance-runs", "What differs between the runs", "run",
                          varying, rows)  # fmt: skip
    sessions = [
        (f"{c['run_id']} · session {dict(s).get('session', '?')}",
         [(k, v) for k, v in s if k != "session"])
        for c in cards
        for s in c["sessions"]
    ]  # fmt: skip
    s_shared, s_varying, s_rows = _shared_and_varying(sessions)
    s_table = _varying_table("provenance-sessions", "What differs between the sessions",
                             "session", s_varying, s_rows)  # fmt: skip
    return {
        "count": len(cards),
        "shared": shared,
        "runs": runs,
        "sessions": {"count": len(sessions), "shared": s_shared, "table": s_table},
    }


def _has_plugins(record: dict[str, Any]) -> bool:
    """Whether a run record or session names plugin code (``versions["plugins"]``)."""
    return bool(plugin_lines(record.get("versions")))


def _without_plugins(versions: Any) -> Any:
    """Package versions without the plugin code (shown on a line of its own)."""
    if not isinstance(versions, dict):
        return versions
    return {k: v for k, v in versions.items() if k != "plugins"}


def _counts(df: pd.DataFrame) -> str:
    if "status" not in df or not len(df):
        return "no cells"
    return ", ".join(f"{v} {k}" for k, v in df["status"].value_counts().items())
