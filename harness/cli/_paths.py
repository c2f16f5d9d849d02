"""What verbs say about the paths they take: the results store (``--store``, for ``info``)
and an output file (``-o``). A store that is a directory is refused by the store itself."""

from __future__ import annotations

import os
from pathlib import Path

PathArg = str | os.PathLike[str] | None


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
    from results.store import Store, StoreError, default_path

    store = Path(path) if path is not None else default_path()
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
