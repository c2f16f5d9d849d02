"""One task's stored rows gathered from all runs, and which view the report draws for it.

:func:`task_frame` gathers a task's rows in four steps:

1. one estimator configuration gets one label: labels of one estimator whose
   parameters agree once those at their current default are left out
   (:func:`harness.matching.match_params`) and whose recorded files
   (``artifacts``) agree become the shortest of them; a file's digest stands
   for the path parameter that named it (``checkpoint`` for
   ``checkpoint_sha256``), so the shipped InfoNet checkpoint is one estimator
   whether a run named its path or not;
2. a cell that an earlier run holds with the same result (status and estimate)
   is dropped, so a cell repeated by several files is counted once;
3. where the task's rows span several settings (:func:`setting_columns`: the
   task's facets, sample size and dimensions its view does not draw apart
   itself) each label becomes one per setting, ``ksg · n=2000``,
   ``doe · transform=cubic``, so every table and headline keeps them apart;
4. estimators from different runs that share a label pool their rows when the
   runs scored different cells with the same files; otherwise they are told
   apart as ``label [run id]``, with the files they used (e.g. ``@161570a6``,
   an InfoNet checkpoint's sha256 prefix) after the label when those differ.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from harness import metrics
from harness.interface import SpecError
from harness.matching import match_params
from reports.data import RunData
from results.export import artifact_tag
from results.schema import dumps

__all__ = [
    "SCORE_VIEWS",
    "TaskFrame",
    "auc_groups",
    "label_settings",
    "ok_rows",
    "report_tasks",
    "row_settings",
    "series_styles",
    "setting_columns",
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
        value = json.loads(text) if isinstance(text, str) and text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def report_tasks(runs: Sequence[RunData]) -> list[str]:
    """The tasks in ``runs``, in order of first appearance."""
    tasks: list[str] = []
    for r in runs:
        if "task" in r.df:
            tasks += [str(t) for t in pd.unique(r.df["task"]) if str(t) not in tasks]
    return tasks


#: Columns that identify a cell of a task across runs (a sample of one instance).
_CELL_COLUMNS = ("task_params", "n_samples", "seed", "instance_index")

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


def sample_sizes(rows: pd.DataFrame) -> frozenset[float]:
    """The sample sizes among ``rows`` (none without an ``n_samples`` column)."""
    if "n_samples" not in rows:
        return frozenset()
    return frozenset(rows["n_samples"].dropna().astype(float))


def _joined(columns: Sequence[pd.Series]) -> pd.Series:
    """The texts of ``columns`` joined row by row with a NUL."""
    out = columns[0]
    for col in columns[1:]:
        out = out + "\0" + col
    return out


def _texts(values: pd.Series) -> pd.Series:
    """``values`` as text, numbers by value (2000.0 and 2000 alike)."""
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return values.astype(str)
    return values.astype(float).map(lambda v: "nan" if pd.isna(v) else f"{v:.12g}")


def _without_file_params(params: str, files: str) -> str:
    """Parameter JSON ``params`` without the parameters a recorded file of ``files``
    (``artifacts`` JSON) identifies: ``checkpoint`` for ``checkpoint_sha256``."""
    digests, values = _params(files), _params(params)
    if not digests or not values:
        return params
    return dumps(
        {k: v for k, v in values.items() if not any(f.startswith(f"{k}_") for f in digests)}
    )


def _estimator_keys(rows: pd.DataFrame) -> pd.Series:
    """Each row's estimator configuration as text: the label's estimator name, the
    parameters off their current default, and the recorded files by digest (which
    stand for the path parameters that named them)."""
    index = rows.index
    label = rows["label"].astype(str)
    names = rows["estimator"].astype(str) if "estimator" in rows else label.str.split(":").str[0]
    params = rows["estimator_params"] if "estimator_params" in rows else pd.Series("{}", index)
    files = rows["artifacts"] if "artifacts" in rows else pd.Series("", index)
    params = params.map(lambda v: v if isinstance(v, str) else "{}")
    files = files.map(lambda v: v if isinstance(v, str) else "")
    pairs = dict.fromkeys(zip(params, files, strict=True))
    for p, f in pairs:
        pairs[p, f] = _without_file_params(p, f)
    stripped = pd.Series([pairs[p, f] for p, f in zip(params, files, strict=True)], index=index)
    kept = match_params(names, stripped, "estimator")
    return _joined([label.str.split(":").str[0], names, kept, files.map(artifact_tag)])


def _one_label_per_estimator(
    parts: Sequence[tuple[str, pd.DataFrame]], keys: Sequence[pd.Series]
) -> list[tuple[str, pd.DataFrame]]:
    """``parts`` with the labels of one estimator configuration (``keys``:
    :func:`_estimator_keys`) made the shortest of them (the first of equal length)
    that no other configuration uses (``ksg`` stored when k=3 was the default stays
    apart from today's ``ksg``); where each is used elsewhere, they stay as they are."""
    spellings: dict[str, list[str]] = {}
    for (_, p), k in zip(parts, keys, strict=True):
        pairs = pd.DataFrame({"key": k, "label": p["label"].astype(str)}).drop_duplicates()
        for key, lab in pairs.itertuples(index=False):
            spellings.setdefault(key, [])
            if lab not in spellings[key]:
                spellings[key].append(lab)
    owners: dict[str, set[str]] = {}
    for key, labs in spellings.items():
        for lab in labs:
            owners.setdefault(lab, set()).add(key)
    chosen = {}
    for key, labs in spellings.items():
        own = [lab for lab in labs if owners[lab] == {key}]
        if len(labs) > 1 and own:
            chosen[key] = min(own, key=len)
    if not chosen:
        return list(parts)
    return [
        (
            rid,
            p.assign(label=[chosen.get(key, lab) for key, lab in zip(k, p["label"], strict=True)]),
        )
        for (rid, p), k in zip(parts, keys, strict=True)
    ]


def _cells(rows: pd.DataFrame, task: str) -> pd.Series:
    """Each row's cell as text: task parameters off their current default, sample
    size, seed and instance (those of :data:`_CELL_COLUMNS` present)."""
    texts = []
    for col in _CELL_COLUMNS:
        if col not in rows:
            continue
        if col == "task_params":
            names = pd.Series(task, index=rows.index)
            texts.append(match_params(names, rows[col], "task").astype(str))
        else:
            texts.append(_texts(rows[col]))
    return _joined(texts) if texts else pd.Series("", index=rows.index)


def _results(rows: pd.DataFrame) -> pd.Series:
    """Each row's result as text: its status, estimate to ten digits and seconds (and host
    and device where stored), so a re-run that reproduced a deterministic estimate on
    another machine or at another speed is not mistaken for a copy."""
    status = rows["status"].astype(str) if "status" in rows else pd.Series("", rows.index)
    texts = [status]
    for col in ("estimate", "seconds"):
        if col in rows:
            texts.append(rows[col].map(lambda v: "nan" if pd.isna(v) else f"{float(v):.10g}"))
    texts += [rows[c].astype(str) for c in ("host", "device") if c in rows]
    return _joined(texts)


#: Columns a row needs for its cell and result to be compared with another run's.
_COPY_COLUMNS = frozenset({"seed", "instance_index", "estimate"})


def _without_copies(
    parts: Sequence[tuple[str, pd.DataFrame]],
    keys: Sequence[pd.Series],
    cells: Sequence[pd.Series],
) -> tuple[list[tuple[str, pd.DataFrame]], list[pd.Series]]:
    """``parts`` and their ``cells`` (:func:`_cells`) without the rows whose cell an
    earlier run holds for the same estimator configuration (``keys``:
    :func:`_estimator_keys`) with the same result, so that a cell repeated by several
    files counts once; rows whose results differ stay, and tell their runs apart
    (:func:`_run_labels`). Rows without a seed, instance or estimate stay."""
    seen: set[str] = set()
    out, kept_cells = [], []
    for (rid, p), k, cell in zip(parts, keys, cells, strict=True):
        if _COPY_COLUMNS <= set(p):
            full = _joined([k, cell, _results(p)]).tolist()
            keep = np.array([key not in seen for key in full], dtype=bool)
            seen.update(full)
            p, cell = p[keep], cell[keep]
        if len(p):
            out.append((rid, p))
            kept_cells.append(cell)
    return out, kept_cells


def setting_columns(task: str, kind: str, df: pd.DataFrame) -> list[str]:
    """The columns whose values set ``task``'s settings apart in view ``kind``.

    The task's facets (:func:`task_facets`), then the sample size and the
    dimensions, each where ``df``'s rows hold several values of it and it sets
    them apart further than the columns before it (``mvn``'s ``d`` already
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


def _value_text(value: Any) -> str:
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _setting_texts(rows: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
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
            f"{_SETTING_NAMES.get(c, c)}={_value_text(v)}"
            for c, v in zip(columns, vals, strict=True)
            if not pd.isna(v)
        )
        for vals in zip(*values, strict=True)
    ]
    return pd.Series(texts, index=rows.index, dtype=object)


class _Series(NamedTuple):
    """A label as shown, and its name without the setting (a figure panel's series)."""

    shown: str
    name: str


def _run_labels(
    parts: Sequence[tuple[str, pd.DataFrame]],
    cells: Sequence[pd.Series],
    settings: Sequence[pd.Series],
) -> dict[tuple[str, str, str], _Series]:
    """``(label, setting, run id) -> label shown``.

    A label of one setting found in one run, or in several runs that used the
    same files and scored different cells (a sweep stored one run per cell, or
    more seeds later), stays as it is, so the runs' rows pool into one
    estimator. Where the runs used different files, the files' tag
    (:func:`~results.export.artifact_tag`) follows the label, and the runs of
    one tag pool alike (``infonet@161570a6``; a tag of one run is also named by
    its run, ``infonet@69be315e [run id]``). Runs that scored the same cell
    differently are each ``label [run id]``. The setting follows the label:
    ``ksg · n=50 [run id]``.
    """
    owners: dict[tuple[str, str], list[str]] = {}
    files: dict[tuple[str, str, str], str] = {}
    held: dict[tuple[str, str, str], set] = {}
    for (rid, p), cell, setting in zip(parts, cells, settings, strict=True):
        tags = p.groupby("label")["artifacts"].first() if "artifacts" in p else {}
        keys = pd.DataFrame({"label": p["label"].astype(str), "setting": setting, "cell": cell})
        for (lab, s), rows in keys.groupby(["label", "setting"], sort=False):
            owners.setdefault((lab, s), []).append(rid)
            files[lab, s, rid] = artifact_tag(tags.get(lab))
            held[lab, s, rid] = set(rows["cell"])
    shown = {}
    for (lab, s), runs in owners.items():
        groups: dict[str, list[str]] = {}
        for r in runs:
            groups.setdefault(files[lab, s, r], []).append(r)
        for tag, members in groups.items():
            head = f"{lab}{tag}" if len(groups) > 1 else lab
            # one run of several files is named by its run too
            pooled = _disjoint([held[lab, s, r] for r in members]) and (
                len(members) > 1 or len(groups) == 1
            )
            for r in members:
                tail = "" if pooled else f" [{r}]"
                full = f"{head} · {s}{tail}" if s else f"{head}{tail}"
                shown[lab, s, r] = _Series(full, head + tail)
    return shown


def _disjoint(cells: Sequence[set]) -> bool:
    """Whether no two of ``cells`` share a cell."""
    seen: set = set()
    for held in cells:
        if held & seen:
            return False
        seen |= held
    return True


def task_frame(task: str, runs: Sequence[RunData]) -> tuple[pd.DataFrame, dict[str, tuple]]:
    """Rows of ``task`` from all runs: one label per estimator configuration, each cell
    once, labels split by setting and made unique across runs (the module's steps).

    Returns
    -------
    (DataFrame, dict)
        The rows, and ``label -> (estimator name, full params)`` for matching
        published rows. ``attrs`` hold each label's figure style
        (:func:`series_styles`) and its name and setting (:func:`label_settings`).
    """
    parts = [(r.run_id, r.df[r.df["task"] == task]) for r in runs]
    parts = [(rid, p) for rid, p in parts if len(p)]
    keys = [_estimator_keys(p) for _, p in parts]
    cells = [_cells(p, task) for _, p in parts]
    parts, cells = _without_copies(_one_label_per_estimator(parts, keys), keys, cells)
    raw = pd.concat([p for _, p in parts]) if parts else pd.DataFrame()
    columns = setting_columns(task, view_kind(task, raw), raw)
    settings = [_setting_texts(p, columns) for _, p in parts]
    shown = _run_labels(parts, cells, settings)
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
        info[str(r["label"])] = (str(r["estimator"]), _params(r.get("estimator_params")))
    df.attrs["series_styles"] = _styles(shown)
    df.attrs["label_settings"] = {v.shown: (v.name, s) for (_, s, _), v in shown.items()}
    return df, info


def _styles(shown: dict[tuple[str, str, str], _Series]) -> dict[str, dict[str, int]]:
    """``label shown -> {"color": i, "variant": j}``: one colour per label as the runs
    name it (after :func:`_one_label_per_estimator`, in order of first appearance),
    and one variant (marker and line style) per label shown of it: the runs that
    keep it apart (``ksg [a]``, ``ksg [b]``) and its settings (``ksg · n=50``)."""
    colours: dict[str, int] = {}
    variants: dict[str, int] = {}
    out: dict[str, dict[str, int]] = {}
    for (lab, _, _), series in shown.items():
        if series.shown in out:
            continue
        colours.setdefault(lab, len(colours))
        variants[lab] = variants.get(lab, -1) + 1
        out[series.shown] = {"color": colours[lab], "variant": variants[lab]}
    return out


def label_settings(df: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """``label -> (name, setting)`` for the labels of ``df``: the label without its
    setting, and the setting (:func:`task_frame`: ``("ksg", "n=50")`` for
    ``ksg · n=50``). A label :func:`task_frame` did not name is its own name, in
    setting ``""``."""
    named = df.attrs.get("label_settings", {})
    labels = map(str, pd.unique(df["label"])) if "label" in df else []
    return {lab: tuple(named.get(lab, (lab, ""))) for lab in labels}


def row_settings(df: pd.DataFrame) -> pd.Series:
    """Each row's setting (``"n=50"``; ``""`` where the task has one): that of its label
    (:func:`label_settings`), or for rows :func:`task_frame` did not gather, that of
    their values of :func:`setting_columns`."""
    if "label_settings" in df.attrs and "label" in df:
        named = label_settings(df)
        return df["label"].map(lambda lab: named[str(lab)][1]).astype(object)
    task = str(df["task"].iloc[0]) if "task" in df and len(df) else ""
    return _setting_texts(df, setting_columns(task, view_kind(task, df), df))


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
    (:class:`~reports.figures.Series` keywords): the same estimator of several runs or
    settings in one colour and a marker and line style per run and setting
    (:func:`task_frame`); a label :func:`task_frame` did not name gets the next colour."""
    styles = dict(df.attrs.get("series_styles", {})) if "label" in df else {}
    colour = max((s["color"] for s in styles.values()), default=-1)
    for lab in map(str, pd.unique(df["label"]) if "label" in df else []):
        if lab not in styles:
            colour += 1
            styles[lab] = {"color": colour, "variant": 0}
    return styles
