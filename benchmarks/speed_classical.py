"""Classical estimators against their library counterparts, side by side in one process.

    python benchmarks/speed_classical.py
    python benchmarks/speed_classical.py --ns 200,2000 --kde-max-n 2000 --k 3

KSG (``estimators.ksg``, variant 1) against scikit-learn's
``mutual_info_regression`` at the same ``k`` (sklearn's default
``n_neighbors=3``; both add tiny tie-breaking noise), and the KDE resubstitution
estimator (``estimators.kde``) against three ``scipy.stats.gaussian_kde``
objects evaluated at their own samples. Data: 1-D x and 1-D y, a correlated
Gaussian (rho = 0.6). Each time is the best of repeated calls after a warm-up
call (Numba compilation excluded). Prints a markdown table and writes a CSV.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Callable
from pathlib import Path

import numba
import numpy as np
from scipy.stats import gaussian_kde
from sklearn.feature_selection import mutual_info_regression

from estimators.kde import KDE
from estimators.ksg import KSG
from harness.cli.arguments import int_list_arg

DEFAULT_NS = "200,500,1000,2000,5000,10000,20000,50000,100000"
RESULTS = Path(__file__).resolve().parent / "results"


def best_time(
    fn: Callable[..., float], args: tuple, budget: float, max_reps: int
) -> tuple[float, float]:
    """Warm up once, then repeat ``fn(*args)`` until ``budget`` seconds or ``max_reps`` calls.

    Returns the fastest call in seconds and the value of the last call.
    """
    value = fn(*args)
    best, spent, reps = np.inf, 0.0, 0
    while reps < max_reps and (reps == 0 or spent < budget):
        start = time.perf_counter()
        value = fn(*args)
        elapsed = time.perf_counter() - start
        best, spent, reps = min(best, elapsed), spent + elapsed, reps + 1
    return best, float(value)


def gaussian_kde_mi(x: np.ndarray, y: np.ndarray) -> float:
    """Resubstitution MI from three ``gaussian_kde`` objects (Scott's rule)."""
    joint = np.vstack([x, y])
    log_joint = gaussian_kde(joint).logpdf(joint)
    return float(np.mean(log_joint - gaussian_kde(x).logpdf(x) - gaussian_kde(y).logpdf(y)))


def sample(n: int, rho: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x, rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n)


def sklearn_ksg(x: np.ndarray, y: np.ndarray, k: int) -> float:
    return mutual_info_regression(x[:, None], y, n_neighbors=k, random_state=0)[0]


def run(ns: list[int], k: int, kde_max_n: int, budget: float, max_reps: int) -> list[dict]:
    """Time every pair at every n; one dict per n (KDE columns only up to ``kde_max_n``)."""
    ksg, kde = KSG(k=k), KDE()
    rows = []
    for n in ns:
        x, y = sample(n, 0.6, seed=n)
        row: dict = {"n": n}
        pairs = [("ksg", ksg.estimate, (x, y)), ("sklearn", sklearn_ksg, (x, y, k))]
        if n <= kde_max_n:
            pairs += [("kde", kde.estimate, (x, y)), ("gaussian_kde", gaussian_kde_mi, (x, y))]
        for name, fn, args in pairs:
            row[f"{name}_s"], row[f"{name}_mi"] = best_time(fn, args, budget, max_reps)
        row["ksg_speedup"] = row["sklearn_s"] / row["ksg_s"]
        if "kde_s" in row:
            row["kde_speedup"] = row["gaussian_kde_s"] / row["kde_s"]
        rows.append(row)
        print(f"n={n} done", flush=True)
    return rows


COLUMNS = [
    ("n", "n", "{:d}"),
    ("ksg_s", "ksg s", "{:.6f}"),
    ("sklearn_s", "sklearn s", "{:.6f}"),
    ("ksg_speedup", "ksg speed-up", "{:.1f}x"),
    ("kde_s", "kde s", "{:.6f}"),
    ("gaussian_kde_s", "gaussian_kde s", "{:.6f}"),
    ("kde_speedup", "kde speed-up", "{:.1f}x"),
    ("ksg_mi", "ksg MI", "{:.4f}"),
    ("sklearn_mi", "sklearn MI", "{:.4f}"),
    ("kde_mi", "kde MI", "{:.4f}"),
    ("gaussian_kde_mi", "gaussian_kde MI", "{:.4f}"),
]


def markdown(rows: list[dict]) -> str:
    lines = [
        "| " + " | ".join(title for _, title, _ in COLUMNS) + " |",
        "|" + "|".join("---:" for _ in COLUMNS) + "|",
    ]
    for row in rows:
        cells = [fmt.format(row[key]) if key in row else "-" for key, _, fmt in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--ns", type=int_list_arg, default=DEFAULT_NS, help="comma-separated sample sizes"
    )
    p.add_argument("--k", type=int, default=3, help="neighbours for both KSG implementations")
    p.add_argument("--kde-max-n", type=int, default=5000, help="largest n for the KDE pair")
    p.add_argument("--budget", type=float, default=0.5, help="seconds of repeats per timing")
    p.add_argument("--max-reps", type=int, default=20)
    p.add_argument("--threads", type=int, default=None, help="Numba threads (default: all)")
    p.add_argument("--out", type=Path, default=RESULTS / "speed_classical.csv")
    args = p.parse_args()

    if args.threads:
        numba.set_num_threads(args.threads)
    rows = run(args.ns, args.k, args.kde_max_n, args.budget, args.max_reps)
    threads = numba.get_num_threads()
    print(f"\nk={args.k}, Numba threads={threads}, best of repeated calls (seconds)\n")
    print(markdown(rows))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[key for key, _, _ in COLUMNS] + ["k", "threads"])
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "k": args.k, "threads": threads})
    print(f"\nsaved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
