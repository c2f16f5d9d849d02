"""How well can *any* sliced estimator order the ``highdim_order`` triplets?

    python -m benchmarks.sliced_ceiling [--per-d 100] [--out benchmarks/results/sliced_ceiling.csv]

Every slice (theta^T X, phi^T Y) of a Gaussian pair is a bivariate Gaussian,
so its MI is exactly -1/2 ln(1 - r^2) with r the slice correlation. Averaging
that over the directions the ``sliced`` wrapper (and ``infonet``) would use
gives the exact sliced MI each estimator is trying to estimate. Ordering the
triplets by it, rather than by an estimate, gives the order accuracy of a
perfect 1-D estimator with no sampling noise: the ceiling of any sliced
estimator on the task, for each number of projections. Prints a CSV table
(recipe, d, projections, triplets, accuracy).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from estimators.sliced import random_directions
from tasks.highdim_order import DIMS, HighDimOrder

PROJECTIONS = (100, 1000, 1500, 20000)


def exact_sliced_mi(cov: np.ndarray, d: int, px: np.ndarray, py: np.ndarray) -> float:
    """Mean over direction pairs ``(px[i], py[i])`` of the exact MI of the projected
    Gaussian pair; ``cov`` is the (2d, 2d) covariance of (X, Y)."""
    sxx, sxy, syy = cov[:d, :d], cov[:d, d:], cov[d:, d:]
    num = np.einsum("pi,ij,pj->p", px, sxy, py)
    vx = np.einsum("pi,ij,pj->p", px, sxx, px)
    vy = np.einsum("pi,ij,pj->p", py, syy, py)
    r2 = num**2 / (vx * vy)
    return float(np.mean(-0.5 * np.log1p(-r2)))


def member_covariances(model, d: int) -> list[np.ndarray]:
    """Covariances of (X, Y) and (X, Y') of one triplet."""
    cov = model.covariance()
    return [cov[np.ix_(idx, idx)] for idx in (np.r_[0:d, d : 2 * d], np.r_[0:d, 2 * d : 3 * d])]


def ceiling(recipe: str, per_d: int, projections=PROJECTIONS, seed: int = 0) -> list[dict]:
    """Order accuracy of the exact sliced MI per dimension and projection count.

    The directions are those of :func:`estimators.sliced.slices` with ``seed``
    (the same for both members of a triplet, as in a harness run).
    """
    task = HighDimOrder(per_d=per_d, recipe=recipe)
    rows = []
    for di, d in enumerate(DIMS):
        hits = {p: 0 for p in projections}
        for j in range(per_d):
            model = task.model(j * len(DIMS) + di)
            truth = model.mi()
            covs = member_covariances(model, d)
            for p in projections:
                rng = np.random.default_rng(seed)
                px, py = random_directions(p, d, rng), random_directions(p, d, rng)
                smi = [exact_sliced_mi(c, d, px, py) for c in covs]
                hits[p] += (smi[0] > smi[1]) == (truth[0] > truth[1])
        for p in projections:
            rows.append(
                {
                    "recipe": recipe,
                    "d": d,
                    "projections": p,
                    "triplets": per_d,
                    "accuracy": hits[p] / per_d,
                }
            )
    return rows


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--per-d", type=int, default=100)
    p.add_argument("--out", default=None, help="also write the CSV here")
    args = p.parse_args()
    lines = ["recipe,d,projections,triplets,accuracy"]
    for recipe in ("canonical", "notebook"):
        for row in ceiling(recipe, args.per_d):
            lines.append(",".join(str(v) for v in row.values()))
            print(lines[-1], flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
