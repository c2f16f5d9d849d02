"""The training simulator: the recipe's mixtures, the quick MI used to balance
batches, and the MI-balanced draws (checked against the Numba Monte Carlo truth)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from estimators.infonet.simulator import (
    balanced_gmm_params,
    gmm_batch_params,
    quick_gmm_mi,
    random_gmm_params,
    sample_from_params,
    sample_gmm_batch,
)
from ground_truth.monte_carlo import gmm_mi


def reference_mi(
    w: torch.Tensor, mu: torch.Tensor, chol: torch.Tensor, n: int = 40_000
) -> np.ndarray:
    cov = (chol @ chol.transpose(-1, -2)).double().numpy()
    out = []
    for i in range(len(w)):
        keep = w[i].numpy() > 0
        est, _ = gmm_mi(
            w[i].double().numpy()[keep],
            mu[i].double().numpy()[keep],
            cov[i][keep],
            dim_x=1,
            n_samples=n,
            rng=i,
        )
        out.append(est)
    return np.array(out)


def test_recipe_statistics():
    gen = torch.Generator().manual_seed(0)
    w, mu, chol = random_gmm_params(2000, generator=gen)
    k = (w > 0).sum(1).float()
    assert k.min() == 1 and k.max() == 20
    assert float(k.mean()) == pytest.approx(10.5, abs=0.4)
    assert torch.allclose(w.sum(1), torch.ones(2000))
    active = w > 0
    assert float(mu[active].min()) >= -5 and float(mu[active].max()) <= 5
    assert float(mu[active].std()) == pytest.approx(10 / 12**0.5, rel=0.03)
    xy = sample_gmm_batch(4, 300, generator=gen)
    assert xy.shape == (4, 300, 2) and torch.isfinite(xy).all()


def test_quick_mi_matches_monte_carlo_truth():
    gen = torch.Generator().manual_seed(1)
    w, mu, chol = random_gmm_params(12, generator=gen)
    quick = quick_gmm_mi(w, mu, chol, n_mc=20_000, generator=gen).numpy()
    ref = reference_mi(w, mu, chol)
    assert np.max(np.abs(quick - ref)) < 0.04
    assert ref.max() > 0.3  # the check spans more than near-independent mixtures


def test_balanced_draws_spread_mi_evenly():
    gen = torch.Generator().manual_seed(2)
    natural = reference_mi(*random_gmm_params(120, generator=gen), n=10_000)
    balanced = reference_mi(*balanced_gmm_params(120, top=1.2, bins=4, generator=gen), n=10_000)
    # the recipe puts about a fifth of its mixtures above 0.6 nats; balanced draws half
    assert np.mean(natural > 0.6) < 0.3
    assert np.mean((balanced > 0.6) & (balanced < 1.25)) == pytest.approx(0.5, abs=0.12)
    counts = np.histogram(balanced, bins=[-0.05, 0.3, 0.6, 0.9, 1.25])[0]
    assert counts.min() >= 18 and counts.max() <= 45


def test_mi_balance_mixes_recipe_and_balanced_members():
    gen = torch.Generator().manual_seed(5)
    plain = sample_gmm_batch(6, 50, generator=gen, mi_balance=0.0)
    recipe = torch.Generator().manual_seed(5)
    same = sample_from_params(*random_gmm_params(6, generator=recipe), 50, generator=recipe)
    assert torch.equal(plain, same)  # no balancing keeps the recipe's random stream
    mixed = sample_gmm_batch(6, 50, generator=torch.Generator().manual_seed(5), mi_balance=0.5)
    assert mixed.shape == (6, 50, 2) and torch.isfinite(mixed).all()
    assert not torch.equal(mixed, same)
    again = torch.Generator().manual_seed(5)
    params = gmm_batch_params(6, generator=again, mi_balance=0.5)
    assert torch.equal(sample_from_params(*params, 50, generator=again), mixed)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--mi-balance", "1.5", "--mi-balance must lie in [0, 1]"),
        ("--calibrate", "-1", "--calibrate must be >= 0"),
        ("--calibrate-scale", "-0.1", "--calibrate-scale must be >= 0"),
        ("--calibrate-scale", "0.02", "--calibrate-scale needs --calibrate > 0"),
        ("--independent", "2", "--independent must lie in [0, 1]"),
        ("--ema", "1", "--ema must lie in [0, 1)"),
    ],
)
def test_training_option_out_of_range_is_refused(capsys, option, value, message):
    from estimators.infonet.train import main

    with pytest.raises(SystemExit):
        main([option, value, "--minutes", "0"])
    assert message in capsys.readouterr().err


def test_pair_independently_keeps_marginals_and_removes_dependence():
    from estimators.infonet.simulator import pair_independently

    gen = torch.Generator().manual_seed(2)
    x = torch.randn(3, 2000, generator=gen)
    y = 0.95 * x + 0.3 * torch.randn(3, 2000, generator=gen)
    xy = torch.stack([x, y], dim=-1)
    out = pair_independently(xy, 2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out[..., 0], x)  # x untouched
    assert torch.equal(out[2], xy[2])  # members past count untouched
    for i in range(2):
        assert torch.equal(torch.sort(out[i, :, 1]).values, torch.sort(y[i]).values)
        r = torch.corrcoef(out[i].T)[0, 1]
        assert abs(float(r)) < 0.1  # was 0.95
    assert pair_independently(xy, 0) is xy
