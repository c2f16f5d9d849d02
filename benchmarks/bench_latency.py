"""Latency of every registered estimator on one 1-D Gaussian sample (asv ``time_*``).

Parameters: estimator (``estimators.names()``), sample size n and device.
Neural estimators run with small training budgets (:data:`BENCH_SPECS`), so
these time the hot loop, not the paper's settings (``speed_variational.py``
does those). Combinations that would take more than a few seconds, or that
the machine cannot run (``cuda`` without a GPU, a classical estimator on
``cuda``), are skipped by ``NotImplementedError`` in ``setup``.
"""

from __future__ import annotations

import numpy as np

import estimators

from ._common import DEVICES, gaussian_batch, gaussian_pair, one_thread, require_device, sync

#: Spec per estimator for timing; names not listed run with their defaults.
BENCH_SPECS = {
    "mine": "mine:steps=100",
    "dv": "dv:steps=100",
    "nwj": "nwj:steps=100",
    "smile": "smile:steps=100",
    "infonce": "infonce:steps=100",
    "ndoe": "ndoe:epochs=1",
    "bnaf": "bnaf:epochs=1",
    "doe": "doe:epochs=1",
    "sliced": "sliced:projections=100",
}

#: Largest n timed per estimator (beyond it one call takes many seconds on a laptop CPU).
MAX_N = {"kde": 2000}

#: Dimension of x and y per estimator (default 1). The sliced wrapper on 1-D x and y
#: is one plain base estimate, so it is timed where it slices.
DIMS = {"sliced": 4}

SIZES = [200, 2000, 20000]


def make(name: str, device: str, spec: str | None = None):
    """``spec`` (default :data:`BENCH_SPECS`) for ``device``; NotImplementedError if impossible."""
    require_device(device)
    spec = spec or BENCH_SPECS.get(name, name)
    bare = estimators.make(spec)
    takes_device = "device" in (bare.base_estimator() or bare).get_params()  # sliced: its base
    if device != "cpu" and not takes_device:
        raise NotImplementedError(f"{name} has no {device} path")
    return estimators.make(spec, device=device) if takes_device else estimators.make(spec)


class TimeEstimate:
    """Seconds per ``estimate(x, y)`` call, warm (compilation and checkpoint loading excluded)."""

    params = [estimators.names(), SIZES, DEVICES]
    param_names = ["estimator", "n", "device"]
    number = 1
    repeat = (1, 5, 20.0)
    warmup_time = 0.0
    timeout = 180

    def setup(self, name: str, n: int, device: str) -> None:
        if n > MAX_N.get(name, n):
            raise NotImplementedError(f"{name} at n={n} is too slow to time here")
        one_thread()
        self.est = make(name, device)
        self.x, self.y = gaussian_pair(n, dim=DIMS.get(name, 1))
        self.est.estimate(self.x, self.y)  # compile / load / allocate once
        sync(device)

    def time_estimate(self, name: str, n: int, device: str) -> None:
        self.est.estimate(self.x, self.y)
        sync(device)


class TimeInfoNetBatch:
    """Seconds per ``InfoNet.estimate_batch`` call on ``batch`` distributions of n = 2000."""

    params = [[1, 16, 64], DEVICES]
    param_names = ["batch", "device"]
    number = 1
    repeat = (1, 5, 20.0)
    warmup_time = 0.0

    def setup(self, batch: int, device: str) -> None:
        one_thread()
        self.est = make("infonet", device, f"infonet:batch_size={batch}")
        self.xs, self.ys = gaussian_batch(batch)
        self.est.estimate_batch(self.xs, self.ys)
        sync(device)

    def time_estimate_batch(self, batch: int, device: str) -> None:
        self.est.estimate_batch(self.xs, self.ys)
        sync(device)


class TimeKSGColumns:
    """Seconds per 2-D KSG estimate by the shape of the x column (y is Gaussian).

    ``gaussian`` is the usual case; ``binary`` (two values, ties broken by KSG's
    jitter) and ``codes`` (1,000 integer codes, a scale far from y's) make each
    neighbourhood long and thin in rank space, which a square search of the rank
    grid once paid for with about O(n^2) work.
    """

    params = [["gaussian", "binary", "codes"], [2000, 20000, 100000]]
    param_names = ["x", "n"]
    number = 1
    repeat = (1, 5, 20.0)
    warmup_time = 0.0

    def setup(self, column: str, n: int) -> None:
        rng = np.random.default_rng(0)
        draw = {
            "gaussian": lambda: rng.normal(size=n),
            "binary": lambda: rng.integers(0, 2, n).astype(float),
            "codes": lambda: rng.integers(0, 1000, n).astype(float),
        }
        self.x, self.y = draw[column](), rng.normal(size=n)
        self.est = estimators.make("ksg")
        self.est.estimate(self.x, self.y)

    def time_estimate(self, column: str, n: int) -> None:
        self.est.estimate(self.x, self.y)
