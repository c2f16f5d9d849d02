"""pytest-benchmark of the shared critic-training loop (``estimators.variational.training``).

    pytest tests/bench/test_bench_mine_step.py --benchmark-only

``train_critic`` with the MINE bound (batch 500, the paper's Gaussian setting)
on one torch thread: ``steps=1`` is one critic-training step (with the
critic's construction and Adam's state), ``steps=100`` shows the per-step cost
once that is amortised (``extra_info["seconds_per_step"]``). The trained
critic's DV value on the sample is recorded against the Gaussian truth (nats).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from estimators.variational.bounds import MINE
from estimators.variational.training import evaluate, train_critic

RHO = 0.6
TRUTH = -0.5 * np.log(1 - RHO**2)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def standard_pair(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 1))
    y = RHO * x + np.sqrt(1 - RHO**2) * rng.normal(size=(n, 1))
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.float32))


@pytest.mark.parametrize("steps", [1, 100])
def test_mine_training(benchmark, steps):
    x, y = standard_pair(2000)

    def fit():
        return train_critic(
            x,
            y,
            MINE(ma_rate=0.01),
            steps=steps,
            batch_size=500,
            lr=1e-3,
            hidden=64,
            layers=2,
            rng=np.random.default_rng(0),
            generator=torch.Generator().manual_seed(0),
        )

    critic = benchmark.pedantic(fit, rounds=20 if steps == 1 else 5, iterations=1, warmup_rounds=1)
    value = evaluate(critic, MINE(), x, y, batch_size=500, rng=np.random.default_rng(1))
    benchmark.extra_info.update(
        {
            "n": 2000,
            "steps": steps,
            "batch_size": 500,
            "estimate": value,
            "truth": TRUTH,
            "error": value - TRUTH,
            "unit": "nats",
        }
    )
    if benchmark.stats is not None:  # None under --benchmark-disable (one plain run)
        benchmark.extra_info["seconds_per_step"] = benchmark.stats.stats.median / steps
    assert np.isfinite(value)
    if steps == 100:
        assert abs(value - TRUTH) < 0.1  # a fast wrong answer is not a result
