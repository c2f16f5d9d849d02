"""Numba thread count scaled to the work of one call."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import numba


@contextmanager
def numba_threads_for(work: float, per_thread: float) -> Iterator[int]:
    """Run the block's Numba parallel kernels on about ``work / per_thread`` threads.

    At least one and at most the current setting; the setting is restored after.
    Waking a parallel region's threads costs ~0.1 ms per kernel under
    ``OMP_WAIT_POLICY=PASSIVE`` (which :mod:`harness` sets so Numba's idle threads
    do not spin against torch's), more than the whole computation on a small
    sample: KSG at n = 500 took 0.7 ms on 2 threads and 0.18 ms on one.
    ``per_thread`` is the work at which a second thread starts to pay.

    Numba's OpenMP layer and torch share one OpenMP runtime, so setting Numba's
    thread count (or launching a kernel) also resets torch's intra-op thread
    count: after one KSG call a process limited to one torch thread ran InfoNet
    on two, three times slower on a busy machine. Torch's count is put back.

    Yields
    ------
    int
        The thread count used.
    """
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    current = numba.get_num_threads()
    threads = max(1, min(current, round(work / per_thread)))
    if threads != current:
        numba.set_num_threads(threads)
    try:
        yield threads
    finally:
        if threads != current:
            numba.set_num_threads(current)
        if torch is not None and torch.get_num_threads() != torch_threads:
            torch.set_num_threads(torch_threads)
