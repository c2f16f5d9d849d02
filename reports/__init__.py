"""HTML reports: stored runs to one self-contained page.

>>> import reports
>>> html = reports.build_report(["latest"], output="report.html")

The page opens offline: styles are inlined, figures are SVG ``data:`` URIs,
there is no script, and a Content-Security-Policy forbids loading anything.
Everything from the runs is escaped by Jinja2's autoescape.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from reports.data import CODE_FIELDS, RunData, load_run, provenance, provenance_overview
from reports.diff import DiffRule

__all__ = ["DiffRule", "RunData", "build_report", "default_title", "load_run", "render"]

_HERE = Path(__file__).resolve().parent


def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(_HERE / "templates"), str(_HERE)]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render(
    runs: Sequence[RunData], *, title: str | None = None, rule: DiffRule | None = None
) -> str:
    """The report page for loaded runs (see :func:`build_report`)."""
    from harness import __version__
    from reports import views

    runs = list(runs)
    if not runs:
        raise ValueError("a report needs at least one run")
    rule = rule or DiffRule()
    frames = views.task_frames(runs)
    context: dict[str, Any] = {
        "title": title or default_title(runs),
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "runs": runs,
        "provenance": provenance_overview([provenance(r) for r in runs]),
        "code_fields": CODE_FIELDS,
        "overview": views.overview_section(frames),
        "sections": views.task_sections(frames),
        "failures": views.failures(runs),
        "diffs": views.diff_sections(runs, rule),
        "diff_rules": rule.describe(),
    }
    for table in _tables(context):
        table.harmonize()
    return _environment().get_template("report.html.j2").render(**context)


#: Runs a default title names one by one; more are counted.
TITLE_RUNS = 3


def default_title(runs: Sequence[RunData]) -> str:
    """``mi-harness report: a, b`` for up to :data:`TITLE_RUNS` runs; beyond, the count
    and the tasks: ``mi-harness report: 32 runs of highdim_independence``, ``… 55 runs,
    8 tasks`` (every run id is in the provenance section)."""
    if len(runs) <= TITLE_RUNS:
        return "mi-harness report: " + ", ".join(r.run_id for r in runs)
    from reports.frames import report_tasks

    tasks = report_tasks(runs)
    head = f"mi-harness report: {len(runs)} runs"
    if not tasks:
        return head
    return f"{head} of {', '.join(tasks)}" if len(tasks) <= 2 else f"{head}, {len(tasks)} tasks"


def _tables(context: dict[str, Any]) -> list[Any]:
    """The tables of the page: the overview's, the sections', failures and comparisons'."""
    from reports.tables import Table

    sections = [context["overview"], *context["sections"], *context["diffs"]]
    blocks = [b for s in sections if s is not None for b in s.blocks]
    return [b for b in (*blocks, context["failures"]) if isinstance(b, Table)]


def build_report(
    runs: Sequence[str | os.PathLike[str] | pd.DataFrame] | str | pd.DataFrame,
    store: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    output: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    tolerance: float = 0.02,
    slowdown: float = 1.5,
    min_seconds: float = 0.01,
) -> str:
    """Build one self-contained HTML report from stored runs.

    Parameters
    ----------
    runs : str, path, DataFrame or a sequence of them
        Run ids (or unique prefixes, or ``"latest"``), exported Parquet/CSV
        files, or loaded rows. The first run that shares cells with a later one
        is that run's baseline in the comparison section.
    store : str, path or a sequence of them, optional
        Results store for run ids; default ``$MI_HARNESS_STORE`` or
        ``./runs/mi-harness.sqlite``. Of several, each run id is looked up in the
        first store holding it.
    output : str or path, optional
        Where to write the page (UTF-8); parent folders are created.
    title : str, optional
        Page title; default names the runs.
    tolerance : float
        Comparison: a cell is flagged less accurate when its |error| grows by
        more than this (nats).
    slowdown : float
        Comparison: a cell is flagged slower when it takes more than this many
        times the baseline's seconds ...
    min_seconds : float
        ... and at least this many seconds longer. Flagged cells are
        regressions only where ``python -m harness compare`` fails a check of
        their estimator (:func:`reports.diff.gate_regressions`); its verdict is
        the comparison's.

    Returns
    -------
    str
        The HTML page.
    """
    # written so that NaN fails too
    if not (tolerance >= 0 and slowdown >= 1 and min_seconds >= 0):
        raise ValueError(
            "need tolerance >= 0, slowdown >= 1 and min_seconds >= 0; got "
            f"{tolerance!r}, {slowdown!r}, {min_seconds!r}"
        )
    if isinstance(runs, (str, os.PathLike, pd.DataFrame)):
        runs = [runs]
    loaded: list[RunData] = []
    frames: list[pd.DataFrame] = []
    for ref in runs:
        if isinstance(ref, pd.DataFrame):
            # frames have no source to compare: only the same object is the same run
            if any(ref is f for f in frames):
                continue
            frames.append(ref)
        run = load_run(ref, store)
        same = [r for r in loaded if r.run_id == run.run_id]
        if not isinstance(ref, pd.DataFrame) and any(r.source == run.source for r in same):
            continue  # the same run named twice
        if same:
            run.run_id = f"{run.run_id} ({len(same) + 1})"
        loaded.append(run)
    html = render(loaded, title=title, rule=DiffRule(tolerance, slowdown, min_seconds))
    if output is not None:
        path = Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    return html
