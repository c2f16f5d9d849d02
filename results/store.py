"""The append-only SQLite results store (stdlib ``sqlite3``, WAL mode).

Only the driver process writes. Result rows are inserted and committed as
cells finish and never updated; a run's record and its session records are
updated when a session starts and ends. Resume is a set difference over
``cell_key``. Committed rows survive Ctrl-C and a killed process (WAL).
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from results.schema import (
    JSON_RUN_FIELDS,
    RESULT_FIELDS,
    RUN_FIELDS,
    SCHEMA_VERSION,
    SESSION_FIELDS,
    added_columns,
    ddl,
    dumps,
)

__all__ = ["DEFAULT_PATH", "Store", "StoreError", "default_path", "new_run_id", "now"]

DEFAULT_PATH = Path("runs") / "mi-harness.sqlite"
ENV_VAR = "MI_HARNESS_STORE"


class StoreError(RuntimeError):
    """The store cannot be opened or written, or a run is not in it."""


def default_path() -> Path:
    """``$MI_HARNESS_STORE`` if set, else ``./runs/mi-harness.sqlite``."""
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else DEFAULT_PATH


def now() -> str:
    """Current UTC time, ISO 8601 with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def new_run_id() -> str:
    """A sortable, practically unique run id such as ``20250102-130405-a1b2``."""
    return datetime.now().strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def _explain(path: Path, exc: sqlite3.Error | OSError) -> StoreError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreError(
            f"results store {path} is locked by another process ({text}); retry later"
        )
    if "readonly" in text or "unable to open" in text or "read-only" in text:
        return StoreError(f"results store {path} is not writable ({text})")
    if "full" in text or isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return StoreError(
            f"results store {path}: disk full ({text}); rows stored so far are kept; "
            "free space, then continue with --resume"
        )
    return StoreError(f"results store {path}: {text}")


class Store:
    """One SQLite file holding the ``runs`` and ``results`` tables.

    Parameters
    ----------
    path : str or Path, optional
        Database file; default :func:`default_path`.
    create : bool
        Create the file (and its folder) if missing and check it is writable.
        With ``False`` a missing file is an error and nothing is written.
    busy_timeout : float
        Seconds to wait for another process's write lock before giving up.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        create: bool = True,
        busy_timeout: float = 10.0,
    ):
        self.path = Path(path) if path is not None else default_path()
        self.writable = create
        if self.path.is_dir():  # before SQLite says only "unable to open database file"
            raise StoreError(
                f"results store {self.path} is a directory, not a store file; "
                f"give a file, e.g. --store {self.path / 'mi-harness.sqlite'}"
            )
        if not create and not self.path.exists():
            raise StoreError(
                f"no results store at {self.path}; run 'python -m harness run ...' first "
                "or pass --store PATH"
            )
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create folder for results store {self.path}: {exc}") from None
        try:
            self._conn = sqlite3.connect(self.path, timeout=busy_timeout)
        except sqlite3.Error as exc:
            raise _explain(self.path, exc) from None
        self._conn.row_factory = sqlite3.Row
        try:
            self._setup(create)
        except sqlite3.Error as exc:
            self._conn.close()
            raise _explain(self.path, exc) from None
        except BaseException:
            self._conn.close()
            raise

    def _setup(self, create: bool) -> None:
        c = self._conn
        version = c.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise StoreError(
                f"results store {self.path} has schema version {version}; "
                f"this mi-harness reads version {SCHEMA_VERSION}"
            )
        if not create:
            if version == 0:
                raise StoreError(f"{self.path} is not an mi-harness results store")
            return
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=NORMAL")  # durable across a crash of this process
        # Take the write lock once now, so a read-only or locked file fails before any work.
        c.execute("BEGIN IMMEDIATE")
        for stmt in ddl():
            c.execute(stmt)
        for table in ("runs", "results", "sessions"):  # columns added since it was made
            have = [r[1] for r in c.execute(f"PRAGMA table_info({table})")]
            for stmt in added_columns(table, have):
                c.execute(stmt)
        c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        c.execute("COMMIT")

    # -- lifecycle -----------------------------------------------------------
    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, params: Iterable[Any] | Sequence[Sequence[Any]], many: bool = False):
        try:
            with self._conn:  # one transaction, committed on exit
                if many:
                    self._conn.executemany(sql, params)  # type: ignore[arg-type]
                else:
                    self._conn.execute(sql, params)  # type: ignore[arg-type]
        except (sqlite3.Error, OSError) as exc:
            raise _explain(self.path, exc) from None

    # -- runs ----------------------------------------------------------------
    def create_run(self, record: Mapping[str, Any]) -> None:
        """Insert a run record (keys from :data:`results.schema.RUN_FIELDS`)."""
        unknown = set(record) - set(RUN_FIELDS)
        if unknown:
            raise ValueError(f"unknown run fields: {sorted(unknown)}")
        if self.has_run(record["run_id"]):
            raise StoreError(f"run {record['run_id']} already exists in {self.path}")
        names = list(record)
        values = [dumps(record[k]) if k in JSON_RUN_FIELDS else record[k] for k in names]
        self._write(
            f"INSERT INTO runs ({','.join(names)}) VALUES ({','.join('?' * len(names))})", values
        )

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Set fields of a run record (session start/end, status)."""
        unknown = set(fields) - set(RUN_FIELDS)
        if unknown:
            raise ValueError(f"unknown run fields: {sorted(unknown)}")
        sets = ", ".join(f"{k} = ?" for k in fields)
        values = [dumps(v) if k in JSON_RUN_FIELDS else v for k, v in fields.items()]
        self._write(f"UPDATE runs SET {sets} WHERE run_id = ?", [*values, run_id])

    # -- sessions ------------------------------------------------------------
    def create_session(self, record: Mapping[str, Any]) -> None:
        """Insert a session record (keys from :data:`results.schema.SESSION_FIELDS`)."""
        unknown = set(record) - set(SESSION_FIELDS)
        if unknown:
            raise ValueError(f"unknown session fields: {sorted(unknown)}")
        names = list(record)
        values = [dumps(record[k]) if k in JSON_RUN_FIELDS else record[k] for k in names]
        self._write(
            f"INSERT INTO sessions ({','.join(names)}) VALUES ({','.join('?' * len(names))})",
            values,
        )

    def update_session(self, run_id: str, session: int, **fields: Any) -> None:
        """Set fields of a session record (end time, status)."""
        unknown = set(fields) - set(SESSION_FIELDS)
        if unknown:
            raise ValueError(f"unknown session fields: {sorted(unknown)}")
        sets = ", ".join(f"{k} = ?" for k in fields)
        values = [dumps(v) if k in JSON_RUN_FIELDS else v for k, v in fields.items()]
        self._write(
            f"UPDATE sessions SET {sets} WHERE run_id = ? AND session = ?",
            [*values, run_id, session],
        )

    def sessions(self, ref: str) -> list[dict[str, Any]]:
        """Session records of a run, first to last, JSON fields decoded."""
        run_id = self.resolve(ref)
        cur = self._conn.execute(
            "SELECT * FROM sessions WHERE run_id = ? ORDER BY session", (run_id,)
        )
        return [_decode_run(r) for r in cur]

    def has_run(self, run_id: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return row is not None

    def resolve(self, ref: str) -> str:
        """Run id for ``ref``: an exact id, ``"latest"``, or a unique id prefix."""
        if ref == "latest":
            row = self._conn.execute(
                "SELECT run_id FROM runs ORDER BY created DESC, rowid DESC LIMIT 1"
            ).fetchone()
            if row is None:
                raise StoreError(f"no runs in {self.path}")
            return row[0]
        if self.has_run(ref):
            return ref
        found = [
            r[0]
            for r in self._conn.execute(
                # not LIKE: it ignores ASCII case
                "SELECT run_id FROM runs WHERE substr(run_id, 1, ?) = ?",
                (len(ref), ref),
            )
        ]
        if len(found) == 1:
            return found[0]
        if found:
            raise StoreError(f"run prefix {ref!r} is ambiguous: {', '.join(sorted(found))}")
        raise StoreError(f"no run {ref!r} in {self.path} (see 'python -m harness runs')")

    def get_run(self, ref: str) -> dict[str, Any]:
        """The run record for ``ref`` with JSON fields decoded."""
        run_id = self.resolve(ref)
        row = self._conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return _decode_run(row)

    def list_runs(self) -> list[dict[str, Any]]:
        """Every run record, oldest first, with per-status counts of latest attempts."""
        out = []
        counts: dict[str, dict[str, int]] = {}
        for r in self._conn.execute(
            "SELECT run_id, status, COUNT(*) FROM results r WHERE attempt = "
            "(SELECT MAX(attempt) FROM results s WHERE s.run_id = r.run_id "
            "AND s.cell_key = r.cell_key) GROUP BY run_id, status"
        ):
            counts.setdefault(r[0], {})[r[1]] = r[2]
        for row in self._conn.execute("SELECT * FROM runs ORDER BY created, rowid"):
            rec = _decode_run(row)
            rec["counts"] = counts.get(rec["run_id"], {})
            out.append(rec)
        return out

    # -- results ---------------------------------------------------------------
    def append(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert result rows and commit them in one transaction."""
        if not rows:
            return
        placeholders = ",".join("?" * len(RESULT_FIELDS))
        values = [[row.get(k) for k in RESULT_FIELDS] for row in rows]
        self._write(
            f"INSERT INTO results ({','.join(RESULT_FIELDS)}) VALUES ({placeholders})",
            values,
            many=True,
        )

    def rows(self, ref: str, *, all_attempts: bool = False) -> list[dict[str, Any]]:
        """Result rows of a run (latest attempt per cell unless ``all_attempts``).

        Rows come in grid order (seed, instance, estimator as listed in the run,
        attempt), whatever order the cells finished in.
        """
        run_id = self.resolve(ref)
        cols = ",".join(RESULT_FIELDS)
        if all_attempts:
            sql = f"SELECT {cols} FROM results WHERE run_id = ? ORDER BY id"
        else:
            sql = (
                f"SELECT {cols} FROM results r WHERE run_id = ? AND attempt = "
                "(SELECT MAX(attempt) FROM results s WHERE s.run_id = r.run_id "
                "AND s.cell_key = r.cell_key) ORDER BY id"
            )
        rows = [dict(r) for r in self._conn.execute(sql, (run_id,))]
        labels = [e["label"] for e in self.get_run(run_id)["estimators"]]
        position = {label: i for i, label in enumerate(labels)}
        rows.sort(
            key=lambda r: (
                r["seed"],
                r["instance_index"],
                position.get(r["label"], len(labels)),
                r["attempt"],
            )
        )
        return rows

    def cell_states(self, run_id: str) -> dict[str, tuple[int, str]]:
        """``cell_key -> (attempts so far, status of the latest attempt)`` for a run."""
        out: dict[str, tuple[int, str]] = {}
        for key, attempt, status in self._conn.execute(
            "SELECT cell_key, attempt, status FROM results WHERE run_id = ? ORDER BY id",
            (run_id,),
        ):
            prev = out.get(key)
            if prev is None or attempt >= prev[0]:
                out[key] = (attempt, status)
        return out


def _decode_run(row: sqlite3.Row) -> dict[str, Any]:
    rec = dict(row)
    for k in JSON_RUN_FIELDS:
        if rec.get(k) is not None:
            rec[k] = json.loads(rec[k])
    if rec.get("git_dirty") is not None:
        rec["git_dirty"] = bool(rec["git_dirty"])
    return rec
