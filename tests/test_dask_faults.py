"""Faults under ``executor="dask"`` on a real two-worker ``LocalCluster``.

Killed workers, an interrupted client, estimators that raise, hang or kill
their worker, and a store that is locked or full: every run either completes
with one row per cell or stops with one clear error, keeping what it stored,
and ``resume`` finishes it without duplicates. Estimates are checked against
the fake estimator's formula on the regenerated samples.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import fake_plugins as fp
import pytest

import harness
from harness.dask_executor import local_cluster
from harness.interface import Task
from results.store import Store, StoreError

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

TASK = "fake_levels:per_level=4"  # 12 instances; with seeds 0, 1: 24 cells


@pytest.fixture(autouse=True, scope="module")
def _fakes():
    fp.register()
    yield
    fp.unregister()


@pytest.fixture(scope="module")
def cluster():
    with (
        local_cluster(2) as lc,
        distributed.Client(lc) as client,
    ):
        yield lc.scheduler_address, client


@pytest.fixture
def address(cluster) -> str:
    addr, client = cluster
    client.wait_for_workers(2, timeout=60)
    return addr


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "runs.sqlite"


class HookStore(Store):
    """A store that calls ``hook(self)`` after every successful append."""

    def __init__(self, path: Path, hook, **kwargs):
        super().__init__(path, **kwargs)
        self.hook = hook
        self.appends = 0
        self.stored = 0

    def append(self, rows):
        super().append(rows)
        self.appends += 1
        self.stored += len(rows)
        self.hook(self)


def _expected(task: str | Task, seed: int, index: int) -> float:
    import tasks

    inst = tasks.make(task).instance(index, seed)
    return fp.corr_mi(inst.x, inst.y)


def _check_complete(df, task: str = TASK) -> None:
    assert len(df) == 24 and df["cell_key"].is_unique
    assert (df["status"] == "ok").all(), df["message"].tolist()
    for row in df.itertuples():
        assert row.estimate == _expected(task, row.seed, row.instance_index)


def test_killed_worker_cells_rerun_elsewhere(cluster, address: str, db: Path) -> None:
    _, client = cluster
    killed: list[tuple[str, int]] = []

    def kill_a_busy_worker(st: HookStore) -> None:
        if st.appends != 1:
            return
        busy = [a for a, keys in client.processing().items() if keys]
        assert busy, "no worker had a chunk in flight"
        pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
        os.kill(pid, signal.SIGKILL)
        killed.append((busy[0], pid))

    st = HookStore(db, kill_a_busy_worker)
    df = harness.run(
        ["fake_slow:delay=0.2"],
        TASK,
        seeds=[0, 1],
        store=st,
        executor="dask",
        scheduler=address,
        progress=False,
    )
    assert len(killed) == 1
    _check_complete(df)
    assert len(st.rows(df.attrs["run_id"], all_attempts=True)) == 24  # no cell stored twice
    assert st.get_run(df.attrs["run_id"])["status"] == "finished"
    client.wait_for_workers(2, timeout=60)
    assert killed[0][1] not in client.run(os.getpid).values()  # the nanny replaced it
    st.close()


def test_client_interrupted_then_resume(cluster, address: str, db: Path) -> None:
    _, client = cluster

    def interrupt(st: HookStore) -> None:
        if st.appends == 2:
            raise KeyboardInterrupt

    st = HookStore(db, interrupt)
    common = {"store": st, "executor": "dask", "scheduler": address, "progress": False}
    with pytest.raises(KeyboardInterrupt):
        harness.run(["fake_slow:delay=0.05"], TASK, seeds=[0, 1], run_id="cut", **common)
    assert st.get_run("cut")["status"] == "interrupted"
    assert len(st.rows("cut")) == st.stored < 24
    # the driver cancelled its chunks: the scheduler forgets them
    deadline = time.monotonic() + 10
    while client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)):
        assert time.monotonic() < deadline, "the scheduler still holds the cancelled chunks"
        time.sleep(0.1)
    st.hook = lambda _: None
    df = harness.run(resume="cut", **common)
    _check_complete(df)
    assert len(st.rows("cut", all_attempts=True)) == 24
    assert [s["status"] for s in st.sessions("cut")] == ["interrupted", "finished"]
    st.close()


def test_ctrl_c_of_the_cli_then_resume(address: str, db: Path, tmp_path: Path) -> None:
    """Ctrl-C lands while cells remain however loaded the machine: after six estimates
    the others wait at a gate (:class:`fake_plugins.FakeGate`), opened after the signal."""
    gate = tmp_path / "gate"
    gate.mkdir()
    args = ["run", "-e", f"fake_gate:gate={gate}", "--task", TASK, "--seeds", "0,1"]
    extra = ["--executor", "dask", "--scheduler", address, "--store", str(db)]
    proc = subprocess.Popen(
        fp.cli_command(*args, *extra, "--run-id", "victim", "--quiet"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the CLI stored no rows in time"
            if db.exists():
                try:
                    with Store(db, create=False) as st:
                        if st.has_run("victim") and len(st.rows("victim")) >= 3:
                            break
                except StoreError:
                    pass
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        (gate / "open").touch()  # the cells held on the workers end, the resume runs
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "interrupted; continue with: python -m harness run --resume" in err
    assert "Traceback" not in err
    with Store(db) as st:
        assert st.get_run("victim")["status"] == "interrupted"
        assert 3 <= len(st.rows("victim")) <= 6  # whole chunks of 3 among the free six
    df = harness.run(resume="victim", store=db, executor="dask", scheduler=address, progress=False)
    _check_complete(df)
    with Store(db) as st:
        assert len(st.rows("victim", all_attempts=True)) == 24


def test_raising_and_hanging_estimators_do_not_disturb_others(db: Path) -> None:
    """On a local cluster of its own, closed with the run (with the stuck thread)."""
    psutil = pytest.importorskip("psutil")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    df = harness.run(
        ["fake_sleep:delay=60", "fake_fail", "fake_corr"],
        "fake_gauss",
        seeds=[0, 1],
        store=db,
        executor="dask",
        workers=2,
        timeout=1.0,
        progress=False,
    )
    assert len(df) == 18 and df["cell_key"].is_unique
    bad = df[df["status"] != "ok"]
    assert sorted(map(tuple, bad[["label", "rho", "status"]].values.tolist())) == [
        ("fake_fail", 0.9, "failed"),
        ("fake_fail", 0.9, "failed"),
        ("fake_sleep:delay=60.0", 0.9, "timeout"),
        ("fake_sleep:delay=60.0", 0.9, "timeout"),
    ]
    assert set(bad["message"]) == {
        "ValueError: too strong second line",
        "exceeded the 1 s per-cell timeout",
    }
    assert (df.loc[df["status"] == "timeout", "seconds"] >= 1.0).all()
    for row in df[df["status"] == "ok"].itertuples():
        assert row.estimate == _expected("fake_gauss", row.seed, row.instance_index)
    with Store(db) as st:
        assert st.get_run(df.attrs["run_id"])["executor"] == "dask"
    # the cluster and its workers (one still sleeping in a stuck cell) are gone
    deadline = time.monotonic() + 20
    while {p.pid for p in psutil.Process().children(recursive=True)} - before:
        assert time.monotonic() < deadline, "local Dask cluster processes outlived the run"
        time.sleep(0.2)


def test_cell_that_kills_its_worker_fails_alone(db: Path) -> None:
    """On a cluster of its own: a nanny may not replace a worker that dies while starting."""
    rhos = tuple(round(0.05 * i, 2) for i in range(15)) + (0.9,)
    task = fp.FakeGauss(rhos=rhos, n=200)
    # one lost worker makes a chunk fail (keeps this test short)
    config = {"distributed.scheduler.allowed-failures": 0}
    with dask.config.set(config):
        with local_cluster(2, config, silence_logs=logging.CRITICAL) as lc:
            df = harness.run(
                ["fake_crash"],
                task,
                store=db,
                executor="dask",
                scheduler=lc.scheduler_address,
                progress=False,
            )
    assert len(df) == 16 and df["cell_key"].is_unique
    bad = df[df["status"] != "ok"]
    # the rho=0.9 instance (the last); the driver regenerates its instance columns
    assert bad["instance_index"].tolist() == [15] and bad["status"].tolist() == ["failed"]
    assert bad["message"].iloc[0].startswith("worker died running this cell (KilledWorker")
    lost = task.instance(15, 0)
    assert bad["instance_id"].iloc[0] == lost.instance_id
    assert bad["true_mi"].iloc[0] == lost.true_mi and bad["n_samples"].iloc[0] == 200
    for row in df[df["status"] == "ok"].itertuples():
        inst = task.instance(row.instance_index, row.seed)
        assert row.estimate == fp.corr_mi(inst.x, inst.y)


def _resume_completes(db: Path, run_id: str, address: str) -> None:
    df = harness.run(resume=run_id, store=db, executor="dask", scheduler=address, progress=False)
    _check_complete(df)
    with Store(db) as st:
        assert len(st.rows(run_id, all_attempts=True)) == 24
        assert [s["status"] for s in st.sessions(run_id)] == ["crashed", "finished"]


def test_store_locked_mid_run_is_a_clear_error(address: str, db: Path) -> None:
    other: list[sqlite3.Connection] = []

    def lock(st: HookStore) -> None:
        if st.appends == 1:
            conn = sqlite3.connect(db, timeout=0, isolation_level=None)
            conn.execute("BEGIN EXCLUSIVE")
            other.append(conn)

    st = HookStore(db, lock, busy_timeout=0.2)
    with pytest.raises(StoreError, match=r"results store .* is locked by another process"):
        harness.run(
            ["fake_corr"],
            TASK,
            seeds=[0, 1],
            store=st,
            executor="dask",
            scheduler=address,
            run_id="locked",
            progress=False,
        )
    other[0].rollback()
    other[0].close()
    rows = st.rows("locked")
    assert len(rows) == st.stored >= 1  # what was committed before the lock is intact
    for row in rows:
        assert row["estimate"] == _expected(TASK, row["seed"], row["instance_index"])
    st.close()
    _resume_completes(db, "locked", address)


def test_disk_full_mid_run_is_a_clear_error(address: str, db: Path) -> None:
    def fill(st: HookStore) -> None:
        if st.appends == 1:  # no page beyond those in use: the next growth is SQLITE_FULL
            pages = st._conn.execute("PRAGMA page_count").fetchone()[0]
            st._conn.execute(f"PRAGMA max_page_count = {pages}")

    st = HookStore(db, fill)
    with pytest.raises(StoreError, match="disk full .*continue with --resume"):
        harness.run(
            ["fake_slow:delay=0"],
            TASK,
            seeds=[0, 1],
            store=st,
            executor="dask",
            scheduler=address,
            run_id="full",
            progress=False,
        )
    assert len(st.rows("full")) == st.stored < 24
    st.close()  # a fresh connection has no page limit: space was "freed"
    _resume_completes(db, "full", address)
