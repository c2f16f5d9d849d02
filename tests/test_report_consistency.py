"""The report and the CLI summaries read alike: one number format per column, human
headers, the comparison's verdict that of ``harness compare``, published rows once,
and the runs of one estimator drawn apart."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_report import Page

import harness
import reports
import results
from harness import metrics
from harness.cli import main
from reports.tables import column_spec, fmt

TASKS = ("gaussian:n=200,rhos=0.2;0.5;0.8", "gmm_levels:per_level=2,n=200",
         "gmm_order:per_k=2,n=200,ks=1;2;3")  # fmt: skip


def _format(text: str) -> tuple[str, int]:
    """``("e", 2)`` for ``"-1.07e-04"``, ``("f", 4)`` for ``"0.0410 ± 0.0012"`` or
    ``"1.41×"``, ``("f", 0)`` for ``"1,024"``, ``("si", 3)`` for seconds in their SI
    unit (``"21.7 ms"``, ``"3.70 s"``): how a cell's number is written (a published
    value's footnote mark ``" †"`` aside)."""
    number = text.removesuffix(" †").split(" ± ")[0].lstrip("+-").rstrip("×").replace(",", "")
    if re.fullmatch(r"\d+(\.\d+)? (ns|µs|ms|s)", number):
        digits = re.sub(r"\D", "", number.split()[0]).lstrip("0")
        assert len(digits) == 3 or number.split()[1] == "s", text  # 3 significant digits
        return ("si", 3)
    match = re.fullmatch(r"\d+(?:\.(\d+))?(e[+-]\d+)?", number)
    assert match, text
    return ("e" if match.group(2) else "f", len(match.group(1) or ""))


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> list[pd.DataFrame]:
    """Run "a" of ksg and kde on a Gaussian, a GMM-levels and a GMM-order grid, and
    run "b", the same cells under another run id with estimates 1e-4 higher (a
    file holding the very same results would be pooled as one series)."""
    db = tmp_path_factory.mktemp("consistency") / "runs.sqlite"
    parts = [
        harness.run(["ksg", "kde"], task, seeds=[0], store=db, progress=False, run_id=f"a{i}")
        for i, task in enumerate(TASKS)
    ]
    a = pd.concat(parts, ignore_index=True).assign(run_id="a")
    b = a.assign(run_id="b", estimate=a["estimate"] + 1e-4, error=a["error"] + 1e-4)
    return [a, b]


@pytest.fixture(scope="module")
def page(two_runs) -> Page:
    return Page(reports.build_report(two_runs))


def test_column_spec_writes_a_column_one_way() -> None:
    def shown(values, kind):
        spec = column_spec(values, kind)
        return [fmt(v, kind, spec) for v in values]

    # the user's columns: variances (ours and published), seconds, order accuracy
    assert shown([1.07e-4, 0.002, 0.00218], "var") == ["0.00011", "0.00200", "0.00218"]
    assert shown([9e-4, 0.001], "var") == ["0.00090", "0.00100"]
    # seconds: each in its SI unit, three significant digits, however far apart
    assert shown([0.0494, 0.033], "s") == ["49.4 ms", "33.0 ms"]
    assert shown([8.45e-4, 2.17e-2, 3.7, 236.94], "s") == ["845 µs", "21.7 ms", "3.70 s", "237 s"]
    assert shown([9.996e-4, 0.0, 1234.5], "s") == ["1.00 ms", "0 s", "1,234 s"]
    assert fmt(-0.0123, "+s") == "-12.3 ms" and fmt(0.0051, "+s") == "+5.10 ms"
    assert shown([83.3333, 100.0], "num") == ["83.3", "100.0"]  # 4 digits of the largest
    assert shown([2.0, 3.0], "num") == ["2", "3"]  # whole numbers: no decimals
    # scientific only when the whole column needs it, then for all of it
    assert shown([7.58e-6, 0.149], "var") == ["7.58e-06", "1.49e-01"]
    assert shown([3e-4, 5e-4], "num") == ["3.000e-04", "5.000e-04"]
    # fixed kinds keep their decimals; rounding to zero drops the sign
    assert shown([1.91e-4, -0.0335], "nats") == ["0.0002", "-0.0335"]
    assert fmt(-1e-6, "nats") == "0.0000" and fmt(-1e-6, "+nats") == "0.0000"
    assert fmt(0.25, "+nats", ".4f") == "+0.2500"


def _formats_by_column(table: dict, by: str | None = None) -> dict[tuple, set]:
    """The formats of a table's numeric cells per column (and per value of column ``by``)."""
    out: dict[tuple, set] = {}
    cols = table["columns"]
    for _, cells, _ in table["rows"]:
        group = cells[cols.index(by)][0] if by else ""
        for col, (text, value, _) in zip(cols, cells, strict=True):
            if value is not None:
                out.setdefault((col, group), set()).add(_format(text))
    return out


def test_every_column_of_the_report_has_one_number_format(page) -> None:
    checked = 0
    for tid, table in page.tables.items():
        # the gate's checks and the overview's scores hold several metrics: one format each
        by = "metric" if tid.endswith("-gate") or tid == "overview-table" else None
        for (col, group), formats in _formats_by_column(table, by).items():
            assert len(formats) == 1, (tid, col, group, formats)
            checked += 1
    assert checked > 50
    # a table of one quantity (MI levels) is in one format throughout, published rows too
    var = _formats_by_column(page.tables["task-gmm-levels-level-var"])
    assert len(set().union(*var.values())) == 1
    # seconds of the baseline and the new run side by side, alike
    cells = page.tables["diff-a-b-cells"]
    s = {_format(c[i][0]) for _, c, _ in cells["rows"]
         for i in (cells["columns"].index("s base"), cells["columns"].index("s new"))}  # fmt: skip
    assert len(s) == 1


def test_headers_are_words_not_column_names(page) -> None:
    summary = page.tables["diff-a-b-summary"]
    assert summary["columns"] == [
        "cells", "MAE base", "MAE new", "median s base", "median s new", "median ratio",
        "lost", "less accurate", "slower", "improved", "regressions",
    ]  # fmt: skip
    headers = [h for t in page.tables.values() for h in (t["head_label"], *t["columns"])]
    assert headers and not [h for h in headers if "_" in h]


def test_published_rows_appear_once_per_table(page) -> None:
    for tid in ("task-gmm-levels-level-mean", "task-gmm-levels-level-var", "task-gmm-order-order"):
        heads = [head for head, _, _ in page.tables[tid]["rows"]]
        published = [h for h in heads if h.startswith("published: ")]
        assert sorted(published) == ["published: KDE", "published: KSG"], (tid, heads)
        # under the first run's row of that estimator
        assert heads.index("published: KSG") == heads.index("ksg [a]") + 1


def test_order_note_counts_triplets_per_estimator_and_k(page) -> None:
    text = "".join(page.text)
    assert "Triplets scored per estimator and K: 2;" in text
    assert "per cell" not in text


def _pair(
    tmp_path: Path, slow: Callable[[pd.DataFrame], pd.Series], factor: float
) -> tuple[Path, Path]:
    """A Gaussian run with fixed timings and a copy of it, its ``slow(rows)`` cells
    ``factor`` times slower: the estimates are the same."""
    db = tmp_path / "runs.sqlite"
    base = harness.run(["ksg", "kde"], TASKS[0], seeds=[0, 1], store=db, progress=False,
                       run_id="base")  # fmt: skip
    base["seconds"] = np.where(base["label"] == "ksg", 0.05, 0.06)
    new = base.assign(run_id="new")
    new.loc[slow(new), "seconds"] *= factor
    return (results.write(base, tmp_path / "base.parquet"),
            results.write(new, tmp_path / "new.parquet"))  # fmt: skip


def _verdicts(paths: tuple[Path, Path], tmp_path: Path, capsys) -> tuple[int, str, Page]:
    code = main(["compare", *map(str, paths)])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    out = tmp_path / "report.html"
    assert main(["report", *map(str, paths), "-o", str(out)]) == 0
    return code, line, Page(out.read_text(encoding="utf-8"))


def test_report_verdict_is_that_of_harness_compare_on_a_latency_change(
    tmp_path: Path, capsys
) -> None:
    """Two kde cells of six 1.8x slower (0.048 s longer): the cell rule flags them, but
    kde's median seconds, the gate's ratio to KSG's, do not move."""

    def slow(df: pd.DataFrame) -> pd.Series:
        return (df["label"] == "kde") & (df["instance_index"] < 2) & (df["seed"] == 0)

    paths = _pair(tmp_path, slow, 1.8)
    code, line, p = _verdicts(paths, tmp_path, capsys)
    assert code == 0 and line == "12 cells compared; ok: no regression beyond the tolerances"
    note = next(t for t in p.text if t.startswith("harness compare "))
    assert f": {line}." in note and "REGRESSION" not in note
    assert "2 slower; 0 of them regressions by this verdict, the rest informational" in note
    flagged = p.tables["diff-base-new-flagged"]
    flags = flagged["columns"].index("flags")
    assert [(h, c[flags][0], cls) for h, c, cls in flagged["rows"]] == [
        ("kde", "slower (informational)", ""),
        ("kde", "slower (informational)", ""),
    ]
    summary = p.cells("diff-base-new-summary")
    assert summary[("kde", "slower")][1] == 2 and summary[("kde", "regressions")][1] == 0


def test_report_verdict_counts_a_slowdown_the_gate_fails(tmp_path: Path, capsys) -> None:
    """Every kde cell 5x slower: kde's seconds over KSG's grow past the gate's 3x."""
    paths = _pair(tmp_path, lambda df: df["label"] == "kde", 5.0)
    code, line, p = _verdicts(paths, tmp_path, capsys)
    assert code == 1 and line.startswith("12 cells compared; REGRESSION: 1 metric(s)")
    note = next(t for t in p.text if t.startswith("harness compare "))
    assert f": {line}." in note and "6 of them regressions by this verdict" in note
    flagged = p.tables["diff-base-new-flagged"]
    flags = flagged["columns"].index("flags")
    assert {(h, c[flags][0], cls) for h, c, cls in flagged["rows"]} == {
        ("kde", "slower", "regression")
    }


def test_runs_of_one_estimator_share_a_colour_and_differ_in_marker(two_runs, monkeypatch):
    from matplotlib.figure import Figure

    from reports import figures, task_views

    drawn = []
    real = task_views.plot
    monkeypatch.setattr(
        task_views, "plot", lambda panels, **kw: drawn.append(panels) or real(panels, **kw)
    )
    gaussian = [df[df["task"] == "gaussian"] for df in two_runs]
    reports.build_report(gaussian)
    (panel,) = drawn[0]
    looks = {s.label.split(" — ")[0]: (s.color, s.variant) for s in panel.series}
    assert looks["ksg [a]"][0] == looks["ksg [b]"][0] != looks["kde [a]"][0]
    assert len(set(looks.values())) == 4  # every series its own colour and marker
    # the variant is the marker and the line style
    ax = Figure().subplots()
    for variant in (0, 1):
        figures._draw(ax, figures.Series("x", [0, 1], [0, 1], variant=variant))
    assert [line.get_marker() for line in ax.lines] == ["o", "s"]
    assert [line.get_linestyle() for line in ax.lines] == ["-", "--"]


def _summary_columns(text: str) -> dict[str, dict[str, set]]:
    """Formats of the numbers of each table of :func:`harness.metrics.format_summary`
    text, per column header."""
    out = {}
    for block in text.split("\n\n"):
        title, header, _, *rows = block.splitlines()
        cols = header.split()
        formats: dict[str, set] = {c: set() for c in cols}
        for row in rows:
            for col, cell in zip(cols, row.split()[1:], strict=True):
                if cell != "-":
                    formats[col].add(_format(cell))
        out[title] = formats
    return out


def test_summary_tables_write_each_column_one_way() -> None:
    rows = []
    for label, bias in (("ksg", 1.91e-4), ("kde", -0.0335)):
        for level in (0.0, 0.5):
            for i, noise in enumerate((-0.001, 0.001, 0.0)):
                rows.append({"task": "t", "label": label, "status": "ok", "level": level,
                             "true_mi": level, "estimate": level + bias + noise,
                             "error": bias + noise, "seconds": 0.0494 if i else 0.033,
                             "seed": 0, "instance_index": i})  # fmt: skip
    text = metrics.format_summary(metrics.summarize(pd.DataFrame(rows), "levels"))
    tables = _summary_columns(text)
    for title, formats in tables.items():
        for col, found in formats.items():
            assert len(found) == 1, (title, col, found)
    errors = tables["errors over all instances (nats; seconds per estimate)"]
    assert errors["bias"] == {("f", 4)} and errors["cells"] == {("f", 0)}
    # a table of one quantity per MI level: one format for all its columns
    assert len(set().union(*tables["error variance per MI level"].values())) == 1
    assert "0.0002" in text and "-0.0335" in text
    # order accuracy: 83.3 next to 100.0, not 83.3333 next to 100
    order = []
    for k, right in ((1, 6), (2, 5)):
        for t in range(6):
            for m, true in ((0, 0.5), (1, 0.2)):
                est = true if t < right else 0.7 - true
                order.append({"task": "t", "label": "ksg", "status": "ok", "K": k,
                              "triplet": t, "member": m, "true_mi": true, "estimate": est,
                              "error": est - true, "seconds": 0.01, "seed": 0})  # fmt: skip
    text = metrics.format_summary(metrics.summarize(pd.DataFrame(order), "order"))
    assert re.search(r"ksg\s+100\.0\s+83\.3\n", text), text
