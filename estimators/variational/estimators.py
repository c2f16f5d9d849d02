"""Critic-trained (variational) MI estimators: ``mine``, ``dv``, ``nwj``, ``infonce``, ``smile``.

All five share one training loop (:mod:`estimators.variational.training`) and
one critic (an MLP on concatenated ``(x, y)``); they differ only in the bound
(:mod:`estimators.variational.bounds`). The estimate is the bound's value on
the full sample (``estimate_on="full"``, resubstitution) or on a held-out half
(``"heldout"``) after ``steps`` Adam steps. For MINE, DV, NWJ and SMILE the
marginal term uses ``EVAL_SHUFFLES`` (10) fixed shuffles of y; InfoNCE is the
mean over chunks of ``batch_size`` rows and so never exceeds
``log(batch_size)``.

This module imports only NumPy and the harness at top level; torch is loaded
when an estimate is made, so listing estimators never imports it.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from estimators._torch import resolve_device
from harness.interface import Capabilities, Estimator
from harness.params import (
    check_choice,
    check_device,
    check_int,
    check_number,
    check_optional_int,
    check_seed,
)

__all__ = ["DV", "MINE", "NWJ", "SMILE", "InfoNCE"]


class _Variational(Estimator):
    """Shared parameters, checks and estimation for the critic-trained bounds.

    Parameters
    ----------
    steps : int
        Adam steps on the critic.
    batch_size : int
        Minibatch size (clipped to the training sample size).
    lr : float
        Adam learning rate.
    hidden : int
        Width of each hidden layer of the critic.
    layers : int
        Number of hidden layers of the critic.
    device : {"auto", "cpu", "cuda"}
        ``"auto"`` picks CUDA when available.
    seed : int
        Seeds initial weights, minibatches, the held-out split and the
        evaluation shuffles; the same seed gives the same estimate on the
        same device.
    estimate_on : {"full", "heldout"}
        Evaluate the bound on the full sample the critic was trained on, or
        train on a random half and evaluate on the other half.
    threads : int or None
        torch CPU threads while this estimator trains (restored afterwards);
        None keeps torch's setting. Default 1: minibatch steps of a small
        critic are too short for a thread pool to pay off, and a pool that
        shares its cores with other work slows training several-fold.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(
        devices=("cpu", "cuda"), requires=frozenset({"torch"})
    )

    def __init__(
        self,
        steps: int = 500,
        batch_size: int = 500,
        lr: float = 1e-3,
        hidden: int = 64,
        layers: int = 2,
        device: str = "auto",
        seed: int = 0,
        estimate_on: str = "full",
        threads: int | None = 1,
    ) -> None:
        self.steps = steps
        self.batch_size = batch_size
        self.lr = lr
        self.hidden = hidden
        self.layers = layers
        self.device = device
        self.seed = seed
        self.estimate_on = estimate_on
        self.threads = threads

    # -- parameters ---------------------------------------------------------
    def _check_params(self) -> None:
        label = self.name
        for key, low in (("steps", 1), ("batch_size", 2), ("hidden", 1), ("layers", 1)):
            check_int(label, key, getattr(self, key), low, maximum=None)
        check_number(label, "lr", self.lr, low=0, low_open=True)
        check_device(label, self.device)
        check_optional_int(label, "threads", self.threads, 1, maximum=None)
        check_seed(label, self.seed)
        check_choice(label, "estimate_on", self.estimate_on, ("full", "heldout"))

    def min_samples(self) -> int:
        return 4 if self.estimate_on == "heldout" else 2

    def _min_reason(self) -> str:
        return f"with estimate_on={self.estimate_on!r}"

    # -- estimation ---------------------------------------------------------
    def _bound(self):
        raise NotImplementedError

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        from estimators._torch import torch_threads
        from estimators.variational.training import fit_estimate

        with torch_threads(self.threads):
            return fit_estimate(
                x,
                y,
                self._bound(),
                steps=int(self.steps),
                batch_size=int(self.batch_size),
                lr=float(self.lr),
                hidden=int(self.hidden),
                layers=int(self.layers),
                device=resolve_device(self.device, self.name),
                seed=int(self.seed),
                estimate_on=self.estimate_on,
                label=self.name,
            )


class MINE(_Variational):
    """MINE (Belghazi et al., ICML 2018): DV bound, moving-average gradient.

    Parameters are those of the shared loop (``steps``, ``batch_size``, ``lr``,
    ``hidden``, ``layers``, ``device``, ``seed``, ``estimate_on``, ``threads``; defaults:
    500 steps of batch 500, the paper's Gaussian check) plus

    ma_rate : float
        Rate of the moving average of ``E_q[e^T]`` in the gradient, in (0, 1].
    """

    name: ClassVar[str] = "mine"

    def __init__(
        self,
        steps: int = 500,
        batch_size: int = 500,
        lr: float = 1e-3,
        hidden: int = 64,
        layers: int = 2,
        device: str = "auto",
        seed: int = 0,
        estimate_on: str = "full",
        threads: int | None = 1,
        ma_rate: float = 0.01,
    ) -> None:
        super().__init__(steps, batch_size, lr, hidden, layers, device, seed, estimate_on, threads)
        self.ma_rate = ma_rate

    def _check_params(self) -> None:
        super()._check_params()
        check_number("mine", "ma_rate", self.ma_rate, low=0, high=1, low_open=True)

    def _bound(self):
        from estimators.variational import bounds

        return bounds.MINE(float(self.ma_rate))


class DV(_Variational):
    """Donsker-Varadhan bound trained on its minibatch value (MINE without the moving average).

    Parameters: those of the shared loop (see :class:`MINE`).
    """

    name: ClassVar[str] = "dv"

    def _bound(self):
        from estimators.variational import bounds

        return bounds.DV()


class NWJ(_Variational):
    """NWJ bound (Nguyen, Wainwright & Jordan 2010), ``E_p[T] - E_q[e^(T-1)]``.

    Parameters: those of the shared loop (see :class:`MINE`).
    """

    name: ClassVar[str] = "nwj"

    def _bound(self):
        from estimators.variational import bounds

        return bounds.NWJ()


class InfoNCE(_Variational):
    """InfoNCE / CPC bound (van den Oord et al. 2018); at most ``log(batch_size)``.

    Parameters: those of the shared loop (see :class:`MINE`). Each step scores
    all ``batch_size**2`` pairs, so the default batch is 128 (cap 4.85 nats).
    """

    name: ClassVar[str] = "infonce"

    def __init__(
        self,
        steps: int = 500,
        batch_size: int = 128,
        lr: float = 1e-3,
        hidden: int = 64,
        layers: int = 2,
        device: str = "auto",
        seed: int = 0,
        estimate_on: str = "full",
        threads: int | None = 1,
    ) -> None:
        super().__init__(steps, batch_size, lr, hidden, layers, device, seed, estimate_on, threads)

    def _bound(self):
        from estimators.variational import bounds

        return bounds.InfoNCE()


class SMILE(_Variational):
    """SMILE (Song & Ermon, ICLR 2020): DV with marginal scores clipped to [-clip, clip].

    The critic is trained with the Jensen-Shannon objective; the estimate is the
    clipped DV value. Parameters: those of the shared loop (see :class:`MINE`) plus

    clip : float
        The clipping threshold tau (> 0); 5 in the paper.
    """

    name: ClassVar[str] = "smile"

    def __init__(
        self,
        steps: int = 500,
        batch_size: int = 500,
        lr: float = 1e-3,
        hidden: int = 64,
        layers: int = 2,
        device: str = "auto",
        seed: int = 0,
        estimate_on: str = "full",
        threads: int | None = 1,
        clip: float = 5.0,
    ) -> None:
        super().__init__(steps, batch_size, lr, hidden, layers, device, seed, estimate_on, threads)
        self.clip = clip

    def _check_params(self) -> None:
        super()._check_params()
        check_number("smile", "clip", self.clip, low=0, low_open=True)

    def _bound(self):
        from estimators.variational import bounds

        return bounds.SMILE(float(self.clip))
