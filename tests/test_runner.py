"""``harness.run``: cells, failures, timeouts, interruption, resume, executors.

Uses the fake estimators and tasks of ``fake_plugins`` (correlation-based
Gaussian MI), so every stored estimate can be recomputed here directly from
the task's samples.
"""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import fake_plugins as fp
import numpy as np
import pandas as pd
import pytest

import harness
import results
from harness import runner as runner_module
from harness.interface import SpecError
from results.store import Store, StoreError

CELL_COLUMNS = ["cell_key", "label", "seed", "instance_index", "true_mi", "estimate", "status"]


@pytest.fixture(autouse=True, scope="module")
def _fakes():
    fp.register()
    yield
    fp.unregister()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "runs.sqlite"


def _expected(task: str, estimate, seed: int, index: int) -> float:
    import tasks

    inst = tasks.make(task).instance(index, seed)
    return estimate(inst.x, inst.y)


def _cells(df: pd.DataFrame) -> pd.DataFrame:
    return df[CELL_COLUMNS].reset_index(drop=True)


def test_rows_hold_estimates_truth_and_record(db: Path) -> None:
    df = harness.run(
        ["fake_corr", "fake_corr:shrink=0.5"], "fake_gauss", seeds=[3, 4], store=db, progress=False
    )
    assert len(df) == 2 * 3 * 2
    assert (df["status"] == "ok").all()
    assert df["label"].unique().tolist() == ["fake_corr", "fake_corr:shrink=0.5"]
    for row in df.itertuples():
        shrink = 0.5 if row.label.endswith("0.5") else 0.0
        want = _expected("fake_gauss", fp.corr_mi, row.seed, row.instance_index) * (1 - shrink)
        assert row.estimate == want
        assert row.true_mi == pytest.approx(-0.5 * np.log(1 - row.rho**2), abs=1e-15)
        assert row.error == pytest.approx(row.estimate - row.true_mi, abs=1e-15)
        assert row.n_samples == 200 and row.dim_x == 1 and row.device == "cpu"
    # grid order: seed, instance, estimator
    assert df["seed"].tolist() == [3] * 6 + [4] * 6
    rec = Store(db).get_run(df.attrs["run_id"])
    assert rec["status"] == "finished" and rec["started"] and rec["finished"]
    assert rec["versions"]["numpy"] == np.__version__
    assert rec["versions"]["mi-harness"] == harness.__version__
    assert rec["host"] == platform.node()
    assert rec["git_commit"] is None or len(rec["git_commit"]) == 40
    assert rec["seeds"] == [3, 4] and rec["task_params"] == {
        "rhos": [0.0, 0.5, 0.9],
        "dim": 1,
        "n": 200,
    }
    # every row traces to its session's commit and version
    assert (df["session"] == 1).all()
    assert (df["harness_version"] == harness.__version__).all()
    assert df["git_commit"].isna().all() or (df["git_commit"] == rec["git_commit"]).all()
    assert df.equals(results.load(df.attrs["run_id"], db))


def test_same_seed_twice_gives_identical_estimates(db: Path) -> None:
    a = harness.run(["fake_corr"], "fake_levels", seeds=[5], store=db, progress=False)
    b = harness.run(["fake_corr"], "fake_levels", seeds=[5], store=db, progress=False)
    assert a.attrs["run_id"] != b.attrs["run_id"]
    pd.testing.assert_frame_equal(_cells(a), _cells(b), check_exact=True)
    c = harness.run(["fake_corr"], "fake_levels", seeds=[6], store=db, progress=False)
    assert not np.array_equal(a["estimate"].to_numpy(), c["estimate"].to_numpy())


def test_failing_cell_is_stored_and_the_run_goes_on(db: Path) -> None:
    df = harness.run(["fake_fail", "fake_corr"], "fake_gauss", store=db, progress=False)
    bad = df[df["status"] != "ok"]
    assert bad[["label", "rho"]].values.tolist() == [["fake_fail", 0.9]]
    assert bad["message"].iloc[0] == "ValueError: too strong second line"
    assert np.isnan(bad["estimate"].iloc[0]) and np.isnan(bad["error"].iloc[0])
    ok = df[df["status"] == "ok"]
    assert len(ok) == 5
    for row in ok.itertuples():
        assert row.estimate == _expected("fake_gauss", fp.corr_mi, row.seed, row.instance_index)


def test_unsupported_dimensions_are_skipped(db: Path) -> None:
    df = harness.run(["fake_onedim"], "fake_gauss:dim=2", store=db, progress=False)
    assert (df["status"] == "skipped").all()
    assert df["message"].iloc[0].startswith("fake_onedim does not support dim_x=2, dim_y=2")


def test_keyboard_interrupt_keeps_finished_cells_and_resume_matches(db: Path) -> None:
    full = harness.run(["fake_interrupt"], "fake_levels", seeds=[0, 1], store=db, progress=False)
    fp.INTERRUPT.update(after=4, calls=0)
    with pytest.raises(KeyboardInterrupt):
        harness.run(
            ["fake_interrupt"],
            "fake_levels",
            seeds=[0, 1],
            store=db,
            run_id="cut",
            progress=False,
        )
    st = Store(db)
    assert st.get_run("cut")["status"] == "interrupted"
    assert len(st.rows("cut")) == 4
    resumed = harness.run(resume="cut", store=db, progress=False)
    assert len(st.rows("cut", all_attempts=True)) == 12  # no cell ran twice
    assert resumed["cell_key"].is_unique
    pd.testing.assert_frame_equal(_cells(resumed), _cells(full), check_exact=True)
    assert [(s["session"], s["status"], s["cells"]) for s in st.sessions("cut")] == [
        (1, "interrupted", 12),
        (2, "finished", 8),
    ]
    assert sorted(resumed["session"].unique().tolist()) == [1, 2]
    ses = results.sessions("cut", db)
    assert ses["session"].tolist() == [1, 2] and ses["pid"].tolist() == [os.getpid()] * 2
    assert ses["versions"].iloc[1]["numpy"] == np.__version__
    assert st.get_run("cut")["sessions"] == 2
    # nothing left: no third session, and the run's record is untouched
    before = st.get_run("cut")
    again = harness.run(resume="cut", store=db, progress=False)
    pd.testing.assert_frame_equal(again, resumed)
    assert len(st.sessions("cut")) == 2 and st.get_run("cut") == before
    st.close()


def _wait_rows(db: Path, run_id: str, count: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if db.exists():
            try:
                with Store(db, create=False) as st:
                    if st.has_run(run_id) and len(st.rows(run_id)) >= count:
                        return
            except StoreError:
                pass
        time.sleep(0.05)
    raise AssertionError("the run stored no rows in time")


@pytest.mark.parametrize("how", ["kill", "ctrl-c", "term"])
def test_killed_or_interrupted_process_then_resume(db: Path, how: str) -> None:
    spec = "fake_slow:delay=0.15"
    task = "fake_levels:per_level=4"
    args = ["run", "-e", spec, "--task", task, "--seeds", "0,1", "--store", str(db)]
    proc = subprocess.Popen(
        fp.cli_command(*args, "--run-id", "victim", "--quiet"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_rows(db, "victim", 3, proc)
    if how == "kill":
        proc.kill()
    else:
        proc.send_signal(signal.SIGINT if how == "ctrl-c" else signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    st = Store(db)
    done = len(st.rows("victim"))
    assert 3 <= done < 24  # 24 cells: time enough to interrupt on a busy machine
    if how == "kill":
        assert proc.returncode == -9
        assert st.get_run("victim")["status"] == "running"  # it never got to say otherwise
    else:
        assert proc.returncode == (130 if how == "ctrl-c" else 143)
        assert "interrupted; continue with: python -m harness run --resume" in err
        assert "Traceback" not in err
        assert st.get_run("victim")["status"] == "interrupted"
    resumed = harness.run(resume="victim", store=db, progress=False)
    assert len(st.rows("victim", all_attempts=True)) == 24
    assert resumed["cell_key"].is_unique and (resumed["status"] == "ok").all()
    first = st.sessions("victim")[0]["status"]
    assert first == ("crashed" if how == "kill" else "interrupted")
    # the same cells without interruption (a faster estimator with the same numbers)
    full = harness.run(["fake_slow:delay=0"], task, seeds=[0, 1], store=db, progress=False)
    assert resumed["estimate"].tolist() == full["estimate"].tolist()
    assert resumed["instance_id"].tolist() == full["instance_id"].tolist()
    st.close()


def test_resume_refuses_a_run_that_is_still_going(db: Path) -> None:
    harness.run(["fake_corr"], "fake_gauss", store=db, run_id="r", progress=False)
    with Store(db) as st:
        st.update_session("r", 1, status="running", pid=os.getppid(), host=platform.node())
    with pytest.raises(StoreError, match="still running"):
        harness.run(resume="r", store=db, progress=False)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with Store(db) as st:
        st.update_session("r", 1, pid=dead.pid)
    harness.run(resume="r", store=db, progress=False)
    with Store(db) as st:
        assert [s["status"] for s in st.sessions("r")] == ["crashed", "finished"]


def test_resume_of_a_complete_run_starts_no_executor(db: Path) -> None:
    first = harness.run(["fake_corr"], "fake_gauss", store=db, run_id="c", progress=False)
    # a scheduler nobody listens on: building the Dask executor would fail
    again = harness.run(
        resume="c", store=db, executor="dask", scheduler="tcp://127.0.0.1:9", progress=False
    )
    pd.testing.assert_frame_equal(again, first)
    with Store(db) as st:
        assert [s["status"] for s in st.sessions("c")] == ["finished"]


def test_retry_failed_reruns_only_failed_cells(db: Path) -> None:
    harness.run(["fake_fail", "fake_corr"], "fake_gauss", store=db, run_id="f", progress=False)
    harness.run(resume="f", store=db, progress=False)  # nothing to do
    with Store(db) as st:
        assert len(st.rows("f", all_attempts=True)) == 6
    df = harness.run(resume="f", retry_failed=True, store=db, progress=False)
    assert df["attempt"].tolist() == [1, 1, 1, 1, 2, 1]
    with Store(db) as st:
        assert len(st.rows("f", all_attempts=True)) == 7


def test_timeout_and_worker_crash_become_rows(db: Path) -> None:
    df = harness.run(
        ["fake_sleep:delay=60", "fake_crash", "fake_corr"],
        "fake_gauss",
        store=db,
        workers=2,
        timeout=1.0,
        progress=False,
    )
    status = {(r.label, r.rho): (r.status, r.message) for r in df.itertuples()}
    # delay=60 is stored as the float its default is: one label, one cell key
    assert status[("fake_sleep:delay=60.0", 0.9)] == (
        "timeout",
        "exceeded the 1 s per-cell timeout",
    )
    assert status[("fake_crash", 0.9)] == ("failed", "worker process died (exit code 3)")
    assert df.loc[df["status"] == "timeout", "seconds"].iloc[0] >= 1.0
    ok = df[df["status"] == "ok"]
    assert len(ok) == 7
    for row in ok.itertuples():
        assert row.estimate == _expected("fake_gauss", fp.corr_mi, row.seed, row.instance_index)
    rec = Store(db).get_run(df.attrs["run_id"])
    assert (rec["workers"], rec["timeout"], rec["threads"]["worker_threads"]) == (2, 1.0, 1)


def test_two_workers_and_thread_pool_give_the_same_rows_as_one(db: Path) -> None:
    grid = {"estimators": ["fake_corr", "fake_batched:batch_size=4"], "task": "fake_levels"}
    one = harness.run(**grid, seeds=[0, 1], store=db, progress=False)
    two = harness.run(**grid, seeds=[0, 1], store=db, workers=2, progress=False)
    pd.testing.assert_frame_equal(_cells(one), _cells(two), check_exact=True)
    with ThreadPoolExecutor(2) as pool:
        pooled = harness.run(**grid, seeds=[0, 1], store=db, executor=pool, progress=False)
    pd.testing.assert_frame_equal(_cells(one), _cells(pooled), check_exact=True)


@pytest.mark.parametrize(
    ("cap", "batches"),
    [
        (None, [4, 2]),
        # sliced specs pass batch_size = projections (e.g. 1000): far more
        # distributions than one estimate_batch call, whose rows are stored together
        (3, [3, 3]),
    ],
)
def test_batched_estimator_gets_chunks_of_its_batch_size_up_to_the_cap(
    db: Path, monkeypatch: pytest.MonkeyPatch, cap: int | None, batches: list[int]
) -> None:
    if cap is not None:
        monkeypatch.setattr(runner_module, "MAX_BATCH_CHUNK", cap)
    fp.BATCHES.clear()
    df = harness.run(
        ["fake_batched:batch_size=4"], "fake_levels", seeds=[0], store=db, progress=False
    )
    assert fp.BATCHES == batches
    for row in df.itertuples():
        assert row.estimate == _expected("fake_levels", fp.corr_mi, row.seed, row.instance_index)


def test_a_non_finite_float_parameter_survives_the_store_and_resume(db: Path) -> None:
    # JSON has no inf: the store writes it as text, which must come back as a float
    spec = "fake_cap:cap=inf"
    want = [_expected("fake_gauss", fp.corr_mi, 0, i) for i in range(3)]
    assert max(want) > 0.1
    df = harness.run([spec, "fake_cap:cap=0.1"], "fake_gauss", store=db, progress=False)
    assert (df["status"] == "ok").all()
    np.testing.assert_allclose(
        df[df["label"] == spec].sort_values("instance_index")["estimate"], want
    )
    assert df[df["label"] != spec]["estimate"].max() == 0.1
    # cut before any fake_cap cell ran: the resumed session builds it from the store
    fp.INTERRUPT.update(after=1, calls=0)
    with pytest.raises(KeyboardInterrupt):
        harness.run(["fake_interrupt", spec], "fake_gauss", store=db, run_id="cut", progress=False)
    resumed = harness.run(resume="cut", store=db, progress=False)
    assert (resumed["status"] == "ok").all()
    capped = resumed[resumed["label"] == spec].sort_values("instance_index")
    assert capped["session"].tolist() == [2, 2, 2]
    np.testing.assert_allclose(capped["estimate"], want)


@pytest.mark.parametrize("how", [{}, {"workers": 2}, {"timeout": 30.0}])
def test_a_batch_that_breaks_fails_only_its_own_cells_and_loses_none(db: Path, how) -> None:
    # a non-finite estimate fails its cell, not its batch
    df = harness.run(["fake_batched:batch_size=3,nan_first=true"], "fake_levels", store=db,
                     progress=False, run_id="nan", **how)  # fmt: skip
    assert len(df) == 6
    failed = df[df["status"] == "failed"].sort_values("instance_index")
    assert failed["instance_index"].tolist() == [0, 3]  # the first of each batch of 3
    assert failed["message"].str.contains("non-finite").all()
    assert (df[df["status"] == "ok"]["estimate"].notna()).all()
    # too few estimates: every cell of the batch gets a failed row (none lost)
    df = harness.run(["fake_batched:batch_size=3,short=1"], "fake_levels", store=db,
                     progress=False, run_id="short", **how)  # fmt: skip
    assert len(df) == 6 and (df["status"] == "failed").all()
    assert df["message"].str.contains("returned estimates of shape").all()


def test_a_batch_that_kills_its_worker_fails_only_the_cell_that_does(db: Path) -> None:
    # the strongly dependent instances (rho = 0.9: indices 4, 5) kill the process; the
    # batch they share with others runs again one cell at a time
    df = harness.run(["fake_batched:batch_size=6,crash=true"], "fake_levels", store=db,
                     progress=False, workers=2)  # fmt: skip
    status = df.set_index("instance_index")["status"].to_dict()
    assert status == {0: "ok", 1: "ok", 2: "ok", 3: "ok", 4: "failed", 5: "failed"}
    assert df[df["status"] == "failed"]["message"].str.contains("worker process died").all()


def test_a_timeout_for_an_executor_object_must_be_its_own(db: Path) -> None:
    from harness.executors import ProcessExecutor

    with pytest.raises(SpecError, match="has its own timeout"):
        harness.run("fake_corr", "fake_gauss", executor=ProcessExecutor(1), timeout=0.5,
                    store=db, progress=False)  # fmt: skip
    assert not db.exists()


def test_workers_start_with_the_thread_limits_even_when_the_driver_imported_numba(
    tmp_path: Path,
) -> None:
    # a spawned worker re-runs the driver script's imports before its own set-up
    script = tmp_path / "driver.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import numba  # reads NUMBA_NUM_THREADS once, at import\n"
        "import fake_plugins as fp\n"
        "import harness\n"
        "if __name__ == '__main__':\n"
        "    fp.register()\n"
        "    df = harness.run(['fake_numba_threads'], 'fake_gauss', workers=2,\n"
        f"                     store={str(tmp_path / 'r.sqlite')!r}, progress=False)\n"
        "    print(sorted(set(df['estimate'])))\n"
    )
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).parents[1])  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[1.0]"  # the workers' limit, not the driver's


def test_the_timeout_spares_a_worker_whose_rows_wait_to_be_read() -> None:
    from harness.cells import Job, TaskSpec
    from harness.executors import ProcessExecutor, _Worker

    class Conn:
        def __init__(self, ready: bool):
            self.ready = ready

        def poll(self) -> bool:
            return self.ready

        def close(self) -> None:
            pass

    class Proc:
        def is_alive(self) -> bool:
            return False

        def join(self, timeout=None) -> None:
            pass

    ex = ProcessExecutor(1, timeout=0.01)
    for ready, rows in ((True, 0), (False, 1)):
        worker = _Worker(Proc(), Conn(ready), chunk=["cell"], running=[0], infos=[{}], started=0.0)
        ex._pool = [worker]

        def make_row(job, cell, info, status, **kw):
            return status

        job = Job("j", TaskSpec("fake_gauss", fp.FakeGauss, {}), ())
        out = list(ex._expire(job, deque(), make_row))
        assert len(out) == rows
        assert (worker in ex._pool) == ready  # its rows are read on the next turn
    assert out == [["timeout"]]


def test_n_overrides_the_task_sample_size(db: Path) -> None:
    df = harness.run("fake_corr", "fake_gauss", n=50, store=db, progress=False)
    assert (df["n_samples"] == 50).all()
    with pytest.raises(SpecError, match="n=50 contradicts n=60"):
        harness.run("fake_corr", "fake_gauss:n=60", n=50, store=db, progress=False)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"estimators": ["zzz"]}, "unknown estimator 'zzz'; available: .*fake_corr.*ksg"),
        ({"estimators": ["fake_corr:k=1"]}, "unknown parameter k .*valid parameters .*shrink=0.0"),
        ({"estimators": ["fake_corr:shrink=2"]}, r"shrink must be in \[0, 1\)"),
        ({"task": "zzz"}, "unknown task 'zzz'; available: .*fake_gauss"),
        ({"estimators": ["fake_corr", "fake_corr:shrink=0"]}, "given twice"),
        ({"estimators": ["kde:bandwidth=1", "kde:bandwidth=1.0"]}, "given twice"),
        ({"seeds": [1, 1]}, "seeds repeat"),
        ({"seeds": [-1]}, r"seeds must be integers in \[0, 2\*\*63\)"),
        ({"seeds": [2**63]}, r"in \[0, 2\*\*63\); got 9223372036854775808"),
        ({"workers": 0}, "workers must be a positive integer"),
        ({"timeout": 0}, "timeout must be > 0"),
        ({"timeout": float("inf")}, "at most 1e\\+06 seconds"),
        ({"timeout": float("nan")}, "timeout must be > 0"),
        ({"timeout": "10"}, "timeout must be a number of seconds"),
        ({"executor": "slurm"}, "unknown executor 'slurm'; available: dask, local"),
        ({"executor": ThreadPoolExecutor(1), "timeout": 1}, "cannot enforce a per-cell timeout"),
        ({"device": "tpu"}, "device must be"),
        ({"retry_failed": True}, "only applies with resume"),
    ],
)
def test_bad_arguments_fail_before_anything_is_stored(db: Path, kwargs: dict, match: str) -> None:
    args = {"estimators": ["fake_corr"], "task": "fake_gauss", "store": db, "progress": False}
    with pytest.raises(SpecError, match=match):
        harness.run(**{**args, **kwargs})
    assert not db.exists()


def test_resume_rejects_grid_arguments(db: Path) -> None:
    harness.run("fake_corr", "fake_gauss", store=db, run_id="g", progress=False)
    with pytest.raises(SpecError, match="resume takes the grid from the stored run"):
        harness.run("fake_corr", resume="g", store=db)
    with pytest.raises(SpecError, match="already exists"):
        harness.run("fake_corr", "fake_gauss", store=db, run_id="g", progress=False)


def test_progress_bar_counts_cells(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    df = harness.run("fake_corr", "fake_gauss", store=db, progress=True)
    err = capsys.readouterr().err
    assert df.attrs["run_id"] in err and "3/3" in err and "cell" in err


def test_real_estimators_smoke(db: Path) -> None:
    """ksg and kde from the registry on the Gaussian task: near the analytic truth."""
    df = harness.run(["ksg", "kde"], "gaussian:rhos=0.6", n=1000, store=db, progress=False)
    assert (df["status"] == "ok").all()
    truth = -0.5 * np.log(1 - 0.36)
    assert df["true_mi"].tolist() == pytest.approx([truth, truth], abs=1e-12)
    assert np.abs(df["error"]).max() < 0.1
    again = harness.run(["ksg", "kde"], "gaussian:rhos=0.6", n=1000, store=db, progress=False)
    assert again["estimate"].tolist() == df["estimate"].tolist()


def test_prepare_runs_once_outside_the_timed_estimates(db: Path) -> None:
    df = harness.run(["fake_prepare:load=2"], "fake_gauss", store=db, progress=False)
    assert (df["status"] == "ok").all() and len(df) > 1
    assert df["seconds"].max() < 2.0  # the one-off load is not charged to any cell
    failed = harness.run(["fake_prepare:fail=true"], "fake_gauss", store=db, progress=False)
    assert (failed["status"] == "failed").all()
    assert failed["message"].str.contains("could not prepare fake_prepare").all()
    assert failed["message"].str.contains("weights.pt not found").all()


def test_importing_harness_leaves_the_openmp_wait_policy_to_the_user():
    """harness once set OMP_WAIT_POLICY=PASSIVE against a slowdown that was really
    Numba resetting torch's thread count (see harness.numba_threads); sleeping OpenMP
    threads made InfoNet's CPU forward 3x slower at n = 200."""
    import os
    import subprocess
    import sys

    code = "import os, harness; print(os.environ.get('OMP_WAIT_POLICY', 'unset'))"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "unset"
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "ACTIVE"


class _ScriptInterrupt(fp.FakeInterrupt):
    """An estimator defined in a user's script: not in the registry."""

    name = "script_interrupt"


def test_a_run_of_an_unregistered_estimator_resumes_with_the_object_again(db: Path) -> None:
    full = harness.run(["fake_corr"], "fake_levels", store=db, progress=False)
    fp.INTERRUPT.update(after=3, calls=0)
    with pytest.raises(KeyboardInterrupt) as info:
        harness.run(
            [_ScriptInterrupt(), "fake_corr"], "fake_levels", store=db, run_id="own", progress=False
        )
    if sys.version_info >= (3, 11):
        assert "harness.run(resume='own'" in "\n".join(info.value.__notes__)
    with pytest.raises(SpecError, match="'script_interrupt', which is not registered; resume it"):
        harness.run(resume="own", store=db, progress=False)
    with pytest.raises(SpecError, match="no estimator 'fake_corr:shrink=0.5'.*its estimators"):
        harness.run(
            [_ScriptInterrupt(), fp.FakeCorr(shrink=0.5)], resume="own", store=db, progress=False
        )
    with pytest.raises(SpecError, match="pass estimators only as objects"):
        harness.run(["fake_corr"], resume="own", store=db, progress=False)
    resumed = harness.run([_ScriptInterrupt()], resume="own", store=db, progress=False)
    assert (resumed["status"] == "ok").all() and resumed["cell_key"].is_unique
    assert len(resumed) == 2 * len(full)
    own = resumed[resumed["estimator"] == "script_interrupt"].reset_index(drop=True)
    corr = resumed[resumed["estimator"] == "fake_corr"].reset_index(drop=True)
    np.testing.assert_array_equal(corr["estimate"], full["estimate"])
    np.testing.assert_array_equal(own["estimate"], full["estimate"])  # same statistic


@pytest.mark.parametrize("bad", ["latest", "../x", "a b", "", "-x"])
def test_a_new_run_id_must_be_a_plain_name(db: Path, bad: str) -> None:
    with pytest.raises(SpecError, match="is not allowed"):
        harness.run("fake_corr", "fake_gauss", store=db, run_id=bad, progress=False)
    assert not db.exists()


def test_seeds_as_a_string_is_named_as_the_problem(db: Path) -> None:
    with pytest.raises(SpecError, match=r"got the string '0\.\.2'"):
        harness.run("fake_corr", "fake_gauss", seeds="0..2", store=db, progress=False)


def test_a_local_run_asking_for_cuda_without_it_is_refused_before_any_cell(db: Path) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(SpecError, match="device='cuda' requested but CUDA is not available"):
        harness.run(["ksg", "mine:steps=2"], "fake_gauss", device="cuda", store=db, progress=False)
    with pytest.raises(SpecError, match="^mine:device=cuda:0: device='cuda:0' requested"):
        harness.run("mine:device=cuda:0", "fake_gauss", store=db, progress=False)
    # a sliced estimator's base asks for its own device, alone or among other parameters
    with pytest.raises(SpecError, match="^sliced:base=mine:device=cuda: device='cuda' requested"):
        harness.run("sliced:base=mine:device=cuda", "fake_gauss", store=db, progress=False)
    with pytest.raises(SpecError, match="device='cuda:0' requested but CUDA is not available"):
        harness.run("sliced:base=mine:steps=2;device=cuda:0", "fake_gauss", store=db,
                    progress=False)  # fmt: skip
    # the run-wide device reaches a sliced estimator's base through sliced's device
    with pytest.raises(SpecError, match="^sliced:base=mine:steps=2,device=cuda: device='cuda' req"):
        harness.run("sliced:base=mine:steps=2", "fake_gauss", device="cuda", store=db,
                    progress=False)  # fmt: skip
    assert not db.exists()
    # a base on its default device is not refused
    df = harness.run("sliced:base=mine:steps=2,projections=2", "fake_gauss", store=db,
                     progress=False)  # fmt: skip
    assert (df["status"] == "ok").all()
    # cpu-only estimators ignore the run-wide device
    harness.run("ksg", "fake_gauss", device="cuda", store=db, progress=False)


def test_a_huge_seed_range_is_refused_before_it_is_listed(db: Path) -> None:
    def endless() -> Iterator[int]:  # range(10**12) as a list would need terabytes
        yield from range(100_001)
        raise AssertionError("seeds were read past one more than the limit")

    with pytest.raises(SpecError, match="more than 100,000 seeds"):
        harness.run("fake_corr", "fake_gauss", seeds=endless(), store=db, progress=False)
    with pytest.raises(SpecError, match=r"seeds repeat: 1, 3 named more than once"):
        harness.run("fake_corr", "fake_gauss", seeds=[1, 3, 2, 3, 1], store=db, progress=False)
    assert not db.exists()


def test_a_grid_of_too_many_cells_is_refused_before_its_cells_are_listed(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 1.8e9 triplet members: listing the cells alone would need hundreds of GB
    def unlisted(*args: object) -> None:  # a regression fails here instead of filling memory
        raise AssertionError("the cells were listed")

    monkeypatch.setattr(runner_module, "plan", unlisted)
    with pytest.raises(
        SpecError,
        match=r"^the grid has 1,800,000,000 cells \(1,800,000,000 "
        r"instances x 1 seed x 1 estimator\); a run holds at most 10,000,000",
    ):
        harness.run("ksg", "highdim_order:per_d=100000000", store=db, progress=False)
    assert not db.exists()
    monkeypatch.undo()
    # the limit counts instances x seeds x estimators: 2 x 3 x 2 = 12
    monkeypatch.setattr(runner_module, "MAX_CELLS", 11)
    with pytest.raises(SpecError, match=r"12 cells \(2 instances x 3 seeds x 2 estimators\)"):
        harness.run(["ksg", "kde"], "gaussian:rhos=0.1;0.5,n=100", seeds=[0, 1, 2], store=db,
                    progress=False)  # fmt: skip
    monkeypatch.setattr(runner_module, "MAX_CELLS", 12)
    df = harness.run(["ksg", "kde"], "gaussian:rhos=0.1;0.5,n=100", seeds=[0, 1, 2], store=db,
                     progress=False)  # fmt: skip
    assert len(df) == 12 and (df["status"] == "ok").all()


def test_resume_checks_the_cell_limit_on_the_grid_it_rebuilds(db: Path, monkeypatch) -> None:
    """A resume counts the task's instances again (a newer task version may list more),
    so it applies the same limit as a new run, before any cell is listed."""
    harness.run(["ksg", "kde"], "gaussian:rhos=0.1;0.5,n=100", seeds=[0, 1, 2], store=db,
                run_id="r", progress=False)  # fmt: skip
    real_count = runner_module._n_instances
    monkeypatch.setattr(runner_module, "_n_instances", lambda *a: real_count(*a) + 1)
    monkeypatch.setattr(runner_module, "plan", lambda *a: pytest.fail("cells were listed"))
    monkeypatch.setattr(runner_module, "MAX_CELLS", 12)
    with pytest.raises(SpecError, match=r"^run r cannot be resumed: its task now lists more "
                       r"instances than when the run was made, 18 cells \(3 instances x 3 "
                       r"seeds x 2 estimators\), and a run holds at most 12;"):  # fmt: skip
        harness.run(resume="r", store=db, progress=False)
    st = Store(db)
    assert len(st.sessions("r")) == 1  # the refused resume recorded nothing
    st.close()
    monkeypatch.undo()
    assert len(harness.run(resume="r", store=db, progress=False)) == 12


def test_the_session_records_the_thread_counts_the_cells_ran_with(db: Path) -> None:
    import numba

    harness.run("ksg", "fake_gauss", store=db, run_id="t1", progress=False)
    harness.run("ksg", "fake_gauss", store=db, run_id="t2", workers=2, progress=False)
    st = Store(db)
    here, pool = st.get_run("t1")["threads"], st.get_run("t2")["threads"]
    st.close()
    assert here["worker_threads"] is None and here["numba_threads"] == numba.get_num_threads()
    assert pool["worker_threads"] == pool["numba_threads"] == pool["torch_threads"] == 1


def test_recording_threads_starts_no_pool_a_fork_or_torch_would_trip_on(tmp_path: Path) -> None:
    """Asking Numba for its thread count used to start its OpenMP pool in the
    driver: torch's count was reset and a forked worker then aborted."""
    code = f"""
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
import torch, harness
torch.set_num_threads(1)
with ProcessPoolExecutor(1, mp_context=mp.get_context("fork")) as pool:
    df = harness.run(["ksg"], "gaussian", n=200, executor=pool,
                     store={str(tmp_path / "b.sqlite")!r}, progress=False)
print(sorted(set(df["status"])), torch.get_num_threads())
df = harness.run(["kde"], "gaussian", n=200, store={str(tmp_path / "a.sqlite")!r}, progress=False)
print(torch.get_num_threads(), df["status"].eq("ok").all())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["['ok'] 1", "1 True"]
    st = Store(tmp_path / "a.sqlite")
    assert st.get_run("latest")["threads"]["torch_threads"] == 1
    st.close()


class _OneDimKSG(fp.FakeCorr):
    """A 1-D-only estimator whose prepare() warms up like KSG's."""

    name = "one_dim_warm"

    capabilities = fp.Capabilities(max_dim_x=1, max_dim_y=1)

    def prepare(self) -> None:
        from harness.numba_threads import load_kernels

        load_kernels(self)


def test_the_warm_up_skips_dimensions_the_estimator_refuses(db: Path) -> None:
    df = harness.run([_OneDimKSG()], "fake_gauss", store=db, progress=False)
    assert (df["status"] == "ok").all()
