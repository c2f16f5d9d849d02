"""The ``doe`` estimator: difference of entropies with Gaussian or logistic density models.

DoE (McAllester & Stratos 2018), the baseline of the NDoE paper with its two
densities, Gaussian (right for Gaussian data) and logistic (misspecified): H(X)
from a diagonal density fitted to x by maximum likelihood (the Gaussian in
closed form, the logistic by L-BFGS) and H(X|Y) from a diagonal density of the
same family whose location and log-scale are an MLP of y, trained by Adam on the
NLL with the gradient norm clipped (paper: 1.0), keeping the epoch whose NLL on
the last tenth of the training part is lowest (without that the log-scale MLP
overfits: on 20-d Gaussians at n = 4096 the held-out H(X|Y) grew to 133 nats
after 200 epochs). The estimate is the difference of the two NLLs on held-out
samples. With Gaussian densities exact for jointly Gaussian data with
independent coordinate pairs, biased otherwise.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from estimators._torch import resolve_device
from estimators.flows.ndoe import EntropyDifference, check_common, split_standardise
from harness.params import check_choice, check_int, check_number

__all__ = ["DENSITIES", "DoE"]

#: Density families of ``doe:density=...``.
DENSITIES = ("gaussian", "logistic")
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _nll(density: str, x, loc, log_s):
    """Per-row negative log-density of x under a diagonal ``density`` (torch tensors)."""
    import torch

    r = (x - loc) * torch.exp(-log_s)
    if density == "gaussian":
        terms = 0.5 * r * r + _HALF_LOG_2PI
    else:  # logistic: e^-r / (s (1 + e^-r)^2)
        terms = r + 2.0 * torch.nn.functional.softplus(-r)
    return (terms + log_s).sum(dim=1)


class DoE(EntropyDifference):
    """Difference-of-entropies MI estimator with Gaussian or logistic marginal and conditional.

    Parameters
    ----------
    epochs : int
        Passes over the training part of the sample.
    batch_size : int
        Minibatch size.
    lr : float
        Adam learning rate.
    hidden : int
        Width of the two ReLU hidden layers of the conditional's MLP.
    clip : float
        Gradient-norm clipping threshold (> 0).
    device : {"auto", "cpu", "cuda"}
        ``"auto"`` picks CUDA when available.
    seed : int
        Seeds the split, the initial weights and the batch order.
    test_fraction : float
        Share of the samples held out to evaluate the two NLLs.
    density : {"gaussian", "logistic"}
        Family of both densities (diagonal). The paper's DoE runs with each:
        Gaussian, right for its Gaussian tasks, and logistic, misspecified.

    Attributes
    ----------
    entropies_ : dict
        After an estimate: ``h_x``, ``h_x_given_y`` (nats, original units of x,
        held-out), ``mi``, ``n_train`` (the training part, as NDoE's), ``n_val``
        (its last tenth, which picks the epoch; 0 below 20 rows) and ``n_test``.
    """

    name: ClassVar[str] = "doe"

    def __init__(
        self,
        epochs: int = 50,
        batch_size: int = 128,
        lr: float = 5e-4,
        hidden: int = 256,
        clip: float = 1.0,
        device: str = "auto",
        seed: int = 0,
        test_fraction: float = 0.2,
        density: str = "gaussian",
    ) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.hidden = hidden
        self.clip = clip
        self.device = device
        self.seed = seed
        self.test_fraction = test_fraction
        self.density = density

    def _check_params(self) -> None:
        check_common(self.name, self)
        check_choice(self.name, "density", self.density, DENSITIES)
        check_int(self.name, "hidden", self.hidden, 1, maximum=None)
        # clip=inf is allowed: no clipping
        check_number(self.name, "clip", self.clip, low=0, low_open=True, allow_inf=True)

    def _fit(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        import torch
        from torch import nn

        device = resolve_device(self.device, self.name)
        xtr, ytr, xte, yte, log_scale = split_standardise(
            x, y, float(self.test_fraction), int(self.seed)
        )
        density = str(self.density)
        h_marg = _marginal_nll(density, xtr, xte)

        dx, dy, width = x.shape[1], y.shape[1], int(self.hidden)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.seed))
            net = nn.Sequential(
                nn.Linear(dy, width),
                nn.ReLU(),
                nn.Linear(width, width),
                nn.ReLU(),
                nn.Linear(width, 2 * dx),
            ).to(device)

        def nll(yb: torch.Tensor, xb: torch.Tensor) -> torch.Tensor:
            loc, log_s = net(yb).chunk(2, dim=1)
            return _nll(density, xb, loc, log_s)

        def tensor(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a, dtype=torch.float32, device=device)

        # the last tenth of the (already shuffled) training part picks the epoch
        n_val = max(1, xtr.shape[0] // 10) if xtr.shape[0] >= 20 else 0
        n_fit = xtr.shape[0] - n_val
        xt, yt = tensor(xtr[:n_fit]), tensor(ytr[:n_fit])
        xv, yv = tensor(xtr[n_fit:]), tensor(ytr[n_fit:])
        opt = torch.optim.Adam(net.parameters(), lr=float(self.lr))
        gen = torch.Generator().manual_seed(int(self.seed))
        bs = int(self.batch_size)
        best, best_state = math.inf, None
        for _ in range(int(self.epochs)):
            order = torch.randperm(n_fit, generator=gen).to(device)
            for start in range(0, n_fit, bs):
                idx = order[start : start + bs]
                loss = nll(yt[idx], xt[idx]).mean()
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"{self.name}: training loss became non-finite; try a smaller lr"
                    )
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(net.parameters(), float(self.clip))
                opt.step()
            if n_val:
                with torch.no_grad():
                    val = float(nll(yv, xv).mean())
                if val < best:
                    best = val
                    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        if best_state is not None:
            net.load_state_dict(best_state)
        with torch.no_grad():
            h_cond = float(nll(tensor(yte), tensor(xte)).double().mean())
        entropies = {
            "h_x": h_marg + log_scale,
            "h_x_given_y": h_cond + log_scale,
            "mi": h_marg - h_cond,
            "n_train": int(xtr.shape[0]),
            "n_val": int(n_val),
            "n_test": int(xte.shape[0]),
        }
        self.model_ = net
        self.entropies_ = entropies  # diagnostics; the return value is this call's own
        return entropies


def _marginal_nll(density: str, x_train: np.ndarray, x_test: np.ndarray) -> float:
    """Mean held-out NLL of the diagonal ``density`` fitted to ``x_train`` by maximum likelihood."""
    mu, raw_sd = x_train.mean(axis=0), x_train.std(axis=0)
    spread = raw_sd > 0
    sd = np.where(spread, raw_sd, 1.0)
    if density == "gaussian":  # the MLE in closed form
        z = (x_test - mu) / sd
        return float(np.mean(np.sum(0.5 * z * z + np.log(sd) + _HALF_LOG_2PI, 1)))
    import torch

    # logistic: no closed form; L-BFGS from the moment match (scale sd * sqrt(3) / pi).
    # A column constant in the training part keeps the moment match of the unit scale
    # the Gaussian branch uses (its likelihood has no maximum: the scale would go to 0).
    loc0 = torch.tensor(mu, dtype=torch.float64)
    log_s0 = torch.tensor(np.log(sd * math.sqrt(3) / math.pi), dtype=torch.float64)
    loc = loc0[spread].clone().requires_grad_(True)
    log_s = log_s0[spread].clone().requires_grad_(True)
    xt = torch.as_tensor(x_train[:, spread], dtype=torch.float64)
    opt = torch.optim.LBFGS([loc, log_s], max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = _nll(density, xt, loc, log_s).mean()
        loss.backward()
        return loss

    if spread.any():
        opt.step(closure)
    with torch.no_grad():
        mask = torch.as_tensor(spread)
        loc0[mask], log_s0[mask] = loc, log_s
        test = torch.as_tensor(x_test, dtype=torch.float64)
        return float(_nll(density, test, loc0, log_s0).mean())
