"""How much MI can InfoNet's critic table express at all? (a limit, not an estimate)

    python -m benchmarks.infonet_capacity --levels 0.5,0.9 --count 4
    python -m benchmarks.infonet_capacity --grids 96,128 --sigmas 1,0.5 --out caps.csv

InfoNet's critic is an L x L table on the copula square, blurred by a fixed
Gaussian kernel and read out bilinearly. For ``gmm_levels`` mixtures this
script fits such a table *directly* to one mixture (Adam on the DV value of a
large sample, ``--fit`` points, copula coordinates from that sample's
empirical CDFs) and scores it there and on a second large sample. The mean of
the two values estimates the best DV value the table family reaches for that
distribution (the fitted value is too high and the held-out one too low by
about the same noise). The network, which must produce its table from n
samples in one pass, can only do worse: the gap between this value and the
truth is the architecture's share of InfoNet's underestimate, the rest is the
network's (amortisation and finite n).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
import torch

from estimators.infonet.model import blur_table, gaussian_taps
from estimators.infonet.readout import grid_corners, grid_histogram
from harness.cli.arguments import float_list_arg, int_list_arg
from tasks.gmm_levels import GMMLevels


def _blur(table: torch.Tensor, sigma: float, size: int = 5) -> torch.Tensor:
    return table if sigma <= 0 else blur_table(table, gaussian_taps(size, sigma).tolist())


def _ecdf(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    ref = np.sort(reference)
    return np.interp(values, ref, (np.arange(ref.size) + 0.5) / ref.size)


def _histograms(u: np.ndarray, v: np.ndarray, grid: int) -> tuple[torch.Tensor, ...]:
    """Bilinear-weight histograms (joint L x L, and both marginals) of copula points, as
    probabilities: the DV value of any table is linear in them (see readout.dv_value)."""
    tu, tv = torch.as_tensor(u)[None], torch.as_tensor(v)[None]
    hx, hy = grid_histogram(tu, grid)[0], grid_histogram(tv, grid)[0]
    (a, fa), (b, fb) = grid_corners(tu[0], grid), grid_corners(tv[0], grid)
    joint = torch.zeros(grid * grid, dtype=torch.float64)
    for da, wa in ((0, 1 - fa), (1, fa)):
        for db, wb in ((0, 1 - fb), (1, fb)):
            joint.index_add_(0, (a + da) * grid + (b + db), wa * wb)
    m = float(len(u))
    return joint.reshape(grid, grid) / m, hx / m, hy / m


def _dv(table: torch.Tensor, joint: torch.Tensor, hx: torch.Tensor, hy: torch.Tensor):
    return (joint * table).sum() - torch.logsumexp(
        table + torch.log(hx)[:, None] + torch.log(hy)[None, :], dim=(0, 1)
    )


def best_table_value(
    xy_fit: np.ndarray, xy_test: np.ndarray, grid: int, sigma: float, steps: int = 1500
) -> tuple[float, float]:
    """DV values of the L x L blurred table fitted to ``xy_fit``: (on xy_fit, on xy_test).

    The copula coordinates of both samples are ``xy_fit``'s empirical CDFs. The
    fitted value overstates what the family can reach and the held-out value
    understates it, each by about the table's estimation noise (shrinking as
    the samples grow).
    """
    cdf = [_ecdf(xy_fit[:, i], xy_fit[:, i]) for i in (0, 1)]
    fit = _histograms(*cdf, grid)
    test = _histograms(*(_ecdf(xy_fit[:, i], xy_test[:, i]) for i in (0, 1)), grid)
    raw = torch.zeros(1, grid, grid, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([raw], lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        (-_dv(_blur(raw, sigma)[0], *fit)).backward()
        opt.step()
    with torch.no_grad():
        table = _blur(raw, sigma)[0]
        return float(_dv(table, *fit)), float(_dv(table, *test))


def capacity_frame(
    levels: list[float], count: int, grids: list[int], sigmas: list[float], fit: int, seed: int
) -> pd.DataFrame:
    """One row per (mixture, grid, sigma): level, truth, fitted and held-out values of the best
    table, ``error`` (their mean minus the truth) and ``noise`` (half their difference)."""
    task = GMMLevels(levels=tuple(levels), per_level=count, n=2000)
    rows = []
    for index in range(task.n_instances()):
        gmm = task.mixture(index)
        inst = task.instance(index, seed)
        rng = np.random.default_rng([seed, index])
        xy_fit, xy_test = gmm.sample(rng, fit), gmm.sample(rng, fit)
        for grid in grids:
            for sigma in sigmas:
                fitted, held_out = best_table_value(xy_fit, xy_test, grid, sigma)
                rows.append(
                    {
                        "level": inst.meta["level"],
                        "gmm_id": inst.meta["gmm_id"],
                        "truth": inst.true_mi,
                        "grid": grid,
                        "sigma": sigma,
                        "fitted": fitted,
                        "held_out": held_out,
                        "error": 0.5 * (fitted + held_out) - inst.true_mi,
                        "noise": 0.5 * (fitted - held_out),
                    }
                )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.infonet_capacity",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--levels", type=float_list_arg, default="0.5,0.9", help="gmm_levels MI levels")
    p.add_argument("--count", type=int, default=4, help="mixtures per level")
    p.add_argument("--grids", type=int_list_arg, default="96", help="table sizes L")
    p.add_argument(
        "--sigmas", type=float_list_arg, default="1.0", help="blur widths in grid cells (0: none)"
    )
    p.add_argument("--fit", type=int, default=2_000_000, help="points per large sample")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None, help="also write the rows to this CSV")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    df = capacity_frame(
        args.levels,
        args.count,
        args.grids,
        args.sigmas,
        args.fit,
        args.seed,
    )
    if args.out:
        df.to_csv(args.out, index=False)
    table = df.groupby(["level", "grid", "sigma"])[["error", "noise"]].agg(["mean", "std"])
    print(table.round(4).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
