"""The settings a task's rows span (``n=2000``, ``d=4, transform=cubic``): the columns
that set them apart, each row's and each label's setting, and each label paired with
its setting's reference (its KSG label, else its first)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import pandas as pd

from harness.params import value_text
from reports.rows import ok_rows
from reports.view_kinds import task_facets, view_kind

__all__ = [
    "SETTING_NAMES",
    "Paired",
    "label_settings",
    "row_settings",
    "setting_columns",
    "setting_texts",
    "versus_first",
]

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
SETTING_NAMES = {"n_samples": "n", "dim_x": "d_x", "dim_y": "d_y"}


def setting_columns(task: str, kind: str, df: pd.DataFrame, first: Sequence[str] = ()) -> list[str]:
    """The columns whose values set ``task``'s settings apart in view ``kind``.

    The task's facets (:func:`~reports.view_kinds.task_facets`), then the sample
    size and the dimensions, each where ``df``'s rows hold several values of it and
    it sets them apart further than the columns before it (``mvn``'s ``d`` already
    sets its dimensions); never a column the view draws apart itself (the AUC
    view draws each n, d and dependence, the order view each d). Columns ``first``
    are tried before the facets.
    """
    axes = _VIEW_AXES.get(kind, ())
    out: list[str] = []
    groups = 1
    for col in dict.fromkeys((*first, *task_facets(task), *_PROBLEM_COLUMNS)):
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
            f"{SETTING_NAMES.get(c, c)}={value_text(v)}"
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


class Paired(NamedTuple):
    """What :func:`versus_first` returns: the reference's name (``ksg``; several
    joined by ``/``) and the other labels' differences from it stacked, the label
    heading the index. ``frame.attrs["unpaired"]`` names the labels that could not be
    paired with their reference (:attr:`unpaired`)."""

    first: str
    frame: pd.DataFrame

    @property
    def unpaired(self) -> list[str]:
        """The labels left out: they share no cell with their setting's reference."""
        return list(self.frame.attrs.get("unpaired", []))

    def note(self, what: str = "samples") -> str:
        """A sentence for the table's note naming :attr:`unpaired` (``""`` when none):
        ``" Not paired with ksg, as they share no samples with it: kde."``."""
        if not self.unpaired:
            return ""
        return (
            f" Not paired with {self.first}, as they share no {what} with it: "
            f"{', '.join(self.unpaired)}."
        )


def _reference(labels: Sequence[str], estimators: dict[str, str]) -> str:
    """The label ``labels`` are paired with: the first of the speed-ratio reference
    estimator (:attr:`harness.compare.Tolerances.reference`, KSG), else the first."""
    from harness.compare import Tolerances

    return next((lab for lab in labels if estimators.get(lab) == Tolerances.reference), labels[0])


def versus_first(
    df: pd.DataFrame,
    difference: Callable[[str, str], pd.DataFrame],
    skip: tuple[type[Exception], ...],
) -> Paired | None:
    """Every label of ``df`` but its setting's reference, ``difference(other,
    reference)`` stacked (labels in the run's order); None when none could be paired
    (``difference`` raised one of ``skip`` for each).

    Each label is paired with the reference of its own setting
    (:func:`label_settings`): its KSG label, as ``harness compare`` takes KSG for
    its speed ratios, or where it has none its first label. The reference is then
    named without its setting (``ksg`` for ``ksg · n=50`` and ``ksg · n=2000``; their
    names joined by ``/`` where they differ). Labels for which ``difference``
    raised are named in ``attrs["unpaired"]`` (:attr:`Paired.unpaired`).
    """
    named = label_settings(df)
    ok = ok_rows(df)
    estimators = (
        dict(zip(ok["label"].astype(str), ok["estimator"].astype(str), strict=True))
        if "estimator" in ok
        else {}
    )
    by_setting: dict[str, list[str]] = {}
    for label in map(str, pd.unique(ok["label"])):
        by_setting.setdefault(named.get(label, (label, ""))[1], []).append(label)
    firsts = {s: _reference(labels, estimators) for s, labels in by_setting.items()}
    parts = {}
    unpaired = []
    for label in map(str, pd.unique(ok["label"])):
        reference = firsts[named.get(label, (label, ""))[1]]
        if label == reference:
            continue
        try:
            parts[label] = difference(label, reference)
        except skip:
            unpaired.append(label)
    if not parts:
        return None
    first = dict.fromkeys(named.get(lab, (lab, ""))[0] for lab in firsts.values())
    frame = pd.concat(parts, names=["label"])
    frame.attrs["unpaired"] = unpaired
    return Paired(" / ".join(first), frame)
