"""The labels a task's rows are shown under: one per estimator configuration, then one
per setting and run, so that runs pool where they may and stay apart where they must."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import NamedTuple

import pandas as pd

from harness.params import stored_params, varying_keys
from reports.row_keys import parameter_keys, placements
from results.export import artifact_tag

__all__ = ["ShownLabel", "one_label_per_estimator", "run_labels"]


def one_label_per_estimator(
    parts: Sequence[tuple[str, pd.DataFrame]], keys: Sequence[pd.Series]
) -> list[tuple[str, pd.DataFrame]]:
    """``parts`` with the labels of one estimator configuration (``keys``:
    :func:`~reports.row_keys.estimator_keys`) made the shortest of them (the first of
    equal length) that no other configuration uses (``ksg`` stored when k=3 was the
    default stays apart from today's ``ksg``); where each is used elsewhere, they stay
    as they are. Then the ``device`` parameter is spelled only where it tells runs
    apart (:func:`_placed`), and a parameter a sibling label sets is spelled in the
    others too (:func:`_spelled_siblings`)."""
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
    if chosen:
        parts = [
            (
                rid,
                p.assign(
                    label=[chosen.get(key, lab) for key, lab in zip(k, p["label"], strict=True)]
                ),
            )
            for (rid, p), k in zip(parts, keys, strict=True)
        ]
    return _spelled_siblings(_placed(parts))


def _spelled_siblings(parts: Sequence[tuple[str, pd.DataFrame]]) -> list[tuple[str, pd.DataFrame]]:
    """``parts`` with each parameter that one label of an estimator sets spelled in its
    sibling labels too, at the value their rows ran with, as the runner spells it:
    ``mine`` beside ``mine:steps=100`` reads ``mine:steps=500``, so no label hides a
    setting its neighbours show. A value is spelled only where every row of the label
    recorded the same one, not none (a default checkpoint); the items are sorted where
    the label's were (the runner's order), and a label that would read as another
    label's parameters, in any order, keeps its name. Labels of rows without recorded
    parameters are never renamed; ``device`` is left to :func:`_placed`."""
    labels: dict[str, list[str]] = {}  # label -> its items
    recorded: dict[str, list[dict]] = {}  # label -> the distinct parameters its rows ran with
    fixed: list[str] = []
    for _, p in parts:
        names = p["label"].astype(str)
        if "estimator_params" not in p:
            fixed.extend(names.unique())
            continue
        params = p["estimator_params"].map(_params_text)
        for lab, text in pd.DataFrame({"l": names, "p": params}).drop_duplicates().values:
            parsed = _items(lab)
            if parsed is None:
                continue
            labels[lab] = parsed[1]
            recorded.setdefault(lab, []).append(stored_params(text))
    taken = {_item_set(lab) for lab in [*labels, *fixed]} - {None}
    siblings: dict[str, list[str]] = {}
    for lab in sorted(labels):
        siblings.setdefault(lab.partition(":")[0], []).append(lab)
    renamed = {}
    for name, group in siblings.items():
        if len(group) < 2:
            continue
        keys = sorted(
            {item.partition("=")[0].strip() for lab in group for item in labels[lab]} - {"device"}
        )
        for lab in group:
            if lab in fixed:
                continue
            have = {item.partition("=")[0].strip() for item in labels[lab]}
            added = []
            differ = set(varying_keys(recorded[lab]))  # a key some rows lack differs too
            for key in keys:
                value = recorded[lab][0].get(key)
                if key not in have and key not in differ and value is not None:
                    added.append(f"{key}={value}")
            items = [*labels[lab], *added]
            if labels[lab] == sorted(labels[lab]):
                items.sort()
            new = f"{name}:{','.join(items)}"
            if added and _item_set(new) not in taken:
                taken.add(_item_set(new))
                renamed[lab] = new
    if not renamed:
        return list(parts)
    return [(rid, p.assign(label=p["label"].map(lambda x: renamed.get(x, x)))) for rid, p in parts]


def _placed(parts: Sequence[tuple[str, pd.DataFrame]]) -> list[tuple[str, pd.DataFrame]]:
    """``parts`` with the ``device`` parameter of estimators that take one spelled only
    where it tells runs apart: where it ran (:func:`~reports.row_keys.placements`),
    not what it computes.

    The labels that read alike without their ``device`` (``infonet:batch_size=1`` for
    ``infonet:batch_size=1,device=cpu`` and ``infonet:batch_size=1``) and whose rows
    hold one configuration (:func:`~reports.row_keys.parameter_keys`) become that
    spelling where their cells ran on one device, and spell the device each ran on
    where they ran on several (``infonet:device=cpu``, ``infonet:device=cuda``).
    Labels read alike by other configurations stay as they are, as do rows whose
    device is not known (cells that all failed with ``device=auto``); so do the
    configurations of one run that differ only in their ``device``
    (``infonet`` and ``infonet:device=cpu`` side by side: their keys keep it).
    """
    rows = []
    for _, p in parts:
        label = p["label"].astype(str)
        device = placements(p)
        plain = [_without_device(lab) if d else lab for lab, d in zip(label, device, strict=True)]
        rows.append(pd.DataFrame({"plain": plain, "config": parameter_keys(p), "device": device}))
    if not rows:
        return list(parts)
    every = pd.concat(rows, ignore_index=True)
    if not (every["device"] != "").any():
        return list(parts)
    spell = {}
    for plain, group in every.groupby("plain", sort=False):
        if group["config"].nunique() > 1:
            continue  # another configuration reads alike
        ran = set(group["device"]) - {"", "auto"}
        spell[plain] = len(ran) > 1
    out = []
    for (rid, p), r in zip(parts, rows, strict=True):
        labels = []
        for lab, plain, device in zip(p["label"].astype(str), r["plain"], r["device"], strict=True):
            if not device or plain not in spell or (spell[plain] and device == "auto"):
                labels.append(lab)
            else:
                labels.append(_with_device(plain, device) if spell[plain] else plain)
        out.append((rid, p.assign(label=labels)))
    return out


def _params_text(value: object) -> str:
    """A row's stored parameters as JSON text (a dict as it is written, NaN as ``{}``)."""
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value if isinstance(value, str) else "{}"


def _item_set(label: str) -> tuple[str, frozenset[str]] | None:
    """A spec label's name and its items in any order; None for a label that is not one."""
    parsed = _items(label)
    return None if parsed is None else (parsed[0], frozenset(i.strip() for i in parsed[1]))


def _items(label: str) -> tuple[str, list[str]] | None:
    """A spec label's name and ``key=value`` items; None for a label that is not one."""
    name, _, rest = label.partition(":")
    items = [item for item in rest.split(",") if item] if rest else []
    if not name or any("=" not in item for item in items):
        return None
    return name, items


def _without_device(label: str) -> str:
    """``label`` without its ``device=…`` item (``infonet:batch_size=1``)."""
    parsed = _items(label)
    if parsed is None:
        return label
    name, items = parsed
    kept = [item for item in items if item.partition("=")[0].strip() != "device"]
    return f"{name}:{','.join(kept)}" if kept else name


def _with_device(label: str, device: str) -> str:
    """``label`` (without a device) with ``device=…`` among its items, in order of
    their names as the runner spells them where they are in that order."""
    parsed = _items(label)
    if parsed is None:
        return label
    name, items = parsed
    placed = [*items, f"device={device}"]
    if items == sorted(items):
        placed.sort()
    return f"{name}:{','.join(placed)}"


class ShownLabel(NamedTuple):
    """A label as shown, and its name without the setting (a figure panel's series)."""

    shown: str
    name: str


def run_labels(
    parts: Sequence[tuple[str, pd.DataFrame]],
    cells: Sequence[pd.Series],
    settings: Sequence[pd.Series],
) -> dict[tuple[str, str, str], ShownLabel]:
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
                shown[lab, s, r] = ShownLabel(full, head + tail)
    return shown


def _disjoint(cells: Sequence[set]) -> bool:
    """Whether no two of ``cells`` share a cell."""
    seen: set = set()
    for held in cells:
        if held & seen:
            return False
        seen |= held
    return True
