"""One task's stored rows gathered from all runs, and which view the report draws for it.

Estimators from different runs that share a label pool their rows when the
runs scored different cells with the same files (and sample sizes, unless the
view draws each n apart); otherwise they are told apart
as ``label [run id]``, with the files they used (e.g. ``@161570a6``, an InfoNet
checkpoint's sha256 prefix) after the label when those differ between the runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import pandas as pd

from harness import metrics
from harness.interface import SpecError
from reports.data import RunData
from results.export import artifact_tag

__all__ = [
    "SCORE_VIEWS",
    "TaskFrame",
    "auc_groups",
    "ok_rows",
    "report_tasks",
    "series_styles",
    "task_facets",
    "task_frame",
    "task_frames",
    "view_kind",
]

#: Report view of each metrics summary kind (:func:`harness.metrics.summary_kind`:
#: the task class's ``summary``, else guessed from the meta columns).
_VIEW_OF_SUMMARY = {
    "levels": "levels",
    "order": "order",
    "auc": "auc",
    "rank": "rescaled",
    "latency": "latency",
}

#: Views whose estimates are not meant to equal ``true_mi`` (those of
#: :data:`harness.metrics.SCORE_SUMMARIES`), with what scores them instead. Their
#: sections show no error columns or MAE pairing, and a comparison flags no |error| change.
SCORE_VIEWS = {_VIEW_OF_SUMMARY[kind]: what for kind, what in metrics.SCORE_SUMMARIES.items()}

_INTEGER_META = ("K", "d", "triplet", "member", "dependent", "n_samples", "seed", "instance_index")


def ok_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows whose status is ``ok``."""
    return df[df["status"] == "ok"]


def _params(text: Any) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    try:
        return json.loads(text) if isinstance(text, str) and text else {}
    except ValueError:
        return {}


def report_tasks(runs: Sequence[RunData]) -> list[str]:
    """The tasks in ``runs``, in order of first appearance."""
    tasks: list[str] = []
    for r in runs:
        if "task" in r.df:
            tasks += [str(t) for t in pd.unique(r.df["task"]) if str(t) not in tasks]
    return tasks


#: Columns that identify a cell of a task across runs (a sample of one instance).
_CELL_COLUMNS = ("task_params", "n_samples", "seed", "instance_index")


#: Views that draw each sample size apart, so runs at different n can pool in them.
_VIEWS_BY_N = frozenset({"auc", "latency", "rescaled"})


def sample_sizes(rows: pd.DataFrame) -> frozenset[float]:
    """The sample sizes among ``rows`` (none without an ``n_samples`` column)."""
    if "n_samples" not in rows:
        return frozenset()
    return frozenset(rows["n_samples"].dropna().astype(float))


def _run_labels(
    parts: Sequence[tuple[str, pd.DataFrame]], by_n: bool
) -> dict[tuple[str, str], str]:
    """``(label, run id) -> label shown``.

    A label found in one run, or in several runs that used the same files and
    scored different cells (a sweep stored one run per cell, or more seeds
    later), stays as it is, so the runs' rows pool into one estimator; unless
    ``by_n`` (the view draws each n apart) the runs must also share their
    sample sizes, so a view never averages n = 50 with n = 2000 (runs at one n
    each are then ``label · n=50``). Otherwise each run's rows are
    ``label [run id]``, with the files' tag
    (:func:`~results.export.artifact_tag`) after the label when those differ.
    """
    owners: dict[str, list[str]] = {}
    files: dict[tuple[str, str], str] = {}
    cells: dict[tuple[str, str], set] = {}
    sizes: dict[tuple[str, str], frozenset] = {}
    for rid, p in parts:
        tags = p.groupby("label")["artifacts"].first() if "artifacts" in p else {}
        cols = [c for c in _CELL_COLUMNS if c in p]
        for lab, rows in p.groupby("label", sort=False):
            lab = str(lab)
            owners.setdefault(lab, []).append(rid)
            files[lab, rid] = artifact_tag(tags.get(lab))
            cells[lab, rid] = set(rows[cols].astype(str).itertuples(index=False, name=None))
            sizes[lab, rid] = sample_sizes(rows)
    shown = {}
    for lab, runs in owners.items():
        tags = {files[lab, r] for r in runs}
        seen: set = set()
        disjoint = True
        for r in runs:
            disjoint = disjoint and not (cells[lab, r] & seen)
            seen |= cells[lab, r]
        same_n = by_n or len({sizes[lab, r] for r in runs}) == 1
        # runs at one n each, all different: name them by it rather than by run id
        one_n = [sizes[lab, r] for r in runs if len(sizes[lab, r]) == 1]
        by_size = len(one_n) == len(runs) and len(set(one_n)) == len(runs)
        for r in runs:
            if len(runs) == 1 or (len(tags) == 1 and disjoint and same_n):
                shown[lab, r] = lab
            elif len(tags) == 1 and disjoint and by_size:
                shown[lab, r] = f"{lab} · n={next(iter(sizes[lab, r])):g}"
            else:
                shown[lab, r] = f"{lab}{files[lab, r] if len(tags) > 1 else ''} [{r}]"
    return shown


def task_frame(task: str, runs: Sequence[RunData]) -> tuple[pd.DataFrame, dict[str, tuple]]:
    """Rows of ``task`` from all runs, labels made unique across runs (:func:`_run_labels`).

    Returns
    -------
    (DataFrame, dict)
        The rows, and ``label -> (estimator name, full params)`` for matching
        published rows.
    """
    parts = [(r.run_id, r.df[r.df["task"] == task]) for r in runs]
    parts = [(rid, p) for rid, p in parts if len(p)]
    raw = pd.concat([p for _, p in parts]) if parts else pd.DataFrame()
    shown = _run_labels(parts, by_n=view_kind(task, raw) in _VIEWS_BY_N)
    frames = []
    for rid, p in parts:
        p = p.copy()
        p["label"] = [shown[str(lab), rid] for lab in p["label"]]
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
        info[str(r["label"])] = (str(r["estimator"]), _params(r.get("estimator_params")))
    df.attrs["series_styles"] = _styles(parts, shown)
    return df, info


def _styles(
    parts: Sequence[tuple[str, pd.DataFrame]], shown: dict[tuple[str, str], str]
) -> dict[str, dict[str, int]]:
    """``label shown -> {"color": i, "variant": j}``: one colour per label as the runs
    name it (in order of first appearance), and where runs keep a label apart
    (``ksg [a]``, ``ksg [b]``) one variant (marker and line style) per run."""
    labels: list[str] = []
    out: dict[str, dict[str, int]] = {}
    for pos, (rid, p) in enumerate(parts):
        for lab in map(str, pd.unique(p["label"])):
            if lab not in labels:
                labels.append(lab)
            name = shown[lab, rid]
            out.setdefault(name, {"color": labels.index(lab), "variant": pos if name != lab else 0})
    return out


class TaskFrame(NamedTuple):
    """One task's rows as the report draws them (see :func:`task_frame`)."""

    task: str
    df: pd.DataFrame
    info: dict[str, tuple]
    kind: str


def task_frames(runs: Sequence[RunData]) -> list[TaskFrame]:
    """:func:`task_frame` and :func:`view_kind` of every task in ``runs``, built once for
    the overview and the task sections."""
    out = []
    for task in report_tasks(runs):
        df, info = task_frame(task, runs)
        out.append(TaskFrame(task, df, info, view_kind(task, df)))
    return out


def versus_first(
    df: pd.DataFrame,
    difference: Callable[[str, str], pd.DataFrame],
    skip: tuple[type[Exception], ...],
) -> tuple[str, pd.DataFrame] | None:
    """The first label of ``df`` and every other label's ``difference(other, first)``
    stacked, the label heading the index (labels in the run's order); None when none
    could be paired (``difference`` raised one of ``skip`` for each)."""
    labels = list(pd.unique(ok_rows(df)["label"]))
    parts = {}
    for other in labels[1:]:
        try:
            parts[other] = difference(other, labels[0])
        except skip:
            continue
    if not parts:
        return None
    return labels[0], pd.concat(parts, names=["label"])


def _with_recipe(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with a ``recipe`` column from the task parameters where runs of several
    recipes (``highdim_independence:recipe=paper|notebook``) meet, so their scores are
    kept apart instead of averaged."""
    if "recipe" in df or "task_params" not in df or not len(df):
        return df
    recipe = df["task_params"].map(_recipe_of)
    if recipe.nunique(dropna=True) < 2:
        return df
    return df.assign(recipe=recipe.fillna("default"))


def _recipe_of(params: Any) -> Any:
    if isinstance(params, str):
        try:
            params = json.loads(params)
        except ValueError:
            return None
    return params.get("recipe") if isinstance(params, dict) else None


def auc_groups(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The columns an independence test's AUC is taken per (dependence, d, recipe where
    several meet, n) and the columns telling its trials apart, those of each present in
    ``df``."""
    by = [c for c in ("dependence", "d", "recipe", "n_samples") if c in df]
    return by, [c for c in metrics.TRIAL_COLUMNS if c in df]


def sliced_labels(df: pd.DataFrame) -> list[str]:
    """Labels of ``df`` whose estimator reports sliced MI on these rows: an estimator with
    the ``sliced`` capability on multi-dimensional x or y (an estimator the registry
    cannot load counts as not sliced)."""
    import estimators

    if not {"estimator", "dim_x", "dim_y"} <= set(df):
        return []
    wide = df[(df["dim_x"] > 1) | (df["dim_y"] > 1)]
    out = []
    for label, name in wide[["label", "estimator"]].drop_duplicates().itertuples(index=False):
        try:
            cls = estimators.registry.get_class(str(name))
        except SpecError:  # a plugin not installed (or not loading) where the report is built
            continue
        if cls.capabilities.sliced:
            out.append(str(label))
    return out


def task_facets(task: str) -> tuple[str, ...]:
    """The task class's :attr:`~harness.interface.Task.facets` (none for a task outside
    the registry)."""
    cls = metrics.task_class(task)
    return () if cls is None else tuple(cls.facets)


def view_kind(task: str, df: pd.DataFrame) -> str:
    """The view kind for ``task``, from its summary kind (``df``: its rows, for a task
    outside the registry); "error" summaries are estimate-vs-truth curves, or error
    against truth per setting for a task with :func:`task_facets`."""
    kind = metrics.summary_kind(df, task=task)
    if kind == "error":
        return "error_vs_truth" if task_facets(task) else "curves"
    return _VIEW_OF_SUMMARY.get(kind, "curves")


def series_styles(df: pd.DataFrame) -> dict[str, dict[str, int]]:
    """``label -> {"color": i, "variant": j}`` for the figure series of ``df``'s labels
    (:class:`~reports.figures.Series` keywords): the same estimator of several runs in
    one colour and a marker and line style per run (:func:`task_frame`); a label
    :func:`task_frame` did not name gets the next colour."""
    styles = dict(df.attrs.get("series_styles", {})) if "label" in df else {}
    colour = max((s["color"] for s in styles.values()), default=-1)
    for lab in map(str, pd.unique(df["label"]) if "label" in df else []):
        if lab not in styles:
            colour += 1
            styles[lab] = {"color": colour, "variant": 0}
    return styles
