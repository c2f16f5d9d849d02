"""The settings a task's rows span (``n=2000``, ``d=4, transform=cubic``): the columns
that set them apart, each row's and each label's setting, and each label paired with
the first label of its setting."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from harness.params import value_text
from reports.rows import ok_rows
from reports.view_kinds import task_facets, view_kind

__all__ = ["label_settings", "row_settings", "setting_columns", "setting_texts", "versus_first"]

#: Columns of a row that change the estimation problem besides the task's facets.
_PROBLEM_COLUMNS = ("n_samples", "dim_x", "dim_y")

#: Columns each view draws apart itself (its table columns, curves or panels), so
#: they never split its labels.
_VIEW_AXES = {
    "order": ("d", "dim_x", "dim_y"),
    "auc": ("dependence", "d", "recipe", "n_samples", "dim_x", "dim_y"),
    "latency": ("n_samples",),
    "rescaled": ("d", "n_samples", "dim_x", "dim_y"),
}

#: How a setting names its columns (``n=50``).
_SETTING_NAMES = {"n_samples": "n", "dim_x": "d_x", "dim_y": "d_y"}


def setting_columns(task: str, kind: str, df: pd.DataFrame) -> list[str]:
    """The columns whose values set ``task``'s settings apart in view ``kind``.

    The task's facets (:func:`~reports.view_kinds.task_facets`), then the sample
    size and the dimensions, each where ``df``'s rows hold several values of it and
    it sets them apart further than the columns before it (``mvn``'s ``d`` already
    sets its dimensions); never a column the view draws apart itself (the AUC
    view draws each n, d and dependence, the order view each d).
    """
    axes = _VIEW_AXES.get(kind, ())
    out: list[str] = []
    groups = 1
    for col in dict.fromkeys((*task_facets(task), *_PROBLEM_COLUMNS)):
        if col in axes or col not in df:
            continue
        count = len(df[[*out, col]].dropna().drop_duplicates())
        if count > groups:
            out.append(col)
            groups = count
    return out


def setting_texts(rows: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """Each row's setting: ``"n=2000"``, ``"d=4, transform=cubic"`` (``""`` without
    ``columns``). A row missing a value (a cell that failed before its instance was
    drawn) takes that of the rows of its task parameters."""
    if not columns or not len(rows):
        return pd.Series("", index=rows.index, dtype=object)
    values = []
    for col in columns:
        vals = rows[col]
        if vals.isna().any() and "task_params" in rows:
            vals = vals.fillna(rows.groupby("task_params")[col].transform("first"))
        values.append(vals.astype(object))
    texts = [
        ", ".join(
            f"{_SETTING_NAMES.get(c, c)}={value_text(v)}"
            for c, v in zip(columns, vals, strict=True)
            if not pd.isna(v)
        )
        for vals in zip(*values, strict=True)
    ]
    return pd.Series(texts, index=rows.index, dtype=object)


def label_settings(df: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """``label -> (name, setting)`` for the labels of ``df``: the label without its
    setting, and the setting (:func:`~reports.frames.task_frame`: ``("ksg", "n=50")``
    for ``ksg · n=50``). A label :func:`~reports.frames.task_frame` did not name is its
    own name, in setting ``""``."""
    named = df.attrs.get("label_settings", {})
    labels = map(str, pd.unique(df["label"])) if "label" in df else []
    return {lab: tuple(named.get(lab, (lab, ""))) for lab in labels}


def row_settings(df: pd.DataFrame) -> pd.Series:
    """Each row's setting (``"n=50"``; ``""`` where the task has one): that of its label
    (:func:`label_settings`), or for rows :func:`~reports.frames.task_frame` did not
    gather, that of their values of :func:`setting_columns`."""
    if "label_settings" in df.attrs and "label" in df:
        named = label_settings(df)
        return df["label"].map(lambda lab: named[str(lab)][1]).astype(object)
    task = str(df["task"].iloc[0]) if "task" in df and len(df) else ""
    return setting_texts(df, setting_columns(task, view_kind(task, df), df))


def versus_first(
    df: pd.DataFrame,
    difference: Callable[[str, str], pd.DataFrame],
    skip: tuple[type[Exception], ...],
) -> tuple[str, pd.DataFrame] | None:
    """The first label of ``df`` and every other label's ``difference(other, first)``
    stacked, the label heading the index (labels in the run's order); None when none
    could be paired (``difference`` raised one of ``skip`` for each).

    Each label is paired with the first label of its own setting
    (:func:`label_settings`), and the first is then named without its setting
    (``ksg`` for ``ksg · n=50`` and ``ksg · n=2000``; their names joined by ``/``
    where they differ).
    """
    named = label_settings(df)
    firsts: dict[str, str] = {}
    parts = {}
    for label in map(str, pd.unique(ok_rows(df)["label"])):
        setting = named.get(label, (label, ""))[1]
        if setting not in firsts:
            firsts[setting] = label
            continue
        try:
            parts[label] = difference(label, firsts[setting])
        except skip:
            continue
    if not parts:
        return None
    first = dict.fromkeys(named.get(lab, (lab, ""))[0] for lab in firsts.values())
    return " / ".join(first), pd.concat(parts, names=["label"])
