"""Correlated multivariate Gaussians at set MI levels (the NDoE paper's benchmark)."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from harness.interface import Instance, SpecError, Task
from tasks._params import check_int, float_list

__all__ = ["DEFAULT_MIS", "MVN", "pair_correlations", "pairs_mi"]

DEFAULT_MIS: tuple[float, ...] = (2.0, 4.0, 6.0, 8.0, 10.0)
"""Default MI levels in nats."""

TRANSFORMS: tuple[str, ...] = ("none", "cubic")


def pair_correlations(mi: float, d: int, sparse: bool) -> np.ndarray:
    """Corr(X_i, Y_i) for each of the ``d`` coordinate pairs giving I(X; Y) = ``mi``.

    Dense: every pair carries ``mi / d``, so rho = sqrt(1 - exp(-2 mi / d)).
    Sparse: the first two pairs carry ``mi / 2`` each, the others are independent.

    Parameters
    ----------
    mi : float
        Target MI in nats, >= 0.
    d : int
        Dimension of X and of Y (>= 2 when ``sparse``).
    sparse : bool
        Put the whole MI in the first two pairs.

    Returns
    -------
    ndarray of shape (d,)
    """
    rho = np.zeros(d)
    carriers = 2 if sparse else d
    rho[:carriers] = math.sqrt(-math.expm1(-2.0 * mi / carriers))
    return rho


def pairs_mi(rho: np.ndarray) -> float:
    """I(X; Y) in nats of standard normal X, Y whose only dependence is Corr(X_i, Y_i) = rho_i.

    The joint covariance's determinant factorises into the pairs' 1 - rho_i^2, so
    this is :func:`ground_truth.analytic.mvn_mi` of it at O(d) cost.
    """
    return float(-0.5 * np.sum(np.log1p(-np.square(rho))))


class MVN(Task):
    """X, Y in R^d standard normal with Corr(X_i, Y_i) = rho_i, all else independent.

    Y_i = rho_i X_i + sqrt(1 - rho_i^2) Z_i, with the rho_i chosen so that
    I(X; Y) equals each requested level (:func:`pair_correlations`). The truth
    is :func:`ground_truth.analytic.mvn_mi` of the joint covariance, which for
    these independent pairs is -1/2 sum_i ln(1 - rho_i^2) (:func:`pairs_mi`, no
    2d x 2d matrix built). One instance per level.

    Parameters
    ----------
    n : int
        Sample size.
    mis : float, sequence of float or str, optional
        MI levels in nats, >= 0; in a spec string separate them with ``;``
        (``mvn:mis=2;4;6``). Default :data:`DEFAULT_MIS`.
    d : int
        Dimension of X and of Y.
    transform : {"none", "cubic"}
        ``"cubic"`` maps y -> y^3 coordinate-wise (a bijection: MI unchanged).
    sparse : bool
        Only the first two coordinate pairs are correlated (needs d >= 2).
    """

    name: ClassVar[str] = "mvn"
    summary: ClassVar[str] = "error"
    facets: ClassVar[tuple[str, ...]] = ("d", "transform", "sparse")

    def __init__(
        self,
        n: int = 4096,
        mis: Any = None,
        d: int = 20,
        transform: str = "none",
        sparse: bool = False,
    ):
        self.n = n
        self.mis = mis
        self.d = d
        self.transform = transform
        self.sparse = sparse

    # -- parameters -----------------------------------------------------------
    def _mi_values(self) -> tuple[float, ...]:
        values = DEFAULT_MIS if self.mis is None else float_list(self.name, "mis", self.mis)
        bad = [m for m in values if m < 0]
        if bad:
            raise SpecError(f"{self.name}: every MI level must be >= 0; got {bad[0]!r}")
        if len(set(values)) != len(values):
            raise SpecError(f"{self.name}: mis repeats a value: {list(values)}")
        return values

    def _check_params(self) -> None:
        check_int(self.name, "n", self.n, 2)
        check_int(self.name, "d", self.d, 1)
        if self.transform not in TRANSFORMS:
            raise SpecError(
                f"{self.name}: transform must be one of {', '.join(TRANSFORMS)}; "
                f"got {self.transform!r}"
            )
        if not isinstance(self.sparse, (bool, np.bool_)):
            raise SpecError(f"{self.name}: sparse must be true or false; got {self.sparse!r}")
        if self.sparse and self.d < 2:
            raise SpecError(f"{self.name}: sparse needs d >= 2; got d={self.d}")
        values = self._mi_values()
        for mi in values:
            # near 1 a correlation's rounding moves the MI, and nearby levels merge
            rho = pair_correlations(mi, self.d, bool(self.sparse))
            off = np.inf if np.any(rho >= 1.0) else abs(pairs_mi(rho) - mi)
            if off > 1e-6 * max(mi, 1.0):
                raise SpecError(
                    f"{self.name}: MI level {mi:g} is too large for d={self.d} "
                    "(its correlations round too close to 1 to carry it)"
                )

    # -- instances ------------------------------------------------------------
    def n_instances(self) -> int:
        return len(self._mi_values())

    def covariance(self, index: int) -> np.ndarray:
        """Joint covariance of (X, Y), shape (2d, 2d), for instance ``index``."""
        rho = pair_correlations(self._mi_values()[index], self.d, bool(self.sparse))
        eye = np.eye(self.d)
        return np.block([[eye, np.diag(rho)], [np.diag(rho), eye]])

    def instance(self, index: int, seed: int) -> Instance:
        self._check_params()
        levels = self._mi_values()
        if not 0 <= index < len(levels):
            raise IndexError(
                f"{self.name} has {len(levels)} instances; index {index} is out of range"
            )
        mi = levels[index]
        rho = pair_correlations(mi, self.d, bool(self.sparse))
        rng = self.rng(index, seed)
        x = rng.standard_normal((self.n, self.d))
        z = rng.standard_normal((self.n, self.d))
        y = rho * x + np.sqrt(1.0 - rho * rho) * z
        if self.transform == "cubic":
            y = y**3
        return Instance(
            instance_id=f"mi={mi:g}",
            x=x,
            y=y,
            true_mi=pairs_mi(rho),
            true_mi_se=0.0,
            meta={
                "mi_level": mi,
                "d": self.d,
                "transform": self.transform,
                "sparse": bool(self.sparse),
            },
        )
