"""pytest-benchmark hot paths of the classical estimators.

    pytest tests/bench --benchmark-only

The default test run ignores tests/bench. Each benchmark records the estimate
and its error against the Gaussian truth in ``extra_info`` (nats).
"""

from __future__ import annotations

import numpy as np
import pytest

from estimators.kde import KDE
from estimators.ksg import KSG

RHO = 0.6
TRUTH = -0.5 * np.log(1 - RHO**2)


def gaussian_pair(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x, RHO * x + np.sqrt(1 - RHO**2) * rng.normal(size=n)


def run(benchmark, estimator, n: int, rounds: int) -> None:
    x, y = gaussian_pair(n)
    value = benchmark.pedantic(
        estimator.estimate, args=(x, y), rounds=rounds, iterations=1, warmup_rounds=1
    )
    benchmark.extra_info.update(
        {"n": n, "estimate": value, "truth": TRUTH, "error": value - TRUTH, "unit": "nats"}
    )
    assert abs(value - TRUTH) < 0.1  # a fast wrong answer is not a result


@pytest.mark.parametrize("n", [2000, 20000])
def test_ksg(benchmark, n):
    run(benchmark, KSG(k=3), n, rounds=50 if n <= 2000 else 10)


def test_kde(benchmark):
    run(benchmark, KDE(), 2000, rounds=20)
