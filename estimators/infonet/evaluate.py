"""Evaluate an InfoNet checkpoint with the harness, and ship it with its numbers.

    python -m estimators.infonet.evaluate runs/gpu/best.pt            # print the numbers
    python -m estimators.infonet.evaluate runs/gpu/best.pt --ship     # copy into the package
    python -m estimators.infonet.evaluate runs/gpu/best.pt --sliced-seeds 0,1,2,3,4 > eval.json
    python -m estimators.infonet.evaluate runs/gpu/best.pt --ship --evaluation eval.json

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
paper; KSG on the same samples, DeLong errors as above; ``--sliced-seeds``
more draws of the directions, each its own run). With ``--reference`` (by
default the packaged model, unless it is the checkpoint: the model a
``--ship`` would replace) a second checkpoint scores the same samples in the
weak-dependence, split and sliced parts, which then cost about twice as much,
and the weak-dependence AUCs, the per-mixture error (``per_mixture``, from
the split's rows) and the sliced AUCs record the candidate's paired
difference from it, candidate minus reference (``vs_reference``, with its
standard error: DeLong's for an AUC, over mixtures for the per-mixture
error; a positive AUC difference and a negative error difference favour
the candidate). Every number is stored in the run store, and the model
card's ``evaluation`` entry names the runs.
With ``--ship`` the checkpoint becomes ``estimators/infonet/checkpoints/
infonet.pt``, its card gets the evaluation and the result rows behind it are
written to ``benchmarks/results/infonet_evaluation.csv.gz``; the model it
replaces is kept first (:func:`keep_shipped`: its weights and card in
``benchmarks/candidates/infonet-shipped-<sha256 prefix>.pt``, its rows beside
the new ones), so the numbers that name it can still be re-run. ``--ship
--evaluation eval.json`` ships with an evaluation already run (the JSON this
command printed) instead of running it again, once :func:`check_evaluation`
finds its runs in its store (named from the repository root), finished, and
made with this checkpoint.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

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
from harness.cli.arguments import optional_int_list_arg, seeds_arg

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
    sliced_seeds: Sequence[int] = (0,),
    reference: str | Path | None = None,
) -> dict[str, Any]:
    """Run the harness evaluation of ``checkpoint``; return the card's ``evaluation`` entry.

    The parts and their sizes are the module docstring's (one argument per
    command-line option); ``sliced_n`` empty leaves the sliced Fig. 5 part out.
    ``reference``, another checkpoint, is scored on the same samples in the
    weak-dependence, split and sliced parts, and the candidate's paired
    difference from it (candidate minus reference) is recorded there.

    Raises
    ------
    ValueError
        ``reference`` holds ``checkpoint``'s weights (the same file or a copy), or
        ``sliced_seeds`` is empty or repeats a seed.
    """
    import harness
    from harness.metrics import error_components, error_table, level_table, order_table

    load_model(checkpoint)  # fail early on a missing or corrupt file
    # an object, not a spec string: a path may hold the spec's separators (",", "=")
    spec = InfoNet(checkpoint=str(Path(checkpoint).resolve()), device=device)
    seeds_given = _check_seeds(sliced_seeds)
    started = time.time()
    out: dict[str, Any] = {"n": 2000, "device": device, "store": _from_root(store)}
    others: list[InfoNet] = []
    if reference is not None:
        sha = _check_reference(reference, checkpoint)
        others.append(InfoNet(checkpoint=str(Path(reference).resolve()), device=device))
        out["reference"] = {"checkpoint": _from_root(reference), "sha256": sha}

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
            ["ksg:k=5", spec, *others], f"gmm_levels:per_level={split_per_level}",
            seeds=range(split_seeds), store=store, progress=False,
        )  # fmt: skip
        roles = _roles(split, spec.checkpoint)
        parts = error_components(split)
        out["gmm_levels_split"] = {"run": split.run_id.iloc[0], "per_level": split_per_level,
                                   "seeds": split_seeds}  # fmt: skip
        for name in ("infonet", "ksg"):
            for key in ("sampling_var", "systematic_var", "systematic_share"):
                value = parts.at[roles[name], key]
                out["gmm_levels_split"][f"{name}_{key}"] = round(float(value), 6)
        out["per_mixture"] = _per_mixture(split, roles)

    out["weak_dependence"] = _weak_dependence([spec, *others], WEAK_N, weak_draws, store)
    out["weak_dependence_small_n"] = {
        str(n): _weak_dependence([spec, *others], n, weak_draws, store) for n in weak_small_n
    }
    if sliced_n:
        out["sliced_independence"] = {
            str(n): _sliced([spec, *others], n, sliced_projections, seeds_given, store)
            for n in sliced_n
        }
    out["git_commit"] = levels.git_commit.iloc[0]
    out["targets"] = TARGETS
    out["seconds"] = round(time.time() - started, 1)
    return out


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    """``seeds`` as a list; a ``ValueError`` where it is empty or repeats a seed."""
    given = list(seeds)
    if not given or len(set(given)) != len(given):
        raise ValueError(f"sliced_seeds must name distinct seeds; got {given}")
    return given


def _check_reference(reference: str | Path, checkpoint: str | Path) -> str | None:
    """The sha256 of ``reference``'s weights; a ``ValueError`` where they are
    ``checkpoint``'s (the file itself or a copy: a paired difference from oneself is 0)."""
    load_model(reference)  # a missing or corrupt file fails here
    sha = load_card(reference).get("sha256")
    same_file = Path(reference).resolve() == Path(checkpoint).resolve()
    if same_file or sha == load_card(checkpoint).get("sha256"):
        raise ValueError(f"the reference {reference} holds the checkpoint's own weights")
    return sha


def _weak_dependence(nets: list[InfoNet], n: int, draws: int, store: str | Path) -> dict[str, Any]:
    """ROC AUC of ``rho = WEAK_RHO`` against ``rho = 0`` at ``n``, InfoNet (and its
    reference, if ``nets`` holds one) beside KSG."""
    import harness

    weak = harness.run(
        ["ksg:k=5", *nets],
        f"gaussian:rhos=0;{WEAK_RHO},n={n}",
        seeds=range(draws),
        store=store,
        progress=False,
    )
    weak["dependent"] = weak["rho"] > 0
    return _auc_against_ksg(weak, {"n": n, "rho": WEAK_RHO, "draws": draws}, nets[0].checkpoint)


def _sliced(
    nets: list[InfoNet], n: int, projections: int, seeds: list[int], store: str | Path
) -> dict[str, Any]:
    """The sliced Fig. 5 check at ``n``: one run per seed of the directions, the first
    seed's numbers at the top and, with several seeds, every seed's AUC beside them."""
    import harness

    parts = []
    for seed in seeds:
        # 1,000 slices per forward pass, as the Fig. 5 runs (the estimates do not depend on it)
        sliced = [
            InfoNet(
                **{**net.get_params(), "projections": projections, "batch_size": 1000, "seed": seed}
            )
            for net in nets
        ]
        rows = harness.run(["ksg", *sliced], f"{SLICED_TASK},n={n}", store=store, progress=False)
        about = {"n": n, "d": SLICED_D, "projections": projections}
        parts.append(_auc_against_ksg(rows, about, nets[0].checkpoint))
    out = dict(parts[0])
    if len(seeds) > 1:
        # one list per number, in the order of ``seeds``
        names = {"run": "runs", "infonet_auc": "aucs", "ksg_auc": "ksg_aucs",
                 "reference_auc": "reference_aucs", "vs_reference": "vs_reference",
                 "vs_reference_se": "vs_reference_se"}  # fmt: skip
        out["direction_seeds"] = {
            "seeds": seeds,
            **{names[k]: [part[k] for part in parts] for k in names if k in parts[0]},
            "mean": round(sum(part["infonet_auc"] for part in parts) / len(parts), 4),
        }
    return out


def _roles(rows: pd.DataFrame, candidate: str) -> dict[str, str]:
    """The label in ``rows`` of ``ksg``, of the InfoNet whose checkpoint is
    ``candidate`` (``infonet``) and of any other InfoNet (``reference``)."""
    first = rows.drop_duplicates("label")
    roles = {"ksg": first.loc[first.estimator == "ksg", "label"].iloc[0]}
    nets = first.loc[first.estimator == "infonet", ["label", "estimator_params"]]
    for label, params in nets.itertuples(index=False):
        ours = json.loads(params)["checkpoint"] == candidate
        roles["infonet" if ours else "reference"] = label
    return roles


def _auc_against_ksg(rows: pd.DataFrame, about: dict[str, Any], candidate: str) -> dict[str, Any]:
    """ROC AUCs of the ``dependent`` label by InfoNet's and KSG's estimates in one
    run's ``rows``, with the paired error of their difference; ``about`` first; with a
    reference InfoNet in the run, its AUC and the candidate's paired lead over it
    (``candidate``: the candidate's checkpoint, :func:`_roles`)."""
    from harness.metrics import auc_difference, auc_table

    aucs = auc_table(rows, by=[])
    roles = _roles(rows, candidate)
    net, ksg = roles["infonet"], roles["ksg"]
    paired = auc_difference(rows, net, ksg, by=[]).iloc[0]
    out = {
        "run": rows.run_id.iloc[0],
        **about,
        "infonet_auc": round(float(aucs.at[net, "auc"]), 4),
        "infonet_auc_se": round(float(aucs.at[net, "auc_se"]), 4),
        "ksg_auc": round(float(aucs.at[ksg, "auc"]), 4),
        "ksg_auc_se": round(float(aucs.at[ksg, "auc_se"]), 4),
        # the two scored the same samples: the paired error of their difference
        "difference_se": round(float(paired["difference_se"]), 4),
    }
    if "reference" in roles:
        lead = auc_difference(rows, net, roles["reference"], by=[]).iloc[0]
        out["reference_auc"] = round(float(aucs.at[roles["reference"], "auc"]), 4)
        out["vs_reference"] = round(float(lead["difference"]), 4)
        out["vs_reference_se"] = round(float(lead["difference_se"]), 4)
    return out


def _per_mixture(split: pd.DataFrame, roles: dict[str, str]) -> dict[str, Any]:
    """Mean absolute error of each mixture's error averaged over its seeds (what the
    network gets wrong on that mixture, less most of the sample's noise), for the
    candidate and KSG, and with a reference the candidate's paired difference from
    it, candidate minus reference (mean and standard error over the mixtures; a
    negative one favours the candidate). Only mixtures every estimator scored under
    every seed count, so each side averages the same samples."""
    ok = split[(split.status == "ok") & np.isfinite(split.error)]
    seeds = ok.groupby(["instance_id", "label"]).seed.nunique().unstack()
    full = seeds.index[(seeds == split.seed.nunique()).all(axis=1)]
    ok = ok[ok.instance_id.isin(full)]
    per = ok.pivot_table(index="instance_id", columns="label", values="error", aggfunc="mean")
    out = {
        "mixtures": len(per),
        "infonet_mae": round(float(per[roles["infonet"]].abs().mean()), 4),
        "ksg_mae": round(float(per[roles["ksg"]].abs().mean()), 4),
    }
    if "reference" in roles:
        gap = per[roles["infonet"]].abs() - per[roles["reference"]].abs()
        out["reference_mae"] = round(float(per[roles["reference"]].abs().mean()), 4)
        out["vs_reference"] = round(float(gap.mean()), 4)
        out["vs_reference_se"] = round(float(gap.std() / len(gap) ** 0.5), 4)
    return out


def evaluation_runs(evaluation: dict[str, Any]) -> list[str]:
    """The run ids behind ``evaluation``, in the order of its parts."""
    runs = [
        evaluation[part]["run"]
        for part in ("gmm_levels", "gmm_order", "gaussian", "gmm_levels_split", "weak_dependence")
        if part in evaluation
    ]
    runs += [part["run"] for part in evaluation.get("weak_dependence_small_n", {}).values()]
    for part in evaluation.get("sliced_independence", {}).values():
        runs += part.get("direction_seeds", {}).get("runs", [part["run"]])
    return runs


def store_of(evaluation: dict[str, Any]) -> Path:
    """The run store ``evaluation`` names (recorded from the repository root, or absolute)."""
    return ROOT / evaluation["store"]


#: The parts of an evaluation that score the candidate alone: every evaluation has them.
CANDIDATE_PARTS = ("gmm_levels", "gmm_order", "gaussian")


def check_evaluation(evaluation: Any, checkpoint: str | Path) -> None:
    """Refuse to ship ``checkpoint`` with an ``evaluation`` that is not its own.

    ``checkpoint`` must load (its weights match its card's sha256), and
    ``evaluation`` must have the parts every evaluation has
    (:data:`CANDIDATE_PARTS`); every run behind it (:func:`evaluation_runs`)
    must be in its store, finished, and have scored an ``infonet`` whose
    checkpoint had that sha256 (the run records it, :meth:`InfoNet.artifacts`);
    its reference, if any, must be another model, and one still to be found
    after shipping (the package's model, or a kept copy of the model the
    package held when it was run).

    Raises
    ------
    ValueError
        Naming the first thing that is missing, unfinished or another model's.
    """
    from estimators.infonet.checkpoint import ChecksumError
    from results.store import Store, StoreError

    try:
        _, card = load_model(checkpoint)
    except (OSError, ChecksumError) as exc:
        raise ValueError(f"checkpoint {checkpoint}: {exc}") from None
    sha = str(card["sha256"])
    if not isinstance(evaluation, dict) or "store" not in evaluation:
        raise ValueError("not an evaluation (a JSON object naming its store and runs)")
    missing = [part for part in CANDIDATE_PARTS if part not in evaluation]
    if missing:
        raise ValueError(f"the evaluation lacks the part(s) {', '.join(missing)}")
    reference = evaluation.get("reference") or {}
    if reference.get("sha256") == sha:
        raise ValueError("the evaluation's reference is the checkpoint itself")
    if reference and _name_after_shipping(reference) is None:
        raise ValueError(
            f"the evaluation's reference {reference.get('checkpoint')} (sha256 "
            f"{str(reference.get('sha256'))[:8]}) was the package's model then; it is "
            f"neither the package's model now nor kept in {_from_root(KEPT_DIR)}"
        )
    store = store_of(evaluation)
    if not store.is_file():
        raise ValueError(f"the evaluation's store {store} does not exist")
    try:
        st = Store(store, create=False)
    except StoreError as exc:
        raise ValueError(f"the evaluation's store {store}: {exc}") from None
    with st:
        for run in evaluation_runs(evaluation):
            if not st.has_run(run):
                raise ValueError(f"run {run} of the evaluation is not in {store}")
            rec = st.get_run(run)
            if rec["status"] != "finished":
                raise ValueError(f"run {run} in {store} is {rec['status']}, not finished")
            scored = {
                (e.get("artifacts") or {}).get("checkpoint_sha256")
                for e in rec["estimators"]
                if e["name"] == "infonet"
            }
            if sha not in scored:
                named = sorted(s[:8] for s in scored if s) or "no checkpoint sha256"
                raise ValueError(
                    f"run {run} in {store} did not score {_from_root(checkpoint)} "
                    f"(sha256 {sha[:8]}); it records {named}"
                )


def _name_after_shipping(reference: dict[str, Any]) -> str | None:
    """Where an evaluation's ``reference`` is found once a new model is shipped: its own
    name, unless that is the package's file, which the new model takes; then the copy
    :func:`keep_shipped` keeps of it (if it is the package's model now, or was kept),
    else None."""
    name = str(reference.get("checkpoint", ""))
    if (ROOT / name).resolve() != DEFAULT_CHECKPOINT.resolve():
        return name
    sha = str(reference.get("sha256", ""))
    kept = KEPT_DIR / f"infonet-shipped-{sha[:8]}.pt"
    return _from_root(kept) if sha and (_shipped_sha() == sha or kept.exists()) else None


#: The repository: a card names the files it points to from here.
ROOT = Path(__file__).resolve().parents[2]
ROWS_FILE = ROOT / "benchmarks/results/infonet_evaluation.csv.gz"


def export_rows(evaluation: dict[str, Any], path: str | Path | None = None) -> Path:
    """Write every result row behind ``evaluation`` (all its runs) to a CSV file
    (by default :data:`ROWS_FILE`)."""
    import pandas as pd

    import results

    runs = evaluation_runs(evaluation)
    store = store_of(evaluation)
    rows = pd.concat([results.load(run, store) for run in runs], ignore_index=True)
    path = Path(path) if path is not None else ROWS_FILE
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


def _shipped_sha() -> str | None:
    """The packaged model's sha256 (None where none is packaged)."""
    return load_card(DEFAULT_CHECKPOINT).get("sha256") if DEFAULT_CHECKPOINT.exists() else None


def _shipped_unless(checkpoint: str | Path) -> Path | None:
    """The packaged model, unless there is none or it is ``checkpoint``'s weights."""
    shipped = _shipped_sha()
    if shipped is None or shipped == load_card(checkpoint).get("sha256"):
        return None
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
        type=optional_int_list_arg,
        default=",".join(map(str, WEAK_SMALL_SIZES)),
        help="further sample sizes of the weak check, comma-separated ('' for none)",
    )
    p.add_argument("--split-per-level", type=int, default=20, help="mixtures per level, split")
    p.add_argument(
        "--split-seeds", type=int, default=8, help="seeds per mixture of the split (< 2: none)"
    )
    p.add_argument(
        "--sliced-n",
        type=optional_int_list_arg,
        default=",".join(map(str, SLICED_SIZES)),
        help="sample sizes of the sliced Fig. 5 check, comma-separated ('' for none)",
    )
    p.add_argument("--sliced-projections", type=int, default=1000)
    p.add_argument(
        "--sliced-seeds",
        type=seeds_arg,
        default="0",
        help="seeds of the sliced check's directions, e.g. 0..4 or 0,1,2 (one run each)",
    )
    p.add_argument(
        "--reference",
        default="shipped",
        help="checkpoint scored beside it on the same samples (the weak-dependence, split "
        "and sliced parts then take about twice as long): 'shipped' (the packaged model, "
        "unless it is the checkpoint), a path, or 'none'",
    )
    p.add_argument("--ship", action="store_true", help="install as the packaged default model")
    p.add_argument(
        "--evaluation",
        metavar="JSON",
        help="with --ship: ship with this evaluation (the JSON an earlier run of this command "
        "printed) instead of running it again; its runs must be the checkpoint's, in its store",
    )
    args = p.parse_args(argv)
    try:
        _check_seeds(args.sliced_seeds)
    except ValueError as exc:
        p.error(f"--sliced-seeds: {exc}")
    if args.evaluation:
        if not args.ship:
            p.error("--evaluation is only for --ship")
        defaults = vars(p.parse_args([]))
        given = [k for k, v in vars(args).items() if k not in _SHIP_ONLY and v != defaults[k]]
        if given:
            names = ", ".join("--" + k.replace("_", "-") for k in given)
            p.error(f"--evaluation ships the evaluation as it was run; {names} cannot change it")
        try:
            result = json.loads(Path(args.evaluation).read_text())
            check_evaluation(result, args.checkpoint)
        except (OSError, ValueError) as exc:  # json's decode error is a ValueError
            p.error(f"--evaluation {args.evaluation}: {exc}")
    else:
        result = _evaluate_from(args)
        print(json.dumps(result, indent=2))
    if args.ship:
        kept = keep_shipped(args.checkpoint)
        if kept is not None:
            print(f"the model it replaces is kept as {_from_root(kept)}")
        if result.get("reference"):
            result["reference"]["checkpoint"] = _name_after_shipping(result["reference"])
        result["rows"] = _from_root(export_rows(result))
        print(f"shipped as {ship(args.checkpoint, result)}; rows in {result['rows']}")
    return 0


#: the options a ``--ship --evaluation`` takes (the rest describe an evaluation to run)
_SHIP_ONLY = ("checkpoint", "ship", "evaluation")


def _evaluate_from(args: argparse.Namespace) -> dict[str, Any]:
    """:func:`evaluate` with the command line's arguments."""
    reference: str | Path | None = None if args.reference == "none" else args.reference
    if reference == "shipped":
        reference = _shipped_unless(args.checkpoint)
    return evaluate(
        args.checkpoint,
        args.store,
        args.seeds,
        args.device,
        args.per_level,
        args.per_k,
        args.weak_draws,
        args.weak_small_n,
        args.split_per_level,
        args.split_seeds,
        args.sliced_n,
        args.sliced_projections,
        args.sliced_seeds,
        reference,
    )


if __name__ == "__main__":
    raise SystemExit(main())
