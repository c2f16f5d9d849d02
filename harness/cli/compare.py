"""``compare BASELINE CANDIDATE``: exit 1 when the candidate run regressed (a CI gate)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

EXIT_REGRESSION = 1


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "compare",
        parents=[common],
        help="check a run against a baseline run (exit 1 on regression)",
        description=(
            "Match the cells of two runs of the same grid (task, task parameters, "
            "estimator spec, instance, seed) and check accuracy per task and estimator: "
            "MAE, |mean error| per MI level, order accuracy and ROC AUC may get worse by at "
            "most their tolerance; cells that succeeded in the baseline must succeed. "
            "Latency is reported; only an estimator's seconds relative to KSG's in the same "
            "run are gated. An estimator configuration of the baseline that the candidate "
            "did not run (ksg:k=3 where the baseline ran ksg), or a task it ran with other "
            "parameters (gmm_levels:per_level=5 where the baseline ran per_level=20), counts "
            "as lost, with a note naming what the candidate ran instead and the `harness "
            "report` command that sets the two runs side by side. Exit 0: no regression, "
            "1: regression, 2: error."
        ),
    )
    p.add_argument(
        "baseline", metavar="BASELINE", help="run id, 'latest', or a .csv/.parquet export"
    )
    p.add_argument("candidate", metavar="CANDIDATE", help="run id, 'latest', or an export file")
    p.add_argument(
        "--store",
        metavar="PATH",
        help="results store for run ids (default: $MI_HARNESS_STORE or ./runs/mi-harness.sqlite)",
    )
    p.add_argument(
        "--baseline-store", metavar="PATH", help="store of the baseline run id (default: --store)"
    )
    p.add_argument(
        "--tolerance",
        "--max-regression",
        dest="tolerance",
        action="append",
        default=[],
        metavar="KEY=VALUE,...",
        help=(
            "allowed worsening; keys mae (nats, default 0.005), level_bias (nats, 0.01), "
            "order_accuracy (fraction, 0.02), auc (0.02), spearman (0.05), speed_ratio "
            "(factor, 3; inf: off), reference_slowdown (the reference's own seconds against the "
            "baseline's, factor, 10; inf: off), "
            "reference (estimator for the speed ratio, ksg; any other must be in one of the "
            "runs)"
        ),
    )
    p.add_argument(
        "--only-regressions", action="store_true", help="print only the checks that failed"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compare the candidate run with the baseline; 1 on regression, else 0."""
    import results
    from harness.compare import Tolerances, compare, parse_tolerances

    tol = Tolerances()
    for text in args.tolerance:
        tol = parse_tolerances(text, tol)
    baseline = results.load(args.baseline, args.baseline_store or args.store)
    candidate = results.load(args.candidate, args.store)
    refs = (args.baseline, args.candidate)
    outcome = compare(baseline, candidate, tol, _report_args(refs, (baseline, candidate)))
    names = _name(baseline, args.baseline), _name(candidate, args.candidate)
    print("baseline {}; candidate {}".format(*names))
    print(outcome.format(only_regressions=args.only_regressions))
    return EXIT_REGRESSION if outcome.regressed else 0


def _report_args(refs: tuple[str, str], frames: tuple[Any, Any]) -> list[str]:
    """The ``harness report`` arguments naming the two runs: an export file as given, a
    stored run by its run id (not ``latest``), and ``--store`` for each store other than
    the default that a stored run came from."""
    import results
    from results.export import is_export

    out, stores = [], []
    for ref, df in zip(refs, frames, strict=True):
        if is_export(ref):
            out.append(ref)
            continue
        out.append(str(df.attrs.get("run_id", ref)))
        store = Path(str(df.attrs.get("store", results.default_path())))
        if store.resolve() not in [s.resolve() for s in stores]:
            stores.append(store)
    if len(stores) == 1 and stores[0].resolve() == Path(results.default_path()).resolve():
        return out
    for store in stores:
        out += ["--store", str(store)]
    return out


def _name(df: Any, ref: str) -> str:
    run_id = df.attrs.get("run_id")
    return f"{ref} (run {run_id})" if run_id and run_id != ref else ref
