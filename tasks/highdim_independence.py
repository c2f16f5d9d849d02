"""High-dimensional independence testing (InfoNet, Hu et al. 2024, Sec. 5.2 and App. A.5).

X, Z ~ N(0, I_d) independent; the dependent Y is one of the paper's three:

* ``one_feature``: Y = (1/sqrt 2) ((1/sqrt d)(1^T X) 1 + Z). Y sees X only through
  u = 1^T X / sqrt d ~ N(0, 1), so I(X; Y) = 1/2 ln(1 + d).
* ``two_features``: Y_i = (1/sqrt 2)((1/d) s_1 + Z_i) for i <= d/2 (the first
  floor(d/2) coordinates), Y_i = (1/sqrt 2)((1/d) s_2 + Z_i) for the rest, where
  s_1 sums the first floor(d/2) coordinates of X and s_2 the last ceil(d/2). With
  m_1 = floor(d/2), m_2 = ceil(d/2) (block sizes and summands coincide),
  I(X; Y) = 1/2 ln(1 + m_1^2 / d^2) + 1/2 ln(1 + m_2^2 / d^2), about ln 1.25 for
  even d. The 1/d scaling (not 1/sqrt d) is the paper's; it makes this the
  weakest of the three dependences.
* ``independent_coords``: Y = (X + Z) / sqrt 2, so Corr(X_i, Y_i) = 1/sqrt 2 and
  I(X; Y) = (d / 2) ln 2.

The paper does not say how its independent pairs are drawn. Here an independent
pair keeps the dependent Y's marginal exactly: Y is built by the same formula
from an independent copy X' of X, so the two classes differ only in the
dependence (true MI 0), and a score cannot separate them by marginal statistics.

``recipe="notebook"`` follows the authors' published independence-test notebook
instead of the paper's text where the two differ: there the independent Y is
plain N(0, I_d) noise, and ``two_features`` gives every coordinate the sum of
the first floor(d/2) coordinates of X and divides noise and signal alike by
d sqrt 2, Y_i = (s_1 + Z_i) / (d sqrt 2), a strong dependence with
I(X; Y) = 1/2 ln(1 + floor(d/2) d). Its Fig. 5 x-axis (n = 50 ... 300) comes
from the same notebook. The other two dependences are the same in both recipes.

Each trial holds 50 dependent then 50 independent pairs (paper: 10 trials per
point). The report and ``compare`` score a (d, n) cell as the paper does: the
AUC of each trial (and seed), averaged (:func:`harness.metrics.auc_table` with
``trials``; without, it pools them into one AUC).
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from harness.interface import Instance, SpecError, Task
from tasks._params import check_int

__all__ = [
    "DEPENDENCES",
    "PAIRS_PER_CLASS",
    "RECIPES",
    "HighDimIndependence",
    "dependent_y",
    "true_mi",
]

DEPENDENCES: tuple[str, ...] = ("one_feature", "two_features", "independent_coords")
RECIPES: tuple[str, ...] = ("paper", "notebook")

PAIRS_PER_CLASS = 50
"""Dependent (and independent) pairs per trial, as in the paper."""


def dependent_y(x: np.ndarray, z: np.ndarray, dependence: str, recipe: str = "paper") -> np.ndarray:
    """Y for samples ``x``, noise ``z`` (both (n, d)) under one of :data:`DEPENDENCES`.

    Parameters
    ----------
    x, z : ndarray of shape (n, d)
        Standard normal samples.
    dependence : str
        One of :data:`DEPENDENCES`.
    recipe : {"paper", "notebook"}
        The paper's formulas or the authors' notebook (differs for ``two_features``).

    Returns
    -------
    ndarray of shape (n, d)
    """
    d = x.shape[1]
    if dependence == "two_features" and recipe == "notebook":
        s1 = x[:, : d // 2].sum(axis=1, keepdims=True)
        return (s1 + z) / (d * math.sqrt(2.0))
    if dependence == "one_feature":
        signal = np.repeat(x.sum(axis=1, keepdims=True) / math.sqrt(d), d, axis=1)
    elif dependence == "two_features":
        m1 = d // 2
        s1 = x[:, :m1].sum(axis=1, keepdims=True)
        s2 = x[:, m1:].sum(axis=1, keepdims=True)
        signal = np.concatenate([np.repeat(s1, m1, axis=1), np.repeat(s2, d - m1, axis=1)], axis=1)
        signal /= d
    elif dependence == "independent_coords":
        signal = x
    else:
        raise SpecError(f"dependence must be one of {', '.join(DEPENDENCES)}; got {dependence!r}")
    return (signal + z) / math.sqrt(2.0)


def true_mi(dependence: str, d: int, recipe: str = "paper") -> float:
    """I(X; Y) in nats of the dependent pair of ``dependence`` in dimension ``d``."""
    if dependence == "two_features" and recipe == "notebook":
        return 0.5 * math.log1p((d // 2) * d)
    if dependence == "one_feature":
        return 0.5 * math.log1p(d)
    if dependence == "two_features":
        m1, m2 = d // 2, d - d // 2
        return 0.5 * (math.log1p((m1 / d) ** 2) + math.log1p((m2 / d) ** 2))
    if dependence == "independent_coords":
        return 0.5 * d * math.log(2.0)
    raise SpecError(f"dependence must be one of {', '.join(DEPENDENCES)}; got {dependence!r}")


class HighDimIndependence(Task):
    """Dependent and independent (X, Y) pairs in R^d; score them by estimated MI.

    Instance ``100 t + i`` belongs to trial ``t``; ``i < 50`` is dependent, the
    rest independent. Meta: ``dependent`` (1/0), ``dependence``, ``d``, ``trial``.

    Parameters
    ----------
    dependence : {"one_feature", "two_features", "independent_coords"}
        How Y depends on X (see the module docstring).
    d : int
        Dimension of X and of Y (paper: 16 and 128).
    n : int
        Sample size.
    trials : int
        Trials of 50 dependent + 50 independent pairs.
    recipe : {"paper", "notebook"}
        The paper's formulas (default) or the authors' notebook: independent Y
        drawn as N(0, I) and the strong ``two_features`` variant (module docstring).
    """

    name: ClassVar[str] = "highdim_independence"
    summary: ClassVar[str] = "auc"

    def __init__(
        self,
        dependence: str = "one_feature",
        d: int = 16,
        n: int = 1000,
        trials: int = 1,
        recipe: str = "paper",
    ):
        self.dependence = dependence
        self.d = d
        self.n = n
        self.trials = trials
        self.recipe = recipe

    def _check_params(self) -> None:
        if self.dependence not in DEPENDENCES:
            raise SpecError(
                f"{self.name}: dependence must be one of {', '.join(DEPENDENCES)}; "
                f"got {self.dependence!r}"
            )
        check_int(self.name, "d", self.d, 2)
        check_int(self.name, "n", self.n, 2)
        check_int(self.name, "trials", self.trials, 1)
        if self.recipe not in RECIPES:
            raise SpecError(
                f"{self.name}: recipe must be one of {', '.join(RECIPES)}; got {self.recipe!r}"
            )

    def n_instances(self) -> int:
        self._check_params()
        return 2 * PAIRS_PER_CLASS * int(self.trials)

    def instance(self, index: int, seed: int) -> Instance:
        count = self.n_instances()
        if not 0 <= index < count:
            raise IndexError(f"{self.name} has {count} instances; index {index} is out of range")
        trial, i = divmod(index, 2 * PAIRS_PER_CLASS)
        dependent = i < PAIRS_PER_CLASS
        rng = self.rng(index, seed)
        shape = (int(self.n), int(self.d))
        x = rng.standard_normal(shape)
        z = rng.standard_normal(shape)
        if dependent:
            y = dependent_y(x, z, self.dependence, self.recipe)
        elif self.recipe == "notebook":
            y = z
        else:  # the same formula on an independent copy X' keeps Y's marginal
            y = dependent_y(rng.standard_normal(shape), z, self.dependence)
        kind = "dep" if dependent else "indep"
        return Instance(
            instance_id=f"{self.dependence}/d={self.d}/{trial}/{kind}{i % PAIRS_PER_CLASS}",
            x=x,
            y=y,
            true_mi=true_mi(self.dependence, int(self.d), self.recipe) if dependent else 0.0,
            true_mi_se=0.0,
            meta={
                "dependent": int(dependent),
                "dependence": self.dependence,
                "d": int(self.d),
                "trial": trial,
            },
        )
