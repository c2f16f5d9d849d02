"""InfoNet latency: seconds per distribution vs sample size and batch size.

    python benchmarks/infonet_latency.py --device cuda --out latency.csv
    python benchmarks/infonet_latency.py --device cpu --batches 1,16
    python benchmarks/infonet_latency.py --device cuda --profile 2000,1 --out ops.txt

Each timed call is ``InfoNet.estimate_batch`` on samples in host memory: input
validation, the copy to the device, copula ranks, forward pass and DV
read-out. Prints a CSV table. ``--profile N,B`` instead profiles one warm call
at sample size N and batch B with ``torch.profiler``: the operators by their own
time on the device (or the CPU) and how many ran, which tells launch-bound
calls (many short kernels) from compute-bound ones.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from estimators.infonet import InfoNet  # noqa: E402
from estimators.infonet.simulator import gmm_batch_params, sample_from_params  # noqa: E402
from harness.cli.arguments import int_list_arg  # noqa: E402


def _samples(batch: int, n: int, gen: torch.Generator) -> tuple[list, list]:
    """``batch`` random GMM samples of size ``n`` (the training recipe), as x and y lists."""
    xy = sample_from_params(*gmm_batch_params(batch, generator=gen), n, generator=gen)
    xy = xy.numpy().astype(np.float64)
    return list(xy[..., :1]), list(xy[..., 1:])


def _time_batch(est: InfoNet, xs: list, ys: list, min_seconds: float) -> float:
    for _ in range(2):
        est.estimate_batch(xs, ys)
    reps, start = 0, time.perf_counter()
    while True:
        est.estimate_batch(xs, ys)  # returns host numbers, so the device has finished
        reps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds and reps >= 3:
            break
    return elapsed / reps


def profile(est: InfoNet, xs: list, ys: list, device: str) -> str:
    """One warm ``estimate_batch`` call under ``torch.profiler``: a table of its
    operators by their own device time (CPU time on the CPU), with counts."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    for _ in range(2):
        est.estimate_batch(xs, ys)
    activities = [ProfilerActivity.CPU]
    if device == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with torch_profile(activities=activities) as prof:
        start = time.perf_counter()
        est.estimate_batch(xs, ys)
        wall = time.perf_counter() - start
    events = prof.key_averages()
    key = "self_cuda_time_total" if device == "cuda" else "self_cpu_time_total"
    calls = sum(e.count for e in events)
    head = f"# one call: {wall * 1e3:.2f} ms wall, {calls} operator calls\n"
    return head + events.table(sort_by=key, row_limit=25)


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--checkpoint", default=None, help="model file (default: shipped)")
    p.add_argument("--grid", type=int, default=None, help="table side L (default: the model's)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.add_argument("--ns", type=int_list_arg, default="200,500,1000,2000,5000", help="sample sizes")
    p.add_argument(
        "--batches",
        type=int_list_arg,
        default=None,
        help="default: 1,16 on cpu; 1,16,256,1024 on cuda",
    )
    p.add_argument(
        "--min-seconds", type=float, default=1.0, help="time each setting at least this long"
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default torch's; use 1 beside other jobs)",
    )
    p.add_argument("--out", default=None, help="also write the CSV (or profile) here")
    p.add_argument(
        "--profile",
        type=int_list_arg,
        default=None,
        metavar="N,B",
        help="profile one call at sample size N and batch B instead of the timing table",
    )
    args = p.parse_args()
    if args.profile is not None and len(args.profile) != 2:
        p.error(f"--profile takes N,B (two numbers); got {len(args.profile)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    name = args.device
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if args.profile:
        n, b = args.profile
        xs, ys = _samples(b, n, torch.Generator().manual_seed(0))
        est = InfoNet(checkpoint=args.checkpoint, device=name, batch_size=b, grid=args.grid)
        text = profile(est, xs, ys, name)
        print(text)
        if args.out:
            Path(args.out).write_text(text + "\n")
        return 0
    batches = args.batches or ([1, 16, 256, 1024] if name == "cuda" else [1, 16])
    if name == "cuda":
        hw = torch.cuda.get_device_name()
    else:
        hw = f"cpu x{torch.get_num_threads()}"
    lines = ["device,n,batch,seconds_per_call,seconds_per_distribution,distributions_per_second"]
    print(lines[0], flush=True)
    gen = torch.Generator().manual_seed(0)
    for n in args.ns:
        for b in batches:
            xs, ys = _samples(b, n, gen)
            est = InfoNet(checkpoint=args.checkpoint, device=name, batch_size=b, grid=args.grid)
            try:
                t = _time_batch(est, xs, ys, args.min_seconds)
            except torch.OutOfMemoryError:
                print(f"# n={n} batch={b}: out of memory", flush=True)
                torch.cuda.empty_cache()
                continue
            row = f"{hw},{n},{b},{t:.6g},{t / b:.6g},{b / t:.1f}"
            lines.append(row)
            print(row, flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
