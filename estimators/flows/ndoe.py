"""The ``ndoe`` estimator: difference of entropies from one normalising flow (BNAF or Real NVP).

NDoE (neural difference-of-entropies): I(X; Y) = H(X) - H(X|Y). One BNAF on
``(y, x)`` gives log q(x | y) with all weights and log q(x) with the y -> x blocks
masked; training alternates one Adam step on each negative log-likelihood per
batch (Algorithm 1 of the paper), and the estimate is the difference of the two
NLLs on held-out samples. Torch is imported only when an estimate is made.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from estimators._torch import resolve_device
from harness.interface import Capabilities, Estimator, InputError
from harness.params import (
    check_bool,
    check_choice,
    check_device,
    check_int,
    check_number,
    check_optional_int,
    check_seed,
)

__all__ = ["NDoE", "SeparateBNAF", "paper_hidden_factor"]


def paper_hidden_factor(dim: int) -> int:
    """Units per coordinate used in the paper: 20 for d <= 20, 10 up to 50, 6 beyond."""
    if dim <= 20:
        return 20
    return 10 if dim <= 50 else 6


def check_common(owner: str, est: Any) -> None:
    """Validate the training parameters shared by the flow estimators."""
    for key in ("epochs", "batch_size"):
        check_int(owner, key, getattr(est, key), 1, maximum=None)
    check_seed(owner, est.seed)
    for key in ("lr", "test_fraction"):
        check_number(owner, key, getattr(est, key), low=0, high=1, low_open=True, high_open=True)
    check_device(owner, est.device)


def split_standardise(
    x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Random train/test split, both standardised with the training mean and std.

    Returns ``x_train, y_train, x_test, y_test, log_scale_x`` where
    ``log_scale_x`` = sum of log std of x's columns: add it to an entropy of the
    standardised x to get the entropy in the original units.
    """
    n = x.shape[0]
    # at least two rows in each part (n >= 4: min_samples), whatever test_fraction
    n_test = min(max(int(round(n * test_fraction)), 2), n - 2)
    order = np.random.default_rng(seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    out = []
    log_scale = 0.0
    for arr, is_x in ((x, True), (y, False)):
        mu = arr[train].mean(axis=0)
        sd = arr[train].std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        if is_x:
            log_scale = float(np.log(sd).sum())
        out.append(((arr[train] - mu) / sd, (arr[test] - mu) / sd))
    (xtr, xte), (ytr, yte) = out
    return xtr, ytr, xte, yte, log_scale


class EntropyDifference(Estimator):
    """Base of the difference-of-entropies estimators: MI = H(X) - H(X|Y) held out.

    Subclasses implement ``_fit(x, y)`` on validated samples, returning (and
    storing as ``entropies_``) ``h_x``, ``h_x_given_y`` and ``mi``.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(
        devices=("cpu", "cuda"), requires=frozenset({"torch"})
    )

    def min_samples(self) -> int:
        return 4

    def _min_reason(self) -> str:
        return "needs training and held-out samples"

    def fit_entropies(self, x: Any, y: Any) -> dict[str, float]:
        """Fit on ``(x, y)`` and return the held-out entropies (see ``entropies_``)."""
        return self._fit(*self._validate(x, y))

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        return self._fit(x, y)["mi"]

    def _fit(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        raise NotImplementedError


class NDoE(EntropyDifference):
    """Neural difference-of-entropies (NDoE) MI estimator with one normalising flow.

    Parameters
    ----------
    flow : {"bnaf", "realnvp"}
        The flow: one BNAF on (y, x) (the paper's NDoE, BNAF) or a conditional
        Real NVP of x given y whose y input is switched off for H(X) (NDoE, Real
        NVP; trained here with Adam, the paper used a tuned Adamax). Real NVP
        needs x of at least two columns (its couplings transform one part of x
        given the other).
    epochs : int
        Passes over the training part of the sample (paper: 50).
    batch_size : int
        Minibatch size (paper: 128).
    lr : float
        Adam learning rate (paper: 5e-4). Each of the two losses has its own Adam
        state, so the y -> x weights are moved by the H(X|Y) loss only.
    hidden_factor : int or None
        BNAF: units per coordinate in each hidden layer; ``None`` takes the
        paper's choice by dimension (:func:`paper_hidden_factor` of
        max(dim_x, dim_y)). Real NVP: width of the coupling MLPs (``None``: 128).
    layers : int
        BNAF: tanh layers before the final linear one (paper: 2).
    residual : bool
        BNAF: gated residual connection around the flow (an option of De Cao et
        al.'s implementation); off by default, as in the paper's description.
    couplings : int
        Real NVP: number of affine coupling layers.
    device : {"auto", "cpu", "cuda"}
        ``"auto"`` picks CUDA when available.
    seed : int
        Seeds the split, the initial weights and the batch order.
    test_fraction : float
        Share of the samples held out to evaluate the two NLLs.

    Attributes
    ----------
    entropies_ : dict
        After an estimate: ``h_x`` and ``h_x_given_y`` (nats, original units of
        x, held-out), ``mi`` and ``n_train`` / ``n_test``.
    flow_ : tuple
        After an estimate: the trained flows of H(X|Y) and of H(X) (here one
        flow, twice).
    """

    name: ClassVar[str] = "ndoe"

    def __init__(
        self,
        flow: str = "bnaf",
        epochs: int = 50,
        batch_size: int = 128,
        lr: float = 5e-4,
        hidden_factor: int | None = None,
        layers: int = 2,
        residual: bool = False,
        couplings: int = 6,
        device: str = "auto",
        seed: int = 0,
        test_fraction: float = 0.2,
    ) -> None:
        self.flow = flow
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.hidden_factor = hidden_factor
        self.layers = layers
        self.residual = residual
        self.couplings = couplings
        self.device = device
        self.seed = seed
        self.test_fraction = test_fraction

    # -- parameters ---------------------------------------------------------
    def _check_params(self) -> None:
        self._check_bnaf_params()
        check_choice(self.name, "flow", self.flow, ("bnaf", "realnvp"))
        check_int(self.name, "couplings", self.couplings, 1, maximum=None)

    def _check_bnaf_params(self) -> None:
        check_common(self.name, self)
        check_bool(self.name, "residual", self.residual)
        check_optional_int(self.name, "hidden_factor", self.hidden_factor, 1, maximum=None)
        check_int(self.name, "layers", self.layers, 1, maximum=None)

    # -- estimation ---------------------------------------------------------
    def _build(self, dim_y: int, dim_x: int) -> Any:
        if self.flow == "realnvp":
            from estimators.flows.realnvp import RealNVP

            return RealNVP(dim_y, dim_x, int(self.hidden_factor or 128), int(self.couplings))
        from estimators.flows.bnaf import BNAF

        hidden = self.hidden_factor or paper_hidden_factor(max(dim_x, dim_y))
        return BNAF(dim_y, dim_x, int(hidden), int(self.layers), bool(self.residual))

    def _flows(self, dim_y: int, dim_x: int) -> tuple[Any, Any]:
        """The flows whose x NLLs estimate H(X|Y) and H(X): here one flow, masked for H(X)."""
        flow = self._build(dim_y, dim_x)
        return flow, flow

    def _fit(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        import torch

        if self.flow == "realnvp" and x.shape[1] == 1:
            raise InputError(
                "ndoe:flow=realnvp needs x with at least 2 columns: a coupling flow on one "
                "coordinate is affine in it, a Gaussian model of x; use flow=bnaf"
            )
        device = resolve_device(self.device, self.name)
        xtr, ytr, xte, yte, log_scale = split_standardise(
            x, y, float(self.test_fraction), int(self.seed)
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.seed))
            cond, marg = self._flows(y.shape[1], x.shape[1])
            cond, marg = cond.to(device), marg.to(device)
        # one Adam per loss, even on a shared flow: the y -> x weights move with the
        # H(X|Y) loss only, and neither loss's moment estimates mix with the other's
        losses = (
            (cond, torch.optim.Adam(cond.parameters(), lr=float(self.lr)), False),
            (marg, torch.optim.Adam(marg.parameters(), lr=float(self.lr)), True),
        )

        def tensor(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a, dtype=torch.float32, device=device)

        xt, yt = tensor(xtr), tensor(ytr)
        gen = torch.Generator().manual_seed(int(self.seed))
        n_train, bs = xt.shape[0], int(self.batch_size)
        cond.train()
        marg.train()
        for _ in range(int(self.epochs)):
            order = torch.randperm(n_train, generator=gen).to(device)
            for start in range(0, n_train, bs):
                idx = order[start : start + bs]
                xb, yb = xt[idx], yt[idx]
                for flow, opt, masked in losses:
                    loss = -flow.x_log_prob(yb, xb, masked=masked).mean()
                    if not torch.isfinite(loss):
                        raise FloatingPointError(
                            f"{self.name}: training loss became non-finite; try a smaller lr"
                        )
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
        cond.eval()
        marg.eval()
        h_cond = _mean_nll(cond, tensor(xte), tensor(yte), masked=False, batch=4096)
        h_marg = _mean_nll(marg, tensor(xte), tensor(yte), masked=True, batch=4096)
        entropies = {
            "h_x": h_marg + log_scale,
            "h_x_given_y": h_cond + log_scale,
            "mi": h_marg - h_cond,
            "n_train": int(n_train),
            "n_test": int(xte.shape[0]),
        }
        self.flow_ = (cond, marg)
        self.entropies_ = entropies  # diagnostics; the return value is this call's own
        return entropies


class SeparateBNAF(NDoE):
    """Difference of entropies from two separate BNAFs (the NDoE paper's "BNAF" baseline).

    One BNAF on (y, x) trained on the H(X|Y) loss alone and another on x alone
    for H(X), each with its own weights and Adam, on the same batches; MI is
    the difference of their held-out NLLs. Against ``ndoe`` it tests what
    sharing one flow buys: the two entropies' errors no longer cancel.

    Parameters
    ----------
    epochs, batch_size, lr, hidden_factor, layers, residual, device, seed, test_fraction
        As for :class:`NDoE` with ``flow="bnaf"``; ``hidden_factor=None`` takes
        the paper's units per coordinate for max(dim_x, dim_y) in both flows.

    Attributes
    ----------
    entropies_, flow_
        As for :class:`NDoE` (``flow_`` holds the two separate flows).
    """

    name: ClassVar[str] = "bnaf"
    flow: ClassVar[str] = "bnaf"  # type: ignore[misc]

    def __init__(
        self,
        epochs: int = 50,
        batch_size: int = 128,
        lr: float = 5e-4,
        hidden_factor: int | None = None,
        layers: int = 2,
        residual: bool = False,
        device: str = "auto",
        seed: int = 0,
        test_fraction: float = 0.2,
    ) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.hidden_factor = hidden_factor
        self.layers = layers
        self.residual = residual
        self.device = device
        self.seed = seed
        self.test_fraction = test_fraction

    def _check_params(self) -> None:
        self._check_bnaf_params()

    def _flows(self, dim_y: int, dim_x: int) -> tuple[Any, Any]:
        from estimators.flows.bnaf import BNAF

        hidden = int(self.hidden_factor or paper_hidden_factor(max(dim_x, dim_y)))
        layers, residual = int(self.layers), bool(self.residual)
        return (
            BNAF(dim_y, dim_x, hidden, layers, residual),
            BNAF(0, dim_x, hidden, layers, residual),  # on x alone: it ignores y
        )


def _mean_nll(flow: Any, x: Any, y: Any, masked: bool, batch: int) -> float:
    """Mean negative log-likelihood of x (given y unless ``masked``), in float64."""
    import torch

    total = 0.0
    with torch.no_grad():
        for start in range(0, x.shape[0], batch):
            lp = flow.x_log_prob(y[start : start + batch], x[start : start + batch], masked)
            total -= float(lp.double().sum())
    return total / x.shape[0]
