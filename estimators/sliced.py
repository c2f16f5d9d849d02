"""Sliced mutual information with any one-dimensional base estimator.

Sliced MI (Goldfeld & Greenewald, 2021) is the mean over random directions
``theta`` (in x-space) and ``phi`` (in y-space), drawn uniformly from the
spheres, of ``I(theta^T X; phi^T Y)``. It is zero exactly when X and Y are
independent and is what the InfoNet paper reports in high dimensions. This
wrapper estimates it by Monte Carlo over ``projections`` direction pairs with
a 1-D ``base`` estimator; a batched base (``infonet``) gets all slices in one
``estimate_batch`` call.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from harness.interface import Capabilities, Estimator, SpecError, device_used
from harness.params import check_device, check_int, check_seed

__all__ = ["Sliced", "random_directions", "slices"]


def random_directions(count: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` unit vectors drawn uniformly from the sphere in ``dim`` dimensions."""
    if dim == 1:
        return np.ones((count, 1))
    g = rng.standard_normal((count, dim))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


def slices(
    x: np.ndarray, y: np.ndarray, projections: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Projected samples, shape (p, n) each: p = 1 when both sides are 1-D.

    The directions depend only on ``seed`` and the dimensions, so every
    distribution of a grid is sliced the same way.
    """
    if x.shape[1] == 1 and y.shape[1] == 1:
        return x.T.copy(), y.T.copy()
    rng = np.random.default_rng(seed)
    px = random_directions(projections, x.shape[1], rng)
    py = random_directions(projections, y.shape[1], rng)
    return px @ x.T, py @ y.T


class Sliced(Estimator):
    """Sliced MI with a 1-D base estimator.

    Parameters
    ----------
    base : str
        Spec of the 1-D estimator, e.g. ``"ksg"`` or ``"ksg:k=3"``; separate
        several base parameters with ``;`` inside a spec string
        (``sliced:base=ksg:k=3;variant=2``).
    projections : int
        Direction pairs averaged (1000 by default, as in the InfoNet paper).
    seed : int
        Seeds the directions.
    device : str
        Device of a base that takes one and whose spec does not name its own
        (``sliced:base=infonet:device=cpu`` keeps the CPU): the run-wide
        ``--device`` reaches the base through it. A base without a device
        parameter (``ksg``) ignores it, and a run then leaves it at its
        default, as a run-wide ``--device`` is left out of estimators without
        one. After an estimate ``device_`` is the device the base ran on.
    """

    name: ClassVar[str] = "sliced"
    capabilities: ClassVar[Capabilities] = Capabilities(
        devices=("cpu", "cuda"), batched=True, sliced=True
    )

    def __init__(
        self, base: str = "ksg", projections: int = 1000, seed: int = 0, device: str = "auto"
    ) -> None:
        self.base = base
        self.projections = projections
        self.seed = seed
        self.device = device

    def _check_params(self) -> None:
        if not isinstance(self.base, str) or not self.base:
            raise SpecError(f"sliced: base must be an estimator spec string; got {self.base!r}")
        if self.base.split(":")[0] == "sliced":
            raise SpecError("sliced: base cannot itself be 'sliced'")
        check_int("sliced", "projections", self.projections, 1, maximum=None)
        check_seed("sliced", self.seed)
        check_device("sliced", self.device)
        try:
            self.base_estimator()
        except SpecError as exc:
            raise SpecError(f"sliced: base={self.base!r}: {exc}") from None

    def base_estimator(self) -> Estimator:
        """The 1-D estimator built from ``base``, on ``device`` unless ``base`` names one."""
        import estimators

        return estimators.make(self.base.replace(";", ","), defaults={"device": self.device})

    def min_samples(self) -> int:
        return self.base_estimator().min_samples()

    def _min_reason(self) -> str:
        base = self.base_estimator()
        why = base._min_reason()
        return f"base {base.name}{' ' + why if why else ''}"

    def artifacts(self) -> dict[str, str]:
        return self.base_estimator().artifacts()

    def prepare(self) -> None:
        self.base_estimator().prepare()

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(self._estimate_batch([(x, y)])[0])

    def _estimate_batch(self, pairs: Any) -> np.ndarray:
        base = self.base_estimator()
        us, vs, owner = [], [], []
        for i, (x, y) in enumerate(pairs):
            a, b = slices(x, y, self.projections, self.seed)
            us.extend(a[:, :, None])
            vs.extend(b[:, :, None])
            owner.extend([i] * len(a))
        if not us:
            return np.zeros(0)
        values = base.estimate_batch(us, vs)  # one forward pass for a batched base
        self.device_ = device_used(base)
        owner_arr = np.asarray(owner)
        return np.bincount(owner_arr, weights=values, minlength=len(pairs)) / np.bincount(
            owner_arr, minlength=len(pairs)
        )
