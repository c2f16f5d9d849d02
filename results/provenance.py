"""A run's provenance (its record and sessions) carried along with its rows.

A DataFrame loaded from the store, or returned by ``harness.run``, holds the
run record and its sessions as JSON text in ``df.attrs["provenance"]``.
:func:`results.export.write` puts that text into the exported file, in the
column :data:`COLUMN` of the first row (the other rows leave it empty, so a
CSV grows by one line's worth, not one copy per row), and
:func:`results.export.read` moves it back into ``df.attrs``. A report of the
file then shows the command, commit, dirty flag and package versions of every
session, as a report of the stored run does.

The command is written with token/secret/password-like arguments masked, and
``argv`` is left out (the command holds the same words).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from results.schema import dumps

__all__ = ["ATTR", "COLUMN", "attach", "is_secret_key", "of", "parse", "redact", "text"]

#: Column of an exported file holding the provenance JSON (first row only).
COLUMN = "run_provenance"
#: Key of ``df.attrs`` holding the provenance JSON text.
ATTR = "provenance"
#: Version of the JSON layout, for readers of later files.
FORMAT = 1
#: Fields of run and session records that are not exported.
_LEFT_OUT = ("argv",)
#: Record fields holding environment dicts whose secret-looking keys are masked.
_ENVIRONMENT = ("versions", "cpu", "gpu", "threads")

_SECRET_KEY = re.compile(r"(token|secret|passw(or)?d|api[_-]?key|credential)", re.IGNORECASE)
_SECRET_ARG = re.compile(
    r"((?:token|secret|passw(?:or)?d|api[_-]?key|credential)[A-Za-z_-]*[=:\s]+)(\S+)",
    re.IGNORECASE,
)


def redact(value: Any) -> str:
    """``value`` as text, values of token/secret/password-like arguments replaced by ``***``."""
    return _SECRET_ARG.sub(lambda m: m.group(1) + "***", str(value))


def is_secret_key(key: Any) -> bool:
    """Whether a dict key names a secret (``HF_TOKEN``, ``api_key``, ...)."""
    return bool(_SECRET_KEY.search(str(key)))


def _mask(value: Any) -> Any:
    """``value`` with the values of secret-looking keys in nested dicts replaced by ``***``."""
    if isinstance(value, Mapping):
        return {k: "***" if is_secret_key(k) else _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def _scrub(record: Mapping[str, Any]) -> dict[str, Any]:
    """A run or session record fit for a shared file: no argv, secrets masked."""
    out = {k: v for k, v in record.items() if k not in _LEFT_OUT}
    if out.get("command") is not None:
        out["command"] = redact(out["command"])
    for key in _ENVIRONMENT:
        if key in out:
            out[key] = _mask(out[key])
    return out


def text(record: Mapping[str, Any], sessions: Sequence[Mapping[str, Any]]) -> str:
    """The provenance JSON of a run record (as ``Store.get_run`` returns it) and its sessions."""
    return dumps(
        {
            "format": FORMAT,
            "run": _scrub(record),
            "sessions": [_scrub(s) for s in sessions],
        }
    )


def parse(value: Any) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The run record and sessions in provenance JSON; ``(None, [])`` if it holds none."""
    if not isinstance(value, str) or not value:
        return None, []
    try:
        data = json.loads(value)
    except ValueError:
        return None, []
    if not isinstance(data, dict) or not isinstance(data.get("run"), dict):
        return None, []
    sessions = [s for s in data.get("sessions") or [] if isinstance(s, dict)]
    return data["run"], sessions


def attach(
    df: pd.DataFrame, record: Mapping[str, Any], sessions: Sequence[Mapping[str, Any]]
) -> pd.DataFrame:
    """Put the provenance of ``record`` and ``sessions`` into ``df.attrs`` (returns ``df``)."""
    df.attrs[ATTR] = text(record, sessions)
    return df


def of(df: pd.DataFrame) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The run record and sessions ``df`` carries in its attrs.

    ``(None, [])`` if it carries none, or if its ``run_id`` column names another
    run than the record (rows relabelled or mixed after loading: the record
    cannot vouch for them).
    """
    record, sessions = parse(df.attrs.get(ATTR))
    if record is None or not _same_run(df, record):
        return None, []
    return record, sessions


def _same_run(df: pd.DataFrame, record: Mapping[str, Any]) -> bool:
    """Whether every row of ``df`` with a run id belongs to the run of ``record``."""
    if "run_id" not in df:
        return True
    return {str(v) for v in pd.unique(df["run_id"].dropna())} <= {str(record.get("run_id"))}
