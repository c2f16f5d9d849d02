"""The results store and loaders.

>>> import results
>>> df = results.load("latest")          # newest run in ./runs/mi-harness.sqlite
>>> df = results.load("run.parquet")     # or an exported file
>>> results.runs()                       # one row per stored run
>>> results.sessions("latest")           # each invocation: command, versions, commit, host

Every result row carries the ``session`` that computed it and that session's
``git_commit``, ``git_dirty``, ``harness_version`` and ``host``, and the
``artifacts`` (files such as a checkpoint, by sha256) its estimator used; the
full package versions, CPU/GPU and thread settings are in :func:`sessions`.
"""

from __future__ import annotations

import os

import pandas as pd

from results import provenance
from results.export import is_export, read, to_frame, write
from results.store import Store, StoreError, default_path

__all__ = [
    "Store",
    "StoreError",
    "default_path",
    "load",
    "read",
    "runs",
    "sessions",
    "stored_frame",
    "to_frame",
    "write",
]

StorePath = str | os.PathLike[str] | None


def _is_file_ref(ref: str | os.PathLike[str]) -> bool:
    return is_export(ref)


def load(
    run_or_path: str | os.PathLike[str], store: StorePath = None, *, all_attempts: bool = False
) -> pd.DataFrame:
    """Result rows of one run as a DataFrame, meta keys expanded into columns.

    Parameters
    ----------
    run_or_path : str or path
        A run id (or unique prefix), ``"latest"``, or the path of a Parquet/CSV
        file written by ``python -m harness export``.
    store : str or path, optional
        The SQLite store to read run ids from; default :func:`default_path`.
    all_attempts : bool
        Keep every attempt of a cell, not only the latest.

    Returns
    -------
    pandas.DataFrame
        One row per cell; ``df.attrs`` holds ``run_id``, ``store`` (for a stored
        run) and ``provenance``, the run record and sessions as JSON
        (:mod:`results.provenance`), which :func:`write` puts into the file and
        :func:`read` takes back out (files written before it have none).
    """
    if _is_file_ref(run_or_path):
        return read(run_or_path)
    with Store(store, create=False) as st:
        return stored_frame(st, st.resolve(str(run_or_path)), all_attempts=all_attempts)


def stored_frame(st: Store, run_id: str, *, all_attempts: bool = False) -> pd.DataFrame:
    """The rows of ``run_id`` in the open store ``st`` as :func:`load` returns them."""
    rows = st.rows(run_id, all_attempts=all_attempts)
    record = st.get_run(run_id)
    df = to_frame(rows, record["estimators"])
    df.attrs.update(run_id=run_id, store=str(st.path))
    provenance.attach(df, record, st.sessions(run_id))
    return df


def runs(store: StorePath = None) -> pd.DataFrame:
    """One row per stored run: id, task, estimators, grid size, status, counts."""
    with Store(store, create=False) as st:
        recs = st.list_runs()
    rows = []
    for r in recs:
        counts = r["counts"]
        rows.append(
            {
                "run_id": r["run_id"],
                "created": r["created"],
                "task": r["task"],
                "estimators": ",".join(e["label"] for e in r["estimators"]),
                "seeds": len(r["seeds"]),
                "n": r["n"],
                "status": r["status"],
                "ok": counts.get("ok", 0),
                "failed": counts.get("failed", 0),
                "timeout": counts.get("timeout", 0),
                "skipped": counts.get("skipped", 0),
                "git_commit": r["git_commit"],
                "host": r["host"],
            }
        )
    cols = [
        "run_id",
        "created",
        "task",
        "estimators",
        "seeds",
        "n",
        "status",
        "ok",
        "failed",
        "timeout",
        "skipped",
        "git_commit",
        "host",
    ]
    return pd.DataFrame(rows, columns=cols)


def sessions(run: str, store: StorePath = None) -> pd.DataFrame:
    """One row per session (invocation) of ``run``: command, times, status, environment.

    Parameters
    ----------
    run : str
        Run id, unique prefix, or ``"latest"``.
    store : str or path, optional
        The SQLite store; default :func:`default_path`.

    Returns
    -------
    pandas.DataFrame
        Columns of :data:`results.schema.SESSION_FIELDS`; ``versions``, ``cpu``,
        ``gpu`` and ``threads`` hold decoded dicts/lists.
    """
    from results.schema import SESSION_FIELDS

    with Store(store, create=False) as st:
        recs = st.sessions(run)
    return pd.DataFrame(recs, columns=list(SESSION_FIELDS))
