"""Evaluate an InfoNet checkpoint with the harness, and ship it with its numbers.

    python -m estimators.infonet.evaluate runs/gpu/best.pt            # print the numbers
    python -m estimators.infonet.evaluate runs/gpu/best.pt --ship     # copy into the package

Runs ``infonet`` (and ``ksg:k=5`` on the same Gaussian samples) through
``harness.run`` on the shipped task sets at n = 2000: ``gmm_levels`` (mean
error and error variance per MI level), ``gmm_order`` (order accuracy per K)
and the ``gaussian`` rho sweep over ``--seeds`` seeds, and how well the
estimate detects a weak dependence: the ROC AUC of ``rho = 0.2`` against
``rho = 0`` Gaussian samples at n = 300 (``--weak-draws`` of each, KSG on the
same samples; standard errors by DeLong's method, that of the difference
paired), which is what a sliced estimator's high-dimensional independence
test rests on (each slice's MI is small); the same again at n = 50 and 100
(``--weak-small-n``), the sequence lengths of the paper's Fig. 5; and, on
``--split-per-level`` mixtures per level under ``--split-seeds`` seeds (KSG
beside it), how the ``gmm_levels`` error variance splits into a sampling and
a systematic part (:func:`harness.metrics.error_components`), the latter
what training can still shrink; and sliced InfoNet's independence test on
the paper's Fig. 5 cell where it trails KSG (``independent_coords``, d = 128,
n in ``--sliced-n``, default 50, ``--sliced-projections`` 1,000 as in the
paper; KSG on the same samples, DeLong errors as above). Every number is stored
in the run store, and the model card's ``evaluation`` entry names the runs.
With ``--ship`` the checkpoint becomes ``estimators/infonet/checkpoints/
infonet.pt``, its card gets the evaluation and the result rows behind it are
written to ``benchmarks/results/infonet_evaluation.csv.gz``; the model it
replaces is kept first (:func:`keep_shipped`: its weights and card in
``benchmarks/candidates/infonet-shipped-<sha256 prefix>.pt``, its rows beside
the new ones), so the numbers that name it can still be re-run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from estimators.infonet.checkpoint import (
    DEFAULT_CHECKPOINT,
    install,
    load_card,
    load_model,
)
from estimators.infonet.estimator import InfoNet

# the weak-dependence check: rho = WEAK_RHO (MI 0.020 nats) against 0 at n = WEAK_N, the
# same task training's validation scores (on other samples)
from estimators.infonet.validation import SLICED_D, WEAK_N, WEAK_RHO

if TYPE_CHECKING:
    import pandas as pd

#: Smaller sample sizes of the same weak-dependence check: a sliced estimator's
#: slices at the InfoNet paper's Fig. 5 sequence lengths (n = 50 ... 300).
WEAK_SMALL_SIZES = (50, 100)

#: Sample sizes of the sliced Fig. 5 check (``independent_coords``, d = 128).
SLICED_SIZES = (50,)

#: The Fig. 5 task the sliced check runs, less its sample size.
SLICED_TASK = f"highdim_independence:dependence=independent_coords,d={SLICED_D},recipe=paper"

# the targets, recorded beside the numbers
TARGETS = {
    "gmm_order_mean_accuracy": ">= 0.99",
    "gmm_levels_max_abs_mean_error": "<= 0.05",
    "gaussian_mae": "<= ksg:k=5 on the same samples",
}


def evaluate(
    checkpoint: str | Path,
    store: str | Path,
    seeds: int = 10,
    device: str = "cpu",
    per_level: int = 100,
    per_k: int = 200,
    weak_draws: int = 100,
    weak_small_n: Sequence[int] = WEAK_SMALL_SIZES,
    split_per_level: int = 20,
    split_seeds: int = 8,
    sliced_n: Sequence[int] = SLICED_SIZES,
    sliced_projections: int = 1000,
) -> dict[str, Any]:
    """Run the harness evaluation of ``checkpoint``; return the card's ``evaluation`` entry.

    The parts and their sizes are the module docstring's (one argument per
    command-line option); ``sliced_n`` empty leaves the sliced Fig. 5 part out.
    """
    import harness
    from harness.metrics import error_components, error_table, level_table, order_table

    load_model(checkpoint)  # fail early on a missing or corrupt file
    # an object, not a spec string: a path may hold the spec's separators (",", "=")
    spec = InfoNet(checkpoint=str(Path(checkpoint).resolve()), device=device)
    started = time.time()
    out: dict[str, Any] = {"n": 2000, "device": device, "store": str(store)}

    levels = harness.run([spec], f"gmm_levels:per_level={per_level}", store=store, progress=False)
    table = level_table(levels).reset_index()
    out["gmm_levels"] = {
        "run": levels.run_id.iloc[0],
        "per_level": per_level,
        "mean_error": {f"{r.level:.1f}": round(r.mean_error, 4) for r in table.itertuples()},
        "error_var": {f"{r.level:.1f}": round(r.error_var, 5) for r in table.itertuples()},
        "max_abs_mean_error": round(float(table.mean_error.abs().max()), 4),
    }

    order = harness.run([spec], f"gmm_order:per_k={per_k}", store=store, progress=False)
    acc = order_table(order).reset_index()
    out["gmm_order"] = {
        "run": order.run_id.iloc[0],
        "per_k": per_k,
        "accuracy": {str(int(r.K)): round(r.accuracy, 4) for r in acc.itertuples()},
        "mean_accuracy": round(float(acc.accuracy.mean()), 4),
    }

    gauss = harness.run(
        ["ksg:k=5", spec], "gaussian", seeds=range(seeds), store=store, progress=False
    )
    errors = error_table(gauss)
    ksg = next(label for label in errors.index if label.startswith("ksg"))
    net = next(label for label in errors.index if label.startswith("infonet"))
    out["gaussian"] = {
        "run": gauss.run_id.iloc[0],
        "seeds": seeds,
        "infonet_mae": round(float(errors.loc[net, "mae"]), 4),
        "ksg_mae": round(float(errors.loc[ksg, "mae"]), 4),
        "infonet_bias": round(float(errors.loc[net, "bias"]), 4),
    }

    if split_seeds >= 2:
        # the same mixtures under several seeds: how much of the error is the network's own
        # on each mixture (what training can shrink) rather than the sample's
        split = harness.run(
            ["ksg:k=5", spec], f"gmm_levels:per_level={split_per_level}",
            seeds=range(split_seeds), store=store, progress=False,
        )  # fmt: skip
        parts = error_components(split)
        out["gmm_levels_split"] = {"run": split.run_id.iloc[0], "per_level": split_per_level,
                                   "seeds": split_seeds}  # fmt: skip
        for label, row in parts.iterrows():
            name = "ksg" if str(label).startswith("ksg") else "infonet"
            for key in ("sampling_var", "systematic_var", "systematic_share"):
                out["gmm_levels_split"][f"{name}_{key}"] = round(float(row[key]), 6)

    out["weak_dependence"] = _weak_dependence(spec, WEAK_N, weak_draws, store)
    out["weak_dependence_small_n"] = {
        str(n): _weak_dependence(spec, n, weak_draws, store) for n in weak_small_n
    }
    if sliced_n:
        # 1,000 slices per forward pass, as the Fig. 5 runs (the estimates do not depend on it)
        sliced = InfoNet(
            **{**spec.get_params(), "projections": sliced_projections, "batch_size": 1000}
        )
        out["sliced_independence"] = {
            str(n): _auc_against_ksg(
                harness.run(["ksg", sliced], f"{SLICED_TASK},n={n}", store=store, progress=False),
                {"n": n, "d": SLICED_D, "projections": sliced_projections},
            )
            for n in sliced_n
        }
    out["git_commit"] = levels.git_commit.iloc[0]
    out["targets"] = TARGETS
    out["seconds"] = round(time.time() - started, 1)
    return out


def _weak_dependence(spec: InfoNet, n: int, draws: int, store: str | Path) -> dict[str, Any]:
    """ROC AUC of ``rho = WEAK_RHO`` against ``rho = 0`` at ``n``, InfoNet beside KSG."""
    import harness

    weak = harness.run(
        ["ksg:k=5", spec],
        f"gaussian:rhos=0;{WEAK_RHO},n={n}",
        seeds=range(draws),
        store=store,
        progress=False,
    )
    weak["dependent"] = weak["rho"] > 0
    return _auc_against_ksg(weak, {"n": n, "rho": WEAK_RHO, "draws": draws})


def _auc_against_ksg(rows: pd.DataFrame, about: dict[str, Any]) -> dict[str, Any]:
    """ROC AUCs of the ``dependent`` label by InfoNet's and KSG's estimates in one
    run's ``rows``, with the paired error of their difference; ``about`` first."""
    from harness.metrics import auc_difference, auc_table

    aucs = auc_table(rows, by=[])
    ksg = next(label for label in aucs.index if label.startswith("ksg"))
    net = next(label for label in aucs.index if label.startswith("infonet"))
    paired = auc_difference(rows, net, ksg, by=[]).iloc[0]
    return {
        "run": rows.run_id.iloc[0],
        **about,
        "infonet_auc": round(float(aucs.at[net, "auc"]), 4),
        "infonet_auc_se": round(float(aucs.at[net, "auc_se"]), 4),
        "ksg_auc": round(float(aucs.at[ksg, "auc"]), 4),
        "ksg_auc_se": round(float(aucs.at[ksg, "auc_se"]), 4),
        # the two scored the same samples: the paired error of their difference
        "difference_se": round(float(paired["difference_se"]), 4),
    }


def evaluation_runs(evaluation: dict[str, Any]) -> list[str]:
    """The run ids behind ``evaluation``, in the order of its parts."""
    runs = [
        evaluation[part]["run"]
        for part in ("gmm_levels", "gmm_order", "gaussian", "gmm_levels_split", "weak_dependence")
        if part in evaluation
    ]
    for group in ("weak_dependence_small_n", "sliced_independence"):
        runs += [part["run"] for part in evaluation.get(group, {}).values()]
    return runs


#: The repository: a card names the files it points to from here.
ROOT = Path(__file__).resolve().parents[2]
ROWS_FILE = ROOT / "benchmarks/results/infonet_evaluation.csv.gz"


def export_rows(evaluation: dict[str, Any], path: str | Path = ROWS_FILE) -> Path:
    """Write every result row behind ``evaluation`` (all its runs) to a CSV file."""
    import pandas as pd

    import results

    runs = evaluation_runs(evaluation)
    rows = pd.concat([results.load(run, evaluation["store"]) for run in runs], ignore_index=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows.to_csv(path, index=False)
    return path


#: Where an earlier shipped model is kept when a new one replaces it.
KEPT_DIR = ROOT / "benchmarks/candidates"


def keep_shipped(new: str | Path) -> Path | None:
    """Keep the shipped model before ``new`` replaces it: its weights and card (naming
    where its rows went) in :data:`KEPT_DIR` as ``infonet-shipped-<sha8>.pt``, and its
    rows (:data:`ROWS_FILE`) as ``infonet_shipped_<sha8>_evaluation.csv.gz``. Nothing
    happens where no model is shipped or ``new`` is that model.

    Returns
    -------
    pathlib.Path or None
        The kept weights, if any.
    """
    if not DEFAULT_CHECKPOINT.exists():
        return None
    card = load_card(DEFAULT_CHECKPOINT)
    sha = str(card.get("sha256", ""))
    if not sha or sha == load_card(new).get("sha256"):
        return None
    kept = KEPT_DIR / f"infonet-shipped-{sha[:8]}.pt"
    KEPT_DIR.mkdir(parents=True, exist_ok=True)
    evaluation = dict(card.get("evaluation") or {})
    if evaluation.get("rows") and ROWS_FILE.exists():
        rows = ROWS_FILE.with_name(f"infonet_shipped_{sha[:8]}_evaluation.csv.gz")
        shutil.copyfile(ROWS_FILE, rows)
        evaluation["rows"] = _from_root(rows)
    card = {
        **card,
        "file": kept.name,
        "evaluation": evaluation,
        "lineage": [*card.get("lineage", []), f"the shipped model until {_from_root(new)}"],
    }
    _install_copy(DEFAULT_CHECKPOINT, kept, card)
    return kept


def _install_copy(src: Path, dest: Path, card: dict[str, Any]) -> None:
    """``src``'s weights at ``dest`` with ``card`` beside them (:func:`install`: neither
    replaces the old pair before both are written); a card alone where they are one file."""
    weights = None
    if src.resolve() != dest.resolve():
        weights = dest.with_suffix(".pt.tmp")
        shutil.copyfile(src, weights)
    install(dest, card, weights)


def _from_root(path: str | Path) -> str:
    """``path`` as the cards name files: from the repository root where it is inside."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def ship(checkpoint: str | Path, evaluation: dict[str, Any]) -> Path:
    """Copy ``checkpoint`` into the package as the default model, with ``evaluation``."""
    src = Path(checkpoint)
    card = load_card(src)
    card["evaluation"] = evaluation
    card["file"] = DEFAULT_CHECKPOINT.name
    DEFAULT_CHECKPOINT.parent.mkdir(parents=True, exist_ok=True)
    _install_copy(src, DEFAULT_CHECKPOINT, card)
    load_model(DEFAULT_CHECKPOINT)  # the checksum still matches
    return DEFAULT_CHECKPOINT


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m estimators.infonet.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", nargs="?", default=str(DEFAULT_CHECKPOINT))
    p.add_argument("--store", default="runs/infonet-eval.sqlite")
    p.add_argument("--seeds", type=int, default=10, help="seeds of the gaussian sweep")
    p.add_argument("--device", default="cpu")
    p.add_argument("--per-level", type=int, default=100)
    p.add_argument("--per-k", type=int, default=200)
    p.add_argument("--weak-draws", type=int, default=100, help="samples per rho, weak check")
    p.add_argument(
        "--weak-small-n",
        default=",".join(map(str, WEAK_SMALL_SIZES)),
        help="further sample sizes of the weak check, comma-separated ('' for none)",
    )
    p.add_argument("--split-per-level", type=int, default=20, help="mixtures per level, split")
    p.add_argument(
        "--split-seeds", type=int, default=8, help="seeds per mixture of the split (< 2: none)"
    )
    p.add_argument(
        "--sliced-n",
        default=",".join(map(str, SLICED_SIZES)),
        help="sample sizes of the sliced Fig. 5 check, comma-separated ('' for none)",
    )
    p.add_argument("--sliced-projections", type=int, default=1000)
    p.add_argument("--ship", action="store_true", help="install as the packaged default model")
    args = p.parse_args(argv)
    result = evaluate(
        args.checkpoint,
        args.store,
        args.seeds,
        args.device,
        args.per_level,
        args.per_k,
        args.weak_draws,
        [int(n) for n in args.weak_small_n.split(",") if n.strip()],
        args.split_per_level,
        args.split_seeds,
        [int(n) for n in args.sliced_n.split(",") if n.strip()],
        args.sliced_projections,
    )
    print(json.dumps(result, indent=2))
    if args.ship:
        kept = keep_shipped(args.checkpoint)
        if kept is not None:
            print(f"the model it replaces is kept as {_from_root(kept)}")
        result["rows"] = _from_root(export_rows(result))
        print(f"shipped as {ship(args.checkpoint, result)}; rows in {result['rows']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
