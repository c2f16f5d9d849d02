"""Block neural autoregressive flow (De Cao et al. 2019) with a maskable y -> x part.

The flow acts on ``(y, x)`` with ``D = dim_y + dim_x`` coordinates, y first. Every
layer has one block of ``a`` units per coordinate; its weight matrix is block
lower-triangular with positive diagonal blocks (``exp`` of free parameters) and
is weight-normalised row by row. The log-determinant is accumulated as the
log-matrix product (log-sum-exp) of the per-coordinate diagonal Jacobian blocks.

With ``masked=True`` every block from a y coordinate into an x coordinate is set
to zero, so the x outputs depend on x alone: their NLL estimates H(X). With all
blocks active the same outputs estimate H(X|Y) (NDoE, Algorithm 1).

This module imports torch; import it lazily.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["BNAF", "MaskedBlockLinear"]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


class MaskedBlockLinear(nn.Module):
    """Block lower-triangular, weight-normalised linear map ``D*a_in -> D*a_out``.

    Parameters
    ----------
    n_coords : int
        Number of coordinates D (blocks per side).
    a_in, a_out : int
        Units per coordinate block on the input and output side.
    dim_y : int
        The first ``dim_y`` coordinates are y; blocks from them into the later
        (x) coordinates are the ones removed by ``masked=True``.
    """

    def __init__(self, n_coords: int, a_in: int, a_out: int, dim_y: int) -> None:
        super().__init__()
        self.n_coords, self.a_in, self.a_out = n_coords, a_in, a_out
        rows = torch.arange(n_coords * a_out) // a_out
        cols = torch.arange(n_coords * a_in) // a_in
        ri, cj = rows[:, None], cols[None, :]
        self.register_buffer("diag", (ri == cj).float())
        self.register_buffer("lower", (ri > cj).float())
        self.register_buffer("y_to_x", ((ri >= dim_y) & (cj < dim_y)).float())
        weight = torch.empty(n_coords * a_out, n_coords * a_in)
        nn.init.xavier_uniform_(weight)
        self.weight = nn.Parameter(weight)
        # log of the weight-norm gain per output unit, log U(0, 1) at the start.
        self.log_gain = nn.Parameter(torch.rand(n_coords * a_out, 1).log())
        bound = 1.0 / math.sqrt(n_coords * a_in)
        self.bias = nn.Parameter(torch.empty(n_coords * a_out).uniform_(-bound, bound))

    def _weights(self, masked: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Effective weight matrix and the log of its diagonal blocks."""
        lower = self.lower * (1.0 - self.y_to_x) if masked else self.lower
        w = torch.exp(self.weight) * self.diag + self.weight * lower
        sq_norm = (w * w).sum(dim=1, keepdim=True)
        w_eff = torch.exp(self.log_gain) * w * torch.rsqrt(sq_norm)
        log_w = self.log_gain + self.weight - 0.5 * torch.log(sq_norm)
        d, ao, ai = self.n_coords, self.a_out, self.a_in
        idx = torch.arange(d, device=log_w.device)
        blocks = log_w.view(d, ao, d, ai)[idx, :, idx, :]  # (D, a_out, a_in)
        return w_eff, blocks

    def forward(
        self, h: torch.Tensor, log_jac: torch.Tensor | None, masked: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Apply the layer and update the log diagonal Jacobian blocks.

        ``log_jac`` has shape (N, D, a_in, 1) (log d h / d input, per coordinate),
        or ``None`` for the first layer; the result has shape (N, D, a_out, 1).
        """
        w_eff, blocks = self._weights(masked)
        out = h @ w_eff.T + self.bias
        if log_jac is None:
            new = blocks.unsqueeze(0).expand(h.shape[0], -1, -1, -1)
        else:
            new = torch.logsumexp(blocks.unsqueeze(0).unsqueeze(-1) + log_jac.unsqueeze(2), dim=3)
        return out, new


class BNAF(nn.Module):
    """BNAF on ``(y, x)``: ``layers`` tanh layers of ``hidden`` units per coordinate + a linear one.

    Parameters
    ----------
    dim_y, dim_x : int
        Dimensions of y and x.
    hidden : int
        Units per coordinate in the hidden layers (``a``).
    layers : int
        Number of tanh layers before the final linear layer (the paper uses 2).
    residual : bool
        Gated residual connection around the stack, ``s f(v) + (1 - s) v`` with
        ``s = sigmoid(gate)`` (as in De Cao et al.'s implementation); it keeps the
        map onto all of R^D (tanh layers alone have a bounded range).
    """

    def __init__(
        self, dim_y: int, dim_x: int, hidden: int, layers: int = 2, residual: bool = True
    ) -> None:
        super().__init__()
        self.dim_y, self.dim_x = dim_y, dim_x
        self.gate = nn.Parameter(torch.zeros(1)) if residual else None
        d = dim_y + dim_x
        sizes = [1] + [hidden] * layers + [1]
        pairs = zip(sizes[:-1], sizes[1:], strict=True)
        self.blocks = nn.ModuleList(MaskedBlockLinear(d, a, b, dim_y) for a, b in pairs)

    def forward(self, yx: torch.Tensor, masked: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Map ``yx`` (N, D) to ``z`` (N, D) and the per-coordinate log dz_i/d(yx)_i (N, D)."""
        h, log_jac = yx, None
        last = len(self.blocks) - 1
        for k, layer in enumerate(self.blocks):
            h, log_jac = layer(h, log_jac, masked)
            if k < last:
                # log tanh'(h) = 2 (log 2 - h - softplus(-2h)), stable for large |h|
                log_dt = 2.0 * (math.log(2.0) - h - nn.functional.softplus(-2.0 * h))
                h = torch.tanh(h)
                log_jac = log_jac + log_dt.view(h.shape[0], -1, layer.a_out, 1)
        log_jac = log_jac.view(h.shape[0], -1)
        if self.gate is not None:
            s = torch.sigmoid(self.gate)
            h = s * h + (1.0 - s) * yx
            log_s = nn.functional.logsigmoid(self.gate)
            log_1ms = nn.functional.logsigmoid(-self.gate)
            log_jac = torch.logaddexp(log_s + log_jac, log_1ms.expand_as(log_jac))
        return h, log_jac

    def x_log_prob(self, y: torch.Tensor, x: torch.Tensor, masked: bool) -> torch.Tensor:
        """log q(x | y) (or log q(x) when ``masked``) under a standard normal base, shape (N,).

        A flow built with ``dim_y=0`` models x alone and ignores ``y``.
        """
        z, log_det = self(torch.cat([y, x], dim=1) if self.dim_y else x, masked)
        zx, ldx = z[:, self.dim_y :], log_det[:, self.dim_y :]
        return (-0.5 * zx * zx - _HALF_LOG_2PI + ldx).sum(dim=1)
