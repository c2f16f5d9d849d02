"""Checks of the paths verbs take: a results store (``--store``) and an output file (``-o``)."""

from __future__ import annotations

import os
from pathlib import Path

PathArg = str | os.PathLike[str] | None


def store_path(path: PathArg) -> Path:
    """The store ``--store`` names, or the default store when it was not given."""
    from results.store import default_path

    return Path(path) if path is not None else default_path()


def check_store(path: PathArg) -> None:
    """Refuse a ``--store`` that is a directory, before SQLite says "unable to open".

    Parameters
    ----------
    path : str or path, optional
        The ``--store`` value; ``None`` checks the default store.

    Raises
    ------
    StoreError
        If the store path is an existing directory.
    """
    from results.store import StoreError

    store = store_path(path)
    if store.is_dir():
        raise StoreError(
            f"results store {store} is a directory, not a store file; "
            f"give a file, e.g. --store {store / 'mi-harness.sqlite'}"
        )


def describe_store(path: PathArg) -> str:
    """``info``'s store line: the path and whether a store is there (and how many runs).

    Parameters
    ----------
    path : str or path, optional
        The ``--store`` value; ``None`` describes the default store.

    Returns
    -------
    str
        Such as ``"/x/runs.sqlite (3 runs)"`` or ``"/x/runs.sqlite (does not exist yet; ...)"``.
    """
    from results.store import Store, StoreError

    store = store_path(path)
    if store.is_dir():
        return f"{store} (a directory, not a store file)"
    if not store.exists():
        return f"{store} (does not exist yet; 'python -m harness run' creates it)"
    try:
        with Store(store, create=False) as st:
            count = len(st.list_runs())
    except StoreError as exc:
        return f"{store} (unreadable: {exc})"
    return f"{store} ({count} run{'' if count == 1 else 's'})"


def output_folder(path: str | os.PathLike[str]) -> Path | None:
    """Check an output file path; return its folder if writing it will create that folder.

    Parameters
    ----------
    path : str or path
        The ``-o`` value.

    Returns
    -------
    Path or None
        The parent folder of ``path`` when it does not exist yet (the writers
        create it), else ``None``.

    Raises
    ------
    SpecError
        If ``path`` is a directory, or a file stands where a folder is needed.
    """
    from harness.interface import SpecError

    out = Path(path)
    if out.is_dir():
        raise SpecError(f"output {out} is a directory; give a file path inside it")
    existing = out.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise SpecError(f"cannot write {out}: {existing} is a file, not a folder")
    return None if out.parent.exists() else out.parent
