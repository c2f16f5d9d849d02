"""``python -m harness report``: the page holds the stored numbers, escapes everything,
loads nothing from the network, lists failed cells and flags regressions."""

from __future__ import annotations

import base64
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import harness
import reports
import results
from harness import metrics
from harness.cli import main
from reports import published as pub
from reports.tables import column_spec, fmt

LEVELS_RUN = "levels-a"
GAUSS_RUN = "gauss-a"
FAIL_SPEC = "ksg:k=500"  # needs 501 samples; every cell fails at n = 200
#: How the levels run's labels are shown: ``ksg`` beside ``ksg:k=500`` spells its k.
SHOWN = {"ksg": "ksg:k=5"}


class Page(HTMLParser):
    """Tables by id (header, rows of (head, [(text, data-value, class)])) and every tag."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, dict] = {}
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self._table: dict | None = None
        self._cell: list | None = None
        self._row: list | None = None
        self._in_head = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "table" and a.get("id"):
            self._table = {"columns": [], "header_classes": [], "rows": [], "head_label": None}
            self.tables[a["id"]] = self._table
        elif self._table is not None:
            if tag == "thead":
                self._in_head = True
            elif tag == "tr" and not self._in_head:
                self._row = [None, [], a.get("class", "")]
            elif tag in ("th", "td"):
                self._cell = [tag, "", a.get("data-value"), a.get("class", "")]

    def handle_endtag(self, tag):
        if self._table is None:
            return
        if tag == "thead":
            self._in_head = False
        elif tag in ("th", "td") and self._cell is not None:
            kind, text, value, cls = self._cell
            text = text.strip()
            if self._in_head:
                if self._table["head_label"] is None:
                    self._table["head_label"] = text
                else:
                    self._table["columns"].append(text)
                    self._table["header_classes"].append(cls)
            elif kind == "th":
                self._row[0] = text
            else:
                self._row[1].append((text, value, cls))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table["rows"].append(tuple(self._row))
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell[1] += data

    def cells(self, table_id: str) -> dict[tuple[str, str], tuple[str, float | None, str]]:
        """``(row head, column) -> (text, value, class)`` of a table."""
        t = self.tables[table_id]
        out = {}
        for head, cells, _ in t["rows"]:
            for col, (text, value, cls) in zip(t["columns"], cells, strict=True):
                out[(head, col)] = (text, None if value is None else float(value), cls)
        return out


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("report") / "runs.sqlite"
    harness.run(
        ["ksg", "kde", FAIL_SPEC],
        "gmm_levels:per_level=3,n=200",
        seeds=[0],
        store=db,
        progress=False,
        run_id=LEVELS_RUN,
    )
    harness.run(
        ["ksg", "kde"],
        "gaussian:n=200,rhos=0.2;0.5;0.8",
        seeds=[0, 1],
        store=db,
        progress=False,
        run_id=GAUSS_RUN,
    )
    return db


@pytest.fixture(scope="module")
def page(store: Path) -> tuple[str, Page]:
    html = reports.build_report([LEVELS_RUN, GAUSS_RUN], store=store)
    return html, Page(html)


def _close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-15)


def test_level_tables_hold_metrics_and_published_rows(store: Path, page) -> None:
    _, p = page
    df = results.load(LEVELS_RUN, store)
    tables = metrics.paper_tables(metrics.summarize(df))
    for key, tid, kind in (
        ("mean error per MI level (nats)", "task-gmm-levels-level-mean", "nats"),
        ("error variance per MI level", "task-gmm-levels-level-var", "var"),
    ):
        want = tables[key]
        got = p.cells(tid)
        assert list(want.columns) == p.tables[tid]["columns"]
        assert want.shape == (2, 10)  # ksg and kde; the failing spec has no ok cell
        # one format for the whole table, published rows included
        spec = column_spec([v for _, v, _ in got.values() if v is not None], kind)
        for lab, row in want.iterrows():
            for col, value in row.items():
                text, shown, _ = got[(SHOWN.get(lab, lab), col)]
                assert _close(shown, float(value))
                assert text == fmt(value, kind, spec)
    # the paper's Table 2 row sits under ours, for the same levels
    mean = p.cells("task-gmm-levels-level-mean")
    assert mean[("published: KSG", "0.0")][1] == 0.001
    assert mean[("published: KSG", "0.8")][1] == 0.016
    assert mean[("published: KDE", "0.9")][1] == -0.292
    var = p.cells("task-gmm-levels-level-var")
    assert var[("published: KSG", "0.9")][1] == 1e-3
    assert "published: InfoNet" not in {h for h, _ in mean}  # not in these runs
    # per_level=3 for both estimators: one count, not a range "3–3"
    assert "Instances per estimator and level: 3 (the paper" in "".join(p.text)


#: The error table's headers for the columns of :func:`harness.metrics.error_table`.
ERROR_HEADERS = {"mae": "MAE", "error_var": "error variance", "rmse": "RMSE",
                 "median_seconds": "median seconds"}  # fmt: skip


def test_error_tables_hold_metrics(store: Path, page) -> None:
    _, p = page
    for run, tid in ((LEVELS_RUN, "task-gmm-levels-errors"), (GAUSS_RUN, "task-gaussian-errors")):
        df = results.load(run, store)
        want = metrics.error_table(df)
        got = p.cells(tid)
        for lab, row in want.iterrows():
            for col, value in row.items():
                head = ERROR_HEADERS.get(col, col)
                cell = got[(SHOWN.get(lab, lab) if run == LEVELS_RUN else lab, head)][1]
                assert _close(cell if cell is not None else np.nan, float(value)), (run, lab, col)
    errs = p.cells("task-gmm-levels-errors")
    assert errs[(FAIL_SPEC, "failed")][1] == 30 and "bad" in errs[(FAIL_SPEC, "failed")][2]
    assert errs[(FAIL_SPEC, "MAE")][0] == "–"


def test_paired_mae_table_holds_metrics(store: Path, page) -> None:
    _, p = page
    df = results.load(GAUSS_RUN, store)
    want = metrics.mae_difference(df, "kde", "ksg").iloc[0]
    got = p.cells("task-gaussian-mae-difference")
    text, value, _ = got[("kde", "difference")]
    assert value == pytest.approx(want["difference"])
    assert text.endswith(f" ± {want['difference_se']:.4f}")
    assert got[("kde", "instances")][1] == want["pairs"] == 6  # 3 rhos x 2 seeds
    assert got[("kde", "its MAE")][1] == pytest.approx(want["first"])
    assert got[("kde", "its MAE")][0] == f"{want['first']:.4f}"


def test_error_components_table_holds_metrics_where_seeds_repeat(store: Path, page) -> None:
    _, p = page
    df = results.load(GAUSS_RUN, store)  # two seeds per rho
    want = metrics.error_components(df)
    got = p.cells("task-gaussian-error-components")
    names = {"sampling var": "sampling_var", "systematic var": "systematic_var", "bias": "bias"}
    for lab, row in want.iterrows():
        assert got[(lab, "instances")][1] == 3 and got[(lab, "seeds")][1] == 2
        for col, key in names.items():
            assert got[(lab, col)][1] == pytest.approx(row[key])
        assert got[(lab, "systematic %")][1] == pytest.approx(100 * row["systematic_share"])
    # one seed per mixture: nothing to split, no table
    assert "task-gmm-levels-error-components" not in p.tables


def test_gaussian_estimates_per_instance(store: Path, page) -> None:
    _, p = page
    df = results.load(GAUSS_RUN, store)
    got = p.cells("task-gaussian-estimates")
    assert p.tables["task-gaussian-estimates"]["columns"] == [
        f"{-0.5 * math.log(1 - r * r):.3f}" for r in (0.2, 0.5, 0.8)
    ]
    for (lab, true), part in df.groupby(["label", "true_mi"]):
        assert len(part) == 2  # two seeds
        assert _close(got[(lab, f"{true:.3f}")][1], part["estimate"].mean())


def test_failed_cells_listed_with_messages(store: Path, page) -> None:
    _, p = page
    df = results.load(LEVELS_RUN, store)
    failed = df[df["status"] != "ok"]
    assert len(failed) == 30 and set(failed["label"]) == {FAIL_SPEC}
    rows = p.tables["failures"]["rows"]
    cols = p.tables["failures"]["columns"]
    assert len(rows) == len(failed)
    msg = cols.index("message")
    status = cols.index("status")
    for _, cells, cls in rows:
        assert cells[msg][0] == "InputError: need at least 501 samples (ksg k=500); got 200"
        assert cells[status][0] == "failed" and "status-failed" in cls
    shown = sorted(cells[cols.index("instance")][0] for _, cells, _ in rows)
    assert shown == sorted(failed["instance_id"].astype(str))
    # text columns' headers align left, numeric ones' right, as their cells do
    left = {c for c, k in zip(cols, p.tables["failures"]["header_classes"], strict=True) if k}
    assert left == {"run", "task", "estimator", "instance", "status", "message"}


def test_page_is_self_contained(page) -> None:
    html, p = page
    tags = {t for t, _ in p.tags}
    assert "script" not in tags and "link" not in tags and "iframe" not in tags
    for tag, attrs in p.tags:
        for name in ("src", "href", "srcset", "action", "poster", "data"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (tag, name, value)
    imgs = [a["src"] for t, a in p.tags if t == "img"]
    assert len(imgs) >= 4
    for src in imgs:
        assert src.startswith("data:image/svg+xml;base64,")
        svg = base64.b64decode(src.split(",", 1)[1])
        assert b"<svg" in svg and b"<script" not in svg
    assert not re.search(r"url\(|@import", html.split("</style>")[0])
    csp = [a for t, a in p.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0]["content"]


def test_malicious_label_and_message_are_escaped(store: Path) -> None:
    bad = "<script>alert(1)</script>"
    img = '<img src=x onerror="alert(2)">'
    df = results.load(LEVELS_RUN, store)
    df["label"] = df["label"].replace({FAIL_SPEC: bad})
    df["message"] = df["message"].where(df["status"] == "ok", img)
    df["task_params"] = df["task_params"].str.replace("}", f',"x":"{bad}"}}', regex=False)
    html = reports.build_report(df)
    assert bad not in html and "<img src=x" not in html
    p = Page(html)
    assert "script" not in {t for t, _ in p.tags}
    assert all(t != "img" or a["src"].startswith("data:") for t, a in p.tags)
    errs = p.cells("task-gmm-levels-errors")
    assert (bad, "failed") in errs  # shown as text, not markup
    fails = p.tables["failures"]
    msg = fails["columns"].index("message")
    assert {cells[msg][0] for _, cells, _ in fails["rows"]} == {img}
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_diff_flags_a_perturbed_run(store: Path, tmp_path: Path) -> None:
    base = results.load(GAUSS_RUN, store)
    # fixed timings: measured ones can shift the median seconds of the 6 kde cells
    # past the gate's speed ratio when one is slowed on a busy machine
    base["seconds"] = np.where(base["label"] == "ksg", 0.001, 0.004)
    base_path = results.write(base, tmp_path / f"{GAUSS_RUN}.parquet")
    new = base.copy()
    new["run_id"] = "gauss-b"
    worse = (new["label"] == "ksg") & (new["instance_index"] == 1) & (new["seed"] == 0)
    slower = (new["label"] == "kde") & (new["instance_index"] == 2) & (new["seed"] == 1)
    broken = (new["label"] == "kde") & (new["instance_index"] == 0) & (new["seed"] == 0)
    assert worse.sum() == slower.sum() == broken.sum() == 1
    sign = np.sign(new.loc[worse, "error"]).replace(0, 1)
    new.loc[worse, "error"] += 0.3 * sign
    new.loc[worse, "estimate"] = new.loc[worse, "true_mi"] + new.loc[worse, "error"]
    new.loc[slower, "seconds"] = new.loc[slower, "seconds"] * 3 + 0.05
    new.loc[broken, ["status", "estimate", "error"]] = ["failed", np.nan, np.nan]
    new.loc[broken, "message"] = "RuntimeError: perturbed"
    path = results.write(new, tmp_path / "gauss-b.parquet")
    out = tmp_path / "diff.html"
    code = main(["report", str(base_path), str(path), "-o", str(out)])
    assert code == 0
    p = Page(out.read_text(encoding="utf-8"))
    reg = p.tables["diff-gauss-a-gauss-b-flagged"]
    cols = reg["columns"]
    flagged = {
        (head, cells[cols.index("instance")][0], cells[cols.index("seed")][0],
         cells[cols.index("flags")][0], cls)
        for head, cells, cls in reg["rows"]
    }  # fmt: skip
    # harness compare fails ksg's MAE and counts the lost cell; the one slow kde cell
    # leaves kde's median seconds (the gated ratio to ksg's) as it was: information only
    assert flagged == {
        ("ksg", "1", "0", "less accurate", "regression"),
        ("kde", "2", "1", "slower (informational)", ""),
        ("kde", "0", "0", "lost", "regression"),
    }
    summ = p.cells("diff-gauss-a-gauss-b-summary")
    assert summ[("ksg", "less accurate")][1] == summ[("ksg", "regressions")][1] == 1
    assert summ[("kde", "slower")][1] == summ[("kde", "lost")][1] == 1
    assert summ[("kde", "regressions")][1] == 1  # the lost cell, not the slower one
    assert summ[("ksg", "cells")][1] == summ[("kde", "cells")][1] == 6
    row = next(cells for head, cells, _ in reg["rows"] if head == "ksg")
    d_err = row[cols.index("Δ|error|")]
    assert float(d_err[1]) == pytest.approx(0.3) and "bad" in d_err[2]
    # the failure of the perturbed run is listed too
    assert "RuntimeError: perturbed" in "".join(p.text)
    # harness compare's verdict on the same two runs: ksg's MAE over its 6 cells grew by
    # 0.3 / 6, the lost kde cell counts as a worse cell
    gate = p.tables["diff-gauss-a-gauss-b-gate"]
    gcols = gate["columns"]
    checks = {(h, c[gcols.index("metric")][0]): c for h, c, _ in gate["rows"]}
    mae = checks[("ksg", "mae")]
    assert float(mae[gcols.index("change")][1]) == pytest.approx(0.05)
    assert mae[gcols.index("verdict")][0] == "REGRESSED"
    assert checks[("kde", "mae")][gcols.index("verdict")][0] == "ok"
    assert "1 metric(s) and 1 cell(s) worse than the baseline" in "".join(p.text)


def test_diff_matches_cells_across_a_parameter_added_at_its_default(store: Path) -> None:
    import json

    from reports.diff import compare as diff_cells

    base = results.load(GAUSS_RUN, store)
    ksg = base["estimator"] == "ksg"

    def edit(text: str, value: object) -> str:
        params = json.loads(text)
        assert params["standardize"] is False  # stored at its default
        if value is None:
            del params["standardize"]  # as a run from before the parameter existed
        else:
            params["standardize"] = value
        return json.dumps(params)

    older = base.drop(columns="cell_key")
    older.loc[ksg, "estimator_params"] = older.loc[ksg, "estimator_params"].map(
        lambda t: edit(t, None)
    )
    assert len(diff_cells(older, base)) == len(base)
    other = base.drop(columns="cell_key")
    other.loc[ksg, "estimator_params"] = other.loc[ksg, "estimator_params"].map(
        lambda t: edit(t, True)
    )
    assert len(diff_cells(base, other)) == len(base) - int(ksg.sum())


def test_no_diff_for_runs_without_shared_cells(page) -> None:
    _, p = page
    assert not [t for t in p.tables if t.startswith("diff-")]


def test_cli_reports_unknown_run_in_one_line(store: Path, tmp_path: Path, capsys) -> None:
    code = main(["report", "nope", "--store", str(store), "-o", str(tmp_path / "r.html")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no run 'nope'") and "\n" not in err
    assert not (tmp_path / "r.html").exists()


def test_published_numbers_match_the_design_brief() -> None:
    lat = {r.name: r for r in pub.LATENCY.rows}
    assert [lat["KSG-1"].values[n] for n in (200, 500, 1000, 2000, 5000)] == [
        0.009, 0.024, 0.049, 0.098, 0.249]  # fmt: skip
    assert [lat["KDE"].values[n] for n in (200, 500, 1000, 2000, 5000)] == [
        0.004, 0.021, 0.083, 0.32, 1.801]  # fmt: skip
    assert lat["MINE-500"].values[200] == 0.821 and lat["MINE-500"].values[2000] == 0.991
    assert 0.010 <= min(lat["Ours-1"].values.values()) <= max(lat["Ours-1"].values.values())
    assert max(lat["Ours-1"].values.values()) == 0.013
    assert (min(lat["Ours-16"].values.values()), max(lat["Ours-16"].values.values())) == (
        0.001, 0.003)  # fmt: skip
    mean = {r.name: r for r in pub.LEVEL_MEAN.rows}
    assert list(mean["InfoNet"].values.values()) == [
        0.010, 0.004, 0.008, -0.024, -0.040, -0.063, -0.082, -0.101, -0.124, -0.138]  # fmt: skip
    assert (mean["KSG"].values[0.0], mean["KSG"].values[0.9]) == (0.001, 0.014)
    assert max(mean["KSG"].values.values()) == 0.016
    var = {r.name: r for r in pub.LEVEL_VAR.rows}
    assert (var["KSG"].values[0.0], var["KSG"].values[0.9]) == (2e-4, 1e-3)
    assert (var["InfoNet"].values[0.0], var["InfoNet"].values[0.9]) == (1e-5, 9e-3)

    def span(table, name):
        vals = next(r for r in table.rows if r.name == name).values.values()
        return min(vals), max(vals)

    assert span(pub.ORDER_K, "KSG") == (97.0, 99.0)
    assert span(pub.ORDER_K, "KDE") == (97.0, 97.9)
    assert span(pub.ORDER_K, "MINE-500") == (78.1, 98.5)
    assert span(pub.ORDER_K, "InfoNet") == (99.0, 99.8)
    assert span(pub.ORDER_D, "KSG") == (91.8, 95.5)
    assert span(pub.ORDER_D, "MINE-5000") == (92.8, 97)
    assert span(pub.ORDER_D, "InfoNet-1500") == (96.2, 98.3)
    # matching: the parameters a row's name fixes, the most specific row first
    assert pub.match("latency", "ksg", {"k": 5, "variant": 1}).name == "KSG-5"
    assert pub.match("latency", "ksg", {"k": 3}) is None
    assert pub.match("latency", "infonet", {"batch_size": 16}).name == "Ours-16"
    assert pub.match("latency", "infonet", {"batch_size": 64}) is None
    assert pub.match("level_mean", "mine", {"steps": 500, "batch_size": 500}).name == "MINE-500"
    assert pub.match("order_d", "infonet", {"projections": 1500}).name == "InfoNet-1500"
    assert pub.match("order_d", "infonet", {"projections": 1000}) is None


def test_views_for_other_tasks_render_from_rows() -> None:
    """Order, latency, AUC and Omniglot views from synthetic rows with known answers."""
    rng = np.random.default_rng(0)
    base = {"run_id": "synthetic", "estimator_params": "{}", "status": "ok", "message": None,
            "seconds": 0.01, "device": "cpu", "seed": 0, "instance_id": None}  # fmt: skip
    rows = []
    # gmm_order: ksg orders every triplet right at K=1, half of them at K=2
    for k in (1, 2):
        for trip in range(4):
            wrong = k == 2 and trip % 2 == 1
            for member, true in ((0, 0.5), (1, 0.3)):
                est = true if not wrong else 0.8 - true
                rows.append({**base, "task": "gmm_order", "task_params": "{}", "label": "ksg",
                             "estimator": "ksg", "estimator_params": '{"k":5}',
                             "instance_index": 8 * k + 2 * trip + member, "K": k,
                             "triplet": trip, "member": member, "true_mi": true,
                             "estimate": est, "error": est - true, "n_samples": 200})  # fmt: skip
                # kde on the same samples orders every triplet right
                rows.append({**rows[-1], "label": "kde", "estimator": "kde",
                             "estimator_params": "{}", "estimate": true,
                             "error": 0.0})  # fmt: skip
    # latency: seconds grow with n
    for n in (200, 500):
        for i in range(3):
            rows.append({**base, "task": "latency", "task_params": "{}", "label": "kde",
                         "estimator": "kde", "instance_index": i + (0 if n == 200 else 3),
                         "n_samples": n, "true_mi": 0.1, "estimate": 0.1, "error": 0.0,
                         "seconds": n / 1000 + i * 0.001})  # fmt: skip
    # independence: a perfect score at n=100 (d=16), chance-free; overlapping at n=50
    for i in range(40):
        dep, n = i % 2, (100 if i < 20 else 50)
        rows.append({**base, "task": "highdim_independence", "task_params": "{}",
                     "label": "ksg", "estimator": "ksg", "instance_index": i,
                     "dependence": "one feature", "d": 16, "dependent": dep, "n_samples": n,
                     "true_mi": np.nan, "estimate": dep * (1 if n == 100 else 0.2)
                     + rng.uniform(0, 0.5), "error": np.nan})  # fmt: skip
        # kde on the same samples: perfect at n=50 too
        rows.append({**rows[-1], "label": "kde", "estimator": "kde",
                     "estimate": dep + rng.uniform(0, 0.5)})  # fmt: skip
    # omniglot: estimates exactly truth / 70
    truth = np.array([11.69, 12.16, 13.21, 13.51])
    for i, t in enumerate(truth):
        rows.append({**base, "task": "omniglot_smi", "task_params": "{}", "label": "sliced",
                     "estimator": "sliced", "instance_index": i, "d": 4, "n_samples": 500,
                     "true_mi": t, "estimate": t / 70, "error": t / 70 - t})  # fmt: skip
    df = pd.DataFrame(rows)
    html = reports.build_report(df)
    assert "could not draw" not in html
    p = Page(html)
    order = p.cells("task-gmm-order-order")
    assert order[("ksg", "1")][1] == 100.0 and order[("ksg", "2")][1] == 50.0
    assert order[("published: KSG", "1")][1] == 98.7  # Table 3 under ours
    assert order[("ksg", "2")][0] == "50.0 ± 25.0"  # binomial: sqrt(0.5 * 0.5 / 4)
    assert order[("ksg", "1")][0] == "100.0"  # no error shown at 100 %
    paired = p.cells("task-gmm-order-order-difference")
    # kde - ksg on the same triplets: 0 at K=1; at K=2 outcomes 1 1 1 1 vs 1 0 1 0
    assert paired[("kde", "1")][1] == 0.0
    assert paired[("kde", "2")][1] == pytest.approx(50.0)
    assert paired[("kde", "2")][0] == f"+50.0 ± {100 * np.std([0, 1, 0, 1], ddof=1) / 2:.1f}"
    assert paired[("kde", "1")][0] == "0.0"  # signed only when it differs
    lat = p.cells("task-latency-latency")
    assert lat[("kde", "200")][1] == pytest.approx(0.201)
    assert lat[("kde", "500")][1] == pytest.approx(0.501)
    assert lat[("published: KDE", "500")][1] == 0.021
    auc = p.cells("task-highdim-independence-auc")
    heads = [head for head, _, _ in p.tables["task-highdim-independence-auc"]["rows"]]
    assert heads == ["ksg · one feature · 16", "kde · one feature · 16"]  # run order
    assert auc[("ksg · one feature · 16", "100")][:2] == ("1.000 ± 0.000", 1.0)
    weak = metrics.auc_table(df[(df["task"] == "highdim_independence") & (df["n_samples"] == 50)])
    text, value, _ = auc[("ksg · one feature · 16", "50")]
    assert value == pytest.approx(weak["auc"].iloc[0])
    assert 0.5 < value < 1 and text == f"{value:.3f} ± {weak['auc_se'].iloc[0]:.3f}"
    diff = p.cells("task-highdim-independence-auc-difference")
    text, value, _ = diff[("kde · one feature · 16", "50")]
    # ksg's placements vary, kde's are all 1: the paired error is ksg's own
    assert value == pytest.approx(1.0 - weak["auc"].iloc[0])
    assert text == f"+{value:.3f} ± {weak['auc_se'].iloc[0]:.3f}"
    assert diff[("kde · one feature · 16", "100")][:2] == ("0.000 ± 0.000", 0.0)
    # independence and rescaled views: estimates are scores, so no error columns
    for tid in ("task-highdim-independence-errors", "task-omniglot-smi-errors"):
        assert p.tables[tid]["columns"] == ["cells", "ok", "failed", "timeout", "skipped",
                                            "median seconds"]  # fmt: skip
    assert "MAE" in p.tables["task-gmm-order-errors"]["columns"]
    headers = [h for t in p.tables.values() for h in (t["head_label"], *t["columns"])]
    assert not [h for h in headers if "_" in h]
    ids = {a.get("id") for _, a in p.tags}
    assert "task-highdim-independence-auc-figure" in ids  # two sizes: a curve
    one_n = reports.build_report(
        df[(df["task"] != "highdim_independence") | (df["n_samples"] == 50)]
    )
    assert "task-highdim-independence-auc-figure" not in {a.get("id") for _, a in Page(one_n).tags}
    # an independence test's estimates are scores: no MAE pairing, AUC on the scatter
    assert "task-highdim-independence-mae-difference" not in p.tables
    assert "task-omniglot-smi-mae-difference" not in p.tables
    text = "".join(p.text)
    assert "against mean ROC AUC over cells; upper left is better" in text
    assert "against order accuracy (%); upper left is better" in text
    assert "against Spearman ρ with truth; upper left is better" in text
    assert "against mean absolute error over ok cells; lower left is better" in text  # latency
    # the overview: each task's headline score per estimator, the best marked
    over = p.cells("overview-table")
    assert over[("gmm_order · ksg", "metric")][0] == "order accuracy (%) ↑"
    assert over[("gmm_order · ksg", "score")][1] == pytest.approx(75.0)
    assert over[("highdim_independence · kde", "score")][1] == pytest.approx(1.0)
    # kde's 1.000 against ksg's 0.960 on 20 samples per cell: within two standard
    # errors (DeLong, paired), so both are marked, as tied
    assert "good" in over[("highdim_independence · kde", "score")][2]
    assert "good" in over[("highdim_independence · ksg", "score")][2]
    assert over[("highdim_independence · kde", "vs top")][0] == "tied"
    assert over[("highdim_independence · ksg", "vs top")][1] == pytest.approx(-0.04)
    assert over[("latency · kde", "metric")][0] == "mean absolute error (nats) ↓"
    assert over[("latency · kde", "ok / cells")][0] == "6 / 6"
    assert "good" not in over[("latency · kde", "score")][2]  # one estimator: nothing to rank
    from reports.estimator_views import headline

    order_rows = df[df["task"] == "gmm_order"]
    assert headline(order_rows, "order")[0]["ksg"] == pytest.approx(75.0)  # 6 of 8 triplets
    hi = df[df["task"] == "highdim_independence"]
    per_cell = metrics.auc_table(hi, by=["dependence", "d", "n_samples"])["auc"]
    assert headline(hi, "auc")[0]["ksg"] == pytest.approx(per_cell["ksg"].mean())
    res = p.cells("task-omniglot-smi-rescaled")
    assert res[("sliced · 4", "constant c")][1] == pytest.approx(70.0)
    assert res[("sliced · 4", "Spearman ρ")][1] == pytest.approx(1.0)
    assert res[("published: InfoNet · d=4", "Spearman ρ")][1] == pytest.approx(1.0)


def test_run_with_only_failed_cells_still_reports(store: Path) -> None:
    df = results.load(LEVELS_RUN, store)
    only_failed = df[df["label"] == FAIL_SPEC]
    html = reports.build_report(only_failed)
    assert "could not draw" not in html and "no ok cells with an MI level" in html
    p = Page(html)
    assert len(p.tables["failures"]["rows"]) == 30
    assert p.cells("task-gmm-levels-errors")[(FAIL_SPEC, "ok")][1] == 0


def test_provenance_redacts_secrets() -> None:
    from reports.data import _compact, redact, seeds_text

    assert redact("run --token abc --api-key=xyz --task gaussian") == (
        "run --token *** --api-key=*** --task gaussian"
    )
    assert (
        _compact({"HF_TOKEN": "abc", "OMP_NUM_THREADS": "1"}) == "HF_TOKEN ***, OMP_NUM_THREADS 1"
    )
    assert seeds_text([0, 1, 2, 3, 7, 9, 10]) == "0..3, 7, 9, 10"


def test_runs_of_one_label_are_pooled_or_told_apart_by_run_and_checkpoint() -> None:
    from reports.data import RunData
    from reports.frames import task_frame

    def run(rid: str, sha: str | None, n: int = 50, seed: int = 0, task="gaussian") -> RunData:
        files = json.dumps({"checkpoint_sha256": sha}) if sha else None
        df = pd.DataFrame({"task": task, "label": ["infonet:batch_size=1000", "ksg"],
                           "estimator": "x", "estimator_params": "{}", "artifacts": [files, None],
                           "n_samples": n, "seed": seed, "instance_index": 0})  # fmt: skip
        return RunData(rid, df, "DataFrame")

    def labels(*runs: RunData) -> set[str]:
        return set(task_frame(str(runs[0].df["task"].iloc[0]), list(runs))[0]["label"])

    shipped, older = "161570a6" + "0" * 56, "69be315e" + "1" * 56
    a = run("r1", shipped)
    # the same cells scored with two checkpoints: named by checkpoint and run
    assert labels(a, run("r2", older)) == {
        "infonet:batch_size=1000@161570a6 [r1]",
        "infonet:batch_size=1000@69be315e [r2]",
        "ksg [r1]",
        "ksg [r2]",
    }
    # the same cells and checkpoint twice: by run only
    assert "infonet:batch_size=1000 [r2]" in labels(a, run("r2", shipped))
    # a run without recorded files (an old export) against one with them
    assert {"infonet:batch_size=1000@161570a6 [r1]", "infonet:batch_size=1000 [r3]"} <= labels(
        a, run("r3", None)
    )
    # other cells (more seeds) with the same checkpoint pool into one
    assert labels(a, run("r4", shipped, seed=1)) == {"infonet:batch_size=1000", "ksg"}
    # other cells but another checkpoint stay apart; ksg's rows pool
    assert labels(a, run("r5", older, seed=1)) == {
        "infonet:batch_size=1000@161570a6 [r1]",
        "infonet:batch_size=1000@69be315e [r5]",
        "ksg",
    }
    assert labels(a) == {"infonet:batch_size=1000", "ksg"}
    # another n: the Gaussian curves would average n = 50 with n = 100, so they stay apart,
    # named by their n
    assert labels(a, run("r6", shipped, n=100)) == {
        "infonet:batch_size=1000 · n=50",
        "infonet:batch_size=1000 · n=100",
        "ksg · n=50",
        "ksg · n=100",
    }
    # while the AUC view draws each n apart: a sweep stored one run per n pools
    hi = "highdim_independence"
    pooled = labels(run("r1", shipped, task=hi), run("r6", shipped, n=100, task=hi))
    assert pooled == {"infonet:batch_size=1000", "ksg"}


def test_artifact_tag_names_files_by_hash_prefix() -> None:
    from results.export import artifact_tag

    assert artifact_tag('{"checkpoint_sha256": "161570a6ffff"}') == "@161570a6"
    assert artifact_tag({"b": "22222222x", "a": "11111111x"}) == "@11111111+22222222"
    assert artifact_tag(None) == artifact_tag("") == artifact_tag("{}") == ""
    assert artifact_tag(float("nan")) == artifact_tag("not json") == ""


def test_diff_gives_no_error_flags_to_test_scores() -> None:
    """Independence-test estimates are scores: moving them is not an |error| regression."""
    from reports.diff import compare

    rows = []
    for i in range(6):
        dep = i % 2
        rows.append({"task": "highdim_independence", "task_params": "{}", "label": "ksg",
                     "estimator": "ksg", "estimator_params": "{}", "instance_index": i,
                     "instance_id": f"pair{i}", "seed": 0, "status": "ok", "dependent": dep,
                     "n_samples": 50, "true_mi": 3.0 * dep, "estimate": 0.1 * dep,
                     "error": 0.1 * dep - 3.0 * dep, "seconds": 0.01})  # fmt: skip
    base = pd.DataFrame(rows)
    new = base.assign(estimate=base["estimate"] + 0.5, error=base["error"] + 0.5)
    cells = compare(base, new)
    assert len(cells) == 6
    assert not cells["less_accurate"].any() and not cells["more_accurate"].any()
    assert cells["d_abs_error"].isna().all()

    # the same shift on a task scored against its MI is flagged (independent pairs' |error|
    # grows); what counts as a score is the task's report view
    def as_gaussian(rows: pd.DataFrame) -> pd.DataFrame:
        return rows.drop(columns="dependent").assign(task="gaussian")

    plain = compare(as_gaussian(base), as_gaussian(new))
    assert plain["less_accurate"].sum() == 3


def test_signed_formats_mark_gains_and_losses() -> None:
    assert fmt(5.04, "+pct") == "+5.0"
    assert fmt(-0.4, "+pct") == "-0.4"
    assert fmt(0.0004, "+auc") == "0.000"  # rounds to zero: no sign
    assert fmt(0.1234, "+auc") == "+0.123"
    assert fmt(float("nan"), "+pct") == "–"


def test_error_notes_name_the_estimators_that_report_sliced_mi() -> None:
    from reports.estimator_views import errors_table
    from reports.rows import sliced_labels

    base = {"status": "ok", "true_mi": 0.5, "estimate": 0.2, "error": -0.3, "seconds": 0.1,
            "n_samples": 200, "seed": 0}  # fmt: skip
    rows = [
        {**base, "label": lab, "estimator": lab.split(":")[0], "dim_x": dim, "dim_y": dim,
         "instance_index": i}
        for i, (lab, dim) in enumerate(
            [("infonet:projections=100", 4), ("sliced:base=ksg", 4), ("ksg", 4), ("kde", 1),
             ("not_installed", 4)]
        )
    ]  # fmt: skip
    wide = pd.DataFrame(rows)
    assert sliced_labels(wide) == ["infonet:projections=100", "sliced:base=ksg"]
    note = errors_table(wide, "t").note
    assert "infonet:projections=100, sliced:base=ksg are sliced MI" in note
    # on 1-D rows InfoNet estimates the MI itself
    flat = wide.assign(dim_x=1, dim_y=1)
    assert sliced_labels(flat) == [] and "sliced MI" not in errors_table(flat, "t").note


def test_a_task_with_facets_is_drawn_as_error_against_truth_per_setting(monkeypatch) -> None:
    """``mvn`` declares its settings (d, transform, sparse) as facets: one panel per
    setting present, each point the mean error over seeds; a task without facets
    keeps the estimate-vs-truth curves."""
    from reports import task_views
    from reports.view_kinds import task_facets, view_kind

    assert task_facets("mvn") == ("d", "transform", "sparse")
    assert task_facets("gaussian") == () and task_facets("not_a_task") == ()
    base = {"run_id": "synthetic", "estimator_params": "{}", "status": "ok", "message": None,
            "seconds": 0.01, "device": "cpu", "instance_id": None, "task": "mvn",
            "task_params": "{}", "label": "ksg", "estimator": "ksg", "n_samples": 500,
            "sparse": False}  # fmt: skip
    rows = []
    for d, transform, bias in ((2, "none", -0.1), (4, "none", -0.3), (4, "cubic", -0.5)):
        for i, mi in enumerate((1.0, 2.0)):
            for seed in (0, 1):
                err = bias * mi + 0.01 * seed
                rows.append({**base, "d": d, "transform": transform, "seed": seed,
                             "instance_index": i, "true_mi": mi, "estimate": mi + err,
                             "error": err})  # fmt: skip
    df = pd.DataFrame(rows)
    assert view_kind("mvn", df) == "error_vs_truth"
    assert view_kind("gaussian", df.assign(task="gaussian")) == "curves"
    drawn = []
    real_plot = task_views.plot
    monkeypatch.setattr(
        task_views, "plot", lambda panels, **kw: drawn.append(panels) or real_plot(panels, **kw)
    )
    html = reports.build_report(df)
    assert "could not draw" not in html
    assert "task-mvn-error-vs-truth" in {a.get("id") for _, a in Page(html).tags}
    (panels,) = drawn
    assert [p.title for p in panels] == [
        "d=2, transform=none",
        "d=4, transform=none",
        "d=4, transform=cubic",
    ]
    for panel, bias in zip(panels, (-0.1, -0.3, -0.5), strict=True):
        (ksg,) = [s for s in panel.series if s.label == "ksg"]
        np.testing.assert_allclose(ksg.y, [bias + 0.005, 2 * bias + 0.005])


def _synthetic(task: str, run_id: str, task_params: str, **cols) -> dict:
    return {"run_id": run_id, "estimator_params": "{}", "status": "ok", "message": None,
            "seconds": 0.01, "device": "cpu", "seed": 0, "instance_id": None, "task": task,
            "task_params": task_params, **cols}  # fmt: skip


def test_pooled_runs_of_other_task_parameters_stay_apart() -> None:
    """Two runs of one task at other parameters reuse instance index 0: the curves, the
    paired MAE and the rescaled view must not merge or pair their rows."""
    rows = []
    for rid, rho, truth in (("a", 0.5, 0.1438), ("b", 0.9, 0.8304)):
        for label, err in (("ksg", 0.01), ("kde", 0.05)):
            rows.append(_synthetic("gaussian", rid, f'{{"rhos":[{rho}]}}', label=label,
                                   estimator=label, instance_index=0, n_samples=200,
                                   true_mi=truth, estimate=truth + err, error=err))  # fmt: skip
    df = pd.DataFrame(rows)
    page = Page(reports.build_report(df))
    est = page.cells("task-gaussian-estimates")
    assert est[("ksg", "0.144")][1] == pytest.approx(0.1538)
    assert est[("ksg", "0.830")][1] == pytest.approx(0.8404)
    # only rows of the same task parameters pair: kde of run a with ksg of run b does not
    cross = pd.concat([df[(df.run_id == "a") & (df.label == "ksg")],
                       df[(df.run_id == "b") & (df.label == "kde")]])  # fmt: skip
    with pytest.raises(ValueError, match="scored no sample in common"):
        metrics.mae_difference(cross, "kde", "ksg")
    # rescaled: one constant per sample size when runs of several n pool into one label
    omni = []
    for n, scale in ((100, 0.01), (1000, 0.02)):
        for i, truth in enumerate((11.0, 12.0, 13.0, 14.0)):
            omni.append(_synthetic("omniglot_smi", f"o{n}", f'{{"n":{n}}}', label="sliced",
                                   estimator="sliced", instance_index=i, d=4, n_samples=n,
                                   true_mi=truth, estimate=scale * truth,
                                   error=scale * truth - truth))  # fmt: skip
    res = Page(reports.build_report(pd.DataFrame(omni))).cells("task-omniglot-smi-rescaled")
    assert res[("sliced · 4 · 100", "constant c")][1] == pytest.approx(100.0)
    assert res[("sliced · 4 · 1000", "constant c")][1] == pytest.approx(50.0)
    assert res[("sliced · 4 · 1000", "Spearman ρ")][1] == pytest.approx(1.0)


def test_frames_and_labels_that_look_like_markup() -> None:
    rows = [
        _synthetic("gaussian", "same", "{}", label=label, estimator="ksg", instance_index=i,
                   n_samples=200, true_mi=t, estimate=t, error=0.0)
        for label in ("kde $\\foo$", "_hidden")
        for i, t in enumerate((0.1, 0.5))
    ]  # fmt: skip
    df = pd.DataFrame(rows)
    # two frames of one run id, one label each: both are shown (not "the same run twice")
    html = reports.build_report([df[df.label == "kde $\\foo$"], df[df.label == "_hidden"]])
    assert "could not draw" not in html
    over = Page(html).cells("overview-table")
    assert {k[0] for k in over} == {"gaussian · kde $\\foo$", "gaussian · _hidden"}


def test_order_triplets_without_both_truths_are_not_scored() -> None:
    rows = [
        {"task": "gmm_order", "label": "ksg", "status": "ok", "seed": 0, "K": 1,
         "triplet": t, "member": m, "true_mi": tr, "estimate": e}
        for t, pairs in enumerate([((0.5, 0.6), (0.2, 0.3)), ((np.nan, 0.6), (0.2, 0.3))])
        for m, (tr, e) in enumerate(zip(*pairs, strict=True))
    ]  # fmt: skip
    order = metrics.order_table(pd.DataFrame(rows))
    assert order.loc[("ksg", 1), "triplets"] == 1 and order.loc[("ksg", 1), "accuracy"] == 1.0
    allnan = pd.DataFrame(rows).assign(true_mi=np.nan)
    assert metrics.order_table(allnan).empty


def test_an_order_run_at_100_percent_still_draws_its_order_view(tmp_path: Path) -> None:
    """At 10 of 10 the Wilson bound came out as 1 - 1e-16, a negative error bar that
    matplotlib refused, and the whole order view was replaced by a warning."""
    low, high = metrics.wilson_interval([10, 30, 60], [10, 30, 60])
    assert (high == 1.0).all() and (low < 1.0).all()
    rows = pd.read_csv(Path(__file__).parent.parent / "benchmarks/results/paper_mine-order.csv")
    assert metrics.order_table(rows)["accuracy"].eq(1.0).all()  # the case itself
    out = tmp_path / "r.html"
    src = Path(__file__).parent.parent / "benchmarks/results/paper_mine-order.csv"
    assert main(["report", str(src), "-o", str(out)]) == 0
    text = out.read_text()
    assert "could not draw the order view" not in text
    assert "Order accuracy" in text


def test_independence_scores_of_two_recipes_are_kept_apart(tmp_path: Path) -> None:
    """The paper's and the notebook's two_features had their AUCs averaged together."""
    res = Path(__file__).parent.parent / "benchmarks/results"
    files = [res / f"paper_fig5k15-two_features-d128-n50{s}.csv.gz" for s in ("", "-notebook")]
    out = tmp_path / "r.html"
    assert main(["report", *map(str, files), "-o", str(out)]) == 0
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", out.read_text()))
    for recipe in ("paper", "notebook"):
        rows = results.load(files[0 if recipe == "paper" else 1])
        auc = metrics.auc_table(rows[rows["estimator"] == "infonet"], by=["d"], trials=["seed"])
        assert f"two_features · 128 · {recipe} {auc['auc'].iloc[0]:.3f}" in text


def test_an_estimator_in_only_one_run_is_not_a_regression_in_the_report(tmp_path: Path) -> None:
    src = Path(__file__).parent.parent / "benchmarks/results"
    rows = results.load(src / "paper_fig5k15-independent_coords-d128-n50.csv.gz")
    base, new = tmp_path / "base.csv", tmp_path / "new.csv"
    rows.to_csv(base, index=False)
    # ksg re-run on another host (rows an exact copy repeats count once: no comparison)
    ksg = rows[rows["estimator"] == "ksg"]
    ksg.assign(run_id="ksg-only", host="elsewhere").to_csv(new, index=False)
    out = tmp_path / "r.html"
    assert main(["report", str(base), str(new), "-o", str(out)]) == 0
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", out.read_text()))
    assert "no regression beyond the tolerances" in text
    assert "REGRESSION" not in text


def test_an_auc_below_chance_beyond_two_standard_errors_is_marked() -> None:
    """An estimator that scores independent pairs above dependent ones (mine's 0.000 on
    Fig. 5's notebook two_features) is marked, not shown as an ordinary number."""
    rng = np.random.default_rng(3)
    base = {"run_id": "r", "status": "ok", "seed": 0, "instance_id": None, "device": "cpu",
            "message": None, "seconds": 0.01, "task": "highdim_independence",
            "task_params": "{}", "dependence": "one_feature", "d": 16, "n_samples": 100,
            "true_mi": np.nan, "error": np.nan}  # fmt: skip
    rows = []
    for i in range(40):
        dep = i % 2
        noise = rng.uniform(0, 0.5)
        for label, estimate in (("ksg", dep + noise), ("mine", 1 - dep + noise),
                                ("kde", noise)):  # fmt: skip
            rows.append({**base, "label": label, "estimator": label, "estimator_params": "{}",
                         "instance_index": i, "dependent": dep, "estimate": estimate})  # fmt: skip
    html = reports.build_report(pd.DataFrame(rows))
    auc = Page(html).cells("task-highdim-independence-auc")
    cls = {k[0]: v[2] for k, v in auc.items()}
    assert auc[("ksg · one_feature · 16", "100")][1] == 1.0
    assert auc[("mine · one_feature · 16", "100")][1] == 0.0  # every pair ranked backwards
    assert "bad" in cls["mine · one_feature · 16"]
    assert "bad" not in cls["ksg · one_feature · 16"] and "bad" not in cls["kde · one_feature · 16"]
    assert "ranked the pairs the wrong way round" in html
