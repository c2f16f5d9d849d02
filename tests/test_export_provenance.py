"""An exported run reports the provenance of the stored run: command, commit, versions."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

import harness
import results
from harness.cli import main
from reports import build_report
from reports.data import load_run, provenance

REPO = Path(__file__).resolve().parent.parent
SUFFIXES = ["csv.gz", "csv"] + (["parquet"] if importlib.util.find_spec("pyarrow") else [])
#: A file exported before runs carried their provenance.
OLD_EXPORT = REPO / "benchmarks" / "results" / "issue5_omni_d4_n5000_s10.csv.gz"


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A store holding one tiny real run made through the CLI: ksg on two Gaussians."""
    db = tmp_path_factory.mktemp("provenance") / "runs.sqlite"
    argv = ["run", "--estimators", "ksg", "--task", "gaussian:rhos=0.3;0.6", "--n", "200"]
    assert main([*argv, "--store", str(db), "--quiet"]) == 0
    run_id = results.runs(db)["run_id"].iloc[-1]
    return db, run_id


def _session(card: dict) -> dict[str, str]:
    return dict(card["sessions"][0])


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_an_export_reports_the_stored_runs_provenance(
    stored: tuple[Path, str], tmp_path: Path, suffix: str
) -> None:
    db, run_id = stored
    path = tmp_path / f"run.{suffix}"
    assert main(["export", run_id, "-o", str(path), "--store", str(db)]) == 0
    store_card = provenance(load_run(run_id, db))
    file_card = provenance(load_run(path))
    assert file_card["run_id"] == run_id
    assert file_card["summary"] == store_card["summary"]
    assert file_card["sessions"] == store_card["sessions"]
    session = results.sessions(run_id, db).iloc[0]
    shown = _session(file_card)
    assert shown["command"] == session["command"]
    assert shown["command"].startswith("python -m harness run --estimators ksg")
    assert shown["git commit"] == str(session["git_commit"] or "–")
    assert shown["versions"] == _session(store_card)["versions"] and "numpy" in shown["versions"]
    # the rows are the stored rows, the provenance no column of them
    back = results.load(path)
    assert "run_provenance" not in back
    pd.testing.assert_frame_equal(back, results.load(run_id, db), check_exact=True)
    # and the page built from the file shows them
    html = build_report([path])
    assert "python -m harness run --estimators ksg" in html
    if session["git_commit"]:
        assert session["git_commit"] in html
    # a file exported before keeps reporting from its row columns
    old = load_run(OLD_EXPORT)
    assert old.record is None and old.sessions == []
    summary = dict(provenance(old)["summary"])
    assert summary["git commit"] != "–" and "harness version" in summary


def test_rows_picked_from_a_run_keep_its_provenance_and_no_secret(tmp_path: Path) -> None:
    argv = ["python", "-m", "harness", "run", "--estimators", "ksg", "--api-key=xyz123"]
    df = harness.run(
        ["ksg"], "gaussian:rhos=0.3;0.6", n=200, store=tmp_path / "s.sqlite", argv=argv
    )
    path = results.write(df[df["instance_index"] == 1], tmp_path / "part.csv")
    assert "xyz123" not in path.read_text()
    card = provenance(load_run(path))
    assert _session(card)["command"].endswith("--api-key=***")
    assert dict(card["summary"])["cells"] == "1 (1 ok)"
    assert dict(card["summary"])["seeds"] == "0"
