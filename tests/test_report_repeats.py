"""A cell that several files hold with the same result counts once in the failures table
and the comparisons too, as it does in the tables: a run and its copy are listed and
compared as one run, while runs whose results differ stay apart."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_report import Page

import harness
import reports
from harness.cli import main
from harness.compare import compare as gate
from reports import diff_views
from reports.data import RunData
from reports.diff import DiffRule, repeated
from reports.failures import failures

KSG = json.dumps({"k": 5})
TOO_FEW = "InputError: need at least 501 samples (ksg k=500); got 200"
TRUTHS = (0.1, 0.5, 0.9)


def _rows(run_id: str, *, seeds=(0, 1), shift: float = 0.0, slow: float = 1.0) -> pd.DataFrame:
    """One run on ``gaussian``: ksg and kde ok on 3 instances per seed (estimates off by
    ``shift`` from the truth plus 0.01 per seed), and ksg:k=500 failing every cell as
    stored failures are, without a device. ``slow`` scales every cell's seconds."""
    rows = []
    for seed in seeds:
        for i, truth in enumerate(TRUTHS):
            for label, params, err in (("ksg", KSG, 0.01), ("kde", "{}", 0.05)):
                est = truth + err + shift + 0.01 * seed
                rows.append({"label": label, "estimator": label, "estimator_params": params,
                             "status": "ok", "estimate": est, "error": est - truth,
                             "seconds": 0.004 * (1 + i) * slow, "device": "cpu", "message": None,
                             "true_mi": truth, "seed": seed, "instance_index": i})  # fmt: skip
            rows.append({"label": "ksg:k=500", "estimator": "ksg",
                         "estimator_params": json.dumps({"k": 500}), "status": "failed",
                         "estimate": np.nan, "error": np.nan, "seconds": 1e-5 * (1 + i) * slow,
                         "device": None, "true_mi": truth, "seed": seed, "instance_index": i,
                         "message": TOO_FEW})  # fmt: skip
    df = pd.DataFrame(rows)
    return df.assign(run_id=run_id, task="gaussian", task_params=json.dumps({"n": 200}),
                     n_samples=200, instance_id=None, host="vm")  # fmt: skip


def _run(df: pd.DataFrame, run_id: str | None = None) -> RunData:
    return RunData(run_id or str(df["run_id"].iloc[0]), df, "DataFrame")


def _shown(table) -> list[tuple]:
    """The failures table's rows as text, without the row numbers."""
    return [tuple(c.text for c in row.cells) for row in table.rows]


def test_failures_of_a_run_and_its_copy_are_those_of_the_run() -> None:
    a = _rows("a")
    once = failures([_run(a)])
    assert len(once.rows) == 6
    twice = failures([_run(a), _run(a.copy(), "a (2)")])
    assert _shown(twice) == _shown(once)  # not each failed cell twice, once per file
    assert "6 cells that a later file repeats with the same result" in twice.note
    # the copy first: listed under the copy, as the first file holding them
    assert {row[0] for row in _shown(failures([_run(a.copy(), "a (2)"), _run(a)]))} == {"a (2)"}


def test_failures_of_runs_that_differ_stay_apart() -> None:
    """Failed cells without a device (as every stored failure) of another run are not
    repeats of the first run's: each run's failures are listed."""
    a, b = _rows("a"), _rows("b", slow=2.0)
    table = failures([_run(a), _run(b)])
    assert [row[0] for row in _shown(table)] == ["a"] * 6 + ["b"] * 6
    assert "repeats" not in table.note
    # the same cells with the same timing but another message are not repeats either
    c = a.assign(run_id="c", message=a["message"].where(a["status"] == "ok", "RuntimeError: x"))
    assert len(failures([_run(a), _run(c)]).rows) == 12
    # a partial copy: only its own failures are listed under it
    d = pd.concat([a[a["seed"] == 0], b[b["seed"] == 1]]).assign(run_id="d")
    shown = _shown(failures([_run(a), _run(d)]))
    assert [row[0] for row in shown] == ["a"] * 6 + ["d"] * 3
    assert {row[4] for row in shown if row[0] == "d"} == {"1"}  # the seed column


def test_repeated_marks_rows_an_earlier_frame_holds_with_the_same_result() -> None:
    a = _rows("a")
    b = pd.concat([a[a["seed"] == 1], _rows("b", seeds=(0,), slow=3.0)]).assign(run_id="b")
    b.index = [7] * len(b)  # positions count, not labels
    marks = repeated([a, b, a])
    assert not marks[0].any()
    assert marks[1].tolist() == [True] * 9 + [False] * 9  # seed 1 repeated, seed 0 re-run
    assert marks[2].tolist() == [True] * len(a)
    assert [m.any() for m in repeated([a])] == [False]


def test_a_run_and_its_copy_get_no_comparison() -> None:
    """A comparison of a run with its exact copy would show every shared cell unchanged;
    the tables count the copy's rows once, so there is nothing to compare."""
    a, b = _rows("a"), _rows("b", shift=0.03, slow=2.0)
    rule = DiffRule()
    assert diff_views.diff_sections([_run(a), _run(a.copy(), "a (2)")], rule) == []
    distinct = diff_views.diff_sections([_run(a), _run(b)], rule)
    assert [s.title for s in distinct] == ["b vs baseline a"]
    # copies of both runs add no section, and leave the one section as it was
    runs = [_run(a), _run(b), _run(a.copy(), "a (2)"), _run(b.copy(), "b (2)")]
    assert diff_views.diff_sections(runs, rule) == distinct


def test_a_later_export_of_a_run_is_not_compared_with_an_earlier_one() -> None:
    """A run exported while it ran, then again when done: the later file's own cells
    are those the earlier one lacks, so the two share none."""
    a = _rows("a")
    early = _run(a[a["seed"] == 0], "a")
    assert diff_views.diff_sections([early, _run(a, "a (2)")], DiffRule()) == []


def test_a_run_repeating_some_cells_is_compared_whole() -> None:
    """b repeats a's seed-0 cells (a merged file) and re-ran seed 1: its own cells pair it
    with a, and the section compares the two runs as harness compare does."""
    a = _rows("a")
    rerun = _rows("b", seeds=(1,), shift=0.3, slow=1.2)  # other timings: not repeats
    b = pd.concat([a[a["seed"] == 0], rerun]).assign(run_id="b")
    (section,) = diff_views.diff_sections([_run(a), _run(b)], DiffRule())
    shared = set(a["label"]) & set(b["label"])
    verdict = diff_views.gate_verdict(gate(a[a["label"].isin(shared)], b))
    assert section.blocks[0].text.startswith(f"harness compare a b: {verdict}. Of the 18 shared")


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """A stored run with failed cells exported to a file."""
    tmp = tmp_path_factory.mktemp("repeats")
    store = tmp / "runs.sqlite"
    harness.run(["ksg", "ksg:k=500"], "gaussian:n=200,rhos=0.2;0.5", seeds=[0, 1],
                store=store, progress=False, run_id="with-failures")  # fmt: skip
    path = tmp / "with-failures.csv.gz"
    assert main(["export", "with-failures", "--store", str(store), "-o", str(path)]) == 0
    return path


def test_report_of_a_file_and_its_copy_lists_and_compares_it_once(
    exported: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.csv.gz"
    shutil.copy(exported, copy)
    one, two = Page(reports.build_report(exported)), Page(reports.build_report([exported, copy]))
    assert len(one.tables["failures"]["rows"]) == 4
    assert two.tables["failures"]["rows"] == one.tables["failures"]["rows"]
    assert not [t for t in two.tables if t.startswith("diff-")]
    # the store run beside its export: the same
    store = exported.parent / "runs.sqlite"
    three = Page(reports.build_report(["with-failures", exported], store=store))
    assert three.tables["failures"]["rows"] == one.tables["failures"]["rows"]
    assert not [t for t in three.tables if t.startswith("diff-")]


def test_the_tables_keep_the_failed_cells_of_each_run() -> None:
    """A failed cell has no device; its key must not be missing as a whole, or every
    failed cell of a later run would count as a copy of an earlier run's."""
    from reports.frames import task_frame

    a, b = _rows("a"), _rows("b", slow=2.0)
    df, _ = task_frame("gaussian", [_run(a), _run(b)])
    failed = df[df["status"] == "failed"]
    assert failed["run_id"].value_counts().to_dict() == {"a": 6, "b": 6}
    df, _ = task_frame("gaussian", [_run(a), _run(a.copy(), "a (2)")])
    assert (df["status"] == "failed").sum() == 6  # a true copy still counts once


def _skipped(run_id: str, finished: str) -> pd.DataFrame:
    """One invocation's skipped cells as the runner stores them: no estimate, no seconds,
    no device; only the time each cell was written (``finished``) is the run's own."""
    rows = [{"label": "ksg:k=500", "estimator": "ksg", "estimator_params": json.dumps({"k": 500}),
             "status": "skipped", "estimate": np.nan, "error": np.nan, "seconds": np.nan,
             "device": None, "true_mi": truth, "seed": seed, "instance_index": i,
             "message": TOO_FEW, "finished_at": f"{finished}.{3 * seed + i:03d}+00:00"}
            for seed in (0, 1) for i, truth in enumerate(TRUTHS)]  # fmt: skip
    return pd.DataFrame(rows).assign(run_id=run_id, task="gaussian", n_samples=200,
                                     task_params=json.dumps({"n": 200}), host="vm")  # fmt: skip


def test_the_skipped_cells_of_each_run_are_kept() -> None:
    """Two invocations on one host skip the same cells alike, with nothing but the time
    to tell them apart: each run's skipped cells are listed and tabled, while a copy of
    a run (every row as it was written) still counts once."""
    from reports.frames import task_frame

    a, b = _skipped("a", "2024-05-01T10:00:00"), _skipped("b", "2024-05-02T10:00:00")
    table = failures([_run(a), _run(b)])
    assert [(row[0], row[-2]) for row in _shown(table)] == [("a", "6"), ("b", "6")]
    assert "repeats" not in table.note
    df, _ = task_frame("gaussian", [_run(a), _run(b)])
    assert df["run_id"].value_counts().to_dict() == {"a": 6, "b": 6}
    copied = failures([_run(a), _run(a.copy(), "a (2)")])
    assert _shown(copied) == _shown(failures([_run(a)]))
    assert "6 cells that a later file repeats with the same result" in copied.note
    df, _ = task_frame("gaussian", [_run(a), _run(a.copy(), "a (2)")])
    assert len(df) == 6
