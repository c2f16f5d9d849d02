"""Which mixtures does an estimator get wrong? Its per-mixture error against their shape.

    python -m benchmarks.mixture_errors benchmarks/results/error_split_levels_p20_s8.csv.gz
    python -m benchmarks.mixture_errors ROWS --label infonet --worst 8 --capacity 192,384

Reads ``gmm_levels`` rows (an exported run, several seeds per mixture), takes
each mixture's mean error over its seeds (the systematic error, the part more
samples do not shrink; :func:`harness.metrics.error_components`) and sets it
beside the mixture's shape, rebuilt from the shipped task set:

``K``
    number of components;
``min_sd``
    the smallest standard deviation of any component along its short axis
    (0.1 is the recipe's floor: a covariance ``D D^T + 0.01 I`` with ``D`` of
    rank one, a needle);
``needle_weight``
    the weight of the components thinner than :data:`NEEDLE_SD`;
``mean_abs_rho``
    the weight-averaged |correlation| inside the components.

It prints the Spearman correlation of each with the error and with the
error's distance from its level's mean, then the worst mixtures; with
``--capacity`` also the error of the best critic table of each size for them
(:func:`benchmarks.infonet_capacity.best_table_value`): how much of a
mixture's error the table family itself accounts for.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import pandas as pd

from harness.cli.arguments import optional_int_list_arg
from tasks.gmm import GMM

#: A component whose short-axis standard deviation is below this is a needle.
NEEDLE_SD = 0.15


def mixture_shape(gmm: GMM) -> dict[str, float]:
    """The shape features of a 2-D mixture (see the module docstring)."""
    w = np.asarray(gmm.weights, dtype=float)
    cov = np.asarray(gmm.covs, dtype=float)
    short = np.sqrt(np.linalg.eigvalsh(cov)[:, 0])
    rho = cov[:, 0, 1] / np.sqrt(cov[:, 0, 0] * cov[:, 1, 1])
    return {
        "K": float(len(w)),
        "min_sd": float(short.min()),
        "needle_weight": float(w[short < NEEDLE_SD].sum()),
        "mean_abs_rho": float((w * np.abs(rho)).sum()),
    }


def mixture_errors(rows: pd.DataFrame, label: str) -> pd.DataFrame:
    """One row per mixture of ``label``'s ``ok`` rows: level, truth, mean error over
    its seeds, seeds, its error less its level's mean error, and its shape."""
    from tasks.gmm_levels import GMMLevels

    ok = rows[(rows["label"] == label) & (rows["status"] == "ok")]
    if ok.empty:
        raise ValueError(f"no ok rows of {label!r}; labels: {sorted(rows['label'].unique())}")
    params = {json.dumps(json.loads(p), sort_keys=True) for p in ok["task_params"]}
    if len(params) != 1 or set(ok["task"]) != {"gmm_levels"}:
        raise ValueError("expected the rows of one gmm_levels task (one set of parameters)")
    task = GMMLevels(**{k: v for k, v in json.loads(params.pop()).items() if v is not None})
    per = ok.groupby("instance_index").agg(
        level=("level", "first"),
        truth=("true_mi", "first"),
        error=("error", "mean"),
        seeds=("seed", "nunique"),
    )
    per["off_level"] = per["error"] - per.groupby("level")["error"].transform("mean")
    shapes = pd.DataFrame.from_dict(
        {i: mixture_shape(task.mixture(int(i))) for i in per.index}, orient="index"
    )
    return per.join(shapes)


def correlations(per: pd.DataFrame) -> pd.DataFrame:
    """Spearman correlation of each shape feature with the error and its off-level part."""
    features = ["K", "min_sd", "needle_weight", "mean_abs_rho", "truth"]
    return pd.DataFrame(
        {
            "error": [per[f].corr(per["error"], method="spearman") for f in features],
            "off_level": [per[f].corr(per["off_level"], method="spearman") for f in features],
        },
        index=features,
    )


def capacity_errors(
    rows: pd.DataFrame, indices: list[int], grids: list[int], fit: int, seed: int = 0
) -> pd.DataFrame:
    """Error of the best critic table of each size in ``grids`` on the mixtures ``indices``."""
    from benchmarks.infonet_capacity import best_table_value
    from tasks.gmm_levels import GMMLevels

    params = {json.dumps(json.loads(p), sort_keys=True) for p in rows["task_params"]}
    if len(params) != 1:
        raise ValueError("expected the rows of one gmm_levels task (one set of parameters)")
    task = GMMLevels(**{k: v for k, v in json.loads(params.pop()).items() if v is not None})
    out = {}
    for index in indices:
        gmm = task.mixture(index)
        truth = task.instance(index, seed).true_mi
        rng = np.random.default_rng([seed, index])
        fit_xy, test_xy = gmm.sample(rng, fit), gmm.sample(rng, fit)
        out[index] = {
            f"table_L{g}": 0.5 * sum(best_table_value(fit_xy, test_xy, g, 1.0)) - truth
            for g in grids
        }
    return pd.DataFrame.from_dict(out, orient="index")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.mixture_errors",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("rows", help="exported gmm_levels rows (.csv, .csv.gz or .parquet)")
    p.add_argument("--label", default="infonet", help="estimator label in the rows")
    p.add_argument("--worst", type=int, default=8, help="mixtures listed, most negative first")
    p.add_argument(
        "--capacity",
        type=optional_int_list_arg,
        default="",
        help="table sizes L to fit to the worst mixtures",
    )
    p.add_argument("--fit", type=int, default=1_000_000, help="points per capacity sample")
    p.add_argument("--out", default=None, help="also write the per-mixture table to this CSV")
    args = p.parse_args(argv)
    from results.export import read

    rows = read(args.rows)
    per = mixture_errors(rows, args.label)
    print(f"{args.label}: {len(per)} mixtures, {int(per['seeds'].median())} seeds each")
    print(correlations(per).round(3).to_string())
    worst = per.sort_values("error").head(args.worst)
    if args.capacity:
        worst = worst.join(capacity_errors(rows, list(worst.index), args.capacity, args.fit))
    print(worst.round(4).to_string())
    if args.out:
        per.to_csv(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
