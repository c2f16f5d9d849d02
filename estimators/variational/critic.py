"""The critic T(x, y): an MLP on the concatenated pair (x, y).

The first linear layer acts on ``[x, y]``; it is stored as an x part and a
y part so that the whole score matrix T(x_i, y_j) needed by InfoNCE costs one
broadcast sum instead of B^2 concatenations. Both forms compute the same
function.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["Critic"]


class Critic(nn.Module):
    """ReLU MLP critic on ``(x, y)`` with a deterministic, generator-seeded init.

    Parameters
    ----------
    dim_x, dim_y : int
        Columns of x and y.
    hidden : int
        Width of every hidden layer.
    layers : int
        Number of hidden layers (>= 1).
    generator : torch.Generator
        Source of the initial weights (PyTorch's default uniform fan-in scheme).
    """

    def __init__(
        self, dim_x: int, dim_y: int, hidden: int, layers: int, generator: torch.Generator
    ) -> None:
        super().__init__()
        self.first_x = nn.Linear(dim_x, hidden)
        self.first_y = nn.Linear(dim_y, hidden, bias=False)
        body: list[nn.Module] = []
        for _ in range(layers - 1):
            body += [nn.ReLU(), nn.Linear(hidden, hidden)]
        body += [nn.ReLU(), nn.Linear(hidden, 1)]
        self.body = nn.Sequential(*body)
        self._init(generator, dim_x + dim_y)

    @torch.no_grad()
    def _init(self, generator: torch.Generator, fan_in_first: int) -> None:
        for module in self.modules():
            if not isinstance(module, nn.Linear):
                continue
            fan_in = module.in_features
            if module is self.first_x or module is self.first_y:
                fan_in = fan_in_first  # one layer on [x, y], split in two
            bound = 1.0 / math.sqrt(fan_in)
            for param in module.parameters():
                param.copy_(torch.rand(param.shape, generator=generator) * 2 * bound - bound)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scores T(x_i, y_i) of paired rows, shape (n,)."""
        return self.body(self.first_x(x) + self.first_y(y)).squeeze(-1)

    def matrix(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scores T(x_i, y_j) of all pairs, shape (n, n); the diagonal is the joint."""
        return self.body(self.first_x(x)[:, None, :] + self.first_y(y)[None, :, :]).squeeze(-1)
