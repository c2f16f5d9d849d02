"""Uniform signal plus uniform noise; MI known in closed form."""

from __future__ import annotations

from typing import Any, ClassVar

from ground_truth.analytic import additive_uniform_mi
from harness.interface import Instance, SpecError, Task
from tasks._params import check_int, sweep

__all__ = ["DEFAULT_EPS", "AdditiveNoise"]

DEFAULT_EPS: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.75, 1.0)
"""Default noise half-widths: MI from about 2.35 down to 0.25 nats."""


class AdditiveNoise(Task):
    """X ~ U(0, 1), Y = X + N with N ~ U(-eps, eps); one instance per eps.

    I(X; Y) = eps - ln(2 eps) for eps <= 1/2 and 1 / (4 eps) above. The joint
    has no density on most of the plane and Y's density has kinks, which
    trips estimators that assume smoothness.

    Parameters
    ----------
    n : int
        Sample size.
    eps : float, sequence of float or str, optional
        Noise half-widths (> 0); in a spec string separate them with ``;``.
        Default :data:`DEFAULT_EPS`.
    eps_min, eps_max, steps : optional
        An evenly spaced grid instead of ``eps`` (all three together).
    """

    name: ClassVar[str] = "additive_noise"
    summary: ClassVar[str] = "error"

    def __init__(
        self,
        n: int = 2000,
        eps: Any = None,
        eps_min: float | None = None,
        eps_max: float | None = None,
        steps: int | None = None,
    ):
        self.n = n
        self.eps = eps
        self.eps_min = eps_min
        self.eps_max = eps_max
        self.steps = steps

    def _eps_values(self) -> tuple[float, ...]:
        values = sweep(
            self.name, "eps", "eps", self.eps, (self.eps_min, self.eps_max, self.steps), DEFAULT_EPS
        )
        bad = [e for e in values if not e > 0]
        if bad:
            raise SpecError(f"{self.name}: every eps must be positive; got {bad[0]!r}")
        if len(set(values)) != len(values):
            raise SpecError(f"{self.name}: eps repeats a value: {list(values)}")
        return values

    def _check_params(self) -> None:
        check_int(self.name, "n", self.n, 2)
        self._eps_values()

    def n_instances(self) -> int:
        return len(self._eps_values())

    def instance(self, index: int, seed: int) -> Instance:
        self._check_params()
        values = self._eps_values()
        if not 0 <= index < len(values):
            raise IndexError(
                f"{self.name} has {len(values)} instances; index {index} is out of range"
            )
        eps = values[index]
        rng = self.rng(index, seed)
        x = rng.random((self.n, 1))
        y = x + rng.uniform(-eps, eps, size=(self.n, 1))
        return Instance(
            instance_id=f"eps={eps:g}",
            x=x,
            y=y,
            true_mi=additive_uniform_mi(eps),
            true_mi_se=0.0,
            meta={"eps": eps},
        )
