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
