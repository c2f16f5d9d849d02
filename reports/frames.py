"""One task's stored rows gathered from all runs, as the report draws them.

:func:`task_frame` gathers a task's rows in four steps:

1. one estimator configuration gets one label
   (:func:`~reports.labels.one_label_per_estimator`): labels of one estimator whose
   parameters agree once those at their current default are left out
   (:func:`harness.matching.match_params`) and whose recorded files
   (``artifacts``) agree become the shortest of them; a file's digest stands
   for the path parameter that named it (``checkpoint`` for
   ``checkpoint_sha256``), so the shipped InfoNet checkpoint is one estimator
   whether a run named its path or not (:func:`~reports.row_keys.estimator_keys`);
   ``device`` is left out where the cells ran on one device (it says where an
   estimate ran, not what was estimated); a parameter one sibling label sets is
   spelled in the others (``mine`` beside ``mine:steps=100`` reads
   ``mine:steps=500``);
2. a cell that an earlier run holds with the same result (status, estimate,
   seconds, host, device and finish time) is dropped, so a cell repeated by several files
   is counted once
   (:func:`~reports.copies.without_copies`);
3. where the task's rows span several settings
   (:func:`~reports.settings.setting_columns`: the task's facets, sample size and
   dimensions its view does not draw apart itself) each label becomes one per
   setting, ``ksg · n=2000``, ``doe · transform=cubic``, so every table and
   headline keeps them apart;
4. estimators from different runs that share a label pool their rows when the
   runs scored different cells with the same files; otherwise they are told
   apart as ``label [run id]``, with the files they used (e.g. ``@161570a6``,
   an InfoNet checkpoint's sha256 prefix) after the label when those differ
   (:func:`~reports.labels.run_labels`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import pandas as pd

from harness.params import stored_params
from reports.copies import without_copies
from reports.data import RunData
from reports.labels import one_label_per_estimator, run_labels
from reports.row_keys import cell_keys, estimator_keys
from reports.series_styles import label_styles
from reports.settings import setting_columns, setting_texts
from reports.view_kinds import view_kind

__all__ = ["TaskFrame", "report_tasks", "task_frame", "task_frames"]

_INTEGER_META = ("K", "d", "triplet", "member", "dependent", "n_samples", "seed", "instance_index")


def report_tasks(runs: Sequence[RunData]) -> list[str]:
    """The tasks in ``runs``, in order of first appearance."""
    tasks: list[str] = []
    for r in runs:
        if "task" in r.df:
            tasks += [str(t) for t in pd.unique(r.df["task"]) if str(t) not in tasks]
    return tasks


def task_frame(task: str, runs: Sequence[RunData]) -> tuple[pd.DataFrame, dict[str, tuple]]:
    """Rows of ``task`` from all runs: one label per estimator configuration, each cell
    once, labels split by setting and made unique across runs (the module's steps).

    Returns
    -------
    (DataFrame, dict)
        The rows, and ``label -> (estimator name, full params)`` for matching
        published rows. ``attrs`` hold each label's figure style
        (:func:`~reports.series_styles.series_styles`) and its name and setting
        (:func:`~reports.settings.label_settings`).
    """
    parts = [(r.run_id, r.df[r.df["task"] == task]) for r in runs]
    parts = [(rid, p) for rid, p in parts if len(p)]
    keys = [estimator_keys(p) for _, p in parts]
    cells = [cell_keys(p, task) for _, p in parts]
    parts, cells = without_copies(one_label_per_estimator(parts, keys), keys, cells)
    raw = pd.concat([p for _, p in parts]) if parts else pd.DataFrame()
    columns = setting_columns(task, view_kind(task, raw), raw)
    settings = [setting_texts(p, columns) for _, p in parts]
    shown = run_labels(parts, cells, settings)
    frames = []
    for (rid, p), setting in zip(parts, settings, strict=True):
        p = p.copy()
        pairs = zip(p["label"], setting, strict=True)
        p["label"] = [shown[str(lab), s, rid].shown for lab, s in pairs]
        frames.append(p)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    # meta columns of other tasks are all missing here; integer meta read back as float
    # (a frame mixing tasks) turns integral again so tables say K = 1, not 1.0
    from results.schema import RESULT_FIELDS

    empty = [c for c in df if c not in RESULT_FIELDS and df[c].isna().all()]
    df = _with_recipe(df.drop(columns=empty))
    for col in _INTEGER_META:
        if col in df and df[col].dtype.kind == "f":
            vals = df[col].dropna()
            if (vals == vals.round()).all():
                df[col] = df[col].astype("Int64")
    info: dict[str, tuple] = {}
    for _, r in df.drop_duplicates("label").iterrows():
        info[str(r["label"])] = (str(r["estimator"]), stored_params(r.get("estimator_params")))
    df.attrs["series_styles"] = label_styles(shown)
    df.attrs["label_settings"] = {v.shown: (v.name, s) for (_, s, _), v in shown.items()}
    return df, info


class TaskFrame(NamedTuple):
    """One task's rows as the report draws them (see :func:`task_frame`)."""

    task: str
    df: pd.DataFrame
    info: dict[str, tuple]
    kind: str


def task_frames(runs: Sequence[RunData]) -> list[TaskFrame]:
    """:func:`task_frame` and :func:`~reports.view_kinds.view_kind` of every task in
    ``runs``, built once for the overview and the task sections."""
    out = []
    for task in report_tasks(runs):
        df, info = task_frame(task, runs)
        out.append(TaskFrame(task, df, info, view_kind(task, df)))
    return out


def _with_recipe(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with a ``recipe`` column from the task parameters where runs of several
    recipes (``highdim_independence:recipe=paper|notebook``) meet, so their scores are
    kept apart instead of averaged."""
    if "recipe" in df or "task_params" not in df or not len(df):
        return df
    recipe = df["task_params"].map(lambda params: stored_params(params).get("recipe"))
    if recipe.nunique(dropna=True) < 2:
        return df
    return df.assign(recipe=recipe.fillna("default"))
