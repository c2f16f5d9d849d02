"""``executor="dask"``: same rows as the local executors, CLI, scheduler errors, GPU routing."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import estimators
import harness
from harness.cells import EstimatorSpec
from harness.cli import main
from harness.dask_executor import DaskExecutor, local_cluster, uses_gpu
from results.store import Store

distributed = pytest.importorskip("distributed")

CELL_COLUMNS = ["cell_key", "label", "seed", "instance_index", "true_mi", "estimate", "status"]
GRID = {"estimators": ["ksg", "kde"], "task": "gmm_levels:per_level=1", "n": 400, "seeds": [0, 1]}


def _cells(df: pd.DataFrame) -> pd.DataFrame:
    return df[CELL_COLUMNS].reset_index(drop=True)


def test_dask_rows_equal_local_rows(tmp_path) -> None:
    db = tmp_path / "runs.sqlite"
    serial = harness.run(**GRID, store=db, progress=False)
    procs = harness.run(**GRID, store=db, workers=2, progress=False)
    dask = harness.run(**GRID, store=db, executor="dask", workers=2, progress=False)
    assert len(dask) == 40 and (dask["status"] == "ok").all()
    # one thread per worker on both sides: every estimate bit-identical
    pd.testing.assert_frame_equal(_cells(procs), _cells(dask), check_exact=True)
    # against the in-process run: KSG bit-identical; KDE to rounding (see below)
    ksg = dask["label"] == "ksg"
    assert serial.loc[ksg, "estimate"].tolist() == dask.loc[ksg, "estimate"].tolist()
    pd.testing.assert_frame_equal(_cells(serial), _cells(dask), check_exact=False, rtol=1e-12)
    with Store(db) as st:
        rec = st.get_run(dask.attrs["run_id"])
    assert (rec["executor"], rec["workers"], rec["threads"]["worker_threads"]) == ("dask", 2, 1)


@pytest.fixture(scope="module")
def address():
    with local_cluster(1) as lc:
        yield lc.scheduler_address


def test_cli_runs_on_an_existing_scheduler(address: str, tmp_path, capsys) -> None:
    db = tmp_path / "runs.sqlite"
    args = ["run", "--estimators", "ksg:k=3", "--task", "gaussian:rhos=0.5", "--n", "300"]
    code = main([*args, "--executor", "dask", "--scheduler", address, "--store", str(db), "-q"])
    assert code == 0
    run_id = capsys.readouterr().out.strip()
    with Store(db) as st:
        (row,) = st.rows(run_id)
    import tasks

    inst = tasks.make("gaussian:rhos=0.5,n=300").instance(0, 0)
    assert row["status"] == "ok"
    assert row["estimate"] == estimators.make("ksg:k=3").estimate(inst.x, inst.y)


def test_workers_with_several_threads_are_warned_about() -> None:
    with local_cluster(1, threads_per_worker=2) as lc:
        ex = DaskExecutor(lc.scheduler_address)
        with pytest.warns(RuntimeWarning, match="several threads .* --nthreads 1"):
            ex.start()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ex._warn_crowded()  # once per worker
        ex.close()


def test_one_thread_workers_start_without_warning(address: str) -> None:
    ex = DaskExecutor(address)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ex.start()
    ex.close()


def test_unreachable_scheduler_is_a_clear_error() -> None:
    ex = DaskExecutor("tcp://127.0.0.1:9", connect_timeout=1)
    with pytest.raises(ValueError, match="could not connect to the Dask scheduler at tcp://"):
        ex.start()
    ex.close()


def test_gpu_estimators_are_routed_to_gpu_workers() -> None:
    def spec(text: str) -> EstimatorSpec:
        est = estimators.make(text)
        return EstimatorSpec(est.name, type(est), est.get_params(), text)

    assert uses_gpu(spec("infonet"))  # device="auto"
    assert uses_gpu(spec("mine:device=cuda"))
    assert not uses_gpu(spec("infonet:device=cpu"))
    assert not uses_gpu(spec("ksg"))
    assert not uses_gpu(spec("kde"))
    # a sliced estimator goes where its base does
    assert uses_gpu(spec("sliced:base=infonet"))
    assert uses_gpu(spec("sliced:base=mine,device=cuda"))
    assert not uses_gpu(spec("sliced:base=infonet,device=cpu"))
    assert not uses_gpu(spec("sliced:base=infonet:device=cpu,device=cuda"))
    assert not uses_gpu(spec("sliced:base=ksg"))


def test_chunks_of_gpu_estimators_ask_for_a_gpu_worker(tmp_path, monkeypatch) -> None:
    """On a cluster with GPU workers a chunk of a CUDA-capable estimator carries the GPU
    resource and one of a CPU-only estimator does not; each estimator is asked once."""
    from distributed import Client

    import harness.dask_executor as dx

    asked, sent = [], []
    real_uses_gpu, real_submit = dx.uses_gpu, Client.submit

    def counting(spec):
        asked.append(spec.label)
        return real_uses_gpu(spec)

    def recording(self, fn, *args, **kwargs):
        if fn is dx.run_chunk_on_worker:
            job, chunk = args[0], args[1]
            sent.append((job.estimators[chunk[0].estimator].label, kwargs.get("resources")))
        return real_submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(dx, "uses_gpu", counting)
    monkeypatch.setattr(Client, "submit", recording)
    with local_cluster(1, resources={dx.GPU_RESOURCE: 1}) as lc:
        rows = harness.run(
            ["ksg", "infonet:batch_size=2"], "gaussian:rhos=0;0.5", n=200, seeds=[0, 1, 2],
            executor="dask", scheduler=lc.scheduler_address, store=tmp_path / "r.sqlite",
            progress=False,
        )  # fmt: skip
    assert (rows.status == "ok").all() and len(rows) == 12
    assert sorted(asked) == ["infonet:batch_size=2", "ksg"]  # not once per chunk
    assert sorted(sent, key=str) == [
        *[("infonet:batch_size=2", {"GPU": 1})] * 3,  # three chunks of two cells
        ("ksg", None),
    ]
