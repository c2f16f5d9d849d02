"""The report's layout for readers: results before provenance, provenance compact,
seconds in SI units, tables that fit a narrow window, comparisons ordered by time and
capped, and the paper's doubtful value marked."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_report import Page

import harness
import reports
from reports import diff_views
from reports.data import RunData
from reports.diff import DiffRule
from reports.published_rows import add_published, published_table
from reports.tables import Row, Table, fmt, num_cell

LONG = "infonet:checkpoint=benchmarks/candidates/infonet-s21-step93600-long-name.pt"


def _rows(
    run_id: str,
    *,
    task: str = "gaussian",
    cells: int = 4,
    shift: float = 0.0,
    seconds: float = 0.01,
    when: str | None = None,
    label: str = "ksg",
) -> pd.DataFrame:
    """``cells`` rows (instances 0..cells-1, seed 0) of one estimator on ``task``; the
    host is the run's own, so that no run's rows repeat another's."""
    score = task == "highdim_independence"
    params = ('{"d":16,"dependence":"one_feature","n":50,"recipe":"paper","trials":1}'
              if score else '{"n":200,"rhos":[0.5]}')  # fmt: skip
    rows = []
    for i in range(cells):
        est = 0.1 * i + shift
        row = {"run_id": run_id, "task": task, "task_params": params, "label": label,
               "estimator": label.split(":")[0], "estimator_params": "{}",
               "instance_index": i, "instance_id": None, "seed": 0, "status": "ok",
               "message": None, "n_samples": 50 if score else 200,
               "true_mi": 1.4 if score else 0.1438, "estimate": est,
               "error": est - (1.4 if score else 0.1438), "seconds": seconds,
               "device": "cpu", "host": run_id}  # fmt: skip
        if score:
            row.update({"dependent": i % 2, "dependence": "one_feature", "d": 16, "trial": 0})
        if when is not None:
            row["finished_at"] = when
        rows.append(row)
    return pd.DataFrame(rows)


def _run(df: pd.DataFrame) -> RunData:
    return RunData(str(df["run_id"].iloc[0]), df, "DataFrame")


# -- 1. results first, provenance compact ---------------------------------------------


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> tuple[str, Page]:
    """Two stored runs (with sessions) and three row-only runs of one Gaussian grid."""
    db = tmp_path_factory.mktemp("layout") / "runs.sqlite"
    for rid, timeout in (("s1", None), ("s2", 60.0)):
        harness.run(["ksg"], "gaussian:n=200,rhos=0.2;0.5", seeds=[0], store=db,
                    progress=False, run_id=rid, timeout=timeout)  # fmt: skip
    stored = [reports.load_run(rid, db) for rid in ("s1", "s2")]
    frames = [_run(_rows(f"f{i}", shift=0.01 * i, label=LONG)) for i in range(3)]
    html = reports.render([*stored, *frames])
    return html, Page(html)


def _section_order(html: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)"', html)


def test_results_come_before_provenance(page) -> None:
    html, p = page
    order = _section_order(html)
    assert order.index("runs") > order.index("task-gaussian")
    assert order.index("runs") > order.index("failures-section")
    assert order.index("overview") < order.index("task-gaussian")
    # a link to it stays near the top: in the lede, before the first section
    first = html.index("<section")
    assert 0 < html.index('href="#runs"') < first


def test_title_counts_runs_beyond_three(page) -> None:
    html, _ = page
    assert "<title>mi-harness report: 5 runs of gaussian</title>" in html
    three = reports.render([_run(_rows(f"r{i}")) for i in range(3)])
    assert "<title>mi-harness report: r0, r1, r2</title>" in three


def test_provenance_lists_shared_fields_once_and_what_differs_per_run(page) -> None:
    html, p = page
    runs = p.tables["provenance-runs"]
    assert [head for head, _, _ in runs["rows"]] == ["s1", "s2", "f0", "f1", "f2"]
    # what every run shares is not a column: it is said once, above
    assert "task" not in runs["columns"] and "devices used" not in runs["columns"]
    assert {"source", "task parameters", "estimators"} <= set(runs["columns"])
    section = html[html.index('<section id="runs">') :]
    assert section.count("<dt>task</dt><dd>gaussian</dd>") == 1
    # task parameters in words, not JSON
    params = runs["columns"].index("task parameters")
    first = runs["rows"][0][1][params][0]
    assert first.startswith("n = 200 · ") and "rhos = 0.2, 0.5" in first
    assert "{" not in first
    # sessions collapsed by default, one row each where they differ
    details = [a for t, a in p.tags if t == "details" and a.get("class") == "sessions"]
    assert len(details) == 1 and "open" not in details[0]
    sessions = p.tables["provenance-sessions"]
    assert [head for head, _, _ in sessions["rows"]] == ["s1 · session 1", "s2 · session 1"]
    # the two sessions ran the same command on one host: said once, in the shared list
    timeout = sessions["columns"].index("timeout")
    assert [cells[timeout][0] for _, cells, _ in sessions["rows"]] == [
        "none",
        "60 s (prepare() at least 300 s)",
    ]
    assert "command" not in sessions["columns"] and "host" not in sessions["columns"]
    shared = section[section.index('<details class="sessions"') :]
    assert shared.count("<dt>command</dt>") == 1 and "<dt>host</dt>" in shared
    # the old one-card-per-run layout is gone
    assert 'class="run"' not in html


def test_contents_nest_comparisons_under_one_entry() -> None:
    runs = [_run(_rows("a", when="2026-01-01T00:00:00.000+00:00"))]
    runs += [_run(_rows(f"b{i}", shift=0.05 * (i + 1))) for i in range(6)]
    html = reports.render(runs)
    toc = html[html.index('<nav class="toc"') : html.index("</nav>")]
    assert 'href="#diffs">Comparisons (6)</a>' in toc
    assert "Diff:" not in toc
    nested = toc[toc.index("Comparisons (6)") :]
    assert "<details>" in nested and nested.count('href="#diff-') == 6


# -- 2. seconds ---------------------------------------------------------------------


def test_seconds_are_written_in_si_units_and_keep_their_exact_value() -> None:
    t = Table("t", "seconds", ["a"], [Row(str(v), [num_cell(v, "s")])
                                      for v in (8.45e-4, 2.17e-2, 3.7, 236.94)])  # fmt: skip
    t.harmonize()
    assert [r.cells[0].text for r in t.rows] == ["845 µs", "21.7 ms", "3.70 s", "237 s"]
    assert [r.cells[0].data_value for r in t.rows] == ["0.000845", "0.0217", "3.7", "236.94"]
    assert t.rows[0].cells[0].title == "0.000845 s"
    assert fmt(5.1e-3, "s") == "5.10 ms" and fmt(0.01, "s") == "10.0 ms"


def test_si_seconds_are_the_pages_only(tmp_path: Path) -> None:
    """An export writes the stored float and the CLI summary its own format; the page
    shows the same seconds in SI units."""
    import results
    from harness import metrics

    df = _rows("x", seconds=8.45e-4)
    back = pd.read_csv(results.write(df, tmp_path / "x.csv"))
    assert back["seconds"].tolist() == [8.45e-4] * 4
    assert "µs" not in metrics.format_summary(metrics.summarize(df))
    p = Page(reports.render([_run(df)]))
    shown = p.cells("task-gaussian-errors")[("ksg", "median seconds")]
    assert shown[:2] == ("845 µs", 8.45e-4)


# -- 3. narrow windows ------------------------------------------------------------------

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM = next((p for p in map(shutil.which, BROWSERS) if p), None)

_MEASURE = """<script>
const out = {};
out.page = document.documentElement.scrollWidth;
out.view = window.innerWidth;
const table = document.getElementById("overview-table");
const wrap = table.closest(".table-wrap").getBoundingClientRect();
const last = table.querySelector("tbody tr td:last-child").getBoundingClientRect();
const head = table.querySelector("tbody th").getBoundingClientRect();
out.wrap_right = wrap.right; out.last_right = last.right; out.head_width = head.width;
const img = document.querySelector("figure.plot img");
out.img_right = img ? img.getBoundingClientRect().right : 0;
document.body.setAttribute("data-measure", JSON.stringify(out));
</script>"""


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not on PATH")
def test_at_800_px_the_numbers_are_in_view(page, tmp_path: Path) -> None:
    html, _ = page
    # the page allows no script: measure a copy without its Content-Security-Policy
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    path = tmp_path / "narrow.html"
    path.write_text(html.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=800,1200",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    found = re.search(r'data-measure="([^"]+)"', done.stdout)
    assert found, done.stderr[-2000:]
    m = json.loads(found.group(1).replace("&quot;", '"'))
    assert m["page"] <= m["view"]  # nothing makes the page itself scroll sideways
    # the long label wraps: the last column (median seconds) is inside the table's box
    assert m["last_right"] <= m["wrap_right"] + 1
    assert m["head_width"] <= 22 * 15 + 1  # max-width 22rem at 15 px
    assert m["img_right"] <= m["view"]


# -- 4. comparisons -------------------------------------------------------------------


def test_the_earlier_run_is_the_baseline_whatever_the_argument_order() -> None:
    old = _rows("old", when="2026-11-01T10:00:00.000+00:00")
    new = _rows("new", shift=0.05, when="2026-12-02T10:00:00.000+00:00")
    sections = diff_views.diff_sections([_run(new), _run(old)], DiffRule())
    assert [s.title for s in sections] == ["new vs baseline old"]
    note = sections[0].blocks[0].text
    assert "The baseline old is the earlier run (started 2026-11-01 10:00 UTC" in note
    # without times, the order given decides
    timeless = [_run(new.drop(columns="finished_at")), _run(old.drop(columns="finished_at"))]
    assert [s.title for s in diff_views.diff_sections(timeless, DiffRule())] == [
        "old vs baseline new"
    ]


def test_run_order_sorts_the_runs_with_a_start_in_their_places() -> None:
    t = pd.Timestamp
    starts = [t("2026-05-01", tz="UTC"), None, t("2026-01-01", tz="UTC"), t("2026-03-01", tz="UTC")]
    assert diff_views.run_order(starts) == [2, 1, 3, 0]
    assert diff_views.run_order([None, None]) == [0, 1]


def test_shared_cells_are_capped_to_the_flagged_and_the_first_twenty() -> None:
    base = _rows("a", cells=30, when="2026-01-01T00:00:00.000+00:00")
    new = base.assign(run_id="b", host="b", finished_at="2026-02-01T00:00:00.000+00:00")
    worse = new["instance_index"] == 7
    new.loc[worse, "estimate"] += 0.5
    new.loc[worse, "error"] += 0.5
    (sec,) = diff_views.diff_sections([_run(base), _run(new)], DiffRule())
    tables = {b.id: b for b in sec.blocks if isinstance(b, Table)}
    flagged = tables["diff-a-b-flagged"]
    assert [r.cells[0].text for r in flagged.rows] == ["7"]
    shown = tables["diff-a-b-cells"]
    assert len(shown.rows) == diff_views.SHARED_SHOWN == 20
    assert "7" not in [r.cells[0].text for r in shown.rows]  # listed above, once
    assert shown.title == "Other shared cells: the first 20 of 29"
    assert shown.note.startswith("9 unflagged cells left out")
    assert not sec.collapsed  # a flagged cell: open


def test_a_comparison_with_nothing_flagged_is_collapsed_to_its_verdict() -> None:
    base = _rows("a", cells=5, when="2026-01-01T00:00:00.000+00:00")
    new = base.assign(run_id="b", host="b", finished_at="2026-02-01T00:00:00.000+00:00")
    new["estimate"] += 0.001  # within the tolerance
    new["error"] += 0.001
    (sec,) = diff_views.diff_sections([_run(base), _run(new)], DiffRule())
    assert sec.collapsed
    assert sec.summary == "ok: no regression; none of 5 shared cells flagged"
    html = reports.render([_run(base), _run(new)])
    part = html[html.index('<section id="diff-a-b" class="diff">') :]
    assert part.index("<details><summary><h3>b vs baseline a</h3>") == part.index("<details>")
    assert "(0 of 1 open)" in html


def test_score_tasks_get_no_error_columns_in_a_comparison() -> None:
    kw = {"task": "highdim_independence", "cells": 6}
    base = _rows("a", when="2026-01-01T00:00:00.000+00:00", **kw)
    new = _rows("b", shift=0.3, when="2026-02-01T00:00:00.000+00:00", **kw)
    (sec,) = diff_views.diff_sections([_run(base), _run(new)], DiffRule())
    tables = {b.id: b for b in sec.blocks if isinstance(b, Table)}
    summary = tables["diff-a-b-summary"]
    assert "MAE base" not in summary.columns and "MAE new" not in summary.columns
    assert summary.columns[:3] == ["cells", "median s base", "median s new"]
    cells = tables["diff-a-b-cells"]
    assert "Δ|error|" not in cells.columns and "true MI" not in cells.columns
    assert cells.columns[2:4] == ["score base", "score new"]
    # an MI task keeps them
    mi = [_run(_rows("c", when="2026-01-01T00:00:00.000+00:00")),
          _run(_rows("d", shift=0.3, when="2026-02-01T00:00:00.000+00:00"))]  # fmt: skip
    (sec,) = diff_views.diff_sections(mi, DiffRule())
    summary = next(b for b in sec.blocks if getattr(b, "id", "") == "diff-c-d-summary")
    assert summary.columns[:3] == ["cells", "MAE base", "MAE new"]


# -- 5. the paper's doubtful value -----------------------------------------------------


def test_the_papers_kde_value_at_level_03_is_marked() -> None:
    ours = Row("kde", [num_cell(-0.05, "nats"), num_cell(-0.1, "nats")])
    t = Table("lv", "mean error", ["0.2", "0.3"], [ours])
    add_published(t, "level_mean", {"kde": ("kde", {})}, lambda c: round(float(c), 1), "nats")
    t.harmonize()
    pub = t.rows[1]
    assert pub.head == "published: KDE"
    assert [c.text for c in pub.cells] == ["-0.0030", "-0.3500 †"]
    assert pub.cells[1].title == "as printed in the paper; probably −0.035"
    assert pub.cells[1].value == -0.35  # the value as printed
    assert pub.cells[0].title == ""
    assert t.note == "† KDE at 0.3: as printed in the paper; probably −0.035."
    whole = published_table("level_mean", "s", "nats")
    whole.harmonize()
    kde = next(r for r in whole.rows if r.head == "KDE")
    assert kde.cells[whole.columns.index("0.3")].text == "-0.3500 †"
    assert whole.note == t.note
    assert np.isclose(kde.cells[whole.columns.index("0.4")].value, -0.071)
