"""Where the Monte Carlo ground truth's parallel density kernel starts to pay.

    python -m benchmarks.mc_kernel_threshold
    python -m benchmarks.mc_kernel_threshold --components 1,3,10 --gap-ms 20

``ground_truth.monte_carlo`` evaluates mixture log densities in a Numba
kernel, serially below ``_PARALLEL_MIN_WORK`` rows x components and with
Numba's threads above it. Waking threads that have gone to sleep costs about
0.1 ms, so each call here follows ``--gap-ms`` of busy Python work (as a
call inside a Monte Carlo loop or a task build does) rather than running back
to back, which keeps the threads spinning and favours the parallel kernel.
Prints the median time of each kernel per work size (d = 2) and the smallest
work from which the parallel kernel is faster at every larger size measured.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ground_truth import monte_carlo as mc
from harness.cli.arguments import int_list_arg
from harness.numba_threads import keep_torch_threads


def _inputs(rows: int, components: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(rows, 2))
    means = rng.normal(size=(components, 2))
    prec_chol = np.tile(np.eye(2), (components, 1, 1))
    return points, means, prec_chol, np.zeros(components), np.empty(rows)


def _parallel(*args: np.ndarray) -> None:
    with keep_torch_threads():  # as ``_mixture_logpdf`` calls it
        mc._logpdf_parallel(*args)


def median_seconds(kernel, args: tuple, gap: float, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        while time.perf_counter() - start < gap:
            pass
        start = time.perf_counter()
        kernel(*args)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--components", type=int_list_arg, default="1,3,10", help="mixture sizes K")
    p.add_argument("--rows", type=int_list_arg, default="256,1024,4096,16384,65536,262144")
    p.add_argument("--gap-ms", type=float, default=20.0, help="busy work before each call")
    p.add_argument("--repeats", type=int, default=9)
    args = p.parse_args(argv)
    warm = _inputs(64, 2)
    mc._logpdf_serial(*warm)
    _parallel(*warm)
    gap = args.gap_ms / 1000
    print(f"current _PARALLEL_MIN_WORK = {mc._PARALLEL_MIN_WORK}")
    print("| K | rows | work | serial ms | parallel ms | serial / parallel |")
    print("|---:|---:|---:|---:|---:|---:|")
    results = []
    for k in args.components:
        for rows in args.rows:
            inputs = _inputs(rows, k)
            serial = median_seconds(mc._logpdf_serial, inputs, gap, args.repeats)
            parallel = median_seconds(_parallel, inputs, gap, args.repeats)
            results.append((rows * k, serial / parallel))
            print(
                f"| {k} | {rows} | {rows * k} | {serial * 1e3:.3f} | "
                f"{parallel * 1e3:.3f} | {serial / parallel:.2f} |"
            )
    results.sort()
    slower = [work for work, ratio in results if ratio < 1.0]
    crossover = next((w for w, _ in results if not slower or w > max(slower)), None)
    print(f"parallel faster at every measured work >= {crossover}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
