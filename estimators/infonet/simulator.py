"""Vectorised random-GMM simulator for InfoNet training (torch, any device).

The recipe of Hu et al. (2024), section 4: K uniform in 1..max_components,
weights Dirichlet(1), means uniform in [-5, 5]^d, covariances D D^T + 0.01 I
with D entries uniform in [-3, 3]. A whole batch of distributions and their
samples is drawn in a handful of tensor operations, so data generation is
never the bottleneck of a training step.
"""

from __future__ import annotations

import torch


def random_gmm_params(
    batch: int,
    *,
    dim: int = 2,
    max_components: int = 20,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Parameters of ``batch`` random GMMs, padded to ``max_components``.

    Returns
    -------
    weights : Tensor (batch, K_max)
        Zero for the inactive (padding) components.
    means : Tensor (batch, K_max, dim)
    chol : Tensor (batch, K_max, dim, dim)
        Cholesky factors of the covariances.
    """
    dev = torch.device(device)
    g = generator

    def uniform(*shape: int, low: float, high: float) -> torch.Tensor:
        return torch.rand(*shape, generator=g, device=dev) * (high - low) + low

    kmax = max_components
    k = torch.randint(1, kmax + 1, (batch,), generator=g, device=dev)
    active = torch.arange(kmax, device=dev) < k[:, None]
    # Dirichlet(1) weights: normalised Exp(1) draws over the active components
    expo = -torch.log(torch.rand(batch, kmax, generator=g, device=dev).clamp_min(1e-12))
    weights = expo * active
    weights = weights / weights.sum(dim=1, keepdim=True)
    means = uniform(batch, kmax, dim, low=-5.0, high=5.0)
    d = uniform(batch, kmax, dim, dim, low=-3.0, high=3.0)
    cov = d @ d.transpose(-1, -2) + 0.01 * torch.eye(dim, device=dev)
    return weights, means, torch.linalg.cholesky(cov)


def sample_from_params(
    weights: torch.Tensor,
    means: torch.Tensor,
    chol: torch.Tensor,
    n: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``n`` samples from each GMM of a batch: Tensor (batch, n, dim)."""
    batch, _, dim = means.shape
    comp = torch.multinomial(weights, n, replacement=True, generator=generator)
    rows = torch.arange(batch, device=means.device)[:, None]
    z = torch.randn(batch, n, dim, 1, generator=generator, device=means.device)
    return means[rows, comp] + (chol[rows, comp] @ z).squeeze(-1)


def sample_gmm_batch(
    batch: int,
    n: int,
    *,
    dim: int = 2,
    max_components: int = 20,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Draw ``n`` samples from each of ``batch`` fresh random GMMs.

    Parameters
    ----------
    batch, n : int
        Number of distributions and samples per distribution.
    dim : int
        Dimension of the joint variable (2 for InfoNet's (x, y)).
    max_components : int
        K is drawn uniformly from 1..max_components per distribution.
    generator : torch.Generator, optional
        Source of randomness; must live on ``device``.

    Returns
    -------
    Tensor of shape (batch, n, dim)
    """
    params = random_gmm_params(
        batch, dim=dim, max_components=max_components, generator=generator, device=device
    )
    return sample_from_params(*params, n, generator=generator)
