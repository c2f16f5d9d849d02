"""Peak resident memory of the memory-heavy paths (asv ``peakmem_*`` and ``track_*``).

KDE sums over all n^2 pairs (in tiles); InfoNet holds a batch of distributions
and their attention activations at once. asv's ``peakmem_*`` is the peak RSS of
the whole benchmark process, setup included (for KDE mostly Numba and its
compiled code), so compare those values across commits rather than reading
them as the cost of one call. The ``track_*_working_mib`` benchmarks are that
cost: the rise of the peak RSS above the RSS before the call (Linux only). Setup
warms the estimator up on a tiny sample (compilation, checkpoint loading), so
the timed call is the process's first at full size and the allocator has no
freed memory of that size to hand back instead of growing.
"""

from __future__ import annotations

from ._common import (
    DEVICES,
    gaussian_batch,
    gaussian_pair,
    one_thread,
    peak_growth_mib,
    require_device,
    require_peak_reset,
)
from .bench_latency import make

#: Sample size of the warm-up call before a ``track_*_working_mib`` measurement.
WARM_N = 64


class PeakMemKDE:
    params = [[2000, 20000]]
    param_names = ["n"]
    timeout = 180

    def setup(self, n: int) -> None:
        self.est = make("kde", "cpu")
        self.x, self.y = gaussian_pair(n)

    def peakmem_kde(self, n: int) -> None:
        self.est.estimate(self.x, self.y)


class WorkingMemKDE:
    params = [[2000, 20000]]
    param_names = ["n"]
    unit = "MiB"
    timeout = 180

    def setup(self, n: int) -> None:
        require_peak_reset()
        self.est = make("kde", "cpu")
        self.est.estimate(*gaussian_pair(WARM_N))
        self.x, self.y = gaussian_pair(n)

    def track_kde_working_mib(self, n: int) -> float:
        return peak_growth_mib(lambda: self.est.estimate(self.x, self.y))


class PeakMemInfoNetBatch:
    params = [[16, 256], DEVICES]
    param_names = ["batch", "device"]

    def setup(self, batch: int, device: str) -> None:
        require_device(device)
        one_thread()
        self.est = make("infonet", device, f"infonet:batch_size={batch}")
        self.xs, self.ys = gaussian_batch(batch)

    def peakmem_infonet_batch(self, batch: int, device: str) -> None:
        self.est.estimate_batch(self.xs, self.ys)


class WorkingMemInfoNetBatch:
    """Host memory of one warm ``estimate_batch`` call (on cuda, host memory only)."""

    params = [[16, 256], DEVICES]
    param_names = ["batch", "device"]
    unit = "MiB"

    def setup(self, batch: int, device: str) -> None:
        require_device(device)
        require_peak_reset()
        one_thread()
        self.est = make("infonet", device, f"infonet:batch_size={batch}")
        self.xs, self.ys = gaussian_batch(batch)
        self.est.estimate(*gaussian_pair(WARM_N))

    def track_infonet_batch_working_mib(self, batch: int, device: str) -> float:
        return peak_growth_mib(lambda: self.est.estimate_batch(self.xs, self.ys))
