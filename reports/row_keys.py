"""Each row of a task as text keys: its estimator configuration, its cell and its result,
so rows of different runs can be matched."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from harness.matching import match_params
from harness.params import stored_params
from results.export import artifact_tag
from results.schema import dumps

__all__ = [
    "cell_keys",
    "estimator_keys",
    "joined",
    "parameter_keys",
    "placements",
    "result_keys",
]

#: Columns that identify a cell of a task across runs (a sample of one instance).
_CELL_COLUMNS = ("task_params", "n_samples", "seed", "instance_index")


def joined(columns: Sequence[pd.Series]) -> pd.Series:
    """The texts of ``columns`` joined row by row with a NUL, a missing value as ``nan``.

    pandas keeps a missing value missing through ``astype(str)`` and ``+``: unspelled,
    one missing part (a failed cell has no device) would make the whole key missing,
    and all such keys would count as one.
    """
    spelled = [c.astype(object).where(c.notna(), "nan").astype(str) for c in columns]
    out = spelled[0]
    for col in spelled[1:]:
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
    digests, values = stored_params(files), stored_params(params)
    if not digests or not values:
        return params
    return dumps(
        {k: v for k, v in values.items() if not any(f.startswith(f"{k}_") for f in digests)}
    )


def _without_device(params: str) -> str:
    """Parameter JSON ``params`` without its ``device``: where an estimate runs is not
    part of its configuration (:func:`placements`)."""
    values = stored_params(params)
    if "device" not in values:
        return params
    return dumps({k: v for k, v in values.items() if k != "device"})


def placements(rows: pd.DataFrame) -> pd.Series:
    """Each row's device, for estimators with a ``device`` parameter (``""`` for the
    others): the one its cell ran on (the ``device`` column), for a row without one
    (a failed cell) that of the other rows of its label and parameters, else its
    ``device`` parameter (``auto``: not known)."""
    index = rows.index
    params = rows["estimator_params"] if "estimator_params" in rows else pd.Series("{}", index)
    params = params.map(lambda v: v if isinstance(v, str) else "{}")
    asked = params.map(lambda p: str(stored_params(p).get("device") or "")).astype(object)
    if "device" not in rows:
        return asked
    ran = rows["device"].astype(object).where(rows["device"].notna())
    ran = ran.fillna(ran.groupby([rows["label"].astype(str), params]).transform("first"))
    return ran.where(asked != "", "").fillna(asked).astype(str)


def _parts(rows: pd.DataFrame) -> tuple[list[pd.Series], pd.Series]:
    """The parts of :func:`estimator_keys` but the files, and the files' tags."""
    index = rows.index
    label = rows["label"].astype(str)
    names = rows["estimator"].astype(str) if "estimator" in rows else label.str.split(":").str[0]
    params = rows["estimator_params"] if "estimator_params" in rows else pd.Series("{}", index)
    files = rows["artifacts"] if "artifacts" in rows else pd.Series("", index)
    params = params.map(lambda v: v if isinstance(v, str) else "{}")
    files = files.map(lambda v: v if isinstance(v, str) else "")
    pairs = dict.fromkeys(zip(params, files, strict=True))
    for p, f in pairs:
        pairs[p, f] = _without_device(_without_file_params(p, f))
    stripped = pd.Series([pairs[p, f] for p, f in zip(params, files, strict=True)], index=index)
    kept = match_params(names, stripped, "estimator")
    apart = _devices_apart(names, kept, params)
    return [label.str.split(":").str[0], names, kept, apart], files.map(artifact_tag)


def _devices_apart(names: pd.Series, kept: pd.Series, params: pd.Series) -> pd.Series:
    """Each row's ``device`` parameter where the rows (those of one run) hold
    configurations of estimator ``names`` and parameters ``kept`` (without the device)
    that differ only in it: ``infonet`` and ``infonet:device=cpu`` run side by side are
    compared, not pooled. ``""`` elsewhere, so that a configuration run on different
    devices in different runs is one configuration."""
    device = params.map(lambda p: str(stored_params(p).get("device") or ""))
    apart = device.groupby([names, kept]).transform("nunique") > 1
    return device.where(apart, "")


def parameter_keys(rows: pd.DataFrame) -> pd.Series:
    """:func:`estimator_keys` without the recorded files: rows of one estimator and
    parameters whose checkpoints may differ."""
    return joined(_parts(rows)[0])


def estimator_keys(rows: pd.DataFrame) -> pd.Series:
    """Each row's estimator configuration as text: the label's estimator name, the
    parameters off their current default, and the recorded files by digest (which
    stand for the path parameters that named them). The ``device`` parameter is left
    out: it says where an estimate runs, not what it computes
    (:func:`~reports.labels.one_label_per_estimator` keeps runs on different devices
    apart), except where ``rows`` (one run's) hold configurations that differ only in
    it (:func:`_devices_apart`)."""
    texts, files = _parts(rows)
    return joined([*texts, files])


def cell_keys(rows: pd.DataFrame, task: str) -> pd.Series:
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
    return joined(texts) if texts else pd.Series("", index=rows.index)


def result_keys(rows: pd.DataFrame) -> pd.Series:
    """Each row's result as text: its status, estimate to ten digits and seconds (and host,
    device and the time the cell finished where stored), so a re-run that reproduced a
    deterministic estimate on another machine or at another speed is not mistaken for a
    copy, nor is a cell another invocation skipped again (no estimate, no seconds: only
    its time tells it apart). A copy of a run (an export, a copied file) keeps each
    row's ``finished_at``; the run id would not do, as a merged file holds another
    run's rows under its own."""
    status = rows["status"].astype(str) if "status" in rows else pd.Series("", rows.index)
    texts = [status]
    for col in ("estimate", "seconds"):
        if col in rows:
            texts.append(rows[col].map(lambda v: "nan" if pd.isna(v) else f"{float(v):.10g}"))
    texts += [rows[c].astype(str) for c in ("host", "device", "finished_at") if c in rows]
    return joined(texts)
