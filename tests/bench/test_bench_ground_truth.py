"""pytest-benchmark hot path of the Monte Carlo ground truth (``ground_truth.monte_carlo``).

    pytest tests/bench/test_bench_ground_truth.py --benchmark-only

The mixture has K identical Gaussian components (rho = 0.6), so it costs a
K-component log-sum-exp per draw while its MI stays the analytic
-0.5 ln(1 - rho^2). ``extra_info`` holds the estimate, its standard error
and the error (nats).
"""

from __future__ import annotations

import numpy as np
import pytest

from ground_truth.monte_carlo import gmm_mi

RHO = 0.6
TRUTH = -0.5 * np.log(1 - RHO**2)


def copies(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    weights = np.random.default_rng(0).dirichlet(np.ones(k))
    means = np.zeros((k, 2))
    covs = np.repeat(np.array([[[1.0, RHO], [RHO, 1.0]]]), k, axis=0)
    return weights, means, covs


@pytest.mark.parametrize("k", [1, 10])
def test_gmm_mi(benchmark, k):
    weights, means, covs = copies(k)
    draws = 100_000

    def run() -> tuple[float, float]:
        return gmm_mi(weights, means, covs, dim_x=1, n_samples=draws, rng=0)

    est, se = benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(
        {
            "k": k,
            "draws": draws,
            "estimate": est,
            "se": se,
            "truth": TRUTH,
            "error": est - TRUTH,
            "unit": "nats",
        }
    )
    assert abs(est - TRUTH) < 5 * se  # a fast wrong answer is not a result
