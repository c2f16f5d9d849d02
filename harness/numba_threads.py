"""Numba calls that leave torch's thread count alone (KSG, KDE and the Monte Carlo ground truth)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def keep_torch_threads() -> Iterator[None]:
    """Put torch's intra-op thread count back after the block's Numba kernels.

    Numba's OpenMP threading layer and torch share one OpenMP runtime, and a
    Numba parallel kernel can reset the thread count torch reads from it: after
    one KSG call, a harness worker limited to one torch thread ran InfoNet on
    two (three times slower on a busy machine). Torch is not imported here; if
    it is not loaded there is nothing to keep.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def load_kernels(estimator: object, dims: tuple[int, ...] = (1, 2), n: int = 64) -> None:
    """Call ``estimator.estimate`` once on small fixed Gaussian samples of each
    dimension in ``dims``, so its Numba kernels are loaded from the cache (and
    the threading layer started) before any timed call: for the Numba
    estimators' :meth:`~harness.interface.Estimator.prepare`. Without it the
    first cell a worker runs took about 0.2 s longer than the rest. Dimensions
    the estimator does not support are skipped, and a failing call is ignored.
    """
    import numpy as np

    rng = np.random.default_rng(0)
    n = max(n, estimator.min_samples())  # type: ignore[attr-defined]
    for d in dims:
        if not estimator.supports(d, d):  # type: ignore[attr-defined]
            continue
        x = rng.standard_normal((n, d))
        try:
            estimator.estimate(x, x + rng.standard_normal((n, d)))  # type: ignore[attr-defined]
        except Exception:  # only a warm-up: the cells report their own errors
            pass
