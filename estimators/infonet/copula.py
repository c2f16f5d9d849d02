"""Empirical-copula transforms: map each variable to its rank / n in (0, 1).

MI is invariant under strictly increasing maps of X and Y, so InfoNet reads
only ranks. Ties get their average rank, which keeps the result independent
of the sample order.
"""

from __future__ import annotations

import torch


def copula_codes(values: torch.Tensor) -> torch.Tensor:
    """Integer copula codes along the last axis: ``copula(values) * 2n``.

    Parameters
    ----------
    values : Tensor of shape (..., n)

    Returns
    -------
    LongTensor of shape (..., n)
        ``2 * rank - 1`` with ranks 1..n, so codes lie in 1..2n-1; tied values
        share the code of their mean rank.
    """
    ordered, order = torch.sort(values, dim=-1)
    if not bool((ordered[..., 1:] == ordered[..., :-1]).any()):
        # no ties anywhere: the value at sorted position r gets code 2r + 1
        n = values.shape[-1]
        odd = torch.arange(1, 2 * n, 2, device=values.device).expand_as(order)
        return torch.empty_like(order).scatter_(-1, order, odd)
    below = torch.searchsorted(ordered, values.contiguous(), right=False)
    upto = torch.searchsorted(ordered, values.contiguous(), right=True)
    # mean 0-based rank of a tie group is (below + upto - 1) / 2
    return below + upto


def copula(values: torch.Tensor) -> torch.Tensor:
    """Average-rank copula along the last axis.

    Parameters
    ----------
    values : Tensor of shape (..., n)

    Returns
    -------
    Tensor of shape (..., n)
        ``(rank - 0.5) / n`` with ranks 1..n; tied values share their mean rank.
    """
    return codes_to_copula(copula_codes(values), values.dtype)


def codes_to_copula(codes: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Copula values ``codes / 2n`` (n = the last axis) from :func:`copula_codes`."""
    return codes.to(dtype) / (2.0 * codes.shape[-1])


def soft_copula(values: torch.Tensor, temperature: float = 0.05) -> torch.Tensor:
    """Differentiable copula: a sigmoid-smoothed empirical CDF.

    ``u_i = sum_j sigmoid((v_i - v_j) / (temperature * std)) / n``
    approaches the hard copula as ``temperature`` goes to 0. O(n^2) memory per
    row; meant for losses on moderate n.
    """
    n = values.shape[-1]
    scale = values.std(dim=-1, keepdim=True).clamp_min(1e-12) * temperature
    diff = (values.unsqueeze(-1) - values.unsqueeze(-2)) / scale.unsqueeze(-1)
    # the j = i term contributes sigmoid(0) = 0.5, matching the hard (rank - 0.5) / n
    return torch.sigmoid(diff).sum(dim=-1) / n
