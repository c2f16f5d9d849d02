"""Which tables and figures a report shows: the task sections, failures and comparisons.

A task section has its task-specific views (:mod:`reports.task_views`), then
the per-estimator error table and an accuracy-vs-speed scatter
(:mod:`reports.estimator_views`). Failed cells are in :mod:`reports.failures`,
run comparisons in :mod:`reports.diff_views`.
"""

from __future__ import annotations

from collections.abc import Sequence

from reports.blocks import Figure, Note, Section
from reports.diff_views import diff_sections
from reports.estimator_views import (
    error_components_table,
    errors_table,
    mae_differences,
    speed_accuracy,
)
from reports.failures import failures
from reports.frames import TaskFrame, task_frames
from reports.headings import task_params_text
from reports.overview import overview_section
from reports.tables import slug
from reports.task_views import VIEWS
from reports.view_kinds import SCORE_VIEWS

__all__ = [
    "Figure",
    "Note",
    "Section",
    "diff_sections",
    "failures",
    "overview_section",
    "task_frames",
    "task_sections",
]


def task_sections(frames: Sequence[TaskFrame]) -> list[Section]:
    """One section per task (:func:`~reports.frames.task_frames`), in order of first
    appearance."""
    out = []
    for task, df, info, kind in frames:
        sid = slug("task", task)
        section = Section(sid, f"{task}", subtitle=task_params_text(task, df))
        try:
            section.blocks += VIEWS[kind](df, info, sid)
        except Exception as exc:  # a broken view must not lose the rest of the report
            section.blocks.append(Note(f"could not draw the {kind} view: {exc!r}", "warn"))
        section.blocks.append(errors_table(df, sid, kind))
        # scores (independence tests, rescaled sliced MI): their view compares them instead
        paired = mae_differences(df, sid) if kind not in SCORE_VIEWS else None
        if paired is not None:
            section.blocks.append(paired)
        split = error_components_table(df, sid) if kind not in SCORE_VIEWS else None
        if split is not None:
            section.blocks.append(split)
        fig = speed_accuracy(df, sid, kind)
        if fig is not None:
            section.blocks.append(fig)
        out.append(section)
    return out
