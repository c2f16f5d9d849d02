"""Column layout of the results store: the ``runs`` and ``results`` tables.

One row of ``results`` is one attempt at one cell (estimator x instance x
seed); rows are only ever inserted. One row of ``runs`` describes a run's grid
and the environment of its first session; one row of ``sessions`` describes
each invocation that worked on the run (the first, and every ``--resume``),
with its own command, versions, commit and host. Every result row names its
session and carries the commit and harness version it was computed with, so
exported rows trace back to code without the store. Instance ``meta`` is
stored as JSON and expanded into columns when loaded
(:func:`results.export.to_frame`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from typing import Any

SCHEMA_VERSION = 2

#: Cell outcomes. ``ok`` has an estimate; the others carry a ``message``.
STATUSES = ("ok", "failed", "timeout", "skipped")

#: Run outcomes, written when a session ends.
RUN_STATUSES = ("running", "finished", "interrupted", "crashed")

RESULT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "TEXT NOT NULL"),
    ("cell_key", "TEXT NOT NULL"),
    ("attempt", "INTEGER NOT NULL"),
    ("label", "TEXT NOT NULL"),  # spec with non-default params, e.g. "ksg:k=5"
    ("estimator", "TEXT NOT NULL"),
    ("estimator_params", "TEXT NOT NULL"),  # JSON
    ("task", "TEXT NOT NULL"),
    ("task_params", "TEXT NOT NULL"),  # JSON
    ("instance_id", "TEXT"),
    ("instance_index", "INTEGER NOT NULL"),
    ("seed", "INTEGER NOT NULL"),  # sample seed; an estimator's own seed is in its params
    ("n_samples", "INTEGER"),
    ("dim_x", "INTEGER"),
    ("dim_y", "INTEGER"),
    ("true_mi", "REAL"),
    ("true_mi_se", "REAL"),
    ("estimate", "REAL"),
    ("error", "REAL"),  # estimate - true_mi
    ("seconds", "REAL"),
    ("device", "TEXT"),
    ("status", "TEXT NOT NULL"),
    ("message", "TEXT"),
    ("meta", "TEXT"),  # JSON object of instance labels
    ("finished_at", "TEXT"),
    ("session", "INTEGER"),  # sessions.session of the invocation that computed the row
    ("git_commit", "TEXT"),  # commit of that session's source tree
    ("git_dirty", "INTEGER"),  # 1: the tree had uncommitted changes
    ("harness_version", "TEXT"),
    ("host", "TEXT"),
)

RUN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "TEXT PRIMARY KEY"),
    ("created", "TEXT NOT NULL"),
    ("command", "TEXT"),
    ("argv", "TEXT"),  # JSON list
    ("task", "TEXT NOT NULL"),
    ("task_params", "TEXT NOT NULL"),  # JSON
    ("estimators", "TEXT NOT NULL"),  # JSON list of {"name", "params", "label"}
    ("seeds", "TEXT NOT NULL"),  # JSON list
    ("n", "INTEGER"),
    ("device", "TEXT"),
    ("executor", "TEXT"),
    ("workers", "INTEGER"),
    ("timeout", "REAL"),
    ("prepare_timeout", "REAL"),  # seconds prepare() gets at least under the timeout
    ("versions", "TEXT"),  # JSON
    ("git_commit", "TEXT"),
    ("git_dirty", "INTEGER"),
    ("host", "TEXT"),
    ("platform", "TEXT"),
    ("python", "TEXT"),
    ("cpu", "TEXT"),  # JSON
    ("gpu", "TEXT"),  # JSON
    ("threads", "TEXT"),  # JSON
    ("started", "TEXT"),
    ("finished", "TEXT"),
    ("status", "TEXT NOT NULL"),
    ("sessions", "INTEGER NOT NULL DEFAULT 1"),
)

#: One row per invocation working on a run (session 1 creates it, each resume adds one).
SESSION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "TEXT NOT NULL"),
    ("session", "INTEGER NOT NULL"),
    ("command", "TEXT"),
    ("argv", "TEXT"),  # JSON list
    ("executor", "TEXT"),
    ("workers", "INTEGER"),
    ("timeout", "REAL"),
    ("prepare_timeout", "REAL"),  # seconds prepare() gets at least under the timeout
    ("versions", "TEXT"),  # JSON
    ("git_commit", "TEXT"),
    ("git_dirty", "INTEGER"),
    ("host", "TEXT"),
    ("pid", "INTEGER"),  # driver process, to refuse resuming a run that is still going
    ("platform", "TEXT"),
    ("python", "TEXT"),
    ("cpu", "TEXT"),  # JSON
    ("gpu", "TEXT"),  # JSON
    ("threads", "TEXT"),  # JSON
    ("started", "TEXT"),
    ("finished", "TEXT"),
    ("status", "TEXT NOT NULL"),
    ("cells", "INTEGER"),  # cells this session set out to run
)

RESULT_FIELDS = tuple(name for name, _ in RESULT_COLUMNS)
RUN_FIELDS = tuple(name for name, _ in RUN_COLUMNS)
SESSION_FIELDS = tuple(name for name, _ in SESSION_COLUMNS)
JSON_RUN_FIELDS = (
    "argv",
    "task_params",
    "estimators",
    "seeds",
    "versions",
    "cpu",
    "gpu",
    "threads",
)


def ddl() -> list[str]:
    """SQL statements that create the store's tables and indexes."""
    runs = ",\n  ".join(f"{n} {t}" for n, t in RUN_COLUMNS)
    res = ",\n  ".join(f"{n} {t}" for n, t in RESULT_COLUMNS)
    ses = ",\n  ".join(f"{n} {t}" for n, t in SESSION_COLUMNS)
    return [
        f"CREATE TABLE IF NOT EXISTS runs (\n  {runs}\n)",
        f"CREATE TABLE IF NOT EXISTS results (\n  id INTEGER PRIMARY KEY,\n  {res}\n)",
        f"CREATE TABLE IF NOT EXISTS sessions (\n  {ses},\n  PRIMARY KEY (run_id, session)\n)",
        "CREATE INDEX IF NOT EXISTS results_run ON results (run_id, cell_key)",
    ]


def added_columns(table: str, have: Iterable[str]) -> list[str]:
    """Statements adding the columns of ``table`` (``"runs"``, ``"results"`` or
    ``"sessions"``) missing from a store made before they were (``have``: the
    columns it has). Such a column is nullable: its older rows read as NULL."""
    columns = {"runs": RUN_COLUMNS, "results": RESULT_COLUMNS, "sessions": SESSION_COLUMNS}
    present = set(have)
    missing = [(n, t) for n, t in columns[table] if n not in present]
    return [f"ALTER TABLE {table} ADD COLUMN {n} {t}" for n, t in missing]


#: Non-finite floats as :func:`jsonable` writes them (JSON has none): text to read back.
NON_FINITE_TEXT = {repr(v): v for v in (math.inf, -math.inf, math.nan)}


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (NumPy scalars/arrays, tuples, non-finite floats
    as the text of :data:`NON_FINITE_TEXT`)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()  # NumPy scalar
    elif hasattr(value, "tolist"):
        return jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def dumps(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, NumPy values turned into Python ones."""
    return json.dumps(jsonable(value), sort_keys=True, separators=(",", ":"))


def cell_key(
    estimator: str,
    estimator_params: dict[str, Any] | str,
    task: str,
    task_params: dict[str, Any] | str,
    instance_index: int,
    seed: int,
) -> str:
    """Stable identity of one cell: 20 hex digits of a SHA-256 over its definition.

    Parameters may be given as dicts or as their :func:`dumps` text (cheaper in
    loops). The task parameters include the sample size ``n``, so equal keys
    mean the same estimator configuration on the same samples.
    """
    ep = estimator_params if isinstance(estimator_params, str) else dumps(estimator_params)
    tp = task_params if isinstance(task_params, str) else dumps(task_params)
    text = "\x1f".join((estimator, ep, task, tp, str(int(instance_index)), str(int(seed))))
    return hashlib.sha256(text.encode()).hexdigest()[:20]
