"""Runs for a report: rows, run record and sessions, and their provenance lines.

A run comes from the results store (with its run record and sessions), from
an exported Parquet/CSV file, or as a DataFrame. A file or DataFrame carries
the run record and sessions in ``df.attrs["provenance"]`` when it was
exported or loaded by this version (:mod:`results.provenance`), and then
gets the same provenance card as the stored run; an older file has its
provenance only in the row columns (commit, dirty flag, version, host, device).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.environment import plugin_lines
from harness.spans import int_spans
from results import provenance as carried
from results.provenance import is_secret_key, redact

__all__ = ["RunData", "load_run", "provenance", "redact"]


@dataclass
class RunData:
    """One run: its rows and, when it came from a store, its record and sessions."""

    run_id: str
    df: pd.DataFrame
    source: str
    record: dict[str, Any] | None = None
    sessions: list[dict[str, Any]] = field(default_factory=list)


def load_run(ref: Any, store: str | os.PathLike[str] | None = None) -> RunData:
    """Load one run for a report.

    Parameters
    ----------
    ref : str, path or DataFrame
        Run id (or unique prefix, or ``"latest"``), an exported ``.parquet`` /
        ``.csv`` file, or rows already loaded (``df.attrs["run_id"]`` names it).
    store : str or path, optional
        The results store for run ids; default ``$MI_HARNESS_STORE`` or
        ``./runs/mi-harness.sqlite``.
    """

    import results
    from results import Store
    from results.export import is_export

    if isinstance(ref, pd.DataFrame):
        run_id = ref.attrs.get("run_id") or _first(ref, "run_id") or "rows"
        return _carried(ref, str(run_id), "DataFrame")
    if is_export(ref):
        df = results.load(ref)
        return _carried(df, str(_first(df, "run_id") or os.fspath(ref)), os.fspath(ref))
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
            (
                "task",
                f"{rec.get('task')} {json.dumps(rec.get('task_params') or {}, sort_keys=True)}",
            ),
            ("estimators", ", ".join(e.get("label", "?") for e in rec.get("estimators") or [])),
            *(
                (f"{e.get('label', '?')} files", _artifact_text(e["artifacts"]))
                for e in rec.get("estimators") or []
                if e.get("artifacts")
            ),
            *(("plugins", "; ".join(plugin_lines(rec.get("versions")))),) * _has_plugins(rec),
            ("seeds", seeds_text(rec.get("seeds") or [])),
            ("n", str(rec.get("n") if rec.get("n") is not None else "task default")),
            ("created", str(rec.get("created") or "–")),
            ("status", str(rec.get("status") or "–")),
            ("device requested", str(rec.get("device") or "–")),
        ]
    else:
        summary += [
            ("task", _unique(df, "task")),
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
        summary.append(("last cell finished", str(df["finished_at"].dropna().max())))
    sessions = []
    for s in run.sessions:
        sessions.append(
            [
                ("session", str(s.get("session"))),
                ("command", redact(s.get("command") or "–")),
                ("git commit", str(s.get("git_commit") or "–")),
                ("tree", _dirty(s.get("git_dirty"))),
                ("started", str(s.get("started") or "–")),
                ("finished", str(s.get("finished") or "–")),
                ("status", str(s.get("status") or "–")),
                ("host", str(s.get("host") or "–")),
                ("platform", str(s.get("platform") or "–")),
                ("executor", f"{s.get('executor') or '–'} (workers {s.get('workers') or 1})"),
                ("timeout", "none" if s.get("timeout") is None else f"{s.get('timeout')} s"),
                ("versions", _compact(_without_plugins(s.get("versions")))),
                *(("plugins", "; ".join(plugin_lines(s.get("versions")))),) * _has_plugins(s),
                ("cpu", _compact(s.get("cpu"))),
                ("gpu", _compact(s.get("gpu")) if s.get("gpu") else "none"),
                ("threads", _compact(s.get("threads"))),
            ]
        )
    return {"run_id": run.run_id, "source": run.source, "summary": summary, "sessions": sessions}


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
