"""Variational lower bounds on MI from critic scores (torch).

Every bound has ``value(t_joint, t_marg)`` (the bound, in nats) and
``loss(t_joint, t_marg)`` (what the training loop minimises). ``t_joint`` are
scores on paired samples. For ``needs_matrix = False`` bounds ``t_marg`` is any
1-D tensor of scores on product-of-marginals pairs; for InfoNCE it is the full
(B, B) score matrix whose diagonal is ``t_joint``, and ``row_values`` gives
each row's term of the mean.

* :class:`DV` -- Donsker-Varadhan, ``E_p[T] - log E_q[e^T]``.
* :class:`MINE` -- DV value; gradient with the moving-average denominator of
  Belghazi et al. (2018), which removes the minibatch bias of ``log E_q``.
* :class:`NWJ` -- Nguyen-Wainwright-Jordan, ``E_p[T] - E_q[e^(T-1)]``.
* :class:`InfoNCE` -- ``mean_i [T_ii - log mean_j e^(T_ij)]``, at most ``log B``.
* :class:`SMILE` -- Song & Ermon (2020): DV with the marginal scores clipped to
  ``[-clip, clip]``; the critic is trained with the Jensen-Shannon (f-GAN)
  objective, the estimate is the clipped DV value.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["DV", "MINE", "NWJ", "InfoNCE", "SMILE", "log_mean_exp"]


def log_mean_exp(t: torch.Tensor) -> torch.Tensor:
    """``log mean exp(t)`` over all elements, computed stably."""
    return torch.logsumexp(t.reshape(-1), 0) - math.log(t.numel())


class DV:
    """Donsker-Varadhan bound, trained on its own minibatch value."""

    needs_matrix = False

    def value(self, t_joint: torch.Tensor, t_marg: torch.Tensor) -> torch.Tensor:
        return t_joint.mean() - log_mean_exp(t_marg)

    def loss(self, t_joint: torch.Tensor, t_marg: torch.Tensor) -> torch.Tensor:
        return -self.value(t_joint, t_marg)


class MINE(DV):
    """DV bound with the bias-corrected gradient of MINE.

    The gradient of ``log E_q[e^T]`` is ``E_q[e^T dT] / E_q[e^T]``; MINE replaces
    the minibatch denominator with an exponential moving average (rate
    ``ma_rate``) kept in log space. The average starts at the first minibatch
    value, so the first step is the plain DV gradient.
    """

    def __init__(self, ma_rate: float = 0.01) -> None:
        self.ma_rate = ma_rate
        self._log_ma: torch.Tensor | None = None

    def loss(self, t_joint: torch.Tensor, t_marg: torch.Tensor) -> torch.Tensor:
        lme = log_mean_exp(t_marg)
        current = lme.detach()
        if self._log_ma is None:
            self._log_ma = current
        else:
            self._log_ma = torch.logaddexp(
                self._log_ma + math.log1p(-self.ma_rate), current + math.log(self.ma_rate)
            )
        # d/dT of exp(lme - log_ma) is E_q[e^T dT] / moving average
        return -(t_joint.mean() - torch.exp(lme - self._log_ma))


class NWJ(DV):
    """NWJ (f-divergence) bound ``E_p[T] - E_q[e^(T-1)]``."""

    def value(self, t_joint: torch.Tensor, t_marg: torch.Tensor) -> torch.Tensor:
        return t_joint.mean() - torch.exp(t_marg - 1.0).mean()


class SMILE(DV):
    """Clipped DV value; Jensen-Shannon training objective."""

    def __init__(self, clip: float = 5.0) -> None:
        self.clip = clip

    def value(self, t_joint: torch.Tensor, t_marg: torch.Tensor) -> torch.Tensor:
        return t_joint.mean() - log_mean_exp(t_marg.clamp(-self.clip, self.clip))

    def loss(self, t_joint: torch.Tensor, t_marg: torch.Tensor) -> torch.Tensor:
        return F.softplus(-t_joint).mean() + F.softplus(t_marg).mean()


class InfoNCE:
    """InfoNCE (CPC) bound on a (B, B) score matrix; never exceeds ``log B``."""

    needs_matrix = True

    def row_values(self, t_joint: torch.Tensor, t_marg: torch.Tensor) -> torch.Tensor:
        """Each row's term (B,): its joint score against all B of its row, plus log B."""
        return t_joint - torch.logsumexp(t_marg, dim=1) + math.log(t_marg.shape[1])

    def value(self, t_joint: torch.Tensor, t_marg: torch.Tensor) -> torch.Tensor:
        return self.row_values(t_joint, t_marg).mean()

    def loss(self, t_joint: torch.Tensor, t_marg: torch.Tensor) -> torch.Tensor:
        return -self.value(t_joint, t_marg)
