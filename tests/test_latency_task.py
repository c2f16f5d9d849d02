"""latency task: per-instance sample sizes, truth, batching by size, and the latency summary."""

from __future__ import annotations

import math

import numpy as np
import pytest

import harness
import tasks
from harness import metrics
from harness.interface import Capabilities, Estimator, SpecError

#: Sample sizes of each batch _SizeBatched received, in order.
CALLS: list[list[int]] = []


class _SizeBatched(Estimator):
    """Batched Gaussian MI from the sample correlation, recording batch sample sizes."""

    name = "size_batched"
    capabilities = Capabilities(batched=True)

    def __init__(self, batch_size: int = 4):
        self.batch_size = batch_size

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        r = np.corrcoef(x[:, 0], y[:, 0])[0, 1]
        return -0.5 * math.log1p(-r * r)

    def _estimate_batch(self, pairs) -> np.ndarray:
        CALLS.append([len(x) for x, _ in pairs])
        return np.array([self._estimate(x, y) for x, y in pairs])


def test_layout_sizes_and_truth() -> None:
    task = tasks.make("latency:repeats=3,rho=0.6")
    assert task.n_instances() == 15
    insts = list(task.instances(seed=0))
    assert [len(i.x) for i in insts] == [s for s in (200, 500, 1000, 2000, 5000) for _ in range(3)]
    assert [i.meta["size"] for i in insts] == [len(i.x) for i in insts]
    assert [i.meta["repeat"] for i in insts[:4]] == [0, 1, 2, 0]
    assert all(i.true_mi == pytest.approx(-0.5 * math.log(1 - 0.36)) for i in insts)
    big = insts[-1]
    assert np.corrcoef(big.x[:, 0], big.y[:, 0])[0, 1] == pytest.approx(0.6, abs=0.03)
    assert big.x.std() == pytest.approx(1.0, abs=0.04) and big.y.std() == pytest.approx(
        1.0, abs=0.04
    )


def test_determinism_and_params() -> None:
    a = tasks.make("latency:sizes=300;100,repeats=2").instance(3, 7)
    b = tasks.make("latency:sizes=300;100,repeats=2").instance(3, 7)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.x.shape == (100, 1)
    assert not np.array_equal(tasks.make("latency:sizes=300;100,repeats=2").instance(3, 8).x, a.x)
    assert tasks.make("latency:n=700,repeats=2").instance(1, 0).x.shape == (700, 1)
    with pytest.raises(SpecError, match="either n or sizes"):
        tasks.make("latency:n=700,sizes=200").n_instances()
    with pytest.raises(SpecError, match="rho"):
        tasks.make("latency:rho=1.0").n_instances()


def test_runner_rows_carry_sizes_and_latency_summary(tmp_path) -> None:
    df = harness.run(
        ["ksg"], "latency:sizes=200;400,repeats=3", store=tmp_path / "r.sqlite", progress=False
    )
    assert sorted(df["n_samples"]) == [200] * 3 + [400] * 3
    assert (df["size"] == df["n_samples"]).all()
    views = metrics.summarize(df)
    lat = views["latency"]
    assert list(lat.index) == [("ksg", 200), ("ksg", 400)]
    assert list(lat["count"]) == [3, 3]
    for n in (200, 400):
        secs = df.loc[df["n_samples"] == n, "seconds"]
        assert lat.loc[("ksg", n), "median_seconds"] == pytest.approx(float(np.median(secs)))
        assert lat.loc[("ksg", n), "min_seconds"] == pytest.approx(float(secs.min()))
    assert "median seconds per estimate per sample size" in metrics.format_summary(views)
    assert np.abs(df["error"]).max() < 0.15  # KSG on rho=0.5 (0.144 nats) at n >= 200


def test_batches_never_mix_sizes(tmp_path) -> None:
    CALLS.clear()
    df = harness.run(
        [_SizeBatched(batch_size=4)],
        "latency:sizes=200;300,repeats=4",
        store=tmp_path / "r.sqlite",
        progress=False,
    )
    assert CALLS == [[200] * 4, [300] * 4]  # repeats a multiple of batch_size: full batches
    CALLS.clear()
    harness.run(
        [_SizeBatched(batch_size=4)],
        "latency:sizes=200;300,repeats=3",
        store=tmp_path / "r2.sqlite",
        progress=False,
    )
    assert CALLS == [[200] * 3, [300], [300] * 2]  # a straddling chunk is split by shape
    assert (df["status"] == "ok").all()
