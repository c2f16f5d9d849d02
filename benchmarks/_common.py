"""Shared fixtures of the asv suites: devices, data, thread settings, skips; and the
CSV line the benchmark scripts print and write.

asv skips a parameter combination when ``setup`` raises ``NotImplementedError``;
:func:`require_device` does that for ``cuda`` on a machine without a GPU.
Torch (and the BLAS under it) runs on one thread so timings on a shared
machine are comparable from run to run.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

import numpy as np

DEVICES = ["cpu", "cuda"]
RHO = 0.6


def require_device(device: str) -> None:
    """Raise ``NotImplementedError`` (asv's skip) when ``device`` is not usable here."""
    if device == "cpu":
        return
    import torch

    if not torch.cuda.is_available():
        raise NotImplementedError(f"{device} is not available")


def one_thread() -> None:
    """One torch thread (the classical estimators use Numba's own pool)."""
    import torch

    torch.set_num_threads(1)


def gaussian_pair(n: int, seed: int = 0, dim: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A correlated Gaussian pair, coordinate i of y on coordinate i of x (rho = 0.6,
    MI = 0.2231 nats per coordinate), shapes (n, dim)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim))
    return x, RHO * x + np.sqrt(1 - RHO**2) * rng.normal(size=(n, dim))


def gaussian_batch(batch: int, n: int = 2000) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``batch`` pairs of :func:`gaussian_pair` (seeds 0, 1, ...) as lists of x and of y."""
    pairs = [gaussian_pair(n, seed) for seed in range(batch)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def sync(device: str) -> None:
    """Wait for queued GPU work so it counts in the time (estimates return host floats)."""
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"


def _status_kib(field: str) -> int:
    with open(_STATUS) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise NotImplementedError(f"{_STATUS} has no {field}")


def require_peak_reset() -> None:
    """Raise ``NotImplementedError`` (asv's skip) where :func:`peak_growth_mib` cannot
    work: it needs Linux's resettable peak RSS (``/proc/self/clear_refs``)."""
    try:
        with open(_CLEAR_REFS, "w") as f:
            f.write("5")
        _status_kib("VmHWM")
    except OSError as exc:
        raise NotImplementedError(f"no resettable peak RSS here ({exc})") from None


def peak_growth_mib(call) -> float:
    """MiB by which the process's peak resident memory rises above its resident
    memory at the start of ``call()``: the working memory of one warm call, without
    the interpreter, libraries and compiled code loaded before it."""
    with open(_CLEAR_REFS, "w") as f:
        f.write("5")  # peak RSS := current RSS
    before = _status_kib("VmRSS")
    call()
    return (_status_kib("VmHWM") - before) / 1024.0


def csv_line(fields: Iterable[object]) -> str:
    """One CSV line without its line end, quoting the fields that need it (a task spec
    holds commas)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()
