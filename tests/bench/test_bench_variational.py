"""pytest-benchmark timings of the variational estimators (CPU, 1-D, n = 2000).

    pytest tests/bench/test_bench_variational.py --benchmark-only

The default test run ignores tests/bench. Torch runs on one thread here (restored
afterwards): on a small, shared CPU its default thread pool is many times slower;
benchmarks/speed_variational.py times both settings. Each benchmark records the estimate
and its error against the Gaussian truth in ``extra_info`` (nats).
"""

from __future__ import annotations

import numpy as np
import pytest

from estimators.variational import DV, MINE, NWJ, SMILE, InfoNCE

RHO = 0.8
TRUTH = -0.5 * np.log(1 - RHO**2)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def gaussian_pair(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x, RHO * x + np.sqrt(1 - RHO**2) * rng.normal(size=n)


@pytest.mark.parametrize(
    "estimator",
    [
        MINE(steps=500, device="cpu"),
        DV(steps=500, device="cpu"),
        NWJ(steps=500, device="cpu"),
        SMILE(steps=500, device="cpu"),
        InfoNCE(steps=500, batch_size=64, device="cpu"),
    ],
    ids=lambda est: est.name,
)
def test_variational(benchmark, estimator):
    x, y = gaussian_pair(2000)
    value = benchmark.pedantic(
        estimator.estimate, args=(x, y), rounds=3, iterations=1, warmup_rounds=1
    )
    benchmark.extra_info.update(
        {"n": 2000, "estimate": value, "truth": TRUTH, "error": value - TRUTH, "unit": "nats"}
    )
    assert abs(value - TRUTH) < 0.1  # a fast wrong answer is not a result
