"""Each label's figure style: one colour per estimator, one marker and line style per
run and setting that keep it apart."""

from __future__ import annotations

import pandas as pd

from reports.labels import ShownLabel

__all__ = ["label_styles", "series_styles"]


def label_styles(shown: dict[tuple[str, str, str], ShownLabel]) -> dict[str, dict[str, int]]:
    """``label shown -> {"color": i, "variant": j}`` for the labels ``shown``
    (:func:`~reports.labels.run_labels`): one colour per label as the runs name it
    (after :func:`~reports.labels.one_label_per_estimator`, in order of first
    appearance), and one variant (marker and line style) per label shown of it: the
    runs that keep it apart (``ksg [a]``, ``ksg [b]``) and its settings
    (``ksg · n=50``)."""
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


def series_styles(df: pd.DataFrame) -> dict[str, dict[str, int]]:
    """``label -> {"color": i, "variant": j}`` for the figure series of ``df``'s labels
    (:class:`~reports.figures.Series` keywords): the same estimator of several runs or
    settings in one colour and a marker and line style per run and setting
    (:func:`~reports.frames.task_frame`); a label :func:`~reports.frames.task_frame`
    did not name gets the next colour."""
    styles = dict(df.attrs.get("series_styles", {})) if "label" in df else {}
    colour = max((s["color"] for s in styles.values()), default=-1)
    for lab in map(str, pd.unique(df["label"]) if "label" in df else []):
        if lab not in styles:
            colour += 1
            styles[lab] = {"color": colour, "variant": 0}
    return styles
