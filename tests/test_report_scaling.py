"""Reports over many runs and many series: comparisons pair only runs that share cells,
with the same sections as comparing every pair; legends of many series hide no data."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from harness.matching import matching_keys
from reports import diff_views
from reports.data import RunData
from reports.diff import DiffRule, baselines, compare
from reports.figures import INSIDE_MAX, Panel, Series, plot


def _rows(run_id: str, rho: float, seeds: range, shift: float = 0.0) -> list[dict]:
    """Rows of two estimators on ``gaussian`` at one ``rho``, one per seed; ``shift``
    moves the error of odd seeds. Each run has a host of its own, so that no run's rows
    repeat another's (:func:`reports.diff.repeated`)."""
    truth = 0.1438 if rho == 0.5 else 0.8304
    rows = []
    for label, err in (("ksg", 0.01), ("kde", 0.05)):
        for seed in seeds:
            e = err + shift * (seed % 2)
            rows.append({"run_id": run_id, "task": "gaussian", "task_params": f'{{"rhos":[{rho}]}}',
                         "label": label, "estimator": label, "estimator_params": "{}",
                         "instance_index": 0, "instance_id": None, "seed": seed, "status": "ok",
                         "message": None, "n_samples": 200, "true_mi": truth,
                         "estimate": truth + e, "error": e, "seconds": 0.01 * (1 + seed),
                         "device": "cpu", "host": run_id})  # fmt: skip
    return rows


def _run(run_id: str, *parts: tuple) -> RunData:
    """A run of the rows of each ``(rho, seeds[, shift])`` in ``parts``."""
    rows = [row for part in parts for row in _rows(run_id, *part)]
    return RunData(run_id, pd.DataFrame(rows), "DataFrame")


@pytest.fixture(scope="module")
def runs() -> list[RunData]:
    """Runs in report order: b shares cells with a, d with c only, and c with no earlier
    run; e shares cells with a and c, and a comes first."""
    return [
        _run("a", (0.5, range(0, 4))),
        _run("b", (0.5, range(0, 4), 0.1)),
        _run("c", (0.9, range(0, 4))),
        _run("d", (0.9, range(2, 6), -0.02)),
        _run("e", (0.5, range(3, 5)), (0.9, range(0, 2))),
    ]


def _first_sharing(key_sets: list[set[str]]) -> list[int | None]:
    """The plain quadratic search :func:`reports.diff.baselines` must agree with."""
    return [next((i for i in range(j) if key_sets[i] & key_sets[j]), None)
            for j in range(len(key_sets))]  # fmt: skip


def test_baselines_is_the_first_earlier_run_sharing_a_key() -> None:
    rng = random.Random(7)
    for _ in range(200):
        key_sets = [{str(rng.randrange(30)) for _ in range(rng.randrange(4))} for _ in range(8)]
        assert baselines(key_sets) == _first_sharing(key_sets)
    assert baselines([]) == []
    assert baselines([["x"], ["y"], ["y", "x"], []]) == [None, None, 0, None]


def test_diff_sections_compare_only_runs_that_share_cells(runs, monkeypatch) -> None:
    key_sets = [set(matching_keys(r.df)) for r in runs]
    calls: list[tuple[str, str]] = []
    ids = {id(r.df): r.run_id for r in runs}

    def spy(base, new, rule=None, **kw):
        calls.append((ids[id(base)], ids[id(new)]))
        return compare(base, new, rule, **kw)

    monkeypatch.setattr(diff_views, "compare", spy)
    sections = diff_views.diff_sections(runs, DiffRule())
    assert calls == [("a", "b"), ("c", "d"), ("a", "e")]
    index = {r.run_id: i for i, r in enumerate(runs)}
    assert all(key_sets[index[b]] & key_sets[index[n]] for b, n in calls)
    assert [s.title for s in sections] == [f"{n} vs baseline {b}" for b, n in calls]


def test_diff_sections_equal_comparing_every_earlier_run(runs) -> None:
    """The sections are those of comparing each run with every earlier one in turn, keys
    computed afresh for each pair, and keeping the first that shares a cell."""
    rule = DiffRule()
    expected = []
    for j, new in enumerate(runs):
        for base in runs[:j]:
            cells = compare(base.df, new.df, rule)
            if not cells.empty:
                expected.append(diff_views._diff_section(base, new, cells, rule))
                break
    assert len(expected) == 3
    assert diff_views.diff_sections(runs, rule) == expected
    assert diff_views.diff_sections(runs[:1], rule) == []


def _figure(monkeypatch, panels: list[Panel]):
    """The matplotlib Figure :func:`reports.figures.plot` draws for ``panels``, laid out."""
    import reports.figures as figures

    drawn = []
    monkeypatch.setattr(figures, "svg_uri", lambda fig: drawn.append(fig) or "")
    plot(panels, xlabel="n", ylabel="estimate")
    (fig,) = drawn
    fig.draw_without_rendering()
    return fig


def _series(count: int) -> list[Series]:
    return [Series(f"estimator {i} · d=16 · recipe=paper", [1, 2, 3], [i, i + 0.5, i + 0.2],
                   color=i, variant=i // 8) for i in range(count)]  # fmt: skip


def _legends(fig) -> list:
    return [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("n_panels", [1, 3])
def test_a_legend_of_many_series_stays_off_the_data(monkeypatch, n_panels: int) -> None:
    count = 20
    fig = _figure(monkeypatch, [Panel(f"p{k}", _series(count)) for k in range(n_panels)])
    legends = _legends(fig)
    assert legends
    # one legend for all panels, each label once
    assert sum(len(lg.get_texts()) for lg in legends) == count
    for legend in legends:
        box = legend.get_window_extent()
        for ax in fig.axes:
            assert not _overlap(box, ax.get_window_extent()), ax.get_title()
    # in columns, no wider than the figure
    (legend,) = legends
    assert legend.get_window_extent().width <= fig.get_window_extent().width
    assert len({round(t.get_window_extent().x0) for t in legend.get_texts()}) > 1


def test_a_legend_of_few_series_stays_inside_its_axes(monkeypatch) -> None:
    # rising lines, which leave the upper left corner free
    rising = [Series(f"estimator {i}", [0, 1, 2, 3], [0, 0.2, 1.5 + 0.1 * i, 3 + 0.1 * i],
                     color=i) for i in range(INSIDE_MAX)]  # fmt: skip
    fig = _figure(monkeypatch, [Panel("", rising)])
    (ax,) = fig.axes
    assert not fig.legends
    legend = ax.get_legend()
    assert legend is not None and len(legend.get_texts()) == INSIDE_MAX
    assert ax.get_window_extent().contains(*legend.get_window_extent().p0)
    assert ax.get_window_extent().contains(*legend.get_window_extent().p1)


def test_a_log_axis_over_many_decades_is_ticked_at_powers_of_ten(monkeypatch):
    """Ticks at 1, 2 and 5 of each decade over five decades ran their labels together."""
    import reports.figures as figures

    captured = []
    monkeypatch.setattr(figures, "svg_uri", lambda fig: captured.append(fig) or "")
    wide = Series("est", [1e-4, 1e-3, 1e-2, 1e-1, 1.0], [0.1, 0.2, 0.3, 0.4, 0.5], style="points")
    narrow = Series("est", [0.01, 0.02, 0.05, 0.1], [0.1, 0.2, 0.3, 0.4], style="points")
    for series in (wide, narrow):
        plot([Panel("", [series])], xlabel="s", ylabel="e", logx=True)
    ticks = []
    for fig in captured:
        ax = fig.axes[0]
        lo, hi = ax.get_xlim()
        ticks.append([t for t in ax.get_xticks() if lo <= t <= hi])
    assert all(abs(np.log10(t) - round(np.log10(t))) < 1e-9 for t in ticks[0])
    assert any(abs(np.log10(t) - round(np.log10(t))) > 0.1 for t in ticks[1])
