"""Tiny estimators and tasks for runner, store and CLI tests.

They live in an importable module (not inside a test) so worker processes
started with ``spawn`` can unpickle them by reference. ``register()`` adds
them to the registries; ``unregister()`` removes them again.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

import estimators
import tasks
from harness.interface import Capabilities, Estimator, Instance, SpecError, Task


def cli_command(*args: str) -> list[str]:
    """argv of a ``python -m harness`` child process with these plugins registered.

    The child takes Ctrl-C as a terminal's ``python -m harness`` does even when the
    tests run in the background, whose children start with SIGINT ignored (a
    non-interactive shell's ``cmd &``), which Python then leaves ignored.
    """
    code = (
        "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "import sys; sys.path.insert(0, sys.argv[1]); import fake_plugins; "
        "fake_plugins.register(); from harness.cli import main; sys.exit(main(sys.argv[2:]))"
    )
    return [sys.executable, "-c", code, str(Path(__file__).resolve().parent), *args]


def corr_mi(x: np.ndarray, y: np.ndarray) -> float:
    """Gaussian MI from the sample correlation of the first columns."""
    r = np.corrcoef(x[:, 0], y[:, 0])[0, 1]
    return float(-0.5 * np.log1p(-r * r))


def _strong(x: np.ndarray, y: np.ndarray) -> bool:
    return abs(np.corrcoef(x[:, 0], y[:, 0])[0, 1]) > 0.8


class FakeCorr(Estimator):
    """Correlation-based Gaussian MI."""

    name = "fake_corr"

    def __init__(self, shrink: float = 0.0):
        self.shrink = shrink

    def _check_params(self) -> None:
        if not 0 <= self.shrink < 1:
            raise SpecError(f"shrink must be in [0, 1); got {self.shrink}")

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        return corr_mi(x, y) * (1 - self.shrink)


class FakePrepare(Estimator):
    """Loads for ``load`` seconds in ``prepare`` (``fail``: raises there), then estimates fast."""

    name = "fake_prepare"

    def __init__(self, load: float = 0.3, fail: bool = False):
        self.load = load
        self.fail = fail

    def prepare(self) -> None:
        if self.fail:
            raise FileNotFoundError("weights.pt not found")
        time.sleep(self.load)

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        return corr_mi(x, y)


class FakeFail(Estimator):
    """Fails on strongly dependent samples."""

    name = "fake_fail"

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        if _strong(x, y):
            raise ValueError("too strong\nsecond line")
        return corr_mi(x, y)


class FakeSleep(Estimator):
    """Sleeps ``delay`` seconds on strongly dependent samples."""

    name = "fake_sleep"

    def __init__(self, delay: float = 30.0):
        self.delay = delay

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        if _strong(x, y):
            time.sleep(self.delay)
        return corr_mi(x, y)


class FakeCrash(Estimator):
    """Kills its own process on strongly dependent samples."""

    name = "fake_crash"

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        if _strong(x, y):
            os._exit(3)
        return corr_mi(x, y)


class FakeSlow(Estimator):
    """Takes ``delay`` seconds per estimate."""

    name = "fake_slow"

    def __init__(self, delay: float = 0.05):
        self.delay = delay

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        time.sleep(self.delay)
        return corr_mi(x, y)


class FakeGate(Estimator):
    """The first ``free`` estimates, counted over every process, run at once; later ones
    wait until the file ``open`` appears in the folder ``gate`` (at most ``wait`` seconds).

    A test lets a few cells finish, acts while the others are held, then opens the
    gate. Each free estimate takes a token, a file ``token-<i>`` created exclusively
    in ``gate``. Without ``gate``, no estimate waits.
    """

    name = "fake_gate"

    def __init__(self, gate: str = "", free: int = 6, wait: float = 60.0):
        self.gate = gate
        self.free = free
        self.wait = wait

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        if self.gate and not any(self._take(i) for i in range(self.free)):
            end = time.monotonic() + self.wait
            while not Path(self.gate, "open").exists() and time.monotonic() < end:
                time.sleep(0.02)
        return corr_mi(x, y)

    def _take(self, token: int) -> bool:
        try:
            os.close(os.open(Path(self.gate, f"token-{token}"), os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return False
        return True


#: Arm with ``INTERRUPT["after"] = m``: the (m+1)-th estimate raises KeyboardInterrupt.
INTERRUPT: dict[str, int | None] = {"after": None, "calls": 0}


class FakeInterrupt(Estimator):
    """Raises KeyboardInterrupt once armed (see :data:`INTERRUPT`)."""

    name = "fake_interrupt"

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        after = INTERRUPT["after"]
        if after is not None:
            if INTERRUPT["calls"] >= after:
                INTERRUPT["after"] = None
                raise KeyboardInterrupt
            INTERRUPT["calls"] += 1
        return corr_mi(x, y)


#: Sizes of the batches FakeBatched received, in order.
BATCHES: list[int] = []


class FakeBatched(Estimator):
    """Batched correlation estimator recording its batch sizes."""

    name = "fake_batched"
    capabilities = Capabilities(batched=True)

    def __init__(
        self, batch_size: int = 4, nan_first: bool = False, short: int = 0, crash: bool = False
    ):
        self.batch_size = batch_size
        self.nan_first = nan_first
        self.short = short  # return this many estimates too few (a broken plugin)
        self.crash = crash  # exit the process when a batch holds strongly dependent samples

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        return corr_mi(x, y)

    def _estimate_batch(self, pairs) -> np.ndarray:
        BATCHES.append(len(pairs))
        if self.crash and any(_strong(x, y) for x, y in pairs):
            os._exit(3)  # kills the worker with the whole batch
        values = [corr_mi(x, y) for x, y in pairs]
        if self.nan_first:  # the first of each batch fails; the others must not
            values[0] = float("nan")
        return np.array(values[: len(values) - self.short])


class FakeOneDim(Estimator):
    """Supports only one-dimensional X."""

    name = "fake_onedim"
    capabilities = Capabilities(max_dim_x=1, max_dim_y=1)

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        return corr_mi(x, y)


class FakeNumbaThreads(Estimator):
    """Returns the Numba thread count its process started with."""

    name = "fake_numba_threads"

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        import numba

        return float(numba.config.NUMBA_NUM_THREADS)


class FakeCap(Estimator):
    """Correlation-based Gaussian MI capped at ``cap`` (inf: no cap)."""

    name = "fake_cap"

    def __init__(self, cap: float = 1.0):
        self.cap = cap

    def _check_params(self) -> None:
        if not isinstance(self.cap, float) or not self.cap > 0:
            raise SpecError(f"cap must be a float > 0 (inf allowed); got {self.cap!r}")

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        return min(corr_mi(x, y), self.cap)


class FakeGauss(Task):
    """Gaussian pairs with correlation rho on the first coordinate."""

    name = "fake_gauss"
    summary = "levels"

    def __init__(self, rhos: tuple[float, ...] = (0.0, 0.5, 0.9), dim: int = 1, n: int = 200):
        self.rhos = rhos
        self.dim = dim
        self.n = n

    def n_instances(self) -> int:
        return len(self.rhos)

    def instance(self, index: int, seed: int) -> Instance:
        rho = float(self.rhos[index])
        rng = self.rng(index, seed)
        z = rng.standard_normal((self.n, 2 * self.dim))
        x = z[:, : self.dim].copy()
        y = z[:, self.dim :].copy()
        y[:, 0] = rho * x[:, 0] + np.sqrt(1 - rho**2) * y[:, 0]
        return Instance(
            f"rho={rho}", x, y, -0.5 * np.log(1 - rho**2), 0.0, {"rho": rho, "level": rho}
        )


class FakeLevels(Task):
    """Like FakeGauss, with ``per_level`` instances at each of three levels."""

    name = "fake_levels"
    summary = "levels"

    def __init__(self, per_level: int = 2, n: int = 100):
        self.per_level = per_level
        self.n = n

    def n_instances(self) -> int:
        return 3 * self.per_level

    def instance(self, index: int, seed: int) -> Instance:
        inner = FakeGauss(rhos=(0.0, 0.5, 0.9), n=self.n)
        inst = inner.instance(index // self.per_level, seed * 1000 + index)
        return Instance(f"{index}", inst.x, inst.y, inst.true_mi, 0.0, dict(inst.meta))


ESTIMATORS = (
    FakeCorr,
    FakePrepare,
    FakeFail,
    FakeSleep,
    FakeCrash,
    FakeSlow,
    FakeGate,
    FakeInterrupt,
    FakeBatched,
    FakeOneDim,
    FakeCap,
    FakeNumbaThreads,
)
TASKS = (FakeGauss, FakeLevels)


def register() -> None:
    for cls in ESTIMATORS:
        estimators.registry.register(cls)
    for cls in TASKS:
        tasks.registry.register(cls)


def unregister() -> None:
    for cls in ESTIMATORS:
        estimators.registry.unregister(cls.name)
    for cls in TASKS:
        tasks.registry.unregister(cls.name)
