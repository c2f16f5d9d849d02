"""Time the variational estimators at the paper's speed setting.

    python benchmarks/speed_variational.py
    python benchmarks/speed_variational.py --specs "mine:steps=500;nwj:steps=500" --n 2000

Each spec runs on 1-D correlated Gaussian data (rho = 0.8, truth 0.511 nats)
on the CPU, once with the estimator's ``threads`` set to torch's default thread
count and once with ``threads=1`` (its default: setting torch's count alone
would not reach it). A warm-up call comes first; the table shows the
best wall time and the matching process CPU time of ``--reps`` calls (CPU time
is the better guide on a busy machine). Target: ``mine:steps=500`` at
n = 2000 in <= 1.5 s.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import estimators
from estimators.variational import DV, MINE, NWJ, SMILE, InfoNCE

CLASSES = {cls.name: cls for cls in (MINE, DV, NWJ, SMILE, InfoNCE)}
RHO = 0.8


def make(spec: str, threads: int):
    """Build a variational estimator from a spec on ``threads`` torch threads (the
    estimators train on their own ``threads`` setting, 1 by default, whatever the
    process's count), through the registry when it knows the name."""
    name, _, _ = spec.partition(":")
    if name not in estimators.names():
        estimators.registry.register(CLASSES[name])
    return estimators.make(spec, device="cpu", threads=threads)


def timed(est, x: np.ndarray, y: np.ndarray, reps: int) -> tuple[float, float, float]:
    """Best wall time, its CPU time (seconds) and the estimate, after one warm-up call."""
    value = est.estimate(x, y)
    best = (np.inf, np.inf)
    for _ in range(reps):
        wall, cpu = time.perf_counter(), time.process_time()
        value = est.estimate(x, y)
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best[0], best[1], value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", default="mine:steps=500", help="';'-separated")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=args.n)
    y = RHO * x + np.sqrt(1 - RHO**2) * rng.normal(size=args.n)
    truth = -0.5 * np.log(1 - RHO**2)
    default_threads = torch.get_num_threads()
    print(f"n={args.n}, truth={truth:.4f} nats")
    print("| spec | threads | wall s | cpu s | estimate |")
    print("|---|---|---|---|---|")
    for threads in (default_threads, 1):
        for spec in args.specs.split(";"):
            wall, cpu, value = timed(make(spec, threads), x, y, args.reps)
            print(f"| {spec} | {threads} | {wall:.3f} | {cpu:.3f} | {value:.4f} |", flush=True)


if __name__ == "__main__":
    main()
