"""What one InfoNet training step draws: the members of its batch and their targets.

A batch is the paper's random GMMs (:func:`~estimators.infonet.simulator.gmm_batch_params`,
optionally MI-balanced) with up to three kinds of member mixed in, in this order:

``independent``
    The first members (a fraction of the batch, rounded) have their pairs
    re-paired at random, so their MI is exactly 0. A squared-error fit
    reports the mean MI of the mixtures that could have produced a sample;
    the recipe puts almost none at MI 0, so without them a small
    independent sample reads as clearly dependent (+0.08 nats at n = 100).
``weak``
    The next members keep only a fraction drawn from [0, :data:`WEAK_KEEP`)
    of their pairs and re-pair the rest: weak dependence of every mixture's
    shape, MI mostly below 0.1 nats. The recipe draws few mixtures that
    weak, so without them the network learns little about telling a weak
    dependence from none. With ``twins`` the first weakened members take
    the mixtures of the first re-paired ones (same marginals), so a ranking
    loss can compare the two.
``gaussian``
    The last members are bivariate standard Gaussians with correlation uniform
    on [-``gaussian_rho_max``, ``gaussian_rho_max``], drawn instead of mixtures
    (``mi_balance`` applies to the mixtures, so the MI-balanced ones, which
    come after the recipe's, are kept). A random 1-D projection
    of high-dimensional data is close to Gaussian, so the slices a sliced
    estimate averages are mostly weakly correlated near-Gaussian pairs; the
    recipe has few of them (one component in 20 mixtures). With
    ``gaussian_weak`` the last of them have |correlation| uniform on
    ``gaussian_weak_rho`` (default :data:`GAUSSIAN_WEAK_RHO`, either sign): a
    random slice of a d-dimensional dependence is about 1/sqrt(d) as correlated
    as its strongest direction, so a sliced estimate in high dimensions
    averages slices whose MI is a few thousandths of a nat, which a
    correlation uniform on [-0.95, 0.95] rarely draws.

:func:`calibration_targets` gives each member's MI: 0 for the re-paired
ones, the blend MI (:func:`~estimators.infonet.simulator.blended_gmm_mi`)
for the weakened ones, the exact MI -ln(1 - rho^2) / 2 for the Gaussians and
a Monte Carlo estimate for the rest.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from estimators.infonet.simulator import (
    blended_gmm_mi,
    gaussian_params,
    gmm_batch_params,
    pair_partially,
    quick_gmm_mi,
    sample_from_params,
)

__all__ = [
    "CALIBRATE_MC",
    "GAUSSIAN_RHO_MAX",
    "GAUSSIAN_WEAK_RHO",
    "WEAK_KEEP",
    "TrainingBatch",
    "calibration_targets",
    "draw_batch",
    "separation_pairs",
]

#: Monte Carlo draws per GMM for the calibration target (standard error ~0.02 nats).
CALIBRATE_MC = 1024

#: Weakened members keep a fraction of their pairs drawn uniformly from [0, WEAK_KEEP):
#: blend MI from 0 to about 0.1 nats (median 0.02) under the recipe.
WEAK_KEEP = 0.5

#: Default range of the Gaussian members: correlation uniform on
#: [-GAUSSIAN_RHO_MAX, GAUSSIAN_RHO_MAX] (MI up to 0.22 nats, half of them below 0.03).
GAUSSIAN_RHO_MAX = 0.6

#: Default |correlation| range of the ``gaussian_weak`` share of the Gaussian members:
#: [0, 0.2] (correlation uniform on [-0.2, 0.2]), MI below 0.021 nats.
GAUSSIAN_WEAK_RHO = (0.0, 0.2)


class TrainingBatch(NamedTuple):
    """One step's draws (see the module docstring for the order of the members)."""

    params: tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # weights, means, chol
    xy: torch.Tensor  # (B, m, 2) samples, after re-pairing
    keep: torch.Tensor  # (B,) fraction of each member's pairs left as drawn
    unpaired: int  # members 0 .. unpaired - 1 are re-paired (MI 0)
    weakened: int  # the next ``weakened`` members keep a fraction below WEAK_KEEP
    twins: int  # weakened member i < twins shares re-paired member i's mixture
    gaussians: int = 0  # the last ``gaussians`` members are bivariate Gaussians


def draw_batch(
    batch: int,
    draws: int,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
    *,
    mi_balance: float = 0.0,
    independent: float = 0.0,
    weak: float = 0.0,
    gaussian: float = 0.0,
    gaussian_rho_max: float = GAUSSIAN_RHO_MAX,
    gaussian_weak: float = 0.0,
    gaussian_weak_rho: tuple[float, float] = GAUSSIAN_WEAK_RHO,
    twins: bool = False,
    thin: float = 0.0,
) -> TrainingBatch:
    """The members of one training batch and ``draws`` samples of each.

    Parameters
    ----------
    batch : int
        Number of distributions.
    draws : int
        Samples per distribution (2n for a held-out objective).
    generator : torch.Generator
        The only source of randomness; must live on ``device``.
    mi_balance : float
        :func:`~estimators.infonet.simulator.gmm_batch_params`'s.
    independent, weak, gaussian : float
        Fractions of the batch (rounded) of each kind of member; ``weak`` is
        capped by what ``independent`` leaves and ``gaussian`` by what both leave.
    gaussian_rho_max : float
        Correlation range of the Gaussian members.
    gaussian_weak : float
        Fraction of the Gaussian members (rounded; the last ones) whose
        |correlation| is uniform on ``gaussian_weak_rho`` instead, either sign.
    gaussian_weak_rho : (float, float)
        (low, high) with 0 <= low < high < 1; high is capped at ``gaussian_rho_max``.
    twins : bool
        Give the first weakened members the first re-paired members' mixtures.
    thin : float
        Fraction of the batch (rounded) drawn as mixtures with needle-thin
        components (:func:`~estimators.infonet.simulator.random_gmm_params`):
        recipe mixtures placed after the re-paired and weakened members, so
        they keep their dependence.
    """
    dev = torch.device(device)
    unpaired = round(independent * batch)
    weakened = min(round(weak * batch), batch - unpaired)
    gaussians = min(round(gaussian * batch), batch - unpaired - weakened)
    # mixtures for every member but the Gaussians: recipe ones first (the re-paired
    # and weakened members take those), then the MI-balanced ones
    mixtures = batch - gaussians
    recipe = mixtures - round(mi_balance * mixtures)  # as gmm_batch_params splits them
    needles = min(round(thin * batch), max(0, recipe - unpaired - weakened))
    params = gmm_batch_params(
        mixtures,
        generator=generator,
        device=dev,
        mi_balance=mi_balance,
        thin=needles / mixtures if mixtures else 0.0,
    )
    pairs = min(unpaired, weakened) if twins else 0
    if pairs:
        params = tuple(torch.cat([p[:unpaired], p[:pairs], p[unpaired + pairs :]]) for p in params)
    weak_gaussians = round(gaussian_weak * gaussians)
    low, high = gaussian_weak_rho
    for count, rho_min, rho_max in (
        (gaussians - weak_gaussians, 0.0, gaussian_rho_max),
        (weak_gaussians, min(low, gaussian_rho_max), min(high, gaussian_rho_max)),
    ):
        if count:
            extra = gaussian_params(
                count,
                rho_max,
                rho_min=rho_min,
                max_components=params[0].shape[1],
                generator=generator,
                device=dev,
            )
            params = tuple(torch.cat([p, q]) for p, q in zip(params, extra, strict=True))
    xy = sample_from_params(*params, draws, generator=generator)
    keep = torch.ones(batch, device=dev)
    keep[:unpaired] = 0.0
    if weakened:
        keep[unpaired : unpaired + weakened] = WEAK_KEEP * torch.rand(
            weakened, generator=generator, device=dev
        )
    xy = pair_partially(xy, keep, generator=generator)  # xy as is when keep is all 1
    return TrainingBatch(params, xy, keep, unpaired, weakened, pairs, gaussians)  # type: ignore[arg-type]


def separation_pairs(
    pairs: int,
    n: int,
    rho: float,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """``pairs`` independent standard Gaussian samples of size ``n``, then ``pairs``
    with correlation ``rho`` of random sign: shape (2 * pairs, n, 2). What one slice
    of a high-dimensional sample looks like with no dependence and with a weak one
    (``--separation``)."""
    null = gaussian_params(pairs, 0.0, max_components=1, generator=generator, device=device)
    weak = gaussian_params(
        pairs, rho, rho_min=rho, max_components=1, generator=generator, device=device
    )
    params = (torch.cat([p, q]) for p, q in zip(null, weak, strict=True))
    return sample_from_params(*params, n, generator=generator)


def calibration_targets(
    drawn: TrainingBatch, generator: torch.Generator, n_mc: int = CALIBRATE_MC
) -> torch.Tensor:
    """The MI of each member of ``drawn`` (B,): 0, the blend MI, the Gaussians' exact MI
    or a Monte Carlo estimate.

    Fresh Monte Carlo draws, not the MI :func:`~estimators.infonet.simulator.balanced_gmm_params`
    selected its members on (that one's noise is not unbiased).
    """
    batch = drawn.keep.shape[0]
    truth = torch.zeros(batch, device=drawn.keep.device)
    start, full = drawn.unpaired, drawn.unpaired + drawn.weakened
    mixtures_end = batch - drawn.gaussians
    if drawn.weakened:
        part = tuple(p[start:full] for p in drawn.params)
        truth[start:full] = blended_gmm_mi(*part, drawn.keep[start:full], n_mc, generator=generator)
    if full < mixtures_end:
        rest = tuple(p[full:mixtures_end] for p in drawn.params)
        truth[full:mixtures_end] = quick_gmm_mi(*rest, n_mc, generator=generator)
    if drawn.gaussians:
        rho = drawn.params[2][mixtures_end:, 0, 1, 0]  # unit variances: chol[1, 0] is rho
        truth[mixtures_end:] = -0.5 * torch.log1p(-(rho**2))
    return truth
