"""The report's failures table groups cells that share an estimator, status and message;
``harness compare`` explains an estimator configuration the candidate did not run."""

from __future__ import annotations

import re

import fake_plugins as fp
import pandas as pd
import pytest

import harness
import reports
import results
from harness.cli import main
from harness.compare import compare
from harness.interface import InputError
from harness.spans import int_spans
from reports.data import RunData
from reports.failures import failures

#: Failed or timed-out cells of one group listed one per row up to 50
#: (:data:`reports.failures.LIST_LIMIT`); skipped cells are always grouped.
FAIL_SPEC = "ksg:k=500"  # needs 501 samples: every cell fails at n = 200
HINT = (
    "compare is for two runs of one grid; use `harness report BASE CAND` to set "
    "different configurations side by side"
)  # the library's default names; the CLI names the runs it compares

# -- the failures table ------------------------------------------------------------


@pytest.fixture(scope="module")
def skipped_run(tmp_path_factory):
    """A 1-D-only estimator on highdim_order (every cell skipped, one message per d) and
    an estimator failing every cell: 3 triplets per d = 2..10, two seeds."""
    store = tmp_path_factory.mktemp("failures") / "runs.sqlite"
    return harness.run(
        [fp.FakeOneDim(), FAIL_SPEC],
        "highdim_order:per_d=3",
        n=200,
        seeds=[0, 1],
        store=store,
        run_id="hd",
        progress=False,
    )


def _texts(table, column):
    i = table.columns.index(column)
    return [r.cells[i] for r in table.rows]


def test_skipped_cells_are_one_row_per_estimator_and_message(skipped_run):
    df = skipped_run
    skipped = df[df["status"] == "skipped"]
    assert len(skipped) == 9 * 6 * 2  # 9 dimensions, 6 instances each, 2 seeds
    table = failures([RunData("hd", df, "DataFrame")])
    rows = [r for r in table.rows if "status-skipped" in r.cls]
    assert len(rows) == skipped["message"].nunique() == 9
    cols = table.columns
    by_msg = {r.cells[cols.index("message")].text: r for r in rows}
    for msg, part in skipped.groupby("message"):
        row = by_msg[msg]
        cells = dict(zip(cols, row.cells, strict=True))
        assert cells["estimator"].text == "fake_onedim"
        assert cells["cells"].value == len(part) == 12
        assert cells["seed"].text == "0, 1"
        assert cells["n"].value == 200
        # the first and last instance by index, and every index in the tooltip
        ordered = part.sort_values("instance_index")
        first, last = ordered["instance_id"].iloc[0], ordered["instance_id"].iloc[-1]
        assert cells["instance"].text == f"6 instances: {first} … {last}"
        assert cells["instance"].title == "instance_index " + int_spans(part["instance_index"])
        assert "per_d" in cells["task"].title  # the task parameters


def test_many_failed_cells_of_one_message_are_grouped_with_their_span(skipped_run):
    df = skipped_run
    failed = df[df["status"] == "failed"]
    assert len(failed) == 108 > 50 and failed["message"].nunique() == 1
    table = failures([RunData("hd", df, "DataFrame")])
    rows = [r for r in table.rows if "status-failed" in r.cls]
    assert len(rows) == 1 and table.rows[0] is rows[0]  # failed cells come first
    cells = dict(zip(table.columns, rows[0].cells, strict=True))
    assert cells["cells"].value == 108
    assert cells["instance"].text.startswith("d = 2–10; 54 instances: d=2/0/xy … ")
    assert cells["message"].text == failed["message"].iloc[0]
    # a few failed cells are still listed one per row
    few = df[(df["status"] != "failed") | (df["instance_index"] < 4)]
    table = failures([RunData("hd", few, "DataFrame")])
    listed = [r for r in table.rows if "status-failed" in r.cls]
    assert len(listed) == 8 and all("grouped" not in r.cls for r in listed)
    ids = sorted(r.cells[table.columns.index("instance")].text for r in listed)
    assert ids == sorted(few.loc[few["status"] == "failed", "instance_id"])


def test_report_page_lists_groups_not_every_cell(skipped_run):
    html = reports.build_report(skipped_run)
    table = re.search(r'<table[^>]*id="failures".*?</table>', html, flags=re.S).group(0)
    body = table.split("</thead>", 1)[1]
    assert body.count("<tr") == 1 + 9  # 216 cells before
    assert "216 cells are shown in grouped rows" in html


def test_int_spans():
    assert int_spans([5, 0, 1, 2, 7, 8, 2, None, float("nan")]) == "0–2, 5, 7, 8"
    assert int_spans([3]) == "3" and int_spans([]) == ""
    assert int_spans([0, 2, 4, 6], limit=2) == "0, 2, … (2 more)"
    assert int_spans(range(1000, 1003), dash="..") == "1000..1002"  # pastes as --seeds


# -- compare: a configuration the candidate did not run -------------------------------


def cells(
    label: str,
    estimator: str,
    params: str,
    count: int = 30,
    task: str = "toy",
    task_params: str = '{"n":100}',
) -> pd.DataFrame:
    """``count`` ok cells of one estimator configuration on one task (a toy one by
    default), seed 0."""
    return pd.DataFrame(
        {
            "task": task,
            "task_params": task_params,
            "estimator": estimator,
            "estimator_params": params,
            "instance_index": range(count),
            "instance_id": [f"i{i}" for i in range(count)],
            "seed": 0,
            "label": label,
            "status": "ok",
            "true_mi": 0.5,
            "estimate": 0.5,
            "error": 0.0,
            "seconds": 0.1,
        }
    )


def test_a_configuration_the_candidate_did_not_run_is_explained_in_one_note():
    kde = cells("kde", "kde", "{}")
    base = pd.concat([kde, cells("binned:bins=10", "binned", '{"bins":10}', 50)])
    cand = pd.concat([kde, cells("binned:bins=30", "binned", '{"bins":30}', 50)])
    result = compare(base, cand)
    assert result.regressed  # a lost configuration stays a regression for the CI gate
    note = f"baseline's binned:bins=10 has no counterpart in the candidate, which ran binned:bins=30 — {HINT}"  # noqa: E501
    assert result.notes[0] == note
    assert not any("were ignored" in n for n in result.notes)  # the note accounts for them
    assert set(result.cells["estimator"]) == {"binned:bins=10"}
    assert len(result.cells) == 50
    text = result.format()
    assert text.count(note) == 1
    # counted per label, not one line per cell
    assert text.count("missing") == 1
    assert re.search(r"binned:bins=10\s+missing\s+50\s+0–49\s+0", text)
    assert text.endswith(
        "30 cells compared; REGRESSION: 0 metric(s) and 50 cell(s) worse than the baseline "
        "(50 of them of binned:bins=10, not run by the candidate)"
    )


def test_a_label_at_default_parameters_is_shown_with_what_tells_it_apart():
    # the baseline's `ksg` runs k=5 (its default, so the label shows no k)
    kde = cells("kde", "kde", "{}")
    base = pd.concat([kde, cells("ksg", "ksg", '{"k":5,"standardize":true}', 5)])
    cand = pd.concat([kde, cells("ksg:k=3", "ksg", '{"k":3,"standardize":true}', 5)])
    result = compare(base, cand)
    note = f"baseline's ksg:k=5 has no counterpart in the candidate, which ran ksg:k=3 — {HINT}"
    assert note in result.notes
    assert list(result.cells["estimator"]) == ["ksg:k=5"] * 5
    text = result.format()
    assert len(re.findall(r"^\s*toy\s+ksg:k=5\s+\d", text, flags=re.M)) == 5  # few: one per cell
    # an estimator dropped altogether: lost, with its own note
    dropped = compare(base, kde)
    assert "baseline's ksg has no counterpart in the candidate; its cells count as lost" in (
        dropped.notes
    )


def test_runs_sharing_no_cell_name_the_configurations():
    base = cells("ksg", "ksg", '{"k":5}')
    cand = cells("ksg:k=3", "ksg", '{"k":3}')
    with pytest.raises(InputError) as info:
        compare(base, cand)
    assert str(info.value).endswith(
        f"not runs of the same grid; baseline's ksg:k=5 has no counterpart in the candidate, "
        f"which ran ksg:k=3 — {HINT}"
    )


def test_cli_explains_a_changed_parameter(tmp_path, capsys):
    store = tmp_path / "runs.sqlite"
    common = dict(task="gaussian:n=200", seeds=[0, 1], store=store, progress=False)
    harness.run(["kde", "ksg"], run_id="k5", **common)
    harness.run(["kde", "ksg:k=3"], run_id="k3", **common)
    tol = ["--tolerance", "speed_ratio=inf,reference_slowdown=inf"]
    assert main(["compare", "k5", "latest", "--store", str(store), *tol]) == 1
    out = capsys.readouterr().out
    # the note's command names the runs compared (`latest` by its run id) and their store
    hint = HINT.replace("BASE CAND", f"k5 k3 --store {store}")
    assert out.count(f"note: baseline's ksg:k=5 has no counterpart in the candidate, "
                     f"which ran ksg:k=3 — {hint}") == 1  # fmt: skip
    assert "were ignored" not in out
    lost = [line for line in out.splitlines() if "missing" in line]
    assert len(lost) == 1 and "ksg:k=5" in lost[0] and " 24 " in lost[0]
    assert out.rstrip().endswith("(24 of them of ksg:k=5, not run by the candidate)")


def test_cli_names_the_files_it_compares_in_the_note(tmp_path, capsys):
    store = tmp_path / "runs.sqlite"
    common = dict(task="gaussian:n=200,rhos=0.2;0.8", store=store, progress=False)
    files = [
        str(results.write(harness.run(["kde", spec], run_id=name, **common), tmp_path / file))
        for spec, name, file in (("ksg", "k5", "k5.csv.gz"), ("ksg:k=3", "k3", "k3.parquet"))
    ]
    tol = ["--tolerance", "speed_ratio=inf,reference_slowdown=inf"]
    assert main(["compare", *files, *tol]) == 1
    out = capsys.readouterr().out
    hint = HINT.replace("BASE CAND", " ".join(files))
    assert f"which ran ksg:k=3 — {hint}" in out and "BASE CAND" not in out


def test_the_note_for_runs_of_two_stores_names_both_and_its_report_works(tmp_path, capsys):
    """The suggested `harness report` names both stores (report takes --store again),
    and the command it suggests builds the page."""
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    common = dict(task="gaussian:n=200,rhos=0.2;0.8", progress=False)
    harness.run(["kde", "ksg"], run_id="base", store=a, **common)
    harness.run(["kde", "ksg:k=3"], run_id="cand", store=b, **common)
    tol = ["--tolerance", "speed_ratio=inf,reference_slowdown=inf"]
    assert (
        main(["compare", "base", "cand", "--baseline-store", str(a), "--store", str(b), *tol]) == 1
    )
    out = capsys.readouterr().out
    args = f"base cand --store {a} --store {b}"
    assert HINT.replace("BASE CAND", args) in out
    page = tmp_path / "r.html"
    assert main(["report", *args.split(), "-o", str(page)]) == 0
    text = page.read_text()
    assert "ksg:k=3" in text and str(a) in text and str(b) in text  # both runs, by source
    with pytest.raises(Exception, match="none of the stores"):
        main(["report", "nope", "--store", str(a), "--store", str(b), "-o", str(page), "--debug"])


# -- compare: a task the candidate ran with other parameters ------------------------------


def levels(per_level: int) -> pd.DataFrame:
    """kde's cells of a gmm_levels set of ``per_level`` mixtures (as many cells)."""
    params = f'{{"n":2000,"per_level":{per_level},"set_seed":0}}'
    return cells("kde", "kde", "{}", per_level, task="gmm_levels", task_params=params)


def test_a_task_run_with_other_parameters_is_explained_in_one_note():
    # the same estimator on the same toy cells, but gmm_levels at another set size
    kde = cells("kde", "kde", "{}")
    result = compare(pd.concat([kde, levels(20)]), pd.concat([kde, levels(5)]))
    assert result.regressed
    note = (
        "baseline's gmm_levels:per_level=20 has no counterpart in the candidate, which ran "
        f"gmm_levels:per_level=5 — {HINT}"
    )
    assert result.notes[0] == note
    assert not any("were ignored" in n for n in result.notes)  # the note accounts for them
    assert result.lost_tasks == ["gmm_levels:per_level=20"] and result.lost_configs == []
    assert set(result.cells["task"]) == {"gmm_levels:per_level=20"}
    assert len(result.cells) == 20
    text = result.format()
    assert text.count(note) == 1
    assert text.endswith(
        "30 cells compared; REGRESSION: 0 metric(s) and 20 cell(s) worse than the baseline "
        "(20 of them of gmm_levels:per_level=20, not run by the candidate)"
    )


def test_runs_of_another_sample_size_name_it_when_they_share_no_cell():
    gaussian = dict(task="gaussian")
    base = cells("ksg", "ksg", "{}", **gaussian, task_params='{"n":2000,"d":1}')
    cand = cells("ksg", "ksg", "{}", **gaussian, task_params='{"n":500,"d":1}')
    with pytest.raises(InputError) as info:
        compare(base, cand, report_args=("runs/a.csv.gz", "runs/my b.csv.gz"))
    assert str(info.value).endswith(
        "not runs of the same grid; baseline's gaussian:n=2000 has no counterpart in the "
        "candidate, which ran gaussian:n=500 — compare is for two runs of one grid; use "
        "`harness report runs/a.csv.gz 'runs/my b.csv.gz'` to set different configurations "
        "side by side"
    )


def test_a_task_configuration_the_candidate_dropped_is_shown_apart_from_those_it_kept():
    kde = cells("kde", "kde", "{}")
    wider = cells("kde", "kde", "{}", 10, task_params='{"n":200}')
    other = cells("kde", "kde", "{}", 10, task="other")
    result = compare(pd.concat([kde, wider, other]), kde)
    assert result.notes[:2] == [
        "baseline's toy:n=200 has no counterpart in the candidate; its cells count as lost",
        "baseline's other has no counterpart in the candidate; its cells count as lost",
    ]
    assert result.cells["task"].value_counts().to_dict() == {"toy:n=200": 10, "other": 10}
    assert result.format().endswith("(20 of them of toy:n=200 and other, not run by the candidate)")
    # an estimator configuration alike: the baseline's `ksg` (k=5) beside the k=3 both ran
    k3 = cells("ksg:k=3", "ksg", '{"k":3}', 10)
    result = compare(pd.concat([kde, k3, cells("ksg", "ksg", '{"k":5}', 10)]), pd.concat([kde, k3]))
    assert "baseline's ksg:k=5 has no counterpart in the candidate; its cells count as lost" in (
        result.notes
    )


def test_cli_explains_a_changed_task_parameter(tmp_path, capsys):
    store = tmp_path / "runs.sqlite"
    common = dict(seeds=[0], store=store, progress=False)
    harness.run(["ksg"], "gaussian:n=200,rhos=0.2;0.8", run_id="n200", **common)
    harness.run(["ksg"], "gaussian:n=100,rhos=0.2;0.8", run_id="n100", **common)
    assert main(["compare", "n200", "n100", "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert (
        "baseline's gaussian:n=200 has no counterpart in the candidate, which ran "
        f"gaussian:n=100 — compare is for two runs of one grid; use `harness report n200 n100 "
        f"--store {store}` to set different configurations side by side"
    ) in err
