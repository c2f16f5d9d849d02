"""The per-cell timeout covers an estimator's ``prepare()`` and the instance generation.

A hung ``prepare()`` or ``Task.instance()`` used to hang the run: the
executors started a cell's clock only when its estimate began. Now each
phase has a deadline; the cells it holds up are stored as ``timeout`` rows
and the run goes on. A ``prepare()`` that raises gives ``failed`` rows.
``prepare()`` gets at least the run's ``prepare_timeout`` (``--prepare-timeout``,
default 300 s), which the run records and a resume keeps.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import fake_plugins as fp
import numpy as np
import pytest

import harness
import harness.cells as cells
from harness.cells import EstimatorSpec, Job, TaskSpec, make_cell
from harness.cli import main
from harness.dask_executor import run_chunk_on_worker
from harness.interface import Instance, SpecError, Task
from results.store import Store

TIMEOUT = 0.5


class HangingGauss(Task):
    """``fake_gauss`` whose instance ``hang`` takes ``delay`` seconds to generate."""

    name = "hanging_gauss"
    summary = "levels"

    def __init__(self, hang: int = 0, delay: float = 20.0, n: int = 100):
        self.hang = hang
        self.delay = delay
        self.n = n

    def n_instances(self) -> int:
        return 3

    def instance(self, index: int, seed: int) -> Instance:
        if index == self.hang:
            time.sleep(self.delay)
        return fp.FakeGauss(n=self.n).instance(index, seed)


@pytest.fixture(autouse=True, scope="module")
def _fakes():
    fp.register()
    yield
    fp.unregister()


def _by_label(df) -> dict[str, list[tuple[str, str | None]]]:
    out: dict[str, list[tuple[str, str | None]]] = {}
    for r in df.itertuples():
        message = None if not isinstance(r.message, str) else r.message
        out.setdefault(r.label, []).append((r.status, message))
    return out


def test_a_hung_or_raising_prepare_gives_rows_and_the_run_goes_on(tmp_path: Path) -> None:
    t0 = time.monotonic()
    df = harness.run(
        ["fake_prepare:load=60", "fake_prepare:fail=true,load=0", "fake_corr"],
        "fake_gauss",
        store=tmp_path / "s.sqlite",
        timeout=TIMEOUT,
        prepare_timeout=TIMEOUT,  # prepare() gets 300 s by default
        progress=False,
    )
    assert time.monotonic() - t0 < 30  # not the 60 s prepare
    cells = _by_label(df)
    hung = (
        "prepare() of fake_prepare:load=60.0 exceeded 0.5 s (the per-cell timeout, at least 0.5 s)"
    )
    assert cells["fake_prepare:load=60.0"] == [("timeout", hung)] * 3
    failed = "could not prepare fake_prepare: FileNotFoundError: weights.pt not found"
    assert cells["fake_prepare:fail=True,load=0.0"] == [("failed", failed)] * 3
    assert cells["fake_corr"] == [("ok", None)] * 3
    timed_out = df[df["status"] == "timeout"]
    assert timed_out["seconds"].isna().all()  # no estimate ran
    assert timed_out["instance_index"].tolist() == [0, 1, 2]


def test_a_hung_instance_gives_a_timeout_row_and_keeps_the_others(tmp_path: Path) -> None:
    t0 = time.monotonic()
    df = harness.run(
        ["fake_corr"],
        HangingGauss(hang=0),  # the driver's check of instance 0 hangs as well
        store=tmp_path / "s.sqlite",
        timeout=TIMEOUT,
        progress=False,
    )
    assert time.monotonic() - t0 < 15  # not the 20 s generation
    text = "generating the instance exceeded the 0.5 s per-cell timeout"
    assert _by_label(df)["fake_corr"] == [("timeout", text), ("ok", None), ("ok", None)]
    ok = df[df["status"] == "ok"]
    for row in ok.itertuples():
        inst = fp.FakeGauss(n=100).instance(row.instance_index, row.seed)
        assert row.estimate == fp.corr_mi(inst.x, inst.y)
    assert np.isnan(df["true_mi"].iloc[0]) and df["true_mi"].iloc[1:].notna().all()


def test_the_dask_worker_times_prepare_and_instances_too() -> None:
    task = TaskSpec("hanging_gauss", HangingGauss, {"hang": 1, "delay": 5.0, "n": 100})
    specs = (
        EstimatorSpec("fake_prepare", fp.FakePrepare, {"load": 5.0, "fail": False}, "slow"),
        EstimatorSpec("fake_corr", fp.FakeCorr, {"shrink": 0.0}, "fake_corr"),
    )
    job = Job("prepare-timeout-test", task, specs, prepare_timeout=TIMEOUT)
    cells = [make_cell(job, 0, i, 0) for i in range(3)]
    res = run_chunk_on_worker(job, cells, TIMEOUT)
    assert [r["status"] for r in res.rows] == ["timeout"] * 3 and res.unfinished == []
    assert (
        res.rows[0]["message"]
        == "prepare() of slow exceeded 0.5 s (the per-cell timeout, at least 0.5 s)"
    )
    cells = [make_cell(job, 1, i, 0) for i in range(3)]
    res = run_chunk_on_worker(job, cells, TIMEOUT)
    assert [r["status"] for r in res.rows] == ["ok", "timeout"]
    assert res.rows[1]["message"].startswith("generating the instance exceeded")
    assert res.unfinished == [2]  # resubmitted by the driver


def test_prepare_always_gets_the_floor():
    """A first prepare() compiles kernels (KSG: ~20 s with an empty Numba cache); a small
    per-cell timeout must not kill it, or every run times out the same way."""
    job = Job("j", TaskSpec("fake_gauss", fp.FakeGauss, {}), ())
    assert job.prepare_timeout == cells.PREPARE_FLOOR == 300.0
    assert cells.deadline(3.0, cells.PREPARE, 4, 300.0) == 300.0
    assert cells.deadline(500.0, cells.PREPARE, 1, 300.0) == 500.0
    assert cells.deadline(3.0, cells.PREPARE, 1, 30.0) == 30.0
    assert cells.deadline(3.0, cells.ESTIMATE, 4, 300.0) == 12.0
    assert cells.deadline(3.0, cells.INSTANCE, 4, 300.0) == 3.0


def test_prepare_timeout_option_is_recorded_and_kept_on_resume(tmp_path: Path, capsys) -> None:
    """``--prepare-timeout 1`` catches a prepare() that takes 20 s; ``--resume`` (here
    with --retry-failed, to run the cells again) uses the run's 1 s, not 300 s."""
    db = tmp_path / "s.sqlite"
    t0 = time.monotonic()
    code = main(
        ["run", "-e", "fake_prepare:load=20", "--task", "fake_gauss", "--run-id", "slow",
         "--timeout", "0.5", "--prepare-timeout", "1", "--store", str(db), "--quiet"]
    )  # fmt: skip
    assert code == 1 and capsys.readouterr().out.strip() == "slow"
    assert main(["run", "--resume", "slow", "--retry-failed", "--store", str(db), "-q"]) == 1
    assert time.monotonic() - t0 < 18  # not a 20 s prepare
    hung = "prepare() of fake_prepare:load=20.0 exceeded 1 s (the per-cell timeout, at least 1 s)"
    with Store(db) as st:
        rows = st.rows("slow", all_attempts=True)
        assert sorted((r["attempt"], r["status"], r["message"]) for r in rows) == [
            (a, "timeout", hung) for a in (1, 1, 1, 2, 2, 2)
        ]
        assert st.get_run("slow")["prepare_timeout"] == 1.0
        assert [s["prepare_timeout"] for s in st.sessions("slow")] == [1.0, 1.0]
    # the report's session provenance says what prepare() got
    from reports import build_report

    page = build_report(["slow"], store=db)
    assert page.count("0.5 s (prepare() at least 1 s)") == 1  # one row for both sessions


def test_prepare_timeout_is_checked_before_anything_is_stored(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    for bad in (0, -1.0, float("nan"), "10", True):
        with pytest.raises(SpecError, match=r"^prepare_timeout must be"):
            harness.run("fake_corr", "fake_gauss", store=db, timeout=1.0, prepare_timeout=bad)
    with pytest.raises(SpecError, match=r"applies under a per-cell timeout; give timeout"):
        harness.run("fake_corr", "fake_gauss", store=db, prepare_timeout=10.0)
    assert not db.exists()
    run = harness.run("fake_corr", "fake_gauss", store=db, progress=False).attrs["run_id"]
    with pytest.raises(SpecError, match=r"applies under a per-cell timeout"):
        harness.run(resume=run, store=db, prepare_timeout=10.0)  # the run has no timeout


def test_a_store_made_before_prepare_timeout_gains_the_column(tmp_path: Path) -> None:
    """Resuming a run stored without the column: the default, recorded from then on."""
    db = tmp_path / "old.sqlite"
    run = harness.run("fake_corr", "fake_gauss", store=db, progress=False).attrs["run_id"]
    with sqlite3.connect(db) as conn:  # as an earlier mi-harness made it
        for table in ("runs", "sessions"):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN prepare_timeout")
        # interrupted, so the resume records a session (a finished run's records none)
        conn.execute("UPDATE runs SET status = 'interrupted'")
    with Store(db, create=False) as st:
        assert "prepare_timeout" not in st.get_run(run)  # reading changes nothing
    df = harness.run(resume=run, store=db, progress=False)
    assert (df["status"] == "ok").all()
    with Store(db) as st:
        assert st.get_run(run)["prepare_timeout"] is None
        assert [s["prepare_timeout"] for s in st.sessions(run)] == [None, cells.PREPARE_FLOOR]
