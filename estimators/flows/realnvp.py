"""Conditional Real NVP on x given y, with a maskable y input (the NDoE Real NVP variant).

Affine coupling layers (Dinh et al. 2016) over the x coordinates, alternating
which half is transformed; the scale and shift of each layer are an MLP of the
untouched half of x and of y. With ``masked=True`` the y input of every MLP is
switched off, so the map (and the density of x) no longer depends on y -- the
analogue of removing BNAF's y -> x blocks. This module imports torch.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["RealNVP"]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


class RealNVP(nn.Module):
    """Conditional Real NVP of x given y.

    Parameters
    ----------
    dim_y, dim_x : int
        Dimensions of y and x (``dim_x >= 2``: each coupling transforms one part
        of x given the other; on a single coordinate it would be affine).
    hidden : int
        Width of the two ReLU hidden layers of each scale/shift MLP (paper: 128).
    couplings : int
        Number of affine coupling layers.
    """

    def __init__(self, dim_y: int, dim_x: int, hidden: int = 128, couplings: int = 6) -> None:
        super().__init__()
        if dim_x < 2:
            raise ValueError(f"a coupling flow needs dim_x >= 2; got {dim_x}")
        self.dim_y, self.dim_x = dim_y, dim_x
        masks = []
        for k in range(couplings):
            keep = (torch.arange(dim_x) % 2) == (k % 2)
            masks.append(keep.float())
        self.register_buffer("keep", torch.stack(masks))
        self.nets = nn.ModuleList(
            nn.Sequential(
                nn.Linear(dim_x + dim_y, hidden),
                nn.ReLU(),
                nn.Linear(hidden, hidden),
                nn.ReLU(),
                nn.Linear(hidden, 2 * dim_x),
            )
            for _ in range(couplings)
        )
        for net in self.nets:  # start at the identity map
            nn.init.zeros_(net[-1].weight)
            nn.init.zeros_(net[-1].bias)

    def forward(
        self, y: torch.Tensor, x: torch.Tensor, masked: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Map x to z given y; returns ``z`` (N, dim_x) and log|det dz/dx| (N,)."""
        y_in = torch.zeros_like(y) if masked else y
        log_det = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for keep, net in zip(self.keep, self.nets, strict=True):
            s, t = net(torch.cat([x * keep, y_in], dim=1)).chunk(2, dim=1)
            s = torch.tanh(s) * (1.0 - keep)
            x = keep * x + (1.0 - keep) * (x * torch.exp(s) + t)
            log_det = log_det + s.sum(dim=1)
        return x, log_det

    def x_log_prob(self, y: torch.Tensor, x: torch.Tensor, masked: bool) -> torch.Tensor:
        """log q(x | y) (or log q(x) when ``masked``) under a standard normal base, shape (N,)."""
        z, log_det = self(y, x, masked)
        return (-0.5 * z * z - _HALF_LOG_2PI).sum(dim=1) + log_det
