"""Vectorised random-GMM simulator for InfoNet training (torch, any device).

The recipe of Hu et al. (2024), section 4: K uniform in 1..max_components,
weights Dirichlet(1), means uniform in [-5, 5]^d, covariances D D^T + 0.01 I
with D entries uniform in [-3, 3]. A whole batch of distributions and their
samples is drawn in a handful of tensor operations, so data generation is
never the bottleneck of a training step.
"""

from __future__ import annotations

import math

import torch

#: With ``thin``: the chance that a component of a thin member is a needle.
NEEDLE_SHARE = 0.5


def random_gmm_params(
    batch: int,
    *,
    dim: int = 2,
    max_components: int = 20,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    thin: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Parameters of ``batch`` random GMMs, padded to ``max_components``.

    ``thin`` is the fraction of the batch (rounded; the last members) in which
    each component is, with probability :data:`NEEDLE_SHARE`, as thin as the
    recipe allows: D's second column is zeroed, so its covariance is
    d d^T + 0.01 I, standard deviation 0.1 across its long axis. The recipe
    draws such needles only now and then, and mixtures whose MI they carry
    are where the trained network errs most (docs/infonet_training.md,
    session 24); with half the components needles the MI stays mostly in
    0.3-1.5 nats (all of them: 1.2-2.1). ``thin = 0`` draws exactly the
    recipe's random stream.

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
    needles = round(thin * batch)
    if needles:
        coin = torch.rand(needles, kmax, generator=g, device=dev) < NEEDLE_SHARE
        d[batch - needles :, :, :, 1:] *= ~coin[..., None, None]
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


def gmm_batch_params(
    batch: int,
    *,
    dim: int = 2,
    max_components: int = 20,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    mi_balance: float = 0.0,
    thin: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Parameters of ``batch`` fresh random GMMs, as :func:`random_gmm_params` returns them.

    Parameters
    ----------
    batch : int
        Number of distributions.
    dim : int
        Dimension of the joint variable (2 for InfoNet's (x, y)).
    max_components : int
        K is drawn uniformly from 1..max_components per distribution.
    generator : torch.Generator, optional
        Source of randomness; must live on ``device``.
    mi_balance : float
        Fraction of the batch (rounded) drawn by :func:`balanced_gmm_params`,
        MI spread evenly up to 1.2 nats; the rest straight from the recipe.
        0 draws exactly what the recipe alone draws. 2-D only.
    thin : float
        Fraction of the whole batch (rounded) drawn from the recipe with
        needle-thin components (:func:`random_gmm_params`); at most what
        ``mi_balance`` leaves.
    """
    balanced = round(mi_balance * batch)
    if balanced and dim != 2:
        raise ValueError(f"mi_balance needs dim = 2 (a 2-D MI), got dim = {dim}")
    recipe = batch - balanced
    params = random_gmm_params(
        recipe,
        dim=dim,
        max_components=max_components,
        generator=generator,
        device=device,
        thin=min(round(thin * batch), recipe) / recipe if recipe else 0.0,
    )
    if balanced:
        extra = balanced_gmm_params(
            balanced, max_components=max_components, generator=generator, device=device
        )
        params = tuple(torch.cat([a, b]) for a, b in zip(params, extra, strict=True))
    return params  # type: ignore[return-value]


def gaussian_params(
    count: int,
    rho_max: float,
    *,
    max_components: int = 20,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    rho_min: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``count`` bivariate standard Gaussians, correlation uniform on [-rho_max, rho_max]
    (with ``rho_min`` > 0: |correlation| uniform on [rho_min, rho_max], either sign),
    as one-component mixtures padded to ``max_components`` (:func:`random_gmm_params`'s
    layout; the padding has weight 0 and identity covariance)."""
    dev = torch.device(device)
    if rho_min > 0:
        size = rho_min + (rho_max - rho_min) * torch.rand(count, generator=generator, device=dev)
        sign = torch.randint(0, 2, (count,), generator=generator, device=dev) * 2 - 1
        rho = size * sign
    else:
        rho = rho_max * (2 * torch.rand(count, generator=generator, device=dev) - 1)
    weights = torch.zeros(count, max_components, device=dev)
    weights[:, 0] = 1.0
    means = torch.zeros(count, max_components, 2, device=dev)
    chol = torch.eye(2, device=dev).repeat(count, max_components, 1, 1)
    chol[:, 0, 1, 0] = rho
    chol[:, 0, 1, 1] = torch.sqrt(1 - rho**2)
    return weights, means, chol


def pair_partially(
    xy: torch.Tensor, keep: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``xy`` (B, n, 2) with all but a fraction ``keep`` (B,) of each member's pairs re-paired.

    For member b, ``round((1 - keep[b]) n)`` points picked at random swap
    their y values among themselves (each moved point takes the y of another),
    so the sample becomes one of the blend ``keep p(x, y) + (1 - keep) p(x) p(y)``
    (:func:`blended_gmm_mi` is its MI): ``keep = 0`` gives MI exactly 0,
    ``keep = 1`` leaves the member as it was. The x values and the multiset of
    y values of every member stay the same, so the marginals do.
    """
    batch, n, _ = xy.shape
    moved = torch.round((1.0 - keep.to(xy.dtype)) * n).long().clamp(0, n)
    if int(moved.max()) < 2:
        return xy
    order = torch.argsort(torch.rand(batch, n, generator=generator, device=xy.device), dim=1)
    j = torch.arange(n, device=xy.device).expand(batch, n)
    m = moved[:, None]
    # the first m points of a random order pass their y one place on, in a cycle
    nxt = torch.where(j < m, (j + 1) % m.clamp(min=1), j)
    source = torch.gather(order, 1, nxt)
    out = xy.clone()
    out[..., 1] = xy[..., 1].scatter(1, order, torch.gather(xy[..., 1], 1, source))
    return out


def _normal_logpdf_1d(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    return -0.5 * ((x - mean) ** 2 / var + torch.log(2 * math.pi * var))


def _log_density_ratio(
    xy: torch.Tensor, weights: torch.Tensor, means: torch.Tensor, chol: torch.Tensor
) -> torch.Tensor:
    """log p(x, y) - log p(x) - log p(y) of each 2-D GMM of a batch at points ``xy`` (B, n, 2)."""
    logw = torch.log(weights.clamp_min(1e-30))[:, None, :]  # (B, 1, K)
    diff = xy[:, :, None, :] - means[:, None, :, :]  # (B, n, K, 2)
    # joint: whiten with the lower-triangular Cholesky factor of each component
    l00, l10, l11 = chol[..., 0, 0], chol[..., 1, 0], chol[..., 1, 1]  # (B, K)
    z0 = diff[..., 0] / l00[:, None, :]
    z1 = (diff[..., 1] - l10[:, None, :] * z0) / l11[:, None, :]
    log_joint = -0.5 * (z0**2 + z1**2) - torch.log(l00 * l11)[:, None, :] - math.log(2 * math.pi)
    var_x = (l00**2)[:, None, :]
    var_y = (l10**2 + l11**2)[:, None, :]
    log_x = _normal_logpdf_1d(xy[..., 0:1], means[:, None, :, 0], var_x)
    log_y = _normal_logpdf_1d(xy[..., 1:2], means[:, None, :, 1], var_y)
    return (
        torch.logsumexp(logw + log_joint, -1)
        - torch.logsumexp(logw + log_x, -1)
        - torch.logsumexp(logw + log_y, -1)
    )


def quick_gmm_mi(
    weights: torch.Tensor,
    means: torch.Tensor,
    chol: torch.Tensor,
    n_mc: int = 512,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Monte Carlo I(x; y) of each 2-D GMM of a batch, from ``n_mc`` draws.

    The mean over draws of log p(x, y) - log p(x) - log p(y) with exact mixture
    densities: a rough value (standard error of a few hundredths of a nat at
    the default ``n_mc``) for sorting mixtures by MI, not a ground truth.

    Returns
    -------
    Tensor (batch,)
    """
    xy = sample_from_params(weights, means, chol, n_mc, generator=generator)  # (B, n, 2)
    return _log_density_ratio(xy, weights, means, chol).mean(dim=1)


def blended_gmm_mi(
    weights: torch.Tensor,
    means: torch.Tensor,
    chol: torch.Tensor,
    keep: torch.Tensor,
    n_mc: int = 512,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Monte Carlo MI of the blends ``keep p(x, y) + (1 - keep) p(x) p(y)`` of a batch of 2-D GMMs.

    The blend has the GMM's marginals and density ratio ``keep r + 1 - keep``
    (r = p(x, y) / (p(x) p(y))), so its MI is ``keep E_p[log(keep r + 1 - keep)]
    + (1 - keep) E_{p(x)p(y)}[log(keep r + 1 - keep)]``; both means are taken
    over ``n_mc`` draws (the product draws pair each draw's x with the next
    draw's y). MI is exactly 0 at ``keep = 0`` and :func:`quick_gmm_mi`'s at
    1; it grows about as ``keep**2`` from 0, so small ``keep`` gives weak
    dependence of the mixture's own shape (what :func:`pair_partially` draws).

    Returns
    -------
    Tensor (batch,)
    """
    xy = sample_from_params(weights, means, chol, n_mc, generator=generator)
    product = torch.stack([xy[..., 0], torch.roll(xy[..., 1], 1, dims=1)], dim=-1)
    k = keep.to(xy.dtype)
    log_keep, log_rest = torch.log(k)[:, None], torch.log1p(-k)[:, None]  # -inf at 0 or 1: fine

    def log_blend_ratio(points: torch.Tensor) -> torch.Tensor:
        return torch.logaddexp(
            log_keep + _log_density_ratio(points, weights, means, chol), log_rest
        )

    inside = log_blend_ratio(xy).mean(dim=1)
    outside = log_blend_ratio(product).mean(dim=1)
    # where keep is 0 or 1 the other mean carries no weight (and may be nan from 0 * inf)
    return torch.where(k > 0, k * inside, 0.0) + torch.where(k < 1, (1 - k) * outside, 0.0)


def balanced_gmm_params(
    batch: int,
    *,
    top: float = 1.2,
    bins: int = 12,
    max_components: int = 20,
    n_mc: int = 512,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random 2-D GMMs of the training recipe with MI spread evenly over [0, ``top``).

    Under the recipe most mixtures have low MI (about 2 % each fall within
    0.1 nats of 0.7, 0.8 and 0.9, against 24 % near 0.2), while the
    ``gmm_levels`` benchmark weighs every level equally. Each member gets a
    bin of width ``top / bins`` drawn uniformly and is taken from pools of
    recipe draws whose :func:`quick_gmm_mi` falls in that bin (stratified
    rejection sampling), so the mixtures themselves are the recipe's.

    Returns
    -------
    weights, means, chol : as :func:`random_gmm_params`
    """
    dev = torch.device(device)
    want = torch.randint(bins, (batch,), generator=generator, device=dev).tolist()
    pools: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    source: dict[int, tuple[int, int]] = {}  # slot -> (pool, member)
    open_slots = list(range(batch))
    size = max(64, 8 * batch)
    for _ in range(200):
        params = random_gmm_params(
            size, max_components=max_components, generator=generator, device=dev
        )
        mi = quick_gmm_mi(*params, n_mc, generator=generator)
        members: dict[int, list[int]] = {}
        for j, b in enumerate(torch.floor(mi / (top / bins)).long().tolist()):  # one sync
            members.setdefault(b, []).append(j)
        pools.append(params)
        still_open = []
        for slot in open_slots:
            if members.get(want[slot]):
                source[slot] = (len(pools) - 1, members[want[slot]].pop(0))
            else:
                still_open.append(slot)
        open_slots = still_open
        if not open_slots:
            break
    else:
        missing = sorted({want[s] for s in open_slots})
        raise RuntimeError(f"no mixtures found for MI bins {missing} of width {top / bins}")
    picks = [source[s] for s in range(batch)]
    return tuple(torch.stack([pools[p][i][j] for p, j in picks]) for i in range(3))  # type: ignore[return-value]
