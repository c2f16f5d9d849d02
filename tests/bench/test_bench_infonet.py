"""pytest-benchmark hot paths of InfoNet: one distribution and batches of 16 and 256.

    pytest tests/bench/test_bench_infonet.py --benchmark-only
    pytest tests/bench/test_bench_infonet.py --benchmark-only -k cuda   # on a GPU

Parameterised by device; ``cuda`` is skipped without a GPU, and batch 256 runs
only there.

Each benchmark records the mean estimate and its error against the Gaussian
truth in ``extra_info`` (nats).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import estimators  # noqa: E402

RHO = 0.6
TRUTH = -0.5 * np.log(1 - RHO**2)


def gaussian_pairs(count: int, n: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(0)
    xs, ys = [], []
    for _ in range(count):
        x = rng.normal(size=(n, 1))
        xs.append(x)
        ys.append(RHO * x + np.sqrt(1 - RHO**2) * rng.normal(size=(n, 1)))
    return xs, ys


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("batch", [1, 16, 256])
@pytest.mark.parametrize("n", [200, 2000])
def test_infonet_forward(benchmark, n, batch, device):
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no GPU")
    if device == "cpu" and batch > 16:
        pytest.skip("large batches are timed on the GPU only")
    est = estimators.make(f"infonet:device={device},batch_size={batch}")
    xs, ys = gaussian_pairs(batch, n)
    values = benchmark.pedantic(
        est.estimate_batch, args=(xs, ys), rounds=10, iterations=1, warmup_rounds=2
    )
    mean = float(np.mean(values))
    benchmark.extra_info.update(
        {
            "n": n,
            "batch": batch,
            "device": device,
            "estimate": mean,
            "truth": TRUTH,
            "error": mean - TRUTH,
            "unit": "nats",
        }
    )
    # a fast wrong answer is not a result; the upper side allows InfoNet's
    # in-sample optimism of about 50/n nats (README, "small-sample optimism")
    assert -0.15 < mean - TRUTH < 0.15 + 60.0 / n
