"""Peak resident memory of the memory-heavy paths (asv ``peakmem_*``).

KDE sums over all n^2 pairs (in tiles); InfoNet holds a batch of distributions
and their attention activations at once. asv reports the peak RSS of the
whole benchmark process, setup included, so compare the values across
commits rather than reading them as the cost of one call.
"""

from __future__ import annotations

from ._common import DEVICES, gaussian_pair, one_thread, require_device
from .bench_latency import make


class PeakMemKDE:
    params = [[2000, 20000]]
    param_names = ["n"]
    timeout = 180

    def setup(self, n: int) -> None:
        self.est = make("kde", "cpu")
        self.x, self.y = gaussian_pair(n)

    def peakmem_kde(self, n: int) -> None:
        self.est.estimate(self.x, self.y)


class PeakMemInfoNetBatch:
    params = [[16, 256], DEVICES]
    param_names = ["batch", "device"]

    def setup(self, batch: int, device: str) -> None:
        require_device(device)
        one_thread()
        self.est = make("infonet", device, f"infonet:batch_size={batch}")
        pairs = [gaussian_pair(2000, seed) for seed in range(batch)]
        self.xs, self.ys = [p[0] for p in pairs], [p[1] for p in pairs]

    def peakmem_infonet_batch(self, batch: int, device: str) -> None:
        self.est.estimate_batch(self.xs, self.ys)
