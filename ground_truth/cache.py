"""On-disk task sets: arrays in a compressed ``.npz`` plus their build record.

A set is two files with the same stem: ``<stem>.npz`` holds the arrays (and a
copy of the record under the key ``__meta__``) and ``<stem>.json`` the build
record for people and tools to read. Files are read with
``allow_pickle=False``, so a set holds numbers and text only.

Sets built on demand live in :func:`cache_dir`: ``$MI_HARNESS_CACHE/tasks``
when that variable is set, else ``$XDG_CACHE_HOME/mi-harness/tasks``
(``~/.cache/mi-harness/tasks`` by default).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["UNREADABLE", "cache_dir", "find_sets", "load_set", "read_record", "save_set"]

#: What reading a stray, truncated or foreign set file raises.
UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)

_META_KEY = "__meta__"


def cache_dir() -> Path:
    """Directory for task sets built on demand (not created here)."""
    root = os.environ.get("MI_HARNESS_CACHE")
    if root:
        return Path(root).expanduser() / "tasks"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "mi-harness" / "tasks"


def save_set(path: str | Path, arrays: Mapping[str, np.ndarray], record: Mapping[str, Any]) -> Path:
    """Write ``arrays`` and ``record`` as ``<path>.npz`` and ``<path>.json``.

    Both files are written to temporary names and renamed into place, so a
    reader never sees a half-written set.

    Parameters
    ----------
    path : str or Path
        Target; a ``.npz`` suffix is added when missing.
    arrays : mapping of str to ndarray
        Numeric or string arrays (object arrays are refused).
    record : mapping
        JSON-serialisable build record.

    Returns
    -------
    Path
        The ``.npz`` file written.
    """
    target = Path(path)
    if target.suffix != ".npz":
        target = target.with_name(target.name + ".npz")
    target.parent.mkdir(parents=True, exist_ok=True)
    if _META_KEY in arrays:
        raise ValueError(f"array name {_META_KEY!r} is reserved")
    for key, arr in arrays.items():
        if np.asarray(arr).dtype == object:
            raise ValueError(f"array {key!r} has dtype object; only plain arrays can be stored")
    text = json.dumps(dict(record), indent=1, sort_keys=True)
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    payload[_META_KEY] = np.array(text)
    for suffix, write in (
        (".npz", lambda f: np.savez_compressed(f, **payload)),
        (".json", lambda f: f.write(text.encode() + b"\n")),
    ):
        final = target.with_suffix(suffix)
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
            os.chmod(tmp, 0o644)  # mkstemp makes files private; sets are meant to be shared
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return target


def load_set(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a set written by :func:`save_set`.

    Returns
    -------
    arrays : dict of str to ndarray
    record : dict
        The build record stored inside the ``.npz``.
    """
    with np.load(Path(path), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k != _META_KEY}
        record = json.loads(str(data[_META_KEY])) if _META_KEY in data.files else {}
    return arrays, record


def read_record(path: str | Path) -> dict[str, Any]:
    """The build record of a set, from its ``.json`` (or the ``.npz`` when missing)."""
    p = Path(path)
    side = p.with_suffix(".json")
    if side.is_file():
        with open(side, encoding="utf-8") as f:
            return json.load(f)
    with np.load(p, allow_pickle=False) as data:
        return json.loads(str(data[_META_KEY]))


def find_sets(dirs: Iterable[str | Path], pattern: str) -> list[tuple[Path, dict[str, Any]]]:
    """Every readable set in ``dirs`` whose ``.npz`` name matches ``pattern``.

    Unreadable files are skipped, so a stray or truncated file never blocks the
    sets next to it.
    """
    found = []
    for d in dirs:
        base = Path(d)
        if not base.is_dir():
            continue
        for npz in sorted(base.glob(pattern)):
            if not npz.name.endswith(".npz"):
                continue
            try:
                found.append((npz, read_record(npz)))
            except UNREADABLE:
                continue
    return found
