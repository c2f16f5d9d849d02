"""Every estimator with a cuda path, run on the CPU and on the GPU: the answers and the speed-up.

    python -m benchmarks.cuda_check --out benchmarks/results/cuda_check.csv
    python -m benchmarks.cuda_check --specs "mine:steps=500;infonet" --reps 3
    python -m benchmarks.cuda_check --cpu-rows cpu.csv --out both.csv   # time cuda only

Each spec estimates MI on the same data on ``cpu`` and on ``cuda`` (one
warm-up call, then the median of ``--reps`` calls). The data: a 1-D Gaussian
pair (rho = 0.8, n = 2000) for the 1-D estimators, and for ``infonet`` a batch
of 16 such pairs through ``estimate_batch`` (seconds per distribution) plus
sliced InfoNet on a d = 16 Gaussian (one feature shared, n = 1000). Trained
estimators draw their minibatches from device-specific random streams, so
their cpu and cuda estimates agree only to within their training noise; the
table shows both beside the truth. Without a GPU only the cpu rows are
written and the script says so. Prints a CSV table.

``--cpu-rows FILE`` takes the cpu rows from an earlier run's CSV (say, of the
machine users run on) instead of measuring them, so a short GPU lease times
the cuda rows alone; the speed-up is then against that file's machine.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import statistics
import time
from collections.abc import Callable

import numpy as np

import estimators
from benchmarks._common import csv_line

RHO = 0.8
N = 2000

#: The papers' settings of every estimator that has a cuda path.
SPECS = (
    "mine:steps=500",
    "dv:steps=500",
    "nwj:steps=500",
    "smile:steps=500",
    "infonce:steps=500",
    "doe:epochs=50",
    "ndoe:epochs=50",
    "bnaf:epochs=50",
    "doe:epochs=50,density=logistic",
    "infonet:batch_size=16",
    "infonet:projections=1000",
)


def gaussian_pair(n: int, rho: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1))
    return x, rho * x + np.sqrt(1 - rho**2) * rng.normal(size=(n, 1))


def one_feature(n: int, d: int, rho: float, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """X ~ N(0, I_d); Y = X with its first coordinate replaced by a rho-correlated copy."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = rng.normal(size=(n, d))
    y[:, 0] = rho * x[:, 0] + np.sqrt(1 - rho**2) * y[:, 0]
    return x, y, -0.5 * np.log(1 - rho**2)


def workload(spec: str) -> tuple[Callable[[object], float], int, float, str]:
    """(call, distributions per call, truth, data description) for one spec."""
    truth = -0.5 * np.log(1 - RHO**2)
    if spec.startswith("infonet") and "projections" in spec:
        x, y, smi_truth = one_feature(1000, 16, RHO, 0)
        # the truth of sliced MI is not I(X; Y); report the full MI for reference
        return (lambda est: est.estimate(x, y)), 1, smi_truth, "d=16 one feature n=1000"
    if spec.startswith("infonet"):
        pairs = [gaussian_pair(N, RHO, seed) for seed in range(16)]
        xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
        return (lambda est: float(np.mean(est.estimate_batch(xs, ys)))), 16, truth, "16 x 1-D"
    x, y = gaussian_pair(N, RHO, 0)
    return (lambda est: est.estimate(x, y)), 1, truth, f"1-D n={N}"


def measure(spec: str, device: str, reps: int) -> dict:
    """One row: median seconds per distribution and the estimate on ``device``."""
    est = estimators.make(spec, device=device)
    call, per_call, truth, data = workload(spec)
    if device == "cuda":
        import torch

        sync = torch.cuda.synchronize
    else:

        def sync() -> None:
            return None

    value = call(est)  # warm-up: weights, kernels, allocator
    sync()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        value = call(est)
        sync()
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times) / per_call
    return {
        "spec": spec,
        "device": device,
        "data": data,
        "seconds_per_distribution": seconds,
        "estimate": value,
        "truth": truth,
    }


#: The CSV's columns.
HEADER = ("spec", "device", "gpu", "data", "seconds_per_distribution", "estimate", "truth")


def read_cpu_rows(path: str) -> dict[str, dict]:
    """The cpu rows of an earlier run's CSV, by spec, as ``measure`` returns them."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = set(HEADER) - set(reader.fieldnames or ())
        if missing:
            raise SystemExit(
                f"--cpu-rows {path}: not a cuda_check CSV (no {', '.join(sorted(missing))}; "
                f"expected the columns {', '.join(HEADER)}, speedup)"
            )
        rows = [r for r in reader if r["device"] == "cpu"]
    if not rows:
        raise SystemExit(f"--cpu-rows {path}: no cpu rows")
    return {
        r["spec"]: {
            "spec": r["spec"],
            "device": "cpu",
            "gpu": r["gpu"],
            "data": r["data"],
            "seconds_per_distribution": float(r["seconds_per_distribution"]),
            "estimate": float(r["estimate"]),
            "truth": float(r["truth"]),
        }
        for r in rows
    }


def unmatched(reference: dict[str, dict], specs: list[str]) -> list[str]:
    """Why ``reference``'s cpu rows cannot stand for today's of ``specs``: a spec
    without a row, or a row of other data (a changed workload)."""
    problems = []
    for spec in specs:
        row = reference.get(spec)
        if row is None:
            problems.append(f"no cpu row for {spec!r}")
            continue
        _, _, truth, data = workload(spec)
        if row["data"] != data or abs(row["truth"] - truth) > 5e-5:
            problems.append(f"{spec!r} ran on {row['data']} (truth {row['truth']}), not {data}")
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--specs", default=";".join(SPECS), help="';'-separated estimator specs")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--out", default=None, help="also write the CSV here, row by row")
    p.add_argument(
        "--cpu-rows",
        default=None,
        help="an earlier run's CSV: its cpu rows are copied, not measured, and the speed-up "
        "is against them",
    )
    args = p.parse_args(argv)
    import torch

    specs = args.specs.split(";")
    reference = read_cpu_rows(args.cpu_rows) if args.cpu_rows else None
    if reference is not None and (problems := unmatched(reference, specs)):
        raise SystemExit(f"--cpu-rows {args.cpu_rows}: " + "; ".join(problems))
    devices = [] if reference else ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
        hardware = torch.cuda.get_device_name()
    elif reference is not None:
        print("# no GPU here: nothing to measure beside the given cpu rows")
        return 1
    else:
        hardware = "none"
        print("# no GPU here: cpu rows only")
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(args.out, "w", newline="")) if args.out else None

        def emit(fields: list) -> None:
            line = csv_line(fields)
            print(line, flush=True)
            if out:  # row by row: a run stopped at its time limit keeps what it measured
                out.write(line + "\n")
                out.flush()

        emit([*HEADER, "speedup"])
        for spec in specs:
            rows = [measure(spec, device, args.reps) for device in devices]
            if reference is not None:
                rows.insert(0, reference[spec])
            cpu_seconds = rows[0]["seconds_per_distribution"]
            for row in rows:
                emit(
                    [
                        row["spec"],
                        row["device"],
                        row.get("gpu", hardware),
                        row["data"],
                        f"{row['seconds_per_distribution']:.6g}",
                        f"{row['estimate']:.4f}",
                        f"{row['truth']:.4f}",
                        f"{cpu_seconds / row['seconds_per_distribution']:.2f}",
                    ]
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
