"""Which view the report draws for a task: its kind, and the task's facets."""

from __future__ import annotations

import pandas as pd

from harness import metrics

__all__ = ["SCORE_VIEWS", "task_facets", "view_kind"]

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
