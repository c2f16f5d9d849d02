"""A cell that several files hold with the same result, counted once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from reports.row_keys import joined, result_keys

__all__ = ["without_copies"]

#: Columns a row needs for its cell and result to be compared with another run's.
_COPY_COLUMNS = frozenset({"seed", "instance_index", "estimate"})


def without_copies(
    parts: Sequence[tuple[str, pd.DataFrame]],
    keys: Sequence[pd.Series],
    cells: Sequence[pd.Series],
) -> tuple[list[tuple[str, pd.DataFrame]], list[pd.Series]]:
    """``parts`` and their ``cells`` (:func:`~reports.row_keys.cell_keys`) without the
    rows whose cell an earlier run holds for the same estimator configuration (``keys``:
    :func:`~reports.row_keys.estimator_keys`) with the same result, so that a cell
    repeated by several files counts once; rows whose results differ stay, and tell
    their runs apart (:func:`~reports.labels.run_labels`). Rows without a seed,
    instance or estimate stay."""
    seen: set[str] = set()
    out, kept_cells = [], []
    for (rid, p), k, cell in zip(parts, keys, cells, strict=True):
        if _COPY_COLUMNS <= set(p):
            full = joined([k, cell, result_keys(p)]).tolist()
            keep = np.array([key not in seen for key in full], dtype=bool)
            seen.update(full)
            p, cell = p[keep], cell[keep]
        if len(p):
            out.append((rid, p))
            kept_cells.append(cell)
    return out, kept_cells
