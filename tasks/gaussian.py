"""Gaussian pairs over a sweep of correlations; MI known in closed form."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ground_truth.analytic import gaussian_mi
from harness.interface import Instance, SpecError, Task
from tasks._params import check_int, sweep

__all__ = ["DEFAULT_RHOS", "Gaussian"]

DEFAULT_RHOS: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
"""Default sweep: MI from 0 to about 1.96 nats per coordinate pair."""


class Gaussian(Task):
    """X, Y in R^d, standard normal, with Corr(X_i, Y_i) = rho and all else independent.

    Y_i = rho X_i + sqrt(1 - rho^2) Z_i, so I(X; Y) = -d/2 ln(1 - rho^2).
    One instance per rho.

    Parameters
    ----------
    n : int
        Sample size.
    rhos : float, sequence of float or str, optional
        Correlations in (-1, 1); in a spec string separate them with ``;``
        (``gaussian:rhos=0.2;0.5``). Default :data:`DEFAULT_RHOS`.
    rho_min, rho_max, steps : optional
        An evenly spaced grid instead of ``rhos`` (all three together).
    d : int
        Dimension of X and of Y.
    """

    name: ClassVar[str] = "gaussian"
    summary: ClassVar[str] = "error"

    def __init__(
        self,
        n: int = 2000,
        rhos: Any = None,
        rho_min: float | None = None,
        rho_max: float | None = None,
        steps: int | None = None,
        d: int = 1,
    ):
        self.n = n
        self.rhos = rhos
        self.rho_min = rho_min
        self.rho_max = rho_max
        self.steps = steps
        self.d = d

    # -- parameters -----------------------------------------------------------
    def _rho_values(self) -> tuple[float, ...]:
        values = sweep(
            self.name,
            "rhos",
            "rho",
            self.rhos,
            (self.rho_min, self.rho_max, self.steps),
            DEFAULT_RHOS,
        )
        bad = [r for r in values if not -1.0 < r < 1.0]
        if bad:
            raise SpecError(f"{self.name}: every rho must lie strictly in (-1, 1); got {bad[0]!r}")
        if len(set(values)) != len(values):
            raise SpecError(f"{self.name}: rhos repeats a value: {list(values)}")
        return values

    def _check_params(self) -> None:
        check_int(self.name, "n", self.n, 2)
        check_int(self.name, "d", self.d, 1)
        self._rho_values()

    # -- instances ------------------------------------------------------------
    def n_instances(self) -> int:
        return len(self._rho_values())

    @staticmethod
    def transform(t: np.ndarray) -> np.ndarray:
        """Map applied to every coordinate of X and Y (identity here)."""
        return t

    def instance(self, index: int, seed: int) -> Instance:
        self._check_params()
        rhos = self._rho_values()
        if not 0 <= index < len(rhos):
            raise IndexError(
                f"{self.name} has {len(rhos)} instances; index {index} is out of range"
            )
        rho = rhos[index]
        rng = self.rng(index, seed)
        x = rng.standard_normal((self.n, self.d))
        z = rng.standard_normal((self.n, self.d))
        y = rho * x + np.sqrt(1.0 - rho * rho) * z
        return Instance(
            instance_id=f"rho={rho:g}",
            x=self.transform(x),
            y=self.transform(y),
            true_mi=self.d * gaussian_mi(rho),
            true_mi_se=0.0,
            meta={"rho": rho, "d": self.d},
        )
