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
    xy = sample_from_params(*gmm_batch_params(4, generator=gen), 300, generator=gen)
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
    plain = gmm_batch_params(6, generator=torch.Generator().manual_seed(5), mi_balance=0.0)
    same = random_gmm_params(6, generator=torch.Generator().manual_seed(5))
    for p, q in zip(plain, same, strict=True):
        assert torch.equal(p, q)  # no balancing keeps the recipe's random stream
    mixed = gmm_batch_params(6, generator=torch.Generator().manual_seed(5), mi_balance=0.5)
    recipe = random_gmm_params(3, generator=torch.Generator().manual_seed(5))
    for p, q in zip(mixed, recipe, strict=True):
        assert p.shape[0] == 6 and torch.equal(p[:3], q)  # the first half from the recipe
    assert not torch.equal(mixed[1][3:], same[1][3:])


def _needle_share(w: torch.Tensor, chol: torch.Tensor) -> torch.Tensor:
    """Share of each member's components that are needles (covariance d d^T + 0.01 I)."""
    low = torch.linalg.eigvalsh((chol @ chol.transpose(-1, -2)).double())[..., 0]
    needle = (low - 0.01).abs() < 1e-5
    active = w > 0
    return (needle & active).sum(dim=1) / active.sum(dim=1)


def test_thin_members_have_needles_and_keep_the_random_stream():
    plain = random_gmm_params(64, generator=torch.Generator().manual_seed(7))
    thin = random_gmm_params(64, generator=torch.Generator().manual_seed(7), thin=0.5)
    w, mu, chol = thin
    assert torch.equal(w, plain[0]) and torch.equal(mu, plain[1])  # same stream
    assert torch.equal(chol[:32], plain[2][:32])  # the first members as the recipe draws them
    share = _needle_share(w, chol)
    assert share[:32].mean() < 0.05  # the recipe's rare needles
    assert 0.4 < share[32:].mean() < 0.6  # half the components of the thin members
    # their MI mostly in the range of the benchmark's levels, not far above it
    mi = quick_gmm_mi(w[32:], mu[32:], chol[32:], generator=torch.Generator().manual_seed(1))
    assert 0.5 < mi.median() < 1.3 and mi.median() > quick_gmm_mi(*plain).median() + 0.2


def test_draw_batch_puts_thin_mixtures_after_the_re_paired_and_weakened_members():
    from estimators.infonet.batches import draw_batch

    gen = torch.Generator().manual_seed(3)
    drawn = draw_batch(16, 50, gen, thin=0.25, independent=0.25, weak=0.25)
    share = _needle_share(drawn.params[0], drawn.params[2])
    assert share[:12].mean() < 0.05 and share[12:].mean() > 0.3  # the last four
    assert (drawn.keep[12:] == 1).all()  # and dependent
    # 8 MI-balanced members: the recipe's 8 are all re-paired or weakened, none thin
    drawn = draw_batch(16, 50, gen, thin=0.5, independent=0.25, weak=0.25, mi_balance=0.5)
    assert _needle_share(drawn.params[0], drawn.params[2]).mean() < 0.05


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--mi-balance", "1.5"], "--mi-balance must lie in [0, 1]"),
        (["--calibrate", "-1"], "--calibrate must be >= 0"),
        (["--calibrate-scale", "-0.1"], "--calibrate-scale must be >= 0"),
        (["--calibrate-scale", "0.02"], "--calibrate-scale needs --calibrate > 0"),
        (["--independent", "2"], "--independent must lie in [0, 1]"),
        (["--weak", "-0.1"], "--weak must lie in [0, 1 - independent]"),
        (["--weak", "0.9", "--independent", "0.2"], "--weak must lie in [0, 1 - independent]"),
        (["--rank", "-1"], "--rank must be >= 0"),
        (["--rank", "1", "--calibrate", "20", "--weak", "0.2"], "--rank needs --calibrate"),
        (["--ema", "1"], "--ema must lie in [0, 1)"),
        (["--thin", "1.5"], "--thin must lie in [0, 1]"),
    ],
)
def test_training_option_out_of_range_is_refused(capsys, options, message):
    from estimators.infonet.train import main

    with pytest.raises(SystemExit):
        main([*options, "--minutes", "0"])
    assert message in capsys.readouterr().err


def test_pair_partially_at_keep_zero_keeps_marginals_and_removes_dependence():
    from estimators.infonet.simulator import pair_partially

    gen = torch.Generator().manual_seed(2)
    x = torch.randn(3, 2000, generator=gen)
    y = 0.95 * x + 0.3 * torch.randn(3, 2000, generator=gen)
    xy = torch.stack([x, y], dim=-1)
    keep = torch.tensor([0.0, 0.0, 1.0])
    out = pair_partially(xy, keep, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out[..., 0], x)  # x untouched
    assert torch.equal(out[2], xy[2])  # members with keep = 1 untouched
    for i in range(2):
        assert torch.equal(torch.sort(out[i, :, 1]).values, torch.sort(y[i]).values)
        r = torch.corrcoef(out[i].T)[0, 1]
        assert abs(float(r)) < 0.1  # was 0.95
    assert pair_partially(xy, torch.ones(3)) is xy


def _gaussian_batch(rho: float, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One-component GMM parameters of a unit-variance bivariate Gaussian, ``batch`` times."""
    cov = torch.tensor([[1.0, rho], [rho, 1.0]])
    chol = torch.linalg.cholesky(cov).expand(batch, 1, 2, 2).clone()
    return torch.ones(batch, 1), torch.zeros(batch, 1, 2), chol


def test_pair_partially_keeps_marginals_and_blends_the_dependence():
    from estimators.infonet.simulator import pair_partially, sample_from_params

    gen = torch.Generator().manual_seed(5)
    keep = torch.tensor([0.0, 0.25, 0.5, 1.0])
    xy = sample_from_params(*_gaussian_batch(0.8, 4), 40_000, generator=gen)
    out = pair_partially(xy, keep, generator=gen)
    assert torch.equal(out[..., 0], xy[..., 0])
    assert torch.equal(out[3], xy[3])  # keep = 1: untouched
    for i, k in enumerate(keep.tolist()):
        assert torch.equal(torch.sort(out[i, :, 1]).values, torch.sort(xy[i, :, 1]).values)
        stayed = float((out[i, :, 1] == xy[i, :, 1]).float().mean())
        assert stayed == pytest.approx(k, abs=1e-3)  # every moved point took another's y
        # the blend k p + (1 - k) p(x)p(y) has correlation k rho
        r = float(torch.corrcoef(out[i].T)[0, 1])
        assert r == pytest.approx(0.8 * k, abs=0.015)


def _blend_mi_by_quadrature(rho: float, keep: float) -> float:
    t = np.linspace(-8.0, 8.0, 1201)
    h = t[1] - t[0]
    x, y = np.meshgrid(t, t)
    det = 1.0 - rho**2
    joint = np.exp(-(x**2 - 2 * rho * x * y + y**2) / (2 * det)) / (2 * np.pi * np.sqrt(det))
    product = np.exp(-(x**2 + y**2) / 2) / (2 * np.pi)
    blend = keep * joint + (1 - keep) * product
    return float(np.sum(blend * np.log(blend / product)) * h * h)


def test_blended_gmm_mi_matches_quadrature_of_the_blend():
    from estimators.infonet.simulator import blended_gmm_mi

    gen = torch.Generator().manual_seed(6)
    keep = torch.tensor([0.0, 0.1, 0.5, 1.0])
    mi = blended_gmm_mi(*_gaussian_batch(0.8, 4), keep, n_mc=100_000, generator=gen).numpy()
    assert mi[0] == 0.0
    assert mi[3] == pytest.approx(-0.5 * np.log(1 - 0.64), abs=0.01)
    for i in (1, 2):
        assert mi[i] == pytest.approx(_blend_mi_by_quadrature(0.8, float(keep[i])), abs=0.005)
    assert 0 < mi[1] < 0.05 * mi[3]  # about keep**2 times the MI: weak


def test_gaussian_params_draw_correlated_standard_gaussians():
    from estimators.infonet.simulator import gaussian_params, quick_gmm_mi, sample_from_params

    gen = torch.Generator().manual_seed(3)
    params = gaussian_params(6, 0.6, max_components=5, generator=gen)
    rho = params[2][:, 0, 1, 0]
    assert float(rho.abs().max()) <= 0.6 and float(rho.abs().min()) > 0
    xy = sample_from_params(*params, 50_000, generator=gen).numpy()
    for member, r in zip(xy, rho.tolist(), strict=True):
        assert np.std(member, axis=0) == pytest.approx([1.0, 1.0], abs=0.02)
        assert np.corrcoef(member.T)[0, 1] == pytest.approx(r, abs=0.015)
    mi = quick_gmm_mi(*params, n_mc=50_000, generator=gen)
    assert torch.allclose(mi, -0.5 * torch.log1p(-(rho**2)), atol=0.005)
