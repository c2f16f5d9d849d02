"""Test-time cost per estimate over sequence lengths (InfoNet, Hu et al. 2024, Table 1).

Bivariate Gaussian pairs with a fixed correlation (truth -1/2 ln(1 - rho^2)) at
each sample size of ``sizes`` (paper: 200, 500, 1000, 2000, 5000), ``repeats``
instances per size, size-major: instance ``r + repeats * s`` is repeat ``r`` of
``sizes[s]``. Each instance has its own sample size (the ``n_samples`` column of
the results, mirrored in the meta column ``size``); the
:func:`harness.metrics.latency_table` summary gives the median seconds per
estimate per estimator and size.

Batched estimators are timed per batch and each row gets the batch time divided
by its size. The runner chunks a batched estimator's cells by its
``batch_size`` in instance order and batches only equal shapes, so with
``repeats`` a multiple of the batch size every batch holds one size
(``infonet:batch_size=1`` vs ``infonet:batch_size=16`` with ``repeats=16`` gives
the paper's "Ours-1" and "Ours-16" rows). The first estimate of a process pays
for JIT compilation or model loading; the median discounts it once ``repeats``
is at least 3.

The paper timed GMM samples; timings do not depend on the distribution for
the estimators here, so a Gaussian with known truth is used.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ground_truth.analytic import gaussian_mi
from harness.interface import Instance, SpecError, Task
from tasks._params import check_int, float_list, int_list

__all__ = ["SIZES", "Latency"]

SIZES: tuple[int, ...] = (200, 500, 1000, 2000, 5000)
"""Sequence lengths of the paper's Table 1."""


class Latency(Task):
    """Gaussian pairs at several sample sizes, for timing estimators.

    Parameters
    ----------
    sizes : int, sequence of int or str, optional
        Sample sizes (``sizes=200;1000`` in a spec string); default :data:`SIZES`.
    repeats : int
        Instances per size.
    rho : float
        Correlation of X and Y.
    n : int, optional
        A single sample size instead of ``sizes`` (so ``--n`` works); give one
        or the other.
    """

    name: ClassVar[str] = "latency"
    summary: ClassVar[str] = "latency"

    def __init__(
        self, sizes: Any = None, repeats: int = 16, rho: float = 0.5, n: int | None = None
    ):
        self.sizes = sizes
        self.repeats = repeats
        self.rho = rho
        self.n = n

    def _size_values(self) -> tuple[int, ...]:
        if self.n is not None:
            if self.sizes is not None:
                raise SpecError(f"{self.name}: give either n or sizes, not both")
            return (check_int(self.name, "n", self.n, 2),)
        values = SIZES if self.sizes is None else int_list(self.name, "sizes", self.sizes)
        bad = [s for s in values if s < 2]
        if bad:
            raise SpecError(f"{self.name}: sizes must be integers >= 2; got {bad[0]!r}")
        if len(set(values)) != len(values):
            raise SpecError(f"{self.name}: sizes repeats a value: {list(values)}")
        return values

    def _rho(self) -> float:
        rho = float_list(self.name, "rho", self.rho)
        if len(rho) != 1 or not -1.0 < rho[0] < 1.0:
            raise SpecError(f"{self.name}: rho must be one number in (-1, 1); got {self.rho!r}")
        return rho[0]

    def _check_params(self) -> None:
        check_int(self.name, "repeats", self.repeats, 1)
        self._size_values()
        self._rho()

    def n_instances(self) -> int:
        self._check_params()
        return len(self._size_values()) * int(self.repeats)

    def instance(self, index: int, seed: int) -> Instance:
        count = self.n_instances()
        if not 0 <= index < count:
            raise IndexError(f"{self.name} has {count} instances; index {index} is out of range")
        s, r = divmod(index, int(self.repeats))
        size = self._size_values()[s]
        rho = self._rho()
        rng = self.rng(index, seed)
        x = rng.standard_normal((size, 1))
        y = rho * x + np.sqrt(1.0 - rho * rho) * rng.standard_normal((size, 1))
        return Instance(
            instance_id=f"n={size}/{r}",
            x=x,
            y=y,
            true_mi=gaussian_mi(rho),
            true_mi_se=0.0,
            meta={"size": size, "repeat": r, "rho": rho},
        )
